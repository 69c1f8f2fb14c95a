use crate::event::{parse, BuildChange, BuildOrigin, BuildStatus, Event, LogStream};
use crate::test_support::{
    build_id, build_state_event, pull_request_build_variables, PR_DESTINATION, PR_REVISION,
    PR_SOURCE,
};
use serde_json::{json, Value};

fn change(event: &Value) -> BuildChange {
    match parse(&event.to_string()).expect("a valid event") {
        Event::Build(change) => *change,
        other => panic!("not a build change: {other:?}"),
    }
}

fn error_of(event: &Value) -> String {
    parse(&event.to_string())
        .expect_err("an invalid event")
        .to_string()
}

fn failed() -> Value {
    build_state_event(
        &build_id("app-ci"),
        42,
        "FAILED",
        pull_request_build_variables(),
    )
}

#[test]
fn a_failed_pull_request_build_is_traced_back_to_its_revision() {
    let change = change(&failed());
    assert_eq!(change.build.id, build_id("app-ci"));
    assert_eq!(change.build.project, "app-ci");
    assert_eq!(change.build.number, Some(42));
    assert_eq!(
        (
            change.build.partition.as_str(),
            change.build.region.as_str()
        ),
        ("aws", "us-east-1")
    );
    assert_eq!(change.status, BuildStatus::Failed);
    assert!(change.complete);
    assert_eq!(change.duration_seconds, 261);
    let phase = change.failed_phase.expect("a failed phase");
    assert_eq!(
        (phase.phase.as_str(), phase.status.as_str()),
        ("BUILD", "FAILED")
    );
    assert_eq!(
        phase.context,
        ["COMMAND_EXECUTION_ERROR: Error while executing command: cargo test. Reason: exit status 101"]
    );
    assert_eq!(
        change.log,
        Some(LogStream {
            group: "/aws/codebuild/app-ci".into(),
            stream: "8745a7a9-c340-456a-9166-edf953571b01".into()
        })
    );
    let Ok(BuildOrigin::PullRequest {
        repository,
        id,
        revision,
        source_commit,
        destination_commit,
        rule: None,
    }) = change.origin
    else {
        panic!("not a pull request build");
    };
    assert_eq!(repository.name, "my-app");
    assert_eq!(
        repository.arn,
        "arn:aws:codecommit:us-east-1:123456789012:my-app"
    );
    assert_eq!(
        (
            id.as_str(),
            revision.as_str(),
            source_commit.as_str(),
            destination_commit.as_str()
        ),
        ("17", PR_REVISION, PR_SOURCE, PR_DESTINATION)
    );
}

#[test]
fn a_running_build_has_no_failed_phase_and_is_not_complete() {
    let change = change(&build_state_event(
        &build_id("app-ci"),
        42,
        "IN_PROGRESS",
        pull_request_build_variables(),
    ));
    assert_eq!(change.status, BuildStatus::InProgress);
    assert!(!change.complete);
    assert_eq!(change.failed_phase, None);
}

fn reason(change: &BuildChange) -> &str {
    change
        .origin
        .as_ref()
        .expect_err("not the function's build")
}

#[test]
fn a_build_without_the_functions_variables_is_not_its_own() {
    let mut event = build_state_event(&build_id("other"), 7, "SUCCEEDED", json!([]));
    let no_variables = format!(
        "build {} has no CODECOMMIT_* variables: this function did not start it",
        build_id("other")
    );
    assert_eq!(reason(&change(&event)), no_variables);
    // A variable of another type is a parameter's name, not the value the function set.
    event["detail"]["additional-information"]["environment"]["environment-variables"] = json!([
        {"name": "CODECOMMIT_REPOSITORY", "type": "PARAMETER_STORE", "value": "/ci/repository"},
        {"name": "CODECOMMIT_COMMIT", "type": "PLAINTEXT", "value": PR_SOURCE}
    ]);
    assert_eq!(reason(&change(&event)), no_variables);
    event["detail"]
        .as_object_mut()
        .expect("an object")
        .remove("additional-information");
    let bare = change(&event);
    assert_eq!(
        (reason(&bare), bare.build.number),
        (no_variables.as_str(), None)
    );
    assert!(bare.complete, "SUCCEEDED without build-complete has ended");
}

