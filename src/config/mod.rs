//! The function's configuration, read once from the environment at init.
//!
//! Either the one-rule shorthand (`CODEBUILD_PROJECT`, `BRANCHES`, `TAGS`,
//! `PULL_REQUESTS`, `PATHS`, `PATHS_IGNORE`, `SUPERSEDE`) or routing rules (`RULES` or
//! `RULES_FILE`, see [`rules`]); `SKIP_MARKERS` and `IGNORE_PUSHERS` apply to
//! every rule; `ALLOWED_REPOSITORIES` guards the whole function.

mod env;
mod label;
pub mod overrides;
pub mod pattern;
pub mod repository_file;
mod rules;

pub(crate) use env::process_variable;
pub(crate) use env::{is_project, is_project_name};
pub use label::{Label, PatternField};
pub use repository_file::{AllowedProjects, FileError};
pub(crate) use rules::is_rule_name;

use crate::config::pattern::{PatternError, PatternList};
use thiserror::Error;

/// Variable naming the CodeBuild project to start (shorthand).
pub const CODEBUILD_PROJECT: &str = "CODEBUILD_PROJECT";
/// Variable holding the branch patterns (shorthand).
pub const BRANCHES: &str = "BRANCHES";
/// Variable holding the tag patterns (shorthand).
pub const TAGS: &str = "TAGS";
/// Variable holding the destination-branch patterns of pull requests that build (shorthand).
pub const PULL_REQUESTS: &str = "PULL_REQUESTS";
/// Variable holding the path patterns (shorthand).
pub const PATHS: &str = "PATHS";
/// Variable holding the ignored path patterns (shorthand).
pub const PATHS_IGNORE: &str = "PATHS_IGNORE";
/// Variable switching superseding on (shorthand).
pub const SUPERSEDE: &str = "SUPERSEDE";
/// Variable holding the routing rules as JSON.
pub const RULES: &str = "RULES";
/// Variable naming a file that holds the routing rules as JSON.
pub const RULES_FILE: &str = "RULES_FILE";
/// Variable switching skip markers off (`false`).
pub const SKIP_MARKERS: &str = "SKIP_MARKERS";
/// Variable holding the ARN patterns of pushers whose pushes never build.
pub const IGNORE_PUSHERS: &str = "IGNORE_PUSHERS";
/// Variable holding the ARN patterns of the repositories whose events are accepted.
pub const ALLOWED_REPOSITORIES: &str = "ALLOWED_REPOSITORIES";
/// Variable naming the file, in each repository, that holds the repository's own rules.
pub const REPOSITORY_CONFIG: &str = "REPOSITORY_CONFIG";
/// Variable holding the project-name patterns that a repository's file may name.
pub const ALLOWED_PROJECTS: &str = "ALLOWED_PROJECTS";
/// Variable holding how many of a failed build's last log lines its comment shows.
pub const COMMENT_LOG_LINES: &str = "COMMENT_LOG_LINES";
/// Variable switching approvals of pull-request revisions on.
pub const APPROVE_PULL_REQUESTS: &str = "APPROVE_PULL_REQUESTS";
/// Variable switching status comments on pushed commits on.
pub const COMMIT_COMMENTS: &str = "COMMIT_COMMENTS";
/// Variable holding the pull-request comment that starts a revision's builds again.
pub const REBUILD_COMMAND: &str = "REBUILD_COMMAND";
/// Variable naming the IAM role that writes the function's comments.
pub const REPORTER_ROLE_ARN: &str = "REPORTER_ROLE_ARN";
/// The IAM role the build starter runs as: only builds it started count for approvals.
pub const STARTER_ROLE_ARN: &str = "STARTER_ROLE_ARN";
/// The most builds one event may start.
pub const MAX_BUILDS: &str = "MAX_BUILDS";
/// [`MAX_BUILDS`] when it is not set.
pub const DEFAULT_MAX_BUILDS: u16 = 20;
/// Log lines shown when `COMMENT_LOG_LINES` is not set.
pub const DEFAULT_COMMENT_LOG_LINES: u16 = 20;
/// The most log lines a comment may show.
pub const MAX_COMMENT_LOG_LINES: u16 = 1000;
/// The rebuild command when `REBUILD_COMMAND` is not set.
pub const DEFAULT_REBUILD_COMMAND: &str = "/rebuild";
/// Branch patterns used when `BRANCHES` is not set.
pub const DEFAULT_BRANCHES: &str = "master";

