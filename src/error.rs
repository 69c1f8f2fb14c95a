//! Errors that fail an invocation, and how they reach Lambda.

use crate::event::InvalidEvent;
use lambda_runtime::Diagnostic;
use std::fmt;
use thiserror::Error;

/// Why an invocation failed.
#[derive(Debug, Error)]
pub enum HandlerError {
    /// The event is not a valid CodeCommit trigger event; nothing was started.
    #[error("invalid event: {0}; nothing was started")]
    InvalidEvent(#[from] InvalidEvent),
    /// The event comes from a repository the function does not serve; nothing was started.
    #[error("repository {arn} is not in ALLOWED_REPOSITORIES: the event is refused and nothing was started")]
    RepositoryNotAllowed {
        /// The repository's ARN, from the event.
        arn: String,
    },
    /// A build's status could not be written back to CodeCommit.
    #[error(
        "the status of build {build} could not be written back to CodeCommit: {source}; {advice}"
    )]
    ReportFailed {
        /// The build.
        build: String,
        /// The call that failed.
        source: crate::aws::AwsError,
        /// What to do about it.
        advice: String,
    },
    /// A comment that may ask for a rebuild could not be read.
    #[error("comment {comment} could not be read to see whether it asks for a rebuild: {source}; {advice}")]
    RebuildFailed {
        /// The comment's id.
        comment: String,
        /// The call that failed.
        source: crate::aws::AwsError,
        /// What to do about it.
        advice: String,
    },
    /// The function cannot tell its own comments from others'.
    #[error("REPORTER_ROLE_ARN is not set: the function cannot tell its own status comments from anyone else's, so it writes none; set it to the ARN of the role the function runs as (the template does)")]
    ReporterUnknown,
    /// Some builds could not be started (the others were).
    #[error("{}", StartFailures(.0))]
    StartBuildFailed(Vec<FailedStart>),
}

/// One reference whose build could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStart {
    /// The repository's name.
    pub repository: String,
    /// The full reference name.
    pub reference: String,
    /// The commit that was to be built.
    pub commit: String,
    /// The AWS error code or transport failure.
    pub code: String,
}

struct StartFailures<'a>(&'a [FailedStart]);

impl fmt::Display for StartFailures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StartBuild failed for {} reference(s): ", self.0.len())?;
        for (index, failure) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "{} {} at {} ({})",
                failure.repository, failure.reference, failure.commit, failure.code
            )?;
        }
        f.write_str(". Lambda retries the event; builds already started are not started again")
    }
}

impl HandlerError {
    /// The short, stable `errorType` Lambda reports.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::RepositoryNotAllowed { .. } => "RepositoryNotAllowed",
            Self::StartBuildFailed(_) => "StartBuildFailed",
            Self::ReportFailed { .. } => "ReportFailed",
            Self::RebuildFailed { .. } => "RebuildFailed",
            Self::ReporterUnknown => "InvalidConfiguration",
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}
