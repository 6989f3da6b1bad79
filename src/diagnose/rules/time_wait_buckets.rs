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
    // While destroy events are followed: where the closes' rate takes TIME_WAIT.
    let rate = s.flows.map(|f| {
        let closed_per_s = f.per_s(f.window.all.closed);
        let settles_at = (closed_per_s * TIME_WAIT_S).round() as u64;
        TimeWaitRate {
            closed_per_s,
            window_s: f.secs,
            settles_at,
        }
    });
    let facts = TimeWaitFacts {
        time_wait: tw,
        tcp_max_tw_buckets: limit,
        rate,
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
    /// While destroy events are followed (`watch`, `serve`, `--follow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<TimeWaitRate>,
    pub counters_since_boot: TimeWaitCounters,
    pub thresholds: Ratio,
}

/// How long a socket stays in TIME_WAIT on Linux (`TCP_TIMEWAIT_LEN`).
const TIME_WAIT_S: f64 = 60.0;

/// The rate connections close at, and where it takes TIME_WAIT.
#[derive(Debug, Serialize)]
pub struct TimeWaitRate {
    pub closed_per_s: f64,
    /// Over how long the closes were counted.
    pub window_s: f64,
    /// TIME_WAIT sockets once the rate has lasted 60 s, if this host closes them all first.
    pub settles_at: u64,
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
        let mut text = format!(
            "{} TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets = {}. At the limit the kernel closes connections without TIME_WAIT and counts TCPTimeWaitOverflow ({} so far, a counter of this network namespace).",
            self.time_wait,
            self.tcp_max_tw_buckets,
            self.counters_since_boot
                .overflow
                .map_or("unknown".to_string(), |v| v.to_string())
        );
        if let Some(r) = &self.rate {
            text.push_str(&format!(
                " Connections closed at {:.1}/s over the last {:.0} s; a socket stays 60 s in TIME_WAIT, so where this host closes first that rate settles near {} ({} of the limit).",
                r.closed_per_s,
                r.window_s,
                r.settles_at,
                percent(r.settles_at, self.tcp_max_tw_buckets)
            ));
        }
        text
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

    /// While closes are followed, the finding says their rate and where it takes TIME_WAIT.
    #[test]
    fn a_followed_rate_says_where_time_wait_settles() {
        use crate::diagnose::Processes;
        use crate::diagnose::rules::testkit::observe;
        use crate::report::flows::Window;
        let ctx = with_sockstat(0, 110_000, 0);
        let obs = observe(&ctx, &[]);
        let mut window = Window::new(std::time::UNIX_EPOCH);
        window.all.closed = 25_000;
        let input = Input {
            obs: &obs,
            ctx: &ctx,
            owners: None,
            processes: Processes::Skipped,
            evidence: None,
            flows: Some(crate::diagnose::flows::Followed {
                window: &window,
                secs: 10.0,
                sysctls: &ctx.sysctl,
            }),
        };
        let f = fired(super::judge(&input, &RULE.defaults));
        let seen = facts::<TimeWaitFacts>(&f);
        let rate = seen.rate.as_ref().expect("a rate while following");
        assert_eq!((rate.closed_per_s, rate.settles_at), (2500.0, 150_000));
        let summary = seen.summary();
        assert!(
            summary.contains("closed at 2500.0/s over the last 10 s")
                && summary.contains("settles near 150000 (114.4% of the limit)"),
            "{summary}"
        );
        // Without following, no rate is claimed.
        assert!(facts::<TimeWaitFacts>(&example()).rate.is_none());
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
