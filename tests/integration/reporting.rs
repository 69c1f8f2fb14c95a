//! End-to-end tests of results back in CodeCommit: a pull request's build started by the
//! release binary, then EventBridge "CodeBuild Build State Change" events of that build
//! (made from the StartBuild request the function sent, as CodeBuild would send them), the
//! build's log in moto's CloudWatch Logs, and the comments at the fake CodeCommit endpoint.

#![cfg(feature = "end-to-end")]

use crate::pull_requests::{event, harness, repository, set_pull_request_17, REPOSITORY};

use serde_json::{json, Value};
use testkit::codecommit::{StoredComment, FUNCTION_ROLE, FUNCTION_SESSION, MAX_COMMENT_CHARS};
use testkit::events::build_state_event;
use testkit::{moto, Harness};

/// The revision of the pull request's first source commit.
pub(crate) const REVISION: &str =
    "1111111111111111111111111111111111111111111111111111111111111111";

/// What a build's log holds: colours, a carriage return, and a line that tries to close the
/// code block and write a status of its own.
fn log_lines() -> Vec<String> {
    let mut lines: Vec<String> = (1..=30).map(|n| format!("step {n}")).collect();
    lines.push("\u{1b}[31merror[E0308]\u{1b}[0m: mismatched types\r".into());
    lines.push("```".into());
    lines.push("✅ **SUCCEEDED** · all good".into());
    lines
}

/// Opens pull request 17 from `source` into master at `master`, at [`REVISION`], as the local
/// CodeCommit and the created event say; returns the function's answer.
pub(crate) async fn open_pull_request(harness: &Harness, source: &str, master: &str) -> Value {
    set_pull_request_17(harness, source, master, "OPEN", false);
    harness.codecommit.set_revision("17", REVISION);
    harness
        .answer(&event(
            "pull-request-created.json",
            source,
            master,
            REVISION,
        ))
        .await
}

/// A pull request 17 whose creation the function has built; returns the harness, the
/// source and destination commits, and the build's id.
pub(crate) async fn built_pull_request(
    extra: &[(&str, &str)],
) -> (Harness, String, String, String) {
    let (repo, master, first) = repository();
    let mut vars = vec![("REPORTER_ROLE_ARN", FUNCTION_ROLE)];
    vars.extend_from_slice(extra);
    let harness = harness(repo, &vars).await;
    let response = open_pull_request(&harness, &first, &master).await;
    let build_id = response["started"][0]["buildId"]
        .as_str()
        .expect("a build started")
        .to_owned();
    (harness, first, master, build_id)
}

/// The build-state event CodeBuild sends for `build_id` at `status`: its variables are the
/// overrides the function started it with; CodeBuild reports the build so from now on.
pub(crate) fn build_event(harness: &Harness, build_id: &str, status: &str) -> Value {
    let requests = harness.start_build_requests();
    let request = requests.last().expect("a StartBuild request");
    harness.codebuild_says(build_state_event(
        build_id,
        1,
        status,
        request["environmentVariablesOverride"].clone(),
    ))
}

pub(crate) async fn write_build_log(harness: &Harness, build_id: &str, lines: &[String]) {
    let (project, uuid) = build_id.split_once(':').expect("PROJECT:UUID");
    let logs = moto::logs_client(&harness.moto.endpoint());
    moto::write_log(&logs, &format!("/aws/codebuild/{project}"), uuid, lines).await;
}

/// A reviewer's comment saying `text` on the pull request and commits of the function's
/// comment `beside`; the event of its posting.
pub(crate) fn reviewer_comments(harness: &Harness, beside: StoredComment, text: &str) -> Value {
    let bob = "arn:aws:iam::123456789012:user/bob";
    let id = harness.codecommit.add_comment(StoredComment {
        id: String::new(),
        author: bob.into(),
        content: text.into(),
        updates: 0,
        token: None,
        deleted: false,
        ..beside
    });
    testkit::events::pull_request_comment_event(&id, bob)
}

