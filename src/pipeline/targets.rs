//! Which namespaces an analysis reads: this process's own (the classic run), every one on the
//! host (`--all-netns`), or the one a `--netns` selector names; each with its label.

use std::path::{Path, PathBuf};

use super::Scope;
use crate::collect::context::PerNetns;
use crate::collect::names::Namer;
use crate::collect::netns::{self, Errand, Namespace};
use crate::collect::{Source, nsfs};
use crate::error::Error;
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

/// One namespace to read: what it is called, where its sockets come from, how a person
/// reaches it, and its own sysctls once read from inside it.
pub(super) struct Target {
    pub label: Option<NetnsLabel>,
    pub source: Source,
    /// Its namespace file and inode, when it is not this process's own namespace (entered to
    /// open its sock_diag socket and read its sysctls).
    pub file: Option<(PathBuf, u64)>,
    /// Its processes, ascending (for the next steps: a holder among them, the steadiest).
    pub members: Vec<u32>,
    /// A bind mount of it (`/run/netns`, `/run/docker/netns`, a `--netns` path).
    pub mount: Option<PathBuf>,
    /// Where its own sysctls come from.
    pub per_netns: PerNetns,
}

/// How many namespaces the entering thread may be ahead of the reading one: each holds an
/// open sock_diag socket until it is read, so never near the open-file limit.
const AHEAD: usize = 64;

/// Reads every target, in order, with `read`: one thread enters the namespaces in turn, opens
/// each one's sock_diag socket and, for the rules (`sysctls`: the proc root), reads its own
/// sysctls, while `read` reads the namespace entered before. A namespace it cannot enter is
/// left to the source, which tries again and falls back or says why. `read` returns whether to
/// go on.
pub(super) fn visit(
    targets: &mut [Target],
    sysctls: Option<&Path>,
    mut read: impl FnMut(&mut Target) -> bool,
) {
    let wanted: Vec<(usize, PathBuf, bool)> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let (path, _) = t.file.as_ref()?;
            let socket = t.source.netns_path().is_some();
            (socket || sysctls.is_some()).then(|| (i, path.clone(), socket))
        })
        .collect();
    let errands: Vec<Errand> = wanted
        .iter()
        .map(|(_, path, socket)| Errand {
            path,
            socket: *socket,
            sysctls,
        })
        .collect();
    let mut done = 0;
    let mut going = true;
    netns::visit_many(&errands, AHEAD, |k, visit| {
        let at = wanted[k].0;
        // The namespaces before it that need no visit (this process's own) come first.
        for t in &mut targets[done..at] {
            going = going && read(t);
        }
        let target = &mut targets[at];
        let listed = target.file.as_ref().map_or(0, |(_, inode)| *inode);
        match visit {
            Ok(mut visit) => {
                if errands[k].socket {
                    target.source.set_socket(visit.entered());
                }
                if let Some(inside) = visit.sysctls.take() {
                    target.per_netns = match nsfs::Moved::check(listed, visit.inode) {
                        Ok(()) => PerNetns::Read(inside),
                        Err(e) => PerNetns::Unknown(Some(e.to_string())),
                    };
                }
            }
            Err(e) => {
                target.per_netns = PerNetns::Unknown(Some(cannot_enter(&e)));
                if errands[k].socket {
                    target.source.set_socket(Some(Err(e)));
                }
            }
        }
        done = at + 1;
        going = going && read(target);
        going
    });
    for t in &mut targets[done..] {
        if !going {
            return;
        }
        going = read(t);
    }
}

/// Why a namespace's own sysctls are unknown when it could not be entered.
fn cannot_enter(e: &std::io::Error) -> String {
    let why = crate::error::Cause(e).to_string();
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        format!(
            "each network namespace has its own, readable only from inside it, and entering this one was refused ({why}): run as root"
        )
    } else {
        format!(
            "each network namespace has its own, readable only from inside it, and this one could not be entered ({why})"
        )
    }
}

/// The namespaces to read, labelled, with what discovery could not see.
pub(super) fn resolve(scope: &Scope) -> Result<(Vec<Target>, Sweep), Error> {
    let selector = match &scope.namespaces {
        Namespaces::Own => {
            let own = Target {
                label: None,
                source: scope.source.clone(),
                file: None,
                members: Vec::new(),
                mount: None,
                per_netns: if scope.source.pid().is_some() {
                    PerNetns::Unknown(None)
                } else {
                    PerNetns::Here
                },
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
                file: (!here).then(|| (ns.path.clone(), ns.inode)),
                mount,
                per_netns: if here {
                    PerNetns::Here
                } else {
                    PerNetns::Unknown(Some("not read".into()))
                },
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
    // A path that cannot even be looked at (another user's /proc/PID/ns/net) is tried, so the
    // error says why, rather than taken for a name nothing matches.
    if selector.contains('/') && Path::new(selector).try_exists().unwrap_or(true) {
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
