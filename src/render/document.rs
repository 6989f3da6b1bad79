//! The summary's JSON document: the counts, the findings and how they were collected; with
//! `check` its status and notes; as a `watch` record, the change since the record before.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::finding_view::FindingView;
use super::flows_json::FlowsView;
use super::json::{
    BothFamilies, CollectionView, Families, NamespaceView, States, summary_collection, timestamp,
    views,
};

/// The summary's and check's documents: 2 since findings' `evidence` became a list of
/// `{kind, text, …}` (it was one object of numbers, now the list's `counts` item).
pub const SCHEMA_VERSION: u32 = 2;
use crate::model::{Family, StateCounts, TcpState};
use crate::report::{Status, SummaryReport};

#[derive(Serialize)]
pub(crate) struct Document<'a> {
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
    namespaces: Option<Vec<NamespaceView<'a>>>,
    /// Connections over time from the kernel's destroy events (`watch`, `--follow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    flows: Option<FlowsView<'a>>,
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

/// The summary document, plus `status`, `exit_code` and the notes for `check`.
pub(crate) fn document<'a>(
    report: &'a SummaryReport,
    status: Option<Status>,
    notes: &'a [String],
) -> Document<'a> {
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
        collection: summary_collection(report),
        delta: None,
        namespaces: report.sweep.as_deref().map(views),
        flows: report.flows.as_deref().map(super::flows_json::view),
    }
}

impl Document<'_> {
    /// The same document as a `watch` record: with `delta`, each state's change since
    /// `previous` (`null` for the first record).
    pub(crate) fn with_delta(mut self, previous: Option<&StateCounts>, now: &StateCounts) -> Self {
        self.delta = Some(previous.map(|p| Deltas(crate::report::watch::deltas(now, p))));
        self
    }

    /// `collected_at` to the millisecond, for records that may come faster than once a second.
    pub(crate) fn collected_at_millis(mut self, at: std::time::SystemTime) -> Self {
        self.collected_at = super::json::timestamp_millis(at);
        self
    }

    /// Pretty-printed, for a file or a terminal.
    pub(crate) fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        super::json::write(out, self)
    }

    /// On one line, for a stream of records; escaped as the pretty document is (a name with
    /// a bidi override or an escape sequence never reaches a terminal raw).
    pub(crate) fn write_line(&self, out: &mut dyn Write) -> io::Result<()> {
        let formatter = super::escape::SafeJson(serde_json::ser::CompactFormatter);
        let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
        self.serialize(&mut serializer).map_err(io::Error::from)?;
        writeln!(out)
    }
}
