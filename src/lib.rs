//! Start an AWS CodeBuild build of the exact commit pushed to AWS CodeCommit.
//!
//! Data flows one way: [`config`] is read once at init; each invocation's
//! event is parsed by [`event`] into a [`event::Push`]; the pure [`decide`]
//! plans what it can and names the facts it needs, which [`facts`] reads
//! through [`codecommit`] and [`codebuild`]; [`decide`] then finishes the
//! decisions, [`request`] turns them into StartBuild requests sent through
//! [`codebuild`], and [`response`] summarises. [`handler`] runs that
//! sequence; `main` only wires it to the Lambda runtime (or to `explain`).

pub mod arn;
pub mod aws;
pub mod codebuild;
pub mod codecommit;
pub mod config;
pub mod custom_resource;
pub mod deadline;
pub mod decide;
pub mod error;
pub mod event;
pub mod explain;
pub mod facts;
pub mod handler;
pub mod init_error;
pub mod kept_events;
pub mod pattern;
pub mod request;
pub mod response;
pub mod sdk;

#[cfg(test)]
mod test_support;
