//! The integration tests, one binary: the test support below compiles and links once, and
//! every test of every file shares the two test threads (`make test` runs them).
//!
//! Each module tests one part as a user meets it: the release binaries under a local Lambda
//! Runtime API, against moto and the local CodeCommit endpoint of `tests/support`.

#[path = "../support/mod.rs"]
mod support;

mod cargo_lambda;
mod custom_resource;
mod end_to_end;
mod fake_comments;
mod faults;
mod git_codecommit;
mod harness;
mod pull_requests;
mod replay;
mod reporting;
mod routing;
mod trust;
