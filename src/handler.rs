//! One invocation: parse, admit, then the event's own path (a push, a pull
//! request, an event that never builds) through decide, start and answer.

use crate::aws::AwsError;
use crate::codebuild::{CodeBuildCalls, PastBuild, StartedBuild};
use crate::codecommit::CodeCommitReads;
use crate::comments::{CommentReads, ResultWrites};
use crate::config::{Config, RoleArn, Rule};
use crate::decide::{finish, plan, rules_superseding_pull_request, Decision, Line};
use crate::error::{FailedStart, HandlerError};
use crate::event::{self, CommitId, Event, GitRef, IgnoredEvent, PullRequestStatus, Record};
use crate::explain::{explain, explain_ignored, Explained};
use crate::facts::gather;
use crate::logs::LogReads;
use crate::request::{build_request, BuildRequest};
use crate::response::{Response, Skipped, Started};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use lambda_runtime::tracing::{error, info, warn};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::OnceCell;
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
pub struct Handler<B, C, L> {
    config: Config,
    codebuild: B,
    codecommit: C,
    logs: L,
    takes: Takes,
    /// Where the reporter's role comes from when `REPORTER_ROLE_ARN` does not say.
    learn_role: Option<RoleLearner>,
    /// The role learnt, once per container, on the first event that needs it.
    learnt_role: OnceCell<Option<RoleArn>>,
}

/// Asks who the function is (STS `GetCallerIdentity`): the role of its own session, or why
/// that cannot be known.
pub struct RoleLearner(Box<dyn Fn() -> BoxFuture<'static, Result<RoleArn, String>> + Send + Sync>);

impl RoleLearner {
    /// A learner that calls `learn`.
    pub fn new(
        learn: impl Fn() -> BoxFuture<'static, Result<RoleArn, String>> + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(learn))
    }
}

impl std::fmt::Debug for RoleLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoleLearner")
    }
}

/// The kinds of event a function takes, by its `Handler`: a misrouted event (a replay sent to
/// the other function, say) is refused with an error, so that nothing takes it for done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// Every kind: one function for everything (`Handler: bootstrap`, and local runs).
    All,
    /// Pushes, pull requests and their comments (`Handler: starter`).
    Starter,
    /// CodeBuild's build-state events (`Handler: reporter`).
    Reporter,
}

impl Takes {
    /// Refuses `event` if this function does not take its kind.
    fn check(self, event: &Event) -> Result<(), HandlerError> {
        let reporting = matches!(event, Event::Build(_));
        match (self, reporting) {
            (Self::All, _) | (Self::Starter, false) | (Self::Reporter, true) => Ok(()),
            (function, _) => Err(HandlerError::NotTaken {
                kind: event.kind(),
                function: match function {
                    Self::Reporter => "reporter",
                    _ => "starter",
                },
            }),
        }
    }
}

/// One build to start.
struct Wanted<'a> {
    decision: &'a Decision<'a>,
    rule: &'a Rule,
    commit: &'a CommitId,
}

