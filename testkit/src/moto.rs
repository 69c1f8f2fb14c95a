//! `moto_server` processes, lent out one test at a time, plus CodeBuild and SQS client
//! helpers for them.
//!
//! Starting moto costs over a second of CPU (Python importing its backends), and most tests
//! need one: rather than a process per test, [`Moto::start`] lends an idle process, its state
//! reset (`POST /moto-api/reset`, as fresh as a new process), and takes it back when the lease
//! is dropped. A lease is exclusive, so tests running at once never share a process. A
//! process whose test panicked is not lent again. Each process watches its standard input,
//! which only this test process holds: when the test process ends, however it ends, moto
//! ends with it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codebuild::config::{Credentials, Region};
use aws_sdk_codebuild::error::DisplayErrorContext;
use aws_sdk_codebuild::types::{
    ArtifactsType, ComputeType, EnvironmentType, Project, ProjectArtifacts, ProjectEnvironment,
    ProjectSource, SourceType,
};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

/// Region every client in the harness uses.
pub const REGION: &str = "us-east-1";
/// Source location of the project created by [`create_project`].
pub const REPOSITORY_URL: &str = "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/my-app";
/// Service role of the project created by [`create_project`]; moto only accepts roles of
/// its default account `123456789012`.
pub const SERVICE_ROLE: &str = "arn:aws:iam::123456789012:role/codebuild-demo";
/// Build image of the project created by [`create_project`].
pub const IMAGE: &str = "aws/codebuild/amazonlinux2-x86_64-standard:5.0";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const RESET_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 3;
const STOP_POLL: Duration = Duration::from_millis(20);
const STOP_POLLS: usize = 250;
const STDERR_LINES_KEPT: usize = 200;

/// moto under a shell that ends it when the shell's standard input closes, and ends when
/// moto does: `$1` is `moto_server`, the rest its arguments. (A background command reads
/// `/dev/null` unless told otherwise: moto never reads the pipe, the watcher reads it as 3.)
const WATCHED_MOTO: &str = r#"exec 3<&0; bin=$1; shift; "$bin" "$@" & moto=$!; { read -r _ <&3; kill "$moto"; } & wait "$moto""#;

/// The idle processes, their state left as their last test left it.
static IDLE: Mutex<Vec<Server>> = Mutex::new(Vec::new());

/// One `moto_server` process on `127.0.0.1:<free port>`.
struct Server {
    child: Child,
    /// Closing it ends moto (see [`WATCHED_MOTO`]).
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

/// A `moto_server` lent to one test, in a fresh state; back to the idle ones on drop.
pub struct Moto {
    server: Option<Server>,
}

/// Why one attempt to start moto failed.
enum StartFailure {
    /// moto exited early, most likely because another process took the port: try again.
    Exited(String),
    /// Anything else: retrying would not help.
    Fatal(String),
}

impl Moto {
    /// Lend an idle `moto_server` (from `MOTO_SERVER`) with its state reset, or start one and
    /// wait until `GET /moto-api/` answers.
    ///
    /// Panics with moto's stderr if it does not answer within 30 s.
    pub async fn start() -> Moto {
        loop {
            let idle = IDLE.lock().expect("the idle moto list").pop();
            let Some(server) = idle else { break };
            if let Some(server) = server.reset().await {
                return Moto {
                    server: Some(server),
                };
            }
        }
        let bin = super::moto_server_bin();
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            match Server::start(&bin).await {
                Ok(server) => {
                    return Moto {
                        server: Some(server),
                    }
                }
                Err(StartFailure::Exited(message)) => {
                    failures.push(format!("attempt {attempt}: {message}"));
                }
                Err(StartFailure::Fatal(message)) => {
                    failures.push(format!("attempt {attempt}: {message}"));
                    break;
                }
            }
        }
        panic!(
            "moto_server ({}) did not start:\n{}",
            bin.display(),
            failures.join("\n")
        )
    }

    fn server(&self) -> &Server {
        self.server
            .as_ref()
            .expect("a lent moto until it is dropped")
    }

    /// Base URL of moto, e.g. `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server().endpoint()
    }

    /// Socket address moto listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server().addr
    }

    /// The last lines moto wrote to stderr since this test got it (its request log and any
    /// traceback).
    pub fn stderr(&self) -> String {
        self.server().stderr()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        // After a panic moto may be what broke: it is not lent again.
        if std::thread::panicking() {
            return;
        }
        if let Ok(mut idle) = IDLE.lock() {
            idle.push(server);
        }
    }
}

