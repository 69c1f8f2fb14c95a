//! Every AWS call that only reads, as traits the roles' handlers are generic over, with the
//! values they answer. The SDK implementations are beside them in this module; a handler
//! holds only the traits its role may use.

use super::AwsError;
use crate::event::{BuildReport, CommitId, LogStream, PullRequestStatus};
use aws_sdk_codecommit::types::RepositoryTrigger;
use std::future::Future;

/// How many of a project's most recent builds are read to find earlier
/// builds of a reference (one `ListBuildsForProject` page).
pub const RECENT_BUILDS: usize = 100;

/// The CodeBuild calls that only read: a project's builds, and one build.
pub trait BuildReads: Send + Sync {
    /// next with the token the previous page answered; at most [`RECENT_BUILDS`] a page.
    fn builds_page(
        &self,
        project: &str,
        page: Option<String>,
    ) -> impl Future<Output = Result<BuildsPage, AwsError>> + Send;

    /// The project's most recent builds, newest first, at most [`RECENT_BUILDS`].
    fn recent_builds(
        &self,
        project: &str,
    ) -> impl Future<Output = Result<Vec<PastBuild>, AwsError>> + Send {
        async move { Ok(self.builds_page(project, None).await?.builds) }
    }

    /// What CodeBuild says of build `id` (`PROJECT:UUID`); `None` when it knows no such build.
    fn build(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<BuildReport>, AwsError>> + Send {
        async move {
            let found = self.builds(&[id.to_owned()]).await?;
            Ok(found
                .into_iter()
                .find(|(found, _)| found == id)
                .map(|(_, report)| report))
        }
    }

    /// What CodeBuild says of the builds `ids` (at most 100), with their ids, in no order;
    /// builds it does not know are left out (`BatchGetBuilds`).
    fn builds(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<(String, BuildReport)>, AwsError>> + Send;

    /// One page of the project's batch builds, newest first, as [`Self::builds_page`] pages
    /// builds (`ListBuildBatchesForProject`, `BatchGetBuildBatches`).
    fn batches_page(
        &self,
        project: &str,
        page: Option<String>,
    ) -> impl Future<Output = Result<BuildsPage, AwsError>> + Send;

    /// The project's most recent batch builds, newest first, at most [`RECENT_BUILDS`].
    fn recent_batches(
        &self,
        project: &str,
    ) -> impl Future<Output = Result<Vec<PastBuild>, AwsError>> + Send {
        async move { Ok(self.batches_page(project, None).await?.builds) }
    }

    /// What CodeBuild says of batch build `id` (`PROJECT:UUID`); `None` when it knows no
    /// such batch (`BatchGetBuildBatches`).
    fn batch(&self, id: &str)
        -> impl Future<Output = Result<Option<BatchReport>, AwsError>> + Send;

    /// The test results of a build's test reports (`reports`: their ARNs, as `BatchGetBuilds`
    /// lists them): the counts (`BatchGetReports`) and the first [`MAX_FAILED_TESTS`] failed
    /// cases (`DescribeTestCases`).
    fn test_results(
        &self,
        reports: &[String],
    ) -> impl Future<Output = Result<TestResults, AwsError>> + Send;
}

/// A batch build as `BatchGetBuildBatches` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch as a build: its status, number, variables, initiator and source version
    /// (no phases, log or test reports of its own here).
    pub report: BuildReport,
    /// Seconds from its start to its end, once it has ended.
    pub duration_seconds: Option<u64>,
    /// Its builds, in the batch's order.
    pub groups: Vec<BatchGroup>,
}

/// One build group of a batch: one build of its list, matrix or graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchGroup {
    /// Its identifier in the buildspec's batch section.
    pub identifier: String,
    /// The id (`PROJECT:UUID`) of its current build, once started.
    pub build_id: Option<String>,
    /// Its current build's status, once started.
    pub status: Option<String>,
    /// How many earlier builds of it a retry replaced.
    pub retried: u32,
}

