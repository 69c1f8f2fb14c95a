//! A recording, fault-injecting HTTP/1.1 reverse proxy in front of moto.
//!
//! The function under test talks to AWS through this proxy (`AWS_ENDPOINT_URL`), so tests
//! can see exactly which API calls it made and make chosen calls fail.
//!
//! # Completing moto's CodeBuild
//!
//! moto 5.2.5 answers every CodeBuild call the function makes (`StartBuild`,
//! `ListBuildsForProject`, `BatchGetBuilds`, `StopBuild`), but not as CodeBuild does in four
//! ways the function relies on. The proxy rewrites moto's successful answers to close them:
//!
//! - **Environment overrides.** moto drops a StartBuild's `environmentVariablesOverride`.
//!   The proxy remembers each forwarded StartBuild's overrides under the build id in moto's
//!   answer, and puts them into that build's `environment.environmentVariables`
//!   (`{"name", "value", "type"}`, `type` as sent, `PLAINTEXT` if not) in every answer that
//!   holds the build (`StartBuild`, `StopBuild`, `BatchGetBuilds`), as CodeBuild reports a
//!   build's effective environment.
//! - **Build status.** moto reports a build `SUCCEEDED` the first time `BatchGetBuilds`
//!   reads it. A build started through the proxy is reported `IN_PROGRESS` until a
//!   `StopBuild` for it was forwarded (then `STOPPED`) or the test calls
//!   [`Proxy::finish_build`] (then `SUCCEEDED`); the first of the two decides. Builds the proxy
//!   did not see start keep moto's status.
//! - **Build numbers.** moto numbers a project's builds at random; CodeBuild counts them. The
//!   proxy numbers the builds started through it 1, 2, ... per project, in the order their
//!   StartBuild answers came back, and reports that `buildNumber` wherever it reports them.
//! - **Sort order.** moto's `ListBuildsForProject` ignores `sortOrder` and lists the oldest
//!   build first. CodeBuild sorts newest first unless `sortOrder` is `ASCENDING`, so the
//!   proxy reverses moto's list unless the request asked for `ASCENDING`. (moto never pages
//!   the list; the harness starts far fewer than 100 builds a project.)
//!
//! - **Idempotency tokens.** moto ignores StartBuild's `idempotencyToken`. For five minutes
//!   after a StartBuild through the proxy, the same token with the same parameters is
//!   answered, as CodeBuild does, with the build it started (its state now), and with other
//!   parameters with an `InvalidInputException`; neither reaches moto.
//!
//! - **Who calls.** moto's STS `GetCallerIdentity` names every caller an IAM user. The proxy
//!   answers it as STS would for the caller the request's access key stands for (the same
//!   callers the local CodeCommit knows: the function is a session of its role), in STS's
//!   XML.
//!
//! - **Test reports and batch builds.** moto has neither: the proxy answers `BatchGetReports`
//!   and `DescribeTestCases` from the reports a test added ([`Proxy::add_test_report`]), and the
//!   batch build calls itself (`batches`: [`Proxy::enable_batch_builds`]).
//!
//! `StopBuild` itself is moto's: it knows every build id, answers `ResourceNotFoundException`
//! for an unknown one, and marks the build stopped. Faulted requests are never forwarded, so
//! they change nothing here.
//!
//! # Faults
//!
//! A [`Fault`] picks requests (operation, body text, how many) and, as injected, answers
//! them with an AWS error. An [`Injection`] adds what else a service or network does: a
//! delay before the answer, a reset connection ([`Fault::reset`]) or a slow but real answer
//! ([`Fault::delay`], forwarded to moto after the delay). A request the proxy resets, or
//! answers itself after a delay, never reaches moto, so it starts no build there even if
//! the client gave up on it long before.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH};
use hyper::{Request, StatusCode, Uri, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::http::{self, HttpResponse, ResetConnection};

mod batches;

/// The `X-Amz-Target` prefix of every CodeBuild operation; only these answers are rewritten.
pub const CODEBUILD_TARGET_PREFIX: &str = "CodeBuild_20161006.";

/// Headers that describe one hop, not the message; never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// One AWS JSON request (one that carries an `X-Amz-Target` header) seen by the proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The full `X-Amz-Target`, e.g. `CodeBuild_20161006.StartBuild`.
    pub target: String,
    /// The request body as JSON (a JSON string holding the raw text if it was not JSON).
    pub body: Value,
    /// Whether the proxy answered it with an injected [`Fault`] (an error or a reset)
    /// instead of forwarding it. A request only delayed ([`Fault::delay`]) was forwarded.
    pub faulted: bool,
}

