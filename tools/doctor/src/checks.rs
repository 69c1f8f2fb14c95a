//! The checks, as pure judgements of what was read: each says what is fine, or what is wrong
//! and the command or parameter that fixes it. `gather` reads; this module only decides.

use codecommit_build_trigger::aws::AwsError;
use codecommit_build_trigger::config::pattern::PatternList;
use codecommit_build_trigger::installer::merge_gate::pool_of;
use serde_json::Value;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// As it should be.
    Fine(String),
    /// Wrong, and how to fix it.
    Problem {
        /// What is wrong.
        what: String,
        /// What to do.
        fix: String,
    },
    /// Could not be read, and what to do so that it can be.
    Unknown {
        /// What could not be checked, and the error.
        what: String,
        /// What to do.
        fix: String,
    },
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is checked, e.g. `repository`.
    pub name: &'static str,
    /// What was found.
    pub outcome: Outcome,
}

impl Check {
    fn fine(name: &'static str, text: String) -> Self {
        Self {
            name,
            outcome: Outcome::Fine(text),
        }
    }

    fn problem(name: &'static str, what: String, fix: String) -> Self {
        Self {
            name,
            outcome: Outcome::Problem { what, fix },
        }
    }

    /// A check that could not be made because `error` answered a read.
    pub fn unknown(name: &'static str, what: &str, error: &AwsError) -> Self {
        let permission = format!("{}:{}", service_of(error.operation), error.operation);
        let fix = if error.code.contains("AccessDenied") {
            format!("run the doctor with credentials that may call {permission}")
        } else {
            "check the credentials and the region (AWS_REGION, AWS_PROFILE), then run it again"
                .to_owned()
        };
        Self {
            name,
            outcome: Outcome::Unknown {
                what: format!("{what} could not be checked: {error}"),
                fix,
            },
        }
    }

    /// Whether this check found nothing wrong.
    pub fn is_fine(&self) -> bool {
        matches!(self.outcome, Outcome::Fine(_))
    }
}

/// The IAM service prefix of an operation the doctor calls.
fn service_of(operation: &str) -> &'static str {
    match operation {
        "BatchGetProjects" => "codebuild",
        "SimulatePrincipalPolicy" | "GetRole" => "iam",
        "DescribeStacks" | "DescribeStackResource" => "cloudformation",
        "GetQueueAttributes" => "sqs",
        _ => "codecommit",
    }
}

/// A repository as read (`GetRepository`, `ListBranches`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFacts {
    /// Its ARN.
    pub arn: String,
    /// Its default branch; `None` while it has no commit.
    pub default_branch: Option<String>,
    /// Its branches.
    pub branches: Vec<String>,
}

/// A project as read (`BatchGetProjects`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFacts {
    /// Its source's type, e.g. `CODECOMMIT`, `CODEPIPELINE`.
    pub source_type: String,
    /// Its artifacts' type, e.g. `NO_ARTIFACTS`, `CODEPIPELINE`.
    pub artifacts_type: String,
    /// Its service role's ARN.
    pub service_role: Option<String>,
    /// Whether it has batch configuration (`buildBatchConfig` with a service role).
    pub batch_configured: bool,
}

/// A rule with `batch` may start batch builds of `project`: the stack grants the batch actions
/// (`granted`, its `BatchBuilds`), and the project has batch configuration.
pub fn batch(project: &str, rule: &str, granted: bool, facts: &ProjectFacts) -> Check {
    const NAME: &str = "batch builds";
    if !granted {
        return Check::problem(
            NAME,
            format!(
                "rule {rule} starts batch builds of {project}, but the stack does not grant the \
                 batch actions"
            ),
            "update the stack with BatchBuilds=true".to_owned(),
        );
    }
    if !facts.batch_configured {
        return Check::problem(
            NAME,
            format!(
                "rule {rule} starts batch builds of {project}, which has no batch configuration: \
                 StartBuildBatch fails"
            ),
            format!(
                "aws codebuild update-project --name {project} --build-batch-config \
                 serviceRole=BATCH_ROLE_ARN,restrictions={{maximumBuildsAllowed=10}}"
            ),
        );
    }
    Check::fine(
        NAME,
        format!("rule {rule} may start batch builds of {project}"),
    )
}

