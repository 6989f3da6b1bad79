//! The JSON document (schema 1). Built from dedicated view structs so the wire format is
//! explicit and stable: fields may be added, none renamed or removed without a new schema.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::{Family, StateCounts, TcpState};
use crate::report::Attribution;
use crate::report::Collection;
use crate::report::{CheckReport, Status, SummaryReport};

use super::finding_view::FindingView;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    /// `ok`, `warning`, `critical` (only from `check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<u8>,
    /// `check`'s notes about its state file (first run, reboot, counter resets).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    collected_at: String,
    total: u64,
    states: BothFamilies,
    families: Families<'a>,
    findings: Vec<FindingView<'a>>,
    collection: CollectionView<'a>,
    /// `watch`: each state's change since the previous record (`null` on the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<Option<Deltas>>,
    /// `--all-netns`, `--netns`: every namespace on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<Vec<super::namespaces::NamespaceView<'a>>>,
}

/// Signed changes of all eleven states, in the order [`States`] writes them.
struct Deltas([i64; 11]);

impl Serialize for Deltas {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(TcpState::KNOWN.len()))?;
        for (state, d) in TcpState::KNOWN.iter().zip(self.0) {
            map.serialize_entry(state.name(), &d)?;
        }
        map.end()
    }
}

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
    namespaces: Option<super::namespaces::SweepView<'a>>,
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

pub fn render(report: &SummaryReport, out: &mut dyn Write) -> io::Result<()> {
    write(out, &document(report, None, &[]))
}

/// `watch` when not on a terminal: the summary document on one line, plus `delta`, the change
/// of each state since `previous` (the record before; `null` for the first).
pub fn render_line(
    report: &SummaryReport,
    previous: Option<&StateCounts>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut doc = document(report, None, &[]);
    let now = report.tally.both();
    doc.delta = Some(previous.map(|p| Deltas(crate::report::watch::deltas(&now, p))));
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::from)?;
    writeln!(out)
}

/// `check --format json`: the summary document, plus `status`, `exit_code` and the notes.
pub fn render_check(check: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    write(
        out,
        &document(&check.summary, Some(check.status), &check.notes),
    )
}

/// A failed `check`: the status and why.
pub fn render_unknown(message: &str, out: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Unknown<'a> {
        schema_version: u32,
        status: &'static str,
        exit_code: u8,
        error: &'a str,
    }
    write(
        out,
        &Unknown {
            schema_version: SCHEMA_VERSION,
            status: "unknown",
            exit_code: Status::Unknown.code(),
            error: message,
        },
    )
}

/// The summary document, plus `status` and `exit_code` for `check`.
fn document<'a>(
    report: &'a SummaryReport,
    status: Option<Status>,
    notes: &'a [String],
) -> Document<'a> {
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
    collection.namespaces = report.sweep.as_deref().map(super::namespaces::sweep_view);
    Document {
        schema_version: SCHEMA_VERSION,
        status: status.map(|s| s.word().to_lowercase()),
        exit_code: status.map(|s| s.code()),
        notes,
        collected_at: timestamp(report.collected_at),
        total: report.tally.total(),
        states: BothFamilies(report.tally.both()),
        families: Families {
            ipv4: States(report.tally.family(Family::Ipv4)),
            ipv6: States(report.tally.family(Family::Ipv6)),
        },
        findings: FindingView::all(&report.findings),
        collection,
        delta: None,
        namespaces: report.sweep.as_deref().map(super::namespaces::views),
    }
}

pub(crate) fn timestamp(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}
