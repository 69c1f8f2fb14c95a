//! A fake CodeCommit endpoint: `GetRepositoryTriggers` and `PutRepositoryTriggers` over the
//! AWS JSON 1.1 protocol, with the repositories' triggers held in memory.
//!
//! moto does not implement repository triggers, so the custom resource tests point
//! `AWS_ENDPOINT_URL` here instead.
//!
//! A repository can also be backed by a real git repository
//! ([`LocalCodeCommit::add_git_repository`]): `GetRepository`, `GetBranch`, `GetCommit`,
//! `GetDifferences` and `GetMergeOptions` are then answered by running `git` on it (moto
//! implements none of them). A repository added with [`LocalCodeCommit::add_repository`]
//! only behaves as an empty repository for these: no branches, no commits.
//!
//! `GetPullRequest` answers the pull requests a test recorded with
//! [`LocalCodeCommit::set_pull_request`], with the service's error codes for a missing,
//! malformed or unknown id. Their comments and approvals, and comments on commits, are
//! answered as the service does (see `comments`); so are approval rule templates, their
//! associations, `ListRepositories` and `EvaluatePullRequestApprovalRules` (see
//! `templates`).

use base64::Engine as _;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::git::{GitDir, GitRepo};
use super::http::{self, HttpResponse};

mod comments;
mod templates;
#[allow(unused_imports)] // Each test binary and example uses a different subset.
pub use comments::{caller_of, StoredComment, FUNCTION_ROLE, FUNCTION_SESSION, MAX_COMMENT_CHARS};
#[allow(unused_imports)] // Each test binary and example uses a different subset.
pub use templates::{StoredTemplate, MAX_TEMPLATES_PER_REPOSITORY};

/// The `X-Amz-Target` prefix of every CodeCommit operation.
pub const TARGET_PREFIX: &str = "CodeCommit_20150413.";
/// The most triggers CodeCommit accepts on one repository.
pub const MAX_TRIGGERS: usize = 10;
/// The largest `GetDifferences` page (also its size when `MaxResults` is not given).
pub const MAX_DIFFERENCES_PAGE: usize = 100;
/// Account the fake pretends to be in (error messages and repository metadata).
const ACCOUNT: &str = "123456789012";
/// Region the fake pretends to be in (repository metadata).
const REGION: &str = "us-east-1";
/// `creationDate` and `lastModifiedDate` of every repository (epoch seconds).
const REPOSITORY_DATE: f64 = 1_700_000_000.0;
/// The operations answered from the repositories' triggers.
const TRIGGER_OPERATIONS: [&str; 2] = ["GetRepositoryTriggers", "PutRepositoryTriggers"];
/// The operations answered from a git repository.
pub const GIT_OPERATIONS: [&str; 7] = [
    "GetRepository",
    "ListBranches",
    "GetBranch",
    "GetCommit",
    "GetDifferences",
    "GetMergeOptions",
    "GetFile",
];
/// The largest file `GetFile` returns (6 MB); a larger one is a `FileTooLargeException`.
pub const MAX_GET_FILE_BYTES: usize = 6 * 1024 * 1024;

#[derive(Default)]
struct State {
    repositories: Mutex<HashMap<String, Vec<Value>>>,
    git: Mutex<HashMap<String, GitBacking>>,
    calls: Mutex<Vec<(String, Value)>>,
    denied: Mutex<HashSet<String>>,
    failures: Mutex<HashMap<String, VecDeque<String>>>,
    delays: Mutex<HashMap<String, Duration>>,
    spans: Mutex<Vec<CallSpan>>,
    configuration: AtomicU64,
    pull_requests: Mutex<HashMap<String, Value>>,
    comments: Mutex<comments::Store>,
    templates: Mutex<templates::Store>,
}

/// The git repository behind one CodeCommit repository.
#[derive(Debug, Clone)]
struct GitBacking {
    dir: GitDir,
    default_branch: String,
}

/// When one call arrived and when it was answered ([`LocalCodeCommit::spans`]).
#[derive(Debug, Clone)]
pub struct CallSpan {
    /// The operation, e.g. `GetFile`.
    pub operation: String,
    /// When its request arrived.
    pub received: Instant,
    /// When its answer was ready.
    pub answered: Instant,
}

/// What [`LocalCodeCommit::set_pull_request`] records of a pull request.
#[derive(Debug, Clone, Copy)]
pub struct PullRequestTarget<'a> {
    /// The source reference and its commit.
    pub source: (&'a str, &'a str),
    /// The destination reference and its commit.
    pub destination: (&'a str, &'a str),
    /// `OPEN` or `CLOSED`.
    pub status: &'a str,
    /// Whether it was merged.
    pub merged: bool,
}

