//! End-to-end: `codecommit-build-trigger doctor` as an operator runs it, against a stack, a
//! queue and projects in moto, the repository, its triggers and approval rule templates at the
//! local CodeCommit (backed by git), and the project roles at the local IAM endpoint (moto has
//! no policy simulation). One installation in good order, then each mistake a new user makes,
//! with the line that names it and its fix. `make test` runs them (the `end-to-end` feature, and
//! the binaries and moto its variables name).

#![cfg(feature = "end-to-end")]

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use aws_sdk_codebuild::types::{
    ArtifactsType, ComputeType, EnvironmentType, ProjectArtifacts, ProjectEnvironment,
    ProjectSource, SourceType,
};
use serde_json::{json, Value};
use testkit::codecommit::LocalCodeCommit;
use testkit::git::GitRepo;
use testkit::iam::LocalIam;
use testkit::moto::{self, Moto};
use testkit::{doctor_bin, trigger_bin};

const STACK: &str = "my-stack";
const REPOSITORY: &str = "my-app";
const REPOSITORY_ARN: &str = "arn:aws:codecommit:us-east-1:123456789012:my-app";
const PROJECT: &str = "my-app-build";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:my-stack-TriggerFunction-A1";
const REPORTER_ROLE: &str = "my-stack-ReporterFunctionRole-B2";
const GATE: &str = "my-stack-builds-succeeded";
const DOCTOR_TIMEOUT: Duration = Duration::from_secs(60);

/// How the installation is set up; `healthy()` is one in good order.
struct Setup {
    parameters: BTreeMap<&'static str, &'static str>,
    artifacts: ArtifactsType,
    git_pull: bool,
    trigger: bool,
    gate: bool,
    kept_events: usize,
    orphaned_gate: bool,
}

fn healthy() -> Setup {
    Setup {
        parameters: BTreeMap::from([
            ("RepositoryName", REPOSITORY),
            ("ProjectName", PROJECT),
            ("BranchPatterns", "main,release/*"),
            ("TriggerMode", "CodeCommitTrigger"),
            ("PullRequests", "main"),
            ("MergeGate", "main"),
            ("Rules", ""),
        ]),
        artifacts: ArtifactsType::NoArtifacts,
        git_pull: true,
        trigger: true,
        gate: true,
        kept_events: 0,
        orphaned_gate: false,
    }
}

/// The services the doctor reads, holding the installation.
struct Installation {
    moto: Moto,
    codecommit: LocalCodeCommit,
    iam: LocalIam,
    _git: GitRepo,
}

