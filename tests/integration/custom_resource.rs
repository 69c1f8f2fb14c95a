//! End-to-end: the release binary as the `Custom::CodeCommitTrigger` custom resource (the
//! function's `Handler` `trigger-installer`) under a local Lambda Runtime API, calling a fake
//! CodeCommit endpoint and answering CloudFormation through a recorded response URL.
//! Run with `make test`, which builds the binary.

#![cfg(feature = "end-to-end")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use testkit::cfn::{CfnResponse, ResponseUrl, SIGNED_QUERY};
use testkit::codecommit::LocalCodeCommit;
use testkit::function::Function;
use testkit::runtime_api::{FunctionError, RuntimeApi};
use testkit::{trigger_bin, INIT_TIMEOUT, INVOKE_TIMEOUT};
use tokio::time::Instant;

mod merge_gate;

const REPOSITORY: &str = "my-app";
const TRIGGER: &str = "my-stack";
const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/0b6c1ad0-7d0e-11ef-9d4b-0affd3b1a2c5";
const LOGICAL_ID: &str = "RepositoryTrigger";
const SERVICE_TOKEN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:my-stack-TriggerInstaller-x1y2z3";
const DESTINATION: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:my-stack-TriggerFunction-abc";
/// How long an answer to CloudFormation may trail the function's own answer before the
/// harness reports it as sent too late (Lambda freezes the process once it answers).
const LATE_ANSWER_GRACE: Duration = Duration::from_secs(2);

/// The custom resource function, with its fake CodeCommit and response URL server; every
/// process and server stops when it is dropped.
struct Installer {
    codecommit: LocalCodeCommit,
    responses: ResponseUrl,
    runtime: RuntimeApi,
    function: Function,
    sequence: AtomicUsize,
}

/// What one invocation produced.
struct Invocation {
    /// What the function answered the Lambda Runtime API.
    result: Result<Value, FunctionError>,
    /// What it PUT to the request's `ResponseURL`.
    response: CfnResponse,
}

impl Installer {
    /// Start the fake CodeCommit, the response URL server, the Runtime API emulator and the
    /// function; returns once the function first polls `/next`.
    async fn start() -> Installer {
        Installer::start_with(&[], &[]).await
    }

    /// [`Installer::start`], with the variables named in `unset` left out of the function's
    /// environment.
    async fn start_without(unset: &[&str]) -> Installer {
        Installer::start_with(unset, &[]).await
    }

    /// [`Installer::start`], with the variables named in `unset` left out of the function's
    /// environment and those of `extra` added.
    async fn start_with(unset: &[&str], extra: &[(&str, &str)]) -> Installer {
        let bin = trigger_bin();
        let codecommit = LocalCodeCommit::start().await;
        let responses = ResponseUrl::start().await;
        let runtime = RuntimeApi::start().await;
        let runtime_api = runtime.addr().to_string();
        let endpoint = codecommit.endpoint();
        // The response URL is https with a certificate of its own, which the function trusts as
        // it trusts S3's: through the system's store, here the one file.
        let certificate = responses
            .certificate()
            .to_str()
            .expect("a UTF-8 temporary path")
            .to_owned();
        let env: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "trigger-installer"),
            ("_HANDLER", "trigger-installer"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("SSL_CERT_FILE", certificate.as_str()),
        ]
        .iter()
        .chain(extra)
        .filter(|(key, _)| !unset.contains(key))
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
        let function = Function::spawn(&bin, &env);
        let installer = Installer {
            codecommit,
            responses,
            runtime,
            function,
            sequence: AtomicUsize::new(0),
        };

