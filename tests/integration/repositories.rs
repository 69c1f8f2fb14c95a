//! End-to-end tests of one installation serving many repositories, each configured by its own
//! file (`REPOSITORY_CONFIG`): the release binary under the local Lambda Runtime API, the
//! files read with `GetFile` from real git history at the local CodeCommit endpoint, and
//! CodeBuild in moto behind the recording proxy.

#![cfg(feature = "end-to-end")]

use serde_json::{json, Value};
use testkit::codecommit::PullRequestTarget;
use testkit::git::GitRepo;
use testkit::{events, now, sample_event, Harness, HarnessBuilder};

/// The file each repository keeps its rules in.
const FILE: &str = ".codecommit-build-trigger.yml";
/// The project every repository may share.
const SHARED: &str = "team-shared";
/// Who pushes.
const USER: &str = "arn:aws:iam::123456789012:user/alice";

/// A repository on `main` whose first commit holds `file` (when given) and a source file;
/// returns it and that commit.
fn repository(file: Option<&str>) -> (GitRepo, String) {
    let repo = GitRepo::init("main");
    repo.write("src/lib.rs", "pub fn f() {}\n");
    if let Some(file) = file {
        repo.write(FILE, file);
    }
    let commit = repo.commit("Initial commit");
    (repo, commit)
}

/// Rules that build `main` (and pull requests into it) with `project`.
fn rules_for(project: &str) -> String {
    format!("rules:\n  - name: main\n    project: {project}\n    branches: [main]\n    pullRequests: [main]\n")
}

/// A multi-repository installation: repositories' files on, `team-*` projects allowed, no
/// rules of the function's own; moto has `team-shared` and `team-api`.
fn installation() -> HarnessBuilder {
    Harness::builder()
        .without("CODEBUILD_PROJECT")
        .env("REPOSITORY_CONFIG", FILE)
        .env("ALLOWED_PROJECTS", "team-*")
        .project(SHARED)
        .project("team-api")
        .project("prod-deploy")
}

/// A push of `commit` to `main` of `repository`.
fn push(repository: &str, commit: &str) -> Value {
    json!({"Records": [events::trigger_record(
        repository, Some(USER), &now(), json!([{"ref": "refs/heads/main", "commit": commit}]),
    )]})
}

