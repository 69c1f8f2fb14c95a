//! EventBridge "CodeCommit Repository State Change" events: one reference
//! each, created, updated or deleted.

use super::validate::{
    parse_repository_arn, parse_time, quoted, validate_commit, validate_pusher, validate_ref,
};
use super::{
    deserialize, CommitId, EventKind, InvalidEvent, Push, Record, RefChange, RefKind, RefUpdate,
};
use serde::Deserialize;

/// The `detail-type` of these events.
pub(super) const DETAIL_TYPE: &str = "CodeCommit Repository State Change";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDetail {
    event: String,
    repository_name: String,
    reference_type: String,
    reference_full_name: String,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    old_commit_id: Option<String>,
    #[serde(default)]
    caller_user_arn: Option<String>,
}

/// Validates a push event given its envelope's `resources`, `time`, `id` and `detail`.
pub(super) fn validate(
    resources: &[String],
    time: Option<&str>,
    id: Option<&str>,
    detail: Option<&serde_json::value::RawValue>,
) -> Result<Push, InvalidEvent> {
    let invalid = |path: &str, problem: String| InvalidEvent {
        path: path.to_owned(),
        problem,
    };
    let [resource] = resources else {
        return Err(invalid(
            "resources",
            format!(
                "holds {} ARNs, expected the repository's ARN alone",
                resources.len()
            ),
        ));
    };
    let repository = parse_repository_arn(resource)
        .map_err(|problem| invalid("resources[0]", format!("{} {problem}", quoted(resource))))?;
    let detail = detail.ok_or_else(|| invalid("detail", "is missing".into()))?;
    let detail: RawDetail = deserialize(detail.get(), "detail")?;
    if detail.repository_name != repository.name {
        return Err(invalid(
            "detail.repositoryName",
            format!(
                "is {}, but resources[0] names repository {}",
                quoted(&detail.repository_name),
                quoted(&repository.name)
            ),
        ));
    }
    let reference = validate_ref(detail.reference_full_name)
        .map_err(|problem| invalid("detail.referenceFullName", problem))?;
    let expected_kind = match detail.reference_type.as_str() {
        "branch" => RefKind::Branch,
        "tag" => RefKind::Tag,
        other => {
            return Err(invalid(
                "detail.referenceType",
                format!("is {}, expected \"branch\" or \"tag\"", quoted(other)),
            ))
        }
    };
    if reference.kind() != expected_kind {
        return Err(invalid(
            "detail.referenceFullName",
            format!(
                "{} is not a {} reference",
                quoted(reference.as_str()),
                detail.reference_type
            ),
        ));
    }
    let commit = |field: &'static str, value: Option<String>| {
        value
            .map(validate_commit)
            .transpose()
            .map_err(|problem| invalid(&format!("detail.{field}"), problem))
    };
    let commit_id = commit("commitId", detail.commit_id)?;
    let old_commit_id = commit("oldCommitId", detail.old_commit_id)?;
    let (kind, change) = change(&detail.event, commit_id, old_commit_id)?;
    let pusher = validate_pusher(detail.caller_user_arn)
        .map_err(|problem| invalid("detail.callerUserArn", problem))?;
    Ok(Push {
        records: vec![Record {
            repository,
            pusher,
            kind,
            pushed_at: time.and_then(parse_time),
            references: vec![RefUpdate { reference, change }],
            pull_request: None,
            event_id: id.map(str::to_owned),
        }],
    })
}

