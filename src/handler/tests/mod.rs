use super::Reporter;
use super::Starter;
use crate::aws::reads::PastBuild;
use crate::aws::AwsError;
use crate::config::{BRANCHES, CODEBUILD_PROJECT, RULES, SKIP_MARKERS};
use crate::test_support::{config, record, FakeCodeBuild, FakeCodeCommit, FakeLogs};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

mod repository_files;

const A: &str = "1111111111111111111111111111111111111111";
const OLD: &str = "0000000000000000000000000000000000000abc";

fn handler(
    codebuild: FakeCodeBuild,
    codecommit: FakeCodeCommit,
) -> Starter<FakeCodeBuild, FakeCodeCommit> {
    let config = config(&[(CODEBUILD_PROJECT, "my-project"), (BRANCHES, "master,dev")]);
    Starter::new(config, codebuild, codecommit)
}

fn event(refs: &[&str]) -> String {
    let references: Vec<_> = refs
        .iter()
        .map(|r| json!({"ref": r, "commit": A}))
        .collect();
    json!({"Records": [record("my-app", None, json!(references))]}).to_string()
}

fn with_message(message: &str) -> FakeCodeCommit {
    FakeCodeCommit {
        messages: HashMap::from([(A.to_owned(), message.to_owned())]),
        ..FakeCodeCommit::default()
    }
}

#[tokio::test]
async fn starts_what_matches_and_lists_the_rest() {
    let handler = handler(FakeCodeBuild::default(), with_message("Add a feature"));
    let response = handler
        .handle(
            &event(&["refs/heads/master", "refs/heads/x", "refs/heads/dev"]),
            None,
        )
        .await
        .expect("success");
    let value = serde_json::to_value(&response).expect("serializable");
    assert_eq!(
        value,
        json!({
            "started": [
                {"project": "my-project", "buildId": "my-project:11111111", "repository": "my-app",
                 "ref": "refs/heads/master", "commit": A},
                {"project": "my-project", "buildId": "my-project:11111111", "repository": "my-app",
                 "ref": "refs/heads/dev", "commit": A},
            ],
            "skipped": [
                {"repository": "my-app", "ref": "refs/heads/x", "commit": A,
                 "reason": "branch x does not match BRANCHES"},
            ]
        })
    );
    assert_eq!(handler.codebuild.requests.lock().expect("lock").len(), 2);
    assert_eq!(
        *handler.codecommit.calls.lock().expect("lock"),
        [format!("GetCommit {A}")],
        "one message read for the one commit both references point at"
    );
}

#[tokio::test]
async fn one_failure_does_not_stop_the_others_and_fails_the_invocation() {
    let codebuild = FakeCodeBuild {
        fail: vec!["refs/heads/master"],
        ..FakeCodeBuild::default()
    };
    let handler = handler(codebuild, with_message("x"));
    let error = handler
        .handle(&event(&["refs/heads/master", "refs/heads/dev"]), None)
        .await
        .expect_err("a failed start fails the invocation");
    assert_eq!(error.error_type(), "StartBuildFailed");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "StartBuild failed for 1 reference(s): my-app refs/heads/master at {A} (AccessDeniedException)"
        )),
        "{message}"
    );
    assert_eq!(
        handler.codebuild.requests.lock().expect("lock").len(),
        2,
        "dev was still attempted"
    );
}

#[tokio::test]
async fn a_parameter_mismatch_is_reported_as_already_started() {
    let codebuild = FakeCodeBuild {
        mismatch: vec!["refs/heads/master"],
        ..FakeCodeBuild::default()
    };
    let handler = handler(codebuild, with_message("x"));
    let response = handler
        .handle(&event(&["refs/heads/master"]), None)
        .await
        .expect("success");
    let value = serde_json::to_value(&response).expect("serializable");
    assert_eq!(
        value["started"],
        json!([{"project": "my-project", "repository": "my-app", "ref": "refs/heads/master",
                "commit": A, "alreadyStarted": true}])
    );
}

