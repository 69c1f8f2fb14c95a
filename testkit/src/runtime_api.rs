//! A local emulator of the Lambda Runtime API (version 2018-06-01).
//!
//! The function binary polls `GET /2018-06-01/runtime/invocation/next` and posts its answer
//! to `.../invocation/{id}/response` or `.../invocation/{id}/error`, exactly as in AWS.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::http::{self, HttpResponse};

/// ARN announced in `Lambda-Runtime-Invoked-Function-Arn`.
pub const FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:codecommit-build-trigger";
/// How far in the future `Lambda-Runtime-Deadline-Ms` lies, unless the invocation says
/// otherwise ([`RuntimeApi::invoke_with_deadline`]): the template's function timeout.
pub const DEADLINE: Duration = Duration::from_secs(30);

const PREFIX: &str = "/2018-06-01/runtime/";

/// An error the function reported, from the `{"errorType", "errorMessage"}` body it posted.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    /// `errorType` (empty if the body had none).
    pub error_type: String,
    /// `errorMessage` (the raw body if it was not JSON).
    pub error_message: String,
}

impl FunctionError {
    fn from_body(raw: &str) -> FunctionError {
        match serde_json::from_str::<Value>(raw) {
            Ok(body) => {
                let field = |name: &str| {
                    body.get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                FunctionError {
                    error_type: field("errorType"),
                    error_message: field("errorMessage"),
                }
            }
            Err(_) => FunctionError {
                error_type: String::new(),
                error_message: raw.to_owned(),
            },
        }
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for FunctionError {}

/// What the function answered for one invocation.
type Outcome = Result<Value, FunctionError>;

/// An event waiting to be handed out by `/next`.
struct Queued {
    request_id: String,
    body: Bytes,
    /// The invocation's time, from when `/next` hands it out (Lambda's function timeout).
    deadline: Duration,
}

struct State {
    queue_tx: mpsc::UnboundedSender<Queued>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    polls: AtomicUsize,
    /// When the first `GET /next` arrived: the end of the function's init.
    first_poll_at: Mutex<Option<Instant>>,
    init_error: Mutex<Option<FunctionError>>,
    error_bodies: Mutex<Vec<String>>,
    next_id: AtomicU64,
}

/// The running emulator; its server task (and all its connections) stop on drop.
pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Start the emulator on `127.0.0.1:<free port>`.
    pub async fn start() -> RuntimeApi {
        let (listener, addr) = http::bind_local("Lambda Runtime API emulator").await;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            pending: Mutex::new(HashMap::new()),
            polls: AtomicUsize::new(0),
            first_poll_at: Mutex::new(None),
            init_error: Mutex::new(None),
            error_bodies: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        });
        let handler_state = Arc::clone(&state);
        let server = http::serve(listener, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        RuntimeApi {
            addr,
            state,
            server,
        }
    }

    /// Socket address of the emulator (what `AWS_LAMBDA_RUNTIME_API` gets, without scheme).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queue `event` and wait for the function's answer; panics if none comes within `timeout`.
    pub async fn invoke(&self, event: &Value, timeout: Duration) -> Result<Value, FunctionError> {
        match self.try_invoke(event, timeout).await {
            Some(outcome) => outcome,
            None => panic!(
                "the function did not answer an invocation within {timeout:?} \
                 (GET /next calls so far: {}; init error: {:?})",
                self.poll_count(),
                self.init_error()
            ),
        }
    }

    /// Queue `event` with `deadline` as the invocation's time (`Lambda-Runtime-Deadline-Ms`
    /// is `deadline` after `/next` hands it out) and wait for the answer; panics if none
    /// comes within `deadline` plus 10 s.
    pub async fn invoke_with_deadline(
        &self,
        event: &Value,
        deadline: Duration,
    ) -> Result<Value, FunctionError> {
        let timeout = deadline + Duration::from_secs(10);
        match self.invoker().try_invoke(event, deadline, timeout).await {
            Some(outcome) => outcome,
            None => panic!(
                "the function did not answer an invocation with a {deadline:?} deadline within \
                 {timeout:?} (GET /next calls so far: {}; init error: {:?})",
                self.poll_count(),
                self.init_error()
            ),
        }
    }

    /// Like [`RuntimeApi::invoke`], but returns `None` instead of panicking on timeout.
    ///
    /// An event that was not handed out before the timeout is withdrawn.
    pub async fn try_invoke(
        &self,
        event: &Value,
        timeout: Duration,
    ) -> Option<Result<Value, FunctionError>> {
        self.invoker().try_invoke(event, DEADLINE, timeout).await
    }

    /// A handle that queues invocations here, for servers that invoke the function on
    /// someone's behalf (the fake Lambda `Invoke` endpoint). Once the emulator is dropped,
    /// the handle's invocations are never answered.
    pub fn invoker(&self) -> Invoker {
        Invoker {
            state: Arc::clone(&self.state),
            port: self.addr.port(),
        }
    }

    /// The error the function posted to `/runtime/init/error`, if any.
    pub fn init_error(&self) -> Option<FunctionError> {
        self.state
            .init_error
            .lock()
            .expect("runtime API state poisoned")
            .clone()
    }

    /// Raw bodies of every `/invocation/{id}/error` and `/init/error` post, in order.
    pub fn error_bodies(&self) -> Vec<String> {
        self.state
            .error_bodies
            .lock()
            .expect("runtime API state poisoned")
            .clone()
    }

    /// Wait until the function has called `GET /next` at least once; `false` on timeout.
    pub async fn wait_first_poll(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.poll_count() == 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// When the function first called `GET /next`, if it has.
    pub fn first_poll_at(&self) -> Option<Instant> {
        *self
            .state
            .first_poll_at
            .lock()
            .expect("runtime API state poisoned")
    }

    /// How many times the function has called `GET /next` (including a poll still waiting).
    pub fn poll_count(&self) -> usize {
        self.state.polls.load(Ordering::SeqCst)
    }
}

/// Queues invocations on a [`RuntimeApi`] ([`RuntimeApi::invoker`]).
#[derive(Clone)]
pub struct Invoker {
    state: Arc<State>,
    port: u16,
}

impl Invoker {
    /// Queue `event` with `deadline` as the invocation's time and wait for the function's
    /// answer; `None` if none comes within `timeout`. An event that was not handed out
    /// before the timeout is withdrawn.
    pub async fn try_invoke(
        &self,
        event: &Value,
        deadline: Duration,
        timeout: Duration,
    ) -> Option<Result<Value, FunctionError>> {
        let request_id = self.fresh_request_id();
        let (answer_tx, answer_rx) = oneshot::channel();
        self.state
            .pending
            .lock()
            .expect("runtime API state poisoned")
            .insert(request_id.clone(), answer_tx);
        let body = serde_json::to_vec(event).expect("serializing the event to JSON");
        self.state
            .queue_tx
            .send(Queued {
                request_id: request_id.clone(),
                body: body.into(),
                deadline,
            })
            .expect("the runtime API queue lives as long as the emulator");

        let outcome = tokio::time::timeout(timeout, answer_rx).await;
        // Gone already if answered; otherwise withdraw it so a late `/next` skips it.
        self.state
            .pending
            .lock()
            .expect("runtime API state poisoned")
            .remove(&request_id);
        outcome.ok().and_then(Result::ok)
    }

    fn fresh_request_id(&self) -> String {
        let sequence = self.state.next_id.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (nanos >> 32) as u32,
            (nanos >> 16) as u16,
            (nanos >> 4) & 0xfff,
            u64::from(self.port) & 0xfff,
            sequence & 0xffff_ffff_ffff
        )
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
    let method = request.method().clone();
    let Some(route) = request.uri().path().strip_prefix(PREFIX).map(str::to_owned) else {
        return not_found();
    };
    match (method, route.as_str()) {
        (Method::GET, "invocation/next") => next_invocation(&state).await,
        (Method::POST, "init/error") => {
            let raw = read_body(request).await;
            let error = FunctionError::from_body(&raw);
            push_error_body(&state, raw);
            *state.init_error.lock().expect("runtime API state poisoned") = Some(error);
            accepted()
        }
        (Method::POST, invocation) => {
            let Some(rest) = invocation.strip_prefix("invocation/") else {
                return not_found();
            };
            if let Some(request_id) = rest.strip_suffix("/response") {
                let raw = read_body(request).await;
                let value = serde_json::from_str(&raw).unwrap_or(Value::String(raw));
                answer(&state, request_id, Ok(value))
            } else if let Some(request_id) = rest.strip_suffix("/error") {
                let raw = read_body(request).await;
                let error = FunctionError::from_body(&raw);
                push_error_body(&state, raw);
                answer(&state, request_id, Err(error))
            } else {
                not_found()
            }
        }
        _ => not_found(),
    }
}

/// Long-poll until an event is queued, then hand it out with the Lambda headers.
async fn next_invocation(state: &State) -> HttpResponse {
    state
        .first_poll_at
        .lock()
        .expect("runtime API state poisoned")
        .get_or_insert_with(Instant::now);
    state.polls.fetch_add(1, Ordering::SeqCst);
    // Only one poller at a time takes from the queue; if the caller hangs up, this future
    // is dropped and the lock released without losing an event.
    let mut queue = state.queue_rx.lock().await;
    let queued = loop {
        let Some(queued) = queue.recv().await else {
            return http::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "runtime API queue closed",
            );
        };
        let still_wanted = state
            .pending
            .lock()
            .expect("runtime API state poisoned")
            .contains_key(&queued.request_id);
        if still_wanted {
            break queued;
        }
    };
    drop(queue);

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    let deadline_ms = (now + queued.deadline).as_millis();
    let trace_id = format!(
        "Root=1-{:08x}-{:024x};Sampled=0",
        now.as_secs(),
        now.as_nanos() & ((1 << 96) - 1)
    );
    let mut response = http::response(StatusCode::OK, "application/json", queued.body);
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        let value = HeaderValue::from_str(&value).expect("runtime API header values are ASCII");
        headers.insert(name, value);
    };
    set("lambda-runtime-aws-request-id", queued.request_id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        FUNCTION_ARN.to_owned(),
    );
    set("lambda-runtime-trace-id", trace_id);
    response
}

