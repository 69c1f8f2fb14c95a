//! Every AWS call that changes something, as traits: starting and stopping builds, writing
//! comments and approvals, replacing a repository's triggers. Only the role that must make a
//! call holds its trait.

use super::reads::Thread;
use super::AwsError;
use crate::config::overrides::Overrides;
use aws_sdk_codecommit::types::RepositoryTrigger;
use std::future::Future;

/// Everything one StartBuild call sends; `crate::build_request` makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// The project to start (name or ARN).
    pub project: String,
    /// The commit to build.
    pub source_version: String,
    /// The repository to build it from (its HTTPS clone URL): StartBuild names it as the
    /// source, type `CODECOMMIT`, whatever the project's own source is.
    pub source_location: String,
    /// Derived from (project, repository, ref or pull request and revision, commit) only.
    pub idempotency_token: String,
    /// PLAINTEXT environment variables for the build, in a fixed order:
    /// the `CODECOMMIT_*` variables, then the rule's own.
    pub environment: Vec<(String, String)>,
    /// The rule's overrides of the project's settings.
    pub overrides: Overrides,
    /// Start a batch build (`StartBuildBatch`) rather than one build (`StartBuild`).
    pub batch: bool,
}

/// The CodeBuild calls that change something: starting and stopping builds and batches.
pub trait BuildWrites: Send + Sync {
    /// Sends one StartBuild request, or StartBuildBatch for a batch's.
    fn start_build(
        &self,
        request: &BuildRequest,
    ) -> impl Future<Output = Result<StartedBuild, AwsError>> + Send;

    /// Stops a build.
    fn stop_build(&self, build_id: &str) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Stops a batch build and its builds (`StopBuildBatch`).
    fn stop_build_batch(&self, batch_id: &str)
        -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Starts again the failed builds of batch `batch_id` (`RetryBuildBatch`,
    /// `RETRY_FAILED_BUILDS`), under `idempotency_token`.
    fn retry_build_batch(
        &self,
        batch_id: &str,
        idempotency_token: &str,
    ) -> impl Future<Output = Result<StartedBuild, AwsError>> + Send;
}

/// A successful StartBuild (StartBuildBatch, RetryBuildBatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartedBuild {
    /// A build was started (or CodeBuild returned the build its token started before).
    Started {
        /// The build's (or batch's) id, `project:uuid`.
        build_id: String,
        /// When it started (milliseconds since the Unix epoch), when CodeBuild says: a build
        /// its token started before may have started before the event now being handled.
        started_at: Option<i64>,
    },
    /// CodeBuild answered the token with a parameter mismatch: an earlier
    /// request with this token already started the build.
    AlreadyStarted,
}

/// The calls that write results back: comments and approvals.
pub trait ResultWrites: Send + Sync {
    /// Posts `content` on `thread` with the idempotency token `token`; returns the new
    /// comment's id (`PostCommentForPullRequest`, `PostCommentForComparedCommit`). The same
    /// token with other content fails with `IdempotencyParameterMismatchException`.
    fn post(
        &self,
        thread: &Thread<'_>,
        content: &str,
        token: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Replaces the content of the function's own comment `id` (`UpdateComment`).
    fn update(&self, id: &str, content: &str) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Approves (`true`) or revokes the function's approval of `revision` of pull request
    /// `id` (`UpdatePullRequestApprovalState`).
    fn set_approval(
        &self,
        id: &str,
        revision: &str,
        approve: bool,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Replacing a repository's triggers, for the installer.
pub trait TriggerWrites: Send + Sync {
    /// `PutRepositoryTriggers`: replaces all of the repository's triggers.
    fn put_triggers(
        &self,
        repository: &str,
        triggers: Vec<RepositoryTrigger>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Approval rule templates and their associations, for the installer's merge gate.
pub trait GateWrites: Send + Sync {
    /// `CreateApprovalRuleTemplate`.
    fn create_template(
        &self,
        name: &str,
        content: &str,
        description: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// `UpdateApprovalRuleTemplateContent`, if the content is still the one read
    /// (`existing_sha256`).
    fn update_template_content(
        &self,
        name: &str,
        content: &str,
        existing_sha256: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// `DeleteApprovalRuleTemplate` (it must be associated with no repository).
    fn delete_template(&self, name: &str) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// `AssociateApprovalRuleTemplateWithRepository`.
    fn associate(
        &self,
        name: &str,
        repository: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// `DisassociateApprovalRuleTemplateFromRepository`.
    fn disassociate(
        &self,
        name: &str,
        repository: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}
