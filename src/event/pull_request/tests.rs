use crate::event::{parse, Event, EventKind, PullRequestStatus, RefChange};
use crate::test_support::{
    pull_request_comment_event, pull_request_event, PR_DESTINATION as DESTINATION,
    PR_REVISION as REVISION, PR_SOURCE as SOURCE,
};
use serde_json::{json, Value};

/// The shared fixture, with the dates in two of the service's formats that are not ISO 8601.
fn event(kind: &str) -> Value {
    let mut event = pull_request_event(kind, "main", "Open", "False");
    event["detail"]["creationDate"] = json!("Tue Feb 9 2019 10:18:42 PDT ");
    event["detail"]["lastModifiedDate"] = json!("Wed Nov 06 19:10:58 UTC 2019");
    event
}

fn parsed(event: &Value) -> Event {
    parse(&event.to_string()).expect("a valid event")
}

fn error_of(event: &Value) -> String {
    parse(&event.to_string())
        .expect_err("an invalid event")
        .to_string()
}

#[test]
fn a_created_pull_request_is_its_source_branch_at_the_source_commit() {
    let Event::PullRequest(change) = parsed(&event("pullRequestCreated")) else {
        panic!("not a pull request change");
    };
    let [record] = change.records.as_slice() else {
        panic!("one repository, one record");
    };
    assert_eq!(record.repository.name, "my-app");
    assert_eq!(record.kind, EventKind::PullRequestCreated);
    assert_eq!(
        record.pusher.as_deref(),
        Some("arn:aws:iam::123456789012:user/alice")
    );
    assert!(record.pushed_at.is_some());
    let update = &record.references[0];
    assert_eq!(update.reference.as_str(), "refs/heads/feature/retries");
    assert!(
        matches!(&update.change, RefChange::Pushed { commit, previous: None, .. }
        if commit.as_str() == SOURCE)
    );
    let pull_request = record.pull_request.as_ref().expect("a pull request");
    assert_eq!(pull_request.id, "17");
    assert_eq!(pull_request.revision, REVISION);
    assert_eq!(pull_request.destination.as_str(), "refs/heads/main");
    assert_eq!(pull_request.destination_commit.as_str(), DESTINATION);
    assert_eq!(pull_request.status, PullRequestStatus::Open);
}

#[test]
fn status_and_merge_flags_are_read_as_the_service_writes_them() {
    let status = |status: Value, merged: Value| {
        let mut event = event("pullRequestStatusChanged");
        event["detail"]["pullRequestStatus"] = status;
        event["detail"]["isMerged"] = merged;
        match parsed(&event) {
            Event::PullRequest(change) => {
                change.records[0]
                    .pull_request
                    .as_ref()
                    .expect("a pull request")
                    .status
            }
            other => panic!("not a change: {other:?}"),
        }
    };
    assert_eq!(
        status(json!("Open"), json!("False")),
        PullRequestStatus::Open
    );
    assert_eq!(
        status(json!("Closed"), json!("False")),
        PullRequestStatus::Closed
    );
    assert_eq!(
        status(json!("Closed"), json!("True")),
        PullRequestStatus::Merged
    );
    assert_eq!(
        status(json!("CLOSED"), json!(true)),
        PullRequestStatus::Merged
    );
    assert_eq!(status(json!("OPEN"), Value::Null), PullRequestStatus::Open);
}

#[test]
fn odd_dates_are_not_read_and_a_missing_time_is_fine() {
    let mut event = event("pullRequestSourceBranchUpdated");
    event["detail"]["creationDate"] = json!("yesterday, around noon");
    event.as_object_mut().expect("object").remove("time");
    let Event::PullRequest(change) = parsed(&event) else {
        panic!("not a change");
    };
    assert_eq!(change.records[0].pushed_at, None);
    assert_eq!(
        change.records[0].kind,
        EventKind::PullRequestSourceBranchUpdated
    );
}

#[test]
fn several_repositories_are_one_record_each() {
    let mut event = event("pullRequestCreated");
    event["resources"] = json!([
        "arn:aws:codecommit:us-east-1:123456789012:my-app",
        "arn:aws:codecommit:us-east-1:123456789012:Other"
    ]);
    event["detail"]["repositoryNames"] = json!(["my-app", "Other"]);
    let Event::PullRequest(change) = parsed(&event) else {
        panic!("not a change");
    };
    let names: Vec<_> = change
        .records
        .iter()
        .map(|record| record.repository.name.as_str())
        .collect();
    assert_eq!(names, ["my-app", "Other"]);
}

#[test]
fn approvals_and_rules_are_events_that_never_build() {
    for kind in [
        "pullRequestApprovalStateChanged",
        "pullRequestApprovalRuleCreated",
        "pullRequestApprovalRuleUpdated",
        "pullRequestApprovalRuleDeleted",
        "pullRequestApprovalRuleOverridden",
    ] {
        let mut event = event(kind);
        // Such events need not describe the branches.
        event["detail"]
            .as_object_mut()
            .expect("object")
            .remove("sourceCommit");
        let Event::Ignored(ignored) = parsed(&event) else {
            panic!("{kind} is not ignored");
        };
        assert_eq!(ignored.event, kind);
        assert_eq!(ignored.pull_request, "17");
        assert_eq!(ignored.repositories[0].name, "my-app");
    }
}

