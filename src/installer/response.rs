//! Answering CloudFormation: a JSON document PUT to the pre-signed URL.

use super::install::{Reply, Status};
use super::request::Envelope;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::time::Duration;

/// CloudFormation rejects answers over 4 KiB: keep the reason well below.
const MAX_REASON: usize = 2000;
/// Attempts at the PUT before giving up.
const ATTEMPTS: u32 = 3;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    status: &'static str,
    reason: &'a str,
    physical_resource_id: &'a str,
    stack_id: &'a str,
    request_id: &'a str,
    logical_resource_id: &'a str,
    no_echo: bool,
    data: serde_json::Value,
}

/// The JSON answer for `outcome`.
pub fn body(envelope: &Envelope, outcome: &Reply) -> Vec<u8> {
    let reason = crate::vocabulary::truncate(&outcome.reason, MAX_REASON);
    let body = Body {
        status: match outcome.status {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        },
        reason: &reason,
        physical_resource_id: &outcome.physical_id,
        stack_id: &envelope.stack_id,
        request_id: &envelope.request_id,
        logical_resource_id: &envelope.logical_resource_id,
        no_echo: false,
        data: serde_json::json!({}),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Why CloudFormation could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The system has no root certificates to trust the URL's with.
    #[error("no TLS root certificates: {0}")]
    NoRoots(#[source] std::io::Error),
    /// The URL cannot make a request.
    #[error("invalid ResponseURL: {0}")]
    InvalidUrl(#[source] hyper::http::Error),
    /// The URL refused the answer, or never took it (the last status or transport failure).
    #[error("the ResponseURL answered {0}")]
    Refused(String),
}

/// PUTs `body` to the pre-signed `url`, retrying transport failures and
/// server errors. The `Content-Type` is empty, as the URL was signed for.
pub async fn send(url: &str, body: Vec<u8>) -> Result<(), ResponseError> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(ResponseError::NoRoots)?
        .https_only()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let body = Bytes::from(body);
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        let request = hyper::Request::put(url)
            .header(hyper::header::CONTENT_TYPE, "")
            .header(hyper::header::CONTENT_LENGTH, body.len())
            .body(Full::new(body.clone()))
            .map_err(ResponseError::InvalidUrl)?;
        match client.request(request).await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                let text = response
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                last_error = format!("{status}: {}", String::from_utf8_lossy(&text));
                if status.is_client_error() {
                    break;
                }
            }
            Err(error) => last_error = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
    Err(ResponseError::Refused(last_error))
}
