//! The JSON vocabulary every document shares (schema 1): counts of all eleven states, the
//! `collection` object, a namespace of a sweep. Dedicated view structs keep the wire format
//! explicit and stable: fields may be added, none renamed or removed without a new schema.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::{Family, StateCounts, TcpState};
use crate::report::{
    Attribution, Collection, ContainerRef, NamespaceReport, NetnsLabel, PodRef, SummaryReport,
    Sweep,
};

pub const SCHEMA_VERSION: u32 = 1;

/// All eleven states, zeros included, in kernel code order: the one way counts are written.
pub(crate) struct States<'a>(pub &'a StateCounts);

impl Serialize for States<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(TcpState::KNOWN.len()))?;
        for state in TcpState::KNOWN {
            map.serialize_entry(state.name(), &self.0.get(state))?;
        }
        map.end()
    }
}

/// Both families' counts, added up for the document (and for each namespace's).
pub(crate) struct BothFamilies(pub StateCounts);

impl Serialize for BothFamilies {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        States(&self.0).serialize(serializer)
    }
}

#[derive(Serialize)]
pub(crate) struct Families<'a> {
    pub ipv4: States<'a>,
    pub ipv6: States<'a>,
}

#[derive(Serialize)]
pub(crate) struct CollectionView<'a> {
    source: &'a str,
    /// Why /proc was read where netlink is the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    source_reason: Option<&'a str>,
    proc_root: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    netns: Option<&'a str>,
    duration_ms: f64,
    /// Sockets parsed, before filters.
    sockets_seen: u64,
    /// Only the filtered states were asked of sock_diag: `sockets_seen` counts those.
    states_filtered_in_kernel: bool,
    /// Sockets counted in `total`, after filters.
    sockets_matched: u64,
    filter: Option<&'a str>,
    skipped_lines: u64,
    /// Socket lines repeating the socket of the line before them (counted all the same); left
    /// out when there are none, as in every table a kernel writes.
    #[serde(skip_serializing_if = "is_zero")]
    repeated_lines: u64,
    /// Sockets in state codes this version does not know, by family then hex code.
    #[serde(skip_serializing_if = "Option::is_none")]
    unknown_states: Option<BTreeMap<&'static str, BTreeMap<String, u64>>>,
    files: Vec<FileView<'a>>,
    /// The first skipped lines, with why.
    skipped: Vec<SkippedView<'a>>,
    /// Who holds the sockets, when the command looked.
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<AttributionView<'a>>,
    /// What the diagnostics could not check, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnostics: Option<DiagnosticsView<'a>>,
    /// A sweep's namespaces: how many were read, which could not be, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<SweepView<'a>>,
}

#[derive(Serialize)]
struct DiagnosticsView<'a> {
    rules_checked: usize,
    rules_skipped: Vec<Reason<'a>>,
    /// Rules that ran on a weaker input than they need, and what they may have missed.
    rules_limited: Vec<Reason<'a>>,
    context_missing: Vec<Reason<'a>>,
    /// `looked_up`, `not_needed` (no finding wanted any) or `skipped` (`--no-processes`).
    processes: &'static str,
}

#[derive(Serialize)]
struct Reason<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a Path>,
    reason: &'a str,
}

#[derive(Serialize)]
struct AttributionView<'a> {
    sockets: u64,
    attributed: u64,
    /// Inode 0: orphaned, mini-sockets and accept-queue children; no process can hold them.
    no_process: u64,
    /// Real sockets whose holder was not found.
    unknown: u64,
    /// Held by more than one process.
    shared: u64,
    processes_scanned: u64,
    processes_unreadable: u64,
    processes_vanished: u64,
    /// Not read: the lookup ran out of file descriptors (EMFILE).
    processes_out_of_fds: u64,
    fds_unreadable: u64,
    hidepid: Option<&'a str>,
    notes: Vec<String>,
}

impl<'a> CollectionView<'a> {
    pub(crate) fn new(
        c: &'a Collection,
        matched: u64,
        filter: &'a str,
        attribution: Option<&'a Attribution>,
    ) -> CollectionView<'a> {
        CollectionView {
            source: c.source,
            source_reason: c.source_reason.as_deref(),
            proc_root: &c.proc_root,
            pid: c.pid,
            netns: c.netns.as_deref(),
            duration_ms: (c.duration.as_secs_f64() * 1e6).round() / 1e3,
            sockets_seen: c.sockets_seen,
            states_filtered_in_kernel: c.states_filtered_in_kernel,
            sockets_matched: matched,
            filter: Some(filter).filter(|f| !f.is_empty()),
            skipped_lines: c.skipped_lines,
            repeated_lines: c.repeated_lines,
            unknown_states: None,
            files: c
                .files
                .iter()
                .map(|f| FileView {
                    path: &f.path,
                    family: f.family.key(),
                    present: f.present,
                    read: f.read,
                    sockets: f.sockets,
                    skipped_lines: f.skipped,
                })
                .collect(),
            skipped: c
                .skipped
                .iter()
                .map(|s| SkippedView {
                    path: &s.path,
                    line: s.line,
                    reason: s.why.to_string(),
                })
                .collect(),
            diagnostics: None,
            namespaces: None,
            attribution: attribution.map(|a| AttributionView {
                sockets: a.sockets,
                attributed: a.attributed,
                no_process: a.no_process,
                unknown: a.unknown,
                shared: a.shared,
                processes_scanned: a.walk.processes_scanned,
                processes_unreadable: a.walk.processes_unreadable,
                processes_vanished: a.walk.processes_vanished,
                processes_out_of_fds: a.walk.processes_out_of_fds,
                fds_unreadable: a.walk.fds_unreadable,
                hidepid: a.walk.hidepid.as_deref(),
                notes: super::attribution::notes(a),
            }),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Writes a document as pretty JSON and a final newline.
pub(crate) fn write(out: &mut dyn Write, document: &impl Serialize) -> io::Result<()> {
    let formatter = super::escape::SafeJson(serde_json::ser::PrettyFormatter::new());
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
    document
        .serialize(&mut serializer)
        .map_err(io::Error::from)?;
    writeln!(out)
}

#[derive(Serialize)]
struct FileView<'a> {
    path: &'a Path,
    family: &'static str,
    present: bool,
    read: bool,
    sockets: u64,
    skipped_lines: u64,
}

#[derive(Serialize)]
struct SkippedView<'a> {
    path: &'a Path,
    line: u64,
    reason: String,
}