        let deadline = Instant::now() + INIT_TIMEOUT;
        while installer.runtime.poll_count() == 0 {
            assert!(
                installer.runtime.init_error().is_none()
                    && installer.function.exit_status().is_none(),
                "the function failed to start\n{}",
                installer.diagnostics()
            );
            assert!(
                Instant::now() < deadline,
                "the function did not poll /next within {INIT_TIMEOUT:?}\n{}",
                installer.diagnostics()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        installer
    }

    /// A CloudFormation request of type `kind` for the trigger with a fresh `RequestId` and
    /// its own `ResponseURL`; `PhysicalResourceId` only if `physical_id` is given.
    fn request(&self, kind: &str, properties: Value, physical_id: Option<&str>) -> Value {
        self.request_for("Custom::CodeCommitTrigger", kind, properties, physical_id)
    }

    /// [`Installer::request`] for a resource of type `resource_type`.
    fn request_for(
        &self,
        resource_type: &str,
        kind: &str,
        properties: Value,
        physical_id: Option<&str>,
    ) -> Value {
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let name = format!("{}-{sequence}", kind.to_lowercase());
        let mut request = json!({
            "RequestType": kind,
            "ResponseURL": self.responses.url(&name),
            "StackId": STACK_ID,
            "RequestId": format!("5d8a7c1e-0b2f-4e3a-9c4d-{sequence:012x}"),
            "ResourceType": resource_type,
            "LogicalResourceId": LOGICAL_ID,
            "ResourceProperties": properties,
        });
        if let Some(physical_id) = physical_id {
            request["PhysicalResourceId"] = json!(physical_id);
        }
        request
    }

    /// An `Update` request from `old` to `new` properties of resource `physical_id`.
    fn update(&self, new: Value, old: Value, physical_id: &str) -> Value {
        let mut request = self.request("Update", new, Some(physical_id));
        request["OldResourceProperties"] = old;
        request
    }

    /// Invoke the function with `request` and collect its answer to CloudFormation.
    ///
    /// Panics if the function does not answer the invocation within 30 s, if it did not
    /// answer CloudFormation before finishing the invocation, or if it answered twice.
    async fn invoke(&self, request: &Value) -> Invocation {
        let name = response_name(request);
        let result = match self.runtime.try_invoke(request, INVOKE_TIMEOUT).await {
            Some(result) => result,
            None => panic!(
                "the function did not answer the invocation within {INVOKE_TIMEOUT:?}\n{}",
                self.diagnostics()
            ),
        };
        let answered = self.responses.responses_for(&name);
        if answered.is_empty() {
            // Tell "answered too late" from "never answered".
            tokio::time::sleep(LATE_ANSWER_GRACE).await;
            let late = self.responses.responses_for(&name);
            panic!(
                "the function finished the invocation ({result:?}) without having answered \
                 CloudFormation at {name}; PUTs arriving within {LATE_ANSWER_GRACE:?} after: \
                 {late:#?}\nrejected requests: {:?}\n{}",
                self.responses.rejected(),
                self.diagnostics()
            );
        }
        assert_eq!(
            answered.len(),
            1,
            "the function answered CloudFormation more than once: {answered:#?}"
        );
        let response = answered
            .into_iter()
            .next()
            .expect("one answer, checked above");
        Invocation { result, response }
    }

    /// The function's state and output, for failure messages.
    fn diagnostics(&self) -> String {
        format!(
            "exit status: {:?}\nGET /next calls: {}\ninit error: {:?}\nCodeCommit calls: {:#?}\n\
             --- function stdout ---\n{}\n--- function stderr ---\n{}",
            self.function.exit_status(),
            self.runtime.poll_count(),
            self.runtime.init_error(),
            self.codecommit.calls(),
            self.function.stdout_lines().join("\n"),
            self.function.stderr()
        )
    }
}

impl Drop for Installer {
    fn drop(&mut self) {
        // Stop the function before the servers it talks to.
        self.function.kill();
    }
}

/// The name [`ResponseUrl::url`] was given for `request`'s `ResponseURL`.
fn response_name(request: &Value) -> String {
    let url = request["ResponseURL"]
        .as_str()
        .expect("the request has a ResponseURL");
    let path = url
        .split_once("/responses/")
        .expect("the ResponseURL comes from ResponseUrl::url")
        .1;
    path.split_once('?')
        .map_or(path, |(name, _)| name)
        .to_owned()
}

/// The resource properties CloudFormation sends for a trigger named `trigger` on `repository`.
fn properties(repository: &str, trigger: &str) -> Value {
    json!({
        "ServiceToken": SERVICE_TOKEN,
        "RepositoryName": repository,
        "TriggerName": trigger,
        "DestinationArn": DESTINATION,
        "CustomData": "codebuild-project=demo-project",
        "Branches": [],
        "Events": ["all"],
    })
}

/// The trigger the function should write for [`properties`]`(_, name)`.
fn our_trigger(name: &str) -> Value {
    json!({
        "name": name,
        "destinationArn": DESTINATION,
        "customData": "codebuild-project=demo-project",
        "branches": [],
        "events": ["all"],
    })
}

/// Triggers somebody else put on the repository, with every optional field shape.
fn other_triggers() -> Vec<Value> {
    vec![
        json!({
            "name": "notify-team",
            "destinationArn": "arn:aws:sns:us-east-1:123456789012:team-notifications",
            "customData": "{\"channel\": \"#builds\", \"emoji\": \"🚀\"}",
            "branches": ["main", "release/2024-01"],
            "events": ["updateReference", "createReference"],
        }),
        json!({
            "name": "audit",
            "destinationArn": "arn:aws:lambda:us-east-1:123456789012:function:audit-pushes",
            "branches": [],
            "events": ["deleteReference"],
        }),
    ]
}

/// `triggers` sorted by name (CodeCommit does not promise an order); duplicates are kept
/// so comparing sorted lists still catches them.
fn by_name(mut triggers: Vec<Value>) -> Vec<Value> {
    triggers.sort_by(|a, b| a["name"].to_string().cmp(&b["name"].to_string()));
    triggers
}

/// `others` plus `ours`, sorted by name.
fn with(others: Vec<Value>, ours: &[Value]) -> Vec<Value> {
    by_name(others.into_iter().chain(ours.iter().cloned()).collect())
}

/// The repository's triggers in the fake, sorted by name; panics if it does not exist.
fn stored(installer: &Installer, repository: &str) -> Vec<Value> {
    by_name(
        installer
            .codecommit
            .triggers(repository)
            .unwrap_or_else(|| panic!("repository {repository} vanished from the fake")),
    )
}

/// Check what every answer must satisfy: sent to the exact URL with an empty
/// `Content-Type`, echoing the request's ids; also that the invocation itself succeeded.
fn assert_answer(request: &Value, invocation: &Invocation, status: &str) {
    let response = &invocation.response;
    let url = request["ResponseURL"].as_str().expect("a ResponseURL");
    assert!(
        url.ends_with(&response.path),
        "the PUT went to {} instead of {url}",
        response.path
    );
    assert!(
        response.path.ends_with(&format!("?{SIGNED_QUERY}")),
        "the pre-signed query string was not sent back untouched: {}",
        response.path
    );
    assert_eq!(
        response.content_type.as_deref(),
        Some(""),
        "CloudFormation's pre-signed URL needs an empty Content-Type header"
    );
    let body = &response.body;
    assert_eq!(body["Status"], status, "{body:#}");
    for field in ["StackId", "RequestId", "LogicalResourceId"] {
        assert_eq!(body[field], request[field], "{field} is echoed: {body:#}");
    }
    assert_eq!(body["NoEcho"], json!(false), "{body:#}");
    let physical_id = response.text("PhysicalResourceId");
    assert!(!physical_id.is_empty(), "{body:#}");
    assert!(
        invocation.result.is_ok(),
        "the invocation succeeds once CloudFormation was answered: {:?}",
        invocation.result
    );
}

/// The `Reason` of a response, with a message if it is missing.
fn reason(response: &CfnResponse) -> &str {
    response.text("Reason")
}

fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from {text:?}");
    }
}