impl Installation {
    async fn start(setup: Setup) -> Installation {
        let moto = Moto::start().await;
        let codecommit = LocalCodeCommit::start().await;
        let iam = LocalIam::start().await;
        let git = GitRepo::init("main");
        git.write("README.md", "my app\n");
        git.commit("first");
        git.checkout_new_branch("feature/login", "main");
        git.commit("login");
        codecommit.add_git_repository(REPOSITORY, &git);
        if setup.trigger {
            codecommit.add_repository(
                REPOSITORY,
                vec![json!({"name": STACK, "destinationArn": FUNCTION, "events": ["all"]})],
            );
        }
        let statements = if setup.git_pull {
            vec![
                json!({"Effect": "Allow", "Action": ["codecommit:GitPull"], "Resource": REPOSITORY_ARN}),
            ]
        } else {
            vec![json!({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})]
        };
        let build_role = iam.add_role("/service-role/", "my-app-build-role", statements);
        let reporter_role = iam.add_role("/", REPORTER_ROLE, vec![]);
        let pool = |role: &str| {
            json!({"Version": "2018-11-08", "DestinationReferences": ["refs/heads/main"],
                   "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1,
                   "ApprovalPoolMembers": [format!("arn:aws:sts::123456789012:assumed-role/{role}/*")]}]})
            .to_string()
        };
        if setup.gate {
            codecommit.add_approval_template(GATE, "the stack's", &pool(REPORTER_ROLE));
            codecommit.associate_template(GATE, REPOSITORY);
        }
        if setup.orphaned_gate {
            codecommit.add_approval_template(
                "old-stack-builds-succeeded",
                "",
                &pool("old-reporter"),
            );
            codecommit.associate_template("old-stack-builds-succeeded", REPOSITORY);
        }
        create_project(&moto, &build_role, setup.artifacts).await;
        let queue_url = create_stack(&moto, &setup.parameters, &reporter_role).await;
        let sqs = moto::sqs_client(&moto.endpoint());
        for n in 0..setup.kept_events {
            sqs.send_message()
                .queue_url(&queue_url)
                .message_body(format!("{{\"kept\": {n}}}"))
                .send()
                .await
                .expect("a kept event");
        }
        Installation {
            moto,
            codecommit,
            iam,
            _git: git,
        }
    }

    /// Runs `program ARGS` (the doctor, or the function's binary with `doctor`) with
    /// credentials and endpoints for the local services.
    async fn run(&self, program: &std::path::Path, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(program);
        command.env_clear();
        let doctor_dir = doctor_bin().parent().expect("a directory").to_owned();
        command
            .env("PATH", doctor_dir)
            .envs(testkit::OPERATOR_ENV)
            .env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_CODECOMMIT", self.codecommit.endpoint())
            .env("AWS_ENDPOINT_URL_IAM", self.iam.endpoint())
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(DOCTOR_TIMEOUT, command.output()).await {
            Ok(output) => output.expect("the doctor runs"),
            Err(_) => panic!("the doctor did not exit within {DOCTOR_TIMEOUT:?}"),
        }
    }

    async fn doctor(&self, args: &[&str]) -> (Option<i32>, String) {
        let output = self.run(&doctor_bin(), args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.stderr.is_empty(),
            "nothing on stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), stdout)
    }
}

async fn create_project(moto: &Moto, role: &str, artifacts: ArtifactsType) {
    let client = moto::codebuild_client(&moto.endpoint());
    client
        .create_project()
        .name(PROJECT)
        .source(
            ProjectSource::builder()
                .r#type(SourceType::Codepipeline)
                // moto wants a location even for a pipeline's source, which has none.
                .location("my-pipeline")
                .build()
                .expect("a source"),
        )
        .artifacts(
            ProjectArtifacts::builder()
                // moto wants a location for any artifacts but none, as for the source.
                .set_location(
                    (artifacts != ArtifactsType::NoArtifacts).then(|| "my-pipeline".into()),
                )
                .r#type(artifacts)
                .build()
                .expect("artifacts"),
        )
        .environment(
            ProjectEnvironment::builder()
                .r#type(EnvironmentType::LinuxContainer)
                .image(moto::IMAGE)
                .compute_type(ComputeType::BuildGeneral1Small)
                .build()
                .expect("an environment"),
        )
        .service_role(role)
        .send()
        .await
        .expect("moto creates the project");
}