#[tokio::test]
async fn an_invalid_event_starts_nothing_and_reads_nothing() {
    let handler = handler(FakeCodeBuild::default(), FakeCodeCommit::default());
    let mut event: serde_json::Value =
        serde_json::from_str(&event(&["refs/heads/master"])).expect("json");
    event["Records"][0]["codecommit"]["references"]
        .as_array_mut()
        .expect("array")
        .push(json!({"ref": "refs/heads/dev", "commit": "nope"}));
    let error = handler
        .handle(&event.to_string(), None)
        .await
        .expect_err("invalid");
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(
        error
            .to_string()
            .contains("Records[0].codecommit.references[1].commit"),
        "{error}"
    );
    assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    assert!(handler.codecommit.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_skip_marker_skips_every_rule_with_one_read() {
    let config = config(&[(
        RULES,
        r#"[{"name": "a", "project": "pa", "branches": ["master"]}, {"name": "b", "project": "pb", "branches": ["*"]}]"#,
    )]);
    let handler = Starter::new(
        config,
        FakeCodeBuild::default(),
        with_message("Update docs [skip ci]"),
    );
    let response = handler
        .handle(&event(&["refs/heads/master"]), None)
        .await
        .expect("success");
    assert!(response.started.is_empty());
    assert_eq!(
        response.skipped[0].reason,
        "the message of commit 11111111 contains [skip ci]"
    );
    assert_eq!(handler.codecommit.calls.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn without_path_rules_and_skip_markers_codecommit_is_never_called() {
    let config = config(&[(CODEBUILD_PROJECT, "p1"), (SKIP_MARKERS, "false")]);
    let handler = Starter::new(config, FakeCodeBuild::default(), FakeCodeCommit::default());
    let response = handler
        .handle(&event(&["refs/heads/master"]), None)
        .await
        .expect("success");
    assert_eq!(response.started.len(), 1);
    assert!(handler.codecommit.calls.lock().expect("lock").is_empty());
    assert_eq!(handler.codebuild.history_reads.load(Ordering::SeqCst), 0);
}

fn past(id: &str, version: &str, reference: &str, in_progress: bool) -> PastBuild {
    PastBuild {
        id: id.to_owned(),
        source_version: Some(version.to_owned()),
        in_progress,
        repository: Some("my-app".to_owned()),
        reference: Some(reference.to_owned()),
        pull_request: None,
        revision: None,
        rule: None,
        status: None,
        number: None,
        started_at: Some(0),
        initiator: None,
        in_batch: false,
    }
}

#[tokio::test]
async fn a_monorepo_push_starts_only_the_changed_services_build_and_supersedes_its_older_build() {
    let config = config(&[
        (SKIP_MARKERS, "false"),
        (
            RULES,
            r#"[{"name": "api", "project": "api-build", "branches": ["master"], "paths": ["services/api/**"],
                 "supersede": true, "environment": {"SERVICE": "api"}},
                {"name": "web", "project": "web-build", "branches": ["master"], "paths": ["services/web/**"]}]"#,
        ),
    ]);
    let pushed_at = 1_795_860_000_000; // 2026-11-28T10:00:00Z, the event's time
    let codebuild = FakeCodeBuild {
        history: vec![
            past("api-build:running", OLD, "refs/heads/master", true),
            past("api-build:other-ref", OLD, "refs/heads/dev", true),
            PastBuild {
                revision: None,
                rule: None,
                status: None,
                number: None,
                started_at: Some(pushed_at + 1000),
                ..past("api-build:newer-push", OLD, "refs/heads/master", true)
            },
        ],
        ..FakeCodeBuild::default()
    };
    let codecommit = FakeCodeCommit {
        diffs: HashMap::from([(
            (OLD.to_owned(), A.to_owned()),
            vec!["services/api/src/main.rs".to_owned()],
        )]),
        branches: HashMap::from([("master".to_owned(), Some(A.to_owned()))]),
        ..FakeCodeCommit::default()
    };
    let handler = Starter::new(config, codebuild, codecommit);
    let response = handler
        .handle(&event(&["refs/heads/master"]), None)
        .await
        .expect("success");
    let value = serde_json::to_value(&response).expect("serializable");
    assert_eq!(value["started"][0]["project"], "api-build");
    assert_eq!(value["started"][0]["rule"], "api");
    assert_eq!(
        value["started"][0]["superseded"],
        json!(["api-build:running"])
    );
    assert_eq!(value["skipped"][0]["project"], "web-build");
    assert_eq!(value["skipped"][0]["rule"], "web");
    assert_eq!(
        *handler.codebuild.stopped.lock().expect("lock"),
        ["api-build:running"],
        "only the same ref's in-progress build that started before this push"
    );
    let requests = handler.codebuild.requests.lock().expect("lock");
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].environment.last(),
        Some(&("SERVICE".to_owned(), "api".to_owned()))
    );
    assert_eq!(
        *handler.codecommit.calls.lock().expect("lock"),
        ["GetBranch master".to_owned(), format!("GetDifferences {OLD}..{A}")],
        "the superseding rule reads where its branch stands; both rules compare with the same earlier build: one diff"
    );
}

