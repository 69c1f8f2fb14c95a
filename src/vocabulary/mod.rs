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

/// SHA-256 (lower-case hex) of `parts`, each followed by a NUL byte, so that no two lists of
/// parts hash alike by running into each other: idempotency tokens are made of it.
pub(crate) fn hex_sha256<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
