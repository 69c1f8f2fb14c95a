//! [`CodeCommitReads`] on the AWS SDK's CodeCommit client; the comment, trigger and merge-gate
//! calls on the same client are in `comments`, `triggers` and `merge_gate` below.

use super::reads::{CodeCommitReads, CurrentPullRequest, RepositoryFile};
use super::AwsError;
use crate::event::{CommitId, PullRequestStatus};
use aws_sdk_codecommit::types::{FileModeTypeEnum, PullRequestStatusEnum};

mod comments;
mod merge_gate;
mod triggers;

/// The pull request's target in `repository`.
fn target_in<'a>(
    pull_request: Option<&'a aws_sdk_codecommit::types::PullRequest>,
    repository: &str,
) -> Option<&'a aws_sdk_codecommit::types::PullRequestTarget> {
    pull_request?
        .pull_request_targets()
        .iter()
        .find(|target| target.repository_name() == Some(repository))
}

/// Open, closed or merged, from `GetPullRequest`'s pull request and its target.
fn status(
    pull_request: Option<&aws_sdk_codecommit::types::PullRequest>,
    target: Option<&aws_sdk_codecommit::types::PullRequestTarget>,
) -> Result<PullRequestStatus, AwsError> {
    let merged = target
        .and_then(|target| target.merge_metadata())
        .is_some_and(|merge| merge.is_merged());
    match pull_request.and_then(|pr| pr.pull_request_status()) {
        _ if merged => Ok(PullRequestStatus::Merged),
        Some(PullRequestStatusEnum::Closed) => Ok(PullRequestStatus::Closed),
        Some(PullRequestStatusEnum::Open) => Ok(PullRequestStatus::Open),
        other => Err(AwsError {
            operation: "GetPullRequest",
            code: "UnknownPullRequestStatus".into(),
            message: format!("GetPullRequest answered with status {other:?}"),
        }),
    }
}

/// The CodeCommit calls on the AWS SDK: [`CodeCommitReads`], the comment reads and writes,
/// and the installer's trigger calls.
#[derive(Debug, Clone)]
pub struct CodeCommit {
    client: aws_sdk_codecommit::Client,
}

impl CodeCommit {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_codecommit::Client) -> Self {
        Self { client }
    }

    async fn get_pull_request(
        &self,
        id: &str,
    ) -> Result<aws_sdk_codecommit::operation::get_pull_request::GetPullRequestOutput, AwsError>
    {
        self.client
            .get_pull_request()
            .pull_request_id(id)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetPullRequest", error))
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

    async fn file(
        &self,
        repository: &str,
        commit: &CommitId,
        path: &str,
    ) -> Result<Option<RepositoryFile>, AwsError> {
        let answer = self
            .client
            .get_file()
            .repository_name(repository)
            .commit_specifier(commit.as_str())
            .file_path(path)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetFile", error));
        match answer {
            Ok(output) => Ok(Some(RepositoryFile {
                symlink: output.file_mode == FileModeTypeEnum::Symlink,
                content: output.file_content.into_inner(),
            })),
            Err(error) if error.code == "FileDoesNotExistException" => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn branch_head(
        &self,
        repository: &str,
        branch: &str,
    ) -> Result<Option<String>, AwsError> {
        let answer = self
            .client
            .get_branch()
            .repository_name(repository)
            .branch_name(branch)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetBranch", error));
        match answer {
            Ok(output) => Ok(output.branch.and_then(|branch| branch.commit_id)),
            Err(error) if error.code == "BranchDoesNotExistException" => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn current_pull_request(
        &self,
        repository: &str,
        id: &str,
    ) -> Result<CurrentPullRequest, AwsError> {
        let output = self.get_pull_request(id).await?;
        let pull_request = output.pull_request.as_ref();
        let target = target_in(pull_request, repository);
        let missing = |what: &str| AwsError {
            operation: "GetPullRequest",
            code: "IncompletePullRequest".into(),
            message: format!(
                "GetPullRequest answered pull request {id} without its {what} in {repository}"
            ),
        };
        let side =
            |reference: Option<&str>, commit: Option<&str>, what: &str| match (reference, commit) {
                (Some(reference), Some(commit)) => Ok((reference.to_owned(), commit.to_owned())),
                _ => Err(missing(what)),
            };
        let target = target.ok_or_else(|| missing("target"))?;
        Ok(CurrentPullRequest {
            status: status(pull_request, Some(target))?,
            revision: pull_request
                .and_then(|pr| pr.revision_id())
                .ok_or_else(|| missing("revision"))?
                .to_owned(),
            source: side(target.source_reference(), target.source_commit(), "source")?,
            destination: side(
                Some(target.destination_reference()).flatten(),
                target.destination_commit(),
                "destination",
            )?,
            created_at: pull_request
                .and_then(|pr| pr.creation_date())
                .and_then(|date| date.to_millis().ok()),
        })
    }

    async fn first_parent(
        &self,
        repository: &str,
        commit: &CommitId,
    ) -> Result<Option<String>, AwsError> {
        let output = self
            .client
            .get_commit()
            .repository_name(repository)
            .commit_id(commit.as_str())
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetCommit", error))?;
        Ok(output
            .commit
            .and_then(|commit| commit.parents)
            .and_then(|parents| parents.into_iter().next()))
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
