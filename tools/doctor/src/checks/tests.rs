use super::*;

const ARN: &str = "arn:aws:codecommit:us-east-1:123456789012:my-app";

fn repository_with(default: Option<&str>, branches: &[&str]) -> RepositoryFacts {
    RepositoryFacts {
        arn: ARN.to_owned(),
        default_branch: default.map(str::to_owned),
        branches: branches.iter().map(|b| (*b).to_owned()).collect(),
    }
}

fn problem(check: &Check) -> (String, String) {
    match &check.outcome {
        Outcome::Problem { what, fix } => (what.clone(), fix.clone()),
        other => panic!("expected a problem, got {other:?}"),
    }
}

fn denied(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: "AccessDeniedException".into(),
        message: "not authorized".into(),
    }
}

#[test]
fn branch_patterns_must_build_the_default_branch() {
    let facts = repository_with(Some("main"), &["feature/x", "main"]);
    assert!(branches("main,release/*", &facts).is_fine());
    let (what, fix) = problem(&branches("master", &facts));
    assert_eq!(
        what,
        "BranchPatterns \"master\" do not build the default branch main; no branch of the repository builds"
    );
    assert_eq!(
        fix,
        "deploy with BranchPatterns=main (or master,main to keep both)"
    );
    let (what, _) = problem(&branches("feature/*", &facts));
    assert!(what.ends_with("; only feature/x build"), "{what}");
    assert!(
        branches("master", &repository_with(None, &[])).is_fine(),
        "an empty repository"
    );
    assert!(problem(&branches("a,,b", &facts)).0.contains("is empty"));
}

#[test]
fn a_pipelines_project_builds_unless_its_artifacts_are_the_pipelines() {
    let project_with = |source: &str, artifacts: &str| {
        Ok(Some(ProjectFacts {
            source_type: source.into(),
            artifacts_type: artifacts.into(),
            service_role: None,
            batch_configured: false,
        }))
    };
    let fine = project(
        "us-east-1",
        "p",
        &project_with("CODEPIPELINE", "NO_ARTIFACTS"),
    );
    assert_eq!(
        fine.outcome,
        Outcome::Fine(
            "project p exists; its source is CODEPIPELINE, and each build names the repository \
             as its source (sourceTypeOverride)"
                .into()
        )
    );
    let (_, fix) = problem(&project(
        "us-east-1",
        "p",
        &project_with("CODEPIPELINE", "CODEPIPELINE"),
    ));
    assert_eq!(
        fix,
        "aws codebuild update-project --name p --artifacts type=NO_ARTIFACTS"
    );
    assert!(problem(&project("us-east-1", "p", &Ok(None)))
        .0
        .contains("does not exist in us-east-1"));
}

#[test]
fn a_role_without_git_pull_is_told_the_policy_to_add() {
    let role = "arn:aws:iam::123456789012:role/service-role/build";
    assert!(git_pull("p", role, ARN, &Ok(Decision::Allowed)).is_fine());
    let (what, fix) = problem(&git_pull("p", role, ARN, &Ok(Decision::ImplicitDeny)));
    assert!(
        what.contains("role build may not codecommit:GitPull"),
        "{what}"
    );
    assert!(
        fix.starts_with("aws iam put-role-policy --role-name build "),
        "{fix}"
    );
    assert!(fix.contains(ARN), "{fix}");
    assert!(problem(&no_service_role("p")).0.contains("no service role"));
    let unknown = git_pull("p", role, ARN, &Err(denied("SimulatePrincipalPolicy")));
    let Outcome::Unknown { fix, .. } = unknown.outcome else {
        panic!("expected unknown");
    };
    assert_eq!(
        fix,
        "run the doctor with credentials that may call iam:SimulatePrincipalPolicy"
    );
}

#[test]
fn the_stacks_trigger_must_invoke_its_function() {
    let function = "arn:aws:lambda:us-east-1:123456789012:function:f";
    let ours = Ok(vec![("s".to_owned(), function.to_owned())]);
    assert!(trigger("s", function, &ours).is_fine());
    let (what, _) = problem(&trigger(
        "s",
        function,
        &Ok(vec![("other".into(), function.into())]),
    ));
    assert_eq!(what, "the repository has no trigger named s (it has other)");
    let moved = Ok(vec![("s".to_owned(), "arn:aws:sns:x".to_owned())]);
    assert!(problem(&trigger("s", function, &moved))
        .0
        .contains("not the stack's"));
}