pub(crate) fn the_comment(harness: &Harness) -> StoredComment {
    let comments = harness.codecommit.comments();
    let [comment] = comments.as_slice() else {
        panic!(
            "expected one comment, found {comments:#?}\n{}",
            harness.diagnostics()
        );
    };
    comment.clone()
}

#[tokio::test]
async fn one_comment_follows_a_pull_request_build_from_start_to_failure_with_the_log() {
    let (harness, source, destination, build_id) = built_pull_request(&[]).await;
    write_build_log(&harness, &build_id, &log_lines()).await;

    let started = harness
        .answer(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await;
    assert_eq!(started["reported"]["action"], "posted", "{started}");
    let comment = the_comment(&harness);
    assert_eq!(comment.author, FUNCTION_SESSION);
    assert_eq!(comment.pull_request.as_deref(), Some("17"));
    assert_eq!(comment.repository, REPOSITORY);
    assert_eq!(
        (comment.before.as_deref(), comment.after.as_str()),
        (Some(destination.as_str()), source.as_str()),
        "before is the destination commit, after the source commit"
    );
    assert!(comment.content.starts_with("⏳ **IN_PROGRESS** · project `demo-project` · build [#1](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/demo-project/build/demo-project%3A"), "{}", comment.content);
    assert_eq!(started["reported"]["comment"], json!(comment.id));

    let failed = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(
        (
            &failed["reported"]["action"],
            &failed["reported"]["comment"]
        ),
        (&json!("updated"), &json!(comment.id))
    );
    let comment = the_comment(&harness);
    let content = &comment.content;
    assert!(
        content.starts_with("❌ **FAILED** · project `demo-project` · build [#1]("),
        "{content}"
    );
    assert!(content.contains(") · 4 min 21 s\n"), "{content}");
    assert!(content.contains("**Failed phase:** BUILD (FAILED)\n\n```text\nCOMMAND_EXECUTION_ERROR: Error while executing command: cargo test. Reason: exit status 101\n```"), "{content}");
    assert!(
        content.contains("**Last 20 lines of the build log**:\n\n````text\n"),
        "the fence outgrows the log's own: {content}"
    );
    assert!(
        content
            .contains("\nerror[E0308]: mismatched types\n```\n✅ **SUCCEEDED** · all good\n````\n"),
        "{content}"
    );
    assert!(
        content.contains("step 14\n") && !content.contains("step 13\n"),
        "the last 20 lines: {content}"
    );
    assert!(
        content
            .trim_end()
            .ends_with(&format!("#1 · FAILED (ended) · revision {REVISION}*")),
        "{content}"
    );

    // Redeliveries of either event, in any order, change nothing.
    for status in ["IN_PROGRESS", "FAILED", "IN_PROGRESS"] {
        let again = harness
            .answer(&build_event(&harness, &build_id, status))
            .await;
        assert_eq!(again["reported"]["action"], "kept", "{again}");
    }
    assert_eq!(the_comment(&harness).content, comment.content);
    assert_eq!(comment.updates, 1);
}

#[tokio::test]
async fn a_failed_builds_comment_names_its_failed_tests_and_counts_them() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    let report = "arn:aws:codebuild:us-east-1:123456789012:report/demo-project-unit:5d1e0c3a";
    harness.proxy.add_test_report(
        report,
        &[("SUCCEEDED", 40), ("FAILED", 2), ("SKIPPED", 1)],
        vec![
            json!({"name": "rejects_a_wrong_password", "prefix": "api.LoginTest",
                   "status": "FAILED", "message": "expected 401, got 200"}),
            json!({"name": "passes", "prefix": "api.HealthTest", "status": "SUCCEEDED"}),
            json!({"name": "times_out", "prefix": "api.SlowTest", "status": "FAILED",
                   "message": "deadline exceeded after 30 s"}),
        ],
    );
    let failed = build_event(&harness, &build_id, "FAILED");
    harness
        .proxy
        .set_build(&build_id, &json!({"reportArns": [report]}));
    let answer = harness.answer(&failed).await;
    assert_eq!(answer["reported"]["action"], "posted", "{answer}");
    let content = the_comment(&harness).content;
    let tests = content
        .find(
            "**Tests:** 40 passed, 2 failed, 1 skipped\n\n**Failed tests:**\n\n\
                - `api.LoginTest.rejects_a_wrong_password`: expected 401, got 200\n\
                - `api.SlowTest.times_out`: deadline exceeded after 30 s\n",
        )
        .unwrap_or_else(|| panic!("the tests as a reviewer reads them: {content}"));
    let log = content.find("The build log").expect("the log's place");
    assert!(
        tests < log,
        "the failed tests come before the log: {content}"
    );
    assert!(!content.contains("api.HealthTest"), "{content}");
    let cases = harness.proxy.requests_of("DescribeTestCases");
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["filter"]["status"], "FAILED");
}

