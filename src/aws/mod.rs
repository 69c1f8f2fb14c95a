//! Every AWS call the functions make, and nothing else imports an AWS SDK.
//!
//! - [`reads`]: the traits of the calls that only read (CodeCommit's history, pull requests
//!   and comments, CodeBuild's builds, CloudWatch Logs, a repository's triggers);
//! - [`writes`]: the traits of the calls that change something (StartBuild and StopBuild,
//!   comments and approvals, a repository's triggers);
//! - [`CodeBuild`], [`CodeCommit`], [`Logs`]: those traits on the SDK's clients; [`own_role`]
//!   (STS); [`sdk`]: the clients' configuration from the environment;
//! - [`AwsError`]: one error for every call, with the IAM action and advice.
//!
//! Each role's handler is generic over only the traits it may use: the starter holds no
//! [`writes::ResultWrites`], the reporter no [`writes::BuildWrites`].

mod codebuild;
mod codecommit;
mod logs;
pub mod reads;
pub mod sdk;
mod sts;
pub mod writes;

pub use codebuild::{is_parameter_mismatch, CodeBuild};
pub use codecommit::CodeCommit;
pub use logs::Logs;
pub use sts::{own_role, OwnRoleError};

use aws_sdk_codebuild::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use thiserror::Error;

/// A failed AWS call, after the SDK's retries.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{operation} failed: {code}: {message}")]
pub struct AwsError {
    /// The API operation, e.g. `StartBuild`.
    pub operation: &'static str,
    /// The AWS error code (`AccessDeniedException`, ...) or the kind of
    /// transport failure (`Timeout`, `ConnectionError`, ...).
    pub code: String,
    /// The error's message, with its causes for transport failures.
    pub message: String,
}

impl AwsError {
    /// A call of `operation` that the invocation's deadline ended before it succeeded.
    pub fn out_of_time(operation: &'static str, message: &str) -> Self {
        Self {
            operation,
            code: "InvocationDeadline".into(),
            message: message.to_owned(),
        }
    }

    /// Maps an SDK error of `operation`.
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let context = || DisplayErrorContext(&error).to_string();
        let (code, message) = match &error {
            SdkError::ServiceError(service) => (
                service
                    .err()
                    .code()
                    .unwrap_or("UnknownServiceError")
                    .to_owned(),
                service.err().message().map_or_else(context, str::to_owned),
            ),
            SdkError::TimeoutError(_) => ("Timeout".to_owned(), context()),
            SdkError::DispatchFailure(failure) if failure.is_timeout() => {
                ("ConnectTimeout".to_owned(), context())
            }
            SdkError::DispatchFailure(failure) if failure.is_io() => {
                ("ConnectionError".to_owned(), context())
            }
            SdkError::DispatchFailure(_) => ("DispatchFailure".to_owned(), context()),
            SdkError::ResponseError(_) => ("ResponseError".to_owned(), context()),
            _ => ("ConstructionFailure".to_owned(), context()),
        };
        Self {
            operation,
            code,
            message,
        }
    }

    /// The IAM action of the failed call, e.g. `codebuild:StartBuild`.
    pub fn action(&self) -> String {
        let service = match self.operation {
            "StartBuild"
            | "StopBuild"
            | "ListBuildsForProject"
            | "BatchGetBuilds"
            | "BatchGetProjects"
            | "BatchGetReports"
            | "DescribeTestCases"
            | "StartBuildBatch"
            | "StopBuildBatch"
            | "RetryBuildBatch"
            | "ListBuildBatchesForProject"
            | "BatchGetBuildBatches" => "codebuild",
            "ReceiveMessage"
            | "DeleteMessage"
            | "ChangeMessageVisibility"
            | "GetQueueAttributes" => "sqs",
            "Invoke" => "lambda",
            "GetLogEvents" => "logs",
            _ => "codecommit",
        };
        // IAM calls Lambda's Invoke `lambda:InvokeFunction`.
        if self.operation == "Invoke" {
            return "lambda:InvokeFunction".to_owned();
        }
        format!("{service}:{}", self.operation)
    }

    /// What a user should do about it.
    pub fn advice(&self) -> String {
        let batch = matches!(
            self.operation,
            "StartBuildBatch" | "RetryBuildBatch" | "StopBuildBatch"
        );
        match self.code.as_str() {
            "AccessDeniedException" | "AccessDenied" if batch => format!(
                "set the stack's BatchBuilds parameter to true: it grants {} on the rules' projects",
                self.action()
            ),
            "InvalidInputException" if self.operation == "StartBuildBatch" => "give the project batch configuration (buildBatchConfig, with its batch service role) and a buildspec with a batch section".to_owned(),
            "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => format!(
                "grant the function's role {} on the {}",
                self.action(),
                match self.action().split(':').next() {
                    Some("codebuild") => "project's ARN",
                    Some("logs") => "project's log group",
                    _ => "repository's ARN",
                }
            ),
            "ResourceNotFoundException" => "check that the project (CODEBUILD_PROJECT, or the rule's project) exists in the function's account and region".to_owned(),
            "RepositoryDoesNotExistException" => "check that the repository exists in the function's account and region".to_owned(),
            "AccountLimitExceededException" => "raise the account's CodeBuild concurrent-build quota or wait for running builds; Lambda retries the event".to_owned(),
            "InvalidInputException" => "check the project's source settings and the pushed reference".to_owned(),
            _ => "Lambda retries the event; the idempotency token keeps started builds from starting twice".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(operation: &'static str, code: &str) -> AwsError {
        AwsError {
            operation,
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn a_refused_batch_says_what_a_batch_needs() {
        assert_eq!(
            error("StartBuildBatch", "AccessDeniedException").advice(),
            "set the stack's BatchBuilds parameter to true: it grants codebuild:StartBuildBatch on the rules' projects"
        );
        assert!(error("StartBuildBatch", "InvalidInputException")
            .advice()
            .starts_with("give the project batch configuration (buildBatchConfig"));
    }

    #[test]
    fn access_denied_names_the_missing_action() {
        assert_eq!(
            error("StartBuild", "AccessDeniedException").advice(),
            "grant the function's role codebuild:StartBuild on the project's ARN"
        );
        assert_eq!(
            error("GetDifferences", "AccessDeniedException").advice(),
            "grant the function's role codecommit:GetDifferences on the repository's ARN"
        );
    }

    #[test]
    fn every_documented_failure_has_specific_advice() {
        let generic = error("StartBuild", "SomethingElse").advice();
        for code in [
            "ResourceNotFoundException",
            "AccountLimitExceededException",
            "RepositoryDoesNotExistException",
        ] {
            assert_ne!(error("StartBuild", code).advice(), generic, "{code}");
        }
    }
}