#[tokio::test]
async fn create_adds_our_trigger_and_keeps_the_others_exactly() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());

    let request = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        "my-app/my-stack"
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger(TRIGGER)])
    );
    let calls = installer.codecommit.calls();
    assert_eq!(
        installer.codecommit.operations(),
        ["GetRepositoryTriggers", "PutRepositoryTriggers"]
    );
    assert_eq!(calls[0].1, json!({"repositoryName": "my-app"}));
    assert_eq!(calls[1].1["repositoryName"], "my-app");
    // Byte for byte: the other triggers are written back as they were read.
    let written = calls[1].1["triggers"]
        .as_array()
        .expect("PutRepositoryTriggers sends a trigger list");
    for other in other_triggers() {
        let found: Vec<&Value> = written
            .iter()
            .filter(|trigger| trigger["name"] == other["name"])
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{} written once: {written:#?}",
            other["name"]
        );
        assert_eq!(found[0].to_string(), other.to_string());
    }
}

#[tokio::test]
async fn update_replaces_our_trigger_and_keeps_the_others() {
    let installer = Installer::start().await;
    // What the previous properties wrote (their CustomData marks it), since gone stale.
    let stale = json!({
        "name": TRIGGER,
        "destinationArn": "arn:aws:lambda:us-east-1:123456789012:function:old-function",
        "customData": "codebuild-project=demo-project",
        "branches": ["main"],
        "events": ["updateReference"],
    });
    installer
        .codecommit
        .add_repository(REPOSITORY, with(other_triggers(), &[stale]));

    let mut new = properties(REPOSITORY, TRIGGER);
    new["Branches"] = json!(["main", "develop"]);
    new["Events"] = json!(["updateReference", "createReference"]);
    new["CustomData"] = json!("second version");
    let old = properties(REPOSITORY, TRIGGER);
    let request = installer.update(new, old, "my-app/my-stack");
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        "my-app/my-stack"
    );
    let expected = json!({
        "name": TRIGGER,
        "destinationArn": DESTINATION,
        "customData": "second version",
        "branches": ["main", "develop"],
        "events": ["updateReference", "createReference"],
    });
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[expected])
    );
    assert_eq!(
        installer.codecommit.operations(),
        ["GetRepositoryTriggers", "PutRepositoryTriggers"]
    );
}

