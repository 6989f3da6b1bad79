//! The rules, one file each, named by id: its entry (`RULE`: id, documentation, thresholds and
//! their defaults, the function), its facts and their wording, and its tests. [`ALL`] lists the
//! entries in catalog order, the rules that judge one collection, then those that compare two
//! runs, then the operator's ranges; the README table, the config's `[rules.ID]` tables,
//! `all_ids` and Prometheus' `sockscope_finding` series all follow it. The other files hold what
//! several rules share.

pub mod accept_queue_overflow;
pub mod accept_queue_stalled;
pub mod close_wait_excess;
pub mod close_wait_growing;
pub mod close_wait_stuck;
pub mod closing_excess;
pub mod connect_failures;
pub mod conntrack_near_limit;
pub mod counter_rose;
pub mod culprits;
pub mod ephemeral_port_pressure;
pub mod fin_wait1_excess;
pub mod fin_wait2_excess;
pub mod fin_wait2_stuck;
pub mod last_ack_excess;
pub mod listen_overflows;
pub mod orphan_state;
pub mod orphans_near_limit;
pub mod resets_spike;
pub mod retransmission_rate;
pub mod risky_settings;
pub mod rx_backlog;
pub mod seen;
pub mod state_count;
pub mod stuck;
pub mod syn_queue_overflow;
pub mod syn_recv_flood;
pub mod syn_sent_stuck;
pub mod syncookies_sent;
pub mod tcp_memory_aborts;
pub mod tcp_memory_pressure;
#[cfg(test)]
pub mod testkit;
pub mod time_wait_buckets;
pub mod time_wait_overflow;
pub mod tx_backlog;
pub mod words;

use super::rule::Rule;
use super::thresholds::Ratio;
use crate::model::KernelContext;
use crate::report::Severity;

/// Every rule, in catalog order.
pub static ALL: &[&dyn Rule] = &[
    &close_wait_excess::RULE,
    &ephemeral_port_pressure::RULE,
    &time_wait_buckets::RULE,
    &syn_recv_flood::RULE,
    &accept_queue_overflow::RULE,
    &syn_sent_stuck::RULE,
    &fin_wait1_excess::RULE,
    &fin_wait2_excess::RULE,
    &last_ack_excess::RULE,
    &closing_excess::RULE,
    &orphans_near_limit::RULE,
    &tcp_memory_pressure::RULE,
    &rx_backlog::RULE,
    &tx_backlog::RULE,
    &conntrack_near_limit::RULE,
    &risky_settings::RULE,
    &listen_overflows::RULE,
    &syn_queue_overflow::RULE,
    &syncookies_sent::RULE,
    &time_wait_overflow::RULE,
    &tcp_memory_aborts::RULE,
    &retransmission_rate::RULE,
    &resets_spike::RULE,
    &close_wait_growing::RULE,
    &close_wait_stuck::RULE,
    &fin_wait2_stuck::RULE,
    &accept_queue_stalled::RULE,
    &connect_failures::RULE,
    &state_count::RULE,
];

/// The rule of this id.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter().copied().find(|r| r.id() == id)
}

/// Why a rule's input is missing, from what the context reader recorded.
fn missing(ctx: &KernelContext, what: &str, per_netns: bool) -> String {
    match ctx.missing.iter().find(|(p, _)| p.ends_with(what)) {
        Some((path, why)) => format!("{what} unknown: cannot read '{}': {why}", path.display()),
        None if per_netns => format!(
            "{what} unknown: with --pid, /proc/sys shows this process's network namespace, not the target's"
        ),
        None => format!("{what} unknown: not a well-formed value"),
    }
}

/// The level a use of a kernel limit is at.
fn by_ratio(used: u64, limit: u64, r: &Ratio) -> Option<Severity> {
    let share = used as f64 / limit.max(1) as f64;
    Severity::from_levels(share >= r.warn, share >= r.crit)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::diagnose::thresholds::Thresholds;

    #[test]
    fn every_rule_is_documented_in_the_readme() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .unwrap_or_default();
        let mut ids = BTreeSet::new();
        for rule in ALL {
            let doc = rule.doc(&Thresholds::default());
            assert!(ids.insert(doc.id), "{} is listed twice", doc.id);
            for (what, text) in [
                ("catalog", doc.catalog),
                ("meaning", doc.meaning),
                ("defaults", &doc.defaults),
                ("why", doc.why),
            ] {
                assert!(!text.trim().is_empty(), "{} has no {what}", doc.id);
            }
            let row = format!("| `{}` ({}) | {} |", doc.id, doc.catalog, doc.meaning);
            assert!(readme.contains(&row), "README.md lacks {row}");
        }
    }

    #[test]
    fn every_rule_fires_with_its_own_id() {
        for rule in ALL {
            let f = rule.example();
            assert_eq!(f.id, rule.id());
            assert!(!f.facts.title().is_empty(), "{}", f.id);
            assert!(!f.facts.summary().is_empty(), "{}", f.id);
            assert!(f.facts.numbers().is_object(), "{}", f.id);
        }
    }
}