#[tokio::test]
async fn a_build_waiting_in_codebuilds_queue_shows_as_queued_until_it_runs() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    let requests = harness.start_build_requests();
    let variables = requests.last().expect("a StartBuild")["environmentVariablesOverride"].clone();
    let mut queued = build_state_event(&build_id, 1, "IN_PROGRESS", variables);
    queued["detail"]["current-phase"] = json!("QUEUED");
    queued["detail"]["additional-information"]["phases"] = json!([
        {"phase-type": "SUBMITTED", "phase-status": "SUCCEEDED", "duration-in-seconds": 0},
        {"phase-type": "QUEUED"}
    ]);
    let queued = harness.codebuild_says(queued);
    let answer = harness.answer(&queued).await;
    assert_eq!(answer["reported"]["action"], "posted", "{answer}");
    let content = the_comment(&harness).content;
    assert!(
        content.starts_with("🕒 **QUEUED** · project `demo-project` · build [#1]("),
        "{content}"
    );
    let running = harness
        .answer(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await;
    assert_eq!(running["reported"]["action"], "updated", "{running}");
    assert!(the_comment(&harness)
        .content
        .starts_with("⏳ **IN_PROGRESS**"));
}

#[tokio::test]
async fn events_delivered_twice_and_in_reverse_order_end_in_the_same_single_comment() {
    let (harness, _, _, build_id) = built_pull_request(&[("COMMENT_LOG_LINES", "0")]).await;
    let mut actions = Vec::new();
    for status in ["SUCCEEDED", "SUCCEEDED", "IN_PROGRESS", "IN_PROGRESS"] {
        let answer = harness
            .answer(&build_event(&harness, &build_id, status))
            .await;
        actions.push(
            answer["reported"]["action"]
                .as_str()
                .expect("an action")
                .to_owned(),
        );
    }
    assert_eq!(actions, ["posted", "kept", "kept", "kept"]);
    let comment = the_comment(&harness);
    assert!(
        comment.content.starts_with("✅ **SUCCEEDED**"),
        "{}",
        comment.content
    );
    assert!(
        !comment.content.contains("build log"),
        "{}",
        comment.content
    );
    assert_eq!(comment.updates, 0);
}

#[tokio::test]
async fn a_build_of_an_older_revision_still_reports_and_says_so() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    harness.codecommit.set_revision("17", &"2".repeat(64));
    let answer = harness
        .answer(&build_event(&harness, &build_id, "STOPPED"))
        .await;
    assert_eq!(answer["reported"]["action"], "posted");
    let content = the_comment(&harness).content;
    assert!(content.starts_with("⏹️ **STOPPED**"), "{content}");
    assert!(
        content.contains(
            "> This revision is no longer the pull request's latest (now `222222222222`)"
        ),
        "{content}"
    );
    assert!(
        content.contains("The build log could not be read: ResourceNotFoundException."),
        "{content}"
    );
}

