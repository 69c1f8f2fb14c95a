//! End-to-end tests of routing rules, path filters, skip markers, the pusher filter,
//! supersede and `explain`: the release binary under the local Lambda Runtime API, with real
//! git history served by the fake CodeCommit endpoint and CodeBuild in moto behind the
//! recording proxy. Run with `make test`.

#![cfg(feature = "end-to-end")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use testkit::git::GitRepo;
use testkit::proxy::BuildStatus;
use testkit::{events, moto, now, overrides, Harness};

/// The CodeCommit repository every test pushes to.
const REPOSITORY: &str = "monorepo";
/// Its ARN, as events carry it.
const REPOSITORY_ARN: &str = "arn:aws:codecommit:us-east-1:123456789012:monorepo";
/// A person pushing.
const USER: &str = "arn:aws:iam::123456789012:user/alice";
/// The release bot's session, which `IGNORE_PUSHERS` names by pattern.
const BOT: &str = "arn:aws:sts::123456789012:assumed-role/release-bot/build-17";
/// `IGNORE_PUSHERS` of the bot test.
const BOT_PATTERN: &str = "arn:aws:sts::123456789012:assumed-role/release-bot/*";
/// How long a log line may trail the invocation's answer.
const LOG_WAIT: Duration = Duration::from_secs(5);

/// Unique names for event files written by the `explain` tests.
static NEXT_FILE: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------
// Fixtures

/// The two-service monorepo of the README: `api` and `web` on `main`, path-filtered.
fn monorepo_rules() -> Value {
    json!([
        {"name": "api", "project": "api-build", "branches": ["main"], "paths": ["services/api/**"]},
        {"name": "web", "project": "web-build", "branches": ["main"], "paths": ["services/web/**"],
         "pathsIgnore": ["**/*.md"]}
    ])
}

/// A repository on `main` holding both services and a top-level README; returns it and its
/// first commit.
fn monorepo() -> (GitRepo, String) {
    let repo = GitRepo::init("main");
    repo.write("README.md", "# monorepo\n");
    repo.write("services/api/src/main.rs", "fn main() {}\n");
    repo.write("services/api/shared/config.json", "{}\n");
    repo.write("services/web/index.html", "<h1>web</h1>\n");
    repo.write("services/web/README.md", "# web\n");
    let first = repo.commit("Initial commit");
    (repo, first)
}

/// A harness running `rules` with projects `api-build`, `web-build` and `release-build`,
/// serving `repo` as [`REPOSITORY`].
async fn harness_with(rules: &Value, repo: GitRepo) -> Harness {
    Harness::builder()
        .rules(rules)
        .project("api-build")
        .project("web-build")
        .project("release-build")
        .git_repository(REPOSITORY, repo)
        .start()
        .await
}

/// A CodeCommit repository-trigger event of [`REPOSITORY`] pushed by `pusher`, with
/// `references` (`[{"ref", "commit", "created"?}]`) as given.
fn trigger_event(references: Value, pusher: &str) -> Value {
    trigger_event_at(references, pusher, &now())
}

/// A trigger event whose push happened at `time`.
fn trigger_event_at(references: Value, pusher: &str, time: &str) -> Value {
    json!({"Records": [events::trigger_record(REPOSITORY, Some(pusher), time, references)]})
}

/// A trigger event: [`USER`] pushed `commit` to `reference` (no previous commit, as
/// trigger events never name one).
fn push(reference: &str, commit: &str) -> Value {
    trigger_event(json!([{"ref": reference, "commit": commit}]), USER)
}

/// An EventBridge `referenceUpdated` event: branch `branch` moved from `old` to `new`.
fn eventbridge_update(branch: &str, old: &str, new: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit",
        "account": "123456789012",
        "time": "2026-11-28T09:41:07Z",
        "region": "us-east-1",
        "resources": [REPOSITORY_ARN],
        "detail": {
            "callerUserArn": USER,
            "commitId": new,
            "event": "referenceUpdated",
            "oldCommitId": old,
            "referenceFullName": format!("refs/heads/{branch}"),
            "referenceName": branch,
            "referenceType": "branch",
            "repositoryId": "7c1e3a5b-9d2f-4e6a-8b0c-1d3e5f7a9b2c",
            "repositoryName": REPOSITORY
        }
    })
}

/// The first 8 digits of a commit id, as reasons print it.
fn short(commit: &str) -> &str {
    &commit[..8]
}

// ---------------------------------------------------------------------------------------
// Observations

/// `(project, rule, ref, commit)` of each `started` entry, in order.
fn started(response: &Value) -> Vec<(String, String, String, String)> {
    response["started"]
        .as_array()
        .expect("the answer has a started list")
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap_or("<none>").to_owned();
            (text("project"), text("rule"), text("ref"), text("commit"))
        })
        .collect()
}

/// `(project, rule, ref, commit)` tuples for [`started`] comparisons.
fn entries(expected: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    expected
        .iter()
        .map(|(project, rule, reference, commit)| {
            (
                (*project).to_owned(),
                (*rule).to_owned(),
                (*reference).to_owned(),
                (*commit).to_owned(),
            )
        })
        .collect()
}

/// The `skipped` entries of the answer.
fn skipped(response: &Value) -> Vec<Value> {
    response["skipped"]
        .as_array()
        .expect("the answer has a skipped list")
        .clone()
}

/// The one `skipped` entry of `rule`; panics unless there is exactly one.
fn skipped_rule(response: &Value, rule: &str) -> Value {
    let found: Vec<Value> = skipped(response)
        .into_iter()
        .filter(|entry| entry["rule"] == rule)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one skipped entry of rule {rule}: {response}"
    );
    found[0].clone()
}

/// The reason of a `skipped` entry (or a log line's fields).
fn reason(entry: &Value) -> &str {
    entry["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {entry}"))
}

