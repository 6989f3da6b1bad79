//! Network namespaces: finding every one on the host (`/proc/*/ns/net` deduplicated by device
//! and inode, plus the bind mounts in `/run/netns` and `/run/docker/netns`), and opening a
//! sock_diag socket inside one. It never names them (that is `names`) and never reads sockets.
//!
//! A netlink socket keeps the namespace it was created in, so a short-lived thread `setns()`s
//! into the namespace, opens the socket and hands it back: the calling thread never leaves its
//! own namespace, whatever fails.
//!
//! Every namespace file is opened through [`nsfs::open`], which refuses what is not a network
//! namespace before `setns`; the entering thread reports the namespace it entered, so a caller
//! can refuse one that is not the namespace it listed ([`nsfs::Moved`]).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::context::{self, NetSysctls};
use super::nsfs::{self, Follow};
use super::{bounded, process};

/// One network namespace, as discovery found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace's inode: `net:[inode]`.
    pub inode: u64,
    /// A file that refers to it (a process's `ns/net` link or a bind mount), to `setns` with.
    pub path: PathBuf,
    /// Its processes, ascending (empty for a namespace held only by a bind mount).
    pub pids: Vec<u32>,
    /// Its `/run/netns` names (iproute2), sorted.
    pub names: Vec<String>,
    /// Its `/run/docker/netns` entries (Docker sandbox keys), sorted.
    pub docker_keys: Vec<String>,
    /// The host's own (the namespace of pid 1, or of the kernel threads).
    pub host: bool,
}

impl Namespace {
    /// The namespace a file refers to (a bind mount anywhere, a process's `ns/net`); an error
    /// saying what the file is when it is not a network namespace.
    pub fn from_file(path: &Path) -> io::Result<Namespace> {
        Ok(Namespace {
            inode: nsfs::open(path, Follow::Yes)?.inode,
            path: path.to_path_buf(),
            pids: Vec::new(),
            names: Vec::new(),
            docker_keys: Vec::new(),
            host: false,
        })
    }

    /// `net:[4026531833]`, as `readlink /proc/PID/ns/net` prints it.
    pub fn id(&self) -> String {
        format!("net:[{}]", self.inode)
    }
}

/// Every namespace found, and the processes whose namespace could not be read.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The host's first, then by inode.
    pub namespaces: Vec<Namespace>,
    pub processes: u64,
    /// Processes whose `ns/net` was refused (another user's, or a sandboxed pid 1).
    pub processes_unreadable: u64,
    /// Processes that exited while we looked.
    pub processes_vanished: u64,
}

/// Finds every network namespace under `host_root` (`/` on the host itself): `proc` is
/// `host_root/proc` unless the caller says otherwise.
pub fn discover(proc_root: &Path, host_root: &Path) -> io::Result<Discovery> {
    let mut found = Discovery::default();
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut pids: Vec<u32> = fs::read_dir(proc_root)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        found.processes += 1;
        let path = proc_root.join(pid.to_string()).join("ns/net");
        // The link's text names the namespace (`net:[N]`): one syscall, as stat would be.
        let inode = match fs::read_link(&path) {
            Ok(target) => match parse_id(&target.to_string_lossy()) {
                Some(inode) => inode,
                None => {
                    found.processes_unreadable += 1;
                    continue;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                found.processes_vanished += 1;
                continue;
            }
            Err(_) => {
                found.processes_unreadable += 1;
                continue;
            }
        };
        let at = entry(&mut found.namespaces, &mut index, inode, path);
        found.namespaces[at].pids.push(pid);
    }
    // Only what opens as a network namespace: an unmounted leftover is a plain file on /run,
    // and a FIFO there would block an open() that waits for it.
    for (dir, docker) in [("run/netns", false), ("run/docker/netns", true)] {
        let Ok(entries) = fs::read_dir(host_root.join(dir)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            // A bind mount is no link: one here would be resolved outside a --host-root.
            let Ok(opened) = nsfs::open(&path, Follow::No) else {
                continue;
            };
            let name = e.file_name().to_string_lossy().into_owned();
            let at = entry(
                &mut found.namespaces,
                &mut index,
                opened.inode,
                path.clone(),
            );
            let ns = &mut found.namespaces[at];
            // A bind mount outlives any one process: enter through it.
            ns.path = path;
            if docker {
                ns.docker_keys.push(name);
            } else {
                ns.names.push(name);
            }
        }
    }
    let host = host_inode(proc_root);
    for ns in &mut found.namespaces {
        ns.host = Some(ns.inode) == host;
    }
    found.namespaces.sort_by_key(|ns| (!ns.host, ns.inode));
    Ok(found)
}

