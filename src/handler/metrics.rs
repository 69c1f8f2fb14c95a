//! Each invocation's counts and timings as CloudWatch metrics, through the Embedded Metric
//! Format: one JSON line on standard output, which CloudWatch Logs turns into metrics with no
//! API call and no permission beyond writing the log.
//!
//! Namespace [`NAMESPACE`], one dimension, `FunctionName` (the Lambda function's name, so
//! that two stacks in one account keep their figures apart).

use super::answer::ReportAction;
use super::{HandlerError, Response};
use crate::decide::SkipKind;
use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "CodeCommitBuildTrigger";

/// The metrics an invocation writes, by name, with their unit. `Skipped` counts every skip;
/// the `Skipped*` after it count them by kind of reason (`skipped_metric`).
pub const METRICS: [(&str, &str); 18] = [
    ("Events", "Count"),
    ("BuildsStarted", "Count"),
    ("Redeliveries", "Count"),
    ("Skipped", "Count"),
    ("StartFailures", "Count"),
    ("InvocationErrors", "Count"),
    ("EventToStartBuild", "Milliseconds"),
    ("CommentsPosted", "Count"),
    ("CommentsUpdated", "Count"),
    ("Approvals", "Count"),
    ("Revocations", "Count"),
    ("SkippedReference", "Count"),
    ("SkippedPaths", "Count"),
    ("SkippedSkipMarker", "Count"),
    ("SkippedPusher", "Count"),
    ("SkippedOutdated", "Count"),
    ("SkippedPullRequest", "Count"),
    ("SkippedConfiguration", "Count"),
];

/// The metric that counts skips of `kind`.
fn skipped_metric(kind: SkipKind) -> &'static str {
    match kind {
        SkipKind::Reference => "SkippedReference",
        SkipKind::Paths => "SkippedPaths",
        SkipKind::SkipMarker => "SkippedSkipMarker",
        SkipKind::Pusher => "SkippedPusher",
        SkipKind::Outdated => "SkippedOutdated",
        SkipKind::PullRequest => "SkippedPullRequest",
        SkipKind::Configuration => "SkippedConfiguration",
    }
}

/// The metrics of one invocation that ended in `outcome`, as an EMF line stamped `now_ms`
/// (milliseconds since the Unix epoch), for function `function`.
pub fn emf_line(function: &str, outcome: &Result<Response, HandlerError>, now_ms: i64) -> String {
    let mut values: Vec<(&str, Value)> = vec![("Events", json!(1))];
    match outcome {
        Ok(response) => values.extend(response_values(response)),
        Err(HandlerError::StartBuildFailed(failures)) => {
            values.push(("StartFailures", json!(failures.len())));
        }
        Err(_) => values.push(("InvocationErrors", json!(1))),
    }
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _)| {
            let unit = METRICS
                .iter()
                .find(|(known, _)| known == name)
                .map_or("Count", |(_, unit)| *unit);
            json!({"Name": name, "Unit": unit})
        })
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({"Timestamp": now_ms, "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [["FunctionName"]],
            "Metrics": definitions,
        }]}),
    );
    line.insert("FunctionName".into(), json!(function));
    for (name, value) in values {
        line.insert(name.into(), value);
    }
    Value::Object(line).to_string()
}

/// What an answer counts: the builds started and skipped, the time from each event to its
/// StartBuild's answer, and what the reporter did.
fn response_values(response: &Response) -> Vec<(&'static str, Value)> {
    let redeliveries = response
        .started
        .iter()
        .filter(|started| started.already_started)
        .count();
    let started = response.started.len() + response.started_not_listed - redeliveries;
    let mut values = vec![
        ("BuildsStarted", json!(started)),
        ("Redeliveries", json!(redeliveries)),
        (
            "Skipped",
            json!(response.skipped.len() + response.skipped_not_listed),
        ),
    ];
    // Only the kinds that occurred: a line stays short, and a sum over time is the same.
    for kind in SkipKind::ALL {
        let listed = response.skipped.iter().map(|skipped| skipped.kind);
        let skips = listed
            .chain(response.unlisted_skip_kinds.iter().copied())
            .filter(|skipped| *skipped == kind)
            .count();
        if skips > 0 {
            values.push((skipped_metric(kind), json!(skips)));
        }
    }
    let latencies: Vec<i64> = response
        .started
        .iter()
        .filter_map(|started| started.event_to_start_ms)
        .filter(|ms| *ms >= 0)
        .collect();
    if !latencies.is_empty() {
        values.push(("EventToStartBuild", json!(latencies)));
    }
    if let Some(reported) = &response.reported {
        let count = |yes: bool| json!(u8::from(yes));
        values.push((
            "CommentsPosted",
            count(reported.action == ReportAction::Posted),
        ));
        values.push((
            "CommentsUpdated",
            count(reported.action == ReportAction::Updated),
        ));
        let approval = reported.approval.as_deref().unwrap_or_default();
        values.push(("Approvals", count(approval.starts_with("approved"))));
        values.push(("Revocations", count(approval.starts_with("revoked"))));
    }
    values
}