#[tokio::test]
async fn events_from_other_repositories_are_refused_before_anything_is_read() {
    let config = config(&[
        (CODEBUILD_PROJECT, "p1"),
        (
            crate::config::ALLOWED_REPOSITORIES,
            "arn:aws:codecommit:us-east-1:123456789012:other",
        ),
    ]);
    let handler = Starter::new(config, FakeCodeBuild::default(), with_message("x"));
    let error = handler
        .handle(&event(&["refs/heads/master"]), None)
        .await
        .expect_err("refused");
    assert_eq!(error.error_type(), "RepositoryNotAllowed");
    assert_eq!(
        error.to_string(),
        "repository arn:aws:codecommit:us-east-1:123456789012:my-app is not in ALLOWED_REPOSITORIES: the event \
         is refused and nothing was started"
    );
    assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    assert!(handler.codecommit.calls.lock().expect("lock").is_empty());
}

/// Answers StartBuild only after a long wait.
struct SlowCodeBuild;

impl crate::aws::reads::BuildReads for SlowCodeBuild {
    async fn builds_page(
        &self,
        _project: &str,
        _page: Option<String>,
    ) -> Result<crate::aws::reads::BuildsPage, AwsError> {
        Ok(crate::aws::reads::BuildsPage::default())
    }

    async fn builds(
        &self,
        _ids: &[String],
    ) -> Result<Vec<(String, crate::event::BuildReport)>, AwsError> {
        Ok(Vec::new())
    }

    async fn batches_page(
        &self,
        _project: &str,
        _page: Option<String>,
    ) -> Result<crate::aws::reads::BuildsPage, AwsError> {
        Ok(crate::aws::reads::BuildsPage::default())
    }

    async fn batch(&self, _id: &str) -> Result<Option<crate::aws::reads::BatchReport>, AwsError> {
        Ok(None)
    }

    async fn test_results(
        &self,
        _reports: &[String],
    ) -> Result<crate::aws::reads::TestResults, AwsError> {
        Ok(crate::aws::reads::TestResults::default())
    }
}

impl crate::aws::writes::BuildWrites for SlowCodeBuild {
    async fn start_build(
        &self,
        _request: &crate::aws::writes::BuildRequest,
    ) -> Result<crate::aws::writes::StartedBuild, AwsError> {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        Ok(crate::aws::writes::StartedBuild::AlreadyStarted)
    }

    async fn stop_build(&self, _build_id: &str) -> Result<(), AwsError> {
        Ok(())
    }

    async fn stop_build_batch(&self, _batch_id: &str) -> Result<(), AwsError> {
        Ok(())
    }

