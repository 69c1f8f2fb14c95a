//! What the merge gate's custom resource does for each request: makes the stack's approval
//! rule template as specified and associates it with exactly the chosen repositories; on
//! delete, takes it off every repository and deletes it. A template of the same name that
//! is not the stack's (by its description) is never changed or deleted.

use super::install::{current_id, Reply, Status, FAILED_CREATE_PREFIX};
use super::merge_gate::{description, is_stacks, MergeGateSpec};
use super::request::{Action, Request};
use crate::aws::reads::GateReads;
use crate::aws::writes::GateWrites;
use crate::aws::AwsError;
use futures_util::{stream, StreamExt, TryStreamExt};
use thiserror::Error;

/// The most approval rule templates CodeCommit associates with one repository.
const MAX_TEMPLATES_PER_REPOSITORY: usize = 25;
/// Associations made or removed at the same time.
const CONCURRENT_CALLS: usize = 8;

/// Why the merge gate could not be put in place or removed: the reason CloudFormation shows.
#[derive(Debug, Error)]
pub enum GateError {
    /// The properties are not a template CodeCommit accepts (checked before any call).
    #[error("{0}")]
    Invalid(String),
    /// A template of the stack's name that the stack did not make.
    #[error(
        "an approval rule template named {name} already exists and is not this stack's \
         (its description: {description:?}); delete or rename it, or deploy this stack under \
         another name"
    )]
    TheirTemplate {
        /// The template's name.
        name: String,
        /// Its description.
        description: String,
    },
    /// A repository to gate does not exist.
    #[error(
        "repository {repository} does not exist in this account and region \
         (RepositoryDoesNotExistException); check the repository parameter"
    )]
    NoRepository {
        /// The repository.
        repository: String,
    },
    /// A repository has as many templates as CodeCommit allows.
    #[error(
        "repository {repository} already has {MAX_TEMPLATES_PER_REPOSITORY} approval rule \
         templates, the most CodeCommit allows \
         (MaximumRuleTemplatesAssociatedWithRepositoryException); disassociate one"
    )]
    FullRepository {
        /// The repository.
        repository: String,
    },
    /// The custom resource's role may not make the call.
    #[error(
        "AccessDeniedException: the custom resource's role may not call {action}: {}",
        .source.message
    )]
    Denied {
        /// The IAM action.
        action: String,
        /// The call that failed.
        source: AwsError,
    },
    /// Another failure of a CodeCommit call.
    #[error("{} failed: {}: {}", .source.operation, .source.code, .source.message)]
    Call {
        /// The call that failed.
        source: AwsError,
    },
}

impl GateError {
    /// `error` of a call about `repository` (if about one), as a reason a user can act on.
    fn of_call(error: AwsError, repository: Option<&str>) -> Self {
        match (error.code.as_str(), repository) {
            ("RepositoryDoesNotExistException", Some(repository)) => Self::NoRepository {
                repository: repository.to_owned(),
            },
            ("MaximumRuleTemplatesAssociatedWithRepositoryException", Some(repository)) => {
                Self::FullRepository {
                    repository: repository.to_owned(),
                }
            }
            ("AccessDeniedException" | "AccessDenied", _) => Self::Denied {
                action: format!("codecommit:{}", error.operation),
                source: error,
            },
            _ => Self::Call { source: error },
        }
    }
}

/// Carries out a merge-gate `action` of `request` against `store`.
pub async fn run_gate<S: GateReads + GateWrites>(
    store: &S,
    request: &Request,
    action: &Action<MergeGateSpec>,
) -> Reply {
    let stack_id = &request.envelope.stack_id;
    let spec = match action {
        Action::Create(spec) | Action::Update(spec, _) => spec,
        Action::Delete(_) => {
            let id = current_id(request);
            let (status, reason) = match remove(store, stack_id, &id).await {
                Ok(reason) => (Status::Success, reason),
                Err(failure) => (Status::Failed, failure.to_string()),
            };
            return Reply {
                status,
                reason,
                physical_id: id,
            };
        }
    };
    let failed = |failure: GateError, physical_id: String| Reply {
        status: Status::Failed,
        reason: failure.to_string(),
        physical_id,
    };
    // Nothing written yet: the rollback of a create has nothing to delete.
    let made = match ensure_template(store, stack_id, spec).await {
        Ok(made) => made,
        Err(failure) => return failed(failure, current_id(request)),
    };
    match gate_repositories(store, spec, made).await {
        Ok(reason) => Reply {
            status: Status::Success,
            reason,
            physical_id: spec.template_name.clone(),
        },
        // The template exists now: a failed create answers its name, so that the rollback's
        // delete takes off whatever part of the gate was put in place.
        Err(failure) => failed(
            failure,
            match action {
                Action::Create(_) => spec.template_name.clone(),
                _ => current_id(request),
            },
        ),
    }
}

