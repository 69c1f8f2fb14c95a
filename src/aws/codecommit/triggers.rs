//! The installer's trigger calls on the AWS SDK: [`TriggerReads`] and [`TriggerWrites`].

use super::CodeCommit;
use crate::aws::reads::TriggerReads;
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