impl Recorded {
    /// The operation name: the part of `target` after the last dot, e.g. `StartBuild`.
    pub fn operation(&self) -> &str {
        operation_of(&self.target)
    }
}

/// An error the proxy returns instead of forwarding matching requests to moto.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Operation name to match (the `X-Amz-Target` suffix after the dot), e.g. `StartBuild`.
    pub target: String,
    /// Only requests whose raw body contains this text match.
    pub when_body_contains: Option<String>,
    /// How many matching requests get the fault; later ones pass through again.
    pub times: usize,
    /// HTTP status of the error answer.
    pub status: u16,
    /// AWS error code, e.g. `InvalidInputException`.
    pub error_code: String,
    /// Error message.
    pub message: String,
}

impl Fault {
    /// Answer the next request for `target` (an operation, e.g. `StartBuild`) with HTTP
    /// `status` and AWS error `code` (sent as `__type` and `x-amzn-ErrorType`) and `message`.
    pub fn error(target: &str, status: u16, code: &str, message: &str) -> Fault {
        Fault {
            target: target.to_owned(),
            when_body_contains: None,
            times: 1,
            status,
            error_code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// CodeBuild throttling the caller: HTTP 400 `ThrottlingException`.
    pub fn throttling(target: &str) -> Fault {
        Fault::error(target, 400, "ThrottlingException", "Rate exceeded")
    }

    /// An internal error of the service: HTTP 500 `InternalFailure`.
    pub fn internal_failure(target: &str) -> Fault {
        Fault::error(
            target,
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error",
        )
    }

    /// The service unavailable for a moment: HTTP 503 `ServiceUnavailable`.
    pub fn service_unavailable(target: &str) -> Fault {
        Fault::error(
            target,
            503,
            "ServiceUnavailable",
            "The service is unavailable. Please try again later.",
        )
    }

    /// Reset the connection of the next request for `target` without answering it.
    pub fn reset(target: &str) -> Injection {
        Injection {
            answer: FaultAnswer::Reset,
            ..Injection::from(Fault::internal_failure(target))
        }
    }

    /// Hold the next request for `target` for `by`, then forward it to moto and pass on
    /// moto's answer: a slow but real answer. A client that gave up meanwhile never sees
    /// it, but moto still acts on the request (see [`Injection::then_reset`] for one that
    /// never reaches moto).
    pub fn delay(target: &str, by: Duration) -> Injection {
        Injection {
            delay: by,
            answer: FaultAnswer::Forward,
            ..Injection::from(Fault::internal_failure(target))
        }
    }

    /// Answer with this error only after holding the request for `by`.
    pub fn delayed(self, by: Duration) -> Injection {
        Injection {
            delay: by,
            ..Injection::from(self)
        }
    }

    /// Only requests whose raw body contains `needle` match (e.g. a reference name).
    pub fn when_body_contains(mut self, needle: &str) -> Fault {
        self.when_body_contains = Some(needle.to_owned());
        self
    }

    /// Apply to the next `times` matching requests (1 unless set).
    pub fn times(mut self, times: usize) -> Fault {
        self.times = times;
        self
    }

    /// Apply to every matching request for `period` from now (a throttling storm, say),
    /// however many there are; later ones pass through again.
    pub fn for_period(self, period: Duration) -> Injection {
        Injection {
            until: Some(Instant::now() + period),
            ..Injection::from(self.times(usize::MAX))
        }
    }

    fn matches(&self, target: &str, body: &[u8]) -> bool {
        let operation_matches = self.target == operation_of(target) || self.target == target;
        let body_matches = self
            .when_body_contains
            .as_deref()
            .is_none_or(|needle| String::from_utf8_lossy(body).contains(needle));
        self.times > 0 && operation_matches && body_matches
    }

    /// The AWS JSON 1.1 error answer for this fault.
    fn response(&self) -> HttpResponse {
        let status =
            StatusCode::from_u16(self.status).expect("fault status was validated by Proxy::inject");
        let body = serde_json::json!({ "__type": self.error_code, "message": self.message });
        let mut response = http::response(status, "application/x-amz-json-1.1", body.to_string());
        if let Ok(code) = HeaderValue::from_str(&self.error_code) {
            response.headers_mut().insert("x-amzn-errortype", code);
        }
        response.headers_mut().insert(
            "x-amzn-requestid",
            HeaderValue::from_static("injected-by-test-proxy"),
        );
        response
    }
}

/// What the proxy does with a request an [`Injection`] matches, once its delay is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultAnswer {
    /// Answer with the fault's AWS error (`status`, `error_code`, `message`).
    #[default]
    Error,
    /// Close the client's connection without answering, with a TCP reset.
    Reset,
    /// Forward the request to moto and pass its answer on, as if no fault matched.
    Forward,
}

/// A fault as the proxy applies it: the requests it picks ([`Fault`]), how long they are
/// held, and what happens to them then. A plain [`Fault`] is an injection without delay
/// that answers its error.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// Which requests, and how many; its error is the answer for [`FaultAnswer::Error`].
    pub fault: Fault,
    /// How long each matching request is held before `answer`.
    pub delay: Duration,
    /// What happens to the request after the delay.
    pub answer: FaultAnswer,
    /// When set, requests arriving from then on no longer match ([`Fault::for_period`]).
    pub until: Option<Instant>,
}

