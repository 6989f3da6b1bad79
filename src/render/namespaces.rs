//! Network namespaces for people and scripts: one table row per namespace (name, kind, total,
//! the states that matter), what could not be read, and the JSON `namespaces` objects.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment};
use serde::Serialize;

use super::escape::for_terminal;
use super::json::{BothFamilies, CollectionView, Families, States};
use super::{Style, bold, count};
use crate::model::{Family, TcpState};
use crate::report::{
    ContainerRef, Finding, NamespaceReport, NetnsKind, NetnsLabel, PodRef, SummaryReport, Sweep,
};

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
/// `host`, `netns blue`, `net:[4026532301] (pid 77 sleep)`.
pub fn describe(label: &NetnsLabel) -> String {
    let name = for_terminal(&label.name()).into_owned();
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
        (Some((pid, comm)), _) => format!("{name} (pid {pid} {})", for_terminal(comm)),
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
            .map_or_else(|| for_terminal(name).into_owned(), |n| describe(&n.label)),
    )
}

/// A finding's next steps, run where the finding is: `ss` through `nsenter` into a member
/// process's namespace, sockscope with `--netns`. Unchanged outside a sweep and for the host.
pub fn next_steps(report: &SummaryReport, finding: &Finding) -> Vec<String> {
    let label = finding.namespace.as_deref().and_then(|name| {
        report
            .sweep
            .as_deref()?
            .namespaces
            .iter()
            .find(|n| n.label.name() == name)
    });
    let Some(label) = label
        .map(|n| &n.label)
        .filter(|l| l.kind != NetnsKind::Host)
    else {
        return finding.next_steps.clone();
    };
    let netns = shell_word(&label.name());
    finding
        .next_steps
        .iter()
        .map(|step| {
            if let (Some(rest), Some((pid, _))) = (step.strip_prefix("ss "), &label.sample) {
                format!("nsenter -t {pid} -n ss {rest}")
            } else if step.contains("sockscope ") && !step.contains("--netns") {
                format!("{step} --netns {netns}")
            } else {
                step.clone()
            }
        })
        .collect()
}

/// A name as one shell word: kept when plain, else single-quoted (and never a terminal escape).
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:@+-=,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", for_terminal(&text.replace('\'', "'\\''")))
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

/// One row per namespace, those with findings first; then what could not be read.
pub fn render_table(sweep: &Sweep, style: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    // Names and counts never break mid-word: on a narrow terminal the table runs wider
    // rather than turning `ESTABLISHED` into `ESTABLI/SHED`.
    let mut table = super::new_table(Style {
        width: None,
        ..style
    });
    let mut header = vec!["Namespace", "Kind", "Findings", "Total"];
    header.extend(COLUMNS.iter().map(|s| s.name()));
    table.set_header(header.into_iter().map(|h| bold(Cell::new(h), style)));
    for n in &sweep.namespaces {
        let tally = &n.report.tally;
        let mut row = vec![
            Cell::new(for_terminal(&n.label.name())),
            Cell::new(n.label.kind.word()),
            Cell::new(n.report.findings.len()),
            count(tally.total(), style),
        ];
        row.extend(COLUMNS.iter().map(|&s| count(tally.state_total(s), style)));
        table.add_row(row);
    }
    for column in 2..4 + COLUMNS.len() {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "{table}")?;
    for line in notes(sweep) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// What the sweep could not see, and why.
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
    if sweep.processes_unreadable > 0 {
        notes.push(format!(
            "The namespace of {} of {} processes could not be read (another user's, or shielded even from root); their namespaces are missing unless another process shares them.",
            sweep.processes_unreadable, sweep.processes
        ));
    }
    notes
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
