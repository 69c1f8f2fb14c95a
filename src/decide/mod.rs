//! The pure decisions: which rules build each reference an event names (a
//! pushed one, or a pull request's source), and why.
//!
//! Two steps around the only I/O: [`plan`] decides all it can from the event
//! and the configuration and lists the [`Needs`] it has left (commit messages
//! for skip markers, changed files for path filters, whether a pull request
//! is still open); the caller gathers
//! those [`Facts`]; [`finish`] decides the rest. Nothing is asked of AWS for
//! a reference that no rule would build.

pub mod files;
pub mod needs;

use crate::config::pattern::{Match, PatternList};
use crate::config::{Config, PatternField, Rule};
use crate::decide::files::{rules_for, Files};
use crate::decide::needs::{
    BaseHint, BaseQuery, BranchKey, CommitKey, Facts, Needs, PullRequestKey, PullRequestNow,
};
use crate::event::{
    CommitId, EventKind, GitRef, PullRequest, PullRequestStatus, Record, RefChange, RefKind,
    RefUpdate,
};
use foldhash::fast::RandomState;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Commit-message markers that skip a push, matched in any case.
pub const SKIP_MARKERS: [&str; 4] = ["[skip ci]", "[ci skip]", "[no ci]", "[skip build]"];

/// What [`plan`] could decide, and what it still needs.
#[derive(Debug)]
pub struct Plan<'a> {
    config: &'a Config,
    references: Vec<Planned<'a>>,
}

#[derive(Debug)]
struct Planned<'a> {
    record: &'a Record,
    update: &'a RefUpdate,
    step: Step<'a>,
}

#[derive(Debug)]
enum Step<'a> {
    Skip(Skip),
    Candidates {
        commit: &'a CommitId,
        rules: Vec<Candidate<'a>>,
    },
}

#[derive(Debug)]
struct Candidate<'a> {
    rule: &'a Rule,
    matched: String,
    /// Boxed: only rules with path filters have one, and a small candidate
    /// becomes its [`RuleOutcome`] in place.
    base: Option<Box<BaseQuery>>,
}

/// The decision for one reference of an event (pushed, or a pull request's source).
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// The record the reference came in.
    pub record: &'a Record,
    /// The reference.
    pub update: &'a RefUpdate,
    /// Skipped altogether, or what each matching rule decided.
    pub outcome: Outcome<'a>,
}

/// What kind of reason skips a reference or a rule: what the metrics count, one figure each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipKind {
    /// The reference: a branch or tag no pattern matches, a deletion, neither branch nor tag.
    Reference,
    /// No changed file counts for the rule's paths.
    Paths,
    /// A skip marker in the commit's message.
    SkipMarker,
    /// A pusher in `IGNORE_PUSHERS`.
    Pusher,
    /// Outdated: the branch or pull request moved on, or the same commit came earlier.
    Outdated,
    /// A pull request that is closed or merged, or an event of it that never builds.
    PullRequest,
    /// The configuration: an invalid or refused repository file, or no rules.
    Configuration,
}

impl SkipKind {
    /// Every kind, in the order the metrics list them.
    pub const ALL: [SkipKind; 7] = [
        SkipKind::Reference,
        SkipKind::Paths,
        SkipKind::SkipMarker,
        SkipKind::Pusher,
        SkipKind::Outdated,
        SkipKind::PullRequest,
        SkipKind::Configuration,
    ];
}

/// Why something is not built: its kind, and the reason the answer and the log show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// What kind of reason.
    pub kind: SkipKind,
    /// The reason, in words.
    pub reason: String,
}

impl Skip {
    /// A skip of `kind` for `reason`.
    pub fn new(kind: SkipKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }
}

/// A reference's outcome.
#[derive(Debug, Clone)]
pub enum Outcome<'a> {
    /// No rule builds it, for this reason.
    Skip(Skip),
    /// The rules that matched it, each with its own verdict.
    Rules(Vec<RuleOutcome<'a>>),
}

/// One matching rule's verdict on a reference.
#[derive(Debug, Clone)]
pub struct RuleOutcome<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Build `commit` for this reason, or skip for that one.
    pub verdict: RuleVerdict<'a>,
}

/// Build or skip, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleVerdict<'a> {
    /// Start the rule's project on `commit`.
    Build {
        /// The commit to build.
        commit: &'a CommitId,
        /// Why.
        reason: String,
    },
    /// Do not, for this reason.
    Skip(Skip),
}

