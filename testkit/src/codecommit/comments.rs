//! The fake CodeCommit's comments and approvals, as the service behaves (moto has none of
//! them): comment ids, the caller as author (from the request's SigV4 access key),
//! `UpdateComment` by the author only, `clientRequestToken` idempotency and its mismatch
//! error, the 10,240-character limit, deleted comments, pagination; approvals of the current
//! revision only, never by the pull request's author, never on a closed pull request.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{error, ok, HttpResponse, State, ACCOUNT, REPOSITORY_DATE};

/// The comment and approval operations answered here.
pub const OPERATIONS: [&str; 8] = [
    "PostCommentForPullRequest",
    "PostCommentForComparedCommit",
    "UpdateComment",
    "GetComment",
    "GetCommentsForPullRequest",
    "GetCommentsForComparedCommit",
    "UpdatePullRequestApprovalState",
    "GetPullRequestApprovalStates",
];
/// The longest comment CodeCommit accepts, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_240;
/// The largest page of comments (also the default).
const MAX_PAGE: usize = 100;
/// The access key the function under test signs with ([`super::super::Harness`]).
const FUNCTION_KEY: &str = "testing";
/// Who the function is to the fake: a session of [`FUNCTION_ROLE`].
pub const FUNCTION_SESSION: &str =
    "arn:aws:sts::123456789012:assumed-role/codecommit-build-trigger/codecommit-build-trigger";
/// The role the function runs as, as `REPORTER_ROLE_ARN` names it.
pub const FUNCTION_ROLE: &str = "arn:aws:iam::123456789012:role/codecommit-build-trigger";

/// The caller of a request signed with access key `key`: the function, or the IAM user
/// named by the key (a test signing as `alice` is `arn:aws:iam::ACCOUNT:user/alice`).
pub fn caller_of(key: &str) -> String {
    if key == FUNCTION_KEY {
        FUNCTION_SESSION.to_owned()
    } else {
        format!("arn:aws:iam::{ACCOUNT}:user/{key}")
    }
}

/// One stored comment.
#[derive(Debug, Clone)]
pub struct StoredComment {
    /// Its id.
    pub id: String,
    /// The repository it is in.
    pub repository: String,
    /// The pull request it is on, if any.
    pub pull_request: Option<String>,
    /// The compared commits.
    pub before: Option<String>,
    /// The commit commented on.
    pub after: String,
    /// Who wrote it.
    pub author: String,
    /// Its text (empty once deleted).
    pub content: String,
    /// How many times it was updated.
    pub updates: usize,
    /// The `clientRequestToken` it was posted with.
    pub token: Option<String>,
    /// Whether its content was deleted.
    pub deleted: bool,
}

/// Every comment and approval.
#[derive(Debug, Default)]
pub struct Store {
    comments: Vec<StoredComment>,
    /// Token -> (the parameters it was first used with, the comment's index).
    tokens: HashMap<String, (Value, usize)>,
    /// (pull request, revision) -> caller -> `APPROVE` or `REVOKE`.
    approvals: HashMap<(String, String), HashMap<String, String>>,
    /// The content a concurrent delivery posts just before the next post is answered.
    race: Option<String>,
}

impl Store {
    /// Every comment, in the order posted.
    pub fn comments(&self) -> Vec<StoredComment> {
        self.comments.clone()
    }

    /// Post a comment as `author` directly (a reviewer's, say), returning its id.
    pub fn add(&mut self, mut comment: StoredComment) -> String {
        comment.id = self.next_id();
        self.comments.push(comment.clone());
        comment.id
    }

    /// See [`super::LocalCodeCommit::delete_comment`].
    pub fn delete(&mut self, id: &str) {
        let comment = self
            .comments
            .iter_mut()
            .find(|comment| comment.id == id)
            .expect("a comment to delete");
        comment.content.clear();
        comment.deleted = true;
    }

    /// See [`super::LocalCodeCommit::race_next_post`].
    pub fn race_next_post(&mut self, content: &str) {
        self.race = Some(content.to_owned());
    }