/// The fields of the function's `decision` log line for `commit` and `rule`, waiting for it
/// briefly; the newest if there are several.
async fn decision(harness: &Harness, commit: &str, rule: &str) -> Value {
    let matches = |record: &Value| {
        record["fields"]["message"] == "decision"
            && record["fields"]["commit"] == commit
            && record["fields"]["rule"] == rule
    };
    harness
        .function
        .wait_for_log_record(matches, LOG_WAIT)
        .await
        .unwrap_or_else(|| {
            panic!(
                "no decision line for commit {commit} and rule {rule}\n{}",
                harness.diagnostics()
            )
        });
    harness
        .function
        .log_records()
        .into_iter()
        .rfind(matches)
        .expect("the decision line was just seen")["fields"]
        .clone()
}

/// The `sourceVersion` of every build of `project` in moto, oldest first.
async fn source_versions(harness: &Harness, project: &str) -> Vec<String> {
    harness
        .builds_of(project)
        .await
        .iter()
        .map(|build| {
            build
                .source_version()
                .expect("a build has a source version")
                .to_owned()
        })
        .collect()
}

/// Bodies of the fake CodeCommit's calls of `operation`, in order.
fn codecommit_calls(harness: &Harness, operation: &str) -> Vec<Value> {
    harness
        .codecommit
        .calls()
        .into_iter()
        .filter(|(called, _)| called == operation)
        .map(|(_, body)| body)
        .collect()
}

/// Operation names the proxy recorded from index `from` on.
fn codebuild_operations_since(harness: &Harness, from: usize) -> Vec<String> {
    harness.proxy.requests()[from..]
        .iter()
        .map(|request| request.operation().to_owned())
        .collect()
}

/// The build id of the `index`th `started` entry.
fn build_id(response: &Value, index: usize) -> String {
    response["started"][index]["buildId"]
        .as_str()
        .unwrap_or_else(|| panic!("started[{index}] has a buildId: {response}"))
        .to_owned()
}

/// Write `event` to a fresh temporary file for `explain`; the caller removes it.
fn event_file(event: &Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "codecommit-build-trigger-explain-{}-{}.json",
        std::process::id(),
        NEXT_FILE.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&path, event.to_string())
        .unwrap_or_else(|err| panic!("writing {} failed: {err}", path.display()));
    path
}

// ---------------------------------------------------------------------------------------
// 1. Monorepo with two services

#[tokio::test]
async fn a_monorepo_push_builds_only_the_services_it_changed() {
    let (repo, first) = monorepo();
    let harness = harness_with(&monorepo_rules(), repo).await;

    // The first push of main: no earlier build to compare with, so both build.
    let response = harness.answer(&push("refs/heads/main", &first)).await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "api", "refs/heads/main", &first),
            ("web-build", "web", "refs/heads/main", &first),
        ])
    );
    assert_eq!(skipped(&response), Vec::<Value>::new());
    for rule in ["api", "web"] {
        let line = decision(&harness, &first, rule).await;
        assert_eq!(line["decision"], "build", "{line}");
        assert!(
            reason(&line).contains("paths not checked: no earlier build of refs/heads/main"),
            "{line}"
        );
    }

    // A commit changing only the api, pushed by a trigger event (no previous commit in it):
    // compared with the commit of the last build this function started for main.
    let repo = harness.git(REPOSITORY);
    repo.write(
        "services/api/src/main.rs",
        "fn main() { println!(\"v2\"); }\n",
    );
    let api_change = repo.commit("Change the api");
    let before = harness.proxy.requests().len();
    let response = harness.answer(&push("refs/heads/main", &api_change)).await;
    assert_eq!(
        started(&response),
        entries(&[("api-build", "api", "refs/heads/main", &api_change)])
    );
    let web = skipped_rule(&response, "web");
    assert_eq!(web["project"], "web-build");
    assert_eq!(web["repository"], REPOSITORY);
    assert_eq!(web["ref"], "refs/heads/main");
    assert_eq!(web["commit"], api_change.as_str());
    assert!(
        reason(&web).contains(&format!(
            "none of the 1 files changed since {}",
            short(&first)
        )),
        "{web}"
    );
    assert_eq!(skipped(&response).len(), 1, "{response}");
    let api = decision(&harness, &api_change, "api").await;
    assert!(
        reason(&api).contains(&format!("1 of 1 files changed since {}", short(&first))),
        "{api}"
    );
    // The base came from each rule's project's builds: ListBuildsForProject, BatchGetBuilds.
    let listed: Vec<Value> = harness.proxy.requests()[before..]
        .iter()
        .filter(|request| request.operation() == "ListBuildsForProject")
        .map(|request| request.body["projectName"].clone())
        .collect();
    assert!(listed.contains(&json!("api-build")), "{listed:?}");
    assert!(listed.contains(&json!("web-build")), "{listed:?}");
    assert!(
        codebuild_operations_since(&harness, before).contains(&"BatchGetBuilds".to_owned()),
        "{:?}",
        codebuild_operations_since(&harness, before)
    );

    // Only the web service's README: ignored by web, outside api's paths: nothing starts.
    repo.write("services/web/README.md", "# web\n\nHow to run it.\n");
    let web_docs = repo.commit("Document the web service");
    let response = harness.answer(&push("refs/heads/main", &web_docs)).await;
    assert_eq!(started(&response), entries(&[]), "{response}");
    assert!(
        reason(&skipped_rule(&response, "api")).contains(&format!(
            "none of the 1 files changed since {}",
            short(&api_change)
        )),
        "{response}"
    );
    assert!(
        reason(&skipped_rule(&response, "web")).contains(&format!(
            "none of the 2 files changed since {}",
            short(&first)
        )),
        "web still compares with its own last build: {response}"
    );

    // The api again: compared with the newest api build (not the oldest).
    repo.write("services/api/src/lib.rs", "pub fn answer() -> u32 { 42 }\n");
    let api_again = repo.commit("Add an api library");
    let response = harness.answer(&push("refs/heads/main", &api_again)).await;
    assert_eq!(
        started(&response),
        entries(&[("api-build", "api", "refs/heads/main", &api_again)])
    );
    let api = decision(&harness, &api_again, "api").await;
    assert!(
        reason(&api).contains(&format!(
            "1 of 2 files changed since {}",
            short(&api_change)
        )),
        "{api}"
    );
    assert!(
        reason(&skipped_rule(&response, "web")).contains(&format!(
            "none of the 3 files changed since {}",
            short(&first)
        )),
        "{response}"
    );

    assert_eq!(
        source_versions(&harness, "api-build").await,
        [first.clone(), api_change, api_again]
    );
    assert_eq!(source_versions(&harness, "web-build").await, [first]);
    assert!(harness.builds().await.is_empty(), "demo-project is unused");
}

