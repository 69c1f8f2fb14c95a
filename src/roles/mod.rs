//! The functions this one binary is, each wired in a file of its own: the [`starter`], the
//! [`reporter`], [`both`] in one function, the [`installer`] (the custom resource), and the
//! command line ([`cli`]). Lambda passes the function's `Handler` to a custom runtime as
//! `_HANDLER`; [`serve`] runs the role it names.

pub mod both;
pub mod cli;
pub mod installer;
pub mod reporter;
pub mod starter;

use crate::config::Config;
use crate::lambda::{fail_init, sdk_config};
use aws_types::sdk_config::SdkConfig;
use std::future::Future;
use std::process::ExitCode;

/// The functions this binary is, chosen by the function's `Handler`.
#[derive(Debug, PartialEq)]
pub enum Role {
    /// Pushes, pull requests and their comments start builds (`starter`).
    Starter,
    /// Build-state events become comments and approvals (`reporter`).
    Reporter,
    /// Both in one function (`bootstrap`, or no `_HANDLER`, as in local runs).
    Both,
    /// The `Custom::CodeCommitTrigger` custom resource ([`installer::HANDLER`]).
    Installer,
}

/// The role for `_HANDLER` (Lambda sets it to the function's `Handler`; unset elsewhere).
pub fn role(handler: Result<String, std::env::VarError>) -> Result<Role, UnknownRole> {
    match handler.as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("bootstrap" | "codecommit-build-trigger") => {
            Ok(Role::Both)
        }
        Ok("starter") => Ok(Role::Starter),
        Ok("reporter") => Ok(Role::Reporter),
        Ok(installer::HANDLER) => Ok(Role::Installer),
        Ok(other) => Err(UnknownRole::Named(crate::vocabulary::truncate(other, 64))),
        Err(std::env::VarError::NotUnicode(_)) => Err(UnknownRole::NotUnicode),
    }
}

/// A `_HANDLER` that names none of this binary's functions.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnknownRole {
    /// A handler name this binary does not know.
    #[error(
        "_HANDLER `{0}` is none of this binary's functions: `starter` (the build trigger), \
         `reporter` (results back in CodeCommit), `bootstrap` (both) or `{handler}` (the custom \
         resource)",
        handler = installer::HANDLER
    )]
    Named(String),
    /// `_HANDLER` is not UTF-8.
    #[error("_HANDLER is not UTF-8")]
    NotUnicode,
}

/// The Lambda function: logging, the role, its configuration and clients at init, then its
/// runtime loop; an invalid configuration is reported to Lambda as the init's error.
pub async fn serve() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    match role(std::env::var("_HANDLER")) {
        Err(problem) => fail_init(problem).await,
        Ok(Role::Installer) => installer::serve().await,
        Ok(Role::Starter) => configured(starter::serve).await,
        Ok(Role::Reporter) => configured(reporter::serve).await,
        Ok(Role::Both) => configured(both::serve).await,
    }
}

/// `serve` with the configuration and the SDK's, which the starter and the reporter share; a
/// failure to read them is the init's error.
pub(crate) async fn configured<F, R>(serve: F) -> ExitCode
where
    F: FnOnce(Config, SdkConfig) -> R,
    R: Future<Output = ExitCode>,
{
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(problem) => return fail_init(problem).await,
    };
    match sdk_config() {
        Ok(sdk_config) => serve(config, sdk_config).await,
        Err(problem) => fail_init(problem).await,
    }
}

#[cfg(test)]
mod tests {
    use super::{role, Role};
    use crate::roles::installer::HANDLER;
    use std::env::VarError;

    #[test]
    fn the_handler_chooses_the_function_and_an_unknown_one_is_an_error() {
        assert_eq!(role(Err(VarError::NotPresent)), Ok(Role::Both));
        assert_eq!(role(Ok("bootstrap".into())), Ok(Role::Both));
        assert_eq!(role(Ok("starter".into())), Ok(Role::Starter));
        assert_eq!(role(Ok("reporter".into())), Ok(Role::Reporter));
        assert_eq!(role(Ok(HANDLER.into())), Ok(Role::Installer));
        let unknown = role(Ok("trigger_installer".into()))
            .expect_err("not a handler")
            .to_string();
        assert!(
            unknown.contains("`trigger_installer`") && unknown.contains("`trigger-installer`"),
            "{unknown}"
        );
        let long = role(Ok("x".repeat(10_000)))
            .expect_err("not a handler")
            .to_string();
        assert!(long.len() < 300, "{long}");
    }
}
