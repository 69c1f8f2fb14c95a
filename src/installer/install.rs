//! What the custom resource does for each request, and the answer it gives.

use super::install_gate::run_gate;
use super::request::{Action, CheckSpec, Request, Resource, TriggerSpec};
use super::triggers::{is_ours, with_trigger, without_trigger, MAX_TRIGGERS};
use crate::aws::reads::{GateReads, ProjectReads, RepositoryReads, TriggerReads};
use crate::aws::writes::{GateWrites, TriggerWrites};
use crate::aws::AwsError;
use aws_sdk_codecommit::types::{RepositoryTrigger, RepositoryTriggerEventEnum};
use thiserror::Error;

/// Why the trigger could not be installed or removed: the reason CloudFormation shows.
#[derive(Debug, Error)]
pub enum InstallError {
    /// The properties do not make a trigger CodeCommit accepts.
    #[error("invalid trigger: {0}")]
    InvalidTrigger(#[source] aws_sdk_codecommit::error::BuildError),
    /// A trigger of this stack's name that the stack did not write.
    #[error(
        "repository {repository} already has a trigger named {name} that this stack did not write \
         (it invokes {destination}); remove or rename that trigger, or deploy this stack under \
         another name"
    )]
    TheirTrigger {
        /// The repository.
        repository: String,
        /// The trigger's name.
        name: String,
        /// What it invokes.
        destination: String,
    },
    /// The repository has as many triggers as CodeCommit allows.
    #[error(
        "repository {repository} already has {MAX_TRIGGERS} triggers, the most CodeCommit allows{}; \
         remove one, or deploy with TriggerMode=EventBridge",
        if *.said_by_codecommit { " (MaximumRepositoryTriggersExceededException)" } else { "" }
    )]
    Full {
        /// The repository.
        repository: String,
        /// Whether CodeCommit refused the write, rather than the count read before it.
        said_by_codecommit: bool,
    },
    /// The repository does not exist.
    #[error(
        "repository {repository} does not exist in this account and region \
         (RepositoryDoesNotExistException); check the RepositoryName parameter"
    )]
    NoRepository {
        /// The repository.
        repository: String,
    },
    /// A project the function would start does not exist.
    #[error(
        "CodeBuild project(s) {} do not exist in this account and region (BatchGetProjects); \
         check the ProjectName parameter (or RuleProjectArns), or create the project first",
        .projects.join(", ")
    )]
    NoProject {
        /// The missing projects, as named.
        projects: Vec<String>,
    },
    /// The projects could not be looked up.
    #[error(
        "BatchGetProjects failed, so the projects could not be checked: {}: {}",
        .source.code, .source.message
    )]
    ProjectCheck {
        /// The call that failed.
        source: AwsError,
    },
    /// The custom resource's role may not make the call.
    #[error(
        "AccessDeniedException: the custom resource's role may not call {action} on repository \
         {repository}: {}",
        .source.message
    )]
    Denied {
        /// The IAM action.
        action: &'static str,
        /// The repository.
        repository: String,
        /// The call that failed.
        source: AwsError,
    },
    /// Another failure of a CodeCommit call.
    #[error("{action} on repository {repository} failed: {}: {}", .source.code, .source.message)]
    Call {
        /// The IAM action.
        action: &'static str,
        /// The repository.
        repository: String,
        /// The call that failed.
        source: AwsError,
    },
}

impl InstallError {
    /// `error` of `action` on `repository`, as a reason a user can act on.
    fn of_call(error: AwsError, repository: &str, action: &'static str) -> Self {
        let repository = repository.to_owned();
        match error.code.as_str() {
            "RepositoryDoesNotExistException" => Self::NoRepository { repository },
            "MaximumRepositoryTriggersExceededException" => Self::Full {
                repository,
                said_by_codecommit: true,
            },
            "AccessDeniedException" | "AccessDenied" => Self::Denied {
                action,
                repository,
                source: error,
            },
            _ => Self::Call {
                action,
                repository,
                source: error,
            },
        }
    }
}

