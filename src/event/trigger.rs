//! Repository-trigger events: `{"Records": [...]}`, every record and every
//! reference of each.

use super::validate::{
    parse_repository_arn, parse_time, quoted, validate_commit, validate_pusher, validate_ref,
};
use super::{EventKind, InvalidEvent, Push, Record, RefChange, RefUpdate};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawRecord {
    event_source: String,
    event_name: String,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: String,
    #[serde(rename = "userIdentityARN", default)]
    user_identity_arn: Option<String>,
    #[serde(default)]
    custom_data: Option<String>,
    #[serde(default)]
    event_time: Option<String>,
    codecommit: RawCodeCommit,
}

#[derive(Deserialize)]
struct RawCodeCommit {
    references: Vec<RawReference>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    deleted: bool,
}

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
    if raw.event_source != "aws:codecommit" {
        return Err(invalid(
            "eventSource",
            format!(
                "is {}, expected \"aws:codecommit\"",
                quoted(&raw.event_source)
            ),
        ));
    }
    let kind = match raw.event_name.as_str() {
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
    let repository = parse_repository_arn(&raw.event_source_arn).map_err(|problem| {
        invalid(
            "eventSourceARN",
            format!("{} {problem}", quoted(&raw.event_source_arn)),
        )
    })?;
    let pusher = validate_pusher(raw.user_identity_arn)
        .map_err(|problem| invalid("userIdentityARN", problem))?;
    if raw.codecommit.references.is_empty() {
        return Err(invalid(
            "codecommit.references",
            "is empty: a record updates at least one reference".into(),
        ));
    }
    let references = raw
        .codecommit
        .references
        .into_iter()
        .enumerate()
        .map(|(position, reference)| {
            validate_reference(reference).map_err(|(field, problem)| {
                invalid(
                    &format!("codecommit.references[{position}].{field}"),
                    problem,
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Record {
        repository,
        pusher,
        kind,
        custom_data: raw.custom_data,
        pushed_at: raw.event_time.as_deref().and_then(parse_time),
        references,
        pull_request: None,
    })
}

fn validate_reference(raw: RawReference) -> Result<RefUpdate, (&'static str, String)> {
    let reference = validate_ref(raw.name).map_err(|problem| ("ref", problem))?;
    let commit = raw
        .commit
        .map(validate_commit)
        .transpose()
        .map_err(|problem| ("commit", problem))?;
    let change = match (raw.deleted, commit) {
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
