//! Event builders, defined once for the unit tests (`src/test_support.rs`), the integration
//! tests, the benchmark and the fuzzer: CodeCommit events as the service sends them. Only
//! `serde_json` is used, so that every one of those crates can include this file.

use serde_json::{json, Value};

/// The account of every fixture repository.
pub const ACCOUNT: &str = "123456789012";
/// The region of every fixture repository.
pub const REGION: &str = "us-east-1";
/// The `eventTime` of trigger records that do not need another.
pub const EVENT_TIME: &str = "2026-11-28T10:00:00.000+0000";

/// The source commit of [`pull_request_event`].
pub const PR_SOURCE: &str = "2774290a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0";
/// The destination commit of [`pull_request_event`].
pub const PR_DESTINATION: &str = "1224197061c5a5e1f0d3b2a4c6e8f0a1b3c5d7e9";
/// The revision of [`pull_request_event`].
pub const PR_REVISION: &str = "bdc0cb9b4f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8";

/// The ARN of fixture repository `repository`.
pub fn repository_arn(repository: &str) -> String {
    format!("arn:aws:codecommit:{REGION}:{ACCOUNT}:{repository}")
}

/// One repository-trigger record with every field the service sends: a push of
/// `references` (`[{"ref", "commit", "created"?, "deleted"?}]`) to `repository` at `time`,
/// by `pusher` when given.
pub fn trigger_record(
    repository: &str,
    pusher: Option<&str>,
    time: &str,
    references: Value,
) -> Value {
    let mut record = json!({
        "awsRegion": REGION,
        "codecommit": {"references": references},
        "customData": "team=platform",
        "eventId": "31ade2c7-f889-47c5-a937-1cf99e2790e9",
        "eventName": "ReferenceChanges",
        "eventPartNumber": 1,
        "eventSource": "aws:codecommit",
        "eventSourceARN": repository_arn(repository),
        "eventTime": time,
        "eventTotalParts": 1,
        "eventTriggerConfigId": "0d17d6a4-efeb-46f3-b3ab-a63741badeb8",
        "eventTriggerName": "codecommit-build-trigger",
        "eventVersion": "1.0"
    });
    if let Some(pusher) = pusher {
        record["userIdentityARN"] = json!(pusher);
    }
    record
}

/// An EventBridge pull-request event of `kind` (`pullRequestCreated`, ...): pull request 17
/// of `my-app` from `feature/retries` into `destination`, with the status (`Open`, `Closed`)
/// and merge flag (`True`, `False`) given, in the service's string forms.
pub fn pull_request_event(kind: &str, destination: &str, status: &str, merged: &str) -> Value {
    json!({
        "version": "0",
        "id": "98377d67-0a1b-4c2d-9e3f-5a6b7c8d9e0f",
        "detail-type": "CodeCommit Pull Request State Change",
        "source": "aws.codecommit",
        "account": ACCOUNT,
        "time": "2026-11-28T10:00:00Z",
        "region": REGION,
        "resources": [repository_arn("my-app")],
        "detail": {
            "callerUserArn": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "creationDate": "Sat Nov 28 10:00:00 UTC 2026",
            "destinationCommit": PR_DESTINATION,
            "destinationReference": format!("refs/heads/{destination}"),
            "event": kind,
            "isMerged": merged,
            "lastModifiedDate": "Sat Nov 28 10:00:00 UTC 2026",
            "pullRequestId": "17",
            "pullRequestStatus": status,
            "repositoryNames": ["my-app"],
            "revisionId": PR_REVISION,
            "sourceCommit": PR_SOURCE,
            "sourceReference": "refs/heads/feature/retries",
            "title": "Retry uploads"
        }
    })
}

/// The id of [`build_state_event`]'s build (`PROJECT:UUID`) of `project`.
pub fn build_id(project: &str) -> String {
    format!("{project}:8745a7a9-c340-456a-9166-edf953571b01")
}

/// The `CODECOMMIT_*` variables of a build of pull request 17 of `my-app` as the function
/// starts it (the source commit [`PR_SOURCE`] into `main` at [`PR_DESTINATION`]), in the
/// event's `[{"name", "type", "value"}]` form.
pub fn pull_request_build_variables() -> Value {
    let plain =
        |name: &str, value: &str| json!({"name": name, "type": "PLAINTEXT", "value": value});
    json!([
        plain("CODECOMMIT_REPOSITORY", "my-app"),
        plain("CODECOMMIT_REF", "refs/heads/feature/retries"),
        plain("CODECOMMIT_BRANCH", "feature/retries"),
        plain("CODECOMMIT_COMMIT", PR_SOURCE),
        plain("CODECOMMIT_PULL_REQUEST_ID", "17"),
        plain("CODECOMMIT_PULL_REQUEST_REVISION", PR_REVISION),
        plain("CODECOMMIT_DESTINATION_BRANCH", "main"),
        plain("CODECOMMIT_DESTINATION_COMMIT", PR_DESTINATION)
    ])
}

