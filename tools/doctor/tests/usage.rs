//! The doctor as an operator runs it, without AWS: arguments it does not understand get the
//! usage and exit 2. (The checks end to end are in `tests/integration/doctor.rs`; this test also
//! makes `cargo test` build the binary they run.)

use std::path::PathBuf;
use std::process::Command;

/// The binary cargo built beside this test (`target/<profile>/codecommit-build-trigger-doctor`),
/// found from the test's own path, as `CARGO_BIN_EXE_*` is not set when clippy compiles it.
fn doctor() -> PathBuf {
    let test = std::env::current_exe().expect("the test knows its path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    profile.join(format!(
        "codecommit-build-trigger-doctor{}",
        std::env::consts::EXE_SUFFIX
    ))
}

#[test]
fn arguments_it_does_not_understand_print_the_usage_and_exit_2() {
    for args in [&[][..], &["--repository", "r"][..], &["--stak", "s"][..]] {
        let output = Command::new(doctor())
            .args(args)
            .env_clear()
            .output()
            .expect("the doctor runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("usage: codecommit-build-trigger doctor --stack NAME"),
            "{stderr}"
        );
    }
}
