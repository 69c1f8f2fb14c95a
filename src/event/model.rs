//! The domain model of the events the function takes, apart from their wire shapes.

use super::validate::is_commit_id;
use std::fmt;

/// One push, as delivered in one event (a trigger event may split it over several records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The event's records, in order.
    pub records: Vec<Record>,
}

/// A repository and the references an event names for it: one record of a
/// trigger event, the one reference of an EventBridge push event, or the
/// source branch of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The repository pushed to, or the pull request's.
    pub repository: Repository,
    /// Who pushed, or changed the pull request (IAM ARN), when the event says.
    pub pusher: Option<String>,
    /// What happened: the trigger's `eventName` or EventBridge's `detail.event`.
    pub kind: EventKind,
    /// When it happened (milliseconds since the Unix epoch), when the event
    /// says so readably: a trigger's `eventTime`, EventBridge's `time`.
    pub pushed_at: Option<i64>,
    /// The references this record updates, in order.
    pub references: Vec<RefUpdate>,
    /// The pull request, when the record is one's source branch.
    pub pull_request: Option<PullRequest>,
    /// The event's own id, which its redeliveries keep: a trigger record's `eventId`,
    /// EventBridge's `id`.
    pub event_id: Option<String>,
}

/// What caused the event: a trigger's `eventName` or EventBridge's `detail.event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Trigger `ReferenceChanges`: a real push.
    ReferenceChanges,
    /// Trigger `TriggerEventTest`: the console's "Test trigger"; carries a real commit.
    TriggerEventTest,
    /// EventBridge `referenceCreated`.
    ReferenceCreated,
    /// EventBridge `referenceUpdated`.
    ReferenceUpdated,
    /// EventBridge `referenceDeleted`.
    ReferenceDeleted,
    /// EventBridge `pullRequestCreated`.
    PullRequestCreated,
    /// EventBridge `pullRequestSourceBranchUpdated`: a new revision.
    PullRequestSourceBranchUpdated,
    /// EventBridge `pullRequestStatusChanged`: closed or reopened.
    PullRequestStatusChanged,
    /// EventBridge `pullRequestMergeStatusUpdated`: merged.
    PullRequestMergeStatusUpdated,
    /// EventBridge `commentOnPullRequestCreated` whose comment is the rebuild command.
    CommentOnPullRequestCreated,
}

impl EventKind {
    /// The name as the event writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReferenceChanges => "ReferenceChanges",
            Self::TriggerEventTest => "TriggerEventTest",
            Self::ReferenceCreated => "referenceCreated",
            Self::ReferenceUpdated => "referenceUpdated",
            Self::ReferenceDeleted => "referenceDeleted",
            Self::PullRequestCreated => "pullRequestCreated",
            Self::PullRequestSourceBranchUpdated => "pullRequestSourceBranchUpdated",
            Self::PullRequestStatusChanged => "pullRequestStatusChanged",
            Self::PullRequestMergeStatusUpdated => "pullRequestMergeStatusUpdated",
            Self::CommentOnPullRequestCreated => "commentOnPullRequestCreated",
        }
    }
}

/// A CodeCommit repository, from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The repository's name.
    pub name: String,
    /// The repository's ARN.
    pub arn: String,
}

impl Repository {
    /// Its HTTPS clone URL, in its region and partition (`amazonaws.com.cn` in China), as a
    /// CodeBuild `CODECOMMIT` source names it.
    pub fn clone_url(&self) -> String {
        let [partition, _, region, _, _] =
            crate::vocabulary::arn::fields(&self.arn).unwrap_or_default();
        let domain = if partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!(
            "https://git-codecommit.{region}.{domain}/v1/repos/{}",
            self.name
        )
    }
}

/// One updated reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The reference.
    pub reference: GitRef,
    /// What the push did to it.
    pub change: RefChange,
}

/// What a push did to a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefChange {
    /// The reference now points at `commit`.
    Pushed {
        /// The pushed commit.
        commit: CommitId,
        /// The push created the reference.
        created: bool,
        /// The commit the reference pointed at before, when the event says
        /// (EventBridge's `oldCommitId`; trigger events never do).
        previous: Option<CommitId>,
    },
    /// The push deleted the reference.
    Deleted {
        /// The commit the event names for it, if any.
        commit: Option<CommitId>,
    },
}

