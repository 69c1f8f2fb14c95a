//! The JSON summary the function answers with.

use serde::Serialize;

/// What the function did with a push.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Response {
    /// References a build was started for, in event order.
    pub started: Vec<Started>,
    /// References that were not built, with the reason, in event order.
    pub skipped: Vec<Skipped>,
}

/// A reference whose build was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The project started.
    pub project: String,
    /// The routing rule that started it (absent for the one-rule shorthand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The build's id; absent when an earlier delivery started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// The repository's name.
    pub repository: String,
    /// The full reference name.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The commit built.
    pub commit: String,
    /// CodeBuild answered the idempotency token with a parameter mismatch:
    /// an earlier delivery of this push started the build.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_started: bool,
    /// Older in-progress builds of the same project and ref that this build
    /// superseded (stopped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
}

/// A reference that was not built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The repository's name.
    pub repository: String,
    /// The full reference name.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The commit the event names, if any (a deletion may name none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The project a matching rule did not start (absent when no rule matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// That rule (absent when no rule matched, and for the one-rule shorthand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why it was not built.
    pub reason: String,
}
