//! End-to-end tests of what the function trusts: each way a forged, late, repeated or
//! oversized event fooled an earlier release, now harmless, through the release binary, the
//! recording proxy in front of moto (whose `BatchGetBuilds` answer is the truth a test sets
//! apart from the events it sends) and the local CodeCommit over real git history.

#![cfg(feature = "end-to-end")]

use crate::pull_requests::{repository, set_pull_request_17, REPOSITORY};
use crate::reporting::{build_event, built_pull_request, the_comment, write_build_log, REVISION};

use serde_json::{json, Value};
use testkit::codecommit::{StoredComment, FUNCTION_ROLE};
use testkit::events::{build_state_event, trigger_record};
use testkit::proxy::{BuildStatus, Fault};
use testkit::{now, Harness};

/// The StartBuild overrides of the last build the function started.
fn last_variables(harness: &Harness) -> Value {
    let requests = harness.start_build_requests();
    let request = requests.last().expect("a StartBuild request");
    request["environmentVariablesOverride"].clone()
}

#[tokio::test]
async fn a_forged_success_of_a_build_codebuild_does_not_know_writes_and_approves_nothing() {
    let (harness, _, _, build_id) = built_pull_request(&[("APPROVE_PULL_REQUESTS", "true")]).await;
    let forged_id = "demo-project:0d2f1c3a-1111-4222-8333-944455556666";
    let forged = build_state_event(forged_id, 999_999, "SUCCEEDED", last_variables(&harness));
    let answer = harness.answer(&forged).await;
    assert_eq!(answer["reported"]["action"], "ignored", "{answer}");
    assert_eq!(
        answer["reported"]["reason"],
        format!("CodeBuild knows no build {forged_id}: the event is not CodeBuild's")
    );
    assert!(harness.codecommit.comments().is_empty());
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());

    // The real build's events are reported as CodeBuild numbers it, and approve.
    let answer = harness
        .answer(&build_event(&harness, &build_id, "SUCCEEDED"))
        .await;
    assert_eq!(answer["reported"]["action"], "posted", "{answer}");
    let content = the_comment(&harness).content;
    assert!(
        content.starts_with("✅ **SUCCEEDED** · project `demo-project` · build [#1]("),
        "{content}"
    );
    assert!(!content.contains("999999"), "{content}");
    assert_eq!(harness.codecommit.approvers("17", REVISION).len(), 1);
}

#[tokio::test]
async fn a_forged_success_of_a_build_that_failed_shows_the_failure_and_never_approves() {
    let (harness, _, _, build_id) = built_pull_request(&[("APPROVE_PULL_REQUESTS", "true")]).await;
    // CodeBuild says FAILED (its own event came first); then someone sends SUCCEEDED.
    harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    let forged = build_state_event(&build_id, 1, "SUCCEEDED", last_variables(&harness));
    let answer = harness.answer(&forged).await;
    assert_eq!(answer["reported"]["status"], "FAILED", "{answer}");
    assert_eq!(answer["reported"]["action"], "kept", "{answer}");
    assert!(
        answer["reported"]["approval"]
            .as_str()
            .is_some_and(|approval| approval.starts_with("revoked")),
        "{answer}"
    );
    assert!(the_comment(&harness).content.starts_with("❌ **FAILED**"));
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());
}

#[tokio::test]
async fn one_rules_success_does_not_approve_when_another_rules_build_never_started() {
    let (repo, master, first) = repository();
    let rules = json!([
        {"name": "test", "project": "demo-project", "pullRequests": ["master"]},
        {"name": "lint", "project": "lint-project", "pullRequests": ["master"]}
    ]);
    let harness = Harness::builder()
        .rules(&rules)
        .project("lint-project")
        .env("APPROVE_PULL_REQUESTS", "true")
        .env("REPORTER_ROLE_ARN", FUNCTION_ROLE)
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    harness.proxy.inject(
        Fault::error(
            "StartBuild",
            400,
            "AccountLimitExceededException",
            "Cannot have more than 1 builds in queue for the account",
        )
        .when_body_contains("lint-project")
        .times(20),
    );
    set_pull_request_17(&harness, &first, &master, "OPEN", false);
    harness.codecommit.set_revision("17", REVISION);
    let created =
        crate::pull_requests::event("pull-request-created.json", &first, &master, REVISION);
    let error = harness
        .invoke(&created)
        .await
        .expect_err("lint's start failed");
    assert_eq!(error.error_type, "StartBuildFailed", "{error:?}");
    let test = harness.builds_of("demo-project").await;
    let [test] = test.as_slice() else {
        panic!("one test build: {test:?}");
    };
    let test_id = test.id().expect("an id").to_owned();
    let requests = harness.start_build_requests();
    let test_request = requests
        .iter()
        .find(|request| request["projectName"] == "demo-project")
        .expect("the test rule's StartBuild");
    let passed = harness.codebuild_says(build_state_event(
        &test_id,
        1,
        "SUCCEEDED",
        test_request["environmentVariablesOverride"].clone(),
    ));
    let answer = harness.answer(&passed).await;
    assert_eq!(
        answer["reported"]["approval"],
        "not yet: project lint-project (rule lint) has no build of it yet",
        "{answer}"
    );
    assert!(harness.codecommit.approvers("17", REVISION).is_empty());
}