/// The project's name, from a rule's project (a name or an ARN).
pub(crate) fn project_name(project: &str) -> &str {
    project
        .rsplit_once(":project/")
        .map_or(project, |(_, name)| name)
}

/// Variables of the shorthand, which `RULES` replaces.
const SHORTHAND: [&str; 7] = [
    CODEBUILD_PROJECT,
    BRANCHES,
    TAGS,
    PULL_REQUESTS,
    PATHS,
    PATHS_IGNORE,
    SUPERSEDE,
];

/// A configuration problem, naming the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error(
        "{0} is not set: set it to the CodeBuild project to start (name or ARN), or give RULES"
    )]
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
    /// A switch is neither `true` nor `false`.
    #[error("{variable} `{value}` is neither true nor false")]
    InvalidSwitch {
        /// The variable.
        variable: &'static str,
        /// The value as set (truncated when long).
        value: String,
    },
    /// Two variables that exclude each other are both set.
    #[error("{first} and {second} are both set: {hint}")]
    Conflict {
        /// One variable.
        first: &'static str,
        /// The other.
        second: &'static str,
        /// What to do.
        hint: &'static str,
    },
    /// A count is not a whole number in range.
    #[error("{variable} `{value}` is not a whole number from 0 to {max}")]
    InvalidCount {
        /// The variable.
        variable: &'static str,
        /// The value as set (truncated when long).
        value: String,
        /// The largest value accepted.
        max: u16,
    },
    /// The rebuild command is not one line of at most 100 characters.
    #[error("{REBUILD_COMMAND} `{value}` is not one line of at most 100 characters")]
    InvalidCommand {
        /// The value as set (truncated when long).
        value: String,
    },
    /// A role variable is not an IAM role ARN.
    #[error("{variable} `{value}` is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)")]
    InvalidRole {
        /// The variable (`REPORTER_ROLE_ARN`, `STARTER_ROLE_ARN`).
        variable: &'static str,
        /// The value as set (truncated when long).
        value: String,
    },
    /// The rules file cannot be read.
    #[error("{RULES_FILE} `{path}` cannot be read: {problem}")]
    UnreadableRules {
        /// The file's path.
        path: String,
        /// Why.
        problem: String,
    },
    /// `REPOSITORY_CONFIG` is not a path a repository's file can have.
    #[error("{REPOSITORY_CONFIG} `{value}` is not a file's path in a repository (relative, 1 to 1,024 characters, no `.` or `..` part, no empty part)")]
    InvalidRepositoryConfig {
        /// The value as set (truncated when long).
        value: String,
    },
    /// Repository files are on, but no file could name a project.
    #[error("{REPOSITORY_CONFIG} is set but no project is allowed: set {ALLOWED_PROJECTS} to the projects repositories may start, or give the function's own rules")]
    NoProjectAllowed,
    /// `ALLOWED_PROJECTS` is set without `REPOSITORY_CONFIG`.
    #[error("{ALLOWED_PROJECTS} is set but {REPOSITORY_CONFIG} is not: repositories' files are off, so no project is allowed through them")]
    AllowedProjectsWithoutFiles,
    /// The rules are malformed.
    #[error("{location}: {problem}")]
    InvalidRules {
        /// Where: `RULES[1] (web).paths`.
        location: String,
        /// What is wrong there.
        problem: String,
    },
}

