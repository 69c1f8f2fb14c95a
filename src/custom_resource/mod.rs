//! The `Custom::CodeCommitTrigger` CloudFormation custom resource: installs
//! this stack's trigger on an existing repository without touching the
//! repository's other triggers (`PutRepositoryTriggers` replaces them all),
//! and removes only its own on delete.
//!
//! [`request`] parses CloudFormation's request, [`triggers`] (pure) merges
//! the trigger lists, [`codecommit`] reads and writes them, [`install`]
//! carries a request out, and [`response`] answers CloudFormation through
//! its pre-signed URL on every path, errors included; [`function`] is the
//! Lambda function that does all this.

pub mod codecommit;
pub mod function;
pub mod install;
pub mod request;
pub mod response;
pub mod triggers;
