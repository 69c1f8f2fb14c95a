//! The StartBuild request for one reference: pure, so that the same push
//! always produces the same request (and CodeBuild's idempotency token can
//! deduplicate a redelivered event).

use crate::aws::writes::BuildRequest;
use crate::config::Rule;
use crate::event::{CommitId, GitRef, Record, RefKind};
use crate::vocabulary::hex_sha256;
use crate::vocabulary::variables;

/// Builds `rule`'s StartBuild request for `reference` at `commit`, from `record`
/// (a push, or a pull request's source branch).
pub fn build_request(
    rule: &Rule,
    record: &Record,
    reference: &GitRef,
    commit: &CommitId,
) -> BuildRequest {
    let project = rule.project.as_str();
    let mut environment = vec![
        (variables::REPOSITORY, record.repository.name.clone()),
        (variables::REF, reference.as_str().to_owned()),
    ];
    match reference.kind() {
        RefKind::Branch => environment.push((variables::BRANCH, reference.short_name().to_owned())),
        RefKind::Tag => environment.push((variables::TAG, reference.short_name().to_owned())),
        RefKind::Other => {}
    }
    environment.push((variables::COMMIT, commit.as_str().to_owned()));
    if let Some(pusher) = &record.pusher {
        environment.push((variables::PUSHER_ARN, pusher.clone()));
    }
    if let Some(pull_request) = &record.pull_request {
        environment.extend([
            (variables::PULL_REQUEST_ID, pull_request.id.clone()),
            (
                variables::PULL_REQUEST_REVISION,
                pull_request.revision.clone(),
            ),
            (
                variables::DESTINATION_BRANCH,
                pull_request.destination.short_name().to_owned(),
            ),
            (
                variables::DESTINATION_COMMIT,
                pull_request.destination_commit.as_str().to_owned(),
            ),
        ]);
    }
    if let Some(name) = rule.reported_name() {
        environment.push((variables::RULE, name.to_owned()));
    }
    let environment = environment
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .chain(rule.environment.iter().cloned())
        .collect();
    BuildRequest {
        project: project.to_owned(),
        source_version: commit.as_str().to_owned(),
        source_location: record.repository.clone_url(),
        idempotency_token: idempotency_token(rule, record, reference, commit),
        environment,
        overrides: rule.overrides.clone(),
        batch: rule.batch,
    }
}

/// SHA-256 (hex) of the values that identify a build: project, repository,
/// ref (a pull request's id) and commit, after a version tag that keeps
/// pushes and pull requests apart; with routing rules also the rule's name,
/// so that two rules starting one project start two builds; for a pull
/// request its revision, so that a revision back at an earlier commit builds;
/// for a rebuild the id of the comment that asked for it. The same push
/// delivered by a trigger and by an EventBridge rule has the same token.
/// Validated names, ARNs, refs, ids and commit ids never contain NUL, so
/// NUL-separated fields cannot collide.
fn idempotency_token(
    rule: &Rule,
    record: &Record,
    reference: &GitRef,
    commit: &CommitId,
) -> String {
    let (version, subject) = match &record.pull_request {
        None => ("codecommit-build-trigger/1", reference.as_str()),
        Some(pull_request) => (
            "codecommit-build-trigger/pull-request/2",
            pull_request.id.as_str(),
        ),
    };
    let pull_request = record.pull_request.as_ref();
    let revision = pull_request.map(|pr| ["revision", pr.revision.as_str()]);
    let rebuild = pull_request
        .and_then(|pr| pr.rebuild.as_ref())
        .map(|rebuild| rebuild.comment.as_str())
        .map(|comment| ["rebuild", comment]);
    let fields = [
        version,
        rule.project.as_str(),
        &record.repository.arn,
        subject,
        commit.as_str(),
    ];
    hex_sha256(
        fields
            .into_iter()
            .chain(rule.reported_name())
            .chain(revision.into_iter().flatten())
            .chain(rebuild.into_iter().flatten()),
    )
}

