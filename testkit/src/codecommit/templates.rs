//! The fake CodeCommit's approval rule templates, as the service answers them (moto has
//! none): names of 1 to 100 characters, content of at most 3,000 characters that must be an
//! approval rule, descriptions of at most 1,000, at most 25 templates on a repository, no
//! delete while associated (a delete of a missing template is a 200), content updates checked
//! against the SHA-256 the caller read, and pages of repositories. `ListRepositories` lists
//! the fake's repositories, and `EvaluatePullRequestApprovalRules` evaluates the templates on
//! a pull request's repository against its approvals.
//!
//! One simplification: the service copies a template into a pull request's approval rules
//! when the pull request is created; here a pull request is evaluated against the templates
//! associated with its repository when asked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{error, ok, reject, HttpResponse, Rejection, State, ACCOUNT, REPOSITORY_DATE};

/// The operations answered here.
pub const OPERATIONS: [&str; 10] = [
    "CreateApprovalRuleTemplate",
    "GetApprovalRuleTemplate",
    "UpdateApprovalRuleTemplateContent",
    "DeleteApprovalRuleTemplate",
    "AssociateApprovalRuleTemplateWithRepository",
    "DisassociateApprovalRuleTemplateFromRepository",
    "ListRepositoriesForApprovalRuleTemplate",
    "ListAssociatedApprovalRuleTemplatesForRepository",
    "ListRepositories",
    "EvaluatePullRequestApprovalRules",
];
/// The most templates on one repository.
pub const MAX_TEMPLATES_PER_REPOSITORY: usize = 25;
const MAX_NAME: usize = 100;
const MAX_CONTENT: usize = 3000;
const MAX_DESCRIPTION: usize = 1000;
/// `ListRepositories`' page.
const REPOSITORIES_PAGE: usize = 1000;
/// The largest (and default) page of the template listings.
const MAX_LIST_PAGE: usize = 100;

/// One stored template.
#[derive(Debug, Clone)]
pub struct StoredTemplate {
    /// Its id.
    pub id: String,
    /// Its description.
    pub description: String,
    /// Its content, as given.
    pub content: String,
}

/// The templates and their associations.
#[derive(Debug, Default)]
pub struct Store {
    templates: BTreeMap<String, StoredTemplate>,
    /// (template, repository)
    associations: BTreeSet<(String, String)>,
}

impl Store {
    /// The template `name`, if it exists.
    pub fn template(&self, name: &str) -> Option<StoredTemplate> {
        self.templates.get(name).cloned()
    }

    /// The repositories template `name` is on, sorted.
    pub fn repositories_of(&self, name: &str) -> Vec<String> {
        self.associations
            .iter()
            .filter(|(template, _)| template == name)
            .map(|(_, repository)| repository.clone())
            .collect()
    }

    /// The templates on `repository`, sorted.
    pub fn templates_on(&self, repository: &str) -> Vec<String> {
        self.associations
            .iter()
            .filter(|(_, on)| on == repository)
            .map(|(template, _)| template.clone())
            .collect()
    }

    /// Put template `name` in place as a user would have, with `description` and `content`.
    pub fn insert(&mut self, name: &str, description: &str, content: &str) {
        self.templates.insert(
            name.to_owned(),
            StoredTemplate {
                id: format!("{:08x}-a9f1-4e1b-9c2d-000000000000", self.templates.len()),
                description: description.to_owned(),
                content: content.to_owned(),
            },
        );
    }

    /// Associate template `name` with `repository` as a user would have.
    pub fn associate(&mut self, name: &str, repository: &str) {
        self.associations
            .insert((name.to_owned(), repository.to_owned()));
    }
}

