//! The command line: `explain [--config FILE] EVENT.json` prints each reference's decision and
//! reason under the configuration in the environment (or a repository's file), reading what
//! the rules need and never starting or stopping a build; `check FILE` validates a
//! repository's file offline.

use super::starter::starter;
use crate::aws::sdk::SdkEnvError;
use crate::config::pattern::PatternList;
use crate::config::repository_file::{self, AllowedProjects};
use crate::config::{process_variable, Config, Rule, ALLOWED_PROJECTS, REPOSITORY_CONFIG};
use crate::event;
use crate::lambda::sdk_config;
use std::process::ExitCode;

/// What the binary says when it is run without a command it knows.
pub const USAGE: &str =
    "codecommit-build-trigger runs as an AWS Lambda function (AWS_LAMBDA_RUNTIME_API set);
on a terminal:
  codecommit-build-trigger explain EVENT.json
  codecommit-build-trigger explain --config FILE EVENT.json
    prints each reference's decision and reason under the configuration in the environment,
    or under the rules of FILE (a repository's own file), reading from CodeCommit and
    CodeBuild what the rules need, never starting or stopping a build; it reads AWS_REGION
    and the credentials from the environment, as the function does
  codecommit-build-trigger check FILE
    checks a repository's own file offline: exit 0 when it is valid, 1 with what is wrong;
    the projects it names must match ALLOWED_PROJECTS when that is set
  codecommit-build-trigger doctor --stack NAME [--repository NAME]
  codecommit-build-trigger doctor --repository NAME --project NAME [--project NAME...] [--branches PATTERNS]
    checks an installation with your credentials and prints what to fix (it runs
    codecommit-build-trigger-doctor, from beside this binary or the PATH)
  codecommit-build-trigger --version";

/// The doctor's binary, a crate of its own (the IAM and CloudFormation SDKs stay out of the
/// functions).
const DOCTOR: &str = "codecommit-build-trigger-doctor";

const CREDENTIALS_HINT: &str = "to run explain with a profile's credentials: \
eval \"$(aws configure export-credentials --format env)\"";

/// `--version`: the name and version, as `codecommit-build-trigger 0.2.0`.
pub fn version() -> ExitCode {
    println!("codecommit-build-trigger {}", env!("CARGO_PKG_VERSION"));
    ExitCode::SUCCESS
}

/// `doctor ARGS`: runs the doctor's binary (beside this one, or from the `PATH`) with `args`,
/// and exits as it does.
pub fn doctor(args: &[String]) -> ExitCode {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(DOCTOR))
        .filter(|path| path.is_file());
    let program = beside.map_or_else(|| DOCTOR.into(), std::path::PathBuf::into_os_string);
    match std::process::Command::new(&program).args(args).status() {
        Ok(status) => status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .map_or(ExitCode::FAILURE, ExitCode::from),
        Err(problem) => {
            eprintln!(
                "codecommit-build-trigger doctor: {DOCTOR} could not be run ({problem}); it is \
                 built beside this binary (make release), or install it on the PATH"
            );
            ExitCode::FAILURE
        }
    }
}

/// Prints [`USAGE`]; exits 2.
pub fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// `check FILE`: whether `path` is a valid repository file, on standard output (exit 0) or
/// standard error (exit 1).
pub fn check(path: &str) -> ExitCode {
    match checked(path) {
        Ok(rules) => {
            let names: Vec<String> = rules
                .iter()
                .map(|rule| format!("{} ({})", rule.name, rule.project))
                .collect();
            println!(
                "{path}: valid, {} rule(s): {}",
                rules.len(),
                names.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("{path}: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// The rules of the repository file at `path`, checked against `ALLOWED_PROJECTS` when set.
fn checked(path: &str) -> Result<Vec<Rule>, String> {
    let allowed = match process_variable(ALLOWED_PROJECTS) {
        Ok(Some(patterns)) if !patterns.trim().is_empty() => PatternList::parse(&patterns)
            .map(|patterns| AllowedProjects::Matching(Box::new(patterns)))
            .map_err(|problem| format!("{ALLOWED_PROJECTS} {problem}"))?,
        Ok(_) => AllowedProjects::Any,
        Err(()) => return Err(format!("{ALLOWED_PROJECTS} is not valid UTF-8")),
    };
    let bytes = std::fs::read(path).map_err(|problem| format!("cannot be read: {problem}"))?;
    repository_file::parse(&bytes, &allowed).map_err(|invalid| invalid.to_string())
}

/// `explain [--config FILE] EVENT.json`: decisions as JSON on standard output; each failure on
/// standard error.
pub async fn explain(rules_file: Option<&str>, path: &str) -> ExitCode {
    match explained(rules_file, path).await {
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

/// The configuration in the environment; with `rules_file`, that file's rules in place of
/// the function's own and of every repository's (no project needs to be set then).
fn explain_config(rules_file: Option<&str>) -> Result<Config, String> {
    let Some(file) = rules_file else {
        return Config::from_env().map_err(|problem| format!("invalid configuration: {problem}"));
    };
    let rules = checked(file).map_err(|problem| format!("{file}: {problem}"))?;
    let mut config = Config::from_lookup(|name| match name {
        REPOSITORY_CONFIG => Ok(Some(".codecommit-build-trigger.yml".to_owned())),
        ALLOWED_PROJECTS => Ok(Some("*".to_owned())),
        name => process_variable(name),
    })
    .map_err(|problem| format!("invalid configuration: {problem}"))?;
    config.rules = rules;
    config.repository_files = None;
    Ok(config)
}

/// The decisions for the event in `path`, as pretty JSON, or what went wrong.
async fn explained(rules_file: Option<&str>, path: &str) -> Result<String, String> {
    let config = explain_config(rules_file)?;
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
