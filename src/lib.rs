//! Start an AWS CodeBuild build of the exact commit pushed to AWS CodeCommit, or of a pull
//! request's source commit, and bring the result back to CodeCommit.
//!
//! The layers, top to bottom (no module imports one above it):
//!
//! - `main` picks a role; [`roles`] wires each one (the starter, the reporter, the installer,
//!   the command line) to the Lambda runtime ([`lambda`]) and to its AWS clients;
//! - [`handler`] is the I/O shell, one file per event path: a push or a pull request is
//!   planned by the pure [`decide`], its needs read (`handler::gather`), finished, and started
//!   as [`build_request`] requests; a build-state event is confirmed with CodeBuild and reported
//!   through the pure [`report`]; [`installer`] is the custom resource's logic;
//! - [`aws`] holds every AWS call, as read and write traits and their SDK implementations;
//! - [`event`] parses what arrives, [`config`] reads the environment once at init;
//! - `vocabulary` is what every layer shares (build variables, ARNs, text helpers).

#![warn(missing_docs)]

pub mod aws;
pub mod build_request;
pub mod config;
pub mod decide;
pub mod event;
pub mod handler;
pub mod installer;
pub mod lambda;
mod report;
pub use report::confirm;
pub mod roles;
mod vocabulary;

#[cfg(test)]
mod test_support;
