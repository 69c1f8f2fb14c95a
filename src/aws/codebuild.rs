//! [`BuildReads`] and [`BuildWrites`] on the AWS SDK's CodeBuild client, with StartBuild's
//! own retry policy.

use super::reads::{
    BatchGroup, BatchReport, BuildReads, BuildsPage, FailedTest, PastBuild, ProjectReads,
    TestResults, MAX_FAILED_TESTS, RECENT_BUILDS,
};
use super::writes::{BuildRequest, BuildWrites, StartedBuild};
use super::AwsError;
use crate::event::{BuildReport, BuildStatus, LogStream, Phase, Variable};
use crate::vocabulary::variables;
use aws_sdk_codebuild::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_codebuild::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codebuild::primitives::DateTime;
use aws_sdk_codebuild::types::{
    Build, BuildBatch, ComputeType, EnvironmentType, EnvironmentVariable, EnvironmentVariableType,
    ProjectEnvironment, RetryBuildBatchType, SortOrderType, SourceType, StatusType, TestCaseFilter,
};
use std::time::Duration;

/// What `batch` says of itself: the batch as a build, and its builds.
fn batch_report_of(batch: &BuildBatch) -> BatchReport {
    let millis = |time: Option<&DateTime>| time.and_then(|t| t.to_millis().ok());
    let duration_seconds = match (millis(batch.start_time()), millis(batch.end_time())) {
        (Some(start), Some(end)) if end >= start => u64::try_from((end - start) / 1000).ok(),
        _ => None,
    };
    BatchReport {
        report: BuildReport {
            status: BuildStatus::parse(batch.build_batch_status().map_or("", StatusType::as_str)),
            complete: Some(batch.complete()),
            number: batch
                .build_batch_number()
                .and_then(|number| u64::try_from(number).ok()),
            source_version: batch
                .resolved_source_version()
                .or(batch.source_version())
                .map(str::to_owned),
            variables: variables_of(batch.environment()),
            log: None,
            phases: Vec::new(),
            initiator: batch.initiator().map(str::to_owned),
            report_arns: Vec::new(),
            batch_arn: None,
        },
        duration_seconds,
        groups: batch
            .build_groups()
            .iter()
            .map(|group| {
                let current = group.current_build_summary();
                BatchGroup {
                    identifier: group.identifier().unwrap_or_default().to_owned(),
                    build_id: current
                        .and_then(|summary| summary.arn())
                        .and_then(build_id_of_arn)
                        .map(str::to_owned),
                    status: current
                        .and_then(|summary| summary.build_status())
                        .map(|status| status.as_str().to_owned()),
                    retried: u32::try_from(group.prior_build_summary_list().len())
                        .unwrap_or(u32::MAX),
                }
            })
            .collect(),
    }
}

/// `PROJECT:UUID` of a build's ARN (`arn:...:build/PROJECT:UUID`).
fn build_id_of_arn(arn: &str) -> Option<&str> {
    crate::vocabulary::arn::Arn::parse(arn)?
        .resource
        .strip_prefix("build/")
}

impl PastBuild {
    /// What the function needs to know of `batch`, as of an earlier build.
    fn from_batch(batch: &BuildBatch) -> Option<Self> {
        let variable = |name: &str| variable_in(batch.environment(), name);
        Some(Self {
            id: batch.id()?.to_owned(),
            source_version: batch
                .resolved_source_version()
                .or(batch.source_version())
                .map(str::to_owned),
            in_progress: batch.build_batch_status() == Some(&StatusType::InProgress),
            repository: variable(variables::REPOSITORY),
            reference: variable(variables::REF),
            pull_request: variable(variables::PULL_REQUEST_ID),
            revision: variable(variables::PULL_REQUEST_REVISION),
            rule: variable(variables::RULE),
            status: batch
                .build_batch_status()
                .map(|status| status.as_str().to_owned()),
            number: batch
                .build_batch_number()
                .and_then(|number| u64::try_from(number).ok()),
            started_at: batch.start_time().and_then(|time| time.to_millis().ok()),
            initiator: batch.initiator().map(str::to_owned),
            in_batch: false,
        })
    }

