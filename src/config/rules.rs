//! Routing rules: several (repositories, refs, paths) -> project rules in one
//! JSON document, from `RULES` or the file named by `RULES_FILE`.
//!
//! ```json
//! [{"name": "api", "project": "api-build", "branches": ["main"], "paths": ["services/api/**"],
//!   "environment": {"SERVICE": "api"}, "supersede": true}]
//! ```

use super::overrides::Overrides;
use super::{is_project, ConfigError, PatternField, Rule, RuleOrigin};
use crate::config::pattern::PatternList;
use crate::vocabulary::variables;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// One rule as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawRule {
    name: String,
    project: String,
    #[serde(default)]
    repositories: Option<Vec<String>>,
    #[serde(default)]
    branches: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    pull_requests: Option<Vec<String>>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    paths_ignore: Option<Vec<String>>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    supersede: bool,
    #[serde(default)]
    batch: bool,
    #[serde(default)]
    buildspec: Option<String>,
    #[serde(default)]
    compute_type: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    environment_type: Option<String>,
    #[serde(default)]
    timeout_in_minutes: Option<u32>,
    #[serde(default)]
    queued_timeout_in_minutes: Option<u32>,
    #[serde(default)]
    git_clone_depth: Option<u32>,
}

/// What is wrong with one rule of a list, and where.
#[derive(Debug)]
pub(super) struct RuleProblem {
    /// The rule's position in the list.
    pub index: usize,
    /// The field at fault, as written (`name`, `paths`, ...).
    pub field: &'static str,
    /// Where, after the list's own name: `[1].name`, or `[1] (web).paths` once the rule's
    /// name is known good.
    pub at: String,
    /// What is wrong there.
    pub problem: String,
}

/// Parses and validates the rules document; `variable` names where it came
/// from (`RULES`, or `RULES_FILE` with the file's path) for errors.
pub(super) fn parse(variable: &str, json: &str) -> Result<Vec<Rule>, ConfigError> {
    let invalid = |path: String, problem: String| ConfigError::InvalidRules {
        location: format!("{variable}{path}"),
        problem,
    };
    let deserializer = &mut serde_json::Deserializer::from_str(json);
    let raw: Vec<RawRule> = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = match error.path().to_string().as_str() {
            "." => String::new(),
            path if path.starts_with('[') => path.to_owned(),
            path => format!(".{path}"),
        };
        invalid(path, error.into_inner().to_string())
    })?;
    if raw.is_empty() {
        return Err(invalid(String::new(), "holds no rule".into()));
    }
    validate(raw, RuleOrigin::Rules).map_err(|problem| invalid(problem.at, problem.problem))
}

/// Checks each rule as written and makes it a [`Rule`]: names unique and well formed,
/// projects well formed, patterns valid, at least one of branches, tags and pull requests,
/// variable names CodeBuild accepts; a repository's own file may not name repositories.
pub(super) fn validate(raw: Vec<RawRule>, origin: RuleOrigin) -> Result<Vec<Rule>, RuleProblem> {
    let mut names = HashSet::new();
    raw.into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let problem = |field: &'static str, at: String, problem: String| RuleProblem {
                index,
                field,
                at,
                problem,
            };
            if !is_rule_name(&rule.name) {
                return Err(problem(
                    "name",
                    format!("[{index}].name"),
                    format!(
                        "{:?} is not 1 to 64 letters, digits, `.`, `_` or `-`",
                        rule.name
                    ),
                ));
            }
            if !names.insert(rule.name.clone()) {
                return Err(problem(
                    "name",
                    format!("[{index}].name"),
                    format!("{:?} names two rules", rule.name),
                ));
            }
            let name = rule.name.clone();
            let invalid = |field: &'static str, why: String| {
                problem(field, format!("[{index}] ({name}).{field}"), why)
            };
            if !is_project(&rule.project) {
                return Err(invalid(
                    "project",
                    format!("{:?} is not a CodeBuild project name or ARN", rule.project),
                ));
            }
            if origin == RuleOrigin::File && rule.repositories.is_some() {
                return Err(invalid(
                    "repositories",
                    "a repository's file speaks for its own repository: remove repositories".into(),
                ));
            }
            let list = |field: &'static str, patterns: Option<Vec<String>>| {
                patterns
                    .map(|patterns| {
                        PatternList::from_patterns(patterns.iter().map(String::as_str))
                            .map_err(|error| invalid(field, error.to_string()))
                    })
                    .transpose()
            };
            let branches = list("branches", rule.branches)?;
            let tags = list("tags", rule.tags)?;
            let pull_requests = list("pullRequests", rule.pull_requests)?;
            if branches.is_none() && tags.is_none() && pull_requests.is_none() {
                return Err(invalid(
                    "branches",
                    "is missing, and so are tags and pullRequests: the rule would never build"
                        .into(),
                ));
            }
            for name in rule.environment.keys() {
                check_variable_name(name).map_err(|why| invalid("environment", why))?;
            }
            let overrides = Overrides {
                buildspec: rule.buildspec,
                compute_type: rule.compute_type,
                image: rule.image,
                environment_type: rule.environment_type,
                timeout_in_minutes: rule.timeout_in_minutes,
                queued_timeout_in_minutes: rule.queued_timeout_in_minutes,
                git_clone_depth: rule.git_clone_depth,
            }
            .checked()
            .map_err(|(field, why)| invalid(field, why))?;
            Ok(Rule {
                name: rule.name,
                project: rule.project,
                repositories: list("repositories", rule.repositories)?,
                branches,
                tags,
                pull_requests,
                paths: list("paths", rule.paths)?,
                paths_ignore: list("pathsIgnore", rule.paths_ignore)?,
                environment: rule.environment.into_iter().collect(),
                supersede: rule.supersede,
                batch: rule.batch,
                overrides,
                origin,
            })
        })
        .collect()
}

