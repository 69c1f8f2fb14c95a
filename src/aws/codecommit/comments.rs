//! The comment calls on the AWS SDK: [`CommentReads`] and [`ResultWrites`].

use super::CodeCommit;
use crate::aws::reads::{Comment, CommentReads, Thread};
use crate::aws::writes::ResultWrites;
use crate::aws::AwsError;

/// Most pages of comments read from one thread (100 comments a page).
const MAX_PAGES: usize = 50;

fn comment_of(comment: aws_sdk_codecommit::types::Comment) -> Option<Comment> {
    Some(Comment {
        id: comment.comment_id?,
        author: comment.author_arn,
        content: comment.content.unwrap_or_default(),
    })
}

impl CommentReads for CodeCommit {
    async fn comments(
        &self,
        thread: &Thread<'_>,
        by: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<Comment>, AwsError> {
        let client = &self.client;
        let mut comments = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (groups, next) = match *thread {
                Thread::PullRequest {
                    repository,
                    id,
                    before,
                    after,
                } => {
                    let output = client
                        .get_comments_for_pull_request()
                        .pull_request_id(id)
                        .repository_name(repository)
                        .before_commit_id(before)
                        .after_commit_id(after)
                        .max_results(100)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|error| AwsError::from_sdk("GetCommentsForPullRequest", error))?;
                    let groups: Vec<_> = output
                        .comments_for_pull_request_data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|group| group.comments.unwrap_or_default())
                        .collect();
                    (groups, output.next_token)
                }
                Thread::Commit {
                    repository,
                    before,
                    after,
                } => {
                    let output = client
                        .get_comments_for_compared_commit()
                        .repository_name(repository)
                        .set_before_commit_id(before.map(str::to_owned))
                        .after_commit_id(after)
                        .max_results(100)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|error| {
                            AwsError::from_sdk("GetCommentsForComparedCommit", error)
                        })?;
                    let groups: Vec<_> = output
                        .comments_for_compared_commit_data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|group| group.comments.unwrap_or_default())
                        .collect();
                    (groups, output.next_token)
                }
            };
            comments.extend(
                groups
                    .into_iter()
                    .flatten()
                    .filter_map(comment_of)
                    .filter(|comment| comment.author.as_deref().is_some_and(by)),
            );
            match next {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(comments),
            }
        }
        Ok(comments)
    }

    async fn comment(&self, id: &str) -> Result<Comment, AwsError> {
        let output = self
            .client
            .get_comment()
            .comment_id(id)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetComment", error))?;
        output.comment.and_then(comment_of).ok_or_else(|| AwsError {
            operation: "GetComment",
            code: "MissingComment".into(),
            message: format!("GetComment answered without comment {id}"),
        })
    }
}

impl ResultWrites for CodeCommit {
    async fn post(
        &self,
        thread: &Thread<'_>,
        content: &str,
        token: &str,
    ) -> Result<String, AwsError> {
        let client = &self.client;
        let (operation, comment) = match *thread {
            Thread::PullRequest {
                repository,
                id,
                before,
                after,
            } => (
                "PostCommentForPullRequest",
                client
                    .post_comment_for_pull_request()
                    .pull_request_id(id)
                    .repository_name(repository)
                    .before_commit_id(before)
                    .after_commit_id(after)
                    .content(content)
                    .client_request_token(token)
                    .send()
                    .await
                    .map_err(|error| AwsError::from_sdk("PostCommentForPullRequest", error))?
                    .comment,
            ),
            Thread::Commit {
                repository,
                before,
                after,
            } => (
                "PostCommentForComparedCommit",
                client
                    .post_comment_for_compared_commit()
                    .repository_name(repository)
                    .set_before_commit_id(before.map(str::to_owned))
                    .after_commit_id(after)
                    .content(content)
                    .client_request_token(token)
                    .send()
                    .await
                    .map_err(|error| AwsError::from_sdk("PostCommentForComparedCommit", error))?
                    .comment,
            ),
        };
        comment
            .and_then(|comment| comment.comment_id)
            .ok_or_else(|| AwsError {
                operation,
                code: "MissingComment".into(),
                message: format!("{operation} answered without the comment's id"),
            })
    }

    async fn update(&self, id: &str, content: &str) -> Result<(), AwsError> {
        self.client
            .update_comment()
            .comment_id(id)
            .content(content)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("UpdateComment", error))?;
        Ok(())
    }

    async fn set_approval(&self, id: &str, revision: &str, approve: bool) -> Result<(), AwsError> {
        use aws_sdk_codecommit::types::ApprovalState;
        self.client
            .update_pull_request_approval_state()
            .pull_request_id(id)
            .revision_id(revision)
            .approval_state(if approve {
                ApprovalState::Approve
            } else {
                ApprovalState::Revoke
            })
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("UpdatePullRequestApprovalState", error))?;
        Ok(())
    }
}
