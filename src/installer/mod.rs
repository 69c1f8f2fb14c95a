//! The `Custom::CodeCommitTrigger` CloudFormation custom resource: installs
//! this stack's trigger on an existing repository without touching the
//! repository's other triggers (`PutRepositoryTriggers` replaces them all),
//! and removes only its own on delete.
//!
//! [`request`] parses CloudFormation's request, [`triggers`] (pure) merges
//! the trigger lists, [`install`] carries a request out through the trigger
//! traits of [`crate::aws`], and [`response`] answers CloudFormation through
//! its pre-signed URL on every path, errors included; `roles::installer` is
//! the Lambda function that does all this.

pub mod install;
mod install_gate;
pub mod merge_gate;
pub mod request;
pub mod response;
pub mod triggers;
