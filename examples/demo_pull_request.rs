//! End-to-end demo of a pull request's whole loop, on this machine: the release binary under
//! a local Lambda Runtime API, CodeBuild in moto, CodeCommit at the tests' local endpoint over
//! a real git repository. A pull request is opened and built; its build starts and fails (the
//! events CodeBuild would send), and the one status comment follows it, with the log's last
//! lines from moto's CloudWatch Logs; a reviewer asks `/rebuild`, the rebuild succeeds, the
//! same comment says so and the revision is approved. Run it with `make demo-pull-request`.

use std::process::ExitCode;

use serde_json::{json, Value};
use testkit::codecommit::{PullRequestTarget, StoredComment, FUNCTION_ROLE, FUNCTION_SESSION};
use testkit::events::{build_state_event, pull_request_comment_event};
use testkit::git::GitRepo;
use testkit::{moto, sample_event, Harness};

/// The repository of the sample events.
const REPOSITORY: &str = "my-app";
/// The pull request's revision.
const REVISION: &str = "bdc0cb9b4f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8";
/// Who opens the pull request, and who reviews it.
const AUTHOR: &str = "arn:aws:iam::123456789012:user/alice";
const REVIEWER: &str = "arn:aws:iam::123456789012:user/bob";

#[tokio::main]
async fn main() -> ExitCode {
    let repo = GitRepo::init("master");
    repo.write("src/upload.rs", "pub fn upload() {}\n");
    let master = repo.commit("Initial commit");
    repo.checkout_new_branch("feature/retries", "master");
    repo.write("src/upload.rs", "pub fn upload() { /* three tries */ }\n");
    let source = repo.commit("Retry uploads");

    let mut harness = Harness::builder()
        .env("PULL_REQUESTS", "master")
        .env("APPROVE_PULL_REQUESTS", "true")
        .env("REPORTER_ROLE_ARN", FUNCTION_ROLE)
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    if harness.runtime.init_error().is_some() || harness.function.has_exited() {
        println!("the function did not start:\n{}", harness.diagnostics());
        return ExitCode::FAILURE;
    }
    println!(
        "configuration: PULL_REQUESTS=master APPROVE_PULL_REQUESTS=true REPORTER_ROLE_ARN={FUNCTION_ROLE}\n\
         (one process plays both deployed functions here: the build starter and the reporter)"
    );
    harness.codecommit.set_pull_request(
        "17",
        REPOSITORY,
        PullRequestTarget {
            source: ("refs/heads/feature/retries", &source),
            destination: ("refs/heads/master", &master),
            status: "OPEN",
            merged: false,
        },
    );
    harness.codecommit.set_revision("17", REVISION);

    let mut created = sample_event("pull-request-created.json");
    created["detail"]["sourceCommit"] = json!(source);
    created["detail"]["destinationCommit"] = json!(master);
    created["detail"]["revisionId"] = json!(REVISION);
    created["detail"]["author"] = json!(AUTHOR);
    let opened = step(
        &harness,
        "alice opens pull request 17 into master",
        &created,
    )
    .await;
    let Some(first) = opened["started"][0]["buildId"].as_str().map(str::to_owned) else {
        return failed("the pull request did not start a build");
    };

    let log: Vec<String> = [
        "[Container] Running command cargo test",
        "running 12 tests",
        "test upload::retries_three_times ... \u{1b}[31mFAILED\u{1b}[0m",
        "thread 'upload::retries_three_times' panicked: assertion failed: tries == 3",
        "test result: FAILED. 11 passed; 1 failed",
        "[Container] Command did not exit successfully cargo test exit status 101",
    ]
    .map(str::to_owned)
    .to_vec();
    write_log(&harness, &first, &log).await;
    step(
        &harness,
        "CodeBuild: the build started",
        &build_event(&harness, &first, 1, "IN_PROGRESS"),
    )
    .await;
    show_comment(&harness);
    let failed_build = step(
        &harness,
        "CodeBuild: the build failed",
        &build_event(&harness, &first, 1, "FAILED"),
    )
    .await;
    show_comment(&harness);
    step(
        &harness,
        "CodeBuild: the same failure, delivered again",
        &build_event(&harness, &first, 1, "FAILED"),
    )
    .await;

    let asked = harness.codecommit.add_comment(StoredComment {
        id: String::new(),
        repository: REPOSITORY.into(),
        pull_request: Some("17".into()),
        before: Some(master.clone()),
        after: source.clone(),
        author: REVIEWER.into(),
        content: "/rebuild".into(),
        updates: 0,
        token: None,
        deleted: false,
    });
    let rebuilt = step(
        &harness,
        "bob comments /rebuild",
        &pull_request_comment_event(&asked, REVIEWER),
    )
    .await;
    let Some(second) = rebuilt["started"][0]["buildId"].as_str().map(str::to_owned) else {
        return failed("the rebuild command did not start a build");
    };
    let own = harness.codecommit.comments()[0].id.clone();
    step(
        &harness,
        "the function's own comment, as an event",
        &pull_request_comment_event(&own, FUNCTION_SESSION),
    )
    .await;
    harness.proxy.finish_build(&second);
    let passed = step(
        &harness,
        "CodeBuild: the rebuild succeeded",
        &build_event(&harness, &second, 2, "SUCCEEDED"),
    )
    .await;
    show_comment(&harness);

    let approvers = harness.codecommit.approvers("17", REVISION);
    println!("\napprovals of revision {REVISION}: {approvers:?}");
    let mut problems = Vec::new();
    if harness.codecommit.comments().len() != 2 {
        problems.push("the pull request does not hold exactly the status comment and bob's");
    }
    if failed_build["reported"]["approval"]
        .as_str()
        .is_none_or(|a| !a.starts_with("revoked"))
    {
        problems.push("the failure did not revoke");
    }
    if passed["reported"]["action"] != "updated" || approvers != [FUNCTION_SESSION] {
        problems.push("the rebuild's success did not update the comment and approve");
    }
    if problems.is_empty() {
        println!("\ndemo passed: one status comment followed the build, its failure, the rebuild and its success; the revision is approved");
        ExitCode::SUCCESS
    } else {
        failed(&problems.join("; "))
    }
}

