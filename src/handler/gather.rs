//! Reading what the decisions need: the repositories' own files, commit messages, changed
//! files, pull requests and branches as they stand now, each read once however many rules
//! ask, a few at a time.

use super::error::HandlerError;
use crate::aws::reads::{BuildReads, CodeCommitReads, PastBuild, RepositoryFile};
use crate::aws::AwsError;
use crate::config::{repository_file, Config, RepositoryFiles};
use crate::decide::files::{files_needed, FileKey, FileRules, Files};
use crate::decide::needs::{BaseHint, BaseQuery, Changes, Facts, Needs, PullRequestNow};
use crate::decide::{finish, plan, Decision};
use crate::event::{CommitId, Record};
use crate::lambda::deadline::within;
use futures_util::future::join3;
use futures_util::stream::{self, StreamExt};
use lambda_runtime::tracing::{error, warn};
use std::collections::HashMap;
use std::future::Future;
use tokio::time::Instant;

/// How many reads of one kind run at once.
const CONCURRENT_READS: usize = 8;

/// Reads `read(key)` for each key, [`CONCURRENT_READS`] at a time.
async fn read_each<'k, K, T, F, R>(keys: impl IntoIterator<Item = &'k K>, read: F) -> Vec<(K, T)>
where
    K: Clone + 'k,
    F: Fn(&'k K) -> R,
    R: Future<Output = T>,
{
    stream::iter(keys)
        .map(|key| {
            let value = read(key);
            async move { (key.clone(), value.await) }
        })
        .buffer_unordered(CONCURRENT_READS)
        .collect()
        .await
}

/// What was read before the rules were known: the repositories' files, and the facts their
/// references need whatever the files say.
#[derive(Debug, Default)]
pub(super) struct Early {
    /// The files.
    pub files: Files,
    facts: Facts,
}

/// Reads the repositories' files that `records` need (none without `REPOSITORY_CONFIG`)
/// and, at the same time, the messages and pull requests their references will need
/// anyway. A file that cannot be read (other than a missing one) fails the event: its
/// rules are unknown.
pub(super) async fn read_early<C: CodeCommitReads>(
    config: &Config,
    records: &[Record],
    codecommit: &C,
    deadline: Option<Instant>,
) -> Result<Early, HandlerError> {
    let Some(repository_files) = &config.repository_files else {
        return Ok(Early::default());
    };
    let (keys, needs) = files_needed(config, records);
    let Some(first) = keys.first() else {
        return Ok(Early::default());
    };
    let reading = join3(
        read_each(&keys, |key| {
            codecommit.file(&key.repository, &key.commit, &repository_files.path)
        }),
        read_messages(&needs, codecommit),
        read_pull_requests(&needs, codecommit),
    );
    let Some((answers, messages, pull_requests)) = within(deadline, reading).await else {
        let late = AwsError::out_of_time(
            "GetFile",
            "the invocation's time ran out reading the repositories' files",
        );
        return Err(unreadable(repository_files, first, late));
    };
    let mut early = Early::default();
    early.facts.messages.extend(messages);
    early.facts.pull_requests.extend(pull_requests);
    for (key, answer) in answers {
        let rules = file_rules(repository_files, &key, answer)?;
        early.files.insert(key, rules);
    }
    Ok(early)
}

/// What a repository's file says, from `GetFile`'s answer.
fn file_rules(
    files: &RepositoryFiles,
    key: &FileKey,
    answer: Result<Option<RepositoryFile>, AwsError>,
) -> Result<FileRules, HandlerError> {
    let problem = match answer {
        Ok(None) => return Ok(FileRules::Absent),
        Ok(Some(file)) if file.symlink => {
            "is a symbolic link: the file itself must be at that path".to_owned()
        }
        Ok(Some(file)) => match repository_file::parse(&file.content, &files.allowed_projects) {
            Ok(rules) => return Ok(FileRules::Rules(rules)),
            Err(invalid) => invalid.to_string(),
        },
        Err(failure) if failure.code == "FileTooLargeException" => format!(
            "is larger than {} bytes (GetFile: {})",
            repository_file::MAX_FILE_BYTES,
            failure.message
        ),
        Err(failure) if failure.code == "CommitDoesNotExistException" => {
            let reason = format!(
                "commit {} is not in repository {} (GetFile: {})",
                key.commit, key.repository, failure.message
            );
            error!(repository = key.repository, commit = %key.commit, reason, "nothing of this repository builds");
            return Ok(FileRules::Refused(reason));
        }
        Err(failure) => return Err(unreadable(files, key, failure)),
    };
    error!(
        repository = key.repository,
        commit = %key.commit,
        file = files.path,
        problem,
        "the repository's file is invalid: nothing of this repository builds"
    );
    Ok(FileRules::Refused(format!(
        "{} at commit {} is invalid: {problem}",
        files.path,
        key.commit.short()
    )))
}

fn unreadable(files: &RepositoryFiles, key: &FileKey, source: AwsError) -> HandlerError {
    HandlerError::RepositoryFileUnreadable {
        file: format!(
            "{} of repository {} at commit {}",
            files.path, key.repository, key.commit
        ),
        source: Box::new(source),
    }
}

/// The commit messages `needs` asks.
async fn read_messages<C: CodeCommitReads>(
    needs: &Needs,
    codecommit: &C,
) -> Vec<(crate::decide::needs::CommitKey, Result<String, String>)> {
    read_each(&needs.messages, |key| async {
        codecommit
            .commit_message(&key.repository, &key.commit)
            .await
            .map_err(|error| error.to_string())
    })
    .await
}

/// The pull requests' current state `needs` asks.
async fn read_pull_requests<C: CodeCommitReads>(
    needs: &Needs,
    codecommit: &C,
) -> Vec<(
    crate::decide::needs::PullRequestKey,
    Result<PullRequestNow, String>,
)> {
    read_each(&needs.pull_requests, |key| async {
        codecommit
            .current_pull_request(&key.repository, &key.id)
            .await
            .map(|current| PullRequestNow {
                status: current.status,
                revision: current.revision,
            })
            .map_err(|error| error.to_string())
    })
    .await
}

/// Reads what `needs` asks and `facts` does not hold yet, once per commit, per repository
/// and per project.
async fn gather<C: CodeCommitReads, B: BuildReads>(
    mut needs: Needs,
    facts: &mut Facts,
    codecommit: &C,
    codebuild: &B,
) {
    needs
        .messages
        .retain(|key| !facts.messages.contains_key(key));
    needs
        .pull_requests
        .retain(|key| !facts.pull_requests.contains_key(key));
    let branches = read_each(&needs.branches, |key| async {
        codecommit
            .branch_head(&key.repository, &key.branch)
            .await
            .map_err(|error| error.to_string())
    });
    let (pull_requests, messages, branches) = join3(
        read_pull_requests(&needs, codecommit),
        read_messages(&needs, codecommit),
        branches,
    )
    .await;
    facts.pull_requests.extend(pull_requests);
    facts.messages.extend(messages);
    facts.branches.extend(branches);
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
}

/// What finding the bases reads, once per repository and per project.
#[derive(Default)]
struct Reads<'a> {
    default_branches: HashMap<&'a str, Result<Option<String>, String>>,
    histories: HashMap<&'a str, Result<Vec<PastBuild>, String>>,
}

impl<'a> Reads<'a> {
    /// The commit to compare `query`'s commit with, or why it cannot be known.
    async fn base<C: CodeCommitReads, B: BuildReads>(
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

/// Decides every reference of `records` with the rules `early` read, reading (never
/// writing) what those rules need from CodeCommit and CodeBuild. Reads still running at
/// `deadline` are abandoned: their facts count as unknown, and unknown facts build.
pub(super) async fn decide<'a>(
    config: &'a Config,
    early: &'a Early,
    records: &'a [Record],
    codecommit: &impl CodeCommitReads,
    codebuild: &impl BuildReads,
    deadline: Option<Instant>,
) -> Vec<Decision<'a>> {
    let plan = plan(config, &early.files, records);
    let mut facts = early.facts.clone();
    let reading = gather(plan.needs(), &mut facts, codecommit, codebuild);
    if within(deadline, reading).await.is_none() {
        warn!("no time left to read what the rules need: deciding without what was not read");
    }
    finish(plan, &facts)
}