/// Prefix of the physical id answered for a Create that failed: a Delete of
/// such an id has nothing to remove.
pub const FAILED_CREATE_PREFIX: &str = "failed-create:";

/// CloudFormation's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `SUCCESS`
    Success,
    /// `FAILED`
    Failed,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Success or failure.
    pub status: Status,
    /// What happened, or what to do about a failure.
    pub reason: String,
    /// The resource's physical id.
    pub physical_id: String,
}

impl Reply {
    /// `request` failed before it was carried out, for `reason`.
    pub fn failed_before(request: &Request, reason: String) -> Reply {
        Reply {
            status: Status::Failed,
            reason,
            physical_id: current_id(request),
        }
    }

    /// `request` ran out of time, for `reason`: as [`Reply::failed_before`], except that a
    /// merge gate's create answers the template's name, since it may have written part of it
    /// (the rollback's delete then removes it, and never a template that is not the stack's).
    pub fn timed_out(request: &Request, reason: String) -> Reply {
        let mut reply = Reply::failed_before(request, reason);
        if let Ok(Resource::MergeGate(Action::Create(spec))) = &request.action {
            reply.physical_id = spec.template_name.clone();
        }
        reply
    }
}

/// The physical id to answer before a request is carried out: the resource's
/// own, or a failed-create id for a Create.
pub(super) fn current_id(request: &Request) -> String {
    let envelope = &request.envelope;
    match &envelope.physical_resource_id {
        Some(id) => id.clone(),
        None => format!("{FAILED_CREATE_PREFIX}{}", envelope.request_id),
    }
}

/// Carries out `request` against `store`, checking first with `projects` that the projects
/// the function starts exist.
pub async fn run<S, P>(store: &S, projects: &P, request: &Request) -> Reply
where
    S: TriggerReads + TriggerWrites + GateReads + GateWrites + RepositoryReads,
    P: ProjectReads,
{
    match &request.action {
        Err(reason) => Reply::failed_before(request, format!("invalid request: {reason}")),
        Ok(Resource::MergeGate(action)) => run_gate(store, request, action).await,
        Ok(Resource::Check(Action::Create(spec) | Action::Update(spec, _))) => {
            match check(store, projects, spec).await {
                Ok(reason) => Reply {
                    status: Status::Success,
                    reason,
                    physical_id: format!("check:{}", spec.repository_name),
                },
                Err(failure) => Reply::failed_before(request, failure.to_string()),
            }
        }
        Ok(Resource::Check(Action::Delete(_))) => Reply {
            status: Status::Success,
            reason: "the check changed nothing; nothing to remove".to_owned(),
            physical_id: current_id(request),
        },
        Ok(Resource::Trigger(Action::Create(spec))) => {
            installed(request, spec, install(store, projects, spec, None).await)
        }
        Ok(Resource::Trigger(Action::Update(spec, old))) => installed(
            request,
            spec,
            install(store, projects, spec, old.as_ref()).await,
        ),
        Ok(Resource::Trigger(Action::Delete(spec))) => {
            let id = current_id(request);
            let ours = spec.as_ref().map(trigger_of).transpose();
            let removed = match ours {
                Ok(ours) => remove(store, &id, ours.as_ref()).await,
                Err(invalid) => Err(invalid),
            };
            let (status, reason) = match removed {
                Ok(reason) => (Status::Success, reason),
                Err(failure) => (Status::Failed, failure.to_string()),
            };
            Reply {
                status,
                reason,
                physical_id: id,
            }
        }
    }
}

/// The answer to an install of `spec` for `request`.
fn installed(request: &Request, spec: &TriggerSpec, result: Result<String, InstallError>) -> Reply {
    match result {
        Ok(reason) => Reply {
            status: Status::Success,
            reason,
            physical_id: spec.physical_id(),
        },
        Err(failure) => Reply::failed_before(request, failure.to_string()),
    }
}

