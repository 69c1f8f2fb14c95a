//! One invocation: parse, decide, start, answer.

use crate::codebuild::{advice, BuildStarter, StartedBuild};
use crate::config::Config;
use crate::decide::{decide, Decision, Outcome};
use crate::error::{FailedStart, HandlerError};
use crate::event;
use crate::request::build_request;
use crate::response::{Response, Skipped, Started};
use futures_util::stream::{self, StreamExt};
use lambda_runtime::tracing::{error, info, warn};

/// How many StartBuild calls run at once for a push of many references.
const CONCURRENT_STARTS: usize = 8;

/// The function: configuration plus a way to start builds.
#[derive(Debug)]
pub struct Handler<B> {
    config: Config,
    builds: B,
}

impl<B: BuildStarter> Handler<B> {
    /// A handler for `config` that starts builds through `builds`.
    pub fn new(config: Config, builds: B) -> Self {
        Self { config, builds }
    }

    /// Handles one trigger event given as JSON text.
    ///
    /// Every reference is decided; every build wanted is attempted even when
    /// another fails. Any failed start fails the invocation, naming each
    /// failed reference, so that Lambda retries the (idempotent) event.
    pub async fn handle(&self, event_json: &str) -> Result<Response, HandlerError> {
        let push = event::parse(event_json).inspect_err(|invalid| {
            error!(error = %invalid, "invalid event: nothing was started");
        })?;
        let decisions = decide(&self.config, &push);
        for decision in &decisions {
            log_decision(decision);
        }

        let mut response = Response::default();
        let mut to_build = Vec::new();
        for decision in &decisions {
            match &decision.outcome {
                Outcome::Build { commit, .. } => to_build.push((decision, *commit)),
                Outcome::Skip(reason) => response.skipped.push(Skipped {
                    repository: decision.record.repository.name.clone(),
                    reference: decision.update.reference.to_string(),
                    commit: decision.update.commit().map(ToString::to_string),
                    reason: reason.to_string(),
                }),
            }
        }

        let results: Vec<_> = stream::iter(to_build)
            .map(|(decision, commit)| async move {
                let request = build_request(
                    &self.config.project,
                    decision.record,
                    &decision.update.reference,
                    commit,
                );
                (decision, commit, self.builds.start_build(&request).await)
            })
            .buffered(CONCURRENT_STARTS)
            .collect()
            .await;

        let mut failures = Vec::new();
        for (decision, commit, result) in results {
            let repository = &decision.record.repository.name;
            let reference = decision.update.reference.as_str();
            match result {
                Ok(started) => {
                    let (build_id, already_started) = match started {
                        StartedBuild::Started { build_id } => {
                            info!(repository, reference, commit = %commit, build_id, "build started");
                            (Some(build_id), false)
                        }
                        StartedBuild::AlreadyStarted => {
                            info!(repository, reference, commit = %commit,
                                "build already started by an earlier delivery of this push");
                            (None, true)
                        }
                    };
                    response.started.push(Started {
                        project: self.config.project.clone(),
                        build_id,
                        repository: repository.clone(),
                        reference: reference.to_owned(),
                        commit: commit.to_string(),
                        already_started,
                    });
                }
                Err(failure) => {
                    error!(repository, reference, commit = %commit, code = failure.code,
                        error = failure.message, action = advice(&failure.code), "StartBuild failed");
                    failures.push(FailedStart {
                        repository: repository.clone(),
                        reference: reference.to_owned(),
                        commit: commit.to_string(),
                        code: failure.code,
                    });
                }
            }
        }
        if failures.is_empty() {
            Ok(response)
        } else {
            warn!(
                failed = failures.len(),
                started = response.started.len(),
                "failing the invocation so that Lambda retries it"
            );
            Err(HandlerError::StartBuildFailed(failures))
        }
    }
}