#[tokio::test]
async fn an_unchanged_trigger_is_not_written_again() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, with(other_triggers(), &[our_trigger(TRIGGER)]));

    let request = installer.update(
        properties(REPOSITORY, TRIGGER),
        properties(REPOSITORY, TRIGGER),
        "my-app/my-stack",
    );
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        "my-app/my-stack"
    );
    assert_eq!(
        installer.codecommit.operations(),
        ["GetRepositoryTriggers"],
        "nothing changes, so nothing is written"
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger(TRIGGER)])
    );
}

#[tokio::test]
async fn delete_removes_only_our_trigger() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, with(other_triggers(), &[our_trigger(TRIGGER)]));

    let request = installer.request(
        "Delete",
        properties(REPOSITORY, TRIGGER),
        Some("my-app/my-stack"),
    );
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        "my-app/my-stack"
    );
    assert_eq!(stored(&installer, REPOSITORY), by_name(other_triggers()));
    assert_eq!(
        installer.codecommit.operations(),
        ["GetRepositoryTriggers", "PutRepositoryTriggers"]
    );
}

#[tokio::test]
async fn delete_of_an_absent_trigger_succeeds_without_writing() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());

    let request = installer.request(
        "Delete",
        properties(REPOSITORY, TRIGGER),
        Some("my-app/my-stack"),
    );
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        "my-app/my-stack"
    );
    assert_eq!(
        installer.codecommit.operations(),
        ["GetRepositoryTriggers"],
        "no PutRepositoryTriggers when there is nothing to remove"
    );
    assert_eq!(
        installer.codecommit.triggers(REPOSITORY),
        Some(other_triggers())
    );
}

#[tokio::test]
async fn delete_succeeds_when_the_repository_is_gone() {
    let installer = Installer::start().await;

    let request = installer.request(
        "Delete",
        properties(REPOSITORY, TRIGGER),
        Some("my-app/my-stack"),
    );
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        "my-app/my-stack"
    );
    assert!(
        !installer
            .codecommit
            .operations()
            .contains(&"PutRepositoryTriggers".to_owned()),
        "{:?}",
        installer.codecommit.calls()
    );
    assert_eq!(installer.codecommit.triggers(REPOSITORY), None);
}

