//! The reporter: the path of a "CodeBuild Build State Change" event. The build, as CodeBuild
//! reports it, goes into its status comment, posted when it starts and updated in place as it
//! ends, and into the pull request's approval. It reads CodeBuild, CodeCommit and the build's
//! log, and writes comments and approvals; it holds no way to start or stop a build.

use super::answer::{ReportAction, Reported, Response};
use super::error::HandlerError;
use super::gather::{decide, read_early};
use super::own_role::ReporterRole;
use super::pull_request::pull_request_record;
use super::{admitted, log_refusal, ANSWER_MARGIN};
use crate::aws::reads::{
    BuildReads, CodeCommitReads, CommentReads, LogReads, PastBuild, TestResults, Thread,
};
use crate::aws::writes::ResultWrites;
use crate::aws::AwsError;
use crate::config::{project_name, Config, RoleArn};
use crate::decide::Decision;
use crate::event::{BuildChange, BuildOrigin, BuildStatus, Event, PullRequestStatus, Record};
use crate::lambda::deadline::within;
use crate::report::{
    confirm, publishable, render, verdict, write_for, Content, LogTail, PublishedLog,
    RevisionBuild, Selected, Stamp, Subject, Tests, Verdict, Write,
};
use crate::vocabulary::hex_sha256;
use lambda_runtime::tracing::{error, info, warn};
use std::future::Future;
use tokio::time::Instant;

mod batch;

/// The most pages of a project's builds (100 a page) read to find a revision's builds.
const MAX_BUILD_PAGES: usize = 20;

/// The error CodeCommit answers a reused `clientRequestToken` with, when the content differs.
const TOKEN_MISMATCH: &str = "IdempotencyParameterMismatchException";

/// Where one build's status goes.
struct Target<'a> {
    thread: Thread<'a>,
    stamp: Stamp,
    commit: &'a str,
}

impl<'a> Target<'a> {
    /// The comment thread of `change`'s build of `origin`: a pull request's, or the pushed
    /// commit's against its first `parent`.
    fn of(change: &BuildChange, origin: &'a BuildOrigin, parent: Option<&'a str>) -> Self {
        match origin {
            BuildOrigin::PullRequest {
                repository,
                id,
                revision,
                source_commit,
                destination_commit,
                ..
            } => Target {
                thread: Thread::PullRequest {
                    repository: &repository.name,
                    id,
                    before: destination_commit.as_str(),
                    after: source_commit.as_str(),
                },
                stamp: Stamp::of(change, origin.rule(), Subject::Revision(revision.clone())),
                commit: source_commit.as_str(),
            },
            BuildOrigin::Push {
                repository, commit, ..
            } => Target {
                thread: Thread::Commit {
                    repository: &repository.name,
                    before: parent,
                    after: commit.as_str(),
                },
                stamp: Stamp::of(change, origin.rule(), Subject::Commit(commit.to_string())),
                commit: commit.as_str(),
            },
        }
    }
}

/// The reporter's handler, generic over the calls it may make.
#[derive(Debug)]
pub struct Reporter<B, C, L> {
    pub(super) config: Config,
    pub(super) codebuild: B,
    pub(super) codecommit: C,
    pub(super) logs: L,
    reporter_role: ReporterRole,
}

