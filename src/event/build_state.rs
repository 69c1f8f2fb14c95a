//! EventBridge "CodeBuild Build State Change" events.
//!
//! What the service sends: `build-id` is the build's full ARN, the times are not ISO 8601 (and
//! are not read: a duration is the sum of the phases' `duration-in-seconds`), and most fields
//! can be absent. `aws_lambda_events`' `CodeBuildEvent` requires fields that real events
//! omit (`additional-information.artifact`, `timeout-in-minutes`, `logs`, each phase's
//! `start-time`) and parses every time, so one absent field it does not need would refuse an
//! event this function only needs a dozen fields of: the detail here is this crate's own.
//!
//! A build is traced back to its push or pull request by the PLAINTEXT `CODECOMMIT_*`
//! variables it was started with ([`crate::vocabulary::variables`]), which must name the commit the build
//! built (`source-version`); a build without them, or with values this function never writes,
//! is not this function's, and its event is answered with the reason, never acted on.

use super::validate::{quoted, validate_commit, MAX_REVISION_LEN};
use super::{
    deserialize, Build, BuildChange, BuildOrigin, BuildStatus, FailedPhase, InvalidEvent,
    LogStream, Repository,
};
use crate::vocabulary::arn::Arn;
use crate::vocabulary::variables;
use serde::Deserialize;
use serde_json::Value;

/// The `detail-type` of these events.
pub(super) const DETAIL_TYPE: &str = "CodeBuild Build State Change";
/// Their `source`.
pub(super) const SOURCE: &str = "aws.codebuild";

/// Longest status word accepted.
const MAX_STATUS_LEN: usize = 64;
/// Most phase-context lines kept (each is cut when shown).
const MAX_CONTEXT_LINES: usize = 10;

#[derive(Deserialize)]
struct RawDetail {
    #[serde(rename = "build-status")]
    build_status: String,
    #[serde(rename = "project-name")]
    project_name: String,
    #[serde(rename = "build-id")]
    build_id: String,
    #[serde(rename = "additional-information", default)]
    information: RawInformation,
}

#[derive(Deserialize, Default)]
struct RawInformation {
    #[serde(rename = "build-complete", default)]
    build_complete: Option<bool>,
    /// A number; CodeBuild has sent it as `55.0` as well as `55`.
    #[serde(rename = "build-number", default)]
    build_number: Option<serde_json::Number>,
    #[serde(rename = "source-version", default)]
    source_version: Option<String>,
    #[serde(default)]
    environment: Option<RawEnvironment>,
    #[serde(default)]
    logs: Option<RawLogs>,
    #[serde(default)]
    phases: Vec<RawPhase>,
}

#[derive(Deserialize)]
struct RawEnvironment {
    #[serde(rename = "environment-variables", default)]
    variables: Vec<RawVariable>,
}