#[tokio::test]
async fn create_on_an_unknown_repository_fails_and_its_delete_touches_nothing() {
    let installer = Installer::start().await;

    let create = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&create).await;

    assert_answer(&create, &invocation, "FAILED");
    assert_mentions(reason(&invocation.response), &["does not exist"]);
    let failed_id = invocation.response.text("PhysicalResourceId").to_owned();
    assert!(failed_id.starts_with("failed-create:"), "{failed_id}");
    assert!(
        !installer
            .codecommit
            .operations()
            .contains(&"PutRepositoryTriggers".to_owned()),
        "{:?}",
        installer.codecommit.calls()
    );

    // The repository appears later holding a trigger of that name: CloudFormation's Delete
    // of the failed resource must leave it alone, without even asking CodeCommit.
    installer
        .codecommit
        .add_repository(REPOSITORY, with(other_triggers(), &[our_trigger(TRIGGER)]));
    let calls_before = installer.codecommit.calls().len();
    let delete = installer.request("Delete", properties(REPOSITORY, TRIGGER), Some(&failed_id));
    let invocation = installer.invoke(&delete).await;

    assert_answer(&delete, &invocation, "SUCCESS");
    assert_eq!(invocation.response.text("PhysicalResourceId"), failed_id);
    assert_eq!(
        installer.codecommit.calls()[calls_before..],
        [],
        "the Delete of a failed Create calls CodeCommit"
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger(TRIGGER)])
    );
}

#[tokio::test]
async fn ten_other_triggers_fail_the_create_and_nothing_is_written() {
    let installer = Installer::start().await;
    let ten: Vec<Value> = (1..=10)
        .map(|n| {
            json!({
                "name": format!("other-{n:02}"),
                "destinationArn": format!("arn:aws:sns:us-east-1:123456789012:topic-{n}"),
                "branches": [],
                "events": ["all"],
            })
        })
        .collect();
    installer.codecommit.add_repository(REPOSITORY, ten.clone());

    let request = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "FAILED");
    assert_mentions(reason(&invocation.response), &["already has 10 triggers"]);
    assert!(invocation
        .response
        .text("PhysicalResourceId")
        .starts_with("failed-create:"));
    assert_eq!(
        installer.codecommit.operations(),
        ["GetRepositoryTriggers"],
        "nothing is written"
    );
    assert_eq!(installer.codecommit.triggers(REPOSITORY), Some(ten));
}

#[tokio::test]
async fn nine_other_triggers_plus_ours_can_still_be_updated() {
    let installer = Installer::start().await;
    let nine: Vec<Value> = (1..=9)
        .map(|n| {
            json!({
                "name": format!("other-{n:02}"),
                "destinationArn": format!("arn:aws:sns:us-east-1:123456789012:topic-{n}"),
                "branches": [],
                "events": ["all"],
            })
        })
        .collect();
    let mut stale = our_trigger(TRIGGER);
    stale["customData"] = json!("old");
    installer
        .codecommit
        .add_repository(REPOSITORY, with(nine.clone(), &[stale]));

    let request = installer.update(
        properties(REPOSITORY, TRIGGER),
        properties(REPOSITORY, TRIGGER),
        "my-app/my-stack",
    );
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "SUCCESS");
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(nine, &[our_trigger(TRIGGER)])
    );
}

#[tokio::test]
async fn access_denied_on_read_names_the_missing_permission() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());
    installer.codecommit.deny("GetRepositoryTriggers");

    let request = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "FAILED");
    assert_mentions(
        reason(&invocation.response),
        &["AccessDeniedException", "codecommit:GetRepositoryTriggers"],
    );
    assert_eq!(installer.codecommit.operations(), ["GetRepositoryTriggers"]);
    assert_eq!(
        installer.codecommit.triggers(REPOSITORY),
        Some(other_triggers())
    );
}

#[tokio::test]
async fn access_denied_on_write_names_the_missing_permission() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());
    installer.codecommit.deny("PutRepositoryTriggers");

    let request = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "FAILED");
    assert_mentions(
        reason(&invocation.response),
        &["AccessDeniedException", "codecommit:PutRepositoryTriggers"],
    );
    assert!(invocation
        .response
        .text("PhysicalResourceId")
        .starts_with("failed-create:"));
    assert_eq!(
        installer.codecommit.triggers(REPOSITORY),
        Some(other_triggers())
    );
}

#[tokio::test]
async fn a_missing_repository_name_fails_naming_the_field() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());
    let mut props = properties(REPOSITORY, TRIGGER);
    props
        .as_object_mut()
        .expect("properties are an object")
        .remove("RepositoryName");

    let request = installer.request("Create", props, None);
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "FAILED");
    assert_mentions(reason(&invocation.response), &["RepositoryName"]);
    assert!(invocation
        .response
        .text("PhysicalResourceId")
        .starts_with("failed-create:"));
    assert_eq!(installer.codecommit.calls(), []);
}

