//! The integration tests, one binary: the test support (`testkit`) compiles and links once, and
//! every test of every file shares the two test threads (`make test` runs them).
//!
//! Each module tests one part as a user meets it: the release binaries under a local Lambda
//! Runtime API, against moto and the local CodeCommit endpoint of `testkit`.

// Without the `end-to-end` feature (a bare `cargo test`) every module below is empty (each
// starts with `#![cfg(feature = "end-to-end")]`), and one ignored test says how to run them;
// `make test` turns the feature on.

#[cfg(not(feature = "end-to-end"))]
#[test]
#[ignore = "the end-to-end tests run the release binaries against moto: run `make test`"]
fn end_to_end_tests_need_make_test() {}

mod batches;
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
mod repositories;
mod routing;
mod trust;
