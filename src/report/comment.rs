//! A build's status comment: its Markdown, and the stamp on its last line that the function
//! reads back to update the comment in place, never backwards.

use super::log::fenced;
use super::{clean_line, PublishedLog};
use crate::aws::reads::TestResults;
use crate::event::{Build, BuildChange, BuildStatus};
use std::fmt::{self, Write as _};

/// CodeCommit's limit on a comment's content. It is counted here in UTF-16 code units, which
/// are never fewer than characters, so a comment within it is within the service's limit
/// however the service counts.
pub(crate) const MAX_COMMENT_LEN: usize = 10_240;

/// The stamp's opening words.
const STAMP_PREFIX: &str = "*codecommit-build-trigger: ";

/// What a comment reports on: a pull request's revision, or a pushed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A pull request's revision (`revisionId`).
    Revision(String),
    /// A pushed commit.
    Commit(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Revision(id) => write!(f, "revision {id}"),
            Self::Commit(id) => write!(f, "commit {id}"),
        }
    }
}

/// The last line of every status comment: which project's build it reports, of what, and
/// how far that build got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The project.
    pub project: String,
    /// The routing rule that started the build, with routing rules: two rules starting one
    /// project have a comment each.
    pub rule: Option<String>,
    /// What was built.
    pub subject: Subject,
    /// The build's id (`PROJECT:UUID`).
    pub build_id: String,
    /// The project's build number, when known.
    pub number: Option<u64>,
    /// The status word.
    pub status: String,
    /// Whether the build had ended.
    pub complete: bool,
    /// For a batch build (whose id `build_id` is then), how far its builds got.
    pub batch: Option<BatchProgress>,
}

/// How far a batch's builds got, which orders two states of one batch: a retry of its failed
/// builds is news even after it ended, and so is each build that ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BatchProgress {
    /// Builds its retries replaced, over all its build groups.
    pub retried: u32,
    /// Its builds that have ended.
    pub ended: usize,
    /// Its builds.
    pub builds: usize,
}

impl fmt::Display for BatchProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ended, {} retried",
            self.ended, self.builds, self.retried
        )
    }
}

impl BatchProgress {
    fn parse(text: &str) -> Option<Self> {
        let (ended, rest) = text.split_once('/')?;
        let (builds, retried) = rest.split_once(" ended, ")?;
        Some(Self {
            ended: ended.parse().ok()?,
            builds: builds.parse().ok()?,
            retried: retried.strip_suffix(" retried")?.parse().ok()?,
        })
    }
}

impl Stamp {
    /// The stamp of `change`'s build of `subject`, started by `rule`.
    pub(crate) fn of(change: &BuildChange, rule: Option<&str>, subject: Subject) -> Self {
        Self {
            project: change.build.project.clone(),
            rule: rule.map(str::to_owned),
            subject,
            build_id: change.build.id.clone(),
            number: change.build.number,
            // Queued, then running: two states the comment shows, so the second updates it.
            status: if change.queued {
                "QUEUED".to_owned()
            } else {
                change.status.to_string()
            },
            complete: change.complete,
            batch: None,
        }
    }

    /// Whether `other` is the stamp of the same comment: the same project, rule and subject.
    pub(crate) fn same_slot(&self, other: &Stamp) -> bool {
        self.project == other.project && self.rule == other.rule && self.subject == other.subject
    }

    /// Reads the stamp on the last line of `content`; `None` if it has none.
    pub(crate) fn read(content: &str) -> Option<Self> {
        let line = content.trim_end().lines().next_back()?;
        let line = line.strip_prefix(STAMP_PREFIX)?.strip_suffix('*')?;
        let mut parts = line.split(" · ");
        let (Some(build), Some(status), Some(subject), progress, None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let mut words = build.split(' ');
        let (Some(project), Some(kind), Some(build_id), Some(number), None) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            return None;
        };
        let batch = match (kind, progress) {
            ("build", None) => None,
            ("batch", Some(progress)) => Some(BatchProgress::parse(progress)?),
            _ => return None,
        };
        let (project, rule) = match project.split_once('/') {
            Some((project, rule)) => (project, Some(rule.to_owned())),
            None => (project, None),
        };
        let number = match number.strip_prefix('#')? {
            "?" => None,
            digits => Some(digits.parse().ok()?),
        };
        let (status, complete) = match status.split_once(' ')? {
            (status, "(ended)") => (status, true),
            (status, "(running)") => (status, false),
            _ => return None,
        };
        let subject = match subject.split_once(' ')? {
            ("revision", id) => Subject::Revision(id.to_owned()),
            ("commit", id) => Subject::Commit(id.to_owned()),
            _ => return None,
        };
        Some(Self {
            project: project.to_owned(),
            rule,
            subject,
            build_id: build_id.to_owned(),
            number,
            status: status.to_owned(),
            complete,
            batch,
        })
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(STAMP_PREFIX)?;
        f.write_str(&self.project)?;
        if let Some(rule) = &self.rule {
            write!(f, "/{rule}")?;
        }
        let kind = if self.batch.is_some() {
            "batch"
        } else {
            "build"
        };
        write!(f, " {kind} {} #", self.build_id)?;
        match self.number {
            Some(number) => write!(f, "{number}")?,
            None => f.write_str("?")?,
        }
        let progress = if self.complete { "ended" } else { "running" };
        write!(f, " · {} ({progress}) · {}", self.status, self.subject)?;
        if let Some(batch) = &self.batch {
            write!(f, " · {batch}")?;
        }
        f.write_str("*")
    }
}

