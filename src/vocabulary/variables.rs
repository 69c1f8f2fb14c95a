//! The build variables: the PLAINTEXT `CODECOMMIT_*` environment overrides a
//! build is started with. [`crate::build_request`] writes them; whatever traces a
//! build back to its push or pull request reads them by these names.

/// The repository's name.
pub const REPOSITORY: &str = "CODECOMMIT_REPOSITORY";
/// The full reference built (a pull request's source reference).
pub const REF: &str = "CODECOMMIT_REF";
/// The branch's name, for branches only.
pub const BRANCH: &str = "CODECOMMIT_BRANCH";
/// The tag's name, for tags only.
pub const TAG: &str = "CODECOMMIT_TAG";
/// The commit built.
pub const COMMIT: &str = "CODECOMMIT_COMMIT";
/// Who pushed, or who changed the pull request, when the event says.
pub const PUSHER_ARN: &str = "CODECOMMIT_PUSHER_ARN";
/// The pull request's id.
pub const PULL_REQUEST_ID: &str = "CODECOMMIT_PULL_REQUEST_ID";
/// The pull request's revision (`revisionId`).
pub const PULL_REQUEST_REVISION: &str = "CODECOMMIT_PULL_REQUEST_REVISION";
/// The branch the pull request merges into.
pub const DESTINATION_BRANCH: &str = "CODECOMMIT_DESTINATION_BRANCH";
/// That branch's commit when the event was sent.
pub const DESTINATION_COMMIT: &str = "CODECOMMIT_DESTINATION_COMMIT";

/// The routing rule that started the build (with routing rules only).
pub const RULE: &str = "CODECOMMIT_RULE";

/// The prefix of every name this function sets, which rules may not use.
pub const PREFIX: &str = "CODECOMMIT_";
