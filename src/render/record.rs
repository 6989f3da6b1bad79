//! A `watch` refresh when not on a terminal: one record per line for logs and `tee`. Plain:
//! `2026-11-29T23:55:11.250Z total=600(+4) LISTEN=2 ESTABLISHED=400(+2) CLOSE_WAIT=66(+2)`, then
//! while destroy events are followed `closed=149.1/s failed=0.0/s lifetime_median_ms=4`; JSON:
//! the summary's document on one line, plus `delta`.

use std::io::{self, Write};

use super::{Format, Style};
use crate::model::{StateCounts, TcpState};
use crate::report::watch::{Record, diff};

pub fn write(
    record: &Record,
    format: Format,
    _style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Plain => plain(record, out),
        Format::Json => super::document::document(record.report, None, &[])
            .with_delta(record.previous, &record.report.tally.both())
            .collected_at_millis(record.report.collected_at)
            .write_line(out),
        other => Err(super::unsupported(other, "a watch record")),
    }
}

/// `COUNT` and, when it changed since `before`, the signed change: `66(+2)`, `0(-5)`.
fn count(now: u64, before: Option<u64>) -> String {
    match before.map(|b| diff(now, b)) {
        Some(d) if d != 0 => format!("{now}({d:+})"),
        _ => now.to_string(),
    }
}

/// The timestamp, the total, every state that is non-zero or just dropped to zero (so the drop
/// is logged), in lifecycle order, then the ids of the findings, most severe first (in a
/// sweep, `id@namespace`).
fn plain(record: &Record, out: &mut dyn Write) -> io::Result<()> {
    let report = record.report;
    let previous = record.previous;
    let now = report.tally.both();
    let mut fields = vec![
        super::json::timestamp_millis(report.collected_at),
        format!(
            "total={}",
            count(now.total(), previous.map(StateCounts::total))
        ),
    ];
    for state in TcpState::LIFECYCLE {
        let (n, before) = (now.get(state), previous.map(|p| p.get(state)));
        if n > 0 || before.is_some_and(|b| b > 0) {
            fields.push(format!("{}={}", state.name(), count(n, before)));
        }
    }
    let unknown = now.unknown_total();
    let unknown_before = previous.map(StateCounts::unknown_total);
    if unknown > 0 || unknown_before.is_some_and(|b| b > 0) {
        fields.push(format!("UNKNOWN={}", count(unknown, unknown_before)));
    }
    if let Some(f) = report.flows.as_deref()
        && matches!(f.following, crate::report::flows::Following::Yes { .. })
    {
        let t = &f.totals;
        fields.push(format!("closed={:.1}/s", t.closed_per_s));
        fields.push(format!("failed={:.1}/s", t.failed_per_s));
        if let Some(ms) = t.median_ms {
            fields.push(format!("lifetime_median_ms={ms:.0}"));
        }
        if t.lost > 0 {
            fields.push(format!("lost={}", t.lost));
        }
    }
    if !report.findings.is_empty() {
        // In a sweep, each with its namespace: `close_wait_excess@web-frontend`.
        let ids: Vec<String> = report
            .findings
            .iter()
            .map(|f| match &f.namespace {
                Some(ns) => format!("{}@{}", f.id, super::escape::for_field(ns)),
                None => f.id.to_string(),
            })
            .collect();
        fields.push(format!("findings={}", ids.join(",")));
    }
    writeln!(out, "{}", fields.join(" "))
}