impl Injection {
    /// After the delay, reset the connection instead: the request never reaches moto.
    pub fn then_reset(mut self) -> Injection {
        self.answer = FaultAnswer::Reset;
        self
    }

    /// Only requests whose raw body contains `needle` match.
    pub fn when_body_contains(mut self, needle: &str) -> Injection {
        self.fault = self.fault.when_body_contains(needle);
        self
    }

    /// Apply to the next `times` matching requests (1 unless set).
    pub fn times(mut self, times: usize) -> Injection {
        self.fault = self.fault.times(times);
        self
    }
}

impl From<Fault> for Injection {
    fn from(fault: Fault) -> Injection {
        Injection {
            fault,
            delay: Duration::ZERO,
            answer: FaultAnswer::Error,
            until: None,
        }
    }
}

fn operation_of(target: &str) -> &str {
    target
        .rsplit_once('.')
        .map_or(target, |(_, operation)| operation)
}

/// The status the proxy reports for a build started through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStatus {
    /// Started, neither stopped nor finished yet.
    InProgress,
    /// A `StopBuild` for it was forwarded.
    Stopped,
    /// The test called [`Proxy::finish_build`].
    Succeeded,
}

impl BuildStatus {
    /// CodeBuild's `buildStatus` value.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::InProgress => "IN_PROGRESS",
            BuildStatus::Stopped => "STOPPED",
            BuildStatus::Succeeded => "SUCCEEDED",
        }
    }
}

/// What the proxy knows of a build started through it.
#[derive(Debug, Clone)]
struct Tracked {
    /// The StartBuild's `environmentVariablesOverride`, as CodeBuild reports variables.
    environment: Vec<Value>,
    status: BuildStatus,
    /// The project's build counter: 1 for its first build started through the proxy.
    number: u64,
    /// Who started it, as CodeBuild's `initiator` says: `ROLE/SESSION` for a role's session,
    /// the user's name for an IAM user.
    initiator: String,
    /// Fields the test set with [`Proxy::set_build`], reported over everything else.
    view: serde_json::Map<String, Value>,
}