/// The trigger `spec` describes.
fn trigger_of(spec: &TriggerSpec) -> Result<RepositoryTrigger, InstallError> {
    RepositoryTrigger::builder()
        .name(&spec.trigger_name)
        .destination_arn(&spec.destination_arn)
        .set_custom_data(spec.custom_data.clone())
        .set_branches(Some(spec.branches.clone()))
        .set_events(Some(
            spec.events
                .iter()
                .map(|e| RepositoryTriggerEventEnum::from(e.as_str()))
                .collect(),
        ))
        .build()
        .map_err(InstallError::InvalidTrigger)
}

/// Why `existing`'s trigger of `ours`' name may not be replaced or removed, if it was not
/// written by this stack: it is neither `ours` nor, on an update, the trigger the previous
/// properties described (`before`).
fn someone_elses(
    existing: &[RepositoryTrigger],
    ours: &RepositoryTrigger,
    before: Option<&RepositoryTrigger>,
    repository: &str,
) -> Option<InstallError> {
    let theirs = existing.iter().find(|trigger| {
        trigger.name() == ours.name()
            && !is_ours(trigger, ours)
            && !before.is_some_and(|before| is_ours(trigger, before))
    })?;
    Some(InstallError::TheirTrigger {
        repository: repository.to_owned(),
        name: theirs.name().to_owned(),
        destination: theirs.destination_arn().to_owned(),
    })
}

/// The deploy-time check of a stack that installs nothing on the repository: the repository
/// and every project `spec` names exist.
async fn check<S: RepositoryReads, P: ProjectReads>(
    store: &S,
    projects: &P,
    spec: &CheckSpec,
) -> Result<String, InstallError> {
    let repository = &spec.repository_name;
    let exists = store
        .repository_exists(repository)
        .await
        .map_err(|error| InstallError::of_call(error, repository, "codecommit:GetRepository"))?;
    if !exists {
        return Err(InstallError::NoRepository {
            repository: repository.clone(),
        });
    }
    check_projects(projects, &spec.project_names).await?;
    Ok(format!(
        "repository {repository} and project(s) {} exist",
        spec.project_names.join(", ")
    ))
}

/// Fails unless every project of `names` exists.
async fn check_projects<P: ProjectReads>(
    projects: &P,
    names: &[String],
) -> Result<(), InstallError> {
    if names.is_empty() {
        return Ok(());
    }
    let missing = projects
        .missing_projects(names)
        .await
        .map_err(|source| InstallError::ProjectCheck { source })?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(InstallError::NoProject { projects: missing })
    }
}

/// Installs `spec`'s trigger (in place of `before`'s), once its projects are known to exist.
async fn install<S: TriggerReads + TriggerWrites, P: ProjectReads>(
    store: &S,
    projects: &P,
    spec: &TriggerSpec,
    before: Option<&TriggerSpec>,
) -> Result<String, InstallError> {
    check_projects(projects, &spec.project_names).await?;
    let repository = &spec.repository_name;
    let ours = trigger_of(spec)?;
    let before = before.map(trigger_of).transpose()?;
    let existing = store.get_triggers(repository).await.map_err(|error| {
        InstallError::of_call(error, repository, "codecommit:GetRepositoryTriggers")
    })?;
    if let Some(refusal) = someone_elses(&existing, &ours, before.as_ref(), repository) {
        return Err(refusal);
    }
    let Some(triggers) = with_trigger(&existing, ours) else {
        return Err(InstallError::Full {
            repository: repository.clone(),
            said_by_codecommit: false,
        });
    };
    let summary = format!(
        "trigger {} on repository {repository} invokes {}",
        spec.trigger_name, spec.destination_arn
    );
    if triggers == existing {
        return Ok(format!("{summary} (unchanged)"));
    }
    store
        .put_triggers(repository, triggers)
        .await
        .map_err(|error| {
            InstallError::of_call(error, repository, "codecommit:PutRepositoryTriggers")
        })?;
    Ok(summary)
}