fn sha256(content: &str) -> String {
    format!("{:x}", Sha256::digest(content.as_bytes()))
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn template_json(name: &str, template: &StoredTemplate) -> Value {
    json!({
        "approvalRuleTemplateId": template.id,
        "approvalRuleTemplateName": name,
        "approvalRuleTemplateDescription": template.description,
        "approvalRuleTemplateContent": template.content,
        "ruleContentSha256": sha256(&template.content),
        "lastModifiedDate": REPOSITORY_DATE,
        "creationDate": REPOSITORY_DATE,
        "lastModifiedUser": format!("arn:aws:iam::{ACCOUNT}:user/admin"),
    })
}

/// Why `content` is not an approval rule CodeCommit accepts, if it is not.
fn content_problem(content: &str) -> Option<&'static str> {
    if content.chars().count() > MAX_CONTENT {
        return Some("The content of the approval rule template is longer than 3000 characters.");
    }
    let Ok(parsed) = serde_json::from_str::<Value>(content) else {
        return Some("The content for the approval rule template is not valid JSON.");
    };
    let statements_ok = parsed
        .get("Statements")
        .and_then(Value::as_array)
        .is_some_and(|statements| {
            !statements.is_empty()
                && statements.iter().all(|statement| {
                    statement.get("Type").and_then(Value::as_str) == Some("Approvers")
                        && statement
                            .get("NumberOfApprovalsNeeded")
                            .and_then(Value::as_u64)
                            .is_some_and(|needed| needed >= 1)
                })
        });
    let references_ok = parsed
        .get("DestinationReferences")
        .is_none_or(|references| {
            references.as_array().is_some_and(|references| {
                references
                    .iter()
                    .all(|r| r.as_str().is_some_and(|r| r.starts_with("refs/")))
            })
        });
    if parsed.get("Version").and_then(Value::as_str) != Some("2018-11-08")
        || !statements_ok
        || !references_ok
    {
        return Some("The content for the approval rule template is not valid.");
    }
    None
}

/// The checked name of the template a request names, or the service's error.
fn name_of(body: &Value) -> Result<&str, Rejection> {
    match field(body, "approvalRuleTemplateName") {
        None | Some("") => Err(reject(
            "ApprovalRuleTemplateNameRequiredException",
            "An approval rule template name is required, but was not specified.",
        )),
        Some(name) if name.chars().count() > MAX_NAME => Err(reject(
            "InvalidApprovalRuleTemplateNameException",
            "The name of the approval rule template is not valid. Template names must be \
             between 1 and 100 valid characters in length.",
        )),
        Some(name) => Ok(name),
    }
}

fn missing(name: &str) -> Rejection {
    reject(
        "ApprovalRuleTemplateDoesNotExistException",
        format!("The specified approval rule template does not exist: {name}"),
    )
}

/// Answers one template operation.
pub fn answer(state: &State, operation: &str, body: &Value) -> HttpResponse {
    let exists = |repository: &str| {
        state
            .repositories
            .lock()
            .expect("fake CodeCommit repositories poisoned")
            .contains_key(repository)
    };
    let mut store = state
        .templates
        .lock()
        .expect("fake CodeCommit templates poisoned");
    let answered = match operation {
        "ListRepositories" => Ok(list_repositories(state, body)),
        "EvaluatePullRequestApprovalRules" => evaluate(state, &store, body),
        "ListAssociatedApprovalRuleTemplatesForRepository" => repository_of(body, &exists)
            .and_then(|repository| {
                page(
                    store.templates_on(repository),
                    body,
                    "approvalRuleTemplateNames",
                )
            }),
        _ => name_of(body).and_then(|name| {
            let name = name.to_owned();
            match operation {
                "CreateApprovalRuleTemplate" => create(&mut store, &name, body),
                "GetApprovalRuleTemplate" => match store.templates.get(&name) {
                    Some(template) => {
                        Ok(json!({ "approvalRuleTemplate": template_json(&name, template) }))
                    }
                    None => Err(missing(&name)),
                },
                "UpdateApprovalRuleTemplateContent" => update_content(&mut store, &name, body),
                "DeleteApprovalRuleTemplate" => delete(&mut store, &name),
                "ListRepositoriesForApprovalRuleTemplate" => {
                    if store.templates.contains_key(&name) {
                        page(store.repositories_of(&name), body, "repositoryNames")
                    } else {
                        Err(missing(&name))
                    }
                }
                _ => associations(&mut store, operation, &name, body, &exists),
            }
        }),
    };
    match answered {
        Ok(answer) => ok(&answer),
        Err(rejection) => error(rejection.code, &rejection.message),
    }
}