/// The repository exists in the region.
pub fn repository(
    region: &str,
    name: &str,
    read: &Result<Option<RepositoryFacts>, AwsError>,
) -> Check {
    const NAME: &str = "repository";
    match read {
        Ok(Some(facts)) => Check::fine(
            NAME,
            format!(
                "repository {name} exists in {region}{}",
                match &facts.default_branch {
                    Some(branch) => format!(", default branch {branch}"),
                    None => " (no commit yet)".to_owned(),
                }
            ),
        ),
        Ok(None) => Check::problem(
            NAME,
            format!("repository {name} does not exist in {region}"),
            "deploy the stack in the repository's region, with RepositoryName as the repository \
             is named (the doctor reads the region from AWS_REGION or the profile)"
                .to_owned(),
        ),
        Err(error) => Check::unknown(NAME, &format!("repository {name}"), error),
    }
}

/// The project exists, and its source and artifacts let the function's builds run.
pub fn project(region: &str, name: &str, read: &Result<Option<ProjectFacts>, AwsError>) -> Check {
    const NAME: &str = "project";
    let facts =
        match read {
            Ok(Some(facts)) => facts,
            Ok(None) => return Check::problem(
                NAME,
                format!("project {name} does not exist in {region}"),
                "create it, or deploy with ProjectName (or RuleProjectArns) naming a project of \
                 this region"
                    .to_owned(),
            ),
            Err(error) => return Check::unknown(NAME, &format!("project {name}"), error),
        };
    if facts.artifacts_type == "CODEPIPELINE" {
        return Check::problem(
            NAME,
            format!(
                "project {name}'s artifacts are CODEPIPELINE, which exist only in a pipeline's \
                 run: StartBuild outside a pipeline fails"
            ),
            format!("aws codebuild update-project --name {name} --artifacts type=NO_ARTIFACTS"),
        );
    }
    let source = if facts.source_type == "CODECOMMIT" {
        "its source is CodeCommit".to_owned()
    } else {
        format!(
            "its source is {}, and each build names the repository as its source \
             (sourceTypeOverride)",
            facts.source_type
        )
    };
    Check::fine(NAME, format!("project {name} exists; {source}"))
}

/// What `iam:SimulatePrincipalPolicy` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `allowed`
    Allowed,
    /// `implicitDeny`: no statement allows it.
    ImplicitDeny,
    /// `explicitDeny`: a statement denies it.
    ExplicitDeny,
}

const GIT_PULL: &str = "git pull";

/// A project without a service role, whose builds cannot clone.
pub fn no_service_role(project: &str) -> Check {
    Check::problem(
        GIT_PULL,
        format!("project {project} has no service role, so its builds cannot clone"),
        format!("aws codebuild update-project --name {project} --service-role ROLE_ARN"),
    )
}

/// The project's service role may `codecommit:GitPull` the repository.
pub fn git_pull(
    project: &str,
    role: &str,
    repository_arn: &str,
    read: &Result<Decision, AwsError>,
) -> Check {
    const NAME: &str = GIT_PULL;
    let role_name = role.rsplit('/').next().unwrap_or(role);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"codecommit:GitPull","Resource":"{repository_arn}"}}]}}"#
    );
    match read {
        Ok(Decision::Allowed) => Check::fine(
            NAME,
            format!("project {project}'s role {role_name} may codecommit:GitPull the repository"),
        ),
        Ok(decision) => Check::problem(
            NAME,
            format!(
                "project {project}'s role {role_name} may not codecommit:GitPull {repository_arn} \
                 ({}): its builds fail in DOWNLOAD_SOURCE",
                if *decision == Decision::ExplicitDeny {
                    "a statement denies it"
                } else {
                    "no statement allows it"
                }
            ),
            format!(
                "aws iam put-role-policy --role-name {role_name} --policy-name \
                 codecommit-git-pull --policy-document '{policy}'"
            ),
        ),
        Err(error) => Check::unknown(NAME, &format!("role {role_name}'s GitPull"), error),
    }
}

