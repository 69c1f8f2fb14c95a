//! The merge gate (`Custom::CodeCommitMergeGate`), as data: an approval rule template whose
//! pool is the reporter's role sessions, for the destination branches that build, on the
//! stack's repositories. This module is pure: the resource's properties, the template's
//! content and description, and which repositories the properties name;
//! [`super::install_gate`] carries a request out.

use super::request::Spec;
use crate::config::pattern::PatternList;
use serde::Deserialize;
use serde_json::json;

/// The longest approval rule template name CodeCommit accepts.
const MAX_TEMPLATE_NAME: usize = 100;
/// The longest approval rule template content CodeCommit accepts.
const MAX_TEMPLATE_CONTENT: usize = 3000;
/// The longest approval rule template description CodeCommit accepts.
const MAX_TEMPLATE_DESCRIPTION: usize = 1000;
/// The only version of approval rule content CodeCommit knows.
const CONTENT_VERSION: &str = "2018-11-08";
/// The characters that make a repository entry a pattern (`Repositories` of a
/// multi-repository install) rather than a name.
const REPOSITORY_WILDCARD: char = '*';
/// Characters that make a branch entry a pattern, which an approval rule cannot hold.
const BRANCH_PATTERN_CHARS: [char; 5] = ['*', '?', '[', ']', '!'];

/// The merge gate's `ResourceProperties`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MergeGateSpec {
    /// The approval rule template's name; the approval rule on each pull request bears it.
    pub template_name: String,
    /// The repositories to gate: names, or `*` patterns matched against the account's
    /// repositories at deploy time.
    pub repositories: Vec<String>,
    /// The destination branches whose pull requests need the approval: names (or
    /// `refs/heads/` references), since an approval rule matches its references exactly.
    pub branches: Vec<String>,
    /// The reporter's role (`arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`): its sessions
    /// are the approval pool.
    pub approver_role_arn: String,
    /// The destination-branch patterns whose pull requests build (`PULL_REQUESTS`): a gated
    /// branch they leave out could never be approved. Empty or absent (routing rules decide):
    /// not checked.
    #[serde(default)]
    pub building_branches: Option<String>,
}

impl Spec for MergeGateSpec {
    fn validate(&self) -> Result<(), String> {
        let name = &self.template_name;
        if name.trim().is_empty()
            || name.chars().count() > MAX_TEMPLATE_NAME
            || name.chars().any(char::is_control)
        {
            return Err(format!(
                "ResourceProperties.TemplateName {name:?} is not 1 to {MAX_TEMPLATE_NAME} \
                 printable characters (it is the stack's name and a suffix: use a shorter stack \
                 name)"
            ));
        }
        self.check_repositories()?;
        let branches = self.branch_names()?;
        self.check_branches_build(&branches)?;
        self.pool()?;
        let content = self.content()?;
        if content.chars().count() > MAX_TEMPLATE_CONTENT {
            return Err(format!(
                "ResourceProperties.Branches: the approval rule naming {} branches is {} \
                 characters, over CodeCommit's {MAX_TEMPLATE_CONTENT}; gate fewer branches",
                branches.len(),
                content.chars().count()
            ));
        }
        Ok(())
    }
}

