//! Orchestration, one file per subcommand: lower the command line, run the pipeline, hand the
//! report to a renderer. Nothing imports `commands`.

pub mod check;
pub mod evaluate;
pub mod list;
pub mod man;
pub mod serve;
pub mod summary;
pub mod top;
pub mod watch;

use std::io::Write;

use crate::Terminal;
use crate::render::Style;

pub(crate) fn style(terminal: Terminal) -> Style {
    Style {
        unicode: terminal.stdout_is_terminal,
        color: terminal.stdout_is_terminal && !terminal.no_color,
        width: terminal.width,
    }
}

/// Notes that plain output cannot carry on stdout without breaking scripts.
pub(crate) fn notes_to_stderr(notes: &[String], err: &mut dyn Write) {
    for note in notes {
        let _ = writeln!(err, "sockscope: note: {note}");
    }
}
