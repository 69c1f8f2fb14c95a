//! Parsing of trigger events, and of events of no kind the function takes.

use super::validate::parse_time;
use super::*;
use serde_json::{json, Value};

const COMMIT: &str = "5e493c6f3067653f3d04eca608b4901eb2270780";

fn record(references: Value) -> Value {
    crate::test_support::record(
        "my-app",
        Some("arn:aws:iam::123456789012:user/dev"),
        references,
    )
}

fn parse_value(event: &Value) -> Result<Push, InvalidEvent> {
    match parse(&event.to_string())? {
        Event::Push(push) => Ok(push),
        other => panic!("not a push: {other:?}"),
    }
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
        error.starts_with("Records[0].codecommit.references[0].commit: invalid type: integer `5`"),
        "{error}"
    );
    let event = json!({"Records": [record(json!([{"commit": COMMIT}]))]});
    let error = error_of(&event);
    assert!(
        error.starts_with("Records[0].codecommit.references[0]: missing field `ref`"),
        "{error}"
    );
    let event = json!({"Records": [record(json!([{"ref": "refs/heads/x", "commit": COMMIT, "deleted": "yes"}]))]});
    assert!(
        error_of(&event).starts_with("Records[0].codecommit.references[0].deleted: invalid type")
    );
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
    let error = error_of(&json!({"Records": [record(json!([{"ref": long, "commit": COMMIT}]))]}));
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
