//! A build log's lines made safe to publish in a comment: untrusted text (the build runs
//! whatever the pushed commit says) that must neither break out of its block nor pass for
//! the function's own words, nor show the secrets a build may print ([`super::redact`]).

use super::redact::Redactor;

/// Longest log line shown, in characters; the rest of a longer line is cut.
pub(crate) const MAX_LINE_CHARS: usize = 400;

/// A build log's lines ready to show, and how many of them had secrets taken out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PublishedLog {
    /// The lines, oldest first: cleaned, redacted, and cut to [`MAX_LINE_CHARS`].
    pub lines: Vec<String>,
    /// How many of the lines redaction changed.
    pub redacted: usize,
}

/// `raw` made safe to publish, line by line: without terminal escape sequences, control or
/// invisible characters, then with what looks like a secret masked (a private key over as many
/// lines as it takes), then cut to [`MAX_LINE_CHARS`] characters, which is done last so that
/// a cut never leaves half a secret to be shown, and trailing whitespace trimmed.
pub(crate) fn publishable(raw: &[String]) -> PublishedLog {
    let mut redactor = Redactor::default();
    let mut redacted = 0;
    let lines = raw
        .iter()
        .map(|line| {
            let visible = strip(line);
            let safe = redactor.line(&visible);
            if safe != visible {
                redacted += 1;
            }
            cut(&safe)
        })
        .collect();
    PublishedLog { lines, redacted }
}

/// One `line` made safe to publish on its own, as [`publishable`] does a log's lines.
pub(crate) fn clean_line(line: &str) -> String {
    cut(&Redactor::default().line(&strip(line)))
}

/// `line` without terminal escape sequences, control characters or invisible ones
/// ([`is_invisible_formatting`]), and with tabs as spaces.
fn strip(line: &str) -> String {
    let mut visible = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\t' => visible.push(' '),
            c if c.is_control() || is_invisible_formatting(c) => {}
            c => visible.push(c),
        }
    }
    visible
}

/// `line`'s first [`MAX_LINE_CHARS`] characters, followed by `…` when there were more, and
/// without trailing whitespace.
fn cut(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => format!("{}…", line[..end].trim_end()),
        None => line.trim_end().to_owned(),
    }
}

/// Skips the rest of an escape sequence whose ESC was just read: CSI (`ESC [ ... final`),
/// OSC and the other string sequences (`ESC ] ... BEL` or `ESC \`), or a two-character one.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Characters that change how the text around them reads without showing themselves:
/// bidirectional marks, embeddings, overrides and isolates ("Trojan Source"), zero-width
/// ones, the soft hyphen, line and paragraph separators, tag characters, and the Hangul
/// fillers that render as blanks.
fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// A fenced code block around `lines` (already clean) that none of them can close: its fence
/// is one backtick longer than the longest run of backticks in any line, and at least three.
pub(crate) fn fenced(lines: &[String]) -> String {
    let longest_run = lines
        .iter()
        .flat_map(|line| line.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest_run + 1).max(3));
    let mut block = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum::<usize>() + 16);
    block.push_str(&fence);
    block.push_str("text\n");
    for line in lines {
        block.push_str(line);
        block.push('\n');
    }
    block.push_str(&fence);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_control_characters_go() {
        assert_eq!(
            clean_line("\u{1b}[1;31merror\u{1b}[0m: test\tfailed\r"),
            "error: test failed"
        );
        assert_eq!(
            clean_line("\u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{1b}\\ here"),
            "click here"
        );
        assert_eq!(
            clean_line("a\u{202e}cba\u{2066}b\u{200b}c\u{0}d"),
            "acbabcd"
        );
        assert_eq!(clean_line("ok\u{1b}"), "ok");
    }

    #[test]
    fn invisible_characters_go() {
        for invisible in [
            '\u{61c}',
            '\u{2028}',
            '\u{2029}',
            '\u{ad}',
            '\u{e0000}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{ffa0}',
        ] {
            assert_eq!(
                clean_line(&format!("pa{invisible}ss")),
                "pass",
                "U+{:04X}",
                u32::from(invisible)
            );
        }
        assert_eq!(
            clean_line("\u{e0080}\u{1161}"),
            "\u{e0080}\u{1161}",
            "their neighbours stay"
        );
    }

    #[test]
    fn a_log_is_redacted_before_it_is_cut_and_redacted_lines_are_counted() {
        let raw: Vec<String> = [
            "   Compiling app v0.1.0",
            "\u{1b}[31mDB_PASSWORD=s3cr3t\u{1b}[0m",
            "key:",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
            "",
            "-----END OPENSSH PRIVATE KEY-----",
            "error: could not connect",
        ]
        .map(str::to_owned)
        .to_vec();
        let published = publishable(&raw);
        assert_eq!(
            published.lines,
            [
                "   Compiling app v0.1.0",
                "DB_PASSWORD=***",
                "key:",
                "***",
                "***",
                "***",
                "***",
                "error: could not connect",
            ]
        );
        assert_eq!(published.redacted, 5);

        let unterminated = publishable(&["-----BEGIN PRIVATE KEY-----".into(), "MIIE".into()]);
        assert_eq!(unterminated.lines, ["***", "***"]);
        assert_eq!(unterminated.redacted, 2);

        // A key id across the cut: redacted first, so none of it is shown.
        let long = format!(
            "{} AKIAIOSFODNN7EXAMPLE {}",
            "x".repeat(390),
            "y".repeat(20)
        );
        let published = publishable(&[long]);
        assert_eq!(
            published.lines,
            [format!("{} *** {}…", "x".repeat(390), "y".repeat(5))]
        );
        assert_eq!(published.redacted, 1);
        assert_eq!(publishable(&[]), PublishedLog::default());
    }

    #[test]
    fn long_lines_are_cut() {
        let line = "x".repeat(MAX_LINE_CHARS + 50);
        let clean = clean_line(&line);
        assert_eq!(clean.chars().count(), MAX_LINE_CHARS + 1);
        assert!(clean.ends_with('…'));
    }

    #[test]
    fn no_line_can_close_the_fence() {
        let lines = vec!["````".to_owned(), "``` **SUCCEEDED**".to_owned()];
        let block = fenced(&lines);
        assert!(block.starts_with("`````text\n"), "{block}");
        assert!(block.ends_with("\n`````"), "{block}");
        assert_eq!(fenced(&["plain".to_owned()]), "```text\nplain\n```");
    }
}