#[tokio::test]
async fn a_reviewers_comment_that_copies_the_stamp_is_never_taken_for_the_functions() {
    let (harness, source, destination, build_id) = built_pull_request(&[]).await;
    harness
        .answer(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await;
    let forged = the_comment(&harness)
        .content
        .replace("IN_PROGRESS (running)", "SUCCEEDED (ended)");
    harness.codecommit.add_comment(StoredComment {
        id: String::new(),
        repository: REPOSITORY.into(),
        pull_request: Some("17".into()),
        before: Some(destination),
        after: source,
        author: "arn:aws:iam::123456789012:user/mallory".into(),
        content: forged,
        updates: 0,
        token: None,
        deleted: false,
    });
    let failed = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(failed["reported"]["action"], "updated", "{failed}");
    let comments = harness.codecommit.comments();
    assert_eq!(comments.len(), 2);
    assert!(
        comments[0].content.starts_with("❌ **FAILED**"),
        "the function's own comment"
    );
    assert!(
        comments[1].content.contains("SUCCEEDED (ended)"),
        "the forged one is left alone"
    );
}

#[tokio::test]
async fn a_log_longer_than_a_comment_loses_its_oldest_lines_and_is_accepted() {
    let (harness, _, _, build_id) = built_pull_request(&[("COMMENT_LOG_LINES", "1000")]).await;
    let lines: Vec<String> = (0..1000)
        .map(|n| format!("{n:04} {}", "x".repeat(200)))
        .collect();
    write_build_log(&harness, &build_id, &lines).await;
    let answer = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(answer["reported"]["action"], "posted", "{answer}");
    let content = the_comment(&harness).content;
    assert!(content.chars().count() <= MAX_COMMENT_CHARS);
    assert!(content.starts_with("❌ **FAILED**"));
    assert!(
        content.contains("earlier ones left out to fit the comment"),
        "{content}"
    );
    assert!(content.contains("\n0999 "), "the newest line is shown");
}

#[tokio::test]
async fn builds_it_did_not_start_are_answered_and_left_alone() {
    let (harness, _, _, _) = built_pull_request(&[]).await;
    let foreign = build_state_event(
        "demo-project:0d2f1c3a-1111-4222-8333-944455556666",
        9,
        "FAILED",
        json!([]),
    );
    let answer = harness.answer(&foreign).await;
    assert_eq!(answer["reported"]["action"], "ignored");
    assert_eq!(
        answer["reported"]["reason"],
        "build demo-project:0d2f1c3a-1111-4222-8333-944455556666 has no CODECOMMIT_* variables: this function did not start it"
    );
    assert!(harness.codecommit.comments().is_empty());
}

#[tokio::test]
async fn a_comment_that_cannot_be_written_fails_the_invocation_naming_the_permission() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    harness.codecommit.deny("PostCommentForPullRequest");
    let error = harness
        .invoke(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await
        .expect_err("the invocation fails");
    assert_eq!(error.error_type, "ReportFailed", "{error:?}");
    assert!(
        error
            .error_message
            .contains("PostCommentForPullRequest failed: AccessDeniedException"),
        "{error:?}"
    );
    assert!(error.error_message.contains("grant the function's role codecommit:PostCommentForPullRequest on the repository's ARN"), "{error:?}");
    assert!(harness.codecommit.comments().is_empty());
}

#[tokio::test]
async fn without_reporter_role_arn_the_function_learns_its_role_from_sts() {
    let (repo, master, first) = repository();
    let harness = harness(repo, &[]).await;
    let response = open_pull_request(&harness, &first, &master).await;
    let build_id = response["started"][0]["buildId"]
        .as_str()
        .expect("a build")
        .to_owned();
    let started = harness
        .answer(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await;
    assert_eq!(started["reported"]["action"], "posted", "{started}");
    let failed = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(
        failed["reported"]["action"], "updated",
        "it knows its own comment: {failed}"
    );
    assert_eq!(the_comment(&harness).author, FUNCTION_SESSION);
}

#[tokio::test]
async fn without_reporter_role_arn_nothing_is_written_and_the_error_says_why() {
    let (repo, master, first) = repository();
    // Signing as an IAM user: STS names no role's session to learn the role from.
    let harness = harness(repo, &[("AWS_ACCESS_KEY_ID", "alice")]).await;
    let response = open_pull_request(&harness, &first, &master).await;
    let build_id = response["started"][0]["buildId"]
        .as_str()
        .expect("a build")
        .to_owned();
    let error = harness
        .invoke(&build_event(&harness, &build_id, "FAILED"))
        .await
        .expect_err("the invocation fails");
    assert_eq!(error.error_type, "InvalidConfiguration");
    assert!(
        error
            .error_message
            .starts_with("REPORTER_ROLE_ARN is not set"),
        "{error:?}"
    );
    assert!(harness.codecommit.comments().is_empty());
}

/// A pull request into master built by two rules' projects; returns the harness and the
/// two builds' ids (`demo-project`'s, then `lint-project`'s).
async fn built_by_two_projects(extra: &[(&str, &str)]) -> (Harness, String, String) {
    let (repo, master, first) = repository();
    let rules = json!([
        {"name": "test", "project": "demo-project", "pullRequests": ["master"]},
        {"name": "lint", "project": "lint-project", "pullRequests": ["master"]}
    ]);
    let mut builder = Harness::builder()
        .rules(&rules)
        .project("lint-project")
        .env("PULL_REQUESTS", "master")
        .without("PULL_REQUESTS")
        .env("REPORTER_ROLE_ARN", FUNCTION_ROLE)
        .git_repository(REPOSITORY, repo);
    for (name, value) in extra {
        builder = builder.env(name, value);
    }
    let harness = builder.start().await;
    let response = open_pull_request(&harness, &first, &master).await;
    let id = |project: &str| {
        response["started"]
            .as_array()
            .expect("started")
            .iter()
            .find(|started| started["project"] == project)
            .and_then(|started| started["buildId"].as_str())
            .unwrap_or_else(|| panic!("no {project} build in {response}"))
            .to_owned()
    };
    let (test, lint) = (id("demo-project"), id("lint-project"));
    (harness, test, lint)
}

/// The build-state event of `build_id`, with the overrides of the StartBuild that started it.
fn event_of(harness: &Harness, build_id: &str, status: &str) -> Value {
    let project = build_id.split_once(':').expect("PROJECT:UUID").0;
    let requests = harness.start_build_requests();
    let request = requests
        .iter()
        .rev()
        .find(|request| request["projectName"] == project)
        .expect("the build's StartBuild request");
    harness.codebuild_says(build_state_event(
        build_id,
        1,
        status,
        request["environmentVariablesOverride"].clone(),
    ))
}

#[tokio::test]
async fn rebuild_failed_starts_again_only_the_rule_whose_build_failed() {
    let (harness, test, lint) = built_by_two_projects(&[]).await;
    harness.answer(&event_of(&harness, &test, "FAILED")).await;
    harness
        .answer(&event_of(&harness, &lint, "SUCCEEDED"))
        .await;
    let comment = harness
        .codecommit
        .comments()
        .into_iter()
        .next()
        .expect("a status comment");
    let answer = harness
        .answer(&reviewer_comments(&harness, comment, "/rebuild failed"))
        .await;
    let started: Vec<&str> = answer["started"]
        .as_array()
        .expect("started")
        .iter()
        .filter_map(|started| started["project"].as_str())
        .collect();
    assert_eq!(started, ["demo-project"], "{answer}");
    assert_eq!(
        answer["skipped"][0]["reason"],
        format!(
            "the latest build of this revision, {lint}, ended SUCCEEDED: /rebuild failed starts only what failed"
        ),
        "{answer}"
    );
}

#[tokio::test]
async fn two_projects_have_two_comments_and_the_revision_is_approved_once_both_succeeded() {
    let (harness, test, lint) = built_by_two_projects(&[("APPROVE_PULL_REQUESTS", "true")]).await;
    let first = harness
        .answer(&event_of(&harness, &test, "SUCCEEDED"))
        .await;
    assert_eq!(first["reported"]["action"], "posted");
    assert_eq!(
        first["reported"]["approval"], "not yet: 1 of its builds is still running",
        "{first}"
    );
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());

    harness.proxy.finish_build(&test);
    let second = harness
        .answer(&event_of(&harness, &lint, "SUCCEEDED"))
        .await;
    assert_eq!(
        second["reported"]["approval"], "approved: all 2 of its builds succeeded",
        "{second}"
    );
    assert_eq!(
        harness.codecommit.approvers("17", REVISION),
        [FUNCTION_SESSION]
    );
    let comments = harness.codecommit.comments();
    assert_eq!(comments.len(), 2, "one comment per project");
    assert!(comments
        .iter()
        .any(|c| c.content.contains("project `demo-project`")));
    assert!(comments
        .iter()
        .any(|c| c.content.contains("project `lint-project`")));

    // A failure of either revokes; a redelivered success does not approve it again over that.
    let failed = harness.answer(&event_of(&harness, &lint, "FAILED")).await;
    assert!(
        failed["reported"]["approval"]
            .as_str()
            .expect("an approval")
            .starts_with("revoked: build lint-project:"),
        "{failed}"
    );
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());
}