/// The branch patterns build the repository's default branch, or at least one branch.
pub fn branches(patterns: &str, facts: &RepositoryFacts) -> Check {
    const NAME: &str = "branches";
    let list = match PatternList::parse(patterns) {
        Ok(list) => list,
        Err(problem) => {
            return Check::problem(
                NAME,
                format!("BranchPatterns {patterns:?} {problem}"),
                "deploy with BranchPatterns as comma-separated patterns, e.g. main,release/*"
                    .to_owned(),
            )
        }
    };
    let Some(default) = &facts.default_branch else {
        return Check::fine(
            NAME,
            "the repository has no branch yet: its first push decides".to_owned(),
        );
    };
    let building: Vec<&str> = facts
        .branches
        .iter()
        .map(String::as_str)
        .filter(|branch| list.includes(branch))
        .collect();
    if list.includes(default) {
        return Check::fine(
            NAME,
            format!(
                "BranchPatterns {patterns:?} build the default branch {default} ({} of {} \
                 branches build)",
                building.len(),
                facts.branches.len()
            ),
        );
    }
    Check::problem(
        NAME,
        format!(
            "BranchPatterns {patterns:?} do not build the default branch {default}{}",
            match building.as_slice() {
                [] => "; no branch of the repository builds".to_owned(),
                some => format!("; only {} build", some.join(", ")),
            }
        ),
        format!("deploy with BranchPatterns={default} (or {patterns},{default} to keep both)"),
    )
}

