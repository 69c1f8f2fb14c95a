use super::Reporter;
use crate::config::{CODEBUILD_PROJECT, PULL_REQUESTS, REPORTER_ROLE_ARN};
use crate::handler::answer::{ReportAction, Reported};
use crate::test_support::{
    build_id, build_state_event, config, pull_request_build_variables, FakeCodeBuild,
    FakeCodeCommit, FakeLogs, OWN_SESSION, REPORTER_ROLE,
};
use serde_json::{json, Value};

type Fakes = Reporter<FakeCodeBuild, FakeCodeCommit, FakeLogs>;

fn handler(extra: &[(&'static str, &str)]) -> Fakes {
    let mut vars = vec![
        (CODEBUILD_PROJECT, "app-ci"),
        (PULL_REQUESTS, "main"),
        (REPORTER_ROLE_ARN, REPORTER_ROLE),
    ];
    vars.extend_from_slice(extra);
    let logs = FakeLogs {
        lines: (1..=30).map(|n| format!("log line {n}")).collect(),
    };
    Reporter::new(
        config(&vars),
        FakeCodeBuild::default(),
        FakeCodeCommit::default(),
        logs,
    )
}

fn event(status: &str) -> Value {
    build_state_event(
        &build_id("app-ci"),
        42,
        status,
        pull_request_build_variables(),
    )
}

/// The answer to `event`, which CodeBuild confirms (it reports the build as the event says).
async fn report(handler: &Fakes, event: &Value) -> Reported {
    handler.codebuild.says(event, None);
    answer(handler, event).await
}

/// The answer to `event`, whatever CodeBuild says.
async fn answer(handler: &Fakes, event: &Value) -> Reported {
    handler
        .handle(&event.to_string(), None)
        .await
        .expect("reported")
        .reported
        .expect("a report")
}

fn comments(handler: &Fakes) -> Vec<(String, String, String)> {
    handler.codecommit.comments.lock().expect("lock").clone()
}

#[tokio::test]
async fn one_comment_follows_the_build_and_keeps_its_final_status() {
    let handler = handler(&[]);
    let started = report(&handler, &event("IN_PROGRESS")).await;
    assert_eq!(
        (started.action, started.comment.as_deref()),
        (ReportAction::Posted, Some("comment-1"))
    );
    let failed = report(&handler, &event("FAILED")).await;
    assert_eq!(
        (failed.action, failed.comment.as_deref()),
        (ReportAction::Updated, Some("comment-1"))
    );
    for late in ["IN_PROGRESS", "FAILED"] {
        let kept = report(&handler, &event(late)).await;
        assert_eq!(kept.action, ReportAction::Kept, "{late}");
        assert!(kept
            .reason
            .expect("a reason")
            .contains("final status FAILED"));
    }
    let [(_, author, content)] = comments(&handler).try_into().expect("one comment");
    assert_eq!(author, OWN_SESSION);
    assert!(content.starts_with("❌ **FAILED**"), "{content}");
    assert!(
        content.contains("**Last 20 lines of the build log**"),
        "{content}"
    );
    assert!(content.contains("log line 30\n") && !content.contains("log line 10\n"));
}

#[tokio::test]
async fn the_final_status_first_is_never_taken_back_by_the_start() {
    let handler = handler(&[("COMMENT_LOG_LINES", "0")]);
    assert_eq!(
        report(&handler, &event("SUCCEEDED")).await.action,
        ReportAction::Posted
    );
    assert_eq!(
        report(&handler, &event("IN_PROGRESS")).await.action,
        ReportAction::Kept
    );
    let [(_, _, content)] = comments(&handler).try_into().expect("one comment");
    assert!(content.starts_with("✅ **SUCCEEDED**"), "{content}");
    assert!(!content.contains("build log"), "{content}");
}

#[tokio::test]
async fn someone_elses_comment_with_the_stamp_is_not_the_functions() {
    let handler = handler(&[]);
    report(&handler, &event("IN_PROGRESS")).await;
    let forged = comments(&handler)[0]
        .2
        .replace("IN_PROGRESS (running)", "SUCCEEDED (ended)");
    handler.codecommit.comments.lock().expect("lock").insert(
        0,
        (
            "forged".into(),
            "arn:aws:iam::123456789012:user/mallory".into(),
            forged,
        ),
    );
    let failed = report(&handler, &event("FAILED")).await;
    assert_eq!(
        (failed.action, failed.comment.as_deref()),
        (ReportAction::Updated, Some("comment-1"))
    );
}

#[tokio::test]
async fn builds_it_did_not_start_or_does_not_report_are_ignored_with_the_reason() {
    let handler = handler(&[]);
    let foreign = report(
        &handler,
        &build_state_event(&build_id("app-ci"), 1, "FAILED", json!([])),
    )
    .await;
    assert_eq!(foreign.action, ReportAction::Ignored);
    assert!(foreign
        .reason
        .expect("a reason")
        .contains("has no CODECOMMIT_* variables"));
    let other = build_state_event(
        &build_id("other-ci"),
        1,
        "FAILED",
        pull_request_build_variables(),
    );
    let other = report(&handler, &other).await;
    assert_eq!(
        other.reason.as_deref(),
        Some("project other-ci is not one this function starts")
    );
    let push = json!([
        {"name": "CODECOMMIT_REPOSITORY", "type": "PLAINTEXT", "value": "my-app"},
        {"name": "CODECOMMIT_COMMIT", "type": "PLAINTEXT", "value": crate::test_support::PR_SOURCE}
    ]);
    let push = report(
        &handler,
        &build_state_event(&build_id("app-ci"), 1, "FAILED", push),
    )
    .await;
    assert_eq!(
        push.reason.as_deref(),
        Some("COMMIT_COMMENTS is off: push builds are not reported")
    );
    assert!(comments(&handler).is_empty());
    assert!(handler.codecommit.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn without_its_role_it_writes_nothing_and_says_why() {
    let handler = Reporter::new(
        config(&[(CODEBUILD_PROJECT, "app-ci"), (PULL_REQUESTS, "main")]),
        FakeCodeBuild::default(),
        FakeCodeCommit::default(),
        FakeLogs::default(),
    );
    let error = handler
        .handle(&event("FAILED").to_string(), None)
        .await
        .expect_err("refused");
    assert_eq!(error.error_type(), "InvalidConfiguration");
    assert!(error
        .to_string()
        .starts_with("REPORTER_ROLE_ARN is not set"));
    assert!(comments(&handler).is_empty());
}

#[tokio::test]
async fn a_build_codebuild_does_not_know_is_ignored_and_writes_nothing() {
    let handler = handler(&[("APPROVE_PULL_REQUESTS", "true")]);
    let mut forged = event("SUCCEEDED");
    forged["detail"]["additional-information"]["build-number"] = json!(999_999);
    let answer = answer(&handler, &forged).await;
    assert_eq!(answer.action, ReportAction::Ignored);
    assert!(
        answer
            .reason
            .as_deref()
            .is_some_and(|reason| reason.starts_with("CodeBuild knows no build app-ci:")),
        "{answer:?}"
    );
    assert_eq!(answer.approval, None);
    assert!(comments(&handler).is_empty());
    assert!(handler.codecommit.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn the_status_number_and_log_are_codebuilds_not_the_events() {
    let handler = handler(&[]);
    handler.codebuild.says(&event("FAILED"), None);
    let mut forged = event("SUCCEEDED");
    forged["detail"]["additional-information"]["build-number"] = json!(999_999);
    let answer = answer(&handler, &forged).await;
    assert_eq!(
        (answer.action, answer.status.as_str()),
        (ReportAction::Posted, "FAILED")
    );
    let [(_, _, content)] = comments(&handler).try_into().expect("one comment");
    assert!(content.starts_with("❌ **FAILED**"), "{content}");
    assert!(content.contains("build [#42]("), "{content}");
    assert!(!content.contains("999999"), "{content}");
    assert!(
        content.contains("**Last 20 lines of the build log**"),
        "{content}"
    );
}

#[tokio::test]
async fn an_event_whose_variables_are_not_the_builds_is_ignored() {
    let handler = handler(&[]);
    handler.codebuild.says(&event("FAILED"), None);
    let mut forged = event("FAILED");
    let variables =
        &mut forged["detail"]["additional-information"]["environment"]["environment-variables"];
    for variable in variables.as_array_mut().expect("variables") {
        if variable["name"] == "CODECOMMIT_PULL_REQUEST_ID" {
            variable["value"] = json!("18");
        }
    }
    let answer = answer(&handler, &forged).await;
    assert_eq!(answer.action, ReportAction::Ignored);
    assert!(
        answer
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("are not those CodeBuild reports")),
        "{answer:?}"
    );
    assert!(comments(&handler).is_empty());
}

#[tokio::test]
async fn with_starter_role_arn_only_the_starters_builds_are_reported() {
    let handler = handler(&[("STARTER_ROLE_ARN", "arn:aws:iam::123456789012:role/starter")]);
    handler.codebuild.says(&event("FAILED"), Some("mallory"));
    let by_hand = answer(&handler, &event("FAILED")).await;
    assert_eq!(by_hand.action, ReportAction::Ignored);
    assert_eq!(
        by_hand.reason.as_deref(),
        Some(
            format!(
                "build {} was started by mallory, not by a session of STARTER_ROLE_ARN's role starter",
                build_id("app-ci")
            )
            .as_str()
        )
    );
    assert!(comments(&handler).is_empty());
    handler
        .codebuild
        .says(&event("FAILED"), Some("starter/codecommit-build-trigger"));
    let started = answer(&handler, &event("FAILED")).await;
    assert_eq!(started.action, ReportAction::Posted);
}
