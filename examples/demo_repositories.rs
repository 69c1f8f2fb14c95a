//! Demo of one installation serving many repositories: the starter's release binary as
//! `many-repositories.yaml` configures it (each repository's own `.codecommit-build-trigger.yml`,
//! projects `team-*` allowed, no rules of its own), under a local Lambda Runtime API, reading
//! the files with `GetFile` from real git repositories at the local CodeCommit endpoint and
//! starting builds in moto. Two repositories build their pushes in one shared project; a third,
//! whose file names a project it was not given, builds nothing and says why.
//! Run it with `make demo-repositories`.

use std::process::ExitCode;

use serde_json::{json, Value};
use testkit::git::GitRepo;
use testkit::{events, now, Harness};

/// The file every repository keeps its rules in.
const FILE: &str = ".codecommit-build-trigger.yml";
/// The project the two good repositories share.
const SHARED: &str = "team-shared";

/// Repository `name` on `main`, whose first commit holds `file`; returns it and that commit.
fn repository(name: &str, file: &str) -> (GitRepo, String) {
    let repo = GitRepo::init("main");
    repo.write("README.md", &format!("# {name}\n"));
    repo.write(FILE, file);
    let commit = repo.commit("Build with the team's project");
    (repo, commit)
}

#[tokio::main]
async fn main() -> ExitCode {
    let shared = format!(
        "# Pushes to main build with the team's shared project.\nrules:\n  - name: main\n    project: {SHARED}\n    branches: [main]\n"
    );
    let rogue = "rules:\n  - name: deploy\n    project: prod-deploy\n    branches: [main]\n";
    let repositories = [("web", shared.as_str()), ("api", &shared), ("rogue", rogue)];
    let mut builder = Harness::builder()
        .env("_HANDLER", "starter")
        .without("CODEBUILD_PROJECT")
        .env("REPOSITORY_CONFIG", FILE)
        .env("ALLOWED_PROJECTS", "team-*")
        .project(SHARED)
        .project("prod-deploy");
    let mut pushed = Vec::new();
    for (name, file) in repositories {
        let (repo, commit) = repository(name, file);
        println!("{name}/{FILE} at {commit}:\n{}", indent(file));
        builder = builder.git_repository(name, repo);
        pushed.push((name, commit));
    }
    let mut harness = builder.start().await;
    println!(
        "configuration: REPOSITORY_CONFIG={FILE} ALLOWED_PROJECTS=team-* (no project of its own)"
    );
    if harness.runtime.init_error().is_some() || harness.function.has_exited() {
        println!("\nthe function did not start:\n{}", harness.diagnostics());
        return ExitCode::FAILURE;
    }

    let mut answers = Vec::new();
    for (name, commit) in &pushed {
        let event = json!({"Records": [events::trigger_record(
            name,
            Some("arn:aws:iam::123456789012:user/alice"),
            &now(),
            json!([{"ref": "refs/heads/main", "commit": commit}]),
        )]});
        println!("\npush to main of {name} at {commit}");
        let answer = match harness.invoke(&event).await {
            Ok(answer) => answer,
            Err(error) => {
                println!(
                    "function error: {} - {}",
                    error.error_type, error.error_message
                );
                return ExitCode::FAILURE;
            }
        };
        println!("function response:\n{}", pretty(&answer));
        answers.push(answer);
    }

    let builds = harness.builds_of(SHARED).await;
    println!("\nbuilds in moto for project {SHARED}: {}", builds.len());
    for request in harness.start_build_requests() {
        println!(
            "- {} of {} from {}",
            request["projectName"].as_str().unwrap_or("?"),
            request["sourceVersion"].as_str().unwrap_or("?"),
            request["sourceLocationOverride"].as_str().unwrap_or("?"),
        );
    }
    let rogue_builds = harness.builds_of("prod-deploy").await.len();
    println!("builds in moto for project prod-deploy: {rogue_builds}");

    verdict(&answers, builds.len(), rogue_builds)
}

/// Whether web and api each started one build, moto holds those two in the shared project,
/// and rogue's was refused with its reason; says which.
fn verdict(answers: &[Value], shared_builds: usize, rogue_builds: usize) -> ExitCode {
    let started = |answer: &Value| answer["started"].as_array().map_or(0, Vec::len);
    let refused = answers[2]["skipped"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    let mut problems = Vec::new();
    if started(&answers[0]) != 1 || started(&answers[1]) != 1 {
        problems.push("web and api did not each start one build");
    }
    if shared_builds != 2 {
        problems.push("moto does not hold the two builds of the shared project");
    }
    if started(&answers[2]) != 0 || rogue_builds != 0 || !refused.contains("ALLOWED_PROJECTS") {
        problems.push("rogue's project was not refused with its reason");
    }
    if problems.is_empty() {
        println!("\ndemo passed: web and api built in {SHARED} from their own files; rogue refused: {refused}");
        ExitCode::SUCCESS
    } else {
        println!("\ndemo failed: {}", problems.join("; "));
        ExitCode::FAILURE
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
