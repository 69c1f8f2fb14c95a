//! Self-test of the git-backed operations of the fake CodeCommit endpoint, through the real
//! AWS SDK client: the fixture repositories built by `testkit::git` and the answers
//! `LocalCodeCommit` derives from them are what CodeCommit would say, so a failure in a
//! test of the function is the function's, not the fake's.
//! Needs `git` on PATH; no release binary, no moto.

#![cfg(feature = "end-to-end")]

use std::time::Duration;

use aws_sdk_codecommit::config::retry::RetryConfig;
use aws_sdk_codecommit::config::{Credentials, Region};
use aws_sdk_codecommit::error::ProvideErrorMetadata;
use aws_sdk_codecommit::operation::get_differences::GetDifferencesOutput;
use aws_sdk_codecommit::types::{ChangeTypeEnum, Difference, MergeOptionTypeEnum};
use aws_sdk_codecommit::Client;
use serde_json::{json, Value};
use testkit::codecommit::LocalCodeCommit;
use testkit::git::{GitRepo, AUTHOR_EMAIL, AUTHOR_NAME, EPOCH};

const REPOSITORY: &str = "my-app";
/// Files the `bulk` branch adds: three and a half pages of `GetDifferences`.
const BULK_FILES: usize = 350;

/// A history with every shape the function meets; ids of the interesting commits.
struct History {
    repo: GitRepo,
    /// First commit on `main`: README.md, src/lib.rs, docs/old.md, notes.txt.
    root: String,
    /// `feature`: adds src/feature.rs on top of `root`.
    feature: String,
    /// `main`: changes README.md on top of `root`.
    readme: String,
    /// `main`: `--no-ff` merge of `feature` (parents `readme`, `feature`).
    merge: String,
    /// `main`: docs/old.md renamed to docs/new.md.
    rename: String,
    /// `main` (and tag `v1.0`, branch `fresh`): notes.txt deleted.
    delete: String,
    /// `bulk`: adds [`BULK_FILES`] files under generated/ on top of `delete`.
    bulk: String,
    /// `diverged`: one commit on top of `root`, so its merge base with `main` is `root`.
    diverged: String,
}

fn history() -> History {
    let repo = GitRepo::init("main");
    repo.write("README.md", "# my-app\n");
    repo.write("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n");
    repo.write("docs/old.md", "How to use my-app.\n");
    repo.write("notes.txt", "scratch\n");
    let root = repo.commit("Initial commit");

    repo.checkout_new_branch("feature", "main");
    repo.write("src/feature.rs", "pub fn feature() {}\n");
    let feature = repo.commit("Add the feature");

    repo.checkout("main");
    repo.write("README.md", "# my-app\n\nNow with a feature.\n");
    let readme = repo.commit("Update the README\n\nLonger explanation.");
    let merge = repo.merge("feature", "Merge branch 'feature'");
    repo.rename("docs/old.md", "docs/new.md");
    let rename = repo.commit("Rename the docs");
    repo.remove("notes.txt");
    let delete = repo.commit("Delete the notes");
    repo.tag("v1.0", "main");

    repo.checkout_new_branch("bulk", "main");
    for n in 0..BULK_FILES {
        repo.write(&format!("generated/file-{n:03}.txt"), &format!("{n}\n"));
    }
    let bulk = repo.commit("Generate many files");

    repo.checkout_new_branch("diverged", &root);
    repo.write("diverged.txt", "elsewhere\n");
    let diverged = repo.commit("Diverge from the root");

    repo.checkout_new_branch("fresh", "main");
    History {
        repo,
        root,
        feature,
        readme,
        merge,
        rename,
        delete,
        bulk,
        diverged,
    }
}

/// The fake with [`REPOSITORY`] backed by `repo`, and an SDK client for it.
async fn serve(repo: &GitRepo) -> (LocalCodeCommit, Client) {
    let fake = LocalCodeCommit::start().await;
    fake.add_git_repository(REPOSITORY, repo);
    let client = sdk_client(&fake, RetryConfig::standard());
    (fake, client)
}

/// An SDK client for `fake` with `retry` (backoff shortened so retries stay quick).
fn sdk_client(fake: &LocalCodeCommit, retry: RetryConfig) -> Client {
    let config = aws_sdk_codecommit::Config::builder()
        .http_client(testkit::sdk_http_client())
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(fake.endpoint())
        .retry_config(retry.with_initial_backoff(Duration::from_millis(10)))
        .build();
    Client::from_conf(config)
}