/// The stack's repository trigger is in place and invokes its function.
pub fn trigger(
    stack: &str,
    function_arn: &str,
    read: &Result<Vec<(String, String)>, AwsError>,
) -> Check {
    const NAME: &str = "trigger";
    let triggers = match read {
        Ok(triggers) => triggers,
        Err(error) => return Check::unknown(NAME, "the repository's triggers", error),
    };
    match triggers.iter().find(|(name, _)| name == stack) {
        Some((_, destination)) if destination == function_arn => {
            Check::fine(NAME, format!("trigger {stack} invokes {function_arn}"))
        }
        Some((_, destination)) => Check::problem(
            NAME,
            format!("trigger {stack} invokes {destination}, not the stack's {function_arn}"),
            "sam deploy again: the stack's custom resource writes its trigger back".to_owned(),
        ),
        None => Check::problem(
            NAME,
            format!(
                "the repository has no trigger named {stack}{}",
                if triggers.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it has {})",
                        triggers
                            .iter()
                            .map(|(name, _)| name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
            "sam deploy again: the stack's custom resource writes its trigger back".to_owned(),
        ),
    }
}

/// The stack's EventBridge rule (`PushRule`) is in place.
pub fn push_rule(read: &Result<Option<String>, AwsError>) -> Check {
    const NAME: &str = "rule";
    match read {
        Ok(Some(status)) if status.ends_with("_COMPLETE") && !status.starts_with("DELETE") => {
            Check::fine(NAME, format!("the stack's EventBridge rule is {status}"))
        }
        Ok(Some(status)) => Check::problem(
            NAME,
            format!("the stack's EventBridge rule is {status}"),
            "see the stack's events (aws cloudformation describe-stack-events) and deploy again"
                .to_owned(),
        ),
        Ok(None) => Check::problem(
            NAME,
            "the stack has no EventBridge rule (PushRule)".to_owned(),
            "deploy with TriggerMode=EventBridge, or check the stack is this function's".to_owned(),
        ),
        Err(error) => Check::unknown(NAME, "the stack's EventBridge rule", error),
    }
}

/// The pool members of an approval rule's `content`.
fn pool_members(content: &str) -> Vec<String> {
    let content: Value = serde_json::from_str(content).unwrap_or_default();
    content["Statements"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|statement| {
            statement["ApprovalPoolMembers"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The stack's merge gate is on the repository and its pool is the reporter's role.
pub fn merge_gate(
    template: &str,
    reporter_role: &str,
    content: &Result<Option<String>, AwsError>,
    associated: &Result<Vec<String>, AwsError>,
) -> Check {
    const NAME: &str = "merge gate";
    const REDEPLOY: &str = "sam deploy again: the stack's custom resource puts its merge gate back";
    let content = match content {
        Ok(Some(content)) => content,
        Ok(None) => {
            return Check::problem(
                NAME,
                format!("approval rule template {template} does not exist"),
                REDEPLOY.to_owned(),
            )
        }
        Err(error) => return Check::unknown(NAME, &format!("template {template}"), error),
    };
    let expected = pool_of(reporter_role).unwrap_or_default();
    if !pool_members(content).contains(&expected) {
        return Check::problem(
            NAME,
            format!("approval rule template {template}'s pool does not name {expected}, the reporter's sessions"),
            REDEPLOY.to_owned(),
        );
    }
    match associated {
        Ok(names) if names.iter().any(|name| name == template) => Check::fine(
            NAME,
            format!("approval rule template {template} gates the repository; its pool is the reporter's role"),
        ),
        Ok(_) => Check::problem(
            NAME,
            format!("approval rule template {template} is not associated with the repository"),
            REDEPLOY.to_owned(),
        ),
        Err(error) => Check::unknown(NAME, "the repository's approval rule templates", error),
    }
}

/// The role name of a pool member naming a role's sessions (`...:assumed-role/NAME/...`).
pub fn pooled_role(member: &str) -> Option<&str> {
    member.split_once(":assumed-role/")?.1.split('/').next()
}

/// The roles the pools of `templates` (name, content) name, each once.
pub fn pooled_roles(templates: &[(String, String)]) -> Vec<String> {
    let mut roles: Vec<String> = templates
        .iter()
        .flat_map(|(_, content)| pool_members(content))
        .filter_map(|member| pooled_role(&member).map(str::to_owned))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// No template on the repository waits for the approval of a role that no longer exists (a
/// merge gate left behind by a deleted stack, which no pull request can pass).
pub fn orphaned_gates(
    repository: &str,
    templates: &[(String, String)],
    missing_roles: &[String],
) -> Check {
    const NAME: &str = "approval rules";
    let orphaned: Vec<(&str, String)> = templates
        .iter()
        .filter_map(|(name, content)| {
            let members = pool_members(content);
            let role = members
                .iter()
                .filter_map(|member| pooled_role(member))
                .find(|role| missing_roles.iter().any(|missing| missing == role))?;
            Some((name.as_str(), role.to_owned()))
        })
        .collect();
    if orphaned.is_empty() {
        return Check::fine(
            NAME,
            format!(
                "no approval rule template on the repository waits for a role that no longer \
                 exists ({} checked)",
                templates.len()
            ),
        );
    }
    let what: Vec<String> = orphaned
        .iter()
        .map(|(template, role)| format!("{template} waits for the approval of role {role}"))
        .collect();
    let fix: Vec<String> = orphaned
        .iter()
        .map(|(template, _)| {
            format!(
                "aws codecommit disassociate-approval-rule-template-from-repository \
                 --approval-rule-template-name {template} --repository-name {repository}"
            )
        })
        .collect();
    Check::problem(
        NAME,
        format!(
            "approval rule template {}, which no longer exists: the pull requests it covers \
             cannot merge",
            what.join("; ")
        ),
        fix.join("; "),
    )
}

/// The failed-events queue is empty.
pub fn queue(url: &str, read: &Result<u64, AwsError>) -> Check {
    const NAME: &str = "failed events";
    match read {
        Ok(0) => Check::fine(NAME, "the failed-events queue is empty".to_owned()),
        Ok(kept) => Check::problem(
            NAME,
            format!("the failed-events queue keeps {kept} event(s) whose builds did not start"),
            format!("kept-events list {url}; fix what they name, then kept-events replay {url}"),
        ),
        Err(error) => Check::unknown(NAME, "the failed-events queue", error),
    }
}

/// The stack exists and its last operation completed.
pub fn stack(name: &str, region: &str, status: &Result<Option<String>, AwsError>) -> Check {
    const NAME: &str = "stack";
    match status {
        Ok(Some(status))
            if status.ends_with("_COMPLETE")
                && !status.contains("ROLLBACK")
                && !status.starts_with("DELETE") =>
        {
            Check::fine(NAME, format!("stack {name} is {status}"))
        }
        Ok(Some(status)) => Check::problem(
            NAME,
            format!("stack {name} is {status}"),
            format!(
                "aws cloudformation describe-stack-events --stack-name {name}: the first FAILED \
                 event says why; fix it and deploy again"
            ),
        ),
        Ok(None) => Check::problem(
            NAME,
            format!("stack {name} does not exist in {region}"),
            "name the stack as deployed, in its region (AWS_REGION or the profile's)".to_owned(),
        ),
        Err(error) => Check::unknown(NAME, &format!("stack {name}"), error),
    }
}

#[cfg(test)]
mod tests;