#[test]
fn variables_the_function_never_writes_or_another_commit_built_are_not_its_own() {
    let cases: [(&str, Value, &str); 4] = [
        (
            "CODECOMMIT_COMMIT",
            json!("HEAD"),
            "its CODECOMMIT_COMMIT \"HEAD\" is not a 40-digit",
        ),
        (
            "CODECOMMIT_PULL_REQUEST_ID",
            json!("17; x"),
            "its CODECOMMIT_PULL_REQUEST_ID \"17; x\" is not a pull request id",
        ),
        (
            "CODECOMMIT_RULE",
            json!("a rule"),
            "its CODECOMMIT_RULE \"a rule\" is not a rule name",
        ),
        (
            "CODECOMMIT_PULL_REQUEST_REVISION",
            Value::Null,
            "its CODECOMMIT_PULL_REQUEST_REVISION is missing",
        ),
    ];
    for (name, value, expected) in cases {
        let mut variables = pull_request_build_variables();
        let list = variables.as_array_mut().expect("an array");
        list.retain(|variable| variable["name"] != name);
        if !value.is_null() {
            list.push(json!({"name": name, "type": "PLAINTEXT", "value": value}));
        }
        let change = change(&build_state_event(
            &build_id("app-ci"),
            1,
            "FAILED",
            variables,
        ));
        assert!(
            reason(&change).contains(expected),
            "{name}: {}",
            reason(&change)
        );
    }
    let mut other_commit = failed();
    other_commit["detail"]["additional-information"]["source-version"] = json!("main");
    assert!(
        reason(&change(&other_commit)).ends_with(&format!(
            "its CODECOMMIT_COMMIT is {PR_SOURCE}, but the build built \"main\""
        )),
        "{}",
        reason(&change(&other_commit))
    );
}

#[test]
fn numbers_written_as_floats_are_read() {
    let mut event = failed();
    event["detail"]["additional-information"]["build-number"] = json!(55.0);
    for phase in event["detail"]["additional-information"]["phases"]
        .as_array_mut()
        .expect("phases")
    {
        if let Some(seconds) = phase["duration-in-seconds"].as_u64() {
            phase["duration-in-seconds"] = json!(seconds as f64);
        }
    }
    let change = change(&event);
    assert_eq!(
        (change.build.number, change.duration_seconds),
        (Some(55), 261)
    );
    event["detail"]["additional-information"]["build-number"] = json!(55.5);
    assert_eq!(
        self::change(&event).build.number,
        None,
        "not a build number"
    );
}

#[test]
fn a_push_build_names_its_commit_and_a_rules_build_its_rule() {
    let variables = json!([
        {"name": "CODECOMMIT_REPOSITORY", "type": "PLAINTEXT", "value": "my-app"},
        {"name": "CODECOMMIT_REF", "type": "PLAINTEXT", "value": "refs/heads/master"},
        {"name": "CODECOMMIT_COMMIT", "type": "PLAINTEXT", "value": PR_SOURCE},
        {"name": "CODECOMMIT_RULE", "type": "PLAINTEXT", "value": "lint"}
    ]);
    let change = change(&build_state_event(
        &build_id("app-ci"),
        3,
        "SUCCEEDED",
        variables,
    ));
    let Ok(BuildOrigin::Push { commit, rule, .. }) = change.origin else {
        panic!("not a push build");
    };
    assert_eq!(
        (commit.as_str(), rule.as_deref()),
        (PR_SOURCE, Some("lint"))
    );
    assert_eq!(change.failed_phase, None);
}

#[test]
fn an_unknown_status_is_kept_as_sent() {
    let mut event = failed();
    event["detail"]["build-status"] = json!("QUEUED_AGAIN");
    event["detail"]["additional-information"]["build-complete"] = json!(false);
    let change = change(&event);
    assert_eq!(change.status, BuildStatus::Other("QUEUED_AGAIN".into()));
    assert!(!change.complete);
}

#[test]
fn malformed_events_name_the_field() {
    type Breaker = fn(&mut Value);
    let cases: [(&str, Breaker); 4] = [
        ("detail.build-id", |event| {
            event["detail"]["build-id"] = json!("app-ci:8745a7a9");
        }),
        ("detail.project-name", |event| {
            event["detail"]["project-name"] = json!("other");
        }),
        ("detail.build-status", |event| {
            event["detail"]["build-status"] = json!("failed; rm -rf");
        }),
        ("resources", |event| {
            event["resources"] = json!(["arn:aws:codebuild:us-east-1:123456789012:build/x:1"]);
        }),
    ];
    for (path, break_it) in cases {
        let mut event = failed();
        break_it(&mut event);
        let error = error_of(&event);
        assert!(error.starts_with(&format!("{path}: ")), "{path}: {error}");
    }
    let mut wrong_source = failed();
    wrong_source["source"] = json!("aws.codecommit");
    assert_eq!(
        error_of(&wrong_source),
        "source: is \"aws.codecommit\", expected \"aws.codebuild\""
    );
}

#[test]
fn a_build_waiting_in_codebuilds_queue_is_queued_until_it_runs() {
    let mut event = build_state_event(
        &build_id("app-ci"),
        42,
        "IN_PROGRESS",
        pull_request_build_variables(),
    );
    let information = &mut event["detail"]["additional-information"];
    information["phases"] = json!([
        {"phase-type": "SUBMITTED", "phase-status": "SUCCEEDED", "duration-in-seconds": 0},
        {"phase-type": "QUEUED"}
    ]);
    assert!(change(&event).queued);
    event["detail"]["additional-information"]["phases"] = json!([
        {"phase-type": "SUBMITTED", "phase-status": "SUCCEEDED", "duration-in-seconds": 0},
        {"phase-type": "QUEUED", "phase-status": "SUCCEEDED", "duration-in-seconds": 40},
        {"phase-type": "PROVISIONING"}
    ]);
    assert!(!change(&event).queued, "running once it leaves the queue");
}
