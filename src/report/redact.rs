//! Secrets taken out of a build log's lines before a comment shows them. A build prints
//! whatever its commands print, and a comment is read by everyone with access to the
//! repository: whatever looks like a credential becomes `***`.
//!
//! The shapes (the project's contract): AWS access key ids; `Authorization` header values and
//! `Bearer` tokens; JSON Web Tokens; the password in a URL; PEM private-key blocks; and the
//! value assigned to any name containing `PASSWORD`, `SECRET`, `TOKEN` or `API_KEY` (which
//! covers `aws_secret_access_key`, `SecretAccessKey` and `aws_session_token`). The patterns
//! use ASCII classes only: the `regex` crate is built without its Unicode tables.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// What a secret is replaced with.
const MASK: &str = "***";

/// A value after `=` or `:`: a quoted string, or a word up to the next space or quote. Never
/// one starting with `:` or `=`, so that `token::parse` and `secret == x` are not assignments.
const VALUE: &str = r#""[^"]*"|'[^']*'|["']?[^ \t"':=][^ \t"']*"#;

/// The separator between a name and its value: `=` or `:`, with spaces around it and maybe
/// the name's closing quote before it (`"api_key": "..."`).
const SEPARATOR: &str = r#"["']?[ \t]*[:=][ \t]*"#;

/// The secrets within a line, in the order they are applied: each pattern's `secret` group is
/// masked, the rest of its match kept.
static RULES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // AWS access key ids, long-term (AKIA) and temporary (ASIA).
        r"(?-u:\b)(?P<secret>(?:AKIA|ASIA)[A-Z0-9]{16})(?-u:\b)".to_owned(),
        // JSON Web Tokens: a header always starting `{"` (`eyJ`), a payload, a signature.
        r"(?-u:\b)(?P<secret>eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)".to_owned(),
        // The password in `scheme://user:password@host`.
        r"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://[^/?#@ \t:]*:(?P<secret>[^/?# \t]+)@".to_owned(),
        // An `Authorization` header's value, with its scheme (`Basic`, `Bearer`, ...).
        format!(r"(?i-u:\bauthorization){SEPARATOR}(?P<secret>(?:[A-Za-z]+[ \t]+)?(?:{VALUE}))"),
        // `Bearer` tokens anywhere (RFC 6750's token characters).
        r"(?i-u:\bbearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)".to_owned(),
        // A value assigned to a name that says it is secret.
        format!(
            r"(?i-u:(?:password|secret|token|api[_-]?key)[a-z0-9_-]*){SEPARATOR}(?P<secret>{VALUE})"
        ),
    ]
    .iter()
    .map(|pattern| Regex::new(pattern).expect("a redaction pattern is a valid regex"))
    .collect()
});

/// The first line of a PEM private-key block (`-----BEGIN RSA PRIVATE KEY-----`, ...).
static PEM_BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
        .expect("the PEM pattern is a valid regex")
});

/// The last line of a PEM private-key block.
static PEM_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
        .expect("the PEM pattern is a valid regex")
});

/// Redacts a log's lines one after the other, oldest first, remembering whether they are
/// within a PEM private-key block.
#[derive(Debug, Default)]
pub(super) struct Redactor {
    /// Whether the lines so far opened a private-key block and did not close it.
    in_private_key: bool,
}

impl Redactor {
    /// `line` (already without control characters) with its secrets masked: all of it when it
    /// is part of a private-key block, from its `BEGIN` line to its `END` line.
    pub(super) fn line(&mut self, line: &str) -> String {
        let begin = PEM_BEGIN.find_iter(line).last().map(|found| found.start());
        let end = PEM_END.find_iter(line).last().map(|found| found.start());
        let within = self.in_private_key || begin.is_some();
        self.in_private_key = match (begin, end) {
            (Some(begin), Some(end)) => begin > end,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.in_private_key,
        };
        if within {
            return MASK.to_owned();
        }
        let mut text = line.to_owned();
        for rule in RULES.iter() {
            text = rule.replace_all(&text, mask_secret).into_owned();
        }
        text
    }
}

/// A rule's match with its `secret` group masked.
fn mask_secret(captures: &Captures<'_>) -> String {
    let whole = captures.get_match();
    let Some(secret) = captures.name("secret") else {
        return whole.as_str().to_owned();
    };
    let before = &whole.as_str()[..secret.start() - whole.start()];
    let after = &whole.as_str()[secret.end() - whole.start()..];
    format!("{before}{}{after}", masked(secret.as_str()))
}

