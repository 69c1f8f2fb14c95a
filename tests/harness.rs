//! Self-tests of the test harness in `tests/support`: moto, the recording proxy and the
//! Runtime API emulator, without depending on the function's behaviour.

mod support;

use std::path::Path;
use std::time::Duration;

use aws_sdk_codebuild::error::ProvideErrorMetadata;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use support::function::Function;
use support::proxy::{Fault, Proxy};
use support::runtime_api::{FunctionError, RuntimeApi};
use support::{moto, Harness, PROJECT};

#[tokio::test]
async fn proxy_records_forwards_and_injects_faults() {
    let moto = moto::Moto::start().await;
    let direct = moto::codebuild_client(&moto.endpoint());
    let project = moto::create_project(&direct, PROJECT).await;
    assert_eq!(project.name(), Some(PROJECT));

    let proxy = Proxy::start(moto.addr()).await;
    let via_proxy = moto::codebuild_client(&proxy.endpoint());
    proxy.inject(Fault {
        target: "StartBuild".to_owned(),
        when_body_contains: Some("abc123".to_owned()),
        times: 1,
        status: 400,
        error_code: "InvalidInputException".to_owned(),
        message: "injected by the harness self-test".to_owned(),
    });

    // A StartBuild whose body does not match the fault passes through.
    let other = via_proxy
        .start_build()
        .project_name(PROJECT)
        .source_version("def456")
        .send()
        .await
        .expect("a StartBuild not matching the fault reaches moto");
    let other = other
        .build_value
        .expect("StartBuild answers with the build");

    let err = via_proxy
        .start_build()
        .project_name(PROJECT)
        .source_version("abc123")
        .send()
        .await
        .expect_err("the first matching StartBuild is faulted");
    let service_error = err
        .as_service_error()
        .expect("the fault is a service error");
    assert!(
        service_error.is_invalid_input_exception(),
        "{service_error:?}"
    );
    assert_eq!(
        service_error.message(),
        Some("injected by the harness self-test")
    );

    let build = via_proxy
        .start_build()
        .project_name(PROJECT)
        .source_version("abc123")
        .send()
        .await
        .expect("the fault was used up, so the second matching StartBuild reaches moto")
        .build_value
        .expect("StartBuild answers with the build");
    assert_eq!(build.source_version(), Some("abc123"));

    let recorded = proxy.requests();
    let summary: Vec<(&str, &Value, bool)> = recorded
        .iter()
        .map(|request| {
            (
                request.target.as_str(),
                &request.body["sourceVersion"],
                request.faulted,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("CodeBuild_20161006.StartBuild", &json!("def456"), false),
            ("CodeBuild_20161006.StartBuild", &json!("abc123"), true),
            ("CodeBuild_20161006.StartBuild", &json!("abc123"), false),
        ]
    );
    assert!(recorded
        .iter()
        .all(|request| request.operation() == "StartBuild"));
    assert_eq!(recorded[1].body["projectName"], json!(PROJECT));

    // moto saw only the two forwarded calls; the harness client bypasses the proxy.
    let ids = direct
        .list_builds_for_project()
        .project_name(PROJECT)
        .send()
        .await
        .expect("ListBuildsForProject in moto")
        .ids
        .unwrap_or_default();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], other.id().expect("build id"));
    assert_eq!(ids[1], build.id().expect("build id"));
    assert_eq!(
        proxy.requests().len(),
        3,
        "direct calls must not be recorded"
    );
}

