//! Text from the system (process names, above all) made safe to print. A process can name
//! itself with escape sequences that would rewrite an operator's terminal, or with spaces that
//! would shift an awk column. JSON keeps the text exact, with `\u` escapes for what serde
//! leaves raw (DEL, C1 controls such as U+009B CSI, bidi and zero-width characters).

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

/// A serde_json formatter that also writes the characters [`for_terminal`] escapes as `\uNNNN`
/// (serde escapes only C0 controls, `"` and `\\`), so `cat` or `jq -r` of a document cannot
/// reach a terminal's escape parser. The decoded strings are unchanged.
pub struct SafeJson<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                // Every escaped character is in the Basic Multilingual Plane: one \u escape.
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    // The layout is the inner formatter's.
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
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

    #[test]
    fn json_escapes_what_serde_leaves_raw_and_decodes_to_the_same_text() {
        use serde::Serialize;
        let name = "a\u{9b}31mb\u{202e}c\u{7f}\u{1b}]0;x\u{7}é";
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            SafeJson(serde_json::ser::PrettyFormatter::new()),
        );
        vec![name].serialize(&mut ser).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "[\n  \"a\\u009b31mb\\u202ec\\u007f\\u001b]0;x\\u0007é\"\n]"
        );
        let back: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, [name]);
    }
}
