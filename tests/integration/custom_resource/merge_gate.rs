//! End-to-end: the release binary as the `Custom::CodeCommitMergeGate` custom resource, making
//! and removing the stack's approval rule template through the local CodeCommit, which
//! answers the template APIs and evaluates pull requests' approval rules as the service does.

use super::*;
use aws_sdk_codecommit::types::ApprovalState;
use testkit::codecommit::{PullRequestTarget, FUNCTION_ROLE};

const GATE: &str = "my-stack-builds-succeeded";
/// The pool the gate must name: any session of the reporter's role ([`FUNCTION_ROLE`]).
const POOL: &str = "arn:aws:sts::123456789012:assumed-role/codecommit-build-trigger/*";

/// The properties the template gives the merge gate.
fn gate(repositories: &[&str], branches: &[&str]) -> Value {
    json!({
        "ServiceToken": SERVICE_TOKEN,
        "TemplateName": GATE,
        "Repositories": repositories,
        "Branches": branches,
        "ApproverRoleArn": FUNCTION_ROLE,
        "BuildingBranches": "main,release/*",
    })
}

impl Installer {
    /// A request of type `kind` for the merge gate.
    fn gate_request(&self, kind: &str, properties: Value, physical_id: Option<&str>) -> Value {
        self.request_for("Custom::CodeCommitMergeGate", kind, properties, physical_id)
    }

    /// A CodeCommit client of the local endpoint, signing as `key` (`testing` is the
    /// reporter's session; any other key is the IAM user of that name).
    fn client_as(&self, key: &str) -> aws_sdk_codecommit::Client {
        use aws_sdk_codecommit::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_codecommit::Config::builder()
            .http_client(testkit::sdk_http_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(key, "testing", None, None, "test"))
            .endpoint_url(self.codecommit.endpoint())
            .build();
        aws_sdk_codecommit::Client::from_conf(config)
    }

    /// Whether pull request `id` may merge, and the rules it does not satisfy, as
    /// `EvaluatePullRequestApprovalRules` says.
    async fn evaluate(&self, id: &str) -> (bool, Vec<String>) {
        let revision = format!("{:064x}", id.len());
        let evaluation = self
            .client_as("alice")
            .evaluate_pull_request_approval_rules()
            .pull_request_id(id)
            .revision_id(revision)
            .send()
            .await
            .expect("EvaluatePullRequestApprovalRules succeeds")
            .evaluation
            .expect("an evaluation");
        (
            evaluation.approved,
            evaluation.approval_rules_not_satisfied.unwrap_or_default(),
        )
    }

    /// Approve pull request `id`'s revision, signing as `key`.
    async fn approve_as(&self, key: &str, id: &str) {
        self.client_as(key)
            .update_pull_request_approval_state()
            .pull_request_id(id)
            .revision_id(format!("{:064x}", id.len()))
            .approval_state(ApprovalState::Approve)
            .send()
            .await
            .expect("the approval is accepted");
    }

    /// Pull request `id` of `repository` into `destination` (a full reference).
    fn pull_request_into(&self, id: &str, repository: &str, destination: &str) {
        self.codecommit.set_pull_request(
            id,
            repository,
            PullRequestTarget {
                source: (
                    "refs/heads/feature",
                    "1111111111111111111111111111111111111111",
                ),
                destination: (destination, "2222222222222222222222222222222222222222"),
                status: "OPEN",
                merged: false,
            },
        );
    }

    /// The calls made to change approval rule templates or their associations.
    fn template_writes(&self) -> Vec<String> {
        self.codecommit
            .operations()
            .into_iter()
            .filter(|operation| {
                ["Create", "Update", "Delete", "Associate", "Disassociate"]
                    .iter()
                    .any(|verb| operation.starts_with(verb))
            })
            .collect()
    }
}