/// The running fake; its server task (and all its connections) stop on drop.
pub struct LocalCodeCommit {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl LocalCodeCommit {
    /// Start the fake on `127.0.0.1:<free port>`, with no repositories.
    pub async fn start() -> LocalCodeCommit {
        let (listener, addr) = http::bind_local("fake CodeCommit endpoint").await;
        let state = Arc::new(State::default());
        let handler_state = Arc::clone(&state);
        let server = http::serve(listener, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        LocalCodeCommit {
            addr,
            state,
            server,
        }
    }

    /// Base URL of the fake, e.g. `http://127.0.0.1:PORT` (what `AWS_ENDPOINT_URL` gets).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Create (or replace) pull request `id` of `repository`, from `source` into `destination`
    /// (full references, with their commits), `OPEN` or `CLOSED`, merged or not, as
    /// `GetPullRequest` reports it.
    pub fn set_pull_request(&self, id: &str, repository: &str, target: PullRequestTarget<'_>) {
        let PullRequestTarget {
            source,
            destination,
            status,
            merged,
        } = target;
        let pull_request = json!({
            "pullRequestId": id,
            "title": format!("Pull request {id}"),
            "pullRequestStatus": status,
            "revisionId": format!("{:064x}", id.len()),
            "authorArn": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "creationDate": REPOSITORY_DATE,
            "lastActivityDate": REPOSITORY_DATE,
            "pullRequestTargets": [{
                "repositoryName": repository,
                "sourceReference": source.0,
                "sourceCommit": source.1,
                "destinationReference": destination.0,
                "destinationCommit": destination.1,
                "mergeMetadata": {"isMerged": merged}
            }],
            "approvalRules": []
        });
        self.state
            .pull_requests
            .lock()
            .expect("fake CodeCommit pull requests poisoned")
            .insert(id.to_owned(), pull_request);
    }

    /// Give pull request `id` (recorded with [`LocalCodeCommit::set_pull_request`]) revision
    /// `revision`, as a push to its source branch would.
    pub fn set_revision(&self, id: &str, revision: &str) {
        self.set_pull_request_field(id, "revisionId", revision);
    }

    /// Make `author` the author of pull request `id` (recorded with
    /// [`LocalCodeCommit::set_pull_request`]), who cannot approve it.
    pub fn set_pull_request_author(&self, id: &str, author: &str) {
        self.set_pull_request_field(id, "authorArn", author);
    }

    fn set_pull_request_field(&self, id: &str, field: &str, value: &str) {
        let mut pull_requests = self
            .state
            .pull_requests
            .lock()
            .expect("fake CodeCommit pull requests poisoned");
        let pull_request = pull_requests.get_mut(id).expect("a recorded pull request");
        pull_request[field] = json!(value);
    }

    /// Let another delivery win the race to the next post: just before the next
    /// `PostCommentForPullRequest` is answered, the same caller posts `content` on the same
    /// thread with the same `clientRequestToken`, as a concurrent invocation would have.
    pub fn race_next_post(&self, content: &str) {
        self.state
            .comments
            .lock()
            .expect("fake CodeCommit comments poisoned")
            .race_next_post(content);
    }

    /// Delete comment `id`'s content, as `DeleteCommentContent` does: the comment stays, empty.
    pub fn delete_comment(&self, id: &str) {
        self.state
            .comments
            .lock()
            .expect("fake CodeCommit comments poisoned")
            .delete(id);
    }

    /// Every comment posted, in order.
    pub fn comments(&self) -> Vec<StoredComment> {
        self.state
            .comments
            .lock()
            .expect("fake CodeCommit comments poisoned")
            .comments()
    }

    /// Add a comment as someone else would post it; returns its id.
    pub fn add_comment(&self, comment: StoredComment) -> String {
        self.state
            .comments
            .lock()
            .expect("fake CodeCommit comments poisoned")
            .add(comment)
    }

    /// Who approved `revision` of pull request `id`.
    pub fn approvers(&self, id: &str, revision: &str) -> Vec<String> {
        self.state
            .comments
            .lock()
            .expect("fake CodeCommit comments poisoned")
            .approvers(id, revision)
    }

    /// The approval rule template `name`, if it exists.
    pub fn approval_template(&self, name: &str) -> Option<StoredTemplate> {
        self.templates().template(name)
    }

    /// The repositories approval rule template `name` is associated with, sorted.
    pub fn template_repositories(&self, name: &str) -> Vec<String> {
        self.templates().repositories_of(name)
    }

    /// Put approval rule template `name` in place, as a user would have by hand.
    pub fn add_approval_template(&self, name: &str, description: &str, content: &str) {
        self.templates().insert(name, description, content);
    }

    /// Associate approval rule template `name` with `repository`, as a user would have.
    pub fn associate_template(&self, name: &str, repository: &str) {
        self.templates().associate(name, repository);
    }

    fn templates(&self) -> std::sync::MutexGuard<'_, templates::Store> {
        self.state
            .templates
            .lock()
            .expect("fake CodeCommit templates poisoned")
    }

