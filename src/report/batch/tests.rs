use super::*;
use crate::aws::reads::{FailedTest, TestResults};
use crate::event::{parse, Event};
use crate::report::{publishable, BatchProgress, Subject};
use crate::test_support::{
    build_state_event, pull_request_build_variables, PR_REVISION, PR_SOURCE,
};

fn change(id: &str, number: u64, status: &str) -> BuildChange {
    let event = build_state_event(id, number, status, pull_request_build_variables());
    match parse(&event.to_string()).expect("a valid event") {
        Event::Build(change) => *change,
        other => panic!("not a build change: {other:?}"),
    }
}

fn stamp(batch: &BuildChange, ended: usize, builds: usize) -> Stamp {
    Stamp {
        batch: Some(BatchProgress {
            retried: 0,
            ended,
            builds,
        }),
        ..Stamp::of(batch, Some("matrix"), Subject::Revision(PR_REVISION.into()))
    }
}

fn rendered(batch: &BuildChange, builds: &[BatchBuild<'_>]) -> String {
    let ended = builds
        .iter()
        .filter(|build| build.build.is_some_and(|build| build.complete))
        .count();
    render_batch(&BatchContent {
        batch,
        duration_seconds: 362,
        stamp: &stamp(batch, ended, builds.len()),
        commit: PR_SOURCE,
        superseded_by: None,
        builds,
    })
}

fn build<'a>(identifier: &'a str, change: &'a BuildChange) -> BatchBuild<'a> {
    BatchBuild {
        identifier,
        build: Some(change),
        status: None,
        log: LogTail::None,
        tests: Tests::None,
    }
}

#[test]
fn a_batch_comment_lists_every_build_and_details_the_failed_one() {
    let batch = change("app-ci:batch-1", 3, "FAILED");
    let linux = change("app-ci:linux-1", 10, "SUCCEEDED");
    let windows = change("app-ci:windows-1", 11, "FAILED");
    let mac = change("app-ci:mac-1", 12, "IN_PROGRESS");
    let log = publishable(&["compiling".into(), "error: 2 tests failed".into()]);
    let results = TestResults {
        passed: 40,
        failed: 2,
        skipped: 0,
        failed_cases: vec![
            FailedTest {
                name: "api.LoginTest.rejects".into(),
                message: Some("expected 401".into()),
            },
            FailedTest {
                name: "api.SlowTest.times_out".into(),
                message: None,
            },
        ],
    };
    let builds = [
        build("linux", &linux),
        BatchBuild {
            log: LogTail::Lines(&log),
            tests: Tests::Results(&results),
            ..build("windows", &windows)
        },
        build("mac", &mac),
    ];
    let text = rendered(&batch, &builds);
    assert!(
        text.starts_with("❌ **FAILED** · project `app-ci` · rule `matrix` · batch [#3](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/app-ci/batch/app-ci%3Abatch-1/?region=us-east-1) · 6 min 2 s\n\n"),
        "{text}"
    );
    assert!(text.contains("| Build | Status | Duration |\n|---|---|---|\n| [`linux`](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/app-ci/build/app-ci%3Alinux-1/?region=us-east-1) | ✅ SUCCEEDED | 4 min 21 s |\n"), "{text}");
    assert!(text.contains("| ❌ FAILED | 4 min 21 s |\n"), "{text}");
    assert!(text.contains("| ⏳ IN_PROGRESS |  |\n"), "{text}");
    let section = text
        .find("#### ❌ `windows` FAILED\n\n**Failed phase:** BUILD (FAILED)")
        .expect("the failed build's section");
    let tests = text
        .find("**Tests:** 40 passed, 2 failed, 0 skipped\n\n**Failed tests:**\n\n- `api.LoginTest.rejects`: expected 401\n- `api.SlowTest.times_out`\n")
        .expect("the failed tests");
    let log = text
        .find("**Last 2 lines of the build log**")
        .expect("the log");
    assert!(section < tests && tests < log, "{text}");
    assert!(
        !text.contains("#### ✅"),
        "only failed builds get a section: {text}"
    );
    assert!(text.trim_end().ends_with(&format!(
        "batch app-ci:batch-1 #3 · FAILED (ended) · revision {PR_REVISION} · 2/3 ended, 0 retried*"
    )));
    assert_eq!(Stamp::read(&text), Some(stamp(&batch, 2, 3)));
}

#[test]
fn a_batch_of_many_failing_builds_with_long_logs_is_cut_to_fit_and_says_so() {
    let batch = change("app-ci:batch-1", 3, "FAILED");
    let changes: Vec<(String, BuildChange)> = (0..100)
        .map(|n| {
            let status = if n % 2 == 0 { "FAILED" } else { "SUCCEEDED" };
            (
                format!("variant_{n:03}_with_a_rather_long_identifier"),
                change(&format!("app-ci:build-{n:03}"), n, status),
            )
        })
        .collect();
    let log = publishable(
        &(0..400)
            .map(|n| format!("{n:04} {}", "x".repeat(180)))
            .collect::<Vec<_>>(),
    );
    let builds: Vec<BatchBuild<'_>> = changes
        .iter()
        .map(|(identifier, change)| BatchBuild {
            log: LogTail::Lines(&log),
            ..build(identifier, change)
        })
        .collect();
    let text = rendered(&batch, &builds);
    assert!(
        comment_len(&text) <= MAX_COMMENT_LEN,
        "{}",
        comment_len(&text)
    );
    assert!(text.starts_with("❌ **FAILED**"), "{text}");
    assert!(
        text.contains("| _and 50 more_ | ✅ SUCCEEDED | |\n"),
        "the succeeded builds are counted, not listed: {text}"
    );
    assert!(
        text.contains("more failed builds are not shown here"),
        "{text}"
    );
    assert!(
        text.contains("earlier ones left out to fit the comment"),
        "{text}"
    );
    assert!(Stamp::read(&text).is_some(), "the stamp stays: {text}");
}

#[test]
fn a_running_batch_shows_its_builds_without_sections() {
    let batch = change("app-ci:batch-1", 3, "IN_PROGRESS");
    let linux = change("app-ci:linux-1", 10, "SUCCEEDED");
    let builds = [
        build("linux", &linux),
        BatchBuild {
            identifier: "windows",
            build: None,
            status: None,
            log: LogTail::None,
            tests: Tests::None,
        },
    ];
    let text = rendered(&batch, &builds);
    assert!(
        text.starts_with("⏳ **IN_PROGRESS** · project `app-ci` · rule `matrix` · batch [#3]("),
        "{text}"
    );
    assert!(text.contains("| `windows` | ❔ PENDING |  |\n"), "{text}");
    assert!(!text.contains("####"), "{text}");
    assert!(
        text.trim_end().ends_with("· 1/2 ended, 0 retried*"),
        "{text}"
    );
}
