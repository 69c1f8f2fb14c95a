//! CloudFormation custom resource requests for `Custom::CodeCommitTrigger`,
//! `Custom::CodeCommitMergeGate` and `Custom::CodeCommitBuildTriggerCheck`.

use super::merge_gate::MergeGateSpec;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// A request CloudFormation cannot be answered for: without these fields
/// there is no URL or identity to answer with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a CloudFormation custom resource request: {0}")]
pub struct UnanswerableRequest(pub String);

/// The fields every answer must echo, and where to send it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    /// The pre-signed URL the answer is PUT to.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// The stack's ARN.
    pub stack_id: String,
    /// This request's id.
    pub request_id: String,
    /// The resource's logical id in the template.
    pub logical_resource_id: String,
    /// The id this function answered on Create (Update and Delete only).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
}

/// What CloudFormation asks of a resource described by `S`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<S> {
    /// Install the resource.
    Create(S),
    /// Install the resource as now specified (its id may change), in place of the one the
    /// previous properties described (when the request says).
    Update(S, Option<S>),
    /// Remove the resource this function installed, described as it was (when the request
    /// says).
    Delete(Option<S>),
}

/// The resource a request is about, by its `ResourceType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `Custom::CodeCommitTrigger`: this stack's trigger on a repository.
    Trigger(Action<TriggerSpec>),
    /// `Custom::CodeCommitMergeGate`: this stack's approval rule template on repositories.
    MergeGate(Action<MergeGateSpec>),
    /// `Custom::CodeCommitBuildTriggerCheck`: the deploy-time check of a stack that installs
    /// nothing on the repository (`TriggerMode=EventBridge`).
    Check(Action<CheckSpec>),
}

/// The `ResourceType` of the trigger.
const TRIGGER_TYPE: &str = "Custom::CodeCommitTrigger";
/// The `ResourceType` of the merge gate.
const MERGE_GATE_TYPE: &str = "Custom::CodeCommitMergeGate";
/// The `ResourceType` of the deploy-time check.
const CHECK_TYPE: &str = "Custom::CodeCommitBuildTriggerCheck";

/// Properties that can be checked beyond their types.
pub trait Spec: DeserializeOwned {
    /// Why these properties cannot be carried out, naming the field.
    fn validate(&self) -> Result<(), String>;
}

/// The trigger to install, from `ResourceProperties`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TriggerSpec {
    /// The existing repository.
    pub repository_name: String,
    /// The trigger's name (the stack's name in the template).
    pub trigger_name: String,
    /// The function the trigger invokes.
    pub destination_arn: String,
    /// Free text passed in each event's `customData`.
    #[serde(default)]
    pub custom_data: Option<String>,
    /// Branches that fire the trigger; empty means all.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Repository events that fire the trigger.
    #[serde(default = "all_events")]
    pub events: Vec<String>,
    /// The projects (names or ARNs) the function starts: checked at deploy time, so that a
    /// stack naming a project that does not exist fails rather than succeed into silence.
    #[serde(default)]
    pub project_names: Vec<String>,
}

fn all_events() -> Vec<String> {
    vec!["all".to_owned()]
}

impl TriggerSpec {
    /// The physical id of the installed trigger: `REPOSITORY/TRIGGER`
    /// (repository names cannot contain `/`).
    pub fn physical_id(&self) -> String {
        format!("{}/{}", self.repository_name, self.trigger_name)
    }
}

/// Fails unless `name` is a CodeCommit repository name.
fn check_repository_name(name: &str) -> Result<(), String> {
    let valid = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "ResourceProperties.RepositoryName {name:?} is not a CodeCommit repository name"
        ))
    }
}

/// What the deploy-time check looks for, from `ResourceProperties`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckSpec {
    /// The repository, which must exist in the stack's account and region.
    pub repository_name: String,
    /// The projects (names or ARNs) the function starts, which must exist.
    #[serde(default)]
    pub project_names: Vec<String>,
}

impl Spec for CheckSpec {
    fn validate(&self) -> Result<(), String> {
        check_repository_name(&self.repository_name)
    }
}

impl Spec for TriggerSpec {
    fn validate(&self) -> Result<(), String> {
        check_repository_name(&self.repository_name)?;
        if self.trigger_name.trim().is_empty() || self.trigger_name.len() > 100 {
            return Err("ResourceProperties.TriggerName must be 1 to 100 characters".to_owned());
        }
        if !self.destination_arn.starts_with("arn:") {
            return Err(format!(
                "ResourceProperties.DestinationArn {:?} is not an ARN",
                self.destination_arn
            ));
        }
        if self.events.is_empty() {
            return Err("ResourceProperties.Events is empty".to_owned());
        }
        Ok(())
    }
}

/// A parsed request: its envelope, and the action or why it is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Where and how to answer.
    pub envelope: Envelope,
    /// The resource and what to do with it, or a reason to answer FAILED.
    pub action: Result<Resource, String>,
}

/// Parses a request. An error means it cannot be answered at all: nothing is done for it.
/// That includes a `ResponseURL` that is not `https`, as CloudFormation's pre-signed URLs
/// always are: a request whose answer would travel in the clear, or to a plain-http
/// endpoint of the caller's choosing, is not CloudFormation's.
pub fn parse(event: &Value) -> Result<Request, UnanswerableRequest> {
    let envelope =
        Envelope::deserialize(event).map_err(|error| UnanswerableRequest(error.to_string()))?;
    if !envelope
        .response_url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    {
        return Err(UnanswerableRequest(format!(
            "ResponseURL {:?} is not an https URL, as CloudFormation's always are",
            crate::vocabulary::truncate(&envelope.response_url, 200)
        )));
    }
    let action = action(event);
    Ok(Request { envelope, action })
}