fn failed(problem: &str) -> ExitCode {
    println!("\ndemo failed: {problem}");
    ExitCode::FAILURE
}

/// Sends `event`, printing what happened and the function's answer.
async fn step(harness: &Harness, what: &str, event: &Value) -> Value {
    println!("\n== {what}");
    match harness.invoke(event).await {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            answer
        }
        Err(error) => {
            println!(
                "function error: {} - {}",
                error.error_type, error.error_message
            );
            Value::Null
        }
    }
}

/// The build-state event CodeBuild sends for `build_id`: its variables are the overrides the
/// function started it with (the recording proxy kept them; moto does not). CodeBuild (the
/// proxy in front of moto) reports the build so from now on: the function reads the build
/// back rather than trust the event.
fn build_event(harness: &Harness, build_id: &str, number: u64, status: &str) -> Value {
    let requests = harness.start_build_requests();
    let request = requests.last().cloned().unwrap_or_default();
    harness.codebuild_says(build_state_event(
        build_id,
        number,
        status,
        request["environmentVariablesOverride"].clone(),
    ))
}

async fn write_log(harness: &Harness, build_id: &str, lines: &[String]) {
    let (project, stream) = build_id.split_once(':').unwrap_or((build_id, ""));
    let logs = moto::logs_client(&harness.moto.endpoint());
    moto::write_log(&logs, &format!("/aws/codebuild/{project}"), stream, lines).await;
}

/// Prints the status comment as a reviewer reads it (its Markdown, as posted).
fn show_comment(harness: &Harness) {
    let comments = harness.codecommit.comments();
    let Some(comment) = comments.iter().find(|c| c.author == FUNCTION_SESSION) else {
        println!("(no status comment)");
        return;
    };
    println!(
        "\n-- the status comment on pull request 17 (id {}, updated {} time(s)), before {} after {}:",
        comment.id,
        comment.updates,
        comment.before.as_deref().unwrap_or("-"),
        comment.after
    );
    for line in comment.content.lines() {
        println!("   | {line}");
    }
}
