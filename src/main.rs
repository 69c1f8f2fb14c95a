//! The entry point: under Lambda, the role the function's `Handler` names; on a terminal,
//! `explain EVENT.json`. Everything else is in `roles`.

use codecommit_build_trigger::roles::{self, cli};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, path] if command == "explain" => cli::explain(path).await,
        [] if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => roles::serve().await,
        _ => cli::usage(),
    }
}