impl BuildRequest {
    /// This request under a token of its own for `occasion` (what tells this event from an
    /// earlier one of the same subject and commit): for when CodeBuild answered the usual
    /// token with a build an earlier event started (a push back to a commit built minutes
    /// ago, a pull request reopened).
    pub fn for_occasion(&self, occasion: &str) -> Self {
        Self {
            idempotency_token: hex_sha256([self.idempotency_token.as_str(), "occasion", occasion]),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CODEBUILD_PROJECT, RULES};
    use crate::event::Push;
    use crate::test_support::{config, push};
    use serde_json::json;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn request_for(project: &str, push: &Push, index: usize) -> BuildRequest {
        let config = config(&[(CODEBUILD_PROJECT, project)]);
        let record = &push.records[0];
        let update = &record.references[index];
        build_request(
            &config.rules[0],
            record,
            &update.reference,
            update.commit().expect("a commit"),
        )
    }

    #[test]
    fn the_source_is_the_events_repository_in_its_region_and_partition() {
        let push = push(
            "my-app",
            None,
            json!([{"ref": "refs/heads/master", "commit": A}]),
        );
        assert_eq!(
            request_for("shared-build", &push, 0).source_location,
            "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-app"
        );
        let mut china = push.records[0].repository.clone();
        china.arn = "arn:aws-cn:codecommit:cn-north-1:123456789012:web.site".into();
        china.name = "web.site".into();
        assert_eq!(
            china.clone_url(),
            "https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/web.site"
        );
    }

    #[test]
    fn a_rules_environment_follows_the_codecommit_variables() {
        let config = config(&[(
            RULES,
            r#"[{"name": "api", "project": "api-build", "branches": ["*"], "environment": {"SERVICE": "api"}}]"#,
        )]);
        let push = push(
            "my-app",
            None,
            json!([{"ref": "refs/heads/main", "commit": A}]),
        );
        let update = &push.records[0].references[0];
        let request = build_request(
            &config.rules[0],
            &push.records[0],
            &update.reference,
            update.commit().expect("commit"),
        );
        assert_eq!(request.project, "api-build");
        let names: Vec<_> = request
            .environment
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "CODECOMMIT_REPOSITORY",
                "CODECOMMIT_REF",
                "CODECOMMIT_BRANCH",
                "CODECOMMIT_COMMIT",
                "CODECOMMIT_RULE",
                "SERVICE"
            ]
        );
        assert!(request
            .environment
            .contains(&("CODECOMMIT_RULE".to_owned(), config.rules[0].name.clone())));
    }

    #[test]
    fn a_branch_push_sends_the_commit_and_its_description() {
        let push = push(
            "my-app",
            Some("arn:aws:iam::123456789012:user/dev"),
            json!([{"ref": "refs/heads/feature/x", "commit": A}]),
        );
        let request = request_for("my-project", &push, 0);
        assert_eq!(request.project, "my-project");
        assert_eq!(request.source_version, A);
        assert_eq!(
            request.environment,
            [
                ("CODECOMMIT_REPOSITORY", "my-app"),
                ("CODECOMMIT_REF", "refs/heads/feature/x"),
                ("CODECOMMIT_BRANCH", "feature/x"),
                ("CODECOMMIT_COMMIT", A),
                (
                    "CODECOMMIT_PUSHER_ARN",
                    "arn:aws:iam::123456789012:user/dev"
                ),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn a_tag_push_sets_the_tag_and_no_branch_and_no_pusher_when_unknown() {
        let push = push(
            "my-app",
            None,
            json!([{"ref": "refs/tags/v1.0", "commit": A}]),
        );
        let request = request_for("p1", &push, 0);
        let names: Vec<_> = request
            .environment
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "CODECOMMIT_REPOSITORY",
                "CODECOMMIT_REF",
                "CODECOMMIT_TAG",
                "CODECOMMIT_COMMIT"
            ]
        );
    }

    #[test]
    fn the_token_depends_on_project_repository_ref_and_commit_only() {
        let base = push(
            "my-app",
            Some("arn:aws:iam::123456789012:user/a"),
            json!([{"ref": "refs/heads/master", "commit": A}, {"ref": "refs/heads/master", "commit": B},
                   {"ref": "refs/heads/dev", "commit": A}]),
        );
        let token = request_for("p1", &base, 0).idempotency_token;
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        // Same push again, pushed by someone else: the same token.
        let again = push(
            "my-app",
            Some("arn:aws:iam::123456789012:user/b"),
            json!([{"ref": "refs/heads/master", "commit": A}]),
        );
        assert_eq!(request_for("p1", &again, 0).idempotency_token, token);
        // Any of the four values changed: another token.
        let other_repository = push(
            "other",
            None,
            json!([{"ref": "refs/heads/master", "commit": A}]),
        );
        for other in [
            request_for("p2", &base, 0),
            request_for("p1", &base, 1),
            request_for("p1", &base, 2),
            request_for("p1", &other_repository, 0),
        ] {
            assert_ne!(other.idempotency_token, token);
        }
    }

    /// The request of the shorthand project `p1` for the first reference of `event`.
    fn first_request(event: &serde_json::Value) -> BuildRequest {
        let config = config(&[
            (CODEBUILD_PROJECT, "p1"),
            (crate::config::PULL_REQUESTS, "main"),
        ]);
        let records = match crate::event::parse(&event.to_string()).expect("valid event") {
            crate::event::Event::Push(push) => push.records,
            crate::event::Event::PullRequest(change) => change.records,
            other => panic!("not a push or pull request: {other:?}"),
        };
        let update = &records[0].references[0];
        build_request(
            &config.rules[0],
            &records[0],
            &update.reference,
            update.commit().expect("a commit"),
        )
    }

    /// An EventBridge push of `commit` to master, which pointed at `previous` before.
    fn updated(id: &str, previous: &str, commit: &str) -> serde_json::Value {
        json!({"version": "0", "id": id, "detail-type": "CodeCommit Repository State Change",
               "source": "aws.codecommit", "account": "123456789012", "time": "2026-11-28T10:00:00Z",
               "region": "us-east-1", "resources": ["arn:aws:codecommit:us-east-1:123456789012:my-app"],
               "detail": {"event": "referenceUpdated", "repositoryName": "my-app",
                          "referenceType": "branch", "referenceName": "master",
                          "referenceFullName": "refs/heads/master",
                          "commitId": commit, "oldCommitId": previous}})
    }

    #[test]
    fn a_trigger_and_a_rule_on_one_push_share_the_token_and_an_occasion_makes_another() {
        let rule = first_request(&updated("e-1", B, A));
        let record = crate::test_support::record(
            "my-app",
            None,
            json!([{"ref": "refs/heads/master", "commit": A}]),
        );
        let trigger = first_request(&json!({"Records": [record]}));
        assert_eq!(rule.idempotency_token, trigger.idempotency_token);
        let again = rule.for_occasion("e-3");
        assert_ne!(again.idempotency_token, rule.idempotency_token);
        assert_eq!(
            again.idempotency_token,
            rule.for_occasion("e-3").idempotency_token
        );
        assert_ne!(
            again.idempotency_token,
            rule.for_occasion("e-4").idempotency_token
        );
        assert_eq!(
            (again.project, again.source_version, again.environment),
            (rule.project, rule.source_version, rule.environment)
        );
    }

    #[test]
    fn a_pull_request_revision_back_at_an_earlier_commit_builds_again() {
        let event = crate::test_support::pull_request_event(
            "pullRequestSourceBranchUpdated",
            "main",
            "Open",
            "False",
        );
        let first = first_request(&event).idempotency_token;
        assert_eq!(first_request(&event).idempotency_token, first);
        let mut later = event.clone();
        later["detail"]["revisionId"] = json!("9".repeat(64));
        assert_ne!(first_request(&later).idempotency_token, first);
    }
}
