//! The starter's function (`Handler: starter`): pushes, pull requests and their comments
//! become builds. It holds CodeBuild and CodeCommit, and nothing that writes a comment.

use crate::aws::{CodeBuild, CodeCommit};
use crate::config::Config;
use crate::handler::Starter;
use crate::lambda;
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
        starter.handle(event.get(), deadline).await
    })
    .await
}
