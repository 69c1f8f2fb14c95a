//! Start an AWS CodeBuild build of the exact commit pushed to AWS CodeCommit,
//! or of a pull request's source commit.
//!
//! Data flows one way: [`config`] is read once at init; each invocation's
//! event is parsed by [`event`] into an [`event::Event`] (a push, a pull
//! request, or an event that never builds) whose records the pure [`decide`]
//! plans, naming the facts it needs, which [`facts`] reads through
//! [`codecommit`] and [`codebuild`]; [`decide`] then finishes the decisions,
//! `request` turns them into StartBuild requests sent through [`codebuild`],
//! and `response` summarises. [`handler`] routes each kind of event along
//! that path; `main` only wires it to the Lambda runtime (or to `explain`).
//! Modules that nothing outside the crate uses are private.

mod arn;
pub mod aws;
pub mod codebuild;
pub mod codecommit;
pub mod comments;
pub mod config;
pub mod custom_resource;
pub mod deadline;
pub mod decide;
mod error;
pub mod event;
mod explain;
pub mod facts;
pub mod handler;
pub mod init_error;
pub mod kept_events;
pub mod logs;
mod pattern;
mod report;
pub use report::confirm;
mod request;
mod response;
pub mod role;
pub mod sdk;
pub mod sts;
mod variables;

#[cfg(test)]
mod test_support;
