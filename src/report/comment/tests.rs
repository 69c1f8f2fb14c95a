use super::*;
use crate::event::{parse, Event};
use crate::report::{publishable, PublishedLog};
use crate::test_support::{build_id, build_state_event, pull_request_build_variables, PR_SOURCE};

fn change(status: &str) -> BuildChange {
    let event = build_state_event(
        &build_id("app-ci"),
        42,
        status,
        pull_request_build_variables(),
    );
    match parse(&event.to_string()).expect("a valid event") {
        Event::Build(change) => *change,
        other => panic!("not a build change: {other:?}"),
    }
}

fn revision() -> Subject {
    Subject::Revision(crate::test_support::PR_REVISION.into())
}

fn rendered(change: &BuildChange, log: LogTail<'_>, superseded_by: Option<&str>) -> String {
    let stamp = Stamp::of(change, None, revision());
    render(&Content {
        change,
        stamp: &stamp,
        commit: PR_SOURCE,
        superseded_by,
        log,
        tests: Tests::None,
    })
}

#[test]
fn the_stamp_reads_back_as_written() {
    for status in ["IN_PROGRESS", "FAILED"] {
        let change = change(status);
        let stamp = Stamp::of(&change, None, revision());
        assert_eq!(
            Stamp::read(&rendered(&change, LogTail::None, None)),
            Some(stamp.clone())
        );
        let unnumbered = Stamp {
            number: None,
            subject: Subject::Commit(PR_SOURCE.into()),
            ..stamp
        };
        assert_eq!(
            Stamp::read(&format!("text\n\n{unnumbered}\n")),
            Some(unnumbered)
        );
    }
    assert_eq!(Stamp::read("LGTM"), None);
    assert_eq!(
        Stamp::read("*codecommit-build-trigger: app-ci build x #1 · OK (ended)*"),
        None
    );
}

#[test]
fn a_failure_shows_status_build_link_duration_phase_and_log() {
    let change = change("FAILED");
    let log = PublishedLog {
        lines: vec!["running 3 tests".to_owned(), "test a ... FAILED".to_owned()],
        redacted: 0,
    };
    let text = rendered(&change, LogTail::Lines(&log), None);
    let expected_head = "❌ **FAILED** · project `app-ci` · build [#42](https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/app-ci/build/app-ci%3A8745a7a9-c340-456a-9166-edf953571b01/?region=us-east-1) · 4 min 21 s\n\n";
    assert!(text.starts_with(expected_head), "{text}");
    assert!(text.contains("Commit `2774290a3b4c` of the pull request's revision `bdc0cb9b4f1e`."));
    assert!(text.contains("**Failed phase:** BUILD (FAILED)\n\n```text\nCOMMAND_EXECUTION_ERROR: Error while executing command: cargo test. Reason: exit status 101\n```"));
    assert!(text.contains(
        "**Last 2 lines of the build log**:\n\n```text\nrunning 3 tests\ntest a ... FAILED\n```\n\n"
    ));
    assert!(!text.contains("no longer"));
    assert!(!text.contains("redacted"));
}