// ---------------------------------------------------------------------------------------
// 2. Hundreds of changed files

#[tokio::test]
async fn hundreds_of_changed_files_are_read_page_by_page() {
    let (repo, first) = monorepo();
    let harness = harness_with(&monorepo_rules(), repo).await;
    harness.answer(&push("refs/heads/main", &first)).await;
    assert!(
        codecommit_calls(&harness, "GetDifferences").is_empty(),
        "no earlier build: nothing to compare"
    );

    let repo = harness.git(REPOSITORY);
    for n in 0..349 {
        repo.write(
            &format!("docs/generated/page-{n:03}.txt"),
            &format!("{n}\n"),
        );
    }
    repo.write("services/api/src/handler.rs", "pub fn handle() {}\n");
    let bulk = repo.commit("Regenerate the docs and add a handler");
    let response = harness.answer(&push("refs/heads/main", &bulk)).await;

    assert_eq!(
        started(&response),
        entries(&[("api-build", "api", "refs/heads/main", &bulk)])
    );
    let api = decision(&harness, &bulk, "api").await;
    assert!(
        reason(&api).contains(&format!("1 of 350 files changed since {}", short(&first))),
        "{api}"
    );
    assert!(
        reason(&skipped_rule(&response, "web")).contains("none of the 350 files"),
        "{response}"
    );
    // Four pages of at most 100 differences, read once for both rules (same base).
    let pages = codecommit_calls(&harness, "GetDifferences");
    assert_eq!(pages.len(), 4, "{pages:#?}");
    let tokens: Vec<&Value> = pages.iter().map(|page| &page["NextToken"]).collect();
    assert_eq!(tokens[0], &Value::Null, "the first page has no token");
    assert!(
        tokens[1..].iter().all(|token| token.is_string()),
        "{tokens:?}"
    );
    for page in &pages {
        assert_eq!(page["beforeCommitSpecifier"], first.as_str());
        assert_eq!(page["afterCommitSpecifier"], bulk.as_str());
    }
    assert_eq!(
        source_versions(&harness, "api-build").await,
        [first.clone(), bulk]
    );
    assert_eq!(source_versions(&harness, "web-build").await, [first]);
}

// ---------------------------------------------------------------------------------------
// 3. New branch

#[tokio::test]
async fn a_new_branch_is_compared_with_its_merge_base_with_the_default_branch() {
    let (repo, first) = monorepo();
    repo.checkout_new_branch("feature/web-banner", "main");
    repo.write("services/web/index.html", "<h1>web</h1>\n<p>banner</p>\n");
    let branch_commit = repo.commit("Add a banner");
    // main moves on with an api change after the branch point.
    repo.checkout("main");
    repo.write("services/api/src/main.rs", "fn main() { /* moved on */ }\n");
    let main_moved = repo.commit("Change the api on main");
    assert_ne!(main_moved, first);

    let rules = json!([
        {"name": "api", "project": "api-build", "branches": ["**"], "paths": ["services/api/**"]},
        {"name": "web", "project": "web-build", "branches": ["**"], "paths": ["services/web/**"],
         "pathsIgnore": ["**/*.md"]}
    ]);
    let harness = harness_with(&rules, repo).await;
    let event = trigger_event(
        json!([{"ref": "refs/heads/feature/web-banner", "commit": branch_commit, "created": true}]),
        USER,
    );
    let response = harness.answer(&event).await;

    assert_eq!(
        started(&response),
        entries(&[(
            "web-build",
            "web",
            "refs/heads/feature/web-banner",
            &branch_commit
        )])
    );
    assert!(
        reason(&skipped_rule(&response, "api")).contains(&format!(
            "none of the 1 files changed since {}",
            short(&first)
        )),
        "compared with the merge base, not main's head: {response}"
    );
    let web = decision(&harness, &branch_commit, "web").await;
    assert!(
        reason(&web).contains(&format!("1 of 1 files changed since {}", short(&first))),
        "{web}"
    );
    assert_eq!(codecommit_calls(&harness, "GetRepository").len(), 1);
    let merge_options = codecommit_calls(&harness, "GetMergeOptions");
    assert_eq!(merge_options.len(), 1, "{merge_options:?}");
    assert_eq!(
        merge_options[0]["sourceCommitSpecifier"],
        branch_commit.as_str()
    );
    assert_eq!(merge_options[0]["destinationCommitSpecifier"], "main");
    assert!(
        !codebuild_operations_since(&harness, 0).contains(&"ListBuildsForProject".to_owned()),
        "a new branch needs no build history"
    );
    assert_eq!(
        source_versions(&harness, "web-build").await,
        [branch_commit]
    );
    assert!(source_versions(&harness, "api-build").await.is_empty());
}

// ---------------------------------------------------------------------------------------
// 4. EventBridge