    /// Create (or replace) repository `name` holding exactly `triggers`, stored as given.
    pub fn add_repository(&self, name: &str, triggers: Vec<Value>) {
        self.state
            .repositories
            .lock()
            .expect("fake CodeCommit repositories poisoned")
            .insert(name.to_owned(), triggers);
    }

    /// The triggers of repository `name` as last written; `None` if it does not exist.
    pub fn triggers(&self, name: &str) -> Option<Vec<Value>> {
        self.state
            .repositories
            .lock()
            .expect("fake CodeCommit repositories poisoned")
            .get(name)
            .cloned()
    }

    /// Every request received so far, in order, as (operation, JSON body).
    ///
    /// The operation is the `X-Amz-Target` suffix, e.g. `PutRepositoryTriggers` (the whole
    /// header if it lacks the CodeCommit prefix); denied and failed calls are included.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state
            .calls
            .lock()
            .expect("fake CodeCommit calls poisoned")
            .clone()
    }

    /// The operation names of [`LocalCodeCommit::calls`], in order.
    pub fn operations(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .map(|(operation, _)| operation)
            .collect()
    }

    /// Answer every later call of `operation` (e.g. `PutRepositoryTriggers`) with
    /// `AccessDeniedException`.
    ///
    /// The error message deliberately does not name the denied action, so a test can tell
    /// whether the caller names the permission it lacks by itself.
    pub fn deny(&self, operation: &str) {
        self.state
            .denied
            .lock()
            .expect("fake CodeCommit deny list poisoned")
            .insert(operation.to_owned());
    }

    /// Back repository `name` by `repo`: the git operations ([`GIT_OPERATIONS`]) on `name`
    /// are answered by running `git` on `repo` at the time of each call, so commits made
    /// later are seen. `GetRepository` reports `repo`'s [`GitRepo::default_branch`].
    ///
    /// `name` also exists for the trigger operations (with no triggers unless
    /// [`LocalCodeCommit::add_repository`] gave it some). `repo` must outlive the calls:
    /// once it is dropped its directory is gone and the git operations fail with
    /// `InternalFailure` (status 500).
    pub fn add_git_repository(&self, name: &str, repo: &GitRepo) {
        self.state
            .repositories
            .lock()
            .expect("fake CodeCommit repositories poisoned")
            .entry(name.to_owned())
            .or_default();
        self.state
            .git
            .lock()
            .expect("fake CodeCommit git repositories poisoned")
            .insert(
                name.to_owned(),
                GitBacking {
                    dir: repo.dir(),
                    default_branch: repo.default_branch().to_owned(),
                },
            );
    }

    /// Answer the next `times` calls of `operation` (e.g. `GetCommit`) with the error
    /// `code`, before anything else is checked; later calls are answered normally.
    ///
    /// Calls queue up: `fail(op, "A", 1)` then `fail(op, "B", 2)` answers A, B, B. The status
    /// is 503 for `ServiceUnavailableException`, 500 for `InternalFailure`, 400 otherwise
    /// (`ThrottlingException` included). The SDK retries throttling and 5xx errors by itself,
    /// and every attempt consumes one failure.
    pub fn fail(&self, operation: &str, code: &str, times: usize) {
        self.state
            .failures
            .lock()
            .expect("fake CodeCommit failures poisoned")
            .entry(operation.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(code.to_owned(), times));
    }
}

impl LocalCodeCommit {
    /// Hold every answer to `operation` for `by` before sending it, as a slow service would.
    pub fn delay(&self, operation: &str, by: Duration) {
        self.state
            .delays
            .lock()
            .expect("fake CodeCommit delays poisoned")
            .insert(operation.to_owned(), by);
    }

    /// When each call so far arrived and was answered, in the order they were answered.
    pub fn spans(&self) -> Vec<CallSpan> {
        self.state
            .spans
            .lock()
            .expect("fake CodeCommit spans poisoned")
            .clone()
    }
}

impl Drop for LocalCodeCommit {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Answers one request, held for the operation's delay if it has one, noting its span.
async fn handle(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
    let received = Instant::now();
    let operation = request
        .headers()
        .get("x-amz-target")
        .map(|target| String::from_utf8_lossy(target.as_bytes()).into_owned())
        .unwrap_or_default()
        .trim_start_matches(TARGET_PREFIX)
        .to_owned();
    let delay = state
        .delays
        .lock()
        .expect("fake CodeCommit delays poisoned")
        .get(&operation)
        .copied();
    let answer = answer(Arc::clone(&state), request).await;
    if let Some(delay) = delay {
        tokio::time::sleep_until((received + delay).into()).await;
    }
    state
        .spans
        .lock()
        .expect("fake CodeCommit spans poisoned")
        .push(CallSpan {
            operation,
            received,
            answered: Instant::now(),
        });
    answer
}

/// The answer to one request.
async fn answer(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return http::text(
                StatusCode::BAD_REQUEST,
                format!("fake CodeCommit could not read the request body: {err}"),
            )
        }
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .map(|target| String::from_utf8_lossy(target.as_bytes()).into_owned())
        .unwrap_or_default();
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or(&target)
        .to_owned();
    let body = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    state
        .calls
        .lock()
        .expect("fake CodeCommit calls poisoned")
        .push((operation.clone(), body.clone()));