impl<B, C, L> Reporter<B, C, L>
where
    B: BuildReads,
    C: CodeCommitReads + CommentReads + ResultWrites,
    L: LogReads,
{
    /// A reporter for `config` that calls CodeBuild, CodeCommit and CloudWatch Logs through
    /// these.
    pub fn new(config: Config, codebuild: B, codecommit: C, logs: L) -> Self {
        Self {
            config,
            codebuild,
            codecommit,
            logs,
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
    async fn reporter_role(&self) -> Option<&RoleArn> {
        self.reporter_role.get(&self.config).await
    }

    /// Handles one build-state event given as JSON text; any other kind is the starter's and
    /// is refused.
    pub async fn handle(
        &self,
        event_json: &str,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let event = admitted(&self.config, event_json, "reporter", |event| {
            matches!(event, Event::Build(_))
        })?;
        match &event {
            Event::Build(change) => self.take(change, deadline).await.map(Response::bounded),
            _ => Err(log_refusal(HandlerError::NotTaken {
                kind: event.kind(),
                function: "reporter",
            })),
        }
    }

    /// [`Self::report`], bounded by the invocation's `deadline` (less the time to answer);
    /// a failure is logged.
    pub(super) async fn take(
        &self,
        change: &BuildChange,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let reported = within(answer_by, self.report(change))
            .await
            .unwrap_or_else(|| {
                Err(failed(
                    change,
                    AwsError::out_of_time(
                        "UpdateComment",
                        "the invocation's time ran out before the status was written",
                    ),
                ))
            });
        let reported = reported.inspect_err(|failure| {
            error!(error_type = failure.error_type(), error = %failure,
                "the build's status was not written back");
        })?;
        Ok(Response {
            reported: Some(reported),
            ..Response::default()
        })
    }

    /// Writes the build `hint` names into its status comment, as CodeBuild reports it: posts
    /// it when there is none, updates it when the build's state is news, keeps it when the
    /// comment already shows as much or more. The event is only a hint: a build CodeBuild
    /// does not know, or that is not the one the event describes, is ignored with the reason.
    pub(super) async fn report(&self, hint: &BuildChange) -> Result<Reported, HandlerError> {
        if let Err(reason) = self.reported_origin(hint) {
            return Ok(reported(hint, ReportAction::Ignored, None, Some(reason)));
        }
        let own = self
            .reporter_role()
            .await
            .ok_or(HandlerError::ReporterUnknown)?;
        let truth = self
            .codebuild
            .build(&hint.build.id)
            .await
            .map_err(|source| failed(hint, source))?;
        let starter = self.config.reporting.starter_role.as_ref();
        let change = match confirm(hint, truth, starter) {
            Ok(change) => change,
            Err(reason) => {
                warn!(
                    build = hint.build.id,
                    reason, "build-state event not acted on"
                );
                return Ok(reported(hint, ReportAction::Ignored, None, Some(reason)));
            }
        };
        let change = &change;
        // `confirm` passes only builds this function started.
        let Ok(origin) = &change.origin else {
            return Ok(reported(change, ReportAction::Ignored, None, None));
        };
        let parent = match origin {
            BuildOrigin::Push {
                repository, commit, ..
            } => self
                .codecommit
                .first_parent(&repository.name, commit)
                .await
                .map_err(|source| failed(change, source))?,
            BuildOrigin::PullRequest { .. } => None,
        };
        if let Some(batch) = &change.batch_arn {
            return self
                .report_batch(change, batch, origin, parent.as_deref(), own)
                .await;
        }
        let target = Target::of(change, origin, parent.as_deref());
        let content = self.content(change, origin, &target);
        let mut reported = self.write_comment(change, &target, own, content).await?;
        if let BuildOrigin::PullRequest { .. } = origin {
            if change.complete && self.config.reporting.approve_pull_requests {
                let approval = self.approve(change, origin).await?;
                info!(build = change.build.id, approval, "approval");
                reported.approval = Some(approval);
            }
        }
        Ok(reported)
    }

    /// Approves or revokes the revision `origin` names now that `change`'s build has ended:
    /// only the pull request's current revision, once every (project, rule) its
    /// configuration selects has a latest build of the revision's source commit that
    /// succeeded; says what it did.
    async fn approve(
        &self,
        change: &BuildChange,
        origin: &BuildOrigin,
    ) -> Result<String, HandlerError> {
        let BuildOrigin::PullRequest {
            repository,
            id,
            revision,
            source_commit,
            ..
        } = origin
        else {
            return Ok("not a pull request's build".into());
        };
        let current = self
            .codecommit
            .current_pull_request(&repository.name, id)
            .await
            .map_err(|source| failed(change, source))?;
        if current.status != PullRequestStatus::Open {
            return Ok(format!(
                "not approved: the pull request is {}",
                current.status
            ));
        }
        if current.revision != *revision || current.source.1 != source_commit.as_str() {
            return Ok(
                "not approved: the revision is no longer the pull request's current one".into(),
            );
        }
        let created_at = current.created_at;
        let record = pull_request_record(repository.clone(), id, current, None, false)
            .map_err(|source| failed(change, source))?;
        let selected = self.selected(change, &record).await?;
        if selected.is_empty() {
            return Ok("not approved: no rule selects the pull request now".into());
        }
        let builds = self
            .revision_builds(change, origin, &selected, created_at)
            .await?;
        let verdict = verdict(&selected, &builds);
        let approve = match verdict {
            Verdict::Approve(_) => true,
            Verdict::Revoke(..) => false,
            Verdict::Wait(_) => return Ok(format!("not yet: {verdict}")),
        };
        let done = if approve { "approved" } else { "revoked" };
        match self.codecommit.set_approval(id, revision, approve).await {
            Ok(()) => Ok(format!("{done}: {verdict}")),
            Err(refused) => match refused.code.as_str() {
                "RevisionNotCurrentException" => Ok(format!(
                    "not {done}: the revision is no longer the pull request's current one"
                )),
                "PullRequestAlreadyClosedException" => {
                    Ok(format!("not {done}: the pull request is closed"))
                }
                "PullRequestCannotBeApprovedByAuthorException" => Ok(format!(
                    "not {done}: the function's role opened the pull request, and its author cannot approve it"
                )),
                _ => Err(failed(change, refused)),
            },
        }
    }

    /// The (project, rule)s the configuration builds `record` (a pull request's current
    /// revision) with, decided as its source update would be.
    async fn selected(
        &self,
        change: &BuildChange,
        record: &Record,
    ) -> Result<Vec<Selected>, HandlerError> {
        let records = std::slice::from_ref(record);
        let early = match read_early(&self.config, records, &self.codecommit, None).await {
            Ok(early) => early,
            Err(HandlerError::RepositoryFileUnreadable { source, .. }) => {
                return Err(failed(change, *source))
            }
            Err(other) => return Err(other),
        };
        let decisions = decide(
            &self.config,
            &early,
            records,
            &self.codecommit,
            &self.codebuild,
            None,
        )
        .await;
        let mut selected: Vec<Selected> = decisions
            .iter()
            .flat_map(Decision::lines)
            .filter(|line| line.build.is_some())
            .filter_map(|line| line.rule)
            .map(|rule| Selected {
                project: project_name(&rule.project).to_owned(),
                rule: rule.reported_name().map(str::to_owned),
                batch: rule.batch,
            })
            .collect();
        selected.sort();
        selected.dedup();
        Ok(selected)
    }

    /// The builds of `origin`'s revision (of its source commit, started by the starter when
    /// `STARTER_ROLE_ARN` says who that is) in the `selected` projects, `change`'s own
    /// first: each project's builds (its batches, for rules with `batch`) are paged, newest
    /// first, until every selected rule of it has its latest build, the builds are older than
    /// the pull request, or [`MAX_BUILD_PAGES`] pages were read.
    async fn revision_builds(
        &self,
        change: &BuildChange,
        origin: &BuildOrigin,
        selected: &[Selected],
        created_at: Option<i64>,
    ) -> Result<Vec<RevisionBuild>, HandlerError> {
        let mut builds = vec![RevisionBuild {
            project: change.build.project.clone(),
            rule: origin.rule().map(str::to_owned),
            id: change.build.id.clone(),
            number: change.build.number,
            started_at: None,
            status: change.status.to_string(),
        }];
        let starter = self.config.reporting.starter_role.as_ref();
        let mut kinds: Vec<(&str, bool)> = selected
            .iter()
            .map(|s| (s.project.as_str(), s.batch))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        for (project, batch) in kinds {
            let mut page = None;
            for _ in 0..MAX_BUILD_PAGES {
                let listed = match batch {
                    true => self.codebuild.batches_page(project, page).await,
                    false => self.codebuild.builds_page(project, page).await,
                }
                .map_err(|source| failed(change, source))?;
                let older = created_at.is_some_and(|created| {
                    listed
                        .builds
                        .last()
                        .and_then(|build| build.started_at)
                        .is_some_and(|started| started < created)
                });
                builds.extend(
                    listed
                        .builds
                        .into_iter()
                        .filter(|build| build.id != change.build.id && !build.in_batch)
                        .filter(|build| of_revision(build, origin))
                        .filter(|build| {
                            starter.is_none_or(|role| {
                                build
                                    .initiator
                                    .as_deref()
                                    .is_some_and(|i| role.is_initiator(i))
                            })
                        })
                        .map(|build| RevisionBuild {
                            project: project.to_owned(),
                            rule: build.rule,
                            id: build.id,
                            number: build.number,
                            started_at: build.started_at,
                            status: build.status.unwrap_or_else(|| "IN_PROGRESS".into()),
                        }),
                );
                let all_found = selected
                    .iter()
                    .filter(|s| s.project == project && s.batch == batch)
                    .all(|s| {
                        builds
                            .iter()
                            .any(|b| b.project == project && b.rule == s.rule)
                    });
                match listed.next {
                    Some(next) if !all_found && !older => page = Some(next),
                    _ => break,
                }
            }
        }
        Ok(builds)
    }

    /// What `change`'s build was started for, if it is one this function reports; why it is
    /// not otherwise.
    fn reported_origin<'c>(&self, change: &'c BuildChange) -> Result<&'c BuildOrigin, String> {
        let origin = change.origin.as_ref().map_err(Clone::clone)?;
        if !self.config.may_start(&change.build.project) {
            return Err(format!(
                "project {} is not one this function starts",
                change.build.project
            ));
        }
        if matches!(origin, BuildOrigin::Push { .. }) && !self.config.reporting.commit_comments {
            return Err("COMMIT_COMMENTS is off: push builds are not reported".into());
        }
        Ok(origin)
    }

    /// Finds the function's comment for `target`, then posts, updates or keeps it with the
    /// text `content` makes (awaited only when the comment is written).
    async fn write_comment(
        &self,
        change: &BuildChange,
        target: &Target<'_>,
        own: &RoleArn,
        content: impl Future<Output = String>,
    ) -> Result<Reported, HandlerError> {
        let mut make = Some(content);
        let mut content = None;
        // Twice at most: a post that loses a race with another delivery of an event of the
        // same build reads the winner's comment and decides again; a post whose token an
        // earlier, since deleted, comment took posts under a token of this build's.
        for attempt in 0..2 {
            let found = self.slot_comment(change, target, own).await?;
            let write = write_for(
                found.as_ref().map(|(id, stamp)| (id.as_str(), stamp)),
                &target.stamp,
            );
            let id = match write {
                Write::Keep(id, reason) => {
                    return Ok(reported(
                        change,
                        ReportAction::Kept,
                        Some(id),
                        Some(reason.to_string()),
                    ));
                }
                Write::Update(id) => Some(id.to_owned()),
                Write::Post => None,
            };
            if let Some(make) = make.take() {
                content = Some(make.await);
            }
            let text = content.as_deref().unwrap_or_default();
            let (action, id) = match id {
                Some(id) => {
                    self.codecommit
                        .update(&id, text)
                        .await
                        .map_err(|source| failed(change, source))?;
                    (ReportAction::Updated, id)
                }
                None => {
                    let mut token = token(&target.thread, &target.stamp);
                    if attempt > 0 {
                        token = format!("{}{}", &token[..32], &token_of_build(change)[..32]);
                    }
                    match self.codecommit.post(&target.thread, text, &token).await {
                        Ok(id) => (ReportAction::Posted, id),
                        Err(mismatch) if mismatch.code == TOKEN_MISMATCH => {
                            info!(
                                build = change.build.id,
                                "the comment's token is taken: reading the comments again"
                            );
                            continue;
                        }
                        Err(source) => return Err(failed(change, source)),
                    }
                }
            };
            if change.complete {
                self.keep_final(change, &id, text).await?;
            }
            return Ok(reported(change, action, Some(&id), None));
        }
        Err(failed(
            change,
            AwsError {
                operation: "PostCommentForPullRequest",
                code: TOKEN_MISMATCH.into(),
                message:
                    "the comment's tokens are taken, yet no comment of the function's carries them"
                        .into(),
            },
        ))
    }

    /// The function's own comment (its id and stamp) in the slot of `target`'s stamp: the same
    /// project, rule and subject; `None` when there is none yet.
    async fn slot_comment(
        &self,
        change: &BuildChange,
        target: &Target<'_>,
        own: &RoleArn,
    ) -> Result<Option<(String, Stamp)>, HandlerError> {
        let ours = |author: &str| own.is_session(author);
        let comments = self
            .codecommit
            .comments(&target.thread, &ours)
            .await
            .map_err(|source| failed(change, source))?;
        Ok(comments.into_iter().find_map(|comment| {
            let stamp = Stamp::read(&comment.content)?;
            target
                .stamp
                .same_slot(&stamp)
                .then_some((comment.id, stamp))
        }))
    }

    /// Writes the final status `text` of `change` into comment `id` again if a concurrent
    /// delivery of the same build's start overwrote it after this one read the comment.
    async fn keep_final(
        &self,
        change: &BuildChange,
        id: &str,
        text: &str,
    ) -> Result<(), HandlerError> {
        let now = self
            .codecommit
            .comment(id)
            .await
            .map_err(|source| failed(change, source))?;
        let overwritten = Stamp::read(&now.content)
            .is_some_and(|shown| shown.build_id == change.build.id && !shown.complete);
        if overwritten {
            warn!(
                build = change.build.id,
                comment = id,
                "a late start overwrote the final status: writing it again"
            );
            self.codecommit
                .update(id, text)
                .await
                .map_err(|source| failed(change, source))?;
        }
        Ok(())
    }

    /// The comment's text: reads whether the revision is still current and, for a build
    /// that did not succeed, the log's last lines. A failed read is said, not fatal.
    async fn content(
        &self,
        change: &BuildChange,
        origin: &BuildOrigin,
        target: &Target<'_>,
    ) -> String {
        let superseded_by = self.superseded_by(change, origin).await;
        let log = self.log_of(change).await;
        let tests = self.tests_of(change).await;
        render(&Content {
            change,
            stamp: &target.stamp,
            commit: target.commit,
            superseded_by: superseded_by.as_deref(),
            log: log.tail(),
            tests: tests.shown(),
        })
    }

    /// The pull request's current revision, when `origin` is an older one of it; `None` when
    /// it is current, for a push, or when it cannot be read (logged).
    async fn superseded_by(&self, change: &BuildChange, origin: &BuildOrigin) -> Option<String> {
        match origin {
            BuildOrigin::PullRequest {
                repository,
                id,
                revision,
                ..
            } => {
                match self
                    .codecommit
                    .current_pull_request(&repository.name, id)
                    .await
                {
                    Ok(current) => Some(current.revision).filter(|current| current != revision),
                    Err(failure) => {
                        warn_unread(change, &failure, "whether the revision is still current");
                        None
                    }
                }
            }
            BuildOrigin::Push { .. } => None,
        }
    }

    /// The last lines of the log of `change`'s build, when it ended without success and
    /// `COMMENT_LOG_LINES` wants some.
    async fn log_of(&self, change: &BuildChange) -> ReadLog {
        let lines = self.config.reporting.log_lines;
        let wants_log = change.complete && change.status != BuildStatus::Succeeded && lines > 0;
        let (Some(stream), true) = (&change.log, wants_log) else {
            return ReadLog::None;
        };
        match self.logs.last_lines(stream, lines).await {
            Ok(raw) => ReadLog::Lines(publishable(&raw)),
            Err(failure) => {
                warn_unread(change, &failure, "the build's log");
                ReadLog::Unreadable(failure.code)
            }
        }
    }

    /// The test results of `change`'s build, once it ended with test reports.
    async fn tests_of(&self, change: &BuildChange) -> ReadTests {
        if !change.complete || change.report_arns.is_empty() {
            return ReadTests::None;
        }
        match self.codebuild.test_results(&change.report_arns).await {
            Ok(results) => ReadTests::Results(results),
            Err(failure) => {
                warn_unread(change, &failure, "the build's test reports");
                ReadTests::Unreadable(failure.code)
            }
        }
    }
}

