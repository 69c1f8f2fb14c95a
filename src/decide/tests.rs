use super::*;
use crate::config::{
    Config, BRANCHES, CODEBUILD_PROJECT, IGNORE_PUSHERS, PATHS, PATHS_IGNORE, RULES, SKIP_MARKERS,
    TAGS,
};
use crate::decide::needs::Changes;
use crate::event::Push;
use crate::test_support::{config, push, record};
use serde_json::json;

const A: &str = "1111111111111111111111111111111111111111";
const B: &str = "2222222222222222222222222222222222222222";
const OLD: &str = "0000000000000000000000000000000000000abc";

/// One line per verdict: `build [rule] <reason>` or `skip [rule] <reason>`.
fn lines(config: &Config, push: &Push, facts: &Facts) -> Vec<String> {
    record_lines(config, &push.records, facts)
}

fn record_lines(config: &Config, records: &[Record], facts: &Facts) -> Vec<String> {
    finish(plan(config, &Files::default(), records), facts)
        .iter()
        .flat_map(|decision| match &decision.outcome {
            Outcome::Skip(skip) => vec![format!("skip {}", skip.reason)],
            Outcome::Rules(outcomes) => outcomes
                .iter()
                .map(|o| {
                    let rule = o
                        .rule
                        .reported_name()
                        .map(|n| format!("[{n}] "))
                        .unwrap_or_default();
                    match &o.verdict {
                        RuleVerdict::Build { commit, reason } => {
                            format!("build {rule}{} {reason}", &commit.as_str()[..4])
                        }
                        RuleVerdict::Skip(skip) => format!("skip {rule}{}", skip.reason),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Shorthand configuration without skip markers, so no facts are needed.
fn simple(branches: Option<&str>, tags: Option<&str>) -> Config {
    let mut vars = vec![(CODEBUILD_PROJECT, "my-project"), (SKIP_MARKERS, "false")];
    vars.extend(branches.map(|b| (BRANCHES, b)));
    vars.extend(tags.map(|t| (TAGS, t)));
    config(&vars)
}

fn decided(config: &Config, references: serde_json::Value) -> Vec<String> {
    lines(config, &push("my-app", None, references), &Facts::default())
}

#[test]
fn default_configuration_builds_master_only() {
    assert_eq!(
        decided(
            &simple(None, None),
            json!([
                {"ref": "refs/heads/master", "commit": A},
                {"ref": "refs/heads/feature/x", "commit": B},
                {"ref": "refs/tags/v1.0", "commit": A},
            ])
        ),
        [
            "build 1111 branch master matches `master` in BRANCHES",
            "skip branch feature/x does not match BRANCHES",
            "skip tag v1.0 is not built: TAGS is empty",
        ]
    );
}

#[test]
fn deletions_never_build_even_when_they_match() {
    assert_eq!(
        decided(
            &simple(Some("**"), Some("**")),
            json!([
                {"ref": "refs/heads/master", "deleted": true},
                {"ref": "refs/tags/v1", "commit": A, "deleted": true},
            ])
        ),
        ["skip branch master was deleted", "skip tag v1 was deleted"]
    );
}

#[test]
fn tags_build_when_they_match_tags() {
    assert_eq!(
        decided(
            &simple(None, Some("v*,!v*-rc")),
            json!([
                {"ref": "refs/tags/v1.2.3", "commit": A, "created": true},
                {"ref": "refs/tags/nightly", "commit": B},
                {"ref": "refs/tags/v2-rc", "commit": B},
            ])
        ),
        [
            "build 1111 tag v1.2.3 matches `v*` in TAGS",
            "skip tag nightly does not match TAGS",
            "skip tag v2-rc is excluded by `!v*-rc` in TAGS",
        ]
    );
}

#[test]
fn branch_patterns_do_not_apply_to_tags_nor_tag_patterns_to_branches() {
    assert_eq!(
        decided(
            &simple(Some("master"), Some("v*")),
            json!([{"ref": "refs/heads/v1", "commit": A}, {"ref": "refs/tags/master", "commit": B}])
        ),
        [
            "skip branch v1 does not match BRANCHES",
            "skip tag master does not match TAGS"
        ]
    );
}

#[test]
fn other_namespaces_are_skipped() {
    assert_eq!(
        decided(
            &simple(Some("**"), Some("**")),
            json!([{"ref": "refs/notes/commits", "commit": A}])
        ),
        ["skip refs/notes/commits is neither a branch (refs/heads/) nor a tag (refs/tags/)"]
    );
}

#[test]
fn negation_and_order_follow_github_actions() {
    assert_eq!(
        decided(
            &simple(Some("release/*,!release/old-*"), None),
            json!([
                {"ref": "refs/heads/release/1", "commit": A},
                {"ref": "refs/heads/release/old-1", "commit": A},
                {"ref": "refs/heads/release/1/hotfix", "commit": A},
            ])
        ),
        [
            "build 1111 branch release/1 matches `release/*` in BRANCHES",
            "skip branch release/old-1 is excluded by `!release/old-*` in BRANCHES",
            "skip branch release/1/hotfix does not match BRANCHES",
        ]
    );
}

#[test]
fn a_repeated_reference_is_decided_once() {
    assert_eq!(
        decided(
            &simple(None, None),
            json!([
                {"ref": "refs/heads/master", "commit": A},
                {"ref": "refs/heads/master", "commit": A},
                {"ref": "refs/heads/master", "commit": B},
            ])
        ),
        [
            "build 1111 branch master matches `master` in BRANCHES",
            "skip same reference and commit as Records[0].codecommit.references[0] of this event",
            "build 2222 branch master matches `master` in BRANCHES",
        ]
    );
}

#[test]
fn a_repeat_is_skipped_only_when_the_first_would_build() {
    const BOT: &str = "arn:aws:iam::123456789012:user/bot";
    let config = config(&[
        (CODEBUILD_PROJECT, "p1"),
        (SKIP_MARKERS, "false"),
        (IGNORE_PUSHERS, BOT),
    ]);
    let both = json!([
        {"ref": "refs/heads/master", "commit": A},
        {"ref": "refs/heads/dev", "commit": A},
    ]);
    let event = json!({"Records": [
        record("my-app", Some(BOT), both.clone()),
        record("my-app", Some("arn:aws:iam::123456789012:user/alice"), both),
        record("my-app", None, json!([{"ref": "refs/heads/master", "commit": A}])),
    ]});
    let push = crate::test_support::parse_push(&event);
    let ignored = format!("skip pushed by {BOT}, which matches `{BOT}` in IGNORE_PUSHERS");
    assert_eq!(
        lines(&config, &push, &Facts::default()),
        [
            ignored.as_str(),
            &ignored,
            "build 1111 branch master matches `master` in BRANCHES",
            "skip branch dev does not match BRANCHES",
            "skip same reference and commit as Records[1].codecommit.references[0] of this event",
        ]
    );
}

#[test]
fn every_reference_gets_exactly_one_decision() {
    let references: Vec<_> = (0..4000)
        .map(|i| json!({"ref": format!("refs/heads/b{i}"), "commit": A}))
        .collect();
    let lines = decided(&simple(Some("b1*"), None), json!(references));
    assert_eq!(lines.len(), 4000);
    let builds = lines
        .iter()
        .filter(|line| line.starts_with("build"))
        .count();
    assert_eq!(
        builds,
        1 + 10 + 100 + 1000,
        "b1, b10-b19, b100-b199, b1000-b1999"
    );
}

#[test]
fn ignored_pushers_never_build() {
    let config = config(&[
        (CODEBUILD_PROJECT, "p1"),
        (TAGS, "v*"),
        (SKIP_MARKERS, "false"),
        (
            IGNORE_PUSHERS,
            "arn:aws:sts::123456789012:assumed-role/release-bot/*",
        ),
    ]);
    let bot = push(
        "my-app",
        Some("arn:aws:sts::123456789012:assumed-role/release-bot/build-42"),
        json!([{"ref": "refs/tags/v1.0.1", "commit": A}]),
    );
    assert_eq!(
        lines(&config, &bot, &Facts::default()),
        ["skip pushed by arn:aws:sts::123456789012:assumed-role/release-bot/build-42, which matches \
          `arn:aws:sts::123456789012:assumed-role/release-bot/*` in IGNORE_PUSHERS"]
    );
    let person = push(
        "my-app",
        Some("arn:aws:iam::123456789012:user/alice"),
        json!([{"ref": "refs/tags/v1.0.1", "commit": A}]),
    );
    assert_eq!(
        lines(&config, &person, &Facts::default()),
        ["build 1111 tag v1.0.1 matches `v*` in TAGS"]
    );
}

fn key(commit: &str) -> CommitKey {
    CommitKey {
        repository: "my-app".into(),
        commit: CommitId::parse(commit).expect("a commit id"),
    }
}

#[test]
fn skip_markers_need_the_message_of_candidates_only() {
    let config = config(&[(CODEBUILD_PROJECT, "p1")]);
    let push = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/master", "commit": A}, {"ref": "refs/heads/other", "commit": B}]),
    );
    let files = Files::default();
    let plan = plan(&config, &files, &push.records);
    let needs = plan.needs();
    assert_eq!(
        needs.messages.into_iter().collect::<Vec<_>>(),
        [key(A)],
        "not B: no rule builds it"
    );
    assert!(needs.bases.is_empty());

    for (message, expected) in [
        (
            "Fix typo [SKIP CI]\n",
            "skip the message of commit 11111111 contains [skip ci]",
        ),
        (
            "docs [ci skip]",
            "skip the message of commit 11111111 contains [ci skip]",
        ),
        (
            "wip [No Ci]",
            "skip the message of commit 11111111 contains [no ci]",
        ),
        (
            "[skip build] only docs",
            "skip the message of commit 11111111 contains [skip build]",
        ),
        (
            "Add login form\n\nskip ci is not a marker",
            "build 1111 branch master matches `master` in BRANCHES",
        ),
    ] {
        let mut facts = Facts::default();
        facts.messages.insert(key(A), Ok(message.to_owned()));
        assert_eq!(lines(&config, &push, &facts)[0], expected, "{message}");
    }
    let mut facts = Facts::default();
    facts.messages.insert(
        key(A),
        Err("GetCommit failed: AccessDeniedException: no".into()),
    );
    assert_eq!(
        lines(&config, &push, &facts)[0],
        "build 1111 branch master matches `master` in BRANCHES; skip markers not checked: GetCommit failed: \
         AccessDeniedException: no"
    );
}

#[test]
fn switched_off_skip_markers_need_nothing() {
    let config = simple(None, None);
    let push = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/master", "commit": A}]),
    );
    assert_eq!(
        plan(&config, &Files::default(), &push.records).needs(),
        Needs::default()
    );
}

/// A monorepo: two services, each its own rule and project.
fn monorepo() -> Config {
    config(&[
        (SKIP_MARKERS, "false"),
        (
            RULES,
            r#"[{"name": "api", "project": "api-build", "branches": ["main"], "paths": ["services/api/**"]},
                {"name": "web", "project": "web-build", "branches": ["main"], "paths": ["services/web/**"],
                 "pathsIgnore": ["**/*.md"]},
                {"name": "release", "project": "release-build", "tags": ["v*"]}]"#,
        ),
    ])
}

fn changes(query: &BaseQuery, base: &str, paths: &[&str]) -> (BaseQuery, Result<Changes, String>) {
    (
        query.clone(),
        Ok(Changes {
            base: base.to_owned(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    )
}

#[test]
fn path_rules_build_only_the_services_that_changed() {
    let config = monorepo();
    let push = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/main", "commit": A}]),
    );
    let needs = plan(&config, &Files::default(), &push.records).needs();
    let queries: Vec<_> = needs.bases.iter().cloned().collect();
    assert_eq!(
        queries.len(),
        2,
        "one per path rule: each compares with its own project's last build"
    );
    assert!(queries
        .iter()
        .all(|q| matches!(&q.hint, BaseHint::LastBuild { .. })));
    let mut facts = Facts::default();
    for query in &queries {
        let (q, c) = changes(
            query,
            OLD,
            &[
                "services/api/src/lib.rs",
                "services/web/README.md",
                "docs/x.md",
            ],
        );
        facts.changes.insert(q, c);
    }
    assert_eq!(
        lines(&config, &push, &facts),
        [
            "build [api] 1111 branch main matches `main` in branches of rule api; 1 of 3 files changed since \
             00000000 match paths of rule api",
            "skip [web] branch main matches `main` in branches of rule web, but none of the 3 files changed since \
             00000000 match paths of rule web and escape pathsIgnore of rule web",
        ]
    );
}

#[test]
fn an_unknown_base_builds_and_says_why() {
    let config = monorepo();
    let push = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/main", "commit": A}]),
    );
    let mut facts = Facts::default();
    for query in plan(&config, &Files::default(), &push.records)
        .needs()
        .bases
    {
        facts
            .changes
            .insert(query, Err("no earlier build of refs/heads/main".into()));
    }
    let lines = lines(&config, &push, &facts);
    assert!(lines.iter().all(|l| l.starts_with("build")), "{lines:?}");
    assert!(
        lines[0].ends_with("; paths not checked: no earlier build of refs/heads/main"),
        "{}",
        lines[0]
    );
}

#[test]
fn an_empty_change_skips_and_tags_are_not_path_filtered() {
    let config = monorepo();
    let push = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/main", "commit": A}, {"ref": "refs/tags/v2.0.0", "commit": A}]),
    );
    let mut facts = Facts::default();
    for query in plan(&config, &Files::default(), &push.records)
        .needs()
        .bases
    {
        let (q, c) = changes(&query, A, &[]);
        facts.changes.insert(q, c);
    }
    assert_eq!(
        lines(&config, &push, &facts),
        [
            "skip [api] branch main matches `main` in branches of rule api, but no file changed since 11111111",
            "skip [web] branch main matches `main` in branches of rule web, but no file changed since 11111111",
            "build [release] 1111 tag v2.0.0 matches `v*` in tags of rule release",
        ]
    );
}

#[test]
fn the_base_comes_from_the_event_when_it_can() {
    let config = config(&[
        (CODEBUILD_PROJECT, "p1"),
        (BRANCHES, "**"),
        (PATHS_IGNORE, "docs/**"),
        (SKIP_MARKERS, "false"),
    ]);
    let created = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/new", "commit": A, "created": true}]),
    );
    let hints: Vec<_> = plan(&config, &Files::default(), &created.records)
        .needs()
        .bases
        .into_iter()
        .map(|q| q.hint)
        .collect();
    assert_eq!(hints, [BaseHint::NewBranch]);
    let eventbridge = json!({
        "detail-type": "CodeCommit Repository State Change", "source": "aws.codecommit",
        "resources": ["arn:aws:codecommit:us-east-1:123456789012:my-app"],
        "detail": {"event": "referenceUpdated", "repositoryName": "my-app", "referenceType": "branch",
                   "referenceFullName": "refs/heads/main", "commitId": A, "oldCommitId": B}
    });
    let updated = crate::test_support::parse_push(&eventbridge);
    let hints: Vec<_> = plan(&config, &Files::default(), &updated.records)
        .needs()
        .bases
        .into_iter()
        .map(|q| q.hint)
        .collect();
    assert!(matches!(hints.as_slice(), [BaseHint::Previous(c)] if c.as_str() == B));
}

#[test]
fn several_rules_explain_why_none_matched() {
    let config = monorepo();
    assert_eq!(
        decided(&config, json!([{"ref": "refs/heads/dev", "commit": A}])),
        ["skip branch dev matches no rule: branch dev does not match branches of rule api; branch dev does not \
          match branches of rule web; branch dev is not built: branches of rule release is not set"]
    );
}

#[test]
fn rules_can_be_limited_to_repositories() {
    let config = config(&[
        (SKIP_MARKERS, "false"),
        (
            RULES,
            r#"[{"name": "only-app", "project": "p1", "repositories": ["my-app"], "branches": ["**"]}]"#,
        ),
    ]);
    let other = push(
        "other-repo",
        None,
        json!([{"ref": "refs/heads/main", "commit": A}]),
    );
    assert_eq!(
        lines(&config, &other, &Facts::default()),
        ["skip repository other-repo does not match repositories of rule only-app"]
    );
}

#[test]
fn paths_and_ignored_paths_combine() {
    let config = config(&[
        (CODEBUILD_PROJECT, "p1"),
        (SKIP_MARKERS, "false"),
        (PATHS, "src/**"),
        (PATHS_IGNORE, "**/*.md"),
    ]);
    let rule = &config.rules[0];
    assert!(counts(rule, "src/main.rs"));
    assert!(!counts(rule, "src/README.md"));
    assert!(!counts(rule, "docs/guide.txt"));
}

mod pull_requests {
    use super::*;
    use crate::config::PULL_REQUESTS;
    use crate::test_support::{
        pull_request_event, pull_request_records, PR_DESTINATION, PR_REVISION, PR_SOURCE,
    };

    fn decided(config: &Config, kind: &str, into: &str, status: &str, merged: &str) -> Vec<String> {
        let records = pull_request_records(&pull_request_event(kind, into, status, merged));
        record_lines(
            config,
            &records,
            &now(config, &records, PullRequestStatus::Open),
        )
    }

    /// Facts saying that every pull request needed is `status` now.
    fn now(config: &Config, records: &[Record], status: PullRequestStatus) -> Facts {
        Facts {
            pull_requests: plan(config, &Files::default(), records)
                .needs()
                .pull_requests
                .into_iter()
                .map(|key| {
                    let now = PullRequestNow {
                        status,
                        revision: PR_REVISION.to_owned(),
                    };
                    (key, Ok(now))
                })
                .collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn an_event_that_arrives_after_the_pull_request_closed_does_not_build() {
        let config = shorthand(&[(PULL_REQUESTS, "main")]);
        let records = pull_request_records(&pull_request_event(
            "pullRequestSourceBranchUpdated",
            "main",
            "Open",
            "False",
        ));
        let needs = plan(&config, &Files::default(), &records).needs();
        assert_eq!(
            needs
                .pull_requests
                .iter()
                .map(|key| key.id.as_str())
                .collect::<Vec<_>>(),
            ["17"]
        );
        for (status, reason) in [
            (
                PullRequestStatus::Merged,
                "skip pull request 17 is merged now (GetPullRequest): it never builds",
            ),
            (
                PullRequestStatus::Closed,
                "skip pull request 17 is closed now (GetPullRequest): it never builds",
            ),
        ] {
            assert_eq!(
                record_lines(&config, &records, &now(&config, &records, status)),
                [reason]
            );
        }
        assert_eq!(
            record_lines(&config, &records, &Facts::default()),
            [
                "build 2774 pull request 17 into main matches `main` in PULL_REQUESTS; \
              pull request status not checked: it was not read"
            ],
            "an unknown status builds, and says so"
        );
        // Pushes never ask.
        let push = push(
            "my-app",
            None,
            json!([{"ref": "refs/heads/main", "commit": A}]),
        );
        assert!(plan(&config, &Files::default(), &push.records)
            .needs()
            .pull_requests
            .is_empty());
    }

    fn shorthand(extra: &[(&'static str, &str)]) -> Config {
        let mut vars = vec![(CODEBUILD_PROJECT, "my-project"), (SKIP_MARKERS, "false")];
        vars.extend_from_slice(extra);
        config(&vars)
    }

    #[test]
    fn a_pull_request_into_a_matching_branch_builds_its_source_commit() {
        let config = shorthand(&[(PULL_REQUESTS, "main,release/*")]);
        for kind in [
            "pullRequestCreated",
            "pullRequestSourceBranchUpdated",
            "pullRequestStatusChanged",
        ] {
            assert_eq!(
                decided(&config, kind, "release/2", "Open", "False"),
                ["build 2774 pull request 17 into release/2 matches `release/*` in PULL_REQUESTS"],
                "{kind}"
            );
        }
    }

    #[test]
    fn other_destinations_and_the_default_do_not_build() {
        let config = shorthand(&[(PULL_REQUESTS, "main,!main")]);
        assert_eq!(
            decided(&config, "pullRequestCreated", "main", "Open", "False"),
            ["skip pull request 17 into main is excluded by `!main` in PULL_REQUESTS"]
        );
        assert_eq!(
            decided(&config, "pullRequestCreated", "dev", "Open", "False"),
            ["skip pull request 17 into dev does not match PULL_REQUESTS"]
        );
        assert_eq!(
            decided(
                &shorthand(&[]),
                "pullRequestCreated",
                "main",
                "Open",
                "False"
            ),
            ["skip pull request 17 into main is not built: PULL_REQUESTS is empty"]
        );
    }

    #[test]
    fn closed_and_merged_pull_requests_never_build() {
        let config = shorthand(&[(PULL_REQUESTS, "main")]);
        assert_eq!(
            decided(
                &config,
                "pullRequestStatusChanged",
                "main",
                "Closed",
                "False"
            ),
            ["skip pull request 17 is closed: it never builds"]
        );
        assert_eq!(
            decided(
                &config,
                "pullRequestMergeStatusUpdated",
                "main",
                "Closed",
                "True"
            ),
            ["skip pull request 17 is merged: it never builds"]
        );
        // A merge status update of an open pull request is no revision to build.
        assert_eq!(
            decided(
                &config,
                "pullRequestMergeStatusUpdated",
                "main",
                "Open",
                "False"
            ),
            ["skip a pullRequestMergeStatusUpdated event of an open pull request never builds"]
        );
        // A late update of a merged pull request says so in the event, and does not build.
        assert_eq!(
            decided(
                &config,
                "pullRequestSourceBranchUpdated",
                "main",
                "Open",
                "True"
            ),
            ["skip pull request 17 is merged: it never builds"]
        );
    }

    #[test]
    fn ignored_pushers_match_who_changed_the_pull_request() {
        let config = shorthand(&[
            (PULL_REQUESTS, "main"),
            (IGNORE_PUSHERS, "arn:aws:iam::123456789012:user/*"),
        ]);
        assert_eq!(
            decided(&config, "pullRequestCreated", "main", "Open", "False"),
            [
                "skip pull request changed by arn:aws:iam::123456789012:user/alice, which matches \
              `arn:aws:iam::123456789012:user/*` in IGNORE_PUSHERS"
            ]
        );
    }

    #[test]
    fn rules_route_pull_requests_by_their_pull_requests_patterns() {
        let config = config(&[
            (SKIP_MARKERS, "false"),
            (
                RULES,
                r#"[{"name": "pushes", "project": "push-build", "branches": ["main"]},
                    {"name": "reviews", "project": "review-build", "pullRequests": ["main"]}]"#,
            ),
        ]);
        assert_eq!(
            decided(&config, "pullRequestCreated", "main", "Open", "False"),
            ["build [reviews] 2774 pull request 17 into main matches `main` in pullRequests of rule reviews"]
        );
        assert_eq!(
            decided(&config, "pullRequestCreated", "dev", "Open", "False"),
            ["skip pull request 17 into dev matches no rule: pull request 17 into dev is not built: \
              pullRequests of rule pushes is not set; pull request 17 into dev does not match \
              pullRequests of rule reviews"]
        );
        // A rule with pull requests only never builds a push.
        assert_eq!(
            super::decided(&config, json!([{"ref": "refs/heads/dev", "commit": A}])),
            ["skip branch dev matches no rule: branch dev does not match branches of rule pushes; \
              branch dev is not built: branches of rule reviews is not set"]
        );
    }

    #[test]
    fn path_filters_compare_with_the_merge_base_and_skip_markers_read_the_source_commit() {
        let config = config(&[
            (CODEBUILD_PROJECT, "my-project"),
            (PULL_REQUESTS, "main"),
            (PATHS, "src/**"),
        ]);
        let records = pull_request_records(&pull_request_event(
            "pullRequestCreated",
            "main",
            "Open",
            "False",
        ));
        let needs = plan(&config, &Files::default(), &records).needs();
        let keys: Vec<_> = needs
            .messages
            .iter()
            .map(|key| key.commit.as_str())
            .collect();
        assert_eq!(keys, [PR_SOURCE]);
        let hints: Vec<_> = needs.bases.iter().map(|query| query.hint.clone()).collect();
        assert_eq!(
            hints,
            [BaseHint::MergeBase(
                CommitId::parse(PR_DESTINATION).expect("a commit id")
            )]
        );
        let query = needs.bases.first().expect("a query").clone();
        let open = now(&config, &records, PullRequestStatus::Open);
        let facts = |message: &str, paths: &[&str]| Facts {
            pull_requests: open.pull_requests.clone(),
            branches: HashMap::new(),
            messages: needs
                .messages
                .iter()
                .map(|key| (key.clone(), Ok(message.to_owned())))
                .collect(),
            changes: HashMap::from([(
                query.clone(),
                Ok(Changes {
                    base: OLD.to_owned(),
                    paths: paths.iter().map(|path| path.to_string()).collect(),
                }),
            )]),
        };
        assert_eq!(
            record_lines(
                &config,
                &records,
                &facts("Retry uploads", &["src/upload.rs"])
            ),
            [
                "build 2774 pull request 17 into main matches `main` in PULL_REQUESTS; \
              1 of 1 files changed since 00000000 match PATHS"
            ]
        );
        assert_eq!(
            record_lines(&config, &records, &facts("Retry uploads", &["README.md"])),
            [
                "skip pull request 17 into main matches `main` in PULL_REQUESTS, but none of the \
              1 files changed since 00000000 match PATHS"
            ]
        );
        assert_eq!(
            record_lines(
                &config,
                &records,
                &facts("WIP [skip ci]", &["src/upload.rs"])
            ),
            ["skip the message of commit 2774290a contains [skip ci]"]
        );
    }
}

/// The kind of each line's skip (`None` for a build), through `Decision::lines`.
fn kinds(config: &Config, push: &Push, facts: &Facts) -> Vec<Option<SkipKind>> {
    let files = Files::default();
    finish(plan(config, &files, &push.records), facts)
        .iter()
        .flat_map(|decision| decision.lines().map(|line| line.skip).collect::<Vec<_>>())
        .collect()
}

#[test]
fn each_skip_names_the_kind_of_its_reason() {
    let config = config(&[
        (CODEBUILD_PROJECT, "p1"),
        (IGNORE_PUSHERS, "arn:aws:iam::123456789012:user/bot"),
    ]);
    let references = json!([
        {"ref": "refs/heads/master", "commit": A},
        {"ref": "refs/heads/feature/x", "commit": B},
        {"ref": "refs/heads/gone", "deleted": true},
        {"ref": "refs/notes/x", "commit": B},
        {"ref": "refs/heads/master", "commit": A},
    ]);
    let mut facts = Facts::default();
    facts.messages.insert(key(A), Ok("[skip ci] docs".into()));
    assert_eq!(
        kinds(&config, &push("my-app", None, references.clone()), &facts),
        [
            Some(SkipKind::SkipMarker),
            Some(SkipKind::Reference),
            Some(SkipKind::Reference),
            Some(SkipKind::Reference),
            Some(SkipKind::Outdated),
        ]
    );
    let bot = push(
        "my-app",
        Some("arn:aws:iam::123456789012:user/bot"),
        references,
    );
    assert_eq!(
        kinds(&config, &bot, &facts),
        [
            Some(SkipKind::Pusher),
            Some(SkipKind::Pusher),
            Some(SkipKind::Reference),
            Some(SkipKind::Reference),
            Some(SkipKind::Pusher),
        ],
        "a deletion or another namespace is told as such, whoever pushed it"
    );
    facts.messages.insert(key(A), Ok("docs".into()));
    let built = push(
        "my-app",
        None,
        json!([{"ref": "refs/heads/master", "commit": A}]),
    );
    assert_eq!(kinds(&config, &built, &facts), [None]);
}