/// Validated configuration of the function.
#[derive(Debug, Clone)]
pub struct Config {
    /// The function's own rules, in order; a push that matches several starts each one's
    /// project. Empty only when repositories' files are on.
    pub rules: Vec<Rule>,
    /// Repositories' own files, when `REPOSITORY_CONFIG` turns them on.
    pub repository_files: Option<RepositoryFiles>,
    /// Whether `[skip ci]` and its kin in the pushed head commit's message skip it.
    pub skip_markers: bool,
    /// Pushers (IAM ARN patterns) whose pushes never build.
    pub ignored_pushers: Option<PatternList>,
    /// Repositories (ARN patterns) whose events are accepted; `None`: any.
    pub allowed_repositories: Option<PatternList>,
    /// How builds' results are written back to CodeCommit.
    pub reporting: Reporting,
    /// The most builds one event may start; an event that wants more starts none.
    pub max_builds: u16,
}

/// Where each repository keeps its own rules, and which projects they may start.
#[derive(Debug, Clone)]
pub struct RepositoryFiles {
    /// The file's path in the repository.
    pub path: String,
    /// The projects a file may name.
    pub allowed_projects: AllowedProjects,
}

impl Config {
    /// Whether this function may start `project` (a name): one of its own rules' projects,
    /// or one that repositories' files may name.
    pub fn may_start(&self, project: &str) -> bool {
        self.rules
            .iter()
            .any(|rule| project_name(&rule.project) == project)
            || self
                .repository_files
                .as_ref()
                .is_some_and(|files| files.allowed_projects.allows(project))
    }
}

/// How builds' results are written back to CodeCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporting {
    /// How many of a failed build's last log lines its comment shows (0: none).
    pub log_lines: u16,
    /// Approve a pull request's revision once all its builds succeeded; revoke on a failure.
    pub approve_pull_requests: bool,
    /// Comment on pushed commits too.
    pub commit_comments: bool,
    /// The pull-request comment that starts the revision's builds again; `None`: off.
    pub rebuild_command: Option<String>,
    /// The IAM role whose sessions write the function's comments, when set.
    pub reporter_role: Option<RoleArn>,
    /// The IAM role whose sessions start the builds; when set, only their builds are
    /// reported and count for approvals.
    pub starter_role: Option<RoleArn>,
}

/// An IAM role, as `REPORTER_ROLE_ARN` and `STARTER_ROLE_ARN` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    partition: String,
    account: String,
    name: String,
}

impl RoleArn {
    /// Reads `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
    pub fn parse(arn: &str) -> Option<Self> {
        let [partition, "iam", "", account, resource] = crate::vocabulary::arn::fields(arn)? else {
            return None;
        };
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        (partition.starts_with("aws") && crate::vocabulary::arn::is_account(account) && name_ok)
            .then(|| Self {
                partition: partition.to_owned(),
                account: account.to_owned(),
                name: name.to_owned(),
            })
    }