fn create(store: &mut Store, name: &str, body: &Value) -> Result<Value, Rejection> {
    let Some(content) = field(body, "approvalRuleTemplateContent").filter(|c| !c.is_empty()) else {
        return Err(reject(
            "ApprovalRuleTemplateContentRequiredException",
            "The content for the approval rule template is empty. You must provide some \
             content for an approval rule template. The content cannot be null.",
        ));
    };
    if let Some(problem) = content_problem(content) {
        return Err(reject(
            "InvalidApprovalRuleTemplateContentException",
            problem,
        ));
    }
    let description = field(body, "approvalRuleTemplateDescription").unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(reject(
            "InvalidApprovalRuleTemplateDescriptionException",
            "The description for the approval rule template is not valid because it exceeds \
             the maximum characters allowed for a description.",
        ));
    }
    if store.templates.contains_key(name) {
        return Err(reject(
            "ApprovalRuleTemplateNameAlreadyExistsException",
            format!("You cannot create an approval rule template with that name because a template with that name already exists in this AWS Region for your AWS account: {name}"),
        ));
    }
    store.insert(name, description, content);
    Ok(json!({
        "approvalRuleTemplate": template_json(name, &store.templates[name])
    }))
}

fn update_content(store: &mut Store, name: &str, body: &Value) -> Result<Value, Rejection> {
    let Some(content) = field(body, "newRuleContent").filter(|c| !c.is_empty()) else {
        return Err(reject(
            "ApprovalRuleTemplateContentRequiredException",
            "The content for the approval rule template is empty.",
        ));
    };
    if let Some(problem) = content_problem(content) {
        return Err(reject(
            "InvalidApprovalRuleTemplateContentException",
            problem,
        ));
    }
    let Some(template) = store.templates.get_mut(name) else {
        return Err(missing(name));
    };
    if let Some(expected) = field(body, "existingRuleContentSha256") {
        if expected != sha256(&template.content) {
            return Err(reject(
                "InvalidRuleContentSha256Exception",
                "The SHA-256 hash signature for the rule content is not valid.",
            ));
        }
    }
    template.content = content.to_owned();
    Ok(json!({ "approvalRuleTemplate": template_json(name, template) }))
}

fn delete(store: &mut Store, name: &str) -> Result<Value, Rejection> {
    if !store.repositories_of(name).is_empty() {
        return Err(reject(
            "ApprovalRuleTemplateInUseException",
            "The approval rule template is associated with one or more repositories. You \
             cannot delete a template that is associated with a repository. Remove all \
             associations, and then try again.",
        ));
    }
    Ok(match store.templates.remove(name) {
        Some(template) => json!({ "approvalRuleTemplateId": template.id }),
        None => json!({}),
    })
}

fn repository_of<'a>(body: &'a Value, exists: &dyn Fn(&str) -> bool) -> Result<&'a str, Rejection> {
    match field(body, "repositoryName") {
        None | Some("") => Err(reject(
            "RepositoryNameRequiredException",
            "A repository name is required, but was not specified.",
        )),
        Some(repository) if !exists(repository) => Err(reject(
            "RepositoryDoesNotExistException",
            format!("{repository} does not exist"),
        )),
        Some(repository) => Ok(repository),
    }
}

fn associations(
    store: &mut Store,
    operation: &str,
    name: &str,
    body: &Value,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Value, Rejection> {
    if !store.templates.contains_key(name) {
        return Err(missing(name));
    }
    let repository = repository_of(body, exists)?;
    let pair = (name.to_owned(), repository.to_owned());
    if operation == "DisassociateApprovalRuleTemplateFromRepository" {
        store.associations.remove(&pair);
        return Ok(json!({}));
    }
    if !store.associations.contains(&pair)
        && store.templates_on(repository).len() >= MAX_TEMPLATES_PER_REPOSITORY
    {
        return Err(reject(
            "MaximumRuleTemplatesAssociatedWithRepositoryException",
            "The maximum number of approval rule templates for a repository has been \
             exceeded. You cannot associate more than 25 approval rule templates with a \
             repository.",
        ));
    }
    store.associations.insert(pair);
    Ok(json!({}))
}

/// A page of `names` under `key`, from the request's `nextToken` (an offset here).
fn page(names: Vec<String>, body: &Value, key: &str) -> Result<Value, Rejection> {
    let size = match body.get("maxResults").and_then(Value::as_u64) {
        None => MAX_LIST_PAGE,
        Some(size) if (1..=MAX_LIST_PAGE as u64).contains(&size) => size as usize,
        Some(_) => {
            return Err(reject(
                "InvalidMaxResultsException",
                "The specified number of maximum results is not valid.",
            ))
        }
    };
    let start = match field(body, "nextToken") {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            reject(
                "InvalidContinuationTokenException",
                "The specified continuation token is not valid.",
            )
        })?,
    };
    let end = names.len().min(start.saturating_add(size));
    let mut answer = json!({ key: names.get(start..end).unwrap_or_default() });
    if end < names.len() {
        answer["nextToken"] = json!(end.to_string());
    }
    Ok(answer)
}

