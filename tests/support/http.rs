//! Small HTTP/1.1 server plumbing shared by the proxy and the Runtime API emulator.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The response type every handler in the harness produces.
pub type HttpResponse = Response<Full<Bytes>>;

/// Bind a listener on `127.0.0.1:<free port>`; `what` names the server in the panic message.
pub async fn bind_local(what: &str) -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap_or_else(|err| panic!("binding the {what} to 127.0.0.1:0 failed: {err}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("reading the {what}'s local address failed: {err}"));
    (listener, addr)
}

/// Serve HTTP/1.1 (with keep-alive) on `listener`, answering every request with `handler`.
///
/// The returned task owns every connection task: aborting it closes all connections.
pub fn serve<H, F>(listener: TcpListener, handler: H) -> JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let handler = Arc::clone(&handler);
                        connections.spawn(async move {
                            let service = service_fn(move |request| {
                                let response = handler(request);
                                async move { Ok::<_, Infallible>(response.await) }
                            });
                            // A client hanging up mid-request is not a harness failure.
                            let _ = http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    // Transient accept errors (e.g. too many open files): back off briefly.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}

/// A response with the given status, content type and body.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response with the given status.
pub fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    response(status, "application/json", body.to_string())
}

/// A plain-text response with the given status.
pub fn text(status: StatusCode, body: impl Into<String>) -> HttpResponse {
    response(status, "text/plain; charset=utf-8", body.into())
}
