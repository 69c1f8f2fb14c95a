//! CodeCommit push events, parsed and validated into one model of a [`Push`].
//!
//! Two sources deliver pushes: repository triggers (`{"Records": [...]}`, see
//! [`trigger`]) and EventBridge "CodeCommit Repository State Change" events
//! (see [`eventbridge`]). Both become the same [`Push`], so decisions,
//! responses and build parameters do not depend on how the push arrived.
//!
//! The whole event is validated before anything acts on it: a malformed event
//! yields one [`InvalidEvent`] naming the record, the reference and the field,
//! e.g. `Records[0].codecommit.references[2].commit: ...`.
//!
//! The wire structs are this crate's own rather than `aws_lambda_events`',
//! which drops the `deleted` flag of a trigger reference (a deleted branch
//! would then look like a push) and reports type errors without their path.

mod eventbridge;
mod trigger;

use crate::arn::Arn;
use crate::config::truncate;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;
use thiserror::Error;

/// Longest full reference name accepted (`refs/heads/...`), in bytes.
pub const MAX_REF_LEN: usize = 1024;
/// Longest pusher ARN accepted, in bytes.
const MAX_ARN_LEN: usize = 2048;

/// An event that is not a valid CodeCommit push event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {problem}")]
pub struct InvalidEvent {
    /// Where in the event: `Records[0].codecommit.references[1].ref`.
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

/// One push, as delivered in one event (a trigger event may split it over several records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The event's records, in order.
    pub records: Vec<PushRecord>,
}

/// A repository and the references pushed to it: one record of a trigger
/// event, or the one reference of an EventBridge event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    /// The repository pushed to.
    pub repository: Repository,
    /// Who pushed (IAM ARN), when the event says.
    pub pusher: Option<String>,
    /// Whether this is a push or the console's test event.
    pub kind: EventKind,
    /// The trigger's free-text custom data, when set.
    pub custom_data: Option<String>,
    /// When the push happened (milliseconds since the Unix epoch), when the
    /// event says so readably: a trigger's `eventTime`, EventBridge's `time`.
    pub pushed_at: Option<i64>,
    /// The references this record updates, in order.
    pub references: Vec<RefUpdate>,
}

/// What caused the event: a trigger's `eventName` or EventBridge's `detail.event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Trigger `ReferenceChanges`: a real push.
    ReferenceChanges,
    /// Trigger `TriggerEventTest`: the console's "Test trigger"; carries a real commit.
    TriggerEventTest,
    /// EventBridge `referenceCreated`.
    ReferenceCreated,
    /// EventBridge `referenceUpdated`.
    ReferenceUpdated,
    /// EventBridge `referenceDeleted`.
    ReferenceDeleted,
}

impl EventKind {
    /// The name as the event writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReferenceChanges => "ReferenceChanges",
            Self::TriggerEventTest => "TriggerEventTest",
            Self::ReferenceCreated => "referenceCreated",
            Self::ReferenceUpdated => "referenceUpdated",
            Self::ReferenceDeleted => "referenceDeleted",
        }
    }
}

/// A CodeCommit repository, from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The repository's name.
    pub name: String,
    /// The repository's ARN.
    pub arn: String,
}

/// One updated reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The reference.
    pub reference: GitRef,
    /// What the push did to it.
    pub change: RefChange,
}

/// What a push did to a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefChange {
    /// The reference now points at `commit`.
    Pushed {
        /// The pushed commit.
        commit: CommitId,
        /// The push created the reference.
        created: bool,
        /// The commit the reference pointed at before, when the event says
        /// (EventBridge's `oldCommitId`; trigger events never do).
        previous: Option<CommitId>,
    },
    /// The push deleted the reference.
    Deleted {
        /// The commit the event names for it, if any.
        commit: Option<CommitId>,
    },
}

impl RefUpdate {
    /// The commit the event names for this reference.
    pub fn commit(&self) -> Option<&CommitId> {
        match &self.change {
            RefChange::Pushed { commit, .. } => Some(commit),
            RefChange::Deleted { commit } => commit.as_ref(),
        }
    }
}

