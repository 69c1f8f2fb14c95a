//! One invocation: parse, decide, start, answer.

use crate::aws::AwsError;
use crate::codebuild::{CodeBuildCalls, StartedBuild};
use crate::codecommit::CodeCommitReads;
use crate::config::{Config, Rule};
use crate::decide::{finish, plan, Decision, Outcome, RuleVerdict};
use crate::error::{FailedStart, HandlerError};
use crate::event::{self, CommitId, Push, PushRecord};
use crate::facts::gather;
use crate::request::build_request;
use crate::response::{Response, Skipped, Started};
use futures_util::stream::{self, StreamExt};
use lambda_runtime::tracing::{error, info, warn};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// How many StartBuild calls run at once for a push of many references.
const CONCURRENT_STARTS: usize = 8;
/// Time kept back at the end of an invocation to answer Lambda.
const ANSWER_MARGIN: Duration = Duration::from_secs(1);
/// Time kept for starting builds after reading what the decisions need:
/// one StartBuild attempt.
const START_RESERVE: Duration = Duration::from_secs(6);

/// The function: configuration plus the AWS calls it makes.
#[derive(Debug)]
pub struct Handler<B, C> {
    config: Config,
    codebuild: B,
    codecommit: C,
}

/// One build to start.
struct Wanted<'a> {
    decision: &'a Decision<'a>,
    rule: &'a Rule,
    commit: &'a CommitId,
}

impl<B: CodeBuildCalls, C: CodeCommitReads> Handler<B, C> {
    /// A handler for `config` that calls CodeBuild and CodeCommit through these.
    pub fn new(config: Config, codebuild: B, codecommit: C) -> Self {
        Self {
            config,
            codebuild,
            codecommit,
        }
    }

