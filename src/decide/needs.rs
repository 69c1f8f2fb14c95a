//! What a decision needs read ([`Needs`], from the plan) and what was read ([`Facts`], for
//! finishing it): commit messages, changed files, pull requests and branches as they stand
//! now. The reading itself is the handler's (`handler::gather`).

use crate::event::{CommitId, PullRequestStatus};
use std::collections::{BTreeSet, HashMap};

/// A commit of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitKey {
    /// The repository's name.
    pub repository: String,
    /// The commit.
    pub commit: CommitId,
}

/// A pull request of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PullRequestKey {
    /// The repository's name.
    pub repository: String,
    /// The pull request's id.
    pub id: String,
}

/// A branch of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchKey {
    /// The repository's name.
    pub repository: String,
    /// The branch's name.
    pub branch: String,
}

/// A pull request as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestNow {
    /// Open, closed or merged.
    pub status: PullRequestStatus,
    /// Its current revision.
    pub revision: String,
}

/// "What changed on this reference with this push (or pull request)?"
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BaseQuery {
    /// The repository's name.
    pub repository: String,
    /// The full reference name.
    pub reference: String,
    /// The pushed commit.
    pub commit: CommitId,
    /// How to find the commit to compare with.
    pub hint: BaseHint,
}

/// Where the commit to compare a push with comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BaseHint {
    /// The event names the reference's previous commit (EventBridge).
    Previous(CommitId),
    /// A new branch: its merge base with the repository's default branch.
    NewBranch,
    /// A pull request's source commit: its merge base with this destination commit.
    MergeBase(CommitId),
    /// A trigger event's update: the commit of the last build this function
    /// started for the reference in `project`.
    LastBuild {
        /// The project whose builds are searched.
        project: String,
    },
}

/// The facts to gather.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Commits whose messages are needed (skip markers).
    pub messages: BTreeSet<CommitKey>,
    /// Pushes and pull requests whose changed files are needed (path filters).
    pub bases: BTreeSet<BaseQuery>,
    /// Pull requests whose current status is needed: an event may arrive
    /// after a later one closed or merged its pull request.
    pub pull_requests: BTreeSet<PullRequestKey>,
    /// Branches whose head is needed: with `SUPERSEDE`, a push delivered after its
    /// branch moved on is not built.
    pub branches: BTreeSet<BranchKey>,
}

/// The files a push changed, and what they were compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The commit compared with.
    pub base: String,
    /// Every path added, modified or deleted since `base`, sorted.
    pub paths: Vec<String>,
}

/// The gathered facts; an `Err` says why a fact could not be known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Commit messages.
    pub messages: HashMap<CommitKey, Result<String, String>>,
    /// Changed files per push.
    pub changes: HashMap<BaseQuery, Result<Changes, String>>,
    /// Pull requests as they stand now.
    pub pull_requests: HashMap<PullRequestKey, Result<PullRequestNow, String>>,
    /// Branches' heads now (`None`: deleted).
    pub branches: HashMap<BranchKey, Result<Option<String>, String>>,
}
