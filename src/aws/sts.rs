//! Who the function is: STS `GetCallerIdentity`, for a reporter deployed without
//! `REPORTER_ROLE_ARN`, which then learns its own role once per container, on the first event
//! that needs it.

use super::AwsError;
use crate::config::RoleArn;

/// Why the function's own role is not known.
#[derive(Debug, thiserror::Error)]
pub enum OwnRoleError {
    /// `GetCallerIdentity` failed.
    #[error(transparent)]
    Sts(#[from] AwsError),
    /// The caller is not a role's session (its ARN, shortened).
    #[error("STS names the caller {0}, which is not a role's session")]
    NotARole(String),
}

/// The role the function's credentials are a session of; why not, when they are not one.
pub async fn own_role(client: &aws_sdk_sts::Client) -> Result<RoleArn, OwnRoleError> {
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("GetCallerIdentity", error))?;
    let arn = identity.arn().unwrap_or_default();
    RoleArn::of_session(arn)
        .ok_or_else(|| OwnRoleError::NotARole(crate::vocabulary::truncate(arn, 300)))
}
