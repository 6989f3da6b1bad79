//! The only code that opens files or sockets to read the system: sock_diag, the `/proc` socket
//! tables, the kernel context, the owners. Everything is read relative to a root directory
//! (`--proc-root`, default `/proc`), so tests and offline analysis can use a copy.
//! It must never keep every socket: it hands each one to the caller and forgets it.

pub mod bounded;
pub mod cgroup;
pub mod context;
pub mod fdwalk;
pub mod names;
pub mod netlink;
pub mod netns;
pub mod proc_tcp;
pub mod process;
pub mod runtimes;

use std::fs::File;
use std::io::BufReader;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Cause, Error};
use crate::model::{Family, Socket, StateSet};
use crate::report::{Collection, FileStats, SkippedLine};
use proc_tcp::{Line, TcpTable};

/// USER_HZ (`sysconf(_SC_CLK_TCK)`, almost always 100): the unit of the timer column.
pub fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
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
    /// Another network namespace, entered with `setns` (`--all-netns`, `--netns`).
    target: Option<Target>,
}

/// A network namespace to read from inside: the file to `setns` with, and the sock_diag
/// socket already opened there, if a sweep opened it ahead ([`netns::open_many`]).
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    pub inode: u64,
    /// Opened ahead, or why entering failed (not retried).
    socket: Option<Result<Arc<OwnedFd>, Arc<std::io::Error>>>,
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
            target: None,
        }
    }

    /// The same source, reading the namespace `ns` from inside (its first process, if any,
    /// serves the `/proc` fallback).
    pub fn in_namespace(&self, ns: &netns::Namespace) -> Source {
        Source {
            pid: ns.pids.first().copied(),
            target: Some(Target {
                path: ns.path.clone(),
                inode: ns.inode,
                socket: None,
            }),
            ..self.clone()
        }
    }

    /// The namespace to enter: the one asked for, or with `--pid`, that process's, when its
    /// `ns/net` link can be read (never in a saved copy of /proc).
    fn target(&self) -> Option<Target> {
        if self.target.is_some() || self.kind == SourceKind::Proc {
            return self.target.clone();
        }
        let path = self.root.join(self.pid?.to_string()).join("ns/net");
        let link = std::fs::read_link(&path).ok()?;
        let inode = netns::parse_id(&link.to_string_lossy())?;
        Some(Target {
            path,
            inode,
            socket: None,
        })
    }

    /// Whether this source reads another network namespace from inside (a sweep, `--netns`).
    pub fn enters_namespace(&self) -> bool {
        self.target.is_some()
    }

    /// The namespace file to open a sock_diag socket in ahead of time, if this source will
    /// want one.
    pub fn netns_path(&self) -> Option<&Path> {
        let t = self.target.as_ref()?;
        (self.kind != SourceKind::Proc).then_some(t.path.as_path())
    }

    /// Hands over the sock_diag socket opened inside the target namespace ahead of time, or
    /// why it could not be; `None` closes it.
    pub fn set_socket(&mut self, socket: Option<std::io::Result<OwnedFd>>) {
        if let Some(t) = &mut self.target {
            t.socket = socket.map(|r| r.map(Arc::new).map_err(Arc::new));
        }
    }

    /// Lets sock_diag filter states in the kernel (only when the caller needs no other state).
    /// `None` (every state, unknown codes included) keeps the full dump.
    pub fn only_states(mut self, wanted: Option<StateSet>) -> Source {
        self.states = wanted.map_or(netlink::ALL_STATES, StateSet::sock_diag_mask);
        self
    }

    /// Whether netlink should be tried, or why not.
    fn wants_netlink(&self, target: Option<&Target>) -> Result<bool, String> {
        let live = target.is_some() || self.root == Path::new("/proc") && self.pid.is_none();
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
        if let Some(t) = &self.target {
            return Some(format!("net:[{}]", t.inode));
        }
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

/// Test-only fault injection: `SOCKSCOPE_TEST_FAULT` names a failure to simulate
/// (`netlink-dump`: the sock_diag dump is refused after the socket opened, as a seccomp
/// profile can do; `panic`: `check` panics; `emfile`: the owner walk runs out of file
/// descriptors, as under a low `ulimit -n`). Never set it outside tests.
pub fn injected(fault: &str) -> bool {
    std::env::var_os("SOCKSCOPE_TEST_FAULT").is_some_and(|v| v == fault)
}

/// Streams every socket of the source's TCP tables to `each`, IPv4 first. `wants` says which
/// families to read at all.
pub fn for_each_socket(
    source: &Source,
    wants: impl Fn(Family) -> bool,
    mut each: impl FnMut(&Socket),
) -> Result<Collection, Error> {
    let started = Instant::now();
    let no_process = |pid: u32| Error::NoProcess {
        pid,
        root: source.root.clone(),
    };
    if let Some(pid) = source.pid
        && source.target.is_none()
        && !source.root.join(pid.to_string()).is_dir()
    {
        return Err(no_process(pid));
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
    let target = source.target();
    let opened = |t: Option<&Target>| match t {
        Some(Target {
            socket: Some(Ok(fd)),
            ..
        }) => Ok(Arc::clone(fd)),
        Some(Target {
            socket: Some(Err(e)),
            ..
        }) => Err(std::io::Error::new(e.kind(), e.to_string())),
        Some(t) => netns::open_sock_diag(&t.path).map(Arc::new),
        None => netlink::open().map(Arc::new),
    };
    match source.wants_netlink(target.as_ref()) {
        Err(why) => return Err(Error::Usage(why)),
        Ok(true) => match opened(target.as_ref()) {
            Ok(fd) => {
                // A seccomp profile or an LSM may allow socket() yet refuse sendto or recvfrom:
                // with auto, fall back as long as no socket was handed on yet.
                let mut delivered = 0u64;
                let mut dumped = Ok(());
                for family in Family::ALL.into_iter().filter(|&f| wants(f)) {
                    let result = if injected("netlink-dump") {
                        Err(rustix::io::Errno::PERM.into())
                    } else {
                        netlink::dump(
                            &fd,
                            family,
                            source.states,
                            collection.clock_ticks,
                            &mut |s| {
                                delivered += 1;
                                each(s)
                            },
                        )
                    };
                    if let Err(e) = result {
                        dumped = Err(e);
                        break;
                    }
                }
                match dumped {
                    Ok(()) => {
                        collection.source = "netlink";
                        collection.states_filtered_in_kernel = source.states != netlink::ALL_STATES;
                        collection.sockets_seen = delivered;
                        collection.duration = started.elapsed();
                        return Ok(collection);
                    }
                    Err(e) if source.kind == SourceKind::Auto && delivered == 0 => {
                        collection.source_reason = Some(format!(
                            "netlink sock_diag dump failed ({}): read /proc instead",
                            Cause(&e)
                        ));
                    }
                    Err(e) => return Err(Error::Netlink(e)),
                }
            }
            Err(e)
                if target.is_some()
                    && (source.pid.is_none() || source.kind != SourceKind::Auto) =>
            {
                return Err(Error::Netns {
                    path: target.map(|t| t.path).unwrap_or_default(),
                    source: e,
                });
            }
            Err(e) if target.is_some() => {
                if let Some(pid) = source
                    .pid
                    .filter(|p| !source.root.join(p.to_string()).is_dir())
                {
                    return Err(no_process(pid));
                }
                collection.source_reason = Some(format!(
                    "cannot enter the namespace ({}): read /proc/{}/net instead",
                    crate::error::Cause(&e),
                    source.pid.unwrap_or_default()
                ));
            }
            Err(e) if source.kind == SourceKind::Auto => {
                collection.source_reason = Some(format!(
                    "netlink sock_diag unavailable ({}): read /proc instead",
                    Cause(&e)
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
            match bounded::open_regular(&path, true) {
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