/// Bodies of the calls of `operation` the fake received, in order.
fn bodies(fake: &LocalCodeCommit, operation: &str) -> Vec<Value> {
    fake.calls()
        .into_iter()
        .filter(|(called, _)| called == operation)
        .map(|(_, body)| body)
        .collect()
}

/// `(change type, before path, after path)` of each difference, in order.
fn summary(differences: &[Difference]) -> Vec<(ChangeTypeEnum, Option<&str>, Option<&str>)> {
    differences
        .iter()
        .map(|difference| {
            (
                difference
                    .change_type()
                    .cloned()
                    .expect("a difference has a change type"),
                difference.before_blob().and_then(|blob| blob.path()),
                difference.after_blob().and_then(|blob| blob.path()),
            )
        })
        .collect()
}

/// Every difference between `before` (none: from the empty tree) and `after`, through the
/// SDK paginator; also the pages' sizes.
async fn all_differences(
    client: &Client,
    before: Option<&str>,
    after: &str,
    page_size: Option<i32>,
) -> (Vec<Difference>, Vec<usize>) {
    let mut paginator = client
        .get_differences()
        .repository_name(REPOSITORY)
        .set_before_commit_specifier(before.map(str::to_owned))
        .after_commit_specifier(after)
        .into_paginator();
    if let Some(page_size) = page_size {
        paginator = paginator.page_size(page_size);
    }
    let pages: Vec<GetDifferencesOutput> = paginator
        .send()
        .try_collect()
        .await
        .expect("GetDifferences pages");
    let sizes = pages.iter().map(|page| page.differences().len()).collect();
    let differences = pages
        .into_iter()
        .flat_map(|page| page.differences.unwrap_or_default())
        .collect();
    (differences, sizes)
}

#[test]
fn the_same_history_gets_the_same_commit_ids() {
    let first = history();
    let second = history();
    assert_eq!(first.merge, second.merge);
    assert_eq!(first.bulk, second.bulk);
    assert_eq!(first.repo.rev_parse("v1.0"), second.repo.rev_parse("v1.0"));
    assert_ne!(first.repo.path(), second.repo.path());
    assert_eq!(first.repo.rev_parse("fresh"), first.delete);
    assert_eq!(first.repo.rev_parse("main"), first.delete);
}

#[test]
fn a_fixture_directory_is_removed_on_drop() {
    let repo = GitRepo::init("trunk");
    repo.write("a/b/c.txt", "nested\n");
    let path = repo.path().to_owned();
    assert!(path.join("a/b/c.txt").is_file());
    assert_eq!(repo.git(&["symbolic-ref", "--short", "HEAD"]), "trunk");
    drop(repo);
    assert!(!path.exists(), "{} still exists", path.display());
}

#[tokio::test]
async fn get_commit_reads_the_git_commit() {
    let history = history();
    let (fake, client) = serve(&history.repo).await;

    let merge = client
        .get_commit()
        .repository_name(REPOSITORY)
        .commit_id(&history.merge)
        .send()
        .await
        .expect("GetCommit of the merge")
        .commit
        .expect("a commit");
    assert_eq!(merge.commit_id(), Some(history.merge.as_str()));
    assert_eq!(
        merge.parents(),
        [history.readme.clone(), history.feature.clone()]
    );
    assert_eq!(merge.message(), Some("Merge branch 'feature'\n"));
    assert_eq!(
        merge.tree_id(),
        Some(
            history
                .repo
                .git(&["rev-parse", &format!("{}^{{tree}}", history.merge)])
                .as_str()
        )
    );
    let author = merge.author().expect("an author");
    assert_eq!(author.name(), Some(AUTHOR_NAME));
    assert_eq!(author.email(), Some(AUTHOR_EMAIL));
    // One clock tick per commit: the merge is the fourth.
    let date = format!("{} +0000", EPOCH + 4 * 60);
    assert_eq!(author.date(), Some(date.as_str()));
    assert_eq!(
        merge.committer().and_then(|c| c.date()),
        Some(date.as_str())
    );
    assert_eq!(merge.additional_data(), Some(""));

    let root = client
        .get_commit()
        .repository_name(REPOSITORY)
        .commit_id(&history.root)
        .send()
        .await
        .expect("GetCommit of the root")
        .commit
        .expect("a commit");
    assert!(root.parents().is_empty());
    assert_eq!(root.message(), Some("Initial commit\n"));

    // Branches and (annotated) tags resolve to their commit.
    for (specifier, expected, message) in [
        ("feature", &history.feature, "Add the feature\n"),
        ("v1.0", &history.delete, "Delete the notes\n"),
        (
            history.readme.as_str(),
            &history.readme,
            "Update the README\n\nLonger explanation.\n",
        ),
    ] {
        let commit = client
            .get_commit()
            .repository_name(REPOSITORY)
            .commit_id(specifier)
            .send()
            .await
            .expect("GetCommit by specifier")
            .commit
            .expect("a commit");
        assert_eq!(commit.commit_id(), Some(expected.as_str()), "{specifier}");
        assert_eq!(commit.message(), Some(message), "{specifier}");
    }

    let calls = bodies(&fake, "GetCommit");
    assert_eq!(calls.len(), 5);
    let merge_calls = calls
        .iter()
        .filter(|body| body["commitId"] == json!(history.merge))
        .count();
    assert_eq!(merge_calls, 1, "GetCommit was called once for the merge");
    assert_eq!(
        calls[0],
        json!({"repositoryName": REPOSITORY, "commitId": history.merge})
    );
}