#[tokio::test]
async fn without_credentials_every_request_fails_naming_them_instead_of_waiting() {
    let installer = Installer::start_without(&["AWS_SECRET_ACCESS_KEY"]).await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());

    let create = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&create).await;
    assert_answer(&create, &invocation, "FAILED");
    assert_mentions(
        reason(&invocation.response),
        &["misconfigured", "AWS_SECRET_ACCESS_KEY is not set"],
    );
    let failed_id = invocation.response.text("PhysicalResourceId").to_owned();
    assert!(failed_id.starts_with("failed-create:"), "{failed_id}");

    let physical_id = format!("{REPOSITORY}/{TRIGGER}");
    let delete = installer.request(
        "Delete",
        properties(REPOSITORY, TRIGGER),
        Some(&physical_id),
    );
    let invocation = installer.invoke(&delete).await;
    assert_answer(&delete, &invocation, "FAILED");
    assert_mentions(reason(&invocation.response), &["AWS_SECRET_ACCESS_KEY"]);
    assert_eq!(invocation.response.text("PhysicalResourceId"), physical_id);
    assert_eq!(installer.codecommit.calls(), []);
}

#[tokio::test]
async fn an_unknown_request_type_fails_naming_the_field() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, with(other_triggers(), &[our_trigger(TRIGGER)]));

    let request = installer.request(
        "Rename",
        properties(REPOSITORY, TRIGGER),
        Some("my-app/my-stack"),
    );
    let invocation = installer.invoke(&request).await;

    assert_answer(&request, &invocation, "FAILED");
    assert_mentions(reason(&invocation.response), &["RequestType"]);
    assert!(
        !installer
            .codecommit
            .operations()
            .contains(&"PutRepositoryTriggers".to_owned()),
        "{:?}",
        installer.codecommit.calls()
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger(TRIGGER)])
    );
}

#[tokio::test]
async fn renaming_adds_the_new_trigger_and_the_old_goes_with_its_delete() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());

    let create = installer.request("Create", properties(REPOSITORY, "old"), None);
    let invocation = installer.invoke(&create).await;
    assert_answer(&create, &invocation, "SUCCESS");
    assert_eq!(invocation.response.text("PhysicalResourceId"), "my-app/old");
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger("old")])
    );

    let update = installer.update(
        properties(REPOSITORY, "new"),
        properties(REPOSITORY, "old"),
        "my-app/old",
    );
    let invocation = installer.invoke(&update).await;
    assert_answer(&update, &invocation, "SUCCESS");
    assert_eq!(invocation.response.text("PhysicalResourceId"), "my-app/new");
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger("new"), our_trigger("old")]),
        "the old trigger stays until CloudFormation deletes the old resource"
    );

    // CloudFormation's cleanup: Delete of the old physical id, with the old properties.
    let delete = installer.request("Delete", properties(REPOSITORY, "old"), Some("my-app/old"));
    let invocation = installer.invoke(&delete).await;
    assert_answer(&delete, &invocation, "SUCCESS");
    assert_eq!(invocation.response.text("PhysicalResourceId"), "my-app/old");
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[our_trigger("new")])
    );
}

#[tokio::test]
async fn a_trigger_of_the_same_name_someone_else_wrote_is_neither_replaced_nor_removed() {
    let installer = Installer::start().await;
    let theirs = json!({
        "name": TRIGGER,
        "destinationArn": "arn:aws:lambda:us-east-1:123456789012:function:someone-elses",
        "customData": "the tooling team's",
        "branches": [],
        "events": ["all"],
    });
    installer.codecommit.add_repository(
        REPOSITORY,
        with(other_triggers(), std::slice::from_ref(&theirs)),
    );

    let create = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let invocation = installer.invoke(&create).await;
    assert_answer(&create, &invocation, "FAILED");
    let reason = invocation.response.text("Reason");
    assert!(
        reason.contains(&format!(
            "repository {REPOSITORY} already has a trigger named {TRIGGER} that this stack did not write (it invokes arn:aws:lambda:us-east-1:123456789012:function:someone-elses)"
        )),
        "{reason}"
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), std::slice::from_ref(&theirs))
    );

    // A Delete of this stack's trigger (its stack going away) leaves theirs as it is.
    let delete = installer.request(
        "Delete",
        properties(REPOSITORY, TRIGGER),
        Some(&format!("{REPOSITORY}/{TRIGGER}")),
    );
    let invocation = installer.invoke(&delete).await;
    assert_answer(&delete, &invocation, "SUCCESS");
    assert!(
        invocation
            .response
            .text("Reason")
            .ends_with("it was left as it is"),
        "{:?}",
        invocation.response.text("Reason")
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[theirs])
    );
    assert!(!installer
        .codecommit
        .operations()
        .contains(&"PutRepositoryTriggers".to_owned()));
}

