//! `kept-events`: inspect and replay the pushes Lambda kept in the
//! failed-events queue after its retries.
//!
//! ```text
//! kept-events list QUEUE_URL
//! kept-events replay QUEUE_URL [FUNCTION]
//! ```
//!
//! `replay` sends each kept event to the function again (synchronously,
//! through the Lambda Invoke API; by default to the function that failed)
//! and deletes the message once the function succeeds. The idempotency
//! tokens make a replay safe: a build already started is not started twice
//! within CodeBuild's 5 minutes, and a later replay builds the same commit.

use aws_config::BehaviorVersion;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_sqs::types::{Message, QueueAttributeName};
use codecommit_build_trigger::aws::sdk::{https_client, Roots};
use codecommit_build_trigger::aws::AwsError;
use serde_json::json;
use std::collections::HashSet;
use std::process::ExitCode;

mod record;
use record::KeptEvent;

const USAGE: &str = "usage: kept-events list QUEUE_URL
       kept-events replay QUEUE_URL [FUNCTION]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // An operator's command: the SDK's whole credential chain (profiles, SSO, ...), and the
    // system's certificates, as other AWS tools on the machine use.
    let https_client = match https_client(Roots::System) {
        Ok(client) => client,
        Err(problem) => {
            eprintln!("kept-events: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client)
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config);
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list", queue] => list(&sqs, queue).await,
        ["replay", queue] => {
            replay(&sqs, &aws_sdk_lambda::Client::new(&sdk_config), queue, None).await
        }
        ["replay", queue, function] => {
            replay(
                &sqs,
                &aws_sdk_lambda::Client::new(&sdk_config),
                queue,
                Some(function),
            )
            .await
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(problem) => {
            eprintln!("kept-events: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// Receives up to 10 messages, hidden for `visibility` seconds.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    visibility: i32,
) -> Result<Vec<Message>, String> {
    let output = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .wait_time_seconds(1)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("ReceiveMessage", error).to_string())?;
    Ok(output.messages.unwrap_or_default())
}

/// Makes messages this run hid visible again, so that the next run sees them.
async fn release(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    messages: &[Message],
) -> Result<(), String> {
    for message in messages {
        sqs.change_message_visibility()
            .queue_url(queue)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("ChangeMessageVisibility", error).to_string())?;
    }
    Ok(())
}

/// Fails when messages are hidden by someone else (another run of this
/// tool, or another consumer): this run cannot see, so cannot handle, them.
async fn check_nothing_hidden(sqs: &aws_sdk_sqs::Client, queue: &str) -> Result<(), String> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("GetQueueAttributes", error).to_string())?;
    let hidden = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    if hidden > 0 {
        return Err(format!(
            "{hidden} message(s) are in flight, hidden by another reader: they cannot be replayed now; try again later"
        ));
    }
    Ok(())
}

/// Prints each kept event as a JSON line; leaves the queue as it was.
async fn list(sqs: &aws_sdk_sqs::Client, queue: &str) -> Result<bool, String> {
    let mut seen = HashSet::new();
    let mut read = Vec::new();
    // Each message read stays hidden until the end, so each is printed once.
    loop {
        let messages = receive(sqs, queue, 60).await?;
        let fresh: Vec<_> = messages
            .into_iter()
            .filter(|m| seen.insert(m.message_id().unwrap_or_default().to_owned()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for message in &fresh {
            let line = match KeptEvent::parse(message.body().unwrap_or_default()) {
                Ok(kept) => json!({
                    "messageId": message.message_id(),
                    "function": kept.function,
                    "condition": kept.condition,
                    "errorType": kept.error_type,
                    "errorMessage": kept.error_message,
                    "event": kept.event,
                }),
                Err(problem) => {
                    json!({"messageId": message.message_id(), "error": problem.to_string()})
                }
            };
            println!("{line}");
        }
        read.extend(fresh);
    }
    release(sqs, queue, &read).await?;
    Ok(true)
}

/// Replays every kept event; deletes those the function now handles.
async fn replay(
    sqs: &aws_sdk_sqs::Client,
    lambda: &aws_sdk_lambda::Client,
    queue: &str,
    function: Option<&str>,
) -> Result<bool, String> {
    check_nothing_hidden(sqs, queue).await?;
    let mut all_replayed = true;
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    loop {
        let messages = receive(sqs, queue, 120).await?;
        let fresh: Vec<_> = messages
            .into_iter()
            .filter(|m| seen.insert(m.message_id().unwrap_or_default().to_owned()))
            .collect();
        if fresh.is_empty() {
            release(sqs, queue, &kept).await?;
            return Ok(all_replayed);
        }
        for message in fresh {
            let id = message.message_id().unwrap_or_default().to_owned();
            let event = match KeptEvent::parse(message.body().unwrap_or_default()) {
                Ok(event) => event,
                Err(problem) => {
                    eprintln!("{id}: kept, {problem}");
                    all_replayed = false;
                    kept.push(message);
                    continue;
                }
            };
            match invoke(lambda, function.unwrap_or(&event.function), &event).await {
                Ok(payload) => {
                    sqs.delete_message()
                        .queue_url(queue)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|error| AwsError::from_sdk("DeleteMessage", error).to_string())?;
                    println!("{id}: replayed and deleted: {payload}");
                }
                Err(problem) => {
                    eprintln!("{id}: kept, {problem}");
                    all_replayed = false;
                    kept.push(message);
                }
            }
        }
    }
}

/// Invokes `function` with the kept event and waits for its answer.
async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: &KeptEvent,
) -> Result<String, String> {
    let output = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.event.to_string()))
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("Invoke", error).to_string())?;
    let payload = output.payload.map(Blob::into_inner).unwrap_or_default();
    let payload = String::from_utf8_lossy(&payload).into_owned();
    match output.function_error {
        Some(kind) => Err(format!("the function failed again ({kind}): {payload}")),
        None => Ok(payload),
    }
}
