//! A batch build's status comment: the batch's status, a table of its builds, and for each
//! build that failed its phase, tests and log's last lines, all within the comment's limit.

use super::clean_line;
use super::comment::{
    comment_len, console_page, duration, failed_phase_block, icon, log_block, most_that_fit,
    status_line, subject_block, tests_block, LogTail, Stamp, Tests, MAX_COMMENT_LEN,
};
use crate::event::{BuildChange, BuildStatus};
use crate::vocabulary::truncate;

/// The most characters of a build's identifier shown.
const MAX_IDENTIFIER: usize = 100;

/// Everything a batch's status comment shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchContent<'a> {
    /// The batch, as a build: its status, number, and whether it has ended.
    pub batch: &'a BuildChange,
    /// How long it took, once ended.
    pub duration_seconds: u64,
    /// Its stamp.
    pub stamp: &'a Stamp,
    /// The commit built.
    pub commit: &'a str,
    /// The pull request's current revision, when the batch is of an older one.
    pub superseded_by: Option<&'a str>,
    /// Its builds, in the batch's order.
    pub builds: &'a [BatchBuild<'a>],
}

/// One build of a batch, as its comment shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchBuild<'a> {
    /// Its identifier in the buildspec's batch section.
    pub identifier: &'a str,
    /// Its current build as CodeBuild reports it, once started and read.
    pub build: Option<&'a BuildChange>,
    /// Its current build's status as the batch reports it (when the build was not read).
    pub status: Option<&'a str>,
    /// Its log's last lines, for a build that did not succeed.
    pub log: LogTail<'a>,
    /// Its test results, for a build that ended with test reports.
    pub tests: Tests<'a>,
}

impl BatchBuild<'_> {
    /// Whether it ended without success: it gets a section of its own.
    fn failed(&self) -> bool {
        match self.build {
            Some(build) => build.complete && build.status != BuildStatus::Succeeded,
            None => {
                matches!(self.status, Some(status) if status != "IN_PROGRESS" && status != "SUCCEEDED")
            }
        }
    }

    /// Its status word.
    fn status(&self) -> BuildStatus {
        match (self.build, self.status) {
            (Some(build), _) => build.status.clone(),
            (None, Some(status)) => BuildStatus::parse(status),
            (None, None) => BuildStatus::parse("PENDING"),
        }
    }
}

/// The most builds given a section of their own (their phase, tests and log).
pub(crate) const MAX_FAILED_SECTIONS: usize = 5;

/// Room kept for the note counting the failed builds left without a section.
const NOTE_RESERVE: usize = 100;

/// Room kept in the table for its longest row and the rows that count what is left out.
const ROW_RESERVE: usize = 600;