/// What the comment says of the build's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogTail<'a> {
    /// Nothing: the build has not failed, or `COMMENT_LOG_LINES` is 0.
    None,
    /// Its last lines, made safe to publish ([`super::publishable`]), oldest first.
    Lines(&'a PublishedLog),
    /// The log could not be read, and why.
    Unreadable(&'a str),
}

/// Everything a status comment shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Content<'a> {
    /// The build's state.
    pub change: &'a BuildChange,
    /// Its stamp.
    pub stamp: &'a Stamp,
    /// The commit built.
    pub commit: &'a str,
    /// The pull request's current revision, when the build is of an older one.
    pub superseded_by: Option<&'a str>,
    /// The log's last lines, for a build that did not succeed.
    pub log: LogTail<'a>,
    /// The build's test results, for a build that ended with test reports.
    pub tests: Tests<'a>,
}

/// A build's test results, as the comment shows them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tests<'a> {
    /// None to show: the build runs, or has no test report.
    None,
    /// The counts, and the failed cases by name.
    Results(&'a TestResults),
    /// They could not be read, for this reason (an AWS error code).
    Unreadable(&'a str),
}

/// The most characters of a failed test's name, and of its message, in the comment.
const MAX_TEST_TEXT: usize = 120;

/// The tests' counts, and the failed cases with their messages (cleaned as log lines are).
pub(super) fn tests_block(tests: Tests<'_>) -> String {
    let results = match tests {
        Tests::None => return String::new(),
        Tests::Unreadable(why) => return format!("The test reports could not be read: {why}.\n\n"),
        Tests::Results(results) => results,
    };
    let mut block = format!(
        "**Tests:** {} passed, {} failed, {} skipped\n\n",
        results.passed, results.failed, results.skipped
    );
    if results.failed_cases.is_empty() {
        return block;
    }
    block.push_str("**Failed tests:**\n\n");
    let shown = |text: &str| crate::vocabulary::truncate(&clean_line(text), MAX_TEST_TEXT);
    for case in &results.failed_cases {
        let name = shown(&case.name).replace('`', "'");
        match &case.message {
            Some(message) => block.push_str(&format!("- `{name}`: {}\n", shown(message))),
            None => block.push_str(&format!("- `{name}`\n")),
        }
    }
    let more = usize::try_from(results.failed)
        .unwrap_or(usize::MAX)
        .saturating_sub(results.failed_cases.len());
    if more > 0 {
        block.push_str(&format!("- and {more} more\n"));
    }
    block.push('\n');
    block
}

/// Length as [`MAX_COMMENT_LEN`] counts it.
pub(crate) fn comment_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The comment's Markdown, within [`MAX_COMMENT_LEN`]: when the log's lines do not all fit,
/// the oldest are left out (and counted), never the status or the note on redacted lines.
pub(crate) fn render(content: &Content<'_>) -> String {
    let head = format!("{}{}", head(content), tests_block(content.tests));
    let stamp = content.stamp.to_string();
    let bare = format!("{head}\n{stamp}");
    let LogTail::Lines(log) = content.log else {
        let log = match content.log {
            LogTail::Unreadable(why) => format!("The build log could not be read: {why}.\n\n"),
            _ => String::new(),
        };
        return format!("{head}{log}{stamp}");
    };
    let budget = MAX_COMMENT_LEN.saturating_sub(comment_len(&bare));
    let lines = &log.lines;
    let block = |shown: usize| {
        log_block(
            &lines[lines.len() - shown..],
            lines.len() - shown,
            log.redacted,
        )
    };
    let fits = most_that_fit(lines.len(), |shown| comment_len(&block(shown)) <= budget);
    format!("{head}{}{stamp}", block(fits))
}

/// Nearly the most log lines, up to `most`, that `fits` accepts, by bisection (fewer lines
/// make a shorter text, but for the note counting those left out); 0 when none does.
pub(super) fn most_that_fit(most: usize, fits: impl Fn(usize) -> bool) -> usize {
    let (mut fitting, mut too_many) = (0, most + 1);
    while too_many - fitting > 1 {
        let middle = (fitting + too_many) / 2;
        if fits(middle) {
            fitting = middle;
        } else {
            too_many = middle;
        }
    }
    fitting
}

/// The status, the build, what it built, and why it failed.
fn head(content: &Content<'_>) -> String {
    let change = content.change;
    let rule = content.stamp.rule.as_deref();
    let mut head = status_line(change, rule, "build", change.duration_seconds);
    head.push_str(&subject_block(
        content.stamp,
        content.commit,
        content.superseded_by,
    ));
    head.push_str(&failed_phase_block(change));
    head
}

/// The first line: status, project, rule, the build (or batch, as `kind` says) with its
/// console link, and once ended how long it took (`seconds`).
pub(super) fn status_line(
    change: &BuildChange,
    rule: Option<&str>,
    kind: &str,
    seconds: u64,
) -> String {
    let build = &change.build;
    let mut head = if change.queued {
        format!("🕒 **QUEUED** · project `{}` · ", build.project)
    } else {
        format!(
            "{} **{}** · project `{}` · ",
            icon(&change.status),
            change.status,
            build.project
        )
    };
    if let Some(rule) = rule {
        head.push_str(&format!("rule `{rule}` · "));
    }
    head.push_str(kind);
    head.push(' ');
    let number = build
        .number
        .map_or_else(|| build.id.clone(), |number| format!("#{number}"));
    match console_page(build, kind) {
        Some(link) => write!(head, "[{number}]({link})"),
        None => write!(head, "`{number}`"),
    }
    .expect("writing to a String cannot fail");
    if change.complete {
        head.push_str(&format!(" · {}", duration(seconds)));
    }
    head.push_str("\n\n");
    head
}

/// What was built, and whether the pull request has moved on since.
pub(super) fn subject_block(stamp: &Stamp, commit: &str, superseded_by: Option<&str>) -> String {
    let mut head = String::new();
    let short = &commit[..commit.len().min(12)];
    match &stamp.subject {
        Subject::Revision(revision) => {
            let revision = &revision[..revision.len().min(12)];
            head.push_str(&format!(
                "Commit `{short}` of the pull request's revision `{revision}`.\n\n"
            ));
        }
        Subject::Commit(_) => head.push_str(&format!("Commit `{short}`.\n\n")),
    }
    if let Some(current) = superseded_by {
        let current = &current[..current.len().min(12)];
        head.push_str(&format!(
            "> This revision is no longer the pull request's latest (now `{current}`): this result is of older code.\n\n"
        ));
    }
    head
}

/// The phase the build failed in, with CodeBuild's reasons.
pub(super) fn failed_phase_block(change: &BuildChange) -> String {
    let mut head = String::new();
    if let Some(phase) = &change.failed_phase {
        head.push_str(&format!(
            "**Failed phase:** {} ({})\n\n",
            phase.phase, phase.status
        ));
        let context: Vec<String> = phase
            .context
            .iter()
            .map(|line| clean_line(line))
            .filter(|line| !line.is_empty())
            .collect();
        if !context.is_empty() {
            head.push_str(&fenced(&context));
            head.push_str("\n\n");
        }
    }
    head
}

/// The log's lines under their heading, saying how many earlier ones are left out and how
/// many of the log's lines had secrets taken out (`redacted`).
pub(super) fn log_block(lines: &[String], left_out: usize, redacted: usize) -> String {
    if lines.is_empty() && left_out == 0 {
        return "The build log has no lines to show.\n\n".to_owned();
    }
    let mut block = format!("**Last {} lines of the build log**", lines.len());
    if left_out > 0 {
        block.push_str(&format!(
            " ({left_out} earlier ones left out to fit the comment)"
        ));
    }
    block.push_str(":\n\n");
    if !lines.is_empty() {
        if redacted > 0 {
            block.push_str(&redaction_note(redacted));
            block.push_str("\n\n");
        }
        block.push_str(&fenced(lines));
        block.push_str("\n\n");
    }
    block
}

/// The line saying that `redacted` lines of the log had what looked like secrets masked.
fn redaction_note(redacted: usize) -> String {
    if redacted == 1 {
        "_1 line of the log was redacted: what looked like a secret shows as `***`._".to_owned()
    } else {
        format!(
            "_{redacted} lines of the log were redacted: what looked like secrets shows as `***`._"
        )
    }
}

pub(super) fn icon(status: &BuildStatus) -> &'static str {
    match status {
        BuildStatus::InProgress => "⏳",
        BuildStatus::Succeeded => "✅",
        BuildStatus::Failed | BuildStatus::Fault | BuildStatus::TimedOut => "❌",
        BuildStatus::Stopped => "⏹️",
        BuildStatus::Other(_) => "❔",
    }
}

/// `4 min 21 s`, `58 s`, `1 h 2 min`.
pub(super) fn duration(seconds: u64) -> String {
    match (seconds / 3600, seconds / 60 % 60, seconds % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// The page of `build` (a build, or a batch as `kind` says) in the CodeBuild console of its
/// partition and region; `None` for a partition without a known console.
pub(super) fn console_page(build: &Build, kind: &str) -> Option<String> {
    let domain = match build.partition.as_str() {
        "aws" => "console.aws.amazon.com",
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => return None,
    };
    let region = &build.region;
    let encoded_id = build.id.replace(':', "%3A");
    Some(format!(
        "https://{region}.{domain}/codesuite/codebuild/{}/projects/{}/{kind}/{encoded_id}/?region={region}",
        build.account, build.project
    ))
}

#[cfg(test)]
mod tests;
