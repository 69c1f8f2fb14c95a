//! CodeBuild's batch builds, which moto lacks: `StartBuildBatch`, `BatchGetBuildBatches`,
//! `ListBuildBatchesForProject`, `StopBuildBatch` and `RetryBuildBatch`, answered as the
//! service does.
//!
//! A test names the builds of a project's batch ([`super::Proxy::enable_batch_builds`]), as
//! the buildspec's `batch` section (a build list, matrix or graph) would. A project without
//! them has no batch configuration, and `StartBuildBatch` refuses it. Each build of a batch is
//! a real build started in moto, with the batch's variables and
//! `CODEBUILD_BATCH_BUILD_IDENTIFIER`, reported (`BatchGetBuilds`) with the batch's ARN as its
//! `buildBatchArn` and started by the batch's service role; its status is set as any other
//! build's ([`super::Proxy::set_build`], [`super::Proxy::finish_build`]). The batch's status
//! follows its builds': in progress while one is, then stopped (after `StopBuildBatch`),
//! failed when one did not succeed, succeeded otherwise. `RetryBuildBatch` with
//! `RETRY_FAILED_BUILDS` starts again the builds of the groups whose current build failed,
//! faulted, timed out or was stopped, keeping the earlier ones in `priorBuildSummaryList`.
//! Idempotency tokens are kept five minutes, as for `StartBuild`.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, CONTENT_TYPE};
use hyper::{Request, StatusCode};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{
    http, reported_variable, BuildStatus, Fault, HttpResponse, Shared, Tracked,
    CODEBUILD_TARGET_PREFIX, TOKEN_LIFETIME,
};

/// The role session CodeBuild starts a batch's builds as (its batch service role's).
const BATCH_INITIATOR: &str = "codebuild-batch-service-role/AWSCodeBuild-batch";

/// The batches the proxy holds, and the projects that may run them.
#[derive(Default)]
pub(super) struct Batches {
    /// Each batch-enabled project's build identifiers, in order.
    projects: HashMap<String, Vec<String>>,
    /// Every batch, oldest first.
    batches: Vec<Batch>,
    /// Tokens of StartBuildBatch and RetryBuildBatch: when, the request, and the batch.
    tokens: HashMap<String, (Instant, Value, String)>,
}

struct Batch {
    id: String,
    arn: String,
    project: String,
    number: u64,
    initiator: String,
    source_version: String,
    /// The StartBuildBatch's variables, as CodeBuild reports them.
    environment: Vec<Value>,
    started_at: f64,
    ended_at: Option<f64>,
    stopped: bool,
    groups: Vec<Group>,
}

/// What a retry starts again.
struct RetryPlan {
    /// Each group's position and identifier.
    again: Vec<(usize, String)>,
    /// The batch's project and source version, as a StartBuild's.
    request: Value,
    /// The batch's variables.
    environment: Vec<Value>,
}

struct Group {
    identifier: String,
    /// The current build's id and ARN.
    current: (String, String),
    /// Earlier builds a retry replaced: ARN and final status.
    prior: Vec<(String, String)>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

fn error(operation: &str, code: &str, message: &str) -> HttpResponse {
    Fault::error(operation, 400, code, message).response()
}

fn ok(body: Value) -> HttpResponse {
    http::response(
        StatusCode::OK,
        "application/x-amz-json-1.1",
        body.to_string(),
    )
}

/// The status of build `id` as the proxy reports it.
fn status_of(builds: &HashMap<String, Tracked>, id: &str) -> String {
    builds.get(id).map_or_else(
        || "IN_PROGRESS".to_owned(),
        |tracked| match tracked.view.get("buildStatus").and_then(Value::as_str) {
            Some(status) => status.to_owned(),
            None => tracked.status.as_str().to_owned(),
        },
    )
}

fn ended_badly(status: &str) -> bool {
    matches!(status, "FAILED" | "FAULT" | "TIMED_OUT" | "STOPPED")
}

impl Batch {
    /// The batch's status from its builds'.
    fn status(&self, builds: &HashMap<String, Tracked>) -> &'static str {
        let statuses: Vec<String> = self
            .groups
            .iter()
            .map(|group| status_of(builds, &group.current.0))
            .collect();
        if statuses.iter().any(|status| status == "IN_PROGRESS") {
            "IN_PROGRESS"
        } else if self.stopped {
            "STOPPED"
        } else if statuses.iter().any(|status| ended_badly(status)) {
            "FAILED"
        } else {
            "SUCCEEDED"
        }
    }