#[tokio::test]
async fn an_eventbridge_update_is_compared_with_its_old_commit() {
    let (repo, first) = monorepo();
    repo.write("services/api/src/main.rs", "fn main() { /* v2 */ }\n");
    let api_change = repo.commit("Change the api");
    let harness = harness_with(&monorepo_rules(), repo).await;

    let response = harness
        .answer(&eventbridge_update("main", &first, &api_change))
        .await;
    assert_eq!(
        started(&response),
        entries(&[("api-build", "api", "refs/heads/main", &api_change)])
    );
    assert!(
        reason(&skipped_rule(&response, "web")).contains(&format!(
            "none of the 1 files changed since {}",
            short(&first)
        )),
        "{response}"
    );
    let differences = codecommit_calls(&harness, "GetDifferences");
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert_eq!(differences[0]["beforeCommitSpecifier"], first.as_str());
    assert_eq!(differences[0]["afterCommitSpecifier"], api_change.as_str());
    let operations = codebuild_operations_since(&harness, 0);
    assert!(
        !operations.contains(&"ListBuildsForProject".to_owned())
            && !operations.contains(&"BatchGetBuilds".to_owned()),
        "oldCommitId is the base: no build history is read: {operations:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Merges, renames, deletions

#[tokio::test]
async fn merges_renames_and_deletions_count_as_changes() {
    let (repo, first) = monorepo();
    repo.checkout_new_branch("feature/api", "main");
    repo.write("services/api/src/main.rs", "fn main() { /* feature */ }\n");
    repo.commit("Work on the api");
    repo.checkout("main");
    repo.write("README.md", "# monorepo\n\nTwo services.\n");
    let readme = repo.commit("Update the README");
    let merge = repo.merge("feature/api", "Merge branch 'feature/api'");
    repo.rename(
        "services/api/shared/config.json",
        "services/web/shared/config.json",
    );
    let rename = repo.commit("Move the shared config to web");
    repo.remove("services/web/index.html");
    let delete = repo.commit("Remove the web index");
    assert_ne!(first, readme);
    let harness = harness_with(&monorepo_rules(), repo).await;

    // The merge commit brings in the feature's api change.
    let response = harness
        .answer(&eventbridge_update("main", &readme, &merge))
        .await;
    assert_eq!(
        started(&response),
        entries(&[("api-build", "api", "refs/heads/main", &merge)])
    );
    assert!(
        reason(&skipped_rule(&response, "web")).contains("none of the 1 files"),
        "{response}"
    );

    // A rename from services/api to services/web counts for both.
    let response = harness
        .answer(&eventbridge_update("main", &merge, &rename))
        .await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "api", "refs/heads/main", &rename),
            ("web-build", "web", "refs/heads/main", &rename),
        ])
    );
    for rule in ["api", "web"] {
        let line = decision(&harness, &rename, rule).await;
        assert!(
            reason(&line).contains(&format!("1 of 2 files changed since {}", short(&merge))),
            "{line}"
        );
    }

    // A deletion under services/web builds web only.
    let response = harness
        .answer(&eventbridge_update("main", &rename, &delete))
        .await;
    assert_eq!(
        started(&response),
        entries(&[("web-build", "web", "refs/heads/main", &delete)])
    );
    assert!(
        reason(&skipped_rule(&response, "api")).contains("none of the 1 files"),
        "{response}"
    );
    assert_eq!(
        source_versions(&harness, "api-build").await,
        [merge, rename.clone()]
    );
    assert_eq!(
        source_versions(&harness, "web-build").await,
        [rename, delete]
    );
}

// ---------------------------------------------------------------------------------------
// 6. Skip markers

/// Two rules without path filters, so skip markers are the only reason to read CodeCommit.
fn two_unfiltered_rules() -> Value {
    json!([
        {"name": "api", "project": "api-build", "branches": ["main", "release"]},
        {"name": "web", "project": "web-build", "branches": ["main", "release"]}
    ])
}

#[tokio::test]
async fn a_skip_marker_in_the_head_commit_skips_the_push() {
    let (repo, first) = monorepo();
    let harness = harness_with(&two_unfiltered_rules(), repo).await;
    let repo = harness.git(REPOSITORY);

    for (message, marker) in [
        ("Fix a typo [SKIP CI]", "[skip ci]"),
        ("Docs only [ci skip]", "[ci skip]"),
        ("WIP [No Ci]", "[no ci]"),
        (
            "Bump the version\n\nNothing to test. [skip build]",
            "[skip build]",
        ),
    ] {
        repo.write("notes.txt", message);
        let commit = repo.commit(message);
        let calls_before = codecommit_calls(&harness, "GetCommit").len();
        let response = harness.answer(&push("refs/heads/main", &commit)).await;
        assert_eq!(started(&response), entries(&[]), "{message}: {response}");
        let skips = skipped(&response);
        assert_eq!(skips.len(), 1, "{message}: {response}");
        assert_eq!(
            reason(&skips[0]),
            format!("the message of commit {} contains {marker}", short(&commit)),
            "{message}"
        );
        let reads = &codecommit_calls(&harness, "GetCommit")[calls_before..];
        assert_eq!(
            reads.len(),
            1,
            "one GetCommit for two matching rules: {reads:?}"
        );
        assert_eq!(reads[0]["commitId"], commit.as_str());
    }
    assert!(harness.proxy.requests_of("StartBuild").is_empty());

    // A marker in an earlier commit does not skip the head commit.
    repo.write("notes.txt", "earlier [skip ci]\n");
    repo.commit("Earlier [skip ci]");
    repo.write("notes.txt", "head\n");
    let head = repo.commit("A real change");
    let response = harness.answer(&push("refs/heads/main", &head)).await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "api", "refs/heads/main", &head),
            ("web-build", "web", "refs/heads/main", &head),
        ])
    );

    // Two references at one commit, two rules each: still one GetCommit.
    let calls_before = codecommit_calls(&harness, "GetCommit").len();
    let event = trigger_event(
        json!([{"ref": "refs/heads/main", "commit": first},
               {"ref": "refs/heads/release", "commit": first}]),
        USER,
    );
    let response = harness.answer(&event).await;
    assert_eq!(started(&response).len(), 4, "{response}");
    assert_eq!(
        codecommit_calls(&harness, "GetCommit").len() - calls_before,
        1,
        "once per pushed commit"
    );
}

#[tokio::test]
async fn skip_markers_off_builds_a_marked_commit_without_reading_it() {
    let (repo, _) = monorepo();
    repo.write("notes.txt", "x\n");
    let marked = repo.commit("Tweak [skip ci]");
    let harness = Harness::builder()
        .rules(&two_unfiltered_rules())
        .env("SKIP_MARKERS", "false")
        .project("api-build")
        .project("web-build")
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let response = harness.answer(&push("refs/heads/main", &marked)).await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "api", "refs/heads/main", &marked),
            ("web-build", "web", "refs/heads/main", &marked),
        ])
    );
    assert_eq!(harness.codecommit.calls(), Vec::new());
}

// ---------------------------------------------------------------------------------------
// 7. Bot pusher

