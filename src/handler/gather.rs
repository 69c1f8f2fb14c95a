//! Reading what the decisions need: commit messages, changed files, pull requests and
//! branches as they stand now, each read once however many rules ask.

use crate::aws::reads::{BuildReads, CodeCommitReads, PastBuild};
use crate::config::Config;
use crate::decide::needs::{BaseHint, BaseQuery, Changes, Facts, Needs, PullRequestNow};
use crate::decide::{finish, plan, Decision};
use crate::event::{CommitId, Record};
use crate::lambda::deadline::within;
use lambda_runtime::tracing::warn;
use std::collections::HashMap;
use tokio::time::Instant;

/// Reads what `needs` asks, once per commit, per repository and per project.
async fn gather<C: CodeCommitReads, B: BuildReads>(
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

/// Decides every reference of `records`, reading (never writing) what the rules need from
/// CodeCommit and CodeBuild. Reads still running at `deadline` are abandoned: their facts
/// count as unknown, and unknown facts build.
pub(super) async fn decide<'a>(
    config: &'a Config,
    records: &'a [Record],
    codecommit: &impl CodeCommitReads,
    codebuild: &impl BuildReads,
    deadline: Option<Instant>,
) -> Vec<Decision<'a>> {
    let plan = plan(config, records);
    let needs = plan.needs();
    let facts = within(deadline, gather(&needs, codecommit, codebuild))
        .await
        .unwrap_or_else(|| {
            warn!("no time left to read what the rules need: deciding without it");
            Facts::default()
        });
    finish(plan, &facts)
}
