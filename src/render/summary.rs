//! The summary: for people a table with one row per state in lifecycle order, IPv4 / IPv6 /
//! total, every state shown even at zero, under a line saying where the numbers came from,
//! then the findings; for scripts the JSON document, or `STATE COUNT` lines exactly like
//! `netstat -tan | awk '/^tcp/{++S[$NF]}END{for(a in S) print a,S[a]}'`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment};

use super::{bold, count};

use crate::model::{Family, TcpState};
use crate::report::SummaryReport;

use super::{Format, Style};

/// The summary in `format`: table, json or plain.
pub fn write(
    report: &SummaryReport,
    format: Format,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table(report, *style, out),
        Format::Json => super::document::document(report, None, &[]).write(out),
        Format::Plain => plain(report, out),
        other => Err(super::unsupported(other, "the summary")),
    }
}

fn table(report: &SummaryReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    match &report.sweep {
        Some(sweep) => writeln!(
            out,
            "{}",
            super::wrap(&super::sweep::headline(report, sweep), style, "", "  ")
        )?,
        None => writeln!(out, "{}", super::wrap(&headline(report), style, "", "  "))?,
    }

    let mut table = super::new_table(style);
    table.set_header(["State", "IPv4", "IPv6", "Total"].map(|h| bold(Cell::new(h), style)));

    let tally = &report.tally;
    for state in TcpState::LIFECYCLE {
        let v4 = tally.get(Family::Ipv4, state);
        let v6 = tally.get(Family::Ipv6, state);
        table.add_row([
            Cell::new(state.name()),
            count(v4, style),
            count(v6, style),
            count(v4 + v6, style),
        ]);
    }
    let mut unknown: BTreeMap<u8, [u64; 2]> = BTreeMap::new();
    for (family, code, n) in tally.unknown() {
        unknown.entry(code).or_default()[family.index()] += n;
    }
    for (code, [v4, v6]) in unknown {
        table.add_row([
            Cell::new(TcpState::Unknown(code).to_string()),
            count(v4, style),
            count(v6, style),
            count(v4 + v6, style),
        ]);
    }
    table.add_row([
        bold(Cell::new("Total"), style),
        bold(Cell::new(tally.family_total(Family::Ipv4)), style),
        bold(Cell::new(tally.family_total(Family::Ipv6)), style),
        bold(Cell::new(tally.total()), style),
    ]);
    for column in 1..4 {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "{table}")?;
    if let Some(sweep) = &report.sweep {
        super::sweep::table(sweep, style, out)?;
    }

    for note in super::notes(&report.filter, report.tally.total(), &report.collection) {
        writeln!(out, "{}", super::wrap(&note, style, "", "  "))?;
    }
    if report.checks.ran {
        super::findings::section(report, style, out)?;
    }
    Ok(())
}

/// `TCP sockets in net:[4026531840]: 27 sockets from /proc/net/tcp{,6} in 0.4 ms`
fn headline(report: &SummaryReport) -> String {
    let c = &report.collection;
    let netns = match (&c.netns, c.pid) {
        (Some(ns), Some(pid)) => format!("{ns} (pid {pid})"),
        (Some(ns), None) => ns.clone(),
        (None, _) => "an unknown network namespace (saved /proc)".to_string(),
    };
    let read: Vec<&crate::report::FileStats> = c.files.iter().filter(|f| f.read).collect();
    let from = match (
        c.source,
        read.as_slice(),
        read.first().and_then(|f| f.path.parent()),
    ) {
        ("netlink", _, _) => "netlink sock_diag".to_string(),
        (_, files, dir) => from_files(files, dir),
    };
    let plural = if c.sockets_seen == 1 { "" } else { "s" };
    format!(
        "TCP sockets in {netns}: {} socket{plural} from {from} in {:.1} ms",
        c.sockets_seen,
        c.duration.as_secs_f64() * 1e3
    )
}

fn from_files(read: &[&crate::report::FileStats], dir: Option<&std::path::Path>) -> String {
    match (read, dir) {
        ([_, _], Some(dir)) => format!("{}/tcp{{,6}}", dir.display()),
        _ => read
            .iter()
            .map(|f| f.path.display().to_string())
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

/// What plain output, which has no room for notes on stdout, says on stderr: the namespaces of
/// a sweep that could not be read, so a script's counts are not taken for the whole host.
pub fn plain_warnings(report: &SummaryReport) -> Vec<String> {
    let Some(sweep) = report.sweep.as_deref().filter(|s| !s.unopened.is_empty()) else {
        return Vec::new();
    };
    let n = sweep.unopened.len();
    let reasons = super::sweep::unread_reasons(sweep);
    let more = n - reasons.len();
    let mut text = format!(
        "{n} network namespace{} could not be read: {}",
        if n == 1 { "" } else { "s" },
        reasons.join("; ")
    );
    if more > 0 {
        text.push_str(&format!(
            "; and {more} more (the table and --json list them)"
        ));
    }
    vec![super::escape::for_terminal(&text).into_owned()]
}

/// Non-zero states only (awk never sees the others), in lifecycle order. Codes this build
/// does not know are summed as `UNKNOWN`, which is what netstat prints for them.
fn plain(report: &SummaryReport, out: &mut dyn Write) -> io::Result<()> {
    for state in TcpState::LIFECYCLE {
        let n = report.tally.state_total(state);
        if n > 0 {
            writeln!(out, "{} {n}", state.name())?;
        }
    }
    let unknown: u64 = report.tally.unknown().map(|(_, _, n)| n).sum();
    if unknown > 0 {
        writeln!(out, "UNKNOWN {unknown}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tally;
    use crate::report::Collection;
    use std::time::{Duration, SystemTime};

    fn report() -> SummaryReport {
        let mut tally = Tally::default();
        tally.add(Family::Ipv4, TcpState::CloseWait);
        SummaryReport {
            collected_at: SystemTime::UNIX_EPOCH,
            tally,
            filter: String::new(),
            findings: vec![],
            checks: Default::default(),
            collection: Collection {
                source: "proc",
                proc_root: "/proc".into(),
                netns: Some("net:[1]".into()),
                duration: Duration::from_millis(2),
                sockets_seen: 1,
                clock_ticks: 100,
                ..Default::default()
            },
            sweep: None,
            flows: None,
        }
    }

    fn rendered(style: Style) -> String {
        let mut out = Vec::new();
        table(&report(), style, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn piped_output_is_plain_ascii_without_escapes() {
        let text = rendered(Style::default());
        assert!(text.is_ascii(), "{text}");
        assert!(!text.contains('\x1b'));
        assert!(text.starts_with("TCP sockets in net:[1]: 1 socket from"));
    }

    #[test]
    fn terminal_output_draws_boxes_and_colours_only_when_asked() {
        let boxes = rendered(Style {
            unicode: true,
            color: false,
            width: None,
        });
        assert!(boxes.contains('╭') && !boxes.contains('\x1b'));
        let colour = rendered(Style {
            unicode: true,
            color: true,
            width: None,
        });
        assert!(colour.contains("\x1b["), "{colour}");
    }
}
