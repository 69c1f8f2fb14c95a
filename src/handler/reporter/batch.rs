//! The reporter's path for a build of a batch build. CodeBuild sends no event for a batch
//! itself, only for its builds: each of their events is a hint to read the batch
//! (`BatchGetBuildBatches`) and write it, as CodeBuild reports it, into the one status
//! comment of its (revision, rule), listing its builds.

use super::{failed, reported, ReadLog, ReadTests, Reporter, Target};
use crate::aws::reads::{BatchReport, BuildReads, CodeCommitReads, CommentReads, LogReads};
use crate::aws::writes::ResultWrites;
use crate::config::RoleArn;
use crate::event::{Build, BuildChange, BuildOrigin, BuildStatus};
use crate::handler::answer::{ReportAction, Reported};
use crate::handler::error::HandlerError;
use crate::report::{
    render_batch, started_by, BatchBuild, BatchContent, BatchProgress, MAX_FAILED_SECTIONS,
};
use crate::vocabulary::arn::Arn;
use lambda_runtime::tracing::{info, warn};
use std::collections::HashMap;

impl<B, C, L> Reporter<B, C, L>
where
    B: BuildReads,
    C: CodeCommitReads + CommentReads + ResultWrites,
    L: LogReads,
{
    /// Writes the batch that `member` (a build CodeBuild reports as one of batch
    /// `batch_arn`'s) belongs to into its status comment, and once it has ended into the
    /// approval. The batch answers for its builds: its variables must be theirs, and with
    /// `STARTER_ROLE_ARN` its initiator the starter.
    pub(super) async fn report_batch(
        &self,
        member: &BuildChange,
        batch_arn: &str,
        origin: &BuildOrigin,
        parent: Option<&str>,
        own: &RoleArn,
    ) -> Result<Reported, HandlerError> {
        let ignored = |reason: String| {
            warn!(
                build = member.build.id,
                reason, "build-state event not acted on"
            );
            Ok(reported(member, ReportAction::Ignored, None, Some(reason)))
        };
        let Some(batch_id) = batch_id(batch_arn, &member.build) else {
            return ignored(format!(
                "build {} names {batch_arn:?} as its batch, which is not a batch build of project {} in its account and region",
                member.build.id, member.build.project
            ));
        };
        let read = self.codebuild.batch(batch_id).await;
        let Some(batch) = read.map_err(|source| failed(member, source))? else {
            return ignored(format!(
                "CodeBuild knows no batch {batch_id}, which build {} names",
                member.build.id
            ));
        };
        let whole = batch.report.clone().change(Build {
            arn: batch_arn.to_owned(),
            id: batch_id.to_owned(),
            ..member.build.clone()
        });
        if whole.origin.as_ref().ok() != Some(origin) {
            return ignored(format!(
                "build {}'s CODECOMMIT_* variables or source version are not those of its batch {batch_id}",
                member.build.id
            ));
        }
        if let Some(starter) = self.config.reporting.starter_role.as_ref() {
            if let Err(reason) = started_by(&whole, starter, "batch") {
                return ignored(reason);
            }
        }
        let builds = self.batch_builds(member, &batch).await;
        let mut target = Target::of(&whole, origin, parent);
        target.stamp.batch = Some(progress(&batch));
        let content = self.batch_content(&whole, &batch, &builds, origin, &target);
        let mut answer = self.write_comment(&whole, &target, own, content).await?;
        if let BuildOrigin::PullRequest { .. } = origin {
            if whole.complete && self.config.reporting.approve_pull_requests {
                let approval = self.approve(&whole, origin).await?;
                info!(batch = batch_id, approval, "approval");
                answer.approval = Some(approval);
            }
        }
        Ok(Reported {
            build_id: member.build.id.clone(),
            status: member.status.to_string(),
            batch_id: Some(whole.build.id.clone()),
            batch_status: Some(whole.status.to_string()),
            ..answer
        })
    }

    /// The current builds of `batch`, as CodeBuild reports them (`BatchGetBuilds`), by id;
    /// none when they cannot be read (logged): the batch's own summary of them stands.
    async fn batch_builds(
        &self,
        member: &BuildChange,
        batch: &BatchReport,
    ) -> HashMap<String, BuildChange> {
        let ids: Vec<String> = batch
            .groups
            .iter()
            .filter_map(|group| group.build_id.clone())
            .collect();
        match self.codebuild.builds(&ids).await {
            Ok(reports) => reports
                .into_iter()
                .filter_map(|(id, report)| {
                    let (project, _) = id.split_once(':')?;
                    let build = &member.build;
                    let arn = format!(
                        "arn:{}:codebuild:{}:{}:build/{id}",
                        build.partition, build.region, build.account
                    );
                    (project == build.project).then(|| {
                        let change = report.change(Build {
                            arn,
                            id: id.clone(),
                            ..build.clone()
                        });
                        (id, change)
                    })
                })
                .collect(),
            Err(failure) => {
                super::warn_unread(member, &failure, "the batch's builds");
                HashMap::new()
            }
        }
    }

    /// The batch's comment: its builds, and for the first [`MAX_FAILED_SECTIONS`] that
    /// failed their log's last lines and their tests. A failed read is said, not fatal.
    async fn batch_content(
        &self,
        whole: &BuildChange,
        batch: &BatchReport,
        builds: &HashMap<String, BuildChange>,
        origin: &BuildOrigin,
        target: &Target<'_>,
    ) -> String {
        let superseded_by = self.superseded_by(whole, origin).await;
        let mut reads: HashMap<&str, (ReadLog, ReadTests)> = HashMap::new();
        let failed = batch
            .groups
            .iter()
            .filter_map(|group| builds.get(group.build_id.as_deref()?))
            .filter(|build| build.complete && build.status != BuildStatus::Succeeded)
            .take(MAX_FAILED_SECTIONS);
        for build in failed {
            let read = (self.log_of(build).await, self.tests_of(build).await);
            reads.insert(build.build.id.as_str(), read);
        }
        let shown: Vec<BatchBuild<'_>> = batch
            .groups
            .iter()
            .map(|group| {
                let id = group.build_id.as_deref().unwrap_or_default();
                let read = reads.get(id);
                BatchBuild {
                    identifier: &group.identifier,
                    build: builds.get(id),
                    status: group.status.as_deref(),
                    log: read.map_or(crate::report::LogTail::None, |(log, _)| log.tail()),
                    tests: read.map_or(crate::report::Tests::None, |(_, tests)| tests.shown()),
                }
            })
            .collect();
        render_batch(&BatchContent {
            batch: whole,
            duration_seconds: batch.duration_seconds.unwrap_or(0),
            stamp: &target.stamp,
            commit: target.commit,
            superseded_by: superseded_by.as_deref(),
            builds: &shown,
        })
    }
}

/// The id (`PROJECT:UUID`) of the batch `arn` names, when it is a batch of `member`'s project
/// in its partition, region and account.
fn batch_id<'a>(arn: &'a str, member: &Build) -> Option<&'a str> {
    let parsed = Arn::parse(arn)?;
    let id = parsed.resource.strip_prefix("build-batch/")?;
    let same_place = parsed.service == "codebuild"
        && parsed.partition == member.partition
        && parsed.region == member.region
        && parsed.account == member.account;
    (same_place && id.split_once(':')?.0 == member.project).then_some(id)
}

/// How far `batch`'s builds got.
fn progress(batch: &BatchReport) -> BatchProgress {
    BatchProgress {
        retried: batch
            .groups
            .iter()
            .map(|group| group.retried)
            .fold(0, u32::saturating_add),
        ended: batch
            .groups
            .iter()
            .filter(|group| {
                group
                    .status
                    .as_deref()
                    .is_some_and(|status| status != "IN_PROGRESS")
            })
            .count(),
        builds: batch.groups.len(),
    }
}