/// Resolve invocation `request_id`; 400 `InvalidRequestID` if it is unknown or answered.
fn answer(state: &State, request_id: &str, outcome: Outcome) -> HttpResponse {
    let waiter = state
        .pending
        .lock()
        .expect("runtime API state poisoned")
        .remove(request_id);
    match waiter {
        Some(waiter) => {
            // The invoker may have given up (timeout); nothing else to do then.
            let _ = waiter.send(outcome);
            accepted()
        }
        None => http::json(
            StatusCode::BAD_REQUEST,
            &json!({
                "errorType": "InvalidRequestID",
                "errorMessage": format!("unknown or already answered request id {request_id}"),
            }),
        ),
    }
}

async fn read_body(request: Request<Incoming>) -> String {
    match request.into_body().collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    }
}

fn push_error_body(state: &State, raw: String) {
    state
        .error_bodies
        .lock()
        .expect("runtime API state poisoned")
        .push(raw);
}

fn accepted() -> HttpResponse {
    http::json(StatusCode::ACCEPTED, &json!({ "status": "OK" }))
}

fn not_found() -> HttpResponse {
    http::json(
        StatusCode::NOT_FOUND,
        &json!({ "errorType": "NotFound", "errorMessage": "not a Runtime API route" }),
    )
}
