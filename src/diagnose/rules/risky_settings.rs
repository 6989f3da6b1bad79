//! A18 `risky_settings`: settings worth knowing during an incident, because each changes how
//! the failures of the other rules play out. Information only.

use serde::Serialize;

use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::NoThresholds;
use crate::diagnose::{Input, Outcome};
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "risky_settings",
    catalog: "A18",
    meaning: "Settings worth knowing during an incident: syncookies off, a small somaxconn, a low TIME_WAIT or orphan limit that is a quarter used, tcp_tw_reuse changed.",
    why: "Not wrong in themselves, but each changes how the failures above play out.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "information only".to_string(),
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

fn judge(s: &Input, _: &NoThresholds) -> Outcome {
    let sys = &s.ctx.sysctl;
    let mut notes: Vec<Risk> = Vec::new();
    if sys.tcp_syncookies == Some(0) {
        notes.push(Risk::NoSyncookies);
    }
    if let Some(m) = sys.somaxconn.filter(|&m| m < 1024) {
        notes.push(Risk::SmallSomaxconn(m));
    }
    // A low limit is only worth a note when it is being used: the kernel sizes both from the
    // connection hash, so small values are normal on small machines and fresh namespaces.
    let tw = s.ctx.sockstat.map_or(s.obs.time_wait_minis, |st| st.tw);
    if let Some(limit) = sys.tcp_max_tw_buckets.filter(|&v| v < 32768 && tw * 4 >= v) {
        notes.push(Risk::FewTimeWaitBuckets { limit, used: tw });
    }
    let orphans = s.ctx.sockstat.map(|st| st.orphan);
    if let (Some(limit), Some(used)) = (sys.tcp_max_orphans.filter(|&v| v < 32768), orphans)
        && used * 4 >= limit
    {
        notes.push(Risk::FewOrphans { limit, used });
    }
    if let Some(v) = sys.tcp_tw_reuse.filter(|&v| v != 2) {
        notes.push(Risk::TwReuse(v));
    }
    if notes.is_empty() {
        return Outcome::Quiet;
    }
    let facts = RiskyFacts {
        tcp_syncookies: sys.tcp_syncookies,
        somaxconn: sys.somaxconn,
        tcp_max_tw_buckets: sys.tcp_max_tw_buckets,
        tcp_max_orphans: sys.tcp_max_orphans,
        tcp_tw_reuse: sys.tcp_tw_reuse,
        risks: notes,
    };
    // Only the keys that exist here: tcp_max_orphans is absent outside the host's namespace,
    // and sysctl fails on the whole line for one missing key.
    let step = format!(
        "sysctl {}",
        [
            ("net.ipv4.tcp_syncookies", sys.tcp_syncookies.is_some()),
            ("net.core.somaxconn", sys.somaxconn.is_some()),
            (
                "net.ipv4.tcp_max_tw_buckets",
                sys.tcp_max_tw_buckets.is_some()
            ),
            ("net.ipv4.tcp_max_orphans", sys.tcp_max_orphans.is_some()),
            ("net.ipv4.tcp_tw_reuse", sys.tcp_tw_reuse.is_some()),
        ]
        .iter()
        .filter(|(_, known)| *known)
        .map(|(key, _)| *key)
        .collect::<Vec<_>>()
        .join(" ")
    );
    Outcome::Fired(Finding::new(RULE.id, Severity::Info, facts).with_next_steps(vec![step]))
}

/// The settings as read, and which of them are worth knowing.
#[derive(Debug, Serialize)]
pub struct RiskyFacts {
    pub tcp_syncookies: Option<u64>,
    pub somaxconn: Option<u64>,
    pub tcp_max_tw_buckets: Option<u64>,
    pub tcp_max_orphans: Option<u64>,
    pub tcp_tw_reuse: Option<u64>,
    #[serde(skip)]
    pub risks: Vec<Risk>,
}

/// A setting that changes how the failures play out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    NoSyncookies,
    SmallSomaxconn(u64),
    /// A low tcp_max_tw_buckets, a quarter used.
    FewTimeWaitBuckets {
        limit: u64,
        used: u64,
    },
    /// A low tcp_max_orphans, a quarter used.
    FewOrphans {
        limit: u64,
        used: u64,
    },
    /// tcp_tw_reuse other than its default, 2.
    TwReuse(u64),
}

impl Risk {
    fn text(self) -> String {
        match self {
            Risk::NoSyncookies => "net.ipv4.tcp_syncookies = 0: a SYN flood or burst fills the SYN queue and new clients are dropped.".into(),
            Risk::SmallSomaxconn(m) => format!("net.core.somaxconn = {m}: every listen backlog is capped this low (4096 is the default since Linux 5.4)."),
            Risk::FewTimeWaitBuckets { limit, used } => format!("net.ipv4.tcp_max_tw_buckets = {limit} with {used} TIME_WAIT sockets: connections past the limit close without TIME_WAIT."),
            Risk::FewOrphans { limit, used } => format!("net.ipv4.tcp_max_orphans = {limit} with {used} orphans: past a quarter of it the kernel may reset orphans."),
            Risk::TwReuse(v) => format!("net.ipv4.tcp_tw_reuse = {v} (default 2, loopback only)."),
        }
    }
}

impl Facts for RiskyFacts {
    fn title(&self) -> String {
        "Settings worth knowing".into()
    }

    fn summary(&self) -> String {
        let texts: Vec<String> = self.risks.iter().map(|r| r.text()).collect();
        texts.join(" ")
    }

    // These settings are not a fault by themselves (the summary says how each changes the
    // failures above), so there is no cause to rank.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, with_sockstat};

    pub(super) fn example() -> Finding {
        let mut c = ctx();
        c.sysctl.tcp_syncookies = Some(0);
        c.sysctl.tcp_max_orphans = None;
        fired(judge(&RULE, &c, &[]))
    }

    #[test]
    fn risky_settings_suggests_only_keys_that_exist() {
        let f = example();
        assert_eq!(facts::<RiskyFacts>(&f).risks, vec![Risk::NoSyncookies]);
        let step = &f.next_steps[0];
        assert!(step.contains("net.ipv4.tcp_syncookies"), "{step}");
        assert!(!step.contains("tcp_max_orphans"), "{step}");
        assert_quiet(judge(&RULE, &ctx(), &[]));
    }

    #[test]
    fn low_limits_are_worth_a_note_only_once_a_quarter_is_used() {
        let mut c = with_sockstat(2000, 1000, 0);
        c.sysctl.tcp_max_tw_buckets = Some(8192);
        c.sysctl.tcp_max_orphans = Some(4096);
        c.sysctl.tcp_tw_reuse = Some(1);
        let f = fired(judge(&RULE, &c, &[]));
        assert_eq!(
            facts::<RiskyFacts>(&f).risks,
            vec![
                Risk::FewOrphans {
                    limit: 4096,
                    used: 2000
                },
                Risk::TwReuse(1)
            ]
        );
    }
}
