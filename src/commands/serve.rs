//! `sockscope serve`: a Prometheus exporter. Each collection is the check's evaluation with the
//! previous collection as its history (kept in memory, so the two-run rules work from the
//! second scrape), plus bounded per-port breakdowns and the age of the oldest CLOSE_WAIT per
//! port. The HTTP side (`serve`) decides when to collect.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::alert::state::Saved;
use crate::cli::{Otlp, ServeJob};
use crate::diagnose::all_ids;
use crate::error::Error;
use crate::model::{FastMap as HashMap, FastSet as HashSet, StateCounts, TcpState};
use crate::pipeline::{self, Request};
use crate::render::otlp::Times;
use crate::render::{self, Format, Style};
use crate::report::flows::FlowCounters;
use crate::report::{
    AcceptQueue, Ages, Breakdown, CheckReport, ExporterStats, Notice, OldestCloseWait, Owners,
    PORT_LABELS, PORT_SOCKETS, PROCESS_LABELS, PROCESS_SOCKETS, ScrapeReport, Status,
};
use crate::serve::otlp::{self, Pusher};
use crate::serve::share::{Scraper, Shared};
use crate::serve::{self, Options};

pub fn run(job: &ServeJob, err: &mut dyn Write) -> Result<(), Error> {
    let listener = serve::bind(job.listen)?;
    // Events count from the start, not from the first scrape.
    let mut request = job.request.clone();
    let mut flows = None;
    if let Some(follow) = &job.follow {
        let said = pipeline::follow(&mut request, follow.buffer)?;
        if let Some(why) = &said {
            let _ = writeln!(err, "sockscope: warning: {why}");
        }
        // A saved copy of /proc has no events: no flow series at all, rather than zeros.
        if said.is_some() || request.plan.flows.is_some() {
            let mut counters = FlowCounters::new(job.max_series, job.by_process);
            counters.not_following = said;
            flows = Some(counters);
        }
    }
    let options = Options {
        read_timeout: job.read_timeout,
        write_timeout: job.write_timeout,
        max_header_bytes: 8 * 1024,
        max_connections: job.max_connections,
        web: job.web.clone(),
    };
    let mut exporter = Exporter {
        request,
        max_series: job.max_series,
        by_process: job.by_process,
        stats: ExporterStats::default(),
        flows,
    };
    let scraper: Scraper = Box::new(move || exporter.scrape());
    let shared = Arc::new(Shared::new(job.min_interval, scraper));
    if let Some(otlp) = &job.otlp {
        push_every(otlp, shared.clone());
    }
    serve::serve(listener, options, shared, err)
}

/// Pushes what a scrape would get to `otlp.url` every `otlp.interval`, on a thread of its own;
/// a failed push is said on stderr each time (the next one may work).
fn push_every(otlp: &Otlp, shared: Arc<Shared>) {
    // A push never outlasts the interval, nor 30 s.
    let pusher = Pusher::new(&otlp.url, otlp.interval.min(Duration::from_secs(30)));
    let interval = otlp.interval;
    let host = otlp::this_host();
    let start = otlp::unix_nano(SystemTime::now());
    let style = Style {
        unicode: false,
        color: false,
        width: None,
    };
    std::thread::spawn(move || {
        loop {
            let scrape = shared.get();
            let mut text = Vec::new();
            let pushed = render::scrape::write(&scrape, Format::Prometheus, &style, &mut text)
                .map_err(|e| format!("cannot render the OTLP push: {e}"))
                .and_then(|()| {
                    let (sweep, at) = match scrape.as_ref() {
                        Ok(s) => (
                            s.check.summary.sweep.as_deref(),
                            s.check.summary.collected_at,
                        ),
                        Err(_) => (None, SystemTime::now()),
                    };
                    let times = Times {
                        start_unix_nano: start,
                        unix_nano: otlp::unix_nano(at),
                    };
                    otlp::push_exposition(&pusher, &text, sweep, &host, times)
                });
            if let Err(e) = pushed {
                let _ = writeln!(std::io::stderr(), "sockscope: warning: {e}");
            }
            std::thread::sleep(interval);
        }
    });
}

/// What every scrape runs, and what the exporter remembers from one to the next (the previous
/// run, in its request's history).
struct Exporter {
    request: Request,
    max_series: usize,
    by_process: bool,
    stats: ExporterStats,
    /// The destroy events counted since start (`None` with `--no-flows`).
    flows: Option<FlowCounters>,
}

