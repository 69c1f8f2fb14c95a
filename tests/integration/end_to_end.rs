//! End-to-end: the release binary under a local Lambda Runtime API, calling
//! moto's CodeBuild through the real AWS SDK (via a recording proxy).
//! Run with `make test`, which builds the binary and installs moto.

#![cfg(feature = "end-to-end")]

use serde_json::json;
use testkit::proxy::Fault;
use testkit::{overrides, pairs, sample_event, Harness};

const MASTER_COMMIT: &str = "5e493c6f3067653f3d04eca608b4901eb2270780";
const PUSHER: &str = "arn:aws:iam::123456789012:user/alice";

#[tokio::test]
async fn a_push_to_master_builds_the_pushed_commit() {
    let harness = Harness::builder().start().await;
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the push succeeds");

    let builds = harness.builds().await;
    assert_eq!(builds.len(), 1, "one build in CodeBuild");
    let build = &builds[0];
    assert_eq!(
        build.source_version(),
        Some(MASTER_COMMIT),
        "the pushed commit, not the branch head"
    );
    assert_eq!(
        response,
        json!({
            "started": [{"project": "demo-project", "buildId": build.id().expect("an id"),
                         "repository": "my-app", "ref": "refs/heads/master", "commit": MASTER_COMMIT}],
            "skipped": []
        })
    );

    let requests = harness.start_build_requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["projectName"], "demo-project");
    assert_eq!(request["sourceVersion"], MASTER_COMMIT);
    assert_eq!(request["sourceTypeOverride"], "CODECOMMIT");
    assert_eq!(
        request["sourceLocationOverride"],
        "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-app"
    );
    let token = request["idempotencyToken"]
        .as_str()
        .expect("an idempotency token");
    assert_eq!(token.len(), 64, "{token}");
    assert_eq!(
        overrides(request),
        pairs(&[
            ("CODECOMMIT_REPOSITORY", "my-app"),
            ("CODECOMMIT_REF", "refs/heads/master"),
            ("CODECOMMIT_BRANCH", "master"),
            ("CODECOMMIT_COMMIT", MASTER_COMMIT),
            ("CODECOMMIT_PUSHER_ARN", PUSHER),
        ])
    );
}

#[tokio::test]
async fn a_feature_branch_is_skipped_with_the_reason_and_starts_nothing() {
    let harness = Harness::builder().start().await;
    let response = harness
        .invoke(&sample_event("push-feature-branch.json"))
        .await
        .expect("success");
    assert_eq!(
        response,
        json!({
            "started": [],
            "skipped": [{"repository": "my-app", "ref": "refs/heads/feature/login-form",
                         "commit": "9a1b7c3d5e2f4a6b8c0d1e3f5a7b9c1d3e5f7a9b",
                         "reason": "branch feature/login-form does not match BRANCHES"}]
        })
    );
    assert!(harness.start_build_requests().is_empty());
    assert!(harness.builds().await.is_empty());
}

#[tokio::test]
async fn branch_patterns_with_globs_and_exclusions_decide() {
    let harness = Harness::builder()
        .env("BRANCHES", "feature/**, !feature/old-*")
        .start()
        .await;
    let response = harness
        .invoke(&sample_event("push-feature-branch.json"))
        .await
        .expect("success");
    assert_eq!(
        response["started"][0]["ref"],
        "refs/heads/feature/login-form"
    );
    assert_eq!(
        overrides(&harness.start_build_requests()[0])[2],
        (
            "CODECOMMIT_BRANCH".to_owned(),
            "feature/login-form".to_owned()
        )
    );
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("success");
    assert_eq!(
        response["skipped"][0]["reason"],
        "branch master does not match BRANCHES"
    );
    assert_eq!(harness.builds().await.len(), 1);
}

#[tokio::test]
async fn a_deleted_branch_never_builds_whichever_way_it_arrives() {
    let harness = Harness::builder().env("BRANCHES", "**").start().await;
    for event in ["delete-branch.json", "eventbridge-delete-branch.json"] {
        let response = harness.invoke(&sample_event(event)).await.expect("success");
        assert_eq!(response["started"], json!([]), "{event}");
        assert_eq!(
            response["skipped"][0]["reason"], "branch feature/old-spike was deleted",
            "{event}"
        );
    }
    assert!(harness.start_build_requests().is_empty());
    assert!(harness.builds().await.is_empty());
}