    /// Who approved `revision` of pull request `id`, in no order.
    pub fn approvers(&self, id: &str, revision: &str) -> Vec<String> {
        self.approvals
            .get(&(id.to_owned(), revision.to_owned()))
            .map(|states| {
                states
                    .iter()
                    .filter(|(_, state)| *state == "APPROVE")
                    .map(|(caller, _)| caller.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn next_id(&self) -> String {
        format!(
            "{:08x}-c0de-4c0d-8e17-{:012x}",
            self.comments.len() + 1,
            self.comments.len() + 1
        )
    }
}

/// Answers comment or approval `operation` from `caller`; `commit_ok(repository, commit)`
/// says whether a commit exists there.
pub fn answer(
    state: &State,
    operation: &str,
    body: &Value,
    caller: &str,
    commit_ok: &dyn Fn(&str, &str) -> bool,
) -> HttpResponse {
    let result = match operation {
        "PostCommentForPullRequest" => post_for_pull_request(state, body, caller, commit_ok),
        "PostCommentForComparedCommit" => post_for_compared_commit(state, body, caller, commit_ok),
        "UpdateComment" => update_comment(state, body, caller),
        "GetComment" => get_comment(state, body),
        "GetCommentsForPullRequest" => get_comments(state, body, true),
        "GetCommentsForComparedCommit" => get_comments(state, body, false),
        "UpdatePullRequestApprovalState" => update_approval(state, body, caller),
        "GetPullRequestApprovalStates" => get_approvals(state, body),
        other => unreachable!("{other} is not a comment operation"),
    };
    match result {
        Ok(answer) => ok(&answer),
        Err((code, message)) => error(code, &message),
    }
}

type Answer = Result<Value, (&'static str, String)>;

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

fn required<'a>(
    body: &'a Value,
    name: &str,
    code: &'static str,
) -> Result<&'a str, (&'static str, String)> {
    field(body, name).ok_or_else(|| (code, format!("{name} is required, but was not specified.")))
}

fn comment_json(comment: &StoredComment) -> Value {
    json!({
        "commentId": comment.id,
        "content": comment.content,
        "authorArn": comment.author,
        "creationDate": REPOSITORY_DATE,
        "lastModifiedDate": REPOSITORY_DATE + comment.updates as f64,
        "deleted": comment.deleted,
        "clientRequestToken": comment.token,
        "callerReactions": [],
        "reactionCounts": {}
    })
}

fn check_content(body: &Value) -> Result<String, (&'static str, String)> {
    let content = required(body, "content", "CommentContentRequiredException")?;
    let chars = content.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err((
            "CommentContentSizeLimitExceededException",
            format!("The comment is too large. Comments are limited to {MAX_COMMENT_CHARS} characters; this one has {chars}."),
        ));
    }
    Ok(content.to_owned())
}

fn check_commit(
    repository: &str,
    body: &Value,
    name: &str,
    commit_ok: &dyn Fn(&str, &str) -> bool,
) -> Result<Option<String>, (&'static str, String)> {
    let Some(commit) = field(body, name) else {
        return Ok(None);
    };
    if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err((
            "InvalidCommitIdException",
            format!("The specified commit ID {commit} is not valid."),
        ));
    }
    if !commit_ok(repository, commit) {
        return Err((
            "CommitDoesNotExistException",
            format!("Could not find commit {commit} in repository {repository}"),
        ));
    }
    Ok(Some(commit.to_owned()))
}

/// Stores a new comment, or answers the one an earlier call with the same token made.
fn store(
    state: &State,
    body: &Value,
    comment: StoredComment,
) -> Result<StoredComment, (&'static str, String)> {
    let mut store = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned");
    let token = field(body, "clientRequestToken").map(str::to_owned);
    let mut parameters = body.clone();
    if let Some(object) = parameters.as_object_mut() {
        object.remove("clientRequestToken");
    }
    if let Some(token) = &token {
        if let Some((first, index)) = store.tokens.get(token) {
            if *first != parameters {
                return Err((
                    "IdempotencyParameterMismatchException",
                    "The client request token is not valid. Either the token is not in a valid format, or the token has been used in a previous request and cannot be reused.".into(),
                ));
            }
            return Ok(store.comments[*index].clone());
        }
    }
    let comment = StoredComment {
        id: store.next_id(),
        token: token.clone(),
        ..comment
    };
    store.comments.push(comment.clone());
    if let Some(token) = token {
        let index = store.comments.len() - 1;
        store.tokens.insert(token, (parameters, index));
    }
    Ok(comment)
}

/// Pull request `id` as recorded, or the service's error for an unknown one.
pub(super) fn pull_request_of(state: &State, id: &str) -> Result<Value, (&'static str, String)> {
    state
        .pull_requests
        .lock()
        .expect("fake CodeCommit pull requests poisoned")
        .get(id)
        .cloned()
        .ok_or_else(|| {
            (
                "PullRequestDoesNotExistException",
                format!("The pull request ID could not be found. Pull request ID: {id}"),
            )
        })
}

/// The content of a post comparing `before` with `after`, which must differ.
fn check_post(
    body: &Value,
    before: Option<&str>,
    after: &str,
) -> Result<String, (&'static str, String)> {
    if before == Some(after) {
        return Err((
            "BeforeCommitIdAndAfterCommitIdAreSameException",
            "The before commit ID and the after commit ID are the same, which is not valid.".into(),
        ));
    }
    check_content(body)
}

fn post_for_pull_request(
    state: &State,
    body: &Value,
    caller: &str,
    commit_ok: &dyn Fn(&str, &str) -> bool,
) -> Answer {
    let id = required(body, "pullRequestId", "PullRequestIdRequiredException")?;
    let repository = required(body, "repositoryName", "RepositoryNameRequiredException")?;
    let pull_request = pull_request_of(state, id)?;
    if pull_request["pullRequestTargets"][0]["repositoryName"] != repository {
        return Err((
            "RepositoryNotAssociatedWithPullRequestException",
            format!("The repository {repository} is not associated with pull request {id}."),
        ));
    }
    let before = check_commit(repository, body, "beforeCommitId", commit_ok)?.ok_or_else(|| {
        (
            "CommitIdRequiredException",
            "beforeCommitId is required, but was not specified.".to_owned(),
        )
    })?;
    let after = check_commit(repository, body, "afterCommitId", commit_ok)?.ok_or_else(|| {
        (
            "CommitIdRequiredException",
            "afterCommitId is required, but was not specified.".to_owned(),
        )
    })?;
    let content = check_post(body, Some(before.as_str()), &after)?;
    let race = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned")
        .race
        .take();
    if let Some(winner) = race {
        let mut first = body.clone();
        first["content"] = json!(winner);
        post_for_pull_request(state, &first, caller, commit_ok)?;
    }
    let comment = store(
        state,
        body,
        StoredComment {
            id: String::new(),
            repository: repository.to_owned(),
            pull_request: Some(id.to_owned()),
            before: Some(before.clone()),
            after: after.clone(),
            author: caller.to_owned(),
            content,
            updates: 0,
            token: None,
            deleted: false,
        },
    )?;
    Ok(
        json!({"repositoryName": repository, "pullRequestId": id, "beforeCommitId": before,
              "afterCommitId": after, "comment": comment_json(&comment)}),
    )
}

fn post_for_compared_commit(
    state: &State,
    body: &Value,
    caller: &str,
    commit_ok: &dyn Fn(&str, &str) -> bool,
) -> Answer {
    let repository = required(body, "repositoryName", "RepositoryNameRequiredException")?;
    let before = check_commit(repository, body, "beforeCommitId", commit_ok)?;
    let after = check_commit(repository, body, "afterCommitId", commit_ok)?.ok_or_else(|| {
        (
            "CommitIdRequiredException",
            "afterCommitId is required, but was not specified.".to_owned(),
        )
    })?;
    let content = check_post(body, before.as_deref(), &after)?;
    let comment = store(
        state,
        body,
        StoredComment {
            id: String::new(),
            repository: repository.to_owned(),
            pull_request: None,
            before: before.clone(),
            after: after.clone(),
            author: caller.to_owned(),
            content,
            updates: 0,
            token: None,
            deleted: false,
        },
    )?;
    Ok(
        json!({"repositoryName": repository, "beforeCommitId": before, "afterCommitId": after,
              "comment": comment_json(&comment)}),
    )
}

fn update_comment(state: &State, body: &Value, caller: &str) -> Answer {
    let id = required(body, "commentId", "CommentIdRequiredException")?;
    let content = check_content(body)?;
    let mut store = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned");
    let comment = store
        .comments
        .iter_mut()
        .find(|comment| comment.id == id)
        .ok_or_else(|| {
            (
                "CommentDoesNotExistException",
                format!("No comment exists with the provided ID {id}."),
            )
        })?;
    if comment.author != caller {
        return Err(("CommentNotCreatedByCallerException", "You cannot modify or delete this comment. Only comment authors can modify or delete their comments.".into()));
    }
    comment.content = content;
    comment.updates += 1;
    Ok(json!({"comment": comment_json(comment)}))
}

fn get_comment(state: &State, body: &Value) -> Answer {
    let id = required(body, "commentId", "CommentIdRequiredException")?;
    let store = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned");
    let comment = store
        .comments
        .iter()
        .find(|comment| comment.id == id)
        .ok_or_else(|| {
            (
                "CommentDoesNotExistException",
                format!("No comment exists with the provided ID {id}."),
            )
        })?;
    Ok(json!({"comment": comment_json(comment)}))
}

/// `GetCommentsForPullRequest` (`on_pull_request`) or `GetCommentsForComparedCommit`: the
/// matching comments oldest first, a page at a time, grouped by compared commits.
fn get_comments(state: &State, body: &Value, on_pull_request: bool) -> Answer {
    let (before, after) = (field(body, "beforeCommitId"), field(body, "afterCommitId"));
    let pull_request = if on_pull_request {
        let id = required(body, "pullRequestId", "PullRequestIdRequiredException")?;
        if before.is_some() != after.is_some() {
            return Err((
                "CommitIdRequiredException",
                "Both beforeCommitId and afterCommitId are required when either is specified."
                    .into(),
            ));
        }
        Some(id)
    } else {
        required(body, "afterCommitId", "CommitIdRequiredException")?;
        None
    };
    let repository = if on_pull_request {
        field(body, "repositoryName")
    } else {
        Some(required(
            body,
            "repositoryName",
            "RepositoryNameRequiredException",
        )?)
    };
    let (start, page) = page_of(body)?;
    let store = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned");
    let matching: Vec<&StoredComment> = store
        .comments
        .iter()
        .filter(|c| c.pull_request.as_deref() == pull_request)
        .filter(|c| repository.is_none_or(|r| c.repository == r))
        .filter(|c| {
            after.is_none_or(|a| c.after == a) && (after.is_none() || c.before.as_deref() == before)
        })
        .collect();
    let groups = grouped(matching.iter().skip(start).take(page).copied());
    let next = (start + page < matching.len()).then(|| (start + page).to_string());
    let data = if on_pull_request {
        "commentsForPullRequestData"
    } else {
        "commentsForComparedCommitData"
    };
    let mut answer = json!({ data: groups });
    if let Some(next) = next {
        answer["nextToken"] = json!(next);
    }
    Ok(answer)
}

/// The first comment and the size of the page a `GetComments*` request asks for.
fn page_of(body: &Value) -> Result<(usize, usize), (&'static str, String)> {
    let page = match body.get("maxResults").and_then(Value::as_u64) {
        None => MAX_PAGE,
        Some(n) if (1..=MAX_PAGE as u64).contains(&n) => n as usize,
        Some(n) => {
            return Err((
                "InvalidMaxResultsException",
                format!("The specified number of maximum results is not valid: {n}"),
            ))
        }
    };
    let start = match field(body, "nextToken") {
        None => 0,
        Some(token) => token.parse().map_err(|_| {
            (
                "InvalidContinuationTokenException",
                "The specified continuation token is not valid.".to_owned(),
            )
        })?,
    };
    Ok((start, page))
}

/// `comments` in groups of the same compared commits, as `GetComments*` answer them.
fn grouped<'a>(comments: impl Iterator<Item = &'a StoredComment>) -> Vec<Value> {
    let mut groups: Vec<Value> = Vec::new();
    for comment in comments {
        let key = (comment.before.as_deref(), comment.after.as_str());
        let same = groups.last().is_some_and(|group: &Value| {
            (
                group["beforeCommitId"].as_str(),
                group["afterCommitId"].as_str(),
            ) == (key.0, Some(key.1))
        });
        if !same {
            let mut group = json!({"repositoryName": comment.repository, "beforeCommitId": key.0,
                                   "afterCommitId": key.1, "comments": []});
            if let Some(id) = &comment.pull_request {
                group["pullRequestId"] = json!(id);
            }
            groups.push(group);
        }
        let group = groups.last_mut().expect("a group");
        group["comments"]
            .as_array_mut()
            .expect("an array")
            .push(comment_json(comment));
    }
    groups
}

