//! Reading and writing a repository's triggers: a trait the installer is
//! generic over, and its implementation on the AWS SDK.

use aws_sdk_codecommit::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_codecommit::types::RepositoryTrigger;
use std::future::Future;
use thiserror::Error;

/// A failed CodeCommit call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct StoreError {
    /// The AWS error code, or the kind of transport failure.
    pub code: String,
    /// The error's message.
    pub message: String,
}

impl StoreError {
    /// The repository does not exist.
    pub fn is_missing_repository(&self) -> bool {
        self.code == "RepositoryDoesNotExistException"
    }
}

/// A repository's trigger configuration.
pub trait TriggerStore: Send + Sync {
    /// `GetRepositoryTriggers`.
    fn get_triggers(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<Vec<RepositoryTrigger>, StoreError>> + Send;
    /// `PutRepositoryTriggers`: replaces all of the repository's triggers.
    fn put_triggers(
        &self,
        repository: &str,
        triggers: Vec<RepositoryTrigger>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// [`TriggerStore`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct CodeCommit {
    client: aws_sdk_codecommit::Client,
}

impl CodeCommit {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_codecommit::Client) -> Self {
        Self { client }
    }
}

impl TriggerStore for CodeCommit {
    async fn get_triggers(&self, repository: &str) -> Result<Vec<RepositoryTrigger>, StoreError> {
        let output = self
            .client
            .get_repository_triggers()
            .repository_name(repository)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.triggers.unwrap_or_default())
    }

    async fn put_triggers(
        &self,
        repository: &str,
        triggers: Vec<RepositoryTrigger>,
    ) -> Result<(), StoreError> {
        self.client
            .put_repository_triggers()
            .repository_name(repository)
            .set_triggers(Some(triggers))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

fn store_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = match &error {
        SdkError::ServiceError(service) => service.err().code().unwrap_or("UnknownServiceError"),
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        _ => "ConstructionFailure",
    };
    let message = match &error {
        SdkError::ServiceError(service) => service.err().message().unwrap_or_default().to_owned(),
        _ => DisplayErrorContext(&error).to_string(),
    };
    StoreError {
        code: code.to_owned(),
        message,
    }
}
