//! `codecommit-build-trigger explain EVENT.json`: each reference's decision
//! and reason under the current configuration, without starting anything.

use crate::decide::Decision;
use crate::handler::answer::Skipped;
use serde::Serialize;

/// One line of the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The repository's name.
    pub repository: String,
    /// The full reference name (absent for a pull-request event that names none).
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The commit, when the event names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The pull request, for a pull-request event.
    #[serde(rename = "pullRequest", skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// `build` or `skip`.
    pub decision: &'static str,
    /// The project a rule would start (or skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The rule, unless it is the one-rule shorthand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
}

/// Flattens decisions into one line per reference and rule.
pub fn explain(decisions: &[Decision<'_>]) -> Vec<Explained> {
    decisions
        .iter()
        .flat_map(Decision::lines)
        .map(|line| Explained {
            repository: line.decision.record.repository.name.clone(),
            reference: Some(line.decision.update.reference.to_string()),
            commit: line.decision.update.commit().map(ToString::to_string),
            pull_request: line.pull_request().map(str::to_owned),
            decision: line.verdict_word(),
            project: line.rule.map(|rule| rule.project.clone()),
            rule: line
                .rule
                .and_then(|rule| rule.reported_name())
                .map(str::to_owned),
            reason: line.reason.to_owned(),
        })
        .collect()
}

/// The one line of an event that never builds.
pub fn explain_ignored(skipped: Vec<Skipped>) -> Vec<Explained> {
    skipped
        .into_iter()
        .map(|skipped| Explained {
            repository: skipped.repository,
            reference: skipped.reference,
            commit: skipped.commit,
            pull_request: skipped.pull_request,
            decision: "skip",
            project: None,
            rule: None,
            reason: skipped.reason,
        })
        .collect()
}
