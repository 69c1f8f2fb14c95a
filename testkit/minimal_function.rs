//! The least a Lambda function can do for one push: the floor `make bench` measures the
//! function against. Built by the bench with `rustc` alone (the standard library, no crate),
//! run under the same local Runtime API as the function.
//!
//! It implements the Runtime API loop and nothing else: `GET /next`, then (unless
//! `SKIP_MARKERS=false`, as the function reads it) one plain-HTTP `GetCommit` to
//! `AWS_ENDPOINT_URL_CODECOMMIT`, then one plain-HTTP `StartBuild` to `AWS_ENDPOINT_URL`,
//! each with a fixed body, then `POST` a fixed response. No SDK, no TLS, no signing, no
//! JSON, no decision, no logging. Connections are kept open where the server allows, as
//! the function's clients keep theirs. Any failure ends the process (the bench sees it).

use std::env;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::exit;

fn main() {
    let runtime_api = var("AWS_LAMBDA_RUNTIME_API");
    let codebuild = host(&var("AWS_ENDPOINT_URL"));
    let commit = var("MINIMAL_FUNCTION_COMMIT");
    let get_commit = env::var("SKIP_MARKERS").map_or(true, |value| value != "false");
    let codecommit = get_commit.then(|| host(&var("AWS_ENDPOINT_URL_CODECOMMIT")));
    let get_commit_body = format!(r#"{{"repositoryName":"my-app","commitId":"{commit}"}}"#);
    let start_build_body = start_build_body(&commit);
    let response = format!(
        r#"{{"started":[{{"project":"demo-project","repository":"my-app","ref":"refs/heads/master","commit":"{commit}"}}],"skipped":[]}}"#
    );

    let mut runtime = Connection::new(runtime_api);
    let mut codebuild = Connection::new(codebuild);
    let mut codecommit = codecommit.map(Connection::new);
    loop {
        let next = runtime.request("GET", "/2018-06-01/runtime/invocation/next", &[], "");
        let Some(request_id) = next.header("lambda-runtime-aws-request-id") else {
            fail("GET /next answered without a request id");
        };
        if let Some(codecommit) = &mut codecommit {
            codecommit
                .request(
                    "POST",
                    "/",
                    &aws_headers("CodeCommit_20150413.GetCommit", "codecommit"),
                    &get_commit_body,
                )
                .expect_ok("GetCommit");
        }
        codebuild
            .request(
                "POST",
                "/",
                &aws_headers("CodeBuild_20161006.StartBuild", "codebuild"),
                &start_build_body,
            )
            .expect_ok("StartBuild");
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        runtime
            .request("POST", &path, &[], &response)
            .expect_ok("POST response");
    }
}

/// The function's StartBuild for a push to master of `commit`: same fields and size.
fn start_build_body(commit: &str) -> String {
    let variable = |name: &str, value: &str| {
        format!(r#"{{"name":"{name}","value":"{value}","type":"PLAINTEXT"}}"#)
    };
    let variables = [
        variable("CODECOMMIT_REPOSITORY", "my-app"),
        variable("CODECOMMIT_REF", "refs/heads/master"),
        variable("CODECOMMIT_BRANCH", "master"),
        variable("CODECOMMIT_COMMIT", commit),
        variable(
            "CODECOMMIT_PUSHER_ARN",
            "arn:aws:iam::123456789012:user/alice",
        ),
    ];
    format!(
        r#"{{"projectName":"demo-project","sourceVersion":"{commit}","idempotencyToken":"{commit}0123456789abcdef01234567","environmentVariablesOverride":[{}]}}"#,
        variables.join(",")
    )
}

/// The headers of an AWS JSON 1.1 request (moto reads the access key from the authorization).
fn aws_headers(target: &str, service: &str) -> [(&'static str, String); 3] {
    [
        ("X-Amz-Target", target.to_owned()),
        ("Content-Type", "application/x-amz-json-1.1".to_owned()),
        (
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/{service}/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0"
            ),
        ),
    ]
}

/// One HTTP/1.1 server, over one kept-alive connection, opened again when the server
/// closed it.
struct Connection {
    host: String,
    stream: Option<BufReader<TcpStream>>,
}

/// A response: status, headers (names lower-cased).
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Connection {
    fn new(host: String) -> Connection {
        Connection { host, stream: None }
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> Response {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        let reused = self.stream.is_some();
        match self.exchange(request.as_bytes()) {
            Ok(response) => response,
            // A kept-alive connection the server closed meanwhile: once more on a new one.
            Err(_) if reused => {
                self.stream = None;
                self.exchange(request.as_bytes())
                    .unwrap_or_else(|problem| fail(&problem))
            }
            Err(problem) => fail(&problem),
        }
    }

    fn exchange(&mut self, request: &[u8]) -> Result<Response, String> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.host)
                .map_err(|e| format!("connect {}: {e}", self.host))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().ok_or("no connection")?;
        reader
            .get_mut()
            .write_all(request)
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("the server closed the connection".into());
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or("no status line")?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let response = Response { status, headers };
        let close = response
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let mut body = Vec::new();
        match response
            .header("content-length")
            .and_then(|length| length.parse::<u64>().ok())
        {
            Some(length) => {
                reader
                    .by_ref()
                    .take(length)
                    .read_to_end(&mut body)
                    .map_err(|e| e.to_string())?;
            }
            None => {
                reader.read_to_end(&mut body).map_err(|e| e.to_string())?;
                self.stream = None;
            }
        }
        if close {
            self.stream = None;
        }
        Ok(response)
    }
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn expect_ok(self, what: &str) {
        if !(200..300).contains(&self.status) {
            fail(&format!("{what} was answered {}", self.status));
        }
    }
}

/// `host:port` of an `http://` endpoint URL.
fn host(url: &str) -> String {
    url.strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned()
}

fn var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| fail(&format!("{name} is not set")))
}

fn fail(problem: &str) -> ! {
    eprintln!("minimal function: {problem}");
    exit(1)
}
