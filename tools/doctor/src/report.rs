//! The checklist as the operator reads it.

use crate::checks::{Check, Outcome};
use crate::gather::Target;
use std::fmt::Write as _;

/// The checklist of `found`: one line per check (`✓`, `✗` or `?`), the fix under each problem,
/// and the count at the end.
pub fn checklist(target: &Target, region: &str, found: &[Check]) -> String {
    let mut out = String::new();
    let subject: Vec<String> = [
        target.stack.as_ref().map(|stack| format!("stack {stack}")),
        target
            .repository
            .as_ref()
            .map(|r| format!("repository {r}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let _ = writeln!(
        out,
        "codecommit-build-trigger doctor: {} in {region}",
        subject.join(", ")
    );
    for check in found {
        match &check.outcome {
            Outcome::Fine(text) => {
                let _ = writeln!(out, "  ✓ {}: {text}", check.name);
            }
            Outcome::Problem { what, fix } => {
                let _ = writeln!(out, "  ✗ {}: {what}\n      fix: {fix}", check.name);
            }
            Outcome::Unknown { what, fix } => {
                let _ = writeln!(out, "  ? {}: {what}\n      fix: {fix}", check.name);
            }
        }
    }
    let problems = found.iter().filter(|check| !check.is_fine()).count();
    let _ = match problems {
        0 => writeln!(out, "All {} checks passed.", found.len()),
        1 => writeln!(out, "1 problem: fix it and run the doctor again."),
        n => writeln!(out, "{n} problems: fix them and run the doctor again."),
    };
    out
}