#[tokio::test]
async fn get_differences_pages_a_large_diff() {
    let history = history();
    let (fake, client) = serve(&history.repo).await;

    let (differences, pages) = all_differences(&client, Some("main"), &history.bulk, None).await;
    assert_eq!(pages, [100, 100, 100, 50]);
    assert_eq!(differences.len(), BULK_FILES);
    let expected: Vec<String> = (0..BULK_FILES)
        .map(|n| format!("generated/file-{n:03}.txt"))
        .collect();
    let paths: Vec<&str> = differences
        .iter()
        .map(|difference| {
            assert_eq!(difference.change_type(), Some(&ChangeTypeEnum::Added));
            assert!(difference.before_blob().is_none());
            let blob = difference
                .after_blob()
                .expect("an added file has an after blob");
            assert_eq!(blob.mode(), Some("100644"));
            assert_eq!(blob.blob_id().map(str::len), Some(40));
            blob.path().expect("a path")
        })
        .collect();
    assert_eq!(paths, expected);
    assert_eq!(
        differences[7].after_blob().and_then(|blob| blob.blob_id()),
        Some(
            history
                .repo
                .git(&["rev-parse", "bulk:generated/file-007.txt"])
                .as_str()
        )
    );

    let calls = bodies(&fake, "GetDifferences");
    assert_eq!(calls.len(), 4, "4 requests for {BULK_FILES} files");
    assert_eq!(calls[0].get("NextToken"), None);
    let tokens: Vec<&Value> = calls[1..].iter().map(|body| &body["NextToken"]).collect();
    assert_eq!(
        tokens,
        [&json!("page-100"), &json!("page-200"), &json!("page-300")]
    );

    // A smaller page size is honoured; a larger one is capped at 100.
    let (smaller, pages) = all_differences(&client, Some("main"), &history.bulk, Some(60)).await;
    assert_eq!(pages, [60, 60, 60, 60, 60, 50]);
    assert_eq!(summary(&smaller), summary(&differences));
    let (_, pages) = all_differences(&client, Some("main"), &history.bulk, Some(500)).await;
    assert_eq!(pages, [100, 100, 100, 50]);
    assert_eq!(bodies(&fake, "GetDifferences").len(), 4 + 6 + 4);

    // A single page carries no NextToken.
    let output = client
        .get_differences()
        .repository_name(REPOSITORY)
        .before_commit_specifier(&history.rename)
        .after_commit_specifier(&history.delete)
        .send()
        .await
        .expect("GetDifferences of one commit");
    assert_eq!(output.next_token(), None);
    assert_eq!(output.differences().len(), 1);
}

