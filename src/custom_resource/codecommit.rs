//! Reading and writing a repository's triggers: a trait the installer is
//! generic over, and its implementation on the crate's CodeCommit client.

use crate::aws::AwsError;
use crate::codecommit::CodeCommit;
use aws_sdk_codecommit::types::RepositoryTrigger;
use std::future::Future;

/// A repository's trigger configuration.
pub trait TriggerStore: Send + Sync {
    /// `GetRepositoryTriggers`.
    fn get_triggers(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<Vec<RepositoryTrigger>, AwsError>> + Send;
    /// `PutRepositoryTriggers`: replaces all of the repository's triggers.
    fn put_triggers(
        &self,
        repository: &str,
        triggers: Vec<RepositoryTrigger>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// [`TriggerStore`] on the AWS SDK.
impl TriggerStore for CodeCommit {
    async fn get_triggers(&self, repository: &str) -> Result<Vec<RepositoryTrigger>, AwsError> {
        let output = self
            .client()
            .get_repository_triggers()
            .repository_name(repository)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetRepositoryTriggers", error))?;
        Ok(output.triggers.unwrap_or_default())
    }

    async fn put_triggers(
        &self,
        repository: &str,
        triggers: Vec<RepositoryTrigger>,
    ) -> Result<(), AwsError> {
        self.client()
            .put_repository_triggers()
            .repository_name(repository)
            .set_triggers(Some(triggers))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("PutRepositoryTriggers", error))?;
        Ok(())
    }
}
