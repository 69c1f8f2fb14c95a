//! End-to-end test harness: the real `codecommit-build-trigger` binary, driven through a
//! local Lambda Runtime API emulator, calling CodeBuild in moto through a recording proxy
//! and CodeCommit at a fake endpoint ([`codecommit::LocalCodeCommit`]) whose repositories can
//! be real git repositories ([`git::GitRepo`]); IAM's policy simulation at [`iam::LocalIam`].

#![warn(missing_docs)]

pub mod cfn;
pub mod codecommit;
pub mod events;
pub mod function;
pub mod git;
pub mod http;
pub mod iam;
pub mod lambda;
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
/// How long [`Harness::run_cli`] waits for the binary to exit.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(30);
/// The SDK's service-specific endpoint variable for CodeCommit, which the harness points at
/// its [`codecommit::LocalCodeCommit`] (CodeBuild keeps `AWS_ENDPOINT_URL`, the proxy).
pub const CODECOMMIT_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_CODECOMMIT";

/// The HTTP client of the SDK clients the tests make, built as the function builds its own
/// (rustls on ring; the crates have no `default-https-client`); the emulators speak plain HTTP.
pub fn sdk_http_client() -> aws_types::sdk_config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The repository's root, where `make` runs and relative paths start.
pub fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Path of the release binary under test (`TRIGGER_BIN`, set by `make test` / `make demo`).
pub fn trigger_bin() -> PathBuf {
    required_file("TRIGGER_BIN")
}

/// Path of the starter's release binary (`STARTER_BIN`, set by `make test` / `make demo`): what
/// the template deploys for the function that takes pushes.
pub fn starter_bin() -> PathBuf {
    required_file("STARTER_BIN")
}

/// Path of the `kept-events` binary that lists and replays kept events (`KEPT_EVENTS_BIN`, set by
/// `make test`).
pub fn kept_events_bin() -> PathBuf {
    required_file("KEPT_EVENTS_BIN")
}

/// The environment an operator's command (`kept-events`, the doctor) runs with in the tests:
/// the region, moto's static credentials, and no profile or metadata endpoint of the machine's
/// user taking part. The endpoints are the caller's to add.
pub const OPERATOR_ENV: [(&str, &str); 6] = [
    ("AWS_REGION", moto::REGION),
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws/config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws/credentials",
    ),
];

/// Path of the doctor's binary, `codecommit-build-trigger-doctor` (`DOCTOR_BIN`, set by
/// `make test`).
pub fn doctor_bin() -> PathBuf {
    required_file("DOCTOR_BIN")
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
        workspace_root().join(path)
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
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading sample event {} failed: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("sample event {} is not valid JSON: {err}", path.display()))
}

/// `events/push-master.json` with `commit` as the pushed commit: a push to master of the
/// repository `my-app` by `arn:aws:iam::123456789012:user/alice`.
pub fn push_master_of(commit: &str) -> Value {
    let mut event = sample_event("push-master.json");
    event["Records"][0]["codecommit"]["references"][0]["commit"] = Value::from(commit);
    event
}

/// Everything one end-to-end test needs, started together; every process and server
/// stops when it is dropped.
pub struct Harness {
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
    /// The fake CodeCommit endpoint the function calls (`AWS_ENDPOINT_URL_CODECOMMIT`).
    pub codecommit: codecommit::LocalCodeCommit,
    /// The git repositories behind the fake's repositories, by repository name.
    git: Vec<(String, git::GitRepo)>,
    /// The function's environment, as spawned.
    env: Vec<(String, String)>,
    /// The moto server holding the CodeBuild state. Last, so that it goes back to the idle
    /// ones only after the function and the proxy that could still call it are gone.
    pub moto: moto::Moto,
}

/// Configures a [`Harness`]: function environment, CodeBuild projects and the git
/// repositories the fake CodeCommit serves.
#[derive(Debug)]
pub struct HarnessBuilder {
    /// Environment changes on top of the defaults: `Some` sets, `None` removes.
    overrides: Vec<(String, Option<String>)>,
    create_project: bool,
    /// Projects created in moto besides [`PROJECT`].
    projects: Vec<String>,
    /// Repositories for the fake CodeCommit, by name.
    git: Vec<(String, git::GitRepo)>,
}

