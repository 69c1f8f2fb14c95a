//! A recording, fault-injecting HTTP/1.1 reverse proxy in front of moto.
//!
//! The function under test talks to AWS through this proxy (`AWS_ENDPOINT_URL`), so tests
//! can see exactly which API calls it made and make chosen calls fail.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, StatusCode, Uri, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::http::{self, HttpResponse};

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
    /// Whether the proxy answered it with an injected [`Fault`] instead of forwarding it.
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

fn operation_of(target: &str) -> &str {
    target
        .rsplit_once('.')
        .map_or(target, |(_, operation)| operation)
}

struct Shared {
    upstream: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    recorded: Mutex<Vec<Recorded>>,
    faults: Mutex<Vec<Fault>>,
}

impl Shared {
    /// Record the request and, if a fault matches, use up one of its `times` and return it.
    fn record(&self, target: &str, body: &[u8]) -> Option<Fault> {
        let fault = {
            let mut faults = self.faults.lock().expect("proxy fault list poisoned");
            let position = faults.iter().position(|fault| fault.matches(target, body));
            position.map(|index| {
                faults[index].times -= 1;
                if faults[index].times == 0 {
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
                faulted: fault.is_some(),
            });
        fault
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
        });
        let handler_state = Arc::clone(&shared);
        let server = http::serve(listener, move |request| {
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

    /// Answer the next `fault.times` matching requests with `fault` instead of forwarding them.
    ///
    /// Faults are tried in the order they were injected; panics if `fault.status` is not a
    /// valid HTTP status.
    pub fn inject(&self, fault: Fault) {
        assert!(
            StatusCode::from_u16(fault.status).is_ok(),
            "fault status {} is not a valid HTTP status",
            fault.status
        );
        if fault.times > 0 {
            self.shared
                .faults
                .lock()
                .expect("proxy fault list poisoned")
                .push(fault);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> HttpResponse {
    let (mut parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return http::text(
                StatusCode::BAD_REQUEST,
                format!("test proxy could not read the request body: {err}"),
            )
        }
    };

    if let Some(target) = parts.headers.get("x-amz-target") {
        let target = String::from_utf8_lossy(target.as_bytes()).into_owned();
        if let Some(fault) = shared.record(&target, &body) {
            return fault.response();
        }
    }

    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    parts.uri = match format!("http://{}{path}", shared.upstream).parse::<Uri>() {
        Ok(uri) => uri,
        Err(err) => {
            return http::text(
                StatusCode::BAD_REQUEST,
                format!("test proxy could not build the upstream URI: {err}"),
            )
        }
    };
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    // The original `Host` header is kept (the SDK signed it); hyper sets Content-Length.
    let upstream_request = Request::from_parts(parts, Full::new(body));

    let answer = match shared.client.request(upstream_request).await {
        Ok(answer) => answer,
        Err(err) => {
            return http::text(
                StatusCode::BAD_GATEWAY,
                format!(
                    "test proxy could not reach moto at {}: {err}",
                    shared.upstream
                ),
            )
        }
    };
    let (mut parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return http::text(
                StatusCode::BAD_GATEWAY,
                format!("test proxy could not read moto's answer: {err}"),
            )
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    parts.version = Version::HTTP_11;
    HttpResponse::from_parts(parts, Full::new(body))
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(HeaderName::from_static(name));
    }
}