    /// The batch as `BatchGetBuildBatches` answers it; notes when it ended.
    fn view(&mut self, builds: &HashMap<String, Tracked>) -> Value {
        let status = self.status(builds);
        let complete = status != "IN_PROGRESS";
        if complete {
            self.ended_at.get_or_insert_with(now);
        }
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|group| {
                json!({
                    "identifier": group.identifier,
                    "dependsOn": [],
                    "ignoreFailure": false,
                    "currentBuildSummary": {"arn": group.current.1,
                        "buildStatus": status_of(builds, &group.current.0),
                        "requestedOn": self.started_at},
                    "priorBuildSummaryList": group.prior.iter().map(|(arn, status)| {
                        json!({"arn": arn, "buildStatus": status, "requestedOn": self.started_at})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut view = json!({
            "id": self.id,
            "arn": self.arn,
            "projectName": self.project,
            "buildBatchNumber": self.number,
            "buildBatchStatus": status,
            "complete": complete,
            "currentPhase": if complete { "COMPLETED" } else { "IN_PROGRESS" },
            "startTime": self.started_at,
            "sourceVersion": self.source_version,
            "resolvedSourceVersion": self.source_version,
            "initiator": self.initiator,
            "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                            "computeType": "BUILD_GENERAL1_SMALL",
                            "environmentVariables": self.environment},
            "buildGroups": groups,
        });
        if let (true, Some(ended)) = (complete, self.ended_at) {
            view["endTime"] = json!(ended);
        }
        view
    }
}

impl Shared {
    /// The answer to a batch build call; `None` for any other operation.
    pub(super) async fn answer_batches(
        &self,
        operation: &str,
        request: &Value,
        headers: &HeaderMap,
        caller: &str,
    ) -> Option<HttpResponse> {
        Some(match operation {
            "StartBuildBatch" => self.start_batch(request, headers, caller).await,
            "RetryBuildBatch" => self.retry_batch(request, headers).await,
            "BatchGetBuildBatches" => self.get_batches(request),
            "ListBuildBatchesForProject" => self.list_batches(request),
            "StopBuildBatch" => self.stop_batch(request),
            _ => return None,
        })
    }

    /// The batch of a token used in the last five minutes: its answer for the same request, an
    /// `InvalidInputException` for another; `None` for a new token.
    fn repeated(&self, operation: &str, request: &Value) -> Option<HttpResponse> {
        let token = request.get("idempotencyToken")?.as_str()?;
        let builds = self.builds.lock().expect("proxy build states poisoned");
        let mut batches = self.batches.lock().expect("proxy batches poisoned");
        let (at, earlier, id) = batches.tokens.get(token)?.clone();
        if at.elapsed() >= TOKEN_LIFETIME {
            return None;
        }
        if earlier != *request {
            return Some(error(
                operation,
                "InvalidInputException",
                "Idempotency token was used with different parameters",
            ));
        }
        let batch = batches.batches.iter_mut().find(|batch| batch.id == id)?;
        Some(ok(json!({"buildBatch": batch.view(&builds)})))
    }

    async fn start_batch(
        &self,
        request: &Value,
        headers: &HeaderMap,
        caller: &str,
    ) -> HttpResponse {
        const OPERATION: &str = "StartBuildBatch";
        if let Some(answer) = self.repeated(OPERATION, request) {
            return answer;
        }
        let project = request["projectName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let identifiers = self
            .batches
            .lock()
            .expect("proxy batches poisoned")
            .projects
            .get(&project)
            .cloned();
        let Some(identifiers) = identifiers else {
            return error(
                OPERATION,
                "InvalidInputException",
                &format!("Project {project} is not configured for batch builds: it has no buildBatchConfig"),
            );
        };
        let environment: Vec<Value> = request["environmentVariablesOverride"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut groups = Vec::new();
        for identifier in identifiers {
            match self
                .start_member(request, &environment, &identifier, headers)
                .await
            {
                Ok(current) => groups.push(Group {
                    identifier,
                    current,
                    prior: Vec::new(),
                }),
                Err(problem) => return error(OPERATION, "InvalidInputException", &problem),
            }
        }
        let mut batch = self.new_batch(request, headers, caller, &environment, groups);
        let id = batch.id.clone();
        self.mark_members(&batch);
        let builds = self.builds.lock().expect("proxy build states poisoned");
        let mut batches = self.batches.lock().expect("proxy batches poisoned");
        let view = batch.view(&builds);
        if let Some(token) = request["idempotencyToken"].as_str() {
            batches
                .tokens
                .insert(token.to_owned(), (Instant::now(), request.clone(), id));
        }
        batches.batches.push(batch);
        ok(json!({"buildBatch": view}))
    }

    /// The batch `request` (from `caller`, signed as `headers` say) started, numbered after the
    /// project's earlier ones, with its builds' `groups`.
    fn new_batch(
        &self,
        request: &Value,
        headers: &HeaderMap,
        caller: &str,
        environment: &[Value],
        groups: Vec<Group>,
    ) -> Batch {
        let project = request["projectName"].as_str().unwrap_or_default();
        let (number, position) = {
            let batches = self.batches.lock().expect("proxy batches poisoned");
            let of_project = batches
                .batches
                .iter()
                .filter(|batch| batch.project == project)
                .count();
            (1 + of_project as u64, batches.batches.len())
        };
        let id = format!("{project}:{}", uuid(number, position));
        Batch {
            arn: format!(
                "arn:aws:codebuild:{}:{}:build-batch/{id}",
                region(headers),
                account(caller)
            ),
            id,
            project: project.to_owned(),
            number,
            initiator: super::initiator(caller),
            source_version: request["sourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            environment: environment.iter().map(reported_variable).collect(),
            started_at: now(),
            ended_at: None,
            stopped: false,
            groups,
        }
    }

    /// Gives the builds of `batch` its ARN (their batch role's initiator `start_member` gave).
    fn mark_members(&self, batch: &Batch) {
        let mut builds = self.builds.lock().expect("proxy build states poisoned");
        for group in &batch.groups {
            if let Some(tracked) = builds.get_mut(&group.current.0) {
                tracked
                    .view
                    .insert("buildBatchArn".to_owned(), json!(batch.arn));
            }
        }
    }

    /// Starts one build of a batch in moto, as CodeBuild's batch service role would, and
    /// tracks it; its id and ARN.
    async fn start_member(
        &self,
        request: &Value,
        environment: &[Value],
        identifier: &str,
        headers: &HeaderMap,
    ) -> Result<(String, String), String> {
        let mut variables = environment.to_vec();
        variables.push(json!({"name": "CODEBUILD_BATCH_BUILD_IDENTIFIER", "value": identifier, "type": "PLAINTEXT"}));
        let body = json!({
            "projectName": request["projectName"],
            "sourceVersion": request["sourceVersion"],
            "environmentVariablesOverride": variables,
        });
        let answer = self.moto_start_build(headers, &body).await?;
        let id = answer
            .pointer("/build/id")
            .and_then(Value::as_str)
            .ok_or("moto's StartBuild answered no build id")?
            .to_owned();
        let arn = answer
            .pointer("/build/arn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut builds = self.builds.lock().expect("proxy build states poisoned");
        let project = id.split(':').next().unwrap_or_default();
        let number = 1 + builds
            .keys()
            .filter(|known| known.split(':').next() == Some(project))
            .count() as u64;
        builds.insert(
            id.clone(),
            Tracked {
                environment: variables.iter().map(reported_variable).collect(),
                status: BuildStatus::InProgress,
                number,
                initiator: BATCH_INITIATOR.to_owned(),
                view: serde_json::Map::new(),
            },
        );
        Ok((id, arn))
    }

    /// Sends `body` to moto as a StartBuild signed as the batch's request was (moto takes the
    /// region from it).
    async fn moto_start_build(&self, headers: &HeaderMap, body: &Value) -> Result<Value, String> {
        let mut request = Request::post(format!("http://{}/", self.upstream))
            .header(CONTENT_TYPE, "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("{CODEBUILD_TARGET_PREFIX}StartBuild"),
            );
        for name in ["authorization", "host", "x-amz-date"] {
            if let Some(value) = headers.get(name) {
                request = request.header(name, value);
            }
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|problem| problem.to_string())?;
        let answer = self
            .client
            .request(request)
            .await
            .map_err(|problem| format!("moto's StartBuild: {problem}"))?;
        let status = answer.status();
        let bytes = answer
            .into_body()
            .collect()
            .await
            .map_err(|problem| problem.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "moto's StartBuild answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes).map_err(|problem| problem.to_string())
    }

    fn get_batches(&self, request: &Value) -> HttpResponse {
        let builds = self.builds.lock().expect("proxy build states poisoned");
        let mut batches = self.batches.lock().expect("proxy batches poisoned");
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for id in request["ids"].as_array().into_iter().flatten() {
            let id = id.as_str().unwrap_or_default();
            match batches.batches.iter_mut().find(|batch| batch.id == id) {
                Some(batch) => found.push(batch.view(&builds)),
                None => missing.push(id.to_owned()),
            }
        }
        ok(json!({"buildBatches": found, "buildBatchesNotFound": missing}))
    }

    fn list_batches(&self, request: &Value) -> HttpResponse {
        let project = request["projectName"].as_str().unwrap_or_default();
        let batches = self.batches.lock().expect("proxy batches poisoned");
        let mut ids: Vec<&str> = batches
            .batches
            .iter()
            .filter(|batch| batch.project == project)
            .map(|batch| batch.id.as_str())
            .collect();
        if request["sortOrder"] != "ASCENDING" {
            ids.reverse();
        }
        ok(json!({"ids": ids}))
    }

    fn stop_batch(&self, request: &Value) -> HttpResponse {
        let id = request["id"].as_str().unwrap_or_default();
        let mut builds = self.builds.lock().expect("proxy build states poisoned");
        let mut batches = self.batches.lock().expect("proxy batches poisoned");
        let Some(batch) = batches.batches.iter_mut().find(|batch| batch.id == id) else {
            return error(
                "StopBuildBatch",
                "ResourceNotFoundException",
                &format!("Build batch {id} does not exist"),
            );
        };
        for group in &batch.groups {
            if status_of(&builds, &group.current.0) == "IN_PROGRESS" {
                if let Some(tracked) = builds.get_mut(&group.current.0) {
                    tracked.status = BuildStatus::Stopped;
                    tracked.view.remove("buildStatus");
                    tracked.view.remove("buildComplete");
                }
            }
        }
        batch.stopped = true;
        ok(json!({"buildBatch": batch.view(&builds)}))
    }

    /// What a retry of batch `id` starts again (each group's position and identifier; all of
    /// them, or those whose build ended badly), with the batch's request and variables; or
    /// CodeBuild's refusal (its code and message). Read under the locks; the builds start
    /// without them.
    fn retry_plan(&self, id: &str, all: bool) -> Result<RetryPlan, (&'static str, String)> {
        let builds = self.builds.lock().expect("proxy build states poisoned");
        let batches = self.batches.lock().expect("proxy batches poisoned");
        let Some(batch) = batches.batches.iter().find(|batch| batch.id == id) else {
            return Err((
                "ResourceNotFoundException",
                format!("Build batch {id} does not exist"),
            ));
        };
        let status = batch.status(&builds);
        if status == "IN_PROGRESS" || status == "SUCCEEDED" {
            return Err((
                "InvalidInputException",
                format!("Build batch {id} is {status} and cannot be retried"),
            ));
        }
        let again = batch
            .groups
            .iter()
            .enumerate()
            .filter(|(_, group)| all || ended_badly(&status_of(&builds, &group.current.0)))
            .map(|(index, group)| (index, group.identifier.clone()))
            .collect();
        Ok(RetryPlan {
            again,
            request: json!({"projectName": batch.project, "sourceVersion": batch.source_version}),
            environment: batch.environment.clone(),
        })
    }

    async fn retry_batch(&self, request: &Value, headers: &HeaderMap) -> HttpResponse {
        const OPERATION: &str = "RetryBuildBatch";
        if let Some(answer) = self.repeated(OPERATION, request) {
            return answer;
        }
        let id = request["id"].as_str().unwrap_or_default().to_owned();
        if request["retryType"] != "RETRY_FAILED_BUILDS"
            && request["retryType"] != "RETRY_ALL_BUILDS"
        {
            return error(
                OPERATION,
                "InvalidInputException",
                "retryType must be RETRY_ALL_BUILDS or RETRY_FAILED_BUILDS",
            );
        }
        let all = request["retryType"] == "RETRY_ALL_BUILDS";
        let plan = match self.retry_plan(&id, all) {
            Ok(plan) => plan,
            Err((code, message)) => return error(OPERATION, code, &message),
        };
        let mut started = Vec::new();
        for (index, identifier) in plan.again {
            match self
                .start_member(&plan.request, &plan.environment, &identifier, headers)
                .await
            {
                Ok(current) => started.push((index, current)),
                Err(problem) => return error(OPERATION, "InvalidInputException", &problem),
            }
        }
        let mut builds = self.builds.lock().expect("proxy build states poisoned");
        let mut batches = self.batches.lock().expect("proxy batches poisoned");
        let Some(batch) = batches.batches.iter_mut().find(|batch| batch.id == id) else {
            return error(
                OPERATION,
                "ResourceNotFoundException",
                &format!("Build batch {id} does not exist"),
            );
        };
        for (index, current) in started {
            let group = &mut batch.groups[index];
            let status = status_of(&builds, &group.current.0);
            let earlier = std::mem::replace(&mut group.current, current);
            group.prior.push((earlier.1, status));
            if let Some(tracked) = builds.get_mut(&group.current.0) {
                tracked
                    .view
                    .insert("buildBatchArn".to_owned(), json!(batch.arn));
            }
        }
        batch.stopped = false;
        batch.ended_at = None;
        let view = batch.view(&builds);
        if let Some(token) = request["idempotencyToken"].as_str() {
            batches
                .tokens
                .insert(token.to_owned(), (Instant::now(), request.clone(), id));
        }
        ok(json!({"buildBatch": view}))
    }
}

/// A batch id's UUID part, made of the batch's number and position.
fn uuid(number: u64, position: usize) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{nanos:08x}-{number:04x}-4{position:03x}-8000-{:012x}",
        number * 7919 + position as u64
    )
}

/// The region the request was signed for (`Credential=KEY/DATE/REGION/...`).
fn region(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_owned()
}

/// The account of `caller` (an ARN).
fn account(caller: &str) -> &str {
    caller
        .split(':')
        .nth(4)
        .filter(|account| !account.is_empty())
        .unwrap_or("123456789012")
}

impl super::Proxy {
    /// Let `project` run batch builds whose builds are `identifiers`, in order, as its
    /// buildspec's `batch` section would say.
    pub fn enable_batch_builds(&self, project: &str, identifiers: &[&str]) {
        self.shared
            .batches
            .lock()
            .expect("proxy batches poisoned")
            .projects
            .insert(
                project.to_owned(),
                identifiers.iter().map(|id| (*id).to_owned()).collect(),
            );
    }

    /// The builds of batch `id` now: each group's identifier and current build's id; empty
    /// for a batch the proxy does not hold.
    pub fn batch_members(&self, id: &str) -> Vec<(String, String)> {
        let batches = self.shared.batches.lock().expect("proxy batches poisoned");
        batches
            .batches
            .iter()
            .find(|batch| batch.id == id)
            .map(|batch| {
                batch
                    .groups
                    .iter()
                    .map(|group| (group.identifier.clone(), group.current.0.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
