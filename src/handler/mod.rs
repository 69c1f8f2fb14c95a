//! The I/O shell: one handler per role, one file per event path.
//!
//! - [`Starter`] (`starter.rs`) takes pushes (`push.rs`), pull requests' changes
//!   (`pull_request.rs`) and their comments (`rebuild.rs`): it reads CodeCommit and CodeBuild
//!   and starts and stops builds, and cannot write a comment;
//! - [`Reporter`] (`reporter.rs`) takes CodeBuild's build-state events: it reads CodeBuild,
//!   CodeCommit and the build's log, and writes comments and approvals, and cannot start a
//!   build;
//! - [`Both`] is one function that is both (`Handler: bootstrap`, and local runs).
//!
//! Each parses and admits its event the same way ([`admitted`]); what a decision needs is read
//! by `gather.rs`; `answer.rs` is what an invocation answers, `explain.rs` what `explain`
//! prints, and `error.rs` how an invocation fails.

use crate::config::Config;
use crate::event::{self, Event};
use lambda_runtime::tracing::error;
use std::time::Duration;
use tokio::time::Instant;

mod answer;
mod error;
mod explain;
mod gather;
pub mod metrics;
mod own_role;
mod pull_request;
mod push;
mod rebuild;
mod reporter;
mod starter;
#[cfg(test)]
mod tests;

pub use answer::{Reported, Response};
pub use error::HandlerError;
pub use explain::Explained;
pub use own_role::{ReporterRole, RoleLearner};
pub use reporter::Reporter;
pub use starter::Starter;

/// Time kept back at the end of an invocation to answer Lambda.
const ANSWER_MARGIN: Duration = Duration::from_secs(1);

/// One function for every kind of event: the starter and the reporter side by side.
#[derive(Debug)]
pub struct Both<B, C, L> {
    starter: Starter<B, C>,
    reporter: Reporter<B, C, L>,
}

impl<B, C, L> Both<B, C, L>
where
    B: crate::aws::reads::BuildReads + crate::aws::writes::BuildWrites,
    C: crate::aws::reads::CodeCommitReads
        + crate::aws::reads::CommentReads
        + crate::aws::writes::ResultWrites,
    L: crate::aws::reads::LogReads,
{
    /// The starter and the reporter of one function.
    pub fn new(starter: Starter<B, C>, reporter: Reporter<B, C, L>) -> Self {
        Self { starter, reporter }
    }

    /// Handles one event of any kind given as JSON text, as the role that takes it would.
    pub async fn handle(
        &self,
        event_json: &str,
        deadline: Option<Instant>,
    ) -> Result<Response, HandlerError> {
        let event = admitted(&self.starter.config, event_json, "both", |_| true)?;
        match &event {
            Event::Build(change) => self.reporter.take(change, deadline).await,
            _ => self.starter.take(&event, deadline).await,
        }
        .map(Response::bounded)
    }
}

/// Refuses an event from a repository outside `ALLOWED_REPOSITORIES`.
pub fn admit(config: &Config, event: &Event) -> Result<(), HandlerError> {
    let Some(allowed) = &config.allowed_repositories else {
        return Ok(());
    };
    match event
        .repositories()
        .find(|repository| !allowed.includes(&repository.arn))
    {
        Some(repository) => Err(HandlerError::RepositoryNotAllowed {
            arn: repository.arn.clone(),
        }),
        None => Ok(()),
    }
}

/// `event_json` parsed and admitted, if `function` `takes` its kind; each refusal is logged.
fn admitted(
    config: &Config,
    event_json: &str,
    function: &'static str,
    takes: impl Fn(&Event) -> bool,
) -> Result<Event, HandlerError> {
    let event = event::parse(event_json).inspect_err(|invalid| {
        error!(error = %invalid, "invalid event: nothing was started");
    })?;
    admit(config, &event).inspect_err(|refused| {
        if let HandlerError::RepositoryNotAllowed { arn } = refused {
            error!(
                repository = arn,
                "event from a repository not in ALLOWED_REPOSITORIES: nothing was started"
            );
        }
    })?;
    if !takes(&event) {
        return Err(log_refusal(HandlerError::NotTaken {
            kind: event.kind(),
            function,
        }));
    }
    Ok(event)
}

/// `refused`, logged as an event of a kind the function does not take.
fn log_refusal(refused: HandlerError) -> HandlerError {
    error!(error = %refused, "event of a kind this function does not take: nothing was done");
    refused
}
