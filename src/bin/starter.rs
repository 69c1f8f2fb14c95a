//! The starter alone: the binary of the function every push and pull request invokes
//! (`Binary: starter` in the template), without the reporter's and the installer's code.

// The layout of the runtime loop's future, nested this deep, takes more than the default 128.
#![recursion_limit = "256"]

use codecommit_build_trigger::roles::starter;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    starter::main().await
}
