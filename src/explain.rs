//! `codecommit-build-trigger explain EVENT.json`: each reference's decision
//! and reason under the current configuration, without starting anything.

use crate::decide::{Decision, Outcome, RuleVerdict};
use serde::Serialize;

/// One line of the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The repository's name.
    pub repository: String,
    /// The full reference name.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The commit, when the event names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
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
    let mut lines = Vec::new();
    for decision in decisions {
        let line = |decision_word, rule: Option<&crate::config::Rule>, reason: &str| Explained {
            repository: decision.record.repository.name.clone(),
            reference: decision.update.reference.to_string(),
            commit: decision.update.commit().map(ToString::to_string),
            decision: decision_word,
            project: rule.map(|rule| rule.project.clone()),
            rule: rule
                .and_then(|rule| rule.reported_name())
                .map(str::to_owned),
            reason: reason.to_owned(),
        };
        match &decision.outcome {
            Outcome::Skip(reason) => lines.push(line("skip", None, reason)),
            Outcome::Rules(outcomes) => {
                for outcome in outcomes {
                    lines.push(match &outcome.verdict {
                        RuleVerdict::Build { reason, .. } => {
                            line("build", Some(outcome.rule), reason)
                        }
                        RuleVerdict::Skip(reason) => line("skip", Some(outcome.rule), reason),
                    });
                }
            }
        }
    }
    lines
}
