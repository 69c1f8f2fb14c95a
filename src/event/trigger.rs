//! Repository-trigger events: `{"Records": [...]}`, every record and every
//! reference of each.

use super::validate::{
    parse_repository_arn, quoted, validate_commit, validate_pusher, validate_ref,
};
use super::{EventKind, InvalidEvent, Push, Record, RefChange, RefUpdate};
use aws_lambda_events::code_commit::{CodeCommitRecord, CodeCommitReference};
use serde_json::Value;

/// A trigger record as `aws_lambda_events` reads it: with `catch-all-fields`, a
/// reference's `deleted` flag (which it does not model) is kept in `other`.
pub(super) type RawRecord = CodeCommitRecord;

/// Validates every record of a trigger event.
pub(super) fn validate(records: Vec<RawRecord>) -> Result<Push, InvalidEvent> {
    if records.is_empty() {
        return Err(InvalidEvent {
            path: "Records".into(),
            problem: "is empty: a trigger event has at least one record".into(),
        });
    }
    let records = records
        .into_iter()
        .enumerate()
        .map(|(index, record)| validate_record(index, record))
        .collect::<Result<_, _>>()?;
    Ok(Push { records })
}

fn validate_record(index: usize, raw: RawRecord) -> Result<Record, InvalidEvent> {
    let invalid = |field: &str, problem: String| InvalidEvent {
        path: format!("Records[{index}].{field}"),
        problem,
    };
    let required = |field: &'static str, value: Option<String>| {
        value.ok_or_else(|| InvalidEvent {
            path: format!("Records[{index}]"),
            problem: format!("missing field `{field}`"),
        })
    };
    let event_source = required("eventSource", raw.event_source)?;
    if event_source != "aws:codecommit" {
        return Err(invalid(
            "eventSource",
            format!("is {}, expected \"aws:codecommit\"", quoted(&event_source)),
        ));
    }
    let kind = match required("eventName", raw.event_name)?.as_str() {
        "ReferenceChanges" => EventKind::ReferenceChanges,
        "TriggerEventTest" => EventKind::TriggerEventTest,
        other => {
            return Err(invalid(
                "eventName",
                format!(
                    "is {}, expected \"ReferenceChanges\" or \"TriggerEventTest\"",
                    quoted(other)
                ),
            ))
        }
    };
    let event_source_arn = required("eventSourceARN", raw.event_source_arn)?;
    let repository = parse_repository_arn(&event_source_arn).map_err(|problem| {
        invalid(
            "eventSourceARN",
            format!("{} {problem}", quoted(&event_source_arn)),
        )
    })?;
    let pusher = validate_pusher(raw.user_identity_arn)
        .map_err(|problem| invalid("userIdentityARN", problem))?;
    if raw.code_commit.references.is_empty() {
        return Err(invalid(
            "codecommit.references",
            "is empty: a record updates at least one reference".into(),
        ));
    }
    let references = raw
        .code_commit
        .references
        .into_iter()
        .enumerate()
        .map(|(position, reference)| {
            validate_reference(reference).map_err(|(field, problem)| {
                let at = format!("codecommit.references[{position}]");
                match field {
                    "" => invalid(&at, problem),
                    field => invalid(&format!("{at}.{field}"), problem),
                }
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Record {
        repository,
        pusher,
        kind,
        pushed_at: Some(raw.event_time.timestamp_millis()),
        references,
        pull_request: None,
        event_id: raw.event_id,
    })
}

fn validate_reference(raw: CodeCommitReference) -> Result<RefUpdate, (&'static str, String)> {
    let name = raw.ref_.ok_or(("", "missing field `ref`".to_owned()))?;
    let reference = validate_ref(name).map_err(|problem| ("ref", problem))?;
    let commit = raw
        .commit
        .map(validate_commit)
        .transpose()
        .map_err(|problem| ("commit", problem))?;
    let deleted = match raw.other.get("deleted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(deleted)) => *deleted,
        Some(other) => {
            return Err((
                "deleted",
                format!(
                    "invalid type: {}, expected a boolean",
                    quoted(&other.to_string())
                ),
            ))
        }
    };
    let change = match (deleted, commit) {
        (true, commit) => RefChange::Deleted { commit },
        (false, Some(commit)) => RefChange::Pushed {
            commit,
            created: raw.created,
            previous: None,
        },
        (false, None) => {
            return Err((
                "commit",
                "is missing (only a deleted reference may omit it)".into(),
            ))
        }
    };
    Ok(RefUpdate { reference, change })
}