#[tokio::test]
async fn runtime_api_speaks_the_lambda_protocol() {
    let runtime = RuntimeApi::start().await;
    let base = format!("http://{}/2018-06-01/runtime", runtime.addr());
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let call = |method: Method, url: String, body: &'static str| {
        let client = client.clone();
        async move {
            let request = Request::builder()
                .method(method)
                .uri(url)
                .body(Full::new(Bytes::from_static(body.as_bytes())))
                .expect("a valid request");
            let response = client
                .request(request)
                .await
                .expect("the runtime API answers");
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("reading the answer").to_bytes();
            (parts, String::from_utf8_lossy(&body).into_owned())
        }
    };

    assert_eq!(runtime.poll_count(), 0);
    let (unknown, _) = call(Method::GET, format!("{base}/nowhere"), "").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // A fake function: poll /next, answer the first event, fail the second.
    let fake_function = async {
        let (first, event) = call(Method::GET, format!("{base}/invocation/next"), "").await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(event, r#"{"n":1}"#);
        let header = |name: &str| {
            first.headers[name]
                .to_str()
                .expect("ASCII header")
                .to_owned()
        };
        assert_eq!(
            header("lambda-runtime-invoked-function-arn"),
            support::runtime_api::FUNCTION_ARN
        );
        assert!(header("lambda-runtime-trace-id").starts_with("Root=1-"));
        let deadline: u128 = header("lambda-runtime-deadline-ms")
            .parse()
            .expect("deadline is a number");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis();
        assert!(
            deadline > now + 25_000 && deadline <= now + 31_000,
            "{deadline} vs {now}"
        );
        let first_id = header("lambda-runtime-aws-request-id");
        let (accepted, _) = call(
            Method::POST,
            format!("{base}/invocation/{first_id}/response"),
            r#"{"ok":true}"#,
        )
        .await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED);
        let (again, _) = call(
            Method::POST,
            format!("{base}/invocation/{first_id}/response"),
            "{}",
        )
        .await;
        assert_eq!(
            again.status,
            StatusCode::BAD_REQUEST,
            "an invocation is answered once"
        );

        let (second, _) = call(Method::GET, format!("{base}/invocation/next"), "").await;
        let second_id = second.headers["lambda-runtime-aws-request-id"]
            .to_str()
            .expect("ASCII header")
            .to_owned();
        assert_ne!(first_id, second_id);
        let body = r#"{"errorType":"BuildNotStarted","errorMessage":"no project"}"#;
        let (accepted, _) = call(
            Method::POST,
            format!("{base}/invocation/{second_id}/error"),
            body,
        )
        .await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED);

        let (init, _) = call(
            Method::POST,
            format!("{base}/init/error"),
            r#"{"errorType":"Config","errorMessage":"missing"}"#,
        )
        .await;
        assert_eq!(init.status, StatusCode::ACCEPTED);
    };
    let invocations = async {
        assert!(runtime.wait_first_poll(Duration::from_secs(5)).await);
        let first = runtime
            .invoke(&json!({ "n": 1 }), Duration::from_secs(5))
            .await;
        let second = runtime
            .invoke(&json!({ "n": 2 }), Duration::from_secs(5))
            .await;
        (first, second)
    };
    let ((), (first, second)) = tokio::join!(fake_function, invocations);

    assert_eq!(first, Ok(json!({ "ok": true })));
    assert_eq!(
        second,
        Err(FunctionError {
            error_type: "BuildNotStarted".to_owned(),
            error_message: "no project".to_owned(),
        })
    );
    assert_eq!(
        runtime.init_error(),
        Some(FunctionError {
            error_type: "Config".to_owned(),
            error_message: "missing".to_owned(),
        })
    );
    assert_eq!(runtime.error_bodies().len(), 2);
    assert_eq!(runtime.poll_count(), 2);

    // Nobody polls: the invocation times out and is withdrawn.
    assert_eq!(
        runtime
            .try_invoke(&json!({}), Duration::from_millis(100))
            .await,
        None
    );
}

#[tokio::test]
async fn function_gets_only_path_and_the_given_environment() {
    let env = [("ONLY_THIS".to_owned(), "yes".to_owned())];
    let mut function = Function::spawn(Path::new("/usr/bin/env"), &env);
    let status = function
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("env exits at once");
    assert!(status.success());
    assert!(function.has_exited());
    // The reader threads may still be draining the pipe.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut lines = function.stdout_lines();
    lines.sort();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("ONLY_THIS=yes") && lines[1].starts_with("PATH="),
        "{lines:?}"
    );
    assert!(function.log_records().is_empty());
}

/// Runs whatever `TRIGGER_BIN` is (the real function under `make test`, `/bin/true` while
/// checking the harness alone): start must return either way, and drop must clean up.
#[tokio::test]
async fn harness_starts_and_stops() {
    let harness = Harness::builder().without_project().start().await;
    assert_eq!(harness.project, PROJECT);
    assert!(
        harness.builds().await.is_empty(),
        "no project, so no builds"
    );
    assert!(harness.start_build_requests().is_empty());
    let pid = harness.function.pid().expect("the function had a pid");
    drop(harness);
    // Killed and reaped (or at least a zombie no longer running).
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z ") || state.contains(") X "),
        "function process {pid} still running: {state}"
    );
}