/// A validated full reference name such as `refs/heads/main`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

/// The namespace of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `refs/heads/...`
    Branch,
    /// `refs/tags/...`
    Tag,
    /// Any other namespace (`refs/notes/...`, ...).
    Other,
}

impl GitRef {
    /// The full name, `refs/...`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Branch, tag or other.
    pub fn kind(&self) -> RefKind {
        self.split().0
    }

    /// The branch or tag name without its namespace; the full name otherwise.
    pub fn short_name(&self) -> &str {
        self.split().1
    }

    /// The kind and the short name, from one look at the prefix.
    pub fn split(&self) -> (RefKind, &str) {
        if let Some(branch) = self.0.strip_prefix("refs/heads/") {
            (RefKind::Branch, branch)
        } else if let Some(tag) = self.0.strip_prefix("refs/tags/") {
            (RefKind::Tag, tag)
        } else {
            (RefKind::Other, &self.0)
        }
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full Git commit id: 40 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(String);

impl CommitId {
    /// `text` as a commit id, if it is 40 lowercase hexadecimal digits.
    pub fn parse(text: &str) -> Option<Self> {
        is_commit_id(text).then(|| Self(text.to_owned()))
    }

    /// The id as 40 hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fields that tell the two event sources apart; the rest is read by
/// the source's own module.
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
    detail: Option<Box<RawValue>>,
}

/// Parses and validates a CodeCommit trigger event or EventBridge
/// "CodeCommit Repository State Change" event.
pub fn parse(json: &str) -> Result<Push, InvalidEvent> {
    // serde would also read a struct from an array: only an object is an event.
    if !json.trim_start().starts_with('{') {
        return Err(not_a_push_event("expected a JSON object"));
    }
    let envelope: Envelope = deserialize(json, "")?;
    match (envelope.records, envelope.detail_type) {
        (Some(records), None) => trigger::validate(records),
        (None, Some(detail_type)) => eventbridge::validate(
            &detail_type,
            envelope.source.as_deref(),
            &envelope.resources,
            envelope.time.as_deref(),
            envelope.detail.as_deref(),
        ),
        (Some(_), Some(_)) => Err(not_a_push_event("has both Records and detail-type")),
        (None, None) => Err(not_a_push_event(
            "has neither Records (a repository trigger event) nor detail-type (an EventBridge event)",
        )),
    }
}

fn not_a_push_event(problem: &str) -> InvalidEvent {
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
            ("", ".") => not_a_push_event(&problem),
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

fn is_commit_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Git's rules for reference names (`git check-ref-format`), plus a length cap.
fn check_ref_name(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_REF_LEN {
        return Err("is longer than 1024 bytes");
    }
    let Some(rest) = name.strip_prefix("refs/") else {
        return Err("is not a full reference name (refs/heads/..., refs/tags/...)");
    };
    if rest.is_empty() || rest == "heads/" || rest == "tags/" {
        return Err("names no branch or tag");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return Err("contains a character Git does not allow in reference names");
    }
    if name.contains("..") || name.contains("@{") || name.ends_with('.') || name.ends_with('/') {
        return Err("is not a valid Git reference name");
    }
    if name.split('/').any(|component| {
        component.is_empty() || component.starts_with('.') || component.ends_with(".lock")
    }) {
        return Err("has an empty, hidden or `.lock` path component");
    }
    Ok(())
}

/// `arn:PARTITION:codecommit:REGION:ACCOUNT:NAME`.
fn parse_repository_arn(arn: &str) -> Result<Repository, &'static str> {
    let Some(Arn {
        service: "codecommit",
        resource: name,
    }) = Arn::parse(arn)
    else {
        return Err(
            "is not a CodeCommit repository ARN (arn:aws:codecommit:REGION:ACCOUNT:REPOSITORY)",
        );
    };
    let name_ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !name_ok {
        return Err(
            "does not end in a valid repository name (1 to 100 letters, digits, `.`, `_` or `-`)",
        );
    }
    Ok(Repository {
        name: name.to_owned(),
        arn: arn.to_owned(),
    })
}

/// An optional IAM principal ARN (who pushed); empty counts as absent.
fn validate_pusher(arn: Option<String>) -> Result<Option<String>, String> {
    match arn {
        Some(arn) if arn.is_empty() => Ok(None),
        Some(arn)
            if !arn.starts_with("arn:")
                || arn.len() > MAX_ARN_LEN
                || arn.chars().any(char::is_control) =>
        {
            Err(format!("{} is not an IAM ARN", quoted(&arn)))
        }
        arn => Ok(arn),
    }
}

/// A commit id from the event.
fn validate_commit(commit: String) -> Result<CommitId, String> {
    if is_commit_id(&commit) {
        Ok(CommitId(commit))
    } else {
        Err(format!(
            "{} is not a 40-digit lowercase hexadecimal commit id",
            quoted(&commit)
        ))
    }
}

/// A full reference name from the event.
fn validate_ref(name: String) -> Result<GitRef, String> {
    match check_ref_name(&name) {
        Ok(()) => Ok(GitRef(name)),
        Err(problem) => Err(format!("{} {problem}", quoted(&name))),
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 time, also in the
/// trigger's form with a `+0000` offset; `None` if unreadable (the time only
/// orders superseded builds, so an odd one is not worth refusing the event).
fn parse_time(text: &str) -> Option<i64> {
    use aws_sdk_codebuild::primitives::{DateTime, DateTimeFormat};
    let bytes = text.as_bytes();
    let normalized = match bytes.len().checked_sub(5).map(|at| (at, &bytes[at..])) {
        Some((at, [sign @ (b'+' | b'-'), rest @ ..])) if rest.iter().all(u8::is_ascii_digit) => {
            format!(
                "{}{}{}:{}",
                &text[..at],
                *sign as char,
                &text[at + 1..at + 3],
                &text[at + 3..]
            )
        }
        _ => text.to_owned(),
    };
    let time = DateTime::from_str(&normalized, DateTimeFormat::DateTimeWithOffset).ok()?;
    time.to_millis().ok()
}

/// A value from the event, quoted and escaped for an error message, shortened
/// when long so that hostile input cannot flood the logs.
fn quoted(value: &str) -> String {
    format!("{:?}", truncate(value, 120))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const COMMIT: &str = "5e493c6f3067653f3d04eca608b4901eb2270780";

    fn record(references: Value) -> Value {
        json!({
            "awsRegion": "us-east-1",
            "codecommit": {"references": references},
            "customData": "team=platform",
            "eventId": "31ade2c7-f889-47c5-a937-1cf99e2790e9",
            "eventName": "ReferenceChanges",
            "eventPartNumber": 1,
            "eventSource": "aws:codecommit",
            "eventSourceARN": "arn:aws:codecommit:us-east-1:123456789012:my-app",
            "eventTime": "2026-11-28T10:00:00.000+0000",
            "eventTotalParts": 1,
            "eventTriggerConfigId": "0d17d6a4-efeb-46f3-b3ab-a63741badeb8",
            "eventTriggerName": "build",
            "eventVersion": "1.0",
            "userIdentityARN": "arn:aws:iam::123456789012:user/dev"
        })
    }

    fn parse_value(event: &Value) -> Result<Push, InvalidEvent> {
        parse(&event.to_string())
    }

    fn error_of(event: &Value) -> String {
        parse_value(event)
            .expect_err("the event is invalid")
            .to_string()
    }

    #[test]
    fn parses_every_record_and_reference() {
        let event = json!({"Records": [
            record(json!([{"ref": "refs/heads/master", "commit": COMMIT},
                          {"ref": "refs/tags/v1.0", "commit": COMMIT, "created": true}])),
            record(json!([{"ref": "refs/heads/old", "deleted": true}])),
        ]});
        let push = parse_value(&event).expect("valid event");
        assert_eq!(push.records.len(), 2);
        let first = &push.records[0];
        assert_eq!(first.repository.name, "my-app");
        assert_eq!(
            first.repository.arn,
            "arn:aws:codecommit:us-east-1:123456789012:my-app"
        );
        assert_eq!(
            first.pusher.as_deref(),
            Some("arn:aws:iam::123456789012:user/dev")
        );
        assert_eq!(first.custom_data.as_deref(), Some("team=platform"));
        assert_eq!(first.kind, EventKind::ReferenceChanges);
        assert_eq!(first.references.len(), 2);
        assert_eq!(first.references[0].reference.kind(), RefKind::Branch);
        assert_eq!(first.references[0].reference.short_name(), "master");
        assert_eq!(
            first.references[0].commit().map(CommitId::as_str),
            Some(COMMIT)
        );
        assert!(matches!(
            first.references[0].change,
            RefChange::Pushed { created: false, .. }
        ));
        assert_eq!(first.references[1].reference.kind(), RefKind::Tag);
        assert!(matches!(
            first.references[1].change,
            RefChange::Pushed { created: true, .. }
        ));
        let deleted = &push.records[1].references[0];
        assert_eq!(deleted.change, RefChange::Deleted { commit: None });
    }

    #[test]
    fn push_times_are_read_in_both_forms() {
        assert_eq!(
            parse_time("2019-03-12T20:58:25.400+0000"),
            Some(1_552_424_305_400)
        );
        assert_eq!(
            parse_time("2019-03-12T22:58:25.400+0200"),
            Some(1_552_424_305_400)
        );
        assert_eq!(parse_time("2019-03-12T20:58:25Z"), Some(1_552_424_305_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("+0000"), None);
    }

    #[test]
    fn the_console_test_event_is_recognised() {
        let mut event = record(json!([{"ref": "refs/heads/master", "commit": COMMIT}]));
        event["eventName"] = json!("TriggerEventTest");
        let push = parse_value(&json!({"Records": [event]})).expect("valid");
        assert_eq!(push.records[0].kind, EventKind::TriggerEventTest);
    }

    #[test]
    fn missing_optional_fields_are_fine() {
        let mut event = record(json!([{"ref": "refs/heads/master", "commit": COMMIT}]));
        let object = event.as_object_mut().expect("object");
        object.remove("userIdentityARN");
        object.remove("customData");
        let push = parse_value(&json!({"Records": [event]})).expect("valid");
        assert_eq!(push.records[0].pusher, None);
        assert_eq!(push.records[0].custom_data, None);
    }

    #[test]
    fn errors_name_the_record_the_reference_and_the_field() {
        let good = json!({"ref": "refs/heads/master", "commit": COMMIT});
        let cases = [
            (json!([good, {"ref": "refs/heads/x", "commit": "abc"}]),
             "Records[1].codecommit.references[1].commit: \"abc\" is not a 40-digit lowercase hexadecimal commit id"),
            (json!([good, {"ref": "refs/heads/x"}]),
             "Records[1].codecommit.references[1].commit: is missing (only a deleted reference may omit it)"),
            (json!([{"ref": "heads/x", "commit": COMMIT}]),
             "Records[1].codecommit.references[0].ref: \"heads/x\" is not a full reference name (refs/heads/..., refs/tags/...)"),
            (json!([{"ref": "refs/heads/a b", "commit": COMMIT}]),
             "Records[1].codecommit.references[0].ref: \"refs/heads/a b\" contains a character Git does not allow in reference names"),
            (json!([{"ref": "refs/heads/x\n", "commit": COMMIT}]),
             "Records[1].codecommit.references[0].ref: \"refs/heads/x\\n\" contains a character Git does not allow in reference names"),
            (json!([{"ref": "refs/heads/a..b", "commit": COMMIT}]),
             "Records[1].codecommit.references[0].ref: \"refs/heads/a..b\" is not a valid Git reference name"),
            (json!([{"ref": "refs/heads/", "commit": COMMIT}]),
             "Records[1].codecommit.references[0].ref: \"refs/heads/\" names no branch or tag"),
            (json!([]), "Records[1].codecommit.references: is empty: a record updates at least one reference"),
        ];
        for (references, expected) in cases {
            let event = json!({"Records": [record(json!([good])), record(references)]});
            assert_eq!(error_of(&event), expected);
        }
    }

    #[test]
    fn wrong_types_are_reported_with_their_path() {
        let event = json!({"Records": [record(json!([{"ref": "refs/heads/x", "commit": 5}]))]});
        let error = error_of(&event);
        assert!(
            error.starts_with(
                "Records[0].codecommit.references[0].commit: invalid type: integer `5`"
            ),
            "{error}"
        );
        let event = json!({"Records": [record(json!([{"commit": COMMIT}]))]});
        let error = error_of(&event);
        assert!(
            error.starts_with("Records[0].codecommit.references[0]: missing field `ref`"),
            "{error}"
        );
        let event = json!({"Records": [record(json!([{"ref": "refs/heads/x", "commit": COMMIT, "deleted": "yes"}]))]});
        assert!(error_of(&event)
            .starts_with("Records[0].codecommit.references[0].deleted: invalid type"));
    }

    #[test]
    fn events_of_other_shapes_are_rejected() {
        assert_eq!(
            error_of(&json!({"hello": "world"})),
            "event: not a CodeCommit trigger or EventBridge event: has neither Records \
             (a repository trigger event) nor detail-type (an EventBridge event)"
        );
        assert_eq!(
            error_of(&json!([1, 2])),
            "event: not a CodeCommit trigger or EventBridge event: expected a JSON object"
        );
        assert!(error_of(&json!({"Records": {}})).starts_with("Records: invalid type: map"));
        assert_eq!(
            error_of(&json!({"Records": []})),
            "Records: is empty: a trigger event has at least one record"
        );
        let mut s3 = record(json!([{"ref": "refs/heads/x", "commit": COMMIT}]));
        s3["eventSource"] = json!("aws:s3");
        assert_eq!(
            error_of(&json!({"Records": [s3]})),
            "Records[0].eventSource: is \"aws:s3\", expected \"aws:codecommit\""
        );
        let mut other = record(json!([{"ref": "refs/heads/x", "commit": COMMIT}]));
        other["eventName"] = json!("Something");
        assert!(error_of(&json!({"Records": [other]}))
            .starts_with("Records[0].eventName: is \"Something\""));
    }

    #[test]
    fn repository_and_pusher_arns_are_validated() {
        for bad in [
            "arn:aws:codecommit:us-east-1:123456789012:",
            "arn:aws:codecommit:us-east-1:1234:repo",
            "arn:aws:s3:::bucket",
            "arn:aws:codecommit:us-east-1:123456789012:a/b",
        ] {
            let mut event = record(json!([{"ref": "refs/heads/x", "commit": COMMIT}]));
            event["eventSourceARN"] = json!(bad);
            let error = error_of(&json!({"Records": [event]}));
            assert!(
                error.starts_with("Records[0].eventSourceARN: "),
                "{bad}: {error}"
            );
        }
        let mut event = record(json!([{"ref": "refs/heads/x", "commit": COMMIT}]));
        event["userIdentityARN"] = json!("root\u{1b}[31m");
        let error = error_of(&json!({"Records": [event]}));
        assert!(
            error.starts_with("Records[0].userIdentityARN: \"root\\u{1b}[31m\" is not an IAM ARN"),
            "{error}"
        );
    }

    #[test]
    fn hostile_values_are_shortened_in_errors() {
        let long = format!("refs/heads/{}", "x".repeat(5000));
        let error =
            error_of(&json!({"Records": [record(json!([{"ref": long, "commit": COMMIT}]))]}));
        assert!(error.len() < 300, "{}", error.len());
        assert!(error.ends_with("is longer than 1024 bytes"), "{error}");
    }

    #[test]
    fn invalid_json_and_bad_escapes_are_errors_not_panics() {
        assert!(parse("{").is_err());
        assert!(parse(r#"{"Records": [{"eventSource": "\ud800"}]}"#).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&format!(r#"{{"Records": {deep}}}"#)).is_err());
    }
}
