//! End-to-end tests of `kept-events`, the operators' command that lists and replays the pushes
//! Lambda kept in the failed-events queue: the queue is an SQS queue in moto holding Lambda
//! on-failure destination records; `replay` invokes the function through a fake Lambda
//! `Invoke` endpoint ([`testkit::lambda`]) that hands the event to the real function binary
//! under the local Runtime API, which starts builds in moto through the recording proxy.
//! Run with `make test`, which builds the binaries and installs moto.

#![cfg(feature = "end-to-end")]

use std::process::Output;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use testkit::lambda::FakeLambda;
use testkit::proxy::Fault;
use testkit::runtime_api::{DEADLINE, FUNCTION_ARN};
use testkit::{kept_events_bin, moto, sample_event, Harness};

const MASTER_COMMIT: &str = "5e493c6f3067653f3d04eca608b4901eb2270780";
/// How long `kept-events` may take before the test gives up on it.
const KEPT_EVENTS_TIMEOUT: Duration = Duration::from_secs(60);
/// The function's error for a push whose build could not start, as a destination record
/// holds it.
const START_BUILD_FAILED: &str = "StartBuild failed for 1 reference(s): my-app refs/heads/master \
     at 5e493c6f3067653f3d04eca608b4901eb2270780 (AccessDeniedException). Lambda retries the \
     event; builds already started are not started again";

/// The harness (function, proxy, moto), the fake Lambda in front of its Runtime API, and an
/// SQS client talking to moto.
struct Setup {
    harness: Harness,
    lambda: FakeLambda,
    sqs: aws_sdk_sqs::Client,
}

impl Setup {
    async fn start() -> Setup {
        let harness = Harness::builder().start().await;
        let lambda = FakeLambda::start(&harness.runtime, FUNCTION_ARN, DEADLINE).await;
        let sqs = moto::sqs_client(&harness.moto.endpoint());
        Setup {
            harness,
            lambda,
            sqs,
        }
    }

    /// A new queue named `name` in moto; its URL.
    async fn queue(&self, name: &str) -> String {
        self.sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("creating the queue in moto")
            .queue_url
            .expect("CreateQueue answers the queue's URL")
    }

    /// Sends `body` to the queue; the message's id.
    async fn send(&self, queue: &str, body: &str) -> String {
        self.sqs
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .expect("sending a message to moto")
            .message_id
            .expect("SendMessage answers the message's id")
    }

    /// (visible, in flight) messages of the queue: together, every message still in it.
    async fn counts(&self, queue: &str) -> (u64, u64) {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("reading the queue's attributes in moto")
            .attributes
            .unwrap_or_default();
        let count = |name: QueueAttributeName| {
            attributes
                .get(&name)
                .and_then(|count| count.parse().ok())
                .unwrap_or_else(|| panic!("the queue has no {name:?} count: {attributes:?}"))
        };
        (
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }

    /// Runs `kept-events ARGS` as a user would, with credentials for moto and the endpoints
    /// of moto's SQS and the fake Lambda; waits for it to exit.
    async fn kept_events(&self, args: &[&str]) -> Output {
        let bin = kept_events_bin();
        let mut command = tokio::process::Command::new(&bin);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
            .envs(testkit::OPERATOR_ENV)
            .env("AWS_ENDPOINT_URL_SQS", self.harness.moto.endpoint())
            .env("AWS_ENDPOINT_URL_LAMBDA", self.lambda.endpoint())
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(KEPT_EVENTS_TIMEOUT, command.output()).await {
            Ok(output) => output
                .unwrap_or_else(|err| panic!("running {} {args:?} failed: {err}", bin.display())),
            Err(_) => panic!(
                "{} {args:?} did not exit within {KEPT_EVENTS_TIMEOUT:?}\n{}",
                bin.display(),
                self.harness.diagnostics()
            ),
        }
    }
}

/// The record Lambda's on-failure destination writes for `event` after its retries, the
/// function having answered `errorType` `StartBuildFailed`.
fn destination_record(event: &Value, condition: &str) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-28T10:41:09.233Z",
        "requestContext": {
            "requestId": "c9a3f1d2-8e7b-4c6a-9d5e-0f1a2b3c4d5e",
            "functionArn": format!("{FUNCTION_ARN}:$LATEST"),
            "condition": condition,
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled"
        },
        "responsePayload": {"errorType": "StartBuildFailed", "errorMessage": START_BUILD_FAILED}
    })
    .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

