//! The stack's CloudFormation custom resources:
//!
//! - `Custom::CodeCommitTrigger` installs this stack's trigger on an existing repository
//!   without touching the repository's other triggers (`PutRepositoryTriggers` replaces them
//!   all), and removes only its own on delete;
//! - `Custom::CodeCommitMergeGate` keeps this stack's approval rule template on the
//!   repositories, and removes it on delete;
//! - `Custom::CodeCommitBuildTriggerCheck` (`TriggerMode=EventBridge`, which installs nothing)
//!   fails the stack unless the repository and the projects exist.
//!
//! [`request`] parses CloudFormation's request, [`triggers`] (pure) merges the trigger lists,
//! [`merge_gate`] (pure) makes the approval rule template, [`install`] carries a request out
//! through the traits of [`crate::aws`] (`install_gate` for the merge gate), and [`response`]
//! answers CloudFormation through its pre-signed URL on every path, errors included;
//! `roles::installer` is the Lambda function that does all this.

pub mod install;
mod install_gate;
pub mod merge_gate;
pub mod request;
pub mod response;
pub mod triggers;