    async fn retry_build_batch(
        &self,
        _batch_id: &str,
        _idempotency_token: &str,
    ) -> Result<crate::aws::writes::StartedBuild, AwsError> {
        Ok(crate::aws::writes::StartedBuild::AlreadyStarted)
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_runs_past_the_invocations_deadline() {
    let config = config(&[(CODEBUILD_PROJECT, "p1"), (SKIP_MARKERS, "false")]);
    let handler = Starter::new(config, SlowCodeBuild, FakeCodeCommit::default());
    let started = tokio::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(30);
    let error = handler
        .handle(&event(&["refs/heads/master"]), Some(deadline))
        .await
        .expect_err("the start could not finish in time");
    assert!(
        error.to_string().contains("(InvocationDeadline)"),
        "{error}"
    );
    let answered = tokio::time::Instant::now();
    assert!(
        answered < deadline,
        "answered with time left to post the error"
    );
    assert!(
        answered >= deadline - std::time::Duration::from_secs(2),
        "used the time it had"
    );
}

#[tokio::test]
async fn a_token_answered_with_an_earlier_events_build_starts_one_for_this_event() {
    let codebuild = FakeCodeBuild {
        stale: vec!["refs/heads/master"],
        ..FakeCodeBuild::default()
    };
    let handler = handler(codebuild, FakeCodeCommit::default());
    let config_off = event(&["refs/heads/master"]);
    let response = handler.handle(&config_off, None).await;
    let response = serde_json::to_value(response.expect("success")).expect("json");
    assert_eq!(
        response["started"][0]["buildId"], "my-project:11111111",
        "{response}"
    );
    let requests = handler.codebuild.requests.lock().expect("lock");
    let [usual, own] = requests.as_slice() else {
        panic!("the usual token, then the event's own: {requests:?}");
    };
    assert_eq!(
        own,
        &usual.for_occasion("31ade2c7-f889-47c5-a937-1cf99e2790e9"),
        "the same request under a token of the trigger record's event id"
    );
}

#[tokio::test]
async fn an_event_that_would_start_more_than_max_builds_starts_none_and_says_why() {
    let config = config(&[
        (CODEBUILD_PROJECT, "my-project"),
        (BRANCHES, "master"),
        (crate::config::TAGS, "v*"),
        (SKIP_MARKERS, "false"),
        (crate::config::MAX_BUILDS, "3"),
    ]);
    let handler = Starter::new(config, FakeCodeBuild::default(), FakeCodeCommit::default());
    let tags = [
        "refs/tags/v1",
        "refs/tags/v2",
        "refs/tags/v3",
        "refs/tags/v4",
    ];
    let response = handler.handle(&event(&tags), None).await.expect("answered");
    assert!(response.started.is_empty());
    assert_eq!(response.skipped.len(), 4);
    for skipped in &response.skipped {
        assert_eq!(
            skipped.reason,
            "this event would start 4 builds, more than MAX_BUILDS (3) allows: it starts none"
        );
    }
    assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    // At the limit, every build starts.
    let response = handler
        .handle(&event(&tags[..3]), None)
        .await
        .expect("answered");
    assert_eq!(response.started.len(), 3);
}

#[tokio::test]
async fn with_supersede_a_push_whose_branch_moved_on_or_went_is_not_built() {
    let config = config(&[
        (CODEBUILD_PROJECT, "my-project"),
        (BRANCHES, "master,dev,main"),
        (SKIP_MARKERS, "false"),
        (crate::config::SUPERSEDE, "true"),
    ]);
    let codecommit = FakeCodeCommit {
        branches: HashMap::from([
            ("master".to_owned(), Some("2".repeat(40))),
            ("dev".to_owned(), None),
            ("main".to_owned(), Some(A.to_owned())),
        ]),
        ..FakeCodeCommit::default()
    };
    let handler = Starter::new(config, FakeCodeBuild::default(), codecommit);
    let response = handler
        .handle(
            &event(&["refs/heads/master", "refs/heads/dev", "refs/heads/main"]),
            None,
        )
        .await
        .expect("answered");
    let reasons: Vec<&str> = response.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "branch master matches `master` in BRANCHES, but the branch has moved on to commit 22222222 (GetBranch): the rule supersedes, so the newer change builds instead",
            "branch dev matches `dev` in BRANCHES, but the branch has been deleted since (GetBranch): the rule supersedes, so the newer change builds instead",
        ]
    );
    assert_eq!(response.started.len(), 1);
    assert_eq!(response.started[0].reference, "refs/heads/main");
}

mod pull_requests {
    use super::*;
    use crate::config::{ALLOWED_REPOSITORIES, PULL_REQUESTS, SUPERSEDE};
    use crate::test_support::{pull_request_event, PR_DESTINATION, PR_REVISION, PR_SOURCE};

