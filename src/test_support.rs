//! Helpers shared by the unit tests.

use crate::config::Config;
use crate::event::{self, Push};
use serde_json::{json, Value};
use std::collections::HashMap;

/// A configuration from the given variables only; panics if it is invalid.
pub fn config(vars: &[(&'static str, &str)]) -> Config {
    let vars: HashMap<_, _> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
    Config::from_lookup(|name| Ok(vars.get(name).cloned())).expect("valid configuration")
}

use testkit::events;
pub use testkit::events::{
    build_id, build_state_event, pull_request_build_variables, pull_request_comment_event,
    pull_request_event, PR_DESTINATION, PR_REVISION, PR_SOURCE,
};

/// One trigger record of a push to `repository` by `pusher`, at [`events::EVENT_TIME`].
pub fn record(repository: &str, pusher: Option<&str>, references: Value) -> Value {
    events::trigger_record(repository, pusher, events::EVENT_TIME, references)
}

/// A parsed trigger event of one record; panics if it is invalid.
pub fn push(repository: &str, pusher: Option<&str>, references: Value) -> Push {
    parse_push(&json!({"Records": [record(repository, pusher, references)]}))
}

/// A parsed push event; panics if it is invalid or not a push.
pub fn parse_push(event: &Value) -> Push {
    match event::parse(&event.to_string()).expect("valid event") {
        event::Event::Push(push) => push,
        other => panic!("not a push: {other:?}"),
    }
}

/// The records of a parsed pull-request event; panics if it is invalid or ignored.
pub fn pull_request_records(event: &Value) -> Vec<crate::event::Record> {
    match event::parse(&event.to_string()).expect("valid event") {
        event::Event::PullRequest(change) => change.records,
        other => panic!("not a pull request change: {other:?}"),
    }
}

/// An in-memory CodeBuild that records what it is asked.
#[derive(Default)]
pub struct FakeCodeBuild {
    /// Every StartBuild request, in order.
    pub requests: std::sync::Mutex<Vec<crate::aws::writes::BuildRequest>>,
    /// Refs (`CODECOMMIT_REF`) whose StartBuild fails with AccessDeniedException.
    pub fail: Vec<&'static str>,
    /// Refs whose StartBuild answers a parameter mismatch.
    pub mismatch: Vec<&'static str>,
    /// Refs whose first StartBuild answers a build that started long before (an earlier
    /// event's, as CodeBuild answers a token it saw minutes ago).
    pub stale: Vec<&'static str>,
    /// The refs answered so.
    pub stale_served: std::sync::Mutex<std::collections::HashSet<String>>,
    /// What `recent_builds` answers, newest first.
    pub history: Vec<crate::aws::reads::PastBuild>,
    /// Whether reading the history fails (AccessDeniedException).
    pub history_denied: bool,
    /// How many times the history was read.
    pub history_reads: std::sync::atomic::AtomicUsize,
    /// Builds stopped, in order.
    pub stopped: std::sync::Mutex<Vec<String>>,
    /// What `build` answers, by build id; any other build is unknown.
    pub reports: std::sync::Mutex<HashMap<String, crate::event::BuildReport>>,
    /// What `test_results` answers.
    pub test_results: crate::aws::reads::TestResults,
    /// What `recent_batches` answers, newest first.
    pub batch_history: Vec<crate::aws::reads::PastBuild>,
    /// What `batch` answers, by batch id; any other batch is unknown.
    pub batches: std::sync::Mutex<HashMap<String, crate::aws::reads::BatchReport>>,
    /// Batches retried, as (batch id, idempotency token), in order.
    pub retried: std::sync::Mutex<Vec<(String, String)>>,
}

impl FakeCodeBuild {
    /// From now on, CodeBuild reports the build of `event` (a build-state event) as the
    /// event describes it, started by `initiator`.
    pub fn says(&self, event: &Value, initiator: Option<&str>) {
        let arn = event["detail"]["build-id"].as_str().expect("a build-id");
        let id = arn.split_once(":build/").expect("a build ARN").1;
        let mut report = report_of(event);
        report.initiator = initiator.map(str::to_owned);
        self.reports
            .lock()
            .expect("lock")
            .insert(id.to_owned(), report);
    }
}

/// What CodeBuild says of the build `event` (a build-state event) describes, when it is
/// as the event says.
pub fn report_of(event: &Value) -> crate::event::BuildReport {
    use crate::event::{BuildReport, BuildStatus, LogStream, Phase, Variable};
    let information = &event["detail"]["additional-information"];
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
    BuildReport {
        status: BuildStatus::parse(event["detail"]["build-status"].as_str().unwrap_or_default()),
        complete: information["build-complete"].as_bool(),
        number: information["build-number"].as_u64(),
        source_version: text(&information["source-version"]),
        variables: list(&information["environment"]["environment-variables"])
            .iter()
            .map(|variable| Variable {
                name: text(&variable["name"]).unwrap_or_default(),
                plaintext: variable["type"] == "PLAINTEXT",
                value: text(&variable["value"]),
            })
            .collect(),
        log: LogStream::named(
            text(&information["logs"]["group-name"]),
            text(&information["logs"]["stream-name"]),
        ),
        phases: list(&information["phases"])
            .iter()
            .map(|phase| Phase {
                phase: text(&phase["phase-type"]).unwrap_or_default(),
                status: text(&phase["phase-status"]),
                duration_seconds: phase["duration-in-seconds"].as_u64(),
                context: list(&phase["phase-context"])
                    .iter()
                    .filter_map(text)
                    .collect(),
            })
            .collect(),
        initiator: None,
        report_arns: Vec::new(),
        batch_arn: None,
    }
}

impl crate::aws::reads::BuildReads for FakeCodeBuild {
    async fn builds_page(
        &self,
        _project: &str,
        _page: Option<String>,
    ) -> Result<crate::aws::reads::BuildsPage, crate::aws::AwsError> {
        self.history_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.history_denied {
            return Err(crate::aws::AwsError {
                operation: "ListBuildsForProject",
                code: "AccessDeniedException".into(),
                message: "denied by the test".into(),
            });
        }
        Ok(crate::aws::reads::BuildsPage {
            builds: self.history.clone(),
            next: None,
        })
    }

    async fn builds(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, crate::event::BuildReport)>, crate::aws::AwsError> {
        let reports = self.reports.lock().expect("lock");
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), reports.get(id)?.clone())))
            .collect())
    }

    async fn batches_page(
        &self,
        _project: &str,
        _page: Option<String>,
    ) -> Result<crate::aws::reads::BuildsPage, crate::aws::AwsError> {
        Ok(crate::aws::reads::BuildsPage {
            builds: self.batch_history.clone(),
            next: None,
        })
    }

    async fn batch(
        &self,
        id: &str,
    ) -> Result<Option<crate::aws::reads::BatchReport>, crate::aws::AwsError> {
        Ok(self.batches.lock().expect("lock").get(id).cloned())
    }

    async fn test_results(
        &self,
        _reports: &[String],
    ) -> Result<crate::aws::reads::TestResults, crate::aws::AwsError> {
        Ok(self.test_results.clone())
    }
}

