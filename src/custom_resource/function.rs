//! The custom resource's Lambda function: the function's binary runs it when the
//! function's `Handler` is [`HANDLER`] (Lambda passes it as `_HANDLER`).

use crate::codecommit::CodeCommit;
use crate::custom_resource::install::{run, Outcome, Status};
use crate::custom_resource::{request, response};
use crate::sdk::SdkEnv;
use lambda_runtime::tracing::{error, info};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// The `Handler` of the custom resource's function.
pub const HANDLER: &str = "trigger-installer";

/// Time kept back from the invocation's deadline to answer CloudFormation.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// The custom resource's function: answers each CloudFormation request through its
/// response URL, `SUCCESS` or `FAILED` with the reason, within the invocation's deadline.
/// The caller has set up logging.
pub async fn serve() -> ExitCode {
    // Without a valid SDK configuration (Lambda always sets the region and
    // credentials) every request is answered FAILED, naming the problem,
    // rather than left to CloudFormation's hour-long timeout.
    let store = SdkEnv::from_process()
        .sdk_config()
        .map(|builder| CodeCommit::new(aws_sdk_codecommit::Client::new(&builder.build())))
        .map_err(|problem| {
            error!("invalid configuration: {problem}");
            format!("the custom resource's function is misconfigured: {problem}")
        });
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
        let outcome = match store {
            Err(misconfigured) => Outcome::failed_before(&request, misconfigured.clone()),
            Ok(store) => tokio::time::timeout(budget, run(store, &request))
                .await
                .unwrap_or_else(|_| {
                    Outcome::failed_before(
                        &request,
                        "CodeCommit did not answer in time; try the stack operation again".into(),
                    )
                }),
        };
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
