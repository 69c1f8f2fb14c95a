//! End-to-end tests of pull-request builds: EventBridge "CodeCommit Pull Request State
//! Change" events through the release binary under the local Lambda Runtime API, CodeBuild in
//! moto behind the recording proxy, and real git history at the fake CodeCommit endpoint.

#![cfg(feature = "end-to-end")]

use serde_json::{json, Value};
use testkit::codecommit::PullRequestTarget;
use testkit::git::GitRepo;
use testkit::proxy::BuildStatus;
use testkit::{now, overrides, pairs, sample_event, Harness};

/// The repository of the sample events.
pub(crate) const REPOSITORY: &str = "my-app";
/// Who opens and updates the pull request in the sample events.
const AUTHOR: &str = "arn:aws:iam::123456789012:user/alice";

/// A repository on `master` with a branch `feature/retries` one commit ahead; returns it with
/// master's commit and the branch's.
pub(crate) fn repository() -> (GitRepo, String, String) {
    let repo = GitRepo::init("master");
    repo.write("README.md", "# my-app\n");
    repo.write("src/upload.rs", "pub fn upload() {}\n");
    let master = repo.commit("Initial commit");
    repo.checkout_new_branch("feature/retries", "master");
    repo.write("src/upload.rs", "pub fn upload() { /* three tries */ }\n");
    let first = repo.commit("Retry uploads");
    (repo, master, first)
}

/// The sample event `name` for the given commits, sent now (superseding compares the
/// builds' start times with the event's time).
pub(crate) fn event(name: &str, source: &str, destination: &str, revision: &str) -> Value {
    let mut event = sample_event(name);
    event["detail"]["sourceCommit"] = json!(source);
    event["detail"]["destinationCommit"] = json!(destination);
    event["detail"]["revisionId"] = json!(revision);
    event["time"] = json!(now());
    event
}

pub(crate) async fn harness(repo: GitRepo, extra: &[(&str, &str)]) -> Harness {
    let mut builder = Harness::builder()
        .env("PULL_REQUESTS", "master")
        .git_repository(REPOSITORY, repo);
    for (name, value) in extra {
        builder = builder.env(name, value);
    }
    builder.start().await
}

/// Records pull request 17 at the fake CodeCommit, as `GetPullRequest` will report it.
pub(crate) fn set_pull_request_17(
    harness: &Harness,
    source: &str,
    master: &str,
    status: &str,
    merged: bool,
) {
    harness.codecommit.set_pull_request(
        "17",
        REPOSITORY,
        PullRequestTarget {
            source: ("refs/heads/feature/retries", source),
            destination: ("refs/heads/master", master),
            status,
            merged,
        },
    );
}

/// The `pullRequestId`s the function asked `GetPullRequest` for, in order.
fn status_reads(harness: &Harness) -> Vec<Value> {
    harness
        .codecommit
        .calls()
        .into_iter()
        .filter(|(operation, _)| operation == "GetPullRequest")
        .map(|(_, body)| body["pullRequestId"].clone())
        .collect()
}