fn log_decision(decision: &Decision<'_>) {
    let record = decision.record;
    let repository = &record.repository.name;
    let reference = decision.update.reference.as_str();
    let commit = decision.update.commit().map(ToString::to_string);
    let event = record.kind.as_str();
    let pusher = record.pusher.as_deref();
    match &decision.outcome {
        Outcome::Build { reason, .. } => {
            info!(repository, reference, commit, event, pusher, decision = "build", reason = %reason, "decision");
        }
        Outcome::Skip(reason) => {
            info!(repository, reference, commit, event, pusher, decision = "skip", reason = %reason, "decision");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codebuild::StartBuildError;
    use crate::config::{BRANCHES, CODEBUILD_PROJECT};
    use crate::request::BuildRequest;
    use serde_json::json;
    use std::sync::Mutex;

    /// Records requests; fails those whose ref is in `fail`, answers a
    /// parameter mismatch for those in `mismatch`.
    #[derive(Default)]
    struct FakeCodeBuild {
        requests: Mutex<Vec<BuildRequest>>,
        fail: Vec<&'static str>,
        mismatch: Vec<&'static str>,
    }

    impl BuildStarter for FakeCodeBuild {
        async fn start_build(
            &self,
            request: &BuildRequest,
        ) -> Result<StartedBuild, StartBuildError> {
            self.requests.lock().expect("lock").push(request.clone());
            let reference = &request.environment[1].1;
            if self.fail.contains(&reference.as_str()) {
                return Err(StartBuildError {
                    code: "AccessDeniedException".into(),
                    message: "not allowed".into(),
                });
            }
            if self.mismatch.contains(&reference.as_str()) {
                return Ok(StartedBuild::AlreadyStarted);
            }
            Ok(StartedBuild::Started {
                build_id: format!("{}:{}", request.project, &request.source_version[..8]),
            })
        }
    }

    const A: &str = "1111111111111111111111111111111111111111";

    fn handler(fake: FakeCodeBuild) -> Handler<FakeCodeBuild> {
        let config = Config::from_lookup(|name| {
            Ok(match name {
                CODEBUILD_PROJECT => Some("my-project".into()),
                BRANCHES => Some("master,dev".into()),
                _ => None,
            })
        })
        .expect("valid configuration");
        Handler::new(config, fake)
    }

    fn event(refs: &[&str]) -> String {
        let references: Vec<_> = refs
            .iter()
            .map(|r| json!({"ref": r, "commit": A}))
            .collect();
        json!({"Records": [{
            "eventSource": "aws:codecommit",
            "eventName": "ReferenceChanges",
            "eventSourceARN": "arn:aws:codecommit:us-east-1:123456789012:my-app",
            "codecommit": {"references": references}
        }]})
        .to_string()
    }

    #[tokio::test]
    async fn starts_what_matches_and_lists_the_rest() {
        let handler = handler(FakeCodeBuild::default());
        let response = handler
            .handle(&event(&[
                "refs/heads/master",
                "refs/heads/x",
                "refs/heads/dev",
            ]))
            .await
            .expect("success");
        let value = serde_json::to_value(&response).expect("serializable");
        assert_eq!(
            value,
            json!({
                "started": [
                    {"project": "my-project", "buildId": "my-project:11111111", "repository": "my-app",
                     "ref": "refs/heads/master", "commit": A},
                    {"project": "my-project", "buildId": "my-project:11111111", "repository": "my-app",
                     "ref": "refs/heads/dev", "commit": A},
                ],
                "skipped": [
                    {"repository": "my-app", "ref": "refs/heads/x", "commit": A,
                     "reason": "branch x does not match BRANCHES"},
                ]
            })
        );
        assert_eq!(handler.builds.requests.lock().expect("lock").len(), 2);
    }

    #[tokio::test]
    async fn one_failure_does_not_stop_the_others_and_fails_the_invocation() {
        let handler = handler(FakeCodeBuild {
            fail: vec!["refs/heads/master"],
            ..FakeCodeBuild::default()
        });
        let error = handler
            .handle(&event(&["refs/heads/master", "refs/heads/dev"]))
            .await
            .expect_err("a failed start fails the invocation");
        assert_eq!(error.error_type(), "StartBuildFailed");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "StartBuild failed for 1 reference(s): my-app refs/heads/master at {A} (AccessDeniedException)"
            )),
            "{message}"
        );
        assert_eq!(
            handler.builds.requests.lock().expect("lock").len(),
            2,
            "dev was still attempted"
        );
    }

    #[tokio::test]
    async fn a_parameter_mismatch_is_reported_as_already_started() {
        let handler = handler(FakeCodeBuild {
            mismatch: vec!["refs/heads/master"],
            ..FakeCodeBuild::default()
        });
        let response = handler
            .handle(&event(&["refs/heads/master"]))
            .await
            .expect("success");
        let value = serde_json::to_value(&response).expect("serializable");
        assert_eq!(
            value["started"],
            json!([{"project": "my-project", "repository": "my-app", "ref": "refs/heads/master",
                    "commit": A, "alreadyStarted": true}])
        );
    }

    #[tokio::test]
    async fn an_invalid_event_starts_nothing() {
        let handler = handler(FakeCodeBuild::default());
        let mut event: serde_json::Value =
            serde_json::from_str(&event(&["refs/heads/master"])).expect("json");
        event["Records"][0]["codecommit"]["references"]
            .as_array_mut()
            .expect("array")
            .push(json!({"ref": "refs/heads/dev", "commit": "nope"}));
        let error = handler
            .handle(&event.to_string())
            .await
            .expect_err("invalid");
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error
                .to_string()
                .contains("Records[0].codecommit.references[1].commit"),
            "{error}"
        );
        assert!(handler.builds.requests.lock().expect("lock").is_empty());
    }
}