async fn remove<S: TriggerReads + TriggerWrites>(
    store: &S,
    physical_id: &str,
    ours: Option<&RepositoryTrigger>,
) -> Result<String, InstallError> {
    let Some((repository, name)) = physical_id.split_once('/') else {
        return Ok(format!(
            "{physical_id} was never installed; nothing to remove"
        ));
    };
    let existing = match store.get_triggers(repository).await {
        Ok(existing) => existing,
        Err(error) if error.code == "RepositoryDoesNotExistException" => {
            return Ok(format!(
                "repository {repository} no longer exists; nothing to remove"
            ))
        }
        Err(error) => {
            return Err(InstallError::of_call(
                error,
                repository,
                "codecommit:GetRepositoryTriggers",
            ))
        }
    };
    if let Some(refusal) = ours.and_then(|ours| someone_elses(&existing, ours, None, repository)) {
        return Ok(format!("{refusal}: it was left as it is"));
    }
    let Some(triggers) = without_trigger(&existing, name) else {
        return Ok(format!(
            "trigger {name} is not on repository {repository}; nothing to remove"
        ));
    };
    store
        .put_triggers(repository, triggers)
        .await
        .map_err(|error| {
            InstallError::of_call(error, repository, "codecommit:PutRepositoryTriggers")
        })?;
    Ok(format!(
        "removed trigger {name} from repository {repository}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::installer::request::parse;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct FakeStore {
        repositories: Mutex<HashMap<String, Vec<RepositoryTrigger>>>,
        puts: Mutex<usize>,
        fail_with: Option<&'static str>,
        /// The projects that exist; `None`: every one.
        projects: Option<Vec<&'static str>>,
    }

    impl ProjectReads for FakeStore {
        async fn missing_projects(&self, projects: &[String]) -> Result<Vec<String>, AwsError> {
            Ok(projects
                .iter()
                .filter(|asked| {
                    self.projects
                        .as_ref()
                        .is_some_and(|existing| !existing.contains(&asked.as_str()))
                })
                .cloned()
                .collect())
        }
    }

    impl TriggerReads for FakeStore {
        async fn get_triggers(&self, repository: &str) -> Result<Vec<RepositoryTrigger>, AwsError> {
            if let Some(code) = self.fail_with {
                return Err(AwsError {
                    operation: "GetRepositoryTriggers",
                    code: code.into(),
                    message: "denied".into(),
                });
            }
            self.repositories
                .lock()
                .expect("lock")
                .get(repository)
                .cloned()
                .ok_or(AwsError {
                    operation: "GetRepositoryTriggers",
                    code: "RepositoryDoesNotExistException".into(),
                    message: format!("{repository} does not exist"),
                })
        }
    }

    impl RepositoryReads for FakeStore {
        async fn repository_exists(&self, repository: &str) -> Result<bool, AwsError> {
            Ok(self
                .repositories
                .lock()
                .expect("lock")
                .contains_key(repository))
        }
    }

    /// The trigger's tests never reach the merge gate's calls.
    fn not_a_gate(operation: &'static str) -> AwsError {
        AwsError {
            operation,
            code: "NotInThisTest".into(),
            message: "the trigger's tests make no merge-gate call".into(),
        }
    }

    impl GateReads for FakeStore {
        async fn template(
            &self,
            _: &str,
        ) -> Result<Option<crate::aws::reads::ApprovalTemplate>, AwsError> {
            Err(not_a_gate("GetApprovalRuleTemplate"))
        }
        async fn template_repositories(&self, _: &str) -> Result<Vec<String>, AwsError> {
            Err(not_a_gate("ListRepositoriesForApprovalRuleTemplate"))
        }
        async fn repository_names(&self) -> Result<Vec<String>, AwsError> {
            Err(not_a_gate("ListRepositories"))
        }
    }

    impl GateWrites for FakeStore {
        async fn create_template(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
            Err(not_a_gate("CreateApprovalRuleTemplate"))
        }
        async fn update_template_content(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
            Err(not_a_gate("UpdateApprovalRuleTemplateContent"))
        }
        async fn delete_template(&self, _: &str) -> Result<(), AwsError> {
            Err(not_a_gate("DeleteApprovalRuleTemplate"))
        }
        async fn associate(&self, _: &str, _: &str) -> Result<(), AwsError> {
            Err(not_a_gate("AssociateApprovalRuleTemplateWithRepository"))
        }
        async fn disassociate(&self, _: &str, _: &str) -> Result<(), AwsError> {
            Err(not_a_gate("DisassociateApprovalRuleTemplateFromRepository"))
        }
    }

    impl TriggerWrites for FakeStore {
        async fn put_triggers(
            &self,
            repository: &str,
            triggers: Vec<RepositoryTrigger>,
        ) -> Result<(), AwsError> {
            *self.puts.lock().expect("lock") += 1;
            self.repositories
                .lock()
                .expect("lock")
                .insert(repository.to_owned(), triggers);
            Ok(())
        }
    }

    fn request(kind: &str, physical_id: Option<&str>) -> Request {
        let mut event = json!({
            "RequestType": kind,
            "ResponseURL": "https://example.invalid/r",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "req-1",
            "LogicalResourceId": "RepositoryTrigger",
            "ResourceType": "Custom::CodeCommitTrigger",
            "ResourceProperties": {
                "RepositoryName": "my-app",
                "TriggerName": "my-stack",
                "DestinationArn": "arn:aws:lambda:us-east-1:123456789012:function:f"
            }
        });
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = json!(id);
        }
        parse(&event).expect("answerable")
    }

    fn store_with(triggers: usize) -> FakeStore {
        let existing = (0..triggers)
            .map(|i| {
                RepositoryTrigger::builder()
                    .name(format!("other-{i}"))
                    .destination_arn("arn:aws:sns:us-east-1:123456789012:t")
                    .events(RepositoryTriggerEventEnum::All)
                    .build()
                    .expect("complete")
            })
            .collect();
        let store = FakeStore::default();
        store
            .repositories
            .lock()
            .expect("lock")
            .insert("my-app".into(), existing);
        store
    }

    #[tokio::test]
    async fn create_then_delete_round_trips() {
        let store = store_with(2);
        let created = run(&store, &store, &request("Create", None)).await;
        assert_eq!(created.status, Status::Success, "{}", created.reason);
        assert_eq!(created.physical_id, "my-app/my-stack");
        assert_eq!(store.repositories.lock().expect("lock")["my-app"].len(), 3);
        let deleted = run(&store, &store, &request("Delete", Some("my-app/my-stack"))).await;
        assert_eq!(deleted.status, Status::Success);
        assert_eq!(store.repositories.lock().expect("lock")["my-app"].len(), 2);
        let again = run(&store, &store, &request("Delete", Some("my-app/my-stack"))).await;
        assert_eq!(again.status, Status::Success);
        assert_eq!(
            *store.puts.lock().expect("lock"),
            2,
            "nothing to remove writes nothing"
        );
    }

    #[tokio::test]
    async fn a_project_that_does_not_exist_fails_the_create_before_the_trigger_is_written() {
        let store = FakeStore {
            projects: Some(vec!["my-project"]),
            ..store_with(0)
        };
        let create = |projects: &[&str]| {
            let mut create = request("Create", None);
            if let Ok(Resource::Trigger(Action::Create(spec))) = &mut create.action {
                spec.project_names = projects.iter().map(|p| (*p).to_owned()).collect();
            }
            create
        };
        let created = run(&store, &store, &create(&["my-project", "my-projcet"])).await;
        assert_eq!(created.status, Status::Failed);
        assert_eq!(
            created.reason,
            "CodeBuild project(s) my-projcet do not exist in this account and region (BatchGetProjects); \
             check the ProjectName parameter (or RuleProjectArns), or create the project first"
        );
        assert_eq!(*store.puts.lock().expect("lock"), 0, "no trigger written");
        let created = run(&store, &store, &create(&["my-project"])).await;
        assert_eq!(created.status, Status::Success, "{}", created.reason);
    }

    #[tokio::test]
    async fn the_check_of_an_eventbridge_stack_fails_for_a_missing_repository_or_project() {
        let store = FakeStore {
            projects: Some(vec!["my-project"]),
            ..store_with(0)
        };
        let check = |repository: &str, project: &str| {
            let event = json!({
                "RequestType": "Create",
                "ResponseURL": "https://example.invalid/r",
                "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
                "RequestId": "req-1",
                "LogicalResourceId": "InstallationCheck",
                "ResourceType": "Custom::CodeCommitBuildTriggerCheck",
                "ResourceProperties": {"RepositoryName": repository, "ProjectNames": [project]}
            });
            parse(&event).expect("answerable")
        };
        let fine = run(&store, &store, &check("my-app", "my-project")).await;
        assert_eq!(fine.status, Status::Success, "{}", fine.reason);
        assert_eq!(fine.physical_id, "check:my-app");
        let no_repository = run(&store, &store, &check("my-ap", "my-project")).await;
        assert_eq!(no_repository.status, Status::Failed);
        assert!(
            no_repository
                .reason
                .starts_with("repository my-ap does not exist"),
            "{}",
            no_repository.reason
        );
        let no_project = run(&store, &store, &check("my-app", "my-projcet")).await;
        assert!(
            no_project
                .reason
                .starts_with("CodeBuild project(s) my-projcet do not exist"),
            "{}",
            no_project.reason
        );
        assert_eq!(
            *store.puts.lock().expect("lock"),
            0,
            "a check writes nothing"
        );
    }

    #[tokio::test]
    async fn a_full_repository_fails_the_create_and_its_rollback_removes_nothing() {
        let store = store_with(10);
        let created = run(&store, &store, &request("Create", None)).await;
        assert_eq!(created.status, Status::Failed);
        assert!(
            created.reason.contains("already has 10 triggers"),
            "{}",
            created.reason
        );
        assert_eq!(created.physical_id, "failed-create:req-1");
        let rollback = run(
            &store,
            &store,
            &request("Delete", Some(&created.physical_id)),
        )
        .await;
        assert_eq!(rollback.status, Status::Success);
        assert_eq!(*store.puts.lock().expect("lock"), 0);
    }

    #[tokio::test]
    async fn errors_say_what_to_do() {
        let missing = run(
            &FakeStore::default(),
            &FakeStore::default(),
            &request("Create", None),
        )
        .await;
        assert!(
            missing.reason.contains("does not exist"),
            "{}",
            missing.reason
        );
        let denied = FakeStore {
            fail_with: Some("AccessDeniedException"),
            ..FakeStore::default()
        };
        let outcome = run(
            &denied,
            &denied,
            &request("Update", Some("my-app/my-stack")),
        )
        .await;
        assert_eq!(outcome.status, Status::Failed);
        assert_eq!(
            outcome.physical_id, "my-app/my-stack",
            "a failed update keeps its id"
        );
        assert!(
            outcome.reason.contains("codecommit:GetRepositoryTriggers"),
            "{}",
            outcome.reason
        );
        let gone = run(
            &FakeStore::default(),
            &FakeStore::default(),
            &request("Delete", Some("my-app/my-stack")),
        )
        .await;
        assert_eq!(
            gone.status,
            Status::Success,
            "a deleted repository has no trigger left"
        );
    }
}
