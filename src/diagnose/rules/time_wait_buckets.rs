//! A3 `time_wait_buckets`: TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets.

use serde::Serialize;

use super::words::{pct, percent, strings};
use super::{by_ratio, missing};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::Ratio;
use crate::diagnose::{Input, Outcome};
use crate::report::{Facts, Finding};

pub static RULE: RuleDef<Ratio> = RuleDef {
    id: "time_wait_buckets",
    catalog: "A3",
    meaning: "TIME_WAIT sockets (sockstat tw) against net.ipv4.tcp_max_tw_buckets.",
    why: "At the limit the kernel closes connections without TIME_WAIT (TCPTimeWaitOverflow). TIME_WAIT totals alone are harmless.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: Ratio {
        warn: 0.8,
        crit: 1.0,
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
    let Some(limit) = s.ctx.sysctl.tcp_max_tw_buckets else {
        return Outcome::Skipped(missing(s.ctx, "tcp_max_tw_buckets", true));
    };
    // sockstat's tw is the kernel's own count; the table read is the fallback.
    let tw = s.ctx.sockstat.map_or(s.obs.time_wait_minis, |st| st.tw);
    let Some(sev) = by_ratio(tw, limit, th) else {
        return Outcome::Quiet;
    };
    let facts = TimeWaitFacts {
        time_wait: tw,
        tcp_max_tw_buckets: limit,
        counters_since_boot: TimeWaitCounters {
            overflow: s.ctx.counter("TcpExt.TCPTimeWaitOverflow"),
        },
        thresholds: *th,
    };
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts).with_next_steps(vec![
            "sockscope top --by peer --by remote-port --state time-wait".into(),
            "nstat -az TcpExtTCPTimeWaitOverflow".into(),
            "sysctl net.ipv4.tcp_max_tw_buckets   # raise it rather than lower it; reuse connections".into(),
        ]),
    )
}

/// TIME_WAIT sockets against the kernel's limit.
#[derive(Debug, Serialize)]
pub struct TimeWaitFacts {
    pub time_wait: u64,
    pub tcp_max_tw_buckets: u64,
    pub counters_since_boot: TimeWaitCounters,
    pub thresholds: Ratio,
}

#[derive(Debug, Serialize)]
pub struct TimeWaitCounters {
    /// Connections closed without TIME_WAIT, in this network namespace.
    #[serde(rename = "TCPTimeWaitOverflow")]
    pub overflow: Option<i64>,
}

impl Facts for TimeWaitFacts {
    fn title(&self) -> String {
        format!(
            "TIME_WAIT sockets at {} of the kernel limit",
            percent(self.time_wait, self.tcp_max_tw_buckets)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets = {}. At the limit the kernel closes connections without TIME_WAIT and counts TCPTimeWaitOverflow ({} so far, a counter of this network namespace).",
            self.time_wait,
            self.tcp_max_tw_buckets,
            self.counters_since_boot
                .overflow
                .map_or("unknown".to_string(), |v| v.to_string())
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "A churn storm: many short connections closed by this host.",
            "A lowered tcp_max_tw_buckets.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, ctx, facts, fired, judge, minis, severity, with_sockstat,
    };
    use crate::model::TcpState;
    use crate::report::Severity;

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &with_sockstat(0, 110_000, 0), &[]))
    }

    #[test]
    fn time_wait_warns_at_80_percent_of_the_limit() {
        // tcp_max_tw_buckets is 131072 in ctx().
        let f = example();
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<TimeWaitFacts>(&f);
        assert_eq!(
            (seen.time_wait, seen.tcp_max_tw_buckets),
            (110_000, 131_072)
        );
        assert_quiet(judge(&RULE, &with_sockstat(0, 100_000, 0), &[]));
        assert_eq!(
            severity(&judge(&RULE, &with_sockstat(0, 131_072, 0), &[])),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn without_sockstat_the_table_read_counts() {
        let tw = minis(5, TcpState::TimeWait, "10.0.0.1:8080", "10.0.0.5", 0);
        let mut c = ctx();
        c.sysctl.tcp_max_tw_buckets = Some(5);
        let f = fired(judge(&RULE, &c, &tw));
        assert_eq!(facts::<TimeWaitFacts>(&f).time_wait, 5);
        c.sysctl.tcp_max_tw_buckets = None;
        assert!(matches!(judge(&RULE, &c, &tw), Outcome::Skipped(_)));
    }
}