/// How long CodeBuild keeps a StartBuild's idempotency token.
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// A StartBuild the proxy forwarded and moto answered with a new build, under its
/// idempotency token.
#[derive(Debug, Clone)]
pub struct Started {
    /// When moto's answer came back.
    pub at: Instant,
    /// The StartBuild request.
    pub request: Value,
    /// The build as the StartBuild's answer gave it.
    pub build: Value,
}

struct Shared {
    upstream: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    recorded: Mutex<Vec<Recorded>>,
    faults: Mutex<Vec<Injection>>,
    builds: Mutex<HashMap<String, Tracked>>,
    tokens: Mutex<HashMap<String, Started>>,
    /// Test reports by ARN: the report as `BatchGetReports` answers it, and its test cases.
    reports: Mutex<HashMap<String, (Value, Vec<Value>)>>,
    /// Batch builds (locked after `builds` when both are).
    batches: Mutex<batches::Batches>,
}

impl Shared {
    /// The answer to a test report call, which moto lacks: `BatchGetReports` and
    /// `DescribeTestCases` from the reports a test added; `None` for any other operation.
    fn answer_reports(&self, operation: &str, request: &Value) -> Option<HttpResponse> {
        let reports = self.reports.lock().expect("proxy reports poisoned");
        let body = match operation {
            "BatchGetReports" => {
                let asked: Vec<&str> = request["reportArns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let found: Vec<Value> = asked
                    .iter()
                    .filter_map(|arn| reports.get(*arn).map(|(report, _)| report.clone()))
                    .collect();
                let missing: Vec<&str> = asked
                    .iter()
                    .copied()
                    .filter(|arn| !reports.contains_key(*arn))
                    .collect();
                serde_json::json!({"reports": found, "reportsNotFound": missing})
            }
            "DescribeTestCases" => {
                let arn = request["reportArn"].as_str().unwrap_or_default();
                let Some((_, cases)) = reports.get(arn) else {
                    return Some(
                        Fault::error(
                            operation,
                            400,
                            "ResourceNotFoundException",
                            &format!("Report {arn} does not exist"),
                        )
                        .response(),
                    );
                };
                let status = request["filter"]["status"].as_str();
                let most = request["maxResults"].as_u64().unwrap_or(50).min(100) as usize;
                let shown: Vec<Value> = cases
                    .iter()
                    .filter(|case| status.is_none_or(|status| case["status"] == status))
                    .take(most)
                    .cloned()
                    .collect();
                serde_json::json!({"testCases": shown})
            }
            _ => return None,
        };
        Some(http::response(
            StatusCode::OK,
            "application/x-amz-json-1.1",
            body.to_string(),
        ))
    }

    /// Record the request and, if a fault matches, use up one of its `times` and return it.
    fn record(&self, target: &str, body: &[u8]) -> Option<Injection> {
        let injection = {
            let mut faults = self.faults.lock().expect("proxy fault list poisoned");
            let now = Instant::now();
            let position = faults.iter().position(|injection| {
                injection.until.is_none_or(|until| now < until)
                    && injection.fault.matches(target, body)
            });
            position.map(|index| {
                faults[index].fault.times -= 1;
                if faults[index].fault.times == 0 {
                    faults.remove(index)
                } else {
                    faults[index].clone()
                }
            })
        };
        let body = serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        self.recorded
            .lock()
            .expect("proxy recordings poisoned")
            .push(Recorded {
                target: target.to_owned(),
                body,
                faulted: injection
                    .as_ref()
                    .is_some_and(|injection| injection.answer != FaultAnswer::Forward),
            });
        injection
    }

    /// CodeBuild's answer to a StartBuild `request` whose idempotency token a StartBuild of
    /// the last five minutes used: that build as it is now for the same parameters, an
    /// `InvalidInputException` for others; `None` for a new token.
    fn repeated_start(&self, request: &Value) -> Option<HttpResponse> {
        let token = request.get("idempotencyToken")?.as_str()?;
        // The token's build, read before the build states are locked (`emulate` locks the
        // states first, then the tokens).
        let (same, build) = {
            let tokens = self.tokens.lock().expect("proxy tokens poisoned");
            let started = tokens
                .get(token)
                .filter(|started| started.at.elapsed() < TOKEN_LIFETIME)?;
            (started.request == *request, started.build.clone())
        };
        if !same {
            return Some(
                Fault::error(
                    "StartBuild",
                    400,
                    "InvalidInputException",
                    "Idempotency token was used with different parameters",
                )
                .response(),
            );
        }
        let mut build = build;
        patch_build(
            &self.builds.lock().expect("proxy build states poisoned"),
            &mut build,
        );
        Some(http::response(
            StatusCode::OK,
            "application/x-amz-json-1.1",
            json!({ "build": build }).to_string(),
        ))
    }

    /// Rewrite moto's successful JSON answer to `operation` (whose request body was
    /// `request`) as CodeBuild would have answered; see the module docs.
    fn emulate(&self, operation: &str, caller: &str, request: &Value, answer: &mut Value) {
        let mut builds = self.builds.lock().expect("proxy build states poisoned");
        match operation {
            "StartBuild" => {
                let id = answer
                    .pointer("/build/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Some(id) = id {
                    let project = id.split(':').next().unwrap_or_default();
                    let number = 1 + builds
                        .keys()
                        .filter(|known| known.split(':').next() == Some(project))
                        .count() as u64;
                    let environment = request
                        .get("environmentVariablesOverride")
                        .and_then(Value::as_array)
                        .map(|variables| variables.iter().map(reported_variable).collect())
                        .unwrap_or_default();
                    builds.insert(
                        id,
                        Tracked {
                            environment,
                            status: BuildStatus::InProgress,
                            number,
                            initiator: initiator(caller),
                            view: serde_json::Map::new(),
                        },
                    );
                }
                if let Some(build) = answer.get_mut("build") {
                    patch_build(&builds, build);
                    if let Some(token) = request.get("idempotencyToken").and_then(Value::as_str) {
                        self.tokens.lock().expect("proxy tokens poisoned").insert(
                            token.to_owned(),
                            Started {
                                at: Instant::now(),
                                request: request.clone(),
                                build: build.clone(),
                            },
                        );
                    }
                }
            }
            "StopBuild" => {
                let id = request.get("id").and_then(Value::as_str);
                if let Some(tracked) = id.and_then(|id| builds.get_mut(id)) {
                    if tracked.status == BuildStatus::InProgress {
                        tracked.status = BuildStatus::Stopped;
                    }
                }
                if let Some(build) = answer.get_mut("build") {
                    patch_build(&builds, build);
                }
            }
            "BatchGetBuilds" => {
                if let Some(found) = answer.get_mut("builds").and_then(Value::as_array_mut) {
                    for build in found {
                        patch_build(&builds, build);
                    }
                }
            }
            "ListBuildsForProject" => {
                let ascending =
                    request.get("sortOrder").and_then(Value::as_str) == Some("ASCENDING");
                if !ascending {
                    if let Some(ids) = answer.get_mut("ids").and_then(Value::as_array_mut) {
                        ids.reverse();
                    }
                }
            }
            _ => {}
        }
    }
}

/// One variable of a StartBuild's `environmentVariablesOverride` as CodeBuild reports it in
/// a build's environment.
fn reported_variable(variable: &Value) -> Value {
    json!({
        "name": variable.get("name").cloned().unwrap_or(Value::Null),
        "value": variable.get("value").cloned().unwrap_or(Value::Null),
        "type": variable
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("PLAINTEXT"),
    })
}

/// CodeBuild's `initiator` of a build started by `caller` (an STS session or IAM user ARN):
/// `ROLE/SESSION` for a role's session, the user's name for a user.
fn initiator(caller: &str) -> String {
    match caller.split_once(":assumed-role/") {
        Some((_, role_and_session)) => role_and_session.to_owned(),
        None => caller.rsplit('/').next().unwrap_or(caller).to_owned(),
    }
}

/// Give `build` (one build object of a CodeBuild answer) the status and environment the
/// proxy knows for it; builds it does not know stay as moto describes them.
fn patch_build(builds: &HashMap<String, Tracked>, build: &mut Value) {
    let Some((id, tracked)) = build
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| builds.get_key_value(id))
    else {
        return;
    };
    let Some(object) = build.as_object_mut() else {
        return;
    };
    let (project, uuid) = id.split_once(':').unwrap_or((id, ""));
    // CodeBuild logs to CloudWatch Logs by default: group /aws/codebuild/PROJECT, the
    // build's UUID as its stream (moto names neither).
    object.insert(
        "logs".to_owned(),
        json!({"groupName": format!("/aws/codebuild/{project}"), "streamName": uuid,
               "cloudWatchLogs": {"status": "ENABLED"}}),
    );
    object.insert("initiator".to_owned(), json!(tracked.initiator));
    object.insert(
        "resolvedSourceVersion".to_owned(),
        object.get("sourceVersion").cloned().unwrap_or(Value::Null),
    );
    let in_progress = tracked.status == BuildStatus::InProgress;
    object.insert("buildNumber".to_owned(), json!(tracked.number));
    object.insert("buildStatus".to_owned(), json!(tracked.status.as_str()));
    object.insert("buildComplete".to_owned(), json!(!in_progress));
    if in_progress {
        object.insert("currentPhase".to_owned(), json!("BUILD"));
        object.remove("endTime");
    } else {
        object.insert("currentPhase".to_owned(), json!("COMPLETED"));
    }
    let environment = object.entry("environment").or_insert_with(|| json!({}));
    if let Some(environment) = environment.as_object_mut() {
        let variables = environment
            .entry("environmentVariables")
            .or_insert_with(|| json!([]));
        if !variables.is_array() {
            *variables = json!([]);
        }
        let variables = variables
            .as_array_mut()
            .expect("environmentVariables was just made an array");
        // An override replaces the project's variable of the same name.
        for variable in &tracked.environment {
            variables.retain(|existing| existing.get("name") != variable.get("name"));
            variables.push(variable.clone());
        }
    }
    for (field, value) in &tracked.view {
        object.insert(field.clone(), value.clone());
    }
}

