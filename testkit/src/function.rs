//! The function under test: the real binary, spawned as a child process.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// Lines one output stream of the child produced so far.
type Lines = Arc<Mutex<Vec<String>>>;

/// A running (or exited) function process; killed on drop.
pub struct Function {
    child: Mutex<Child>,
    pid: Option<u32>,
    stdout: Lines,
    stderr: Lines,
}

impl Function {
    /// Spawn `bin` with a cleared environment holding only `PATH` and `env`.
    ///
    /// stdout and stderr are collected line by line in the background. Must be called
    /// inside a Tokio runtime.
    pub fn spawn(bin: &Path, env: &[(String, String)]) -> Function {
        let mut command = Command::new(bin);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("spawning the function {} failed: {err}", bin.display()));
        let stdout = Lines::default();
        let stderr = Lines::default();
        // Plain threads rather than Tokio tasks: lines are collected even while a
        // current-thread test runtime is busy elsewhere.
        let stdout_pipe = child.stdout.take().expect("the function's stdout is piped");
        collect_lines(
            File::from(
                stdout_pipe
                    .into_owned_fd()
                    .expect("taking the function's stdout pipe"),
            ),
            Arc::clone(&stdout),
        );
        let stderr_pipe = child.stderr.take().expect("the function's stderr is piped");
        collect_lines(
            File::from(
                stderr_pipe
                    .into_owned_fd()
                    .expect("taking the function's stderr pipe"),
            ),
            Arc::clone(&stderr),
        );
        Function {
            pid: child.id(),
            child: Mutex::new(child),
            stdout,
            stderr,
        }
    }

    /// Process id of the function (while it had one).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Every line the function wrote to stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().expect("stdout buffer poisoned").clone()
    }

    /// Everything the function wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .expect("stderr buffer poisoned")
            .join("\n")
    }

    /// The stdout lines that are JSON objects (the log records with `AWS_LAMBDA_LOG_FORMAT=json`).
    pub fn log_records(&self) -> Vec<Value> {
        self.stdout_lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// Wait until a log record satisfies `predicate`; `None` after `timeout`.
    pub async fn wait_for_log_record(
        &self,
        predicate: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(record) = self
                .log_records()
                .into_iter()
                .find(|record| predicate(record))
            {
                return Some(record);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Wait for the process to exit; `None` if it is still running after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self
            .child
            .get_mut()
            .expect("function child handle poisoned");
        tokio::time::timeout(timeout, child.wait()).await.ok()?.ok()
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        self.exit_status().is_some()
    }

    /// The exit status, if the process has exited (does not wait).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().expect("function child handle poisoned");
        child.try_wait().ok().flatten()
    }

    /// Send SIGKILL (if still running); the process is reaped in the background.
    pub fn kill(&mut self) {
        let child = self
            .child
            .get_mut()
            .expect("function child handle poisoned");
        let _ = child.start_kill();
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let Ok(child) = self.child.get_mut() else {
            return;
        };
        let _ = child.start_kill();
        // Reap it now if it goes quickly; otherwise Tokio's orphan reaper does.
        for _ in 0..50 {
            if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn collect_lines(pipe: File, buffer: Lines) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches(['\n', '\r'])
                .to_owned();
            line.clear();
            let Ok(mut lines) = buffer.lock() else { return };
            lines.push(text);
        }
    });
}
