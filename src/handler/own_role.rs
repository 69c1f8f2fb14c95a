//! The reporter's role: whose sessions write the function's comments, so that no role takes
//! the function's own comments for a user's. `REPORTER_ROLE_ARN` says; without it, a function
//! that reports learns its own role once, on the first event that needs it (STS), so that
//! neither init nor a push waits for STS.

use crate::aws::OwnRoleError;
use crate::config::{Config, RoleArn};
use futures_util::future::BoxFuture;
use lambda_runtime::tracing::warn;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Asks who the function is (STS `GetCallerIdentity`): the role of its own session, or why
/// that cannot be known.
pub struct RoleLearner(
    Box<dyn Fn() -> BoxFuture<'static, Result<RoleArn, OwnRoleError>> + Send + Sync>,
);

impl RoleLearner {
    /// A learner that calls `learn`.
    pub fn new(
        learn: impl Fn() -> BoxFuture<'static, Result<RoleArn, OwnRoleError>> + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(learn))
    }
}

impl std::fmt::Debug for RoleLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoleLearner")
    }
}

/// The reporter's role as `REPORTER_ROLE_ARN` says, or as learnt once. Clones share what was
/// learnt, so that the starter and the reporter of one function ask STS once.
#[derive(Debug, Default, Clone)]
pub struct ReporterRole(Arc<Learnt>);

#[derive(Debug, Default)]
struct Learnt {
    /// Where the role comes from when `REPORTER_ROLE_ARN` does not say.
    learn: Option<RoleLearner>,
    /// The role learnt, once per container, on the first event that needs it.
    role: OnceCell<Option<RoleArn>>,
}

impl ReporterRole {
    /// Learning the role through `learn` when the configuration does not name it.
    pub fn learnt_by(learn: RoleLearner) -> Self {
        Self(Arc::new(Learnt {
            learn: Some(learn),
            role: OnceCell::new(),
        }))
    }

    /// The role whose sessions write the function's comments: `REPORTER_ROLE_ARN`, else the
    /// role learnt; `None` when neither says.
    pub(super) async fn get<'a>(&'a self, config: &'a Config) -> Option<&'a RoleArn> {
        if let Some(role) = &config.reporting.reporter_role {
            return Some(role);
        }
        let learn = self.0.learn.as_ref()?;
        self.0
            .role
            .get_or_init(|| async {
                (learn.0)()
                    .await
                    .inspect_err(|problem| {
                        warn!(problem = %problem, "REPORTER_ROLE_ARN is not set and STS could not tell the function's role: no comment will be written");
                    })
                    .ok()
            })
            .await
            .as_ref()
    }
}
