//! End-to-end test harness: the real `codecommit-build-trigger` binary, driven through a
//! local Lambda Runtime API emulator, calling CodeBuild in moto through a recording proxy.

// Each test binary (and examples/demo.rs) uses a different subset of this module tree.
#![allow(dead_code)]

pub mod cfn;
pub mod codecommit;
pub mod function;
pub mod git;
mod http;
pub mod moto;
pub mod proxy;
pub mod runtime_api;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_codebuild::error::DisplayErrorContext;
use aws_sdk_codebuild::operation::list_builds_for_project::ListBuildsForProjectError;
use aws_sdk_codebuild::types::{Build, SortOrderType};
use serde_json::Value;
use tokio::time::Instant;

/// The CodeBuild project the harness creates in moto and points the function at.
pub const PROJECT: &str = "demo-project";
/// How long [`Harness::invoke`] waits for the function's answer.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`HarnessBuilder::start`] waits for the function to finish init.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(20);

/// Path of the release binary under test (`TRIGGER_BIN`, set by `make test` / `make demo`).
pub fn trigger_bin() -> PathBuf {
    required_file("TRIGGER_BIN")
}

/// Path of the release binary of the custom resource (`INSTALLER_BIN`, set by `make test`).
pub fn installer_bin() -> PathBuf {
    required_file("INSTALLER_BIN")
}

/// Path of `moto_server` (`MOTO_SERVER`, set by `make test` / `make demo`).
pub fn moto_server_bin() -> PathBuf {
    required_file("MOTO_SERVER")
}

fn required_file(var: &str) -> PathBuf {
    let Some(value) = std::env::var_os(var) else {
        panic!(
            "{var} is not set: these tests run the release binary against moto; run `make test`"
        );
    };
    let path = PathBuf::from(value);
    // Relative paths are taken relative to the crate root, where `make` runs.
    let path = if path.is_relative() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    } else {
        path
    };
    assert!(
        path.is_file(),
        "{var}={} does not exist: these tests run the release binary against moto; run `make test`",
        path.display()
    );
    path
}

/// Read the sample event `events/<name>` as JSON.
pub fn sample_event(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading sample event {} failed: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("sample event {} is not valid JSON: {err}", path.display()))
}

/// Everything one end-to-end test needs, started together; every process and server
/// stops when it is dropped.
pub struct Harness {
    /// The moto server holding the CodeBuild state.
    pub moto: moto::Moto,
    /// The recording proxy the function uses as its AWS endpoint.
    pub proxy: proxy::Proxy,
    /// The Lambda Runtime API emulator the function polls.
    pub runtime: runtime_api::RuntimeApi,
    /// The function process.
    pub function: function::Function,
    /// Name of the CodeBuild project ([`PROJECT`]).
    pub project: String,
    /// A CodeBuild client talking to moto directly (not through the proxy).
    pub codebuild: aws_sdk_codebuild::Client,
}

/// Configures a [`Harness`]: function environment and whether the project exists.
#[derive(Debug, Clone)]
pub struct HarnessBuilder {
    /// Environment changes on top of the defaults: `Some` sets, `None` removes.
    overrides: Vec<(String, Option<String>)>,
    create_project: bool,
}

