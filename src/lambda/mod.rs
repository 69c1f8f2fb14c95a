//! The Lambda Runtime API side, shared by every role: the runtime loop with each
//! invocation's deadline, reporting an init error, and the SDK clients' retry and timeout
//! discipline.

pub mod deadline;
pub mod init_error;

use crate::aws::sdk::{SdkEnv, SdkEnvError};
use aws_types::sdk_config::{RetryConfig, SdkConfig, TimeoutConfig};
use deadline::invocation_deadline;
use lambda_runtime::tracing::error;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Runs the Lambda runtime loop: each event's payload goes to `handle` with the instant the
/// invocation ends (`None` when the Runtime API's deadline cannot be believed), until the
/// runtime stops.
pub async fn serve<A, R, E, H, F>(handle: H) -> ExitCode
where
    A: for<'de> Deserialize<'de>,
    R: Serialize,
    E: Into<Diagnostic> + Debug,
    H: Fn(A, Option<Instant>) -> F,
    F: Future<Output = Result<R, E>>,
{
    let handle = &handle;
    let service = service_fn(move |event: LambdaEvent<A>| {
        let deadline = invocation_deadline(event.context.deadline(), SystemTime::now());
        handle(event.payload, deadline)
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
pub async fn fail_init(problem: impl std::fmt::Display) -> ExitCode {
    let diagnostic = Diagnostic {
        error_type: "InvalidConfiguration".into(),
        error_message: format!("invalid configuration: {problem}"),
    };
    error!(
        error_type = diagnostic.error_type,
        "{}", diagnostic.error_message
    );
    if let Err(report) = init_error::report_init_error(&diagnostic).await {
        error!(error = %report, "could not report the init error to Lambda");
    }
    ExitCode::FAILURE
}

/// The AWS SDK's configuration from the environment, with every role's retries and time
/// bounds: three attempts of at most 5 s each (StartBuild: up to ten, see `aws::CodeBuild`),
/// 20 s in all, inside the template's 30 s timeout, so that a hung endpoint fails the
/// invocation (and Lambda retries it) rather than timing it out.
pub fn sdk_config() -> Result<SdkConfig, SdkEnvError> {
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
