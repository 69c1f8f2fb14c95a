//! Rules from each repository's own file (`REPOSITORY_CONFIG`).

use super::A;
use crate::config::{ALLOWED_PROJECTS, CODEBUILD_PROJECT, PULL_REQUESTS, REPOSITORY_CONFIG};
use crate::handler::error::HandlerError;
use crate::handler::Starter;
use crate::test_support::{
    config, pull_request_event, record, FakeCodeBuild, FakeCodeCommit, PR_DESTINATION, PR_SOURCE,
};
use serde_json::{json, Value};

const FILE: &str = ".codecommit-build-trigger.yml";
const B: &str = "2222222222222222222222222222222222222222";

/// A starter whose repositories may start `team-*` projects, and whose own rule builds
/// `fallback` on master (and pull requests into main).
fn starter(codecommit: FakeCodeCommit) -> Starter<FakeCodeBuild, FakeCodeCommit> {
    let config = config(&[
        (REPOSITORY_CONFIG, FILE),
        (ALLOWED_PROJECTS, "team-*"),
        (CODEBUILD_PROJECT, "fallback"),
        (PULL_REQUESTS, "main"),
    ]);
    Starter::new(config, FakeCodeBuild::default(), codecommit)
}

/// A CodeCommit whose `my-app` holds `files` (commit, text), every commit's message plain.
fn codecommit(files: &[(&str, &str)]) -> FakeCodeCommit {
    FakeCodeCommit {
        messages: [A, B, PR_SOURCE]
            .iter()
            .map(|commit| ((*commit).to_owned(), "A change".to_owned()))
            .collect(),
        files: files
            .iter()
            .map(|(commit, text)| {
                let key = ("my-app".to_owned(), (*commit).to_owned(), FILE.to_owned());
                (key, (*text).to_owned())
            })
            .collect(),
        ..FakeCodeCommit::default()
    }
}

fn push(references: &[(&str, &str)]) -> String {
    let references: Vec<Value> = references
        .iter()
        .map(|(reference, commit)| json!({"ref": reference, "commit": commit}))
        .collect();
    json!({"Records": [record("my-app", None, json!(references))]}).to_string()
}

const API: &str = "rules:\n  - name: api\n    project: team-api\n    branches: [main]\n    pullRequests: [main]\n";

#[tokio::test]
async fn a_push_builds_what_the_file_at_the_pushed_commit_says_reading_it_beside_the_message() {
    let starter = starter(codecommit(&[(A, API)]));
    let response = starter
        .handle(&push(&[("refs/heads/main", A)]), None)
        .await
        .expect("success");
    let started = &response.started;
    assert_eq!(started.len(), 1, "{response:?}");
    assert_eq!(started[0].project, "team-api");
    assert_eq!(started[0].rule.as_deref(), Some("api"));
    let mut calls = starter.codecommit.calls.lock().expect("lock").clone();
    calls.sort();
    assert_eq!(
        calls,
        [
            format!("GetCommit {A}"),
            format!("GetFile my-app {A} {FILE}")
        ],
        "the file and the message, each read once"
    );
}

#[tokio::test]
async fn without_a_file_the_functions_own_rules_decide() {
    let starter = starter(codecommit(&[]));
    let response = starter
        .handle(
            &push(&[("refs/heads/master", A), ("refs/heads/main", A)]),
            None,
        )
        .await
        .expect("success");
    assert_eq!(response.started.len(), 1, "{response:?}");
    assert_eq!(response.started[0].project, "fallback");
    assert_eq!(
        response.skipped[0].reason,
        "branch main does not match BRANCHES"
    );
}

#[tokio::test]
async fn without_a_file_or_rules_of_its_own_nothing_builds_with_the_reason() {
    let config = config(&[(REPOSITORY_CONFIG, FILE), (ALLOWED_PROJECTS, "team-*")]);
    let starter = Starter::new(config, FakeCodeBuild::default(), codecommit(&[]));
    let response = starter
        .handle(&push(&[("refs/heads/main", A)]), None)
        .await
        .expect("success");
    assert!(response.started.is_empty());
    assert_eq!(
        response.skipped[0].reason,
        format!(
            "{FILE} is not in my-app at commit 11111111, and the function has no rules of its own"
        )
    );
}

