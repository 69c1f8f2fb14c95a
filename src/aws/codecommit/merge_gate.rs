//! The installer's merge-gate calls on the AWS SDK: [`GateReads`] and [`GateWrites`].

use super::CodeCommit;
use crate::aws::reads::{ApprovalTemplate, GateReads};
use crate::aws::writes::GateWrites;
use crate::aws::AwsError;

/// Pages read of a listing before giving up on it: 1,000 pages of 1,000 repositories (the
/// largest page) is past any account's quota.
const MAX_PAGES: usize = 1_000;

/// The error of a listing that did not end within [`MAX_PAGES`].
fn endless(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: "TooManyPages".into(),
        message: format!("{operation} answered more than {MAX_PAGES} pages"),
    }
}

impl GateReads for CodeCommit {
    async fn template(&self, name: &str) -> Result<Option<ApprovalTemplate>, AwsError> {
        let output = match self
            .client
            .get_approval_rule_template()
            .approval_rule_template_name(name)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("GetApprovalRuleTemplate", error))
        {
            Ok(output) => output,
            Err(error) if error.code == "ApprovalRuleTemplateDoesNotExistException" => {
                return Ok(None)
            }
            Err(error) => return Err(error),
        };
        Ok(output
            .approval_rule_template
            .map(|template| ApprovalTemplate {
                description: template
                    .approval_rule_template_description
                    .unwrap_or_default(),
                content: template.approval_rule_template_content.unwrap_or_default(),
                content_sha256: template.rule_content_sha256.unwrap_or_default(),
            }))
    }

    async fn template_repositories(&self, name: &str) -> Result<Vec<String>, AwsError> {
        const OPERATION: &str = "ListRepositoriesForApprovalRuleTemplate";
        let mut names = Vec::new();
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let output = self
                .client
                .list_repositories_for_approval_rule_template()
                .approval_rule_template_name(name)
                .set_next_token(next)
                .send()
                .await
                .map_err(|error| AwsError::from_sdk(OPERATION, error))?;
            names.extend(output.repository_names.unwrap_or_default());
            next = output.next_token.filter(|token| !token.is_empty());
            if next.is_none() {
                return Ok(names);
            }
        }
        Err(endless(OPERATION))
    }

    async fn repository_names(&self) -> Result<Vec<String>, AwsError> {
        const OPERATION: &str = "ListRepositories";
        let mut names = Vec::new();
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let output = self
                .client
                .list_repositories()
                .set_next_token(next)
                .send()
                .await
                .map_err(|error| AwsError::from_sdk(OPERATION, error))?;
            names.extend(
                output
                    .repositories
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|repository| repository.repository_name),
            );
            next = output.next_token.filter(|token| !token.is_empty());
            if next.is_none() {
                return Ok(names);
            }
        }
        Err(endless(OPERATION))
    }
}

impl GateWrites for CodeCommit {
    async fn create_template(
        &self,
        name: &str,
        content: &str,
        description: &str,
    ) -> Result<(), AwsError> {
        self.client
            .create_approval_rule_template()
            .approval_rule_template_name(name)
            .approval_rule_template_content(content)
            .approval_rule_template_description(description)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("CreateApprovalRuleTemplate", error))?;
        Ok(())
    }

    async fn update_template_content(
        &self,
        name: &str,
        content: &str,
        existing_sha256: &str,
    ) -> Result<(), AwsError> {
        self.client
            .update_approval_rule_template_content()
            .approval_rule_template_name(name)
            .new_rule_content(content)
            .existing_rule_content_sha256(existing_sha256)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("UpdateApprovalRuleTemplateContent", error))?;
        Ok(())
    }

    async fn delete_template(&self, name: &str) -> Result<(), AwsError> {
        self.client
            .delete_approval_rule_template()
            .approval_rule_template_name(name)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("DeleteApprovalRuleTemplate", error))?;
        Ok(())
    }

    async fn associate(&self, name: &str, repository: &str) -> Result<(), AwsError> {
        self.client
            .associate_approval_rule_template_with_repository()
            .approval_rule_template_name(name)
            .repository_name(repository)
            .send()
            .await
            .map_err(|error| {
                AwsError::from_sdk("AssociateApprovalRuleTemplateWithRepository", error)
            })?;
        Ok(())
    }

    async fn disassociate(&self, name: &str, repository: &str) -> Result<(), AwsError> {
        self.client
            .disassociate_approval_rule_template_from_repository()
            .approval_rule_template_name(name)
            .repository_name(repository)
            .send()
            .await
            .map_err(|error| {
                AwsError::from_sdk("DisassociateApprovalRuleTemplateFromRepository", error)
            })?;
        Ok(())
    }
}