/// One line of a decision: a matching rule's verdict, or the reference's own
/// skip. The answer, the log and `explain` all report decisions as these.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The decision the line belongs to.
    pub decision: &'a Decision<'a>,
    /// The rule, unless no rule matched.
    pub rule: Option<&'a Rule>,
    /// The commit to build, or `None` to skip.
    pub build: Option<&'a CommitId>,
    /// What kind of skip, when it is one.
    pub skip: Option<SkipKind>,
    /// Why.
    pub reason: &'a str,
}

impl<'a> Decision<'a> {
    /// The decision's lines: one per matching rule, or the one skip.
    pub fn lines(&'a self) -> impl Iterator<Item = Line<'a>> {
        let (skip, outcomes) = match &self.outcome {
            Outcome::Skip(skip) => (Some(skip), &[][..]),
            Outcome::Rules(outcomes) => (None, outcomes.as_slice()),
        };
        let skip = skip.map(|skip| Line {
            decision: self,
            rule: None,
            build: None,
            skip: Some(skip.kind),
            reason: &skip.reason,
        });
        skip.into_iter().chain(outcomes.iter().map(move |outcome| {
            let (build, skip, reason) = match &outcome.verdict {
                RuleVerdict::Build { commit, reason } => (Some(*commit), None, reason.as_str()),
                RuleVerdict::Skip(skip) => (None, Some(skip.kind), skip.reason.as_str()),
            };
            Line {
                decision: self,
                rule: Some(outcome.rule),
                build,
                skip,
                reason,
            }
        }))
    }
}

impl Line<'_> {
    /// The pull request the line is about, if any.
    pub fn pull_request(&self) -> Option<&str> {
        self.decision
            .record
            .pull_request
            .as_ref()
            .map(|pull_request| pull_request.id.as_str())
    }

    /// `build` or `skip`.
    pub fn verdict_word(&self) -> &'static str {
        if self.build.is_some() {
            "build"
        } else {
            "skip"
        }
    }
}

/// The rules whose projects keep builds of `record`'s pull request to stop
/// when it closes or merges: those that supersede and would build it.
pub fn rules_superseding_pull_request<'a>(
    config: &'a Config,
    files: &'a Files,
    record: &Record,
) -> Vec<&'a Rule> {
    let Some(pull_request) = &record.pull_request else {
        return Vec::new();
    };
    let Ok(rules) = rules_for(config, files, record, &pull_request.destination_commit) else {
        return Vec::new();
    };
    rules
        .iter()
        .filter(|rule| {
            rule.supersede
                && match_pull_request(rule, &record.repository.name, pull_request).is_ok()
        })
        .collect()
}

fn kind_word(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Branch => "branch",
        RefKind::Tag => "tag",
        RefKind::Other => "reference",
    }
}

/// Decides every reference of an event's `records` as far as the event, the
/// configuration and the repositories' `files` allow, in event order.
pub fn plan<'a>(config: &'a Config, files: &'a Files, records: &'a [Record]) -> Plan<'a> {
    let mut references: Vec<Planned<'a>> = records
        .iter()
        .flat_map(|record| {
            record.references.iter().map(move |update| Planned {
                record,
                update,
                step: plan_reference(config, files, record, update),
            })
        })
        .collect();
    skip_repeats(records, &mut references);
    Plan { config, references }
}

/// Skips a reference some rule would build when the same reference and
/// commit came earlier in the event, so one push never builds a commit twice.
/// (References no rule builds keep their own reason.)
fn skip_repeats(records: &[Record], references: &mut [Planned<'_>]) {
    let candidates = references
        .iter()
        .filter(|planned| matches!(planned.step, Step::Candidates { .. }))
        .count();
    let mut first_built = HashMap::with_capacity_and_hasher(candidates, RandomState::default());
    let positions = records.iter().enumerate().flat_map(|(record, pushed)| {
        (0..pushed.references.len()).map(move |reference| (record, reference))
    });
    for (planned, position) in references.iter_mut().zip(positions) {
        let Step::Candidates { commit, .. } = planned.step else {
            continue;
        };
        let identity = Identity {
            repository: &planned.record.repository.arn,
            reference: &planned.update.reference,
            commit,
        };
        match first_built.entry(identity) {
            Entry::Vacant(first) => {
                first.insert(position);
            }
            Entry::Occupied(first) => {
                let (record, reference) = first.get();
                planned.step = Step::Skip(Skip::new(SkipKind::Outdated, format!(
                    "same reference and commit as Records[{record}].codecommit.references[{reference}] of this event"
                )));
            }
        }
    }
}

/// What makes two references of a push the same one delivered twice.
#[derive(PartialEq, Eq)]
struct Identity<'a> {
    repository: &'a str,
    reference: &'a GitRef,
    commit: &'a CommitId,
}

