//! Network namespaces in a report: what each is called (host, container, pod, `/run/netns`
//! name), its own summary, and the ones that could not be opened, with why. Data only.

use serde::Serialize;

use super::SummaryReport;

/// What kind of thing holds a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NetnsKind {
    Host,
    /// A container of the runtime with this word (`docker`, `podman`, `containerd`, `crio`:
    /// the runtime entries of `collect::runtimes` decide).
    Container(&'static str),
    /// Only an iproute2 name (`ip netns add`).
    Named,
    Unknown,
}

impl NetnsKind {
    pub fn word(self) -> &'static str {
        match self {
            NetnsKind::Host => "host",
            NetnsKind::Container(runtime) => runtime,
            NetnsKind::Named => "named",
            NetnsKind::Unknown => "unknown",
        }
    }
}

/// As its word, as every format shows it.
impl Serialize for NetnsKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.word())
    }
}

/// A container, as its runtime knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ContainerRef {
    /// `docker`, `podman`, `containerd`, `crio`.
    pub runtime: &'static str,
    /// The full id (64 hex digits).
    pub id: String,
    /// Its name, when the runtime's state files say it.
    pub name: Option<String>,
}

impl ContainerRef {
    /// The name, or the id's first 12 digits as `docker ps` shows it.
    pub fn display(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.id.chars().take(12).collect(),
        }
    }
}

/// A Kubernetes pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PodRef {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub uid: String,
}

impl PodRef {
    /// `NAMESPACE/POD`, or `pod UID` when the kubelet's logs do not name it.
    pub fn display(&self) -> String {
        match (&self.namespace, &self.name) {
            (Some(ns), Some(name)) => format!("{ns}/{name}"),
            _ => format!("pod {}", self.uid),
        }
    }
}

/// What an operator calls a network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetnsLabel {
    pub inode: u64,
    pub kind: NetnsKind,
    pub container: Option<ContainerRef>,
    pub pod: Option<PodRef>,
    /// Its `/run/netns` names.
    pub names: Vec<String>,
    /// One process in it (pid, comm), to recognise an unnamed namespace by.
    pub sample: Option<(u32, String)>,
}

impl NetnsLabel {
    /// `net:[4026532001]`.
    pub fn id(&self) -> String {
        format!("net:[{}]", self.inode)
    }

    /// The one name to show: the pod, the container, the `/run/netns` name, `host`, or the id.
    pub fn name(&self) -> String {
        if let Some(pod) = &self.pod {
            return pod.display();
        }
        if let Some(c) = &self.container {
            return c.display();
        }
        if let Some(name) = self.names.first() {
            return name.clone();
        }
        if self.kind == NetnsKind::Host {
            return "host".to_string();
        }
        self.id()
    }
}

/// One namespace counted and diagnosed on its own.
#[derive(Debug, Clone)]
pub struct NamespaceReport {
    pub label: NetnsLabel,
    pub report: SummaryReport,
}

/// A namespace that could not be read, and why.
#[derive(Debug, Clone)]
pub struct Unopened {
    pub label: NetnsLabel,
    pub why: String,
}

/// Every namespace of a sweep (`--all-netns`, `--netns`).
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// Findings first, most severe first; then by name.
    pub namespaces: Vec<NamespaceReport>,
    pub unopened: Vec<Unopened>,
    /// Processes scanned for their namespace, and those refused or gone.
    pub processes: u64,
    pub processes_unreadable: u64,
    pub processes_vanished: u64,
}

impl Sweep {
    /// Namespaces with findings first, most severe first; then the host; then by name.
    pub fn sort(&mut self) {
        self.namespaces.sort_by_key(|n| {
            let worst = n.report.findings.iter().map(|f| f.severity).max();
            (
                std::cmp::Reverse(worst),
                n.label.kind != NetnsKind::Host,
                n.label.name(),
            )
        });
    }
}
