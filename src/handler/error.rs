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
        "the status of build {build} could not be written back to CodeCommit: {source}; {}",
        .source.advice()
    )]
    ReportFailed {
        /// The build.
        build: String,
        /// The call that failed.
        source: crate::aws::AwsError,
    },
    /// A comment that may ask for a rebuild could not be read.
    #[error("comment {comment} could not be read to see whether it asks for a rebuild: {source}; {}", .source.advice())]
    RebuildFailed {
        /// The comment's id.
        comment: String,
        /// The call that failed.
        source: crate::aws::AwsError,
    },
    /// The function cannot tell its own comments from others'.
    #[error("REPORTER_ROLE_ARN is not set, and STS did not name the role the function runs as: the function cannot tell its own status comments from anyone else's, so it writes none; set it to the ARN of that role (the template does)")]
    ReporterUnknown,
    /// The event is of a kind the other function takes.
    #[error("this function is the {function}: it does not take {kind} events, which go to the {}; nothing was done", if *.function == "reporter" { "starter" } else { "reporter" })]
    NotTaken {
        /// The event's kind, e.g. `CodeBuild Build State Change`.
        kind: &'static str,
        /// `starter` or `reporter`.
        function: &'static str,
    },
    /// A repository's file could not be read (not "no such file": a refusal, a throttle, a
    /// transport failure), so its rules are unknown; nothing was started.
    #[error("{file} could not be read: {source}; {}. Nothing was started: Lambda retries the event", .source.advice())]
    RepositoryFileUnreadable {
        /// The file: `PATH of repository NAME at commit COMMIT`.
        file: String,
        /// The call that failed.
        source: Box<crate::aws::AwsError>,
    },
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

/// The most bytes of failed references an error message lists: with the rest of the message
/// it stays under 64 KiB, so that a failed-events record always keeps its event beside it.
const MAX_LISTED_FAILURES_BYTES: usize = 48 * 1024;

impl fmt::Display for StartFailures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StartBuild failed for {} reference(s): ", self.0.len())?;
        let mut written = 0;
        for (index, failure) in self.0.iter().enumerate() {
            let entry = format!(
                "{} {} at {} ({})",
                failure.repository, failure.reference, failure.commit, failure.code
            );
            written += entry.len() + 2;
            if written > MAX_LISTED_FAILURES_BYTES {
                write!(
                    f,
                    "; and {} more (the log names each)",
                    self.0.len() - index
                )?;
                break;
            }
            if index > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&entry)?;
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
            Self::RepositoryFileUnreadable { .. } => "RepositoryFileUnreadable",
            Self::ReportFailed { .. } => "ReportFailed",
            Self::RebuildFailed { .. } => "RebuildFailed",
            Self::ReporterUnknown => "InvalidConfiguration",
            Self::NotTaken { .. } => "EventNotTaken",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_failure_message_stays_under_64_kib_and_counts_what_it_leaves_out() {
        let failures: Vec<FailedStart> = (0..1000)
            .map(|n| FailedStart {
                repository: "my-app".into(),
                reference: format!("refs/tags/{n:0>300}"),
                commit: "1".repeat(40),
                code: "AccountLimitExceededException".into(),
            })
            .collect();
        let message = HandlerError::StartBuildFailed(failures).to_string();
        assert!(message.len() < 64 * 1024, "{} bytes", message.len());
        assert!(message.starts_with("StartBuild failed for 1000 reference(s): my-app refs/tags/"));
        assert!(message.contains(" more (the log names each). Lambda retries the event"));
    }
}
