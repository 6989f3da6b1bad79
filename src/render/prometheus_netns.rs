//! Per-namespace Prometheus series for `check --all-netns`: sockets by state with `netns`,
//! `container` and `pod` labels, and which namespace each finding is in. Cardinality stays
//! bounded: only namespaces with sockets, at most [`NETNS_SERIES`] of them (those with findings
//! first, then the largest), the rest summed under `netns="other"` and counted.

use std::io;

use super::exposition::{Exposition, Kind};
use crate::model::{StateCounts, TcpState};
use crate::report::{NamespaceReport, Severity, Sweep};

/// Namespaces exported with their own labels; the rest are folded into `other`.
pub const NETNS_SERIES: usize = 50;

/// netns, container and pod label values.
fn labels(n: &NamespaceReport) -> [String; 3] {
    let display = |v: Option<String>| v.unwrap_or_default();
    [
        n.label.name(),
        display(n.label.container.as_ref().map(|c| c.display())),
        display(n.label.pod.as_ref().map(|p| p.display())),
    ]
}

pub fn render(sweep: &Sweep, e: &mut Exposition) -> io::Result<()> {
    render_capped(sweep, NETNS_SERIES, e)
}

fn render_capped(sweep: &Sweep, cap: usize, e: &mut Exposition) -> io::Result<()> {
    let mut shown: Vec<&NamespaceReport> = sweep
        .namespaces
        .iter()
        .filter(|n| n.report.tally.total() > 0)
        .collect();
    shown.sort_by_key(|n| {
        let worst = n.report.findings.iter().map(|f| f.severity).max();
        (
            std::cmp::Reverse(worst),
            std::cmp::Reverse(n.report.tally.total()),
        )
    });
    let folded = shown.split_off(shown.len().min(cap));
    e.family(
        "sockscope_netns_sockets",
        Kind::Gauge,
        &format!(
            "TCP sockets by state in each network namespace with sockets (the smallest beyond {NETNS_SERIES} summed as netns=\"other\")."
        ),
    )?;
    let write = |e: &mut Exposition, l: &[String; 3], counts: &StateCounts, folded: bool| {
        for state in TcpState::KNOWN {
            let name = state.name().to_lowercase();
            let mut labels = vec![
                ("netns", l[0].as_str()),
                ("container", l[1].as_str()),
                ("pod", l[2].as_str()),
                ("state", name.as_str()),
            ];
            // A namespace may be named `other` (`ip netns add other`): the fold's own label
            // keeps its series apart.
            if folded {
                labels.push(("folded", "true"));
            }
            e.sample("sockscope_netns_sockets", &labels, counts.get(state))?;
        }
        io::Result::Ok(())
    };
    for n in &shown {
        write(e, &labels(n), &n.report.tally.both(), false)?;
    }
    if !folded.is_empty() {
        let mut other = StateCounts::default();
        for n in &folded {
            other.merge(&n.report.tally.both());
        }
        write(
            e,
            &["other".into(), String::new(), String::new()],
            &other,
            true,
        )?;
    }
    e.family(
        "sockscope_netns_folded",
        Kind::Gauge,
        "Network namespaces with sockets summed into netns=\"other\".",
    )?;
    e.sample("sockscope_netns_folded", &[], folded.len())?;
    e.family(
        "sockscope_netns_finding",
        Kind::Gauge,
        "1 for each rule and severity that found a problem in a namespace (namespaces with their own series only).",
    )?;
    for n in &shown {
        let l = labels(n);
        let mut seen: Vec<(&str, Severity)> = Vec::new();
        for f in &n.report.findings {
            if !seen.contains(&(f.id, f.severity)) {
                seen.push((f.id, f.severity));
                e.sample(
                    "sockscope_netns_finding",
                    &[
                        ("netns", &l[0]),
                        ("container", &l[1]),
                        ("pod", &l[2]),
                        ("id", f.id),
                        ("severity", &f.severity.word().to_lowercase()),
                    ],
                    1,
                )?;
            }
        }
    }
    e.family(
        "sockscope_netns_namespaces",
        Kind::Gauge,
        "Network namespaces found, and those that could not be read.",
    )?;
    e.sample(
        "sockscope_netns_namespaces",
        &[("result", "read")],
        sweep.namespaces.len(),
    )?;
    e.sample(
        "sockscope_netns_namespaces",
        &[("result", "unopened")],
        sweep.unopened.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Tally};
    use crate::report::{Collection, NetnsKind, NetnsLabel, SummaryReport};
    use std::time::SystemTime;

    fn namespace(inode: u64, sockets: u64) -> NamespaceReport {
        let mut tally = Tally::default();
        for _ in 0..sockets {
            tally.add(Family::Ipv4, TcpState::Established);
        }
        NamespaceReport {
            label: NetnsLabel {
                inode,
                kind: NetnsKind::Unknown,
                container: None,
                pod: None,
                names: vec![],
                sample: None,
            },
            report: SummaryReport {
                collected_at: SystemTime::UNIX_EPOCH,
                tally,
                filter: String::new(),
                findings: vec![],
                checks: Default::default(),
                collection: Collection {
                    source: "netlink",
                    proc_root: "/proc".into(),
                    sockets_seen: sockets,
                    clock_ticks: 100,
                    ..Default::default()
                },
                sweep: None,
                flows: None,
            },
        }
    }

    #[test]
    fn the_smallest_namespaces_beyond_the_cap_are_folded_and_counted() {
        let sweep = Sweep {
            // Sizes 0..=5: the empty one gets no series at all.
            namespaces: (0..6).map(|i| namespace(100 + i, i)).collect(),
            ..Sweep::default()
        };
        let mut out = Vec::new();
        render_capped(
            &sweep,
            3,
            &mut Exposition::new(crate::render::Format::Prometheus, &mut out),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let established: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("sockscope_netns_sockets") && l.contains("established"))
            .collect();
        assert_eq!(
            established,
            [
                "sockscope_netns_sockets{netns=\"net:[105]\",container=\"\",pod=\"\",state=\"established\"} 5",
                "sockscope_netns_sockets{netns=\"net:[104]\",container=\"\",pod=\"\",state=\"established\"} 4",
                "sockscope_netns_sockets{netns=\"net:[103]\",container=\"\",pod=\"\",state=\"established\"} 3",
                "sockscope_netns_sockets{netns=\"other\",container=\"\",pod=\"\",state=\"established\",folded=\"true\"} 3",
            ]
        );
        assert!(text.contains("sockscope_netns_folded 2\n"), "{text}");
    }
}
