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

/// What the revision's builds say of its approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every project's latest build succeeded.
    Approve(usize),
    /// This build ended without success.
    Revoke(String, String),
    /// Some builds are still running.
    Wait(usize),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Approve(1) => f.write_str("its one build succeeded"),
            Self::Approve(builds) => write!(f, "all {builds} of its builds succeeded"),
            Self::Revoke(build, status) => write!(f, "build {build} ended {status}"),
            Self::Wait(1) => f.write_str("1 of its builds is still running"),
            Self::Wait(running) => write!(f, "{running} of its builds are still running"),
        }
    }
}

/// The verdict on a revision from its builds: each (project, rule)'s latest build counts (a
/// rebuild replaces the build it repeats).
pub(crate) fn verdict(builds: &[RevisionBuild]) -> Verdict {
    let mut latest: Vec<&RevisionBuild> = Vec::new();
    for build in builds {
        match latest
            .iter_mut()
            .find(|kept| kept.project == build.project && kept.rule == build.rule)
        {
            Some(kept) => {
                if (build.number, build.started_at) > (kept.number, kept.started_at) {
                    *kept = build;
                }
            }
            None => latest.push(build),
        }
    }
    if let Some(failed) = latest
        .iter()
        .find(|build| build.status != "SUCCEEDED" && build.status != "IN_PROGRESS")
    {
        return Verdict::Revoke(failed.id.clone(), failed.status.clone());
    }
    match latest
        .iter()
        .filter(|build| build.status == "IN_PROGRESS")
        .count()
    {
        0 => Verdict::Approve(latest.len()),
        running => Verdict::Wait(running),
    }
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

    #[test]
    fn every_projects_latest_build_counts() {
        assert_eq!(
            verdict(&[build("a", 1, "SUCCEEDED"), build("b", 4, "SUCCEEDED")]),
            Verdict::Approve(2)
        );
        assert_eq!(
            verdict(&[build("a", 1, "SUCCEEDED"), build("b", 4, "IN_PROGRESS")]),
            Verdict::Wait(1)
        );
        assert_eq!(
            verdict(&[
                build("a", 1, "SUCCEEDED"),
                build("b", 4, "IN_PROGRESS"),
                build("b", 5, "FAILED")
            ]),
            Verdict::Revoke("b:5".into(), "FAILED".into())
        );
        // A rebuild that succeeded replaces the failure it repeats, in any order.
        assert_eq!(
            verdict(&[build("a", 2, "SUCCEEDED"), build("a", 1, "FAILED")]),
            Verdict::Approve(1)
        );
        assert_eq!(
            verdict(&[build("a", 1, "STOPPED")]),
            Verdict::Revoke("a:1".into(), "STOPPED".into())
        );
        // Two rules starting one project: each rule's build counts.
        let lint = RevisionBuild {
            rule: Some("lint".into()),
            ..build("a", 5, "FAILED")
        };
        assert_eq!(
            verdict(&[lint, build("a", 6, "SUCCEEDED")]),
            Verdict::Revoke("a:5".into(), "FAILED".into())
        );
    }
}
