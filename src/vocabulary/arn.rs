//! Amazon Resource Names: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.

/// The parts of an ARN whose partition, region and account are well-formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: &'a str,
    /// `codebuild`, `codecommit`, ...
    pub service: &'a str,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The 12-digit account.
    pub account: &'a str,
    /// The resource part, everything after the account (may contain `:`).
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `text` into an ARN with a partition starting with `aws`, a
    /// non-empty region of lowercase letters, digits and `-`, and a 12-digit
    /// account; `None` for anything else.
    pub fn parse(text: &'a str) -> Option<Self> {
        let [partition, service, region, account, resource] = fields(text)?;
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        (partition.starts_with("aws") && region_ok && is_account(account)).then_some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// The five fields after `arn:` (partition, service, region, account, resource), unchecked;
/// `None` if `text` is not `arn:` and five `:`-separated fields (the last may hold `:`).
pub(crate) fn fields(text: &str) -> Option<[&str; 5]> {
    let mut parts = text.strip_prefix("arn:")?.splitn(5, ':');
    Some([
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ])
}

/// A 12-digit AWS account id.
pub(crate) fn is_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_arns_split() {
        let arn =
            Arn::parse("arn:aws:codebuild:us-east-1:123456789012:project/p:x").expect("valid");
        assert_eq!(
            arn,
            Arn {
                partition: "aws",
                service: "codebuild",
                region: "us-east-1",
                account: "123456789012",
                resource: "project/p:x"
            }
        );
        assert!(Arn::parse("arn:aws-us-gov:codecommit:us-gov-west-1:123456789012:repo").is_some());
    }

    #[test]
    fn malformed_arns_do_not() {
        for bad in [
            "",
            "arn:aws:codebuild",
            "arn:aws:codebuild:us-east-1:12345678901:project/p",
            "arn:aws:codebuild::123456789012:project/p",
            "arn:aws:codebuild:US-EAST-1:123456789012:project/p",
            "arn:gcp:codebuild:us-east-1:123456789012:project/p",
            "nra:aws:codebuild:us-east-1:123456789012:project/p",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad}");
        }
    }
}