#[tokio::test]
async fn the_gate_holds_pull_requests_into_its_branches_until_the_reporter_approves() {
    let installer = Installer::start().await;
    for repository in [REPOSITORY, "other"] {
        installer.codecommit.add_repository(repository, vec![]);
    }
    let create = installer.gate_request("Create", gate(&[REPOSITORY], &["main"]), None);
    let created = installer.invoke(&create).await;
    assert_answer(&create, &created, "SUCCESS");
    assert_eq!(created.response.text("PhysicalResourceId"), GATE);
    assert_eq!(
        reason(&created.response),
        "approval rule template my-stack-builds-succeeded created: pull requests into main \
         need the reporter's approval in 1 repository (my-app)"
    );
    let template = installer.codecommit.approval_template(GATE).expect("made");
    let content: Value = serde_json::from_str(&template.content).expect("JSON content");
    assert_eq!(content["DestinationReferences"], json!(["refs/heads/main"]));
    assert_eq!(
        content["Statements"][0]["ApprovalPoolMembers"],
        json!([POOL])
    );
    assert_mentions(&template.description, &[STACK_ID]);
    assert_eq!(
        installer.codecommit.template_repositories(GATE),
        [REPOSITORY]
    );

    installer.pull_request_into("7", REPOSITORY, "refs/heads/main");
    installer.pull_request_into("8", REPOSITORY, "refs/heads/develop");
    installer.pull_request_into("9", "other", "refs/heads/main");
    assert_eq!(
        installer.evaluate("7").await,
        (false, vec![GATE.to_owned()])
    );
    assert!(installer.evaluate("8").await.0, "develop is not gated");
    assert!(installer.evaluate("9").await.0, "other is not gated");
    installer.approve_as("bob", "7").await;
    assert!(!installer.evaluate("7").await.0, "bob is not in the pool");
    installer.approve_as("testing", "7").await;
    assert_eq!(installer.evaluate("7").await, (true, vec![]));

    let delete = installer.gate_request("Delete", gate(&[REPOSITORY], &["main"]), Some(GATE));
    let deleted = installer.invoke(&delete).await;
    assert_answer(&delete, &deleted, "SUCCESS");
    assert_eq!(
        reason(&deleted.response),
        "took approval rule template my-stack-builds-succeeded off 1 repository and deleted it"
    );
    assert!(installer.codecommit.approval_template(GATE).is_none());
    assert!(installer.codecommit.template_repositories(GATE).is_empty());
    installer.pull_request_into("10", REPOSITORY, "refs/heads/main");
    assert!(
        installer.evaluate("10").await.0,
        "nothing gates once deleted"
    );
}

#[tokio::test]
async fn an_update_moves_the_gate_to_the_repositories_and_branches_now_named() {
    let installer = Installer::start().await;
    for repository in ["team-web", "team-api", "tools"] {
        installer.codecommit.add_repository(repository, vec![]);
    }
    let create = installer.gate_request("Create", gate(&["team-*"], &["main"]), None);
    let created = installer.invoke(&create).await;
    assert_answer(&create, &created, "SUCCESS");
    assert_eq!(
        installer.codecommit.template_repositories(GATE),
        ["team-api", "team-web"]
    );

    let mut update = installer.gate_request(
        "Update",
        gate(&["tools"], &["main", "release/2.0"]),
        Some(GATE),
    );
    update["OldResourceProperties"] = gate(&["team-*"], &["main"]);
    let updated = installer.invoke(&update).await;
    assert_answer(&update, &updated, "SUCCESS");
    assert_eq!(updated.response.text("PhysicalResourceId"), GATE);
    assert_eq!(installer.codecommit.template_repositories(GATE), ["tools"]);
    let content: Value = serde_json::from_str(
        &installer
            .codecommit
            .approval_template(GATE)
            .expect("kept")
            .content,
    )
    .expect("JSON");
    assert_eq!(
        content["DestinationReferences"],
        json!(["refs/heads/main", "refs/heads/release/2.0"])
    );

    let writes = installer.template_writes().len();
    let again = installer.gate_request(
        "Update",
        gate(&["tools"], &["main", "release/2.0"]),
        Some(GATE),
    );
    let unchanged = installer.invoke(&again).await;
    assert_answer(&again, &unchanged, "SUCCESS");
    assert_mentions(reason(&unchanged.response), &["unchanged"]);
    assert_eq!(
        installer.template_writes().len(),
        writes,
        "nothing rewritten"
    );
}