    fn handler(
        codebuild: FakeCodeBuild,
        extra: &[(&'static str, &str)],
    ) -> Starter<FakeCodeBuild, FakeCodeCommit> {
        let mut vars = vec![
            (CODEBUILD_PROJECT, "my-project"),
            (SKIP_MARKERS, "false"),
            (PULL_REQUESTS, "main"),
        ];
        vars.extend_from_slice(extra);
        Starter::new(config(&vars), codebuild, FakeCodeCommit::default())
    }

    fn pr_build(id: &str, pull_request: Option<&str>, reference: &str) -> PastBuild {
        PastBuild {
            pull_request: pull_request.map(str::to_owned),
            ..past(id, PR_SOURCE, reference, true)
        }
    }

    #[tokio::test]
    async fn a_created_pull_request_starts_one_build_of_its_source_commit_with_its_variables() {
        let handler = handler(FakeCodeBuild::default(), &[]);
        let event = pull_request_event("pullRequestCreated", "main", "Open", "False").to_string();
        let response = handler.handle(&event, None).await.expect("success");
        assert_eq!(
            serde_json::to_value(&response).expect("serializable"),
            json!({"started": [{"project": "my-project", "buildId": "my-project:2774290a",
                "repository": "my-app", "ref": "refs/heads/feature/retries", "commit": PR_SOURCE,
                "pullRequest": "17"}], "skipped": []})
        );
        handler.handle(&event, None).await.expect("success");
        let requests = handler.codebuild.requests.lock().expect("lock");
        let [first, again] = requests.as_slice() else {
            panic!("two deliveries, two requests: {requests:?}");
        };
        assert_eq!(first, again, "a redelivery sends the same request");
        assert_eq!(first.source_version, PR_SOURCE);
        let variables: Vec<(&str, &str)> = first
            .environment
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            variables,
            [
                ("CODECOMMIT_REPOSITORY", "my-app"),
                ("CODECOMMIT_REF", "refs/heads/feature/retries"),
                ("CODECOMMIT_BRANCH", "feature/retries"),
                ("CODECOMMIT_COMMIT", PR_SOURCE),
                (
                    "CODECOMMIT_PUSHER_ARN",
                    "arn:aws:iam::123456789012:user/alice"
                ),
                ("CODECOMMIT_PULL_REQUEST_ID", "17"),
                ("CODECOMMIT_PULL_REQUEST_REVISION", PR_REVISION),
                ("CODECOMMIT_DESTINATION_BRANCH", "main"),
                ("CODECOMMIT_DESTINATION_COMMIT", PR_DESTINATION),
            ]
        );
    }

    #[tokio::test]
    async fn a_pull_request_build_and_a_push_of_its_source_have_different_tokens() {
        let handler = handler(FakeCodeBuild::default(), &[(BRANCHES, "feature/*")]);
        let pr = pull_request_event("pullRequestCreated", "main", "Open", "False").to_string();
        let push = json!({"Records": [record("my-app", None,
            json!([{"ref": "refs/heads/feature/retries", "commit": PR_SOURCE}]))]})
        .to_string();
        handler.handle(&pr, None).await.expect("success");
        handler.handle(&push, None).await.expect("success");
        let requests = handler.codebuild.requests.lock().expect("lock");
        assert_eq!(requests.len(), 2);
        assert_ne!(requests[0].idempotency_token, requests[1].idempotency_token);
    }

    #[tokio::test]
    async fn a_new_revision_supersedes_the_older_builds_of_its_pull_request_only() {
        let codebuild = FakeCodeBuild {
            history: vec![
                pr_build(
                    "my-project:older-revision",
                    Some("17"),
                    "refs/heads/feature/retries",
                ),
                pr_build(
                    "my-project:other-pr",
                    Some("18"),
                    "refs/heads/feature/retries",
                ),
                pr_build(
                    "my-project:push-of-the-branch",
                    None,
                    "refs/heads/feature/retries",
                ),
            ],
            ..FakeCodeBuild::default()
        };
        let handler = handler(codebuild, &[(SUPERSEDE, "true")]);
        let event = pull_request_event("pullRequestSourceBranchUpdated", "main", "Open", "False")
            .to_string();
        let response = handler.handle(&event, None).await.expect("success");
        assert_eq!(
            response.started[0].superseded,
            ["my-project:older-revision"]
        );
        assert_eq!(
            *handler.codebuild.stopped.lock().expect("lock"),
            ["my-project:older-revision"]
        );
    }

    #[tokio::test]
    async fn closing_or_merging_builds_nothing_and_stops_the_pull_requests_builds() {
        for (kind, status, merged, reason) in [
            (
                "pullRequestStatusChanged",
                "Closed",
                "False",
                "pull request 17 is closed: it never builds",
            ),
            (
                "pullRequestMergeStatusUpdated",
                "Closed",
                "True",
                "pull request 17 is merged: it never builds",
            ),
        ] {
            let codebuild = FakeCodeBuild {
                history: vec![
                    pr_build(
                        "my-project:running",
                        Some("17"),
                        "refs/heads/feature/retries",
                    ),
                    pr_build(
                        "my-project:other-pr",
                        Some("18"),
                        "refs/heads/feature/retries",
                    ),
                ],
                ..FakeCodeBuild::default()
            };
            let handler = handler(codebuild, &[(SUPERSEDE, "true")]);
            let event = pull_request_event(kind, "main", status, merged).to_string();
            let response = handler.handle(&event, None).await.expect("success");
            assert!(response.started.is_empty());
            assert_eq!(
                serde_json::to_value(&response.skipped).expect("serializable"),
                json!([{"repository": "my-app", "ref": "refs/heads/feature/retries",
                    "commit": PR_SOURCE, "pullRequest": "17", "reason": reason,
                    "superseded": ["my-project:running"]}])
            );
            assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
        }
    }

    #[tokio::test]
    async fn a_close_delivered_late_leaves_the_build_of_the_reopened_pull_request() {
        let pushed_at = 1_795_860_000_000; // 2026-11-28T10:00:00Z, the event's time
        let codebuild = FakeCodeBuild {
            history: vec![PastBuild {
                revision: None,
                rule: None,
                status: None,
                number: None,
                started_at: Some(pushed_at + 1000),
                ..pr_build(
                    "my-project:after-reopening",
                    Some("17"),
                    "refs/heads/feature/retries",
                )
            }],
            ..FakeCodeBuild::default()
        };
        let handler = handler(codebuild, &[(SUPERSEDE, "true")]);
        let event =
            pull_request_event("pullRequestStatusChanged", "main", "Closed", "False").to_string();
        handler.handle(&event, None).await.expect("success");
        assert!(handler.codebuild.stopped.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn a_push_supersedes_the_builds_of_its_own_branch_whatever_its_place_in_the_record() {
        let codebuild = FakeCodeBuild {
            history: vec![
                past("my-project:master-running", OLD, "refs/heads/master", true),
                past("my-project:dev-running", OLD, "refs/heads/dev", true),
            ],
            ..FakeCodeBuild::default()
        };
        let config = config(&[
            (CODEBUILD_PROJECT, "my-project"),
            (SKIP_MARKERS, "false"),
            (BRANCHES, "dev"),
            (SUPERSEDE, "true"),
        ]);
        let handler = Starter::new(config, codebuild, FakeCodeCommit::default());
        let response = handler
            .handle(&event(&["refs/heads/master", "refs/heads/dev"]), None)
            .await
            .expect("success");
        assert_eq!(response.started[0].reference, "refs/heads/dev");
        assert_eq!(response.started[0].superseded, ["my-project:dev-running"]);
    }

    #[tokio::test]
    async fn without_supersede_a_closed_pull_request_stops_nothing() {
        let codebuild = FakeCodeBuild {
            history: vec![pr_build(
                "my-project:running",
                Some("17"),
                "refs/heads/feature/retries",
            )],
            ..FakeCodeBuild::default()
        };
        let handler = handler(codebuild, &[]);
        let event =
            pull_request_event("pullRequestStatusChanged", "main", "Closed", "False").to_string();
        handler.handle(&event, None).await.expect("success");
        assert!(handler.codebuild.stopped.lock().expect("lock").is_empty());
        assert_eq!(handler.codebuild.history_reads.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn approvals_are_answered_with_a_reason_and_touch_nothing() {
        let handler = handler(FakeCodeBuild::default(), &[]);
        let event = pull_request_event("pullRequestApprovalStateChanged", "main", "Open", "False")
            .to_string();
        let response = handler.handle(&event, None).await.expect("not an error");
        assert_eq!(
            serde_json::to_value(&response).expect("serializable"),
            json!({"started": [], "skipped": [{"repository": "my-app", "pullRequest": "17",
                "reason": "a pullRequestApprovalStateChanged event never builds"}]})
        );
        assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn allowed_repositories_applies_to_pull_requests() {
        let handler = handler(
            FakeCodeBuild::default(),
            &[(ALLOWED_REPOSITORIES, "arn:aws:codecommit:*:*:other")],
        );
        for kind in ["pullRequestCreated", "pullRequestApprovalStateChanged"] {
            let event = pull_request_event(kind, "main", "Open", "False").to_string();
            let error = handler.handle(&event, None).await.expect_err("refused");
            assert_eq!(error.error_type(), "RepositoryNotAllowed", "{kind}");
        }
        assert!(handler.codebuild.requests.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn with_supersede_an_event_of_a_revision_no_longer_current_is_not_built() {
        let codecommit = FakeCodeCommit {
            revisions: HashMap::from([("17".to_owned(), "9".repeat(64))]),
            ..FakeCodeCommit::default()
        };
        let superseding = config(&[
            (CODEBUILD_PROJECT, "my-project"),
            (SKIP_MARKERS, "false"),
            (PULL_REQUESTS, "main"),
            (SUPERSEDE, "true"),
        ]);
        let handler = Starter::new(superseding, FakeCodeBuild::default(), codecommit);
        let event = pull_request_event("pullRequestSourceBranchUpdated", "main", "Open", "False")
            .to_string();
        let response = handler.handle(&event, None).await.expect("answered");
        assert!(response.started.is_empty());
        assert_eq!(
            response.skipped[0].reason,
            format!(
                "pull request 17 into main matches `main` in PULL_REQUESTS, but pull request 17 has moved on to revision {} (GetPullRequest): the rule supersedes, so the newer change builds instead",
                "9".repeat(64)
            )
        );
        // Without SUPERSEDE every revision builds, late or not.
        let codecommit = FakeCodeCommit {
            revisions: HashMap::from([("17".to_owned(), "9".repeat(64))]),
            ..FakeCodeCommit::default()
        };
        let plain = config(&[
            (CODEBUILD_PROJECT, "my-project"),
            (SKIP_MARKERS, "false"),
            (PULL_REQUESTS, "main"),
        ]);
        let handler = Starter::new(plain, FakeCodeBuild::default(), codecommit);
        let response = handler.handle(&event, None).await.expect("answered");
        assert_eq!(response.started.len(), 1);
    }
}

#[tokio::test]
async fn each_function_refuses_the_events_of_the_other_and_does_nothing() {
    let reporter = Reporter::new(
        config(&[(CODEBUILD_PROJECT, "my-project"), (BRANCHES, "master,dev")]),
        FakeCodeBuild::default(),
        FakeCodeCommit::default(),
        FakeLogs::default(),
    );
    let error = reporter
        .handle(&event(&["refs/heads/master"]), None)
        .await
        .expect_err("a push is the starter's");
    assert_eq!(error.error_type(), "EventNotTaken");
    assert_eq!(
        error.to_string(),
        "this function is the reporter: it does not take CodeCommit push events, which go to the starter; nothing was done"
    );
    assert!(reporter.codebuild.requests.lock().expect("lock").is_empty());
    let starter = handler(FakeCodeBuild::default(), FakeCodeCommit::default());
    let build_state = crate::test_support::build_state_event(
        &crate::test_support::build_id("my-project"),
        1,
        "FAILED",
        json!([]),
    );
    let error = starter
        .handle(&build_state.to_string(), None)
        .await
        .expect_err("a build-state event is the reporter's");
    assert!(error.to_string().starts_with(
        "this function is the starter: it does not take CodeBuild Build State Change events"
    ));
}

#[tokio::test]
async fn an_answer_lists_its_first_entries_within_64_kib_and_counts_the_rest() {
    let config = config(&[
        (CODEBUILD_PROJECT, "my-project"),
        (BRANCHES, "master"),
        (SKIP_MARKERS, "false"),
    ]);
    let handler = Starter::new(config, FakeCodeBuild::default(), FakeCodeCommit::default());
    let names: Vec<String> = (0..2000)
        .map(|n| format!("refs/heads/feature/{n:0>200}"))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let response = handler.handle(&event(&refs), None).await.expect("answered");
    let json = serde_json::to_string(&response).expect("serializable");
    assert!(json.len() < 64 * 1024, "{} bytes", json.len());
    assert!(!response.skipped.is_empty());
    assert_eq!(response.skipped.len() + response.skipped_not_listed, 2000);
    assert_eq!(
        response.unlisted_skip_kinds,
        vec![crate::decide::SkipKind::Reference; response.skipped_not_listed],
        "the metrics still count the kinds of the skips left out"
    );
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value["skippedNotListed"], response.skipped_not_listed);
}