#[tokio::test]
async fn an_older_revision_is_never_approved() {
    let (harness, _, _, build_id) = built_pull_request(&[("APPROVE_PULL_REQUESTS", "true")]).await;
    let newer = "3".repeat(64);
    harness.codecommit.set_revision("17", &newer);
    let answer = harness
        .answer(&build_event(&harness, &build_id, "SUCCEEDED"))
        .await;
    assert_eq!(
        answer["reported"]["approval"],
        "not approved: the revision is no longer the pull request's current one",
        "{answer}"
    );
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());
    assert!(harness.codecommit.approvers("17", &newer).is_empty());
}

#[tokio::test]
async fn the_rebuild_command_starts_new_builds_and_the_functions_own_comment_nothing() {
    let (harness, source, destination, build_id) =
        built_pull_request(&[("APPROVE_PULL_REQUESTS", "true")]).await;
    harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    let own = the_comment(&harness).id;
    let bob = "arn:aws:iam::123456789012:user/bob";
    let comment = |content: &str| StoredComment {
        id: String::new(),
        repository: REPOSITORY.into(),
        pull_request: Some("17".into()),
        before: Some(destination.clone()),
        after: source.clone(),
        author: bob.into(),
        content: content.into(),
        updates: 0,
        token: None,
        deleted: false,
    };
    let chatter = harness
        .codecommit
        .add_comment(comment("Looks flaky, /rebuild?"));
    let rebuild = harness.codecommit.add_comment(comment("/rebuild"));

    let answer = harness
        .answer(&testkit::events::pull_request_comment_event(
            &own,
            FUNCTION_SESSION,
        ))
        .await;
    assert_eq!(
        answer["skipped"][0]["reason"], "the comment is the function's own",
        "{answer}"
    );
    let answer = harness
        .answer(&testkit::events::pull_request_comment_event(&chatter, bob))
        .await;
    assert_eq!(
        answer["skipped"][0]["reason"],
        format!("comment {chatter} is not the rebuild command /rebuild (or /rebuild failed)")
    );
    assert_eq!(harness.builds().await.len(), 1, "nothing rebuilt yet");

    let event = testkit::events::pull_request_comment_event(&rebuild, bob);
    let answer = harness.answer(&event).await;
    assert_eq!(answer["started"][0]["commit"], json!(source), "{answer}");
    assert_eq!(answer["started"][0]["pullRequest"], "17");
    // Delivered again while the rebuild runs: nothing starts.
    let again = harness.answer(&event).await;
    assert_eq!(again["started"], json!([]), "{again}");
    let requests = harness.start_build_requests();
    assert_eq!(requests.len(), 2);
    assert_ne!(
        requests[1]["idempotencyToken"], requests[0]["idempotencyToken"],
        "a rebuild is no repeat"
    );
    assert_eq!(requests[1]["sourceVersion"], json!(source));
    let builds = harness.builds().await;

    // The rebuild's start and success take the comment over.
    let rebuilt = builds[1].id().expect("an id").to_owned();
    let mut started = build_event(&harness, &rebuilt, "SUCCEEDED");
    started["detail"]["additional-information"]["build-number"] = json!(2);
    let answer = harness.answer(&started).await;
    assert_eq!(
        (
            &answer["reported"]["action"],
            &answer["reported"]["comment"]
        ),
        (&json!("updated"), &json!(own))
    );
    let content = harness.codecommit.comments()[0].content.clone();
    assert!(
        content.starts_with("✅ **SUCCEEDED** · project `demo-project` · build [#2]("),
        "{content}"
    );
    let late = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(
        late["reported"]["reason"],
        "the comment shows a newer build (#2) of the same project and subject"
    );
}