impl RefUpdate {
    /// The commit the event names for this reference.
    pub fn commit(&self) -> Option<&CommitId> {
        match &self.change {
            RefChange::Pushed { commit, .. } => Some(commit),
            RefChange::Deleted { commit } => commit.as_ref(),
        }
    }
}

/// A validated full reference name such as `refs/heads/main`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

/// The namespace of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `refs/heads/...`
    Branch,
    /// `refs/tags/...`
    Tag,
    /// Any other namespace (`refs/notes/...`, ...).
    Other,
}

impl GitRef {
    /// A full reference name that Git allows; `None` otherwise.
    pub fn parse(name: &str) -> Option<Self> {
        super::validate::validate_ref(name.to_owned()).ok()
    }

    /// A name that passed the checks of reference names.
    pub(super) fn from_valid(name: String) -> Self {
        Self(name)
    }

    /// The full name, `refs/...`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Branch, tag or other.
    pub fn kind(&self) -> RefKind {
        self.split().0
    }

    /// The branch or tag name without its namespace; the full name otherwise.
    pub fn short_name(&self) -> &str {
        self.split().1
    }

    /// The kind and the short name, from one look at the prefix.
    pub fn split(&self) -> (RefKind, &str) {
        if let Some(branch) = self.0.strip_prefix("refs/heads/") {
            (RefKind::Branch, branch)
        } else if let Some(tag) = self.0.strip_prefix("refs/tags/") {
            (RefKind::Tag, tag)
        } else {
            (RefKind::Other, &self.0)
        }
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full Git commit id: 40 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(String);

impl CommitId {
    /// An id that passed the check of commit ids.
    pub(super) fn from_valid(id: String) -> Self {
        Self(id)
    }

    /// `text` as a commit id, if it is 40 lowercase hexadecimal digits.
    pub fn parse(text: &str) -> Option<Self> {
        is_commit_id(text).then(|| Self(text.to_owned()))
    }

    /// The id as 40 hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its first 8 digits, as reasons name a commit.
    pub fn short(&self) -> &str {
        &self.0[..8]
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pull request, as its event describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its id: digits, as a string (`"17"`).
    pub id: String,
    /// Its revision (`revisionId`): a new one with every update of the source branch.
    pub revision: String,
    /// The branch it merges into.
    pub destination: GitRef,
    /// That branch's commit when the event was sent.
    pub destination_commit: CommitId,
    /// Open, closed, or merged.
    pub status: PullRequestStatus,
    /// The comment that asked for this build again (`REBUILD_COMMAND`), if one did.
    pub rebuild: Option<Rebuild>,
}

/// A comment's request to build a pull request's revision again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuild {
    /// The comment's id.
    pub comment: String,
    /// `REBUILD_COMMAND failed`: only the (project, rule)s whose latest build of the revision
    /// failed or was stopped.
    pub failed_only: bool,
}

/// Where a pull request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestStatus {
    /// Open and not merged: its revisions build.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged (and so closed).
    Merged,
}

impl fmt::Display for PullRequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Merged => "merged",
        })
    }
}

/// A pull request created, updated, closed, reopened or merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestChange {
    /// One record per repository the event names, each with the source
    /// branch at the source commit as its one reference.
    pub records: Vec<Record>,
}

/// A new comment on a pull request: the rebuild command, perhaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestComment {
    /// The pull request's id.
    pub pull_request: String,
    /// The comment's id (`commentId`); its text is not in the event.
    pub comment: String,
    /// Who wrote it (`callerUserArn`), when the event says.
    pub author: Option<String>,
    /// The repositories the event names.
    pub repositories: Vec<Repository>,
    /// When it was written (milliseconds since the Unix epoch), when the event says readably.
    pub written_at: Option<i64>,
}

/// A pull-request event of a kind that never builds (approvals, approval rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredEvent {
    /// Its `detail.event`.
    pub event: String,
    /// The pull request's id.
    pub pull_request: String,
    /// The repositories it names.
    pub repositories: Vec<Repository>,
}

