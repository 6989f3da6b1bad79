//! A sweep's namespaces for people: how each is named in a sentence, one table row per
//! namespace (name, kind, total, the states that matter), and what could not be read. The
//! JSON `namespaces` objects are `json`'s.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment};

use super::escape::for_terminal;
use super::{Style, bold, count};
use crate::model::TcpState;
use crate::report::{Finding, NetnsKind, NetnsLabel, SummaryReport, Sweep};

/// The states an operator reads per namespace (CLOSED, CLOSING and unknown codes are in the
/// host-wide table and the JSON).
const COLUMNS: [TcpState; 9] = [
    TcpState::Established,
    TcpState::Listen,
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::CloseWait,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::LastAck,
    TcpState::TimeWait,
];

/// How a namespace is named in a sentence: `docker container web`, `pod default/api`,
/// `host`, `netns blue`, `net:[4026532301] (pid 77 sleep)`. Raw, as names come: escaped where
/// it is printed.
pub fn describe(label: &NetnsLabel) -> String {
    let name = label.name();
    if label.pod.is_some() {
        return format!("pod {name}");
    }
    if let Some(c) = &label.container {
        return format!("{} container {name}", c.runtime);
    }
    if !label.names.is_empty() {
        return format!("netns {name}");
    }
    match (&label.sample, label.kind) {
        (_, NetnsKind::Host) => name,
        (Some((pid, comm)), _) => format!("{name} (pid {pid} {comm})"),
        (None, _) => name,
    }
}

/// The namespace a finding belongs to, in words; `None` outside a sweep.
pub fn where_found(report: &SummaryReport, finding: &Finding) -> Option<String> {
    let name = finding.namespace.as_deref()?;
    let sweep = report.sweep.as_deref()?;
    Some(
        sweep
            .namespaces
            .iter()
            .find(|n| n.label.name() == name)
            .map_or_else(|| name.to_string(), |n| describe(&n.label)),
    )
}

/// Namespaces not read that are named one by one; the rest are counted, so a Nagios line or a
/// cron mail stays readable on a host with a thousand.
const UNREAD_NAMED: usize = 10;

/// `1 of 8 network namespaces`: how many of those found could not be read.
pub fn unread_count(sweep: &Sweep) -> String {
    let found = sweep.namespaces.len() + sweep.unopened.len();
    format!(
        "{} of {found} network namespace{}",
        sweep.unopened.len(),
        if found == 1 { "" } else { "s" }
    )
}

