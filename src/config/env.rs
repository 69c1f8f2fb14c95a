//! Reading the configuration from the environment: the shorthand variables
//! or the routing rules, the switches, and the project's name.

use super::{
    project_name, rules, AllowedProjects, Config, ConfigError, Reporting, RepositoryFiles, RoleArn,
    Rule, RuleOrigin, ALLOWED_PROJECTS, ALLOWED_REPOSITORIES, APPROVE_PULL_REQUESTS, BRANCHES,
    CODEBUILD_PROJECT, COMMENT_LOG_LINES, COMMIT_COMMENTS, DEFAULT_BRANCHES,
    DEFAULT_COMMENT_LOG_LINES, DEFAULT_MAX_BUILDS, DEFAULT_REBUILD_COMMAND, IGNORE_PUSHERS,
    MAX_BUILDS, MAX_COMMENT_LOG_LINES, PATHS, PATHS_IGNORE, PULL_REQUESTS, REBUILD_COMMAND,
    REPORTER_ROLE_ARN, REPOSITORY_CONFIG, RULES, RULES_FILE, SHORTHAND, SKIP_MARKERS,
    STARTER_ROLE_ARN, SUPERSEDE, TAGS,
};
use crate::config::pattern::PatternList;
use crate::vocabulary::arn::Arn;
use crate::vocabulary::truncate;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_variable)
    }

    /// Reads the configuration through `lookup`, which answers `Ok(None)`
    /// for an unset variable and `Err(())` for a value that is not Unicode.
    /// A `RULES_FILE` is read from the file system.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Result<Option<String>, ()>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &'static str| lookup(name).map_err(|()| ConfigError::NotUnicode(name));
        let patterns = |variable: &'static str| -> Result<Option<PatternList>, ConfigError> {
            match var(variable)? {
                Some(list) if !list.trim().is_empty() => PatternList::parse(&list)
                    .map(Some)
                    .map_err(|source| ConfigError::InvalidPatterns { variable, source }),
                _ => Ok(None),
            }
        };

        let rules = match (var(RULES)?, var(RULES_FILE)?) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict {
                    first: RULES,
                    second: RULES_FILE,
                    hint: "give the rules in one of them",
                })
            }
            (Some(json), None) => Some(rules::parse(RULES, &json)?),
            (None, Some(path)) => {
                let json = std::fs::read_to_string(&path).map_err(|error| {
                    ConfigError::UnreadableRules {
                        path: path.clone(),
                        problem: error.to_string(),
                    }
                })?;
                Some(rules::parse(&format!("{RULES_FILE} {path}"), &json)?)
            }
            (None, None) => None,
        };
        let rules = match rules {
            Some(rules) => {
                let variables = if var(RULES)?.is_some() {
                    RULES
                } else {
                    RULES_FILE
                };
                for shorthand in SHORTHAND {
                    if var(shorthand)?.is_some() {
                        return Err(ConfigError::Conflict {
                            first: shorthand,
                            second: variables,
                            hint: "give the project and patterns in each rule instead",
                        });
                    }
                }
                rules
            }
            None => {
                let files_alone = var(REPOSITORY_CONFIG)?.is_some_and(|v| !v.trim().is_empty())
                    && SHORTHAND
                        .iter()
                        .map(|shorthand| var(shorthand))
                        .collect::<Result<Vec<_>, _>>()?
                        .iter()
                        .all(Option::is_none);
                if files_alone {
                    Vec::new()
                } else {
                    vec![shorthand_rule(&var, &patterns)?]
                }
            }
        };
        let repository_files = repository_files(&var, &patterns, &rules)?;
        Ok(Self {
            rules,
            repository_files,
            skip_markers: switch(SKIP_MARKERS, var(SKIP_MARKERS)?, true)?,
            ignored_pushers: patterns(IGNORE_PUSHERS)?,
            allowed_repositories: patterns(ALLOWED_REPOSITORIES)?,
            reporting: reporting(&var)?,
            max_builds: count(MAX_BUILDS, var(MAX_BUILDS)?, DEFAULT_MAX_BUILDS, 1000)?,
        })
    }
}

/// Variable `name` of the process environment, as [`Config::from_lookup`] asks for it:
/// `Ok(None)` when unset, `Err(())` when not Unicode.
pub(crate) fn process_variable(name: &str) -> Result<Option<String>, ()> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(()),
    }
}

