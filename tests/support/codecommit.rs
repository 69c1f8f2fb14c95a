//! A fake CodeCommit endpoint: `GetRepositoryTriggers` and `PutRepositoryTriggers` over the
//! AWS JSON 1.1 protocol, with the repositories' triggers held in memory.
//!
//! moto does not implement repository triggers, so the custom resource tests point
//! `AWS_ENDPOINT_URL` here instead.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::http::{self, HttpResponse};

/// The `X-Amz-Target` prefix of every CodeCommit operation.
pub const TARGET_PREFIX: &str = "CodeCommit_20150413.";
/// The most triggers CodeCommit accepts on one repository.
pub const MAX_TRIGGERS: usize = 10;
/// Account the fake pretends to be in (used in error messages only).
const ACCOUNT: &str = "123456789012";

#[derive(Default)]
struct State {
    repositories: Mutex<HashMap<String, Vec<Value>>>,
    calls: Mutex<Vec<(String, Value)>>,
    denied: Mutex<HashSet<String>>,
    configuration: AtomicU64,
}

/// The running fake; its server task (and all its connections) stop on drop.
pub struct FakeCodeCommit {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl FakeCodeCommit {
    /// Start the fake on `127.0.0.1:<free port>`, with no repositories.
    pub async fn start() -> FakeCodeCommit {
        let (listener, addr) = http::bind_local("fake CodeCommit endpoint").await;
        let state = Arc::new(State::default());
        let handler_state = Arc::clone(&state);
        let server = http::serve(listener, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        FakeCodeCommit {
            addr,
            state,
            server,
        }
    }

    /// Base URL of the fake, e.g. `http://127.0.0.1:PORT` (what `AWS_ENDPOINT_URL` gets).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
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

    /// The operation names of [`FakeCodeCommit::calls`], in order.
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
}

impl Drop for FakeCodeCommit {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
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
    let known = matches!(
        operation.as_str(),
        "GetRepositoryTriggers" | "PutRepositoryTriggers"
    );
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

/// A successful AWS JSON 1.1 answer.
fn ok(body: &Value) -> HttpResponse {
    http::response(
        StatusCode::OK,
        "application/x-amz-json-1.1",
        body.to_string(),
    )
}

/// An AWS JSON 1.1 error answer (status 400) with code `code`.
fn error(code: &'static str, message: &str) -> HttpResponse {
    let body = json!({ "__type": code, "message": message });
    let mut response = http::response(
        StatusCode::BAD_REQUEST,
        "application/x-amz-json-1.1",
        body.to_string(),
    );
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("fake-codecommit"),
    );
    response
}
