//! The only code that opens files or sockets to read the system: sock_diag, the `/proc` socket
//! tables, the kernel context, the owners. Everything is read relative to a root directory
//! (`--proc-root`, default `/proc`), so tests and offline analysis can use a copy.
//! It must never keep every socket: it hands each one to the caller and forgets it.

pub mod context;
pub mod fdwalk;
pub mod netlink;
pub mod owners;
pub mod proc_tcp;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::model::{Family, Socket, StateSet};
use crate::report::{Collection, FileStats, SkippedLine};
use proc_tcp::{Line, TcpTable};

/// USER_HZ (`sysconf(_SC_CLK_TCK)`, almost always 100): the unit of the timer column.
pub fn clock_ticks() -> u64 {
    procfs::ticks_per_second().max(1)
}

/// How many skipped lines are kept with their details; the rest are only counted.
pub const SKIPPED_DETAILS: usize = 20;

/// Read buffer for the socket tables. The kernel hands out `/proc/net/tcp` one seq_file page
/// (about 4 KiB, 27 lines) per read() whatever the buffer size, and re-walks its hash to find
/// its place on each call (measured with strace on 6.18: 4050-byte reads for a 1 MiB buffer,
/// as for cat). A larger buffer buys nothing; this one just never splits a page.
const READ_BUFFER: usize = 64 << 10;

/// Which reader `--source` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// netlink for the running system, /proc for a copy, a `--pid` or when netlink fails.
    Auto,
    Netlink,
    Proc,
}

/// Where sockets are read from: sock_diag or the `/proc` tables under a root.
#[derive(Debug, Clone)]
pub struct Source {
    root: PathBuf,
    pid: Option<u32>,
    kind: SourceKind,
    /// States to ask sock_diag for (the kernel filters); /proc is always read whole.
    states: u32,
}

impl Source {
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn new(root: impl Into<PathBuf>, pid: Option<u32>, kind: SourceKind) -> Source {
        Source {
            root: root.into(),
            pid,
            kind,
            states: netlink::ALL_STATES,
        }
    }

    /// Lets sock_diag filter states in the kernel (only when the caller needs no other state).
    /// `None` (every state, unknown codes included) keeps the full dump.
    pub fn only_states(mut self, wanted: Option<StateSet>) -> Source {
        self.states = wanted.map_or(netlink::ALL_STATES, StateSet::sock_diag_mask);
        self
    }

    /// Whether netlink should be tried, or why not.
    fn wants_netlink(&self) -> Result<bool, String> {
        let live = self.root == Path::new("/proc") && self.pid.is_none();
        match (self.kind, live) {
            (SourceKind::Proc, _) => Ok(false),
            (_, true) => Ok(true),
            (SourceKind::Auto, false) => Ok(false),
            (SourceKind::Netlink, false) => Err(
                "--source netlink reads this process's own network namespace; --proc-root and --pid need --source proc (or auto)".into(),
            ),
        }
    }

    /// `ROOT/net`, or `ROOT/PID/net` for another process's network namespace.
    pub fn net_dir(&self) -> PathBuf {
        match self.pid {
            Some(pid) => self.root.join(pid.to_string()).join("net"),
            None => self.root.join("net"),
        }
    }

    /// The network namespace, as `readlink /proc/self/ns/net` prints it (`net:[4026531840]`).
    /// `None` for a saved copy of /proc, which has no namespace links.
    fn netns(&self) -> Option<String> {
        let process = match self.pid {
            Some(pid) => pid.to_string(),
            None => "self".to_string(),
        };
        let link = self.root.join(process).join("ns").join("net");
        std::fs::read_link(link)
            .ok()
            .map(|target| target.to_string_lossy().into_owned())
    }
}

/// Streams every socket of the source's TCP tables to `each`, IPv4 first. `wants` says which
/// families to read at all.
pub fn for_each_socket(
    source: &Source,
    wants: impl Fn(Family) -> bool,
    mut each: impl FnMut(&Socket),
) -> Result<Collection, Error> {
    let started = Instant::now();
    if let Some(pid) = source.pid {
        let dir = source.root.join(pid.to_string());
        if !dir.is_dir() {
            return Err(Error::NoProcess {
                pid,
                root: source.root.clone(),
            });
        }
    }
    let net = source.net_dir();
    let mut collection = Collection {
        source: "proc",
        proc_root: source.root.clone(),
        pid: source.pid,
        netns: source.netns(),
        files: Vec::with_capacity(2),
        duration: Duration::ZERO,
        sockets_seen: 0,
        states_filtered_in_kernel: false,
        skipped_lines: 0,
        skipped: Vec::new(),
        clock_ticks: clock_ticks(),
        source_reason: None,
    };
    match source.wants_netlink() {
        Err(why) => return Err(Error::Usage(why)),
        Ok(true) => match netlink::open() {
            Ok(fd) => {
                collection.source = "netlink";
                collection.states_filtered_in_kernel = source.states != netlink::ALL_STATES;
                for family in Family::ALL.into_iter().filter(|&f| wants(f)) {
                    let n = netlink::dump(
                        &fd,
                        family,
                        source.states,
                        collection.clock_ticks,
                        &mut |s| each(s),
                    )
                    .map_err(Error::Netlink)?;
                    collection.sockets_seen += n;
                }
                collection.duration = started.elapsed();
                return Ok(collection);
            }
            Err(e) if source.kind == SourceKind::Auto => {
                collection.source_reason = Some(format!(
                    "netlink sock_diag unavailable ({e}): read /proc instead"
                ));
            }
            Err(e) => return Err(Error::Netlink(e)),
        },
        Ok(false) if source.kind == SourceKind::Auto => {
            collection.source_reason = Some(if source.pid.is_some() {
                "--pid: read that process's /proc/PID/net".into()
            } else {
                "--proc-root: read the tables under it".into()
            });
        }
        Ok(false) => {}
    }
    for (family, name) in [(Family::Ipv4, "tcp"), (Family::Ipv6, "tcp6")] {
        let path = net.join(name);
        let mut stats = FileStats {
            path: path.clone(),
            family,
            present: true,
            read: wants(family),
            sockets: 0,
            skipped: 0,
        };
        if stats.read {
            match File::open(&path) {
                Ok(file) => {
                    read_table(file, &path, family, &mut stats, &mut collection, &mut each)?
                }
                // No tcp6 means IPv6 is disabled or not built: as ss, count it as absent.
                Err(e) if family == Family::Ipv6 && e.kind() == std::io::ErrorKind::NotFound => {
                    stats.present = false;
                }
                Err(source) => return Err(Error::Read { path, source }),
            }
        } else {
            stats.present = path.exists();
        }
        collection.files.push(stats);
    }
    collection.duration = started.elapsed();
    Ok(collection)
}

fn read_table(
    file: File,
    path: &Path,
    family: Family,
    stats: &mut FileStats,
    collection: &mut Collection,
    each: &mut impl FnMut(&Socket),
) -> Result<(), Error> {
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    for line in TcpTable::new(reader, family) {
        match line {
            Line::Socket(socket) => {
                stats.sockets += 1;
                collection.sockets_seen += 1;
                each(&socket);
            }
            Line::Skipped { line, why } => {
                stats.skipped += 1;
                collection.skipped_lines += 1;
                if collection.skipped.len() < SKIPPED_DETAILS {
                    collection.skipped.push(SkippedLine {
                        path: path.to_path_buf(),
                        line,
                        why,
                    });
                }
            }
            Line::Failed { line, error } => {
                return Err(Error::ReadLine {
                    path: path.to_path_buf(),
                    line,
                    source: error,
                });
            }
        }
    }
    Ok(())
}