#[tokio::test]
async fn get_differences_shows_adds_modifications_renames_and_deletions() {
    let history = history();
    let (_fake, client) = serve(&history.repo).await;

    let (rename, _) = all_differences(&client, Some(&history.merge), &history.rename, None).await;
    assert_eq!(
        summary(&rename),
        [
            (ChangeTypeEnum::Added, None, Some("docs/new.md")),
            (ChangeTypeEnum::Deleted, Some("docs/old.md"), None),
        ]
    );
    // Same content under the new name: the blob does not change.
    assert_eq!(
        rename[0].after_blob().and_then(|blob| blob.blob_id()),
        rename[1].before_blob().and_then(|blob| blob.blob_id())
    );

    let (delete, _) = all_differences(&client, Some("v1.0~1"), "v1.0", None).await;
    assert_eq!(
        summary(&delete),
        [(ChangeTypeEnum::Deleted, Some("notes.txt"), None)]
    );
    let deleted = delete[0].before_blob().expect("a before blob");
    assert_eq!(deleted.mode(), Some("100644"));
    assert_eq!(
        deleted.blob_id(),
        Some(
            history
                .repo
                .git(&["rev-parse", &format!("{}:notes.txt", history.root)])
                .as_str()
        )
    );

    let (modify, _) = all_differences(&client, Some(&history.root), &history.readme, None).await;
    assert_eq!(
        summary(&modify),
        [(
            ChangeTypeEnum::Modified,
            Some("README.md"),
            Some("README.md")
        )]
    );
    assert_ne!(
        modify[0].before_blob().and_then(|blob| blob.blob_id()),
        modify[0].after_blob().and_then(|blob| blob.blob_id())
    );

    // A merge against its first parent: what the merged branch brought.
    let (merged, _) = all_differences(&client, Some(&history.readme), &history.merge, None).await;
    assert_eq!(
        summary(&merged),
        [(ChangeTypeEnum::Added, None, Some("src/feature.rs"))]
    );

    // Without a before commit: every file of the after commit, added.
    let (everything, _) = all_differences(&client, None, &history.root, None).await;
    assert_eq!(
        summary(&everything),
        [
            (ChangeTypeEnum::Added, None, Some("README.md")),
            (ChangeTypeEnum::Added, None, Some("docs/old.md")),
            (ChangeTypeEnum::Added, None, Some("notes.txt")),
            (ChangeTypeEnum::Added, None, Some("src/lib.rs")),
        ]
    );

    // A new branch with no commits of its own differs from its origin in nothing.
    let (nothing, pages) = all_differences(&client, Some("main"), "fresh", None).await;
    assert!(nothing.is_empty());
    assert_eq!(pages, [0]);

    // afterPath limits the diff to a folder.
    let output = client
        .get_differences()
        .repository_name(REPOSITORY)
        .before_commit_specifier(&history.root)
        .after_commit_specifier(&history.delete)
        .after_path("docs")
        .send()
        .await
        .expect("GetDifferences under docs");
    assert_eq!(
        summary(output.differences()),
        [
            (ChangeTypeEnum::Added, None, Some("docs/new.md")),
            (ChangeTypeEnum::Deleted, Some("docs/old.md"), None),
        ]
    );
}

#[tokio::test]
async fn get_merge_options_reports_the_merge_base() {
    let history = history();
    let (fake, client) = serve(&history.repo).await;

    let diverged = client
        .get_merge_options()
        .repository_name(REPOSITORY)
        .source_commit_specifier("diverged")
        .destination_commit_specifier("main")
        .send()
        .await
        .expect("GetMergeOptions of a diverged branch");
    let base = history.repo.git(&["merge-base", "diverged", "main"]);
    assert_eq!(base, history.root);
    assert_eq!(diverged.base_commit_id(), base);
    assert_eq!(diverged.source_commit_id(), history.diverged);
    assert_eq!(diverged.destination_commit_id(), history.delete);
    assert_eq!(
        diverged.merge_options(),
        [
            MergeOptionTypeEnum::SquashMerge,
            MergeOptionTypeEnum::ThreeWayMerge
        ]
    );

    // `bulk` is ahead of `main`: it can fast-forward.
    let ahead = client
        .get_merge_options()
        .repository_name(REPOSITORY)
        .source_commit_specifier(&history.bulk)
        .destination_commit_specifier("v1.0")
        .conflict_detail_level("LINE_LEVEL".into())
        .conflict_resolution_strategy("NONE".into())
        .send()
        .await
        .expect("GetMergeOptions of a branch ahead");
    assert_eq!(ahead.base_commit_id(), history.delete);
    assert_eq!(
        ahead.merge_options(),
        [
            MergeOptionTypeEnum::FastForwardMerge,
            MergeOptionTypeEnum::SquashMerge,
            MergeOptionTypeEnum::ThreeWayMerge
        ]
    );

    // Unrelated histories have no merge base.
    history
        .repo
        .git(&["checkout", "-q", "--orphan", "unrelated"]);
    history.repo.commit("Start over");
    let err = client
        .get_merge_options()
        .repository_name(REPOSITORY)
        .source_commit_specifier("unrelated")
        .destination_commit_specifier("main")
        .send()
        .await
        .expect_err("unrelated histories");
    assert_eq!(err.code(), Some("CommitDoesNotExistException"));
    assert!(
        err.message()
            .is_some_and(|m| m.contains("no common ancestor")),
        "{:?}",
        err.message()
    );

    let err = client
        .get_merge_options()
        .repository_name(REPOSITORY)
        .source_commit_specifier("no-such-branch")
        .destination_commit_specifier("main")
        .send()
        .await
        .expect_err("an unknown source");
    assert_eq!(err.code(), Some("CommitDoesNotExistException"));
    assert_eq!(bodies(&fake, "GetMergeOptions").len(), 4);
}