    if parts.method != Method::POST || parts.uri.path() != "/" {
        return error(
            "UnknownOperationException",
            &format!(
                "the fake CodeCommit only answers POST /, not {} {}",
                parts.method,
                parts.uri.path()
            ),
        );
    }
    if target.starts_with(TARGET_PREFIX) {
        let injected = state
            .failures
            .lock()
            .expect("fake CodeCommit failures poisoned")
            .get_mut(&operation)
            .and_then(VecDeque::pop_front);
        if let Some(code) = injected {
            return injected_error(&code);
        }
    }
    let known = TRIGGER_OPERATIONS.contains(&operation.as_str())
        || GIT_OPERATIONS.contains(&operation.as_str())
        || comments::OPERATIONS.contains(&operation.as_str())
        || templates::OPERATIONS.contains(&operation.as_str())
        || operation == "GetPullRequest";
    if !target.starts_with(TARGET_PREFIX) || !known {
        return error(
            "UnknownOperationException",
            &format!("the fake CodeCommit does not implement X-Amz-Target {target:?}"),
        );
    }
    let denied = state
        .denied
        .lock()
        .expect("fake CodeCommit deny list poisoned")
        .contains(&operation);
    if denied {
        return error(
            "AccessDeniedException",
            &format!(
                "User: arn:aws:sts::{ACCOUNT}:assumed-role/trigger-installer/test \
                 is not authorized to perform this operation (denied by the test)"
            ),
        );
    }
    if operation == "GetPullRequest" {
        return get_pull_request(&state, &body);
    }
    if templates::OPERATIONS.contains(&operation.as_str()) {
        return templates::answer(&state, &operation, &body);
    }
    if comments::OPERATIONS.contains(&operation.as_str()) {
        let caller = comments::caller_of(&access_key(&parts.headers));
        return answer_comments(state, operation, body, caller).await;
    }
    let Some(repository) = body
        .get("repositoryName")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
    else {
        return error(
            "RepositoryNameRequiredException",
            "A repository name is required, but was not specified.",
        );
    };

    if GIT_OPERATIONS.contains(&operation.as_str()) {
        return answer_from_git(&state, operation, repository.to_owned(), body).await;
    }

    answer_triggers(&state, &operation, repository, &body)
}

/// `GetRepositoryTriggers` or `PutRepositoryTriggers` on `repository`.
fn answer_triggers(state: &State, operation: &str, repository: &str, body: &Value) -> HttpResponse {
    let mut repositories = state
        .repositories
        .lock()
        .expect("fake CodeCommit repositories poisoned");
    let Some(triggers) = repositories.get_mut(repository) else {
        return error(
            "RepositoryDoesNotExistException",
            &format!("{repository} does not exist"),
        );
    };
    let configuration_id = format!(
        "00000000-0000-4000-8000-{:012x}",
        state.configuration.fetch_add(1, Ordering::SeqCst)
    );
    if operation == "GetRepositoryTriggers" {
        return ok(&json!({ "configurationId": configuration_id, "triggers": triggers }));
    }

    let Some(new_triggers) = body.get("triggers").and_then(Value::as_array) else {
        return error(
            "RepositoryTriggersListRequiredException",
            "The list of triggers for the repository is required, but was not specified.",
        );
    };
    if new_triggers.len() > MAX_TRIGGERS {
        return error(
            "MaximumRepositoryTriggersExceededException",
            &format!(
                "The number of triggers allowed for the repository was exceeded: \
                 {} triggers given, at most {MAX_TRIGGERS} allowed",
                new_triggers.len()
            ),
        );
    }
    triggers.clone_from(new_triggers);
    ok(&json!({ "configurationId": configuration_id }))
}

/// The access key id a request was signed with (`Authorization: AWS4-HMAC-SHA256
/// Credential=KEY/...`); empty if unsigned.
pub(crate) fn access_key(headers: &hyper::HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

/// A comment or approval operation, on the blocking pool (checking commits runs `git`).
async fn answer_comments(
    state: Arc<State>,
    operation: String,
    body: Value,
    caller: String,
) -> HttpResponse {
    tokio::task::spawn_blocking(move || {
        let commit_ok = |repository: &str, commit: &str| {
            let backing = state
                .git
                .lock()
                .expect("fake CodeCommit git repositories poisoned")
                .get(repository)
                .cloned();
            let repo = Repository {
                name: repository,
                git: backing.as_ref(),
            };
            backing.is_none() || repo.commit_id(commit).as_deref() == Some(commit)
        };
        comments::answer(&state, &operation, &body, &caller, &commit_ok)
    })
    .await
    .unwrap_or_else(|err| {
        error_with_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            &format!("the fake CodeCommit failed answering {err}"),
        )
    })
}

