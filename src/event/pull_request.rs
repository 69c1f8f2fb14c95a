//! EventBridge "CodeCommit Pull Request State Change" events.
//!
//! What the service sends, not what its API says: `pullRequestId` is a string, `isMerged` the
//! string `"True"` or `"False"`, `pullRequestStatus` `"Open"` or `"Closed"`; the dates come in
//! several formats that are not ISO 8601 and are not read. One event may name several
//! repositories (`resources`, `repositoryNames`, at most 10): each becomes a [`Record`] of its
//! own. A new comment ("CodeCommit Comment on Pull Request", `commentOnPullRequestCreated`)
//! becomes a [`PullRequestComment`], which may ask for a rebuild; events of any other
//! `detail.event` (approvals, approval rules, edited comments) become an [`IgnoredEvent`]:
//! answered, never built.

use super::validate::{
    parse_repository_arn, parse_time, quoted, validate_commit, validate_pusher, validate_ref,
    MAX_REVISION_LEN,
};
use super::{
    deserialize, EventKind, IgnoredEvent, InvalidEvent, PullRequest, PullRequestChange,
    PullRequestComment, PullRequestStatus, Record, RefChange, RefKind, RefUpdate, Repository,
};
use serde::Deserialize;
use serde_json::Value;

/// The `detail-type`s read here: pull-request changes, and comments (which never build).
pub(super) const DETAIL_TYPES: [&str; 2] = [
    "CodeCommit Pull Request State Change",
    "CodeCommit Comment on Pull Request",
];

/// Longest pull request id accepted, in digits.
const MAX_ID_DIGITS: usize = 20;
/// Longest `detail.event` accepted.
const MAX_EVENT_NAME_LEN: usize = 64;
/// Most repositories one event may name.
const MAX_REPOSITORIES: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDetail {
    event: String,
    pull_request_id: String,
    #[serde(default)]
    repository_names: Option<Vec<String>>,
    #[serde(default)]
    revision_id: Option<String>,
    #[serde(default)]
    source_reference: Option<String>,
    #[serde(default)]
    source_commit: Option<String>,
    #[serde(default)]
    destination_reference: Option<String>,
    #[serde(default)]
    destination_commit: Option<String>,
    #[serde(default)]
    pull_request_status: Option<String>,
    /// A string (`"True"`) as the service sends it; a JSON boolean is taken too.
    #[serde(default)]
    is_merged: Option<Value>,
    #[serde(default)]
    caller_user_arn: Option<String>,
    #[serde(default)]
    comment_id: Option<String>,
}

/// What `detail.event` can say.
enum Kind {
    /// Created, source updated, status changed, merge status updated.
    Change(EventKind),
    /// Anything else (approvals, approval rules, comments): never builds.
    Ignored,
}

fn kind(event: &str) -> Kind {
    match event {
        "pullRequestCreated" => Kind::Change(EventKind::PullRequestCreated),
        "pullRequestSourceBranchUpdated" => Kind::Change(EventKind::PullRequestSourceBranchUpdated),
        "pullRequestStatusChanged" => Kind::Change(EventKind::PullRequestStatusChanged),
        "pullRequestMergeStatusUpdated" => Kind::Change(EventKind::PullRequestMergeStatusUpdated),
        _ => Kind::Ignored,
    }
}

fn invalid(path: &str, problem: String) -> InvalidEvent {
    InvalidEvent {
        path: path.to_owned(),
        problem,
    }
}

/// Longest comment id accepted.
const MAX_COMMENT_ID_LEN: usize = 128;