/// The `collection` object of the summary's document: how the sockets were read, what the
/// rules could not check, and a sweep's namespaces.
pub(crate) fn summary_collection(report: &SummaryReport) -> CollectionView<'_> {
    let mut unknown_states: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    for (family, code, n) in report.tally.unknown() {
        unknown_states
            .entry(family.key())
            .or_default()
            .insert(format!("{code:#04X}"), n);
    }
    let d = &report.checks;
    let mut collection = CollectionView::new(
        &report.collection,
        report.tally.total(),
        &report.filter,
        d.attribution.as_ref(),
    );
    collection.unknown_states = Some(unknown_states);
    collection.diagnostics = d.ran.then(|| DiagnosticsView {
        rules_checked: d.rules - d.skipped.len(),
        rules_skipped: d
            .skipped
            .iter()
            .map(|(id, why)| Reason {
                id: Some(id),
                path: None,
                reason: why,
            })
            .collect(),
        rules_limited: d
            .limited
            .iter()
            .map(|(id, what)| Reason {
                id: Some(id),
                path: None,
                reason: what,
            })
            .collect(),
        context_missing: d
            .context_missing
            .iter()
            .map(|(path, why)| Reason {
                id: None,
                path: Some(path),
                reason: why,
            })
            .collect(),
        processes: if d.processes_skipped {
            "skipped"
        } else if d.attribution.is_some() {
            "looked_up"
        } else {
            "not_needed"
        },
    });
    collection.namespaces = report.sweep.as_deref().map(sweep_view);
    collection
}

pub(crate) fn timestamp(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// To the millisecond (`2026-11-29T12:00:00.250Z`): `watch` records, which come faster than
/// once a second at `-n 0.25`.
pub(crate) fn timestamp_millis(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// A namespace in the JSON document.
#[derive(Serialize)]
pub(crate) struct NamespaceView<'a> {
    netns: NetnsId,
    kind: &'static str,
    container: Option<&'a ContainerRef>,
    pod: Option<&'a PodRef>,
    names: &'a [String],
    total: u64,
    states: BothFamilies,
    families: Families<'a>,
    findings: Vec<super::finding_view::FindingView<'a>>,
    collection: CollectionView<'a>,
}

#[derive(Serialize)]
struct NetnsId {
    inode: u64,
    id: String,
}

/// A namespace that could not be read, and why.
#[derive(Serialize)]
pub(crate) struct UnopenedView<'a> {
    netns: NetnsId,
    kind: &'static str,
    container: Option<&'a ContainerRef>,
    pod: Option<&'a PodRef>,
    names: &'a [String],
    reason: &'a str,
}

/// The sweep's own facts, in `collection.namespaces`.
#[derive(Serialize)]
pub(crate) struct SweepView<'a> {
    read: usize,
    unopened: Vec<UnopenedView<'a>>,
    processes_scanned: u64,
    processes_unreadable: u64,
    processes_vanished: u64,
}

fn netns_id(label: &NetnsLabel) -> NetnsId {
    NetnsId {
        inode: label.inode,
        id: label.id(),
    }
}

pub(crate) fn views(sweep: &Sweep) -> Vec<NamespaceView<'_>> {
    sweep.namespaces.iter().map(view).collect()
}

fn view(n: &NamespaceReport) -> NamespaceView<'_> {
    let r = &n.report;
    NamespaceView {
        netns: netns_id(&n.label),
        kind: n.label.kind.word(),
        container: n.label.container.as_ref(),
        pod: n.label.pod.as_ref(),
        names: &n.label.names,
        total: r.tally.total(),
        states: BothFamilies(r.tally.both()),
        families: Families {
            ipv4: States(r.tally.family(Family::Ipv4)),
            ipv6: States(r.tally.family(Family::Ipv6)),
        },
        findings: super::finding_view::FindingView::all(&r.findings),
        collection: CollectionView::new(&r.collection, r.tally.total(), &r.filter, None),
    }
}

pub(crate) fn sweep_view(sweep: &Sweep) -> SweepView<'_> {
    SweepView {
        read: sweep.namespaces.len(),
        unopened: sweep
            .unopened
            .iter()
            .map(|u| UnopenedView {
                netns: netns_id(&u.label),
                kind: u.label.kind.word(),
                container: u.label.container.as_ref(),
                pod: u.label.pod.as_ref(),
                names: &u.label.names,
                reason: &u.why,
            })
            .collect(),
        processes_scanned: sweep.processes,
        processes_unreadable: sweep.processes_unreadable,
        processes_vanished: sweep.processes_vanished,
    }
}
