//! The events the function takes, parsed and validated into one model ([`Event`]).
//!
//! Pushes come from repository triggers (`{"Records": [...]}`, see [`trigger`]) and
//! EventBridge "CodeCommit Repository State Change" events (see [`eventbridge`]); pull
//! requests from EventBridge "CodeCommit Pull Request State Change" events (see
//! [`pull_request`]). Pushes and pull requests become the same [`Record`]s, so decisions,
//! responses and build parameters do not depend on how the change arrived; a pull
//! request's record carries its [`PullRequest`]. A build's progress comes from EventBridge
//! "CodeBuild Build State Change" events (see [`build_state`]), as a [`BuildChange`].
//!
//! The whole event is validated before anything acts on it: a malformed event
//! yields one [`InvalidEvent`] naming the record, the reference and the field,
//! e.g. `Records[0].codecommit.references[2].commit: ...`.
//!
//! Trigger records are `aws_lambda_events`' `CodeCommitRecord`, with its
//! `catch-all-fields` feature, which keeps a reference's `deleted` flag (that it
//! does not model) in `other`; `serde_path_to_error` still names the field of a
//! type error. The EventBridge envelope is this crate's own: one pass over the
//! event tells a trigger event from an EventBridge one and reads either, where
//! `aws_lambda_events`' `EventBridgeEvent` would need a second parse, and it has no
//! type for the pull-request detail.

mod build_state;
mod eventbridge;
mod model;
mod pull_request;
mod trigger;
mod validate;

pub use build_state::{BuildReport, Phase, Variable};
pub use model::{
    Build, BuildChange, BuildOrigin, BuildStatus, CommitId, EventKind, FailedPhase, GitRef,
    IgnoredEvent, LogStream, PullRequest, PullRequestChange, PullRequestComment, PullRequestStatus,
    Push, Rebuild, Record, RefChange, RefKind, RefUpdate, Repository,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

/// Longest full reference name accepted (`refs/heads/...`), in bytes.
pub const MAX_REF_LEN: usize = 1024;

/// An event the function does not take, or takes but finds malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {problem}")]
pub struct InvalidEvent {
    /// Where in the event: `Records[0].codecommit.references[1].ref`.
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

/// One event the function takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A push: a trigger event's records, or one EventBridge reference change.
    Push(Push),
    /// A pull request created, updated, closed, reopened or merged.
    PullRequest(PullRequestChange),
    /// A pull-request event that never builds, answered with its reason.
    Ignored(IgnoredEvent),
    /// A build started, ended or changed state: reported back in CodeCommit.
    Build(Box<BuildChange>),
    /// A new comment on a pull request, which may ask for its builds again.
    Comment(PullRequestComment),
}

impl Event {
    /// The event's kind, as its `detail-type` names it (`CodeCommit push` for pushes, whether
    /// a trigger's or EventBridge's).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Push(_) => "CodeCommit push",
            Self::PullRequest(_) | Self::Ignored(_) => pull_request::DETAIL_TYPES[0],
            Self::Comment(_) => pull_request::DETAIL_TYPES[1],
            Self::Build(_) => build_state::DETAIL_TYPE,
        }
    }

    /// The records to decide: a push's, or a pull request's (one per
    /// repository); none for an event that never builds.
    pub fn records(&self) -> &[Record] {
        match self {
            Self::Push(push) => &push.records,
            Self::PullRequest(change) => &change.records,
            Self::Ignored(_) | Self::Build(_) | Self::Comment(_) => &[],
        }
    }

    /// The repositories the event is about, each once per record, in order.
    pub fn repositories(&self) -> impl Iterator<Item = &Repository> {
        let (records, ignored): (&[Record], &[Repository]) = match self {
            Self::Push(push) => (&push.records, &[]),
            Self::PullRequest(change) => (&change.records, &[]),
            Self::Ignored(ignored) => (&[], &ignored.repositories),
            Self::Comment(comment) => (&[], &comment.repositories),
            Self::Build(change) => (
                &[],
                change
                    .origin
                    .as_ref()
                    .map_or(&[][..], |origin| std::slice::from_ref(origin.repository())),
            ),
        };
        records
            .iter()
            .map(|record| &record.repository)
            .chain(ignored)
    }
}

