//! Self-tests of the test harness in `testkit`: moto, the recording proxy and the
//! Runtime API emulator, without depending on the function's behaviour.

#![cfg(feature = "end-to-end")]

use std::path::Path;
use std::time::Duration;

use aws_sdk_codebuild::error::ProvideErrorMetadata;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use testkit::function::Function;
use testkit::proxy::{Fault, Proxy};
use testkit::runtime_api::{FunctionError, RuntimeApi};
use testkit::{moto, Harness, PROJECT};

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
            testkit::runtime_api::FUNCTION_ARN
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

/// The proxy completes moto's CodeBuild: overrides kept, status as CodeBuild reports it,
/// newest build first; StopBuild and ListBuildsForProject reach moto.
#[tokio::test]
async fn proxy_completes_moto_codebuild() {
    use aws_sdk_codebuild::types::{
        EnvironmentVariable, EnvironmentVariableType, SortOrderType, StatusType,
    };
    use testkit::proxy::BuildStatus;

    let moto = moto::Moto::start().await;
    let direct = moto::codebuild_client(&moto.endpoint());
    moto::create_project(&direct, PROJECT).await;
    let proxy = Proxy::start(moto.addr()).await;
    let client = moto::codebuild_client(&proxy.endpoint());
    let variable = |name: &str, value: &str| {
        EnvironmentVariable::builder()
            .name(name)
            .value(value)
            .r#type(EnvironmentVariableType::Plaintext)
            .build()
            .expect("a complete environment variable")
    };
    let mut ids = Vec::new();
    for n in 0..3 {
        let build = client
            .start_build()
            .project_name(PROJECT)
            .source_version(format!("commit-{n}"))
            .environment_variables_override(variable("CODECOMMIT_REF", "refs/heads/main"))
            .environment_variables_override(variable("N", &n.to_string()))
            .send()
            .await
            .expect("StartBuild through the proxy")
            .build_value
            .expect("StartBuild answers with the build");
        assert_eq!(build.build_status(), Some(&StatusType::InProgress));
        ids.push(build.id().expect("a build id").to_owned());
    }
    // A build the proxy did not see start keeps moto's description.
    let unseen = direct
        .start_build()
        .project_name(PROJECT)
        .send()
        .await
        .expect("StartBuild in moto")
        .build_value
        .and_then(|build| build.id)
        .expect("a build id");

    let newest_first = client
        .list_builds_for_project()
        .project_name(PROJECT)
        .send()
        .await
        .expect("ListBuildsForProject through the proxy")
        .ids
        .unwrap_or_default();
    assert_eq!(
        newest_first,
        [
            unseen.clone(),
            ids[2].clone(),
            ids[1].clone(),
            ids[0].clone()
        ]
    );
    let oldest_first = client
        .list_builds_for_project()
        .project_name(PROJECT)
        .sort_order(SortOrderType::Ascending)
        .send()
        .await
        .expect("ListBuildsForProject through the proxy")
        .ids
        .unwrap_or_default();
    assert_eq!(oldest_first[0], ids[0]);

    let stopped = client
        .stop_build()
        .id(&ids[0])
        .send()
        .await
        .expect("StopBuild through the proxy")
        .build_value
        .expect("StopBuild answers with the build");
    assert_eq!(stopped.build_status(), Some(&StatusType::Stopped));
    proxy.finish_build(&ids[1]);
    proxy.finish_build(&ids[0]);
    assert_eq!(proxy.build_status(&ids[0]), Some(BuildStatus::Stopped));
    assert_eq!(proxy.build_status(&ids[1]), Some(BuildStatus::Succeeded));
    assert_eq!(proxy.build_status(&unseen), None);
    let unknown = client
        .stop_build()
        .id(format!("{PROJECT}:00000000-0000-4000-8000-000000000000"))
        .send()
        .await
        .expect_err("stopping an unknown build fails");
    assert_eq!(
        unknown.as_service_error().and_then(|e| e.code()),
        Some("ResourceNotFoundException")
    );

    let described = client
        .batch_get_builds()
        .set_ids(Some(vec![
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            unseen.clone(),
        ]))
        .send()
        .await
        .expect("BatchGetBuilds through the proxy")
        .builds
        .unwrap_or_default();
    let status_of = |id: &str| {
        let build = described
            .iter()
            .find(|build| build.id() == Some(id))
            .unwrap_or_else(|| panic!("BatchGetBuilds answered {id}"));
        let variables: Vec<(String, String)> = build
            .environment()
            .map(|environment| environment.environment_variables())
            .unwrap_or_default()
            .iter()
            .map(|v| (v.name().to_owned(), v.value().to_owned()))
            .collect();
        (build.build_status().cloned(), variables)
    };
    let variables = |n: &str| {
        vec![
            ("CODECOMMIT_REF".to_owned(), "refs/heads/main".to_owned()),
            ("N".to_owned(), n.to_owned()),
        ]
    };
    assert_eq!(
        status_of(&ids[0]),
        (Some(StatusType::Stopped), variables("0"))
    );
    assert_eq!(
        status_of(&ids[1]),
        (Some(StatusType::Succeeded), variables("1"))
    );
    assert_eq!(
        status_of(&ids[2]),
        (Some(StatusType::InProgress), variables("2"))
    );
    assert_eq!(
        status_of(&unseen),
        (Some(StatusType::Succeeded), Vec::new())
    );
    let operations: Vec<String> = proxy
        .requests()
        .iter()
        .map(|request| request.operation().to_owned())
        .collect();
    assert_eq!(
        operations,
        [
            "StartBuild",
            "StartBuild",
            "StartBuild",
            "ListBuildsForProject",
            "ListBuildsForProject",
            "StopBuild",
            "StopBuild",
            "BatchGetBuilds"
        ]
    );
}

