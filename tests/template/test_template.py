"""Checks on template.yaml that a reviewer would make by hand: least privilege, the trigger's
permission, the failure destination, and the function settings the README promises.

Run by `make test` (pytest from the venv); the template is read with cfn-lint's loader, which
turns `!Ref X` into {"Ref": "X"} and so on.
"""

import pathlib
import tomllib

import pytest
from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
ROLES = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::IAM::Role"}


def statements(role):
    for policy in role["Properties"].get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def as_list(value):
    return value if isinstance(value, list) else [value]


def actions_of(role):
    return sorted(a for s in statements(role) for a in as_list(s["Action"]))


def test_every_function_has_its_own_explicit_role():
    # An explicit role means SAM adds no managed policy (AWSLambdaBasicExecutionRole writes to any log group).
    for name, function in FUNCTIONS.items():
        properties = function["Properties"]
        assert "Policies" not in properties, name
        role = properties["Role"]["Fn::GetAtt"]
        assert role[0] in ROLES and role[1] == "Arn", name
    assert len(ROLES) == len(FUNCTIONS)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_no_policy_allows_everything(role):
    for statement in statements(ROLES[role]):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{role}: wildcard action {action}"
        for resource in as_list(statement["Resource"]):
            assert resource != "*", f"{role}: {statement['Sid']} on every resource"
            text = resource if isinstance(resource, str) else str(resource)
            assert "*" not in text, f"{role}: wildcard resource {resource}"


def test_the_trigger_function_may_start_one_project_and_write_its_logs_and_queue_only():
    role = ROLES["TriggerFunctionRole"]
    assert actions_of(role) == ["codebuild:StartBuild", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]
    by_sid = {s["Sid"]: s for s in statements(role)}
    assert by_sid["StartBuildsOfThisProjectOnly"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${ProjectName}"
    }
    assert by_sid["WriteOwnLogs"]["Resource"] == {"Fn::GetAtt": ["TriggerLogGroup", "Arn"]}
    assert by_sid["KeepFailedEvents"]["Resource"] == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}


def test_only_the_installer_touches_the_repository_and_only_that_one():
    codecommit_roles = [name for name, role in ROLES.items() if any(a.startswith("codecommit:") for a in actions_of(role))]
    assert codecommit_roles == ["TriggerInstallerRole"]
    role = ROLES["TriggerInstallerRole"]
    assert actions_of(role) == [
        "codecommit:GetRepositoryTriggers",
        "codecommit:PutRepositoryTriggers",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    by_sid = {s["Sid"]: s for s in statements(role)}
    assert by_sid["ReadAndWriteThisRepositorysTriggers"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"
    }


def test_codecommit_may_invoke_the_function_for_this_repository_and_account_only():
    permission = RESOURCES["CodeCommitInvokePermission"]["Properties"]
    assert permission["Principal"] == "codecommit.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}
    assert permission["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"
    }
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_eventbridge_mode_matches_only_this_repositorys_branch_and_tag_pushes():
    rule = RESOURCES["PushRule"]
    assert rule["Condition"] == "UseEventBridge"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.codecommit"]
    assert pattern["detail-type"] == ["CodeCommit Repository State Change"]
    assert pattern["resources"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"}
    ]
    assert sorted(pattern["detail"]["referenceType"]) == ["branch", "tag"]
    assert "referenceDeleted" not in pattern["detail"]["event"]
    permission = RESOURCES["EventBridgeInvokePermission"]
    assert permission["Condition"] == "UseEventBridge"
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": ["PushRule", "Arn"]}
    assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_a_push_that_cannot_start_its_build_is_kept_and_alarmed():
    config = FUNCTIONS["TriggerFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == {"Ref": "MaximumEventAgeInSeconds"}
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]},
    }
    queue = RESOURCES["FailedEventsQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    alarm = RESOURCES["FailedEventsAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]}}]
    assert alarm["Threshold"] == 1


def test_the_trigger_is_installed_by_the_custom_resource_named_after_the_stack():
    trigger = RESOURCES["RepositoryTrigger"]
    assert trigger["Type"] == "Custom::CodeCommitTrigger"
    assert trigger["Condition"] == "UseRepositoryTrigger"
    assert trigger["DependsOn"] == "CodeCommitInvokePermission"
    properties = trigger["Properties"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["TriggerInstallerFunction", "Arn"]}
    assert properties["TriggerName"] == {"Ref": "AWS::StackName"}
    assert properties["DestinationArn"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}


def test_functions_are_built_from_this_packages_binaries_for_arm64():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    binaries = {b["name"] for b in cargo["bin"]}
    built = set()
    for name, function in FUNCTIONS.items():
        metadata = function["Metadata"]
        assert metadata["BuildMethod"] == "rust-cargolambda", name
        built.add(metadata["BuildProperties"]["Binary"])
        properties = function["Properties"]
        assert properties["Runtime"] == "provided.al2023", name
        assert properties["Handler"] == "bootstrap", name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["MemorySize"] == 128, name
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", name
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert built == binaries


def test_the_trigger_function_outlasts_the_sdks_retries():
    # 3 attempts, each bounded by the SDK's timeouts, plus backoff: well under 30 s.
    assert FUNCTIONS["TriggerFunction"]["Properties"]["Timeout"] >= 30


def test_configuration_defaults_follow_the_contract():
    parameters = TEMPLATE["Parameters"]
    assert parameters["BranchPatterns"]["Default"] == "master"
    assert parameters["TagPatterns"]["Default"] == ""
    assert parameters["TriggerMode"]["Default"] == "CodeCommitTrigger"
    variables = FUNCTIONS["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables == {
        "CODEBUILD_PROJECT": {"Ref": "ProjectName"},
        "BRANCHES": {"Ref": "BranchPatterns"},
        "TAGS": {"Ref": "TagPatterns"},
    }


def test_outputs_name_the_function_the_queue_and_the_trigger():
    assert set(TEMPLATE["Outputs"]) == {"TriggerFunctionArn", "FailedEventsQueueUrl", "TriggerName"}
