//! [`LogReads`] on the AWS SDK's CloudWatch Logs client.

use super::reads::LogReads;
use super::AwsError;
use crate::event::LogStream;

/// [`LogReads`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { client }
    }
}

impl LogReads for Logs {
    async fn last_lines(&self, stream: &LogStream, lines: u16) -> Result<Vec<String>, AwsError> {
        let output = self
            .client
            .get_log_events()
            .log_group_name(&stream.group)
            .log_stream_name(&stream.stream)
            .start_from_head(false)
            .limit(i32::from(lines))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetLogEvents", error))?;
        // One event may hold several lines; the last `lines` of them all are kept.
        let mut all: Vec<String> = output
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|event| event.message)
            .flat_map(|message| message.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let excess = all.len().saturating_sub(usize::from(lines));
        all.drain(..excess);
        Ok(all)
    }
}