#[tokio::test]
async fn list_prints_each_kept_event_and_leaves_the_queue_as_it_was() {
    let setup = Setup::start().await;
    let queue = setup.queue("list-kept").await;
    let master = sample_event("push-master.json");
    let tag = sample_event("push-tag.json");
    let master_id = setup
        .send(&queue, &destination_record(&master, "RetriesExhausted"))
        .await;
    let tag_id = setup
        .send(&queue, &destination_record(&tag, "EventAgeExceeded"))
        .await;

    let output = setup.kept_events(&["list", &queue]).await;
    assert!(output.status.success(), "{}", describe(&output));
    let lines: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("{line:?} is not JSON ({err})\n{}", describe(&output)))
        })
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "one line per kept event\n{}",
        describe(&output)
    );
    for (id, event, condition) in [
        (&master_id, &master, "RetriesExhausted"),
        (&tag_id, &tag, "EventAgeExceeded"),
    ] {
        let line = lines
            .iter()
            .find(|line| line["messageId"] == id.as_str())
            .unwrap_or_else(|| panic!("no line for message {id}\n{}", describe(&output)));
        assert_eq!(line["errorType"], "StartBuildFailed", "{line}");
        assert_eq!(line["errorMessage"], START_BUILD_FAILED, "{line}");
        assert_eq!(&line["event"], event, "the original event, whole");
        assert_eq!(line["function"], FUNCTION_ARN, "{line}");
        assert_eq!(line["condition"], condition, "{line}");
    }

    let (visible, in_flight) = setup.counts(&queue).await;
    assert_eq!(
        visible + in_flight,
        2,
        "listing deletes nothing ({visible} visible, {in_flight} in flight)"
    );
    assert!(setup.lambda.calls().is_empty(), "listing invokes nothing");
    assert!(setup.harness.start_build_requests().is_empty());
}

#[tokio::test]
async fn replay_runs_the_kept_event_again_and_deletes_it() {
    let setup = Setup::start().await;
    let queue = setup.queue("replay-kept").await;
    let event = sample_event("push-master.json");
    let id = setup
        .send(&queue, &destination_record(&event, "RetriesExhausted"))
        .await;

    let output = setup.kept_events(&["replay", &queue]).await;
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        text(&output.stdout).contains(&format!("{id}: replayed and deleted")),
        "{}",
        describe(&output)
    );

    let calls = setup.lambda.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0].function_name, FUNCTION_ARN,
        "the function that failed"
    );
    assert_eq!(calls[0].payload, event, "the original event");
    assert_eq!(calls[0].function_error, None);
    let builds = setup.harness.builds().await;
    assert_eq!(builds.len(), 1, "the function started the build");
    assert_eq!(builds[0].source_version(), Some(MASTER_COMMIT));
    assert_eq!(setup.counts(&queue).await, (0, 0), "the message is deleted");
}

#[tokio::test]
async fn replay_sends_the_kept_events_to_the_function_named_on_the_command_line() {
    let setup = Setup::start().await;
    let queue = setup.queue("replay-elsewhere").await;
    // Kept by a function since deleted (say, with its old stack).
    let record = destination_record(&sample_event("push-master.json"), "RetriesExhausted").replace(
        "function:codecommit-build-trigger:",
        "function:old-stack-trigger:",
    );
    assert!(
        record.contains("function:old-stack-trigger:$LATEST"),
        "{record}"
    );
    setup.send(&queue, &record).await;

    let output = setup
        .kept_events(&["replay", &queue, "codecommit-build-trigger"])
        .await;
    assert!(output.status.success(), "{}", describe(&output));
    let calls = setup.lambda.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].function_name, "codecommit-build-trigger");
    assert_eq!(setup.harness.builds().await.len(), 1);
    assert_eq!(setup.counts(&queue).await, (0, 0), "the message is deleted");
}

