//! Text from the system (process names, above all) made safe to print. A process can name
//! itself with escape sequences that would rewrite an operator's terminal, or with spaces that
//! would shift an awk column; JSON needs none of this (serde escapes it, exactly).

use std::borrow::Cow;
use std::fmt::Write;

/// Control characters (C0, DEL, C1) and the invisible bidirectional and zero-width format
/// characters are written as `\xNN` / `\u{NNNN}`; everything else is kept.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// As [`for_terminal`], and whitespace too, so the value stays one whitespace-separated field.
pub fn for_field(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, whitespace: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) || (whitespace && c.is_whitespace()) || c == '\\';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width spaces and joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_borrowed_unchanged() {
        assert!(matches!(
            for_terminal("nginx: worker"),
            Cow::Borrowed("nginx: worker")
        ));
    }

    #[test]
    fn escape_sequences_cannot_reach_the_terminal() {
        assert_eq!(for_terminal("\x1b]0;pwned\x07x"), "\\x1b]0;pwned\\x07x");
        assert_eq!(for_terminal("a\u{9b}b\u{7f}"), "a\\x9bb\\x7f");
        assert_eq!(for_terminal("evil\u{202e}gpj"), "evil\\u{202e}gpj");
        assert_eq!(for_terminal("back\\slash"), "back\\\\slash");
    }

    #[test]
    fn fields_keep_awk_columns_intact() {
        assert_eq!(for_field("Web Content"), "Web\\x20Content");
        assert_eq!(for_terminal("Web Content"), "Web Content");
    }
}