#[tokio::test]
async fn a_tag_pushed_by_the_release_bot_does_not_build_and_the_same_tag_by_a_person_does() {
    let (repo, first) = monorepo();
    repo.tag("v1.0.0", "main");
    let harness = Harness::builder()
        .env("TAGS", "v*")
        .env("IGNORE_PUSHERS", BOT_PATTERN)
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let tag = json!([{"ref": "refs/tags/v1.0.0", "commit": first, "created": true}]);

    let response = harness.answer(&trigger_event(tag.clone(), BOT)).await;
    assert_eq!(response["started"], json!([]));
    assert_eq!(
        skipped(&response),
        [json!({
            "repository": REPOSITORY, "ref": "refs/tags/v1.0.0", "commit": first,
            "reason": format!("pushed by {BOT}, which matches `{BOT_PATTERN}` in IGNORE_PUSHERS")
        })]
    );
    assert!(harness.proxy.requests_of("StartBuild").is_empty());
    assert_eq!(
        harness.codecommit.calls(),
        Vec::new(),
        "an ignored pusher costs no CodeCommit call"
    );

    let response = harness.answer(&trigger_event(tag, USER)).await;
    assert_eq!(response["started"][0]["ref"], "refs/tags/v1.0.0");
    assert_eq!(response["started"][0]["project"], testkit::PROJECT);
    assert_eq!(source_versions(&harness, testkit::PROJECT).await, [first]);
}

// ---------------------------------------------------------------------------------------
// 8. Release branches

#[tokio::test]
async fn release_branch_patterns_with_an_exclusion() {
    let (repo, first) = monorepo();
    repo.checkout_new_branch("release/2.0/hotfix", "main");
    repo.write("services/api/src/main.rs", "fn main() { /* hotfix */ }\n");
    let hotfix = repo.commit("Hotfix");
    let harness = Harness::builder()
        .env("BRANCHES", "release/**,!release/old-*")
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let event = trigger_event(
        json!([
            {"ref": "refs/heads/release/2.0", "commit": first},
            {"ref": "refs/heads/release/2.0/hotfix", "commit": hotfix},
            {"ref": "refs/heads/release/old-1", "commit": first},
            {"ref": "refs/heads/main", "commit": first},
        ]),
        USER,
    );
    let response = harness.answer(&event).await;
    let refs: Vec<&Value> = response["started"]
        .as_array()
        .expect("started")
        .iter()
        .map(|entry| &entry["ref"])
        .collect();
    assert_eq!(
        refs,
        [
            &json!("refs/heads/release/2.0"),
            &json!("refs/heads/release/2.0/hotfix")
        ]
    );
    let reasons: Vec<(String, String)> = skipped(&response)
        .iter()
        .map(|entry| {
            (
                entry["ref"].as_str().expect("a ref").to_owned(),
                reason(entry).to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "refs/heads/release/old-1".to_owned(),
                "branch release/old-1 is excluded by `!release/old-*` in BRANCHES".to_owned()
            ),
            (
                "refs/heads/main".to_owned(),
                "branch main does not match BRANCHES".to_owned()
            ),
        ]
    );
    let requests = harness.proxy.requests_of("StartBuild");
    assert_eq!(requests.len(), 2);
    // The two starts run at once: either may reach CodeBuild first.
    assert!(requests.iter().any(|request| overrides(request).contains(&(
        "CODECOMMIT_BRANCH".to_owned(),
        "release/2.0/hotfix".to_owned()
    ))));
    let mut versions = source_versions(&harness, testkit::PROJECT).await;
    versions.sort();
    let mut expected = vec![first, hotfix];
    expected.sort();
    assert_eq!(versions, expected);
}

// ---------------------------------------------------------------------------------------
// 9. Tag releases with rules

#[tokio::test]
async fn a_tag_rule_starts_its_project_with_its_variables_and_no_path_filter() {
    let (repo, _) = monorepo();
    repo.write("README.md", "# monorepo\n\nRelease notes.\n");
    let notes = repo.commit("Release notes");
    repo.tag("v2.1.0", "main");
    let rules = json!([
        {"name": "api", "project": "api-build", "branches": ["main"], "paths": ["services/api/**"]},
        {"name": "release", "project": "release-build", "tags": ["v*"],
         "paths": ["services/**"], "environment": {"CHANNEL": "stable"}}
    ]);
    let harness = harness_with(&rules, repo).await;
    let event = trigger_event(
        json!([{"ref": "refs/tags/v2.1.0", "commit": notes, "created": true}]),
        USER,
    );
    let response = harness.answer(&event).await;

    assert_eq!(
        started(&response),
        entries(&[("release-build", "release", "refs/tags/v2.1.0", &notes)]),
        "the tagged commit changed no file under services/, yet the tag builds"
    );
    assert_eq!(skipped(&response), Vec::<Value>::new());
    let requests = harness.proxy.requests_of("StartBuild");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["projectName"], "release-build");
    assert_eq!(requests[0]["sourceVersion"], notes.as_str());
    let expected: Vec<(String, String)> = [
        ("CODECOMMIT_REPOSITORY", REPOSITORY),
        ("CODECOMMIT_REF", "refs/tags/v2.1.0"),
        ("CODECOMMIT_TAG", "v2.1.0"),
        ("CODECOMMIT_COMMIT", notes.as_str()),
        ("CODECOMMIT_PUSHER_ARN", USER),
        ("CODECOMMIT_RULE", "release"),
        ("CHANNEL", "stable"),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    assert_eq!(overrides(&requests[0]), expected);
    assert!(
        codecommit_calls(&harness, "GetDifferences").is_empty(),
        "tags are never path-filtered"
    );
    assert!(harness.proxy.requests_of("ListBuildsForProject").is_empty());
    assert_eq!(source_versions(&harness, "release-build").await, [notes]);
    assert!(source_versions(&harness, "api-build").await.is_empty());

    // CodeBuild (as the proxy completes moto) reports the variables in the build.
    let via_proxy = moto::codebuild_client(&harness.proxy.endpoint());
    let id = build_id(&response, 0);
    let described = via_proxy
        .batch_get_builds()
        .ids(&id)
        .send()
        .await
        .expect("BatchGetBuilds through the proxy");
    let variables: Vec<(String, String)> = described.builds()[0]
        .environment()
        .expect("the build's environment")
        .environment_variables()
        .iter()
        .map(|variable| (variable.name().to_owned(), variable.value().to_owned()))
        .collect();
    assert_eq!(variables, expected);
}

