"""Checks on template.yaml that a reviewer would make by hand: least privilege, the trigger's
permission, the failure destination, and the function settings the README promises.

Run by `make test` (pytest from the venv); the template is read with cfn-lint's loader, which
turns `!Ref X` into {"Ref": "X"} and so on.
"""

import json
import pathlib
import re
import tomllib

import pytest
from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
ROLES = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::IAM::Role"}


DEFAULTS = {name: p.get("Default") for name, p in TEMPLATE["Parameters"].items()}


def condition(name, params):
    return evaluate(TEMPLATE["Conditions"][name], params)


def evaluate(expression, params):
    """Evaluates a condition expression for the given parameter values."""
    (function, argument), = expression.items()
    if function == "Fn::Equals":
        left, right = (resolve(a, params) for a in argument)
        return left == right
    if function == "Fn::Not":
        return not evaluate(argument[0], params)
    if function == "Fn::Or":
        return any(evaluate(a, params) for a in argument)
    if function == "Fn::And":
        return all(evaluate(a, params) for a in argument)
    if function == "Condition":
        return condition(argument, params)
    raise AssertionError(f"unexpected condition {expression}")


def resolve(value, params):
    """Resolves Fn::If and parameter Refs; leaves other intrinsics as they are."""
    if isinstance(value, list):
        resolved = [resolve(v, params) for v in value]
        return [v for v in resolved if v != NO_VALUE]
    if isinstance(value, dict):
        if "Fn::If" in value:
            name, yes, no = value["Fn::If"]
            return resolve(yes if condition(name, params) else no, params)
        if "Condition" in value and len(value) == 1:
            return evaluate(value, params)
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if set(value) == {"Ref"} and value["Ref"] in params:
            return params[value["Ref"]]
        if "Fn::Split" in value:
            separator, text = value["Fn::Split"]
            text = resolve(text, params)
            if isinstance(text, str):
                return text.split(separator)
        return {k: resolve(v, params) for k, v in value.items()}
    return value


NO_VALUE = object()


def parameters(**overrides):
    params = dict(DEFAULTS)
    params.update(RepositoryName="my-app", ProjectName="my-project")
    params.update(overrides)
    return params


def statements(role, params=None):
    """The role's statements as deployed with these parameters (defaults if None)."""
    params = params or parameters()
    for policy in role["Properties"].get("Policies", []):
        for statement in resolve(policy["PolicyDocument"]["Statement"], params):
            yield statement


def every_statement(role):
    """Every statement any parameters could produce, both sides of each Fn::If."""
    def branches(value):
        if isinstance(value, dict) and "Fn::If" in value:
            _, yes, no = value["Fn::If"]
            return branches(yes) + branches(no)
        if isinstance(value, list):
            return [combination for item in value for combination in branches(item)] or [[]]
        return [value]
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            for variant in branches(statement):
                if variant != {"Ref": "AWS::NoValue"}:
                    yield variant


def leaves(value):
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return leaves(yes) + leaves(no)
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def as_list(value):
    return value if isinstance(value, list) else [value]


def actions_of(role, params=None):
    return sorted(a for s in statements(role, params) for a in as_list(s["Action"]))


def test_every_function_has_its_own_explicit_role():
    # An explicit role means SAM adds no managed policy (AWSLambdaBasicExecutionRole writes to any log group).
    for name, function in FUNCTIONS.items():
        properties = function["Properties"]
        assert "Policies" not in properties, name
        role = properties["Role"]["Fn::GetAtt"]
        assert role[0] in ROLES and role[1] == "Arn", name
    assert len(ROLES) == len(FUNCTIONS)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_no_policy_allows_everything_whatever_the_parameters(role):
    for statement in every_statement(ROLES[role]):
        assert statement["Effect"] == "Allow"
        for action in leaves(statement["Action"]):
            assert "*" not in action, f"{role}: wildcard action {action}"
        for resource in leaves(statement["Resource"]):
            if statement["Sid"] == "KeepTheStacksApprovalRuleTemplate":
                # Approval rule templates are not resources IAM can name; the function changes
                # only the template whose description names its stack.
                assert set(statement["Action"]) == TEMPLATE_ACTIONS and resource == "*"
                continue
            assert resource != "*", f"{role}: {statement['Sid']} on every resource"
            text = resource if isinstance(resource, str) else str(resource)
            if statement["Action"] == "logs:GetLogEvents":
                # Each build writes a stream of its own, in its project's log group (any
                # project's with Rules, whose project names CloudFormation cannot read).
                text = text.removesuffix(":log-stream:*'}").replace("/aws/codebuild/*", "/aws/codebuild/RULES")
            if "codebuild:DescribeTestCases" in statement["Action"]:
                # A project's report groups are PROJECT-REPORT (any project's with Rules).
                text = text.removesuffix("-*'}").removesuffix("report-group/*'}")
            assert "*" not in text, f"{role}: wildcard resource {resource}"


