//! The command line: `explain EVENT.json` prints each reference's decision and reason under the
//! configuration in the environment, reading what the rules need and never starting or
//! stopping a build.

use super::starter::starter;
use crate::aws::sdk::SdkEnvError;
use crate::config::Config;
use crate::event;
use crate::lambda::sdk_config;
use std::process::ExitCode;

/// What the binary says when it is run without a command it knows.
pub const USAGE: &str =
    "codecommit-build-trigger runs as an AWS Lambda function (AWS_LAMBDA_RUNTIME_API set);
on a terminal: codecommit-build-trigger explain EVENT.json
  prints each reference's decision and reason under the configuration in the environment,
  reading from CodeCommit and CodeBuild what the rules need, never starting or stopping a build;
  it reads AWS_REGION and the credentials from the environment, as the function does";

const CREDENTIALS_HINT: &str = "to run explain with a profile's credentials: \
eval \"$(aws configure export-credentials --format env)\"";

/// Prints [`USAGE`]; exits 2.
pub fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// `explain EVENT.json`: decisions as JSON on standard output; each failure on standard error.
pub async fn explain(path: &str) -> ExitCode {
    match explained(path).await {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("{problem}");
            ExitCode::FAILURE
        }
    }
}

/// The decisions for the event in `path`, as pretty JSON, or what went wrong.
async fn explained(path: &str) -> Result<String, String> {
    let config =
        Config::from_env().map_err(|problem| format!("invalid configuration: {problem}"))?;
    let json = std::fs::read_to_string(path)
        .map_err(|problem| format!("cannot read {path}: {problem}"))?;
    let event = event::parse(&json).map_err(|invalid| format!("invalid event: {invalid}"))?;
    let sdk_config = sdk_config().map_err(|problem| match problem {
        SdkEnvError::MissingCredentials(_) => {
            format!("invalid configuration: {problem}\n{CREDENTIALS_HINT}")
        }
        problem => format!("invalid configuration: {problem}"),
    })?;
    let lines = starter(config, &sdk_config)
        .explain(&event)
        .await
        .map_err(|refused| format!("the function would refuse this event: {refused}"))?;
    serde_json::to_string_pretty(&lines)
        .map_err(|problem| format!("cannot print the decisions: {problem}"))
}