    fn from_build(build: &Build) -> Option<Self> {
        let variable = |name: &str| variable_in(build.environment(), name);
        Some(Self {
            id: build.id()?.to_owned(),
            source_version: build
                .resolved_source_version()
                .or(build.source_version())
                .map(str::to_owned),
            in_progress: build.build_status() == Some(&StatusType::InProgress),
            repository: variable(variables::REPOSITORY),
            reference: variable(variables::REF),
            pull_request: variable(variables::PULL_REQUEST_ID),
            revision: variable(variables::PULL_REQUEST_REVISION),
            rule: variable(variables::RULE),
            status: build
                .build_status()
                .map(|status| status.as_str().to_owned()),
            number: build
                .build_number()
                .and_then(|number| u64::try_from(number).ok()),
            started_at: build.start_time().and_then(|time| time.to_millis().ok()),
            initiator: build.initiator().map(str::to_owned),
            in_batch: build.build_batch_arn().is_some(),
        })
    }
}

/// The value of variable `name` in `environment` (a build's or a batch's), when it has one.
fn variable_in(environment: Option<&ProjectEnvironment>, name: &str) -> Option<String> {
    environment?
        .environment_variables()
        .iter()
        .find(|variable| variable.name() == name)
        .map(|variable| variable.value().to_owned())
}

/// The environment variables CodeBuild reports of a build or batch.
fn variables_of(environment: Option<&ProjectEnvironment>) -> Vec<Variable> {
    environment
        .map(ProjectEnvironment::environment_variables)
        .unwrap_or_default()
        .iter()
        .map(|variable| Variable {
            name: variable.name().to_owned(),
            plaintext: variable
                .r#type()
                .is_none_or(|kind| *kind == EnvironmentVariableType::Plaintext),
            value: Some(variable.value().to_owned()),
        })
        .collect()
}

/// What `build` says of itself, as the reporter reads it.
fn report_of(build: &Build) -> BuildReport {
    BuildReport {
        status: BuildStatus::parse(build.build_status().map_or("", StatusType::as_str)),
        complete: Some(build.build_complete()),
        number: build
            .build_number()
            .and_then(|number| u64::try_from(number).ok()),
        source_version: build
            .resolved_source_version()
            .or(build.source_version())
            .map(str::to_owned),
        variables: variables_of(build.environment()),
        log: build.logs().and_then(|logs| {
            LogStream::named(
                logs.group_name().map(str::to_owned),
                logs.stream_name().map(str::to_owned),
            )
        }),
        phases: build
            .phases()
            .iter()
            .map(|phase| Phase {
                phase: phase
                    .phase_type()
                    .map_or_else(String::new, |kind| kind.as_str().to_owned()),
                status: phase
                    .phase_status()
                    .map(|status| status.as_str().to_owned()),
                duration_seconds: phase
                    .duration_in_seconds()
                    .and_then(|seconds| u64::try_from(seconds).ok()),
                context: phase
                    .contexts()
                    .iter()
                    .map(|context| {
                        [context.status_code(), context.message()]
                            .into_iter()
                            .flatten()
                            .filter(|part| !part.is_empty())
                            .collect::<Vec<_>>()
                            .join(": ")
                    })
                    .collect(),
            })
            .collect(),
        initiator: build.initiator().map(str::to_owned),
        report_arns: build.report_arns().to_vec(),
        batch_arn: build.build_batch_arn().map(str::to_owned),
    }
}

/// How many times one StartBuild is tried. CodeBuild throttles StartBuild
/// under bursts (a push of many references, several repositories at once).
/// The pauses between attempts are random (full jitter) below 1 s, 2 s, then
/// [`START_MAX_BACKOFF`]: ten attempts span about 15 s of pauses on average,
/// enough to ride out a storm of several seconds. The client's operation
/// timeout and the invocation's deadline end the retries sooner.
const START_ATTEMPTS: u32 = 10;
/// The longest pause between two StartBuild attempts.
const START_MAX_BACKOFF: Duration = Duration::from_secs(4);
/// StartBuild's retry quota: the SDK's default capacity (100 throttled
/// retries), refilled over time rather than only by successes, so that a warm
/// process that once rode out a storm can ride out the next.
const START_RETRY_QUOTA: usize = 500;
/// Quota tokens regained a second (a throttled retry costs 5).
const START_RETRY_REFILL_PER_SECOND: f32 = 5.0;

/// [`BuildReads`] and [`BuildWrites`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct CodeBuild {
    client: aws_sdk_codebuild::Client,
    /// StartBuild's retries: [`START_ATTEMPTS`] and a quota of its own. The
    /// reads keep the client's retries: their facts are optional.
    start_retries: aws_sdk_codebuild::config::Builder,
}

impl CodeBuild {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_codebuild::Client) -> Self {
        let quota = TokenBucket::builder()
            .capacity(START_RETRY_QUOTA)
            .refill_rate(START_RETRY_REFILL_PER_SECOND)
            .build();
        let start_retries = aws_sdk_codebuild::config::Builder::default()
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(START_ATTEMPTS)
                    .with_max_backoff(START_MAX_BACKOFF),
            )
            .retry_partition(
                RetryPartition::custom("StartBuild")
                    .token_bucket(quota)
                    .build(),
            );
        Self {
            client,
            start_retries,
        }
    }
}