#[tokio::test]
async fn moving_to_another_repository_adds_the_trigger_there_and_the_old_goes_with_its_delete() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, with(other_triggers(), &[our_trigger(TRIGGER)]));
    installer.codecommit.add_repository("other-app", Vec::new());

    let update = installer.update(
        properties("other-app", TRIGGER),
        properties(REPOSITORY, TRIGGER),
        &format!("{REPOSITORY}/{TRIGGER}"),
    );
    let invocation = installer.invoke(&update).await;
    assert_answer(&update, &invocation, "SUCCESS");
    assert_eq!(
        invocation.response.text("PhysicalResourceId"),
        format!("other-app/{TRIGGER}")
    );
    assert_eq!(stored(&installer, "other-app"), [our_trigger(TRIGGER)]);

    // CloudFormation's cleanup: Delete of the old physical id, with the old properties.
    let delete = installer.request(
        "Delete",
        properties(REPOSITORY, TRIGGER),
        Some(&format!("{REPOSITORY}/{TRIGGER}")),
    );
    let invocation = installer.invoke(&delete).await;
    assert_answer(&delete, &invocation, "SUCCESS");
    assert_eq!(stored(&installer, REPOSITORY), by_name(other_triggers()));
    assert_eq!(stored(&installer, "other-app"), [our_trigger(TRIGGER)]);
}

#[tokio::test]
async fn a_request_whose_response_url_is_not_https_changes_nothing_and_is_not_answered() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());
    let mut create = installer.request("Create", properties(REPOSITORY, TRIGGER), None);
    let plain = create["ResponseURL"]
        .as_str()
        .expect("a ResponseURL")
        .replacen("https://", "http://", 1);
    create["ResponseURL"] = json!(plain);
    let result = installer
        .runtime
        .try_invoke(&create, INVOKE_TIMEOUT)
        .await
        .expect("the invocation is answered");
    let error = result.expect_err("the request is refused");
    assert_eq!(error.error_type, "InvalidRequest", "{error:?}");
    assert!(
        error.error_message.contains("is not an https URL"),
        "{error:?}"
    );
    assert!(installer.codecommit.operations().is_empty());
    assert_eq!(stored(&installer, REPOSITORY), by_name(other_triggers()));
    assert!(installer.responses.responses().is_empty());
}

