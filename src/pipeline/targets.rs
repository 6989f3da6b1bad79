//! Which namespaces an analysis reads: this process's own (the classic run), every one on the
//! host (`--all-netns`), or the one a `--netns` selector names; each with its label.

use std::path::{Path, PathBuf};

use super::Scope;
use crate::collect::Source;
use crate::collect::names::Namer;
use crate::collect::netns::{self, Namespace};
use crate::error::Error;
use crate::model::KernelContext;
use crate::report::{NetnsLabel, Sweep};

/// Which network namespaces to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Namespaces {
    /// This process's own, or `--pid`'s: the classic single report.
    #[default]
    Own,
    /// `--all-netns`.
    All,
    /// `--netns SELECTOR`.
    One(String),
}

impl Namespaces {
    /// Whether the report carries per-namespace results.
    pub fn sweeps(&self) -> bool {
        *self != Namespaces::Own
    }
}

/// One namespace to read: what it is called, where its sockets come from, and how a person
/// reaches it.
pub(super) struct Target {
    pub label: Option<NetnsLabel>,
    pub source: Source,
    /// Its processes, ascending (for the next steps: a holder among them, the steadiest).
    pub members: Vec<u32>,
    /// A bind mount of it (`/run/netns`, `/run/docker/netns`, a `--netns` path).
    pub mount: Option<PathBuf>,
}

/// Namespaces whose sock_diag sockets are open at the same time: one entering thread per this
/// many namespaces, and never near the open-file limit.
pub(super) const OPEN_AT_ONCE: usize = 256;

/// Opens the sock_diag socket of every namespace of `chunk` from one thread. A namespace it
/// cannot enter is left to the source, which tries again and falls back or says why.
pub(super) fn open_sockets(chunk: &mut [Target]) {
    let paths: Vec<&Path> = chunk.iter().filter_map(|t| t.source.netns_path()).collect();
    if paths.is_empty() {
        return;
    }
    let mut opened = netns::open_many(&paths).into_iter();
    for t in chunk.iter_mut() {
        if t.source.netns_path().is_some() {
            t.source.set_socket(opened.next());
        }
    }
}

/// The namespaces to read, labelled, with what discovery could not see.
pub(super) fn resolve(scope: &Scope) -> Result<(Vec<Target>, Sweep), Error> {
    let selector = match &scope.namespaces {
        Namespaces::Own => {
            let own = Target {
                label: None,
                source: scope.source.clone(),
                members: Vec::new(),
                mount: None,
            };
            return Ok((vec![own], Sweep::default()));
        }
        Namespaces::All => None,
        Namespaces::One(s) => Some(s.as_str()),
    };
    let proc_root = scope.source.root();
    let found = netns::discover(proc_root, &scope.host_root).map_err(|e| Error::Read {
        path: proc_root.to_path_buf(),
        source: e,
    })?;
    let mut sweep = Sweep {
        processes: found.processes,
        processes_unreadable: found.processes_unreadable,
        processes_vanished: found.processes_vanished,
        ..Sweep::default()
    };
    // This process's own namespace needs no setns (which an ordinary user may not do).
    let own = (proc_root == Path::new("/proc"))
        .then(|| std::fs::read_link("/proc/self/ns/net").ok())
        .flatten()
        .and_then(|t| netns::parse_id(&t.to_string_lossy()));
    let mut namer = Namer::new(proc_root, &scope.host_root);
    let mut labelled: Vec<(NetnsLabel, Namespace)> = found
        .namespaces
        .into_iter()
        .map(|ns| (namer.label(&ns), ns))
        .collect();
    if let Some(selector) = selector {
        let chosen = select(selector, &labelled, proc_root)?;
        labelled = match chosen {
            Chosen::Index(i) => vec![labelled.swap_remove(i)],
            Chosen::File(ns) => vec![(namer.label(&ns), ns)],
        };
        sweep.processes_unreadable = 0;
        sweep.processes_vanished = 0;
    }
    let targets = labelled
        .into_iter()
        .map(|(label, ns)| {
            let here = Some(ns.inode) == own && scope.source.pid().is_none();
            let mount = (!ns.path.starts_with(proc_root)).then(|| ns.path.clone());
            Target {
                source: if here {
                    scope.source.clone()
                } else {
                    scope.source.in_namespace(&ns)
                },
                label: Some(label),
                mount,
                members: ns.pids,
            }
        })
        .collect();
    Ok((targets, sweep))
}

enum Chosen {
    Index(usize),
    /// A namespace file discovery did not list (a bind mount elsewhere).
    File(Namespace),
}

/// `pid:N`, a namespace file path, or a name: `host`, a `/run/netns` name, a container name or
/// id prefix, `POD_NAMESPACE/POD`.
fn select(
    selector: &str,
    all: &[(NetnsLabel, Namespace)],
    proc_root: &Path,
) -> Result<Chosen, Error> {
    let none = |what: String| Error::Usage(format!("--netns '{selector}': {what}"));
    if let Some(pid) = selector.strip_prefix("pid:") {
        let pid: u32 = pid
            .parse()
            .map_err(|_| none("expected pid:N with N a process id".into()))?;
        return all
            .iter()
            .position(|(_, ns)| ns.pids.contains(&pid))
            .map(Chosen::Index)
            .ok_or_else(|| {
                none(format!(
                    "no process {pid} under '{}' whose namespace can be read",
                    proc_root.display()
                ))
            });
    }
    if selector.contains('/') && Path::new(selector).exists() {
        let ns = Namespace::from_file(Path::new(selector)).map_err(|e| Error::Read {
            path: selector.into(),
            source: e,
        })?;
        return Ok(match all.iter().position(|(_, n)| n.inode == ns.inode) {
            Some(i) => Chosen::Index(i),
            None => Chosen::File(ns),
        });
    }
    let matches: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, (label, _))| matches(label, selector))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Ok(Chosen::Index(*one)),
        [] => Err(none(
            "no namespace of that name (a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, host, a path or pid:N); see sockscope --all-netns".into(),
        )),
        many => Err(none(format!(
            "matches {} namespaces: {}",
            many.len(),
            many.iter()
                .map(|&i| all[i].0.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn matches(label: &NetnsLabel, selector: &str) -> bool {
    if label.name() == selector
        || label.id() == selector
        || label.names.iter().any(|n| n == selector)
    {
        return true;
    }
    if let Some(c) = &label.container
        && (c.name.as_deref() == Some(selector)
            || selector.len() >= 4 && c.id.starts_with(selector))
    {
        return true;
    }
    label.pod.as_ref().is_some_and(|p| {
        p.display() == selector || p.name.as_deref() == Some(selector) || p.uid == selector
    })
}

/// The context of a namespace with no process: its `/proc/PID/net` files cannot be reached.
pub(super) fn context_unreachable() -> KernelContext {
    KernelContext {
        missing: vec![(
            "/proc/PID/net".into(),
            "the namespace has no process to read its counters through".into(),
        )],
        ..KernelContext::default()
    }
}
