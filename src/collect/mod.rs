//! The only code that opens files or sockets to read the system: sock_diag, the `/proc` socket
//! tables, the kernel context, the owners. Everything is read relative to a root directory
//! (`--proc-root`, default `/proc`), so tests and offline analysis can use a copy.
//! It must never keep every socket: it hands each one to the caller and forgets it.

pub mod bounded;
pub mod cgroup;
pub mod context;
pub mod fdwalk;
pub mod follow;
pub mod hostfs;
pub mod info;
pub mod names;
pub mod netlink;
pub mod netns;
pub mod nsfs;
pub mod proc_tcp;
pub mod process;
pub mod runtimes;
mod tables;
pub mod tcp_info;
pub mod threads;
pub mod users;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Cause, Error};
use crate::model::{Family, Socket, StateSet};
use crate::report::Collection;
use tables::read_tables;

/// USER_HZ (`sysconf(_SC_CLK_TCK)`, almost always 100): the unit of the timer column.
pub fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// How many skipped lines are kept with their details; the rest are only counted.
pub const SKIPPED_DETAILS: usize = 20;

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

    /// The live network namespace this source reads, to follow its destroy events: its inode,
    /// and the file to enter it through (`None` for this process's own). `None` for a saved
    /// copy of /proc, which has no events.
    pub fn follow_target(&self) -> Option<(u64, Option<PathBuf>)> {
        if let Some(t) = &self.target {
            return Some((t.inode, Some(t.path.clone())));
        }
        let link = match self.pid {
            Some(pid) => self.root.join(pid.to_string()).join("ns/net"),
            None if self.root == Path::new("/proc") => PathBuf::from("/proc/self/ns/net"),
            None => return None,
        };
        let inode = netns::parse_id(&std::fs::read_link(&link).ok()?.to_string_lossy())?;
        Some((inode, self.pid.map(|_| link)))
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
    /// why it could not be; `None` closes it. A socket opened in another namespace than the
    /// one listed (its process moved in between) is refused.
    pub fn set_socket(&mut self, socket: Option<std::io::Result<netns::Entered>>) {
        if let Some(t) = &mut self.target {
            let listed = t.inode;
            t.socket = socket.map(|r| {
                r.and_then(|entered| {
                    nsfs::Moved::check(listed, entered.inode).map(|()| entered.socket)
                })
                .map(Arc::new)
                .map_err(Arc::new)
            });
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

/// Streams every socket of the source's TCP tables to `each`: in the kernel's order through
/// sock_diag (both families mixed), IPv4 first from `/proc`. `wants` says which
/// families to read at all. sock_diag when it can, else the `/proc` tables, saying why.
pub fn for_each_socket(
    source: &Source,
    wants: impl Fn(Family) -> bool,
    mut each: impl FnMut(&Socket),
) -> Result<Collection, Error> {
    let started = Instant::now();
    if let Some(pid) = source.pid
        && source.target.is_none()
        && !source.root.join(pid.to_string()).is_dir()
    {
        return Err(source.no_process(pid));
    }
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
        repeated_lines: 0,
        skipped: Vec::new(),
        clock_ticks: clock_ticks(),
        source_reason: None,
    };
    match dump(source, &wants, &mut each, collection.clock_ticks)? {
        Dumped::All(delivered) => {
            collection.source = "netlink";
            collection.states_filtered_in_kernel = source.states != netlink::ALL_STATES;
            collection.sockets_seen = delivered;
            collection.duration = started.elapsed();
            return Ok(collection);
        }
        Dumped::Nothing(reason) => collection.source_reason = reason,
    }
    source.still_listed()?;
    read_tables(source, &wants, &mut collection, &mut each)?;
    source.still_listed()?;
    collection.duration = started.elapsed();
    Ok(collection)
}

/// What the sock_diag dump did.
enum Dumped {
    /// Every socket went to the caller (this many).
    All(u64),
    /// Nothing went to the caller: read the `/proc` tables instead, for this reason (none
    /// when `/proc` was what the source asked for).
    Nothing(Option<String>),
}

/// Dumps the source's namespace through sock_diag when the source wants netlink. A socket or
/// dump that fails before any socket was handed on falls back to `/proc` with `auto`; what
/// cannot fall back is an error ([`Source::after_failure`]).
fn dump(
    source: &Source,
    wants: &impl Fn(Family) -> bool,
    each: &mut impl FnMut(&Socket),
    clock_ticks: u64,
) -> Result<Dumped, Error> {
    let target = source.target();
    let wanted = source
        .wants_netlink(target.as_ref())
        .map_err(Error::Usage)?;
    if !wanted {
        let reason = (source.kind == SourceKind::Auto).then(|| {
            if source.pid.is_some() {
                "--pid: read that process's /proc/PID/net".to_string()
            } else {
                "--proc-root: read the tables under it".to_string()
            }
        });
        return Ok(Dumped::Nothing(reason));
    }
    let fd = match open(target.as_ref()) {
        Ok(fd) => fd,
        Err(e) => {
            return source
                .after_failure(target, e)
                .map(|r| Dumped::Nothing(Some(r)));
        }
    };
    // A seccomp profile or an LSM may allow socket() yet refuse sendto or recvfrom: with auto,
    // fall back as long as no socket was handed on yet.
    let mut delivered = 0u64;
    let families: Vec<Family> = Family::ALL.into_iter().filter(|&f| wants(f)).collect();
    // Both families in one walk of the kernel's hash; per family where that is refused.
    if families.len() == 2 && !injected("netlink-dump") {
        let both = netlink::dump_both(&fd, source.states, clock_ticks, &mut |s| {
            delivered += 1;
            each(s)
        });
        match both {
            Ok(_) => return Ok(Dumped::All(delivered)),
            Err(e) if delivered > 0 => return Err(Error::Netlink(e)),
            Err(_) => {}
        }
    }
    for family in families {
        let result = if injected("netlink-dump") {
            Err(rustix::io::Errno::PERM.into())
        } else {
            netlink::dump(&fd, family, source.states, clock_ticks, &mut |s| {
                delivered += 1;
                each(s)
            })
        };
        match result {
            Ok(_) => {}
            Err(e) if source.kind == SourceKind::Auto && delivered == 0 => {
                return Ok(Dumped::Nothing(Some(format!(
                    "netlink sock_diag dump failed ({}): read /proc instead",
                    Cause(&e)
                ))));
            }
            Err(e) => return Err(Error::Netlink(e)),
        }
    }
    Ok(Dumped::All(delivered))
}

/// The sock_diag socket: opened ahead inside the target namespace, opened there now, or this
/// process's own.
fn open(target: Option<&Target>) -> std::io::Result<Arc<OwnedFd>> {
    match target {
        Some(Target {
            socket: Some(Ok(fd)),
            ..
        }) => Ok(Arc::clone(fd)),
        Some(Target {
            socket: Some(Err(e)),
            ..
        }) => Err(match nsfs::Moved::of(e) {
            Some(moved) => std::io::Error::other(moved),
            None => std::io::Error::new(e.kind(), e.to_string()),
        }),
        Some(t) => {
            let entered = netns::open_sock_diag(&t.path)?;
            nsfs::Moved::check(t.inode, entered.inode)?;
            Ok(Arc::new(entered.socket))
        }
        None => netlink::open().map(Arc::new),
    }
}

impl Source {
    /// A namespace of a sweep read through a member's `/proc/PID/net` (where entering is
    /// refused: an ordinary user) is the one listed only while that process is still in it:
    /// checked before and after its tables are read. That catches a process that moved, not
    /// one that hops back and forth faster than a read; as root the namespace is entered
    /// instead, and its descriptor checked. A process that has gone is left to the read,
    /// which says so.
    fn still_listed(&self) -> Result<(), Error> {
        let (Some(t), Some(pid)) = (&self.target, self.pid) else {
            return Ok(());
        };
        let now = std::fs::read_link(self.root.join(pid.to_string()).join("ns/net"))
            .ok()
            .and_then(|link| netns::parse_id(&link.to_string_lossy()));
        match now {
            Some(found) => nsfs::Moved::check(t.inode, found).map_err(|e| Error::Read {
                path: self.net_dir(),
                source: e,
            }),
            None => Ok(()),
        }
    }

    fn no_process(&self, pid: u32) -> Error {
        Error::NoProcess {
            pid,
            root: self.root.clone(),
        }
    }

    /// The sock_diag socket could not be opened: why `/proc` is read instead, or the error
    /// when it cannot be (a namespace entered without a process to read it through, or a
    /// source that asked for netlink).
    fn after_failure(&self, target: Option<Target>, e: std::io::Error) -> Result<String, Error> {
        let auto = self.kind == SourceKind::Auto;
        match target {
            // What a moved process's /proc/PID/net shows is no better.
            Some(t) if self.pid.is_none() || !auto || nsfs::Moved::of(&e).is_some() => {
                Err(Error::Netns {
                    path: t.path,
                    source: e,
                })
            }
            Some(_) => match self.pid.filter(|p| !self.root.join(p.to_string()).is_dir()) {
                Some(pid) => Err(self.no_process(pid)),
                None => Ok(format!(
                    "cannot enter the namespace ({}): read /proc/{}/net instead",
                    Cause(&e),
                    self.pid.unwrap_or_default()
                )),
            },
            None if auto => Ok(format!(
                "netlink sock_diag unavailable ({}): read /proc instead",
                Cause(&e)
            )),
            None => Err(Error::Netlink(e)),
        }
    }
}
