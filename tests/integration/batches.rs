//! End-to-end tests of batch builds: a rule with `batch` starts a batch build
//! (`StartBuildBatch`) at the local CodeBuild, its builds' state events (in any order,
//! repeated) keep one status comment listing them, `/rebuild failed` retries only the build
//! that failed (`RetryBuildBatch`), and the batch as CodeBuild reports it decides the
//! approval.

#![cfg(feature = "end-to-end")]

use crate::pull_requests::{repository, REPOSITORY};
use crate::reporting::{
    open_pull_request, reviewer_comments, the_comment, write_build_log, REVISION,
};

use serde_json::{json, Value};
use testkit::codecommit::{StoredComment, FUNCTION_ROLE, FUNCTION_SESSION};
use testkit::events::build_state_event;
use testkit::Harness;

const PROJECT: &str = "matrix-project";

/// A pull request 17 whose matrix batch (linux, windows, mac) the function started, with
/// approvals on; the harness and the batch's id.
async fn started_matrix() -> (Harness, String) {
    let (repo, master, first) = repository();
    let harness = matrix_harness(
        repo,
        json!({"timeoutInMinutes": 30}),
        &[
            ("REPORTER_ROLE_ARN", FUNCTION_ROLE),
            ("APPROVE_PULL_REQUESTS", "true"),
        ],
    )
    .await;
    harness
        .proxy
        .enable_batch_builds(PROJECT, &["linux", "windows", "mac"]);
    let response = open_pull_request(&harness, &first, &master).await;
    let batch = response["started"][0]["batchId"]
        .as_str()
        .unwrap_or_else(|| panic!("a batch started: {response}"))
        .to_owned();
    assert!(response["started"][0]["buildId"].is_null(), "{response}");
    (harness, batch)
}

/// The function on `repo` with one rule, `matrix`, that starts batches of [`PROJECT`] for pull
/// requests into master, with `more` fields, and the `extra` variables.
async fn matrix_harness(
    repo: testkit::git::GitRepo,
    more: Value,
    extra: &[(&str, &str)],
) -> Harness {
    let mut rule =
        json!({"name": "matrix", "project": PROJECT, "pullRequests": ["master"], "batch": true});
    for (field, value) in more.as_object().into_iter().flatten() {
        rule[field] = value.clone();
    }
    let mut builder = Harness::builder()
        .rules(&json!([rule]))
        .project(PROJECT)
        .env("PULL_REQUESTS", "master")
        .without("PULL_REQUESTS")
        .git_repository(REPOSITORY, repo);
    for (name, value) in extra {
        builder = builder.env(name, value);
    }
    builder.start().await
}

/// The state event CodeBuild sends for build `identifier` of `batch` at `status`, with the
/// batch's variables; CodeBuild reports the build so from now on.
fn member_event(harness: &Harness, batch: &str, identifier: &str, status: &str) -> Value {
    harness.codebuild_says(late_event(harness, batch, identifier, status))
}

/// The same event delivered late: CodeBuild's own answer has moved on.
fn late_event(harness: &Harness, batch: &str, identifier: &str, status: &str) -> Value {
    let build = member(harness, batch, identifier);
    let request = harness
        .proxy
        .requests_of("StartBuildBatch")
        .pop()
        .expect("a StartBuildBatch");
    let mut variables = request["environmentVariablesOverride"].clone();
    variables
        .as_array_mut()
        .expect("variables")
        .push(json!({"name": "CODEBUILD_BATCH_BUILD_IDENTIFIER", "value": identifier, "type": "PLAINTEXT"}));
    build_state_event(&build, 1, status, variables)
}

/// The id of build `identifier`'s current build in `batch`.
fn member(harness: &Harness, batch: &str, identifier: &str) -> String {
    harness
        .proxy
        .batch_members(batch)
        .into_iter()
        .find(|(name, _)| name == identifier)
        .map(|(_, build)| build)
        .unwrap_or_else(|| panic!("no build {identifier} in batch {batch}"))
}

#[tokio::test]
async fn a_rule_with_batch_starts_one_batch_of_the_revision_with_its_variables_and_overrides() {
    let (harness, batch) = started_matrix().await;
    let requests = harness.proxy.requests_of("StartBuildBatch");
    let [request] = requests.as_slice() else {
        panic!("one StartBuildBatch: {requests:?}");
    };
    assert!(harness.start_build_requests().is_empty(), "no StartBuild");
    assert_eq!(request["projectName"], PROJECT);
    assert_eq!(request["sourceTypeOverride"], "CODECOMMIT");
    assert_eq!(request["buildTimeoutInMinutesOverride"], 30);
    assert_eq!(request["idempotencyToken"].as_str().map(str::len), Some(64));
    let variable = |name: &str| {
        request["environmentVariablesOverride"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|variable| variable["name"] == name)
            .map(|variable| variable["value"].clone())
    };
    assert_eq!(variable("CODECOMMIT_PULL_REQUEST_ID"), Some(json!("17")));
    assert_eq!(
        variable("CODECOMMIT_PULL_REQUEST_REVISION"),
        Some(json!(REVISION))
    );
    assert_eq!(variable("CODECOMMIT_RULE"), Some(json!("matrix")));
    assert_eq!(
        variable("CODECOMMIT_COMMIT"),
        Some(request["sourceVersion"].clone())
    );
    assert_eq!(harness.proxy.batch_members(&batch).len(), 3);
}