/// A build's log as read for its comment.
enum ReadLog {
    /// Not wanted.
    None,
    /// Its last lines, made safe to publish.
    Lines(PublishedLog),
    /// Unreadable, with the AWS error code.
    Unreadable(String),
}

impl ReadLog {
    fn tail(&self) -> LogTail<'_> {
        match self {
            Self::None => LogTail::None,
            Self::Lines(log) => LogTail::Lines(log),
            Self::Unreadable(code) => LogTail::Unreadable(code),
        }
    }
}

/// A build's test results as read for its comment.
enum ReadTests {
    /// None to read.
    None,
    /// Read.
    Results(TestResults),
    /// Unreadable, with the AWS error code.
    Unreadable(String),
}

impl ReadTests {
    fn shown(&self) -> Tests<'_> {
        match self {
            Self::None => Tests::None,
            Self::Results(results) => Tests::Results(results),
            Self::Unreadable(code) => Tests::Unreadable(code),
        }
    }
}

/// Whether `build` was started for `origin`'s pull request revision and built its source
/// commit.
fn of_revision(build: &PastBuild, origin: &BuildOrigin) -> bool {
    let BuildOrigin::PullRequest {
        repository,
        id,
        revision,
        source_commit,
        ..
    } = origin
    else {
        return false;
    };
    build.repository.as_deref() == Some(repository.name.as_str())
        && build.pull_request.as_deref() == Some(id.as_str())
        && build.revision.as_deref() == Some(revision.as_str())
        && build.source_version.as_deref() == Some(source_commit.as_str())
}