// ---------------------------------------------------------------------------------------
// 10. Routing to several projects

#[tokio::test]
async fn a_push_matching_two_rules_starts_each_rules_project_once() {
    let (repo, first) = monorepo();
    repo.checkout_new_branch("feature/x", "main");
    repo.write("services/web/index.html", "<h1>x</h1>\n");
    let feature = repo.commit("Feature x");
    let rules = json!([
        {"name": "ci", "project": "api-build", "branches": ["**"]},
        {"name": "deploy", "project": "web-build", "branches": ["main"]}
    ]);
    let harness = harness_with(&rules, repo).await;
    let event = trigger_event(
        json!([{"ref": "refs/heads/main", "commit": first},
               {"ref": "refs/heads/feature/x", "commit": feature}]),
        USER,
    );
    let response = harness.answer(&event).await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "ci", "refs/heads/main", &first),
            ("web-build", "deploy", "refs/heads/main", &first),
            ("api-build", "ci", "refs/heads/feature/x", &feature),
        ])
    );
    assert_eq!(skipped(&response), Vec::<Value>::new());
    // The starts run concurrently: compare them in any order.
    let mut projects: Vec<String> = harness
        .proxy
        .requests_of("StartBuild")
        .iter()
        .map(|request| json!([request["projectName"], request["sourceVersion"]]).to_string())
        .collect();
    projects.sort();
    let mut expected = [
        json!(["api-build", first]).to_string(),
        json!(["web-build", first]).to_string(),
        json!(["api-build", feature]).to_string(),
    ];
    expected.sort();
    assert_eq!(projects, expected);
    let mut api_builds = source_versions(&harness, "api-build").await;
    api_builds.sort();
    let mut expected = [first.clone(), feature];
    expected.sort();
    assert_eq!(api_builds, expected);
    assert_eq!(source_versions(&harness, "web-build").await, [first]);
}

#[tokio::test]
async fn two_rules_on_one_project_with_different_variables_start_two_builds() {
    let (repo, first) = monorepo();
    // One shared project, told by a variable which service to build.
    let rules = json!([
        {"name": "api", "project": "api-build", "branches": ["main"], "environment": {"SERVICE": "api"}},
        {"name": "web", "project": "api-build", "branches": ["main"], "environment": {"SERVICE": "web"}}
    ]);
    let harness = harness_with(&rules, repo).await;
    let response = harness.answer(&push("refs/heads/main", &first)).await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "api", "refs/heads/main", &first),
            ("api-build", "web", "refs/heads/main", &first),
        ])
    );
    let requests = harness.proxy.requests_of("StartBuild");
    assert_eq!(requests.len(), 2);
    // CodeBuild answers a reused token whose parameters differ with a parameter mismatch
    // (which the function counts as "already started"), and a reused token with the same
    // parameters with the first build: two different builds need two tokens.
    assert_ne!(
        requests[0]["idempotencyToken"], requests[1]["idempotencyToken"],
        "the web build would never start: {requests:#?}"
    );
}