/// The namespaces not read, by name: `podman container db, netns blue and 3 more`. Raw:
/// escape before printing.
pub fn unread_names(sweep: &Sweep) -> String {
    let mut names: Vec<String> = sweep
        .unopened
        .iter()
        .take(UNREAD_NAMED)
        .map(|u| describe(&u.label))
        .collect();
    let more = sweep.unopened.len().saturating_sub(UNREAD_NAMED);
    if more > 0 {
        names.push(format!("{more} more"));
    }
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// Each namespace not read (the first [`UNREAD_NAMED`]) and why: `podman container db: cannot
/// read …`. Raw: escape before printing.
pub fn unread_reasons(sweep: &Sweep) -> Vec<String> {
    sweep
        .unopened
        .iter()
        .take(UNREAD_NAMED)
        .map(|u| format!("{}: {}", describe(&u.label), u.why))
        .collect()
}

/// `TCP sockets in 5 network namespaces: …` headline.
pub fn headline(report: &SummaryReport, sweep: &Sweep) -> String {
    let c = &report.collection;
    let n = sweep.namespaces.len();
    let from = match c.source {
        "netlink" => "netlink sock_diag",
        "proc" => "/proc/PID/net/tcp{,6}",
        _ => "netlink sock_diag and /proc",
    };
    format!(
        "TCP sockets in {n} network namespace{}: {} socket{} from {from} in {:.1} ms",
        if n == 1 { "" } else { "s" },
        c.sockets_seen,
        if c.sockets_seen == 1 { "" } else { "s" },
        c.duration.as_secs_f64() * 1e3
    )
}

/// One row per namespace, those with findings first; then what could not be read. A table
/// wider than the terminal leaves out the states no namespace has a socket in.
pub fn table(sweep: &Sweep, style: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    let mut text = rows(sweep, &COLUMNS, style);
    let widest = |t: &str| t.lines().map(textwrap::core::display_width).max();
    if let Some(width) = style.width
        && widest(&text).is_some_and(|w| w > usize::from(width))
    {
        let used: Vec<TcpState> = COLUMNS
            .into_iter()
            .filter(|&s| {
                sweep
                    .namespaces
                    .iter()
                    .any(|n| n.report.tally.state_total(s) > 0)
            })
            .collect();
        text = rows(sweep, &used, style);
        if used.len() < COLUMNS.len() {
            text.push_str("\n(states no namespace has a socket in are left out)");
        }
    }
    writeln!(out, "{text}")?;
    // Names and paths come from the system (a namespace file, a container name, an error
    // quoting them): escaped here, once.
    for line in notes(sweep) {
        let indent = if line.starts_with("  ") { "    " } else { "  " };
        writeln!(
            out,
            "{}",
            super::wrap(&for_terminal(&line), style, "", indent)
        )?;
    }
    Ok(())
}

/// The table with these state columns. Names and counts never break mid-word: on a narrow
/// terminal the table runs wider rather than turning `ESTABLISHED` into `ESTABLI/SHED`.
fn rows(sweep: &Sweep, states: &[TcpState], style: Style) -> String {
    let mut table = super::new_table(Style {
        width: None,
        ..style
    });
    let mut header = vec!["Namespace", "Kind", "Findings", "Total"];
    header.extend(states.iter().map(|s| s.name()));
    table.set_header(header.into_iter().map(|h| bold(Cell::new(h), style)));
    for n in &sweep.namespaces {
        let tally = &n.report.tally;
        let mut row = vec![
            Cell::new(for_terminal(&n.label.name())),
            Cell::new(n.label.kind.word()),
            Cell::new(n.report.findings.len()),
            count(tally.total(), style),
        ];
        row.extend(states.iter().map(|&s| count(tally.state_total(s), style)));
        table.add_row(row);
    }
    for column in 2..4 + states.len() {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// What the sweep could not see, and why. Raw: escape before printing.
pub fn notes(sweep: &Sweep) -> Vec<String> {
    let mut notes = Vec::new();
    for n in &sweep.namespaces {
        if let Some(why) = &n.report.collection.source_reason
            && n.report.collection.source == "proc"
        {
            notes.push(format!("{}: {}.", describe(&n.label), why));
        }
    }
    if !sweep.unopened.is_empty() {
        notes.push(format!(
            "{} namespace{} could not be read:",
            sweep.unopened.len(),
            if sweep.unopened.len() == 1 { "" } else { "s" }
        ));
        for u in &sweep.unopened {
            notes.push(format!("  {}: {}", describe(&u.label), u.why));
        }
    }
    notes.extend(hidden(sweep));
    notes
}

/// Processes whose namespace could not even be looked up: namespaces may be missing that no
/// count of unread ones can say. Raw: escape before printing.
pub fn hidden(sweep: &Sweep) -> Option<String> {
    (sweep.processes_unreadable > 0).then(|| format!(
        "The namespace of {} of {} processes could not be read (another user's, or shielded even from root); their namespaces are missing unless another process shares them.",
        sweep.processes_unreadable, sweep.processes
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Unopened;

    #[test]
    fn unread_namespaces_are_counted_and_the_first_named() {
        let unopened = |i: u64| Unopened {
            label: NetnsLabel {
                inode: 4026532000 + i,
                kind: NetnsKind::Named,
                container: None,
                pod: None,
                names: vec![format!("ns{i}")],
                sample: None,
            },
            why: "permission denied".into(),
        };
        let mut sweep = Sweep {
            unopened: (0..2).map(unopened).collect(),
            ..Sweep::default()
        };
        assert_eq!(unread_count(&sweep), "2 of 2 network namespaces");
        assert_eq!(unread_names(&sweep), "netns ns0 and netns ns1");
        sweep.unopened = (0..13).map(unopened).collect();
        assert!(
            unread_names(&sweep).ends_with(", netns ns9 and 3 more"),
            "{}",
            unread_names(&sweep)
        );
        assert_eq!(unread_reasons(&sweep).len(), UNREAD_NAMED);
        assert_eq!(unread_reasons(&sweep)[0], "netns ns0: permission denied");
    }

    #[test]
    fn names_and_reasons_from_the_system_reach_the_terminal_escaped_once() {
        let hostile = "x\x1b]0;pwned\x07\x1b[2J\ny";
        let label = NetnsLabel {
            inode: 4026532999,
            kind: NetnsKind::Named,
            container: None,
            pod: None,
            names: vec![hostile.to_string()],
            sample: Some((77, "evil\x1b[31m".to_string())),
        };
        let sweep = Sweep {
            unopened: vec![Unopened {
                label,
                why: format!("cannot enter '/run/netns/{hostile}': permission denied"),
            }],
            ..Sweep::default()
        };
        let mut out = Vec::new();
        table(&sweep, Style::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        // One escape, not two: the table shows \x1b, not \\x1b.
        assert!(text.contains("x\\x1b]0;pwned"), "{text}");
        assert!(!text.contains("\\\\x1b"), "{text}");
        // A newline in a name does not start a line of its own.
        assert_eq!(
            text.lines().filter(|l| l.contains("pwned")).count(),
            1,
            "{text}"
        );
    }
}
