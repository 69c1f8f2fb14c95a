//! The path of a "CodeBuild Build State Change" event: the build's status comment, posted
//! when it starts and updated in place as it ends.

use super::{Handler, ANSWER_MARGIN};
use crate::aws::AwsError;
use crate::codebuild::CodeBuildCalls;
use crate::codecommit::CodeCommitReads;
use crate::comments::{CommentReads, ResultWrites, Thread};
use crate::config::{project_name, RoleArn};
use crate::error::HandlerError;
use crate::event::{BuildChange, BuildOrigin, BuildStatus};
use crate::logs::LogReads;
use crate::report::{
    clean_line, render, verdict, write_for, Content, LogTail, RevisionBuild, Stamp, Subject,
    Verdict, Write,
};
use crate::response::{ReportAction, Reported};
use lambda_runtime::tracing::{error, info, warn};
use sha2::{Digest, Sha256};
use tokio::time::{timeout_at, Instant};

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

impl<B, C, L> Handler<B, C, L>
where
    B: CodeBuildCalls,
    C: CodeCommitReads + CommentReads + ResultWrites,
    L: LogReads,
{
    /// [`Self::report`], bounded by the invocation's `deadline` (less the time to answer);
    /// a failure is logged.
    pub(super) async fn report_within(
        &self,
        change: &BuildChange,
        deadline: Option<Instant>,
    ) -> Result<Reported, HandlerError> {
        let reporting = self.report(change);
        let reported = match deadline {
            None => reporting.await,
            Some(deadline) => timeout_at(deadline - ANSWER_MARGIN, reporting)
                .await
                .unwrap_or_else(|_| {
                    Err(failed(
                        change,
                        AwsError {
                            operation: "UpdateComment",
                            code: "InvocationDeadline".into(),
                            message: "the invocation's time ran out before the status was written"
                                .into(),
                        },
                    ))
                }),
        };
        reported.inspect_err(|failure| {
            error!(error_type = failure.error_type(), error = %failure,
                "the build's status was not written back");
        })
    }

    /// Writes `change` into its build's status comment: posts it when there is none, updates
    /// it when the event is news, keeps it when the comment already shows as much or more.
    pub(super) async fn report(&self, change: &BuildChange) -> Result<Reported, HandlerError> {
        let origin = match self.reported_origin(change) {
            Ok(origin) => origin,
            Err(reason) => return Ok(reported(change, ReportAction::Ignored, None, Some(reason))),
        };
        let own = self
            .config
            .reporting
            .reporter_role
            .as_ref()
            .ok_or(HandlerError::ReporterUnknown)?;
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
        let target = Target::of(change, origin, parent.as_deref());
        let mut reported = self.write_comment(change, origin, &target, own).await?;
        if let BuildOrigin::PullRequest {
            repository,
            id,
            revision,
            ..
        } = origin
        {
            if change.complete && self.config.reporting.approve_pull_requests {
                let approval = self.approve(change, &repository.name, id, revision).await?;
                info!(
                    build = change.build.id,
                    pull_request = id,
                    revision,
                    approval,
                    "approval"
                );
                reported.approval = Some(approval);
            }
        }
        Ok(reported)
    }

    /// Approves or revokes `revision` of pull request `id` now that `change`'s build has
    /// ended, from every build this function started for the revision; says what it did.
    async fn approve(
        &self,
        change: &BuildChange,
        repository: &str,
        id: &str,
        revision: &str,
    ) -> Result<String, HandlerError> {
        let builds = self
            .revision_builds(change, repository, id, revision)
            .await?;
        let verdict = verdict(&builds);
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

    /// Every build this function started for `revision` of pull request `id` (of the
    /// revision's source commit, as `change`'s is), `change`'s own with the status the event
    /// says.
    async fn revision_builds(
        &self,
        change: &BuildChange,
        repository: &str,
        id: &str,
        revision: &str,
    ) -> Result<Vec<RevisionBuild>, HandlerError> {
        let mut projects: Vec<&str> = self
            .config
            .rules
            .iter()
            .map(|rule| project_name(&rule.project))
            .collect();
        projects.sort_unstable();
        projects.dedup();
        let (commit, rule) = match &change.origin {
            Ok(origin @ BuildOrigin::PullRequest { source_commit, .. }) => {
                (source_commit.as_str(), origin.rule())
            }
            _ => return Ok(Vec::new()),
        };
        let mut builds = vec![RevisionBuild {
            project: change.build.project.clone(),
            rule: rule.map(str::to_owned),
            id: change.build.id.clone(),
            number: change.build.number,
            started_at: None,
            status: change.status.to_string(),
        }];
        for project in projects {
            let listed = self
                .codebuild
                .recent_builds(project)
                .await
                .map_err(|source| failed(change, source))?;
            builds.extend(
                listed
                    .into_iter()
                    .filter(|build| {
                        build.id != change.build.id
                            && build.repository.as_deref() == Some(repository)
                            && build.pull_request.as_deref() == Some(id)
                            && build.revision.as_deref() == Some(revision)
                            && build.source_version.as_deref() == Some(commit)
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
        }
        Ok(builds)
    }

    /// What `change`'s build was started for, if it is one this function reports; why it is
    /// not otherwise.
    fn reported_origin<'c>(&self, change: &'c BuildChange) -> Result<&'c BuildOrigin, String> {
        let origin = change.origin.as_ref().map_err(Clone::clone)?;
        let ours = self
            .config
            .rules
            .iter()
            .any(|rule| project_name(&rule.project) == change.build.project);
        if !ours {
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

    /// Finds the function's comment for `target`, then posts, updates or keeps it.
    async fn write_comment(
        &self,
        change: &BuildChange,
        origin: &BuildOrigin,
        target: &Target<'_>,
        own: &RoleArn,
    ) -> Result<Reported, HandlerError> {
        let mut content = None;
        let ours = |author: &str| own.is_session(author);
        // Twice at most: a post that loses a race with another delivery of an event of the
        // same build reads the winner's comment and decides again; a post whose token an
        // earlier, since deleted, comment took posts under a token of this build's.
        for attempt in 0..2 {
            let comments = self
                .codecommit
                .comments(&target.thread, &ours)
                .await
                .map_err(|source| failed(change, source))?;
            let found = comments.iter().find_map(|comment| {
                let stamp = Stamp::read(&comment.content)?;
                target
                    .stamp
                    .same_slot(&stamp)
                    .then_some((comment.id.as_str(), stamp))
            });
            let write = write_for(
                found.as_ref().map(|(id, stamp)| (*id, stamp)),
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
            if content.is_none() {
                content = Some(self.content(change, origin, target).await);
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
        let superseded_by = match origin {
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
        };
        let lines = self.config.reporting.log_lines;
        let wants_log = change.complete && change.status != BuildStatus::Succeeded && lines > 0;
        let log = match (&change.log, wants_log) {
            (Some(stream), true) => Some(self.logs.last_lines(stream, lines).await),
            _ => None,
        };
        let cleaned: Vec<String>;
        let failure_code: String;
        let tail = match log {
            None => LogTail::None,
            Some(Ok(raw)) => {
                cleaned = raw.iter().map(|line| clean_line(line)).collect();
                LogTail::Lines(&cleaned)
            }
            Some(Err(failure)) => {
                warn_unread(change, &failure, "the build's log");
                failure_code = failure.code;
                LogTail::Unreadable(&failure_code)
            }
        };
        render(&Content {
            change,
            stamp: &target.stamp,
            commit: target.commit,
            superseded_by: superseded_by.as_deref(),
            log: tail,
        })
    }
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
    let advice = source.advice();
    HandlerError::ReportFailed {
        build: change.build.id.clone(),
        source,
        advice,
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
    hex_sha256(&[
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
    hex_sha256(&[
        "codecommit-build-trigger/comment-of-build/1",
        &change.build.id,
    ])
}

/// SHA-256 (hex) of NUL-separated `parts`.
fn hex_sha256(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update(b"\0");
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
