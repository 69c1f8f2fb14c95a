//! The integration tests, one binary: the test support (`testkit`) compiles and links once, and
//! every test of every file shares the two test threads (`make test` runs them).
//!
//! Each module tests one part as a user meets it: the release binaries under a local Lambda
//! Runtime API, against moto and the local CodeCommit endpoint of `testkit`.

// Without the `end-to-end` feature (a bare `cargo test`) these tests are left out, and one
// ignored test says how to run them; `make test` turns the feature on.

#[cfg(not(feature = "end-to-end"))]
#[test]
#[ignore = "the end-to-end tests run the release binaries against moto: run `make test`"]
fn end_to_end_tests_need_make_test() {}

#[cfg(feature = "end-to-end")]
mod cargo_lambda;
#[cfg(feature = "end-to-end")]
mod custom_resource;
#[cfg(feature = "end-to-end")]
mod end_to_end;
#[cfg(feature = "end-to-end")]
mod fake_comments;
#[cfg(feature = "end-to-end")]
mod faults;
#[cfg(feature = "end-to-end")]
mod git_codecommit;
#[cfg(feature = "end-to-end")]
mod harness;
#[cfg(feature = "end-to-end")]
mod pull_requests;
#[cfg(feature = "end-to-end")]
mod replay;
#[cfg(feature = "end-to-end")]
mod reporting;
#[cfg(feature = "end-to-end")]
mod routing;
#[cfg(feature = "end-to-end")]
mod trust;