/// Validates a pull-request event given its envelope's `resources`, `time` and `detail`: a
/// state change, or (`comment`) a "CodeCommit Comment on Pull Request" event.
pub(super) fn validate(
    resources: &[String],
    time: Option<&str>,
    detail: Option<&serde_json::value::RawValue>,
    comment: bool,
) -> Result<super::Event, InvalidEvent> {
    let detail = detail.ok_or_else(|| invalid("detail", "is missing".into()))?;
    let detail: RawDetail = deserialize(detail.get(), "detail")?;
    let event = validate_event_name(&detail.event)?;
    let id = validate_id(&detail.pull_request_id)?;
    let repositories = repositories(resources, detail.repository_names.as_deref())?;
    if comment && event == "commentOnPullRequestCreated" {
        let comment = detail
            .comment_id
            .filter(|id| {
                (1..=MAX_COMMENT_ID_LEN).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .ok_or_else(|| {
                invalid(
                    "detail.commentId",
                    "is missing or not a comment id (letters, digits and `-`)".into(),
                )
            })?;
        let author = validate_pusher(detail.caller_user_arn)
            .map_err(|problem| invalid("detail.callerUserArn", problem))?;
        return Ok(super::Event::Comment(PullRequestComment {
            pull_request: id,
            comment,
            author,
            repositories,
            written_at: time.and_then(parse_time),
        }));
    }
    match kind(&event) {
        _ if comment => Ok(super::Event::Ignored(IgnoredEvent {
            event,
            pull_request: id,
            repositories,
        })),
        Kind::Ignored => Ok(super::Event::Ignored(IgnoredEvent {
            event,
            pull_request: id,
            repositories,
        })),
        Kind::Change(kind) => {
            let pushed_at = time.and_then(parse_time);
            let change = change(kind, id, detail, repositories, pushed_at)?;
            Ok(super::Event::PullRequest(change))
        }
    }
}

/// A created, updated, closed, reopened or merged pull request: one record per repository.
fn change(
    kind: EventKind,
    id: String,
    detail: RawDetail,
    repositories: Vec<Repository>,
    pushed_at: Option<i64>,
) -> Result<PullRequestChange, InvalidEvent> {
    let required = |field: &str, value: Option<String>| {
        value.ok_or_else(|| invalid(&format!("detail.{field}"), "is missing".into()))
    };
    let branch = |field: &str, value: Option<String>| {
        let reference = validate_ref(required(field, value)?)
            .map_err(|problem| invalid(&format!("detail.{field}"), problem))?;
        if reference.kind() != RefKind::Branch {
            return Err(invalid(
                &format!("detail.{field}"),
                format!(
                    "{} is not a branch (refs/heads/...)",
                    quoted(reference.as_str())
                ),
            ));
        }
        Ok(reference)
    };
    let commit = |field: &str, value: Option<String>| {
        validate_commit(required(field, value)?)
            .map_err(|problem| invalid(&format!("detail.{field}"), problem))
    };
    let source = branch("sourceReference", detail.source_reference)?;
    let destination = branch("destinationReference", detail.destination_reference)?;
    let source_commit = commit("sourceCommit", detail.source_commit)?;
    let destination_commit = commit("destinationCommit", detail.destination_commit)?;
    let revision = validate_revision(required("revisionId", detail.revision_id)?)?;
    let open = match required("pullRequestStatus", detail.pull_request_status)?.as_str() {
        status if status.eq_ignore_ascii_case("open") => true,
        status if status.eq_ignore_ascii_case("closed") => false,
        other => {
            return Err(invalid(
                "detail.pullRequestStatus",
                format!("is {}, expected \"Open\" or \"Closed\"", quoted(other)),
            ))
        }
    };
    let merged = validate_merged(detail.is_merged)?;
    let pusher = validate_pusher(detail.caller_user_arn)
        .map_err(|problem| invalid("detail.callerUserArn", problem))?;
    let pull_request = PullRequest {
        id,
        revision,
        destination,
        destination_commit,
        status: match (open, merged) {
            (_, true) => PullRequestStatus::Merged,
            (true, false) => PullRequestStatus::Open,
            (false, false) => PullRequestStatus::Closed,
        },
        rebuild: None,
    };
    let records = repositories
        .into_iter()
        .map(|repository| Record {
            repository,
            pusher: pusher.clone(),
            kind,
            pushed_at,
            references: vec![RefUpdate {
                reference: source.clone(),
                change: RefChange::Pushed {
                    commit: source_commit.clone(),
                    created: false,
                    previous: None,
                },
            }],
            pull_request: Some(pull_request.clone()),
            event_id: None,
        })
        .collect();
    Ok(PullRequestChange { records })
}

/// The repositories of `resources`, each checked against `repositoryNames` when given.
fn repositories(
    resources: &[String],
    names: Option<&[String]>,
) -> Result<Vec<Repository>, InvalidEvent> {
    if resources.is_empty() {
        return Err(invalid(
            "resources",
            "is empty, expected the repository's ARN".into(),
        ));
    }
    if resources.len() > MAX_REPOSITORIES {
        return Err(invalid(
            "resources",
            format!(
                "holds {} ARNs, at most {MAX_REPOSITORIES} repositories",
                resources.len()
            ),
        ));
    }
    let repositories = resources
        .iter()
        .enumerate()
        .map(|(index, arn)| {
            parse_repository_arn(arn).map_err(|problem| {
                invalid(
                    &format!("resources[{index}]"),
                    format!("{} {problem}", quoted(arn)),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut repositories = repositories;
    let mut seen = std::collections::HashSet::new();
    repositories.retain(|repository| seen.insert(repository.arn.clone()));
    if let Some(names) = names {
        if let Some(stray) = repositories
            .iter()
            .find(|repository| !names.contains(&repository.name))
        {
            return Err(invalid(
                "detail.repositoryNames",
                format!(
                    "does not name repository {} of resources",
                    quoted(&stray.name)
                ),
            ));
        }
    }
    Ok(repositories)
}

/// `detail.event`: a name, which answers and logs may repeat.
fn validate_event_name(event: &str) -> Result<String, InvalidEvent> {
    if (1..=MAX_EVENT_NAME_LEN).contains(&event.len())
        && event.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        Ok(event.to_owned())
    } else {
        Err(invalid(
            "detail.event",
            format!(
                "{} is not an event name (letters and digits)",
                quoted(event)
            ),
        ))
    }
}

/// CodeCommit numbers pull requests from 1: digits only, as a string.
fn validate_id(id: &str) -> Result<String, InvalidEvent> {
    if (1..=MAX_ID_DIGITS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_digit())
        && !id.starts_with('0')
    {
        Ok(id.to_owned())
    } else {
        Err(invalid(
            "detail.pullRequestId",
            format!("{} is not a pull request id (digits)", quoted(id)),
        ))
    }
}

fn validate_revision(revision: String) -> Result<String, InvalidEvent> {
    if (1..=MAX_REVISION_LEN).contains(&revision.len())
        && revision.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        Ok(revision)
    } else {
        Err(invalid(
            "detail.revisionId",
            format!("{} is not a revision id", quoted(&revision)),
        ))
    }
}

/// `"True"`/`"False"` (any case) or a JSON boolean; absent means not merged.
fn validate_merged(value: Option<Value>) -> Result<bool, InvalidEvent> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(merged)) => Ok(merged),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(invalid(
            "detail.isMerged",
            format!(
                "is {}, expected \"True\" or \"False\"",
                quoted(&other.to_string())
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