/// The answer, logged as one line.
fn reported(
    change: &BuildChange,
    action: ReportAction,
    comment: Option<&str>,
    reason: Option<String>,
) -> Reported {
    let origin = change.origin.as_ref().ok();
    let (pull_request, commit) = match origin {
        Some(BuildOrigin::PullRequest {
            id, source_commit, ..
        }) => (Some(id.clone()), Some(source_commit.to_string())),
        Some(BuildOrigin::Push { commit, .. }) => (None, Some(commit.to_string())),
        None => (None, None),
    };
    let reported = Reported {
        build_id: change.build.id.clone(),
        project: change.build.project.clone(),
        status: change.status.to_string(),
        repository: origin.map(|origin| origin.repository().name.clone()),
        pull_request,
        commit,
        comment: comment.map(str::to_owned),
        action,
        reason,
        approval: None,
        batch_id: None,
        batch_status: None,
    };
    info!(
        build = reported.build_id,
        project = reported.project,
        status = reported.status,
        repository = reported.repository,
        pull_request = reported.pull_request,
        commit = reported.commit,
        comment = reported.comment,
        action = action.as_str(),
        reason = reported.reason,
        "report"
    );
    reported
}

/// Logs a read the comment does without.
fn warn_unread(change: &BuildChange, failure: &AwsError, what: &str) {
    warn!(
        build = change.build.id,
        code = failure.code,
        error = failure.message,
        action = failure.advice(),
        "could not read {what}"
    );
}

