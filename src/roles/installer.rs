//! The installer's function, the `Custom::CodeCommitTrigger`, `Custom::CodeCommitMergeGate`
//! and `Custom::CodeCommitBuildTriggerCheck` custom resources (`Handler:` [`HANDLER`]): it
//! holds CodeCommit's trigger, repository and approval rule template calls and CodeBuild's
//! project lookup only, with every role's retries and time bounds. (The template gives each
//! resource's function the permissions of that resource only.)

use crate::aws::{CodeBuild, CodeCommit};
use crate::installer::install::{run, Reply, Status};
use crate::installer::{request, response};
use crate::lambda::deadline::within;
use crate::lambda::{self, sdk_config};
use lambda_runtime::tracing::{error, info};
use lambda_runtime::Diagnostic;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

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
    let store = sdk_config()
        .map(|sdk_config| {
            (
                CodeCommit::new(aws_sdk_codecommit::Client::new(&sdk_config)),
                CodeBuild::new(aws_sdk_codebuild::Client::new(&sdk_config)),
            )
        })
        .map_err(|problem| {
            error!("invalid configuration: {problem}");
            format!("the custom resource's function is misconfigured: {problem}")
        });
    let store = &store;

    lambda::serve(|event: Value, deadline| async move {
        let request = request::parse(&event).map_err(|unanswerable| Diagnostic {
            error_type: "InvalidRequest".into(),
            error_message: unanswerable.to_string(),
        })?;
        let answer_by = deadline.map(|deadline| deadline - ANSWER_MARGIN);
        let outcome = match store {
            Err(misconfigured) => Reply::failed_before(&request, misconfigured.clone()),
            Ok((codecommit, codebuild)) => within(answer_by, run(codecommit, codebuild, &request))
                .await
                .unwrap_or_else(|| {
                    Reply::timed_out(
                        &request,
                        "CodeCommit or CodeBuild did not answer in time; try the stack operation again"
                            .into(),
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
                error_message: problem.to_string(),
            })
    })
    .await
}
