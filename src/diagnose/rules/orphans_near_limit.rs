//! A11 `orphans_near_limit`: orphaned sockets (host-wide) against net.ipv4.tcp_max_orphans.

use serde::Serialize;

use super::words::{pct, percent, strings};
use super::{by_ratio, missing};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::Ratio;
use crate::diagnose::{Input, Outcome};
use crate::report::{Facts, Finding};

pub static RULE: RuleDef<Ratio> = RuleDef {
    id: "orphans_near_limit",
    catalog: "A11",
    meaning: "Orphaned sockets (sockstat orphan, host-wide) against net.ipv4.tcp_max_orphans.",
    why: "The kernel may start resetting orphans at a quarter of the limit (\"too many orphaned sockets\").",
    governs: None,
    reads: Reads::NOTHING,
    defaults: Ratio {
        warn: 0.25,
        crit: 0.5,
    },
    describe: |t| {
        format!(
            "warning at {}, critical at {} of the limit",
            pct(t.warn),
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
    let Some(limit) = s.ctx.sysctl.tcp_max_orphans else {
        return Outcome::Skipped(missing(s.ctx, "tcp_max_orphans", false));
    };
    let Some(sev) = by_ratio(stat.orphan, limit, th) else {
        return Outcome::Quiet;
    };
    let facts = OrphansFacts {
        orphans: stat.orphan,
        tcp_max_orphans: limit,
        counters_since_boot: AbortCounters {
            abort_on_memory: s.ctx.counter("TcpExt.TCPAbortOnMemory"),
        },
        thresholds: *th,
    };
    Outcome::Fired(Finding::new(RULE.id, sev, facts).with_next_steps(vec![
        "sockscope top --by peer --state fin-wait-1 --state last-ack --state closing".into(),
        "nstat -az TcpExtTCPAbortOnMemory".into(),
        "sysctl net.ipv4.tcp_max_orphans   # raise it rather than lower it".into(),
    ]))
}

/// Orphaned sockets, host-wide, against the kernel's limit.
#[derive(Debug, Serialize)]
pub struct OrphansFacts {
    pub orphans: u64,
    pub tcp_max_orphans: u64,
    pub counters_since_boot: AbortCounters,
    pub thresholds: Ratio,
}

#[derive(Debug, Serialize)]
pub struct AbortCounters {
    #[serde(rename = "TCPAbortOnMemory")]
    pub abort_on_memory: Option<i64>,
}

impl Facts for OrphansFacts {
    fn title(&self) -> String {
        format!(
            "Orphaned sockets at {} of the kernel limit",
            percent(self.orphans, self.tcp_max_orphans)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} orphaned sockets (closed by their application, still finishing) host-wide against net.ipv4.tcp_max_orphans = {}. From a quarter of the limit the kernel may reset orphans (\"too many orphaned sockets\"), and each can hold up to 64 KB of memory.",
            self.orphans, self.tcp_max_orphans
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "Many connections closed toward peers that do not acknowledge (see FIN_WAIT1 and LAST_ACK).",
            "A lowered tcp_max_orphans.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, facts, fired, judge, severity, with_sockstat,
    };
    use crate::report::Severity;

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &with_sockstat(70_000, 0, 0), &[]))
    }

    #[test]
    fn orphans_warn_at_a_quarter_and_are_critical_at_half_the_limit() {
        // tcp_max_orphans is 131072 in ctx().
        let f = example();
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(facts::<OrphansFacts>(&f).orphans, 70_000);
        assert_eq!(
            severity(&judge(&RULE, &with_sockstat(40_000, 0, 0), &[])),
            Some(Severity::Warning)
        );
        assert_quiet(judge(&RULE, &with_sockstat(30_000, 0, 0), &[]));
    }

    #[test]
    fn a_limit_missing_in_a_namespace_is_skipped_not_guessed() {
        let mut c = with_sockstat(0, 0, 0);
        c.sysctl.tcp_max_orphans = None;
        assert!(matches!(judge(&RULE, &c, &[]), Outcome::Skipped(_)));
    }
}