fn failed(change: &BuildChange, source: AwsError) -> HandlerError {
    HandlerError::ReportFailed {
        build: change.build.id.clone(),
        source,
    }
}

/// The `clientRequestToken` of the comment for `stamp`'s project, rule and subject on
/// `thread` (its compared commits included): the same for every build of them, so that two
/// deliveries racing to post it post one comment.
fn token(thread: &Thread<'_>, stamp: &Stamp) -> String {
    let (repository, place, before, after) = match *thread {
        Thread::PullRequest {
            repository,
            id,
            before,
            after,
        } => (repository, format!("pull-request {id}"), before, after),
        Thread::Commit {
            repository,
            before,
            after,
        } => (
            repository,
            "commit".to_owned(),
            before.unwrap_or_default(),
            after,
        ),
    };
    let subject = stamp.subject.to_string();
    hex_sha256([
        "codecommit-build-trigger/comment/2",
        repository,
        &place,
        before,
        after,
        &stamp.project,
        stamp.rule.as_deref().unwrap_or_default(),
        &subject,
    ])
}

/// A token part of this build alone, for a comment whose first token is taken.
fn token_of_build(change: &BuildChange) -> String {
    hex_sha256([
        "codecommit-build-trigger/comment-of-build/1",
        &change.build.id,
    ])
}

#[cfg(test)]
mod tests;