/// `GetPullRequest`: the pull request as [`LocalCodeCommit::set_pull_request`] left it, with
/// the service's errors for a missing, malformed or unknown id.
fn get_pull_request(state: &State, body: &Value) -> HttpResponse {
    let Some(id) = body.get("pullRequestId").and_then(Value::as_str) else {
        return error(
            "PullRequestIdRequiredException",
            "A pull request ID is required, but none was provided.",
        );
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return error(
            "InvalidPullRequestIdException",
            "The pull request ID is not valid. Make sure that you have provided the full ID and \
             that the pull request is in the specified repository, and then try again.",
        );
    }
    match state
        .pull_requests
        .lock()
        .expect("fake CodeCommit pull requests poisoned")
        .get(id)
    {
        Some(pull_request) => ok(&json!({ "pullRequest": pull_request })),
        None => error(
            "PullRequestDoesNotExistException",
            &format!("The pull request ID could not be found. Pull request ID: {id}"),
        ),
    }
}

/// A successful AWS JSON 1.1 answer.
fn ok(body: &Value) -> HttpResponse {
    http::response(
        StatusCode::OK,
        "application/x-amz-json-1.1",
        body.to_string(),
    )
}

/// An AWS JSON 1.1 error answer (status 400) with code `code`.
fn error(code: &str, message: &str) -> HttpResponse {
    error_with_status(StatusCode::BAD_REQUEST, code, message)
}

/// The answer to a call [`LocalCodeCommit::fail`] queued an error for.
fn injected_error(code: &str) -> HttpResponse {
    let status = match code {
        "ServiceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
        "InternalFailure" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = if code == "ThrottlingException" {
        "Rate exceeded".to_owned()
    } else {
        format!("{code} (injected by the test)")
    };
    error_with_status(status, code, &message)
}

/// An AWS JSON 1.1 error answer with status `status` and code `code`.
fn error_with_status(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = json!({ "__type": code, "message": message });
    let mut response = http::response(status, "application/x-amz-json-1.1", body.to_string());
    let headers = response.headers_mut();
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_str(code).expect("an error code is a valid header value"),
    );
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("fake-codecommit"),
    );
    response
}

/// Answer a git operation on `repository` (its name already checked for presence).
///
/// git runs on the blocking pool so a slow command never stalls the other connections; a
/// panic there (git failing unexpectedly) becomes an `InternalFailure` answer (status 500).
async fn answer_from_git(
    state: &State,
    operation: String,
    repository: String,
    body: Value,
) -> HttpResponse {
    let backing = state
        .git
        .lock()
        .expect("fake CodeCommit git repositories poisoned")
        .get(&repository)
        .cloned();
    let exists = backing.is_some()
        || state
            .repositories
            .lock()
            .expect("fake CodeCommit repositories poisoned")
            .contains_key(&repository);
    if !exists {
        return error(
            "RepositoryDoesNotExistException",
            &format!("{repository} does not exist"),
        );
    }
    let answered = tokio::task::spawn_blocking(move || {
        let repo = Repository {
            name: &repository,
            git: backing.as_ref(),
        };
        let answer = match operation.as_str() {
            "GetRepository" => Ok(get_repository(&repo)),
            "GetBranch" => get_branch(&repo, &body),
            "ListBranches" => Ok(list_branches(&repo)),
            "GetCommit" => get_commit(&repo, &body),
            "GetDifferences" => get_differences(&repo, &body),
            "GetMergeOptions" => get_merge_options(&repo, &body),
            "GetFile" => get_file(&repo, &body),
            other => unreachable!("{other} is not a git operation"),
        };
        match answer {
            Ok(answer) => ok(&answer),
            Err(rejection) => error(rejection.code, &rejection.message),
        }
    })
    .await;
    answered.unwrap_or_else(|err| {
        error_with_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            &format!("the fake CodeCommit failed running git: {err}"),
        )
    })
}

/// A git operation's error answer (status 400), before it is rendered.
#[derive(Debug)]
struct Rejection {
    code: &'static str,
    message: String,
}

/// A [`Rejection`] with `code` and `message`.
fn reject(code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
    }
}

/// A repository a git operation is about; `git` is `None` for a repository with triggers
/// only, which behaves as an empty repository.
struct Repository<'a> {
    name: &'a str,
    git: Option<&'a GitBacking>,
}