#[derive(Deserialize)]
struct RawVariable {
    name: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct RawLogs {
    #[serde(rename = "group-name", default)]
    group: Option<String>,
    #[serde(rename = "stream-name", default)]
    stream: Option<String>,
}

#[derive(Deserialize)]
struct RawPhase {
    #[serde(rename = "phase-type")]
    phase: String,
    #[serde(rename = "phase-status", default)]
    status: Option<String>,
    #[serde(rename = "duration-in-seconds", default)]
    duration: Option<serde_json::Number>,
    /// Strings, as far as anyone has seen; anything else is shown as JSON.
    #[serde(rename = "phase-context", default)]
    context: Option<Vec<Value>>,
}

fn invalid(path: &str, problem: String) -> InvalidEvent {
    InvalidEvent {
        path: path.to_owned(),
        problem,
    }
}

/// Validates a build-state event given its envelope's `resources` and `detail`.
pub(super) fn validate(
    resources: &[String],
    detail: Option<&serde_json::value::RawValue>,
) -> Result<BuildChange, InvalidEvent> {
    let detail = detail.ok_or_else(|| invalid("detail", "is missing".into()))?;
    let detail: RawDetail = deserialize(detail.get(), "detail")?;
    let build = build(&detail)?;
    if !resources.is_empty() && resources.iter().all(|resource| *resource != build.arn) {
        return Err(invalid(
            "resources",
            format!("does not name the build {}", quoted(&build.arn)),
        ));
    }
    if detail.build_status.is_empty()
        || detail.build_status.len() > MAX_STATUS_LEN
        || !detail
            .build_status
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_')
    {
        return Err(invalid(
            "detail.build-status",
            format!("{} is not a build status", quoted(&detail.build_status)),
        ));
    }
    let information = detail.information;
    let report = BuildReport {
        status: BuildStatus::parse(&detail.build_status),
        complete: information.build_complete,
        number: information.build_number.as_ref().and_then(whole),
        source_version: information.source_version,
        variables: information
            .environment
            .map(|environment| environment.variables)
            .unwrap_or_default()
            .into_iter()
            .map(|variable| Variable {
                plaintext: variable
                    .kind
                    .as_deref()
                    .is_none_or(|kind| kind == "PLAINTEXT"),
                name: variable.name,
                value: variable.value,
            })
            .collect(),
        log: information
            .logs
            .and_then(|logs| LogStream::named(logs.group, logs.stream)),
        phases: information
            .phases
            .into_iter()
            .map(|phase| Phase {
                phase: phase.phase,
                status: phase.status,
                duration_seconds: phase.duration.as_ref().and_then(whole),
                context: phase
                    .context
                    .into_iter()
                    .flatten()
                    .map(|line| match line {
                        Value::String(text) => text,
                        other => other.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        initiator: None,
        report_arns: Vec::new(),
        batch_arn: None,
    };
    Ok(report.change(build))
}

/// What a build says of itself: the `detail` of its state-change event, or CodeBuild's own
/// answer (`BatchGetBuilds`), which the reporter trusts where the two differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// Its status.
    pub status: BuildStatus,
    /// Whether it has ended, when said; otherwise any status but `IN_PROGRESS` is an end.
    pub complete: Option<bool>,
    /// The project's build counter.
    pub number: Option<u64>,
    /// The commit it built.
    pub source_version: Option<String>,
    /// Its environment variables, as started.
    pub variables: Vec<Variable>,
    /// Where it logs, when it does.
    pub log: Option<LogStream>,
    /// Its phases, in order.
    pub phases: Vec<Phase>,
    /// Who started it (`BatchGetBuilds`' `initiator`: `ROLE/SESSION` for a role session).
    pub initiator: Option<String>,
    /// Its test reports' ARNs (`BatchGetBuilds`' `reportArns`).
    pub report_arns: Vec<String>,
    /// The ARN of the batch build it is one build of (`BatchGetBuilds`' `buildBatchArn`).
    pub batch_arn: Option<String>,
}

/// One environment variable of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Whether its type is `PLAINTEXT` (the only type whose value is the value).
    pub plaintext: bool,
    /// Its value.
    pub value: Option<String>,
}

/// One phase of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `BUILD`, `INSTALL`, ...
    pub phase: String,
    /// `SUCCEEDED`, `FAILED`, ...; none while it runs.
    pub status: Option<String>,
    /// How long it took.
    pub duration_seconds: Option<u64>,
    /// Why it ended as it did, one line per context.
    pub context: Vec<String>,
}

impl BuildReport {
    /// The change this report describes of `build` (the build its event or id names).
    pub fn change(self, build: Build) -> BuildChange {
        let complete = self
            .complete
            .unwrap_or(self.status != BuildStatus::InProgress);
        let origin = origin(&build, &self.variables, self.source_version.as_deref());
        let queued = !complete
            && self
                .phases
                .last()
                .is_some_and(|phase| phase.phase == "QUEUED" && phase.status.is_none());
        BuildChange {
            build: Build {
                number: self.number,
                ..build
            },
            failed_phase: complete.then(|| failed_phase(&self.phases)).flatten(),
            duration_seconds: self
                .phases
                .iter()
                .filter_map(|phase| phase.duration_seconds)
                .fold(0, u64::saturating_add),
            status: self.status,
            complete,
            queued,
            origin,
            log: self.log,
            initiator: self.initiator,
            report_arns: self.report_arns,
            batch_arn: self.batch_arn,
        }
    }
}

/// The build `build-id` names, which must be of project `project-name`.
fn build(detail: &RawDetail) -> Result<Build, InvalidEvent> {
    let not_a_build = || {
        invalid(
            "detail.build-id",
            format!(
                "{} is not a CodeBuild build ARN (arn:PARTITION:codebuild:REGION:ACCOUNT:build/PROJECT:ID)",
                quoted(&detail.build_id)
            ),
        )
    };
    let arn = Arn::parse(&detail.build_id).ok_or_else(not_a_build)?;
    let id = match arn {
        Arn {
            service: "codebuild",
            resource,
            ..
        } => resource.strip_prefix("build/").ok_or_else(not_a_build)?,
        _ => return Err(not_a_build()),
    };
    let Some((project, uuid)) = id.split_once(':') else {
        return Err(not_a_build());
    };
    let id_ok = crate::config::is_project_name(project)
        && !uuid.is_empty()
        && uuid.len() <= 64
        && uuid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !id_ok {
        return Err(not_a_build());
    }
    if project != detail.project_name {
        return Err(invalid(
            "detail.project-name",
            format!(
                "is {}, but build-id is a build of project {}",
                quoted(&detail.project_name),
                quoted(project)
            ),
        ));
    }
    Ok(Build {
        arn: detail.build_id.clone(),
        id: id.to_owned(),
        project: project.to_owned(),
        number: None,
        partition: arn.partition.to_owned(),
        region: arn.region.to_owned(),
        account: arn.account.to_owned(),
    })
}

/// A whole, non-negative number, written as an integer or as a float (`55.0`).
fn whole(number: &serde_json::Number) -> Option<u64> {
    number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n < 1e15)
            .map(|n| n as u64)
    })
}

