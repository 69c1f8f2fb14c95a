//! Branch and tag patterns with GitHub Actions' filter semantics.
//!
//! A [`PatternList`] is a comma-separated list of glob patterns read in order;
//! the last pattern that matches a name decides whether it is included (a
//! plain pattern) or excluded (a pattern with a leading `!`). A name that no
//! pattern matches is not included.
//!
//! Syntax, matched against the whole name, case-sensitively:
//!
//! * `*` matches any characters except `/`;
//! * `?` matches one character except `/`;
//! * `[abc]`, `[a-z]` match one character of the class; `[!abc]` one
//!   character that is neither in the class nor `/`;
//! * `**` matches any characters including `/`, also none. As a whole
//!   leading or inner path component (`**/rc`, `a/**/b`) it also matches no
//!   component at all, so `**/rc` matches `rc`;
//! * every other character is literal.
//!
//! `globset` cannot express the contract's `**` inside a component (it reads
//! `v**` as `v*`), so each pattern is translated to a regular expression and
//! the list is compiled into one deterministic automaton that matches a
//! name against every pattern in a single pass over its bytes.

use regex_automata::dfa::dense::{self, DFA};
use regex_automata::dfa::{Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use thiserror::Error;

/// Why a pattern list could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    /// The list holds no pattern at all (empty or whitespace only).
    #[error("holds no pattern")]
    Empty,
    /// One entry between commas is empty.
    #[error("pattern {position} is empty (two commas in a row, or a comma at an end)")]
    EmptyEntry {
        /// 1-based position of the entry in the list.
        position: usize,
    },
    /// One pattern is malformed.
    #[error("pattern {position} `{pattern}` {problem}")]
    Malformed {
        /// 1-based position of the entry in the list.
        position: usize,
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// One pattern of a list, as written, and whether it excludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    negated: bool,
}

impl Pattern {
    /// The pattern as written in the configuration, `!` included.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this pattern excludes the names it matches.
    pub fn is_negated(&self) -> bool {
        self.negated
    }
}

/// An ordered list of include and exclude patterns.
#[derive(Debug, Clone)]
pub struct PatternList {
    patterns: Vec<Pattern>,
    automaton: DFA<Vec<u32>>,
    /// Where every match starts: searches are anchored at the start of the
    /// name, so this state is the same for every name.
    start: StateID,
}

/// What a [`PatternList`] says about one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match<'a> {
    /// The last matching pattern includes the name.
    Included(&'a Pattern),
    /// The last matching pattern excludes the name.
    Excluded(&'a Pattern),
    /// No pattern matches the name.
    Unmatched,
}

impl PatternList {
    /// Parses a comma-separated list. Entries are trimmed of surrounding
    /// white space; an empty list is an error (the caller decides whether an
    /// empty value means "nothing" before calling this).
    pub fn parse(list: &str) -> Result<Self, PatternError> {
        if list.trim().is_empty() {
            return Err(PatternError::Empty);
        }
        Self::from_patterns(list.split(','))
    }

    /// Compiles patterns given one by one (a pattern may then contain `,`).
    /// Each is trimmed; an empty one is an error, and so is no pattern at all.
    pub fn from_patterns<'a>(
        list: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, PatternError> {
        let mut patterns = Vec::new();
        let mut regexes = Vec::new();
        for (index, entry) in list.into_iter().enumerate() {
            let position = index + 1;
            let text = entry.trim();
            if text.is_empty() {
                return Err(PatternError::EmptyEntry { position });
            }
            let malformed = |problem| PatternError::Malformed {
                position,
                pattern: text.to_owned(),
                problem,
            };
            let (negated, glob) = match text.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            if glob.is_empty() {
                return Err(malformed(
                    "excludes nothing: `!` must be followed by a pattern",
                ));
            }
            if glob.chars().any(char::is_control) {
                return Err(malformed("contains a control character"));
            }
            regexes.push(glob_to_regex(glob).map_err(malformed)?);
            patterns.push(Pattern {
                text: text.to_owned(),
                negated,
            });
        }
        if patterns.is_empty() {
            return Err(PatternError::Empty);
        }
        // Each regex was validated on its own above, so this can only fail on
        // size limits; report that against the list's last pattern.
        let (automaton, start) = compile(&regexes).ok_or_else(|| PatternError::Malformed {
            position: patterns.len(),
            pattern: patterns.last().map(|p| p.text.clone()).unwrap_or_default(),
            problem: "makes the pattern list too large to compile",
        })?;
        Ok(Self {
            patterns,
            automaton,
            start,
        })
    }

    /// Whether `name` is included: the last pattern matching it is not `!`.
    pub fn includes(&self, name: &str) -> bool {
        matches!(self.verdict(name), Match::Included(_))
    }

    /// Decides `name` by the last pattern that matches it.
    pub fn verdict(&self, name: &str) -> Match<'_> {
        match self.last_match(name) {
            Some(index) => {
                let pattern = &self.patterns[index];
                if pattern.negated {
                    Match::Excluded(pattern)
                } else {
                    Match::Included(pattern)
                }
            }
            None => Match::Unmatched,
        }
    }

    /// The index of the last pattern that matches `name`.
    ///
    /// Every regex ends in `$`, so a pattern matches only where the name
    /// ends: one walk over its bytes, then the end-of-input transition, lands
    /// on a state that holds exactly the patterns matching the whole name.
    fn last_match(&self, name: &str) -> Option<usize> {
        let dfa = &self.automaton;
        let mut state = self.start;
        for &byte in name.as_bytes() {
            state = dfa.next_state(state, byte);
            if dfa.is_dead_state(state) {
                return None;
            }
        }
        state = dfa.next_eoi_state(state);
        if !dfa.is_match_state(state) {
            return None;
        }
        (0..dfa.match_len(state))
            .map(|index| dfa.match_pattern(state, index).as_usize())
            .max()
    }
}

/// Bytes an automaton of one pattern list may take: far above what globs
/// need, low enough that a pathological list fails at init, not in memory.
const AUTOMATON_SIZE_LIMIT: usize = 4 << 20;

/// One automaton reporting every pattern of `regexes` that matches, and its
/// anchored start state; `None` if a regex is invalid or the automaton would
/// exceed the size limit.
fn compile<P: AsRef<str>>(regexes: &[P]) -> Option<(DFA<Vec<u32>>, StateID)> {
    let automaton = dense::Builder::new()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(AUTOMATON_SIZE_LIMIT))
                .determinize_size_limit(Some(AUTOMATON_SIZE_LIMIT)),
        )
        .build_many(regexes)
        .ok()?;
    let start = automaton
        .start_state(&start::Config::new().anchored(Anchored::Yes))
        .ok()?;
    Some((automaton, start))
}

