//! The reporter's function (`Handler: reporter`): CodeBuild's build-state events become status
//! comments and approvals. It holds CodeBuild's reads, CodeCommit, CloudWatch Logs and STS,
//! and nothing that starts or stops a build.

use crate::aws::{own_role, CodeBuild, CodeCommit, Logs};
use crate::config::Config;
use crate::handler::{metrics, Reporter, ReporterRole, RoleLearner};
use crate::lambda;
use aws_types::sdk_config::SdkConfig;
use serde_json::value::RawValue;
use std::process::ExitCode;

/// The reporter's handler on the SDK's clients, knowing its own role as `role` learns it.
pub fn reporter(
    config: Config,
    sdk_config: &SdkConfig,
    role: ReporterRole,
) -> Reporter<CodeBuild, CodeCommit, Logs> {
    Reporter::new(
        config,
        CodeBuild::new(aws_sdk_codebuild::Client::new(sdk_config)),
        CodeCommit::new(aws_sdk_codecommit::Client::new(sdk_config)),
        Logs::new(aws_sdk_cloudwatchlogs::Client::new(sdk_config)),
    )
    .learning_role(role)
}

/// The function's own role, asked of STS once, when an event first needs it and
/// `REPORTER_ROLE_ARN` does not say, so that neither init nor a push waits for STS.
pub fn own_role_by_sts(sdk_config: &SdkConfig) -> ReporterRole {
    let sts = aws_sdk_sts::Client::new(sdk_config);
    ReporterRole::learnt_by(RoleLearner::new(move || {
        let sts = sts.clone();
        Box::pin(async move { own_role(&sts).await })
    }))
}

/// Serves the reporter's events until the runtime stops.
pub async fn serve(config: Config, sdk_config: SdkConfig) -> ExitCode {
    let sdk_config = &sdk_config;
    let reporter = &reporter(config, sdk_config, own_role_by_sts(sdk_config));
    lambda::serve(|event: Box<RawValue>, deadline| async move {
        let outcome = reporter.handle(event.get(), deadline).await;
        metrics::emit(&outcome);
        outcome
    })
    .await
}