#[tokio::test]
async fn a_push_build_comments_on_the_pushed_commit_against_its_parent() {
    let repo = testkit::git::GitRepo::init("master");
    repo.write("README.md", "# my-app\n");
    let parent = repo.commit("Initial commit");
    repo.write("src/main.rs", "fn main() {}\n");
    let commit = repo.commit("Add the service");
    let harness = Harness::builder()
        .env("SKIP_MARKERS", "false")
        .env("COMMIT_COMMENTS", "true")
        .env("REPORTER_ROLE_ARN", FUNCTION_ROLE)
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let response = harness.answer(&testkit::push_master_of(&commit)).await;
    let build_id = response["started"][0]["buildId"]
        .as_str()
        .expect("a build")
        .to_owned();
    let answer = harness
        .answer(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await;
    assert_eq!(answer["reported"]["action"], "posted", "{answer}");
    let comment = the_comment(&harness);
    assert_eq!(comment.pull_request, None);
    assert_eq!(
        (comment.before.as_deref(), comment.after.as_str()),
        (Some(parent.as_str()), commit.as_str())
    );
    assert!(
        comment.content.starts_with("⏳ **IN_PROGRESS**"),
        "{}",
        comment.content
    );
    assert!(comment
        .content
        .contains(&format!("Commit `{}`.", &commit[..12])));
    harness
        .answer(&build_event(&harness, &build_id, "SUCCEEDED"))
        .await;
    assert!(the_comment(&harness)
        .content
        .starts_with("✅ **SUCCEEDED**"));
}

#[tokio::test]
async fn a_post_that_loses_the_race_to_another_delivery_updates_the_winners_comment() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    // Another delivery, of the build's start, posts first with the same token: this one's post
    // of the failure is refused as a mismatch, and it updates the comment the other posted.
    let winner = format!(
        "⏳ **IN_PROGRESS**\n\n*codecommit-build-trigger: demo-project build {build_id} #1 · IN_PROGRESS (running) · revision {REVISION}*"
    );
    harness.codecommit.race_next_post(&winner);
    let answer = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(answer["reported"]["action"], "updated", "{answer}");
    let comment = the_comment(&harness);
    assert!(
        comment.content.starts_with("❌ **FAILED**"),
        "{}",
        comment.content
    );
    assert_eq!(comment.updates, 1);
    let posts = harness
        .codecommit
        .calls()
        .into_iter()
        .filter(|(operation, _)| operation == "PostCommentForPullRequest")
        .count();
    assert_eq!(posts, 1, "one post, refused as a mismatch, then an update");
}