/// Translates one glob (without its `!`) into an anchored regular expression.
fn glob_to_regex(glob: &str) -> Result<String, &'static str> {
    let chars: Vec<char> = glob.chars().collect();
    let mut regex = String::from("^");
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                let starts_component = i == 0 || chars[i - 1] == '/';
                if starts_component && chars.get(i + 2) == Some(&'/') {
                    // `**/` as a whole component: any directories, or none.
                    regex.push_str("(?:.*/)?");
                    i += 3;
                } else {
                    regex.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            '[' => {
                i = push_class(&chars, i, &mut regex)?;
                continue;
            }
            literal => regex.push_str(&regex_syntax::escape(literal.encode_utf8(&mut [0; 4]))),
        }
        i += 1;
    }
    regex.push('$');
    // Validate here so an error names the pattern, not the whole list.
    compile(&[&regex]).ok_or("cannot be compiled")?;
    Ok(regex)
}

/// Translates the class starting at `chars[open] == '['`; returns the index
/// after its closing `]`. A `]` right after `[` or `[!` is a member.
fn push_class(chars: &[char], open: usize, regex: &mut String) -> Result<usize, &'static str> {
    let mut i = open + 1;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let mut members = String::new();
    let first = i;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("has a `[` class that is never closed with `]`");
        };
        if c == ']' && i > first {
            break;
        }
        let escape = |c: char| regex_syntax::escape(c.encode_utf8(&mut [0; 4]));
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&end| end != ']') {
            let end = chars[i + 2];
            if end < c {
                return Err("has a class range whose end comes before its start");
            }
            members.push_str(&escape(c));
            members.push('-');
            members.push_str(&escape(end));
            i += 3;
        } else {
            members.push_str(&escape(c));
            i += 1;
        }
    }
    if negated {
        regex.push_str("[^/");
    } else {
        regex.push('[');
    }
    regex.push_str(&members);
    regex.push(']');
    Ok(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn included(list: &str, name: &str) -> bool {
        let list = PatternList::parse(list).expect("valid pattern list");
        matches!(list.verdict(name), Match::Included(_))
    }

    #[test]
    fn literal_names_match_whole_names_only() {
        assert!(included("master", "master"));
        assert!(!included("master", "master2"));
        assert!(!included("master", "old/master"));
        assert!(!included("master", "Master"));
    }

    #[test]
    fn star_stops_at_slashes() {
        assert!(included("release/*", "release/1.2"));
        assert!(!included("release/*", "release/1/2"));
        assert!(!included("release/*", "release"));
        assert!(included("*", "feature"));
        assert!(!included("*", "feature/x"));
        assert!(included("feat*-x", "feat-x"));
    }

    #[test]
    fn question_mark_is_one_character_but_not_a_slash() {
        assert!(included("v?", "v1"));
        assert!(!included("v?", "v"));
        assert!(!included("v?", "v12"));
        assert!(!included("a?b", "a/b"));
        assert!(included("v?", "vé"));
    }

    #[test]
    fn double_star_crosses_slashes() {
        assert!(included("hotfix/**", "hotfix/a"));
        assert!(included("hotfix/**", "hotfix/a/b"));
        assert!(!included("hotfix/**", "hotfix"));
        assert!(included("**/rc", "rc"));
        assert!(included("**/rc", "x/y/rc"));
        assert!(!included("**/rc", "xrc"));
        assert!(included("v**", "v1/2"));
        assert!(included("v**", "v"));
        assert!(included("a/**/b", "a/b"));
        assert!(included("a/**/b", "a/x/y/b"));
        assert!(included("**", "any/thing/at/all"));
        assert!(included("x**/y", "xa/b/y"));
        assert!(!included("x**/y", "xy"));
    }

    #[test]
    fn classes_ranges_and_negated_classes() {
        assert!(included("v[0-9]", "v7"));
        assert!(!included("v[0-9]", "va"));
        assert!(included("[abc]x", "bx"));
        assert!(included("[!abc]x", "dx"));
        assert!(!included("[!abc]x", "ax"));
        assert!(
            !included("a[!b]c", "a/c"),
            "a negated class never matches `/`"
        );
        assert!(included("[]]", "]"), "`]` first in a class is a member");
        assert!(included("[a-]", "-"), "a trailing `-` is a member");
        assert!(included("[^]", "^"), "`^` is literal: `!` negates");
    }

    #[test]
    fn other_characters_are_literal() {
        assert!(included("v1.0", "v1.0"));
        assert!(!included("v1.0", "v1x0"));
        assert!(included("a+b(c)|{d}$", "a+b(c)|{d}$"));
        assert!(included(r"a\b", r"a\b"));
    }

    #[test]
    fn last_matching_pattern_wins() {
        let list = "release/*,!release/old-*";
        assert!(included(list, "release/1"));
        assert!(!included(list, "release/old-1"));
        let list = "!release/old-*,release/*";
        assert!(included(list, "release/old-1"), "a later include overrides");
        let parsed = PatternList::parse("release/*, !release/old-*").expect("valid");
        match parsed.verdict("release/old-1") {
            Match::Excluded(pattern) => assert_eq!(pattern.as_str(), "!release/old-*"),
            other => panic!("expected an exclusion, got {other:?}"),
        }
        assert_eq!(parsed.verdict("main"), Match::Unmatched);
    }

    #[test]
    fn entries_are_trimmed() {
        assert!(included(" master , develop ", "develop"));
    }

    #[test]
    fn malformed_lists_are_rejected_with_the_position() {
        assert_eq!(PatternList::parse("").unwrap_err(), PatternError::Empty);
        assert_eq!(PatternList::parse(" \t ").unwrap_err(), PatternError::Empty);
        assert_eq!(
            PatternList::parse("a,,b").unwrap_err(),
            PatternError::EmptyEntry { position: 2 }
        );
        assert_eq!(
            PatternList::parse("a,").unwrap_err(),
            PatternError::EmptyEntry { position: 2 }
        );
        let error = PatternList::parse("main,v[0-9").unwrap_err();
        assert_eq!(
            error.to_string(),
            "pattern 2 `v[0-9` has a `[` class that is never closed with `]`"
        );
        let error = PatternList::parse("[z-a]").unwrap_err();
        assert!(error.to_string().contains("range"), "{error}");
        let error = PatternList::parse("main, !").unwrap_err();
        assert!(error.to_string().starts_with("pattern 2 `!`"), "{error}");
        let error = PatternList::parse("ma\u{7}in").unwrap_err();
        assert!(error.to_string().contains("control character"), "{error}");
    }
}
