//! The StartBuild overrides a rule may set, as a pipeline's CodeBuild action could: the
//! buildspec, the compute type, the image, the environment type, the timeouts and the clone
//! depth. Each is checked when the rules load, against CodeBuild's own values and limits.

/// CodeBuild's compute types (`computeTypeOverride`).
pub const COMPUTE_TYPES: [&str; 12] = [
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
    "BUILD_LAMBDA_1GB",
    "BUILD_LAMBDA_2GB",
    "BUILD_LAMBDA_4GB",
    "BUILD_LAMBDA_8GB",
    "BUILD_LAMBDA_10GB",
    "ATTRIBUTE_BASED_COMPUTE",
    "CUSTOM_INSTANCE_TYPE",
];

/// CodeBuild's environment types (`environmentTypeOverride`).
pub const ENVIRONMENT_TYPES: [&str; 12] = [
    "LINUX_CONTAINER",
    "LINUX_GPU_CONTAINER",
    "ARM_CONTAINER",
    "WINDOWS_CONTAINER",
    "WINDOWS_SERVER_2019_CONTAINER",
    "WINDOWS_SERVER_2022_CONTAINER",
    "LINUX_LAMBDA_CONTAINER",
    "ARM_LAMBDA_CONTAINER",
    "LINUX_EC2",
    "ARM_EC2",
    "WINDOWS_EC2",
    "MAC_ARM",
];

/// `timeoutInMinutesOverride`'s range.
pub const TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 5..=2160;
/// `queuedTimeoutInMinutesOverride`'s range.
pub const QUEUED_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 5..=480;

/// A rule's overrides; `None` leaves the project's own setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `buildspec`: a path in the source, or an inline buildspec.
    pub buildspec: Option<String>,
    /// `computeType`, one of [`COMPUTE_TYPES`].
    pub compute_type: Option<String>,
    /// `image`: the build image.
    pub image: Option<String>,
    /// `environmentType`, one of [`ENVIRONMENT_TYPES`].
    pub environment_type: Option<String>,
    /// `timeoutInMinutes`, in [`TIMEOUT_MINUTES`].
    pub timeout_in_minutes: Option<u32>,
    /// `queuedTimeoutInMinutes`, in [`QUEUED_TIMEOUT_MINUTES`].
    pub queued_timeout_in_minutes: Option<u32>,
    /// `gitCloneDepth`: 0 for a full clone.
    pub git_clone_depth: Option<u32>,
}

impl Overrides {
    /// These overrides, or the field (as written in a rule) at fault and why.
    pub(super) fn checked(self) -> Result<Self, (&'static str, String)> {
        if let Some(buildspec) = &self.buildspec {
            if buildspec.trim().is_empty() {
                return Err((
                    "buildspec",
                    "is empty: give a path or an inline buildspec".into(),
                ));
            }
        }
        if let Some(image) = &self.image {
            if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(("image", format!("{image:?} is not an image name")));
            }
        }
        one_of("computeType", self.compute_type.as_deref(), &COMPUTE_TYPES)?;
        one_of(
            "environmentType",
            self.environment_type.as_deref(),
            &ENVIRONMENT_TYPES,
        )?;
        within("timeoutInMinutes", self.timeout_in_minutes, TIMEOUT_MINUTES)?;
        within(
            "queuedTimeoutInMinutes",
            self.queued_timeout_in_minutes,
            QUEUED_TIMEOUT_MINUTES,
        )?;
        Ok(self)
    }
}

fn one_of(
    field: &'static str,
    value: Option<&str>,
    known: &[&str],
) -> Result<(), (&'static str, String)> {
    match value {
        Some(value) if !known.contains(&value) => Err((
            field,
            format!("{value:?} is not one of CodeBuild's: {}", known.join(", ")),
        )),
        _ => Ok(()),
    }
}

fn within(
    field: &'static str,
    value: Option<u32>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<(), (&'static str, String)> {
    match value {
        Some(value) if !range.contains(&value) => Err((
            field,
            format!(
                "{value} is outside CodeBuild's {} to {} minutes",
                range.start(),
                range.end()
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebuilds_values_and_limits_are_checked_naming_the_field() {
        let valid = Overrides {
            buildspec: Some("ci/buildspec.yml".into()),
            compute_type: Some("BUILD_GENERAL1_LARGE".into()),
            image: Some("aws/codebuild/standard:7.0".into()),
            environment_type: Some("LINUX_CONTAINER".into()),
            timeout_in_minutes: Some(2160),
            queued_timeout_in_minutes: Some(5),
            git_clone_depth: Some(0),
        };
        assert_eq!(valid.clone().checked(), Ok(valid.clone()));
        let refused = |change: fn(&mut Overrides)| {
            let mut overrides = valid.clone();
            change(&mut overrides);
            overrides.checked().expect_err("invalid")
        };
        assert_eq!(
            refused(|o| o.timeout_in_minutes = Some(4)).0,
            "timeoutInMinutes"
        );
        assert_eq!(
            refused(|o| o.queued_timeout_in_minutes = Some(481)),
            (
                "queuedTimeoutInMinutes",
                "481 is outside CodeBuild's 5 to 480 minutes".to_owned()
            )
        );
        assert_eq!(
            refused(|o| o.compute_type = Some("BUILD_GENERAL1_HUGE".into())).0,
            "computeType"
        );
        assert_eq!(
            refused(|o| o.environment_type = Some("linux_container".into())).0,
            "environmentType"
        );
        assert_eq!(refused(|o| o.image = Some("has space".into())).0, "image");
        assert_eq!(refused(|o| o.buildspec = Some(" ".into())).0, "buildspec");
    }
}