impl Exporter {
    fn scrape(&mut self) -> Result<ScrapeReport, String> {
        let started = Instant::now();
        self.stats.collections += 1;
        let mut ports = PortCounts::default();
        // Only CLOSE_WAIT sockets: how many there are is the finding, not a cost to avoid.
        let mut close_wait_port: HashMap<u64, u16> = HashMap::default();
        // With --by-process, every socket's inode and state, for the owners of the run's walk.
        let mut inodes: Vec<(u64, TcpState)> = Vec::new();
        let by_process = self.by_process;
        let mut listeners: Vec<AcceptQueue> = Vec::new();
        // Skipped lines are counted in the report; a warning per scrape would flood the journal.
        let finished = pipeline::run(&self.request, &mut |_, s| {
            ports.add(s);
            if s.state == TcpState::Listen {
                listeners.push(AcceptQueue {
                    listener: s.local.to_string(),
                    queued: s.rx_queue,
                    backlog: s.backlog,
                });
            }
            if by_process && s.inode != 0 {
                inodes.push((s.inode, s.state));
            }
            if s.state == TcpState::CloseWait && s.inode != 0 {
                close_wait_port.insert(s.inode, s.local.port());
            }
        });
        if let Some(history) = &mut self.request.plan.history {
            // A failed collection forgets the run before: the next one starts the two-run
            // rules afresh.
            history.previous = finished.as_ref().ok().and_then(|f| f.memory.clone());
        }
        let finished = match finished {
            Ok(f) => f,
            Err(e) => {
                self.stats.collection_errors += 1;
                return Err(e.to_string());
            }
        };
        if let Some(counters) = &mut self.flows {
            for (_, window) in &finished.flow_windows {
                self.stats.series_dropped += counters.add(window);
            }
        }
        let port_breakdown = ports.breakdown(self.max_series);
        self.stats.series_dropped += port_breakdown.folded;
        let mut breakdowns = vec![port_breakdown];
        if self.by_process {
            let processes = by_process_name(
                finished.owners.as_ref().unwrap_or(&Owners::default()),
                &inodes,
                self.max_series,
            );
            self.stats.series_dropped += processes.folded;
            breakdowns.push(processes);
        }
        let close_wait_oldest = oldest_close_wait(
            &finished.ages,
            finished.memory.as_ref(),
            &close_wait_port,
            &finished.report.collected_at,
            self.max_series,
        );
        // The fullest first: those are the ones to see.
        listeners.sort_by(|a, b| {
            b.queued
                .cmp(&a.queued)
                .then_with(|| a.listener.cmp(&b.listener))
        });
        let folded = listeners.len().saturating_sub(self.max_series);
        listeners.truncate(self.max_series);
        self.stats.series_dropped += folded as u64;
        let check = CheckReport {
            status: Status::of(&finished.report.findings),
            summary: finished.report,
            context: finished.context,
            notes: finished.notes,
            warn: self.request.config.warn.clone(),
            crit: self.request.config.crit.clone(),
            // Perfdata's: a scrape has none.
            measured: crate::model::StateSet::ALL,
            ports: Vec::new(),
            max_unread: None,
            finding_ids: all_ids().collect(),
            notice: Notice::Report,
        };
        Ok(ScrapeReport {
            check,
            breakdowns,
            close_wait_oldest,
            accept_queues: listeners,
            flows: self.flows.clone(),
            duration: started.elapsed(),
            stats: self.stats,
            version: env!("CARGO_PKG_VERSION"),
        })
    }
}

/// Sockets per process name, from the owners the run's one walk found for every socket. Names,
/// not pids, so restarts do not make new series; sockets no process holds are not counted.
fn by_process_name(owners: &Owners, inodes: &[(u64, TcpState)], max_series: usize) -> Breakdown {
    let mut by_name: HashMap<String, StateCounts> = HashMap::default();
    for (inode, state) in inodes {
        for process in owners.of(*inode) {
            by_name.entry(process.comm.clone()).or_default().add(*state);
        }
    }
    Breakdown::top(
        PROCESS_SOCKETS,
        PROCESS_LABELS,
        by_name.into_iter().map(|(name, c)| (vec![name], c)),
        max_series,
    )
}

/// Sockets by (local port, remote port, state) while streaming; after it, each is counted under
/// its service port: the local one when this host listens on it, the remote one otherwise. So
/// ephemeral ports never become series, whatever the local port range.
#[derive(Default)]
struct PortCounts {
    pairs: HashMap<(u16, u16, TcpState), u64>,
    listening: HashSet<u16>,
}

impl PortCounts {
    fn add(&mut self, s: &crate::model::Socket) {
        if s.state == TcpState::Listen {
            self.listening.insert(s.local.port());
        }
        *self
            .pairs
            .entry((s.local.port(), s.remote.port(), s.state))
            .or_default() += 1;
    }

    fn breakdown(self, max_series: usize) -> Breakdown {
        let mut by_service: HashMap<(u16, &'static str), StateCounts> = HashMap::default();
        for ((local, remote, state), n) in self.pairs {
            let key = if self.listening.contains(&local) {
                (local, "local")
            } else {
                (remote, "remote")
            };
            by_service.entry(key).or_default().add_n(state, n);
        }
        Breakdown::top(
            PORT_SOCKETS,
            PORT_LABELS,
            by_service
                .into_iter()
                .map(|((port, side), c)| (vec![port.to_string(), side.to_string()], c)),
            max_series,
        )
    }
}

/// Per local port, how long ago the peers closed its oldest CLOSE_WAIT socket: from tcp_info
/// when sock_diag gave it, else since this exporter first saw the socket (the `/proc`
/// source). The oldest `max_series` ports, the rest as one `other` row holding their oldest.
fn oldest_close_wait(
    ages: &[Ages],
    saved: Option<&Saved>,
    ports: &HashMap<u64, u16>,
    now: &SystemTime,
    max_series: usize,
) -> Vec<OldestCloseWait> {
    let mut by_port: HashMap<u16, u64> = HashMap::default();
    match ages.iter().find(|a| a.state == TcpState::CloseWait) {
        Some(a) => {
            for &(port, secs) in &a.oldest_by_port {
                by_port.insert(port, secs as u64);
            }
        }
        None => {
            let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            for (inode, first_seen) in saved.map(|s| &s.close_wait).into_iter().flatten() {
                if let Some(&port) = ports.get(inode) {
                    let age = now.saturating_sub(*first_seen);
                    let oldest = by_port.entry(port).or_default();
                    *oldest = (*oldest).max(age);
                }
            }
        }
    }
    let mut rows: Vec<(u16, u64)> = by_port.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rest = rows.split_off(max_series.min(rows.len()));
    let mut out: Vec<OldestCloseWait> = rows
        .into_iter()
        .map(|(port, seconds)| OldestCloseWait {
            label: "port",
            value: port.to_string(),
            seconds,
        })
        .collect();
    if let Some(&(_, seconds)) = rest.first() {
        out.push(OldestCloseWait {
            label: "port",
            value: "other".into(),
            seconds,
        });
    }
    out
}
