//! Small HTTP/1.1 server plumbing shared by the proxy, the Runtime API emulator and the
//! fake AWS endpoints.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
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
    accept_loop(listener, move |stream| {
        serve_connection(stream, Arc::clone(&handler))
    })
}

/// Serves one connection (HTTP/1.1, keep-alive) until the client hangs up.
async fn serve_connection<S, H, F>(stream: S, handler: Arc<H>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    let service = service_fn(move |request| {
        let response = handler(request);
        async move { Ok::<_, Infallible>(response.await) }
    });
    // A client hanging up mid-request is not a harness failure.
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// [`serve`] over TLS: each connection's handshake with `acceptor` first (a failed one is
/// dropped, as a server would).
pub fn serve_tls<H, F>(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    handler: H,
) -> JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    let handler = Arc::new(handler);
    accept_loop(listener, move |stream| {
        let handler = Arc::clone(&handler);
        let acceptor = acceptor.clone();
        async move {
            if let Ok(stream) = acceptor.accept(stream).await {
                serve_connection(stream, handler).await;
            }
        }
    })
}

/// What [`serve_resettable`]'s handler asks for instead of an answer: the connection is
/// closed at once, unanswered, with a TCP reset (`SO_LINGER` 0), so the client reads
/// `ECONNRESET` as from a load balancer or service host that dropped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the test server reset the connection without answering")
    }
}

impl std::error::Error for ResetConnection {}

/// Like [`serve`], but `handler` may answer [`ResetConnection`] to reset the client's
/// connection (and every request still waiting on it) instead of answering.
pub fn serve_resettable<H, F>(listener: TcpListener, handler: H) -> JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<HttpResponse, ResetConnection>> + Send + 'static,
{
    let handler = Arc::new(handler);
    accept_loop(listener, move |stream| {
        let handler = Arc::clone(&handler);
        async move {
            // A second descriptor of the socket, to set `SO_LINGER` 0 on it at a reset. It
            // is closed with the service (end of the connection) or at the reset, so the
            // socket never outlives the connection.
            let Some((stream, control)) = with_control(stream) else {
                return;
            };
            let control = Arc::new(Mutex::new(Some(control)));
            let service = service_fn(move |request| {
                let response = handler(request);
                let control = Arc::clone(&control);
                async move {
                    let answer = response.await;
                    if answer.is_err() {
                        let socket = control.lock().ok().and_then(|mut control| control.take());
                        if let Some(socket) = socket {
                            // Best effort: without it the client still sees the connection
                            // close unanswered, only with a FIN instead of a reset.
                            let _ = socket.set_zero_linger();
                        }
                    }
                    answer
                }
            });
            // hyper closes the connection, unanswered, when the service fails.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    })
}

/// The stream again, plus a [`TcpSocket`] on a duplicate of its descriptor; `None` if the
/// descriptor cannot be duplicated (the connection is then dropped).
fn with_control(stream: TcpStream) -> Option<(TcpStream, TcpSocket)> {
    let stream = stream.into_std().ok()?;
    let duplicate = stream.try_clone().ok()?;
    let stream = TcpStream::from_std(stream).ok()?;
    Some((stream, TcpSocket::from_std_stream(duplicate)))
}

/// Accept connections on `listener` and serve each with `connection`, in a task of its
/// own. The returned task owns every connection task: aborting it closes all connections.
fn accept_loop<C, F>(listener: TcpListener, connection: C) -> JoinHandle<()>
where
    C: Fn(TcpStream) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        connections.spawn(connection(stream));
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
