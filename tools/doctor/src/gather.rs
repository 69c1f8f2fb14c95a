//! The reads the checks judge, with the operator's credentials: CloudFormation for the stack,
//! CodeCommit for the repository, its triggers and approval rule templates, CodeBuild for the
//! projects, IAM for the project roles' `GitPull` and the pools' roles, SQS for the queue.

use crate::checks::{self, Check, Decision, ProjectFacts, RepositoryFacts};
use codecommit_build_trigger::aws::reads::{GateReads, TriggerReads};
use codecommit_build_trigger::aws::{AwsError, CodeCommit};
use std::collections::BTreeMap;

/// Pages read of a listing before it is taken as endless.
const MAX_PAGES: usize = 100;

/// The clients the doctor reads with.
pub struct Clients {
    /// CloudFormation.
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// CodeBuild.
    pub codebuild: aws_sdk_codebuild::Client,
    /// CodeCommit.
    pub codecommit: aws_sdk_codecommit::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The region they call.
    pub region: String,
}

/// What to check, from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The stack that installed the function.
    pub stack: Option<String>,
    /// The repository (the stack's `RepositoryName` if not given).
    pub repository: Option<String>,
    /// The projects (the stack's `ProjectName` or `RuleProjectArns` if none given).
    pub projects: Vec<String>,
    /// The branch patterns (the stack's `BranchPatterns` if not given).
    pub branches: Option<String>,
    /// The stack's rules with `batch`, as (rule, project name), and whether the stack grants
    /// the batch actions (`BatchBuilds`).
    pub batches: (Vec<(String, String)>, bool),
}

/// A stack as `DescribeStacks` answers it.
struct Stack {
    status: String,
    parameters: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
}

