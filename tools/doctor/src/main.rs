//! `codecommit-build-trigger doctor`: checks an installation with the operator's credentials
//! and prints a checklist, with the fix for each problem; exits 1 on any problem (or anything
//! it could not check), 2 on a usage error.
//!
//! ```text
//! codecommit-build-trigger doctor --stack NAME [--repository NAME]
//! codecommit-build-trigger doctor --repository NAME --project NAME [--project NAME...] [--branches PATTERNS]
//! ```
//!
//! `codecommit-build-trigger doctor ...` runs this binary (`codecommit-build-trigger-doctor`)
//! from beside it; it can be run by its own name too.

use aws_config::BehaviorVersion;
use codecommit_build_trigger::aws::sdk::{https_client, Roots};
use std::process::ExitCode;

mod checks;
mod gather;
mod report;

use gather::{Clients, Target};

const USAGE: &str = "usage: codecommit-build-trigger doctor --stack NAME [--repository NAME]
       codecommit-build-trigger doctor --repository NAME --project NAME [--project NAME...] [--branches PATTERNS]
checks, in the region of AWS_REGION (or the profile's), with your credentials: the stack, the
repository and its default branch, each project and its role's codecommit:GitPull, the branch
patterns, the trigger (or EventBridge rule), the merge gate, approval rule templates waiting for
a role that no longer exists, and the failed-events queue; exit 0 when all is in place, 1 with
the fix for each problem";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = match parse(&args) {
        Ok(target) => target,
        Err(problem) => {
            eprintln!("codecommit-build-trigger doctor: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let https_client = match https_client(Roots::System) {
        Ok(client) => client,
        Err(problem) => {
            eprintln!("codecommit-build-trigger doctor: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client)
        .load()
        .await;
    let Some(region) = sdk_config.region().map(ToString::to_string) else {
        eprintln!("codecommit-build-trigger doctor: no region: set AWS_REGION (the stack's and the repository's)");
        return ExitCode::from(2);
    };
    let clients = Clients {
        cloudformation: aws_sdk_cloudformation::Client::new(&sdk_config),
        codebuild: aws_sdk_codebuild::Client::new(&sdk_config),
        codecommit: aws_sdk_codecommit::Client::new(&sdk_config),
        iam: aws_sdk_iam::Client::new(&sdk_config),
        sqs: aws_sdk_sqs::Client::new(&sdk_config),
        region,
    };
    let (target, found) = gather::run(&clients, &target).await;
    print!("{}", report::checklist(&target, &clients.region, &found));
    if found.iter().all(checks::Check::is_fine) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The target the arguments name.
fn parse(args: &[String]) -> Result<Target, String> {
    let mut target = Target::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .filter(|value| !value.is_empty() && !value.starts_with("--"))
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--stack" => target.stack = Some(value()?),
            "--repository" => target.repository = Some(value()?),
            "--project" => target.projects.push(value()?),
            "--branches" => target.branches = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if target.stack.is_none() && (target.repository.is_none() || target.projects.is_empty()) {
        return Err("name the stack (--stack), or the repository and the project(s)".to_owned());
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_arguments_name_a_stack_or_a_repository_and_its_projects() {
        let target = parse(&args("--stack s --repository r")).expect("valid");
        assert_eq!(target.stack.as_deref(), Some("s"));
        assert_eq!(target.repository.as_deref(), Some("r"));
        let target = parse(&args(
            "--repository r --project a --project b --branches main",
        ))
        .expect("valid");
        assert_eq!(target.projects, ["a", "b"]);
        assert_eq!(target.branches.as_deref(), Some("main"));
        assert!(parse(&args("--repository r")).is_err());
        assert_eq!(
            parse(&args("--stack")),
            Err("--stack needs a value".to_owned())
        );
        assert_eq!(
            parse(&args("--stack s --bogus")),
            Err("unknown argument \"--bogus\"".to_owned())
        );
    }
}
