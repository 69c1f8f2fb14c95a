//! Results back in CodeCommit: what one "CodeBuild Build State Change" event does to its
//! build's status comment, decided from the comment's stamp ([`Stamp`]) alone, so that no
//! state store is needed and events delivered twice or out of order end in one comment
//! showing the latest build's final status.

mod approval;
mod batch;
mod comment;
mod log;
mod redact;

pub(crate) use approval::{verdict, RevisionBuild, Selected, Verdict};
pub(crate) use batch::{render_batch, BatchBuild, BatchContent, MAX_FAILED_SECTIONS};
pub(crate) use comment::{render, BatchProgress, Content, LogTail, Stamp, Subject, Tests};
pub(crate) use log::{clean_line, publishable, PublishedLog};

use crate::config::RoleArn;
use crate::event::{BuildChange, BuildReport};
use std::fmt;

/// The build `hint` (a build-state event) names, as CodeBuild reports it (`truth`, its
/// `BatchGetBuilds` answer): every field CodeBuild's, never the event's. Refused, with the
/// reason, when the event names no build this function started, when CodeBuild knows no such
/// build, when its variables or source version are not what the event says, or when
/// `starter` is given and did not start it (for a build of a batch, whose initiator is the
/// batch's service role, the caller checks its batch with [`started_by`]).
pub fn confirm(
    hint: &BuildChange,
    truth: Option<BuildReport>,
    starter: Option<&RoleArn>,
) -> Result<BuildChange, String> {
    let id = &hint.build.id;
    let Some(truth) = truth else {
        return Err(format!(
            "CodeBuild knows no build {id}: the event is not CodeBuild's"
        ));
    };
    let change = truth.change(hint.build.clone());
    match (&hint.origin, &change.origin) {
        (Err(reason), _) => return Err(reason.clone()),
        (_, Err(reason)) => return Err(format!("as CodeBuild reports it, {reason}")),
        (Ok(claimed), Ok(actual)) if claimed != actual => {
            return Err(format!(
                "the event's CODECOMMIT_* variables or source version are not those CodeBuild reports for build {id}"
            ))
        }
        _ => {}
    }
    // A batch's builds are started by its own service role: the batch answers for them.
    if let (Some(starter), None) = (starter, &change.batch_arn) {
        started_by(&change, starter, "build")?;
    }
    Ok(change)
}

/// Whether `starter` started `change`'s build (or batch, as `kind` says), as CodeBuild's
/// `initiator` says; why not otherwise.
pub(crate) fn started_by(
    change: &BuildChange,
    starter: &RoleArn,
    kind: &str,
) -> Result<(), String> {
    let initiator = change.initiator.as_deref().unwrap_or_default();
    if starter.is_initiator(initiator) {
        return Ok(());
    }
    let who = if initiator.is_empty() {
        "no one CodeBuild names"
    } else {
        initiator
    };
    Err(format!(
        "{kind} {} was started by {who}, not by a session of STARTER_ROLE_ARN's role {}",
        change.build.id,
        starter.name()
    ))
}

/// What to do with a build's status comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Write<'a> {
    /// There is none yet: post it.
    Post,
    /// Update this one in place.
    Update(&'a str),
    /// Leave this one as it is, for this reason.
    Keep(&'a str, Keep),
}

/// Why a comment is left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Keep {
    /// It already shows this build's state.
    Unchanged,
    /// It shows this build's final status, which a late event never overwrites.
    Ended(String),
    /// It shows the same batch further along (more of its builds ended, or retried).
    FurtherAlong,
    /// It shows a newer build of the same project and subject (a rebuild).
    NewerBuild(u64),
    /// It shows another build, and without build numbers the two cannot be ordered.
    Unordered(String),
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unchanged => f.write_str("the comment already shows this status"),
            Self::Ended(status) => write!(
                f,
                "the comment already shows the build's final status {status}, which a late event never overwrites"
            ),
            Self::FurtherAlong => f.write_str(
                "the comment already shows the batch further along: more of its builds ended or were retried",
            ),
            Self::NewerBuild(number) => write!(
                f,
                "the comment shows a newer build (#{number}) of the same project and subject"
            ),
            Self::Unordered(build) => write!(
                f,
                "the comment shows build {build}, and without build numbers the two cannot be ordered"
            ),
        }
    }
}

