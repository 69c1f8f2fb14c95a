//! Whether a pull request's revision is approved: once every build this function started
//! for it has succeeded, revoked as soon as one has not.

use std::fmt;

/// One build this function started for a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevisionBuild {
    /// Its project.
    pub project: String,
    /// The routing rule that started it, with routing rules.
    pub rule: Option<String>,
    /// Its id.
    pub id: String,
    /// The project's build number.
    pub number: Option<u64>,
    /// When it started (milliseconds since the Unix epoch).
    pub started_at: Option<i64>,
    /// Its status (`IN_PROGRESS`, `SUCCEEDED`, ...).
    pub status: String,
}

/// A (project, rule) the configuration selects for a pull request: each needs a build of
/// the revision that succeeded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Selected {
    /// The project's name.
    pub project: String,
    /// The rule's name, with routing rules.
    pub rule: Option<String>,
    /// Whether the rule starts batch builds: its batches count, not their builds.
    pub batch: bool,
}

impl fmt::Display for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "project {} (rule {rule})", self.project),
            None => write!(f, "project {}", self.project),
        }
    }
}

/// What the revision's builds say of its approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every selected (project, rule)'s latest build succeeded.
    Approve(usize),
    /// This build (`build ID`, or `batch ID`) ended without success, with this status.
    Revoke(String, String),
    /// Some selected (project, rule)s have no build yet, or one still running.
    Wait(Waiting),
}

/// Why an approval waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiting {
    /// How many latest builds are still running.
    pub running: usize,
    /// The selected (project, rule)s without a build of the revision.
    pub missing: Vec<Selected>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Approve(1) => f.write_str("its one build succeeded"),
            Self::Approve(builds) => write!(f, "all {builds} of its builds succeeded"),
            Self::Revoke(build, status) => write!(f, "{build} ended {status}"),
            Self::Wait(Waiting { running, missing }) => {
                let mut parts = Vec::new();
                match running {
                    0 => {}
                    1 => parts.push("1 of its builds is still running".to_owned()),
                    running => parts.push(format!("{running} of its builds are still running")),
                }
                for selected in missing {
                    parts.push(format!("{selected} has no build of it yet"));
                }
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// The verdict on a revision from its builds: each `selected` (project, rule) needs its
/// latest build (a rebuild replaces the build it repeats) to have succeeded; builds of
/// other (project, rule)s do not count.
pub(crate) fn verdict(selected: &[Selected], builds: &[RevisionBuild]) -> Verdict {
    let mut running = 0;
    let mut missing = Vec::new();
    let mut failed = None;
    for wanted in selected {
        let latest = builds
            .iter()
            .filter(|build| build.project == wanted.project && build.rule == wanted.rule)
            .max_by_key(|build| (build.number, build.started_at));
        match latest.map(|build| (build, build.status.as_str())) {
            None => missing.push(wanted.clone()),
            Some((_, "SUCCEEDED")) => {}
            Some((_, "IN_PROGRESS" | "QUEUED")) => running += 1,
            Some((build, status)) => {
                let kind = if wanted.batch { "batch" } else { "build" };
                failed.get_or_insert_with(|| (format!("{kind} {}", build.id), status.to_owned()));
            }
        }
    }
    if let Some((build, status)) = failed {
        return Verdict::Revoke(build, status);
    }
    if running > 0 || !missing.is_empty() {
        return Verdict::Wait(Waiting { running, missing });
    }
    Verdict::Approve(selected.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(project: &str, number: u64, status: &str) -> RevisionBuild {
        RevisionBuild {
            project: project.into(),
            rule: None,
            id: format!("{project}:{number}"),
            number: Some(number),
            started_at: None,
            status: status.into(),
        }
    }

    fn selected(project: &str, rule: Option<&str>) -> Selected {
        Selected {
            project: project.into(),
            rule: rule.map(Into::into),
            batch: false,
        }
    }

    fn wait(running: usize, missing: &[Selected]) -> Verdict {
        Verdict::Wait(Waiting {
            running,
            missing: missing.to_vec(),
        })
    }

    #[test]
    fn every_selected_projects_latest_build_counts() {
        let both = [selected("a", None), selected("b", None)];
        assert_eq!(
            verdict(
                &both,
                &[build("a", 1, "SUCCEEDED"), build("b", 4, "SUCCEEDED")]
            ),
            Verdict::Approve(2)
        );
        assert_eq!(
            verdict(
                &both,
                &[build("a", 1, "SUCCEEDED"), build("b", 4, "IN_PROGRESS")]
            ),
            wait(1, &[])
        );
        assert_eq!(
            verdict(
                &both,
                &[
                    build("a", 1, "SUCCEEDED"),
                    build("b", 4, "IN_PROGRESS"),
                    build("b", 5, "FAILED")
                ]
            ),
            Verdict::Revoke("build b:5".into(), "FAILED".into())
        );
        // A rebuild that succeeded replaces the failure it repeats, in any order.
        let a = [selected("a", None)];
        assert_eq!(
            verdict(&a, &[build("a", 2, "SUCCEEDED"), build("a", 1, "FAILED")]),
            Verdict::Approve(1)
        );
        assert_eq!(
            verdict(&a, &[build("a", 1, "STOPPED")]),
            Verdict::Revoke("build a:1".into(), "STOPPED".into())
        );
        // Two rules starting one project: each rule's build counts.
        let lint = RevisionBuild {
            rule: Some("lint".into()),
            ..build("a", 5, "FAILED")
        };
        let rules = [selected("a", Some("lint")), selected("a", None)];
        assert_eq!(
            verdict(&rules, &[lint, build("a", 6, "SUCCEEDED")]),
            Verdict::Revoke("build a:5".into(), "FAILED".into())
        );
    }

    #[test]
    fn a_selected_rule_without_a_build_waits_and_unselected_builds_do_not_count() {
        let rules = [selected("a", Some("test")), selected("b", Some("lint"))];
        let test = RevisionBuild {
            rule: Some("test".into()),
            ..build("a", 1, "SUCCEEDED")
        };
        let missing = verdict(&rules, std::slice::from_ref(&test));
        assert_eq!(missing, wait(0, &rules[1..]));
        assert_eq!(
            missing.to_string(),
            "project b (rule lint) has no build of it yet"
        );
        // A failed build no rule selects (a rule since removed) neither approves nor revokes.
        let stray = build("c", 9, "FAILED");
        assert_eq!(verdict(&rules[..1], &[test, stray]), Verdict::Approve(1));
    }
}