    /// The role of the session `arn` (`arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`,
    /// as STS `GetCallerIdentity` names a Lambda function's caller).
    pub fn of_session(arn: &str) -> Option<Self> {
        let [partition, "sts", "", account, resource] = crate::vocabulary::arn::fields(arn)? else {
            return None;
        };
        let (name, session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
        if session.is_empty() || session.contains('/') {
            return None;
        }
        Self::parse(&format!("arn:{partition}:iam::{account}:role/{name}"))
    }

    /// Whether `caller` (a comment's `authorArn`, an event's `callerUserArn`) is a session
    /// of this role: `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`.
    pub fn is_session(&self, caller: &str) -> bool {
        let prefix = format!(
            "arn:{}:sts::{}:assumed-role/{}/",
            self.partition, self.account, self.name
        );
        caller
            .strip_prefix(&prefix)
            .is_some_and(|session| !session.is_empty() && !session.contains('/'))
    }

    /// Whether `initiator` (a build's, as `BatchGetBuilds` says who started it) is a session
    /// of this role: `NAME/SESSION`.
    pub fn is_initiator(&self, initiator: &str) -> bool {
        initiator
            .strip_prefix(&self.name)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|session| !session.is_empty() && !session.contains('/'))
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One routing rule: which pushes start which project.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name (`default` for the shorthand).
    pub name: String,
    /// The CodeBuild project to start (name or ARN).
    pub project: String,
    /// Repository names the rule applies to; `None`: any.
    pub repositories: Option<PatternList>,
    /// Branches that build; `None`: no branch.
    pub branches: Option<PatternList>,
    /// Tags that build; `None`: no tag.
    pub tags: Option<PatternList>,
    /// Pull requests into the branches these match build; `None`: no pull request.
    pub pull_requests: Option<PatternList>,
    /// A branch push builds only if it changed a file these include; `None`: any file.
    pub paths: Option<PatternList>,
    /// Files these include do not count as changes; `None`: every file counts.
    pub paths_ignore: Option<PatternList>,
    /// Extra PLAINTEXT variables for the build.
    pub environment: Vec<(String, String)>,
    /// Stop older in-progress builds this function started for the same project and ref.
    pub supersede: bool,
    /// Start a batch build (`StartBuildBatch`: the project's build matrix, list or graph)
    /// rather than one build.
    pub batch: bool,
    /// StartBuild's overrides (buildspec, compute, image, timeouts, clone depth).
    pub overrides: overrides::Overrides,
    origin: RuleOrigin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleOrigin {
    Shorthand,
    Rules,
    File,
}

impl Rule {
    /// How a reason names one of this rule's pattern lists: the variable for
    /// the shorthand (`BRANCHES`), the field and rule otherwise
    /// (`branches of rule api`).
    pub fn label(&self, field: PatternField) -> Label<'_> {
        Label { rule: self, field }
    }

    /// The rule's name as reported, `None` for the one-rule shorthand.
    pub fn reported_name(&self) -> Option<&str> {
        (self.origin != RuleOrigin::Shorthand).then_some(self.name.as_str())
    }

    /// Whether the rule filters branch pushes by the files they change.
    pub fn filters_paths(&self) -> bool {
        self.paths.is_some() || self.paths_ignore.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::pattern::Match;
    use std::collections::HashMap;

    fn config(vars: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<_, _> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Config::from_lookup(|name| Ok(vars.get(name).cloned()))
    }

    #[test]
    fn a_role_is_read_from_its_sessions_arn_and_knows_its_sessions_and_builds() {
        let role = RoleArn::of_session(
            "arn:aws:sts::123456789012:assumed-role/reporter-Role-1A/reporter-Function-2B",
        )
        .expect("a role session");
        assert_eq!(
            Some(&role),
            RoleArn::parse("arn:aws:iam::123456789012:role/reporter-Role-1A").as_ref()
        );
        assert!(role.is_session("arn:aws:sts::123456789012:assumed-role/reporter-Role-1A/other"));
        assert!(role.is_initiator("reporter-Role-1A/other"));
        assert!(!role.is_initiator("reporter-Role-1A"));
        assert!(!role.is_initiator("reporter-Role-1A/a/b"));
        assert!(!role.is_initiator("reporter-Role-1AB/x"));
        for not_a_session in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:federated-user/alice",
            "arn:aws:sts::123456789012:assumed-role/reporter",
            "arn:aws:sts::123456789012:assumed-role/reporter/",
        ] {
            assert_eq!(RoleArn::of_session(not_a_session), None, "{not_a_session}");
        }
    }

    fn only_rule(config: &Config) -> &Rule {
        assert_eq!(config.rules.len(), 1);
        &config.rules[0]
    }

    #[test]
    fn defaults_build_master_and_no_tags_with_skip_markers_on() {
        let config = config(&[(CODEBUILD_PROJECT, "my-project")]).expect("valid");
        let rule = only_rule(&config);
        assert_eq!(rule.project, "my-project");
        let branches = rule.branches.as_ref().expect("branches");
        assert!(matches!(branches.verdict("master"), Match::Included(_)));
        assert_eq!(branches.verdict("main"), Match::Unmatched);
        assert!(rule.tags.is_none());
        assert!(!rule.filters_paths());
        assert!(!rule.supersede);
        assert!(config.skip_markers);
        assert!(config.ignored_pushers.is_none());
        assert_eq!(rule.label(PatternField::Branches).to_string(), "BRANCHES");
    }

    #[test]
    fn shorthand_paths_switches_and_pushers() {
        let config = config(&[
            (CODEBUILD_PROJECT, "p1"),
            (PATHS, "services/api/**"),
            (PATHS_IGNORE, "**/*.md"),
            (SUPERSEDE, "TRUE"),
            (SKIP_MARKERS, "false"),
            (
                IGNORE_PUSHERS,
                "arn:aws:sts::123456789012:assumed-role/release-bot/*",
            ),
        ])
        .expect("valid");
        let rule = only_rule(&config);
        assert!(rule.filters_paths());
        assert!(rule.supersede);
        assert!(!config.skip_markers);
        assert!(config.ignored_pushers.as_ref().is_some_and(
            |p| p.includes("arn:aws:sts::123456789012:assumed-role/release-bot/build-7")
        ));
        let error = self::config(&[(CODEBUILD_PROJECT, "p1"), (SKIP_MARKERS, "off")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "SKIP_MARKERS `off` is neither true nor false"
        );
    }

    #[test]
    fn rules_replace_the_shorthand() {
        let json = r#"[{"name": "api", "project": "api-build", "branches": ["main"]}]"#;
        let config = config(&[(RULES, json)]).expect("valid");
        let rule = only_rule(&config);
        assert_eq!(rule.name, "api");
        assert_eq!(
            rule.label(PatternField::Branches).to_string(),
            "branches of rule api"
        );
        let error = self::config(&[(RULES, json), (BRANCHES, "main")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "BRANCHES and RULES are both set: give the project and patterns in each rule instead"
        );
        let error = self::config(&[(RULES, json), (RULES_FILE, "/x")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "RULES and RULES_FILE are both set: give the rules in one of them"
        );
    }

    #[test]
    fn a_rule_starts_a_batch_build_only_when_it_says_batch_true() {
        let batch = r#"[{"name": "matrix", "project": "api-build", "pullRequests": ["main"], "batch": true}]"#;
        assert!(only_rule(&config(&[(RULES, batch)]).expect("valid")).batch);
        let plain = r#"[{"name": "unit", "project": "api-build", "pullRequests": ["main"]}]"#;
        assert!(!only_rule(&config(&[(RULES, plain)]).expect("valid")).batch);
        let wrong =
            r#"[{"name": "matrix", "project": "api-build", "branches": ["main"], "batch": "yes"}]"#;
        let error = config(&[(RULES, wrong)]).unwrap_err().to_string();
        assert!(
            error.starts_with("RULES[0].batch: invalid type: string \"yes\", expected a boolean"),
            "{error}"
        );
    }

    #[test]
    fn a_rule_sets_startbuilds_overrides_checked_at_load() {
        let json = r#"[{"name": "matrix", "project": "api-build", "branches": ["main"],
            "buildspec": "ci/linux.yml", "computeType": "BUILD_GENERAL1_LARGE",
            "image": "aws/codebuild/standard:7.0", "environmentType": "LINUX_CONTAINER",
            "timeoutInMinutes": 90, "queuedTimeoutInMinutes": 30, "gitCloneDepth": 1}]"#;
        let config = config(&[(RULES, json)]).expect("valid");
        let overrides = &only_rule(&config).overrides;
        assert_eq!(overrides.buildspec.as_deref(), Some("ci/linux.yml"));
        assert_eq!(
            overrides.compute_type.as_deref(),
            Some("BUILD_GENERAL1_LARGE")
        );
        assert_eq!(overrides.timeout_in_minutes, Some(90));
        assert_eq!(overrides.git_clone_depth, Some(1));
        let wrong = r#"[{"name": "matrix", "project": "api-build", "branches": ["main"], "computeType": "HUGE"}]"#;
        let error = self::config(&[(RULES, wrong)]).unwrap_err().to_string();
        assert!(
            error.starts_with("RULES[0] (matrix).computeType: \"HUGE\" is not one of CodeBuild's:"),
            "{error}"
        );
        let negative =
            r#"[{"name": "m", "project": "api-build", "branches": ["main"], "gitCloneDepth": -1}]"#;
        let error = self::config(&[(RULES, negative)]).unwrap_err().to_string();
        assert!(error.contains("gitCloneDepth"), "{error}");
    }

    #[test]
    fn rules_can_come_from_a_file() {
        let path = std::env::temp_dir().join(format!("rules-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"[{"name": "tags", "project": "p1", "tags": ["v*"]}]"#,
        )
        .expect("write");
        let file = path.to_str().expect("UTF-8 path");
        let config = config(&[(RULES_FILE, file)]).expect("valid");
        assert_eq!(only_rule(&config).name, "tags");
        std::fs::remove_file(&path).expect("remove");
        let error = self::config(&[(RULES_FILE, file)]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("RULES_FILE `{file}` cannot be read")),
            "{error}"
        );
    }

    #[test]
    fn repository_files_need_no_rules_of_the_function_but_a_project_they_may_name() {
        let files = config(&[
            (REPOSITORY_CONFIG, ".codecommit-build-trigger.yml"),
            (ALLOWED_PROJECTS, "team-*,!team-prod"),
        ])
        .expect("valid");
        assert!(files.rules.is_empty());
        assert!(files.may_start("team-api"));
        assert!(!files.may_start("team-prod"));
        let own = config(&[
            (REPOSITORY_CONFIG, "ci/build-trigger.yml"),
            (
                CODEBUILD_PROJECT,
                "arn:aws:codebuild:us-east-1:123456789012:project/app",
            ),
        ])
        .expect("valid");
        assert!(own.may_start("app"));
        assert!(!own.may_start("other"));
        assert_eq!(
            own.repository_files.map(|files| files.path).as_deref(),
            Some("ci/build-trigger.yml")
        );
        assert_eq!(
            config(&[(REPOSITORY_CONFIG, ".codecommit-build-trigger.yml")]).unwrap_err(),
            ConfigError::NoProjectAllowed
        );
        assert_eq!(
            config(&[(CODEBUILD_PROJECT, "app"), (ALLOWED_PROJECTS, "team-*")]).unwrap_err(),
            ConfigError::AllowedProjectsWithoutFiles
        );
        assert_eq!(
            config(&[(REPOSITORY_CONFIG, "x.yml"), (BRANCHES, "main")]).unwrap_err(),
            ConfigError::Missing(CODEBUILD_PROJECT)
        );
        for bad in ["/etc/passwd", "../x.yml", "a//b.yml", "a/./b.yml", "dir/"] {
            let error = config(&[(REPOSITORY_CONFIG, bad), (ALLOWED_PROJECTS, "p*")]).unwrap_err();
            assert!(
                matches!(error, ConfigError::InvalidRepositoryConfig { .. }),
                "{bad}: {error}"
            );
        }
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
        assert!(only_rule(&config).tags.is_none());
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
        let error = Config::from_lookup(|name| match name {
            BRANCHES => Err(()),
            CODEBUILD_PROJECT => Ok(Some("p1".into())),
            _ => Ok(None),
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "BRANCHES is not valid UTF-8");
    }
}