impl crate::aws::writes::BuildWrites for FakeCodeBuild {
    async fn start_build(
        &self,
        request: &crate::aws::writes::BuildRequest,
    ) -> Result<crate::aws::writes::StartedBuild, crate::aws::AwsError> {
        self.requests.lock().expect("lock").push(request.clone());
        let reference = request
            .environment
            .iter()
            .find(|(name, _)| name == crate::vocabulary::variables::REF)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if self.fail.contains(&reference) {
            return Err(crate::aws::AwsError {
                operation: "StartBuild",
                code: "AccessDeniedException".into(),
                message: "not allowed".into(),
            });
        }
        if self.mismatch.contains(&reference) {
            return Ok(crate::aws::writes::StartedBuild::AlreadyStarted);
        }
        if self.stale.contains(&reference)
            && self
                .stale_served
                .lock()
                .expect("lock")
                .insert(reference.to_owned())
        {
            return Ok(crate::aws::writes::StartedBuild::Started {
                build_id: format!("{}:earlier", request.project),
                started_at: Some(0),
            });
        }
        Ok(crate::aws::writes::StartedBuild::Started {
            build_id: format!("{}:{}", request.project, &request.source_version[..8]),
            started_at: None,
        })
    }

    async fn stop_build(&self, build_id: &str) -> Result<(), crate::aws::AwsError> {
        self.stopped.lock().expect("lock").push(build_id.to_owned());
        Ok(())
    }

    async fn stop_build_batch(&self, batch_id: &str) -> Result<(), crate::aws::AwsError> {
        self.stopped.lock().expect("lock").push(batch_id.to_owned());
        Ok(())
    }