    /// Refuses a push from a repository outside `ALLOWED_REPOSITORIES`.
    pub fn admit(&self, push: &Push) -> Result<(), HandlerError> {
        let Some(allowed) = &self.config.allowed_repositories else {
            return Ok(());
        };
        match push
            .records
            .iter()
            .find(|r| !allowed.includes(&r.repository.arn))
        {
            Some(record) => Err(HandlerError::RepositoryNotAllowed {
                arn: record.repository.arn.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Decides every reference of `push`, reading (never writing) what the
    /// rules need from CodeCommit and CodeBuild. Reads still running at
    /// `deadline` are abandoned: their facts count as unknown, and unknown
    /// facts build.
    pub async fn decide<'a>(
        &'a self,
        push: &'a Push,
        deadline: Option<Instant>,
    ) -> Vec<Decision<'a>> {
        let plan = plan(&self.config, push);
        let needs = plan.needs();
        let reads = gather(&needs, &self.codecommit, &self.codebuild);
        let facts = match deadline {
            None => reads.await,
            Some(deadline) => timeout_at(deadline, reads).await.unwrap_or_else(|_| {
                warn!("no time left to read what the rules need: deciding without it");
                Default::default()
            }),
        };
        finish(plan, &facts)
    }

    /// Handles one push event given as JSON text.
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
        let push = event::parse(event_json).inspect_err(|invalid| {
            error!(error = %invalid, "invalid event: nothing was started");
        })?;
        if let Some(allowed) = &self.config.allowed_repositories {
            if let Some(record) = push
                .records
                .iter()
                .find(|r| !allowed.includes(&r.repository.arn))
            {
                let arn = record.repository.arn.clone();
                error!(
                    repository = arn,
                    "event from a repository not in ALLOWED_REPOSITORIES: nothing was started"
                );
                return Err(HandlerError::RepositoryNotAllowed { arn });
            }
        }
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let decisions = self
            .decide(&push, answer_by.map(|at| at - START_RESERVE))
            .await;

        let mut response = Response::default();
        let mut wanted = Vec::new();
        for decision in &decisions {
            log_decision(decision);
            let repository = &decision.record.repository.name;
            let skipped = |rule: Option<&Rule>, reason: &str| Skipped {
                repository: repository.clone(),
                reference: decision.update.reference.to_string(),
                commit: decision.update.commit().map(ToString::to_string),
                project: rule.map(|rule| rule.project.clone()),
                rule: rule.and_then(Rule::reported_name).map(str::to_owned),
                reason: reason.to_owned(),
            };
            match &decision.outcome {
                Outcome::Skip(reason) => response.skipped.push(skipped(None, reason)),
                Outcome::Rules(outcomes) => {
                    for outcome in outcomes {
                        match &outcome.verdict {
                            RuleVerdict::Build { commit, .. } => wanted.push(Wanted {
                                decision,
                                rule: outcome.rule,
                                commit,
                            }),
                            RuleVerdict::Skip(reason) => {
                                response.skipped.push(skipped(Some(outcome.rule), reason))
                            }
                        }
                    }
                }
            }
        }

        let results: Vec<_> = stream::iter(wanted)
            .map(|wanted| async move {
                let result = match answer_by {
                    None => self.start(&wanted).await,
                    Some(at) => timeout_at(at, self.start(&wanted))
                        .await
                        .unwrap_or_else(|_| {
                            Err(AwsError {
                                operation: "StartBuild",
                                code: "InvocationDeadline".into(),
                                message:
                                    "the invocation's time ran out before StartBuild succeeded"
                                        .into(),
                            })
                        }),
                };
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

    /// Starts one build and, when its rule says so, stops the older builds it supersedes.
    async fn start(&self, wanted: &Wanted<'_>) -> Result<Started, AwsError> {
        let record = wanted.decision.record;
        let reference = &wanted.decision.update.reference;
        let project = &wanted.rule.project;
        let request = build_request(wanted.rule, record, reference, wanted.commit);
        let (build_id, already_started) = match self.codebuild.start_build(&request).await? {
            StartedBuild::Started { build_id } => {
                info!(repository = record.repository.name, reference = reference.as_str(),
                    commit = %wanted.commit, project, build_id, "build started");
                (Some(build_id), false)
            }
            StartedBuild::AlreadyStarted => {
                info!(repository = record.repository.name, reference = reference.as_str(),
                    commit = %wanted.commit, project,
                    "build already started by an earlier delivery of this push");
                (None, true)
            }
        };
        let superseded = match (&build_id, wanted.rule.supersede) {
            (Some(build_id), true) => {
                self.supersede(project, record, reference.as_str(), build_id)
                    .await
            }
            _ => Vec::new(),
        };
        Ok(Started {
            project: project.clone(),
            rule: wanted.rule.reported_name().map(str::to_owned),
            build_id,
            repository: record.repository.name.clone(),
            reference: reference.to_string(),
            commit: wanted.commit.to_string(),
            already_started,
            superseded,
        })
    }

    /// Stops the in-progress builds this function started for the same
    /// project, repository and ref before this push happened; returns the
    /// ids it stopped. A build that started after the push (a newer commit's,
    /// when this event came late) is left alone, and so is everything when
    /// the event does not say when the push happened. A failure here is
    /// logged, not fatal: the new build is running.
    async fn supersede(
        &self,
        project: &str,
        record: &PushRecord,
        reference: &str,
        new_build: &str,
    ) -> Vec<String> {
        let Some(pushed_at) = record.pushed_at else {
            warn!(
                project,
                reference, "the event does not say when the push happened: superseding nothing"
            );
            return Vec::new();
        };
        let builds = match self.codebuild.recent_builds(project).await {
            Ok(builds) => builds,
            Err(failure) => {
                warn!(
                    project,
                    reference,
                    code = failure.code,
                    error = failure.message,
                    action = failure.advice(),
                    "could not look for builds to supersede"
                );
                return Vec::new();
            }
        };
        let repository = record.repository.name.as_str();
        let mut stopped = Vec::new();
        for build in builds.iter().filter(|build| {
            build.in_progress
                && build.id != new_build
                && build.repository.as_deref() == Some(repository)
                && build.reference.as_deref() == Some(reference)
                && build.started_at.is_some_and(|started| started < pushed_at)
        }) {
            match self.codebuild.stop_build(&build.id).await {
                Ok(()) => {
                    info!(
                        project,
                        reference,
                        stopped = build.id,
                        by = new_build,
                        "superseded an older build"
                    );
                    stopped.push(build.id.clone());
                }
                Err(failure) => warn!(
                    project,
                    reference,
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

fn log_decision(decision: &Decision<'_>) {
    let record = decision.record;
    let repository = &record.repository.name;
    let reference = decision.update.reference.as_str();
    let commit = decision.update.commit().map(ToString::to_string);
    let event = record.kind.as_str();
    let pusher = record.pusher.as_deref();
    match &decision.outcome {
        Outcome::Skip(reason) => {
            info!(
                repository,
                reference,
                commit,
                event,
                pusher,
                decision = "skip",
                reason,
                "decision"
            );
        }
        Outcome::Rules(outcomes) => {
            for outcome in outcomes {
                let rule = outcome.rule.name.as_str();
                let project = outcome.rule.project.as_str();
                let (verdict, reason) = match &outcome.verdict {
                    RuleVerdict::Build { reason, .. } => ("build", reason),
                    RuleVerdict::Skip(reason) => ("skip", reason),
                };
                info!(
                    repository,
                    reference,
                    commit,
                    event,
                    pusher,
                    rule,
                    project,
                    decision = verdict,
                    reason,
                    "decision"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