TEMPLATE_ACTIONS = {
    "codecommit:CreateApprovalRuleTemplate", "codecommit:GetApprovalRuleTemplate",
    "codecommit:UpdateApprovalRuleTemplateContent", "codecommit:DeleteApprovalRuleTemplate",
    "codecommit:ListRepositoriesForApprovalRuleTemplate",
}
PROJECT_ARN = {"Fn::Sub": "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${ProjectName}"}
REPOSITORY_ARN = {"Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"}


def test_the_trigger_function_may_start_one_project_and_write_its_logs_and_queue_only():
    role = ROLES["TriggerFunctionRole"]
    bare = parameters(SkipMarkers="false")
    assert actions_of(role, bare) == [
        "codebuild:StartBuild", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"
    ]
    by_sid = {s["Sid"]: s for s in statements(role, bare)}
    assert by_sid["StartBuildsOfTheseProjectsOnly"]["Resource"] == PROJECT_ARN
    assert by_sid["WriteOwnLogs"]["Resource"] == {"Fn::GetAtt": ["TriggerLogGroup", "Arn"]}
    assert by_sid["KeepFailedEvents"]["Resource"] == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}


def test_each_feature_adds_exactly_its_permissions():
    role = ROLES["TriggerFunctionRole"]
    base = {"codebuild:StartBuild", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}

    def extra(**overrides):
        params = parameters(**overrides)
        found = {}
        for statement in statements(role, params):
            for action in as_list(statement["Action"]):
                if action not in base:
                    found[action] = statement["Resource"]
        return found

    assert extra(SkipMarkers="false") == {}
    assert extra() == {"codecommit:GetCommit": REPOSITORY_ARN}, "skip markers are on by default"
    path_reads = {"codecommit:GetDifferences", "codecommit:GetRepository", "codecommit:GetMergeOptions"}
    history = {"codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"}
    with_paths = extra(SkipMarkers="false", PathPatterns="services/api/**")
    assert set(with_paths) == path_reads | history
    assert all(with_paths[a] == REPOSITORY_ARN for a in path_reads)
    assert all(with_paths[a] == PROJECT_ARN for a in history)
    assert set(extra(SkipMarkers="false", PathIgnorePatterns="**/*.md", TriggerMode="EventBridge")) == path_reads, (
        "EventBridge events name the previous commit: no build history needed"
    )
    assert extra(SkipMarkers="false", Supersede="true") == {
        "codebuild:ListBuildsForProject": PROJECT_ARN,
        "codebuild:BatchGetBuilds": PROJECT_ARN,
        "codebuild:StopBuild": PROJECT_ARN,
        "codecommit:GetBranch": REPOSITORY_ARN,
    }, "a push whose branch has moved on since is not built: GetBranch says where it stands"
    arns = ["arn:aws:codebuild:us-east-1:123456789012:project/api", "arn:aws:codebuild:us-east-1:123456789012:project/web"]
    with_rules = parameters(SkipMarkers="false", Rules='[{"name": "a"}]', RuleProjectArns=",".join(arns))
    start = [s for s in statements(role, with_rules) if s["Action"] == "codebuild:StartBuild"]
    assert start[0]["Resource"] == arns


BATCH_ACTIONS = {"codebuild:StartBuildBatch", "codebuild:ListBuildBatchesForProject",
                 "codebuild:BatchGetBuildBatches", "codebuild:StopBuildBatch", "codebuild:RetryBuildBatch"}