#[tokio::test]
async fn get_repository_and_get_branch() {
    let history = history();
    let (fake, client) = serve(&history.repo).await;

    let metadata = client
        .get_repository()
        .repository_name(REPOSITORY)
        .send()
        .await
        .expect("GetRepository")
        .repository_metadata
        .expect("repository metadata");
    assert_eq!(metadata.default_branch(), Some("main"));
    assert_eq!(metadata.repository_name(), Some(REPOSITORY));
    assert_eq!(metadata.account_id(), Some("123456789012"));
    assert_eq!(
        metadata.arn(),
        Some("arn:aws:codecommit:us-east-1:123456789012:my-app")
    );
    assert_eq!(metadata.repository_id().map(str::len), Some(36));
    assert!(metadata.creation_date().is_some());

    // Checking out another branch does not change the default branch.
    history.repo.checkout("feature");
    let branch = client
        .get_branch()
        .repository_name(REPOSITORY)
        .branch_name("fresh")
        .send()
        .await
        .expect("GetBranch of the new branch")
        .branch
        .expect("a branch");
    assert_eq!(branch.branch_name(), Some("fresh"));
    assert_eq!(branch.commit_id(), Some(history.delete.as_str()));
    let metadata = client
        .get_repository()
        .repository_name(REPOSITORY)
        .send()
        .await
        .expect("GetRepository");
    assert_eq!(
        metadata
            .repository_metadata()
            .and_then(|m| m.default_branch()),
        Some("main")
    );

    // Commits made after registration are seen.
    history.repo.write("later.txt", "later\n");
    let later = history.repo.commit("Later");
    let branch = client
        .get_branch()
        .repository_name(REPOSITORY)
        .branch_name("feature")
        .send()
        .await
        .expect("GetBranch after a new commit");
    assert_eq!(
        branch.branch().and_then(|b| b.commit_id()),
        Some(later.as_str())
    );

    // A tag is not a branch.
    let err = client
        .get_branch()
        .repository_name(REPOSITORY)
        .branch_name("v1.0")
        .send()
        .await
        .expect_err("a tag is not a branch");
    assert_eq!(err.code(), Some("BranchDoesNotExistException"));

    // A repository without commits, and one with triggers only: no default branch.
    let empty = GitRepo::init("main");
    fake.add_git_repository("empty", &empty);
    fake.add_repository("triggers-only", Vec::new());
    for name in ["empty", "triggers-only"] {
        let metadata = client
            .get_repository()
            .repository_name(name)
            .send()
            .await
            .expect("GetRepository of an empty repository");
        let metadata = metadata.repository_metadata().expect("metadata");
        assert_eq!(metadata.repository_name(), Some(name));
        assert_eq!(metadata.default_branch(), None, "{name}");
        let err = client
            .get_branch()
            .repository_name(name)
            .branch_name("main")
            .send()
            .await
            .expect_err("no branch in an empty repository");
        assert_eq!(err.code(), Some("BranchDoesNotExistException"), "{name}");
    }
    // The git repository also exists for the trigger operations.
    let triggers = client
        .get_repository_triggers()
        .repository_name("empty")
        .send()
        .await
        .expect("GetRepositoryTriggers of a git-backed repository");
    assert!(triggers.triggers().is_empty());
}

