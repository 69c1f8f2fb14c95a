//! End-to-end demo of the function as shipped: the starter's release binary, with its default
//! configuration, under a local Lambda Runtime API, starting builds in moto and reading
//! commit messages from a local CodeCommit endpoint backed by a real git repository.
//! Two pushes to master: one that builds, one whose commit message says `[skip ci]`.
//! Run it with `make demo`.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use testkit::git::GitRepo;
use testkit::Harness;

/// The repository of the sample events (`events/push-master.json`).
const REPOSITORY: &str = "my-app";
/// The messages of the two commits pushed: one to build, one that says not to.
const CHANGE: &str = "Add the service";
const SKIPPED: &str = "Fix a typo in the README [skip ci]";

#[tokio::main]
async fn main() -> ExitCode {
    let repo = GitRepo::init("master");
    repo.write("src/main.rs", "fn main() {}\n");
    let change = repo.commit(CHANGE);
    repo.write("README.md", "# my-app\n");
    let skipped = repo.commit(SKIPPED);

    // No overrides: the configuration a deployment gets by default (skip markers on), and the
    // starter's own binary, which the template deploys for the function that takes pushes.
    let builder = Harness::builder()
        .git_repository(REPOSITORY, repo)
        .env("_HANDLER", "starter");
    let binary = builder.binary();
    let mut harness = builder.start().await;
    println!(
        "moto (CodeBuild) on {}, local CodeCommit on {} serving {REPOSITORY} from {}, \
         function {} (pid {}), Runtime API on {}",
        harness.moto.endpoint(),
        harness.codecommit.endpoint(),
        harness.git(REPOSITORY).path().display(),
        binary.display(),
        harness
            .function
            .pid()
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string()),
        harness.runtime.addr()
    );
    println!(
        "configuration: the defaults (BRANCHES=master, SKIP_MARKERS=true), CODEBUILD_PROJECT={}",
        harness.project
    );
    if harness.runtime.init_error().is_some() || harness.function.has_exited() {
        println!("\nthe function did not start:\n{}", harness.diagnostics());
        return ExitCode::FAILURE;
    }

    let built = push(&harness, &change, CHANGE).await;
    let not_built = push(&harness, &skipped, SKIPPED).await;
    let builds = show_builds(&harness).await;
    show_log(&harness).await;

    let started = |response: &Option<Value>| {
        response
            .as_ref()
            .and_then(|response| response["started"].as_array().map(Vec::len))
    };
    let skip_reason = not_built
        .as_ref()
        .and_then(|response| response["skipped"][0]["reason"].as_str())
        .unwrap_or_default();
    let mut problems = Vec::new();
    if started(&built) != Some(1) {
        problems.push("the first push did not start one build");
    }
    if started(&not_built) != Some(0) || !skip_reason.contains("[skip ci]") {
        problems.push("the [skip ci] push was not skipped for its marker");
    }
    if builds != 1 {
        problems.push("moto does not hold exactly one build");
    }
    if problems.is_empty() {
        println!("\ndemo passed: one build of {change}, the [skip ci] commit skipped");
        ExitCode::SUCCESS
    } else {
        println!("\ndemo failed: {}", problems.join("; "));
        ExitCode::FAILURE
    }
}

/// Sends a push of `commit` to master and prints the function's answer.
async fn push(harness: &Harness, commit: &str, message: &str) -> Option<Value> {
    println!(
        "\npush to master of {commit} ({message:?}): events/push-master.json with that commit"
    );
    match harness.invoke(&testkit::push_master_of(commit)).await {
        Ok(response) => {
            println!("function response:\n{}", pretty(&response));
            Some(response)
        }
        Err(error) => {
            println!(
                "function error: {} - {}",
                error.error_type, error.error_message
            );
            None
        }
    }
}

/// Prints the builds in moto with the overrides they were started with; returns how many.
async fn show_builds(harness: &Harness) -> usize {
    let builds = harness.builds().await;
    println!(
        "\nbuilds in moto for project {}: {}",
        harness.project,
        builds.len()
    );
    // moto does not keep environmentVariablesOverride: the overrides come from the
    // recording proxy, one StartBuild per build, in order.
    let sent = harness.start_build_requests();
    for (build, request) in builds.iter().zip(&sent) {
        println!("- id: {}", build.id().unwrap_or("?"));
        println!("  sourceVersion: {}", build.source_version().unwrap_or("?"));
        println!("  environment overrides (as sent in StartBuild):");
        for (name, value) in testkit::overrides(request) {
            println!("    {name}={value} (PLAINTEXT)");
        }
    }
    let reads: Vec<String> = harness
        .codecommit
        .calls()
        .into_iter()
        .map(|(operation, body)| format!("{operation} {}", body["commitId"].as_str().unwrap_or("")))
        .collect();
    println!("CodeCommit calls: {}", reads.join(", "));
    builds.len()
}

/// Prints the function's log lines.
async fn show_log(harness: &Harness) {
    // Let the output threads catch the last lines written before the answer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("\nfunction log lines:");
    for line in harness.function.stdout_lines() {
        println!("  {line}");
    }
    let stderr = harness.function.stderr();
    if !stderr.is_empty() {
        println!("function stderr:\n{stderr}");
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
