//! A12 `tcp_memory_pressure`: TCP memory (host-wide, pages) against net.ipv4.tcp_mem. Its
//! `warn` is a share of the pressure threshold, its `crit` a share of the maximum.

use serde::Serialize;

use super::missing;
use super::words::{pct, percent, strings};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::Ratio;
use crate::diagnose::{Input, Outcome};
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<Ratio> = RuleDef {
    id: "tcp_memory_pressure",
    catalog: "A12",
    meaning: "TCP memory (sockstat mem, pages) against net.ipv4.tcp_mem.",
    why: "Under pressure the kernel shrinks buffers; past the maximum it drops data and logs \"out of memory -- consider tuning tcp_mem\".",
    governs: None,
    reads: Reads::NOTHING,
    defaults: Ratio {
        warn: 1.0,
        crit: 0.9,
    },
    describe: |t| {
        format!(
            "warning at the pressure threshold (tcp_mem[1]); critical at {} of tcp_mem[2]",
            pct(t.crit)
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

fn judge(s: &Input, th: &Ratio) -> Outcome {
    let Some(stat) = s.ctx.sockstat else {
        return Outcome::Skipped(missing(s.ctx, "sockstat", false));
    };
    let Some([min, pressure, max]) = s.ctx.sysctl.tcp_mem else {
        return Outcome::Skipped(missing(s.ctx, "tcp_mem", false));
    };
    let mem = stat.mem;
    let warn = mem as f64 >= th.warn * pressure as f64;
    let crit = mem as f64 >= th.crit * max as f64;
    let Some(sev) = Severity::from_levels(warn, crit) else {
        return Outcome::Quiet;
    };
    let facts = TcpMemoryFacts {
        mem_pages: mem,
        tcp_mem: [min, pressure, max],
        counters_since_boot: MemoryCounters {
            pressures: s.ctx.counter("TcpExt.TCPMemoryPressures"),
            abort_on_memory: s.ctx.counter("TcpExt.TCPAbortOnMemory"),
        },
        thresholds: MemoryThresholds {
            warn_share_of_pressure: th.warn,
            crit_share_of_max: th.crit,
        },
    };
    Outcome::Fired(Finding::new(RULE.id, sev, facts).with_next_steps(vec![
        // One command a step: each is localized (--pid, --proc-root, --netns) as a whole.
        "sockscope list --sort rx -p | head".into(),
        "sockscope list --sort tx -p | head".into(),
        "nstat -az TcpExtTCPMemoryPressures TcpExtPruneCalled TcpExtTCPRcvQDrop".into(),
    ]))
}

/// TCP memory, host-wide, against net.ipv4.tcp_mem.
#[derive(Debug, Serialize)]
pub struct TcpMemoryFacts {
    pub mem_pages: u64,
    /// Pages: [min, pressure, max].
    pub tcp_mem: [u64; 3],
    pub counters_since_boot: MemoryCounters,
    pub thresholds: MemoryThresholds,
}

#[derive(Debug, Serialize)]
pub struct MemoryCounters {
    #[serde(rename = "TCPMemoryPressures")]
    pub pressures: Option<i64>,
    #[serde(rename = "TCPAbortOnMemory")]
    pub abort_on_memory: Option<i64>,
}

/// The rule's `warn` and `crit`, named by what they are shares of.
#[derive(Debug, Serialize)]
pub struct MemoryThresholds {
    pub warn_share_of_pressure: f64,
    pub crit_share_of_max: f64,
}

impl Facts for TcpMemoryFacts {
    fn title(&self) -> String {
        "TCP memory under pressure".into()
    }

    fn summary(&self) -> String {
        let [_, pressure, max] = self.tcp_mem;
        format!(
            "TCP uses {} pages host-wide; net.ipv4.tcp_mem puts pressure at {pressure} and the maximum at {max} ({} of it). Under pressure the kernel shrinks socket buffers; at the maximum it drops data.",
            self.mem_pages,
            percent(self.mem_pages, max)
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "Large unread receive queues (see rx_backlog): applications not reading.",
            "Large send queues toward slow peers (see tx_backlog).",
            "A tcp_mem too small for the workload, or a socket leak.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, facts, fired, judge, severity, with_sockstat,
    };

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &with_sockstat(0, 0, 400_000), &[]))
    }

    #[test]
    fn memory_warns_at_the_pressure_threshold_and_is_critical_near_the_maximum() {
        // tcp_mem is [287898, 383867, 575796] in ctx().
        let f = example();
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<TcpMemoryFacts>(&f);
        assert_eq!((seen.mem_pages, seen.tcp_mem[1]), (400_000, 383_867));
        assert_quiet(judge(&RULE, &with_sockstat(0, 0, 300_000), &[]));
        assert_eq!(
            severity(&judge(&RULE, &with_sockstat(0, 0, 520_000), &[])),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn a_limit_missing_in_a_namespace_is_skipped_not_guessed() {
        let mut c = with_sockstat(0, 0, 0);
        c.sysctl.tcp_mem = None;
        assert!(matches!(judge(&RULE, &c, &[]), Outcome::Skipped(_)));
    }
}
