//! The path of a new pull-request comment: when its text is exactly `REBUILD_COMMAND`, the
//! pull request's current revision builds again, decided as a source update would be.

use super::answer::{Response, Skipped};
use super::error::HandlerError;
use super::pull_request::pull_request_record;
use super::Starter;
use crate::aws::reads::{BuildReads, CodeCommitReads, CommentReads};
use crate::aws::writes::BuildWrites;
use crate::aws::AwsError;
use crate::event::PullRequestComment;
use lambda_runtime::tracing::info;
use tokio::time::Instant;

impl<B, C> Starter<B, C>
where
    B: BuildReads + BuildWrites,
    C: CodeCommitReads + CommentReads,
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
        let Some(failed_only) = asks_for(read.content.trim(), command) else {
            return Ok(skip(
                comment,
                format!(
                    "comment {} is not the rebuild command {command} (or {command} failed)",
                    comment.comment
                ),
            ));
        };
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
                    failed_only,
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

/// Whether `text` asks for a rebuild with `command`: `Some(false)` for everything, as
/// `command`; `Some(true)` for what failed only, as `command failed`.
fn asks_for(text: &str, command: &str) -> Option<bool> {
    match text.strip_prefix(command)? {
        "" => Some(false),
        rest if rest.starts_with(char::is_whitespace) && rest.trim() == "failed" => Some(true),
        _ => None,
    }
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
            Skipped::of_pull_request(&repository.name, &comment.pull_request, reason.clone())
        })
        .collect();
    Response {
        skipped,
        ..Response::default()
    }
}

fn failed(comment: &PullRequestComment, source: AwsError) -> HandlerError {
    HandlerError::RebuildFailed {
        comment: comment.comment.clone(),
        source,
    }
}

#[cfg(test)]
mod tests;
