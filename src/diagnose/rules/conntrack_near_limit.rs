//! A15 `conntrack_near_limit`: connection-tracking entries against nf_conntrack_max, only
//! where the module is loaded.

use serde::Serialize;

use super::by_ratio;
use super::words::{pct, percent, strings};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::Ratio;
use crate::diagnose::{Input, Outcome};
use crate::report::{Facts, Finding};

pub static RULE: RuleDef<Ratio> = RuleDef {
    id: "conntrack_near_limit",
    catalog: "A15",
    meaning: "Connection-tracking entries against nf_conntrack_max (only when the module is loaded).",
    why: "A full table drops new packets (\"nf_conntrack: table full, dropping packet\").",
    governs: None,
    reads: Reads::NOTHING,
    defaults: Ratio {
        warn: 0.75,
        crit: 0.9,
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
    // No conntrack files: the module is not loaded, nothing to check.
    let Some((count, max)) = s.ctx.conntrack else {
        return Outcome::Quiet;
    };
    let Some(sev) = by_ratio(count, max, th) else {
        return Outcome::Quiet;
    };
    let facts = ConntrackFacts {
        count,
        max,
        thresholds: *th,
    };
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts).with_next_steps(vec![
            "conntrack -S   # drop, early_drop and insert_failed per CPU".into(),
            "sysctl net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_time_wait".into(),
        ]),
    )
}

/// Connection-tracking entries against nf_conntrack_max.
#[derive(Debug, Serialize)]
pub struct ConntrackFacts {
    pub count: u64,
    pub max: u64,
    pub thresholds: Ratio,
}

impl Facts for ConntrackFacts {
    fn title(&self) -> String {
        format!(
            "Connection tracking table at {}",
            percent(self.count, self.max)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} tracked connections against nf_conntrack_max = {}. A full table drops new packets (\"nf_conntrack: table full, dropping packet\").",
            self.count, self.max
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "Connection churn with long conntrack timeouts (TIME_WAIT is tracked 120 s, established 5 days).",
            "UDP or DNS traffic storms.",
            "A denial-of-service attack.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, severity};
    use crate::report::Severity;

    pub(super) fn example() -> Finding {
        let mut c = ctx();
        c.conntrack = Some((950, 1000));
        fired(judge(&RULE, &c, &[]))
    }

    #[test]
    fn conntrack_is_judged_only_where_the_module_is_loaded() {
        let f = example();
        assert_eq!(f.severity, Severity::Critical);
        let seen = facts::<ConntrackFacts>(&f);
        assert_eq!((seen.count, seen.max), (950, 1000));
        let mut c = ctx();
        c.conntrack = Some((800, 1000));
        assert_eq!(severity(&judge(&RULE, &c, &[])), Some(Severity::Warning));
        c.conntrack = None;
        assert_quiet(judge(&RULE, &c, &[]));
    }
}