#[tokio::test]
async fn an_invalid_file_builds_nothing_of_its_repository_and_names_the_rule_field_and_line() {
    let invalid =
        "rules:\n  - name: api\n    project: team-api\n    branches: [main]\n    paths: ['[']\n";
    let starter = starter(codecommit(&[(A, invalid), (B, API)]));
    let response = starter
        .handle(
            &push(&[("refs/heads/main", A), ("refs/heads/other", B)]),
            None,
        )
        .await
        .expect("an invalid file is answered, not retried");
    assert!(response.started.is_empty(), "{response:?}");
    let reason = format!(
        "{FILE} at commit 11111111 is invalid: rules[0] (api).paths, line 5: pattern 1 `[` has a `[` class that is never closed with `]`"
    );
    let reasons: Vec<&str> = response.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons, [reason.as_str(), reason.as_str()]);
    assert!(starter.codebuild.requests.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_project_the_repository_was_not_given_is_refused() {
    let rogue = "rules:\n  - {name: deploy, project: prod-deploy, branches: [main]}\n";
    let starter = starter(codecommit(&[(A, rogue)]));
    let response = starter
        .handle(&push(&[("refs/heads/main", A)]), None)
        .await
        .expect("success");
    assert!(response.started.is_empty());
    assert_eq!(
        response.skipped[0].reason,
        format!("{FILE} at commit 11111111 is invalid: rules[0] (deploy).project, line 2: \"prod-deploy\" is not a project that ALLOWED_PROJECTS allows")
    );
}

#[tokio::test]
async fn a_pull_request_builds_what_the_file_at_its_destination_commit_says() {
    let widened = "rules:\n  - {name: everything, project: team-release, branches: ['**'], pullRequests: ['**']}\n";
    let starter = starter(codecommit(&[(PR_DESTINATION, API), (PR_SOURCE, widened)]));
    let event = pull_request_event("pullRequestCreated", "main", "Open", "False").to_string();
    let response = starter.handle(&event, None).await.expect("success");
    assert_eq!(response.started.len(), 1, "{response:?}");
    assert_eq!(response.started[0].project, "team-api");
    let calls = starter.codecommit.calls.lock().expect("lock").clone();
    assert!(calls.contains(&format!("GetFile my-app {PR_DESTINATION} {FILE}")));
    assert!(
        !calls
            .iter()
            .any(|call| call.contains(&format!("GetFile my-app {PR_SOURCE}"))),
        "{calls:?}"
    );
}

/// A push of main at `A` to a starter whose every `GetFile` fails with `code`.
async fn push_with_file_failure(
    code: &'static str,
) -> (
    Starter<FakeCodeBuild, FakeCodeCommit>,
    Result<crate::handler::answer::Response, HandlerError>,
) {
    let starter = starter(FakeCodeCommit {
        file_failure: Some(code),
        ..codecommit(&[])
    });
    let outcome = starter.handle(&push(&[("refs/heads/main", A)]), None).await;
    (starter, outcome)
}

#[tokio::test]
async fn a_file_that_cannot_be_read_fails_the_event_and_starts_nothing() {
    let (starter, outcome) = push_with_file_failure("ThrottlingException").await;
    let error = outcome.expect_err("unknown rules");
    assert!(matches!(
        error,
        HandlerError::RepositoryFileUnreadable { .. }
    ));
    assert_eq!(error.error_type(), "RepositoryFileUnreadable");
    assert!(
        error.to_string().starts_with(&format!(
            "{FILE} of repository my-app at commit {A} could not be read"
        )),
        "{error}"
    );
    assert!(starter.codebuild.requests.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_commit_the_repository_does_not_have_builds_nothing_and_is_not_retried() {
    let (_, outcome) = push_with_file_failure("CommitDoesNotExistException").await;
    let response = outcome.expect("answered");
    assert!(response.started.is_empty());
    assert!(response.skipped[0]
        .reason
        .starts_with(&format!("commit {A} is not in repository my-app")));
}
