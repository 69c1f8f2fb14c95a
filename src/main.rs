//! The entry point: under Lambda, the role the function's `Handler` names; on a terminal,
//! `explain [--config FILE] EVENT.json`, `check FILE`, `doctor ...` or `--version`. Everything else is in `roles`.

use codecommit_build_trigger::roles::{self, cli};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, path] if command == "explain" => cli::explain(None, path).await,
        [command, flag, file, path] if command == "explain" && flag == "--config" => {
            cli::explain(Some(file), path).await
        }
        [command, path] if command == "check" => cli::check(path),
        [command, rest @ ..] if command == "doctor" => cli::doctor(rest),
        [flag] if flag == "--version" => cli::version(),
        [] if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => roles::serve().await,
        _ => cli::usage(),
    }
}