/// The harness serves its git repositories from the fake CodeCommit, which the function
/// reaches through `AWS_ENDPOINT_URL_CODECOMMIT`, and creates the extra projects.
#[tokio::test]
async fn harness_serves_git_repositories_and_extra_projects() {
    let repo = testkit::git::GitRepo::init("main");
    repo.write("a.txt", "a\n");
    let commit = repo.commit("First");
    let harness = Harness::builder()
        .project("other-build")
        .git_repository("my-repo", repo)
        .start()
        .await;
    assert_eq!(harness.git("my-repo").rev_parse("main"), commit);
    let endpoint = harness
        .environment()
        .iter()
        .find(|(key, _)| key == testkit::CODECOMMIT_ENDPOINT_VAR)
        .map(|(_, value)| value.clone());
    assert_eq!(endpoint, Some(harness.codecommit.endpoint()));
    assert!(harness.builds_of("other-build").await.is_empty());
    let created = harness
        .codebuild
        .batch_get_projects()
        .names("other-build")
        .names(PROJECT)
        .send()
        .await
        .expect("BatchGetProjects in moto");
    assert_eq!(created.projects().len(), 2);
}

/// `Fault::reset` resets the client's connection unanswered; a delayed fault answers late;
/// `Fault::delay` forwards late; `clear_faults` removes what is left.
#[tokio::test]
async fn proxy_resets_delays_and_clears_faults() {
    use testkit::proxy::FaultAnswer;

    let moto = moto::Moto::start().await;
    let direct = moto::codebuild_client(&moto.endpoint());
    moto::create_project(&direct, PROJECT).await;
    let proxy = Proxy::start(moto.addr()).await;
    let raw = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let start_build = |source_version: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("{}/", proxy.endpoint()))
            .header("x-amz-target", "CodeBuild_20161006.StartBuild")
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from(
                json!({"projectName": PROJECT, "sourceVersion": source_version}).to_string(),
            )))
            .expect("a valid request")
    };

    proxy.inject(Fault::reset("StartBuild"));
    let reset = raw
        .request(start_build("reset"))
        .await
        .expect_err("the connection is reset");
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&reset);
    let mut kinds = Vec::new();
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
        cause = error.source();
    }
    assert_eq!(
        kinds,
        [std::io::ErrorKind::ConnectionReset],
        "a TCP reset, not an answer: {reset:?}"
    );

    proxy.inject(Fault::throttling("StartBuild").delayed(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let throttled = raw
        .request(start_build("throttled"))
        .await
        .expect("an answer");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(throttled.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        throttled.headers()["x-amzn-errortype"],
        "ThrottlingException"
    );

    let via_proxy = moto::codebuild_client(&proxy.endpoint());
    let slow = Fault::delay("StartBuild", Duration::from_millis(300));
    assert_eq!(slow.answer, FaultAnswer::Forward);
    proxy.inject(slow);
    let started = std::time::Instant::now();
    let build = via_proxy
        .start_build()
        .project_name(PROJECT)
        .source_version("slow")
        .send()
        .await
        .expect("a slow answer is still moto's answer")
        .build_value
        .expect("the build");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(build.source_version(), Some("slow"));

    proxy.inject(
        Fault::reset("StartBuild")
            .when_body_contains("never")
            .times(5),
    );
    proxy.clear_faults();
    via_proxy
        .start_build()
        .project_name(PROJECT)
        .source_version("never")
        .send()
        .await
        .expect("no fault is left");

    let summary: Vec<(Value, bool)> = proxy
        .requests()
        .into_iter()
        .map(|request| (request.body["sourceVersion"].clone(), request.faulted))
        .collect();
    assert_eq!(
        summary,
        [
            (json!("reset"), true),
            (json!("throttled"), true),
            (json!("slow"), false),
            (json!("never"), false),
        ],
        "a request only delayed was forwarded, so it is not faulted"
    );
    let in_moto = direct
        .list_builds_for_project()
        .project_name(PROJECT)
        .send()
        .await
        .expect("ListBuildsForProject in moto")
        .ids
        .unwrap_or_default();
    assert_eq!(
        in_moto.len(),
        2,
        "the reset and the throttled request never reached moto"
    );
}

/// An invocation's deadline is the one it was given, from when `/next` hands it out.
#[tokio::test]
async fn runtime_api_gives_each_invocation_its_deadline() {
    let runtime = RuntimeApi::start().await;
    let invoker = runtime.invoker();
    let invocation = tokio::spawn(async move {
        invoker
            .try_invoke(
                &json!({"n": 1}),
                Duration::from_secs(3),
                Duration::from_secs(10),
            )
            .await
    });
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let base = format!("http://{}/2018-06-01/runtime", runtime.addr());
    let next = client
        .get(format!("{base}/invocation/next").parse().expect("a URI"))
        .await
        .expect("the next invocation");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let header = |name: &str| {
        next.headers()[name]
            .to_str()
            .expect("ASCII header")
            .to_owned()
    };
    let deadline: u128 = header("lambda-runtime-deadline-ms")
        .parse()
        .expect("a number");
    assert!(
        deadline > now + 2_000 && deadline <= now + 3_000,
        "{deadline} vs {now}"
    );
    let id = header("lambda-runtime-aws-request-id");
    let answer = Request::builder()
        .method(Method::POST)
        .uri(format!("{base}/invocation/{id}/response"))
        .body(Full::new(Bytes::from_static(b"{\"done\":true}")))
        .expect("a valid request");
    client.request(answer).await.expect("the answer is taken");
    assert_eq!(
        invocation.await.expect("the invocation task"),
        Some(Ok(json!({"done": true})))
    );
}

/// The fake Lambda endpoint speaks `Invoke` as Lambda does, to a hand-driven function.
#[tokio::test]
async fn fake_lambda_invokes_through_the_runtime_api() {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::InvocationType;
    use testkit::lambda::FakeLambda;
    use testkit::runtime_api::FUNCTION_ARN;

    let runtime = RuntimeApi::start().await;
    let lambda = FakeLambda::start(&runtime, FUNCTION_ARN, Duration::from_secs(5)).await;
    // A function that echoes its events, fails those that say so and ignores the rest.
    let base = format!("http://{}/2018-06-01/runtime", runtime.addr());
    let function = tokio::spawn(async move {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        loop {
            let next = client
                .get(format!("{base}/invocation/next").parse().expect("a URI"))
                .await
                .expect("the next invocation");
            let id = next.headers()["lambda-runtime-aws-request-id"]
                .to_str()
                .expect("ASCII header")
                .to_owned();
            let event: Value = serde_json::from_slice(
                &next
                    .into_body()
                    .collect()
                    .await
                    .expect("the event")
                    .to_bytes(),
            )
            .expect("a JSON event");
            let (route, body) = match event["do"].as_str() {
                Some("fail") => (
                    "error",
                    json!({"errorType": "StartBuildFailed", "errorMessage": "no"}),
                ),
                Some("hang") => continue,
                _ => ("response", json!({"echo": event})),
            };
            let answer = Request::builder()
                .method(Method::POST)
                .uri(format!("{base}/invocation/{id}/{route}"))
                .body(Full::new(Bytes::from(body.to_string())))
                .expect("a valid request");
            client.request(answer).await.expect("the answer is taken");
        }
    });

    let config = aws_sdk_lambda::Config::builder()
        .http_client(testkit::sdk_http_client())
        .behavior_version_latest()
        .region(aws_sdk_lambda::config::Region::new(moto::REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "harness",
        ))
        .endpoint_url(lambda.endpoint())
        .build();
    let client = aws_sdk_lambda::Client::from_conf(config);
    let invoke = |name: &str, payload: &str| {
        client
            .invoke()
            .function_name(name)
            .payload(Blob::new(payload.to_owned()))
            .send()
    };

    for name in [
        FUNCTION_ARN.to_owned(),
        format!("{FUNCTION_ARN}:$LATEST"),
        "codecommit-build-trigger".to_owned(),
        "123456789012:function:codecommit-build-trigger".to_owned(),
    ] {
        let output = invoke(&name, r#"{"n":1}"#).await.expect("an answer");
        assert_eq!(output.status_code, 200, "{name}");
        assert_eq!(output.function_error, None, "{name}");
        assert_eq!(output.executed_version.as_deref(), Some("$LATEST"));
        let payload: Value =
            serde_json::from_slice(output.payload.expect("a payload").as_ref()).expect("JSON");
        assert_eq!(payload, json!({"echo": {"n": 1}}), "{name}");
    }

    let failed = invoke(FUNCTION_ARN, r#"{"do":"fail"}"#)
        .await
        .expect("an answer");
    assert_eq!(failed.status_code, 200);
    assert_eq!(failed.function_error.as_deref(), Some("Unhandled"));
    let payload: Value =
        serde_json::from_slice(failed.payload.expect("a payload").as_ref()).expect("JSON");
    assert_eq!(
        payload,
        json!({"errorType": "StartBuildFailed", "errorMessage": "no"})
    );

    let hung = invoke(FUNCTION_ARN, r#"{"do":"hang"}"#)
        .await
        .expect("an answer");
    assert_eq!(hung.function_error.as_deref(), Some("Unhandled"));
    let payload: Value =
        serde_json::from_slice(hung.payload.expect("a payload").as_ref()).expect("JSON");
    assert_eq!(payload["errorType"], "Sandbox.Timedout");

    let unknown = invoke("another-function", "{}")
        .await
        .expect_err("no such function");
    assert_eq!(
        unknown.as_service_error().and_then(|e| e.code()),
        Some("ResourceNotFoundException")
    );
    let not_json = invoke(FUNCTION_ARN, "not json")
        .await
        .expect_err("not JSON");
    assert_eq!(
        not_json.as_service_error().and_then(|e| e.code()),
        Some("InvalidRequestContentException")
    );
    let dry = client
        .invoke()
        .function_name(FUNCTION_ARN)
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .expect("a dry run");
    assert_eq!(dry.status_code, 204);

    let calls = lambda.calls();
    assert_eq!(calls.len(), 9, "{calls:?}");
    assert_eq!(calls[0].function_name, FUNCTION_ARN);
    assert_eq!(calls[0].payload, json!({"n": 1}));
    assert_eq!(calls[1].function_name, format!("{FUNCTION_ARN}:$LATEST"));
    assert_eq!(calls[4].function_error.as_deref(), Some("Unhandled"));
    assert_eq!(calls[6].status, 404);
    assert_eq!(calls[7].payload, json!("not json"));
    assert_eq!(calls[8].invocation_type.as_deref(), Some("DryRun"));
    function.abort();
}
