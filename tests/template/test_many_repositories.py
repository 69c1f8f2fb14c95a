"""Checks on many-repositories.yaml, the installation for many repositories: the parameters'
patterns, the ARNs and EventBridge patterns they make, and each role's reach.

The intrinsic functions that build ARNs and patterns from the parameters (Sub, Split, Select,
Join, If, Ref) are evaluated here as CloudFormation would, with a stack in us-east-1 of
account 123456789012.
"""

import json
import pathlib
import re

import pytest
from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(str(ROOT / "many-repositories.yaml"))
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "builds",
}
REPOSITORY_ARN = "arn:aws:codecommit:us-east-1:123456789012:"
PROJECT_ARN = "arn:aws:codebuild:us-east-1:123456789012:project/"
NO_VALUE = object()


def parameters(**overrides):
    params = {name: p.get("Default") for name, p in PARAMETERS.items()}
    params.update(Repositories="team-*,website", AllowedProjects="team-*")
    params.update(overrides)
    return {name: str(value) if value is not None else None for name, value in params.items()}


def condition(name, params):
    return condition_value(TEMPLATE["Conditions"][name], params)


def condition_value(expression, params):
    (function, argument), = expression.items()
    if function == "Condition":
        return condition(argument, params)
    if function == "Fn::Equals":
        left, right = (evaluate(a, params) for a in argument)
        return left == right
    if function == "Fn::Not":
        return not condition_value(argument[0], params)
    if function == "Fn::Or":
        return any(condition_value(a, params) for a in argument)
    if function == "Fn::And":
        return all(condition_value(a, params) for a in argument)
    raise AssertionError(f"unexpected condition {expression}")


def substitute(text, variables, params):
    def value(match):
        name = match.group(1)
        if name in variables:
            return evaluate(variables[name], params)
        if name in PSEUDO:
            return PSEUDO[name]
        return params[name]
    return re.sub(r"\$\{([^}!]+)\}", value, text)


def evaluate(value, params):
    """Evaluates a value as CloudFormation would, GetAtt left as it is."""
    if isinstance(value, list):
        items = [evaluate(v, params) for v in value]
        return [v for v in items if v is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: evaluate(v, params) for k, v in value.items()}
    (function, argument), = value.items()
    if function == "Ref":
        if argument == "AWS::NoValue":
            return NO_VALUE
        if argument in PSEUDO or argument in params:
            return PSEUDO.get(argument, params.get(argument))
        return value  # a resource's

    if function == "Fn::If":
        name, yes, no = argument
        return evaluate(yes if condition(name, params) else no, params)
    if function == "Fn::Sub":
        if isinstance(argument, str):
            return substitute(argument, {}, params)
        return substitute(argument[0], argument[1], params)
    if function == "Fn::Split":
        return evaluate(argument[1], params).split(argument[0])
    if function == "Fn::Select":
        return evaluate(argument[1], params)[int(argument[0])]
    if function == "Fn::Join":
        return argument[0].join(evaluate(argument[1], params))
    if function == "Fn::GetAtt":
        return value
    return {function: evaluate(argument, params)}


def statements(role, params):
    for policy in RESOURCES[role]["Properties"]["Policies"]:
        yield from evaluate(policy["PolicyDocument"]["Statement"], params)


def allowed(role, params):
    """{action: set of resources} the role is granted."""
    grants = {}
    for statement in statements(role, params):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            grants.setdefault(action, set()).update(
                r if isinstance(r, str) else json.dumps(r) for r in resources
            )
    return grants


def environment(function, params):
    return evaluate(RESOURCES[function]["Properties"]["Environment"]["Variables"], params)


def event_pattern(rule, params):
    return json.loads(evaluate(RESOURCES[rule]["Properties"]["EventPattern"], params))


@pytest.mark.parametrize("value", ["*", "team-*", "team-*,website", "a,b,c,d,e", "web.site_2"])
def test_repositories_take_up_to_five_name_patterns(value):
    assert re.fullmatch(PARAMETERS["Repositories"]["AllowedPattern"], value)


@pytest.mark.parametrize("value", ["", "a,b,c,d,e,f", "team-[ab]", "!team", "a,,b", "a/b", "a b"])
def test_repositories_refuse_what_iam_and_eventbridge_cannot_match(value):
    assert not re.fullmatch(PARAMETERS["Repositories"]["AllowedPattern"], value)