impl Stack {
    fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Every check `target` calls for, in the checklist's order, and the target as checked (the
/// stack's repository, projects and branch patterns filled in).
pub async fn run(clients: &Clients, target: &Target) -> (Target, Vec<Check>) {
    let mut target = target.clone();
    let found = checks_of(clients, &mut target).await;
    (target, found)
}

async fn checks_of(clients: &Clients, target: &mut Target) -> Vec<Check> {
    let mut found = Vec::new();
    let stack = match target.stack.clone() {
        None => None,
        Some(name) => {
            let name = name.as_str();
            let read = describe_stack(clients, name).await;
            let status = read
                .as_ref()
                .map(|stack| stack.as_ref().map(|s| s.status.clone()));
            found.push(checks::stack(
                name,
                &clients.region,
                &status.map_err(Clone::clone),
            ));
            let stack = read.ok().flatten();
            if let Some(stack) = &stack {
                fill_from_stack(target, stack);
                found.extend(stack_wide_checks(clients, name, stack).await);
            }
            stack
        }
    };
    let Some(repository) = target.repository.clone() else {
        return found;
    };
    let facts = repository_facts(clients, &repository).await;
    found.push(checks::repository(&clients.region, &repository, &facts));
    let facts = facts.ok().flatten();
    for project in &target.projects {
        let read = project_facts(clients, project).await;
        found.push(checks::project(&clients.region, project, &read));
        let (batch_rules, granted) = &target.batches;
        for (rule, _) in batch_rules.iter().filter(|(_, named)| named == project) {
            if let Ok(Some(facts)) = &read {
                found.push(checks::batch(project, rule, *granted, facts));
            }
        }
        if let (Ok(Some(project_facts)), Some(repository)) = (&read, &facts) {
            found.push(match project_facts.service_role.as_deref() {
                Some(role) => {
                    let decision = git_pull(clients, role, &repository.arn).await;
                    checks::git_pull(project, role, &repository.arn, &decision)
                }
                None => checks::no_service_role(project),
            });
        }
    }
    if let (Some(patterns), Some(facts)) = (&target.branches, &facts) {
        found.push(checks::branches(patterns, facts));
    }
    if facts.is_none() {
        return found;
    }
    if let (Some(stack), Some(name)) = (&stack, &target.stack) {
        found.extend(repository_stack_checks(clients, name, stack, &repository).await);
    }
    found.push(orphaned_gates(clients, &repository).await);
    found
}

/// The repository, projects and branch patterns the stack was deployed with, where the
/// command line names none.
fn fill_from_stack(target: &mut Target, stack: &Stack) {
    if target.repository.is_none() {
        target.repository = stack.parameter("RepositoryName").map(str::to_owned);
    }
    let rules = stack.parameter("Rules").is_some();
    if target.projects.is_empty() {
        target.projects = if rules {
            stack
                .parameter("RuleProjectArns")
                .unwrap_or_default()
                .split(',')
                .filter_map(|arn| {
                    arn.rsplit_once(":project/")
                        .map(|(_, name)| name.to_owned())
                })
                .collect()
        } else {
            stack
                .parameter("ProjectName")
                .map(str::to_owned)
                .into_iter()
                .collect()
        };
    }
    target.batches = (
        batch_rules(stack.parameter("Rules").unwrap_or_default()),
        stack.parameter("BatchBuilds") == Some("true"),
    );
    // With routing rules each rule has its own branches: `explain` decides an event by them.
    if target.branches.is_none() && !rules {
        target.branches = stack.parameter("BranchPatterns").map(str::to_owned);
    }
}

/// The rules of `rules` (the stack's `Rules`, JSON) with `"batch": true`, as (rule, project
/// name); none when it is not a list of rules (the function itself says what is wrong).
fn batch_rules(rules: &str) -> Vec<(String, String)> {
    let rules: Vec<serde_json::Value> = serde_json::from_str(rules).unwrap_or_default();
    rules
        .iter()
        .filter(|rule| rule["batch"] == true)
        .filter_map(|rule| {
            let project = rule["project"].as_str()?;
            let name = project
                .rsplit_once(":project/")
                .map_or(project, |(_, name)| name);
            Some((rule["name"].as_str()?.to_owned(), name.to_owned()))
        })
        .collect()
}

/// Whether `stack` is wired by EventBridge rules: `TriggerMode=EventBridge`, or a
/// `many-repositories.yaml` stack (which has `Repositories` and no trigger).
fn uses_eventbridge(stack: &Stack) -> bool {
    stack.parameter("TriggerMode") == Some("EventBridge")
        || stack.parameter("Repositories").is_some()
}

/// What `stack` holds whatever the repository: its EventBridge rule (if it has one) and its
/// failed-events queue.
async fn stack_wide_checks(clients: &Clients, name: &str, stack: &Stack) -> Vec<Check> {
    let mut found = Vec::new();
    if uses_eventbridge(stack) {
        found.push(checks::push_rule(&push_rule_status(clients, name).await));
    }
    if let Some(url) = stack.outputs.get("FailedEventsQueueUrl") {
        found.push(checks::queue(url, &queue_depth(clients, url).await));
    }
    found
}

/// What `stack` put on `repository`: its trigger (unless EventBridge wires it) and its merge
/// gate.
async fn repository_stack_checks(
    clients: &Clients,
    name: &str,
    stack: &Stack,
    repository: &str,
) -> Vec<Check> {
    let mut found = Vec::new();
    if !uses_eventbridge(stack) {
        let function = stack
            .outputs
            .get("TriggerFunctionArn")
            .cloned()
            .unwrap_or_default();
        found.push(checks::trigger(
            name,
            &function,
            &triggers(clients, repository).await,
        ));
    }
    if let (Some(_), Some(template), Some(role)) = (
        stack.parameter("MergeGate"),
        stack.outputs.get("MergeGateTemplate"),
        stack.outputs.get("ReporterFunctionRoleArn"),
    ) {
        let content = template_content(clients, template).await;
        let associated = associated_templates(clients, repository).await;
        found.push(checks::merge_gate(template, role, &content, &associated));
    }
    found
}

/// The orphaned-gates check: the templates on the repository, and which roles their pools
/// name that no longer exist.
async fn orphaned_gates(clients: &Clients, repository: &str) -> Check {
    const NAME: &str = "approval rules";
    let names = match associated_templates(clients, repository).await {
        Ok(names) => names,
        Err(error) => {
            return Check::unknown(NAME, "the repository's approval rule templates", &error)
        }
    };
    let mut templates = Vec::new();
    for name in names {
        match template_content(clients, &name).await {
            Ok(Some(content)) => templates.push((name, content)),
            Ok(None) => {}
            Err(error) => return Check::unknown(NAME, &format!("template {name}"), &error),
        }
    }
    let mut missing = Vec::new();
    for role in checks::pooled_roles(&templates) {
        match role_exists(clients, &role).await {
            Ok(true) => {}
            Ok(false) => missing.push(role),
            Err(error) => return Check::unknown(NAME, &format!("role {role}"), &error),
        }
    }
    checks::orphaned_gates(repository, &templates, &missing)
}

async fn describe_stack(clients: &Clients, name: &str) -> Result<Option<Stack>, AwsError> {
    let output = match clients
        .cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) => {
            let error = AwsError::from_sdk("DescribeStacks", error);
            // CloudFormation answers a stack that does not exist with a ValidationError.
            return if error.code == "ValidationError" && error.message.contains("does not exist") {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    Ok(output
        .stacks
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|stack| Stack {
            status: stack
                .stack_status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            parameters: stack
                .parameters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| Some((p.parameter_key?, p.parameter_value.unwrap_or_default())))
                .collect(),
            outputs: stack
                .outputs
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| Some((o.output_key?, o.output_value.unwrap_or_default())))
                .collect(),
        }))
}