/// The most failed test cases read of one build.
pub const MAX_FAILED_TESTS: usize = 20;

/// A build's test results, over its test reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestResults {
    /// Test cases that passed.
    pub passed: u64,
    /// Test cases that failed (or errored).
    pub failed: u64,
    /// Test cases skipped.
    pub skipped: u64,
    /// The first failed cases, at most [`MAX_FAILED_TESTS`].
    pub failed_cases: Vec<FailedTest>,
}

/// One failed test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTest {
    /// Its name, after its prefix (the suite or class) when it has one.
    pub name: String,
    /// Why it failed, as the report says.
    pub message: Option<String>,
}

/// One page of a project's builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildsPage {
    /// The builds, newest first.
    pub builds: Vec<PastBuild>,
    /// The token of the next page, if there is one.
    pub next: Option<String>,
}

/// What the function needs to know of an earlier build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastBuild {
    /// The build's id.
    pub id: String,
    /// The commit (or ref) it built.
    pub source_version: Option<String>,
    /// Whether it is still running.
    pub in_progress: bool,
    /// Its `CODECOMMIT_REPOSITORY`, when this function started it.
    pub repository: Option<String>,
    /// Its `CODECOMMIT_REF`, when this function started it.
    pub reference: Option<String>,
    /// Its `CODECOMMIT_PULL_REQUEST_ID`, when this function started it for a pull request.
    pub pull_request: Option<String>,
    /// Its `CODECOMMIT_PULL_REQUEST_REVISION`, when this function started it for a pull request.
    pub revision: Option<String>,
    /// Its `CODECOMMIT_RULE`, when a routing rule started it.
    pub rule: Option<String>,
    /// Its status (`IN_PROGRESS`, `SUCCEEDED`, ...).
    pub status: Option<String>,
    /// The project's build number.
    pub number: Option<u64>,
    /// When it started (milliseconds since the Unix epoch).
    pub started_at: Option<i64>,
    /// Who started it (`ROLE/SESSION` for a role's session).
    pub initiator: Option<String>,
    /// Whether it is one build of a batch build (`buildBatchArn`), which its batch stands
    /// for.
    pub in_batch: bool,
}