impl BuildReads for CodeBuild {
    async fn builds_page(
        &self,
        project: &str,
        page: Option<String>,
    ) -> Result<BuildsPage, AwsError> {
        let name = crate::config::project_name(project);
        // Newest first is the default order; CodeBuild refuses an explicit
        // sort order for projects with more than 100 builds.
        let listed = self
            .client
            .list_builds_for_project()
            .project_name(name)
            .set_next_token(page)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("ListBuildsForProject", error))?;
        let next = listed.next_token.filter(|token| !token.is_empty());
        let ids: Vec<_> = listed
            .ids
            .unwrap_or_default()
            .into_iter()
            .take(RECENT_BUILDS)
            .collect();
        if ids.is_empty() {
            return Ok(BuildsPage {
                builds: Vec::new(),
                next,
            });
        }
        let builds = self
            .client
            .batch_get_builds()
            .set_ids(Some(ids.clone()))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("BatchGetBuilds", error))?
            .builds
            .unwrap_or_default();
        // BatchGetBuilds promises no order: keep ListBuildsForProject's, newest first.
        let mut past: Vec<_> = builds.iter().filter_map(PastBuild::from_build).collect();
        past.sort_by_key(|build| ids.iter().position(|id| *id == build.id));
        Ok(BuildsPage { builds: past, next })
    }

    async fn builds(&self, ids: &[String]) -> Result<Vec<(String, BuildReport)>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let answer = self
            .client
            .batch_get_builds()
            .set_ids(Some(ids.iter().take(100).cloned().collect()))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("BatchGetBuilds", error))?;
        Ok(answer
            .builds()
            .iter()
            .filter_map(|build| Some((build.id()?.to_owned(), report_of(build))))
            .collect())
    }

    async fn batches_page(
        &self,
        project: &str,
        page: Option<String>,
    ) -> Result<BuildsPage, AwsError> {
        let listed = self
            .client
            .list_build_batches_for_project()
            .project_name(crate::config::project_name(project))
            .sort_order(SortOrderType::Descending)
            .max_results(i32::try_from(RECENT_BUILDS).unwrap_or(100))
            .set_next_token(page)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("ListBuildBatchesForProject", error))?;
        let next = listed.next_token.filter(|token| !token.is_empty());
        let ids = listed.ids.unwrap_or_default();
        if ids.is_empty() {
            return Ok(BuildsPage {
                builds: Vec::new(),
                next,
            });
        }
        let batches = self
            .client
            .batch_get_build_batches()
            .set_ids(Some(ids.clone()))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("BatchGetBuildBatches", error))?;
        let mut past: Vec<_> = batches
            .build_batches()
            .iter()
            .filter_map(PastBuild::from_batch)
            .collect();
        past.sort_by_key(|batch| ids.iter().position(|id| *id == batch.id));
        Ok(BuildsPage { builds: past, next })
    }

    async fn batch(&self, id: &str) -> Result<Option<BatchReport>, AwsError> {
        let answer = self
            .client
            .batch_get_build_batches()
            .ids(id)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("BatchGetBuildBatches", error))?;
        Ok(answer
            .build_batches()
            .iter()
            .find(|batch| batch.id() == Some(id))
            .map(batch_report_of))
    }

    async fn test_results(&self, reports: &[String]) -> Result<TestResults, AwsError> {
        let mut results = TestResults::default();
        if reports.is_empty() {
            return Ok(results);
        }
        let output = self
            .client
            .batch_get_reports()
            .set_report_arns(Some(reports.iter().take(100).cloned().collect()))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("BatchGetReports", error))?;
        let mut with_failures = Vec::new();
        for report in output.reports() {
            let Some(summary) = report.test_summary() else {
                continue; // a code-coverage report
            };
            let count = |status: &str| {
                summary
                    .status_counts()
                    .get(status)
                    .map_or(0, |n| u64::try_from(*n).unwrap_or(0))
            };
            let failed = count("FAILED") + count("ERROR");
            results.passed += count("SUCCEEDED");
            results.failed += failed;
            results.skipped += count("SKIPPED");
            if failed > 0 {
                with_failures.extend(report.arn().map(str::to_owned));
            }
        }
        for report in with_failures {
            let room = MAX_FAILED_TESTS.saturating_sub(results.failed_cases.len());
            if room == 0 {
                break;
            }
            let cases = self
                .client
                .describe_test_cases()
                .report_arn(&report)
                .filter(TestCaseFilter::builder().status("FAILED").build())
                .max_results(i32::try_from(room).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|error| AwsError::from_sdk("DescribeTestCases", error))?;
            results
                .failed_cases
                .extend(cases.test_cases().iter().take(room).map(|case| FailedTest {
                    name: match (case.prefix(), case.name()) {
                        (Some(prefix), Some(name)) if !prefix.is_empty() => {
                            format!("{prefix}.{name}")
                        }
                        (_, name) => name.unwrap_or("(unnamed)").to_owned(),
                    },
                    message: case.message().map(str::to_owned).filter(|m| !m.is_empty()),
                }));
        }
        Ok(results)
    }
}

