//! Events Lambda kept in the failed-events queue: its on-failure destination
//! records, read back so that they can be inspected and replayed.

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// A destination record that is not what Lambda writes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a Lambda destination record: {0}")]
pub struct NotARecord(pub String);

/// One kept event, as Lambda's on-failure destination wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptEvent {
    /// The function that failed (version qualifier removed).
    pub function: String,
    /// Why Lambda gave up: `RetriesExhausted`, `EventAgeExceeded`, ...
    pub condition: String,
    /// The function's `errorType`, when it answered one.
    pub error_type: Option<String>,
    /// The function's `errorMessage`, when it answered one.
    pub error_message: Option<String>,
    /// The original event, to replay.
    pub event: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    request_context: RequestContext,
    request_payload: Value,
    #[serde(default)]
    response_payload: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    function_arn: String,
    #[serde(default)]
    condition: String,
}

impl KeptEvent {
    /// Reads an SQS message body written by Lambda's on-failure destination.
    pub fn parse(body: &str) -> Result<Self, NotARecord> {
        let record: Record =
            serde_json::from_str(body).map_err(|error| NotARecord(error.to_string()))?;
        let text = |field: &str| {
            record
                .response_payload
                .as_ref()
                .and_then(|payload| payload.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Ok(Self {
            function: unqualified(&record.request_context.function_arn).to_owned(),
            condition: record.request_context.condition.clone(),
            error_type: text("errorType"),
            error_message: text("errorMessage"),
            event: record.request_payload,
        })
    }
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` without the qualifier.
fn unqualified(arn: &str) -> &str {
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    if parts.len() == 8 {
        let cut = arn.len() - parts[7].len() - 1;
        &arn[..cut]
    } else {
        arn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(function_arn: &str) -> String {
        json!({
            "version": "1.0",
            "timestamp": "2026-11-28T10:00:00.000Z",
            "requestContext": {"requestId": "r1", "functionArn": function_arn,
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"Records": [{"eventSource": "aws:codecommit"}]},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "StartBuildFailed", "errorMessage": "StartBuild failed for 1 reference(s)"}
        })
        .to_string()
    }

    #[test]
    fn a_destination_record_gives_back_the_event_and_the_error() {
        let kept = KeptEvent::parse(&body(
            "arn:aws:lambda:us-east-1:123456789012:function:trigger:$LATEST",
        ))
        .expect("a record");
        assert_eq!(
            kept.function,
            "arn:aws:lambda:us-east-1:123456789012:function:trigger"
        );
        assert_eq!(kept.condition, "RetriesExhausted");
        assert_eq!(kept.error_type.as_deref(), Some("StartBuildFailed"));
        assert_eq!(
            kept.event,
            json!({"Records": [{"eventSource": "aws:codecommit"}]})
        );
        let unversioned = KeptEvent::parse(&body(
            "arn:aws:lambda:us-east-1:123456789012:function:trigger",
        ))
        .expect("a record");
        assert_eq!(
            unversioned.function,
            "arn:aws:lambda:us-east-1:123456789012:function:trigger"
        );
    }

    #[test]
    fn other_messages_are_not_records() {
        assert!(KeptEvent::parse("{}").is_err());
        assert!(KeptEvent::parse("not json").is_err());
    }
}
