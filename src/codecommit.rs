//! Reading a repository's history: a small trait the facts gatherer is
//! generic over, and its implementation on the AWS SDK's CodeCommit client.

use crate::aws::AwsError;
use crate::event::CommitId;
use std::future::Future;

/// The read-only CodeCommit calls the decisions may need.
pub trait CodeCommitReads: Send + Sync {
    /// The full message of `commit` (`GetCommit`).
    fn commit_message(
        &self,
        repository: &str,
        commit: &CommitId,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Every path added, modified or deleted between two commits, both sides
    /// of a rename included (`GetDifferences`, every page).
    fn changed_paths(
        &self,
        repository: &str,
        before: &str,
        after: &CommitId,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// The repository's default branch, if it has one (`GetRepository`).
    fn default_branch(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;

    /// The merge base of `commit` and `destination`, a branch or a commit
    /// (`GetMergeOptions`).
    fn merge_base(
        &self,
        repository: &str,
        commit: &CommitId,
        destination: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
}

/// [`CodeCommitReads`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct CodeCommit {
    client: aws_sdk_codecommit::Client,
}

impl CodeCommit {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_codecommit::Client) -> Self {
        Self { client }
    }

    /// The SDK client, for the custom resource's trigger calls.
    pub(crate) fn client(&self) -> &aws_sdk_codecommit::Client {
        &self.client
    }
}

impl CodeCommitReads for CodeCommit {
    async fn commit_message(
        &self,
        repository: &str,
        commit: &CommitId,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .get_commit()
            .repository_name(repository)
            .commit_id(commit.as_str())
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetCommit", error))?;
        Ok(output.commit.and_then(|c| c.message).unwrap_or_default())
    }

    async fn changed_paths(
        &self,
        repository: &str,
        before: &str,
        after: &CommitId,
    ) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .client
            .get_differences()
            .repository_name(repository)
            .before_commit_specifier(before)
            .after_commit_specifier(after.as_str())
            .into_paginator()
            .send();
        let mut paths = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| AwsError::from_sdk("GetDifferences", error))?;
            for difference in page.differences.unwrap_or_default() {
                for blob in [difference.before_blob, difference.after_blob]
                    .into_iter()
                    .flatten()
                {
                    if let Some(path) = blob.path {
                        paths.push(path);
                    }
                }
            }
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    async fn default_branch(&self, repository: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .get_repository()
            .repository_name(repository)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetRepository", error))?;
        Ok(output.repository_metadata.and_then(|m| m.default_branch))
    }

    async fn merge_base(
        &self,
        repository: &str,
        commit: &CommitId,
        destination: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .get_merge_options()
            .repository_name(repository)
            .source_commit_specifier(commit.as_str())
            .destination_commit_specifier(destination)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetMergeOptions", error))?;
        Ok(output.base_commit_id)
    }
}
