//! The JSON summary the function answers with.

use crate::decide::{Line, SkipKind};

use serde::Serialize;

/// The most bytes of an answer's entries: the answer stays under 64 KiB, so that a
/// failed-events record always keeps its event beside it.
pub const MAX_ANSWER_BYTES: usize = 60 * 1024;

/// What the function did with an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// References a build was started for, in event order.
    pub started: Vec<Started>,
    /// References that were not built, with the reason, in event order.
    pub skipped: Vec<Skipped>,
    /// What a build-state event did to the build's status comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported: Option<Reported>,
    /// Started entries left out to keep the answer under 64 KiB (the log has every one).
    #[serde(skip_serializing_if = "is_zero")]
    pub started_not_listed: usize,
    /// Skipped entries left out likewise.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_not_listed: usize,
    /// The kinds of the skipped entries left out, which the metrics still count.
    #[serde(skip)]
    pub unlisted_skip_kinds: Vec<SkipKind>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Response {
    /// This answer with its first entries only, as many as fit in [`MAX_ANSWER_BYTES`] of
    /// JSON (started ones first), and the count of the rest.
    pub fn bounded(mut self) -> Self {
        let mut budget = MAX_ANSWER_BYTES;
        let started = fitting(&self.started, &mut budget);
        let skipped = fitting(&self.skipped, &mut budget);
        self.started_not_listed += self.started.len() - started;
        self.skipped_not_listed += self.skipped.len() - skipped;
        let unlisted = self.skipped[skipped..].iter().map(|entry| entry.kind);
        self.unlisted_skip_kinds.extend(unlisted);
        self.started.truncate(started);
        self.skipped.truncate(skipped);
        self
    }
}

/// How many of the first `entries` fit in `budget` bytes of JSON; their size is taken from it.
fn fitting<T: Serialize>(entries: &[T], budget: &mut usize) -> usize {
    entries
        .iter()
        .take_while(|entry| {
            let size = serde_json::to_vec(entry).map_or(usize::MAX, |json| json.len() + 1);
            match budget.checked_sub(size) {
                Some(left) => {
                    *budget = left;
                    true
                }
                None => {
                    *budget = 0;
                    false
                }
            }
        })
        .count()
}

/// What a build-state event did to the build's status comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reported {
    /// The build (`PROJECT:UUID`).
    pub build_id: String,
    /// Its project.
    pub project: String,
    /// Its status: CodeBuild's once the build was read back, the event's otherwise.
    pub status: String,
    /// The repository, for a build this function started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The pull request, for a pull-request build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// The commit built, for a build this function started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The status comment's id, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `posted`, `updated`, `kept` or `ignored`.
    pub action: ReportAction,
    /// Why the comment was kept as it is, or the event ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What became of the revision's approval (with `APPROVE_PULL_REQUESTS`), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// The batch build the build is one of, whose comment it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// That batch's status, as CodeBuild reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_status: Option<String>,
}

/// What was done with a build's status comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReportAction {
    /// A new comment.
    Posted,
    /// The comment updated in place.
    Updated,
    /// The comment left as it is.
    Kept,
    /// Nothing to report: not this function's build, or not one it reports.
    Ignored,
}

impl ReportAction {
    /// The word the answer and the log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Updated => "updated",
            Self::Kept => "kept",
            Self::Ignored => "ignored",
        }
    }
}

/// A reference whose build was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The project started.
    pub project: String,
    /// The routing rule that started it (absent for the one-rule shorthand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The build's id; absent when an earlier delivery started it, or for a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// The batch build's id, for a rule with `batch`; absent when an earlier delivery
    /// started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// The batch's failed builds were started again (`REBUILD_COMMAND failed`), rather than
    /// a new batch.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
    /// The repository's name.
    pub repository: String,
    /// The full reference name.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The commit built.
    pub commit: String,
    /// The pull request built, for a pull request's source commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// CodeBuild answered the idempotency token with a parameter mismatch:
    /// an earlier delivery of this event started the build.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_started: bool,
    /// Older in-progress builds of the same project and ref (or pull request) that this build
    /// superseded (stopped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
    /// Milliseconds from the event (its push or change) to CodeBuild's answer to this
    /// StartBuild, when the event says when it happened; for the metrics, not the answer.
    #[serde(skip)]
    pub event_to_start_ms: Option<i64>,
}

/// A reference that was not built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The repository's name.
    pub repository: String,
    /// The full reference name (absent for a pull-request event that names none).
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The commit the event names, if any (a deletion may name none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The pull request, for a pull-request event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// The project a matching rule did not start (absent when no rule matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// That rule (absent when no rule matched, and for the one-rule shorthand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why it was not built.
    pub reason: String,
    /// In-progress builds of a closed or merged pull request that were stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
    /// What kind of reason: the metrics count skips by it (the answer shows the reason).
    #[serde(skip)]
    pub kind: SkipKind,
}

impl Skipped {
    /// The skipped line of a decision.
    pub fn of(line: &Line<'_>) -> Self {
        let decision = line.decision;
        Self {
            repository: decision.record.repository.name.clone(),
            reference: Some(decision.update.reference.to_string()),
            commit: decision.update.commit().map(ToString::to_string),
            pull_request: line.pull_request().map(str::to_owned),
            project: line.rule.map(|rule| rule.project.clone()),
            rule: line
                .rule
                .and_then(|rule| rule.reported_name())
                .map(str::to_owned),
            reason: line.reason.to_owned(),
            superseded: Vec::new(),
            // Every line that does not build names its kind.
            kind: line.skip.unwrap_or(SkipKind::Reference),
        }
    }

    /// A pull-request event's skip in `repository` that names no reference: an event that
    /// never builds, or a comment that asks for nothing.
    pub fn of_pull_request(repository: &str, pull_request: &str, reason: String) -> Self {
        Self {
            repository: repository.to_owned(),
            reference: None,
            commit: None,
            pull_request: Some(pull_request.to_owned()),
            project: None,
            rule: None,
            reason,
            superseded: Vec::new(),
            kind: SkipKind::PullRequest,
        }
    }
}
