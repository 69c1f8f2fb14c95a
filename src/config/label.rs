//! How reasons and errors name a rule's pattern lists: the variable for the
//! shorthand (`BRANCHES`), the field and rule otherwise (`branches of rule api`).

use super::{Rule, RuleOrigin, BRANCHES, PATHS, PATHS_IGNORE, PULL_REQUESTS, TAGS};
use std::fmt;

/// The pattern lists of a rule, to name them in reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternField {
    /// `repositories`
    Repositories,
    /// `BRANCHES` / `branches`
    Branches,
    /// `TAGS` / `tags`
    Tags,
    /// `PULL_REQUESTS` / `pullRequests`
    PullRequests,
    /// `PATHS` / `paths`
    Paths,
    /// `PATHS_IGNORE` / `pathsIgnore`
    PathsIgnore,
}

/// A rule's pattern list as reasons name it ([`Rule::label`]); written
/// straight into the reason, without a string of its own.
#[derive(Debug, Clone, Copy)]
pub struct Label<'a> {
    pub(super) rule: &'a Rule,
    pub(super) field: PatternField,
}

impl<'a> Label<'a> {
    /// The label as up to three pieces to write one after the other, so a
    /// reason can be sized and written without the formatting machinery.
    pub fn pieces(self) -> [&'a str; 3] {
        match self.rule.origin {
            RuleOrigin::Shorthand => [
                match self.field {
                    PatternField::Repositories => "the repository",
                    PatternField::Branches => BRANCHES,
                    PatternField::Tags => TAGS,
                    PatternField::PullRequests => PULL_REQUESTS,
                    PatternField::Paths => PATHS,
                    PatternField::PathsIgnore => PATHS_IGNORE,
                },
                "",
                "",
            ],
            RuleOrigin::Rules | RuleOrigin::File => {
                [self.field.rule_field(), " of rule ", &self.rule.name]
            }
        }
    }
}

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.pieces()
            .into_iter()
            .try_for_each(|piece| f.write_str(piece))
    }
}
