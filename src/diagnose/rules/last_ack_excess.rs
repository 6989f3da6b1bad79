//! A9 `last_ack_excess`: our FIN, sent after the peer's, not yet acknowledged.

use super::orphan_state::{OrphanWords, Orphans, describe, judge_orphans};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::model::TcpState;

pub static RULE: RuleDef<Orphans> = RuleDef {
    id: "last_ack_excess",
    catalog: "A9",
    meaning: "Our FIN, sent after the peer's, not yet acknowledged.",
    why: "Normally one round trip; a pile-up of resent FINs means the peer vanished or a firewall forgot the connection.",
    governs: Some(TcpState::LastAck),
    reads: Reads {
        ages: Some(TcpState::LastAck),
        threads: false,
    },
    defaults: Orphans {
        warn: 50,
        crit: 500,
        warn_retransmits: 3,
        warn_resent: 10,
        warn_resent_share_of_established: 0.05,
    },
    describe,
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

static LAST_ACK: OrphanWords = OrphanWords {
    state: "LAST_ACK",
    tcp_state: TcpState::LastAck,
    meaning: "the peer closed, this host closed too, and the final ACK never came.",
    causes: &[
        "The peer vanished after sending its FIN.",
        "A firewall or conntrack entry expired before the close finished (conntrack keeps LAST_ACK for 30 s).",
        "ACKs dropped on the path.",
    ],
};

fn judge(s: &Input, th: &Orphans) -> Outcome {
    judge_orphans(
        s,
        RULE.id,
        &s.obs.last_ack,
        th,
        &LAST_ACK,
        // Only with conntrack loaded: without it the key does not exist.
        s.ctx
            .conntrack
            .is_some()
            .then_some("sysctl net.netfilter.nf_conntrack_tcp_timeout_last_ack"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::orphan_state::tests::{
        orphans, pile_up_relative_to_the_host, resending,
    };
    use crate::diagnose::rules::testkit::{ctx, fired, judge};
    use crate::report::Finding;

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &ctx(), &resending(TcpState::LastAck, 3)))
    }

    #[test]
    fn orphans_resending_their_fin_pile_up_relative_to_the_host() {
        pile_up_relative_to_the_host(&RULE, TcpState::LastAck);
    }

    #[test]
    fn the_conntrack_sysctl_is_suggested_only_where_conntrack_is_loaded() {
        let pile = orphans(TcpState::LastAck, 50, 0);
        let without = fired(judge(&RULE, &ctx(), &pile));
        assert!(
            !without
                .next_steps
                .iter()
                .any(|s| s.contains("nf_conntrack")),
            "{:?}",
            without.next_steps
        );
        let mut c = ctx();
        c.conntrack = Some((10, 1000));
        let with_ct = fired(judge(&RULE, &c, &pile));
        assert!(
            with_ct
                .next_steps
                .iter()
                .any(|s| s.contains("nf_conntrack_tcp_timeout_last_ack"))
        );
    }
}