@pytest.mark.parametrize("patterns", ["*", "team-*", "team-*,website", "a,b,c,d,e"])
def test_iam_grants_on_exactly_the_patterns_arns(patterns):
    params = parameters(Repositories=patterns, AllowedProjects="team-*,shared-build")
    expected_repositories = {REPOSITORY_ARN + p for p in patterns.split(",")}
    expected_projects = {PROJECT_ARN + "team-*", PROJECT_ARN + "shared-build"}
    starter = allowed("TriggerFunctionRole", params)
    assert starter["codecommit:GetFile"] == expected_repositories
    assert starter["codebuild:StartBuild"] == expected_projects
    reporter = allowed("ReporterFunctionRole", params)
    assert reporter["codecommit:PostCommentForPullRequest"] == expected_repositories
    assert reporter["codebuild:BatchGetBuilds"] == expected_projects
    allowed_repositories = environment("TriggerFunction", params)["ALLOWED_REPOSITORIES"]
    assert set(allowed_repositories.split(",")) == expected_repositories


def test_the_starter_starts_builds_and_writes_nothing_back_and_the_reporter_starts_nothing():
    params = parameters(ApprovePullRequests="true", CommitComments="true")
    starter = allowed("TriggerFunctionRole", params)
    writes_back = {a for a in starter if a.startswith("codecommit:") and not a.startswith("codecommit:Get")}
    assert writes_back == set()
    reporter = allowed("ReporterFunctionRole", params)
    assert not {"codebuild:StartBuild", "codebuild:StopBuild"} & set(reporter)
    assert "codecommit:UpdatePullRequestApprovalState" in reporter
    without = allowed("ReporterFunctionRole", parameters(ApprovePullRequests="false"))
    assert "codecommit:UpdatePullRequestApprovalState" not in without


BATCH_ACTIONS = {"codebuild:StartBuildBatch", "codebuild:ListBuildBatchesForProject",
                 "codebuild:BatchGetBuildBatches", "codebuild:StopBuildBatch", "codebuild:RetryBuildBatch"}


def test_batch_builds_add_the_batch_actions_on_the_allowed_projects_only_when_asked():
    assert not set(allowed("TriggerFunctionRole", parameters())) & BATCH_ACTIONS
    assert not set(allowed("ReporterFunctionRole", parameters())) & BATCH_ACTIONS
    params = parameters(BatchBuilds="true", AllowedProjects="team-*,matrix")
    projects = {PROJECT_ARN + "team-*", PROJECT_ARN + "matrix"}
    starter = allowed("TriggerFunctionRole", params)
    assert {action: set(starter[action]) for action in BATCH_ACTIONS} == {a: projects for a in BATCH_ACTIONS}
    reporter = allowed("ReporterFunctionRole", params)
    assert set(reporter) & BATCH_ACTIONS == {"codebuild:BatchGetBuildBatches", "codebuild:ListBuildBatchesForProject"}
    assert set(reporter["codebuild:BatchGetBuildBatches"]) == projects


def test_no_statement_grants_every_resource_or_action():
    params = parameters()
    for role in ("TriggerFunctionRole", "ReporterFunctionRole"):
        for action, resources in allowed(role, params).items():
            assert "*" not in action, (role, action)
            assert "*" not in resources, (role, action)
            for resource in resources:
                if resource.startswith("arn:"):
                    # A wildcard only where a pattern puts one, in the name.
                    assert resource.split(":")[:5] in (
                        ["arn", "aws", "codecommit", "us-east-1", "123456789012"],
                        ["arn", "aws", "codebuild", "us-east-1", "123456789012"],
                        ["arn", "aws", "logs", "us-east-1", "123456789012"],
                        ["arn", "aws", "sqs", "us-east-1", "123456789012"],
                    ), resource