#[tokio::test]
async fn tags_do_not_build_by_default() {
    let harness = Harness::builder().start().await;
    let response = harness
        .invoke(&sample_event("push-tag.json"))
        .await
        .expect("success");
    assert_eq!(
        response["skipped"][0]["reason"],
        "tag v1.4.0 is not built: TAGS is empty"
    );
    assert!(harness.builds().await.is_empty());
}

#[tokio::test]
async fn a_tag_matching_tags_builds_with_the_tag_in_its_environment() {
    let harness = Harness::builder().env("TAGS", "v[0-9]*").start().await;
    let response = harness
        .invoke(&sample_event("push-tag.json"))
        .await
        .expect("success");
    assert_eq!(response["started"][0]["ref"], "refs/tags/v1.4.0");
    assert_eq!(
        harness.builds().await[0].source_version(),
        Some(MASTER_COMMIT)
    );
    assert_eq!(
        overrides(&harness.start_build_requests()[0]),
        pairs(&[
            ("CODECOMMIT_REPOSITORY", "my-app"),
            ("CODECOMMIT_REF", "refs/tags/v1.4.0"),
            ("CODECOMMIT_TAG", "v1.4.0"),
            ("CODECOMMIT_COMMIT", MASTER_COMMIT),
            (
                "CODECOMMIT_PUSHER_ARN",
                "arn:aws:sts::123456789012:assumed-role/release-bot/session"
            ),
        ])
    );
}

#[tokio::test]
async fn every_reference_of_every_record_is_decided() {
    let harness = Harness::builder()
        .env("BRANCHES", "master,develop")
        .env("TAGS", "v*")
        .start()
        .await;
    let response = harness
        .invoke(&sample_event("multi-reference.json"))
        .await
        .expect("success");
    let started: Vec<_> = response["started"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["ref"].as_str().expect("ref"),
                s["commit"].as_str().expect("commit"),
            )
        })
        .collect();
    assert_eq!(
        started,
        [
            ("refs/heads/master", MASTER_COMMIT),
            (
                "refs/heads/develop",
                "3b8d1f6a9c2e5b7d0f3a6c9e2b5d8f1a4c7e0b3d"
            ),
            ("refs/tags/v1.4.0", MASTER_COMMIT),
        ]
    );
    assert_eq!(
        response["skipped"][0]["ref"],
        "refs/heads/feature/login-form"
    );
    assert_eq!(
        harness.built_commits().await,
        [
            "3b8d1f6a9c2e5b7d0f3a6c9e2b5d8f1a4c7e0b3d",
            MASTER_COMMIT,
            MASTER_COMMIT
        ]
    );
}

#[tokio::test]
async fn the_console_test_event_starts_a_build() {
    let harness = Harness::builder().start().await;
    let response = harness
        .invoke(&sample_event("test-trigger.json"))
        .await
        .expect("success");
    assert_eq!(response["started"][0]["commit"], MASTER_COMMIT);
    assert_eq!(harness.builds().await.len(), 1);
}

#[tokio::test]
async fn a_malformed_event_fails_naming_the_field_and_starts_nothing() {
    let harness = Harness::builder().start().await;
    let error = harness
        .invoke(&sample_event("malformed.json"))
        .await
        .expect_err("a malformed event fails");
    assert_eq!(error.error_type, "InvalidEvent");
    assert!(
        error.error_message.contains(
            "Records[0].codecommit.references[1].commit: \"5e493c6f3067653f3d04eca608b4901eb227078\" \
             is not a 40-digit lowercase hexadecimal commit id"
        ),
        "{}",
        error.error_message
    );
    assert!(
        harness.start_build_requests().is_empty(),
        "the valid first reference did not build either"
    );
    assert!(harness.builds().await.is_empty());

    for (event, field) in [
        (json!({"hello": "world"}), "has neither Records"),
        (
            json!({"Records": [{"eventSource": "aws:s3"}]}),
            "Records[0]",
        ),
        (json!([1, 2, 3]), "expected a JSON object"),
    ] {
        let error = harness
            .invoke(&event)
            .await
            .expect_err("not a trigger event");
        assert_eq!(error.error_type, "InvalidEvent");
        assert!(
            error.error_message.contains(field),
            "{}",
            error.error_message
        );
    }
    assert!(
        harness.function.exit_status().is_none(),
        "bad input never crashes the function"
    );
}