#[test]
fn errors_name_the_field() {
    let mut typed = event("pullRequestCreated");
    typed["detail"]["pullRequestId"] = json!(17);
    assert!(error_of(&typed)
        .starts_with("detail.pullRequestId: invalid type: integer `17`, expected a string"));
    let cases: [(&str, Value, &str); 8] = [
        ("pullRequestId", json!("17; rm"), "detail.pullRequestId: \"17; rm\" is not a pull request id (digits)"),
        ("isMerged", json!("maybe"), "detail.isMerged: is \"\\\"maybe\\\"\", expected \"True\" or \"False\""),
        ("pullRequestStatus", json!("Draft"), "detail.pullRequestStatus: is \"Draft\", expected \"Open\" or \"Closed\""),
        ("sourceCommit", json!("abc"), "detail.sourceCommit: \"abc\" is not a 40-digit lowercase hexadecimal commit id"),
        ("destinationReference", json!("refs/tags/v1"), "detail.destinationReference: \"refs/tags/v1\" is not a branch (refs/heads/...)"),
        ("sourceReference", json!("main"), "detail.sourceReference: \"main\" is not a full reference name (refs/heads/..., refs/tags/...)"),
        ("revisionId", json!("a b"), "detail.revisionId: \"a b\" is not a revision id"),
        ("callerUserArn", json!("root"), "detail.callerUserArn: \"root\" is not an IAM ARN"),
    ];
    for (field, value, expected) in cases {
        let mut event = event("pullRequestCreated");
        event["detail"][field] = value;
        assert_eq!(error_of(&event), expected, "{field}");
    }
}

#[test]
fn missing_fields_are_named() {
    for field in [
        "sourceReference",
        "sourceCommit",
        "destinationReference",
        "destinationCommit",
        "revisionId",
        "pullRequestStatus",
    ] {
        let mut event = event("pullRequestSourceBranchUpdated");
        event["detail"]
            .as_object_mut()
            .expect("object")
            .remove(field);
        assert_eq!(error_of(&event), format!("detail.{field}: is missing"));
    }
    let mut event = event("pullRequestCreated");
    event["detail"]
        .as_object_mut()
        .expect("object")
        .remove("pullRequestId");
    assert!(error_of(&event).starts_with("detail: missing field `pullRequestId`"));
}

#[test]
fn the_repositories_must_agree_and_be_codecommit_arns() {
    let mut stray = event("pullRequestCreated");
    stray["detail"]["repositoryNames"] = json!(["Other"]);
    assert_eq!(
        error_of(&stray),
        "detail.repositoryNames: does not name repository \"my-app\" of resources"
    );
    let mut none = event("pullRequestCreated");
    none["resources"] = json!([]);
    assert_eq!(
        error_of(&none),
        "resources: is empty, expected the repository's ARN"
    );
    let mut bucket = event("pullRequestCreated");
    bucket["resources"] = json!(["arn:aws:s3:::bucket"]);
    assert!(error_of(&bucket)
        .starts_with("resources[0]: \"arn:aws:s3:::bucket\" is not a CodeCommit repository ARN"));
    let mut hostile = event("pullRequestCreated");
    hostile["detail"]["event"] = json!("x\u{1b}[31m");
    assert_eq!(
        error_of(&hostile),
        "detail.event: \"x\\u{1b}[31m\" is not an event name (letters and digits)"
    );
    let mut many = event("pullRequestCreated");
    many["resources"] = json!(vec!["arn:aws:codecommit:us-east-1:123456789012:my-app"; 11]);
    assert_eq!(
        error_of(&many),
        "resources: holds 11 ARNs, at most 10 repositories"
    );
    let mut leading_zero = event("pullRequestCreated");
    leading_zero["detail"]["pullRequestId"] = json!("017");
    assert_eq!(
        error_of(&leading_zero),
        "detail.pullRequestId: \"017\" is not a pull request id (digits)"
    );
}

#[test]
fn events_of_kinds_never_built_and_edited_comments_are_ignored_not_refused() {
    let Event::Ignored(ignored) = parsed(&event("pullRequestExploded")) else {
        panic!("an unknown kind is ignored");
    };
    assert_eq!(ignored.event, "pullRequestExploded");
    let mut edited = pull_request_comment_event("c-1", "arn:aws:iam::123456789012:user/bob");
    edited["detail"]["event"] = json!("commentOnPullRequestUpdated");
    let Event::Ignored(ignored) = parsed(&edited) else {
        panic!("an edited comment is ignored");
    };
    assert_eq!(ignored.event, "commentOnPullRequestUpdated");
    assert_eq!(ignored.pull_request, "17");
}

#[test]
fn a_new_comment_names_its_id_and_author() {
    let bob = "arn:aws:iam::123456789012:user/bob";
    let Event::Comment(comment) = parsed(&pull_request_comment_event("c0ffee-1", bob)) else {
        panic!("a new comment");
    };
    assert_eq!(comment.pull_request, "17");
    assert_eq!(comment.comment, "c0ffee-1");
    assert_eq!(comment.author.as_deref(), Some(bob));
    assert_eq!(comment.repositories[0].name, "my-app");
    for bad in [json!(null), json!("a comment; DROP"), json!("")] {
        let mut event = pull_request_comment_event("x", bob);
        event["detail"]["commentId"] = bad;
        assert!(
            error_of(&event).starts_with("detail.commentId: "),
            "{event}"
        );
    }
}

#[test]
fn a_repository_named_twice_is_one_record() {
    let mut event = event("pullRequestCreated");
    event["resources"] = json!([
        "arn:aws:codecommit:us-east-1:123456789012:my-app",
        "arn:aws:codecommit:us-east-1:123456789012:my-app"
    ]);
    let Event::PullRequest(change) = parsed(&event) else {
        panic!("not a change");
    };
    assert_eq!(change.records.len(), 1);
}