/// The read-only CodeCommit calls the decisions may need.
pub trait CodeCommitReads: Send + Sync {
    /// The full message of `commit` (`GetCommit`).
    fn commit_message(
        &self,
        repository: &str,
        commit: &CommitId,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Every path added, modified or deleted between two commits, both sides
    /// of a rename included (`GetDifferences`, every page).
    fn changed_paths(
        &self,
        repository: &str,
        before: &str,
        after: &CommitId,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// The repository's default branch, if it has one (`GetRepository`).
    fn default_branch(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;

    /// The commit `branch` points at now; `None` once it is deleted (`GetBranch`).
    fn branch_head(
        &self,
        repository: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;

    /// The pull request as it stands now in `repository` (`GetPullRequest`).
    fn current_pull_request(
        &self,
        repository: &str,
        id: &str,
    ) -> impl Future<Output = Result<CurrentPullRequest, AwsError>> + Send;

    /// The first parent of `commit`; `None` for a repository's first commit (`GetCommit`).
    fn first_parent(
        &self,
        repository: &str,
        commit: &CommitId,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;

    /// The merge base of `commit` and `destination`, a branch or a commit
    /// (`GetMergeOptions`).
    fn merge_base(
        &self,
        repository: &str,
        commit: &CommitId,
        destination: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// The file at `path` in `commit`; `None` when the commit has no file there (`GetFile`).
    fn file(
        &self,
        repository: &str,
        commit: &CommitId,
        path: &str,
    ) -> impl Future<Output = Result<Option<RepositoryFile>, AwsError>> + Send;
}

/// A file as `GetFile` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFile {
    /// Its content.
    pub content: Vec<u8>,
    /// Whether it is a symbolic link (its content is then the link's target).
    pub symlink: bool,
}

/// A pull request as `GetPullRequest` reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentPullRequest {
    /// Open, closed or merged.
    pub status: PullRequestStatus,
    /// Its current revision.
    pub revision: String,
    /// Its source branch (full reference) and commit.
    pub source: (String, String),
    /// Its destination branch (full reference) and commit.
    pub destination: (String, String),
    /// When it was created (milliseconds since the Unix epoch), when CodeCommit says.
    pub created_at: Option<i64>,
}

/// Where a status comment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread<'a> {
    /// A pull request, on the comparison of its destination (`before`) and source (`after`)
    /// commits.
    PullRequest {
        /// The repository's name.
        repository: &'a str,
        /// The pull request's id.
        id: &'a str,
        /// The destination commit.
        before: &'a str,
        /// The source commit.
        after: &'a str,
    },
    /// A pushed commit, compared with its first parent (none for a repository's first commit).
    Commit {
        /// The repository's name.
        repository: &'a str,
        /// The first parent.
        before: Option<&'a str>,
        /// The commit.
        after: &'a str,
    },
}

/// One comment, as CodeCommit returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: String,
    /// Who wrote it (`authorArn`).
    pub author: Option<String>,
    /// Its text (empty once deleted).
    pub content: String,
}

/// The comment calls that only read.
pub trait CommentReads: Send + Sync {
    /// The comments of `thread` whose author `by` accepts, replies included, oldest first
    /// (`GetCommentsForPullRequest`, `GetCommentsForComparedCommit`, every page; the others
    /// are dropped page by page, so a thread of many long comments is never held whole).
    fn comments(
        &self,
        thread: &Thread<'_>,
        by: &(dyn Fn(&str) -> bool + Sync),
    ) -> impl Future<Output = Result<Vec<Comment>, AwsError>> + Send;

    /// One comment (`GetComment`).
    fn comment(&self, id: &str) -> impl Future<Output = Result<Comment, AwsError>> + Send;
}

/// The read of a log stream's end.
pub trait LogReads: Send + Sync {
    /// The last `lines` lines of `stream`, oldest first (`GetLogEvents`, one page from the end).
    fn last_lines(
        &self,
        stream: &LogStream,
        lines: u16,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
}

/// Whether projects exist (`BatchGetProjects`), for the installer's check at deploy time.
pub trait ProjectReads: Send + Sync {
    /// Those of `projects` (names or ARNs) that do not exist in this account and region.
    fn missing_projects(
        &self,
        projects: &[String],
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
}

/// An approval rule template as CodeCommit holds it (`GetApprovalRuleTemplate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalTemplate {
    /// Its description (which says whose it is).
    pub description: String,
    /// Its content (JSON).
    pub content: String,
    /// The SHA-256 of its content, which an update names to change what it read.
    pub content_sha256: String,
}

/// Approval rule templates and the repositories they are on, for the installer's merge gate.
pub trait GateReads: Send + Sync {
    /// `GetApprovalRuleTemplate`; `None` if there is no template of that name.
    fn template(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ApprovalTemplate>, AwsError>> + Send;

    /// Every repository the template is associated with
    /// (`ListRepositoriesForApprovalRuleTemplate`, all pages).
    fn template_repositories(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    /// Every repository in the account and region (`ListRepositories`, all pages).
    fn repository_names(&self) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
}

/// Whether a repository exists (`GetRepository`), for the installer's check at deploy time.
pub trait RepositoryReads: Send + Sync {
    /// `false` if CodeCommit answers that there is no repository of that name.
    fn repository_exists(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;
}

/// A repository's triggers (`GetRepositoryTriggers`), for the installer.
pub trait TriggerReads: Send + Sync {
    /// `GetRepositoryTriggers`.
    fn get_triggers(
        &self,
        repository: &str,
    ) -> impl Future<Output = Result<Vec<RepositoryTrigger>, AwsError>> + Send;
}