impl MergeGateSpec {
    fn check_repositories(&self) -> Result<(), String> {
        if self.repositories.is_empty() {
            return Err("ResourceProperties.Repositories is empty".to_owned());
        }
        for entry in &self.repositories {
            let valid = (1..=100).contains(&entry.len())
                && entry.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'.' | b'_' | b'-')
                        || char::from(b) == REPOSITORY_WILDCARD
                });
            if !valid {
                return Err(format!(
                    "ResourceProperties.Repositories: {entry:?} is neither a CodeCommit \
                     repository name nor a `*` pattern of one"
                ));
            }
        }
        Ok(())
    }

    /// The gated branches' names, trimmed, without a `refs/heads/` prefix; an error names a
    /// pattern or an empty entry.
    pub fn branch_names(&self) -> Result<Vec<String>, String> {
        let mut names: Vec<String> = Vec::new();
        for entry in &self.branches {
            let entry = entry.trim();
            let name = entry.strip_prefix("refs/heads/").unwrap_or(entry);
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!(
                    "ResourceProperties.Branches: {entry:?} is not a branch name"
                ));
            }
            if name.contains(BRANCH_PATTERN_CHARS) {
                return Err(format!(
                    "ResourceProperties.Branches: {entry:?} is a pattern; a merge gate names \
                     branches exactly (main,release), as CodeCommit matches an approval rule's \
                     destination references exactly"
                ));
            }
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
        if names.is_empty() {
            return Err("ResourceProperties.Branches is empty".to_owned());
        }
        Ok(names)
    }

    fn check_branches_build(&self, branches: &[String]) -> Result<(), String> {
        let Some(building) = self
            .building_branches
            .as_deref()
            .filter(|patterns| !patterns.trim().is_empty())
        else {
            return Ok(());
        };
        let patterns = PatternList::parse(building).map_err(|error| {
            format!("ResourceProperties.BuildingBranches {building:?}: {error}")
        })?;
        match branches.iter().find(|branch| !patterns.includes(branch)) {
            None => Ok(()),
            Some(branch) => Err(format!(
                "pull requests into {branch} do not build (PullRequests is {building:?}), so \
                 the merge gate could never let them merge: add {branch} to PullRequests, or \
                 take it out of MergeGate"
            )),
        }
    }

    /// The approval pool: any session of the approver's role.
    pub fn pool(&self) -> Result<String, String> {
        pool_of(&self.approver_role_arn).ok_or_else(|| {
            format!(
                "ResourceProperties.ApproverRoleArn {:?} is not an IAM role ARN",
                self.approver_role_arn
            )
        })
    }

    /// The approval rule template's content: one approval from the pool, on pull requests
    /// into the gated branches.
    pub fn content(&self) -> Result<String, String> {
        let references: Vec<String> = self
            .branch_names()?
            .iter()
            .map(|branch| format!("refs/heads/{branch}"))
            .collect();
        Ok(json!({
            "Version": CONTENT_VERSION,
            "DestinationReferences": references,
            "Statements": [{
                "Type": "Approvers",
                "NumberOfApprovalsNeeded": 1,
                "ApprovalPoolMembers": [self.pool()?],
            }],
        })
        .to_string())
    }

    /// Whether the repositories must be listed to find those the patterns match.
    pub fn has_patterns(&self) -> bool {
        self.repositories
            .iter()
            .any(|entry| entry.contains(REPOSITORY_WILDCARD))
    }

    /// The repositories to gate: the names given, and those of `listed` a pattern matches;
    /// sorted, each once.
    pub fn chosen_repositories(&self, listed: &[String]) -> Vec<String> {
        let (patterns, names): (Vec<&String>, Vec<&String>) = self
            .repositories
            .iter()
            .partition(|entry| entry.contains(REPOSITORY_WILDCARD));
        let patterns = PatternList::from_patterns(patterns.iter().map(|p| p.as_str())).ok();
        let mut chosen: Vec<String> = names
            .into_iter()
            .cloned()
            .chain(
                listed
                    .iter()
                    .filter(|name| patterns.as_ref().is_some_and(|p| p.includes(name)))
                    .cloned(),
            )
            .collect();
        chosen.sort();
        chosen.dedup();
        chosen
    }
}

/// The approval pool member that names every session of role `role_arn`
/// (`arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`): `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/*`
/// (a session's ARN names the role without its path). `None` if `role_arn` is not a role's ARN.
pub fn pool_of(role_arn: &str) -> Option<String> {
    let mut fields = role_arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    let role = resource
        .strip_prefix("role/")
        .and_then(|path| path.rsplit('/').next())
        .filter(|role| !role.is_empty())?;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (!partition.is_empty() && account_ok)
        .then(|| format!("arn:{partition}:sts::{account}:assumed-role/{role}/*"))
}