impl Hash for Identity<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The reference tells references apart; the repository ARN, the same
        // for a whole record, would only add bytes to hash. Equality still
        // compares all three.
        self.reference.hash(state);
        self.commit.hash(state);
    }
}

/// A reference that no skip decided before the rules: what they decide it with.
struct Admitted<'a> {
    kind: RefKind,
    name: &'a str,
    commit: &'a CommitId,
    created: bool,
    previous: &'a Option<CommitId>,
}

/// What decides a reference before any rule: deleted, neither branch nor tag, a pull
/// request that is not open or only merged, an ignored pusher; or what it builds.
fn admit<'a>(
    config: &Config,
    record: &'a Record,
    update: &'a RefUpdate,
) -> Result<Admitted<'a>, Skip> {
    let reference = &update.reference;
    let (kind, name) = reference.split();
    let (commit, created, previous) = match &update.change {
        RefChange::Deleted { .. } => {
            return Err(Skip::new(
                SkipKind::Reference,
                format!("{} {name} was deleted", kind_word(kind)),
            ))
        }
        RefChange::Pushed {
            commit,
            created,
            previous,
        } => (commit, *created, previous),
    };
    if kind == RefKind::Other {
        return Err(Skip::new(
            SkipKind::Reference,
            format!("{reference} is neither a branch (refs/heads/) nor a tag (refs/tags/)"),
        ));
    }
    if let Some(pull_request) = &record.pull_request {
        if pull_request.status != PullRequestStatus::Open {
            return Err(Skip::new(
                SkipKind::PullRequest,
                format!(
                    "pull request {} is {}: it never builds",
                    pull_request.id, pull_request.status
                ),
            ));
        }
        if record.kind == EventKind::PullRequestMergeStatusUpdated {
            return Err(Skip::new(
                SkipKind::PullRequest,
                format!(
                    "a {} event of an open pull request never builds",
                    record.kind.as_str()
                ),
            ));
        }
    }
    if let (Some(pusher), Some(ignored)) = (&record.pusher, &config.ignored_pushers) {
        if let Match::Included(pattern) = ignored.verdict(pusher) {
            let what = if record.pull_request.is_some() {
                "pull request changed"
            } else {
                "pushed"
            };
            return Err(Skip::new(
                SkipKind::Pusher,
                format!(
                    "{what} by {pusher}, which matches `{}` in IGNORE_PUSHERS",
                    pattern.as_str()
                ),
            ));
        }
    }
    Ok(Admitted {
        kind,
        name,
        commit,
        created,
        previous,
    })
}

fn plan_reference<'a>(
    config: &'a Config,
    files: &'a Files,
    record: &'a Record,
    update: &'a RefUpdate,
) -> Step<'a> {
    let reference = &update.reference;
    let Admitted {
        kind,
        name,
        commit,
        created,
        previous,
    } = match admit(config, record, update) {
        Ok(admitted) => admitted,
        Err(skip) => return Step::Skip(skip),
    };
    let rules = match rules_for(config, files, record, commit) {
        Ok(rules) => rules,
        Err(reason) => return Step::Skip(Skip::new(SkipKind::Configuration, reason)),
    };
    let hint = |rule: &Rule| match (&record.pull_request, previous) {
        (Some(pull_request), _) => BaseHint::MergeBase(pull_request.destination_commit.clone()),
        (None, Some(previous)) => BaseHint::Previous(previous.clone()),
        (None, None) if created => BaseHint::NewBranch,
        (None, None) => BaseHint::LastBuild {
            project: rule.project.clone(),
        },
    };
    match candidates(rules, record, kind, name, |rule| {
        (kind == RefKind::Branch && rule.filters_paths()).then(|| {
            Box::new(BaseQuery {
                repository: record.repository.name.clone(),
                reference: reference.as_str().to_owned(),
                commit: commit.clone(),
                hint: hint(rule),
            })
        })
    }) {
        Ok(rules) => Step::Candidates { commit, rules },
        Err(reason) => Step::Skip(Skip::new(SkipKind::Reference, reason)),
    }
}