impl<B, C, L> Handler<B, C, L>
where
    B: CodeBuildCalls,
    C: CodeCommitReads + CommentReads + ResultWrites,
    L: LogReads,
{
    /// A handler for `config` that calls CodeBuild, CodeCommit and CloudWatch Logs through
    /// these.
    pub fn new(config: Config, codebuild: B, codecommit: C, logs: L) -> Self {
        Self {
            config,
            codebuild,
            codecommit,
            logs,
            takes: Takes::All,
            learn_role: None,
            learnt_role: OnceCell::new(),
        }
    }

    /// This handler, taking only the events of `takes`.
    pub fn taking(self, takes: Takes) -> Self {
        Self { takes, ..self }
    }

    /// This handler, learning the reporter's role through `learn` (once, when an event first
    /// needs it) when `REPORTER_ROLE_ARN` is not set: a function that reports is its own
    /// reporter. Pushes never pay for it.
    pub fn learning_role(self, learn: RoleLearner) -> Self {
        Self {
            learn_role: Some(learn),
            ..self
        }
    }

    /// The role whose sessions write the function's comments: `REPORTER_ROLE_ARN`, else the
    /// role learnt; `None` when neither says.
    async fn reporter_role(&self) -> Option<&RoleArn> {
        if let Some(role) = &self.config.reporting.reporter_role {
            return Some(role);
        }
        let learn = self.learn_role.as_ref()?;
        self.learnt_role
            .get_or_init(|| async {
                (learn.0)()
                    .await
                    .inspect_err(|problem| {
                        warn!(problem, "REPORTER_ROLE_ARN is not set and STS could not tell the function's role: no comment will be written");
                    })
                    .ok()
            })
            .await
            .as_ref()
    }

    /// Refuses an event from a repository outside `ALLOWED_REPOSITORIES`.
    pub fn admit(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(allowed) = &self.config.allowed_repositories else {
            return Ok(());
        };
        match event
            .repositories()
            .find(|repository| !allowed.includes(&repository.arn))
        {
            Some(repository) => Err(HandlerError::RepositoryNotAllowed {
                arn: repository.arn.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Decides every reference of `records`, reading (never writing) what
    /// the rules need from CodeCommit and CodeBuild. Reads still running at
    /// `deadline` are abandoned: their facts count as unknown, and unknown
    /// facts build.
    pub async fn decide<'a>(
        &'a self,
        records: &'a [Record],
        deadline: Option<Instant>,
    ) -> Vec<Decision<'a>> {
        let plan = plan(&self.config, records);
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

    /// What the function would decide for `event`, without starting or
    /// stopping anything: `explain`'s lines.
    pub async fn explain(&self, event: &Event) -> Result<Vec<Explained>, HandlerError> {
        self.admit(event)?;
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
            event => explain(&self.decide(event.records(), None).await),
        })
    }

    /// Handles one event given as JSON text.
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
        let event = event::parse(event_json).inspect_err(|invalid| {
            error!(error = %invalid, "invalid event: nothing was started");
        })?;
        self.admit(&event).inspect_err(|refused| {
            if let HandlerError::RepositoryNotAllowed { arn } = refused {
                error!(
                    repository = arn,
                    "event from a repository not in ALLOWED_REPOSITORIES: nothing was started"
                );
            }
        })?;
        self.takes.check(&event).inspect_err(|refused| {
            error!(error = %refused, "event of a kind this function does not take: nothing was done");
        })?;
        let answered = match &event {
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
            Event::Build(change) => {
                let reported = self.report_within(change, deadline).await?;
                Ok(Response {
                    reported: Some(reported),
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
        };
        answered.map(Response::bounded)
    }

    /// Builds a pull request's change and, when it closed it, stops its builds.
    async fn pull_request(
        &self,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let mut response = self.build(records, deadline).await?;
        let stopping = self.stop_closed_pull_requests(records, &mut response);
        match deadline {
            None => stopping.await,
            Some(deadline) => {
                if timeout_at(deadline - ANSWER_MARGIN, stopping)
                    .await
                    .is_err()
                {
                    warn!("no time left to stop the closed pull request's builds");
                }
            }
        }
        Ok(response)
    }

    /// Decides `records` and starts the builds wanted: the path of pushes and
    /// pull requests alike.
    async fn build(
        &self,
        records: &[Record],
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let decisions = self
            .decide(records, answer_by.map(|at| at - START_RESERVE))
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
        let busy = self.running_rebuilds(&lines).await;
        let mut wanted = Vec::new();
        for (mut line, busy) in lines.into_iter().zip(&busy) {
            if let Some(reason) = too_many.as_ref().or(busy.as_ref()) {
                if line.build.is_some() {
                    line.build = None;
                    line.reason = reason;
                }
            }
            log_line(&line);
            match (line.build, line.rule) {
                (Some(commit), Some(rule)) => wanted.push(Wanted {
                    decision: line.decision,
                    rule,
                    commit,
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

    /// For each line, why it must not build when it is a rebuild (`REBUILD_COMMAND`) whose
    /// rule's build of the same pull-request revision is still running; a failed read is
    /// logged and lets it build.
    async fn running_rebuilds(&self, lines: &[Line<'_>]) -> Vec<Option<String>> {
        let mut listed: HashMap<&str, Vec<PastBuild>> = HashMap::new();
        let mut busy = Vec::with_capacity(lines.len());
        for line in lines {
            let record = line.decision.record;
            let (Some(rule), Some(_), Some(pull_request)) =
                (line.rule, line.build, &record.pull_request)
            else {
                busy.push(None);
                continue;
            };
            if pull_request.rebuild.is_none() {
                busy.push(None);
                continue;
            }
            let project = rule.project.as_str();
            if !listed.contains_key(project) {
                match self.codebuild.recent_builds(project).await {
                    Ok(builds) => {
                        listed.insert(project, builds);
                    }
                    Err(failure) => warn!(
                        project,
                        code = failure.code,
                        error = failure.message,
                        action = failure.advice(),
                        "could not look for a running build to rebuild"
                    ),
                }
            }
            let running = listed.get(project).into_iter().flatten().find(|build| {
                build.in_progress
                    && build.repository.as_deref() == Some(record.repository.name.as_str())
                    && build.pull_request.as_deref() == Some(pull_request.id.as_str())
                    && build.revision.as_deref() == Some(pull_request.revision.as_str())
                    && build.rule.as_deref() == rule.reported_name()
            });
            busy.push(running.map(|build| {
                format!(
                    "build {} of this revision is still running: {} starts nothing until it ends",
                    build.id,
                    self.config
                        .reporting
                        .rebuild_command
                        .as_deref()
                        .unwrap_or("a rebuild")
                )
            }));
        }
        busy
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
        failures
    }

    /// Starts one build and, when its rule says so, stops the older builds it supersedes.
    async fn start(&self, wanted: &Wanted<'_>) -> Result<Started, AwsError> {
        let record = wanted.decision.record;
        let reference = &wanted.decision.update.reference;
        let project = &wanted.rule.project;
        let pull_request = record.pull_request.as_ref().map(|pr| pr.id.as_str());
        let request = build_request(wanted.rule, record, reference, wanted.commit);
        let (build_id, already_started) = match self.start_for_this_event(&request, record).await? {
            StartedBuild::Started { build_id, .. } => {
                info!(repository = record.repository.name, reference = reference.as_str(),
                    commit = %wanted.commit, pull_request, project, build_id, "build started");
                (Some(build_id), false)
            }
            StartedBuild::AlreadyStarted => {
                info!(repository = record.repository.name, reference = reference.as_str(),
                    commit = %wanted.commit, pull_request, project,
                    "build already started by an earlier delivery of this event");
                (None, true)
            }
        };
        let superseded = match (&build_id, wanted.rule.supersede) {
            (Some(build_id), true) => {
                self.supersede(project, record, reference, Some(build_id))
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
            pull_request: pull_request.map(str::to_owned),
            already_started,
            superseded,
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

    /// Stops the in-progress builds this function started for the same
    /// project and subject (repository and ref, or pull request) before this
    /// event happened, other than `new_build`; returns the ids it stopped. A
    /// build that started after the event (a newer commit's or a reopened pull
    /// request's, when this event came late) is left alone, and so is
    /// everything when the event does not say when it happened. A failure here
    /// is logged, not fatal.
    async fn supersede(
        &self,
        project: &str,
        record: &Record,
        reference: &GitRef,
        new_build: Option<&str>,
    ) -> Vec<String> {
        let repository = record.repository.name.as_str();
        let Some(happened_at) = record.pushed_at else {
            warn!(
                project,
                repository, "the event does not say when it happened: superseding nothing"
            );
            return Vec::new();
        };
        let builds = match self.codebuild.recent_builds(project).await {
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
                && Some(build.id.as_str()) != new_build
                && same_subject(build, record, reference)
                && build
                    .started_at
                    .is_some_and(|started| started < happened_at)
        }) {
            match self.codebuild.stop_build(&build.id).await {
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

    /// Stops the in-progress builds of every closed or merged pull request of
    /// `records` that started before the event, once per project of the rules
    /// that supersede, and names them in the response.
    async fn stop_closed_pull_requests(&self, records: &[Record], response: &mut Response) {
        for record in records {
            let (Some(pull_request), Some(update)) =
                (&record.pull_request, record.references.first())
            else {
                continue;
            };
            if pull_request.status == PullRequestStatus::Open {
                continue;
            }
            let mut projects: Vec<&str> = rules_superseding_pull_request(&self.config, record)
                .into_iter()
                .map(|rule| rule.project.as_str())
                .collect();
            projects.sort_unstable();
            projects.dedup();
            let mut stopped = Vec::new();
            for project in projects {
                stopped.extend(
                    self.supersede(project, record, &update.reference, None)
                        .await,
                );
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

/// The answer to a pull-request event that never builds: one skip per repository.
fn ignored_skips(ignored: &IgnoredEvent) -> Vec<Skipped> {
    ignored
        .repositories
        .iter()
        .map(|repository| Skipped {
            repository: repository.name.clone(),
            reference: None,
            commit: None,
            pull_request: Some(ignored.pull_request.clone()),
            project: None,
            rule: None,
            reason: format!("a {} event never builds", ignored.event),
            superseded: Vec::new(),
        })
        .collect()
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

mod rebuild;
mod report;
#[cfg(test)]
mod tests;