#[tokio::test]
async fn a_matrix_reports_in_one_comment_retries_only_its_failed_build_then_is_approved() {
    let (harness, batch) = started_matrix().await;
    let windows = member(&harness, &batch, "windows");
    let report = "arn:aws:codebuild:us-east-1:123456789012:report/matrix-project-unit:7a1c";
    harness.proxy.add_test_report(
        report,
        &[("SUCCEEDED", 120), ("FAILED", 2)],
        vec![
            json!({"name": "opens_a_file_with_a_long_path", "prefix": "fs.PathTest",
                   "status": "FAILED", "message": "path too long: C:\\\\build\\\\…"}),
            json!({"name": "line_endings", "prefix": "text.CrlfTest", "status": "FAILED",
                   "message": "expected \"a\\n\", got \"a\\r\\n\""}),
        ],
    );
    let log: Vec<String> = (1..=8).map(|n| format!("windows step {n}")).collect();
    write_build_log(&harness, &windows, &log).await;

    // The builds' events, out of order and repeated: one comment follows the batch.
    let mut actions = Vec::new();
    for (identifier, status, late) in [
        ("mac", "IN_PROGRESS", false),
        ("linux", "SUCCEEDED", false),
        ("linux", "IN_PROGRESS", true),
        ("windows", "FAILED", false),
        ("linux", "SUCCEEDED", false),
    ] {
        let event = match late {
            true => late_event(&harness, &batch, identifier, status),
            false => member_event(&harness, &batch, identifier, status),
        };
        if identifier == "windows" {
            harness
                .proxy
                .set_build(&windows, &json!({"reportArns": [report]}));
        }
        let answer = harness.answer(&event).await;
        assert_eq!(answer["reported"]["batchId"], json!(batch), "{answer}");
        actions.push(
            answer["reported"]["action"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(actions, ["posted", "updated", "kept", "updated", "kept"]);
    let running = the_comment(&harness).content;
    assert!(
        running.starts_with(
            "⏳ **IN_PROGRESS** · project `matrix-project` · rule `matrix` · batch [#1]("
        ),
        "{running}"
    );
    assert!(
        running.contains("| ⏳ IN_PROGRESS |  |\n"),
        "mac still runs: {running}"
    );

    // The last build ends: the batch failed, as CodeBuild reports it.
    let ended = harness
        .answer(&member_event(&harness, &batch, "mac", "SUCCEEDED"))
        .await;
    assert_eq!(ended["reported"]["action"], "updated", "{ended}");
    assert_eq!(ended["reported"]["batchStatus"], "FAILED", "{ended}");
    assert!(
        ended["reported"]["approval"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("revoked: batch {batch} ended FAILED")),
        "{ended}"
    );
    let content = the_comment(&harness).content;
    assert!(content.starts_with("❌ **FAILED** · project `matrix-project` · rule `matrix` · batch [#1](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/matrix-project/batch/matrix-project%3A"), "{content}");
    for (identifier, status) in [
        ("linux", "✅ SUCCEEDED"),
        ("windows", "❌ FAILED"),
        ("mac", "✅ SUCCEEDED"),
    ] {
        let id = member(&harness, &batch, identifier).replace(':', "%3A");
        assert!(
            content.contains(&format!("| [`{identifier}`](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/matrix-project/build/{id}/?region=us-east-1) | {status} | 4 min 21 s |\n")),
            "{identifier}: {content}"
        );
    }
    let section = content
        .find("#### ❌ `windows` FAILED\n\n**Failed phase:** BUILD (FAILED)")
        .expect(&content);
    let tests = content
        .find(
            "**Tests:** 120 passed, 2 failed, 0 skipped\n\n**Failed tests:**\n\n\
         - `fs.PathTest.opens_a_file_with_a_long_path`: path too long: C:\\\\build\\\\…\n\
         - `text.CrlfTest.line_endings`: expected \"a\\n\", got \"a\\r\\n\"\n",
        )
        .unwrap_or_else(|| panic!("the failed tests by name: {content}"));
    let log_at = content
        .find("**Last 8 lines of the build log**")
        .expect(&content);
    assert!(section < tests && tests < log_at, "{content}");
    assert!(content.contains("windows step 8\n"), "{content}");
    assert!(!content.contains("#### ✅"), "{content}");
    assert!(
        content.trim_end().ends_with(&format!(
            "· FAILED (ended) · revision {REVISION} · 3/3 ended, 0 retried*"
        )),
        "{content}"
    );
    let late = harness
        .answer(&late_event(&harness, &batch, "windows", "IN_PROGRESS"))
        .await;
    assert_eq!(
        late["reported"]["action"], "kept",
        "a late event never regresses it: {late}"
    );

    // `/rebuild failed` retries only the failed build of the batch.
    let rebuild = reviewer_comments(&harness, the_comment(&harness), "/rebuild failed");
    let (linux, mac) = (
        member(&harness, &batch, "linux"),
        member(&harness, &batch, "mac"),
    );
    let answer = harness.answer(&rebuild).await;
    assert_eq!(answer["started"][0]["batchId"], json!(batch), "{answer}");
    assert_eq!(answer["started"][0]["retried"], true, "{answer}");
    let retries = harness.proxy.requests_of("RetryBuildBatch");
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(
        (retries[0]["id"].as_str(), retries[0]["retryType"].as_str()),
        (Some(batch.as_str()), Some("RETRY_FAILED_BUILDS"))
    );
    assert_eq!(
        harness.proxy.requests_of("StartBuildBatch").len(),
        1,
        "no new batch"
    );
    let again = member(&harness, &batch, "windows");
    assert_ne!(again, windows, "windows runs again");
    assert_eq!(
        (
            member(&harness, &batch, "linux"),
            member(&harness, &batch, "mac")
        ),
        (linux, mac),
        "only windows"
    );

    // The retried build succeeds: the batch succeeded, its comment says so, and it approves.
    let retried = harness
        .answer(&member_event(&harness, &batch, "windows", "SUCCEEDED"))
        .await;
    assert_eq!(retried["reported"]["action"], "updated", "{retried}");
    assert_eq!(
        retried["reported"]["approval"], "approved: its one build succeeded",
        "{retried}"
    );
    assert_eq!(
        harness.codecommit.approvers("17", REVISION),
        [FUNCTION_SESSION]
    );
    let statuses: Vec<StoredComment> = harness
        .codecommit
        .comments()
        .into_iter()
        .filter(|comment| comment.author == FUNCTION_SESSION)
        .collect();
    assert_eq!(
        statuses.len(),
        1,
        "one comment for the batch: {statuses:#?}"
    );
    let content = &statuses[0].content;
    assert!(
        content.starts_with(
            "✅ **SUCCEEDED** · project `matrix-project` · rule `matrix` · batch [#1]("
        ),
        "{content}"
    );
    assert!(!content.contains("####"), "{content}");
    assert!(content.trim_end().ends_with("· SUCCEEDED (ended) · revision 1111111111111111111111111111111111111111111111111111111111111111 · 3/3 ended, 1 retried*"), "{content}");
}

#[tokio::test]
async fn a_new_revision_stops_the_older_batch_it_supersedes() {
    let (repo, master, first) = repository();
    repo.write("src/upload.rs", "pub fn upload() { /* backing off */ }\n");
    let second = repo.commit("Back off between tries");
    let harness = matrix_harness(repo, json!({"supersede": true}), &[]).await;
    harness
        .proxy
        .enable_batch_builds(PROJECT, &["linux", "windows"]);
    let opened = open_pull_request(&harness, &first, &master).await;
    let older = opened["started"][0]["batchId"]
        .as_str()
        .expect("a batch")
        .to_owned();
    let revision = "2".repeat(64);
    crate::pull_requests::set_pull_request_17(&harness, &second, &master, "OPEN", false);
    harness.codecommit.set_revision("17", &revision);
    let updated = harness
        .answer(&crate::pull_requests::event(
            "pull-request-source-updated.json",
            &second,
            &master,
            &revision,
        ))
        .await;
    assert_eq!(
        updated["started"][0]["superseded"],
        json!([older]),
        "{updated}"
    );
    let stops = harness.proxy.requests_of("StopBuildBatch");
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert!(harness.proxy.requests_of("StopBuild").is_empty());
    let members = harness.proxy.batch_members(&older);
    for (_, build) in members {
        assert_eq!(
            harness.proxy.build_status(&build),
            Some(testkit::proxy::BuildStatus::Stopped)
        );
    }
}

#[tokio::test]
async fn a_project_without_batch_configuration_fails_the_event_and_says_what_a_batch_needs() {
    let (repo, master, first) = repository();
    let harness = matrix_harness(repo, json!({}), &[]).await;
    crate::pull_requests::set_pull_request_17(&harness, &first, &master, "OPEN", false);
    harness.codecommit.set_revision("17", REVISION);
    let created =
        crate::pull_requests::event("pull-request-created.json", &first, &master, REVISION);
    let error = harness
        .invoke(&created)
        .await
        .expect_err("no batch could start");
    assert_eq!(error.error_type, "StartBuildFailed");
    assert!(
        error.error_message.contains("(InvalidInputException)"),
        "{}",
        error.error_message
    );
    let advice = "give the project batch configuration (buildBatchConfig, with its batch service role) and a buildspec with a batch section";
    harness
        .function
        .wait_for_log_record(
            |line| {
                line["fields"]["message"] == "StartBuild failed"
                    && line["fields"]["action"] == advice
            },
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|| panic!("the failure's advice in the log\n{}", harness.diagnostics()));
    assert!(!harness.proxy.requests_of("StartBuildBatch").is_empty());
    assert!(
        harness.builds().await.is_empty(),
        "no build of the batch started"
    );
}
