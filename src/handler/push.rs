//! The path of a push (and of a pull request's builds): decide each reference, start the
//! builds wanted, at most `MAX_BUILDS`, a few at a time, and stop what they supersede.

use super::answer::{Response, Skipped, Started};
use super::error::{FailedStart, HandlerError};
use super::gather::Early;
use super::{Starter, ANSWER_MARGIN};
use crate::aws::reads::{BuildReads, CodeCommitReads, CommentReads, PastBuild};
use crate::aws::writes::{BuildRequest, BuildWrites, StartedBuild};
use crate::aws::AwsError;
use crate::build_request::build_request;
use crate::config::Rule;
use crate::decide::{Decision, Line, SkipKind};
use crate::event::{CommitId, GitRef, PullRequest, Record};
use crate::lambda::deadline::within;
use futures_util::stream::{self, StreamExt};
use lambda_runtime::tracing::{error, info, warn};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How many StartBuild calls run at once for a push of many references.
const CONCURRENT_STARTS: usize = 8;
/// Time kept for starting builds after reading what the decisions need:
/// one StartBuild attempt.
pub(super) const START_RESERVE: Duration = Duration::from_secs(6);

/// One build (or batch) to start.
struct Wanted<'a> {
    decision: &'a Decision<'a>,
    rule: &'a Rule,
    commit: &'a CommitId,
    /// The batch of this revision whose failed builds `/rebuild failed` retries, rather than
    /// starting anything new.
    retry: Option<String>,
}

/// What a rebuild command does to one line of its decision.
enum Rebuild {
    /// What the line decides stands (it is not a rebuild's, or the rebuild may start).
    Stands,
    /// Nothing starts, for this reason.
    Held(String),
    /// The failed builds of this batch start again.
    Retry(String),
}

