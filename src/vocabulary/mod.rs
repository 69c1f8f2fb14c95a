//! The words every layer shares: the build variables, ARNs, and text helpers. Parsing,
//! configuration, decisions and requests all use them; they use nothing of the crate.

pub(crate) mod arn;
pub(crate) mod variables;

/// `text` cut to `max` characters, with `…` when cut: for values quoted in errors and logs.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
