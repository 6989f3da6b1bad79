//! What each key does to the live view. Pure: it changes the view and says what the loop must
//! do next (refresh, write a snapshot, quit); the loop does it.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::cli::parse_filter_line;
use crate::filter::Filter;
use crate::report::GroupKey;
use crate::report::watch::{Prompt, WatchView};

/// The intervals `+` and `-` step through.
const INTERVALS: [Duration; 9] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

#[derive(Debug)]
pub enum Action {
    Nothing,
    Redraw,
    Quit,
    /// The culprit panel asks for other sockets: refresh soon.
    Refresh,
    /// A new filter: start the counts afresh and refresh now.
    Filter(Box<Filter>),
    /// Write the current snapshot as JSON.
    Export,
}

/// What `key` does. `processes`: owners may be looked up (no `--no-processes`).
pub fn handle(key: KeyEvent, view: &mut WatchView, processes: bool) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::Nothing;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    // Ctrl-D deletes a character in the prompt, as in a shell.
    if ctrl
        && (key.code == KeyCode::Char('c')
            || (key.code == KeyCode::Char('d') && view.prompt.is_none()))
    {
        return Action::Quit;
    }
    if view.prompt.is_some() {
        return edit_prompt(key, view);
    }
    view.message = None;
    match key.code {
        KeyCode::Char('q' | 'Q') | KeyCode::Esc => Action::Quit,
        KeyCode::Char(' ') => {
            view.paused = !view.paused;
            Action::Refresh
        }
        KeyCode::Char('s') | KeyCode::Down => {
            view.select_step(true);
            Action::Refresh
        }
        KeyCode::Char('S') | KeyCode::Up => {
            view.select_step(false);
            Action::Refresh
        }
        KeyCode::Tab | KeyCode::Right => {
            step_finding(view, true);
            Action::Redraw
        }
        KeyCode::BackTab | KeyCode::Left => {
            step_finding(view, false);
            Action::Redraw
        }
        KeyCode::Char('p') if !processes => {
            view.message = Some("processes are not looked up (--no-processes)".into());
            Action::Redraw
        }
        KeyCode::Char(c @ ('p' | 'o' | 'r')) => {
            view.by = match c {
                'p' => GroupKey::Process,
                'o' => GroupKey::LocalPort,
                _ => GroupKey::Peer,
            };
            Action::Refresh
        }
        KeyCode::Char('c') if !view.containers => {
            view.message = Some("grouping by container needs --all-netns".into());
            Action::Redraw
        }
        KeyCode::Char('c') => {
            view.by = GroupKey::Container;
            Action::Refresh
        }
        KeyCode::Char('z') => {
            view.all_states = !view.all_states;
            Action::Redraw
        }
        KeyCode::Char('l') => {
            view.flows_expanded = !view.flows_expanded;
            Action::Redraw
        }
        KeyCode::Char('+' | '=') => {
            view.interval = step_interval(view.interval, true);
            Action::Redraw
        }
        KeyCode::Char('-' | '_') => {
            view.interval = step_interval(view.interval, false);
            Action::Redraw
        }
        KeyCode::Char('f' | '/') => {
            // Starts from the filter in force, as the header shows it, to be edited.
            let text = view
                .latest
                .as_ref()
                .map(|r| r.report.filter.clone())
                .unwrap_or_default();
            view.prompt = Some(Prompt {
                cursor: text.len(),
                text,
                error: None,
            });
            Action::Redraw
        }
        KeyCode::Char('e') => Action::Export,
        _ => Action::Nothing,
    }
}

fn edit_prompt(key: KeyEvent, view: &mut WatchView) -> Action {
    let Some(prompt) = view.prompt.as_mut() else {
        return Action::Nothing;
    };
    match key.code {
        KeyCode::Esc => view.prompt = None,
        KeyCode::Enter => match parse_filter_line(&prompt.text) {
            Ok(filter) => {
                view.prompt = None;
                return Action::Filter(Box::new(filter));
            }
            Err(why) => prompt.error = Some(why),
        },
        _ if super::line::edit(prompt, key) => {}
        _ => return Action::Nothing,
    }
    Action::Redraw
}

fn step_finding(view: &mut WatchView, forward: bool) {
    let n = view.findings();
    if n > 0 {
        view.finding = if forward {
            (view.finding + 1) % n
        } else {
            (view.finding + n - 1) % n
        };
    }
}

/// The next interval up or down the ladder from any interval (`-n 3` goes to 5s or 2s).
fn step_interval(now: Duration, longer: bool) -> Duration {
    if longer {
        INTERVALS.into_iter().find(|&i| i > now).unwrap_or(now)
    } else {
        INTERVALS
            .into_iter()
            .rev()
            .find(|&i| i < now)
            .unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(view: &mut WatchView, code: KeyCode) -> Action {
        handle(KeyEvent::new(code, KeyModifiers::NONE), view, true)
    }

    #[test]
    fn interval_steps_along_the_ladder_from_any_value() {
        assert_eq!(
            step_interval(Duration::from_secs(3), true),
            Duration::from_secs(5)
        );
        assert_eq!(
            step_interval(Duration::from_secs(3), false),
            Duration::from_secs(2)
        );
        assert_eq!(
            step_interval(Duration::from_millis(250), false),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn filter_prompt_refuses_bad_values_and_applies_good_ones() {
        let mut view = WatchView::new(Duration::from_secs(2), GroupKey::Process, false);
        press(&mut view, KeyCode::Char('f'));
        for c in "port x".chars() {
            press(&mut view, KeyCode::Char(c));
        }
        assert!(matches!(press(&mut view, KeyCode::Enter), Action::Redraw));
        let error = view.prompt.as_ref().and_then(|p| p.error.clone());
        assert!(error.is_some_and(|e| e.contains("'x'")));
        press(&mut view, KeyCode::Backspace);
        press(&mut view, KeyCode::Char('8'));
        match press(&mut view, KeyCode::Enter) {
            Action::Filter(f) => assert_eq!(f.describe(), "port 8"),
            other => panic!("{other:?}"),
        }
        assert!(view.prompt.is_none());
        // q inside the prompt is text, not quit.
        press(&mut view, KeyCode::Char('f'));
        assert!(matches!(
            press(&mut view, KeyCode::Char('q')),
            Action::Redraw
        ));
        assert!(matches!(press(&mut view, KeyCode::Esc), Action::Redraw));
        assert!(matches!(press(&mut view, KeyCode::Char('q')), Action::Quit));
    }

    #[test]
    fn c_groups_by_container_across_namespaces() {
        let mut view = WatchView::new(Duration::from_secs(2), GroupKey::Process, false);
        view.containers = true;
        assert!(matches!(
            press(&mut view, KeyCode::Char('c')),
            Action::Refresh
        ));
        assert_eq!(view.by, GroupKey::Container);
        assert_eq!(view.message, None);
    }

    #[test]
    fn container_grouping_waits_for_the_namespace_sweep() {
        let mut view = WatchView::new(Duration::from_secs(2), GroupKey::Process, false);
        assert!(matches!(
            press(&mut view, KeyCode::Char('c')),
            Action::Redraw
        ));
        assert_eq!(view.by, GroupKey::Process);
        assert!(
            view.message
                .as_deref()
                .is_some_and(|m| m.contains("--all-netns"))
        );
        assert!(matches!(
            press(&mut view, KeyCode::Char('r')),
            Action::Refresh
        ));
        assert_eq!(view.by, GroupKey::Peer);
    }
}