#[tokio::test]
async fn secrets_in_the_build_log_never_reach_the_comment() {
    let (harness, _, _, build_id) = built_pull_request(&[]).await;
    let secrets = [
        "Using AKIAIOSFODNN7EXAMPLE for the upload",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "connecting to postgres://app:hunter2@db.internal:5432/app",
        "curl -H 'Authorization: Bearer abc123.def456'",
        "DB_PASSWORD=s3cr3t-value",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA7bq98",
        "-----END RSA PRIVATE KEY-----",
        "error[E0308]: mismatched types",
    ];
    let lines: Vec<String> = secrets.iter().map(|line| (*line).to_owned()).collect();
    write_build_log(&harness, &build_id, &lines).await;
    harness
        .answer(&build_event(&harness, &build_id, "FAILED"))
        .await;
    let content = the_comment(&harness).content;
    for secret in [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI",
        "hunter2",
        "abc123.def456",
        "s3cr3t-value",
        "MIIEowIBAAKCAQEA7bq98",
    ] {
        assert!(!content.contains(secret), "{secret} in {content}");
    }
    assert!(
        content.contains("postgres://app:***@db.internal:5432/app"),
        "{content}"
    );
    assert!(
        content.contains("\nerror[E0308]: mismatched types\n"),
        "an ordinary line is kept as it is: {content}"
    );
    assert!(
        content.contains("8 lines of the log were redacted"),
        "{content}"
    );
}

#[tokio::test]
async fn a_push_of_three_hundred_tags_starts_no_build_and_says_why() {
    let harness = Harness::builder()
        .env("TAGS", "v*")
        .env("SKIP_MARKERS", "false")
        .start()
        .await;
    let commit = "5e493c6f3067653f3d04eca608b4901eb2270780";
    let references: Vec<Value> = (0..300)
        .map(|n| json!({"ref": format!("refs/tags/v{n}"), "commit": commit, "created": true}))
        .collect();
    let event = json!({"Records": [trigger_record(REPOSITORY, None, &now(), json!(references))]});
    let answer = harness.answer(&event).await;
    assert_eq!(answer["started"], json!([]));
    assert!(
        answer.to_string().len() < 64 * 1024,
        "the answer stays under 64 KiB"
    );
    let skipped = answer["skipped"].as_array().expect("skipped");
    let not_listed = answer["skippedNotListed"].as_u64().unwrap_or(0);
    assert_eq!(skipped.len() as u64 + not_listed, 300, "{answer}");
    assert!(skipped.iter().all(|skip| skip["reason"]
        == "this event would start 300 builds, more than MAX_BUILDS (20) allows: it starts none"));
    assert!(harness.start_build_requests().is_empty());
    assert!(harness.builds().await.is_empty());
}

#[tokio::test]
async fn the_reporter_refuses_a_push_sent_to_it_and_starts_nothing() {
    let harness = Harness::builder().env("_HANDLER", "reporter").start().await;
    let error = harness
        .invoke(&testkit::sample_event("push-master.json"))
        .await
        .expect_err("a push is the starter's");
    assert_eq!(error.error_type, "EventNotTaken", "{error:?}");
    assert_eq!(
        error.error_message,
        "this function is the reporter: it does not take CodeCommit push events, which go to the starter; nothing was done"
    );
    assert!(harness.start_build_requests().is_empty());
}

/// An EventBridge push of master from `previous` to `commit`, sent now.
fn pushed(id: &str, previous: &str, commit: &str) -> Value {
    let mut event = testkit::sample_event("eventbridge-push-master.json");
    event["id"] = json!(id);
    event["time"] = json!(now());
    event["detail"]["oldCommitId"] = json!(previous);
    event["detail"]["commitId"] = json!(commit);
    event
}