/// Rule names: 1 to 64 letters, digits, `.`, `_` or `-`.
pub(crate) fn is_rule_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Build environment variable names: what CodeBuild accepts, minus the
/// names it reserves and the ones this function sets.
fn check_variable_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let well_formed = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 255;
    if !well_formed {
        return Err(format!(
            "{name:?} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"
        ));
    }
    if name.starts_with("CODEBUILD_") || name.starts_with(variables::PREFIX) {
        return Err(format!(
            "{name:?}: CODEBUILD_ names are reserved by CodeBuild and CODECOMMIT_ names are set by this function"
        ));
    }
    Ok(())
}

impl PatternField {
    /// The JSON field name of this pattern list in a rule.
    pub(super) fn rule_field(self) -> &'static str {
        match self {
            Self::Repositories => "repositories",
            Self::Branches => "branches",
            Self::Tags => "tags",
            Self::PullRequests => "pullRequests",
            Self::Paths => "paths",
            Self::PathsIgnore => "pathsIgnore",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        parse("RULES", json).expect_err("invalid rules").to_string()
    }

    #[test]
    fn rules_parse_with_their_fields() {
        let rules = parse(
            "RULES",
            r#"[{"name": "api", "project": "api-build", "branches": ["main", "release/*"],
                 "paths": ["services/api/**"], "pathsIgnore": ["**/*.md"],
                 "environment": {"SERVICE": "api"}, "supersede": true},
                {"name": "releases", "project": "release-build", "tags": ["v*"], "repositories": ["my-app"]}]"#,
        )
        .expect("valid rules");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "api");
        assert!(rules[0]
            .branches
            .as_ref()
            .is_some_and(|b| b.includes("release/1")));
        assert!(rules[0]
            .paths
            .as_ref()
            .is_some_and(|p| p.includes("services/api/src/main.rs")));
        assert_eq!(
            rules[0].environment,
            [("SERVICE".to_owned(), "api".to_owned())]
        );
        assert!(rules[0].supersede);
        assert!(rules[1].branches.is_none());
        assert!(rules[1]
            .repositories
            .as_ref()
            .is_some_and(|r| r.includes("my-app")));
    }

    #[test]
    fn errors_name_the_rule_and_the_field() {
        assert_eq!(
            error(
                r#"[{"name": "a", "project": "p1", "branches": ["main"]}, {"name": "b", "project": "p2", "branches": ["x"], "paths": ["["]}]"#
            ),
            "RULES[1] (b).paths: pattern 1 `[` has a `[` class that is never closed with `]`"
        );
        let unknown =
            error(r#"[{"name": "a", "project": "p1", "branches": ["main"], "path": ["x"]}]"#);
        assert!(
            unknown.starts_with("RULES[0].path: unknown field `path`"),
            "{unknown}"
        );
        assert!(error(r#"[{"name": "a", "branches": ["main"]}]"#)
            .starts_with("RULES[0]: missing field `project`"));
        assert!(
            error(r#"[{"name": "a", "project": "p1", "branches": "main"}]"#)
                .starts_with("RULES[0].branches: invalid type: string")
        );
        assert_eq!(
            error(r#"[{"name": "a", "project": "p1"}]"#),
            "RULES[0] (a).branches: is missing, and so are tags and pullRequests: the rule would never build"
        );
        assert_eq!(
            error(
                r#"[{"name": "a", "project": "p1", "tags": ["v*"]}, {"name": "a", "project": "p2", "tags": ["v*"]}]"#
            ),
            "RULES[1].name: \"a\" names two rules"
        );
        assert!(
            error(r#"[{"name": "a", "project": "no spaces", "tags": ["v*"]}]"#)
                .starts_with("RULES[0] (a).project")
        );
        assert!(error(r#"[{"name": "a", "project": "p1", "tags": ["v*"], "environment": {"CODEBUILD_X": "1"}}]"#)
            .contains("reserved"));
        assert!(error(
            r#"[{"name": "a", "project": "p1", "tags": ["v*"], "environment": {"1X": "1"}}]"#
        )
        .contains("not a variable name"));
        assert_eq!(error("[]"), "RULES: holds no rule");
        assert!(error("{").starts_with("RULES: invalid type: map, expected a sequence"));
        assert!(error("[").starts_with("RULES: EOF"));
    }
}