#[tokio::test]
async fn duplicate_delivery_sends_identical_start_build_parameters() {
    let harness = Harness::builder().env("TAGS", "v*").start().await;
    let event = sample_event("multi-reference.json");
    harness.invoke(&event).await.expect("first delivery");
    harness.invoke(&event).await.expect("second delivery");
    let requests = harness.start_build_requests();
    assert_eq!(requests.len(), 4, "master and the tag, twice");
    assert_eq!(
        requests[..2],
        requests[2..],
        "the same parameters, token included"
    );
    assert_ne!(
        requests[0]["idempotencyToken"], requests[1]["idempotencyToken"],
        "each reference has its own token"
    );
}

#[tokio::test]
async fn a_parameter_mismatch_for_the_token_counts_as_already_started() {
    let harness = Harness::builder().start().await;
    harness.proxy.inject(Fault {
        target: "StartBuild".into(),
        when_body_contains: None,
        times: 1,
        status: 400,
        error_code: "InvalidInputException".into(),
        message: "Idempotency token was used with different parameters".into(),
    });
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("not a failure");
    assert_eq!(
        response["started"],
        json!([{"project": "demo-project", "repository": "my-app", "ref": "refs/heads/master",
                "commit": MASTER_COMMIT, "alreadyStarted": true}])
    );
    assert_eq!(
        harness.start_build_requests().len(),
        1,
        "a mismatch is final, not retried"
    );
}

#[tokio::test]
async fn a_failed_start_fails_the_invocation_and_the_other_references_still_start() {
    let harness = Harness::builder()
        .env("BRANCHES", "master,develop")
        .env("TAGS", "v*")
        .start()
        .await;
    harness.proxy.inject(Fault {
        target: "StartBuild".into(),
        when_body_contains: Some("refs/heads/develop".into()),
        times: 100,
        status: 400,
        error_code: "AccessDeniedException".into(),
        message: "User is not authorized to perform codebuild:StartBuild".into(),
    });
    let error = harness
        .invoke(&sample_event("multi-reference.json"))
        .await
        .expect_err("one reference could not be started");
    assert_eq!(error.error_type, "StartBuildFailed");
    assert!(
        error.error_message.starts_with(
            "StartBuild failed for 1 reference(s): my-app refs/heads/develop at \
             3b8d1f6a9c2e5b7d0f3a6c9e2b5d8f1a4c7e0b3d (AccessDeniedException)"
        ),
        "{}",
        error.error_message
    );
    assert_eq!(
        harness.builds().await.len(),
        2,
        "master and the tag were started"
    );
    let logged = harness.function.log_records();
    let failure = logged
        .iter()
        .find(|line| line["fields"]["message"] == "StartBuild failed")
        .expect("an error line for the failed start");
    assert_eq!(failure["level"], "ERROR");
    assert_eq!(failure["fields"]["code"], "AccessDeniedException");
    assert!(
        failure["fields"]["action"]
            .as_str()
            .is_some_and(|a| a.contains("codebuild:StartBuild")),
        "{failure}"
    );
}

#[tokio::test]
async fn a_project_missing_in_codebuild_is_reported_with_its_aws_error_code() {
    let harness = Harness::builder().without_project().start().await;
    let error = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect_err("the project does not exist");
    assert_eq!(error.error_type, "StartBuildFailed");
    assert!(
        error.error_message.contains("(ResourceNotFoundException)"),
        "{}",
        error.error_message
    );
}

/// The starter's own binary, as the template deploys it for the function that takes pushes: a push
/// builds the pushed commit, and a build-state event, the reporter's, is refused with nothing done.
#[tokio::test]
async fn the_starters_own_binary_builds_a_push_and_refuses_the_reporters_events() {
    let harness = Harness::builder().env("_HANDLER", "starter").start().await;
    let pid = harness.function.pid().expect("the function runs");
    let running = std::fs::read_link(format!("/proc/{pid}/exe")).expect("its executable");
    assert_eq!(
        running,
        testkit::starter_bin()
            .canonicalize()
            .expect("the starter's binary")
    );

    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the push succeeds");
    let builds = harness.builds().await;
    assert_eq!(builds.len(), 1, "one build in CodeBuild");
    assert_eq!(builds[0].source_version(), Some(MASTER_COMMIT));
    assert_eq!(
        response["started"][0]["commit"], MASTER_COMMIT,
        "{response}"
    );

    let build_state = testkit::events::build_state_event(
        &testkit::events::build_id(testkit::PROJECT),
        1,
        "SUCCEEDED",
        json!([]),
    );
    let error = harness
        .invoke(&build_state)
        .await
        .expect_err("a build-state event is the reporter's");
    assert_eq!(error.error_type, "EventNotTaken", "{error:?}");
    assert!(
        error
            .error_message
            .starts_with("this function is the starter"),
        "{}",
        error.error_message
    );
    assert_eq!(
        harness.start_build_requests().len(),
        1,
        "nothing more started"
    );
}