#[tokio::test]
async fn errors_decode_in_the_sdk() {
    let history = history();
    let (fake, client) = serve(&history.repo).await;
    let missing = "0123456789abcdef0123456789abcdef01234567";

    let err = client
        .get_commit()
        .repository_name(REPOSITORY)
        .commit_id(missing)
        .send()
        .await
        .expect_err("an unknown commit");
    assert_eq!(err.code(), Some("CommitIdDoesNotExistException"));
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_commit_id_does_not_exist_exception()));

    let err = client
        .get_differences()
        .repository_name(REPOSITORY)
        .before_commit_specifier(missing)
        .after_commit_specifier("main")
        .send()
        .await
        .expect_err("an unknown before commit");
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_commit_does_not_exist_exception()));
    assert_eq!(
        err.message(),
        Some(format!("Could not find commit {missing} in repository {REPOSITORY}").as_str())
    );

    let err = client
        .get_differences()
        .repository_name(REPOSITORY)
        .after_commit_specifier("bulk")
        .next_token("page-9999")
        .send()
        .await
        .expect_err("a token from nowhere");
    assert_eq!(err.code(), Some("InvalidContinuationTokenException"));

    let err = client
        .get_commit()
        .repository_name("nope")
        .commit_id(&history.root)
        .send()
        .await
        .expect_err("an unknown repository");
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_repository_does_not_exist_exception()));
    assert_eq!(err.message(), Some("nope does not exist"));

    for operation in [
        "GetRepository",
        "GetBranch",
        "GetDifferences",
        "GetMergeOptions",
    ] {
        let err = match operation {
            "GetRepository" => client
                .get_repository()
                .repository_name("nope")
                .send()
                .await
                .map(drop)
                .map_err(|err| err.code().map(str::to_owned)),
            "GetBranch" => client
                .get_branch()
                .repository_name("nope")
                .branch_name("main")
                .send()
                .await
                .map(drop)
                .map_err(|err| err.code().map(str::to_owned)),
            "GetDifferences" => client
                .get_differences()
                .repository_name("nope")
                .after_commit_specifier("main")
                .send()
                .await
                .map(drop)
                .map_err(|err| err.code().map(str::to_owned)),
            _ => client
                .get_merge_options()
                .repository_name("nope")
                .source_commit_specifier("main")
                .destination_commit_specifier("main")
                .send()
                .await
                .map(drop)
                .map_err(|err| err.code().map(str::to_owned)),
        };
        assert_eq!(
            err,
            Err(Some("RepositoryDoesNotExistException".to_owned())),
            "{operation}"
        );
    }

    let err = client
        .get_branch()
        .repository_name(REPOSITORY)
        .branch_name("no-such-branch")
        .send()
        .await
        .expect_err("an unknown branch");
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_branch_does_not_exist_exception()));

    // Every call is recorded, failed ones included.
    assert_eq!(fake.operations().len(), 9);
}

#[tokio::test]
async fn injected_failures_answer_the_next_calls() {
    let history = history();
    let (fake, client) = serve(&history.repo).await;

    // The SDK retries throttling by itself: one failure, then the answer.
    fake.fail("GetCommit", "ThrottlingException", 1);
    let commit = client
        .get_commit()
        .repository_name(REPOSITORY)
        .commit_id("main")
        .send()
        .await
        .expect("GetCommit after one throttled attempt");
    assert_eq!(
        commit.commit().and_then(|c| c.commit_id()),
        Some(history.delete.as_str())
    );
    assert_eq!(bodies(&fake, "GetCommit").len(), 2);

    // Without retries every failure reaches the caller, with its status.
    let once = sdk_client(&fake, RetryConfig::disabled());
    fake.fail("GetDifferences", "ServiceUnavailableException", 1);
    fake.fail("GetDifferences", "AccessDeniedException", 1);
    let err = once
        .get_differences()
        .repository_name(REPOSITORY)
        .after_commit_specifier("main")
        .send()
        .await
        .expect_err("unavailable");
    assert_eq!(err.code(), Some("ServiceUnavailableException"));
    assert_eq!(
        err.raw_response()
            .map(|response| response.status().as_u16()),
        Some(503)
    );
    let err = once
        .get_differences()
        .repository_name(REPOSITORY)
        .after_commit_specifier("main")
        .send()
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.raw_response()
            .map(|response| response.status().as_u16()),
        Some(400)
    );
    once.get_differences()
        .repository_name(REPOSITORY)
        .after_commit_specifier("main")
        .send()
        .await
        .expect("the failures are used up");

    // Retries exhausted: the standard policy makes 3 attempts.
    fake.fail("GetMergeOptions", "ThrottlingException", 3);
    let err = client
        .get_merge_options()
        .repository_name(REPOSITORY)
        .source_commit_specifier("bulk")
        .destination_commit_specifier("main")
        .send()
        .await
        .expect_err("throttled 3 times");
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(bodies(&fake, "GetMergeOptions").len(), 3);
}