/// What `event` did to the reference, from its commit ids.
fn change(
    event: &str,
    commit_id: Option<CommitId>,
    old_commit_id: Option<CommitId>,
) -> Result<(EventKind, RefChange), InvalidEvent> {
    let pushed = |created: bool| match commit_id {
        Some(commit) => Ok(RefChange::Pushed {
            commit,
            created,
            previous: if created { None } else { old_commit_id.clone() },
        }),
        None => Err(InvalidEvent {
            path: "detail.commitId".into(),
            problem: format!("is missing (a {event} event names the pushed commit)"),
        }),
    };
    match event {
        "referenceCreated" => Ok((EventKind::ReferenceCreated, pushed(true)?)),
        "referenceUpdated" => Ok((EventKind::ReferenceUpdated, pushed(false)?)),
        "referenceDeleted" => Ok((
            EventKind::ReferenceDeleted,
            RefChange::Deleted {
                commit: old_commit_id.clone(),
            },
        )),
        other => Err(InvalidEvent {
            path: "detail.event".into(),
            problem: format!(
                "is {}, expected \"referenceCreated\", \"referenceUpdated\" or \"referenceDeleted\"",
                quoted(other)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{parse, Event, EventKind, InvalidEvent, Push, RefChange};
    use serde_json::{json, Value};

    const NEW: &str = "7f0103fb8b2a6d1b7f7c4e3a0a9b2d5c8e1f4a6b";
    const OLD: &str = "3e5983a1c4b6d2e8f0a7b9c1d3e5f7a9b1c3d5e7";

    fn event(event: &str) -> Value {
        json!({
            "version": "0",
            "id": "01234567-0123-0123-0123-012345678901",
            "detail-type": "CodeCommit Repository State Change",
            "source": "aws.codecommit",
            "account": "123456789012",
            "time": "2026-11-28T10:23:43Z",
            "region": "us-east-1",
            "resources": ["arn:aws:codecommit:us-east-1:123456789012:my-app"],
            "detail": {
                "callerUserArn": "arn:aws:iam::123456789012:user/alice",
                "commitId": NEW,
                "event": event,
                "oldCommitId": OLD,
                "referenceFullName": "refs/heads/main",
                "referenceName": "main",
                "referenceType": "branch",
                "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
                "repositoryName": "my-app"
            }
        })
    }

    fn parse_push(event: &Value) -> Result<Push, InvalidEvent> {
        match parse(&event.to_string())? {
            Event::Push(push) => Ok(push),
            other => panic!("not a push: {other:?}"),
        }
    }

    fn error_of(event: &Value) -> String {
        parse_push(event).expect_err("invalid").to_string()
    }

    #[test]
    fn an_update_becomes_a_push_of_the_new_commit() {
        let push = parse_push(&event("referenceUpdated")).expect("valid");
        let record = &push.records[0];
        assert_eq!(record.repository.name, "my-app");
        assert_eq!(
            record.repository.arn,
            "arn:aws:codecommit:us-east-1:123456789012:my-app"
        );
        assert_eq!(
            record.pusher.as_deref(),
            Some("arn:aws:iam::123456789012:user/alice")
        );
        assert_eq!(record.kind, EventKind::ReferenceUpdated);
        let update = &record.references[0];
        assert_eq!(update.reference.as_str(), "refs/heads/main");
        assert!(
            matches!(&update.change, RefChange::Pushed { commit, created: false, previous: Some(old) }
                if commit.as_str() == NEW && old.as_str() == OLD)
        );
    }

    #[test]
    fn a_creation_is_a_created_push_and_a_deletion_a_deletion() {
        let mut created = event("referenceCreated");
        created["detail"]
            .as_object_mut()
            .expect("object")
            .remove("oldCommitId");
        let push = parse_push(&created).expect("valid");
        assert!(matches!(
            push.records[0].references[0].change,
            RefChange::Pushed { created: true, .. }
        ));

        let mut deleted = event("referenceDeleted");
        deleted["detail"]
            .as_object_mut()
            .expect("object")
            .remove("commitId");
        let push = parse_push(&deleted).expect("valid");
        let change = &push.records[0].references[0].change;
        assert!(matches!(change, RefChange::Deleted { commit: Some(c) } if c.as_str() == OLD));
    }

    #[test]
    fn errors_name_the_field() {
        let mut wrong = event("referenceUpdated");
        wrong["detail"]["commitId"] = json!("abc");
        assert_eq!(
            error_of(&wrong),
            "detail.commitId: \"abc\" is not a 40-digit lowercase hexadecimal commit id"
        );
        let mut missing = event("referenceUpdated");
        missing["detail"]
            .as_object_mut()
            .expect("object")
            .remove("commitId");
        assert!(error_of(&missing).starts_with("detail.commitId: is missing"));
        let mut typed = event("referenceUpdated");
        typed["detail"]["referenceFullName"] = json!(7);
        assert!(error_of(&typed).starts_with("detail.referenceFullName: invalid type: integer `7`"));
        let mut mismatch = event("referenceUpdated");
        mismatch["detail"]["referenceType"] = json!("tag");
        assert_eq!(
            error_of(&mismatch),
            "detail.referenceFullName: \"refs/heads/main\" is not a tag reference"
        );
        let mut other_repository = event("referenceUpdated");
        other_repository["detail"]["repositoryName"] = json!("other");
        assert!(error_of(&other_repository).starts_with("detail.repositoryName: is \"other\""));
        let mut unknown = event("referenceMoved");
        unknown["detail"]["event"] = json!("referenceMoved");
        assert!(error_of(&unknown).starts_with("detail.event: is \"referenceMoved\""));
    }

    #[test]
    fn other_eventbridge_events_are_rejected() {
        let mut s3 = event("referenceUpdated");
        s3["source"] = json!("aws.s3");
        assert_eq!(
            error_of(&s3),
            "source: is \"aws.s3\", expected \"aws.codecommit\""
        );
        let mut other = event("referenceUpdated");
        other["detail-type"] = json!("CodeCommit Comment on Commit");
        assert!(error_of(&other)
            .starts_with("detail-type: is \"CodeCommit Comment on Commit\", expected"));
        let mut two = event("referenceUpdated");
        two["resources"] = json!([
            "arn:aws:codecommit:us-east-1:123456789012:a",
            "arn:aws:codecommit:us-east-1:123456789012:b"
        ]);
        assert!(error_of(&two).starts_with("resources: holds 2 ARNs"));
        let mut both = event("referenceUpdated");
        both["Records"] = json!([]);
        assert!(error_of(&both).contains("both Records and detail-type"));
    }
}
