//! The starter's function (`Handler: starter`): pushes, pull requests and their comments
//! become builds. It holds CodeBuild and CodeCommit, and nothing that writes a comment. It ships
//! as a binary of its own (`starter`, [`main`]), without the other roles' code: every push
//! starts it, so its cold start is the one users wait for.

use super::{configured, role, Role};
use crate::aws::{CodeBuild, CodeCommit};
use crate::config::Config;
use crate::handler::{metrics, Starter};
use crate::lambda::{self, fail_init};
use aws_types::sdk_config::SdkConfig;
use serde_json::value::RawValue;
use std::process::ExitCode;

/// The starter's handler on the SDK's clients.
pub fn starter(config: Config, sdk_config: &SdkConfig) -> Starter<CodeBuild, CodeCommit> {
    Starter::new(
        config,
        CodeBuild::new(aws_sdk_codebuild::Client::new(sdk_config)),
        CodeCommit::new(aws_sdk_codecommit::Client::new(sdk_config)),
    )
}

/// Serves the starter's events until the runtime stops.
pub async fn serve(config: Config, sdk_config: SdkConfig) -> ExitCode {
    let sdk_config = &sdk_config;
    let starter = &starter(config, sdk_config);
    lambda::serve(|event: Box<RawValue>, deadline| async move {
        let outcome = starter.handle(event.get(), deadline).await;
        metrics::emit(&outcome);
        outcome
    })
    .await
}

/// The `starter` binary: logging, then the starter with the configuration and the SDK's, unless
/// the function's `Handler` names a role that runs from `codecommit-build-trigger`.
pub async fn main() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    match role(std::env::var("_HANDLER")) {
        Ok(Role::Starter | Role::Both) => configured(serve).await,
        Ok(other) => {
            fail_init(format!(
                "this is the starter's binary, and _HANDLER names the {other:?} function, which \
                 runs from the binary codecommit-build-trigger"
            ))
            .await
        }
        Err(problem) => fail_init(problem).await,
    }
}
