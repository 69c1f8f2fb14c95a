//! A stand-in for the pre-signed S3 URLs CloudFormation hands custom resources as
//! `ResponseURL`: records every PUT and answers 200, like S3 would, over https as S3 does,
//! with a certificate made for this server (its PEM file is what the custom resource's
//! `SSL_CERT_FILE` names).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::http::{self, HttpResponse};

/// The query string of every URL from [`ResponseUrl::url`]: shaped like a pre-signed S3
/// URL, with percent-escapes a client must send back untouched.
pub const SIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-SignedHeaders=host&X-Amz-Signature=abc";

/// One answer a custom resource PUT to a response URL.
#[derive(Debug, Clone, PartialEq)]
pub struct CfnResponse {
    /// Path and query as received, e.g. `/responses/create?X-Amz-Signature=abc`.
    pub path: String,
    /// The `Content-Type` header (`Some("")` if sent empty, `None` if absent).
    pub content_type: Option<String>,
    /// The body as JSON (a JSON string holding the raw text if it was not JSON).
    pub body: Value,
}

impl CfnResponse {
    /// The path without the query string.
    pub fn path_only(&self) -> &str {
        self.path
            .split_once('?')
            .map_or(self.path.as_str(), |(path, _)| path)
    }

    /// `body[field]` as a string; panics naming the field if it is missing or not a string.
    pub fn text(&self, field: &str) -> &str {
        self.body
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_else(|| {
                panic!(
                    "the CloudFormation response has no string {field}: {}",
                    self.body
                )
            })
    }
}

#[derive(Default)]
struct State {
    responses: Mutex<Vec<CfnResponse>>,
    /// `METHOD path` of requests that were not PUTs (answered 405, not recorded).
    rejected: Mutex<Vec<String>>,
}

/// The running server; its server task (and all its connections) stop on drop, and its
/// certificate file is removed.
pub struct ResponseUrl {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
    certificate: PathBuf,
}

impl ResponseUrl {
    /// Start the server on `127.0.0.1:<free port>`, with a new self-signed certificate for
    /// `127.0.0.1`.
    pub async fn start() -> ResponseUrl {
        let (listener, addr) = http::bind_local("CloudFormation response URL server").await;
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .expect("a self-signed certificate");
        let certificate = std::env::temp_dir().join(format!(
            "codecommit-build-trigger-response-url-{}-{}.pem",
            std::process::id(),
            addr.port()
        ));
        std::fs::write(&certificate, certified.cert.pem())
            .unwrap_or_else(|err| panic!("writing {} failed: {err}", certificate.display()));
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("a server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let state = Arc::new(State::default());
        let handler_state = Arc::clone(&state);
        let server = http::serve_tls(listener, acceptor, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        ResponseUrl {
            addr,
            state,
            server,
            certificate,
        }
    }

    /// The PEM file of the server's certificate, for the client's `SSL_CERT_FILE`.
    pub fn certificate(&self) -> &Path {
        &self.certificate
    }

    /// The response URL for `name`: `https://127.0.0.1:PORT/responses/<name>?<SIGNED_QUERY>`.
    pub fn url(&self, name: &str) -> String {
        format!("https://{}{}?{SIGNED_QUERY}", self.addr, path_of(name))
    }

    /// Every PUT received so far, in arrival order.
    pub fn responses(&self) -> Vec<CfnResponse> {
        self.state
            .responses
            .lock()
            .expect("response URL recordings poisoned")
            .clone()
    }

    /// The PUTs received so far at the URL for `name` (whatever their query string).
    pub fn responses_for(&self, name: &str) -> Vec<CfnResponse> {
        let path = path_of(name);
        self.responses()
            .into_iter()
            .filter(|response| response.path_only() == path)
            .collect()
    }

    /// `METHOD path` of every request that was not a PUT (answered 405 and not recorded).
    pub fn rejected(&self) -> Vec<String> {
        self.state
            .rejected
            .lock()
            .expect("response URL recordings poisoned")
            .clone()
    }

    /// Wait for the first PUT to the URL for `name`; panics if none arrives within `timeout`.
    pub async fn wait_for(&self, name: &str, timeout: Duration) -> CfnResponse {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(response) = self.responses_for(name).into_iter().next() {
                return response;
            }
            assert!(
                Instant::now() < deadline,
                "no PUT to the CloudFormation response URL {} within {timeout:?}\n\
                 PUTs received: {:#?}\nnon-PUT requests (rejected): {:?}",
                path_of(name),
                self.responses(),
                self.rejected()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ResponseUrl {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_file(&self.certificate);
    }
}

fn path_of(name: &str) -> String {
    format!("/responses/{name}")
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_owned(),
        |path| path.as_str().to_owned(),
    );
    if parts.method != Method::PUT {
        state
            .rejected
            .lock()
            .expect("response URL recordings poisoned")
            .push(format!("{} {path}", parts.method));
        return http::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "CloudFormation response URLs only accept PUT",
        );
    }
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return http::text(
                StatusCode::BAD_REQUEST,
                format!("response URL server could not read the body: {err}"),
            )
        }
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    state
        .responses
        .lock()
        .expect("response URL recordings poisoned")
        .push(CfnResponse {
            path,
            content_type,
            body,
        });
    // S3 answers a successful PUT with 200 and an empty body.
    http::response(StatusCode::OK, "application/xml", "")
}