/// The rules that would build the reference `kind` `name` of `record`, each
/// with its reason and its path-filter query (from `base`); or, when none
/// would, why not.
fn candidates<'a>(
    rules_in_order: &'a [Rule],
    record: &Record,
    kind: RefKind,
    name: &str,
    base: impl Fn(&Rule) -> Option<Box<BaseQuery>>,
) -> Result<Vec<Candidate<'a>>, String> {
    // One miss is the reason itself; more are joined. Most configurations
    // have one rule, so the first miss is kept apart from the others.
    let mut first_miss = None;
    let mut other_misses = Vec::new();
    let mut rules = Vec::new();
    for (position, rule) in rules_in_order.iter().enumerate() {
        let matched = match &record.pull_request {
            None => match_rule(rule, &record.repository.name, kind, name),
            Some(pull_request) => match_pull_request(rule, &record.repository.name, pull_request),
        };
        match matched {
            Ok(matched) => {
                // Room for this rule and the ones after it, rather than a
                // `Vec`'s first four: most references match one rule.
                if rules.is_empty() {
                    rules.reserve_exact(rules_in_order.len() - position);
                }
                rules.push(Candidate {
                    rule,
                    matched,
                    base: base(rule),
                });
            }
            Err(miss) if first_miss.is_none() => first_miss = Some(miss),
            Err(miss) => other_misses.push(miss),
        }
    }
    if !rules.is_empty() {
        return Ok(rules);
    }
    Err(match first_miss {
        Some(only) if other_misses.is_empty() => only,
        first => {
            let misses: Vec<String> = first.into_iter().chain(other_misses).collect();
            let subject = match &record.pull_request {
                Some(pull_request) => pull_request_into(pull_request),
                None => format!("{} {name}", kind_word(kind)),
            };
            format!("{subject} matches no rule: {}", misses.join("; "))
        }
    })
}

/// `pull request 17 into main`, as reasons name a pull request.
fn pull_request_into(pull_request: &PullRequest) -> String {
    format!(
        "pull request {} into {}",
        pull_request.id,
        pull_request.destination.short_name()
    )
}

/// Why `rule` does not apply to `repository`, if it does not.
fn match_repository(rule: &Rule, repository: &str) -> Result<(), String> {
    match &rule.repositories {
        Some(repositories) if !repositories.includes(repository) => {
            let [l0, l1, l2] = rule.label(PatternField::Repositories).pieces();
            Err(["repository ", repository, " does not match ", l0, l1, l2].concat())
        }
        _ => Ok(()),
    }
}

/// Why `rule` builds the pull request (by its destination branch), or why not.
fn match_pull_request(
    rule: &Rule,
    repository: &str,
    pull_request: &PullRequest,
) -> Result<String, String> {
    match_repository(rule, repository)?;
    let into = pull_request_into(pull_request);
    let label = rule.label(PatternField::PullRequests);
    let Some(patterns) = &rule.pull_requests else {
        let why = if rule.reported_name().is_none() {
            "is empty"
        } else {
            "is not set"
        };
        return Err(format!("{into} is not built: {label} {why}"));
    };
    match patterns.verdict(pull_request.destination.short_name()) {
        Match::Included(pattern) => Ok(format!("{into} matches `{}` in {label}", pattern.as_str())),
        Match::Excluded(pattern) => Err(format!(
            "{into} is excluded by `{}` in {label}",
            pattern.as_str()
        )),
        Match::Unmatched => Err(format!("{into} does not match {label}")),
    }
}