#[tokio::test]
async fn a_bad_configuration_fails_init_naming_the_variable() {
    for (harness, expected) in [
        (
            Harness::builder().without("CODEBUILD_PROJECT"),
            "invalid configuration: CODEBUILD_PROJECT is not set",
        ),
        (Harness::builder().env("BRANCHES", " "), "invalid configuration: BRANCHES holds no pattern"),
        (
            Harness::builder().env("TAGS", "v*,[0-9"),
            "invalid configuration: TAGS pattern 2 `[0-9` has a `[` class that is never closed with `]`",
        ),
        (
            Harness::builder().env("CODEBUILD_PROJECT", "not a project"),
            "invalid configuration: CODEBUILD_PROJECT `not a project` is not a CodeBuild project name",
        ),
        (
            Harness::builder()
                .env("_HANDLER", "starter")
                .without("CODEBUILD_PROJECT"),
            "invalid configuration: CODEBUILD_PROJECT is not set",
        ),
        (
            Harness::builder().env("_HANDLER", "trigger_installer"),
            "invalid configuration: _HANDLER `trigger_installer` is none of this binary's functions",
        ),
    ] {
        let mut harness = harness.start().await;
        let error = harness.runtime.init_error().expect("init reports an error");
        assert_eq!(error.error_type, "InvalidConfiguration");
        assert!(error.error_message.starts_with(expected), "{}", error.error_message);
        let status = harness
            .function
            .wait_exit(std::time::Duration::from_secs(10))
            .await
            .expect("the function exits");
        assert!(!status.success());
        assert_eq!(harness.runtime.poll_count(), 0, "no invocation is taken");
    }
}

#[tokio::test]
async fn each_decision_is_one_structured_log_line() {
    let harness = Harness::builder().env("TAGS", "v*").start().await;
    harness
        .invoke(&sample_event("multi-reference.json"))
        .await
        .expect("success");
    let decisions: Vec<_> = harness
        .function
        .log_records()
        .into_iter()
        .filter(|line| line["fields"]["message"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 4, "one line per reference");
    let feature = decisions
        .iter()
        .find(|line| line["fields"]["reference"] == "refs/heads/feature/login-form")
        .expect("the feature branch's decision");
    assert_eq!(feature["level"], "INFO");
    assert_eq!(feature["fields"]["decision"], "skip");
    assert_eq!(feature["fields"]["repository"], "my-app");
    assert_eq!(
        feature["fields"]["reason"],
        "branch feature/login-form does not match BRANCHES"
    );
    assert_eq!(feature["fields"]["pusher"], PUSHER);
}

#[tokio::test]
async fn every_sample_event_gets_a_decision_for_each_reference() {
    let harness = Harness::builder()
        .env("BRANCHES", "**")
        .env("TAGS", "**")
        .start()
        .await;
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut names: Vec<_> = std::fs::read_dir(&directory)
        .expect("events/ exists")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        // Build-state and comment samples are answered by reporting (tests/integration/reporting.rs).
        .filter(|name| {
            name.ends_with(".json")
                && name != "malformed.json"
                && !name.starts_with("build-")
                && name != "pull-request-comment.json"
        })
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in names {
        let event = sample_event(&name);
        // A trigger event lists references per record; an EventBridge event is one reference.
        let references: usize = match event["Records"].as_array() {
            Some(records) => records
                .iter()
                .map(|r| {
                    r["codecommit"]["references"]
                        .as_array()
                        .expect("references")
                        .len()
                })
                .sum(),
            None => 1,
        };
        let response = harness
            .invoke(&event)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let answered = response["started"].as_array().expect("started").len()
            + response["skipped"].as_array().expect("skipped").len();
        assert_eq!(answered, references, "{name}: {response}");
    }
}

#[tokio::test]
async fn an_eventbridge_event_starts_the_same_build_as_the_trigger_event() {
    let harness = Harness::builder().env("BRANCHES", "**").start().await;
    let from_rule = harness
        .invoke(&sample_event("eventbridge-push-master.json"))
        .await
        .expect("an EventBridge push succeeds");
    let from_trigger = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("success");
    assert_eq!(from_rule["started"][0]["commit"], MASTER_COMMIT);
    assert_eq!(from_rule["started"][0]["ref"], "refs/heads/master");
    let requests = harness.start_build_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0], requests[1],
        "a trigger and a rule on one push send identical parameters"
    );
    assert_eq!(from_trigger["started"][0]["ref"], "refs/heads/master");
}