/// The mask for `secret`, inside the same quotes when it was quoted.
fn masked(secret: &str) -> String {
    for quote in ['"', '\''] {
        if secret.len() >= 2 && secret.starts_with(quote) && secret.ends_with(quote) {
            return format!("{quote}{MASK}{quote}");
        }
    }
    MASK.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `line` redacted on its own.
    fn redacted(line: &str) -> String {
        Redactor::default().line(line)
    }

    fn assert_redacts(cases: &[(&str, &str)]) {
        for (line, expected) in cases {
            assert_eq!(redacted(line), *expected, "{line}");
        }
    }

    #[test]
    fn aws_access_key_ids() {
        assert_redacts(&[
            ("key AKIAIOSFODNN7EXAMPLE used", "key *** used"),
            (
                "\"AccessKeyId\": \"ASIAY34FZKBOKMUTVV7A\",",
                "\"AccessKeyId\": \"***\",",
            ),
            // Not on word boundaries, or too short: not a key id.
            ("XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE"),
            ("AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPL"),
        ]);
    }

    #[test]
    fn aws_secret_keys_and_session_tokens() {
        assert_redacts(&[
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = ***",
            ),
            (
                "  \"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG\",",
                "  \"SecretAccessKey\": \"***\",",
            ),
            (
                "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjE+/=",
                "AWS_SESSION_TOKEN=***",
            ),
            ("aws_session_token: 'abc def'", "aws_session_token: '***'"),
        ]);
    }

    #[test]
    fn authorization_headers_and_bearer_tokens() {
        assert_redacts(&[
            ("Authorization: Basic dXNlcjpwYXNz", "Authorization: ***"),
            ("> authorization: Bearer abc.def", "> authorization: ***"),
            ("authorization=abc", "authorization=***"),
            (
                "curl -H \"Authorization: Bearer abc\" https://api.example.com",
                "curl -H \"Authorization: ***\" https://api.example.com",
            ),
            (
                "{\"Authorization\": \"Basic abc\"}",
                "{\"Authorization\": \"***\"}",
            ),
            ("using Bearer abc123-_.~+/== now", "using Bearer *** now"),
            ("bearer\tabc", "bearer\t***"),
        ]);
    }

    #[test]
    fn json_web_tokens() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_redacts(&[
            (&format!("id_token {jwt} issued"), "id_token *** issued"),
            (&format!("cookie jwt={jwt};"), "cookie jwt=***;"),
        ]);
    }

    #[test]
    fn passwords_in_urls() {
        assert_redacts(&[
            (
                "connecting to postgres://app:hunter2@db:5432/x",
                "connecting to postgres://app:***@db:5432/x",
            ),
            (
                "https://user:p@ss:word@git.example.com/r.git",
                "https://user:***@git.example.com/r.git",
            ),
            ("redis://:s3cr3t@cache", "redis://:***@cache"),
            // No password: nothing to take out.
            ("ssh://git@host/r", "ssh://git@host/r"),
            (
                "http://localhost:8080/a?b=c@d",
                "http://localhost:8080/a?b=c@d",
            ),
        ]);
    }

    #[test]
    fn pem_private_keys_on_one_line() {
        assert_redacts(&[
            ("-----BEGIN RSA PRIVATE KEY-----", "***"),
            (
                r#""private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n","#,
                "***",
            ),
            ("-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----"),
        ]);
        let mut redactor = Redactor::default();
        redactor.line("-----BEGIN EC PRIVATE KEY----- -----END EC PRIVATE KEY-----");
        assert_eq!(redactor.line("next"), "next", "a closed block ends");
    }

    #[test]
    fn values_of_secret_names() {
        assert_redacts(&[
            ("DB_PASSWORD=s3cr3t", "DB_PASSWORD=***"),
            ("export GITHUB_TOKEN=ghp_x", "export GITHUB_TOKEN=***"),
            ("client_secret: abc", "client_secret: ***"),
            ("{\"api_key\": \"abc\"}", "{\"api_key\": \"***\"}"),
            ("apikey=abc apiKey : abc", "apikey=*** apiKey : ***"),
            ("x-api-key: abc", "x-api-key: ***"),
            ("--token=abc --verbose", "--token=*** --verbose"),
            ("PASSWORD=\"two words\" next", "PASSWORD=\"***\" next"),
            ("Password='unterminated", "Password=***"),
        ]);
    }

    #[test]
    fn ordinary_lines_stay_byte_identical() {
        for line in [
            "error[E0308]: mismatched types",
            "test result: FAILED. 3 passed; 1 failed",
            "   Compiling token-stream v1.0.0",
            "step 14",
            "https://example.com/path?x=1",
            "     Running tests/secret_santa.rs (target/debug/deps/secret_santa-1a2b)",
            "test token::tests::parses_empty ... ok",
            "thread 'main' panicked at src/secret.rs:12:5:",
            "  --> src/token.rs:3:9",
            "assert!(token == expected)",
            "[Container] 2024/05/01 12:00:00 Phase complete: BUILD State: FAILED",
            "the password is never printed",
            "",
        ] {
            assert_eq!(redacted(line), line);
        }
    }
}
