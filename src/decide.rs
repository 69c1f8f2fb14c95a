//! The pure decision: which pushed references build, and why (or why not).

use crate::config::{Config, BRANCHES, TAGS};
use crate::event::{CommitId, GitRef, Push, PushRecord, RefChange, RefKind, RefUpdate};
use crate::pattern::Verdict;
use std::collections::HashMap;
use std::fmt;

/// The decision for one reference of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// The record the reference came in.
    pub record: &'a PushRecord,
    /// The reference.
    pub update: &'a RefUpdate,
    /// Build it or not, with the reason.
    pub outcome: Outcome<'a>,
}

/// Whether a reference builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Start a build of `commit`.
    Build {
        /// The commit to build.
        commit: &'a CommitId,
        /// Why: the pattern that matched and the variable holding it.
        reason: BuildReason<'a>,
    },
    /// Do not build.
    Skip(SkipReason),
}

/// The pattern that made a reference build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReason<'a> {
    kind: RefKind,
    name: &'a str,
    variable: &'static str,
    pattern: &'a str,
}

impl fmt::Display for BuildReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} matches `{}` in {}",
            kind_word(self.kind),
            self.name,
            self.pattern,
            self.variable
        )
    }
}

/// Why a reference does not build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The push deleted the reference.
    Deleted {
        /// Branch, tag or other.
        kind: RefKind,
        /// Short name of the reference.
        name: String,
    },
    /// No pattern of the variable matches the name.
    NoMatch {
        /// Branch or tag.
        kind: RefKind,
        /// Short name of the reference.
        name: String,
        /// `BRANCHES` or `TAGS`.
        variable: &'static str,
    },
    /// The last matching pattern is an exclusion.
    Excluded {
        /// Branch or tag.
        kind: RefKind,
        /// Short name of the reference.
        name: String,
        /// `BRANCHES` or `TAGS`.
        variable: &'static str,
        /// The excluding pattern, `!` included.
        pattern: String,
    },
    /// A tag, and `TAGS` is empty.
    TagsDisabled {
        /// The tag's name.
        name: String,
    },
    /// Neither a branch nor a tag.
    OtherNamespace {
        /// The full reference name.
        reference: String,
    },
    /// The same reference and commit came earlier in this event.
    Duplicate {
        /// Where it came first: `Records[0].codecommit.references[1]`.
        first: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deleted { kind, name } => write!(f, "{} {name} was deleted", kind_word(*kind)),
            Self::NoMatch {
                kind,
                name,
                variable,
            } => write!(f, "{} {name} does not match {variable}", kind_word(*kind)),
            Self::Excluded {
                kind,
                name,
                variable,
                pattern,
            } => write!(
                f,
                "{} {name} is excluded by `{pattern}` in {variable}",
                kind_word(*kind)
            ),
            Self::TagsDisabled { name } => write!(f, "tag {name} is not built: {TAGS} is empty"),
            Self::OtherNamespace { reference } => {
                write!(
                    f,
                    "{reference} is neither a branch (refs/heads/) nor a tag (refs/tags/)"
                )
            }
            Self::Duplicate { first } => {
                write!(f, "same reference and commit as {first} of this event")
            }
        }
    }
}

fn kind_word(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Branch => "branch",
        RefKind::Tag => "tag",
        RefKind::Other => "reference",
    }
}

/// Decides every reference of `push`, in event order.
pub fn decide<'a>(config: &'a Config, push: &'a Push) -> Vec<Decision<'a>> {
    let mut first_seen: HashMap<(&str, &GitRef, Option<&CommitId>), (usize, usize)> =
        HashMap::new();
    let mut decisions = Vec::new();
    for (record_index, record) in push.records.iter().enumerate() {
        for (reference_index, update) in record.references.iter().enumerate() {
            let key = (
                record.repository.arn.as_str(),
                &update.reference,
                update.commit(),
            );
            let outcome = match first_seen.get(&key) {
                Some((r, i)) => Outcome::Skip(SkipReason::Duplicate {
                    first: format!("Records[{r}].codecommit.references[{i}]"),
                }),
                None => {
                    first_seen.insert(key, (record_index, reference_index));
                    decide_reference(config, update)
                }
            };
            decisions.push(Decision {
                record,
                update,
                outcome,
            });
        }
    }
    decisions
}