#[tokio::test]
async fn each_revision_builds_once_the_older_is_superseded_and_a_merge_stops_the_rest() {
    let (repo, master, first) = repository();
    repo.write(
        "src/upload.rs",
        "pub fn upload() { /* three tries, backing off */ }\n",
    );
    let second = repo.commit("Back off between tries");
    let harness = harness(repo, &[("SUPERSEDE", "true")]).await;
    set_pull_request_17(&harness, &first, &master, "OPEN", false);
    // Each event's revision is the pull request's current one when it is sent.
    harness.codecommit.set_revision("17", &"1".repeat(64));

    // Created: one build of the source commit, with the pull request's variables.
    let created = event(
        "pull-request-created.json",
        &first,
        &master,
        "1".repeat(64).as_str(),
    );
    let response = harness.answer(&created).await;
    let builds = harness.builds().await;
    assert_eq!(builds.len(), 1);
    let first_build = builds[0].id().expect("an id").to_owned();
    assert_eq!(builds[0].source_version(), Some(first.as_str()));
    assert_eq!(
        response,
        json!({"started": [{"project": "demo-project", "buildId": first_build,
            "repository": REPOSITORY, "ref": "refs/heads/feature/retries", "commit": first,
            "pullRequest": "17"}], "skipped": []})
    );
    let requests = harness.start_build_requests();
    assert_eq!(
        overrides(&requests[0]),
        pairs(&[
            ("CODECOMMIT_REPOSITORY", REPOSITORY),
            ("CODECOMMIT_REF", "refs/heads/feature/retries"),
            ("CODECOMMIT_BRANCH", "feature/retries"),
            ("CODECOMMIT_COMMIT", &first),
            ("CODECOMMIT_PUSHER_ARN", AUTHOR),
            ("CODECOMMIT_PULL_REQUEST_ID", "17"),
            ("CODECOMMIT_PULL_REQUEST_REVISION", &"1".repeat(64)),
            ("CODECOMMIT_DESTINATION_BRANCH", "master"),
            ("CODECOMMIT_DESTINATION_COMMIT", &master),
        ])
    );

    // Delivered again: the identical request, token included (CodeBuild starts it once; moto
    // does not keep tokens, so it holds a second build of the revision).
    harness.answer(&created).await;
    let requests = harness.start_build_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0], requests[1]);
    let mut first_revision: Vec<String> = harness
        .builds()
        .await
        .iter()
        .map(|build| build.id().expect("an id").to_owned())
        .collect();
    first_revision.sort();

    // A new revision: a new build, and the older revision's build is stopped.
    harness.codecommit.set_revision("17", &"2".repeat(64));
    let updated = event(
        "pull-request-source-updated.json",
        &second,
        &master,
        &"2".repeat(64),
    );
    let response = harness.answer(&updated).await;
    assert_eq!(response["started"][0]["commit"], second.as_str());
    let second_build = response["started"][0]["buildId"]
        .as_str()
        .expect("a build id")
        .to_owned();
    let mut superseded: Vec<String> =
        serde_json::from_value(response["started"][0]["superseded"].clone()).expect("a list");
    superseded.sort();
    assert_eq!(superseded, first_revision, "{response}");
    for build in &first_revision {
        assert_eq!(
            harness.proxy.build_status(build),
            Some(BuildStatus::Stopped)
        );
    }
    assert_ne!(
        harness.start_build_requests()[2]["idempotencyToken"],
        requests[0]["idempotencyToken"]
    );

    // Merged: nothing is built, and the running build of the pull request is stopped.
    let merged = event(
        "pull-request-merged.json",
        &second,
        &master,
        &"2".repeat(64),
    );
    let response = harness.answer(&merged).await;
    assert_eq!(
        response,
        json!({"started": [], "skipped": [{"repository": REPOSITORY,
            "ref": "refs/heads/feature/retries", "commit": second, "pullRequest": "17",
            "reason": "pull request 17 is merged: it never builds",
            "superseded": [second_build]}]})
    );
    assert_eq!(
        harness.proxy.build_status(&second_build),
        Some(BuildStatus::Stopped)
    );
    assert_eq!(
        harness.start_build_requests().len(),
        3,
        "nothing started on the merge"
    );

    // An update delivered after the merge: the event still says open, GetPullRequest does not.
    set_pull_request_17(&harness, &second, &master, "CLOSED", true);
    let reads = status_reads(&harness).len();
    let late = event(
        "pull-request-source-updated.json",
        &second,
        &master,
        &"4".repeat(64),
    );
    let response = harness.answer(&late).await;
    assert_eq!(response["started"], json!([]), "{response}");
    assert_eq!(
        response["skipped"][0]["reason"],
        "pull request 17 is merged now (GetPullRequest): it never builds"
    );
    assert_eq!(status_reads(&harness)[reads..], [json!("17")]);
    assert_eq!(harness.start_build_requests().len(), 3);
}