async fn push_rule_status(clients: &Clients, stack: &str) -> Result<Option<String>, AwsError> {
    match clients
        .cloudformation
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id("PushRule")
        .send()
        .await
    {
        Ok(output) => Ok(output
            .stack_resource_detail
            .and_then(|detail| detail.resource_status)
            .map(|status| status.as_str().to_owned())),
        Err(error) => {
            let error = AwsError::from_sdk("DescribeStackResource", error);
            if error.code == "ValidationError" {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

async fn repository_facts(
    clients: &Clients,
    name: &str,
) -> Result<Option<RepositoryFacts>, AwsError> {
    let metadata = match clients
        .codecommit
        .get_repository()
        .repository_name(name)
        .send()
        .await
    {
        Ok(output) => match output.repository_metadata {
            Some(metadata) => metadata,
            None => return Ok(None),
        },
        Err(error) => {
            let error = AwsError::from_sdk("GetRepository", error);
            return if error.code == "RepositoryDoesNotExistException" {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    let mut branches = Vec::new();
    let mut next = None;
    for _ in 0..MAX_PAGES {
        let output = clients
            .codecommit
            .list_branches()
            .repository_name(name)
            .set_next_token(next)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("ListBranches", error))?;
        branches.extend(output.branches.unwrap_or_default());
        next = output.next_token.filter(|token| !token.is_empty());
        if next.is_none() {
            break;
        }
    }
    if next.is_some() {
        return Err(endless("ListBranches"));
    }
    branches.sort();
    Ok(Some(RepositoryFacts {
        arn: metadata.arn.unwrap_or_default(),
        default_branch: metadata.default_branch,
        branches,
    }))
}

async fn project_facts(clients: &Clients, name: &str) -> Result<Option<ProjectFacts>, AwsError> {
    let output = clients
        .codebuild
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("BatchGetProjects", error))?;
    Ok(output
        .projects
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|project| ProjectFacts {
            source_type: project
                .source
                .map(|source| source.r#type.as_str().to_owned())
                .unwrap_or_default(),
            artifacts_type: project
                .artifacts
                .map(|artifacts| artifacts.r#type.as_str().to_owned())
                .unwrap_or_default(),
            service_role: project.service_role.filter(|role| !role.is_empty()),
            batch_configured: project
                .build_batch_config
                .is_some_and(|config| config.service_role.is_some_and(|role| !role.is_empty())),
        }))
}

async fn git_pull(
    clients: &Clients,
    role: &str,
    repository_arn: &str,
) -> Result<Decision, AwsError> {
    let output = clients
        .iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .action_names("codecommit:GitPull")
        .resource_arns(repository_arn)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("SimulatePrincipalPolicy", error))?;
    let decisions: Vec<_> = output
        .evaluation_results
        .unwrap_or_default()
        .into_iter()
        .map(|result| result.eval_decision)
        .collect();
    use aws_sdk_iam::types::PolicyEvaluationDecisionType as Type;
    Ok(if decisions.contains(&Type::ExplicitDeny) {
        Decision::ExplicitDeny
    } else if !decisions.is_empty() && decisions.iter().all(|d| *d == Type::Allowed) {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    })
}

/// The repository's triggers (name, destination), read as the installer reads them.
async fn triggers(clients: &Clients, repository: &str) -> Result<Vec<(String, String)>, AwsError> {
    let codecommit = CodeCommit::new(clients.codecommit.clone());
    Ok(TriggerReads::get_triggers(&codecommit, repository)
        .await?
        .into_iter()
        .map(|trigger| (trigger.name, trigger.destination_arn))
        .collect())
}

/// The content of approval rule template `name`, read as the merge gate's installer reads it.
async fn template_content(clients: &Clients, name: &str) -> Result<Option<String>, AwsError> {
    let codecommit = CodeCommit::new(clients.codecommit.clone());
    Ok(GateReads::template(&codecommit, name)
        .await?
        .map(|template| template.content))
}

async fn associated_templates(
    clients: &Clients,
    repository: &str,
) -> Result<Vec<String>, AwsError> {
    const OPERATION: &str = "ListAssociatedApprovalRuleTemplatesForRepository";
    let mut names = Vec::new();
    let mut next = None;
    for _ in 0..MAX_PAGES {
        let output = clients
            .codecommit
            .list_associated_approval_rule_templates_for_repository()
            .repository_name(repository)
            .set_next_token(next)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(OPERATION, error))?;
        names.extend(output.approval_rule_template_names.unwrap_or_default());
        next = output.next_token.filter(|token| !token.is_empty());
        if next.is_none() {
            return Ok(names);
        }
    }
    Err(endless(OPERATION))
}

/// The error of a listing that did not end within [`MAX_PAGES`]: a check that cannot be made,
/// rather than one made on part of the list.
fn endless(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: "TooManyPages".into(),
        message: format!("{operation} answered more than {MAX_PAGES} pages"),
    }
}

async fn role_exists(clients: &Clients, role: &str) -> Result<bool, AwsError> {
    match clients.iam.get_role().role_name(role).send().await {
        Ok(_) => Ok(true),
        Err(error) => {
            let error = AwsError::from_sdk("GetRole", error);
            if error.code == "NoSuchEntity" {
                Ok(false)
            } else {
                Err(error)
            }
        }
    }
}

async fn queue_depth(clients: &Clients, url: &str) -> Result<u64, AwsError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let output = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("GetQueueAttributes", error))?;
    let attributes = output.attributes.unwrap_or_default();
    Ok([
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|name| attributes.get(name)?.parse::<u64>().ok())
    .sum())
}
