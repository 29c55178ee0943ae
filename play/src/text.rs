//! Making text from the network safe to draw. Names and chat lines arrive from other
//! players; before any of it reaches a terminal cell, every control character (ESC, CSI,
//! BEL, CR, ...) and every invisible formatting character (bidi overrides, zero-width
//! spaces) becomes a visible `?`, so no escape sequence can move a cursor, recolour the
//! terminal or set its title. The server already strips them from chat; this is the
//! second line of defence, applied to everything drawn, names included.

use std::borrow::Cow;

/// True for characters that must never reach a terminal as they are.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `s` with every control or invisible formatting character replaced by `?`.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if unsafe_char(c) { '?' } else { c })
            .collect(),
    )
}

/// `inert(s)` cut to at most `max` characters (with a trailing `~` when cut).
pub fn inert_cut(s: &str, max: usize) -> String {
    let clean = inert(s);
    if clean.chars().count() <= max {
        return clean.into_owned();
    }
    let mut out: String = clean.chars().take(max.saturating_sub(1)).collect();
    out.push('~');
    out
}

/// Splits `text` into pieces of at most `width` characters, at spaces where it can.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > width {
        let cut = rest[..=width]
            .iter()
            .rposition(|&c| c == ' ')
            .filter(|&i| i > 0)
            .unwrap_or(width);
        out.push(rest[..cut].iter().collect());
        let skip_space = usize::from(rest.get(cut) == Some(&' '));
        rest.drain(..cut + skip_space);
    }
    out.push(rest.into_iter().collect());
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn long_lines_wrap_at_spaces_or_hard_when_they_must() {
        assert_eq!(wrap("short", 10), vec!["short"]);
        assert_eq!(
            wrap("one two three four", 9),
            vec!["one two", "three", "four"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }

    use super::*;

    #[test]
    fn escapes_become_visible_question_marks() {
        assert_eq!(inert("plain"), "plain");
        assert_eq!(inert("a\u{1b}[2Jb"), "a?[2Jb");
        assert_eq!(inert("\u{9b}31m\u{7}\r\n"), "?31m???");
        assert_eq!(inert("x\u{202e}y"), "x?y");
        assert_eq!(inert_cut("abcdef", 4), "abc~");
        assert_eq!(inert_cut("ab\u{1b}", 4), "ab?");
    }
}
