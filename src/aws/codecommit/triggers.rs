//! The installer's trigger calls on the AWS SDK: [`TriggerReads`] and [`TriggerWrites`], and
//! [`RepositoryReads`] for its check at deploy time.

use super::CodeCommit;
use crate::aws::reads::{RepositoryReads, TriggerReads};
use crate::aws::writes::TriggerWrites;
use crate::aws::AwsError;
use aws_sdk_codecommit::types::RepositoryTrigger;

impl TriggerReads for CodeCommit {
    async fn get_triggers(&self, repository: &str) -> Result<Vec<RepositoryTrigger>, AwsError> {
        let output = self
            .client
            .get_repository_triggers()
            .repository_name(repository)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetRepositoryTriggers", error))?;
        Ok(output.triggers.unwrap_or_default())
    }
}

impl TriggerWrites for CodeCommit {
    async fn put_triggers(
        &self,
        repository: &str,
        triggers: Vec<RepositoryTrigger>,
    ) -> Result<(), AwsError> {
        self.client
            .put_repository_triggers()
            .repository_name(repository)
            .set_triggers(Some(triggers))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("PutRepositoryTriggers", error))?;
        Ok(())
    }
}

impl RepositoryReads for CodeCommit {
    async fn repository_exists(&self, repository: &str) -> Result<bool, AwsError> {
        match self
            .client
            .get_repository()
            .repository_name(repository)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetRepository", error))
        {
            Ok(_) => Ok(true),
            Err(error) if error.code == "RepositoryDoesNotExistException" => Ok(false),
            Err(error) => Err(error),
        }
    }
}