/// Self-test of the fake: the AWS SDK understands its answers and errors, so a failure in
/// the tests above is the function's, not the fake's.
#[tokio::test]
async fn the_fake_codecommit_speaks_the_sdk_protocol() {
    use aws_sdk_codecommit::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_codecommit::error::ProvideErrorMetadata;
    use aws_sdk_codecommit::types::{RepositoryTrigger, RepositoryTriggerEventEnum};

    let fake = LocalCodeCommit::start().await;
    let config = aws_sdk_codecommit::Config::builder()
        .http_client(testkit::sdk_http_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(fake.endpoint())
        .build();
    let client = aws_sdk_codecommit::Client::from_conf(config);
    fake.add_repository(REPOSITORY, other_triggers());

    let read = client
        .get_repository_triggers()
        .repository_name(REPOSITORY)
        .send()
        .await
        .expect("GetRepositoryTriggers on an existing repository succeeds");
    let names: Vec<&str> = read
        .triggers()
        .iter()
        .map(RepositoryTrigger::name)
        .collect();
    assert_eq!(names, ["notify-team", "audit"]);
    assert_eq!(
        read.triggers()[0].custom_data(),
        other_triggers()[0]["customData"].as_str()
    );

    let trigger = |name: &str| {
        RepositoryTrigger::builder()
            .name(name)
            .destination_arn(DESTINATION)
            .events(RepositoryTriggerEventEnum::All)
            .build()
            .expect("a complete trigger")
    };
    client
        .put_repository_triggers()
        .repository_name(REPOSITORY)
        .triggers(trigger("one"))
        .send()
        .await
        .expect("PutRepositoryTriggers succeeds");
    assert_eq!(
        fake.triggers(REPOSITORY),
        Some(vec![
            json!({"name": "one", "destinationArn": DESTINATION, "events": ["all"]})
        ])
    );

    let eleven = (0..11).map(|n| trigger(&format!("t{n}"))).collect();
    let err = client
        .put_repository_triggers()
        .repository_name(REPOSITORY)
        .set_triggers(Some(eleven))
        .send()
        .await
        .expect_err("11 triggers are too many");
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_maximum_repository_triggers_exceeded_exception()));

    let err = client
        .get_repository_triggers()
        .repository_name("nope")
        .send()
        .await
        .expect_err("an unknown repository");
    let service_error = err.as_service_error().expect("a service error");
    assert!(service_error.is_repository_does_not_exist_exception());
    assert_eq!(service_error.message(), Some("nope does not exist"));

    fake.deny("GetRepositoryTriggers");
    let err = client
        .get_repository_triggers()
        .repository_name(REPOSITORY)
        .send()
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Some("AccessDeniedException"));

    assert_eq!(
        fake.operations(),
        [
            "GetRepositoryTriggers",
            "PutRepositoryTriggers",
            "PutRepositoryTriggers",
            "GetRepositoryTriggers",
            "GetRepositoryTriggers",
        ]
    );
    assert_eq!(fake.calls()[0].1, json!({"repositoryName": REPOSITORY}));
}

#[tokio::test]
async fn a_project_that_does_not_exist_fails_the_create_and_no_trigger_is_written() {
    let moto = testkit::moto::Moto::start().await;
    testkit::moto::create_project(
        &testkit::moto::codebuild_client(&moto.endpoint()),
        "my-project",
    )
    .await;
    let installer =
        Installer::start_with(&[], &[("AWS_ENDPOINT_URL_CODEBUILD", &moto.endpoint())]).await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());
    let mut with_projects = properties(REPOSITORY, TRIGGER);
    with_projects["ProjectNames"] = json!(["my-project", "my-projcet"]);
    let create = installer.request("Create", with_projects.clone(), None);
    let invocation = installer.invoke(&create).await;

    assert_answer(&create, &invocation, "FAILED");
    assert_mentions(
        reason(&invocation.response),
        &["my-projcet", "do not exist", "ProjectName"],
    );
    assert!(!reason(&invocation.response).contains("my-project,"));
    assert_eq!(
        stored(&installer, REPOSITORY),
        with(other_triggers(), &[]),
        "nothing written"
    );

    with_projects["ProjectNames"] = json!(["my-project"]);
    let create = installer.request("Create", with_projects, None);
    let invocation = installer.invoke(&create).await;
    assert_answer(&create, &invocation, "SUCCESS");
}

#[tokio::test]
async fn the_check_of_an_eventbridge_stack_fails_for_a_repository_that_is_not_there() {
    let installer = Installer::start().await;
    installer
        .codecommit
        .add_repository(REPOSITORY, other_triggers());
    let check = |repository: &str| {
        installer.request_for(
            "Custom::CodeCommitBuildTriggerCheck",
            "Create",
            json!({"ServiceToken": SERVICE_TOKEN, "RepositoryName": repository, "ProjectNames": []}),
            None,
        )
    };
    let request = check(REPOSITORY);
    let fine = installer.invoke(&request).await;
    assert_answer(&request, &fine, "SUCCESS");
    assert_eq!(fine.response.text("PhysicalResourceId"), "check:my-app");
    let request = check("my-ap");
    let missing = installer.invoke(&request).await;
    assert_answer(&request, &missing, "FAILED");
    assert_eq!(
        reason(&missing.response),
        "repository my-ap does not exist in this account and region \
         (RepositoryDoesNotExistException); check the RepositoryName parameter"
    );
    assert_eq!(
        stored(&installer, REPOSITORY),
        by_name(other_triggers()),
        "a check writes nothing"
    );
    assert!(!installer
        .codecommit
        .operations()
        .iter()
        .any(|operation| operation.starts_with("Put")));
}
