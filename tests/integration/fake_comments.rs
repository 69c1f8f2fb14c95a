//! The local CodeCommit endpoint's comments and approvals, through the real SDK, as the
//! service answers them: the tests of the reporting rely on it behaving so.

#![cfg(feature = "end-to-end")]

use aws_sdk_codecommit::config::{Credentials, Region};
use aws_sdk_codecommit::error::ProvideErrorMetadata;
use aws_sdk_codecommit::types::ApprovalState;
use aws_sdk_codecommit::Client;
use testkit::codecommit::{
    LocalCodeCommit, PullRequestTarget, FUNCTION_SESSION, MAX_COMMENT_CHARS,
};

const SOURCE: &str = "2774290a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0";
const DESTINATION: &str = "1224197061c5a5e1f0d3b2a4c6e8f0a1b3c5d7e9";

/// A client of `fake` signing with access key `key` (`testing` is the function).
fn client(fake: &LocalCodeCommit, key: &str) -> Client {
    let config = aws_sdk_codecommit::Config::builder()
        .http_client(testkit::sdk_http_client())
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, "secret", None, None, "test"))
        .endpoint_url(fake.endpoint())
        .build();
    Client::from_conf(config)
}

async fn fake_with_pull_request() -> LocalCodeCommit {
    let fake = LocalCodeCommit::start().await;
    fake.add_repository("my-app", Vec::new());
    fake.set_pull_request(
        "17",
        "my-app",
        PullRequestTarget {
            source: ("refs/heads/feature", SOURCE),
            destination: ("refs/heads/main", DESTINATION),
            status: "OPEN",
            merged: false,
        },
    );
    fake.set_revision("17", &"1".repeat(64));
    fake
}

async fn post(client: &Client, content: &str, token: &str) -> Result<String, String> {
    client
        .post_comment_for_pull_request()
        .pull_request_id("17")
        .repository_name("my-app")
        .before_commit_id(DESTINATION)
        .after_commit_id(SOURCE)
        .content(content)
        .client_request_token(token)
        .send()
        .await
        .map(|output| {
            output
                .comment
                .and_then(|c| c.comment_id)
                .unwrap_or_default()
        })
        .map_err(|error| error.code().unwrap_or("none").to_owned())
}

#[tokio::test]
async fn comments_have_their_caller_as_author_who_alone_may_update_them() {
    let fake = fake_with_pull_request().await;
    let (function, bob) = (client(&fake, "testing"), client(&fake, "bob"));
    let id = post(&function, "status", "t1").await.expect("posted");
    let read = function
        .get_comment()
        .comment_id(&id)
        .send()
        .await
        .expect("read");
    assert_eq!(
        read.comment.and_then(|c| c.author_arn).as_deref(),
        Some(FUNCTION_SESSION)
    );
    let refused = bob
        .update_comment()
        .comment_id(&id)
        .content("mine now")
        .send()
        .await;
    assert_eq!(
        refused
            .map_err(|e| e.code().map(str::to_owned))
            .err()
            .flatten()
            .as_deref(),
        Some("CommentNotCreatedByCallerException")
    );
    function
        .update_comment()
        .comment_id(&id)
        .content("status, updated")
        .send()
        .await
        .expect("the author updates");
    assert_eq!(fake.comments()[0].content, "status, updated");
}

#[tokio::test]
async fn a_token_returns_its_comment_and_refuses_other_content_and_the_limit_holds() {
    let fake = fake_with_pull_request().await;
    let function = client(&fake, "testing");
    let id = post(&function, "status", "t1").await.expect("posted");
    assert_eq!(
        post(&function, "status", "t1").await,
        Ok(id),
        "the same request again"
    );
    assert_eq!(
        post(&function, "other", "t1").await,
        Err("IdempotencyParameterMismatchException".into())
    );
    let longest = "é".repeat(MAX_COMMENT_CHARS);
    assert!(post(&function, &longest, "t2").await.is_ok());
    assert_eq!(
        post(&function, &format!("{longest}x"), "t3").await,
        Err("CommentContentSizeLimitExceededException".into())
    );
    assert_eq!(fake.comments().len(), 2);
}

#[tokio::test]
async fn comments_are_listed_a_page_at_a_time_and_both_commits_or_neither_are_given() {
    let fake = fake_with_pull_request().await;
    let function = client(&fake, "testing");
    for n in 0..3 {
        post(&function, &format!("comment {n}"), &format!("t{n}"))
            .await
            .expect("posted");
    }
    let first = function
        .get_comments_for_pull_request()
        .pull_request_id("17")
        .repository_name("my-app")
        .before_commit_id(DESTINATION)
        .after_commit_id(SOURCE)
        .max_results(2)
        .send()
        .await
        .expect("a page");
    let count = |groups: &[aws_sdk_codecommit::types::CommentsForPullRequest]| {
        groups.iter().map(|g| g.comments().len()).sum::<usize>()
    };
    assert_eq!(count(first.comments_for_pull_request_data()), 2);
    let next = first.next_token().expect("another page").to_owned();
    let second = function
        .get_comments_for_pull_request()
        .pull_request_id("17")
        .next_token(next)
        .send()
        .await
        .expect("the last page");
    assert_eq!(count(second.comments_for_pull_request_data()), 1);
    assert!(second.next_token().is_none());
    let one_commit = function
        .get_comments_for_pull_request()
        .pull_request_id("17")
        .before_commit_id(DESTINATION)
        .send()
        .await;
    assert_eq!(
        one_commit
            .err()
            .and_then(|e| e.code().map(str::to_owned))
            .as_deref(),
        Some("CommitIdRequiredException")
    );
}

#[tokio::test]
async fn only_the_current_revision_of_an_open_pull_request_is_approved_and_not_by_its_author() {
    let fake = fake_with_pull_request().await;
    let approve = |client: Client, revision: String| async move {
        client
            .update_pull_request_approval_state()
            .pull_request_id("17")
            .revision_id(revision)
            .approval_state(ApprovalState::Approve)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| error.code().unwrap_or("none").to_owned())
    };
    let current = "1".repeat(64);
    assert_eq!(
        approve(client(&fake, "testing"), "2".repeat(64)).await,
        Err("RevisionNotCurrentException".into())
    );
    assert_eq!(
        approve(client(&fake, "alice"), current.clone()).await,
        Err("PullRequestCannotBeApprovedByAuthorException".into()),
        "alice opened it"
    );
    assert_eq!(
        approve(client(&fake, "testing"), current.clone()).await,
        Ok(())
    );
    assert_eq!(fake.approvers("17", &current), [FUNCTION_SESSION]);
    fake.set_pull_request(
        "17",
        "my-app",
        PullRequestTarget {
            source: ("refs/heads/feature", SOURCE),
            destination: ("refs/heads/main", DESTINATION),
            status: "CLOSED",
            merged: false,
        },
    );
    fake.set_revision("17", &current);
    assert_eq!(
        approve(client(&fake, "testing"), current).await,
        Err("PullRequestAlreadyClosedException".into())
    );
}