#[tokio::test]
async fn an_event_from_a_repository_not_allowed_is_refused() {
    let harness = Harness::builder()
        .env(
            "ALLOWED_REPOSITORIES",
            "arn:aws:codecommit:us-east-1:123456789012:other-app",
        )
        .start()
        .await;
    for event in ["push-master.json", "eventbridge-push-master.json"] {
        let error = harness
            .invoke(&sample_event(event))
            .await
            .expect_err("another repository's event is refused");
        assert_eq!(error.error_type, "RepositoryNotAllowed", "{event}");
        assert!(
            error
                .error_message
                .contains("arn:aws:codecommit:us-east-1:123456789012:my-app"),
            "{}",
            error.error_message
        );
    }
    assert!(harness.start_build_requests().is_empty());
    let allowed = Harness::builder()
        .env(
            "ALLOWED_REPOSITORIES",
            "arn:aws:codecommit:us-east-1:123456789012:my-app",
        )
        .start()
        .await;
    allowed
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the allowed repository builds");
    assert_eq!(allowed.start_build_requests().len(), 1);
}

#[tokio::test]
async fn info_logs_hold_neither_credentials_nor_whole_events() {
    const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzEXAMPLEKEY";
    let harness = Harness::builder()
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", "session-token-that-must-not-leak")
        .start()
        .await;
    harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("success");
    harness
        .invoke(&sample_event("malformed.json"))
        .await
        .expect_err("invalid");
    let output = format!(
        "{}\n{}",
        harness.function.stdout_lines().join("\n"),
        harness.function.stderr()
    );
    assert!(output.contains("decision"), "the decisions are logged");
    for secret in [SECRET, "session-token-that-must-not-leak"] {
        assert!(
            !output.contains(secret),
            "a credential leaked into the logs"
        );
    }
    // Fields only a whole event carries.
    for field in [
        "eventTriggerConfigId",
        "0d17d6a4-efeb-46f3-b3ab-a63741badeb8",
        "customData",
    ] {
        assert!(
            !output.contains(field),
            "{field} leaked: whole events are not logged at INFO"
        );
    }
}

#[tokio::test]
async fn the_binary_says_its_version() {
    let harness = Harness::builder().start().await;
    let output = harness.run_cli(&["--version"]).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("codecommit-build-trigger {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The function's Embedded Metric Format lines (CloudWatch's metrics from the log), in order.
async fn metric_lines(harness: &Harness, at_least: usize) -> Vec<serde_json::Value> {
    let is_metrics = |record: &serde_json::Value| record.get("_aws").is_some();
    for _ in 0..50 {
        let lines: Vec<_> = harness
            .function
            .log_records()
            .into_iter()
            .filter(is_metrics)
            .collect();
        if lines.len() >= at_least {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "fewer than {at_least} metric lines\n{}",
        harness.diagnostics()
    );
}

#[tokio::test]
async fn each_invocation_writes_its_metrics_as_cloudwatch_reads_them_from_the_log() {
    let harness = Harness::builder()
        .env("SKIP_MARKERS", "false")
        .start()
        .await;
    let mut push = sample_event("push-master.json");
    push["Records"][0]["eventTime"] = json!(testkit::now());
    harness.invoke(&push).await.expect("a build");
    harness
        .invoke(&sample_event("malformed.json"))
        .await
        .expect_err("invalid");
    let lines = metric_lines(&harness, 2).await;
    let built = &lines[0];
    let declared = &built["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "CodeCommitBuildTrigger");
    assert_eq!(declared["Dimensions"], json!([["FunctionName"]]));
    assert_eq!(built["FunctionName"], "codecommit-build-trigger");
    // Every metric declared has its value on the line, as EMF requires.
    for metric in declared["Metrics"].as_array().expect("metrics") {
        let name = metric["Name"].as_str().expect("a name");
        assert!(
            built.get(name).is_some(),
            "{name} declared without a value: {built}"
        );
    }
    assert_eq!(built["Events"], 1);
    assert_eq!(built["BuildsStarted"], 1);
    assert_eq!(built["Skipped"], 0);
    let latency = built["EventToStartBuild"][0].as_i64().expect("a latency");
    assert!((0..60_000).contains(&latency), "{built}");
    assert!(built["_aws"]["Timestamp"]
        .as_i64()
        .is_some_and(|at| at > 1_700_000_000_000));
    assert_eq!(lines[1]["InvocationErrors"], 1, "{}", lines[1]);
}