#[tokio::test]
async fn a_closed_pull_request_or_one_the_function_opened_is_not_approved_and_that_is_no_failure() {
    let (harness, source, master, build_id) =
        built_pull_request(&[("APPROVE_PULL_REQUESTS", "true")]).await;
    harness
        .codecommit
        .set_pull_request_author("17", FUNCTION_SESSION);
    let answer = harness
        .answer(&build_event(&harness, &build_id, "SUCCEEDED"))
        .await;
    assert_eq!(
        answer["reported"]["approval"],
        "not approved: the function's role opened the pull request, and its author cannot approve it"
    );
    set_pull_request_17(&harness, &source, &master, "CLOSED", false);
    harness.codecommit.set_revision("17", REVISION);
    let answer = harness
        .answer(&build_event(&harness, &build_id, "SUCCEEDED"))
        .await;
    assert_eq!(
        answer["reported"]["approval"], "not approved: the pull request is closed",
        "{answer}"
    );
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());
}

#[tokio::test]
async fn a_status_comment_someone_deleted_is_posted_anew() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    harness
        .answer(&build_event(&harness, &build_id, "IN_PROGRESS"))
        .await;
    let deleted = the_comment(&harness).id;
    harness.codecommit.delete_comment(&deleted);
    let answer = harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    assert_eq!(answer["reported"]["action"], "posted", "{answer}");
    let comments = harness.codecommit.comments();
    assert_eq!(comments.len(), 2, "the deleted one stays, empty");
    assert!(comments[0].deleted && comments[0].content.is_empty());
    assert!(comments[1].content.starts_with("❌ **FAILED**"));
    assert_ne!(
        comments[1].token, comments[0].token,
        "a token of this build's"
    );
}

