//! The JSON document (schema 1). Built from dedicated view structs so the wire format is
//! explicit and stable: fields may be added, none renamed or removed without a new schema.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::{Family, Tally, TcpState};
use crate::report::{Finding, Report};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    collected_at: String,
    total: u64,
    states: States<'a>,
    families: Families<'a>,
    findings: &'a [Finding],
    collection: CollectionView<'a>,
}

/// All eleven states, zeros included, in kernel code order. `family: None` sums both.
struct States<'a> {
    tally: &'a Tally,
    family: Option<Family>,
}

impl Serialize for States<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(TcpState::KNOWN.len()))?;
        for state in TcpState::KNOWN {
            let n = match self.family {
                Some(f) => self.tally.get(f, state),
                None => self.tally.state_total(state),
            };
            map.serialize_entry(state.name(), &n)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Families<'a> {
    ipv4: States<'a>,
    ipv6: States<'a>,
}

#[derive(Serialize)]
struct CollectionView<'a> {
    source: &'a str,
    proc_root: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    netns: Option<&'a str>,
    duration_ms: f64,
    /// Sockets parsed, before filters.
    sockets_seen: u64,
    /// Sockets counted in `total`, after filters.
    sockets_matched: u64,
    filter: Option<&'a str>,
    skipped_lines: u64,
    /// Sockets in state codes this version does not know, by family then hex code.
    unknown_states: BTreeMap<&'static str, BTreeMap<String, u64>>,
    files: Vec<FileView<'a>>,
    /// The first skipped lines, with why.
    skipped: Vec<SkippedView<'a>>,
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

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let c = &report.collection;
    let mut unknown_states: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    for (family, code, n) in report.tally.unknown() {
        unknown_states
            .entry(family.key())
            .or_default()
            .insert(format!("{code:#04X}"), n);
    }
    let document = Document {
        schema_version: SCHEMA_VERSION,
        collected_at: humantime::format_rfc3339_seconds(report.collected_at).to_string(),
        total: report.tally.total(),
        states: States {
            tally: &report.tally,
            family: None,
        },
        families: Families {
            ipv4: States {
                tally: &report.tally,
                family: Some(Family::Ipv4),
            },
            ipv6: States {
                tally: &report.tally,
                family: Some(Family::Ipv6),
            },
        },
        findings: &report.findings,
        collection: CollectionView {
            source: c.source,
            proc_root: &c.proc_root,
            pid: c.pid,
            netns: c.netns.as_deref(),
            duration_ms: (c.duration.as_secs_f64() * 1e6).round() / 1e3,
            sockets_seen: c.sockets_seen,
            sockets_matched: report.tally.total(),
            filter: Some(report.filter.as_str()).filter(|f| !f.is_empty()),
            skipped_lines: c.skipped_lines,
            unknown_states,
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
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::from)?;
    writeln!(out)
}