fn decide_reference<'a>(config: &'a Config, update: &'a RefUpdate) -> Outcome<'a> {
    let reference = &update.reference;
    let kind = reference.kind();
    let name = reference.short_name();
    let commit = match &update.change {
        RefChange::Deleted { .. } => {
            return Outcome::Skip(SkipReason::Deleted {
                kind,
                name: name.to_owned(),
            })
        }
        RefChange::Pushed { commit, .. } => commit,
    };
    let (patterns, variable) = match kind {
        RefKind::Branch => (&config.branches, BRANCHES),
        RefKind::Tag => match &config.tags {
            Some(tags) => (tags, TAGS),
            None => {
                return Outcome::Skip(SkipReason::TagsDisabled {
                    name: name.to_owned(),
                })
            }
        },
        RefKind::Other => {
            return Outcome::Skip(SkipReason::OtherNamespace {
                reference: reference.as_str().to_owned(),
            })
        }
    };
    match patterns.verdict(name) {
        Verdict::Included(pattern) => Outcome::Build {
            commit,
            reason: BuildReason {
                kind,
                name,
                variable,
                pattern: pattern.as_str(),
            },
        },
        Verdict::Excluded(pattern) => Outcome::Skip(SkipReason::Excluded {
            kind,
            name: name.to_owned(),
            variable,
            pattern: pattern.as_str().to_owned(),
        }),
        Verdict::Unmatched => Outcome::Skip(SkipReason::NoMatch {
            kind,
            name: name.to_owned(),
            variable,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CODEBUILD_PROJECT;
    use crate::event;
    use serde_json::json;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn config(branches: Option<&str>, tags: Option<&str>) -> Config {
        Config::from_lookup(|name| {
            Ok(match name {
                CODEBUILD_PROJECT => Some("my-project".into()),
                BRANCHES => branches.map(str::to_owned),
                TAGS => tags.map(str::to_owned),
                _ => None,
            })
        })
        .expect("valid configuration")
    }

    fn push(references: serde_json::Value) -> Push {
        let event = json!({"Records": [{
            "eventSource": "aws:codecommit",
            "eventName": "ReferenceChanges",
            "eventSourceARN": "arn:aws:codecommit:us-east-1:123456789012:my-app",
            "codecommit": {"references": references}
        }]});
        event::parse(&event.to_string()).expect("valid event")
    }

    /// One line per reference: `build <reason>` or `skip <reason>`.
    fn outcomes(config: &Config, push: &Push) -> Vec<String> {
        decide(config, push)
            .iter()
            .map(|decision| match &decision.outcome {
                Outcome::Build { commit, reason } => {
                    format!("build {} {reason}", &commit.as_str()[..4])
                }
                Outcome::Skip(reason) => format!("skip {reason}"),
            })
            .collect()
    }

    #[test]
    fn default_configuration_builds_master_only() {
        let push = push(json!([
            {"ref": "refs/heads/master", "commit": A},
            {"ref": "refs/heads/feature/x", "commit": B},
            {"ref": "refs/tags/v1.0", "commit": A},
        ]));
        assert_eq!(
            outcomes(&config(None, None), &push),
            [
                "build 1111 branch master matches `master` in BRANCHES",
                "skip branch feature/x does not match BRANCHES",
                "skip tag v1.0 is not built: TAGS is empty",
            ]
        );
    }

    #[test]
    fn deletions_never_build_even_when_they_match() {
        let push = push(json!([
            {"ref": "refs/heads/master", "deleted": true},
            {"ref": "refs/tags/v1", "commit": A, "deleted": true},
        ]));
        assert_eq!(
            outcomes(&config(Some("**"), Some("**")), &push),
            ["skip branch master was deleted", "skip tag v1 was deleted"]
        );
    }

    #[test]
    fn tags_build_when_they_match_tags() {
        let push = push(json!([
            {"ref": "refs/tags/v1.2.3", "commit": A, "created": true},
            {"ref": "refs/tags/nightly", "commit": B},
            {"ref": "refs/tags/v2-rc", "commit": B},
        ]));
        assert_eq!(
            outcomes(&config(None, Some("v*,!v*-rc")), &push),
            [
                "build 1111 tag v1.2.3 matches `v*` in TAGS",
                "skip tag nightly does not match TAGS",
                "skip tag v2-rc is excluded by `!v*-rc` in TAGS",
            ]
        );
    }

    #[test]
    fn branch_patterns_do_not_apply_to_tags_nor_tag_patterns_to_branches() {
        let push = push(json!([
            {"ref": "refs/heads/v1", "commit": A},
            {"ref": "refs/tags/master", "commit": B},
        ]));
        assert_eq!(
            outcomes(&config(Some("master"), Some("v*")), &push),
            [
                "skip branch v1 does not match BRANCHES",
                "skip tag master does not match TAGS"
            ]
        );
    }

    #[test]
    fn other_namespaces_are_skipped() {
        let push = push(json!([{"ref": "refs/notes/commits", "commit": A}]));
        assert_eq!(
            outcomes(&config(Some("**"), Some("**")), &push),
            ["skip refs/notes/commits is neither a branch (refs/heads/) nor a tag (refs/tags/)"]
        );
    }

    #[test]
    fn negation_and_order_follow_github_actions() {
        let push = push(json!([
            {"ref": "refs/heads/release/1", "commit": A},
            {"ref": "refs/heads/release/old-1", "commit": A},
            {"ref": "refs/heads/release/1/hotfix", "commit": A},
        ]));
        assert_eq!(
            outcomes(&config(Some("release/*,!release/old-*"), None), &push),
            [
                "build 1111 branch release/1 matches `release/*` in BRANCHES",
                "skip branch release/old-1 is excluded by `!release/old-*` in BRANCHES",
                "skip branch release/1/hotfix does not match BRANCHES",
            ]
        );
    }

    #[test]
    fn a_repeated_reference_is_decided_once() {
        let push = push(json!([
            {"ref": "refs/heads/master", "commit": A},
            {"ref": "refs/heads/master", "commit": A},
            {"ref": "refs/heads/master", "commit": B},
        ]));
        assert_eq!(
            outcomes(&config(None, None), &push),
            [
                "build 1111 branch master matches `master` in BRANCHES",
                "skip same reference and commit as Records[0].codecommit.references[0] of this event",
                "build 2222 branch master matches `master` in BRANCHES",
            ]
        );
    }

    #[test]
    fn every_reference_gets_exactly_one_decision() {
        let references: Vec<_> = (0..4000)
            .map(|i| json!({"ref": format!("refs/heads/b{i}"), "commit": A}))
            .collect();
        let push = push(json!(references));
        let config = config(Some("b1*"), None);
        let decisions = decide(&config, &push);
        assert_eq!(decisions.len(), 4000);
        let builds = decisions
            .iter()
            .filter(|d| matches!(d.outcome, Outcome::Build { .. }))
            .count();
        assert_eq!(
            builds,
            1 + 10 + 100 + 1000,
            "b1, b10-b19, b100-b199, b1000-b1999"
        );
    }
}
