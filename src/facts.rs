//! Gathering the facts the decisions need: commit messages, changed files
//! and pull requests' status, each read once however many rules ask.

use crate::codebuild::{CodeBuildCalls, PastBuild};
use crate::codecommit::CodeCommitReads;
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

/// Reads what `needs` asks, once per commit, per repository and per project.
pub async fn gather<C: CodeCommitReads, B: CodeBuildCalls>(
    needs: &Needs,
    codecommit: &C,
    codebuild: &B,
) -> Facts {
    let mut facts = Facts::default();
    for key in &needs.pull_requests {
        let now = codecommit
            .current_pull_request(&key.repository, &key.id)
            .await
            .map(|current| PullRequestNow {
                status: current.status,
                revision: current.revision,
            })
            .map_err(|error| error.to_string());
        facts.pull_requests.insert(key.clone(), now);
    }
    for key in &needs.branches {
        let head = codecommit
            .branch_head(&key.repository, &key.branch)
            .await
            .map_err(|error| error.to_string());
        facts.branches.insert(key.clone(), head);
    }
    for key in &needs.messages {
        let message = codecommit
            .commit_message(&key.repository, &key.commit)
            .await
            .map_err(|error| error.to_string());
        facts.messages.insert(key.clone(), message);
    }
    let mut reads = Reads::default();
    let mut diffs: HashMap<(&str, String, &CommitId), Result<Vec<String>, String>> = HashMap::new();
    for query in &needs.bases {
        let repository = query.repository.as_str();
        let changes = match reads.base(query, codecommit, codebuild).await {
            Err(why) => Err(why),
            Ok(base) => {
                let key = (repository, base.clone(), &query.commit);
                if !diffs.contains_key(&key) {
                    let paths = codecommit
                        .changed_paths(repository, &base, &query.commit)
                        .await
                        .map_err(|error| error.to_string());
                    diffs.insert(key.clone(), paths);
                }
                diffs[&key].clone().map(|paths| Changes { base, paths })
            }
        };
        facts.changes.insert(query.clone(), changes);
    }
    facts
}

/// What finding the bases reads, once per repository and per project.
#[derive(Default)]
struct Reads<'a> {
    default_branches: HashMap<&'a str, Result<Option<String>, String>>,
    histories: HashMap<&'a str, Result<Vec<PastBuild>, String>>,
}

impl<'a> Reads<'a> {
    /// The commit to compare `query`'s commit with, or why it cannot be known.
    async fn base<C: CodeCommitReads, B: CodeBuildCalls>(
        &mut self,
        query: &'a BaseQuery,
        codecommit: &C,
        codebuild: &B,
    ) -> Result<String, String> {
        let repository = query.repository.as_str();
        match &query.hint {
            BaseHint::Previous(previous) => Ok(previous.as_str().to_owned()),
            BaseHint::MergeBase(destination) => codecommit
                .merge_base(repository, &query.commit, destination.as_str())
                .await
                .map_err(|error| format!("no merge base with {destination}: {error}")),
            BaseHint::NewBranch => {
                if !self.default_branches.contains_key(repository) {
                    let branch = codecommit
                        .default_branch(repository)
                        .await
                        .map_err(|e| e.to_string());
                    self.default_branches.insert(repository, branch);
                }
                match &self.default_branches[repository] {
                    Err(why) => Err(why.clone()),
                    Ok(None) => Err("the repository has no default branch to compare a new branch with".to_owned()),
                    Ok(Some(default)) if query.reference == format!("refs/heads/{default}") => {
                        Err(format!("{default} is the default branch: nothing to compare its first push with"))
                    }
                    Ok(Some(default)) => codecommit
                        .merge_base(repository, &query.commit, default)
                        .await
                        .map_err(|error| format!("no merge base with {default}: {error}")),
                }
            }
            BaseHint::LastBuild { project } => {
                if !self.histories.contains_key(project.as_str()) {
                    let builds = codebuild
                        .recent_builds(project)
                        .await
                        .map_err(|e| e.to_string());
                    self.histories.insert(project, builds);
                }
                match &self.histories[project.as_str()] {
                    Err(why) => Err(why.clone()),
                    Ok(builds) => last_built_commit(builds, query).ok_or_else(|| {
                        format!(
                            "no earlier build of {} by this function among the {}'s recent builds to compare with",
                            query.reference, project
                        )
                    }),
                }
            }
        }
    }
}

/// The commit of the newest build this function started for the query's
/// repository and reference, other than the pushed commit itself (a
/// redelivered event then compares as the first delivery did).
fn last_built_commit(builds: &[PastBuild], query: &BaseQuery) -> Option<String> {
    builds
        .iter()
        .filter(|build| {
            build.pull_request.is_none()
                && build.repository.as_deref() == Some(query.repository.as_str())
                && build.reference.as_deref() == Some(query.reference.as_str())
        })
        .filter_map(|build| build.source_version.as_deref())
        .find(|version| *version != query.commit.as_str())
        .map(str::to_owned)
}
