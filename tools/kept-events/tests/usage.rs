//! `kept-events` as an operator runs it, without AWS: a command it does not know gets the usage.
//! (The end-to-end tests of `list` and `replay` against moto are in `tests/integration/replay.rs`;
//! this test also makes `cargo test` build the binary they run.)

use std::path::PathBuf;
use std::process::Command;

/// The binary cargo built beside this test (`target/<profile>/kept-events`): found from the
/// test's own path, as `CARGO_BIN_EXE_*` is not set when a wrapper (clippy) compiles the test.
fn kept_events() -> PathBuf {
    let test = std::env::current_exe().expect("the test knows its path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    profile.join(format!("kept-events{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn an_unknown_command_prints_the_usage_and_exits_2() {
    for args in [&[][..], &["lsit", "https://queue"][..]] {
        let output = Command::new(kept_events())
            .args(args)
            .env_clear()
            .output()
            .expect("kept-events runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("usage: kept-events list QUEUE_URL")
                && stderr.contains("kept-events replay QUEUE_URL [FUNCTION]"),
            "{stderr}"
        );
    }
}