    async fn retry_build_batch(
        &self,
        batch_id: &str,
        idempotency_token: &str,
    ) -> Result<crate::aws::writes::StartedBuild, crate::aws::AwsError> {
        self.retried
            .lock()
            .expect("lock")
            .push((batch_id.to_owned(), idempotency_token.to_owned()));
        Ok(crate::aws::writes::StartedBuild::Started {
            build_id: batch_id.to_owned(),
            started_at: None,
        })
    }
}

/// An in-memory CodeCommit: messages by commit, changed paths by
/// (before, after), and a log of the calls made.
#[derive(Default)]
pub struct FakeCodeCommit {
    /// Commit messages by commit id.
    pub messages: HashMap<String, String>,
    /// Changed paths by (before, after).
    pub diffs: HashMap<(String, String), Vec<String>>,
    /// The repository's default branch.
    pub default_branch: Option<String>,
    /// Merge bases by pushed commit.
    pub merge_bases: HashMap<String, String>,
    /// Pull requests' current status by id; any other is open.
    pub pull_requests: HashMap<String, crate::event::PullRequestStatus>,
    /// Pull requests' current revision by id; any other is at [`PR_REVISION`].
    pub revisions: HashMap<String, String>,
    /// Branches' heads by name (`None`: deleted); reading any other fails.
    pub branches: HashMap<String, Option<String>>,
    /// Repository files by (repository, commit, path); any other is missing.
    pub files: HashMap<(String, String, String), String>,
    /// The error code every `GetFile` fails with, when set.
    pub file_failure: Option<&'static str>,
    /// Every call, as `Operation commit`.
    pub calls: std::sync::Mutex<Vec<String>>,
    /// Comments posted, as (id, author, content); every one by [`OWN_SESSION`].
    pub comments: std::sync::Mutex<Vec<(String, String, String)>>,
}

/// The session [`FakeCodeCommit`] posts as: one of [`REPORTER_ROLE`]'s.
pub const OWN_SESSION: &str =
    "arn:aws:sts::123456789012:assumed-role/reporter/codecommit-build-trigger";
/// The role [`OWN_SESSION`] is a session of, as `REPORTER_ROLE_ARN` names it.
pub const REPORTER_ROLE: &str = "arn:aws:iam::123456789012:role/reporter";

impl FakeCodeCommit {
    fn missing(operation: &'static str) -> crate::aws::AwsError {
        crate::aws::AwsError {
            operation,
            code: "CommitDoesNotExistException".into(),
            message: "no such commit".into(),
        }
    }

    fn log(&self, call: String) {
        self.calls.lock().expect("lock").push(call);
    }
}

impl crate::aws::reads::CodeCommitReads for FakeCodeCommit {
    async fn commit_message(
        &self,
        _repository: &str,
        commit: &crate::event::CommitId,
    ) -> Result<String, crate::aws::AwsError> {
        self.log(format!("GetCommit {}", commit.as_str()));
        self.messages
            .get(commit.as_str())
            .cloned()
            .ok_or_else(|| Self::missing("GetCommit"))
    }

    async fn changed_paths(
        &self,
        _repository: &str,
        before: &str,
        after: &crate::event::CommitId,
    ) -> Result<Vec<String>, crate::aws::AwsError> {
        self.log(format!("GetDifferences {before}..{}", after.as_str()));
        self.diffs
            .get(&(before.to_owned(), after.as_str().to_owned()))
            .cloned()
            .ok_or_else(|| Self::missing("GetDifferences"))
    }

    async fn default_branch(
        &self,
        _repository: &str,
    ) -> Result<Option<String>, crate::aws::AwsError> {
        self.log("GetRepository".to_owned());
        Ok(self.default_branch.clone())
    }

    async fn branch_head(
        &self,
        _repository: &str,
        branch: &str,
    ) -> Result<Option<String>, crate::aws::AwsError> {
        self.log(format!("GetBranch {branch}"));
        self.branches
            .get(branch)
            .cloned()
            .ok_or_else(|| Self::missing("GetBranch"))
    }

    async fn file(
        &self,
        repository: &str,
        commit: &crate::event::CommitId,
        path: &str,
    ) -> Result<Option<crate::aws::reads::RepositoryFile>, crate::aws::AwsError> {
        self.log(format!("GetFile {repository} {} {path}", commit.as_str()));
        if let Some(code) = self.file_failure {
            return Err(crate::aws::AwsError {
                operation: "GetFile",
                code: code.into(),
                message: format!("GetFile failed: {code}"),
            });
        }
        let key = (
            repository.to_owned(),
            commit.as_str().to_owned(),
            path.to_owned(),
        );
        Ok(self
            .files
            .get(&key)
            .map(|content| crate::aws::reads::RepositoryFile {
                content: content.clone().into_bytes(),
                symlink: false,
            }))
    }

