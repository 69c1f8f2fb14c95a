//! The starter: pushes, pull requests and their comments become builds. It reads CodeCommit
//! and CodeBuild and starts and stops builds; it holds no way to write a comment.

use super::answer::{Response, Skipped};
use super::error::HandlerError;
use super::explain::{explain, explain_ignored, Explained};
use super::gather::{decide, read_early, Early};
use super::own_role::ReporterRole;
use super::{admitted, log_refusal};
use crate::aws::reads::{BuildReads, CodeCommitReads, CommentReads};
use crate::aws::writes::BuildWrites;
use crate::config::{Config, RoleArn};
use crate::decide::Decision;
use crate::event::{self, Event, IgnoredEvent, Record};
use lambda_runtime::tracing::{error, info};
use tokio::time::Instant;

/// The starter's handler, generic over the calls it may make.
#[derive(Debug)]
pub struct Starter<B, C> {
    pub(super) config: Config,
    pub(super) codebuild: B,
    pub(super) codecommit: C,
    reporter_role: ReporterRole,
}

impl<B, C> Starter<B, C>
where
    B: BuildReads + BuildWrites,
    C: CodeCommitReads + CommentReads,
{
    /// A starter for `config` that calls CodeBuild and CodeCommit through these.
    pub fn new(config: Config, codebuild: B, codecommit: C) -> Self {
        Self {
            config,
            codebuild,
            codecommit,
            reporter_role: ReporterRole::default(),
        }
    }

    /// This handler, knowing the reporter's role as `role` learns it when `REPORTER_ROLE_ARN`
    /// is not set (once, when an event first needs it), to tell the function's own comments.
    pub fn learning_role(self, role: ReporterRole) -> Self {
        Self {
            reporter_role: role,
            ..self
        }
    }

    /// The role whose sessions write the function's comments, if known.
    pub(super) async fn reporter_role(&self) -> Option<&RoleArn> {
        self.reporter_role.get(&self.config).await
    }

    /// Reads the repositories' files `records` need, with what their references need anyway.
    pub(super) async fn read_early(
        &self,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Result<Early, HandlerError> {
        read_early(&self.config, records, &self.codecommit, deadline).await
    }

    /// Decides every reference of `records` with the rules `early` read, reading (never
    /// writing) what those rules need.
    pub(super) async fn decide<'a>(
        &'a self,
        early: &'a Early,
        records: &'a [Record],
        deadline: Option<Instant>,
    ) -> Vec<Decision<'a>> {
        decide(
            &self.config,
            early,
            records,
            &self.codecommit,
            &self.codebuild,
            deadline,
        )
        .await
    }

    /// What the function would decide for `event`, without starting or
    /// stopping anything: `explain`'s lines.
    pub async fn explain(&self, event: &Event) -> Result<Vec<Explained>, HandlerError> {
        super::admit(&self.config, event)?;
        Ok(match event {
            Event::Ignored(ignored) => explain_ignored(ignored_skips(ignored)),
            Event::Build(_) => {
                return Err(HandlerError::InvalidEvent(event::InvalidEvent {
                    path: "detail-type".into(),
                    problem:
                        "a build-state event is reported, not decided: explain shows decisions"
                            .into(),
                }))
            }
            event => {
                let early = self.read_early(event.records(), None).await?;
                explain(&self.decide(&early, event.records(), None).await)
            }
        })
    }

    /// Handles one event given as JSON text: a push, a pull request's change, a comment, or an
    /// event that never builds; a build-state event is the reporter's and is refused.
    ///
    /// Every reference is decided; every build wanted is attempted even when
    /// another fails. Any failed start fails the invocation, naming each
    /// failed reference, so that Lambda retries the (idempotent) event. No
    /// call (retries included) runs past `deadline`, the invocation's end.
    pub async fn handle(
        &self,
        event_json: &str,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let event = admitted(&self.config, event_json, "starter", |event| {
            !matches!(event, Event::Build(_))
        })?;
        self.take(&event, deadline).await.map(Response::bounded)
    }

    /// Handles an admitted event this role takes.
    pub(super) async fn take(
        &self,
        event: &Event,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        match event {
            Event::Ignored(ignored) => {
                let skipped = ignored_skips(ignored);
                for skip in &skipped {
                    info!(
                        repository = skip.repository,
                        pull_request = skip.pull_request,
                        event = ignored.event,
                        decision = "skip",
                        reason = skip.reason,
                        "decision"
                    );
                }
                Ok(Response {
                    skipped,
                    ..Response::default()
                })
            }
            Event::Comment(comment) => self.rebuild(comment, deadline).await.inspect_err(
                |failure| {
                    error!(error_type = failure.error_type(), error = %failure, "rebuild failed");
                },
            ),
            Event::Push(push) => self.build(&push.records, deadline).await,
            Event::PullRequest(change) => self.pull_request(&change.records, deadline).await,
            Event::Build(_) => Err(log_refusal(HandlerError::NotTaken {
                kind: event.kind(),
                function: "starter",
            })),
        }
    }
}

/// The answer to a pull-request event that never builds: one skip per repository.
fn ignored_skips(ignored: &IgnoredEvent) -> Vec<Skipped> {
    ignored
        .repositories
        .iter()
        .map(|repository| {
            Skipped::of_pull_request(
                &repository.name,
                &ignored.pull_request,
                format!("a {} event never builds", ignored.event),
            )
        })
        .collect()
}