/// What `incoming` (the event's stamp) does to the function's own comment `found` (its id
/// and stamp) for the same project and subject, if there is one.
pub(crate) fn write_for<'a>(found: Option<(&'a str, &Stamp)>, incoming: &Stamp) -> Write<'a> {
    let Some((id, shown)) = found else {
        return Write::Post;
    };
    if shown.build_id == incoming.build_id {
        // A batch's retry, or one more of its builds ended, is news; less is a late read.
        let progress = |stamp: &Stamp| stamp.batch.map(|batch| (batch.retried, batch.ended));
        let (shown_progress, incoming_progress) = (progress(shown), progress(incoming));
        if shown_progress.map(|(retried, _)| retried)
            < incoming_progress.map(|(retried, _)| retried)
        {
            return Write::Update(id);
        }
        if incoming_progress < shown_progress {
            return Write::Keep(id, Keep::FurtherAlong);
        }
        return if shown.complete {
            Write::Keep(id, Keep::Ended(shown.status.clone()))
        } else if incoming.complete
            || shown.status != incoming.status
            || incoming_progress > shown_progress
        {
            Write::Update(id)
        } else {
            Write::Keep(id, Keep::Unchanged)
        };
    }
    match (shown.number, incoming.number) {
        (Some(shown), Some(incoming)) if incoming > shown => Write::Update(id),
        (Some(shown), Some(_)) => Write::Keep(id, Keep::NewerBuild(shown)),
        _ => Write::Keep(id, Keep::Unordered(shown.build_id.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(build: &str, number: Option<u64>, status: &str, complete: bool) -> Stamp {
        Stamp {
            project: "app-ci".into(),
            rule: None,
            subject: Subject::Revision("r1".into()),
            build_id: format!("app-ci:{build}"),
            number,
            status: status.into(),
            complete,
            batch: None,
        }
    }

    #[test]
    fn the_first_event_posts_and_the_end_updates() {
        let running = stamp("b", Some(2), "IN_PROGRESS", false);
        let failed = stamp("b", Some(2), "FAILED", true);
        assert_eq!(write_for(None, &running), Write::Post);
        assert_eq!(
            write_for(Some(("c1", &running)), &failed),
            Write::Update("c1")
        );
    }

    #[test]
    fn a_final_status_is_never_overwritten_and_a_repeat_changes_nothing() {
        let running = stamp("b", Some(2), "IN_PROGRESS", false);
        let failed = stamp("b", Some(2), "FAILED", true);
        assert_eq!(
            write_for(Some(("c1", &failed)), &running),
            Write::Keep("c1", Keep::Ended("FAILED".into()))
        );
        assert_eq!(
            write_for(Some(("c1", &failed)), &failed),
            Write::Keep("c1", Keep::Ended("FAILED".into()))
        );
        assert_eq!(
            write_for(Some(("c1", &running)), &running),
            Write::Keep("c1", Keep::Unchanged)
        );
    }

    #[test]
    fn a_rebuild_takes_the_comment_over_and_the_older_build_never_takes_it_back() {
        let old = stamp("a", Some(1), "FAILED", true);
        let rebuild = stamp("b", Some(2), "IN_PROGRESS", false);
        assert_eq!(write_for(Some(("c1", &old)), &rebuild), Write::Update("c1"));
        assert_eq!(
            write_for(Some(("c1", &rebuild)), &old),
            Write::Keep("c1", Keep::NewerBuild(2))
        );
        let unnumbered = stamp("c", None, "SUCCEEDED", true);
        assert_eq!(
            write_for(Some(("c1", &rebuild)), &unnumbered),
            Write::Keep("c1", Keep::Unordered("app-ci:b".into()))
        );
    }

    #[test]
    fn a_batch_comment_follows_its_builds_and_its_retry_and_never_goes_back() {
        let at = |retried: u32, ended: usize, status: &str| Stamp {
            batch: Some(BatchProgress {
                retried,
                ended,
                builds: 3,
            }),
            ..stamp("batch", Some(3), status, ended == 3)
        };
        let running = at(0, 1, "IN_PROGRESS");
        let further = at(0, 2, "IN_PROGRESS");
        let failed = at(0, 3, "FAILED");
        let retried = at(1, 2, "IN_PROGRESS");
        assert_eq!(
            write_for(Some(("c1", &running)), &further),
            Write::Update("c1")
        );
        assert_eq!(
            write_for(Some(("c1", &further)), &running),
            Write::Keep("c1", Keep::FurtherAlong)
        );
        assert_eq!(
            write_for(Some(("c1", &further)), &failed),
            Write::Update("c1")
        );
        assert_eq!(
            write_for(Some(("c1", &failed)), &further),
            Write::Keep("c1", Keep::FurtherAlong)
        );
        assert_eq!(
            write_for(Some(("c1", &failed)), &failed),
            Write::Keep("c1", Keep::Ended("FAILED".into()))
        );
        assert_eq!(
            write_for(Some(("c1", &failed)), &retried),
            Write::Update("c1")
        );
        assert_eq!(
            write_for(Some(("c1", &retried)), &failed),
            Write::Keep("c1", Keep::FurtherAlong)
        );
    }
}