#[tokio::test]
async fn a_pull_request_the_service_does_not_know_still_builds_and_says_so() {
    let (repo, master, first) = repository();
    let harness = harness(repo, &[]).await;
    let response = harness
        .answer(&event("pull-request-created.json", &first, &master, "c1"))
        .await;
    assert_eq!(
        response["started"][0]["commit"],
        first.as_str(),
        "{response}"
    );
    let decision = harness
        .function
        .wait_for_log_record(
            |record| record["fields"]["message"] == "decision",
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("a decision line");
    let reason = decision["fields"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("pull request status not checked: ")
            && reason.contains("PullRequestDoesNotExistException"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_closed_pull_request_and_one_into_another_branch_start_nothing() {
    let (repo, master, first) = repository();
    let harness = harness(repo, &[]).await;
    for (name, reason) in [
        (
            "pull-request-closed.json",
            "pull request 17 is closed: it never builds",
        ),
        (
            "pull-request-other-branch.json",
            "pull request 18 into experiments does not match PULL_REQUESTS",
        ),
    ] {
        let response = harness
            .answer(&event(name, &first, &master, &"3".repeat(64)))
            .await;
        assert_eq!(response["started"], json!([]), "{name}");
        assert_eq!(response["skipped"][0]["reason"], reason, "{name}");
    }
    assert!(harness.start_build_requests().is_empty());
}

#[tokio::test]
async fn closing_stops_the_running_build_and_a_close_delivered_after_reopening_does_not() {
    let (repo, master, first) = repository();
    // Pushed while the pull request is closed, so that reopening brings a new source commit.
    repo.write("src/upload.rs", "pub fn upload() { /* four tries */ }\n");
    let second = repo.commit("Try four times");
    let harness = harness(repo, &[("SUPERSEDE", "true")]).await;
    set_pull_request_17(&harness, &first, &master, "OPEN", false);
    let revision = "5".repeat(64);
    harness.codecommit.set_revision("17", &revision);
    let created = event("pull-request-created.json", &first, &master, &revision);
    let response = harness.answer(&created).await;
    let running = response["started"][0]["buildId"]
        .as_str()
        .expect("a build id")
        .to_owned();

    // Closed: nothing built, the running build stopped and listed.
    let closed = event("pull-request-closed.json", &first, &master, &revision);
    let response = harness.answer(&closed).await;
    assert_eq!(response["started"], json!([]), "{response}");
    assert_eq!(
        response["skipped"][0]["superseded"],
        json!([running]),
        "{response}"
    );
    assert_eq!(
        harness.proxy.build_status(&running),
        Some(BuildStatus::Stopped)
    );

    // Reopened: a new build; the same close delivered again leaves it running.
    let mut reopened = event("pull-request-closed.json", &first, &master, &revision);
    reopened["detail"]["pullRequestStatus"] = json!("Open");
    reopened["detail"]["revisionId"] = json!("6".repeat(64));
    reopened["detail"]["sourceCommit"] = json!(second);
    harness.codecommit.set_revision("17", &"6".repeat(64));
    let response = harness.answer(&reopened).await;
    let after_reopening = response["started"][0]["buildId"]
        .as_str()
        .unwrap_or_else(|| panic!("a reopened pull request builds: {response}"))
        .to_owned();
    let response = harness.answer(&closed).await;
    assert_eq!(response["skipped"][0].get("superseded"), None, "{response}");
    assert_eq!(
        harness.proxy.build_status(&after_reopening),
        Some(BuildStatus::InProgress)
    );
}

#[tokio::test]
async fn an_approval_is_answered_with_its_reason_and_calls_nothing() {
    let (repo, _, _) = repository();
    let harness = harness(repo, &[]).await;
    let response = harness
        .answer(&sample_event("pull-request-approval.json"))
        .await;
    assert_eq!(
        response,
        json!({"started": [], "skipped": [{"repository": REPOSITORY, "pullRequest": "17",
            "reason": "a pullRequestApprovalStateChanged event never builds"}]})
    );
    assert!(harness.proxy.requests_of("StartBuild").is_empty());
    assert!(harness.codecommit.calls().is_empty());
}

#[tokio::test]
async fn path_filters_compare_the_source_with_its_merge_base_with_the_destination() {
    let (repo, branch_point, first) = repository();
    // A second pull request only documents; master moves on after both branch points with a
    // change to src/ that neither pull request makes.
    repo.checkout_new_branch("docs/retries", "master");
    repo.write("docs/retries.md", "# retries\n");
    let docs_only = repo.commit("Document retries");
    repo.checkout("master");
    repo.write("src/download.rs", "pub fn download() {}\n");
    let master = repo.commit("Add downloads");
    let harness = harness(repo, &[("PATHS", "src/**")]).await;

    let response = harness
        .answer(&event("pull-request-created.json", &first, &master, "a1"))
        .await;
    assert_eq!(
        response["started"][0]["commit"],
        first.as_str(),
        "{response}"
    );
    let merge_options: Vec<Value> = harness
        .codecommit
        .calls()
        .into_iter()
        .filter(|(operation, _)| operation == "GetMergeOptions")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(merge_options.len(), 1, "{merge_options:?}");
    assert_eq!(merge_options[0]["sourceCommitSpecifier"], first.as_str());
    assert_eq!(
        merge_options[0]["destinationCommitSpecifier"],
        master.as_str()
    );

    let mut docs = event("pull-request-created.json", &docs_only, &master, "b1");
    docs["detail"]["pullRequestId"] = json!("19");
    docs["detail"]["sourceReference"] = json!("refs/heads/docs/retries");
    let response = harness.answer(&docs).await;
    assert_eq!(response["started"], json!([]), "{response}");
    assert_eq!(
        response["skipped"][0]["reason"],
        format!(
            "pull request 19 into master matches `master` in PULL_REQUESTS, but none of the \
             1 files changed since {} match PATHS",
            &branch_point[..8]
        ),
        "compared with the merge base, not master's head"
    );
    assert_eq!(harness.start_build_requests().len(), 1);
}

#[tokio::test]
async fn explain_decides_pull_request_events_and_touches_nothing() {
    let (repo, _, _) = repository();
    let harness = harness(repo, &[("SUPERSEDE", "true")]).await;
    let explain = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("events")
            .join(name);
        let harness = &harness;
        async move {
            let path = path.to_str().expect("a UTF-8 path").to_owned();
            let output = harness.run_cli(&["explain", &path]).await;
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert_eq!(output.status.code(), Some(0), "{stdout}");
            serde_json::from_str::<Value>(&stdout).expect("explain prints JSON")
        }
    };
    let created = explain("pull-request-created.json").await;
    assert_eq!(created.as_array().map(Vec::len), Some(1), "{created}");
    let line = &created[0];
    assert_eq!(
        (
            &line["ref"],
            &line["pullRequest"],
            &line["decision"],
            &line["project"]
        ),
        (
            &json!("refs/heads/feature/retries"),
            &json!("17"),
            &json!("build"),
            &json!("demo-project")
        ),
        "{line}"
    );
    assert!(
        line["reason"].as_str().is_some_and(
            |reason| reason.starts_with("pull request 17 into master matches `master`")
        ),
        "{line}"
    );
    let approval = explain("pull-request-approval.json").await;
    assert_eq!(
        approval,
        json!([{"repository": REPOSITORY, "pullRequest": "17", "decision": "skip",
            "reason": "a pullRequestApprovalStateChanged event never builds"}])
    );
    let merged = explain("pull-request-merged.json").await;
    assert_eq!(
        merged[0]["reason"],
        "pull request 17 is merged: it never builds"
    );
    assert!(harness.proxy.requests_of("StartBuild").is_empty());
    assert!(harness.proxy.requests_of("ListBuildsForProject").is_empty());
    assert!(harness.proxy.requests_of("StopBuild").is_empty());
}
