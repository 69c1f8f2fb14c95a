//! Start an AWS CodeBuild build of the exact commit pushed to AWS CodeCommit.
//!
//! Data flows one way: [`config`] is read once at init; each invocation's
//! event is parsed by [`event`] into a [`event::Push`], decided by the pure
//! [`decide`], turned into StartBuild requests by [`request`], sent through
//! [`codebuild`], and summarised by [`response`]. [`handler`] runs that
//! sequence; `main` only wires it to the Lambda runtime.

pub mod arn;
pub mod codebuild;
pub mod config;
pub mod custom_resource;
pub mod decide;
pub mod error;
pub mod event;
pub mod handler;
pub mod init_error;
pub mod pattern;
pub mod request;
pub mod response;
