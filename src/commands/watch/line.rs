//! Line editing in the filter prompt, with the keys a shell's line editor has: ←/→, Home/End
//! (Ctrl-A/Ctrl-E), Backspace/Delete, Ctrl-U (to the start), Ctrl-K (to the end), Ctrl-W and
//! Alt-Backspace (the word before the cursor). Pure: the key changes the prompt's text and
//! cursor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::report::watch::Prompt;

/// Longest filter the prompt takes, in characters.
const MAX_CHARS: usize = 200;

/// What `key` does to `prompt`: `false` when it is no editing key.
pub fn edit(prompt: &mut Prompt, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let at = prompt.cursor.min(prompt.text.len());
    let before = |text: &str| text[..at].chars().next_back().map_or(0, char::len_utf8);
    let after = |text: &str| text[at..].chars().next().map_or(0, char::len_utf8);
    match key.code {
        KeyCode::Char('a') if ctrl => prompt.cursor = 0,
        KeyCode::Home => prompt.cursor = 0,
        KeyCode::Char('e') if ctrl => prompt.cursor = prompt.text.len(),
        KeyCode::End => prompt.cursor = prompt.text.len(),
        KeyCode::Char('b') if ctrl => prompt.cursor = at - before(&prompt.text),
        KeyCode::Left => prompt.cursor = at - before(&prompt.text),
        KeyCode::Char('f') if ctrl => prompt.cursor = at + after(&prompt.text),
        KeyCode::Right => prompt.cursor = at + after(&prompt.text),
        KeyCode::Char('u') if ctrl => {
            prompt.text.replace_range(..at, "");
            prompt.cursor = 0;
        }
        KeyCode::Char('k') if ctrl => prompt.text.truncate(at),
        KeyCode::Char('w') if ctrl => delete_word(prompt, at),
        KeyCode::Backspace if alt => delete_word(prompt, at),
        KeyCode::Char('h') if ctrl => backspace(prompt, at, before(&prompt.text)),
        KeyCode::Backspace => backspace(prompt, at, before(&prompt.text)),
        KeyCode::Char('d') if ctrl => {
            prompt.text.replace_range(at..at + after(&prompt.text), "");
        }
        KeyCode::Delete => {
            prompt.text.replace_range(at..at + after(&prompt.text), "");
        }
        KeyCode::Char(c)
            if !ctrl && !alt && !c.is_control() && prompt.text.chars().count() < MAX_CHARS =>
        {
            prompt.text.insert(at, c);
            prompt.cursor = at + c.len_utf8();
        }
        _ => return false,
    }
    prompt.error = None;
    true
}

fn backspace(prompt: &mut Prompt, at: usize, width: usize) {
    prompt.text.replace_range(at - width..at, "");
    prompt.cursor = at - width;
}

/// Ctrl-W: the spaces before the cursor, then the word before them.
fn delete_word(prompt: &mut Prompt, at: usize) {
    let head = &prompt.text[..at];
    let word_end = head.trim_end().len();
    let start = head[..word_end].rfind(' ').map_or(0, |i| i + 1);
    prompt.text.replace_range(start..at, "");
    prompt.cursor = start;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(text: &str) -> Prompt {
        Prompt {
            text: text.into(),
            cursor: text.len(),
            error: None,
        }
    }

    fn key(p: &mut Prompt, code: KeyCode, modifiers: KeyModifiers) -> bool {
        edit(p, KeyEvent::new(code, modifiers))
    }

    fn ctrl(p: &mut Prompt, c: char) -> bool {
        key(p, KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(p: &mut Prompt, text: &str) {
        for c in text.chars() {
            assert!(key(p, KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn ctrl_u_clears_a_prefilled_filter_instead_of_typing_u() {
        let mut p = prompt("sport 8080");
        assert!(ctrl(&mut p, 'u'));
        assert_eq!((p.text.as_str(), p.cursor), ("", 0));
        typed(&mut p, "state close-wait");
        assert_eq!(p.text, "state close-wait");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor() {
        let mut p = prompt("state close-wait port 8080  ");
        ctrl(&mut p, 'w');
        assert_eq!(p.text, "state close-wait port ");
        ctrl(&mut p, 'w');
        ctrl(&mut p, 'w');
        assert_eq!(p.text, "state ");
        key(&mut p, KeyCode::Backspace, KeyModifiers::ALT);
        assert_eq!(p.text, "");
        assert!(ctrl(&mut p, 'w'), "nothing left: still an editing key");
    }

    #[test]
    fn the_cursor_moves_and_edits_in_the_middle() {
        let mut p = prompt("port 80");
        key(&mut p, KeyCode::Home, KeyModifiers::NONE);
        typed(&mut p, "state listen ");
        assert_eq!(p.text, "state listen port 80");
        ctrl(&mut p, 'e');
        key(&mut p, KeyCode::Left, KeyModifiers::NONE);
        typed(&mut p, "8");
        assert_eq!(p.text, "state listen port 880");
        key(&mut p, KeyCode::Delete, KeyModifiers::NONE);
        key(&mut p, KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(p.text, "state listen port 8");
        ctrl(&mut p, 'a');
        key(&mut p, KeyCode::Right, KeyModifiers::NONE);
        ctrl(&mut p, 'k');
        assert_eq!((p.text.as_str(), p.cursor), ("s", 1));
    }

    #[test]
    fn wide_characters_move_as_one_and_the_length_is_bounded() {
        let mut p = prompt("é");
        key(&mut p, KeyCode::Left, KeyModifiers::NONE);
        assert_eq!(p.cursor, 0);
        key(&mut p, KeyCode::Right, KeyModifiers::NONE);
        key(&mut p, KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(p.text, "");
        key(&mut p, KeyCode::Backspace, KeyModifiers::NONE);
        key(&mut p, KeyCode::Left, KeyModifiers::NONE);
        assert_eq!(p.cursor, 0);
        typed(&mut p, &"x".repeat(MAX_CHARS));
        assert!(!key(&mut p, KeyCode::Char('y'), KeyModifiers::NONE));
        assert_eq!(p.text.len(), MAX_CHARS);
        assert!(!ctrl(&mut p, 'z'), "not an editing key");
    }
}