#[test]
fn a_gate_waiting_for_a_deleted_role_is_found() {
    let content = r#"{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,"ApprovalPoolMembers":["arn:aws:sts::123456789012:assumed-role/old-reporter/*"]}]}"#;
    let templates = vec![("old-gate".to_owned(), content.to_owned())];
    assert_eq!(pooled_roles(&templates), ["old-reporter"]);
    assert!(orphaned_gates("my-app", &templates, &[]).is_fine());
    let (what, fix) = problem(&orphaned_gates(
        "my-app",
        &templates,
        &["old-reporter".into()],
    ));
    assert_eq!(
        what,
        "approval rule template old-gate waits for the approval of role old-reporter, which no \
         longer exists: the pull requests it covers cannot merge"
    );
    assert_eq!(
        fix,
        "aws codecommit disassociate-approval-rule-template-from-repository \
         --approval-rule-template-name old-gate --repository-name my-app"
    );
}

#[test]
fn the_merge_gate_must_name_the_reporters_role_and_be_on_the_repository() {
    let role = "arn:aws:iam::123456789012:role/s-ReporterFunctionRole-X";
    let content = r#"{"Statements":[{"ApprovalPoolMembers":["arn:aws:sts::123456789012:assumed-role/s-ReporterFunctionRole-X/*"]}]}"#;
    let on = Ok(vec!["s-builds-succeeded".to_owned()]);
    assert!(merge_gate("s-builds-succeeded", role, &Ok(Some(content.into())), &on).is_fine());
    assert!(
        problem(&merge_gate("s-builds-succeeded", role, &Ok(None), &on))
            .0
            .contains("does not exist")
    );
    assert!(problem(&merge_gate(
        "s-builds-succeeded",
        role,
        &Ok(Some(content.into())),
        &Ok(vec![])
    ))
    .0
    .contains("not associated"));
    let other = r#"{"Statements":[{"ApprovalPoolMembers":["arn:aws:iam::123456789012:user/x"]}]}"#;
    assert!(problem(&merge_gate(
        "s-builds-succeeded",
        role,
        &Ok(Some(other.into())),
        &on
    ))
    .0
    .contains("pool does not name"));
}

#[test]
fn kept_events_and_failed_stacks_are_problems() {
    assert!(queue("https://q", &Ok(0)).is_fine());
    let (what, fix) = problem(&queue("https://q", &Ok(2)));
    assert!(what.contains("keeps 2 event(s)"));
    assert!(fix.starts_with("kept-events list https://q"));
    assert!(stack("s", "us-east-1", &Ok(Some("UPDATE_COMPLETE".into()))).is_fine());
    assert!(!stack(
        "s",
        "us-east-1",
        &Ok(Some("UPDATE_ROLLBACK_COMPLETE".into()))
    )
    .is_fine());
    assert!(problem(&stack("s", "us-east-1", &Ok(None)))
        .0
        .contains("does not exist in us-east-1"));
    assert!(push_rule(&Ok(Some("CREATE_COMPLETE".into()))).is_fine());
    assert!(!push_rule(&Ok(None)).is_fine());
}

#[test]
fn a_batch_rule_needs_the_stacks_grant_and_the_projects_batch_configuration() {
    let facts = |configured| ProjectFacts {
        source_type: "CODECOMMIT".into(),
        artifacts_type: "NO_ARTIFACTS".into(),
        service_role: None,
        batch_configured: configured,
    };
    let (what, fix) = problem(&batch("matrix", "m", false, &facts(true)));
    assert!(
        what.ends_with("but the stack does not grant the batch actions"),
        "{what}"
    );
    assert_eq!(fix, "update the stack with BatchBuilds=true");
    let (what, fix) = problem(&batch("matrix", "m", true, &facts(false)));
    assert!(what.contains("which has no batch configuration"), "{what}");
    assert!(
        fix.starts_with("aws codebuild update-project --name matrix --build-batch-config"),
        "{fix}"
    );
    assert!(batch("matrix", "m", true, &facts(true)).is_fine());
}