#[tokio::test]
async fn two_rules_starting_one_project_have_a_comment_each_and_both_count_for_the_approval() {
    let (repo, master, first) = repository();
    let rules = json!([
        {"name": "test", "project": "demo-project", "pullRequests": ["master"]},
        {"name": "lint", "project": "demo-project", "pullRequests": ["master"]}
    ]);
    let harness = Harness::builder()
        .rules(&rules)
        .env("APPROVE_PULL_REQUESTS", "true")
        .env("REPORTER_ROLE_ARN", FUNCTION_ROLE)
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let response = open_pull_request(&harness, &first, &master).await;
    let requests = harness.start_build_requests();
    let build = |rule: &str| {
        let started = response["started"]
            .as_array()
            .expect("started")
            .iter()
            .find(|started| started["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} build in {response}"));
        let id = started["buildId"].as_str().expect("an id").to_owned();
        let request = requests
            .iter()
            .find(|request| {
                testkit::overrides(request).contains(&("CODECOMMIT_RULE".into(), rule.into()))
            })
            .expect("the rule's StartBuild");
        (id, request["environmentVariablesOverride"].clone())
    };
    let ((test, test_variables), (lint, lint_variables)) = (build("test"), build("lint"));
    let test_passed =
        harness.codebuild_says(build_state_event(&test, 1, "SUCCEEDED", test_variables));
    let answer = harness.answer(&test_passed).await;
    assert_eq!(
        answer["reported"]["approval"], "not yet: 1 of its builds is still running",
        "{answer}"
    );
    let lint_failed = harness.codebuild_says(build_state_event(&lint, 2, "FAILED", lint_variables));
    let answer = harness.answer(&lint_failed).await;
    assert!(
        answer["reported"]["approval"]
            .as_str()
            .expect("an approval")
            .starts_with("revoked"),
        "{answer}"
    );
    let comments = harness.codecommit.comments();
    assert_eq!(comments.len(), 2, "a comment per rule");
    assert!(comments.iter().any(|c| c
        .content
        .starts_with("✅ **SUCCEEDED** · project `demo-project` · rule `test` · ")));
    assert!(comments.iter().any(|c| c
        .content
        .starts_with("❌ **FAILED** · project `demo-project` · rule `lint` · ")));
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());
}