#[tokio::test]
async fn a_rules_overrides_reach_startbuild_exactly_as_configured() {
    let (repo, first) = monorepo();
    let rules = json!([
        {"name": "linux", "project": "api-build", "branches": ["main"],
         "buildspec": "ci/linux.yml", "computeType": "BUILD_GENERAL1_LARGE",
         "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "environmentType": "LINUX_CONTAINER",
         "timeoutInMinutes": 90, "queuedTimeoutInMinutes": 30, "gitCloneDepth": 1},
        {"name": "plain", "project": "web-build", "branches": ["main"]}
    ]);
    let harness = harness_with(&rules, repo).await;
    let response = harness.answer(&push("refs/heads/main", &first)).await;
    assert_eq!(started(&response).len(), 2, "{response:#}");
    let requests = harness.proxy.requests_of("StartBuild");
    let linux = requests
        .iter()
        .find(|request| request["projectName"] == "api-build")
        .expect("the linux rule's StartBuild");
    for (field, value) in [
        ("buildspecOverride", json!("ci/linux.yml")),
        ("computeTypeOverride", json!("BUILD_GENERAL1_LARGE")),
        (
            "imageOverride",
            json!("aws/codebuild/amazonlinux2-x86_64-standard:5.0"),
        ),
        ("environmentTypeOverride", json!("LINUX_CONTAINER")),
        ("timeoutInMinutesOverride", json!(90)),
        ("queuedTimeoutInMinutesOverride", json!(30)),
        ("gitCloneDepthOverride", json!(1)),
    ] {
        assert_eq!(linux[field], value, "{field}: {linux:#}");
    }
    let plain = requests
        .iter()
        .find(|request| request["projectName"] == "web-build")
        .expect("the plain rule's StartBuild");
    for field in [
        "buildspecOverride",
        "computeTypeOverride",
        "imageOverride",
        "timeoutInMinutesOverride",
    ] {
        assert!(
            plain.get(field).is_none(),
            "a rule without {field} leaves the project's: {plain:#}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 11. Supersede

#[tokio::test]
async fn a_new_build_supersedes_the_older_in_progress_build_of_the_same_ref() {
    let (repo, _) = monorepo();
    repo.checkout_new_branch("feature/x", "main");
    repo.write("feature.txt", "x\n");
    let feature = repo.commit("Feature x");
    repo.checkout("main");
    let mut commits = Vec::new();
    for n in 1..=3 {
        repo.write("services/api/version.txt", &format!("{n}\n"));
        commits.push(repo.commit(&format!("Version {n}")));
    }
    let rules = json!([
        {"name": "api", "project": "api-build", "branches": ["**"], "supersede": true}
    ]);
    // Each push is sent while main is at its commit, as CodeCommit would send it.
    repo.git(&["reset", "--hard", &commits[0]]);
    let harness = harness_with(&rules, repo).await;

    let response = harness
        .answer(&push("refs/heads/feature/x", &feature))
        .await;
    let feature_build = build_id(&response, 0);
    assert_eq!(response["started"][0].get("superseded"), None);
    let response = harness.answer(&push("refs/heads/main", &commits[0])).await;
    let first_build = build_id(&response, 0);
    assert_eq!(
        response["started"][0].get("superseded"),
        None,
        "another branch's build is not superseded: {response}"
    );
    assert_eq!(
        harness.proxy.build_status(&first_build),
        Some(BuildStatus::InProgress)
    );
    // A build somebody started by hand on the same project (not by this function).
    let by_hand = moto::codebuild_client(&harness.proxy.endpoint())
        .start_build()
        .project_name("api-build")
        .source_version("main")
        .send()
        .await
        .expect("a StartBuild by hand through the proxy")
        .build_value
        .and_then(|build| build.id)
        .expect("a build id");

    harness
        .git(REPOSITORY)
        .git(&["reset", "--hard", &commits[1]]);
    let response = harness.answer(&push("refs/heads/main", &commits[1])).await;
    let second_build = build_id(&response, 0);
    assert_eq!(
        response["started"][0]["superseded"],
        json!([first_build]),
        "{response}"
    );
    assert_eq!(
        harness.proxy.requests_of("StopBuild"),
        [json!({"id": first_build})]
    );
    assert_eq!(
        harness.proxy.build_status(&first_build),
        Some(BuildStatus::Stopped)
    );
    for untouched in [&feature_build, &by_hand, &second_build] {
        assert_eq!(
            harness.proxy.build_status(untouched),
            Some(BuildStatus::InProgress),
            "{untouched}"
        );
    }

    // A finished build is not stopped.
    harness.proxy.finish_build(&second_build);
    harness
        .git(REPOSITORY)
        .git(&["reset", "--hard", &commits[2]]);
    let response = harness.answer(&push("refs/heads/main", &commits[2])).await;
    assert_eq!(response["started"][0].get("superseded"), None, "{response}");
    assert_eq!(harness.proxy.requests_of("StopBuild").len(), 1);
    assert_eq!(
        source_versions(&harness, "api-build").await,
        [
            feature,
            commits[0].clone(),
            "main".to_owned(),
            commits[1].clone(),
            commits[2].clone()
        ]
    );
}

#[tokio::test]
async fn without_supersede_nothing_is_stopped() {
    let (repo, first) = monorepo();
    repo.write("services/api/version.txt", "2\n");
    let second = repo.commit("Version 2");
    let rules = json!([{"name": "api", "project": "api-build", "branches": ["main"]}]);
    let harness = harness_with(&rules, repo).await;
    let response = harness.answer(&push("refs/heads/main", &first)).await;
    let first_build = build_id(&response, 0);
    let response = harness.answer(&push("refs/heads/main", &second)).await;
    assert_eq!(response["started"][0].get("superseded"), None, "{response}");
    assert!(harness.proxy.requests_of("StopBuild").is_empty());
    assert!(
        harness.proxy.requests_of("ListBuildsForProject").is_empty(),
        "no supersede, no path filter: no build history is read"
    );
    assert_eq!(
        harness.proxy.build_status(&first_build),
        Some(BuildStatus::InProgress)
    );
}

#[tokio::test]
async fn a_late_delivered_older_push_does_not_stop_the_build_of_a_newer_commit() {
    let (repo, first) = monorepo();
    repo.write("services/api/version.txt", "2\n");
    let newer = repo.commit("Version 2");
    let rules = json!([
        {"name": "api", "project": "api-build", "branches": ["main"], "supersede": true}
    ]);
    let harness = harness_with(&rules, repo).await;
    // The parent was pushed first, but its event arrives late (a Lambda retry, or two
    // quick pushes handled by two concurrent invocations): the push of `newer` is handled
    // first.
    let parent_pushed_at = now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let response = harness.answer(&push("refs/heads/main", &newer)).await;
    let newer_build = build_id(&response, 0);
    let late = trigger_event_at(
        json!([{"ref": "refs/heads/main", "commit": first}]),
        USER,
        &parent_pushed_at,
    );
    harness.answer(&late).await;
    assert_eq!(
        harness.proxy.build_status(&newer_build),
        Some(BuildStatus::InProgress),
        "the build of the branch's newest commit was stopped by a build of its parent; \
         StopBuild requests: {:?}",
        harness.proxy.requests_of("StopBuild")
    );
}

// ---------------------------------------------------------------------------------------
// 12. No CodeCommit call when none is needed

#[tokio::test]
async fn codecommit_is_not_called_without_path_rules_and_skip_markers() {
    let (repo, first) = monorepo();
    let harness = Harness::builder()
        .rules(&two_unfiltered_rules())
        .env("SKIP_MARKERS", "false")
        .project("api-build")
        .project("web-build")
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let response = harness.answer(&push("refs/heads/main", &first)).await;
    assert_eq!(started(&response).len(), 2, "{response}");
    assert_eq!(harness.codecommit.calls(), Vec::new());
    assert_eq!(
        codebuild_operations_since(&harness, 0),
        ["StartBuild", "StartBuild"]
    );
}

#[tokio::test]
async fn codecommit_is_not_called_for_a_push_no_rule_matches() {
    let (repo, first) = monorepo();
    let harness = harness_with(&monorepo_rules(), repo).await;
    let response = harness.answer(&push("refs/heads/feature/x", &first)).await;
    assert_eq!(started(&response), entries(&[]));
    let skips = skipped(&response);
    assert_eq!(skips.len(), 1, "{response}");
    assert_eq!(
        reason(&skips[0]),
        "branch feature/x matches no rule: branch feature/x does not match branches of rule api; \
         branch feature/x does not match branches of rule web"
    );
    assert_eq!(skips[0].get("rule"), None);
    assert_eq!(harness.codecommit.calls(), Vec::new());
    assert!(
        harness.proxy.requests().is_empty(),
        "no CodeBuild call either"
    );
}

// ---------------------------------------------------------------------------------------
// 13. An unknown base builds

#[tokio::test]
async fn a_denied_comparison_builds_and_says_why() {
    let (repo, first) = monorepo();
    let harness = harness_with(&monorepo_rules(), repo).await;
    harness.answer(&push("refs/heads/main", &first)).await;
    let repo = harness.git(REPOSITORY);
    repo.write("services/api/src/main.rs", "fn main() { /* v2 */ }\n");
    let api_change = repo.commit("Change the api");
    harness
        .codecommit
        .fail("GetDifferences", "AccessDeniedException", 5);

    let response = harness.answer(&push("refs/heads/main", &api_change)).await;
    assert_eq!(
        started(&response),
        entries(&[
            ("api-build", "api", "refs/heads/main", &api_change),
            ("web-build", "web", "refs/heads/main", &api_change),
        ]),
        "an unknown base builds"
    );
    for rule in ["api", "web"] {
        let line = decision(&harness, &api_change, rule).await;
        assert_eq!(line["decision"], "build");
        let why = reason(&line);
        assert!(
            why.contains("paths not checked") && why.contains("AccessDeniedException"),
            "{line}"
        );
    }
    assert_eq!(
        codecommit_calls(&harness, "GetDifferences").len(),
        1,
        "one comparison for both rules"
    );
}

// ---------------------------------------------------------------------------------------
// 14. explain

#[tokio::test]
async fn explain_prints_each_decision_and_starts_or_stops_nothing() {
    let (repo, first) = monorepo();
    let mut rules = monorepo_rules();
    rules[0]["supersede"] = json!(true);
    let harness = harness_with(&rules, repo).await;
    // An earlier build of main, still in progress, that a real push would supersede.
    let response = harness.answer(&push("refs/heads/main", &first)).await;
    let running = build_id(&response, 0);
    let repo = harness.git(REPOSITORY);
    repo.write("services/api/src/main.rs", "fn main() { /* v2 */ }\n");
    let api_change = repo.commit("Change the api");

    let event = trigger_event(
        json!([{"ref": "refs/heads/main", "commit": api_change},
               {"ref": "refs/heads/feature/x", "commit": api_change}]),
        USER,
    );
    let file = event_file(&event);
    let path = file.to_str().expect("a UTF-8 temporary path");
    let output = harness.run_cli(&["explain", path]).await;
    std::fs::remove_file(&file).expect("removing the event file");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("explain prints JSON ({err}): {stdout}\n{stderr}"));
    let lines = lines.as_array().expect("a JSON array");
    assert_eq!(lines.len(), 3, "{stdout}");

    let api = &lines[0];
    assert_eq!(
        (
            &api["repository"],
            &api["ref"],
            &api["commit"],
            &api["decision"],
            &api["project"],
            &api["rule"]
        ),
        (
            &json!(REPOSITORY),
            &json!("refs/heads/main"),
            &json!(api_change),
            &json!("build"),
            &json!("api-build"),
            &json!("api")
        )
    );
    assert!(
        reason(api).contains(&format!("1 of 1 files changed since {}", short(&first))),
        "{api}"
    );
    let web = &lines[1];
    assert_eq!(web["decision"], "skip");
    assert_eq!(web["project"], "web-build");
    assert_eq!(web["rule"], "web");
    assert!(
        reason(web).contains(&format!(
            "none of the 1 files changed since {}",
            short(&first)
        )),
        "{web}"
    );
    let feature = &lines[2];
    assert_eq!(feature["ref"], "refs/heads/feature/x");
    assert_eq!(feature["decision"], "skip");
    assert_eq!(feature.get("project"), None);
    assert_eq!(feature.get("rule"), None);
    assert!(reason(feature).contains("matches no rule"), "{feature}");

    // Read-only: the first push's two builds, nothing more, nothing stopped.
    assert_eq!(harness.proxy.requests_of("StartBuild").len(), 2);
    assert!(harness.proxy.requests_of("StopBuild").is_empty());
    assert_eq!(
        harness.proxy.build_status(&running),
        Some(BuildStatus::InProgress)
    );
    assert_eq!(source_versions(&harness, "api-build").await, [first]);
}

#[tokio::test]
async fn explain_rejects_an_invalid_event_and_a_missing_argument() {
    let (repo, first) = monorepo();
    let harness = harness_with(&monorepo_rules(), repo).await;

    let file = event_file(&push("refs/heads/main", &first[..39]));
    let path = file.to_str().expect("a UTF-8 temporary path");
    let output = harness.run_cli(&["explain", path]).await;
    std::fs::remove_file(&file).expect("removing the event file");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Records[0].codecommit.references[0].commit"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let output = harness.run_cli(&[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("explain EVENT.json"), "{stderr}");
    assert!(harness.proxy.requests().is_empty());
    assert_eq!(harness.codecommit.calls(), Vec::new());
}

#[tokio::test]
async fn explain_tells_that_an_event_from_a_repository_not_allowed_is_refused() {
    let (repo, first) = monorepo();
    let harness = Harness::builder()
        .rules(&two_unfiltered_rules())
        .env(
            "ALLOWED_REPOSITORIES",
            "arn:aws:codecommit:us-east-1:123456789012:other-repository",
        )
        .project("api-build")
        .project("web-build")
        .git_repository(REPOSITORY, repo)
        .start()
        .await;
    let event = push("refs/heads/main", &first);
    let refused = harness
        .invoke(&event)
        .await
        .expect_err("the function refuses the event");
    assert_eq!(refused.error_type, "RepositoryNotAllowed");

    let file = event_file(&event);
    let path = file.to_str().expect("a UTF-8 temporary path");
    let output = harness.run_cli(&["explain", path]).await;
    std::fs::remove_file(&file).expect("removing the event file");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains("\"build\""),
        "explain says the push builds, the function refuses it:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("ALLOWED_REPOSITORIES") || stderr.contains("ALLOWED_REPOSITORIES"),
        "explain names the reason the function refuses the event:\n{stdout}\n{stderr}"
    );
    assert!(harness.proxy.requests_of("StartBuild").is_empty());
}