impl Harness {
    /// A builder with the default function environment and the project created.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder {
            overrides: Vec::new(),
            create_project: true,
            projects: Vec::new(),
            git: Vec::new(),
        }
    }

    /// The git repository behind the fake CodeCommit's repository `name`; commits made on it
    /// are seen by the fake's next call. Panics if the builder was given none of that name.
    pub fn git(&self, name: &str) -> &git::GitRepo {
        self.git
            .iter()
            .find(|(repository, _)| repository == name)
            .map(|(_, repo)| repo)
            .unwrap_or_else(|| panic!("the harness has no git repository {name:?}"))
    }

    /// The function's environment, as it was spawned.
    pub fn environment(&self) -> &[(String, String)] {
        &self.env
    }

    /// Run the release binary on a terminal, as a user would: with `args`, the function's
    /// environment without `AWS_LAMBDA_RUNTIME_API`, stdin closed. Waits for it to exit
    /// ([`CLI_TIMEOUT`] at most, then panics) and returns its output.
    ///
    /// It runs as a Tokio child process, so the proxy and the fake CodeCommit (tasks of the
    /// test's runtime) keep answering it meanwhile.
    pub async fn run_cli(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(trigger_bin());
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
            .envs(
                self.env
                    .iter()
                    .filter(|(key, _)| key != "AWS_LAMBDA_RUNTIME_API")
                    .map(|(key, value)| (key, value)),
            )
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(CLI_TIMEOUT, command.output()).await {
            Ok(output) => output.unwrap_or_else(|err| {
                panic!("running {} {args:?} failed: {err}", trigger_bin().display())
            }),
            Err(_) => panic!(
                "{} {args:?} did not exit within {CLI_TIMEOUT:?}",
                trigger_bin().display()
            ),
        }
    }

    /// Send one event through the Runtime API and wait (30 s at most) for the answer.
    ///
    /// Panics, with the function's output, on timeout or if the function exits first.
    pub async fn invoke(&self, event: &Value) -> Result<Value, runtime_api::FunctionError> {
        self.invoke_within(event, runtime_api::DEADLINE, INVOKE_TIMEOUT)
            .await
    }

    /// Invoke the function and expect an answer, not an error: a failure panics with the
    /// function's output.
    pub async fn answer(&self, event: &Value) -> Value {
        match self.invoke(event).await {
            Ok(response) => response,
            Err(error) => panic!("the invocation failed: {error:?}\n{}", self.diagnostics()),
        }
    }

    /// Send one event with `deadline` as the invocation's time (the function sees
    /// `Lambda-Runtime-Deadline-Ms` that far ahead, as under a function timeout of
    /// `deadline`) and wait for the answer, up to `deadline` plus 10 s.
    ///
    /// Panics, with the function's output, on timeout or if the function exits first.
    pub async fn invoke_with_deadline(
        &self,
        event: &Value,
        deadline: Duration,
    ) -> Result<Value, runtime_api::FunctionError> {
        self.invoke_within(event, deadline, deadline + Duration::from_secs(10))
            .await
    }

    async fn invoke_within(
        &self,
        event: &Value,
        deadline: Duration,
        timeout: Duration,
    ) -> Result<Value, runtime_api::FunctionError> {
        let invoker = self.runtime.invoker();
        let invocation = invoker.try_invoke(event, deadline, timeout);
        tokio::pin!(invocation);
        let mut exited_at: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                outcome = &mut invocation => match outcome {
                    Some(outcome) => return outcome,
                    None => panic!(
                        "the function did not answer within {timeout:?}\n{}",
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
        self.builds_of(&self.project).await
    }

    /// The commits (`sourceVersion`) of the builds in moto for `self.project`, sorted.
    pub async fn built_commits(&self) -> Vec<String> {
        let mut commits: Vec<String> = self
            .builds()
            .await
            .iter()
            .map(|build| build.source_version().expect("a source version").to_owned())
            .collect();
        commits.sort();
        commits
    }

    /// The builds that exist in moto for `project`, oldest first (empty if the project does
    /// not exist), as moto describes them: without the proxy's completions (environment,
    /// status; see [`proxy`]).
    pub async fn builds_of(&self, project: &str) -> Vec<Build> {
        builds_in(&self.codebuild, project).await
    }

    /// Make CodeBuild report the build of `event` (a "CodeBuild Build State Change" event of a
    /// build started through the proxy) as the event describes it, as CodeBuild does when it
    /// sends such an event; returns the event.
    pub fn codebuild_says(&self, event: Value) -> Value {
        let arn = event["detail"]["build-id"].as_str().expect("a build-id");
        let id = arn.split_once(":build/").expect("a build ARN").1;
        self.proxy.set_build(id, &events::codebuild_view(&event));
        event
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

    /// Configure routing rules: `RULES` = `rules` as JSON, and no `CODEBUILD_PROJECT` (the
    /// function refuses both at once).
    pub fn rules(self, rules: &Value) -> Self {
        self.without("CODEBUILD_PROJECT")
            .env("RULES", &rules.to_string())
    }

    /// Also create CodeBuild project `name` in moto (besides [`PROJECT`]).
    pub fn project(mut self, name: &str) -> Self {
        self.projects.push(name.to_owned());
        self
    }

    /// Serve `repo` as CodeCommit repository `name` from the fake endpoint
    /// ([`codecommit::LocalCodeCommit::add_git_repository`]); the harness keeps `repo` (and its
    /// directory) alive as long as itself. Reach it again with [`Harness::git`].
    pub fn git_repository(mut self, name: &str, repo: git::GitRepo) -> Self {
        self.git.push((name.to_owned(), repo));
        self
    }

    /// The function's environment: the defaults, then the overrides in call order.
    fn environment(
        &self,
        runtime_api: &str,
        aws_endpoint: &str,
        codecommit_endpoint: &str,
    ) -> Vec<(String, String)> {
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
            (CODECOMMIT_ENDPOINT_VAR, codecommit_endpoint),
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

    /// The binary the function runs: the starter's own for `_HANDLER=starter`, as the template
    /// deploys it, the binary of every role otherwise.
    pub fn binary(&self) -> PathBuf {
        let handler = self
            .overrides
            .iter()
            .rev()
            .find(|(key, _)| key == "_HANDLER");
        match handler.and_then(|(_, value)| value.as_deref()) {
            Some("starter") => starter_bin(),
            _ => trigger_bin(),
        }
    }

    /// Start moto (with the project unless [`HarnessBuilder::without_project`], and the
    /// [`HarnessBuilder::project`]s), the proxy, the fake CodeCommit (serving the
    /// [`HarnessBuilder::git_repository`]s), the Runtime API emulator and the function.
    ///
    /// Returns once the function first polls `/next` (init finished), posts an init error,
    /// or exits; panics if none of these happens within 20 s.
    pub async fn start(self) -> Harness {
        let bin = self.binary();
        let moto = moto::Moto::start().await;
        let codebuild = moto::codebuild_client(&moto.endpoint());
        if self.create_project {
            moto::create_project(&codebuild, PROJECT).await;
        }
        for project in &self.projects {
            moto::create_project(&codebuild, project).await;
        }
        let proxy = proxy::Proxy::start(moto.addr()).await;
        let codecommit = codecommit::LocalCodeCommit::start().await;
        for (name, repo) in &self.git {
            codecommit.add_git_repository(name, repo);
        }
        let runtime = runtime_api::RuntimeApi::start().await;
        let env = self.environment(
            &runtime.addr().to_string(),
            &proxy.endpoint(),
            &codecommit.endpoint(),
        );
        let function = function::Function::spawn(&bin, &env);
        let harness = Harness {
            moto,
            proxy,
            runtime,
            function,
            project: PROJECT.to_owned(),
            codebuild,
            codecommit,
            git: self.git,
            env,
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

/// The builds that exist in moto (through `codebuild`, a client of it) for `project`,
/// oldest first (empty if the project does not exist), as moto describes them.
pub async fn builds_in(codebuild: &aws_sdk_codebuild::Client, project: &str) -> Vec<Build> {
    let mut ids = Vec::new();
    let mut next_token = None;
    loop {
        let page = match codebuild
            .list_builds_for_project()
            .project_name(project)
            .sort_order(SortOrderType::Ascending)
            .set_next_token(next_token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(ListBuildsForProjectError::is_resource_not_found_exception) =>
            {
                return Vec::new()
            }
            Err(err) => panic!(
                "ListBuildsForProject {project} in moto failed: {}",
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
        let output = codebuild
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

/// `(name, value)` pairs as [`overrides`] returns them.
pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The current time as events write it (RFC 3339), for superseding, which compares the
/// builds' start times with the event's time.
pub fn now() -> String {
    use aws_sdk_codebuild::primitives::{DateTime, DateTimeFormat};
    DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .expect("the current time formats")
}

/// The `environmentVariablesOverride` of a recorded StartBuild request as
/// (name, value) pairs, checking that every variable is PLAINTEXT.
pub fn overrides(request: &Value) -> Vec<(String, String)> {
    request["environmentVariablesOverride"]
        .as_array()
        .expect("StartBuild sends environment overrides")
        .iter()
        .map(|variable| {
            assert_eq!(variable["type"], "PLAINTEXT", "{variable}");
            let text = |key: &str| variable[key].as_str().expect("a string").to_owned();
            (text("name"), text("value"))
        })
        .collect()
}
