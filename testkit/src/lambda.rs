//! A fake AWS Lambda endpoint: the `Invoke` call of the Lambda REST-JSON API (2015-03-31),
//! handed on to a [`RuntimeApi`] so that the real function binary answers it.
//!
//! `POST /2015-03-31/functions/{FunctionName}/invocations` with the event as the body is
//! answered as Lambda answers it:
//!
//! - `X-Amz-Invocation-Type` `RequestResponse` (or none): synchronously, 200 with the
//!   function's response as the body; when the function posted an error, still 200, with
//!   `X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage"}` as the body; when
//!   it does not answer within its deadline, the same with `errorType` `Sandbox.Timedout`.
//! - `Event`: 202 with no body, the event invoked in the background.
//! - `DryRun`: 204, nothing invoked.
//! - An unknown function: 404 `ResourceNotFoundException`; a body that is not JSON: 400
//!   `InvalidRequestContentException`.
//!
//! `FunctionName` may be the function's name, its ARN or partial ARN
//! (`ACCOUNT:function:NAME`), each optionally qualified with `:$LATEST`. Every call is
//! recorded ([`FakeLambda::calls`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::http::{self, HttpResponse};
use super::runtime_api::{Invoker, RuntimeApi};

/// The path every `Invoke` call starts with; the (URL-encoded) function name follows.
pub const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
/// The path every `Invoke` call ends with.
pub const INVOKE_SUFFIX: &str = "/invocations";

/// One `Invoke` call the fake received, and how it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeCall {
    /// `FunctionName` from the path, URL-decoded, as the caller sent it.
    pub function_name: String,
    /// `X-Amz-Invocation-Type` (`None` if absent, which means `RequestResponse`).
    pub invocation_type: Option<String>,
    /// The request body as JSON (a JSON string holding the raw text if it was not JSON).
    pub payload: Value,
    /// The HTTP status of the answer.
    pub status: u16,
    /// `X-Amz-Function-Error` of the answer, if any (`Unhandled`).
    pub function_error: Option<String>,
}

struct State {
    invoker: Invoker,
    function_arn: String,
    deadline: Duration,
    calls: Mutex<Vec<InvokeCall>>,
}

/// The running fake; its server task (and all its connections) stop on drop.
pub struct FakeLambda {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl FakeLambda {
    /// Start the fake on `127.0.0.1:<free port>` as function `function_arn`
    /// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`), invoking it through `runtime` with
    /// `deadline` as each invocation's time (the function's timeout).
    pub async fn start(runtime: &RuntimeApi, function_arn: &str, deadline: Duration) -> FakeLambda {
        assert!(
            function_arn.starts_with("arn:aws:lambda:")
                && function_arn.split(':').count() == 7
                && function_arn.split(':').nth(5) == Some("function"),
            "{function_arn} is not an unqualified Lambda function ARN"
        );
        let (listener, addr) = http::bind_local("fake Lambda endpoint").await;
        let state = Arc::new(State {
            invoker: runtime.invoker(),
            function_arn: function_arn.to_owned(),
            deadline,
            calls: Mutex::new(Vec::new()),
        });
        let handler_state = Arc::clone(&state);
        let server = http::serve(listener, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        FakeLambda {
            addr,
            state,
            server,
        }
    }

    /// Base URL of the fake, e.g. `http://127.0.0.1:PORT` (what `AWS_ENDPOINT_URL_LAMBDA`
    /// gets).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every `Invoke` call so far, in the order they were answered.
    pub fn calls(&self) -> Vec<InvokeCall> {
        self.state
            .calls
            .lock()
            .expect("fake Lambda calls poisoned")
            .clone()
    }
}

impl Drop for FakeLambda {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl State {
    /// Whether `name` (as in the path) names this function: its name, ARN or partial ARN,
    /// unqualified or qualified with `$LATEST`.
    fn is_this_function(&self, name: &str) -> bool {
        let name = name.strip_suffix(":$LATEST").unwrap_or(name);
        let mut parts = self.function_arn.splitn(5, ':');
        let partial = parts.nth(4).unwrap_or_default();
        let short = partial.rsplit(':').next().unwrap_or_default();
        name == self.function_arn || name == partial || name == short
    }