/// `builder` (StartBuild's or StartBuildBatch's, which name these settings alike) with what
/// `request` sets but its timeout: the project, the repository and commit as the source, the
/// token, the variables (`environment`) and the overrides.
macro_rules! with_request {
    ($builder:expr, $request:expr, $environment:expr) => {{
        let request: &BuildRequest = $request;
        let overrides = &request.overrides;
        $builder
            .project_name(&request.project)
            .source_type_override(SourceType::Codecommit)
            .source_location_override(&request.source_location)
            .source_version(&request.source_version)
            .idempotency_token(&request.idempotency_token)
            .set_environment_variables_override(Some($environment))
            .set_buildspec_override(overrides.buildspec.clone())
            .set_compute_type_override(overrides.compute_type.as_deref().map(ComputeType::from))
            .set_image_override(overrides.image.clone())
            .set_environment_type_override(
                overrides
                    .environment_type
                    .as_deref()
                    .map(EnvironmentType::from),
            )
            .set_queued_timeout_in_minutes_override(overrides.queued_timeout_in_minutes.map(as_i32))
            .set_git_clone_depth_override(overrides.git_clone_depth.map(as_i32))
    }};
}

/// A request's variables as StartBuild and StartBuildBatch take them.
fn environment_of(
    request: &BuildRequest,
    operation: &'static str,
) -> Result<Vec<EnvironmentVariable>, AwsError> {
    request
        .environment
        .iter()
        .map(|(name, value)| {
            EnvironmentVariable::builder()
                .name(name)
                .value(value)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()
                .map_err(|error| AwsError {
                    operation,
                    code: "InvalidRequest".into(),
                    message: error.to_string(),
                })
        })
        .collect()
}

/// Overrides are checked at load to CodeBuild's limits, all far below `i32::MAX`.
fn as_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl CodeBuild {
    /// Sends a batch's request as StartBuildBatch, with StartBuild's retries.
    async fn start_build_batch(&self, request: &BuildRequest) -> Result<StartedBuild, AwsError> {
        let overrides = &request.overrides;
        let environment = environment_of(request, "StartBuildBatch")?;
        let answer = with_request!(self.client.start_build_batch(), request, environment)
            // A batch's builds' timeout; StartBuild's is `timeoutInMinutesOverride`.
            .set_build_timeout_in_minutes_override(overrides.timeout_in_minutes.map(as_i32))
            .customize()
            .config_override(self.start_retries.clone())
            .send()
            .await;
        match answer {
            Ok(output) => started_batch("StartBuildBatch", output.build_batch()),
            Err(error) => classify("StartBuildBatch", error),
        }
    }
}

/// The batch a StartBuildBatch or RetryBuildBatch answered.
fn started_batch(
    operation: &'static str,
    batch: Option<&BuildBatch>,
) -> Result<StartedBuild, AwsError> {
    match batch.and_then(|batch| Some((batch.id()?, batch.start_time()))) {
        Some((id, start_time)) => Ok(StartedBuild::Started {
            build_id: id.to_owned(),
            started_at: start_time.and_then(|time| time.to_millis().ok()),
        }),
        None => Err(AwsError {
            operation,
            code: "MissingBuildId".into(),
            message: format!("{operation} answered without a batch id"),
        }),
    }
}

impl BuildWrites for CodeBuild {
    async fn start_build(&self, request: &BuildRequest) -> Result<StartedBuild, AwsError> {
        if request.batch {
            return self.start_build_batch(request).await;
        }
        let overrides = &request.overrides;
        let environment = environment_of(request, "StartBuild")?;
        let answer = with_request!(self.client.start_build(), request, environment)
            .set_timeout_in_minutes_override(overrides.timeout_in_minutes.map(as_i32))
            .customize()
            .config_override(self.start_retries.clone())
            .send()
            .await;
        match answer {
            Ok(output) => match output.build_value() {
                Some(Build {
                    id: Some(id),
                    start_time,
                    ..
                }) => Ok(StartedBuild::Started {
                    build_id: id.clone(),
                    started_at: start_time.and_then(|time| time.to_millis().ok()),
                }),
                _ => Err(AwsError {
                    operation: "StartBuild",
                    code: "MissingBuildId".into(),
                    message: "StartBuild answered without a build id".into(),
                }),
            },
            Err(error) => classify("StartBuild", error),
        }
    }