/// What the build was started for, from its `CODECOMMIT_*` variables, or why it is not a
/// build this function started: it has no such variables, they are not what this function
/// writes, or the commit built (`source-version`) is not the one they name.
fn origin(
    build: &Build,
    variables: &[Variable],
    source_version: Option<&str>,
) -> Result<BuildOrigin, String> {
    let get = |name: &str| {
        variables
            .iter()
            .rev()
            .find(|variable| variable.name == name && variable.plaintext)
            .and_then(|variable| variable.value.as_deref())
    };
    let (Some(repository), Some(commit)) = (get(variables::REPOSITORY), get(variables::COMMIT))
    else {
        return Err(format!(
            "build {} has no CODECOMMIT_* variables: this function did not start it",
            build.id
        ));
    };
    let not_ours = |name: &str, problem: String| {
        format!(
            "build {} is not one this function started: its {name} {problem}",
            build.id
        )
    };
    let required =
        |name: &'static str| get(name).ok_or_else(|| not_ours(name, "is missing".into()));
    let repository = repository_named(build, repository)
        .map_err(|problem| not_ours(variables::REPOSITORY, problem))?;
    let commit = validate_commit(commit.to_owned())
        .map_err(|problem| not_ours(variables::COMMIT, problem))?;
    if source_version.is_some_and(|built| built != commit.as_str()) {
        return Err(not_ours(
            variables::COMMIT,
            format!(
                "is {commit}, but the build built {}",
                quoted(source_version.unwrap_or_default())
            ),
        ));
    }
    let rule = get(variables::RULE)
        .map(|rule| {
            crate::config::is_rule_name(rule)
                .then(|| rule.to_owned())
                .ok_or_else(|| {
                    not_ours(
                        variables::RULE,
                        format!("{} is not a rule name", quoted(rule)),
                    )
                })
        })
        .transpose()?;
    let Some(id) = get(variables::PULL_REQUEST_ID) else {
        return Ok(BuildOrigin::Push {
            repository,
            commit,
            rule,
        });
    };
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_ours(
            variables::PULL_REQUEST_ID,
            format!("{} is not a pull request id", quoted(id)),
        ));
    }
    let revision = required(variables::PULL_REQUEST_REVISION)?;
    if revision.is_empty()
        || revision.len() > MAX_REVISION_LEN
        || !revision.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(not_ours(
            variables::PULL_REQUEST_REVISION,
            format!("{} is not a revision id", quoted(revision)),
        ));
    }
    let destination_commit = validate_commit(required(variables::DESTINATION_COMMIT)?.to_owned())
        .map_err(|problem| not_ours(variables::DESTINATION_COMMIT, problem))?;
    Ok(BuildOrigin::PullRequest {
        repository,
        id: id.to_owned(),
        revision: revision.to_owned(),
        source_commit: commit,
        destination_commit,
        rule,
    })
}

/// The repository `name`, in the build's partition, region and account.
fn repository_named(build: &Build, name: &str) -> Result<Repository, String> {
    let arn = format!(
        "arn:{}:codecommit:{}:{}:{name}",
        build.partition, build.region, build.account
    );
    super::validate::parse_repository_arn(&arn).map_err(|_| {
        format!(
            "{} is not a repository name (1 to 100 letters, digits, `.`, `_` or `-`)",
            quoted(name)
        )
    })
}

/// The first phase whose status is neither `SUCCEEDED` nor absent (a phase still running, or
/// `COMPLETED`, has none).
fn failed_phase(phases: &[Phase]) -> Option<FailedPhase> {
    let phase = phases.iter().find(|phase| {
        phase
            .status
            .as_deref()
            .is_some_and(|status| status != "SUCCEEDED")
    })?;
    let context = phase
        .context
        .iter()
        .filter(|line| !line.is_empty() && *line != ": ")
        .take(MAX_CONTEXT_LINES)
        .cloned()
        .collect();
    Some(FailedPhase {
        phase: crate::vocabulary::truncate(&phase.phase, MAX_STATUS_LEN),
        status: crate::vocabulary::truncate(
            phase.status.as_deref().unwrap_or_default(),
            MAX_STATUS_LEN,
        ),
        context,
    })
}

#[cfg(test)]
mod tests;
