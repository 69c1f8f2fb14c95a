use super::super::Starter;
use crate::config::{CODEBUILD_PROJECT, PULL_REQUESTS, REBUILD_COMMAND, REPORTER_ROLE_ARN};
use crate::test_support::{
    config, pull_request_comment_event, pull_request_event, FakeCodeBuild, FakeCodeCommit,
    OWN_SESSION, PR_REVISION, PR_SOURCE, REPORTER_ROLE,
};

type Fakes = Starter<FakeCodeBuild, FakeCodeCommit>;

const BOB: &str = "arn:aws:iam::123456789012:user/bob";

/// A handler whose CodeCommit holds comment `c-1` by `author` saying `text`.
fn handler(extra: &[(&'static str, &str)], author: &str, text: &str) -> Fakes {
    let mut vars = vec![(CODEBUILD_PROJECT, "app-ci"), (PULL_REQUESTS, "main")];
    vars.extend_from_slice(extra);
    configured(&vars, author, text)
}

/// A handler with `vars` (and `REPORTER_ROLE_ARN`) whose CodeCommit holds comment `c-1` by
/// `author` saying `text`.
fn configured(vars: &[(&'static str, &str)], author: &str, text: &str) -> Fakes {
    let mut vars = vars.to_vec();
    vars.push((REPORTER_ROLE_ARN, REPORTER_ROLE));
    let codecommit = FakeCodeCommit::default();
    codecommit
        .comments
        .lock()
        .expect("lock")
        .push(("c-1".into(), author.into(), text.into()));
    Starter::new(config(&vars), FakeCodeBuild::default(), codecommit)
}

async fn answer(handler: &Fakes, author: &str) -> serde_json::Value {
    let event = pull_request_comment_event("c-1", author).to_string();
    serde_json::to_value(handler.handle(&event, None).await.expect("answered")).expect("json")
}

#[tokio::test]
async fn the_rebuild_command_builds_the_current_revision_under_a_token_of_its_own() {
    let handler = handler(&[], BOB, "  /rebuild\n");
    let answer = answer(&handler, BOB).await;
    assert_eq!(answer["started"][0]["commit"], PR_SOURCE, "{answer}");
    assert_eq!(answer["started"][0]["pullRequest"], "17");
    let created = pull_request_event("pullRequestCreated", "main", "Open", "False").to_string();
    handler.handle(&created, None).await.expect("built");
    let requests = handler.codebuild.requests.lock().expect("lock").clone();
    let [rebuild, created] = requests.as_slice() else {
        panic!("two builds: {requests:?}");
    };
    assert_eq!(rebuild.source_version, created.source_version);
    let without_pusher = |environment: &[(String, String)]| -> Vec<(String, String)> {
        environment
            .iter()
            .filter(|(name, _)| name != "CODECOMMIT_PUSHER_ARN")
            .cloned()
            .collect()
    };
    assert_eq!(
        without_pusher(&rebuild.environment),
        without_pusher(&created.environment),
        "the same variables, but for who asked"
    );
    assert!(rebuild.environment.contains(&(
        "CODECOMMIT_PULL_REQUEST_REVISION".into(),
        PR_REVISION.into()
    )));
    assert_eq!(
        rebuild
            .environment
            .iter()
            .find(|(name, _)| name == "CODECOMMIT_PUSHER_ARN")
            .map(|(_, v)| v.as_str()),
        Some(BOB)
    );
    assert_ne!(
        rebuild.idempotency_token, created.idempotency_token,
        "a rebuild is not a repeat"
    );
}

#[tokio::test]
async fn other_comments_and_the_functions_own_start_nothing() {
    let cases = [
        (
            handler(&[], BOB, "/rebuild please"),
            BOB,
            "comment c-1 is not the rebuild command /rebuild (or /rebuild failed)",
        ),
        (
            handler(&[], OWN_SESSION, "/rebuild"),
            OWN_SESSION,
            "the comment is the function's own",
        ),
        (
            handler(&[(REBUILD_COMMAND, "")], BOB, "/rebuild"),
            BOB,
            "REBUILD_COMMAND is off: comments never build",
        ),
        (
            handler(&[(REBUILD_COMMAND, "!ci again")], BOB, "/rebuild"),
            BOB,
            "comment c-1 is not the rebuild command !ci again (or !ci again failed)",
        ),
    ];
    for (handler, author, reason) in cases {
        let answer = answer(&handler, author).await;
        assert_eq!(answer["started"], serde_json::json!([]), "{answer}");
        assert_eq!(answer["skipped"][0]["reason"], reason, "{answer}");
        assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    }
}

#[tokio::test]
async fn a_rebuild_while_the_revisions_build_runs_starts_nothing() {
    let mut handler = handler(&[], BOB, "/rebuild");
    let running = crate::aws::reads::PastBuild {
        id: "app-ci:running".into(),
        source_version: Some(PR_SOURCE.into()),
        in_progress: true,
        repository: Some("my-app".into()),
        reference: Some("refs/heads/feature/retries".into()),
        pull_request: Some("17".into()),
        revision: Some(PR_REVISION.into()),
        rule: None,
        status: Some("IN_PROGRESS".into()),
        number: Some(3),
        started_at: Some(0),
        initiator: None,
        in_batch: false,
    };
    handler.codebuild.history = vec![running.clone()];
    let refused = answer(&handler, BOB).await;
    assert_eq!(refused["started"], serde_json::json!([]), "{refused}");
    assert_eq!(
        refused["skipped"][0]["reason"],
        "build app-ci:running of this revision is still running: /rebuild starts nothing until it ends"
    );
    assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    // Once it has ended, the same comment starts the rebuild.
    handler.codebuild.history = vec![crate::aws::reads::PastBuild {
        in_progress: false,
        status: Some("FAILED".into()),
        ..running
    }];
    let answer = answer(&handler, BOB).await;
    assert_eq!(answer["started"][0]["pullRequest"], "17", "{answer}");
}

#[tokio::test]
async fn rebuild_failed_starts_again_only_what_failed_or_was_stopped() {
    let build = |id: &str, status: &str| crate::aws::reads::PastBuild {
        id: id.into(),
        source_version: Some(PR_SOURCE.into()),
        in_progress: false,
        repository: Some("my-app".into()),
        reference: Some("refs/heads/feature/retries".into()),
        pull_request: Some("17".into()),
        revision: Some(PR_REVISION.into()),
        rule: None,
        status: Some(status.into()),
        number: Some(3),
        started_at: Some(0),
        initiator: None,
        in_batch: false,
    };
    let mut handler = handler(&[], BOB, "/rebuild failed");
    // Newest first: the latest build of the revision succeeded after an earlier failure.
    handler.codebuild.history = vec![
        build("app-ci:second", "SUCCEEDED"),
        build("app-ci:first", "FAILED"),
    ];
    let held = answer(&handler, BOB).await;
    assert_eq!(held["started"], serde_json::json!([]), "{held}");
    assert_eq!(
        held["skipped"][0]["reason"],
        "the latest build of this revision, app-ci:second, ended SUCCEEDED: /rebuild failed starts only what failed"
    );
    for status in ["FAILED", "STOPPED", "TIMED_OUT", "FAULT"] {
        handler.codebuild.history = vec![build("app-ci:latest", status)];
        let started = answer(&handler, BOB).await;
        assert_eq!(
            started["started"][0]["commit"], PR_SOURCE,
            "{status}: {started}"
        );
    }
    handler.codebuild.history = Vec::new();
    let none = answer(&handler, BOB).await;
    assert_eq!(
        none["skipped"][0]["reason"],
        "no build of this revision to start again: /rebuild failed starts only what failed"
    );
    handler.codebuild.history_denied = true;
    let unread = answer(&handler, BOB).await;
    assert_eq!(
        unread["skipped"][0]["reason"],
        "the revision's builds could not be read: /rebuild failed starts nothing; /rebuild starts them all"
    );
    let started = handler.codebuild.requests.lock().expect("lock").len();
    assert_eq!(started, 4, "one for each failure above, nothing more");
}

#[tokio::test]
async fn rebuild_failed_of_a_batch_retries_its_failed_builds_and_a_plain_rebuild_starts_a_new_one()
{
    let rules =
        r#"[{"name": "matrix", "project": "app-ci", "pullRequests": ["main"], "batch": true}]"#;
    let batch = |status: &str| crate::aws::reads::PastBuild {
        id: "app-ci:batch-1".into(),
        source_version: Some(PR_SOURCE.into()),
        in_progress: status == "IN_PROGRESS",
        repository: Some("my-app".into()),
        reference: Some("refs/heads/feature/retries".into()),
        pull_request: Some("17".into()),
        revision: Some(PR_REVISION.into()),
        rule: Some("matrix".into()),
        status: Some(status.into()),
        number: Some(1),
        started_at: Some(0),
        initiator: None,
        in_batch: false,
    };
    let mut handler = configured(&[(crate::config::RULES, rules)], BOB, "/rebuild failed");
    handler.codebuild.batch_history = vec![batch("FAILED")];
    let retried = answer(&handler, BOB).await;
    assert_eq!(
        retried["started"][0]["batchId"], "app-ci:batch-1",
        "{retried}"
    );
    assert_eq!(retried["started"][0]["retried"], true, "{retried}");
    let retries = handler.codebuild.retried.lock().expect("lock").clone();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].0, "app-ci:batch-1");
    answer(&handler, BOB).await;
    let again = handler.codebuild.retried.lock().expect("lock").clone();
    assert_eq!(
        again[1], again[0],
        "a redelivered comment retries under the same token"
    );
    assert!(
        handler.codebuild.requests.lock().expect("lock").is_empty(),
        "no new batch"
    );

    handler.codebuild.batch_history = vec![batch("IN_PROGRESS")];
    let running = answer(&handler, BOB).await;
    assert_eq!(
        running["skipped"][0]["reason"],
        "batch app-ci:batch-1 of this revision is still running: /rebuild starts nothing until it ends"
    );
    let mut plain = configured(&[(crate::config::RULES, rules)], BOB, "/rebuild");
    plain.codebuild.batch_history = vec![batch("FAILED")];
    let started = answer(&plain, BOB).await;
    assert!(started["started"][0]["batchId"].is_string(), "{started}");
    assert_eq!(started["started"][0].get("retried"), None, "{started}");
    let requests = plain.codebuild.requests.lock().expect("lock").clone();
    assert!(
        requests.len() == 1 && requests[0].batch,
        "a new batch: {requests:?}"
    );
}

#[test]
fn the_command_asks_for_everything_or_for_what_failed() {
    use super::asks_for;
    assert_eq!(asks_for("/rebuild", "/rebuild"), Some(false));
    assert_eq!(asks_for("/rebuild failed", "/rebuild"), Some(true));
    assert_eq!(asks_for("/rebuild   failed", "/rebuild"), Some(true));
    assert_eq!(asks_for("/rebuildfailed", "/rebuild"), None);
    assert_eq!(asks_for("/rebuild everything", "/rebuild"), None);
    assert_eq!(asks_for("please /rebuild", "/rebuild"), None);
}