/// The template's description: what it does, and the stack it belongs to, which is how a
/// later request knows the template is this stack's to change or delete.
pub(super) fn description(stack_id: &str) -> String {
    let text = format!(
        "Merge gate of codecommit-build-trigger, CloudFormation stack {stack_id}: a pull request \
         merges once the stack's reporter approves its revision, when every build of it \
         succeeded. Change it through the stack's MergeGate parameter."
    );
    crate::vocabulary::truncate(&text, MAX_TEMPLATE_DESCRIPTION - 1)
}

/// Whether a template with `description` belongs to stack `stack_id`.
pub(super) fn is_stacks(description: &str, stack_id: &str) -> bool {
    !stack_id.is_empty() && description.contains(&format!("stack {stack_id}:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::installer::request::Spec;

    fn spec() -> MergeGateSpec {
        MergeGateSpec {
            template_name: "my-stack-builds-succeeded".into(),
            repositories: vec!["my-app".into()],
            branches: vec!["main".into(), " release ".into()],
            approver_role_arn: "arn:aws:iam::123456789012:role/service/my-stack-Reporter-AB12"
                .into(),
            building_branches: Some("main,release,feature/*".into()),
        }
    }

    #[test]
    fn the_content_needs_one_approval_from_the_reporters_sessions_on_the_gated_branches() {
        let content: serde_json::Value =
            serde_json::from_str(&spec().content().expect("valid")).expect("JSON");
        assert_eq!(
            content,
            json!({
                "Version": "2018-11-08",
                "DestinationReferences": ["refs/heads/main", "refs/heads/release"],
                "Statements": [{
                    "Type": "Approvers",
                    "NumberOfApprovalsNeeded": 1,
                    "ApprovalPoolMembers": [
                        "arn:aws:sts::123456789012:assumed-role/my-stack-Reporter-AB12/*"
                    ]
                }]
            })
        );
        assert_eq!(spec().validate(), Ok(()));
    }

    #[test]
    fn invalid_properties_are_refused_naming_the_field() {
        let refused = |change: fn(&mut MergeGateSpec)| {
            let mut spec = spec();
            change(&mut spec);
            spec.validate().expect_err("invalid")
        };
        assert!(refused(|s| s.branches = vec!["release/*".into()]).contains("is a pattern"));
        assert!(refused(|s| s.branches = vec![" ".into()]).contains("not a branch name"));
        assert!(refused(|s| s.branches.clear()).contains("Branches is empty"));
        assert!(
            refused(|s| s.approver_role_arn = "arn:aws:iam::123:role/x".into())
                .contains("ApproverRoleArn")
        );
        assert!(refused(
            |s| s.approver_role_arn = "arn:aws:sts::123456789012:assumed-role/x/y".into()
        )
        .contains("ApproverRoleArn"));
        assert!(refused(|s| s.repositories = vec!["has space".into()]).contains("Repositories"));
        assert!(refused(|s| s.template_name = "x".repeat(101)).contains("TemplateName"));
        assert_eq!(
            refused(|s| s.building_branches = Some("develop".into())),
            "pull requests into main do not build (PullRequests is \"develop\"), so the merge \
             gate could never let them merge: add main to PullRequests, or take it out of MergeGate"
        );
        let many = refused(|s| {
            s.branches = (0..200).map(|i| format!("branch-{i}")).collect();
            s.building_branches = None;
        });
        assert!(many.contains("over CodeCommit's 3000"), "{many}");
    }

    #[test]
    fn patterns_choose_among_the_listed_repositories() {
        let mut spec = spec();
        assert!(!spec.has_patterns());
        spec.repositories = vec!["team-*".into(), "tools".into()];
        assert!(spec.has_patterns());
        let listed = ["team-web", "team-api", "other", "tools"].map(String::from);
        assert_eq!(
            spec.chosen_repositories(&listed),
            ["team-api", "team-web", "tools"]
        );
    }

    #[test]
    fn the_description_names_the_stack_it_belongs_to() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1";
        assert!(is_stacks(&description(stack), stack));
        assert!(!is_stacks(
            &description(stack),
            "arn:aws:cloudformation:us-east-1:123456789012:stack/s/2"
        ));
        assert!(!is_stacks("made by hand", stack));
        assert!(description(&"s".repeat(2000)).chars().count() <= MAX_TEMPLATE_DESCRIPTION);
    }
}
