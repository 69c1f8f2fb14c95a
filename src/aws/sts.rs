//! Who the function is: STS `GetCallerIdentity`, for a reporter deployed without
//! `REPORTER_ROLE_ARN`, which then learns its own role once per container, on the first event
//! that needs it.

use super::AwsError;
use crate::config::RoleArn;

/// The role the function's credentials are a session of; why not, when they are not one.
pub async fn own_role(client: &aws_sdk_sts::Client) -> Result<RoleArn, String> {
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("GetCallerIdentity", error).to_string())?;
    let arn = identity.arn().unwrap_or_default();
    RoleArn::of_session(arn).ok_or_else(|| {
        format!(
            "STS names the caller {}, which is not a role's session",
            crate::vocabulary::truncate(arn, 300)
        )
    })
}
