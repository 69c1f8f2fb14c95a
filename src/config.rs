//! The function's configuration, read once from the environment at init.

use crate::arn::Arn;
use crate::pattern::{PatternError, PatternList};
use thiserror::Error;

/// Variable naming the CodeBuild project to start.
pub const CODEBUILD_PROJECT: &str = "CODEBUILD_PROJECT";
/// Variable holding the branch patterns.
pub const BRANCHES: &str = "BRANCHES";
/// Variable holding the tag patterns.
pub const TAGS: &str = "TAGS";
/// Branch patterns used when `BRANCHES` is not set.
pub const DEFAULT_BRANCHES: &str = "master";

/// A configuration problem, naming the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set: set it to the CodeBuild project to start (name or ARN)")]
    Missing(&'static str),
    /// A variable is set but its value is not valid Unicode.
    #[error("{0} is not valid UTF-8")]
    NotUnicode(&'static str),
    /// The project is neither a CodeBuild project name nor a project ARN.
    #[error("{CODEBUILD_PROJECT} `{value}` is not a CodeBuild project name (2 to 255 letters, digits, `-` or `_`, starting with a letter or digit) nor a project ARN (arn:PARTITION:codebuild:REGION:ACCOUNT:project/NAME)")]
    InvalidProject {
        /// The value as set (truncated when long).
        value: String,
    },
    /// A pattern list is malformed.
    #[error("{variable} {source}")]
    InvalidPatterns {
        /// The variable holding the list.
        variable: &'static str,
        /// What is wrong with the list.
        source: PatternError,
    },
}

/// Validated configuration of the function.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CodeBuild project to start, as configured (name or ARN).
    pub project: String,
    /// Which branches build.
    pub branches: PatternList,
    /// Which tags build; `None` when tags never build.
    pub tags: Option<PatternList>,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(()),
        })
    }

    /// Reads the configuration through `lookup`, which answers `Ok(None)`
    /// for an unset variable and `Err(())` for a value that is not Unicode.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Result<Option<String>, ()>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &'static str| lookup(name).map_err(|()| ConfigError::NotUnicode(name));

        let project = var(CODEBUILD_PROJECT)?
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .ok_or(ConfigError::Missing(CODEBUILD_PROJECT))?;
        if !is_project_name(&project) && !is_project_arn(&project) {
            return Err(ConfigError::InvalidProject {
                value: truncate(&project, 300),
            });
        }

        let patterns = |variable: &'static str, list: &str| {
            PatternList::parse(list)
                .map_err(|source| ConfigError::InvalidPatterns { variable, source })
        };
        let branches = match var(BRANCHES)? {
            Some(list) => patterns(BRANCHES, &list)?,
            None => patterns(BRANCHES, DEFAULT_BRANCHES)?,
        };
        let tags = match var(TAGS)? {
            Some(list) if !list.trim().is_empty() => Some(patterns(TAGS, &list)?),
            _ => None,
        };
        Ok(Self {
            project,
            branches,
            tags,
        })
    }
}

/// CodeBuild project names: `[A-Za-z0-9][A-Za-z0-9_-]{1,254}`.
fn is_project_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (2..=255).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// `arn:PARTITION:codebuild:REGION:ACCOUNT:project/NAME`.
fn is_project_arn(arn: &str) -> bool {
    Arn::parse(arn).is_some_and(|arn| {
        arn.service == "codebuild"
            && arn
                .resource
                .strip_prefix("project/")
                .is_some_and(is_project_name)
    })
}

/// Shortens `text` to at most `max` characters for an error message.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Verdict;
    use std::collections::HashMap;

    fn config(vars: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<_, _> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Config::from_lookup(|name| Ok(vars.get(name).cloned()))
    }

    #[test]
    fn defaults_build_master_and_no_tags() {
        let config = config(&[(CODEBUILD_PROJECT, "my-project")]).expect("valid");
        assert_eq!(config.project, "my-project");
        assert!(matches!(
            config.branches.verdict("master"),
            Verdict::Included(_)
        ));
        assert_eq!(config.branches.verdict("main"), Verdict::Unmatched);
        assert!(config.tags.is_none());
    }

    #[test]
    fn project_is_required_and_named() {
        for vars in [vec![], vec![(CODEBUILD_PROJECT, "  ")]] {
            let error = config(&vars).unwrap_err();
            assert_eq!(error, ConfigError::Missing(CODEBUILD_PROJECT));
            assert!(error
                .to_string()
                .starts_with("CODEBUILD_PROJECT is not set"));
        }
    }

    #[test]
    fn project_accepts_names_and_arns_only() {
        for good in [
            "ab",
            "My_Project-2",
            "arn:aws:codebuild:us-east-1:123456789012:project/my-project",
            "arn:aws-cn:codebuild:cn-north-1:123456789012:project/p1",
        ] {
            assert!(config(&[(CODEBUILD_PROJECT, good)]).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "-leading-dash",
            "has space",
            "semi;colon",
            "arn:aws:codebuild:us-east-1:123:project/p1",
            "arn:aws:s3:us-east-1:123456789012:project/p1",
            "arn:aws:codebuild:us-east-1:123456789012:build/p1",
        ] {
            let error = config(&[(CODEBUILD_PROJECT, bad)]).unwrap_err();
            assert!(
                matches!(error, ConfigError::InvalidProject { .. }),
                "{bad}: {error}"
            );
            assert!(
                error.to_string().starts_with("CODEBUILD_PROJECT `"),
                "{error}"
            );
        }
    }

    #[test]
    fn empty_branches_is_an_error_and_empty_tags_means_none() {
        let error = config(&[(CODEBUILD_PROJECT, "p1"), (BRANCHES, " ")]).unwrap_err();
        assert_eq!(error.to_string(), "BRANCHES holds no pattern");
        let config = config(&[(CODEBUILD_PROJECT, "p1"), (TAGS, "")]).expect("valid");
        assert!(config.tags.is_none());
    }

    #[test]
    fn malformed_patterns_name_the_variable() {
        let error = config(&[(CODEBUILD_PROJECT, "p1"), (TAGS, "v*,[")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TAGS pattern 2 `[` has a `[` class that is never closed with `]`"
        );
        let error = config(&[(CODEBUILD_PROJECT, "p1"), (BRANCHES, "main,,dev")]).unwrap_err();
        assert!(
            error.to_string().starts_with("BRANCHES pattern 2 is empty"),
            "{error}"
        );
    }

    #[test]
    fn non_unicode_values_name_the_variable() {
        let error = Config::from_lookup(|name| {
            if name == BRANCHES {
                Err(())
            } else {
                Ok(Some("p1".into()))
            }
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "BRANCHES is not valid UTF-8");
    }
}