    async fn stop_build(&self, build_id: &str) -> Result<(), AwsError> {
        self.client
            .stop_build()
            .id(build_id)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("StopBuild", error))?;
        Ok(())
    }

    async fn stop_build_batch(&self, batch_id: &str) -> Result<(), AwsError> {
        self.client
            .stop_build_batch()
            .id(batch_id)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("StopBuildBatch", error))?;
        Ok(())
    }

    async fn retry_build_batch(
        &self,
        batch_id: &str,
        idempotency_token: &str,
    ) -> Result<StartedBuild, AwsError> {
        let answer = self
            .client
            .retry_build_batch()
            .id(batch_id)
            .idempotency_token(idempotency_token)
            .retry_type(RetryBuildBatchType::RetryFailedBuilds)
            .send()
            .await;
        match answer {
            Ok(output) => started_batch("RetryBuildBatch", output.build_batch()),
            Err(error) => classify("RetryBuildBatch", error),
        }
    }
}

fn classify<E, R>(operation: &'static str, error: SdkError<E, R>) -> Result<StartedBuild, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let error = AwsError::from_sdk(operation, error);
    if is_parameter_mismatch(&error.code, &error.message) {
        Ok(StartedBuild::AlreadyStarted)
    } else {
        Err(error)
    }
}

/// CodeBuild's answer to a reused idempotency token with other parameters.
/// Its code is not documented: AWS services use
/// `IdempotentParameterMismatch(Exception)`, and CodeBuild's modelled
/// errors only leave `InvalidInputException` with a message about the token.
pub fn is_parameter_mismatch(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code.starts_with("IdempotentParameterMismatch")
        || (code == "InvalidInputException"
            && (message.contains("idempoten") || message.contains("parameter mismatch")))
}

impl ProjectReads for CodeBuild {
    async fn missing_projects(&self, projects: &[String]) -> Result<Vec<String>, AwsError> {
        let output = self
            .client
            .batch_get_projects()
            .set_names(Some(projects.to_vec()))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("BatchGetProjects", error))?;
        // Found by name or by ARN, as it was asked; what is not found is missing.
        let found: Vec<(&str, &str)> = output
            .projects()
            .iter()
            .map(|project| {
                (
                    project.name().unwrap_or_default(),
                    project.arn().unwrap_or_default(),
                )
            })
            .collect();
        Ok(projects
            .iter()
            .filter(|asked| {
                !found
                    .iter()
                    .any(|(name, arn)| asked.as_str() == *name || asked.as_str() == *arn)
            })
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_know_every_compute_and_environment_type_the_sdk_knows() {
        use crate::config::overrides::{COMPUTE_TYPES, ENVIRONMENT_TYPES};
        let mut ours: Vec<&str> = COMPUTE_TYPES.to_vec();
        let mut sdks: Vec<&str> = ComputeType::values().to_vec();
        ours.sort_unstable();
        sdks.sort_unstable();
        assert_eq!(ours, sdks, "config::overrides::COMPUTE_TYPES");
        let mut ours: Vec<&str> = ENVIRONMENT_TYPES.to_vec();
        let mut sdks: Vec<&str> = EnvironmentType::values().to_vec();
        ours.sort_unstable();
        sdks.sort_unstable();
        assert_eq!(ours, sdks, "config::overrides::ENVIRONMENT_TYPES");
    }

    #[test]
    fn parameter_mismatch_is_recognised() {
        assert!(is_parameter_mismatch(
            "IdempotentParameterMismatchException",
            ""
        ));
        assert!(is_parameter_mismatch(
            "IdempotentParameterMismatch",
            "whatever"
        ));
        assert!(is_parameter_mismatch(
            "InvalidInputException",
            "Idempotency token was used with different parameters"
        ));
        assert!(is_parameter_mismatch(
            "InvalidInputException",
            "Parameter mismatch for token"
        ));
        assert!(!is_parameter_mismatch(
            "InvalidInputException",
            "Invalid source version"
        ));
        assert!(!is_parameter_mismatch(
            "ResourceNotFoundException",
            "idempotency"
        ));
    }
}
