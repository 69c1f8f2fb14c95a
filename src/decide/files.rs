//! Which rules decide a reference: the function's own, or, with `REPOSITORY_CONFIG`, its
//! repository's file at the commit that counts: the pushed commit for a push, the
//! DESTINATION commit for a pull request (so that a pull request cannot change which
//! projects build it, or how).
//!
//! The files are read before [`plan`](super::plan), which needs the rules; [`files_needed`]
//! says which, and which facts the same references will need whatever the files say, so that
//! the caller can read those at the same time.

use super::admit;
use super::needs::{CommitKey, Needs, PullRequestKey};
use crate::config::{Config, Rule};
use crate::event::{CommitId, Record};
use std::collections::{BTreeSet, HashMap};

/// A repository's file at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    /// The repository's name.
    pub repository: String,
    /// The commit the file is read at.
    pub commit: CommitId,
}

/// What a repository's file at a commit says.
#[derive(Debug, Clone)]
pub enum FileRules {
    /// The commit has no such file: the function's own rules decide.
    Absent,
    /// The file's rules.
    Rules(Vec<Rule>),
    /// Nothing of the repository builds, for this reason (an invalid file, a commit the
    /// repository does not have).
    Refused(String),
}

/// The repository files read for one event.
#[derive(Debug, Clone, Default)]
pub struct Files {
    read: HashMap<FileKey, FileRules>,
}

impl Files {
    /// Notes what the file at `key` says.
    pub fn insert(&mut self, key: FileKey, rules: FileRules) {
        self.read.insert(key, rules);
    }

    /// Why nothing of `repository` builds in this event, if one of its files was refused.
    fn refusal(&self, repository: &str) -> Option<&str> {
        self.read
            .iter()
            .filter(|(key, _)| key.repository == repository)
            .filter_map(|(key, rules)| match rules {
                FileRules::Refused(reason) => Some((key, reason.as_str())),
                _ => None,
            })
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, reason)| reason)
    }
}

/// The commit whose file decides `record`'s reference at `commit`: the pull request's
/// destination commit, or the pushed commit.
pub fn file_commit<'a>(record: &'a Record, commit: &'a CommitId) -> &'a CommitId {
    record
        .pull_request
        .as_ref()
        .map_or(commit, |pull_request| &pull_request.destination_commit)
}

/// The files `records` need read (none without `REPOSITORY_CONFIG`), and what the same
/// references need whatever the files say: their commits' messages (skip markers) and
/// their pull requests' status. References decided without rules (deleted, closed, an
/// ignored pusher) need nothing. A closed pull request's file is read too: its rules say
/// which builds to stop.
pub fn files_needed(config: &Config, records: &[Record]) -> (BTreeSet<FileKey>, Needs) {
    let mut files = BTreeSet::new();
    let mut needs = Needs::default();
    if config.repository_files.is_none() {
        return (files, needs);
    }
    for record in records {
        let repository = &record.repository.name;
        if let Some(pull_request) = &record.pull_request {
            files.insert(FileKey {
                repository: repository.clone(),
                commit: pull_request.destination_commit.clone(),
            });
        }
        for update in &record.references {
            let Ok(admitted) = admit(config, record, update) else {
                continue;
            };
            files.insert(FileKey {
                repository: repository.clone(),
                commit: file_commit(record, admitted.commit).clone(),
            });
            if config.skip_markers {
                needs.messages.insert(CommitKey {
                    repository: repository.clone(),
                    commit: admitted.commit.clone(),
                });
            }
            if let Some(pull_request) = &record.pull_request {
                needs.pull_requests.insert(PullRequestKey {
                    repository: repository.clone(),
                    id: pull_request.id.clone(),
                });
            }
        }
    }
    (files, needs)
}