/// An EventBridge "CodeBuild Build State Change" event as CodeBuild sends it: build
/// `build_id` (`PROJECT:UUID`) number `number`, now `status` (`IN_PROGRESS`, `FAILED`, ...),
/// started with `variables` ([`pull_request_build_variables`] or `[]`), of the commit their
/// `CODECOMMIT_COMMIT` names (else [`PR_SOURCE`]). An ended build's
/// phases end in a BUILD phase of that status, with its `phase-context`.
pub fn build_state_event(build_id: &str, number: u64, status: &str, variables: Value) -> Value {
    let (project, uuid) = build_id.split_once(':').expect("a PROJECT:UUID build id");
    // CodeBuild builds the commit the function asked for: its CODECOMMIT_COMMIT.
    let source_version = variables
        .as_array()
        .and_then(|variables| variables.iter().find(|v| v["name"] == "CODECOMMIT_COMMIT"))
        .and_then(|variable| variable["value"].as_str())
        .unwrap_or(PR_SOURCE)
        .to_owned();
    let arn = format!("arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{build_id}");
    let complete = status != "IN_PROGRESS";
    let phase = |kind: &str, status: &str, seconds: u64| {
        json!({"phase-type": kind, "phase-status": status, "start-time": "Nov 28, 2026 10:00:05 AM",
               "end-time": "Nov 28, 2026 10:00:41 AM", "duration-in-seconds": seconds})
    };
    let mut phases = vec![
        phase("SUBMITTED", "SUCCEEDED", 0),
        phase("PROVISIONING", "SUCCEEDED", 36),
    ];
    if complete {
        let mut build = phase("BUILD", status, 225);
        if status != "SUCCEEDED" {
            build["phase-context"] = json!([format!(
                "COMMAND_EXECUTION_ERROR: Error while executing command: cargo test. Reason: exit status 101"
            )]);
        }
        phases.push(build);
        phases.push(json!({"phase-type": "COMPLETED", "start-time": "Nov 28, 2026 10:04:31 AM"}));
    } else {
        phases.push(json!({"phase-type": "BUILD", "start-time": "Nov 28, 2026 10:00:46 AM"}));
    }
    json!({
        "version": "0",
        "id": "c030038d-8c4d-6141-9545-00ff7b715301",
        "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild",
        "account": ACCOUNT,
        "time": "2026-11-28T10:04:32Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "build-status": status,
            "project-name": project,
            "build-id": arn,
            "current-phase": if complete { "COMPLETED" } else { "BUILD" },
            "current-phase-context": "[: ]",
            "version": "1",
            "additional-information": {
                "build-complete": complete,
                "build-number": number,
                "initiator": "codecommit-build-trigger",
                "build-start-time": "Nov 28, 2026 10:00:04 AM",
                "source-version": source_version,
                "timeout-in-minutes": 60,
                "source": {"type": "CODECOMMIT",
                           "location": format!("https://git-codecommit.{REGION}.amazonaws.com/v1/repos/my-app")},
                "environment": {
                    "image": "aws/codebuild/standard:7.0",
                    "privileged-mode": false,
                    "compute-type": "BUILD_GENERAL1_SMALL",
                    "type": "LINUX_CONTAINER",
                    "environment-variables": variables
                },
                "logs": {
                    "group-name": format!("/aws/codebuild/{project}"),
                    "stream-name": uuid,
                    "deep-link": format!("https://console.aws.amazon.com/cloudwatch/home?region={REGION}#logEvent:group=/aws/codebuild/{project};stream={uuid}")
                },
                "phases": phases
            }
        }
    })
}

/// What CodeBuild's `BatchGetBuilds` says of the build of `event` (a
/// [`build_state_event`]) when it sends it: its status, whether it is complete, and its
/// phases, each context split into `statusCode` and `message` as the API gives them.
pub fn codebuild_view(event: &Value) -> Value {
    let detail = &event["detail"];
    let phases: Vec<Value> = detail["additional-information"]["phases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|phase| {
            let contexts: Vec<Value> = phase["phase-context"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .map(|context| {
                    let (code, message) = context.split_once(": ").unwrap_or(("", context));
                    json!({"statusCode": code, "message": message})
                })
                .collect();
            let mut view = json!({"phaseType": phase["phase-type"], "contexts": contexts});
            for (from, to) in [
                ("phase-status", "phaseStatus"),
                ("duration-in-seconds", "durationInSeconds"),
            ] {
                if !phase[from].is_null() {
                    view[to] = phase[from].clone();
                }
            }
            view
        })
        .collect();
    json!({
        "buildStatus": detail["build-status"],
        "buildComplete": detail["additional-information"]["build-complete"],
        "currentPhase": detail["current-phase"],
        "phases": phases,
    })
}

/// An EventBridge "CodeCommit Comment on Pull Request" event: `caller` wrote comment
/// `comment_id` on pull request 17 of `my-app` (the comparison of [`PR_DESTINATION`] and
/// [`PR_SOURCE`]). The event carries no text: `GetComment` reads it.
pub fn pull_request_comment_event(comment_id: &str, caller: &str) -> Value {
    json!({
        "version": "0",
        "id": "5c0a3c6e-2f1d-4b7a-9d8e-0f1e2d3c4b5a",
        "detail-type": "CodeCommit Comment on Pull Request",
        "source": "aws.codecommit",
        "account": ACCOUNT,
        "time": "2026-11-28T10:05:00Z",
        "region": REGION,
        "resources": [repository_arn("my-app")],
        "detail": {
            "afterCommitId": PR_SOURCE,
            "beforeCommitId": PR_DESTINATION,
            "callerUserArn": caller,
            "commentId": comment_id,
            "event": "commentOnPullRequestCreated",
            "notificationBody": "A pull request event occurred in the following AWS CodeCommit repository: my-app. ...",
            "pullRequestId": "17",
            "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": "my-app"
        }
    })
}