fn list_repositories(state: &State, body: &Value) -> Value {
    let names: Vec<String> = {
        let repositories = state
            .repositories
            .lock()
            .expect("fake CodeCommit repositories poisoned");
        let mut names: Vec<String> = repositories.keys().cloned().collect();
        names.sort();
        names
    };
    let start = field(body, "nextToken")
        .and_then(|token| token.parse::<usize>().ok())
        .unwrap_or(0);
    let end = names.len().min(start + REPOSITORIES_PAGE);
    let page: Vec<Value> = names
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|name| json!({ "repositoryName": name, "repositoryId": format!("id-{name}") }))
        .collect();
    let mut answer = json!({ "repositories": page });
    if end < names.len() {
        answer["nextToken"] = json!(end.to_string());
    }
    answer
}

/// Whether `member` of an approval pool (an ARN, `*` matching any run of characters) names
/// `caller`.
fn pool_names(member: &str, caller: &str) -> bool {
    let parts: Vec<&str> = member.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return member == caller;
    };
    if caller.len() < first.len() + last.len()
        || !caller.starts_with(first)
        || !caller.ends_with(last)
    {
        return false;
    }
    let mut rest = &caller[first.len()..caller.len() - last.len()];
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// `EvaluatePullRequestApprovalRules`: which of the rules the repository's templates put on
/// the pull request its approvals of `revisionId` satisfy.
fn evaluate(state: &State, store: &Store, body: &Value) -> Result<Value, Rejection> {
    let id = field(body, "pullRequestId").unwrap_or_default();
    let pull_request = super::comments::pull_request_of(state, id)
        .map_err(|(code, message)| reject(code, message))?;
    let revision = field(body, "revisionId").unwrap_or_default();
    if pull_request["revisionId"].as_str() != Some(revision) {
        return Err(reject(
            "RevisionNotCurrentException",
            "The revision ID provided in the request does not match the current revision ID.",
        ));
    }
    let target = &pull_request["pullRequestTargets"][0];
    let repository = target["repositoryName"].as_str().unwrap_or_default();
    let destination = target["destinationReference"].as_str().unwrap_or_default();
    let approvers = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned")
        .approvers(id, revision);
    let (mut satisfied, mut not_satisfied) = (Vec::new(), Vec::new());
    for name in store.templates_on(repository) {
        let content: Value =
            serde_json::from_str(&store.templates[&name].content).unwrap_or_default();
        let applies = content
            .get("DestinationReferences")
            .and_then(Value::as_array)
            .is_none_or(|references| references.iter().any(|r| r.as_str() == Some(destination)));
        if !applies {
            continue;
        }
        let met = content["Statements"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|statement| {
                let pool: Vec<&str> = statement["ApprovalPoolMembers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let approvals = approvers
                    .iter()
                    .filter(|caller| pool.iter().any(|member| pool_names(member, caller)))
                    .count();
                approvals as u64 >= statement["NumberOfApprovalsNeeded"].as_u64().unwrap_or(1)
            });
        if met {
            satisfied.push(name);
        } else {
            not_satisfied.push(name);
        }
    }
    Ok(json!({
        "evaluation": {
            "approved": not_satisfied.is_empty(),
            "overridden": false,
            "approvalRulesSatisfied": satisfied,
            "approvalRulesNotSatisfied": not_satisfied,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_members_match_as_the_service_does() {
        let session = "arn:aws:sts::123456789012:assumed-role/reporter/fn";
        assert!(pool_names(
            "arn:aws:sts::123456789012:assumed-role/reporter/*",
            session
        ));
        assert!(!pool_names(
            "arn:aws:sts::123456789012:assumed-role/other/*",
            session
        ));
        assert!(pool_names(session, session));
        assert!(!pool_names(
            "arn:aws:sts::123456789012:assumed-role/reporter/x",
            session
        ));
    }
}