impl Harness {
    /// A builder with the default function environment and the project created.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder {
            overrides: Vec::new(),
            create_project: true,
        }
    }

    /// Send one event through the Runtime API and wait (30 s at most) for the answer.
    ///
    /// Panics, with the function's output, on timeout or if the function exits first.
    pub async fn invoke(&self, event: &Value) -> Result<Value, runtime_api::FunctionError> {
        let invocation = self.runtime.try_invoke(event, INVOKE_TIMEOUT);
        tokio::pin!(invocation);
        let mut exited_at: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                outcome = &mut invocation => match outcome {
                    Some(outcome) => return outcome,
                    None => panic!(
                        "the function did not answer within {INVOKE_TIMEOUT:?}\n{}",
                        self.diagnostics()
                    ),
                },
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    if let Some(status) = self.function.exit_status() {
                        // Give an answer posted just before exiting a moment to arrive.
                        let since = *exited_at.get_or_insert_with(Instant::now);
                        assert!(
                            since.elapsed() < Duration::from_secs(1),
                            "the function exited ({status}) without answering the invocation\n{}",
                            self.diagnostics()
                        );
                    }
                }
            }
        }
    }

    /// The builds that exist in moto for `self.project`, oldest first (empty if the
    /// project does not exist).
    pub async fn builds(&self) -> Vec<Build> {
        let mut ids = Vec::new();
        let mut next_token = None;
        loop {
            let page = match self
                .codebuild
                .list_builds_for_project()
                .project_name(&self.project)
                .sort_order(SortOrderType::Ascending)
                .set_next_token(next_token)
                .send()
                .await
            {
                Ok(page) => page,
                Err(err)
                    if err.as_service_error().is_some_and(
                        ListBuildsForProjectError::is_resource_not_found_exception,
                    ) =>
                {
                    return Vec::new()
                }
                Err(err) => panic!(
                    "ListBuildsForProject {} in moto failed: {}",
                    self.project,
                    DisplayErrorContext(&err)
                ),
            };
            ids.extend(page.ids.unwrap_or_default());
            next_token = page.next_token;
            if next_token.is_none() {
                break;
            }
        }

        let mut builds = Vec::new();
        for chunk in ids.chunks(100) {
            let output = self
                .codebuild
                .batch_get_builds()
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await
                .unwrap_or_else(|err| {
                    panic!(
                        "BatchGetBuilds in moto failed: {}",
                        DisplayErrorContext(&err)
                    )
                });
            builds.extend(output.builds.unwrap_or_default());
        }
        // BatchGetBuilds does not promise any order: restore ListBuildsForProject's.
        builds.sort_by_key(|build| {
            ids.iter()
                .position(|id| Some(id.as_str()) == build.id())
                .unwrap_or(usize::MAX)
        });
        builds
    }

    /// JSON bodies of every StartBuild request the function sent through the proxy
    /// (faulted ones included), in order.
    pub fn start_build_requests(&self) -> Vec<Value> {
        self.proxy
            .requests()
            .into_iter()
            .filter(|request| request.operation() == "StartBuild")
            .map(|request| request.body)
            .collect()
    }

    /// A human-readable dump of the function's state and output, for failure messages.
    pub fn diagnostics(&self) -> String {
        format!(
            "exit status: {:?}\nGET /next calls: {}\ninit error: {:?}\n--- function stdout ---\n{}\n--- function stderr ---\n{}",
            self.function.exit_status(),
            self.runtime.poll_count(),
            self.runtime.init_error(),
            self.function.stdout_lines().join("\n"),
            self.function.stderr()
        )
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Stop the function before the servers it talks to; the fields then drop in order.
        self.function.kill();
    }
}

impl HarnessBuilder {
    /// Set a function environment variable (overrides the defaults).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.overrides
            .push((key.to_owned(), Some(value.to_owned())));
        self
    }

    /// Do not set this variable at all (e.g. `CODEBUILD_PROJECT`).
    pub fn without(mut self, key: &str) -> Self {
        self.overrides.push((key.to_owned(), None));
        self
    }

    /// Do not create the CodeBuild project in moto.
    pub fn without_project(mut self) -> Self {
        self.create_project = false;
        self
    }

    /// The function's environment: the defaults, then the overrides in call order.
    fn environment(&self, runtime_api: &str, aws_endpoint: &str) -> Vec<(String, String)> {
        let defaults = [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api),
            ("AWS_LAMBDA_FUNCTION_NAME", "codecommit-build-trigger"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/codecommit-build-trigger",
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test"),
            ("AWS_REGION", moto::REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", aws_endpoint),
            ("CODEBUILD_PROJECT", PROJECT),
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        let mut env: Vec<(String, String)> = defaults
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        for (key, value) in &self.overrides {
            env.retain(|(existing, _)| existing != key);
            if let Some(value) = value {
                env.push((key.clone(), value.clone()));
            }
        }
        env
    }

    /// Start moto (with the project unless [`HarnessBuilder::without_project`]), the proxy,
    /// the Runtime API emulator and the function.
    ///
    /// Returns once the function first polls `/next` (init finished), posts an init error,
    /// or exits; panics if none of these happens within 20 s.
    pub async fn start(self) -> Harness {
        let bin = trigger_bin();
        let moto = moto::Moto::start().await;
        let codebuild = moto::codebuild_client(&moto.endpoint());
        if self.create_project {
            moto::create_project(&codebuild, PROJECT).await;
        }
        let proxy = proxy::Proxy::start(moto.addr()).await;
        let runtime = runtime_api::RuntimeApi::start().await;
        let env = self.environment(&runtime.addr().to_string(), &proxy.endpoint());
        let function = function::Function::spawn(&bin, &env);
        let harness = Harness {
            moto,
            proxy,
            runtime,
            function,
            project: PROJECT.to_owned(),
            codebuild,
        };

        let deadline = Instant::now() + INIT_TIMEOUT;
        loop {
            let settled = harness.runtime.poll_count() > 0
                || harness.runtime.init_error().is_some()
                || harness.function.exit_status().is_some();
            if settled {
                return harness;
            }
            assert!(
                Instant::now() < deadline,
                "the function neither polled /next, reported an init error nor exited within {INIT_TIMEOUT:?}\n{}",
                harness.diagnostics()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
