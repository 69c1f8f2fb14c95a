//! The path of a pull request's change: its builds as a push's, then, once it is closed or
//! merged, the builds it no longer needs stopped.

use super::answer::Response;
use super::error::HandlerError;
use super::push::START_RESERVE;
use super::{Starter, ANSWER_MARGIN};
use crate::aws::reads::{BuildReads, CodeCommitReads, CommentReads, CurrentPullRequest};
use crate::aws::writes::BuildWrites;
use crate::aws::AwsError;
use crate::decide::files::Files;
use crate::decide::rules_superseding_pull_request;
use crate::event::{
    CommitId, EventKind, GitRef, PullRequest, PullRequestComment, PullRequestStatus, Rebuild,
    Record, RefChange, RefUpdate, Repository,
};
use crate::lambda::deadline::within;
use lambda_runtime::tracing::warn;
use tokio::time::Instant;

impl<B, C> Starter<B, C>
where
    B: BuildReads + BuildWrites,
    C: CodeCommitReads + CommentReads,
{
    /// Builds a pull request's change and, when it closed it, stops its builds.
    pub(super) async fn pull_request(
        &self,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let early = self
            .read_early(records, answer_by.map(|at| at - START_RESERVE))
            .await?;
        let mut response = self.build_with(&early, records, deadline).await?;
        let stopping = self.stop_closed_pull_requests(&early.files, records, &mut response);
        if within(answer_by, stopping).await.is_none() {
            warn!("no time left to stop the closed pull request's builds");
        }
        Ok(response)
    }

    /// Stops the in-progress builds of every closed or merged pull request of
    /// `records` that started before the event, once per project of the rules
    /// that supersede, and names them in the response.
    async fn stop_closed_pull_requests(
        &self,
        files: &Files,
        records: &[Record],
        response: &mut Response,
    ) {
        for record in records {
            let (Some(pull_request), Some(update)) =
                (&record.pull_request, record.references.first())
            else {
                continue;
            };
            if pull_request.status == PullRequestStatus::Open {
                continue;
            }
            let mut rules = rules_superseding_pull_request(&self.config, files, record);
            // One look per project and kind (builds, batches).
            rules.sort_by_key(|rule| (rule.project.as_str(), rule.batch));
            rules.dedup_by_key(|rule| (rule.project.as_str(), rule.batch));
            let mut stopped = Vec::new();
            for rule in rules {
                stopped.extend(self.supersede(rule, record, &update.reference, None).await);
            }
            if let Some(skipped) = response.skipped.iter_mut().find(|skipped| {
                skipped.repository == record.repository.name
                    && skipped.pull_request.as_deref() == Some(pull_request.id.as_str())
            }) {
                skipped.superseded = stopped;
            }
        }
    }
}

/// Pull request `id`'s `current` revision as a record to decide, as its source update would
/// be; a rebuild when `comment` asked for it (of what failed only, when `failed_only`).
pub(super) fn pull_request_record(
    repository: Repository,
    id: &str,
    current: CurrentPullRequest,
    comment: Option<&PullRequestComment>,
    failed_only: bool,
) -> Result<Record, AwsError> {
    let malformed = |what: &str, value: &str| AwsError {
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
            rebuild: comment.map(|comment| Rebuild {
                comment: comment.comment.clone(),
                failed_only,
            }),
        }),
        event_id: None,
    })
}