impl Repository<'_> {
    /// The full id of the commit `revision` names (`git rev-parse --verify`), if any.
    fn commit_id(&self, revision: &str) -> Option<String> {
        let git = self.git?;
        if revision.is_empty() {
            return None;
        }
        let output = git.dir.output(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{revision}^{{commit}}"),
        ]);
        output.status.success().then(|| stdout(&output.stdout))
    }

    /// Resolve the specifier in `body[field]` (commit id, branch or tag) to a commit id;
    /// rejected with `required` when it is missing, `unknown` when it names no commit.
    fn resolve(
        &self,
        body: &Value,
        field: &str,
        required: &'static str,
        unknown: &'static str,
    ) -> Result<String, Rejection> {
        let Some(specifier) = string_field(body, field) else {
            return Err(reject(
                required,
                format!("{field} is required, but was not specified."),
            ));
        };
        self.commit_id(specifier).ok_or_else(|| {
            reject(
                unknown,
                format!(
                    "Could not find commit {specifier} in repository {}",
                    self.name
                ),
            )
        })
    }

    /// The git repository; only called once a commit resolved, which needs one.
    fn dir(&self) -> &GitDir {
        &self
            .git
            .expect("a commit resolved in a repository without git")
            .dir
    }
}

/// `body[field]` if it is a non-empty string.
fn string_field<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

/// A git command's stdout as a trimmed string.
fn stdout(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

/// `GetRepository`: fixed metadata, with `defaultBranch` only once that branch has a
/// commit (CodeCommit omits it for an empty repository).
fn get_repository(repo: &Repository<'_>) -> Value {
    let name = repo.name;
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    let repository_id = format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    let mut metadata = json!({
        "accountId": ACCOUNT,
        "repositoryId": repository_id,
        "repositoryName": name,
        "Arn": format!("arn:aws:codecommit:{REGION}:{ACCOUNT}:{name}"),
        "cloneUrlHttp": format!("https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{name}"),
        "cloneUrlSsh": format!("ssh://git-codecommit.{REGION}.amazonaws.com/v1/repos/{name}"),
        "lastModifiedDate": REPOSITORY_DATE,
        "creationDate": REPOSITORY_DATE,
    });
    if let Some(git) = repo.git {
        if repo
            .commit_id(&format!("refs/heads/{}", git.default_branch))
            .is_some()
        {
            metadata["defaultBranch"] = json!(git.default_branch);
        }
    }
    json!({ "repositoryMetadata": metadata })
}

/// `ListBranches`: the branches' names, in one page (none in an empty repository).
fn list_branches(repo: &Repository<'_>) -> Value {
    let branches: Vec<String> = match repo.git {
        None => Vec::new(),
        Some(git) => stdout(
            &git.dir
                .output(&["for-each-ref", "--format=%(refname:short)", "refs/heads"])
                .stdout,
        )
        .lines()
        .map(str::to_owned)
        .collect(),
    };
    json!({ "branches": branches })
}

/// `GetBranch`: the branch's tip commit.
fn get_branch(repo: &Repository<'_>, body: &Value) -> Result<Value, Rejection> {
    let Some(branch) = string_field(body, "branchName") else {
        return Err(reject(
            "BranchNameRequiredException",
            "A branch name is required, but was not specified.",
        ));
    };
    let commit_id = repo
        .commit_id(&format!("refs/heads/{branch}"))
        .ok_or_else(|| {
            reject(
                "BranchDoesNotExistException",
                format!("Could not find branch {branch} in repository {}", repo.name),
            )
        })?;
    Ok(json!({ "branch": { "branchName": branch, "commitId": commit_id } }))
}

/// `GetFile`: the blob at `filePath` in the commit `commitSpecifier` names (the default
/// branch's head when it is not given), base64 as the JSON protocol carries it.
fn get_file(repo: &Repository<'_>, body: &Value) -> Result<Value, Rejection> {
    let Some(path) = string_field(body, "filePath") else {
        return Err(reject(
            "PathRequiredException",
            "The folderPath for the location cannot be null.",
        ));
    };
    let relative = path.trim_start_matches('/');
    if relative.is_empty()
        || relative
            .split('/')
            .any(|part| matches!(part, "" | "." | ".."))
    {
        return Err(reject(
            "InvalidPathException",
            format!("The specified path {path} is not valid."),
        ));
    }
    let commit_id = match string_field(body, "commitSpecifier") {
        Some(_) => repo.resolve(
            body,
            "commitSpecifier",
            "CommitRequiredException",
            "CommitDoesNotExistException",
        )?,
        None => {
            let default = repo
                .git
                .map(|git| format!("refs/heads/{}", git.default_branch))
                .unwrap_or_default();
            repo.commit_id(&default).ok_or_else(|| {
                reject(
                    "CommitDoesNotExistException",
                    format!("The repository {} has no commits.", repo.name),
                )
            })?
        }
    };
    let missing = || {
        reject(
            "FileDoesNotExistException",
            format!(
                "The specified file {path} does not exist at commit {commit_id} in repository {}.",
                repo.name
            ),
        )
    };
    let listed = repo
        .dir()
        .output(&["ls-tree", "-z", "--full-tree", &commit_id, "--", relative]);
    let entry = String::from_utf8_lossy(&listed.stdout);
    let (meta, listed_path) = entry
        .trim_end_matches('\0')
        .split_once('\t')
        .ok_or_else(missing)?;
    let [mode, kind, blob] = meta.split(' ').collect::<Vec<_>>()[..] else {
        return Err(missing());
    };
    if kind != "blob" || listed_path != relative {
        return Err(missing());
    }
    let content = repo.dir().output(&["cat-file", "blob", blob]).stdout;
    if content.len() > MAX_GET_FILE_BYTES {
        return Err(reject(
            "FileTooLargeException",
            format!("The file {path} exceeds the maximum size of 6 MB for GetFile."),
        ));
    }
    let file_mode = match mode {
        "120000" => "SYMLINK",
        "100755" => "EXECUTABLE",
        _ => "NORMAL",
    };
    Ok(json!({
        "commitId": commit_id,
        "blobId": blob,
        "filePath": relative,
        "fileMode": file_mode,
        "fileSize": content.len(),
        "fileContent": base64::engine::general_purpose::STANDARD.encode(&content),
    }))
}

/// `GetCommit`: the commit object as `git cat-file commit` prints it.
fn get_commit(repo: &Repository<'_>, body: &Value) -> Result<Value, Rejection> {
    let commit_id = repo.resolve(
        body,
        "commitId",
        "CommitIdRequiredException",
        "CommitIdDoesNotExistException",
    )?;
    let output = repo.dir().output(&["cat-file", "commit", &commit_id]);
    assert!(
        output.status.success(),
        "`git cat-file commit {commit_id}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let raw = String::from_utf8_lossy(&output.stdout);
    Ok(json!({ "commit": parse_commit(&commit_id, &raw) }))
}

/// A raw commit object (headers, blank line, message) as CodeCommit's `Commit` shape.
fn parse_commit(commit_id: &str, raw: &str) -> Value {
    // The message is kept byte for byte, with the final newline git stores.
    let (headers, message) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut commit = Map::new();
    commit.insert("commitId".to_owned(), json!(commit_id));
    let mut parents = Vec::new();
    // Continuation lines (of gpgsig, mergetag) start with a space and never match a key.
    for line in headers.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "tree" => {
                commit.insert("treeId".to_owned(), json!(value));
            }
            "parent" => parents.push(json!(value)),
            "author" | "committer" => {
                commit.insert(key.to_owned(), user_info(value));
            }
            _ => {}
        }
    }
    commit.insert("parents".to_owned(), Value::Array(parents));
    commit.insert("message".to_owned(), json!(message));
    commit.insert("additionalData".to_owned(), json!(""));
    Value::Object(commit)
}

