//! The checks every event's fields pass: commit ids, reference names, ARNs,
//! times, and how a hostile value is quoted in an error.

use super::{CommitId, GitRef, Repository, MAX_REF_LEN};
use crate::vocabulary::arn::Arn;
use crate::vocabulary::truncate;

/// Longest pusher ARN accepted, in bytes.
const MAX_ARN_LEN: usize = 2048;
/// Longest revision id accepted (CodeCommit's are 64 hexadecimal digits).
pub(super) const MAX_REVISION_LEN: usize = 128;

pub(super) fn is_commit_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Git's rules for reference names (`git check-ref-format`), plus a length cap.
fn check_ref_name(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_REF_LEN {
        return Err("is longer than 1024 bytes");
    }
    let Some(rest) = name.strip_prefix("refs/") else {
        return Err("is not a full reference name (refs/heads/..., refs/tags/...)");
    };
    if rest.is_empty() || rest == "heads/" || rest == "tags/" {
        return Err("names no branch or tag");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return Err("contains a character Git does not allow in reference names");
    }
    if name.contains("..") || name.contains("@{") || name.ends_with('.') || name.ends_with('/') {
        return Err("is not a valid Git reference name");
    }
    if name.split('/').any(|component| {
        component.is_empty() || component.starts_with('.') || component.ends_with(".lock")
    }) {
        return Err("has an empty, hidden or `.lock` path component");
    }
    Ok(())
}

/// `arn:PARTITION:codecommit:REGION:ACCOUNT:NAME`.
pub(super) fn parse_repository_arn(arn: &str) -> Result<Repository, &'static str> {
    let Some(Arn {
        service: "codecommit",
        resource: name,
        ..
    }) = Arn::parse(arn)
    else {
        return Err(
            "is not a CodeCommit repository ARN (arn:aws:codecommit:REGION:ACCOUNT:REPOSITORY)",
        );
    };
    let name_ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !name_ok {
        return Err(
            "does not end in a valid repository name (1 to 100 letters, digits, `.`, `_` or `-`)",
        );
    }
    Ok(Repository {
        name: name.to_owned(),
        arn: arn.to_owned(),
    })
}

/// An optional IAM principal ARN (who pushed); empty counts as absent.
pub(super) fn validate_pusher(arn: Option<String>) -> Result<Option<String>, String> {
    match arn {
        Some(arn) if arn.is_empty() => Ok(None),
        Some(arn)
            if !arn.starts_with("arn:")
                || arn.len() > MAX_ARN_LEN
                || arn.chars().any(char::is_control) =>
        {
            Err(format!("{} is not an IAM ARN", quoted(&arn)))
        }
        arn => Ok(arn),
    }
}

/// A commit id from the event.
pub(super) fn validate_commit(commit: String) -> Result<CommitId, String> {
    if is_commit_id(&commit) {
        Ok(CommitId::from_valid(commit))
    } else {
        Err(format!(
            "{} is not a 40-digit lowercase hexadecimal commit id",
            quoted(&commit)
        ))
    }
}

/// A full reference name from the event.
pub(super) fn validate_ref(name: String) -> Result<GitRef, String> {
    match check_ref_name(&name) {
        Ok(()) => Ok(GitRef::from_valid(name)),
        Err(problem) => Err(format!("{} {problem}", quoted(&name))),
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 time, also in the
/// trigger's form with a `+0000` offset; `None` if unreadable (the time only
/// orders superseded builds, so an odd one is not worth refusing the event).
pub(super) fn parse_time(text: &str) -> Option<i64> {
    use aws_sdk_codebuild::primitives::{DateTime, DateTimeFormat};
    let bytes = text.as_bytes();
    let normalized = match bytes.len().checked_sub(5).map(|at| (at, &bytes[at..])) {
        Some((at, [sign @ (b'+' | b'-'), rest @ ..])) if rest.iter().all(u8::is_ascii_digit) => {
            format!(
                "{}{}{}:{}",
                &text[..at],
                *sign as char,
                &text[at + 1..at + 3],
                &text[at + 3..]
            )
        }
        _ => text.to_owned(),
    };
    let time = DateTime::from_str(&normalized, DateTimeFormat::DateTimeWithOffset).ok()?;
    time.to_millis().ok()
}

/// A value from the event, quoted and escaped for an error message, shortened
/// when long so that hostile input cannot flood the logs.
pub(super) fn quoted(value: &str) -> String {
    format!("{:?}", truncate(value, 120))
}