def test_every_rule_matches_the_repositories_by_name_and_no_repository_is_touched():
    params = parameters(Repositories="team-*,website")
    wildcards = [{"wildcard": "team-*"}, {"wildcard": "website"}]
    push = event_pattern("PushRule", params)
    assert push["detail"]["repositoryName"] == wildcards
    assert push["detail"]["event"] == ["referenceCreated", "referenceUpdated"]
    assert event_pattern("PullRequestRule", params)["detail"]["repositoryNames"] == wildcards
    assert event_pattern("PullRequestCommentRule", params)["detail"]["repositoryName"] == wildcards
    builds = event_pattern("BuildStateRule", params)["detail"]
    assert builds["project-name"] == [{"wildcard": "team-*"}]
    variables = builds["additional-information"]["environment"]["environment-variables"]
    assert variables == {"name": ["CODECOMMIT_REPOSITORY"], "value": wildcards}
    # No repository is touched, but for the merge gate (MergeGate, off by default).
    kinds = {resource["Type"] for resource in RESOURCES.values() if resource.get("Condition") != "UseMergeGate"}
    assert not any(kind.startswith("AWS::CodeCommit") or kind.startswith("Custom::") for kind in kinds)


def test_the_functions_read_each_repositorys_file_and_the_allowed_projects():
    params = parameters()
    for function in ("TriggerFunction", "ReporterFunction"):
        variables = environment(function, params)
        assert variables["REPOSITORY_CONFIG"] == ".codecommit-build-trigger.yml"
        assert variables["ALLOWED_PROJECTS"] == "team-*"
        assert "CODEBUILD_PROJECT" not in variables and "RULES" not in variables
    assert RESOURCES["TriggerFunction"]["Metadata"]["BuildProperties"]["Binary"] == "starter"
    destination = RESOURCES["TriggerFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]
    assert destination["OnFailure"]["Type"] == "SQS"


@pytest.mark.parametrize("name", ["FailedEventsAlarm", "TriggerDeliveryFailuresAlarm", "TriggerErrorsAlarm",
                                  "ReporterDeliveryFailuresAlarm", "ReporterErrorsAlarm"])
def test_every_alarm_notifies_the_given_topic_or_the_one_made_for_the_email(name):
    def actions(params):
        return evaluate(RESOURCES[name]["Properties"].get("AlarmActions", {"Ref": "AWS::NoValue"}), params)
    assert actions(parameters()) is NO_VALUE
    topic = "arn:aws:sns:us-east-1:123456789012:ops"
    assert actions(parameters(AlarmTopicArn=topic)) == [topic]
    assert actions(parameters(AlarmEmail="ops@example.com")) == [{"Ref": "AlarmTopic"}]


def test_every_parameter_has_a_group_and_a_label():
    interface = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    assert sorted(grouped) == sorted(PARAMETERS)
    assert set(interface["ParameterLabels"]) == set(PARAMETERS)


def test_the_merge_gate_covers_the_matching_repositories_with_its_own_function():
    gated = parameters(Repositories="team-*,website", MergeGate="main")
    assert condition("UseMergeGate", gated) and condition("UseApprovals", gated)
    assert not condition("UseMergeGate", parameters()), "off by default"
    assert not condition("UseMergeGate", parameters(MergeGate="main", PullRequests="false"))
    rule = TEMPLATE["Rules"]["MergeGateNeedsPullRequestBuilds"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "PullRequests"}, "true"]}
    gate = RESOURCES["MergeGateTemplate"]
    assert gate["Condition"] == "UseMergeGate"
    properties = evaluate(gate["Properties"], gated)
    assert properties["Repositories"] == ["team-*", "website"]
    assert properties["Branches"] == ["main"]
    assert properties["ApproverRoleArn"] == {"Fn::GetAtt": ["ReporterFunctionRole", "Arn"]}
    assert "BuildingBranches" not in properties, "each repository's file decides what builds"
    for name in ("MergeGateFunction", "MergeGateFunctionRole", "MergeGateLogGroup"):
        assert RESOURCES[name]["Condition"] == "UseMergeGate"
    grants = allowed("MergeGateFunctionRole", gated)
    # Templates and the account's repository list are not resources IAM can name.
    for action in ("codecommit:CreateApprovalRuleTemplate", "codecommit:DeleteApprovalRuleTemplate",
                   "codecommit:ListRepositories"):
        assert grants[action] == {"*"}
    for action in ("codecommit:AssociateApprovalRuleTemplateWithRepository",
                   "codecommit:DisassociateApprovalRuleTemplateFromRepository"):
        assert grants[action] == {REPOSITORY_ARN + "team-*", REPOSITORY_ARN + "website"}
    assert not any(a.startswith("codebuild:") or "Trigger" in a for a in grants)