/// `Name <email> 1700000060 +0000` as CodeCommit's `UserInfo` (the date stays git's
/// `<epoch seconds> <offset>` string, as CodeCommit gives it).
fn user_info(identity: &str) -> Value {
    let open = identity.find('<').unwrap_or(identity.len());
    let close = identity[open..]
        .find('>')
        .map_or(identity.len(), |close| open + close);
    json!({
        "name": identity[..open].trim(),
        "email": identity.get(open + 1..close).unwrap_or(""),
        "date": identity.get(close + 1..).unwrap_or("").trim(),
    })
}

/// `GetDifferences`: `git diff-tree -r --no-renames` between the two commits (from the
/// empty tree without `beforeCommitSpecifier`), paged by `MaxResults`/`NextToken`.
///
/// `beforePath`/`afterPath`, when given, limit the diff to those paths (literal pathspecs;
/// a directory matches everything below it).
fn get_differences(repo: &Repository<'_>, body: &Value) -> Result<Value, Rejection> {
    let after = repo.resolve(
        body,
        "afterCommitSpecifier",
        "CommitRequiredException",
        "CommitDoesNotExistException",
    )?;
    let before = if string_field(body, "beforeCommitSpecifier").is_some() {
        repo.resolve(
            body,
            "beforeCommitSpecifier",
            "CommitRequiredException",
            "CommitDoesNotExistException",
        )?
    } else {
        // `--stdin` with stdin closed: the id of the empty tree (git knows that tree
        // without storing it).
        repo.dir().run(&["hash-object", "-t", "tree", "--stdin"])
    };
    let page_size = match body.get("MaxResults") {
        None | Some(Value::Null) => MAX_DIFFERENCES_PAGE,
        Some(value) => value
            .as_u64()
            .filter(|&n| n >= 1)
            .map(|n| {
                usize::try_from(n).map_or(MAX_DIFFERENCES_PAGE, |n| n.min(MAX_DIFFERENCES_PAGE))
            })
            .ok_or_else(|| {
                reject(
                    "InvalidMaxResultsException",
                    format!("MaxResults must be a positive integer, not {value}"),
                )
            })?,
    };
    let mut paths: Vec<&str> = ["beforePath", "afterPath"]
        .into_iter()
        .filter_map(|field| string_field(body, field))
        .collect();
    paths.dedup();
    let differences = diff(repo.dir(), &before, &after, &paths);

    let offset = match string_field(body, "NextToken") {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|&offset| offset > 0 && offset < differences.len())
            .ok_or_else(|| {
                reject(
                    "InvalidContinuationTokenException",
                    format!("The continuation token {token:?} is not valid."),
                )
            })?,
    };
    let end = differences.len().min(offset + page_size);
    let mut answer = json!({ "differences": &differences[offset..end] });
    if end < differences.len() {
        answer["NextToken"] = json!(format!("page-{end}"));
    }
    Ok(answer)
}

