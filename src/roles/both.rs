//! One function that is both the starter and the reporter (`Handler: bootstrap`, and local
//! runs such as `cargo lambda watch`): every kind of event, each handled as its role would.

use super::reporter::{own_role_by_sts, reporter};
use super::starter::starter;
use crate::config::Config;
use crate::handler::metrics;
use crate::handler::Both;
use crate::lambda;
use aws_types::sdk_config::SdkConfig;
use serde_json::value::RawValue;
use std::process::ExitCode;

/// Serves every kind of event until the runtime stops.
pub async fn serve(config: Config, sdk_config: SdkConfig) -> ExitCode {
    let sdk_config = &sdk_config;
    let role = own_role_by_sts(sdk_config);
    let both = &Both::new(
        starter(config.clone(), sdk_config).learning_role(role.clone()),
        reporter(config, sdk_config, role),
    );
    lambda::serve(|event: Box<RawValue>, deadline| async move {
        let outcome = both.handle(event.get(), deadline).await;
        metrics::emit(&outcome);
        outcome
    })
    .await
}