#[tokio::test]
async fn a_template_of_the_same_name_someone_else_made_is_neither_changed_nor_deleted() {
    let installer = Installer::start().await;
    installer.codecommit.add_repository(REPOSITORY, vec![]);
    let theirs = r#"{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":2,"ApprovalPoolMembers":["arn:aws:iam::123456789012:user/lead"]}]}"#;
    installer
        .codecommit
        .add_approval_template(GATE, "two leads approve", theirs);
    installer.codecommit.associate_template(GATE, REPOSITORY);

    let create = installer.gate_request("Create", gate(&[REPOSITORY], &["main"]), None);
    let created = installer.invoke(&create).await;
    assert_answer(&create, &created, "FAILED");
    assert_eq!(
        reason(&created.response),
        "an approval rule template named my-stack-builds-succeeded already exists and is not \
         this stack's (its description: \"two leads approve\"); delete or rename it, or deploy \
         this stack under another name"
    );
    let rollback_id = created.response.text("PhysicalResourceId").to_owned();
    assert!(rollback_id.starts_with("failed-create:"), "{rollback_id}");

    // Even a delete naming it (a stack that once held the name) leaves it.
    let delete = installer.gate_request("Delete", json!({}), Some(GATE));
    let deleted = installer.invoke(&delete).await;
    assert_answer(&delete, &deleted, "SUCCESS");
    assert_mentions(reason(&deleted.response), &["left as it is"]);
    let kept = installer.codecommit.approval_template(GATE).expect("kept");
    assert_eq!(kept.content, theirs);
    assert_eq!(
        installer.codecommit.template_repositories(GATE),
        [REPOSITORY]
    );
    assert_eq!(installer.template_writes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_create_that_fails_halfway_is_undone_by_its_rollback() {
    let installer = Installer::start().await;
    installer.codecommit.add_repository(REPOSITORY, vec![]);
    let create = installer.gate_request("Create", gate(&[REPOSITORY, "my-ap"], &["main"]), None);
    let created = installer.invoke(&create).await;
    assert_answer(&create, &created, "FAILED");
    assert_eq!(
        reason(&created.response),
        "repository my-ap does not exist in this account and region \
         (RepositoryDoesNotExistException); check the repository parameter"
    );
    assert_eq!(created.response.text("PhysicalResourceId"), GATE);

    let rollback = installer.gate_request("Delete", json!({}), Some(GATE));
    let rolled_back = installer.invoke(&rollback).await;
    assert_answer(&rollback, &rolled_back, "SUCCESS");
    assert!(installer.codecommit.approval_template(GATE).is_none());
    assert!(installer.codecommit.template_repositories(GATE).is_empty());
}

#[tokio::test]
async fn refusals_come_before_any_write_and_name_what_to_change() {
    let installer = Installer::start().await;
    installer.codecommit.add_repository(REPOSITORY, vec![]);
    let unbuilt = installer.gate_request("Create", gate(&[REPOSITORY], &["develop"]), None);
    let refused = installer.invoke(&unbuilt).await;
    assert_answer(&unbuilt, &refused, "FAILED");
    assert_eq!(
        reason(&refused.response),
        "invalid request: pull requests into develop do not build (PullRequests is \
         \"main,release/*\"), so the merge gate could never let them merge: add develop to \
         PullRequests, or take it out of MergeGate"
    );
    assert!(installer.codecommit.operations().is_empty(), "no call made");

    installer.codecommit.deny("CreateApprovalRuleTemplate");
    let create = installer.gate_request("Create", gate(&[REPOSITORY], &["main"]), None);
    let denied = installer.invoke(&create).await;
    assert_answer(&create, &denied, "FAILED");
    assert_mentions(
        reason(&denied.response),
        &[
            "AccessDeniedException",
            "codecommit:CreateApprovalRuleTemplate",
        ],
    );
    assert!(installer.codecommit.template_repositories(GATE).is_empty());
}
