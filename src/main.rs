//! The entry point: under Lambda, logging, configuration and clients at init,
//! then the runtime loop (the build trigger's, or with `Handler` `trigger-installer`
//! the custom resource's); on a terminal, `explain EVENT.json`.

use aws_types::sdk_config::{RetryConfig, SdkConfig, TimeoutConfig};
use codecommit_build_trigger::codebuild::CodeBuild;
use codecommit_build_trigger::codecommit::CodeCommit;
use codecommit_build_trigger::config::Config;
use codecommit_build_trigger::custom_resource::function as installer;
use codecommit_build_trigger::deadline::invocation_deadline;
use codecommit_build_trigger::event;
use codecommit_build_trigger::handler::{Handler, RoleLearner, Takes};
use codecommit_build_trigger::init_error::report_init_error;
use codecommit_build_trigger::logs::Logs;
use codecommit_build_trigger::role::{role, Role};
use codecommit_build_trigger::sdk::{SdkEnv, SdkEnvError};
use codecommit_build_trigger::sts;
use lambda_runtime::tracing::error;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

const USAGE: &str =
    "codecommit-build-trigger runs as an AWS Lambda function (AWS_LAMBDA_RUNTIME_API set);
on a terminal: codecommit-build-trigger explain EVENT.json
  prints each reference's decision and reason under the configuration in the environment,
  reading from CodeCommit and CodeBuild what the rules need, never starting or stopping a build;
  it reads AWS_REGION and the credentials from the environment, as the function does";

const CREDENTIALS_HINT: &str = "to run explain with a profile's credentials: \
eval \"$(aws configure export-credentials --format env)\"";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, path] if command == "explain" => explain_file(path).await,
        [] if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => serve().await,
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The Lambda function.
async fn serve() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    let takes = match role(std::env::var("_HANDLER")) {
        Ok(Role::Trigger(takes)) => takes,
        Ok(Role::Installer) => return installer::serve().await,
        Err(problem) => return fail_init(problem).await,
    };
    let (config, sdk_config) = match Config::from_env()
        .map_err(|problem| problem.to_string())
        .and_then(|config| Ok((config, sdk_config().map_err(|problem| problem.to_string())?)))
    {
        Ok(both) => both,
        Err(problem) => return fail_init(problem).await,
    };
    let mut handler = handler(config, &sdk_config).taking(takes);
    if takes != Takes::Starter {
        // The reporter is the role it runs as, asked only if `REPORTER_ROLE_ARN` does not say
        // and an event needs it, so that neither init nor a push waits for STS.
        let sts = aws_sdk_sts::Client::new(&sdk_config);
        handler = handler.learning_role(RoleLearner::new(move || {
            let sts = sts.clone();
            Box::pin(async move { sts::own_role(&sts).await })
        }));
    }
    let handler = &handler;
    let service = service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let deadline = invocation_deadline(event.context.deadline(), SystemTime::now());
        handler.handle(event.payload.get(), deadline).await
    });
    match lambda_runtime::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            error!(error = %failure, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs `problem` and reports it to Lambda as the init's `InvalidConfiguration` error.
async fn fail_init(problem: String) -> ExitCode {
    let diagnostic = Diagnostic {
        error_type: "InvalidConfiguration".into(),
        error_message: format!("invalid configuration: {problem}"),
    };
    error!(
        error_type = diagnostic.error_type,
        "{}", diagnostic.error_message
    );
    if let Err(report) = report_init_error(&diagnostic).await {
        error!(error = %report, "could not report the init error to Lambda");
    }
    ExitCode::FAILURE
}

/// `explain EVENT.json`: decisions as JSON on standard output.
async fn explain_file(path: &str) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(problem) => {
            eprintln!("invalid configuration: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let json = match std::fs::read_to_string(path) {
        Ok(json) => json,
        Err(problem) => {
            eprintln!("cannot read {path}: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let event = match event::parse(&json) {
        Ok(event) => event,
        Err(invalid) => {
            eprintln!("invalid event: {invalid}");
            return ExitCode::FAILURE;
        }
    };
    let handler = match sdk_config() {
        Ok(sdk_config) => handler(config, &sdk_config),
        Err(problem) => {
            eprintln!("invalid configuration: {problem}");
            if matches!(problem, SdkEnvError::MissingCredentials(_)) {
                eprintln!("{CREDENTIALS_HINT}");
            }
            return ExitCode::FAILURE;
        }
    };
    let lines = match handler.explain(&event).await {
        Ok(lines) => lines,
        Err(refused) => {
            eprintln!("the function would refuse this event: {refused}");
            return ExitCode::FAILURE;
        }
    };
    match serde_json::to_string_pretty(&lines) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("cannot print the decisions: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// The AWS SDK's configuration, from the environment.
fn sdk_config() -> Result<SdkConfig, SdkEnvError> {
    // Three attempts of at most 5 s each (StartBuild: up to ten, see `codebuild`), 20 s in all:
    // inside the template's 30 s timeout, so a hung endpoint fails the invocation (and Lambda
    // retries it) rather than timing it out.
    Ok(SdkEnv::from_process()
        .sdk_config()?
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .build())
}

/// The handler with its AWS clients.
fn handler(config: Config, sdk_config: &SdkConfig) -> Handler<CodeBuild, CodeCommit, Logs> {
    Handler::new(
        config,
        CodeBuild::new(aws_sdk_codebuild::Client::new(sdk_config)),
        CodeCommit::new(aws_sdk_codecommit::Client::new(sdk_config)),
        Logs::new(aws_sdk_cloudwatchlogs::Client::new(sdk_config)),
    )
}
