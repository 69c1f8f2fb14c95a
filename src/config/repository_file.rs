//! A repository's own rules: the YAML file that `REPOSITORY_CONFIG` names, read at a commit.
//!
//! ```yaml
//! rules:
//!   - name: api
//!     project: api-build
//!     branches: [main]
//!     pullRequests: [main]
//!     paths: ["services/api/**"]
//! ```
//!
//! The rules have the fields and meaning of `RULES`, except `repositories`. JSON is YAML too.
//! Hostile input is expected: the text is at most [`MAX_FILE_BYTES`], one document, no
//! duplicate keys, `true`/`false` only for switches, bounded alias expansion, and every
//! project must be one [`AllowedProjects`] allows.

use super::rules::{validate, RawRule};
use super::{project_name, Rule, RuleOrigin, ALLOWED_PROJECTS};
use crate::config::pattern::PatternList;
use serde::Deserialize;
use serde_saphyr::{DuplicateKeyPolicy, Spanned};
use std::collections::BTreeMap;
use std::fmt;

/// The largest repository file read, in bytes.
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// The projects a repository's file may name.
#[derive(Debug, Clone)]
pub enum AllowedProjects {
    /// Any project (`check` without `ALLOWED_PROJECTS`: the file alone is checked).
    Any,
    /// Projects whose names match `ALLOWED_PROJECTS`.
    Matching(Box<PatternList>),
    /// The projects of the function's own rules (`ALLOWED_PROJECTS` not set).
    OwnRules(Vec<String>),
}

impl AllowedProjects {
    /// Whether a file's rule may start `project` (a name or an ARN; its name counts).
    pub fn allows(&self, project: &str) -> bool {
        let name = project_name(project);
        match self {
            Self::Any => true,
            Self::Matching(patterns) => patterns.includes(name),
            Self::OwnRules(names) => names.iter().any(|own| own == name),
        }
    }

    /// Why `project` is refused, for the error.
    fn refusal(&self, project: &str) -> String {
        match self {
            Self::Any => String::new(),
            Self::Matching(_) => {
                format!("{project:?} is not a project that {ALLOWED_PROJECTS} allows")
            }
            Self::OwnRules(names) => format!(
                "{project:?} is not one of the function's own projects ({}), and {ALLOWED_PROJECTS} is not set",
                names.join(", ")
            ),
        }
    }
}

/// What is wrong with a repository's file: where, on which line when known, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The rule and field at fault (`rules[1] (web).paths`), empty for the file as a whole.
    pub location: String,
    /// The line (from 1), when known.
    pub line: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.location.is_empty(), self.line) {
            (true, None) => write!(f, "{}", self.problem),
            (true, Some(line)) => write!(f, "line {line}: {}", self.problem),
            (false, None) => write!(f, "{}: {}", self.location, self.problem),
            (false, Some(line)) => write!(f, "{}, line {line}: {}", self.location, self.problem),
        }
    }
}

impl std::error::Error for FileError {}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rules: Vec<RawRule>,
}

/// Where each field of each rule is written, to give a line to an error found after parsing.
#[derive(Deserialize)]
struct FieldLines {
    rules: Vec<BTreeMap<String, Spanned<serde::de::IgnoredAny>>>,
}

/// Parses and checks a repository's file; its rules, or what is wrong with it.
pub fn parse(bytes: &[u8], allowed: &AllowedProjects) -> Result<Vec<Rule>, FileError> {
    let whole = |problem: String| FileError {
        location: String::new(),
        line: None,
        problem,
    };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(whole(format!(
            "is {} bytes, more than the {MAX_FILE_BYTES} a repository's file may have",
            bytes.len()
        )));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|error| whole(format!("is not UTF-8 text: {error}")))?;
    let mut path = None;
    let raw: RawFile =
        serde_saphyr::with_deserializer_from_str_with_options(text, options(), |deserializer| {
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                path = Some(error.path().to_string());
                error.into_inner()
            })
        })
        .map_err(|error| parse_error(&error, path.as_deref()))?;
    if raw.rules.is_empty() {
        return Err(whole("rules holds no rule".into()));
    }
    let rules = validate(raw.rules, RuleOrigin::File).map_err(|problem| {
        let line = field_line(text, problem.index, problem.field);
        FileError {
            location: format!("rules{}", problem.at),
            line,
            problem: problem.problem,
        }
    })?;
    if let Some((index, rule)) = rules
        .iter()
        .enumerate()
        .find(|(_, rule)| !allowed.allows(&rule.project))
    {
        return Err(FileError {
            location: format!("rules[{index}] ({}).project", rule.name),
            line: field_line(text, index, "project"),
            problem: allowed.refusal(&rule.project),
        });
    }
    Ok(rules)
}

/// How repository files are read: one document, strict switches, no duplicate keys, no
/// merge keys, bounded aliases, no source snippet in messages (they end up in one line).
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::Error,
        strict_booleans: true,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_depth: 16,
            max_aliases: 64,
            max_anchors: 64,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
        },
    }
}

/// A parse error as a [`FileError`]: the path serde was at (`rules[1].branches`), the line,
/// and the message without the position the parser appends to it.
fn parse_error(error: &serde_saphyr::Error, path: Option<&str>) -> FileError {
    let line = error
        .location()
        .map(|at| at.line())
        .filter(|line| *line > 0);
    let message = error.to_string();
    let message = error
        .location()
        .and_then(|at| {
            message.strip_suffix(&format!(" at line {}, column {}", at.line(), at.column()))
        })
        .unwrap_or(&message)
        // Advice to the parser's programmer, not to the file's author.
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    // serde_path_to_error writes `?` for a part of the path it could not tell.
    let location = match path.map(|path| path.trim_end_matches(".?")) {
        None | Some(".") | Some("?") => String::new(),
        Some(path) => path.to_owned(),
    };
    FileError {
        location,
        line,
        problem: message,
    }
}