/// `net:[4026531833]` → 4026531833.
pub fn parse_id(text: &str) -> Option<u64> {
    text.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

fn entry(
    namespaces: &mut Vec<Namespace>,
    index: &mut HashMap<u64, usize>,
    inode: u64,
    path: PathBuf,
) -> usize {
    *index.entry(inode).or_insert_with(|| {
        namespaces.push(Namespace {
            inode,
            path,
            pids: Vec::new(),
            names: Vec::new(),
            docker_keys: Vec::new(),
            host: false,
        });
        namespaces.len() - 1
    })
}

/// The host's namespace: pid 1's, or where pid 1 is shielded (as in some sandboxes), the
/// kernel threads' (kthreadd, pid 2, always runs in the initial namespace).
fn host_inode(proc_root: &Path) -> Option<u64> {
    let inode = |pid: &str| {
        fs::read_link(proc_root.join(pid).join("ns/net"))
            .ok()
            .and_then(|t| parse_id(&t.to_string_lossy()))
    };
    inode("1").or_else(|| {
        let comm = fs::read_to_string(proc_root.join("2/comm")).ok()?;
        (comm.trim_end() == "kthreadd").then(|| inode("2"))?
    })
}

/// Of a namespace's processes (`pids`, ascending), the one that has been in it longest, for a
/// person to enter it through: the earliest started (`starttime` of `/proc/PID/stat`, the
/// lower pid among equals). Never this process; another sockscope only when nothing else is
/// there (a transient `sockscope serve` is gone by the time the command is pasted). The
/// [`STEADY_TRIES`] lowest pids are read: the oldest processes are among them but after a
/// pid wrap.
pub fn steady_member(proc_root: &Path, pids: &[u32]) -> Option<u32> {
    let me = std::process::id();
    let mut best: Option<(bool, u64, u32)> = None;
    for &pid in pids.iter().filter(|&&p| p != me).take(STEADY_TRIES) {
        let Ok(stat) = bounded::read_text(&proc_root.join(pid.to_string()).join("stat"), 4096)
        else {
            continue;
        };
        let Some((comm, started)) = process::parse_stat(stat.as_bytes()) else {
            continue;
        };
        let key = (comm == b"sockscope", started, pid);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    // None readable (gone meanwhile, or a copy without `stat`): the lowest pid, as listed.
    best.map(|(_, _, pid)| pid)
        .or_else(|| pids.iter().copied().find(|&p| p != me))
}

/// How many of a namespace's processes [`steady_member`] reads at most.
pub const STEADY_TRIES: usize = 64;

/// A sock_diag socket opened inside a namespace, and which namespace that was.
#[derive(Debug)]
pub struct Entered {
    pub socket: OwnedFd,
    /// The inode of the namespace entered: the caller compares it with the one it listed.
    pub inode: u64,
}

/// What to do inside one namespace.
#[derive(Debug, Clone, Copy)]
pub struct Errand<'a> {
    /// The namespace file to `setns` with.
    pub path: &'a Path,
    /// Open a sock_diag socket there.
    pub socket: bool,
    /// Read its own sysctls under this proc root ([`context::read_net_sysctls`]).
    pub sysctls: Option<&'a Path>,
}

/// What a visit inside a namespace brought back.
#[derive(Debug)]
pub struct Visit {
    /// The inode of the namespace entered: the caller compares it with the one it listed.
    pub inode: u64,
    /// Its sock_diag socket, when the errand asked for one, or why it could not be opened.
    pub socket: Option<io::Result<OwnedFd>>,
    /// Its own sysctls, when the errand asked for them.
    pub sysctls: Option<NetSysctls>,
}

impl Visit {
    /// The socket, as [`open_sock_diag`] hands it over.
    pub fn entered(&mut self) -> Option<io::Result<Entered>> {
        let inode = self.inode;
        self.socket
            .take()
            .map(|s| s.map(|socket| Entered { socket, inode }))
    }
}

/// In this thread: enters the namespace `path` refers to. Only for a thread that ends
/// afterwards: it stays in that namespace.
fn enter(path: &Path) -> io::Result<u64> {
    let ns = nsfs::open(path, Follow::Yes)?;
    move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
    Ok(ns.inode)
}

/// In this thread (which then ends): enters the errand's namespace and does what it asks.
fn run(errand: &Errand) -> io::Result<Visit> {
    let inode = enter(errand.path)?;
    Ok(Visit {
        inode,
        socket: errand.socket.then(super::netlink::open),
        sysctls: errand.sysctls.map(context::read_net_sysctls),
    })
}

/// In this thread: enters the namespace `path` refers to and runs `then` there; returns the
/// namespace's inode with what it made. Only for a thread that ends afterwards.
fn enter_and<T>(path: &Path, then: &dyn Fn() -> io::Result<T>) -> io::Result<(u64, T)> {
    let inode = enter(path)?;
    Ok((inode, then()?))
}

/// Runs `then` inside each namespace, on one thread that enters them in turn and then ends
/// (as [`visit_many`] does): what it made there with the namespace's inode, or why that
/// namespace could not be entered. The calling thread never leaves its own namespace.
pub fn within_each<T: Send>(
    paths: &[&Path],
    then: &(dyn Fn() -> io::Result<T> + Sync),
) -> Vec<io::Result<(u64, T)>> {
    std::thread::scope(|s| {
        s.spawn(|| paths.iter().map(|p| enter_and(p, then)).collect::<Vec<_>>())
            .join()
            .unwrap_or_else(|_| {
                paths
                    .iter()
                    .map(|_| Err(io::Error::other("the namespace thread panicked")))
                    .collect()
            })
    })
}

/// Opens a NETLINK_SOCK_DIAG socket inside the namespace `path` refers to. The socket stays
/// bound to that namespace; the thread that entered it ends at once.
pub fn open_sock_diag(path: &Path) -> io::Result<Entered> {
    let errand = Errand {
        path,
        socket: true,
        sysctls: None,
    };
    std::thread::scope(|s| {
        s.spawn(|| run(&errand))
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    })
    .and_then(|mut visit| {
        visit
            .entered()
            .unwrap_or_else(|| Err(io::Error::other("no socket")))
    })
}

/// Visits each namespace on one thread that enters them in turn (as
/// `benches/netns_sweep_count.c` does) and then ends: one thread per sweep instead of one per
/// namespace. Each visit, or why that namespace could not be entered, is handed to `each` on
/// the calling thread (with the errand's index, in order) as soon as it is done, so the caller
/// reads one namespace while the thread enters the next; the thread runs at most `ahead`
/// visits ahead (each may hold a socket open). `each` returns whether to go on.
pub fn visit_many(
    errands: &[Errand],
    ahead: usize,
    mut each: impl FnMut(usize, io::Result<Visit>) -> bool,
) {
    let (tx, rx) = std::sync::mpsc::sync_channel(ahead.max(1));
    let mut next = 0;
    std::thread::scope(|s| {
        s.spawn(move || {
            for (i, errand) in errands.iter().enumerate() {
                if tx.send((i, run(errand))).is_err() {
                    return;
                }
            }
        });
        // Owned here: dropped on the way out, which stops the thread at its next visit (the
        // scope waits for it).
        let rx = rx;
        for (i, visit) in rx.iter() {
            next = i + 1;
            if !each(i, visit) {
                return;
            }
        }
        // The thread ended early (it panicked): the rest were not entered.
        for i in next..errands.len() {
            if !each(i, Err(io::Error::other("the namespace thread panicked"))) {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests;
