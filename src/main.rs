//! The Lambda entry point: logging, configuration and clients at init, then
//! the runtime loop.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use codecommit_build_trigger::codebuild::CodeBuild;
use codecommit_build_trigger::config::Config;
use codecommit_build_trigger::handler::Handler;
use codecommit_build_trigger::init_error::report_init_error;
use lambda_runtime::tracing::error;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(problem) => {
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
            return ExitCode::FAILURE;
        }
    };

    // Three attempts of at most 5 s each, 20 s in all: inside the template's 30 s timeout, so a
    // hung endpoint fails the invocation (and Lambda retries it) rather than timing it out.
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await;
    let handler = Handler::new(
        config,
        CodeBuild::new(aws_sdk_codebuild::Client::new(&sdk_config)),
    );
    let handler = &handler;

    let service = service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        handler.handle(event.payload.get()).await
    });
    match lambda_runtime::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            error!(error = %failure, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