    fn record(&self, call: InvokeCall) {
        self.calls
            .lock()
            .expect("fake Lambda calls poisoned")
            .push(call);
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
    let path = request.uri().path().to_owned();
    let Some(encoded) = path
        .strip_prefix(INVOKE_PREFIX)
        .and_then(|rest| rest.strip_suffix(INVOKE_SUFFIX))
        .filter(|name| !name.is_empty() && !name.contains('/'))
    else {
        return error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            &format!("the fake Lambda only answers Invoke, not {path}"),
        );
    };
    if request.method() != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            "Invoke is a POST",
        );
    }
    let function_name = percent_decode(encoded);
    let invocation_type = request
        .headers()
        .get("x-amz-invocation-type")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let raw = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                &format!("the fake Lambda could not read the request body: {err}"),
            )
        }
    };
    let parsed = if raw.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice::<Value>(&raw)
    };
    let payload = parsed
        .as_ref()
        .map_or_else(|_| json!(String::from_utf8_lossy(&raw)), Clone::clone);
    let answer = answer(&state, &function_name, invocation_type.as_deref(), parsed).await;
    state.record(InvokeCall {
        function_name,
        invocation_type,
        payload,
        status: answer.status().as_u16(),
        function_error: answer
            .headers()
            .get("x-amz-function-error")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
    });
    answer
}

async fn answer(
    state: &Arc<State>,
    function_name: &str,
    invocation_type: Option<&str>,
    event: Result<Value, serde_json::Error>,
) -> HttpResponse {
    if !state.is_this_function(function_name) {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {function_name}"),
        );
    }
    let Ok(event) = event else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            "Could not parse request body into json",
        );
    };
    match invocation_type.unwrap_or("RequestResponse") {
        "RequestResponse" => {}
        "Event" => {
            let state = Arc::clone(state);
            tokio::spawn(async move {
                let _ = state
                    .invoker
                    .try_invoke(&event, state.deadline, state.deadline)
                    .await;
            });
            return with_request_id(http::response(StatusCode::ACCEPTED, "application/json", ""));
        }
        "DryRun" => {
            return with_request_id(http::response(
                StatusCode::NO_CONTENT,
                "application/json",
                "",
            ))
        }
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("invalid X-Amz-Invocation-Type {other:?}"),
            )
        }
    }

    // Lambda ends an invocation at its timeout; a little more lets a function that answers
    // right at its deadline be heard.
    let outcome = state
        .invoker
        .try_invoke(
            &event,
            state.deadline,
            state.deadline + Duration::from_millis(500),
        )
        .await;
    let (body, function_error) = match outcome {
        Some(Ok(response)) => (response.to_string(), false),
        Some(Err(failure)) => (
            json!({"errorType": failure.error_type, "errorMessage": failure.error_message})
                .to_string(),
            true,
        ),
        None => (
            json!({
                "errorType": "Sandbox.Timedout",
                "errorMessage": format!(
                    "Task timed out after {:.2} seconds",
                    state.deadline.as_secs_f64()
                ),
            })
            .to_string(),
            true,
        ),
    };
    let mut response = with_request_id(http::response(StatusCode::OK, "application/json", body));
    let headers = response.headers_mut();
    headers.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    if function_error {
        headers.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
    }
    response
}

/// A Lambda REST-JSON error answer.
fn error(status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    let mut response = with_request_id(http::json(
        status,
        &json!({"Type": "User", "message": message}),
    ));
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(code));
    response
}

fn with_request_id(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_static("fake-lambda-request"),
    );
    response
}

/// `%XX` sequences decoded (the SDK encodes `:` and `$` of an ARN in the path); anything
/// else kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