impl<B, C> Starter<B, C>
where
    B: BuildReads + BuildWrites,
    C: CodeCommitReads + CommentReads,
{
    /// Decides `records` and starts the builds wanted: the path of pushes and
    /// pull requests alike.
    pub(super) async fn build(
        &self,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let read_by = answer_by.map(|at| at - START_RESERVE);
        let early = self.read_early(records, read_by).await?;
        self.build_with(&early, records, deadline).await
    }

    /// Decides `records` with the rules `early` read, and starts the builds wanted.
    pub(super) async fn build_with(
        &self,
        early: &Early,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let decisions = self
            .decide(early, records, answer_by.map(|at| at - START_RESERVE))
            .await;
        let mut response = Response::default();
        let lines: Vec<Line<'_>> = decisions.iter().flat_map(Decision::lines).collect();
        let builds = lines.iter().filter(|line| line.build.is_some()).count();
        let too_many = (builds > usize::from(self.config.max_builds)).then(|| {
            let reason = format!(
                "this event would start {builds} builds, more than MAX_BUILDS ({}) allows: it starts none",
                self.config.max_builds
            );
            error!(builds, max_builds = self.config.max_builds, "{reason}");
            reason
        });
        let rebuilds = self.rebuilds(&lines).await;
        let mut wanted = Vec::new();
        for (mut line, rebuild) in lines.into_iter().zip(&rebuilds) {
            let busy = match rebuild {
                Rebuild::Held(reason) => Some(reason),
                _ => None,
            };
            let held = (too_many
                .as_ref()
                .map(|reason| (SkipKind::Reference, reason)))
            .or(busy.map(|reason| (SkipKind::Outdated, reason)));
            if let Some((kind, reason)) = held {
                if line.build.is_some() {
                    line.build = None;
                    line.skip = Some(kind);
                    line.reason = reason;
                }
            }
            log_line(&line);
            match (line.build, line.rule) {
                (Some(commit), Some(rule)) => wanted.push(Wanted {
                    decision: line.decision,
                    rule,
                    commit,
                    retry: match rebuild {
                        Rebuild::Retry(batch) => Some(batch.clone()),
                        _ => None,
                    },
                }),
                _ => response.skipped.push(Skipped::of(&line)),
            }
        }
        let failures = self.start_all(wanted, answer_by, &mut response).await;
        if failures.is_empty() {
            Ok(response)
        } else {
            warn!(
                failed = failures.len(),
                started = response.started.len(),
                "failing the invocation so that Lambda retries it"
            );
            Err(HandlerError::StartBuildFailed(failures))
        }
    }

    /// For each line, what a rebuild does to it: held back while a build (or batch) of its
    /// (project, rule) and revision is still running; for `REBUILD_COMMAND failed`, held
    /// unless the latest one failed, and a batch's failed builds retried. Lines that are not
    /// a rebuild's stand.
    async fn rebuilds(&self, lines: &[Line<'_>]) -> Vec<Rebuild> {
        let mut listed: HashMap<(&str, bool), Vec<PastBuild>> = HashMap::new();
        let mut held = Vec::with_capacity(lines.len());
        let command = self.config.reporting.rebuild_command.as_deref();
        let command = command.unwrap_or("a rebuild");
        for line in lines {
            let record = line.decision.record;
            let (Some(rule), Some(_), Some(pull_request)) =
                (line.rule, line.build, &record.pull_request)
            else {
                held.push(Rebuild::Stands);
                continue;
            };
            let Some(rebuild) = &pull_request.rebuild else {
                held.push(Rebuild::Stands);
                continue;
            };
            let project = rule.project.as_str();
            let key = (project, rule.batch);
            if let Entry::Vacant(unread) = listed.entry(key) {
                let recent = match rule.batch {
                    true => self.codebuild.recent_batches(project).await,
                    false => self.codebuild.recent_builds(project).await,
                };
                match recent {
                    Ok(builds) => {
                        unread.insert(builds);
                    }
                    Err(failure) => warn!(
                        project,
                        code = failure.code,
                        error = failure.message,
                        action = failure.advice(),
                        "could not look for the revision's builds to rebuild"
                    ),
                }
            }
            let Some(builds) = listed.get(&key) else {
                // Unread: a plain rebuild builds (as before), one of failures only cannot tell.
                held.push(match rebuild.failed_only {
                    true => Rebuild::Held(format!("the revision's builds could not be read: {command} failed starts nothing; {command} starts them all")),
                    false => Rebuild::Stands,
                });
                continue;
            };
            // Newest first: the first of this revision and rule is its latest build.
            let of_revision = builds_of_revision(builds, record, pull_request, rule);
            let running = of_revision.iter().find(|build| build.in_progress);
            let kind = if rule.batch { "batch" } else { "build" };
            held.push(match (running, of_revision.first()) {
                (Some(build), _) => Rebuild::Held(format!(
                    "{kind} {} of this revision is still running: {command} starts nothing until it ends",
                    build.id
                )),
                (None, Some(latest)) if rebuild.failed_only && !ended_badly(latest) => {
                    Rebuild::Held(format!(
                        "the latest {kind} of this revision, {}, ended {}: {command} failed starts only what failed",
                        latest.id,
                        latest.status.as_deref().unwrap_or("without a status")
                    ))
                }
                (None, Some(latest)) if rebuild.failed_only && rule.batch => {
                    Rebuild::Retry(latest.id.clone())
                }
                (None, None) if rebuild.failed_only => Rebuild::Held(format!(
                    "no {kind} of this revision to start again: {command} failed starts only what failed"
                )),
                _ => Rebuild::Stands,
            });
        }
        held
    }

    /// Starts the `wanted` builds, a few at once, each bounded by `answer_by`;
    /// adds the started ones to `response` and returns the failures.
    async fn start_all(
        &self,
        wanted: Vec<Wanted<'_>>,
        answer_by: Option<Instant>,
        response: &mut Response,
    ) -> Vec<FailedStart> {
        let results: Vec<_> = stream::iter(wanted)
            .map(|wanted| async move {
                let result = within(answer_by, self.start(&wanted))
                    .await
                    .unwrap_or_else(|| {
                        Err(AwsError::out_of_time(
                            "StartBuild",
                            "the invocation's time ran out before StartBuild succeeded",
                        ))
                    });
                (wanted, result)
            })
            .buffered(CONCURRENT_STARTS)
            .collect()
            .await;
        let mut failures = Vec::new();
        for (wanted, result) in results {
            let repository = &wanted.decision.record.repository.name;
            let reference = wanted.decision.update.reference.as_str();
            match result {
                Ok(started) => response.started.push(started),
                Err(failure) => {
                    error!(repository, reference, commit = %wanted.commit, project = wanted.rule.project,
                        code = failure.code, error = failure.message, action = failure.advice(),
                        "StartBuild failed");
                    failures.push(FailedStart {
                        repository: repository.clone(),
                        reference: reference.to_owned(),
                        commit: wanted.commit.to_string(),
                        code: failure.code,
                    });
                }
            }
        }
        failures
    }

    /// Starts one build and, when its rule says so, stops the older builds it supersedes.
    async fn start(&self, wanted: &Wanted<'_>) -> Result<Started, AwsError> {
        let record = wanted.decision.record;
        let reference = &wanted.decision.update.reference;
        let project = &wanted.rule.project;
        let pull_request = record.pull_request.as_ref().map(|pr| pr.id.as_str());
        let request = build_request(wanted.rule, record, reference, wanted.commit);
        let answered = match &wanted.retry {
            Some(batch) => {
                let token = retry_token(batch, record);
                self.codebuild.retry_build_batch(batch, &token).await?
            }
            None => self.start_for_this_event(&request, record).await?,
        };
        let event_to_start_ms = record
            .pushed_at
            .map(|happened| super::metrics::now_ms() - happened);
        let what = match (&wanted.retry, request.batch) {
            (Some(_), _) => "batch's failed builds started again",
            (None, true) => "batch build started",
            (None, false) => "build started",
        };
        let (build_id, already_started) = match answered {
            StartedBuild::Started { build_id, .. } => {
                info!(repository = record.repository.name, reference = reference.as_str(),
                    commit = %wanted.commit, pull_request, project, build_id, "{what}");
                (Some(build_id), false)
            }
            StartedBuild::AlreadyStarted => {
                info!(repository = record.repository.name, reference = reference.as_str(),
                    commit = %wanted.commit, pull_request, project,
                    "{what} already, by an earlier delivery of this event");
                (None, true)
            }
        };
        let superseded = match (&build_id, wanted.rule.supersede, &wanted.retry) {
            (Some(build_id), true, None) => {
                self.supersede(wanted.rule, record, reference, Some(build_id))
                    .await
            }
            _ => Vec::new(),
        };
        let (build_id, batch_id) = match request.batch {
            true => (None, build_id),
            false => (build_id, None),
        };
        Ok(Started {
            project: project.clone(),
            rule: wanted.rule.reported_name().map(str::to_owned),
            build_id,
            batch_id,
            retried: wanted.retry.is_some(),
            repository: record.repository.name.clone(),
            reference: reference.to_string(),
            commit: wanted.commit.to_string(),
            pull_request: pull_request.map(str::to_owned),
            already_started,
            superseded,
            event_to_start_ms,
        })
    }

    /// Sends `request`; when CodeBuild answers its token with a build that started before
    /// `record`'s event happened (an earlier event's, within the token's five minutes: a push
    /// back to a commit built minutes ago, a pull request reopened), sends it again under a
    /// token of this event's own, so that the event gets a build of its own.
    async fn start_for_this_event(
        &self,
        request: &BuildRequest,
        record: &Record,
    ) -> Result<StartedBuild, AwsError> {
        let started = self.codebuild.start_build(request).await?;
        let (
            StartedBuild::Started {
                build_id,
                started_at: Some(started_at),
            },
            Some(happened_at),
        ) = (&started, record.pushed_at)
        else {
            return Ok(started);
        };
        if *started_at >= happened_at {
            return Ok(started);
        }
        let occasion = record
            .event_id
            .clone()
            .unwrap_or_else(|| happened_at.to_string());
        info!(
            project = request.project,
            earlier = build_id,
            occasion,
            "the token names a build an earlier event started: starting one for this event"
        );
        self.codebuild
            .start_build(&request.for_occasion(&occasion))
            .await
    }

    /// Stops the in-progress builds (batches, for a rule with `batch`) this function started
    /// for `rule`'s project and the same subject (repository and ref, or pull request) before
    /// this event happened, other than `new_build`; returns the ids it stopped. A build that
    /// started after the event (a newer commit's or a reopened pull request's, when this
    /// event came late) is left alone, and so is everything when the event does not say when
    /// it happened. A failure here is logged, not fatal.
    pub(super) async fn supersede(
        &self,
        rule: &Rule,
        record: &Record,
        reference: &GitRef,
        new_build: Option<&str>,
    ) -> Vec<String> {
        let project = rule.project.as_str();
        let repository = record.repository.name.as_str();
        let Some(happened_at) = record.pushed_at else {
            warn!(
                project,
                repository, "the event does not say when it happened: superseding nothing"
            );
            return Vec::new();
        };
        let recent = match rule.batch {
            true => self.codebuild.recent_batches(project).await,
            false => self.codebuild.recent_builds(project).await,
        };
        let builds = match recent {
            Ok(builds) => builds,
            Err(failure) => {
                warn!(
                    project,
                    repository,
                    code = failure.code,
                    error = failure.message,
                    action = failure.advice(),
                    "could not look for builds to supersede"
                );
                return Vec::new();
            }
        };
        let mut stopped = Vec::new();
        for build in builds.iter().filter(|build| {
            build.in_progress
                && !build.in_batch
                && Some(build.id.as_str()) != new_build
                && same_subject(build, record, reference)
                && build
                    .started_at
                    .is_some_and(|started| started < happened_at)
        }) {
            let stopped_it = match rule.batch {
                true => self.codebuild.stop_build_batch(&build.id).await,
                false => self.codebuild.stop_build(&build.id).await,
            };
            match stopped_it {
                Ok(()) => {
                    info!(
                        project,
                        repository,
                        stopped = build.id,
                        by = new_build,
                        "superseded an older build"
                    );
                    stopped.push(build.id.clone());
                }
                Err(failure) => warn!(
                    project,
                    repository,
                    build = build.id,
                    code = failure.code,
                    error = failure.message,
                    action = failure.advice(),
                    "could not stop a superseded build"
                ),
            }
        }
        stopped
    }
}

/// The idempotency token of `REBUILD_COMMAND failed`'s retry of `batch`: one per comment
/// that asked for it, so that a redelivered comment event retries once.
fn retry_token(batch: &str, record: &Record) -> String {
    let comment = record
        .pull_request
        .as_ref()
        .and_then(|pull_request| pull_request.rebuild.as_ref())
        .map_or("", |rebuild| rebuild.comment.as_str());
    crate::vocabulary::hex_sha256(["codecommit-build-trigger/retry-batch/1", batch, comment])
}

/// Whether `build` was started for the same subject as `reference` of
/// `record`: the same pull request, or (for a push) the same ref outside any
/// pull request.
fn same_subject(build: &PastBuild, record: &Record, reference: &GitRef) -> bool {
    build.repository.as_deref() == Some(record.repository.name.as_str())
        && match &record.pull_request {
            Some(pull_request) => build.pull_request.as_deref() == Some(pull_request.id.as_str()),
            None => {
                build.pull_request.is_none()
                    && build.reference.as_deref() == Some(reference.as_str())
            }
        }
}

/// One decision line, logged as one structured line.
fn log_line(line: &Line<'_>) {
    let record = line.decision.record;
    let commit = line.decision.update.commit().map(ToString::to_string);
    info!(
        repository = record.repository.name,
        reference = line.decision.update.reference.as_str(),
        commit,
        event = record.kind.as_str(),
        pusher = record.pusher.as_deref(),
        pull_request = record.pull_request.as_ref().map(|pr| pr.id.as_str()),
        rule = line.rule.map(|rule| rule.name.as_str()),
        project = line.rule.map(|rule| rule.project.as_str()),
        decision = line.verdict_word(),
        reason = line.reason,
        "decision"
    );
}

/// Whether `build` ended failed, faulted, timed out or stopped: what `REBUILD_COMMAND failed`
/// starts again.
fn ended_badly(build: &PastBuild) -> bool {
    matches!(
        build.status.as_deref(),
        Some("FAILED" | "FAULT" | "TIMED_OUT" | "STOPPED")
    )
}

/// The builds among `builds` of `rule` for `pull_request`'s current revision in `record`'s
/// repository, in the order given.
fn builds_of_revision<'a>(
    builds: &'a [PastBuild],
    record: &Record,
    pull_request: &PullRequest,
    rule: &Rule,
) -> Vec<&'a PastBuild> {
    builds
        .iter()
        .filter(|build| {
            !build.in_batch
                && build.repository.as_deref() == Some(record.repository.name.as_str())
                && build.pull_request.as_deref() == Some(pull_request.id.as_str())
                && build.revision.as_deref() == Some(pull_request.revision.as_str())
                && build.rule.as_deref() == rule.reported_name()
        })
        .collect()
}
