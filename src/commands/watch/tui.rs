//! The live screen: raw mode and the alternate screen, refreshes on a timer, keys in between.
//! It blocks on input until the next refresh is due (no busy loop), and always gives the
//! terminal back: on quit, on an error, on a panic (a hook) and on SIGTERM/SIGHUP (a flag the
//! loop checks at least twice a second).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::keys::{self, Action};
use super::session::{Panel, Session};
use crate::error::Error;
use crate::render;
use crate::report::watch::WatchView;

/// How long the loop may block before it looks at the signal flag.
const SIGNAL_CHECK: Duration = Duration::from_millis(500);
/// A change of state or grouping refreshes this soon after the last key (scrolling through
/// states does not refresh at every step).
const SETTLE: Duration = Duration::from_millis(150);

/// Puts the terminal back as it was. Safe to call twice.
fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

/// Restores the terminal when dropped: after quitting, and on every error path.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

pub fn run(
    session: &mut Session,
    view: &mut WatchView,
    count: Option<u64>,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    // The signal that stops the loop (0: none yet): the exit status says which, as a shell
    // reports a process it killed (143 for SIGTERM, 129 for SIGHUP, 130 for SIGINT).
    let stop = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        // The number fits: signals are small positive integers.
        signal_hook::flag::register_usize(
            signal,
            Arc::clone(&stop),
            signal.unsigned_abs() as usize,
        )?;
    }
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous_hook(info);
    }));

    // Our own handle on the terminal, to see it hang up (an SSH session or a window gone):
    // crossterm would then spin reading end-of-file.
    let tty = match std::fs::File::open("/dev/tty") {
        Ok(tty) => tty,
        Err(_) => std::fs::File::from(io::stdin().as_fd().try_clone_to_owned()?),
    };
    terminal::enable_raw_mode()?;
    let _restore = Restore;
    let mut out = out;
    // Cleared here rather than with Terminal::clear, which asks the terminal where its cursor
    // is and fails when no answer comes quickly (a slow SSH link, a pty nobody answers on).
    execute!(
        &mut out,
        EnterAlternateScreen,
        cursor::Hide,
        terminal::Clear(terminal::ClearType::All)
    )?;
    let mut screen = Terminal::new(CrosstermBackend::new(out))?;
    // Starts crossterm's reader, and with it its SIGWINCH handler, so a resize interrupts the
    // wait below even before the first key.
    event::poll(Duration::ZERO)?;

    let mut due = Instant::now();
    let mut dirty = true;
    loop {
        if let signal @ 1.. = stop.load(Ordering::Relaxed) {
            return Ok(signaled(signal));
        }
        let now = Instant::now();
        if !view.paused && now >= due {
            if view.latest.is_none() {
                // The first refresh can take seconds on a big host: say so meanwhile.
                screen.draw(|frame| render::watch::draw(frame, view))?;
            }
            refresh(session, view)?;
            // A steady cadence from when this refresh was due.
            due = (due + view.interval).max(Instant::now());
            dirty = true;
        }
        if dirty {
            screen.draw(|frame| render::watch::draw(frame, view))?;
            dirty = false;
        }
        if count.is_some_and(|n| view.refreshes >= n) {
            return Ok(0);
        }
        let wait = if view.paused {
            SIGNAL_CHECK
        } else {
            due.saturating_duration_since(Instant::now())
                .min(SIGNAL_CHECK)
        };
        // crossterm reads every byte waiting on the terminal at once: keys typed together
        // (or during a long refresh) are in its queue, not on the terminal any more.
        if !event::poll(Duration::ZERO)? {
            match wait_for_input(&tty, wait)? {
                // The terminal hung up: as the SIGHUP that comes with it would.
                Input::HungUp => {
                    return Ok(signaled(signal_hook::consts::SIGHUP.unsigned_abs() as usize));
                }
                Input::None => continue,
                Input::Ready if !event::poll(Duration::ZERO)? => continue,
                Input::Ready => {}
            }
        }
        match event::read()? {
            Event::Key(key) => match keys::handle(key, view, session.looks_up_processes()) {
                Action::Nothing => {}
                Action::Redraw => dirty = true,
                Action::Quit => return Ok(0),
                Action::Refresh => {
                    due = due.min(Instant::now() + SETTLE);
                    dirty = true;
                }
                Action::Filter(filter) => {
                    session.set_filter(*filter);
                    view.reset_history();
                    due = Instant::now();
                    dirty = true;
                }
                Action::Export => {
                    view.message = Some(match export(view) {
                        Ok(path) => format!("snapshot written to {}", path.display()),
                        Err(e) => format!("no snapshot written: {e}"),
                    });
                    dirty = true;
                }
            },
            Event::Resize(..) => {
                screen.autoresize()?;
                dirty = true;
            }
            _ => {}
        }
    }
}

enum Input {
    Ready,
    None,
    HungUp,
}

/// Waits up to `wait` for a key (or a resize, which interrupts the wait with SIGWINCH).
fn wait_for_input(tty: &std::fs::File, wait: Duration) -> io::Result<Input> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(tty, PollFlags::IN)];
    let timeout = Timespec::try_from(wait).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    });
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) => Ok(Input::None),
        Ok(_) => {
            let got = fds[0].revents();
            if got.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
                Ok(Input::HungUp)
            } else {
                Ok(Input::Ready)
            }
        }
        // A signal: SIGWINCH (crossterm has the resize queued) or one that stops the loop.
        Err(rustix::io::Errno::INTR) => Ok(Input::Ready),
        Err(e) => Err(e.into()),
    }
}

/// One refresh into the view. Warnings would scribble over the screen: the last one is shown
/// as the message line instead.
/// The exit status of a run a signal ended: 128 + its number, as a shell reports it.
fn signaled(signal: usize) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

fn refresh(session: &mut Session, view: &mut WatchView) -> Result<(), Error> {
    let panel = Panel {
        state: view.selected,
        by: view.by,
    };
    let refresh = session.refresh(Some(panel))?;
    if let Some(last) = refresh.warnings.last() {
        view.message = Some(format!("warning: {last}"));
    }
    view.record(refresh);
    Ok(())
}

/// Writes the latest refresh as the summary's JSON document to a new file in the current
/// directory (or the temporary one when that is not writable); never replaces a file.
fn export(view: &WatchView) -> Result<PathBuf, Error> {
    let Some(latest) = &view.latest else {
        return Err(Error::Usage("nothing collected yet".into()));
    };
    let mut json = Vec::new();
    let style = render::Style::default();
    render::summary::write(&latest.report, render::Format::Json, &style, &mut json)?;
    let stamp = humantime::format_rfc3339_seconds(latest.report.collected_at)
        .to_string()
        .replace(':', "");
    let mut last = None;
    for dir in [PathBuf::from("."), std::env::temp_dir()] {
        for n in 1..100 {
            let name = match n {
                1 => format!("sockscope-watch-{stamp}.json"),
                n => format!("sockscope-watch-{stamp}-{n}.json"),
            };
            let path = dir.join(name);
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path);
            match file {
                Ok(mut file) => {
                    file.write_all(&json).map_err(|source| Error::Write {
                        path: path.clone(),
                        source,
                    })?;
                    return Ok(std::path::absolute(&path).unwrap_or(path));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    last = Some(Error::Write { path, source });
                    break;
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::Usage("no free snapshot file name".into())))
}