/// A build changed state: a "CodeBuild Build State Change" event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildChange {
    /// The build.
    pub build: Build,
    /// Its status as the event says (`build-status`).
    pub status: BuildStatus,
    /// Whether the build has ended: the event's `build-complete`, or a status other than
    /// `IN_PROGRESS` when it does not say.
    pub complete: bool,
    /// Whether it is waiting in CodeBuild's queue (its current phase is `QUEUED`), as when
    /// the project's or the account's concurrent builds are all taken.
    pub queued: bool,
    /// What this function started the build for, read from its `CODECOMMIT_*` variables;
    /// for a build this function did not start, why not.
    pub origin: Result<BuildOrigin, String>,
    /// The first phase that did not succeed, once the build has ended.
    pub failed_phase: Option<FailedPhase>,
    /// Seconds spent in the phases that have ended.
    pub duration_seconds: u64,
    /// Where CodeBuild writes the build's log, when it says.
    pub log: Option<LogStream>,
    /// Who started the build, when CodeBuild says (never an event).
    pub initiator: Option<String>,
    /// The ARNs of its test reports, when CodeBuild says (never an event).
    pub report_arns: Vec<String>,
    /// The ARN of the batch build it is one build of, when CodeBuild says (never an event).
    pub batch_arn: Option<String>,
}

/// One build, as the event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// Its ARN (`build-id`): `arn:PARTITION:codebuild:REGION:ACCOUNT:build/PROJECT:UUID`.
    pub arn: String,
    /// The id the CodeBuild API and console use: `PROJECT:UUID`.
    pub id: String,
    /// The project's name.
    pub project: String,
    /// The project's build counter (`build-number`), when the event says.
    pub number: Option<u64>,
    /// The partition, region and account of the build (for its console link).
    pub partition: String,
    /// The build's region.
    pub region: String,
    /// The build's account.
    pub account: String,
}

/// A build's status (`build-status`); the API knows more than the events send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStatus {
    /// Running.
    InProgress,
    /// Ended, every phase succeeded.
    Succeeded,
    /// Ended, a phase failed.
    Failed,
    /// Stopped by someone (or by superseding).
    Stopped,
    /// Ended by a fault of CodeBuild.
    Fault,
    /// Ran out of time.
    TimedOut,
    /// A status this function does not know, as sent.
    Other(String),
}

impl BuildStatus {
    /// Reads `build-status`.
    pub fn parse(text: &str) -> Self {
        match text {
            "IN_PROGRESS" => Self::InProgress,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "STOPPED" => Self::Stopped,
            "FAULT" => Self::Fault,
            "TIMED_OUT" => Self::TimedOut,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The status word, as CodeBuild writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Stopped => "STOPPED",
            Self::Fault => "FAULT",
            Self::TimedOut => "TIMED_OUT",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a build was started for, from its `CODECOMMIT_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOrigin {
    /// A pushed commit.
    Push {
        /// The repository.
        repository: Repository,
        /// The commit built.
        commit: CommitId,
        /// The routing rule that started it (`CODECOMMIT_RULE`), with routing rules.
        rule: Option<String>,
    },
    /// One revision of a pull request.
    PullRequest {
        /// The repository.
        repository: Repository,
        /// The pull request's id.
        id: String,
        /// Its revision (`revisionId`).
        revision: String,
        /// The source commit built.
        source_commit: CommitId,
        /// The destination commit it was compared with.
        destination_commit: CommitId,
        /// The routing rule that started it (`CODECOMMIT_RULE`), with routing rules.
        rule: Option<String>,
    },
}

impl BuildOrigin {
    /// The repository the build is of.
    pub fn repository(&self) -> &Repository {
        match self {
            Self::Push { repository, .. } | Self::PullRequest { repository, .. } => repository,
        }
    }

    /// The routing rule that started the build, with routing rules.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Self::Push { rule, .. } | Self::PullRequest { rule, .. } => rule.as_deref(),
        }
    }
}

/// The phase a build failed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPhase {
    /// `BUILD`, `INSTALL`, ...
    pub phase: String,
    /// `FAILED`, `FAULT`, `TIMED_OUT`, `STOPPED`, ...
    pub status: String,
    /// Why (`phase-context`), as CodeBuild words it.
    pub context: Vec<String>,
}

/// A CloudWatch Logs stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    /// The log group.
    pub group: String,
    /// The stream in it.
    pub stream: String,
}

impl LogStream {
    /// The stream `stream` of group `group`, when both are named.
    pub fn named(group: Option<String>, stream: Option<String>) -> Option<Self> {
        match (group, stream) {
            (Some(group), Some(stream)) if !group.is_empty() && !stream.is_empty() => {
                Some(Self { group, stream })
            }
            _ => None,
        }
    }
}
