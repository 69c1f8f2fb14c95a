//! Which of the binary's functions Lambda runs: the template gives each function a
//! `Handler`, which Lambda passes to a custom runtime as `_HANDLER`.

use crate::custom_resource::function::HANDLER;
use crate::handler::Takes;

/// The functions this binary is, chosen by the function's `Handler`.
#[derive(Debug, PartialEq)]
pub enum Role {
    /// The build trigger and the reporter: `starter`, `reporter`, or `bootstrap` for both.
    Trigger(Takes),
    /// The `Custom::CodeCommitTrigger` custom resource.
    Installer,
}

/// The role for `_HANDLER` (Lambda sets it to the function's `Handler`; unset elsewhere).
pub fn role(handler: Result<String, std::env::VarError>) -> Result<Role, String> {
    match handler.as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("bootstrap" | "codecommit-build-trigger") => {
            Ok(Role::Trigger(Takes::All))
        }
        Ok("starter") => Ok(Role::Trigger(Takes::Starter)),
        Ok("reporter") => Ok(Role::Trigger(Takes::Reporter)),
        Ok(HANDLER) => Ok(Role::Installer),
        Ok(other) => Err(format!(
            "_HANDLER `{}` is none of this binary's functions: `starter` (the build trigger), \
             `reporter` (results back in CodeCommit), `bootstrap` (both) or `{}` (the custom \
             resource)",
            other.chars().take(64).collect::<String>(),
            HANDLER
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err("_HANDLER is not UTF-8".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{role, Role, Takes, HANDLER};
    use std::env::VarError;

    #[test]
    fn the_handler_chooses_the_function_and_an_unknown_one_is_an_error() {
        assert_eq!(
            role(Err(VarError::NotPresent)),
            Ok(Role::Trigger(Takes::All))
        );
        assert_eq!(role(Ok("bootstrap".into())), Ok(Role::Trigger(Takes::All)));
        assert_eq!(
            role(Ok("starter".into())),
            Ok(Role::Trigger(Takes::Starter))
        );
        assert_eq!(
            role(Ok("reporter".into())),
            Ok(Role::Trigger(Takes::Reporter))
        );
        assert_eq!(role(Ok(HANDLER.into())), Ok(Role::Installer));
        let unknown = role(Ok("trigger_installer".into())).expect_err("not a handler");
        assert!(
            unknown.contains("`trigger_installer`") && unknown.contains("`trigger-installer`"),
            "{unknown}"
        );
        let long = role(Ok("x".repeat(10_000))).expect_err("not a handler");
        assert!(long.len() < 300, "{long}");
    }
}