#[test]
fn redacted_lines_are_counted_above_the_log() {
    let change = change("FAILED");
    let raw = ["export DB_PASSWORD=s3cr3t", "error: access denied"].map(str::to_owned);
    let text = rendered(&change, LogTail::Lines(&publishable(&raw)), None);
    assert!(
        text.contains(
            "**Last 2 lines of the build log**:\n\n_1 line of the log was redacted: what looked like a secret shows as `***`._\n\n```text\nexport DB_PASSWORD=***\nerror: access denied\n```\n\n"
        ),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
    let raw = ["TOKEN=a", "TOKEN=b", "ok"].map(str::to_owned);
    let text = rendered(&change, LogTail::Lines(&publishable(&raw)), None);
    assert!(
        text.contains("\n_2 lines of the log were redacted: what looked like secrets shows as `***`._\n\n```text\nTOKEN=***\nTOKEN=***\nok\n```"),
        "{text}"
    );
}

#[test]
fn a_running_build_has_no_duration_and_an_old_revision_says_so() {
    let change = change("IN_PROGRESS");
    let text = rendered(&change, LogTail::None, Some("0123456789abcdef"));
    assert!(
        text.starts_with("⏳ **IN_PROGRESS** · project `app-ci` · build [#42]("),
        "{text}"
    );
    assert!(!text.contains(" s\n"), "{text}");
    assert!(text
        .contains("> This revision is no longer the pull request's latest (now `0123456789ab`)"));
}

#[test]
fn a_log_too_long_for_the_comment_loses_its_oldest_lines_never_the_status() {
    let change = change("FAILED");
    let raw: Vec<String> = (0..100)
        .map(|n| format!("{n:03} {} api_key={}", "é".repeat(350), "k".repeat(40)))
        .collect();
    let log = publishable(&raw);
    assert_eq!(log.redacted, 100);
    let text = rendered(&change, LogTail::Lines(&log), None);
    assert!(
        comment_len(&text) <= MAX_COMMENT_LEN,
        "{}",
        comment_len(&text)
    );
    assert!(text.starts_with("❌ **FAILED**"));
    assert!(text.contains("earlier ones left out to fit the comment"));
    assert!(
        text.contains("_100 lines of the log were redacted"),
        "the note is kept"
    );
    assert!(!text.contains("kkkk"), "no secret is shown");
    assert!(text.contains("\n099 "), "the newest line is kept");
    assert!(!text.contains("\n000 "), "the oldest line is cut");
    assert!(Stamp::read(&text).is_some(), "the stamp is kept");
}

#[test]
fn an_unreadable_log_is_said_and_other_partitions_link_their_console() {
    let mut change = change("FAILED");
    change.build.partition = "aws-cn".into();
    change.build.region = "cn-north-1".into();
    let text = rendered(&change, LogTail::Unreadable("AccessDeniedException"), None);
    assert!(
        text.contains("(https://cn-north-1.console.amazonaws.cn/codesuite/"),
        "{text}"
    );
    assert!(text.contains("The build log could not be read: AccessDeniedException."));
    change.build.partition = "aws-iso".into();
    assert!(rendered(&change, LogTail::None, None).contains("build `#42`"));
}

#[test]
fn a_queued_build_says_so_until_it_runs() {
    let mut queued = change("IN_PROGRESS");
    queued.queued = true;
    let text = rendered(&queued, LogTail::None, None);
    assert!(
        text.starts_with("🕒 **QUEUED** · project `app-ci` · build [#42]("),
        "{text}"
    );
    let running = change("IN_PROGRESS");
    assert!(rendered(&running, LogTail::None, None).starts_with("⏳ **IN_PROGRESS**"));
}

#[test]
fn failed_tests_are_named_before_the_log_with_the_counts() {
    use crate::aws::reads::{FailedTest, TestResults};
    let change = change("FAILED");
    let stamp = Stamp::of(&change, None, revision());
    let results = TestResults {
        passed: 40,
        failed: 3,
        skipped: 1,
        failed_cases: vec![
            FailedTest {
                name: "api.LoginTest.rejects_a_wrong_password".into(),
                message: Some("expected 401, got 200 \u{1b}[31mAKIAIOSFODNN7EXAMPLE".into()),
            },
            FailedTest {
                name: "api.`odd`name".into(),
                message: None,
            },
        ],
    };
    let text = render(&Content {
        change: &change,
        stamp: &stamp,
        commit: PR_SOURCE,
        superseded_by: None,
        log: LogTail::Unreadable("ResourceNotFoundException"),
        tests: Tests::Results(&results),
    });
    let tests = text
        .find("**Tests:** 40 passed, 3 failed, 1 skipped")
        .expect("the counts");
    let log = text
        .find("The build log could not be read")
        .expect("the log's line");
    assert!(tests < log, "the tests come before the log: {text}");
    assert!(
        text.contains("- `api.LoginTest.rejects_a_wrong_password`: expected 401, got 200 "),
        "{text}"
    );
    assert!(
        !text.contains("AKIAIOSFODNN7EXAMPLE"),
        "cleaned as log lines are: {text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("- `api.'odd'name`\n"), "{text}");
    assert!(text.contains("- and 1 more\n"), "{text}");
    let many = TestResults {
        failed: 500,
        failed_cases: (0..20)
            .map(|n| FailedTest {
                name: format!("suite.test_{n}_{}", "x".repeat(300)),
                message: Some("y".repeat(2000)),
            })
            .collect(),
        ..TestResults::default()
    };
    let text = render(&Content {
        change: &change,
        stamp: &stamp,
        commit: PR_SOURCE,
        superseded_by: None,
        log: LogTail::None,
        tests: Tests::Results(&many),
    });
    assert!(
        comment_len(&text) <= MAX_COMMENT_LEN,
        "{}",
        comment_len(&text)
    );
    let unread = render(&Content {
        change: &change,
        stamp: &stamp,
        commit: PR_SOURCE,
        superseded_by: None,
        log: LogTail::None,
        tests: Tests::Unreadable("AccessDeniedException"),
    });
    assert!(unread.contains("The test reports could not be read: AccessDeniedException."));
}