/// The rules that decide `record`'s reference at `commit`, or why nothing of it builds.
pub(super) fn rules_for<'a>(
    config: &'a Config,
    files: &'a Files,
    record: &Record,
    commit: &CommitId,
) -> Result<&'a [Rule], String> {
    let Some(repository_files) = &config.repository_files else {
        return Ok(&config.rules);
    };
    let repository = &record.repository.name;
    if let Some(reason) = files.refusal(repository) {
        return Err(reason.to_owned());
    }
    let at = file_commit(record, commit);
    let key = FileKey {
        repository: repository.clone(),
        commit: at.clone(),
    };
    match files.read.get(&key) {
        Some(FileRules::Rules(rules)) => Ok(rules),
        Some(FileRules::Refused(reason)) => Err(reason.clone()),
        Some(FileRules::Absent) if config.rules.is_empty() => Err(format!(
            "{} is not in {repository} at commit {}, and the function has no rules of its own",
            repository_files.path,
            at.short()
        )),
        Some(FileRules::Absent) => Ok(&config.rules),
        None => Err(format!(
            "{} at commit {} was not read",
            repository_files.path,
            at.short()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ALLOWED_PROJECTS, IGNORE_PUSHERS, REPOSITORY_CONFIG, SKIP_MARKERS};
    use crate::test_support::{
        config, pull_request_event, pull_request_records, push, PR_DESTINATION, PR_SOURCE,
    };
    use serde_json::json;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn with_files(extra: &[(&'static str, &str)]) -> Config {
        let mut vars = vec![(REPOSITORY_CONFIG, "ci.yml"), (ALLOWED_PROJECTS, "team-*")];
        vars.extend_from_slice(extra);
        config(&vars)
    }

    fn keys(files: &BTreeSet<FileKey>) -> Vec<(&str, &str)> {
        files
            .iter()
            .map(|key| (key.repository.as_str(), key.commit.as_str()))
            .collect()
    }

    #[test]
    fn a_push_reads_each_pushed_commits_file_once_and_a_deleted_reference_nothing() {
        let push = push(
            "my-app",
            None,
            json!([
                {"ref": "refs/heads/main", "commit": A},
                {"ref": "refs/heads/dev", "commit": A},
                {"ref": "refs/tags/v1", "commit": B},
                {"ref": "refs/heads/gone", "deleted": true},
            ]),
        );
        let (files, needs) = files_needed(&with_files(&[]), &push.records);
        assert_eq!(keys(&files), [("my-app", A), ("my-app", B)]);
        let messages: Vec<&str> = needs.messages.iter().map(|k| k.commit.as_str()).collect();
        assert_eq!(
            messages,
            [A, B],
            "read beside the files: skip markers are on"
        );
        let (_, needs) = files_needed(&with_files(&[(SKIP_MARKERS, "false")]), &push.records);
        assert!(needs.messages.is_empty());
    }

    #[test]
    fn a_pull_request_reads_its_destination_commits_file_and_its_status() {
        let event = pull_request_event("pullRequestCreated", "main", "Open", "False");
        let records = pull_request_records(&event);
        let (files, needs) = files_needed(&with_files(&[]), &records);
        assert_eq!(keys(&files), [("my-app", PR_DESTINATION)]);
        assert_eq!(
            needs
                .messages
                .iter()
                .map(|k| k.commit.as_str())
                .collect::<Vec<_>>(),
            [PR_SOURCE],
            "the skip markers are the source commit's"
        );
        assert_eq!(needs.pull_requests.len(), 1);
        assert_eq!(
            file_commit(
                &records[0],
                &records[0].references[0]
                    .commit()
                    .cloned()
                    .expect("a commit")
            )
            .as_str(),
            PR_DESTINATION
        );

        // A closed pull request builds nothing, but its file says which builds to stop.
        let closed = pull_request_event("pullRequestStatusChanged", "main", "Closed", "False");
        let (files, needs) = files_needed(&with_files(&[]), &pull_request_records(&closed));
        assert_eq!(keys(&files), [("my-app", PR_DESTINATION)]);
        assert_eq!(needs, Needs::default());
    }

    #[test]
    fn nothing_is_read_without_repository_files_or_for_an_ignored_pusher() {
        let push_by_bot = push(
            "my-app",
            Some("arn:aws:iam::123456789012:user/bot"),
            json!([{"ref": "refs/heads/main", "commit": A}]),
        );
        let own = config(&[(crate::config::CODEBUILD_PROJECT, "p1")]);
        assert!(files_needed(&own, &push_by_bot.records).0.is_empty());
        let ignoring = with_files(&[(IGNORE_PUSHERS, "arn:aws:iam::123456789012:user/bot")]);
        assert!(files_needed(&ignoring, &push_by_bot.records).0.is_empty());
    }
}

#[cfg(test)]
mod closed_pull_requests {
    use super::*;
    use crate::config::{repository_file, AllowedProjects, ALLOWED_PROJECTS, REPOSITORY_CONFIG};
    use crate::decide::rules_superseding_pull_request;
    use crate::event::CommitId;
    use crate::test_support::{config, pull_request_event, pull_request_records, PR_DESTINATION};

    #[test]
    fn a_closed_pull_request_stops_the_builds_its_destinations_file_supersedes() {
        let config = config(&[(REPOSITORY_CONFIG, "ci.yml"), (ALLOWED_PROJECTS, "team-*")]);
        let text = b"rules:\n  - {name: test, project: team-api, pullRequests: [main], supersede: true}\n  - {name: lint, project: team-lint, pullRequests: [main]}\n";
        let rules = repository_file::parse(text, &AllowedProjects::Any).expect("valid");
        let mut files = Files::default();
        files.insert(
            FileKey {
                repository: "my-app".into(),
                commit: CommitId::parse(PR_DESTINATION).expect("a commit"),
            },
            FileRules::Rules(rules),
        );
        let closed = pull_request_event("pullRequestStatusChanged", "main", "Closed", "False");
        let records = pull_request_records(&closed);
        let superseding: Vec<&str> = rules_superseding_pull_request(&config, &files, &records[0])
            .iter()
            .map(|rule| rule.project.as_str())
            .collect();
        assert_eq!(superseding, ["team-api"]);
        // Without the file's rules read, none of the function's own (it has none) stop anything.
        assert!(rules_superseding_pull_request(&config, &Files::default(), &records[0]).is_empty());
    }
}
