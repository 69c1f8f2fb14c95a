//! The path of a new pull-request comment: when its text is exactly `REBUILD_COMMAND`, the
//! pull request's current revision builds again, decided as a source update would be.

use super::Handler;
use crate::codebuild::CodeBuildCalls;
use crate::codecommit::{CodeCommitReads, CurrentPullRequest};
use crate::comments::{CommentReads, ResultWrites};
use crate::error::HandlerError;
use crate::event::{
    CommitId, EventKind, GitRef, PullRequest, PullRequestComment, Record, RefChange, RefUpdate,
};
use crate::logs::LogReads;
use crate::response::{Response, Skipped};
use lambda_runtime::tracing::info;
use tokio::time::Instant;

impl<B, C, L> Handler<B, C, L>
where
    B: CodeBuildCalls,
    C: CodeCommitReads + CommentReads + ResultWrites,
    L: LogReads,
{
    /// Starts the current revision's builds again if `comment` is the rebuild command, and
    /// answers why not otherwise. The comment's id joins the builds' idempotency tokens, so
    /// a rebuild is never taken for a repeat of the builds it repeats, while a redelivered
    /// comment event starts nothing twice.
    pub(super) async fn rebuild(
        &self,
        comment: &PullRequestComment,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let reporting = &self.config.reporting;
        let Some(command) = &reporting.rebuild_command else {
            return Ok(skip(
                comment,
                "REBUILD_COMMAND is off: comments never build".into(),
            ));
        };
        let reporter = self.reporter_role().await;
        let own = |author: &str| reporter.is_some_and(|role| role.is_session(author));
        if comment.author.as_deref().is_some_and(own) {
            return Ok(skip(comment, "the comment is the function's own".into()));
        }
        let read = self
            .codecommit
            .comment(&comment.comment)
            .await
            .map_err(|source| failed(comment, source))?;
        if read.author.as_deref().is_some_and(own) {
            return Ok(skip(comment, "the comment is the function's own".into()));
        }
        if read.content.trim() != command {
            return Ok(skip(
                comment,
                format!(
                    "comment {} is not the rebuild command {command}",
                    comment.comment
                ),
            ));
        }
        let mut records = Vec::with_capacity(comment.repositories.len());
        for repository in &comment.repositories {
            let current = self
                .codecommit
                .current_pull_request(&repository.name, &comment.pull_request)
                .await
                .map_err(|source| failed(comment, source))?;
            records.push(
                pull_request_record(
                    repository.clone(),
                    &comment.pull_request,
                    current,
                    Some(comment),
                )
                .map_err(|source| failed(comment, source))?,
            );
        }
        info!(
            pull_request = comment.pull_request,
            comment = comment.comment,
            "rebuild asked for"
        );
        self.build(&records, deadline).await
    }
}

/// Pull request `id`'s `current` revision as a record to decide, as its source update would
/// be; a rebuild when `comment` asked for it.
pub(super) fn pull_request_record(
    repository: crate::event::Repository,
    id: &str,
    current: CurrentPullRequest,
    comment: Option<&PullRequestComment>,
) -> Result<Record, crate::aws::AwsError> {
    let malformed = |what: &str, value: &str| crate::aws::AwsError {
        operation: "GetPullRequest",
        code: "UnexpectedPullRequest".into(),
        message: format!("GetPullRequest answered a {what} that is not valid: {value:?}"),
    };
    let reference =
        |name: String| GitRef::parse(&name).ok_or_else(|| malformed("reference", &name));
    let commit = |id: String| CommitId::parse(&id).ok_or_else(|| malformed("commit id", &id));
    let (source, source_commit) = (reference(current.source.0)?, commit(current.source.1)?);
    let (destination, destination_commit) = (
        reference(current.destination.0)?,
        commit(current.destination.1)?,
    );
    Ok(Record {
        repository,
        pusher: comment.and_then(|comment| comment.author.clone()),
        kind: match comment {
            Some(_) => EventKind::CommentOnPullRequestCreated,
            None => EventKind::PullRequestSourceBranchUpdated,
        },
        pushed_at: comment.and_then(|comment| comment.written_at),
        references: vec![RefUpdate {
            reference: source,
            change: RefChange::Pushed {
                commit: source_commit,
                created: false,
                previous: None,
            },
        }],
        pull_request: Some(PullRequest {
            id: id.to_owned(),
            revision: current.revision,
            destination,
            destination_commit,
            status: current.status,
            rebuild: comment.map(|comment| comment.comment.clone()),
        }),
        event_id: None,
    })
}

/// The answer to a comment that starts nothing: one skip per repository.
fn skip(comment: &PullRequestComment, reason: String) -> Response {
    let skipped = comment
        .repositories
        .iter()
        .map(|repository| {
            info!(
                repository = repository.name,
                pull_request = comment.pull_request,
                comment = comment.comment,
                decision = "skip",
                reason,
                "decision"
            );
            Skipped {
                repository: repository.name.clone(),
                reference: None,
                commit: None,
                pull_request: Some(comment.pull_request.clone()),
                project: None,
                rule: None,
                reason: reason.clone(),
                superseded: Vec::new(),
            }
        })
        .collect();
    Response {
        skipped,
        ..Response::default()
    }
}

fn failed(comment: &PullRequestComment, source: crate::aws::AwsError) -> HandlerError {
    let advice = source.advice();
    HandlerError::RebuildFailed {
        comment: comment.comment.clone(),
        source,
        advice,
    }
}

#[cfg(test)]
mod tests;