/// The stack as CloudFormation (moto) holds it: the parameters it was deployed with, the
/// failed-events queue, and the outputs the template gives; answers the queue's URL.
async fn create_stack(
    moto: &Moto,
    parameters: &BTreeMap<&str, &str>,
    reporter_role: &str,
) -> String {
    use aws_sdk_cloudformation::config::{Credentials, Region};
    use aws_sdk_cloudformation::types::Parameter;
    let config = aws_sdk_cloudformation::Config::builder()
        .http_client(testkit::sdk_http_client())
        .behavior_version_latest()
        .region(Region::new(moto::REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(moto.endpoint())
        .build();
    let client = aws_sdk_cloudformation::Client::from_conf(config);
    let declared: BTreeMap<&str, Value> = parameters
        .keys()
        .map(|key| (*key, json!({"Type": "String", "Default": ""})))
        .collect();
    let mut outputs = json!({
        "FailedEventsQueueUrl": {"Value": {"Ref": "FailedEventsQueue"}},
        "TriggerFunctionArn": {"Value": FUNCTION},
        "ReporterFunctionRoleArn": {"Value": reporter_role},
        "MergeGateTemplate": {"Value": GATE},
    });
    let mut resources = json!({
        "FailedEventsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "my-stack-kept"}},
    });
    if parameters.get("TriggerMode") == Some(&"EventBridge") {
        resources["PushRule"] = json!({"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"source": ["aws.codecommit"]}, "State": "ENABLED"}});
        outputs
            .as_object_mut()
            .expect("outputs")
            .remove("MergeGateTemplate");
    }
    let template = json!({"Parameters": declared, "Resources": resources, "Outputs": outputs});
    client
        .create_stack()
        .stack_name(STACK)
        .template_body(template.to_string())
        .set_parameters(Some(
            parameters
                .iter()
                .map(|(key, value)| {
                    Parameter::builder()
                        .parameter_key(*key)
                        .parameter_value(*value)
                        .build()
                })
                .collect(),
        ))
        .send()
        .await
        .expect("moto creates the stack");
    moto::sqs_client(&moto.endpoint())
        .get_queue_url()
        .queue_name("my-stack-kept")
        .send()
        .await
        .expect("the stack's queue")
        .queue_url
        .expect("a queue URL")
}

fn assert_lines(stdout: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            stdout.lines().any(|printed| printed == *line),
            "missing line {line:?} in:\n{stdout}"
        );
    }
}

#[tokio::test]
async fn an_installation_in_good_order_passes_every_check() {
    let installation = Installation::start(healthy()).await;
    let (code, stdout) = installation.doctor(&["--stack", STACK]).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert_lines(
        &stdout,
        &[
            "codecommit-build-trigger doctor: stack my-stack, repository my-app in us-east-1",
            "  ✓ stack: stack my-stack is CREATE_COMPLETE",
            "  ✓ repository: repository my-app exists in us-east-1, default branch main",
            "  ✓ project: project my-app-build exists; its source is CODEPIPELINE, and each build \
             names the repository as its source (sourceTypeOverride)",
            "  ✓ git pull: project my-app-build's role my-app-build-role may codecommit:GitPull the repository",
            "  ✓ branches: BranchPatterns \"main,release/*\" build the default branch main (1 of 2 branches build)",
            &format!("  ✓ trigger: trigger my-stack invokes {FUNCTION}"),
            "  ✓ merge gate: approval rule template my-stack-builds-succeeded gates the repository; \
             its pool is the reporter's role",
            "  ✓ failed events: the failed-events queue is empty",
            "  ✓ approval rules: no approval rule template on the repository waits for a role that \
             no longer exists (1 checked)",
            "All 9 checks passed.",
        ],
    );

    // As users run it: through the function's binary, which runs the doctor from the PATH.
    let through = installation
        .run(&trigger_bin(), &["doctor", "--stack", STACK])
        .await;
    assert_eq!(through.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&through.stdout), stdout);
}

#[tokio::test]
async fn each_mistake_of_a_new_install_is_named_with_its_fix() {
    let mut setup = healthy();
    setup.parameters.insert("BranchPatterns", "master");
    setup.artifacts = ArtifactsType::Codepipeline;
    setup.trigger = false;
    setup.gate = false;
    setup.kept_events = 2;
    setup.orphaned_gate = true;
    let installation = Installation::start(setup).await;
    let (code, stdout) = installation.doctor(&["--stack", STACK]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_lines(
        &stdout,
        &[
            "  ✗ project: project my-app-build's artifacts are CODEPIPELINE, which exist only in a \
             pipeline's run: StartBuild outside a pipeline fails",
            "      fix: aws codebuild update-project --name my-app-build --artifacts type=NO_ARTIFACTS",
            "  ✗ branches: BranchPatterns \"master\" do not build the default branch main; no branch \
             of the repository builds",
            "      fix: deploy with BranchPatterns=main (or master,main to keep both)",
            "  ✗ trigger: the repository has no trigger named my-stack",
            "      fix: sam deploy again: the stack's custom resource writes its trigger back",
            "  ✗ merge gate: approval rule template my-stack-builds-succeeded does not exist",
            "      fix: sam deploy again: the stack's custom resource puts its merge gate back",
            "  ✗ failed events: the failed-events queue keeps 2 event(s) whose builds did not start",
            "  ✗ approval rules: approval rule template old-stack-builds-succeeded waits for the \
             approval of role old-reporter, which no longer exists: the pull requests it covers \
             cannot merge",
            "      fix: aws codecommit disassociate-approval-rule-template-from-repository \
             --approval-rule-template-name old-stack-builds-succeeded --repository-name my-app",
            "6 problems: fix them and run the doctor again.",
        ],
    );
    assert!(stdout.contains("fix: kept-events list http"), "{stdout}");
}

#[tokio::test]
async fn a_build_role_without_git_pull_is_told_the_policy_to_add() {
    let mut setup = healthy();
    setup.git_pull = false;
    let installation = Installation::start(setup).await;
    let (code, stdout) = installation
        .doctor(&["--repository", REPOSITORY, "--project", PROJECT])
        .await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_lines(
        &stdout,
        &[
            "  ✗ git pull: project my-app-build's role my-app-build-role may not codecommit:GitPull \
             arn:aws:codecommit:us-east-1:123456789012:my-app (no statement allows it): its builds \
             fail in DOWNLOAD_SOURCE",
            "      fix: aws iam put-role-policy --role-name my-app-build-role --policy-name \
             codecommit-git-pull --policy-document '{\"Version\":\"2012-10-17\",\"Statement\":[{\
             \"Effect\":\"Allow\",\"Action\":\"codecommit:GitPull\",\
             \"Resource\":\"arn:aws:codecommit:us-east-1:123456789012:my-app\"}]}'",
        ],
    );
    assert!(
        !stdout.contains("✓ trigger"),
        "no stack, no stack checks:\n{stdout}"
    );
}

#[tokio::test]
async fn what_cannot_be_read_is_a_problem_naming_the_permission() {
    let installation = Installation::start(healthy()).await;
    installation.iam.deny("SimulatePrincipalPolicy");
    let (code, stdout) = installation.doctor(&["--stack", STACK]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_lines(
        &stdout,
        &["      fix: run the doctor with credentials that may call iam:SimulatePrincipalPolicy"],
    );
    assert!(
        stdout.contains("  ? git pull: role my-app-build-role's GitPull could not be checked"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_stack_or_repository_that_is_not_there_is_named() {
    let installation = Installation::start(healthy()).await;
    let (code, stdout) = installation.doctor(&["--stack", "my-stak"]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_lines(
        &stdout,
        &["  ✗ stack: stack my-stak does not exist in us-east-1"],
    );
    let (code, stdout) = installation
        .doctor(&["--repository", "my-ap", "--project", PROJECT])
        .await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_lines(
        &stdout,
        &["  ✗ repository: repository my-ap does not exist in us-east-1"],
    );
}

#[tokio::test]
async fn in_eventbridge_mode_the_rule_is_checked_instead_of_the_trigger() {
    let mut setup = healthy();
    setup.parameters.insert("TriggerMode", "EventBridge");
    setup.parameters.insert("MergeGate", "");
    setup.trigger = false;
    setup.gate = false;
    let installation = Installation::start(setup).await;
    let (code, stdout) = installation.doctor(&["--stack", STACK]).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert_lines(
        &stdout,
        &["  ✓ rule: the stack's EventBridge rule is CREATE_COMPLETE"],
    );
}

#[tokio::test]
async fn a_batch_rule_on_a_project_without_batch_configuration_is_named_with_its_fix() {
    let mut setup = healthy();
    setup.parameters.insert(
        "Rules",
        r#"[{"name": "matrix", "project": "my-app-build", "pullRequests": ["main"], "batch": true}]"#,
    );
    setup.parameters.insert(
        "RuleProjectArns",
        "arn:aws:codebuild:us-east-1:123456789012:project/my-app-build",
    );
    setup.parameters.insert("BatchBuilds", "true");
    let installation = Installation::start(setup).await;
    let (code, stdout) = installation.doctor(&["--stack", STACK]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_lines(
        &stdout,
        &[
            "  ✗ batch builds: rule matrix starts batch builds of my-app-build, which has no batch \
             configuration: StartBuildBatch fails",
            "      fix: aws codebuild update-project --name my-app-build --build-batch-config \
             serviceRole=BATCH_ROLE_ARN,restrictions={maximumBuildsAllowed=10}",
        ],
    );
}