/// The running proxy; its server task (and all its connections) stop on drop.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Proxy {
    /// Start the proxy on `127.0.0.1:<free port>`, forwarding to `upstream` (moto).
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let (listener, addr) = http::bind_local("recording proxy").await;
        let shared = Arc::new(Shared {
            upstream,
            client: Client::builder(TokioExecutor::new()).build_http(),
            recorded: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            builds: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            reports: Mutex::new(HashMap::new()),
            batches: Mutex::new(batches::Batches::default()),
        });
        let handler_state = Arc::clone(&shared);
        let server = http::serve_resettable(listener, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        Proxy {
            addr,
            shared,
            server,
        }
    }

    /// Socket address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the proxy, e.g. `http://127.0.0.1:PORT` (what `AWS_ENDPOINT_URL` gets).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request with an `X-Amz-Target` header seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .recorded
            .lock()
            .expect("proxy recordings poisoned")
            .clone()
    }

    /// Every build started through the proxy (one per idempotency token still kept), with
    /// when its StartBuild was answered.
    pub fn started(&self) -> Vec<Started> {
        self.shared
            .tokens
            .lock()
            .expect("proxy tokens poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// The JSON bodies of the recorded requests for `operation` (e.g. `StopBuild`), in order.
    pub fn requests_of(&self, operation: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|request| request.operation() == operation)
            .map(|request| request.body)
            .collect()
    }

    /// Let build `id` (started through the proxy) finish: from now on it is reported
    /// `SUCCEEDED`, unless a `StopBuild` already stopped it.
    ///
    /// Panics if the proxy never saw the build start.
    pub fn finish_build(&self, id: &str) {
        self.with_build(id, |tracked| {
            if tracked.status == BuildStatus::InProgress {
                tracked.status = BuildStatus::Succeeded;
            }
        });
    }

    /// Changes what the proxy knows of build `id`; panics if it never saw the build start.
    fn with_build(&self, id: &str, change: impl FnOnce(&mut Tracked)) {
        let mut builds = self
            .shared
            .builds
            .lock()
            .expect("proxy build states poisoned");
        let Some(tracked) = builds.get_mut(id) else {
            panic!("build {id} was not started through the proxy");
        };
        change(tracked);
    }

    /// Report build `id` (started through the proxy) with these fields of `view` (an object
    /// of `BatchGetBuilds`' build fields, e.g. from [`super::events::codebuild_view`]) from
    /// now on, over what the proxy and moto say: the truth a test sets apart from the
    /// events it sends.
    ///
    /// Panics if the proxy never saw the build start, or `view` is not an object.
    pub fn set_build(&self, id: &str, view: &Value) {
        let view = view.as_object().expect("a build's fields as an object");
        self.with_build(id, |tracked| tracked.view.extend(view.clone()));
    }

    /// The status the proxy reports for build `id`; `None` if it was not started through
    /// the proxy.
    pub fn build_status(&self, id: &str) -> Option<BuildStatus> {
        self.shared
            .builds
            .lock()
            .expect("proxy build states poisoned")
            .get(id)
            .map(|tracked| tracked.status)
    }

    /// Hold test report `arn` (moto has no reports): `BatchGetReports` answers it as a `TEST`
    /// report with these `statusCounts` (`SUCCEEDED`, `FAILED`, `SKIPPED`, ...), and
    /// `DescribeTestCases` with `cases` (`{"name", "prefix", "status", "message"}`), filtered
    /// by status and paged by `maxResults` as CodeBuild does. A build names it once
    /// [`Proxy::set_build`] gives it `reportArns`.
    pub fn add_test_report(&self, arn: &str, counts: &[(&str, i64)], cases: Vec<Value>) {
        let counts: serde_json::Map<String, Value> = counts
            .iter()
            .map(|(status, n)| ((*status).to_owned(), serde_json::json!(n)))
            .collect();
        let total: i64 = counts.values().filter_map(Value::as_i64).sum();
        let report = serde_json::json!({
            "arn": arn,
            "type": "TEST",
            "status": if counts.get("FAILED").and_then(Value::as_i64).unwrap_or(0) > 0 { "FAILED" } else { "SUCCEEDED" },
            "testSummary": {"total": total, "statusCounts": counts, "durationInNanoSeconds": 0},
        });
        self.shared
            .reports
            .lock()
            .expect("proxy reports poisoned")
            .insert(arn.to_owned(), (report, cases));
    }

    /// Apply `fault` (a [`Fault`]: answer its error instead of forwarding; or an
    /// [`Injection`]: delay, reset, forward late) to the next `times` matching requests.
    ///
    /// Faults are tried in the order they were injected; a request uses up one of the first
    /// that matches. Panics if the fault's `status` is not a valid HTTP status.
    pub fn inject(&self, fault: impl Into<Injection>) {
        let injection = fault.into();
        assert!(
            StatusCode::from_u16(injection.fault.status).is_ok(),
            "fault status {} is not a valid HTTP status",
            injection.fault.status
        );
        if injection.fault.times > 0 {
            self.shared
                .faults
                .lock()
                .expect("proxy fault list poisoned")
                .push(injection);
        }
    }

    /// Remove every fault not used up yet: later requests reach moto again.
    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .expect("proxy fault list poisoned")
            .clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<HttpResponse, ResetConnection> {
    let (mut parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return Ok(http::text(
                StatusCode::BAD_REQUEST,
                format!("test proxy could not read the request body: {err}"),
            ))
        }
    };

    let target = parts
        .headers
        .get("x-amz-target")
        .map(|target| String::from_utf8_lossy(target.as_bytes()).into_owned());
    if let Some(target) = &target {
        if let Some(injection) = shared.record(target, &body) {
            tokio::time::sleep(injection.delay).await;
            match injection.answer {
                FaultAnswer::Error => return Ok(injection.fault.response()),
                FaultAnswer::Reset => return Err(ResetConnection),
                FaultAnswer::Forward => {}
            }
        }
    }
    let request_json = serde_json::from_slice::<Value>(&body).ok();
    let caller = super::codecommit::caller_of(&super::codecommit::access_key(&parts.headers));
    if target.is_none() && body.starts_with(b"Action=GetCallerIdentity") {
        return Ok(caller_identity(&caller));
    }
    let repeated = match (&target, &request_json) {
        (Some(target), Some(request))
            if target == &format!("{CODEBUILD_TARGET_PREFIX}StartBuild") =>
        {
            shared.repeated_start(request)
        }
        _ => None,
    };
    if let Some(answer) = repeated {
        return Ok(answer);
    }
    if let (Some(target), Some(request)) = (&target, &request_json) {
        if let Some(answer) = shared.answer_reports(operation_of(target), request) {
            return Ok(answer);
        }
        if let Some(answer) = shared
            .answer_batches(operation_of(target), request, &parts.headers, &caller)
            .await
        {
            return Ok(answer);
        }
    }

    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    parts.uri = match format!("http://{}{path}", shared.upstream).parse::<Uri>() {
        Ok(uri) => uri,
        Err(err) => {
            return Ok(http::text(
                StatusCode::BAD_REQUEST,
                format!("test proxy could not build the upstream URI: {err}"),
            ))
        }
    };
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    // The original `Host` header is kept (the SDK signed it); hyper sets Content-Length.
    let upstream_request = Request::from_parts(parts, Full::new(body));

    let answer = match shared.client.request(upstream_request).await {
        Ok(answer) => answer,
        Err(err) => {
            return Ok(http::text(
                StatusCode::BAD_GATEWAY,
                format!(
                    "test proxy could not reach moto at {}: {err}",
                    shared.upstream
                ),
            ))
        }
    };
    let (mut parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return Ok(http::text(
                StatusCode::BAD_GATEWAY,
                format!("test proxy could not read moto's answer: {err}"),
            ))
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    parts.version = Version::HTTP_11;
    let body = match (&target, &request_json) {
        (Some(target), Some(request))
            if parts.status.is_success() && target.starts_with(CODEBUILD_TARGET_PREFIX) =>
        {
            match serde_json::from_slice::<Value>(&body) {
                Ok(mut answer) => {
                    shared.emulate(operation_of(target), &caller, request, &mut answer);
                    let rewritten = Bytes::from(answer.to_string());
                    parts
                        .headers
                        .insert(CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
                    rewritten
                }
                Err(_) => body,
            }
        }
        _ => body,
    };
    Ok(HttpResponse::from_parts(parts, Full::new(body)))
}

/// STS's answer to `GetCallerIdentity` from `caller` (an IAM user or role session ARN).
fn caller_identity(caller: &str) -> HttpResponse {
    let account = caller.split(':').nth(4).unwrap_or_default();
    let xml = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult><Arn>{caller}</Arn><UserId>AIDATESTPROXY</UserId>\
         <Account>{account}</Account></GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>caller-identity-from-test-proxy</RequestId>\
         </ResponseMetadata></GetCallerIdentityResponse>"
    );
    http::response(StatusCode::OK, "text/xml", xml)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(HeaderName::from_static(name));
    }
}