fn update_approval(state: &State, body: &Value, caller: &str) -> Answer {
    let id = required(body, "pullRequestId", "PullRequestIdRequiredException")?;
    let revision = required(body, "revisionId", "RevisionIdRequiredException")?;
    let approval = required(body, "approvalState", "ApprovalStateRequiredException")?;
    if approval != "APPROVE" && approval != "REVOKE" {
        return Err((
            "InvalidApprovalStateException",
            format!("The state for the approval is not valid: {approval}"),
        ));
    }
    let pull_request = pull_request_of(state, id)?;
    if pull_request["revisionId"] != revision {
        return Err(("RevisionNotCurrentException", "The revision ID provided in the request does not match the current revision ID. Use GetPullRequest to retrieve the current revision ID.".into()));
    }
    if pull_request["pullRequestStatus"] == "CLOSED" {
        return Err((
            "PullRequestAlreadyClosedException",
            "The pull request status cannot be updated because it is already closed.".into(),
        ));
    }
    if pull_request["authorArn"] == caller {
        return Err(("PullRequestCannotBeApprovedByAuthorException", "The approval cannot be applied because the user approving the pull request matches the user who created the pull request. You cannot approve a pull request that you created.".into()));
    }
    state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned")
        .approvals
        .entry((id.to_owned(), revision.to_owned()))
        .or_default()
        .insert(caller.to_owned(), approval.to_owned());
    Ok(json!({}))
}

fn get_approvals(state: &State, body: &Value) -> Answer {
    let id = required(body, "pullRequestId", "PullRequestIdRequiredException")?;
    let revision = required(body, "revisionId", "RevisionIdRequiredException")?;
    let store = state
        .comments
        .lock()
        .expect("fake CodeCommit comments poisoned");
    let approvals: Vec<Value> = store
        .approvals
        .get(&(id.to_owned(), revision.to_owned()))
        .map(|states| {
            states
                .iter()
                .map(|(user, state)| json!({"userArn": user, "approvalState": state}))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({ "approvals": approvals }))
}