/// A repository whose master has commits c0 and c1 (master at c1); the harness serves it
/// with SUPERSEDE on.
async fn superseding() -> (Harness, String, String) {
    let repo = testkit::git::GitRepo::init("master");
    repo.write("README.md", "# my-app\n");
    let c0 = repo.commit("Initial commit");
    repo.write("README.md", "# my-app\n\nOne.\n");
    let c1 = repo.commit("One");
    let harness = Harness::builder()
        .env("SUPERSEDE", "true")
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    (harness, c0, c1)
}

#[tokio::test]
async fn a_force_push_back_to_an_earlier_commit_builds_it_again() {
    let (harness, c0, c1) = superseding().await;
    let repo = harness.git(REPOSITORY);
    let first = harness.answer(&pushed("e-1", &c0, &c1)).await;
    let b1 = first["started"][0]["buildId"]
        .as_str()
        .expect("b1")
        .to_owned();
    repo.write("README.md", "# my-app\n\nTwo.\n");
    let c2 = repo.commit("Two");
    let second = harness.answer(&pushed("e-2", &c1, &c2)).await;
    assert_eq!(second["started"][0]["superseded"], json!([b1]), "{second}");
    let b2 = second["started"][0]["buildId"]
        .as_str()
        .expect("b2")
        .to_owned();
    repo.git(&["reset", "--hard", &c1]);
    let third = harness.answer(&pushed("e-3", &c2, &c1)).await;
    assert_eq!(third["started"][0]["commit"], json!(c1), "{third}");
    assert_eq!(third["started"][0]["superseded"], json!([b2]), "{third}");
    let b3 = third["started"][0]["buildId"]
        .as_str()
        .expect("b3")
        .to_owned();
    assert_ne!(b3, b1, "not the first push's stopped build");
    assert_eq!(
        harness.proxy.build_status(&b3),
        Some(BuildStatus::InProgress)
    );
    let tokens: Vec<Value> = harness
        .start_build_requests()
        .iter()
        .map(|request| request["idempotencyToken"].clone())
        .collect();
    assert_eq!(tokens.len(), 4, "{tokens:?}");
    assert_eq!(
        tokens[2], tokens[0],
        "the push back's usual token is the first push's: CodeBuild named that stopped build"
    );
    assert_ne!(
        tokens[3], tokens[0],
        "so it started one under a token of its own"
    );
    // A redelivery of the third push starts nothing new: both its tokens name builds.
    let again = harness.answer(&pushed("e-3", &c2, &c1)).await;
    assert_eq!(again["started"][0]["buildId"], json!(b3), "{again}");
    assert_eq!(harness.builds().await.len(), 3);
}

#[tokio::test]
async fn a_push_delivered_after_its_branch_moved_on_is_not_built() {
    let (harness, c0, c1) = superseding().await;
    let repo = harness.git(REPOSITORY);
    repo.write("README.md", "# my-app\n\nTwo.\n");
    let c2 = repo.commit("Two");
    // c2's push was built; c1's comes late.
    harness.answer(&pushed("e-2", &c1, &c2)).await;
    let late = harness.answer(&pushed("e-1", &c0, &c1)).await;
    assert_eq!(late["started"], json!([]), "{late}");
    assert_eq!(
        late["skipped"][0]["reason"],
        format!(
            "branch master matches `master` in BRANCHES, but the branch has moved on to commit {} (GetBranch): the rule supersedes, so the newer change builds instead",
            &c2[..8]
        )
    );
    assert_eq!(harness.built_commits().await, [c2]);
}

#[tokio::test]
async fn a_rebuild_while_the_revisions_build_runs_starts_nothing() {
    let (harness, source, destination, build_id) = built_pull_request(&[]).await;
    let rebuild = harness.codecommit.add_comment(StoredComment {
        id: String::new(),
        repository: REPOSITORY.into(),
        pull_request: Some("17".into()),
        before: Some(destination),
        after: source,
        author: "arn:aws:iam::123456789012:user/bob".into(),
        content: "/rebuild".into(),
        updates: 0,
        token: None,
        deleted: false,
    });
    let event =
        testkit::events::pull_request_comment_event(&rebuild, "arn:aws:iam::123456789012:user/bob");
    let answer = harness.answer(&event).await;
    assert_eq!(answer["started"], json!([]), "{answer}");
    assert_eq!(
        answer["skipped"][0]["reason"],
        format!(
            "build {build_id} of this revision is still running: /rebuild starts nothing until it ends"
        )
    );
    assert_eq!(harness.builds().await.len(), 1);
    // Once it has ended, the same command rebuilds.
    harness.proxy.finish_build(&build_id);
    let answer = harness.answer(&event).await;
    assert_eq!(answer["started"][0]["pullRequest"], "17", "{answer}");
}