/// The `GetFile` calls the function made, as (repository, commit, path).
fn file_reads(harness: &Harness) -> Vec<(String, String, String)> {
    harness
        .codecommit
        .calls()
        .into_iter()
        .filter(|(operation, _)| operation == "GetFile")
        .map(|(_, body)| {
            let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
            (
                text("repositoryName"),
                text("commitSpecifier"),
                text("filePath"),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_repositories_build_from_their_own_files_through_one_shared_project() {
    let (web, web_commit) = repository(Some(&rules_for(SHARED)));
    let (api, api_commit) = repository(Some(&rules_for(SHARED)));
    let harness = installation()
        .git_repository("web", web)
        .git_repository("api", api)
        .start()
        .await;

    let answers = [
        harness.answer(&push("web", &web_commit)).await,
        harness.answer(&push("api", &api_commit)).await,
    ];
    for (answer, repository) in answers.iter().zip(["web", "api"]) {
        assert_eq!(answer["started"][0]["project"], SHARED, "{answer}");
        assert_eq!(answer["started"][0]["repository"], repository, "{answer}");
        assert_eq!(answer["started"][0]["rule"], "main", "{answer}");
    }
    let builds = harness.builds_of(SHARED).await;
    let mut versions: Vec<&str> = builds.iter().filter_map(|b| b.source_version()).collect();
    versions.sort_unstable();
    let mut expected = [web_commit.as_str(), api_commit.as_str()];
    expected.sort_unstable();
    assert_eq!(versions, expected, "one build of each pushed commit");

    let requests = harness.start_build_requests();
    let sources: Vec<(&str, &str)> = requests
        .iter()
        .map(|request| {
            (
                request["sourceTypeOverride"].as_str().unwrap_or_default(),
                request["sourceLocationOverride"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            (
                "CODECOMMIT",
                "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/web"
            ),
            (
                "CODECOMMIT",
                "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/api"
            ),
        ],
        "each build's source is its own repository"
    );
    assert_eq!(
        file_reads(&harness),
        [
            ("web".to_owned(), web_commit.clone(), FILE.to_owned()),
            ("api".to_owned(), api_commit.clone(), FILE.to_owned()),
        ],
        "each file read once, at the pushed commit"
    );
}

#[tokio::test]
async fn an_invalid_file_or_a_project_not_given_builds_nothing_and_says_why() {
    let (broken, broken_commit) = repository(Some(
        "rules:\n  - name: main\n    project: team-api\n    branches: main\n",
    ));
    let (rogue, rogue_commit) = repository(Some(&rules_for("prod-deploy")));
    let harness = installation()
        .git_repository("broken", broken)
        .git_repository("rogue", rogue)
        .start()
        .await;

    let answer = harness.answer(&push("broken", &broken_commit)).await;
    assert_eq!(answer["started"], json!([]), "{answer}");
    assert_eq!(
        answer["skipped"][0]["reason"],
        format!(
            "{FILE} at commit {} is invalid: rules[0].branches, line 4: expected sequence start",
            &broken_commit[..8]
        )
    );
    let logged = harness
        .function
        .wait_for_log_record(
            |record| {
                record["level"] == "ERROR"
                    && record["fields"]["repository"] == "broken"
                    && record["fields"]["file"] == FILE
            },
            std::time::Duration::from_secs(5),
        )
        .await;
    assert!(
        logged.is_some(),
        "an ERROR line names the repository and file\n{}",
        harness.diagnostics()
    );

    let answer = harness.answer(&push("rogue", &rogue_commit)).await;
    assert_eq!(answer["started"], json!([]), "{answer}");
    assert_eq!(
        answer["skipped"][0]["reason"],
        format!(
            "{FILE} at commit {} is invalid: rules[0] (main).project, line 3: \"prod-deploy\" is not a project that ALLOWED_PROJECTS allows",
            &rogue_commit[..8]
        )
    );
    assert!(
        harness.start_build_requests().is_empty(),
        "no StartBuild at all"
    );
    assert!(harness.builds_of("prod-deploy").await.is_empty());
}

#[tokio::test]
async fn without_a_file_the_functions_own_rules_build_and_without_those_nothing_does() {
    let (plain, commit) = repository(None);
    let harness = Harness::builder()
        .env("REPOSITORY_CONFIG", FILE)
        .env("BRANCHES", "main")
        .git_repository("plain", plain)
        .start()
        .await;
    let answer = harness.answer(&push("plain", &commit)).await;
    assert_eq!(answer["started"][0]["project"], "demo-project", "{answer}");
    drop(harness);

    let (plain, commit) = repository(None);
    let harness = installation().git_repository("plain", plain).start().await;
    let answer = harness.answer(&push("plain", &commit)).await;
    assert_eq!(answer["started"], json!([]), "{answer}");
    assert_eq!(
        answer["skipped"][0]["reason"],
        format!(
            "{FILE} is not in plain at commit {}, and the function has no rules of its own",
            &commit[..8]
        )
    );
}

#[tokio::test]
async fn a_pull_request_cannot_change_what_builds_it() {
    // main allows team-api only for pull requests into main; the pull request's own commit
    // widens its file to build everything in team-shared.
    let repo = GitRepo::init("main");
    repo.write(FILE, &rules_for("team-api"));
    let main = repo.commit("Rules");
    repo.checkout_new_branch("feature/retries", "main");
    repo.write(
        FILE,
        "rules:\n  - {name: all, project: team-shared, branches: ['**'], pullRequests: ['**']}\n",
    );
    let source = repo.commit("Build everything with team-shared");
    let harness = installation().git_repository("my-app", repo).start().await;
    harness.codecommit.set_pull_request(
        "17",
        "my-app",
        PullRequestTarget {
            source: ("refs/heads/feature/retries", &source),
            destination: ("refs/heads/main", &main),
            status: "OPEN",
            merged: false,
        },
    );
    let mut event = sample_event("pull-request-created.json");
    event["detail"]["sourceCommit"] = json!(source);
    event["detail"]["destinationCommit"] = json!(main);
    event["detail"]["destinationReference"] = json!("refs/heads/main");
    event["time"] = json!(now());
    harness.codecommit.set_revision(
        "17",
        event["detail"]["revisionId"].as_str().expect("a revision"),
    );

    let answer = harness.answer(&event).await;
    assert_eq!(
        answer["started"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    assert_eq!(answer["started"][0]["project"], "team-api");
    assert_eq!(answer["started"][0]["commit"], source.as_str());
    assert_eq!(
        file_reads(&harness),
        [("my-app".to_owned(), main.clone(), FILE.to_owned())],
        "read at the destination commit only"
    );
    assert!(harness.builds_of(SHARED).await.is_empty());
}

#[tokio::test]
async fn a_file_the_function_may_not_read_fails_the_event_for_a_retry() {
    let (repo, commit) = repository(Some(&rules_for(SHARED)));
    let harness = installation().git_repository("web", repo).start().await;
    harness.codecommit.deny("GetFile");
    let failure = harness
        .invoke(&push("web", &commit))
        .await
        .expect_err("the rules are unknown");
    assert_eq!(
        failure.error_type, "RepositoryFileUnreadable",
        "{failure:?}"
    );
    assert!(
        failure.error_message.starts_with(&format!(
            "{FILE} of repository web at commit {commit} could not be read: GetFile failed: AccessDeniedException"
        )),
        "{failure:?}"
    );
    assert!(harness.start_build_requests().is_empty());
}

/// Writes `text` to a file of its own under the system's temporary directory; returns its path.
fn scratch_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("repositories-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write a scratch file");
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[tokio::test]
async fn check_validates_a_file_offline_as_the_function_would() {
    let harness = installation().start().await;
    let good = scratch_file("good.yml", &rules_for(SHARED));
    let output = harness.run_cli(&["check", &good]).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("{good}: valid, 1 rule(s): main ({SHARED})")
    );

    // The installation's ALLOWED_PROJECTS (team-*) applies, as it would in the function.
    let rogue = scratch_file("rogue.yml", &rules_for("prod-deploy"));
    let output = harness.run_cli(&["check", &rogue]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        format!("{rogue}: rules[0] (main).project, line 3: \"prod-deploy\" is not a project that ALLOWED_PROJECTS allows")
    );

    let broken = scratch_file(
        "broken.yml",
        "rules:\n  - name: main\n    project: team-api\n    tags: [v1\n",
    );
    let output = harness.run_cli(&["check", &broken]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with(&format!("{broken}: ")),
        "{output:?}"
    );
    for path in [good, rogue, broken] {
        std::fs::remove_file(path).expect("remove a scratch file");
    }
}

#[tokio::test]
async fn explain_decides_an_event_with_a_given_file() {
    let (repo, commit) = repository(None);
    let harness = installation().git_repository("web", repo).start().await;
    let file = scratch_file(
        "explain.yml",
        "rules:\n  - {name: docs, project: team-api, branches: ['docs/*']}\n  - {name: main, project: team-shared, branches: [main]}\n",
    );
    let event = scratch_file("event.json", &push("web", &commit).to_string());
    let output = harness
        .run_cli(&["explain", "--config", &file, &event])
        .await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let decided: Vec<(&str, &str)> = lines
        .as_array()
        .expect("a list")
        .iter()
        .map(|line| {
            (
                line["rule"].as_str().unwrap_or("<none>"),
                line["decision"].as_str().unwrap_or("<none>"),
            )
        })
        .collect();
    assert_eq!(decided, [("main", "build")], "{lines}");
    assert!(
        harness.start_build_requests().is_empty(),
        "explain starts nothing"
    );
    assert!(
        file_reads(&harness).is_empty(),
        "the given file, not the repository's"
    );
    for path in [file, event] {
        std::fs::remove_file(path).expect("remove a scratch file");
    }
}

#[tokio::test]
async fn the_file_is_read_at_the_same_time_as_the_commit_message() {
    let (repo, commit) = repository(Some(&rules_for(SHARED)));
    let harness = installation().git_repository("web", repo).start().await;
    // Slow reads, so that one read after the other could not be mistaken for two at once.
    let slow = std::time::Duration::from_millis(300);
    harness.codecommit.delay("GetFile", slow);
    harness.codecommit.delay("GetCommit", slow);
    let answer = harness.answer(&push("web", &commit)).await;
    assert_eq!(answer["started"][0]["project"], SHARED, "{answer}");
    let spans = harness.codecommit.spans();
    let span = |operation: &str| {
        spans
            .iter()
            .find(|span| span.operation == operation)
            .unwrap_or_else(|| panic!("no {operation} call: {spans:?}"))
    };
    let (file, message) = (span("GetFile"), span("GetCommit"));
    assert!(
        message.received < file.answered && file.received < message.answered,
        "GetFile and GetCommit did not overlap: {spans:?}"
    );
}

#[tokio::test]
async fn the_reporter_approves_once_every_build_the_destinations_file_selects_succeeded() {
    use crate::pull_requests::set_pull_request_17;
    use crate::reporting::REVISION;
    use testkit::codecommit::{FUNCTION_ROLE, FUNCTION_SESSION};
    use testkit::events::build_state_event;

    let repo = GitRepo::init("master");
    repo.write(
        FILE,
        "rules:\n  - {name: test, project: team-api, pullRequests: [master]}\n  - {name: lint, project: team-shared, pullRequests: [master]}\n",
    );
    let master = repo.commit("Two rules for pull requests");
    repo.checkout_new_branch("feature/retries", "master");
    repo.write("src/lib.rs", "pub fn g() {}\n");
    let source = repo.commit("A change");
    let harness = installation()
        .env("REPORTER_ROLE_ARN", FUNCTION_ROLE)
        .env("APPROVE_PULL_REQUESTS", "true")
        .git_repository("my-app", repo)
        .start()
        .await;
    set_pull_request_17(&harness, &source, &master, "OPEN", false);
    harness.codecommit.set_revision("17", REVISION);
    let opened = harness
        .answer(&crate::pull_requests::event(
            "pull-request-created.json",
            &source,
            &master,
            REVISION,
        ))
        .await;
    let build = |project: &str| {
        let started = opened["started"].as_array().expect("started");
        let entry = started
            .iter()
            .find(|entry| entry["project"] == project)
            .unwrap_or_else(|| panic!("no {project} build in {opened}"));
        let id = entry["buildId"].as_str().expect("a build id").to_owned();
        let request = harness
            .start_build_requests()
            .into_iter()
            .find(|request| request["projectName"] == project)
            .expect("its StartBuild");
        (id, request["environmentVariablesOverride"].clone())
    };
    let (test, test_variables) = build("team-api");
    let (lint, lint_variables) = build("team-shared");

    let first = harness
        .answer(&harness.codebuild_says(build_state_event(&test, 1, "SUCCEEDED", test_variables)))
        .await;
    assert_eq!(
        first["reported"]["approval"], "not yet: 1 of its builds is still running",
        "{first}"
    );
    harness.proxy.finish_build(&test);
    let second = harness
        .answer(&harness.codebuild_says(build_state_event(&lint, 1, "SUCCEEDED", lint_variables)))
        .await;
    assert_eq!(
        second["reported"]["approval"], "approved: all 2 of its builds succeeded",
        "{second}"
    );
    assert_eq!(
        harness.codecommit.approvers("17", REVISION),
        [FUNCTION_SESSION]
    );
    assert_eq!(
        harness.codecommit.comments().len(),
        2,
        "one comment per build"
    );
}