/// The changed files between two tree-ishes as CodeCommit `Difference`s, in git's order
/// (by path).
fn diff(dir: &GitDir, before: &str, after: &str, paths: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "--literal-pathspecs",
        "diff-tree",
        "-r",
        "--no-renames",
        "--no-abbrev",
        "--raw",
        "-z",
        before,
        after,
    ];
    if !paths.is_empty() {
        args.push("--");
        args.extend_from_slice(paths);
    }
    let output = dir.output(&args);
    assert!(
        output.status.success(),
        "`git {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    // `:<old mode> <new mode> <old blob> <new blob> <status>` NUL `<path>` NUL, repeated.
    let mut fields = output
        .stdout
        .split(|&byte| byte == 0)
        .map(|field| String::from_utf8_lossy(field).into_owned());
    let mut differences = Vec::new();
    while let Some(header) = fields.next() {
        let Some(header) = header.strip_prefix(':') else {
            continue;
        };
        let path = fields.next().expect("git diff-tree printed no path");
        let parts: Vec<&str> = header.split(' ').collect();
        let [old_mode, new_mode, old_blob, new_blob, status] = parts[..] else {
            panic!("unexpected git diff-tree line {header:?}");
        };
        let blob =
            |blob_id: &str, mode: &str| json!({ "blobId": blob_id, "path": path, "mode": mode });
        let change_type = match status {
            "A" => "A",
            "D" => "D",
            // Content, mode or type changes: CodeCommit only knows A, M and D.
            _ => "M",
        };
        let mut difference = Map::new();
        if change_type != "A" {
            difference.insert("beforeBlob".to_owned(), blob(old_blob, old_mode));
        }
        if change_type != "D" {
            difference.insert("afterBlob".to_owned(), blob(new_blob, new_mode));
        }
        difference.insert("changeType".to_owned(), json!(change_type));
        differences.push(Value::Object(difference));
    }
    differences
}

/// `GetMergeOptions`: the merge base from `git merge-base`; fast-forward is offered when
/// the destination is that base.
///
/// Unrelated histories (no merge base) are rejected with `CommitDoesNotExistException`,
/// its message saying there is no common ancestor.
fn get_merge_options(repo: &Repository<'_>, body: &Value) -> Result<Value, Rejection> {
    let source = repo.resolve(
        body,
        "sourceCommitSpecifier",
        "CommitRequiredException",
        "CommitDoesNotExistException",
    )?;
    let destination = repo.resolve(
        body,
        "destinationCommitSpecifier",
        "CommitRequiredException",
        "CommitDoesNotExistException",
    )?;
    let checks = [
        (
            "conflictDetailLevel",
            &["FILE_LEVEL", "LINE_LEVEL"][..],
            "InvalidConflictDetailLevelException",
        ),
        (
            "conflictResolutionStrategy",
            &["NONE", "ACCEPT_SOURCE", "ACCEPT_DESTINATION", "AUTOMERGE"][..],
            "InvalidConflictResolutionStrategyException",
        ),
    ];
    for (field, allowed, code) in checks {
        if let Some(value) = body.get(field).filter(|value| !value.is_null()) {
            if !value.as_str().is_some_and(|value| allowed.contains(&value)) {
                return Err(reject(code, format!("{field} {value} is not valid.")));
            }
        }
    }
    let output = repo.dir().output(&["merge-base", &source, &destination]);
    if !output.status.success() {
        assert!(
            output.status.code() == Some(1) && output.stderr.is_empty(),
            "`git merge-base {source} {destination}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return Err(reject(
            "CommitDoesNotExistException",
            format!(
                "Commits {source} and {destination} have no common ancestor in repository {}",
                repo.name
            ),
        ));
    }
    let base = stdout(&output.stdout);
    let mut options = Vec::new();
    if base == destination {
        options.push("FAST_FORWARD_MERGE");
    }
    options.extend(["SQUASH_MERGE", "THREE_WAY_MERGE"]);
    Ok(json!({
        "mergeOptions": options,
        "sourceCommitId": source,
        "destinationCommitId": destination,
        "baseCommitId": base,
    }))
}