impl Server {
    async fn start(bin: &Path) -> Result<Server, StartFailure> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let mut child = Command::new("sh")
            .args(["-c", WATCHED_MOTO, "sh"])
            .arg(bin)
            .args(["-H", "127.0.0.1", "-p", &addr.port().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| StartFailure::Fatal(format!("spawning it failed: {err}")))?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(pipe) = child.stderr.take() {
            collect_stderr(pipe, Arc::clone(&stderr));
        }
        // From here on, dropping `server` ends the process on every error path.
        let stdin = child.stdin.take();
        let mut server = Server {
            child,
            stdin,
            addr,
            stderr,
        };

        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let probe: Uri = format!("{}/moto-api/", server.endpoint())
            .parse()
            .expect("the moto-api probe URI is valid");
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(StartFailure::Exited(format!(
                    "moto_server exited ({status}) before answering; its stderr:\n{}",
                    server.stderr()
                )));
            }
            if let Ok(Ok(_answer)) =
                tokio::time::timeout(PROBE_TIMEOUT, client.get(probe.clone())).await
            {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                return Err(StartFailure::Fatal(format!(
                    "moto_server did not answer GET {probe} within {STARTUP_TIMEOUT:?}; its stderr:\n{}",
                    server.stderr()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// This server with every backend's state reset and its stderr forgotten, or `None`
    /// (the process ended) if it does not answer the reset.
    async fn reset(mut self) -> Option<Server> {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return None;
        }
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/moto-api/reset", self.endpoint()))
            .body(Empty::new())
            .expect("the moto-api reset request is valid");
        let answer = tokio::time::timeout(RESET_TIMEOUT, client.request(request)).await;
        if !matches!(answer, Ok(Ok(ref response)) if response.status().is_success()) {
            return None;
        }
        self.stderr
            .lock()
            .expect("moto stderr buffer poisoned")
            .clear();
        Some(self)
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stderr(&self) -> String {
        let lines = self.stderr.lock().expect("moto stderr buffer poisoned");
        lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing its input ends moto, and then the shell. A shell still there after a few
        // seconds is killed rather than waited for without end.
        drop(self.stdin.take());
        for _ in 0..STOP_POLLS {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(STOP_POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bind `127.0.0.1:0`, read the port, release it).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("binding 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("reading the address of the free-port listener")
        .port()
}

/// Drain moto's stderr on a thread (so moto never blocks on a full pipe), keeping the tail.
fn collect_stderr(pipe: impl Read + Send + 'static, buffer: Arc<Mutex<VecDeque<String>>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            line.clear();
            let Ok(mut lines) = buffer.lock() else { return };
            if lines.len() == STDERR_LINES_KEPT {
                lines.pop_front();
            }
            lines.push_back(text);
        }
    });
}

/// A CodeBuild client for `endpoint` (moto or the proxy): region `us-east-1`, static
/// credentials `testing`/`testing`.
pub fn codebuild_client(endpoint: &str) -> aws_sdk_codebuild::Client {
    let config = aws_sdk_codebuild::Config::builder()
        .http_client(super::sdk_http_client())
        .behavior_version_latest()
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "codecommit-build-trigger-tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_codebuild::Client::from_conf(config)
}

/// An SQS client for `endpoint` (moto): region `us-east-1`, static credentials
/// `testing`/`testing`.
pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .http_client(super::sdk_http_client())
        .behavior_version_latest()
        .region(aws_sdk_sqs::config::Region::new(REGION))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "codecommit-build-trigger-tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Create CodeBuild project `name` (CODECOMMIT source [`REPOSITORY_URL`], no artifacts,
/// small Linux container [`IMAGE`], role [`SERVICE_ROLE`]); panics if moto refuses.
pub async fn create_project(client: &aws_sdk_codebuild::Client, name: &str) -> Project {
    let source = ProjectSource::builder()
        .r#type(SourceType::Codecommit)
        .location(REPOSITORY_URL)
        .build()
        .expect("the project source sets every required field");
    let artifacts = ProjectArtifacts::builder()
        .r#type(ArtifactsType::NoArtifacts)
        .build()
        .expect("the project artifacts set every required field");
    let environment = ProjectEnvironment::builder()
        .r#type(EnvironmentType::LinuxContainer)
        .image(IMAGE)
        .compute_type(ComputeType::BuildGeneral1Small)
        .build()
        .expect("the project environment sets every required field");
    let output = client
        .create_project()
        .name(name)
        .source(source)
        .artifacts(artifacts)
        .environment(environment)
        .service_role(SERVICE_ROLE)
        .send()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "creating CodeBuild project {name:?} in moto failed: {}",
                DisplayErrorContext(&err)
            )
        });
    output
        .project
        .unwrap_or_else(|| panic!("moto's CreateProject answer for {name:?} has no project"))
}

/// A CloudWatch Logs client for `endpoint` (moto): region `us-east-1`, static credentials
/// `testing`/`testing`.
pub fn logs_client(endpoint: &str) -> aws_sdk_cloudwatchlogs::Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .http_client(super::sdk_http_client())
        .behavior_version_latest()
        .region(aws_sdk_cloudwatchlogs::config::Region::new(REGION))
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "codecommit-build-trigger-tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

/// Write `lines` (one log event each, a millisecond apart, ending now) to `stream` of
/// `group`, creating both, as CodeBuild writes a build's log; panics if moto refuses.
pub async fn write_log(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    lines: &[String],
) {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let _ = client.create_log_group().log_group_name(group).send().await;
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("moto creates the log stream");
    // The service (and moto) takes no event older than 14 days: the log is written now.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
        - lines.len() as i64;
    let events: Vec<InputLogEvent> = lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            InputLogEvent::builder()
                .timestamp(start + n as i64)
                .message(line)
                .build()
                .expect("a log event sets every required field")
        })
        .collect();
    client
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("moto stores the log events");
}