/// The comment's Markdown, within [`MAX_COMMENT_LEN`]. When it does not all fit, the rows of
/// builds that succeeded go first (counted), then the failed builds' sections after the
/// first (counted), then the oldest lines of each log; the status and the stamp always stay.
pub(crate) fn render_batch(content: &BatchContent<'_>) -> String {
    let batch = content.batch;
    let rule = content.stamp.rule.as_deref();
    let mut head = status_line(batch, rule, "batch", content.duration_seconds);
    head.push_str(&subject_block(
        content.stamp,
        content.commit,
        content.superseded_by,
    ));
    let stamp = content.stamp.to_string();
    let room = |text: &str| MAX_COMMENT_LEN.saturating_sub(comment_len(text));
    // Half the room at most for the table: the rest is the failed builds'.
    let half = room(&format!("{head}{stamp}")) / 2;
    let (mut table, left_out) = builds_table(content.builds, true, half);
    if left_out > 0 {
        table = builds_table(content.builds, false, half).0;
    }
    head.push_str(&table);
    let failed: Vec<&BatchBuild<'_>> = content
        .builds
        .iter()
        .filter(|build| build.failed())
        .take(MAX_FAILED_SECTIONS)
        .collect();
    let unshown = content.builds.iter().filter(|build| build.failed()).count();
    // The sections that fit without their logs, in order.
    let mut shown = Vec::new();
    for build in failed {
        let with = sections(&shown, Some(build), 0);
        if comment_len(&with) + NOTE_RESERVE > room(&format!("{head}{stamp}")) {
            break;
        }
        shown.push(build);
    }
    let unshown = unshown - shown.len();
    if unshown > 0 {
        head.push_str(&format!(
            "_{unshown} more failed {} not shown here: see the batch in the console._\n\n",
            if unshown == 1 {
                "build is"
            } else {
                "builds are"
            }
        ));
    }
    let budget = room(&format!("{head}{stamp}"));
    let most = shown
        .iter()
        .map(|build| match build.log {
            LogTail::Lines(log) => log.lines.len(),
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    // The most log lines a failed build that fit, the same for each.
    let fits = most_that_fit(most, |lines| {
        comment_len(&sections(&shown, None, lines)) <= budget
    });
    format!("{head}{}{stamp}", sections(&shown, None, fits))
}

/// A build's identifier as the comment shows it: cleaned as log lines are (it comes from the
/// repository's buildspec), within [`MAX_IDENTIFIER`] characters, with no backquote.
fn shown_identifier(identifier: &str) -> String {
    truncate(&clean_line(identifier), MAX_IDENTIFIER).replace('`', "'")
}

/// The table of the batch's builds: identifier (linked to its build), status, duration. Without
/// `all`, the builds that succeeded are counted in one line rather than listed; rows past
/// `limit` characters are counted in one line too, and how many is answered.
fn builds_table(builds: &[BatchBuild<'_>], all: bool, limit: usize) -> (String, usize) {
    let mut table = String::from("| Build | Status | Duration |\n|---|---|---|\n");
    let mut succeeded = 0;
    let mut left_out = 0;
    for build in builds {
        let status = build.status();
        if !all && status == BuildStatus::Succeeded {
            succeeded += 1;
            continue;
        }
        if left_out > 0 || comment_len(&table) + ROW_RESERVE > limit {
            left_out += 1;
            continue;
        }
        let name = shown_identifier(build.identifier).replace(['|', '[', ']'], "_");
        let link = build
            .build
            .and_then(|build| console_page(&build.build, "build"));
        let name = match link {
            Some(link) => format!("[`{name}`]({link})"),
            None => format!("`{name}`"),
        };
        let took = match build.build {
            Some(build) if build.complete => duration(build.duration_seconds),
            _ => String::new(),
        };
        let shown = if build.build.is_some_and(|build| build.queued) {
            "🕒 QUEUED".to_owned()
        } else {
            format!("{} {status}", icon(&status))
        };
        table.push_str(&format!("| {name} | {shown} | {took} |\n"));
    }
    if left_out > 0 {
        table.push_str(&format!("| _and {left_out} more_ | | |\n"));
    }
    if succeeded > 0 {
        table.push_str(&format!("| _and {succeeded} more_ | ✅ SUCCEEDED | |\n"));
    }
    table.push('\n');
    (table, left_out)
}

/// The sections of the `shown` failed builds (and `extra`, when given), each with the last
/// `lines` lines of its log.
fn sections(shown: &[&BatchBuild<'_>], extra: Option<&BatchBuild<'_>>, lines: usize) -> String {
    shown
        .iter()
        .copied()
        .chain(extra)
        .map(|build| section(build, lines))
        .collect()
}

/// One failed build's section: its heading, failed phase, tests, and its log's last `lines`
/// lines.
fn section(build: &BatchBuild<'_>, lines: usize) -> String {
    let status = build.status();
    let name = shown_identifier(build.identifier);
    let mut text = format!("#### {} `{name}` {status}\n\n", icon(&status));
    if let Some(change) = build.build {
        text.push_str(&failed_phase_block(change));
    }
    text.push_str(&tests_block(build.tests));
    match build.log {
        LogTail::None => {}
        LogTail::Unreadable(why) => {
            text.push_str(&format!("The build log could not be read: {why}.\n\n"));
        }
        LogTail::Lines(log) => {
            let shown = lines.min(log.lines.len());
            let left_out = log.lines.len() - shown;
            text.push_str(&log_block(&log.lines[left_out..], left_out, log.redacted));
        }
    }
    text
}

#[cfg(test)]
mod tests;