fn action(event: &Value) -> Result<Resource, String> {
    match event.get("ResourceType").and_then(Value::as_str) {
        Some(TRIGGER_TYPE) => action_on(event).map(Resource::Trigger),
        Some(MERGE_GATE_TYPE) => action_on(event).map(Resource::MergeGate),
        Some(CHECK_TYPE) => action_on(event).map(Resource::Check),
        Some(other) => Err(format!(
            "ResourceType {other:?} is not {TRIGGER_TYPE}, {MERGE_GATE_TYPE} or {CHECK_TYPE}"
        )),
        None => Err("ResourceType is missing".to_owned()),
    }
}

fn action_on<S: Spec>(event: &Value) -> Result<Action<S>, String> {
    let spec_in = |field: &str| -> Result<S, String> {
        let properties = event
            .get(field)
            .ok_or_else(|| format!("{field} is missing"))?;
        let spec =
            serde_path_to_error::deserialize::<_, S>(properties).map_err(|error| {
                match error.path().to_string().as_str() {
                    "." => format!("{field}: {}", error.inner()),
                    path => format!("{field}.{path}: {}", error.inner()),
                }
            })?;
        spec.validate()?;
        Ok(spec)
    };
    let spec = || spec_in("ResourceProperties");
    match event.get("RequestType").and_then(Value::as_str) {
        Some("Create") => spec().map(Action::Create),
        Some("Update") => {
            spec().map(|spec| Action::Update(spec, spec_in("OldResourceProperties").ok()))
        }
        Some("Delete") => Ok(Action::Delete(spec().ok())),
        Some(other) => Err(format!(
            "RequestType {other:?} is not Create, Update or Delete"
        )),
        None => Err("RequestType is missing".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(kind: &str, properties: Value) -> Value {
        json!({
            "RequestType": kind,
            "ResponseURL": "https://example.invalid/response?sig=1",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r1",
            "ResourceType": "Custom::CodeCommitTrigger",
            "LogicalResourceId": "RepositoryTrigger",
            "ResourceProperties": properties
        })
    }

    fn properties() -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:installer",
            "RepositoryName": "my-app",
            "TriggerName": "my-stack",
            "DestinationArn": "arn:aws:lambda:us-east-1:123456789012:function:trigger"
        })
    }

    #[test]
    fn create_reads_the_trigger_with_defaults() {
        let parsed = parse(&request("Create", properties())).expect("answerable");
        let Ok(Resource::Trigger(Action::Create(spec))) = parsed.action else {
            panic!("expected a create, got {:?}", parsed.action);
        };
        assert_eq!(spec.physical_id(), "my-app/my-stack");
        assert_eq!(spec.events, ["all"]);
        assert!(spec.branches.is_empty());
        assert_eq!(parsed.envelope.request_id, "r1");
    }

    #[test]
    fn invalid_properties_are_answered_with_the_field() {
        let mut missing = properties();
        missing
            .as_object_mut()
            .expect("object")
            .remove("RepositoryName");
        let parsed = parse(&request("Create", missing)).expect("answerable");
        let reason = parsed.action.expect_err("invalid");
        assert!(reason.contains("RepositoryName"), "{reason}");
        let mut bad = properties();
        bad["RepositoryName"] = json!("has space");
        let reason = parse(&request("Update", bad))
            .expect("answerable")
            .action
            .expect_err("invalid");
        assert!(
            reason.starts_with("ResourceProperties.RepositoryName"),
            "{reason}"
        );
        let reason = parse(&request("Rename", properties()))
            .expect("answerable")
            .action
            .expect_err("bad");
        assert!(reason.starts_with("RequestType \"Rename\""), "{reason}");
    }

    #[test]
    fn delete_needs_no_properties() {
        let mut event = request("Delete", json!({}));
        event["PhysicalResourceId"] = json!("my-app/my-stack");
        let parsed = parse(&event).expect("answerable");
        assert_eq!(parsed.action, Ok(Resource::Trigger(Action::Delete(None))));
        assert_eq!(
            parsed.envelope.physical_resource_id.as_deref(),
            Some("my-app/my-stack")
        );
    }

    #[test]
    fn a_request_without_a_response_url_cannot_be_answered() {
        let mut event = request("Create", properties());
        event.as_object_mut().expect("object").remove("ResponseURL");
        assert!(parse(&event)
            .expect_err("unanswerable")
            .to_string()
            .contains("ResponseURL"));
    }

    #[test]
    fn a_response_url_that_is_not_https_is_not_cloudformations() {
        for url in [
            "http://example.invalid/response?sig=1",
            "ftp://example.invalid/r",
            "file:///etc/passwd",
            "",
        ] {
            let mut event = request("Create", properties());
            event["ResponseURL"] = json!(url);
            let refused = parse(&event).expect_err("unanswerable").to_string();
            assert!(refused.contains("is not an https URL"), "{url}: {refused}");
        }
        let mut event = request("Create", properties());
        event["ResponseURL"] = json!("HTTPS://example.invalid/r");
        assert!(parse(&event).is_ok());
    }
}