/// Writes the EMF line of an invocation that ended in `outcome` on standard output, where
/// CloudWatch Logs reads it.
pub fn emit(outcome: &Result<Response, HandlerError>) {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    println!("{}", emf_line(&function, outcome, now_ms()));
}

/// Milliseconds since the Unix epoch, as events and CodeBuild tell time.
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::answer::{Skipped, Started};

    fn started(already: bool, latency: Option<i64>) -> Started {
        Started {
            project: "p".into(),
            rule: None,
            build_id: None,
            batch_id: None,
            retried: false,
            repository: "r".into(),
            reference: "refs/heads/main".into(),
            commit: "1".repeat(40),
            pull_request: None,
            already_started: already,
            superseded: Vec::new(),
            event_to_start_ms: latency,
        }
    }

    #[test]
    fn an_answer_becomes_one_emf_line_whose_metrics_are_declared() {
        let response = Response {
            started: vec![started(false, Some(120)), started(true, Some(80))],
            skipped: vec![Skipped::of_pull_request("r", "17", "closed".into())],
            started_not_listed: 3,
            skipped_not_listed: 2,
            unlisted_skip_kinds: vec![SkipKind::Paths, SkipKind::Paths],
            ..Response::default()
        };
        let line: Value = serde_json::from_str(&emf_line(
            "builds-trigger",
            &Ok(response),
            1_700_000_000_000,
        ))
        .expect("JSON");
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(line["FunctionName"], "builds-trigger");
        for metric in declared["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a name");
            assert!(!line[name].is_null(), "{name} is declared and has a value");
        }
        assert_eq!(line["Events"], 1);
        assert_eq!(line["BuildsStarted"], 4, "one listed, three not listed");
        assert_eq!(line["Redeliveries"], 1);
        assert_eq!(line["Skipped"], 3, "one listed, two not listed");
        assert_eq!(line["SkippedPullRequest"], 1, "by kind of reason too");
        assert_eq!(line["SkippedPaths"], 2, "the kinds of those not listed too");
        assert!(
            line.get("SkippedPusher").is_none(),
            "only the kinds that occurred"
        );
        assert_eq!(line["EventToStartBuild"], json!([120, 80]));
        assert!(line.get("CommentsPosted").is_none());
    }

    #[test]
    fn failures_count_the_builds_that_did_not_start_or_the_invocation() {
        let failed = Err(HandlerError::StartBuildFailed(vec![]));
        let line: Value = serde_json::from_str(&emf_line("f", &failed, 0)).expect("JSON");
        assert_eq!(line["StartFailures"], 0);
        let refused = Err(HandlerError::ReporterUnknown);
        let line: Value = serde_json::from_str(&emf_line("f", &refused, 0)).expect("JSON");
        assert_eq!(line["InvocationErrors"], 1);
        assert!(line.get("BuildsStarted").is_none());
    }

    #[test]
    fn every_kind_of_skip_has_a_metric_of_its_own() {
        let names: Vec<&str> = SkipKind::ALL
            .iter()
            .map(|kind| skipped_metric(*kind))
            .collect();
        for name in &names {
            assert!(
                METRICS.iter().any(|(known, _)| known == name),
                "{name} is in METRICS"
            );
        }
        let unique: std::collections::HashSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), SkipKind::ALL.len(), "one metric per kind");
    }
}