/// The line of `field` in rule `index`, read again from `text` (which parsed).
fn field_line(text: &str, index: usize, field: &str) -> Option<u64> {
    let lines: FieldLines = serde_saphyr::from_str_with_options(text, options()).ok()?;
    let spanned = lines.rules.get(index)?.get(field)?;
    Some(spanned.referenced.line()).filter(|line| *line > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &str) -> AllowedProjects {
        AllowedProjects::Matching(Box::new(PatternList::parse(patterns).expect("patterns")))
    }

    fn error(text: &str) -> String {
        parse(text.as_bytes(), &allowed("team-*"))
            .expect_err("invalid file")
            .to_string()
    }

    #[test]
    fn yaml_rules_parse_with_their_fields() {
        let text = "\
# The API's builds.
rules:
  - name: api
    project: team-api
    branches: [main, 'release/*']
    pullRequests:
      - main
    paths: ['services/api/**']
    environment: {SERVICE: api, PORT: 8080}
    supersede: true
  - {name: tags, project: team-release, tags: ['v*']}
";
        let rules = parse(text.as_bytes(), &allowed("team-*")).expect("valid");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].project, "team-api");
        assert!(rules[0]
            .branches
            .as_ref()
            .is_some_and(|b| b.includes("release/2")));
        assert!(rules[0]
            .pull_requests
            .as_ref()
            .is_some_and(|b| b.includes("main")));
        assert_eq!(
            rules[0].environment,
            [
                ("PORT".to_owned(), "8080".to_owned()),
                ("SERVICE".to_owned(), "api".to_owned())
            ]
        );
        assert!(rules[0].supersede);
        assert_eq!(rules[1].reported_name(), Some("tags"));
    }

    #[test]
    fn json_is_yaml_too() {
        let text = r#"{"rules": [{"name": "api", "project": "team-api", "branches": ["main"]}]}"#;
        let rules = parse(text.as_bytes(), &allowed("team-*")).expect("valid");
        assert_eq!(rules[0].name, "api");
    }

    #[test]
    fn parse_errors_name_the_rule_the_field_and_the_line() {
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    branchs: [main]\n"),
            "rules[0].branchs, line 4: unknown field `branchs`, expected one of name, project, repositories, branches, tags, pullRequests, paths, pathsIgnore, environment, supersede, batch, buildspec, computeType, image, environmentType, timeoutInMinutes, queuedTimeoutInMinutes, gitCloneDepth"
        );
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    branches: main\n"),
            "rules[0].branches, line 4: expected sequence start"
        );
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    branches: [main]\n    supersede: yes\n"),
            "rules[0].supersede, line 5: invalid boolean (strict mode expects true/false)"
        );
        let duplicate = error("rules:\n  - name: api\n    name: web\n    project: team-api\n");
        assert!(
            duplicate == "rules[0], line 3: duplicate mapping key: name",
            "{duplicate}"
        );
        assert_eq!(
            error("builds: []\n"),
            "builds, line 1: unknown field `builds`, expected one of rules"
        );
        let two = error("rules: []\n---\nrules: []\n");
        assert!(two.contains("multiple YAML documents"), "{two}");
    }

    #[test]
    fn checks_after_parsing_name_the_line_of_the_field() {
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    branches: [main]\n    paths: ['[']\n"),
            "rules[0] (api).paths, line 5: pattern 1 `[` has a `[` class that is never closed with `]`"
        );
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    repositories: [other]\n    branches: [main]\n"),
            "rules[0] (api).repositories, line 4: a repository's file speaks for its own repository: remove repositories"
        );
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    branches: [main]\n    computeType: BUILD_GENERAL1_LARGE\n    timeoutInMinutes: 3000\n"),
            "rules[0] (api).timeoutInMinutes, line 6: 3000 is outside CodeBuild's 5 to 2160 minutes"
        );
        assert_eq!(error("rules: []\n"), "rules holds no rule");
        assert_eq!(
            error("rules:\n  - name: api\n    project: team-api\n    tags: [v1]\n  - name: deploy\n    project: prod-deploy\n    branches: [main]\n"),
            "rules[1] (deploy).project, line 6: \"prod-deploy\" is not a project that ALLOWED_PROJECTS allows"
        );
        let own = AllowedProjects::OwnRules(vec!["app-build".into()]);
        let refused = parse(
            b"rules:\n  - {name: a, project: other, branches: [main]}\n",
            &own,
        )
        .expect_err("not allowed")
        .to_string();
        assert_eq!(
            refused,
            "rules[0] (a).project, line 2: \"other\" is not one of the function's own projects (app-build), and ALLOWED_PROJECTS is not set"
        );
        assert!(parse(
            b"rules:\n  - {name: a, project: 'arn:aws:codebuild:us-east-1:123456789012:project/app-build', branches: [main]}\n",
            &own
        )
        .is_ok());
    }

    #[test]
    fn hostile_files_are_refused_with_the_reason() {
        let large = format!("rules: []\n#{}\n", "x".repeat(MAX_FILE_BYTES));
        assert!(error(&large).starts_with("is 65548 bytes, more than the 65536"));
        assert!(parse(b"rules: [\xff]", &AllowedProjects::Any)
            .expect_err("not UTF-8")
            .to_string()
            .starts_with("is not UTF-8 text"));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\nrules: []\n";
        assert!(parse(bomb.as_bytes(), &AllowedProjects::Any).is_err());
        let deep = format!("rules: {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(parse(deep.as_bytes(), &AllowedProjects::Any).is_err());
    }
}