/// Why `rule` matches the reference, or why not. Each reason is one
/// `concat`, allocated once at its length: the formatting machinery would
/// cost more than the rest of the decision.
fn match_rule(rule: &Rule, repository: &str, kind: RefKind, name: &str) -> Result<String, String> {
    match_repository(rule, repository)?;
    let (patterns, field) = match kind {
        RefKind::Branch => (&rule.branches, PatternField::Branches),
        _ => (&rule.tags, PatternField::Tags),
    };
    let word = kind_word(kind);
    let [l0, l1, l2] = rule.label(field).pieces();
    let Some(patterns) = patterns else {
        // The shorthand's TAGS is set but empty: say it as the contract does.
        let why = if matches!(field, PatternField::Tags) && rule.reported_name().is_none() {
            " is empty"
        } else {
            " is not set"
        };
        return Err([word, " ", name, " is not built: ", l0, l1, l2, why].concat());
    };
    let (says, pattern) = match patterns.verdict(name) {
        Match::Included(pattern) => (" matches `", pattern),
        Match::Excluded(pattern) => (" is excluded by `", pattern),
        Match::Unmatched => return Err([word, " ", name, " does not match ", l0, l1, l2].concat()),
    };
    let reason = [word, " ", name, says, pattern.as_str(), "` in ", l0, l1, l2].concat();
    if pattern.is_negated() {
        Err(reason)
    } else {
        Ok(reason)
    }
}

impl Plan<'_> {
    /// The facts [`finish`] needs: only for references some rule would build.
    pub fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        for planned in &self.references {
            let Step::Candidates { commit, rules } = &planned.step else {
                continue;
            };
            if let Some(pull_request) = &planned.record.pull_request {
                needs.pull_requests.insert(PullRequestKey {
                    repository: planned.record.repository.name.clone(),
                    id: pull_request.id.clone(),
                });
            } else if let (RefKind::Branch, true) = (
                planned.update.reference.kind(),
                rules.iter().any(|candidate| candidate.rule.supersede),
            ) {
                needs.branches.insert(BranchKey {
                    repository: planned.record.repository.name.clone(),
                    branch: planned.update.reference.short_name().to_owned(),
                });
            }
            if self.config.skip_markers {
                needs.messages.insert(CommitKey {
                    repository: planned.record.repository.name.clone(),
                    commit: (*commit).clone(),
                });
            }
            needs
                .bases
                .extend(rules.iter().filter_map(|c| c.base.as_deref().cloned()));
        }
        needs
    }
}

/// Decides what [`plan`] left open, with the gathered `facts`.
pub fn finish<'a>(plan: Plan<'a>, facts: &Facts) -> Vec<Decision<'a>> {
    let config = plan.config;
    plan.references
        .into_iter()
        .map(|planned| Decision {
            record: planned.record,
            update: planned.update,
            outcome: match planned.step {
                Step::Skip(skip) => Outcome::Skip(skip),
                Step::Candidates { commit, rules } => {
                    finish_reference(config, planned.record, planned.update, commit, rules, facts)
                }
            },
        })
        .collect()
}

/// A reference some rule would build: skipped if its pull request has closed
/// since the event or its commit carries a skip marker; else each rule's verdict
/// (a rule that supersedes skips a branch or pull request that has moved on since).
/// A fact that could not be read is noted in the reasons, and the rules decide.
fn finish_reference<'a>(
    config: &Config,
    record: &Record,
    update: &RefUpdate,
    commit: &'a CommitId,
    rules: Vec<Candidate<'a>>,
    facts: &Facts,
) -> Outcome<'a> {
    let mut notes = Vec::new();
    let mut moved_on = None;
    if let Some(pull_request) = &record.pull_request {
        let key = PullRequestKey {
            repository: record.repository.name.clone(),
            id: pull_request.id.clone(),
        };
        match facts.pull_requests.get(&key) {
            Some(Ok(PullRequestNow {
                status: PullRequestStatus::Open,
                revision,
            })) => {
                if *revision != pull_request.revision {
                    moved_on = Some(format!(
                        "pull request {} has moved on to revision {revision} (GetPullRequest)",
                        pull_request.id
                    ));
                }
            }
            Some(Ok(PullRequestNow { status, .. })) => {
                return Outcome::Skip(Skip::new(
                    SkipKind::PullRequest,
                    format!(
                        "pull request {} is {status} now (GetPullRequest): it never builds",
                        pull_request.id
                    ),
                ))
            }
            Some(Err(why)) => notes.push(format!("pull request status not checked: {why}")),
            None => notes.push("pull request status not checked: it was not read".to_owned()),
        }
    } else if let Some(head) = facts.branches.get(&BranchKey {
        repository: record.repository.name.clone(),
        branch: update.reference.short_name().to_owned(),
    }) {
        match head {
            Ok(Some(head)) if head != commit.as_str() => {
                moved_on = Some(format!(
                    "the branch has moved on to commit {} (GetBranch)",
                    short(head)
                ));
            }
            Ok(Some(_)) => {}
            Ok(None) => moved_on = Some("the branch has been deleted since (GetBranch)".into()),
            Err(why) => notes.push(format!("branch head not checked: {why}")),
        }
    }
    if config.skip_markers {
        let key = CommitKey {
            repository: record.repository.name.clone(),
            commit: commit.clone(),
        };
        match facts.messages.get(&key) {
            Some(Ok(message)) => {
                if let Some(marker) = skip_marker(message) {
                    return Outcome::Skip(Skip::new(
                        SkipKind::SkipMarker,
                        format!(
                            "the message of commit {} contains {marker}",
                            short(commit.as_str())
                        ),
                    ));
                }
            }
            Some(Err(why)) => notes.push(format!("skip markers not checked: {why}")),
            None => notes.push("skip markers not checked: the commit was not read".to_owned()),
        }
    }
    Outcome::Rules(
        rules
            .into_iter()
            .map(|candidate| {
                decide_candidate(candidate, commit, &notes, moved_on.as_deref(), facts)
            })
            .collect(),
    )
}

