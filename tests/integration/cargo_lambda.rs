//! The function under the Rust Lambda ecosystem's own local runner, as a new user tries it:
//! `cargo lambda watch --release`, then `cargo lambda invoke codecommit-build-trigger
//! --data-file events/push-master.json`, with `AWS_ENDPOINT_URL` at moto. cargo-lambda's
//! emulator sends `Lambda-Runtime-Deadline-Ms: 600000`, a duration where Lambda sends an
//! epoch time: the function must still build. Needs cargo-lambda on `PATH` (the venv's,
//! under `make test`) and the release binary built (`cargo lambda watch` runs `cargo run
//! --release`, which then finds it up to date).

#![cfg(feature = "end-to-end")]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::codecommit::LocalCodeCommit;
use testkit::{moto, sample_event, PROJECT};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long `cargo lambda watch` may take to listen, and one invocation (the first one
/// includes cargo's check that the release binary is up to date) to answer.
const WATCH_TIMEOUT: Duration = Duration::from_secs(60);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(180);

/// `cargo lambda watch` in a process group of its own (cargo, the function and all), whose
/// output goes to files; the whole group is killed on drop.
struct Watch {
    child: Child,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl Watch {
    fn start(port: u16, env: &[(&str, String)]) -> Watch {
        let dir =
            std::env::temp_dir().join(format!("cargo-lambda-watch-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the watch's output");
        let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
        let file = |path: &Path| std::fs::File::create(path).expect("an output file");
        let child = cargo_command()
            .args(["lambda", "watch", "--release", "--ignore-changes"])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("starting `cargo lambda watch` (cargo-lambda on PATH: run `make test`)");
        Watch {
            child,
            stdout,
            stderr,
        }
    }

    /// Everything the watch (and the function under it) printed so far.
    fn output(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            read(&self.stdout),
            read(&self.stderr)
        )
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
        // Best effort: a leftover temporary directory must not fail a test.
        if let Some(dir) = self.stdout.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `cargo` in the crate's directory with the user's toolchain and cargo settings, and none
/// of the variables `cargo test` sets for this test.
fn cargo_command() -> Command {
    let mut command = Command::new("cargo");
    command.env_clear().current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
    ] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.stdin(Stdio::null());
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// `cargo lambda invoke codecommit-build-trigger --data-file events/push-master.json`.
async fn invoke(port: u16, watch: &Watch) -> Output {
    let invocation = cargo_command()
        .args(["lambda", "invoke", "codecommit-build-trigger"])
        .args(["--data-file", "events/push-master.json"])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(INVOKE_TIMEOUT, invocation).await {
        Ok(output) => output.expect("running `cargo lambda invoke`"),
        Err(_) => panic!("no answer within {INVOKE_TIMEOUT:?}\n{}", watch.output()),
    }
}

#[tokio::test]
async fn cargo_lambda_watch_and_invoke_start_the_build_of_the_pushed_commit() {
    let moto = moto::Moto::start().await;
    let codebuild = moto::codebuild_client(&moto.endpoint());
    moto::create_project(&codebuild, PROJECT).await;
    // Commit messages come from the tests' CodeCommit endpoint (moto's cannot answer
    // GetCommit); it holds no such repository, so skip markers go unchecked and the push builds.
    let codecommit = LocalCodeCommit::start().await;
    let port = free_port();
    let watch = Watch::start(
        port,
        &[
            ("AWS_REGION", moto::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            (testkit::CODECOMMIT_ENDPOINT_VAR, codecommit.endpoint()),
            ("CODEBUILD_PROJECT", PROJECT.to_owned()),
        ],
    );
    let listening = Instant::now() + WATCH_TIMEOUT;
    while TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_err() {
        assert!(
            Instant::now() < listening,
            "`cargo lambda watch` is not listening\n{}",
            watch.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let commit = sample_event("push-master.json")["Records"][0]["codecommit"]["references"][0]
        ["commit"]
        .clone();
    for delivery in 1..=2 {
        let output = invoke(port, &watch).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "delivery {delivery}: {}\n{stdout}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            watch.output()
        );
        let response: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|problem| panic!("the answer is JSON ({problem}): {stdout}"));
        assert_eq!(response["started"][0]["commit"], commit, "{response}");
        assert_eq!(
            response["started"][0]["ref"], "refs/heads/master",
            "{response}"
        );
    }
    // moto ignores idempotency tokens: each delivery started a build of the pushed commit.
    let builds = testkit::builds_in(&codebuild, PROJECT).await;
    assert_eq!(builds.len(), 2, "{}", watch.output());
    for build in &builds {
        assert_eq!(build.source_version(), commit.as_str());
    }
    let output = watch.output();
    assert_eq!(
        output
            .matches("deadline had passed when the event arrived")
            .count(),
        1,
        "the emulator's deadline is noted once, as a warning\n{output}"
    );
    assert!(!output.contains("InvocationDeadline"), "{output}");
}