/// `REPOSITORY_CONFIG` and `ALLOWED_PROJECTS`.
fn repository_files(
    var: &impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    patterns: &impl Fn(&'static str) -> Result<Option<PatternList>, ConfigError>,
    rules: &[Rule],
) -> Result<Option<RepositoryFiles>, ConfigError> {
    let allowed = patterns(ALLOWED_PROJECTS)?;
    let path = match var(REPOSITORY_CONFIG)? {
        Some(path) if !path.trim().is_empty() => path.trim().to_owned(),
        _ if allowed.is_some() => return Err(ConfigError::AllowedProjectsWithoutFiles),
        _ => return Ok(None),
    };
    if !is_file_path(&path) {
        return Err(ConfigError::InvalidRepositoryConfig {
            value: truncate(&path, 300),
        });
    }
    let allowed_projects = match allowed {
        Some(patterns) => AllowedProjects::Matching(Box::new(patterns)),
        None if rules.is_empty() => return Err(ConfigError::NoProjectAllowed),
        None => {
            let mut names: Vec<String> = rules
                .iter()
                .map(|rule| project_name(&rule.project).to_owned())
                .collect();
            names.sort();
            names.dedup();
            AllowedProjects::OwnRules(names)
        }
    };
    Ok(Some(RepositoryFiles {
        path,
        allowed_projects,
    }))
}

/// A file's path in a repository: relative, `/`-separated, with no empty, `.` or `..` part.
fn is_file_path(path: &str) -> bool {
    (1..=1024).contains(&path.len())
        && !path.chars().any(char::is_control)
        && path.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// The reporting variables.
fn reporting(
    var: &impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<Reporting, ConfigError> {
    let log_lines = count(
        COMMENT_LOG_LINES,
        var(COMMENT_LOG_LINES)?,
        DEFAULT_COMMENT_LOG_LINES,
        MAX_COMMENT_LOG_LINES,
    )?;
    let rebuild_command = match var(REBUILD_COMMAND)? {
        None => Some(DEFAULT_REBUILD_COMMAND.to_owned()),
        Some(command) if command.trim().is_empty() => None,
        Some(command) => {
            let command = command.trim();
            if command.chars().count() > 100 || command.chars().any(char::is_control) {
                return Err(ConfigError::InvalidCommand {
                    value: truncate(command, 100),
                });
            }
            Some(command.to_owned())
        }
    };
    let role = |variable: &'static str| -> Result<Option<RoleArn>, ConfigError> {
        match var(variable)?.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(arn) => RoleArn::parse(arn)
                .map(Some)
                .ok_or_else(|| ConfigError::InvalidRole {
                    variable,
                    value: truncate(arn, 300),
                }),
        }
    };
    Ok(Reporting {
        log_lines,
        approve_pull_requests: switch(APPROVE_PULL_REQUESTS, var(APPROVE_PULL_REQUESTS)?, false)?,
        commit_comments: switch(COMMIT_COMMENTS, var(COMMIT_COMMENTS)?, false)?,
        rebuild_command,
        reporter_role: role(REPORTER_ROLE_ARN)?,
        starter_role: role(STARTER_ROLE_ARN)?,
    })
}

/// A whole number from 0 to `max` in `variable`; `default` when unset or blank.
fn count(
    variable: &'static str,
    value: Option<String>,
    default: u16,
    max: u16,
) -> Result<u16, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(value) => value
            .parse()
            .ok()
            .filter(|count| *count <= max)
            .ok_or_else(|| ConfigError::InvalidCount {
                variable,
                value: truncate(value, 100),
                max,
            }),
    }
}

/// The rule the shorthand variables describe.
fn shorthand_rule(
    var: &impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    patterns: &impl Fn(&'static str) -> Result<Option<PatternList>, ConfigError>,
) -> Result<Rule, ConfigError> {
    let project = var(CODEBUILD_PROJECT)?
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .ok_or(ConfigError::Missing(CODEBUILD_PROJECT))?;
    if !is_project(&project) {
        return Err(ConfigError::InvalidProject {
            value: truncate(&project, 300),
        });
    }
    let branches = match var(BRANCHES)? {
        Some(list) => PatternList::parse(&list),
        None => PatternList::parse(DEFAULT_BRANCHES),
    }
    .map_err(|source| ConfigError::InvalidPatterns {
        variable: BRANCHES,
        source,
    })?;
    Ok(Rule {
        name: "default".to_owned(),
        project,
        repositories: None,
        branches: Some(branches),
        tags: patterns(TAGS)?,
        pull_requests: patterns(PULL_REQUESTS)?,
        paths: patterns(PATHS)?,
        paths_ignore: patterns(PATHS_IGNORE)?,
        environment: Vec::new(),
        supersede: switch(SUPERSEDE, var(SUPERSEDE)?, false)?,
        batch: false,
        overrides: Default::default(),
        origin: RuleOrigin::Shorthand,
    })
}

/// `true` or `false` (any case); unset or empty is `default`.
fn switch(
    variable: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ConfigError::InvalidSwitch {
            variable,
            value: truncate(v, 100),
        }),
    }
}

/// A CodeBuild project name or project ARN.
pub(crate) fn is_project(project: &str) -> bool {
    is_project_name(project) || is_project_arn(project)
}

/// CodeBuild project names: `[A-Za-z0-9][A-Za-z0-9_-]{1,254}`.
pub(crate) fn is_project_name(name: &str) -> bool {
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