fn decide_candidate<'a>(
    candidate: Candidate<'a>,
    commit: &'a CommitId,
    notes: &[String],
    moved_on: Option<&str>,
    facts: &Facts,
) -> RuleOutcome<'a> {
    let Candidate {
        rule,
        matched,
        base,
    } = candidate;
    if let (true, Some(moved_on)) = (rule.supersede, moved_on) {
        return RuleOutcome {
            rule,
            verdict: RuleVerdict::Skip(Skip::new(
                SkipKind::Outdated,
                format!(
                    "{matched}, but {moved_on}: the rule supersedes, so the newer change builds instead"
                ),
            )),
        };
    }
    let mut reason = matched;
    let build = |mut reason: String, extra: Option<String>| {
        for note in notes.iter().chain(extra.as_ref()) {
            reason.push_str("; ");
            reason.push_str(note);
        }
        RuleVerdict::Build { commit, reason }
    };
    let verdict = match base.map(|query| facts.changes.get(&*query)) {
        None => build(reason, None),
        Some(None) => build(
            reason,
            Some("paths not checked: the changes were not read".to_owned()),
        ),
        Some(Some(Err(why))) => build(reason, Some(format!("paths not checked: {why}"))),
        Some(Some(Ok(changes))) => {
            let relevant = changes
                .paths
                .iter()
                .filter(|path| counts(rule, path))
                .count();
            let since = format!("since {}", short(&changes.base));
            let total = changes.paths.len();
            if relevant > 0 {
                reason.push_str(&format!(
                    "; {relevant} of {total} files changed {since} {}",
                    path_filter_words(rule)
                ));
                build(reason, None)
            } else if total == 0 {
                RuleVerdict::Skip(Skip::new(
                    SkipKind::Paths,
                    format!("{reason}, but no file changed {since}"),
                ))
            } else {
                RuleVerdict::Skip(Skip::new(
                    SkipKind::Paths,
                    format!(
                        "{reason}, but none of the {total} files changed {since} {}",
                        path_filter_words(rule)
                    ),
                ))
            }
        }
    };
    RuleOutcome { rule, verdict }
}

/// Whether a changed file counts for `rule`: included by its paths (when
/// set) and not by its ignored paths.
fn counts(rule: &Rule, path: &str) -> bool {
    rule.paths.as_ref().is_none_or(|paths| paths.includes(path))
        && !rule
            .paths_ignore
            .as_ref()
            .is_some_and(|ignored| ignored.includes(path))
}

fn path_filter_words(rule: &Rule) -> String {
    let named = |list: &Option<PatternList>, field, words: &str| {
        list.as_ref()
            .map(|_| format!("{words} {}", rule.label(field)))
    };
    [
        named(&rule.paths, PatternField::Paths, "match"),
        named(&rule.paths_ignore, PatternField::PathsIgnore, "escape"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" and ")
}

/// The first skip marker in `message`, any case.
fn skip_marker(message: &str) -> Option<&'static str> {
    let message = message.to_lowercase();
    SKIP_MARKERS
        .into_iter()
        .find(|marker| message.contains(marker))
}

fn short(commit: &str) -> &str {
    commit.get(..8).unwrap_or(commit)
}

#[cfg(test)]
mod tests;