    async fn merge_base(
        &self,
        _repository: &str,
        commit: &crate::event::CommitId,
        _branch: &str,
    ) -> Result<String, crate::aws::AwsError> {
        self.log(format!("GetMergeOptions {}", commit.as_str()));
        self.merge_bases
            .get(commit.as_str())
            .cloned()
            .ok_or_else(|| Self::missing("GetMergeOptions"))
    }

    async fn current_pull_request(
        &self,
        _repository: &str,
        id: &str,
    ) -> Result<crate::aws::reads::CurrentPullRequest, crate::aws::AwsError> {
        self.log(format!("GetPullRequest {id}"));
        Ok(crate::aws::reads::CurrentPullRequest {
            status: self
                .pull_requests
                .get(id)
                .copied()
                .unwrap_or(crate::event::PullRequestStatus::Open),
            revision: self
                .revisions
                .get(id)
                .cloned()
                .unwrap_or_else(|| PR_REVISION.to_owned()),
            source: ("refs/heads/feature/retries".into(), PR_SOURCE.into()),
            destination: ("refs/heads/main".into(), PR_DESTINATION.into()),
            created_at: None,
        })
    }

    async fn first_parent(
        &self,
        _repository: &str,
        commit: &crate::event::CommitId,
    ) -> Result<Option<String>, crate::aws::AwsError> {
        self.log(format!("GetCommit {}", commit.as_str()));
        Ok(None)
    }
}

impl crate::aws::reads::CommentReads for FakeCodeCommit {
    async fn comments(
        &self,
        _thread: &crate::aws::reads::Thread<'_>,
        by: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<crate::aws::reads::Comment>, crate::aws::AwsError> {
        self.log("GetComments".to_owned());
        Ok(self
            .comments
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, author, _)| by(author))
            .map(|(id, author, content)| crate::aws::reads::Comment {
                id: id.clone(),
                author: Some(author.clone()),
                content: content.clone(),
            })
            .collect())
    }

    async fn comment(&self, id: &str) -> Result<crate::aws::reads::Comment, crate::aws::AwsError> {
        self.log(format!("GetComment {id}"));
        let comments = self.comments.lock().expect("lock");
        let (id, author, content) = comments
            .iter()
            .find(|(comment, _, _)| comment == id)
            .ok_or_else(|| Self::missing("GetComment"))?;
        Ok(crate::aws::reads::Comment {
            id: id.clone(),
            author: Some(author.clone()),
            content: content.clone(),
        })
    }
}

impl crate::aws::writes::ResultWrites for FakeCodeCommit {
    async fn post(
        &self,
        _thread: &crate::aws::reads::Thread<'_>,
        content: &str,
        _token: &str,
    ) -> Result<String, crate::aws::AwsError> {
        self.log("PostComment".to_owned());
        let mut comments = self.comments.lock().expect("lock");
        let id = format!("comment-{}", comments.len() + 1);
        comments.push((id.clone(), OWN_SESSION.to_owned(), content.to_owned()));
        Ok(id)
    }

    async fn update(&self, id: &str, content: &str) -> Result<(), crate::aws::AwsError> {
        self.log(format!("UpdateComment {id}"));
        let mut comments = self.comments.lock().expect("lock");
        let comment = comments
            .iter_mut()
            .find(|(comment, _, _)| comment == id)
            .ok_or_else(|| Self::missing("UpdateComment"))?;
        comment.2 = content.to_owned();
        Ok(())
    }

    async fn set_approval(
        &self,
        id: &str,
        revision: &str,
        approve: bool,
    ) -> Result<(), crate::aws::AwsError> {
        let state = if approve { "APPROVE" } else { "REVOKE" };
        self.log(format!(
            "UpdatePullRequestApprovalState {id} {revision} {state}"
        ));
        Ok(())
    }
}

/// A CloudWatch Logs whose every stream holds the same lines.
#[derive(Default)]
pub struct FakeLogs {
    /// The lines of every stream.
    pub lines: Vec<String>,
}

impl crate::aws::reads::LogReads for FakeLogs {
    async fn last_lines(
        &self,
        _stream: &crate::event::LogStream,
        lines: u16,
    ) -> Result<Vec<String>, crate::aws::AwsError> {
        let skip = self.lines.len().saturating_sub(usize::from(lines));
        Ok(self.lines[skip..].to_vec())
    }
}
