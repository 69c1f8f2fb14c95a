//! A build log's lines made safe to publish in a comment: untrusted text (the build runs
//! whatever the pushed commit says) that must neither break out of its block nor pass for
//! the function's own words.

/// Longest log line shown, in characters; the rest of a longer line is cut.
pub(crate) const MAX_LINE_CHARS: usize = 400;

/// `line` without terminal escape sequences, control characters or bidirectional overrides,
/// tabs as spaces, trailing whitespace trimmed, and at most [`MAX_LINE_CHARS`] characters.
pub(crate) fn clean_line(line: &str) -> String {
    let mut clean = String::with_capacity(line.len().min(MAX_LINE_CHARS * 4));
    let mut chars = line.chars().peekable();
    let mut kept = 0;
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\t' => push(&mut clean, &mut kept, ' '),
            c if c.is_control() || is_invisible_formatting(c) => {}
            c => push(&mut clean, &mut kept, c),
        }
        if kept >= MAX_LINE_CHARS {
            clean.push('…');
            break;
        }
    }
    clean.truncate(clean.trim_end().len());
    clean
}

fn push(clean: &mut String, kept: &mut usize, c: char) {
    clean.push(c);
    *kept += 1;
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
/// bidirectional embeddings, overrides and isolates ("Trojan Source"), zero-width ones.
fn is_invisible_formatting(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
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
