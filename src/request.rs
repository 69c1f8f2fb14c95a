//! The StartBuild request for one reference: pure, so that the same push
//! always produces the same request (and CodeBuild's idempotency token can
//! deduplicate a redelivered event).

use crate::config::Rule;
use crate::event::{CommitId, GitRef, Record, RefKind};
use crate::variables;
use sha2::{Digest, Sha256};

/// Everything one StartBuild call sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// The project to start (name or ARN).
    pub project: String,
    /// The commit to build.
    pub source_version: String,
    /// Derived from (project, repository, ref or pull request, commit) only.
    pub idempotency_token: String,
    /// PLAINTEXT environment variables for the build, in a fixed order:
    /// the `CODECOMMIT_*` variables, then the rule's own.
    pub environment: Vec<(String, String)>,
}

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
    let identity = match &record.pull_request {
        None => ["codecommit-build-trigger/1", reference.as_str()],
        Some(pull_request) => ["codecommit-build-trigger/pull-request/1", &pull_request.id],
    };
    BuildRequest {
        project: project.to_owned(),
        source_version: commit.as_str().to_owned(),
        idempotency_token: idempotency_token(
            rule,
            &record.repository.arn,
            identity,
            commit,
            record
                .pull_request
                .as_ref()
                .and_then(|pr| pr.rebuild.as_deref()),
        ),
        environment,
    }
}

/// SHA-256 (hex) of the values that identify a build: project, repository,
/// ref (a pull request's id) and commit, after a version tag that keeps
/// pushes and pull requests apart; with routing rules also the rule's name,
/// so that two rules starting one project start two builds; for a rebuild
/// also the id of the comment that asked for it. Validated names,
/// ARNs, refs, ids and commit ids never contain NUL, so NUL-separated fields
/// cannot collide.
fn idempotency_token(
    rule: &Rule,
    repository_arn: &str,
    [version, subject]: [&str; 2],
    commit: &CommitId,
    rebuild: Option<&str>,
) -> String {
    let mut hash = Sha256::new();
    let fields = [
        version,
        rule.project.as_str(),
        repository_arn,
        subject,
        commit.as_str(),
    ];
    let rebuild = rebuild.into_iter().flat_map(|comment| ["rebuild", comment]);
    for field in fields
        .into_iter()
        .chain(rule.reported_name())
        .chain(rebuild)
    {
        hash.update(field.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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
}
