//! Starting builds: a small trait the handler is generic over, and its
//! implementation on the AWS SDK's CodeBuild client.

use crate::request::BuildRequest;
use aws_sdk_codebuild::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_codebuild::types::{EnvironmentVariable, EnvironmentVariableType};
use std::future::Future;
use thiserror::Error;

/// Starts CodeBuild builds.
pub trait BuildStarter: Send + Sync {
    /// Sends one StartBuild request.
    fn start_build(
        &self,
        request: &BuildRequest,
    ) -> impl Future<Output = Result<StartedBuild, StartBuildError>> + Send;
}

/// A successful StartBuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartedBuild {
    /// A build was started (or CodeBuild returned the build its token started before).
    Started {
        /// The build's id, `project:uuid`.
        build_id: String,
    },
    /// CodeBuild answered the token with a parameter mismatch: an earlier
    /// request with this token already started the build.
    AlreadyStarted,
}

/// A StartBuild that failed after the SDK's retries.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct StartBuildError {
    /// The AWS error code (`AccessDeniedException`, ...) or the kind of
    /// transport failure (`Timeout`, `DispatchFailure`, ...).
    pub code: String,
    /// The error's message, with its causes.
    pub message: String,
}

/// [`BuildStarter`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct CodeBuild {
    client: aws_sdk_codebuild::Client,
}

impl CodeBuild {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_codebuild::Client) -> Self {
        Self { client }
    }
}

impl BuildStarter for CodeBuild {
    async fn start_build(&self, request: &BuildRequest) -> Result<StartedBuild, StartBuildError> {
        let environment = request
            .environment
            .iter()
            .map(|(name, value)| {
                EnvironmentVariable::builder()
                    .name(*name)
                    .value(value)
                    .r#type(EnvironmentVariableType::Plaintext)
                    .build()
                    .map_err(|error| StartBuildError {
                        code: "InvalidRequest".into(),
                        message: error.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answer = self
            .client
            .start_build()
            .project_name(&request.project)
            .source_version(&request.source_version)
            .idempotency_token(&request.idempotency_token)
            .set_environment_variables_override(Some(environment))
            .send()
            .await;
        match answer {
            Ok(output) => match output.build_value().and_then(|build| build.id()) {
                Some(id) => Ok(StartedBuild::Started {
                    build_id: id.to_owned(),
                }),
                None => Err(StartBuildError {
                    code: "MissingBuildId".into(),
                    message: "StartBuild answered without a build id".into(),
                }),
            },
            Err(error) => classify(error),
        }
    }
}

fn classify<E, R>(error: SdkError<E, R>) -> Result<StartedBuild, StartBuildError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("UnknownServiceError");
            if is_parameter_mismatch(code, service.err().message().unwrap_or_default()) {
                return Ok(StartedBuild::AlreadyStarted);
            }
            code.to_owned()
        }
        SdkError::TimeoutError(_) => "Timeout".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "ConnectTimeout".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_io() => "ConnectionError".to_owned(),
        SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
        SdkError::ResponseError(_) => "ResponseError".to_owned(),
        _ => "ConstructionFailure".to_owned(),
    };
    Err(StartBuildError {
        code,
        message: DisplayErrorContext(&error).to_string(),
    })
}

/// CodeBuild's answer to a reused idempotency token with other parameters.
/// Its code is not documented: AWS services use
/// `IdempotentParameterMismatch(Exception)`, and CodeBuild's modelled
/// errors only leave `InvalidInputException` with a message about the token.
pub fn is_parameter_mismatch(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code.starts_with("IdempotentParameterMismatch")
        || (code == "InvalidInputException"
            && (message.contains("idempoten") || message.contains("parameter mismatch")))
}

/// What a user should do about a failed StartBuild, by error code.
pub fn advice(code: &str) -> &'static str {
    match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            "grant the function's role codebuild:StartBuild on the project's ARN"
        }
        "ResourceNotFoundException" => {
            "check that CODEBUILD_PROJECT names an existing project in the function's account and region"
        }
        "AccountLimitExceededException" => {
            "raise the account's CodeBuild concurrent-build quota or wait for running builds; Lambda retries the event"
        }
        "InvalidInputException" => "check the project's source settings and the pushed reference",
        _ => "Lambda retries the event; the idempotency token keeps started builds from starting twice",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_mismatch_is_recognised() {
        assert!(is_parameter_mismatch(
            "IdempotentParameterMismatchException",
            ""
        ));
        assert!(is_parameter_mismatch(
            "IdempotentParameterMismatch",
            "whatever"
        ));
        assert!(is_parameter_mismatch(
            "InvalidInputException",
            "Idempotency token was used with different parameters"
        ));
        assert!(is_parameter_mismatch(
            "InvalidInputException",
            "Parameter mismatch for token"
        ));
        assert!(!is_parameter_mismatch(
            "InvalidInputException",
            "Invalid source version"
        ));
        assert!(!is_parameter_mismatch(
            "ResourceNotFoundException",
            "idempotency"
        ));
    }

    #[test]
    fn every_documented_failure_has_specific_advice() {
        let generic = advice("SomethingElse");
        for code in [
            "AccessDeniedException",
            "ResourceNotFoundException",
            "AccountLimitExceededException",
        ] {
            assert_ne!(advice(code), generic, "{code}");
        }
    }
}
