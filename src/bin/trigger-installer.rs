//! The `Custom::CodeCommitTrigger` custom resource's Lambda entry point.

use codecommit_build_trigger::codecommit::CodeCommit;
use codecommit_build_trigger::custom_resource::install::{run, Outcome, Status};
use codecommit_build_trigger::custom_resource::{request, response};
use codecommit_build_trigger::sdk::SdkEnv;
use lambda_runtime::tracing::{error, info};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// Time kept back from the invocation's deadline to answer CloudFormation.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk_config = match SdkEnv::from_process().sdk_config() {
        Ok(builder) => builder.build(),
        Err(problem) => {
            error!("invalid configuration: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let store = CodeCommit::new(aws_sdk_codecommit::Client::new(&sdk_config));
    let store = &store;

    let service = service_fn(move |event: LambdaEvent<Value>| async move {
        let request = request::parse(&event.payload).map_err(|unanswerable| Diagnostic {
            error_type: "InvalidRequest".into(),
            error_message: unanswerable.to_string(),
        })?;
        let budget = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(ANSWER_MARGIN);
        let outcome = tokio::time::timeout(budget, run(store, &request))
            .await
            .unwrap_or_else(|_| Outcome {
                status: Status::Failed,
                reason: "CodeCommit did not answer in time; try the stack operation again".into(),
                physical_id: request
                    .envelope
                    .physical_resource_id
                    .clone()
                    .unwrap_or_else(|| format!("failed-create:{}", request.envelope.request_id)),
            });
        match outcome.status {
            Status::Success => info!(
                physical_id = outcome.physical_id,
                reason = outcome.reason,
                "SUCCESS"
            ),
            Status::Failed => error!(
                physical_id = outcome.physical_id,
                reason = outcome.reason,
                "FAILED"
            ),
        }
        let body = response::body(&request.envelope, &outcome);
        response::send(&request.envelope.response_url, body)
            .await
            .map_err(|problem| Diagnostic {
                error_type: "ResponseNotSent".into(),
                error_message: problem,
            })
    });
    match lambda_runtime::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            error!(error = %failure, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