/// The fields that tell the event sources apart; the rest is read by the
/// source's own module.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records")]
    records: Option<Vec<trigger::RawRecord>>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    id: Option<String>,
    detail: Option<Box<RawValue>>,
}

/// The `source` of CodeCommit's EventBridge events.
const EVENTBRIDGE_SOURCE: &str = "aws.codecommit";

/// Parses and validates a CodeCommit trigger event, or an EventBridge
/// "CodeCommit Repository State Change", "CodeCommit Pull Request State
/// Change", "CodeCommit Comment on Pull Request" or "CodeBuild Build State
/// Change" event.
pub fn parse(json: &str) -> Result<Event, InvalidEvent> {
    // serde would also read a struct from an array: only an object is an event.
    if !json.trim_start().starts_with('{') {
        return Err(not_an_event("expected a JSON object"));
    }
    let envelope: Envelope = deserialize(json, "")?;
    let detail_type = match (envelope.records, envelope.detail_type) {
        (Some(records), None) => return trigger::validate(records).map(Event::Push),
        (None, Some(detail_type)) => detail_type,
        (Some(_), Some(_)) => return Err(not_an_event("has both Records and detail-type")),
        (None, None) => {
            return Err(not_an_event(
                "has neither Records (a repository trigger event) nor detail-type (an EventBridge event)",
            ))
        }
    };
    let source = if detail_type == build_state::DETAIL_TYPE {
        build_state::SOURCE
    } else if detail_type == eventbridge::DETAIL_TYPE
        || pull_request::DETAIL_TYPES.contains(&detail_type.as_str())
    {
        EVENTBRIDGE_SOURCE
    } else {
        return Err(InvalidEvent {
            path: "detail-type".into(),
            problem: format!(
                "is {}, expected \"{}\", \"{}\", \"{}\" or \"{}\"",
                validate::quoted(&detail_type),
                eventbridge::DETAIL_TYPE,
                pull_request::DETAIL_TYPES[0],
                pull_request::DETAIL_TYPES[1],
                build_state::DETAIL_TYPE
            ),
        });
    };
    if envelope.source.as_deref() != Some(source) {
        let found = envelope.source.as_deref().map_or_else(
            || "missing".to_owned(),
            |s| format!("is {}", validate::quoted(s)),
        );
        return Err(InvalidEvent {
            path: "source".into(),
            problem: format!("{found}, expected \"{source}\""),
        });
    }
    let (resources, time, detail) = (
        &envelope.resources,
        envelope.time.as_deref(),
        envelope.detail.as_deref(),
    );
    if detail_type == eventbridge::DETAIL_TYPE {
        eventbridge::validate(resources, time, envelope.id.as_deref(), detail).map(Event::Push)
    } else if source == build_state::SOURCE {
        build_state::validate(resources, detail).map(|change| Event::Build(Box::new(change)))
    } else {
        let comment = detail_type == pull_request::DETAIL_TYPES[1];
        pull_request::validate(resources, time, detail, comment)
    }
}

fn not_an_event(problem: &str) -> InvalidEvent {
    InvalidEvent {
        path: "event".into(),
        problem: format!("not a CodeCommit trigger or EventBridge event: {problem}"),
    }
}

/// Deserializes `json`, reporting an error at its path below `prefix`.
fn deserialize<'de, T: Deserialize<'de>>(json: &'de str, prefix: &str) -> Result<T, InvalidEvent> {
    let deserializer = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let problem = error.into_inner().to_string();
        match (prefix, path.as_str()) {
            ("", ".") => not_an_event(&problem),
            (prefix, ".") => InvalidEvent {
                path: prefix.to_owned(),
                problem,
            },
            ("", path) => InvalidEvent {
                path: path.to_owned(),
                problem,
            },
            (prefix, path) => InvalidEvent {
                path: format!("{prefix}.{path}"),
                problem,
            },
        }
    })
}

#[cfg(test)]
mod tests;