#[tokio::test]
async fn a_replay_that_fails_again_keeps_the_message_and_says_why() {
    let setup = Setup::start().await;
    setup.harness.proxy.inject(
        Fault::error(
            "StartBuild",
            400,
            "AccessDeniedException",
            "User is not authorized to perform: codebuild:StartBuild",
        )
        .times(100),
    );
    let queue = setup.queue("replay-fails").await;
    let id = setup
        .send(
            &queue,
            &destination_record(&sample_event("push-master.json"), "RetriesExhausted"),
        )
        .await;

    let output = setup.kept_events(&["replay", &queue]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&id) && stderr.contains("kept"),
        "names the message and that it is kept\n{}",
        describe(&output)
    );
    assert!(
        stderr.contains("StartBuildFailed") && stderr.contains("AccessDeniedException"),
        "says why\n{}",
        describe(&output)
    );
    let calls = setup.lambda.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].function_error.as_deref(), Some("Unhandled"));
    let (visible, in_flight) = setup.counts(&queue).await;
    assert_eq!(visible + in_flight, 1, "the message stays in the queue");
    assert!(setup.harness.builds().await.is_empty());
}

#[tokio::test]
async fn a_message_that_is_no_destination_record_is_reported_and_kept() {
    let setup = Setup::start().await;
    let queue = setup.queue("replay-foreign").await;
    // A raw event, as someone might send by hand, is not a destination record.
    let foreign = setup
        .send(&queue, &sample_event("push-master.json").to_string())
        .await;
    let kept = setup
        .send(
            &queue,
            &destination_record(&sample_event("push-master.json"), "RetriesExhausted"),
        )
        .await;

    let output = setup.kept_events(&["replay", &queue]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&foreign) && stderr.contains("not a Lambda destination record"),
        "reports the foreign message\n{}",
        describe(&output)
    );
    assert!(
        text(&output.stdout).contains(&format!("{kept}: replayed and deleted")),
        "the kept event is replayed all the same\n{}",
        describe(&output)
    );
    let calls = setup.lambda.calls();
    assert_eq!(calls.len(), 1, "only the record is replayed: {calls:?}");
    assert_eq!(setup.harness.builds().await.len(), 1);
    let (visible, in_flight) = setup.counts(&queue).await;
    assert_eq!(
        visible + in_flight,
        1,
        "the foreign message stays in the queue"
    );
}

/// A user reads an exit status 0 of `replay` as "every kept event was replayed": checks that
/// `replay` exits 0 only when the queue is empty afterwards and the function ran, and that
/// otherwise it says why on stderr.
async fn assert_replay_succeeds_only_when_done(setup: &Setup, queue: &str, earlier: &str) {
    let calls_before = setup.lambda.calls().len();
    let output = setup.kept_events(&["replay", queue]).await;
    let counts = setup.counts(queue).await;
    let invoked = setup.lambda.calls().len() - calls_before;
    if output.status.success() {
        assert!(
            counts == (0, 0) && invoked == 1,
            "replay right after {earlier} exited 0, but it invoked the function {invoked} time(s) \
             and the queue still holds {} message(s) ({} visible, {} in flight)\n{}",
            counts.0 + counts.1,
            counts.0,
            counts.1,
            describe(&output)
        );
    } else {
        assert!(
            !text(&output.stderr).trim().is_empty(),
            "a failed replay says why\n{}",
            describe(&output)
        );
    }
}

// `list` hides each message it reads for 30 s, and `replay` hides a message whose replay
// failed for 120 s; a `replay` meanwhile must not report success for messages it never saw.
#[tokio::test]
async fn replay_right_after_list_does_not_report_success_without_replaying() {
    let setup = Setup::start().await;
    let queue = setup.queue("list-then-replay").await;
    setup
        .send(
            &queue,
            &destination_record(&sample_event("push-master.json"), "RetriesExhausted"),
        )
        .await;
    let listed = setup.kept_events(&["list", &queue]).await;
    assert!(listed.status.success(), "{}", describe(&listed));
    assert_replay_succeeds_only_when_done(&setup, &queue, "list").await;
}

#[tokio::test]
async fn replay_right_after_a_failed_replay_does_not_report_success_without_replaying() {
    let setup = Setup::start().await;
    setup.harness.proxy.inject(
        Fault::error(
            "StartBuild",
            400,
            "AccessDeniedException",
            "User is not authorized to perform: codebuild:StartBuild",
        )
        .times(1),
    );
    let queue = setup.queue("replay-twice").await;
    setup
        .send(
            &queue,
            &destination_record(&sample_event("push-master.json"), "RetriesExhausted"),
        )
        .await;
    let failed = setup.kept_events(&["replay", &queue]).await;
    assert!(!failed.status.success(), "{}", describe(&failed));
    // The cause is fixed (the fault was used up); the user replays again.
    assert_replay_succeeds_only_when_done(&setup, &queue, "a failed replay").await;
}
