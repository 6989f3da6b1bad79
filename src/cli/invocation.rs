//! The command line, lowered: one value with everything each command needs, and nothing of
//! clap (ripgrep's `HiArgs`). Built by [`super::lower`].

use std::path::PathBuf;
use std::time::Duration;

use crate::pipeline::Request;
use crate::render::{Format, Style};
use crate::report;
#[cfg(feature = "serve")]
use crate::serve::web_config::WebConfig;

/// What the caller knows about the terminal; the library never inspects the process itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdout_is_terminal: bool,
    /// `NO_COLOR` is set to a non-empty value (no-color.org).
    pub no_color: bool,
    /// Columns to wrap prose to: `COLUMNS`, else the terminal's width; `None` when piped.
    pub width: Option<u16>,
}

impl Terminal {
    /// Boxes on a terminal, colour there unless `NO_COLOR`, prose fitted to the width.
    pub fn style(self) -> Style {
        Style {
            unicode: self.stdout_is_terminal,
            color: self.stdout_is_terminal && !self.no_color,
            width: self.width,
        }
    }
}

/// The whole command line, lowered.
#[derive(Debug)]
pub struct Invocation {
    pub job: Job,
    pub output: Output,
    /// Said on stderr before the command runs (a broken configuration the summary ignores).
    pub warnings: Vec<String>,
}

/// How results are written.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub style: Style,
    pub terminal: Terminal,
    /// `-v`: plain output also says its attribution notes on stderr.
    pub verbose: bool,
}

/// Following the kernel's destroy events: the receive buffer per namespace, and for `check`
/// and the summary (`--follow`) how long to follow before collecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowJob {
    pub buffer: usize,
    pub first: Option<Duration>,
}

#[derive(Debug)]
pub struct SummaryJob {
    pub request: Request,
    pub follow: Option<FollowJob>,
}

/// Each command with everything it needs.
#[derive(Debug)]
pub enum Job {
    Summary(SummaryJob),
    List(ListJob),
    Top(TopJob),
    Check(CheckJob),
    Watch(WatchJob),
    #[cfg(feature = "serve")]
    Serve(Box<ServeJob>),
    Completions(clap_complete::Shell),
    Man(Option<String>),
}

#[derive(Debug)]
pub struct ListJob {
    pub request: Request,
    pub sort: report::SortKey,
    /// `-o`: timers and retransmits.
    pub timers: bool,
    /// `-p`: the holders of each row.
    pub processes: bool,
}

#[derive(Debug)]
pub struct TopJob {
    pub request: Request,
    /// The grouping keys, each once, in the order given.
    pub keys: Vec<report::GroupKey>,
    /// The largest groups shown (0: all).
    pub limit: usize,
}

#[derive(Debug)]
pub struct CheckJob {
    pub request: Request,
    pub state_file: Option<PathBuf>,
    pub renotify: Option<Duration>,
    pub textfile: Option<PathBuf>,
    #[cfg(feature = "serve")]
    pub otlp: Option<Otlp>,
    pub stuck_after: Duration,
    /// `--max-unread`: `None` when not given (the command decides by who runs it).
    pub max_unread: Option<usize>,
    /// `-t/--timeout`; `None`: no limit.
    pub timeout: Option<Duration>,
    pub follow: Option<FollowJob>,
}

/// Where and how often to push OTLP.
#[cfg(feature = "serve")]
#[derive(Debug, Clone)]
pub struct Otlp {
    /// The full URL, path included.
    pub url: String,
    /// Between two pushes (`serve`).
    pub interval: Duration,
}

#[derive(Debug)]
pub struct WatchJob {
    pub request: Request,
    /// The full screen (a terminal), or a record per refresh in `output.format`.
    pub screen: bool,
    pub interval: Duration,
    pub count: Option<u64>,
    pub all_states: bool,
    pub follow: Option<FollowJob>,
}

#[cfg(feature = "serve")]
#[derive(Debug)]
pub struct ServeJob {
    pub request: Request,
    pub listen: std::net::SocketAddr,
    pub min_interval: Duration,
    pub max_series: usize,
    pub by_process: bool,
    pub web: WebConfig,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
    pub otlp: Option<Otlp>,
    pub follow: Option<FollowJob>,
}