def test_batch_builds_add_the_batch_actions_on_the_rules_projects_only_when_asked():
    arns = ["arn:aws:codebuild:us-east-1:123456789012:project/matrix"]
    with_rules = dict(Rules='[{"name": "a"}]', RuleProjectArns=",".join(arns), PullRequests="main",
                      ApprovePullRequests="true")
    for role in ("TriggerFunctionRole", "ReporterFunctionRole"):
        assert not set(actions_of(ROLES[role], parameters(**with_rules))) & BATCH_ACTIONS, role
    batch = parameters(BatchBuilds="true", **with_rules)
    starter = [s for s in statements(ROLES["TriggerFunctionRole"], batch) if set(as_list(s["Action"])) & BATCH_ACTIONS]
    assert [set(s["Action"]) for s in starter] == [BATCH_ACTIONS]
    assert starter[0]["Resource"] == arns
    reporter = [s for s in statements(ROLES["ReporterFunctionRole"], batch) if set(as_list(s["Action"])) & BATCH_ACTIONS]
    assert [set(s["Action"]) for s in reporter] == [{"codebuild:BatchGetBuildBatches", "codebuild:ListBuildBatchesForProject"}]
    assert reporter[0]["Resource"] == arns
    assert not condition("UseBatchBuilds", parameters(BatchBuilds="true")), "no rules: no batches"
    rule = TEMPLATE["Rules"]["BatchBuildsNeedRules"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "BatchBuilds"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Rules"}, ""]}]}


def test_rules_replace_the_shorthand_variables():
    function = FUNCTIONS["TriggerFunction"]["Properties"]
    variables = resolve(function["Environment"]["Variables"], parameters(Rules="[]x", RuleProjectArns="a"))
    assert {k for k, v in variables.items() if v is not NO_VALUE} == {
        "RULES", "SKIP_MARKERS", "IGNORE_PUSHERS", "ALLOWED_REPOSITORIES", "REBUILD_COMMAND"
    }
    assert variables["REBUILD_COMMAND"] == "", "no pull requests: no rebuilds"
    variables = resolve(function["Environment"]["Variables"], parameters())
    assert "RULES" not in {k for k, v in variables.items() if v is not NO_VALUE}


def test_only_the_installer_touches_the_repositorys_triggers_and_only_that_one():
    writers = [
        name
        for name, role in ROLES.items()
        if any("RepositoryTriggers" in a for s in every_statement(role) for a in leaves(s["Action"]))
    ]
    assert writers == ["TriggerInstallerRole"]
    role = ROLES["TriggerInstallerRole"]
    assert actions_of(role) == [
        "codebuild:BatchGetProjects",
        "codecommit:GetRepositoryTriggers",
        "codecommit:PutRepositoryTriggers",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    by_sid = {s["Sid"]: s for s in statements(role)}
    assert by_sid["ReadAndWriteThisRepositorysTriggers"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"
    }
    # It checks, at deploy time, that the projects the function starts exist: those only.
    assert by_sid["CheckTheProjectsExist"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${ProjectName}"
    }
    with_rules = parameters(Rules='[{"name": "a"}]', RuleProjectArns="arn:aws:codebuild:us-east-1:111111111111:project/a")
    checks = {s["Sid"]: s for s in statements(role, with_rules)}["CheckTheProjectsExist"]
    assert checks["Resource"] == ["arn:aws:codebuild:us-east-1:111111111111:project/a"]
    properties = resolve(RESOURCES["RepositoryTrigger"]["Properties"], parameters())
    assert properties["ProjectNames"] == ["my-project"]


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


def test_pull_requests_add_a_rule_on_this_repositorys_pull_requests_and_one_read():
    rule = RESOURCES["PullRequestRule"]
    assert rule["Condition"] == "UsePullRequests"
    assert not condition("UsePullRequests", parameters()), "off by default"
    assert condition("UsePullRequests", parameters(PullRequests="main"))
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.codecommit"]
    assert pattern["detail-type"] == ["CodeCommit Pull Request State Change"]
    assert pattern["resources"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"}
    ]
    events = resolve(pattern["detail"]["event"], parameters(PullRequests="main"))
    assert events == ["pullRequestCreated", "pullRequestSourceBranchUpdated", "pullRequestStatusChanged"]
    with_supersede = resolve(pattern["detail"]["event"], parameters(PullRequests="main", Supersede="true"))
    assert with_supersede == events + ["pullRequestMergeStatusUpdated"], "a merge only stops builds"
    assert not any("Approval" in event for event in with_supersede)
    permission = RESOURCES["PullRequestInvokePermission"]
    assert permission["Condition"] == "UsePullRequests"
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": ["PullRequestRule", "Arn"]}
    assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
    role = ROLES["TriggerFunctionRole"]
    for features in [{}, {"Supersede": "true"}, {"PathPatterns": "src/**"}]:
        with_pull_requests = actions_of(role, parameters(PullRequests="main", RebuildCommand="", **features))
        assert with_pull_requests == sorted(actions_of(role, parameters(**features)) + ["codecommit:GetPullRequest"]), features
        with_rebuilds = actions_of(role, parameters(PullRequests="main", **features))
        assert with_rebuilds == sorted(with_pull_requests + ["codecommit:GetComment"]), "/rebuild is on by default"
    by_sid = {s["Sid"]: s for s in statements(role, parameters(PullRequests="main"))}
    assert by_sid["ReadThisRepositorysPullRequests"]["Resource"] == REPOSITORY_ARN
    variables = resolve(FUNCTIONS["TriggerFunction"]["Properties"]["Environment"]["Variables"],
                        parameters(PullRequests="main,release/*"))
    assert variables["PULL_REQUESTS"] == "main,release/*"


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


ALARMS = {
    "FailedEventsAlarm": None,
    "TriggerDeliveryFailuresAlarm": "TriggerFunction",
    "TriggerErrorsAlarm": "TriggerFunction",
    "ReporterDeliveryFailuresAlarm": "ReporterFunction",
    "ReporterErrorsAlarm": "ReporterFunction",
}


def alarm_actions(name, params):
    return resolve(RESOURCES[name]["Properties"].get("AlarmActions", {"Ref": "AWS::NoValue"}), params)


def test_every_alarm_notifies_the_given_topic_or_the_one_made_for_the_email():
    for name, function in ALARMS.items():
        if function:
            dimensions = RESOURCES[name]["Properties"]["Dimensions"]
            assert dimensions == [{"Name": "FunctionName", "Value": {"Ref": function}}], name
        assert alarm_actions(name, parameters()) is NO_VALUE, f"{name} notifies nobody by default"
        topic = "arn:aws:sns:us-east-1:123456789012:ops"
        assert alarm_actions(name, parameters(AlarmTopicArn=topic)) == [topic], name
        assert alarm_actions(name, parameters(AlarmEmail="ops@example.com")) == [{"Ref": "AlarmTopic"}], name
    metrics = {RESOURCES[name]["Properties"]["MetricName"] for name in ALARMS}
    assert metrics == {"ApproximateNumberOfMessagesVisible", "DestinationDeliveryFailures", "Errors"}
    assert RESOURCES["AlarmTopic"]["Condition"] == "HasAlarmEmail"
    assert RESOURCES["AlarmTopic"]["Properties"]["Subscription"] == [
        {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    ]
    for name in ("ReporterDeliveryFailuresAlarm", "ReporterErrorsAlarm"):
        assert RESOURCES[name]["Condition"] == "UseReporting"


def test_contradictory_parameters_are_refused_at_deploy_time():
    rules = TEMPLATE["Rules"]
    approvals = rules["ApprovalsNeedPullRequestBuilds"]
    assert approvals["RuleCondition"] == {"Fn::Equals": [{"Ref": "ApprovePullRequests"}, "true"]}
    assert approvals["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PullRequests"}, ""]}]}
    gate = rules["MergeGateNeedsPullRequestBuilds"]
    assert gate["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MergeGate"}, ""]}]}
    assert gate["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PullRequests"}, ""]}]}
    alarms = rules["OneAlarmDestination"]
    assert alarms["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}


def test_in_eventbridge_mode_the_installer_checks_the_repository_and_projects_and_writes_nothing():
    eventbridge = parameters(TriggerMode="EventBridge")
    check = RESOURCES["InstallationCheck"]
    assert check["Type"] == "Custom::CodeCommitBuildTriggerCheck"
    assert check["Condition"] == "UseEventBridge"
    properties = resolve(check["Properties"], eventbridge)
    assert properties["RepositoryName"] == "my-app" and properties["ProjectNames"] == ["my-project"]
    role = ROLES["TriggerInstallerRole"]
    # The trigger's permissions stay: after a switch to EventBridge, CloudFormation's cleanup
    # removes the trigger with the role as already updated.
    assert actions_of(role, eventbridge) == [
        "codebuild:BatchGetProjects", "codecommit:GetRepository", "codecommit:GetRepositoryTriggers",
        "codecommit:PutRepositoryTriggers", "logs:CreateLogStream", "logs:PutLogEvents",
    ]
    by_sid = {s["Sid"]: s for s in statements(role, eventbridge)}
    assert by_sid["CheckTheRepositoryExists"]["Resource"] == REPOSITORY_ARN
    assert "Condition" not in RESOURCES["TriggerInstallerFunction"], "deploy-time work in every mode"


def test_the_trigger_is_installed_by_the_custom_resource_named_after_the_stack():
    trigger = RESOURCES["RepositoryTrigger"]
    assert trigger["Type"] == "Custom::CodeCommitTrigger"
    assert trigger["Condition"] == "UseRepositoryTrigger"
    assert trigger["DependsOn"] == "CodeCommitInvokePermission"
    properties = trigger["Properties"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["TriggerInstallerFunction", "Arn"]}
    assert properties["TriggerName"] == {"Ref": "AWS::StackName"}
    assert properties["DestinationArn"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}


def test_the_merge_gate_is_one_parameter_and_adds_exactly_its_permissions():
    gated = parameters(PullRequests="main,release/*", MergeGate="main,release/2.0")
    assert condition("UseMergeGate", gated)
    assert condition("UseApprovals", gated), "the gate turns the approvals on"
    assert not condition("UseMergeGate", parameters()), "off by default"
    gate = RESOURCES["MergeGateTemplate"]
    assert gate["Type"] == "Custom::CodeCommitMergeGate" and gate["Condition"] == "UseMergeGate"
    properties = resolve(gate["Properties"], gated)
    assert properties["TemplateName"] == {"Fn::Sub": "${AWS::StackName}-builds-succeeded"}
    assert properties["Repositories"] == ["my-app"]
    assert properties["Branches"] == ["main", "release/2.0"]
    assert properties["ApproverRoleArn"] == {"Fn::GetAtt": ["ReporterFunctionRole", "Arn"]}
    assert properties["BuildingBranches"] == "main,release/*"
    with_rules = dict(gated, Rules='[{"name": "a"}]', RuleProjectArns="arn:aws:codebuild:us-east-1:111111111111:project/a")
    assert resolve(gate["Properties"], with_rules)["BuildingBranches"] == "", "rules decide"

    assert properties["ServiceToken"] == {"Fn::GetAtt": ["MergeGateFunction", "Arn"]}
    # A function and role of its own, which exist as long as the gate: CloudFormation deletes the
    # gate first, with its permissions, when MergeGate is emptied.
    for name in ("MergeGateFunction", "MergeGateFunctionRole", "MergeGateLogGroup"):
        assert RESOURCES[name]["Condition"] == "UseMergeGate"
    role = ROLES["MergeGateFunctionRole"]
    by_sid = {s["Sid"]: s for s in statements(role, gated)}
    assert set(by_sid["KeepTheStacksApprovalRuleTemplate"]["Action"]) == TEMPLATE_ACTIONS
    assert by_sid["GateThisRepository"]["Resource"] == REPOSITORY_ARN
    assert set(actions_of(role, gated)) == TEMPLATE_ACTIONS | {
        "codecommit:AssociateApprovalRuleTemplateWithRepository",
        "codecommit:DisassociateApprovalRuleTemplateFromRepository",
        "logs:CreateLogStream", "logs:PutLogEvents",
    }
    assert not any("ApprovalRule" in a for a in actions_of(ROLES["TriggerInstallerRole"], gated))
    pattern = re.compile(TEMPLATE["Parameters"]["MergeGate"]["AllowedPattern"])
    assert all(pattern.fullmatch(v) for v in ["", "main", "main,release/2.0"])
    assert not any(pattern.fullmatch(v) for v in ["release/*", "main,,dev", "!main", "main,"])


def test_functions_are_arm64_binaries_told_apart_by_their_handler():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    binaries = {b["name"] for b in cargo["bin"]}
    built = set()
    # src/roles/mod.rs: `starter` is the build trigger, `reporter` results back in CodeCommit (each
    # refuses the other's events), `trigger-installer` the custom resource. The starter ships
    # its own binary (src/bin/starter.rs, its code alone); the others share the binary of every role.
    handlers = {"TriggerInstallerFunction": "trigger-installer", "TriggerFunction": "starter",
                "ReporterFunction": "reporter", "MergeGateFunction": "trigger-installer"}
    binary = {"TriggerInstallerFunction": "codecommit-build-trigger", "TriggerFunction": "starter",
              "ReporterFunction": "codecommit-build-trigger", "MergeGateFunction": "codecommit-build-trigger"}
    for name, function in FUNCTIONS.items():
        metadata = function["Metadata"]
        assert metadata["BuildMethod"] == "rust-cargolambda", name
        assert metadata["BuildProperties"]["Binary"] == binary[name], name
        built.add(metadata["BuildProperties"]["Binary"])
        properties = function["Properties"]
        assert properties["Runtime"] == "provided.al2023", name
        assert properties["Handler"] == handlers[name], name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["MemorySize"] == 128, name
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", name
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    # kept-events and the doctor, the operators' tools, are crates of their own, run from a terminal.
    assert built == binaries == {"codecommit-build-trigger", "starter"}


def test_the_trigger_function_outlasts_the_sdks_retries():
    # Up to 10 StartBuild attempts with about 15 s of pauses; the deadline ends them sooner.
    assert FUNCTIONS["TriggerFunction"]["Properties"]["Timeout"] >= 30


def test_configuration_defaults_follow_the_contract():
    assert parameters_default("BranchPatterns") == "master"
    assert parameters_default("TagPatterns") == ""
    assert parameters_default("TriggerMode") == "CodeCommitTrigger"
    variables = FUNCTIONS["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    resolved = resolve(variables, parameters(BranchPatterns="main", TagPatterns="v*"))
    assert resolved["CODEBUILD_PROJECT"] == "my-project"
    assert resolved["BRANCHES"] == "main"
    assert resolved["TAGS"] == "v*"
    assert resolved["SKIP_MARKERS"] == "true"
    assert resolved["ALLOWED_REPOSITORIES"] == REPOSITORY_ARN, "only the wired repository's events are served"
    assert parameters_default("RuleProjectArns") == "", "real or empty, never a placeholder"
    assert all(p.get("Default", "") == "" or not str(p["Default"]).startswith("arn:")
               for p in TEMPLATE["Parameters"].values())
    assert parameters_default("SkipMarkers") == "true"
    assert parameters_default("Supersede") == "false"


def parameters_default(name):
    return TEMPLATE["Parameters"][name]["Default"]


def test_outputs_name_the_function_the_queue_and_the_trigger():
    assert set(TEMPLATE["Outputs"]) == {
        "TriggerFunctionArn", "FailedEventsQueueUrl", "TriggerName", "ReporterFunctionRoleArn",
        "AlarmTopic", "DashboardUrl", "MergeGateTemplate",
    }
    assert TEMPLATE["Outputs"]["AlarmTopic"]["Condition"] == "NotifiesSomeone"
    assert TEMPLATE["Outputs"]["ReporterFunctionRoleArn"]["Condition"] == "UseReporting"


WRITES = {
    "codecommit:PostCommentForPullRequest", "codecommit:PostCommentForComparedCommit",
    "codecommit:UpdateComment", "codecommit:UpdatePullRequestApprovalState",
}
LOG_STREAMS = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codebuild/${ProjectName}:log-stream:*"}


def test_reporting_is_a_function_of_its_own_and_the_build_starter_writes_nothing_back():
    assert FUNCTIONS["ReporterFunction"]["Condition"] == "UseReporting"
    assert not condition("UseReporting", parameters()), "off without pull requests or commit comments"
    assert condition("UseReporting", parameters(PullRequests="main"))
    assert condition("UseReporting", parameters(CommitComments="true"))
    starter = {a for s in every_statement(ROLES["TriggerFunctionRole"]) for a in leaves(s["Action"])}
    reporter = {a for s in every_statement(ROLES["ReporterFunctionRole"]) for a in leaves(s["Action"])}
    assert not starter & WRITES, "the build starter cannot write comments or approvals"
    reads = {"codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds", "codebuild:BatchGetReports",
             "codebuild:DescribeTestCases", "codebuild:BatchGetBuildBatches",
             "codebuild:ListBuildBatchesForProject"}
    assert not {a for a in reporter if a.startswith("codebuild:") and a not in reads}, (
        "the reporter cannot start or stop builds"
    )
    variables = FUNCTIONS["ReporterFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["REPORTER_ROLE_ARN"] == {"Fn::GetAtt": ["ReporterFunctionRole", "Arn"]}
    assert variables["STARTER_ROLE_ARN"] == {"Fn::GetAtt": ["TriggerFunctionRole", "Arn"]}, (
        "only builds the starter started are reported and count for approvals"
    )
    reporter_rules = resolve(variables, parameters(PullRequests="main", PathPatterns="src/**"))
    assert (reporter_rules["PULL_REQUESTS"], reporter_rules["PATHS"]) == ("main", "src/**"), (
        "the reporter decides which rules a pull request needs as the starter does"
    )
    starter_variables = FUNCTIONS["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert resolve(starter_variables, parameters(PullRequests="main"))["REPORTER_ROLE_ARN"] == variables["REPORTER_ROLE_ARN"], (
        "the starter knows the reporter's comments, which never ask for a rebuild"
    )


def test_each_reporting_option_adds_exactly_its_permissions():
    role = ROLES["ReporterFunctionRole"]

    def granted(**overrides):
        found = {}
        for statement in statements(role, parameters(**overrides)):
            for action in as_list(statement["Action"]):
                found[action] = statement["Resource"]
        return found

    base = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "codebuild:BatchGetBuilds",
            "codebuild:BatchGetReports", "codebuild:DescribeTestCases"}
    assert granted(PullRequests="main")["codebuild:DescribeTestCases"] == {
        "Fn::Sub": "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:report-group/${ProjectName}-*"
    }, "the project's report groups only"
    assert granted(PullRequests="main")["codebuild:BatchGetBuilds"] == PROJECT_ARN, (
        "an event is a hint: the reporter reads the build back, of its project only"
    )
    pull_requests = granted(PullRequests="main")
    comments = {"codecommit:GetCommentsForPullRequest", "codecommit:PostCommentForPullRequest",
                "codecommit:UpdateComment", "codecommit:GetComment", "codecommit:GetPullRequest"}
    assert set(pull_requests) == base | comments | {"logs:GetLogEvents"}
    assert all(pull_requests[a] == REPOSITORY_ARN for a in comments)
    assert pull_requests["logs:GetLogEvents"] == LOG_STREAMS, "this project's log group only"
    assert set(granted(PullRequests="main", CommentLogLines="0")) == base | comments
    approvals = granted(PullRequests="main", ApprovePullRequests="true")
    assert set(approvals) - set(pull_requests) == {
        "codecommit:UpdatePullRequestApprovalState", "codebuild:ListBuildsForProject",
        "codecommit:GetCommit",  # the skip markers of the decision the approval makes again
    }
    assert approvals["codecommit:UpdatePullRequestApprovalState"] == REPOSITORY_ARN
    assert approvals["codebuild:ListBuildsForProject"] == PROJECT_ARN
    assert approvals["codecommit:GetCommit"] == REPOSITORY_ARN
    assert set(granted(PullRequests="main", ApprovePullRequests="true", SkipMarkers="false")) - set(pull_requests) == {
        "codecommit:UpdatePullRequestApprovalState", "codebuild:ListBuildsForProject",
    }
    commits = granted(CommitComments="true", CommentLogLines="0")
    assert set(commits) == base | {"codecommit:GetCommentsForComparedCommit", "codecommit:PostCommentForComparedCommit",
                                   "codecommit:UpdateComment", "codecommit:GetComment", "codecommit:GetCommit"}
    assert not condition("UseApprovals", parameters(ApprovePullRequests="true")), "approvals need pull requests"


def test_the_projects_build_state_events_reach_the_reporter_and_rebuild_comments_the_starter():
    rule = RESOURCES["BuildStateRule"]
    assert rule["Condition"] == "UseReporting"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.codebuild"]
    assert pattern["detail-type"] == ["CodeBuild Build State Change"]
    detail = resolve(pattern["detail"], parameters(PullRequests="main"))
    assert detail["project-name"] == ["my-project"], "exactly the function's project"
    variables = detail["additional-information"]["environment"]["environment-variables"]
    assert variables == {"name": ["CODECOMMIT_REPOSITORY"], "value": ["my-app"]}
    assert rule["Properties"]["Targets"] == [{"Id": "ReporterFunction", "Arn": {"Fn::GetAtt": ["ReporterFunction", "Arn"]}}]
    permission = RESOURCES["BuildStateInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["ReporterFunction", "Arn"]}
    assert permission["SourceArn"] == {"Fn::GetAtt": ["BuildStateRule", "Arn"]}
    comments = RESOURCES["PullRequestCommentRule"]
    assert comments["Condition"] == "UseRebuild"
    assert condition("UseRebuild", parameters(PullRequests="main"))
    assert not condition("UseRebuild", parameters(PullRequests="main", RebuildCommand=""))
    pattern = comments["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["CodeCommit Comment on Pull Request"]
    assert pattern["resources"] == [REPOSITORY_ARN]
    assert pattern["detail"] == {"event": ["commentOnPullRequestCreated"]}
    assert comments["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}
    variables = resolve(FUNCTIONS["TriggerFunction"]["Properties"]["Environment"]["Variables"],
                        parameters(PullRequests="main", RebuildCommand="/ci again"))
    assert variables["REBUILD_COMMAND"] == "/ci again"


def test_every_parameter_has_a_group_and_a_label():
    interface = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    assert sorted(grouped) == sorted(TEMPLATE["Parameters"]), "each parameter in exactly one group"
    assert len(grouped) == len(set(grouped))
    assert set(interface["ParameterLabels"]) == set(TEMPLATE["Parameters"])


def written_metrics():
    """The metrics the function writes (src/handler/metrics.rs), by name."""
    source = (ROOT / "src" / "handler" / "metrics.rs").read_text()
    table = source[source.index("pub const METRICS"):source.index("];")]
    return set(re.findall(r'\("([A-Za-z]+)", "(?:Count|Milliseconds)"\)', table))


def graphed_metrics(template):
    """The (namespace, metric) pairs a template's dashboard graphs."""
    body, _ = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "X", body))
    graphed = set()
    for widget in dashboard["widgets"]:
        previous = []
        for row in widget["properties"]["metrics"]:
            names = [part for part in row if isinstance(part, str)]
            if names[:1] == ["..."]:
                names = previous
            names = [prev if part == "." else part for part, prev in zip(names, previous + names[len(previous):])]
            graphed.add((names[0], names[1]))
            previous = names
    return graphed


@pytest.mark.parametrize("name", ["template.yaml", "many-repositories.yaml"])
def test_the_dashboard_graphs_what_the_function_writes(name):
    template = TEMPLATE if name == "template.yaml" else cfn_yaml.load(str(ROOT / name))
    graphed = graphed_metrics(template)
    own = {metric for namespace, metric in graphed if namespace == "CodeCommitBuildTrigger"}
    assert own == written_metrics(), "every metric written is graphed, and only those"
    assert ("AWS/Lambda", "DestinationDeliveryFailures") in graphed
    assert "DashboardUrl" in template["Outputs"]