/// Makes (or updates) the stack's template as `spec` says: `created`, `updated` or
/// `unchanged`. Nothing is written when it fails.
async fn ensure_template<S: GateReads + GateWrites>(
    store: &S,
    stack_id: &str,
    spec: &MergeGateSpec,
) -> Result<&'static str, GateError> {
    let content = spec.content().map_err(GateError::Invalid)?;
    let name = spec.template_name.as_str();
    let unrelated = |error| GateError::of_call(error, None);
    Ok(match store.template(name).await.map_err(unrelated)? {
        None => {
            store
                .create_template(name, &content, &description(stack_id))
                .await
                .map_err(unrelated)?;
            "created"
        }
        Some(existing) if !is_stacks(&existing.description, stack_id) => {
            return Err(GateError::TheirTemplate {
                name: name.to_owned(),
                description: existing.description,
            })
        }
        Some(existing) if existing.content == content => "unchanged",
        Some(existing) => {
            store
                .update_template_content(name, &content, &existing.content_sha256)
                .await
                .map_err(unrelated)?;
            "updated"
        }
    })
}

/// Associates the stack's template with exactly the repositories `spec` chooses. One it no
/// longer chooses that the role may not touch (the stack moved to another repository, and
/// its role with it) is left, and the answer says how to take the template off by hand.
async fn gate_repositories<S: GateReads + GateWrites>(
    store: &S,
    spec: &MergeGateSpec,
    made: &str,
) -> Result<String, GateError> {
    let name = spec.template_name.as_str();
    let unrelated = |error| GateError::of_call(error, None);
    let listed = if spec.has_patterns() {
        store.repository_names().await.map_err(unrelated)?
    } else {
        Vec::new()
    };
    let chosen = spec.chosen_repositories(&listed);
    let current = store.template_repositories(name).await.map_err(unrelated)?;
    let added = chosen
        .iter()
        .filter(|repository| !current.contains(repository));
    let removed: Vec<&String> = current
        .iter()
        .filter(|repository| !chosen.contains(repository))
        .collect();
    stream::iter(added)
        .map(|repository| async move {
            store
                .associate(name, repository)
                .await
                .map_err(|error| GateError::of_call(error, Some(repository)))
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .try_collect::<Vec<()>>()
        .await?;
    let left = match disassociate_all(store, name, removed.iter().copied()).await {
        Ok(()) => String::new(),
        Err(GateError::Denied { .. }) => format!(
            "; it is still on {} (AccessDenied: the role covers the stack's repositories only): \
             take it off with aws codecommit disassociate-approval-rule-template-from-repository \
             --approval-rule-template-name {name} --repository-name REPOSITORY",
            listing(&removed.iter().map(|r| (*r).clone()).collect::<Vec<_>>())
        ),
        Err(other) => return Err(other),
    };
    let branches = spec.branch_names().map_err(GateError::Invalid)?.join(", ");
    Ok(match chosen.as_slice() {
        [] => format!(
            "approval rule template {name} {made}; no repository matches {} yet{left}",
            spec.repositories.join(", ")
        ),
        repositories => format!(
            "approval rule template {name} {made}: pull requests into {branches} need the \
             reporter's approval in {} ({}){left}",
            plural(repositories.len(), "repository", "repositories"),
            listing(repositories)
        ),
    })
}

/// Takes the template off each of `repositories`; one deleted meanwhile has nothing to take
/// off.
async fn disassociate_all<'a, S: GateWrites>(
    store: &S,
    name: &str,
    repositories: impl Iterator<Item = &'a String>,
) -> Result<(), GateError> {
    stream::iter(repositories)
        .map(|repository| async move {
            match store.disassociate(name, repository).await {
                Err(error) if error.code != "RepositoryDoesNotExistException" => {
                    Err(GateError::of_call(error, Some(repository)))
                }
                _ => Ok(()),
            }
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Takes the stack's template `name` off every repository and deletes it.
async fn remove<S: GateReads + GateWrites>(
    store: &S,
    stack_id: &str,
    name: &str,
) -> Result<String, GateError> {
    if name.starts_with(FAILED_CREATE_PREFIX) {
        return Ok(format!("{name} was never created; nothing to remove"));
    }
    let unrelated = |error| GateError::of_call(error, None);
    let Some(existing) = store.template(name).await.map_err(unrelated)? else {
        return Ok(format!(
            "approval rule template {name} does not exist; nothing to remove"
        ));
    };
    if !is_stacks(&existing.description, stack_id) {
        return Ok(format!(
            "approval rule template {name} is not this stack's; it was left as it is"
        ));
    }
    let repositories = store.template_repositories(name).await.map_err(unrelated)?;
    disassociate_all(store, name, repositories.iter()).await?;
    store.delete_template(name).await.map_err(unrelated)?;
    Ok(format!(
        "took approval rule template {name} off {} and deleted it",
        plural(repositories.len(), "repository", "repositories")
    ))
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The first names of `repositories`, and how many more.
fn listing(repositories: &[String]) -> String {
    const SHOWN: usize = 10;
    let shown = repositories[..repositories.len().min(SHOWN)].join(", ");
    match repositories.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::reads::ApprovalTemplate;
    use crate::installer::request::{parse, Resource};
    use serde_json::{json, Value};
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/1";
    const NAME: &str = "my-stack-builds-succeeded";

    /// Templates and associations in memory, with CodeCommit's refusals.
    #[derive(Default)]
    struct FakeGate {
        repositories: BTreeSet<String>,
        templates: Mutex<BTreeMap<String, ApprovalTemplate>>,
        associations: Mutex<BTreeSet<(String, String)>>,
        writes: Mutex<usize>,
        /// Operations answered AccessDeniedException.
        denied: Vec<&'static str>,
    }

    impl FakeGate {
        fn with(repositories: &[&str]) -> Self {
            Self {
                repositories: repositories.iter().map(|r| (*r).to_owned()).collect(),
                ..Self::default()
            }
        }

        fn associated(&self) -> Vec<String> {
            let associations = self.associations.lock().expect("lock");
            associations.iter().map(|(_, r)| r.clone()).collect()
        }

        fn wrote(&self) {
            *self.writes.lock().expect("lock") += 1;
        }

        fn allowed(&self, operation: &'static str) -> Result<(), AwsError> {
            match self.denied.contains(&operation) {
                true => Err(refused(operation, "AccessDeniedException")),
                false => Ok(()),
            }
        }
    }

    fn refused(operation: &'static str, code: &str) -> AwsError {
        AwsError {
            operation,
            code: code.into(),
            message: "refused".into(),
        }
    }

    impl GateReads for FakeGate {
        async fn template(&self, name: &str) -> Result<Option<ApprovalTemplate>, AwsError> {
            self.allowed("GetApprovalRuleTemplate")?;
            Ok(self.templates.lock().expect("lock").get(name).cloned())
        }
        async fn template_repositories(&self, name: &str) -> Result<Vec<String>, AwsError> {
            let associations = self.associations.lock().expect("lock");
            Ok(associations
                .iter()
                .filter(|(t, _)| t == name)
                .map(|(_, r)| r.clone())
                .collect())
        }
        async fn repository_names(&self) -> Result<Vec<String>, AwsError> {
            Ok(self.repositories.iter().cloned().collect())
        }
    }

    impl GateWrites for FakeGate {
        async fn create_template(
            &self,
            name: &str,
            content: &str,
            description: &str,
        ) -> Result<(), AwsError> {
            self.wrote();
            let template = ApprovalTemplate {
                description: description.into(),
                content: content.into(),
                content_sha256: format!("sha-of-{}", content.len()),
            };
            self.templates
                .lock()
                .expect("lock")
                .insert(name.into(), template);
            Ok(())
        }
        async fn update_template_content(
            &self,
            name: &str,
            content: &str,
            existing: &str,
        ) -> Result<(), AwsError> {
            self.wrote();
            let mut templates = self.templates.lock().expect("lock");
            let template = templates.get_mut(name).expect("updated after being read");
            assert_eq!(template.content_sha256, existing);
            template.content = content.into();
            Ok(())
        }
        async fn delete_template(&self, name: &str) -> Result<(), AwsError> {
            self.wrote();
            if self.template_repositories(name).await?.is_empty() {
                self.templates.lock().expect("lock").remove(name);
                Ok(())
            } else {
                Err(refused(
                    "DeleteApprovalRuleTemplate",
                    "ApprovalRuleTemplateInUseException",
                ))
            }
        }
        async fn associate(&self, name: &str, repository: &str) -> Result<(), AwsError> {
            self.wrote();
            if !self.repositories.contains(repository) {
                return Err(refused(
                    "AssociateApprovalRuleTemplateWithRepository",
                    "RepositoryDoesNotExistException",
                ));
            }
            self.associations
                .lock()
                .expect("lock")
                .insert((name.into(), repository.into()));
            Ok(())
        }
        async fn disassociate(&self, name: &str, repository: &str) -> Result<(), AwsError> {
            self.allowed("DisassociateApprovalRuleTemplateFromRepository")?;
            self.wrote();
            self.associations
                .lock()
                .expect("lock")
                .remove(&(name.to_owned(), repository.to_owned()));
            Ok(())
        }
    }

    fn properties(repositories: &[&str], branches: &[&str]) -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:installer",
            "TemplateName": NAME,
            "Repositories": repositories,
            "Branches": branches,
            "ApproverRoleArn": "arn:aws:iam::123456789012:role/my-stack-Reporter",
            "BuildingBranches": "main,release"
        })
    }

    fn request(
        kind: &str,
        properties: Value,
        physical_id: Option<&str>,
    ) -> (Request, Action<MergeGateSpec>) {
        let mut event = json!({
            "RequestType": kind,
            "ResponseURL": "https://example.invalid/r",
            "StackId": STACK,
            "RequestId": "req-1",
            "LogicalResourceId": "MergeGate",
            "ResourceType": "Custom::CodeCommitMergeGate",
            "ResourceProperties": properties
        });
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = json!(id);
        }
        let request = parse(&event).expect("answerable");
        let Ok(Resource::MergeGate(action)) = request.action.clone() else {
            panic!("not a merge gate: {:?}", request.action);
        };
        (request, action)
    }

    async fn run(store: &FakeGate, kind: &str, properties: Value, id: Option<&str>) -> Reply {
        let (request, action) = request(kind, properties, id);
        run_gate(store, &request, &action).await
    }

    #[tokio::test]
    async fn create_update_and_delete_keep_the_template_and_its_repositories_as_specified() {
        let store = FakeGate::with(&["team-web", "team-api", "tools"]);
        let created = run(&store, "Create", properties(&["team-*"], &["main"]), None).await;
        assert_eq!(created.status, Status::Success, "{}", created.reason);
        assert_eq!(created.physical_id, NAME);
        assert_eq!(
            created.reason,
            "approval rule template my-stack-builds-succeeded created: pull requests into main \
             need the reporter's approval in 2 repositories (team-api, team-web)"
        );
        assert_eq!(store.associated(), ["team-api", "team-web"]);

        let again = run(&store, "Create", properties(&["team-*"], &["main"]), None).await;
        assert!(again.reason.contains(" unchanged:"), "{}", again.reason);
        let writes = *store.writes.lock().expect("lock");
        assert_eq!(writes, 3, "a repeated create writes nothing");

        let updated = run(
            &store,
            "Update",
            properties(&["tools"], &["main", "release"]),
            Some(NAME),
        )
        .await;
        assert_eq!(updated.status, Status::Success, "{}", updated.reason);
        assert_eq!(store.associated(), ["tools"]);
        let content = store.templates.lock().expect("lock")[NAME].content.clone();
        assert!(content.contains("refs/heads/release"), "{content}");

        let deleted = run(&store, "Delete", json!({}), Some(NAME)).await;
        assert_eq!(deleted.status, Status::Success, "{}", deleted.reason);
        assert_eq!(
            deleted.reason,
            "took approval rule template my-stack-builds-succeeded off 1 repository and deleted it"
        );
        assert!(store.templates.lock().expect("lock").is_empty());
        assert!(store.associated().is_empty());
        let gone = run(&store, "Delete", json!({}), Some(NAME)).await;
        assert_eq!(gone.status, Status::Success);
        assert!(gone.reason.contains("nothing to remove"), "{}", gone.reason);
    }

    #[tokio::test]
    async fn a_template_that_is_not_the_stacks_is_never_changed_or_deleted() {
        let store = FakeGate::with(&["my-app"]);
        let theirs = ApprovalTemplate {
            description: "made by hand".into(),
            content: "{}".into(),
            content_sha256: "x".into(),
        };
        store
            .templates
            .lock()
            .expect("lock")
            .insert(NAME.into(), theirs.clone());
        let created = run(&store, "Create", properties(&["my-app"], &["main"]), None).await;
        assert_eq!(created.status, Status::Failed);
        assert!(created.reason.starts_with("an approval rule template named my-stack-builds-succeeded already exists and is not this stack's"), "{}", created.reason);
        assert_eq!(
            created.physical_id, "failed-create:req-1",
            "the rollback must not name it"
        );
        let deleted = run(&store, "Delete", json!({}), Some(NAME)).await;
        assert_eq!(deleted.status, Status::Success);
        assert!(deleted
            .reason
            .ends_with("is not this stack's; it was left as it is"));
        assert_eq!(store.templates.lock().expect("lock")[NAME], theirs);
        assert_eq!(*store.writes.lock().expect("lock"), 0);
    }

    #[tokio::test]
    async fn a_failed_create_is_rolled_back_by_its_delete() {
        let store = FakeGate::with(&["my-app"]);
        let created = run(
            &store,
            "Create",
            properties(&["my-app", "my-ap"], &["main"]),
            None,
        )
        .await;
        assert_eq!(created.status, Status::Failed);
        assert!(
            created
                .reason
                .starts_with("repository my-ap does not exist"),
            "{}",
            created.reason
        );
        assert_eq!(created.physical_id, NAME);
        let rollback = run(&store, "Delete", json!({}), Some(&created.physical_id)).await;
        assert_eq!(rollback.status, Status::Success, "{}", rollback.reason);
        assert!(store.templates.lock().expect("lock").is_empty());
        assert!(store.associated().is_empty());
    }

    #[tokio::test]
    async fn a_create_that_fails_before_writing_gives_the_rollback_nothing_to_delete() {
        let store = FakeGate {
            denied: vec!["GetApprovalRuleTemplate"],
            ..FakeGate::with(&["my-app"])
        };
        let created = run(&store, "Create", properties(&["my-app"], &["main"]), None).await;
        assert_eq!(created.status, Status::Failed);
        assert!(
            created
                .reason
                .contains("codecommit:GetApprovalRuleTemplate"),
            "{}",
            created.reason
        );
        assert_eq!(created.physical_id, "failed-create:req-1");
    }

    #[tokio::test]
    async fn a_repository_the_role_no_longer_covers_is_left_with_a_note() {
        let store = FakeGate::with(&["old-app", "new-app"]);
        run(&store, "Create", properties(&["old-app"], &["main"]), None).await;
        let moved = FakeGate {
            denied: vec!["DisassociateApprovalRuleTemplateFromRepository"],
            templates: Mutex::new(store.templates.lock().expect("lock").clone()),
            associations: Mutex::new(store.associations.lock().expect("lock").clone()),
            ..FakeGate::with(&["old-app", "new-app"])
        };
        let updated = run(
            &moved,
            "Update",
            properties(&["new-app"], &["main"]),
            Some(NAME),
        )
        .await;
        assert_eq!(updated.status, Status::Success, "{}", updated.reason);
        assert!(
            updated
                .reason
                .contains("it is still on old-app (AccessDenied"),
            "{}",
            updated.reason
        );
        assert_eq!(moved.associated(), ["new-app", "old-app"]);
    }

    #[test]
    fn a_create_out_of_time_names_the_template_for_the_rollback() {
        let (create, _) = request("Create", properties(&["my-app"], &["main"]), None);
        let reply = Reply::timed_out(&create, "late".into());
        assert_eq!(
            (reply.status, reply.physical_id.as_str()),
            (Status::Failed, NAME)
        );
        let (update, _) = request(
            "Update",
            properties(&["my-app"], &["main"]),
            Some("kept-id"),
        );
        assert_eq!(
            Reply::timed_out(&update, "late".into()).physical_id,
            "kept-id"
        );
    }

    #[test]
    fn invalid_properties_are_refused_before_any_call() {
        let event = json!({
            "RequestType": "Create",
            "ResponseURL": "https://example.invalid/r",
            "StackId": STACK,
            "RequestId": "req-1",
            "LogicalResourceId": "MergeGate",
            "ResourceType": "Custom::CodeCommitMergeGate",
            "ResourceProperties": properties(&["my-app"], &["release/*"])
        });
        let reason = parse(&event)
            .expect("answerable")
            .action
            .expect_err("invalid");
        assert!(
            reason.starts_with("ResourceProperties.Branches: \"release/*\" is a pattern"),
            "{reason}"
        );
    }
}
