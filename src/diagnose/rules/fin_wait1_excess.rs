//! A7 `fin_wait1_excess`: our FIN not yet acknowledged, often with data unsent, usually
//! orphaned.

use super::orphan_state::{OrphanWords, Orphans, describe, judge_orphans};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::model::TcpState;

pub static RULE: RuleDef<Orphans> = RuleDef {
    id: "fin_wait1_excess",
    catalog: "A7",
    meaning: "Our FIN not yet acknowledged, often with unsent data, usually orphaned.",
    why: "The peer is not reading (zero window) or is gone; orphans hold memory until tcp_orphan_retries gives up. A FIN resent is never part of a healthy close, so a pile of them counts relative to the connections the host holds.",
    governs: Some(TcpState::FinWait1),
    reads: Reads {
        ages: Some(TcpState::FinWait1),
        threads: false,
    },
    defaults: Orphans {
        warn: 50,
        crit: 500,
        warn_retransmits: 5,
        warn_resent: 10,
        warn_resent_share_of_established: 0.05,
    },
    describe,
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

static FIN_WAIT1: OrphanWords = OrphanWords {
    state: "FIN_WAIT1",
    tcp_state: TcpState::FinWait1,
    meaning: "this host sent its FIN and the peer has not acknowledged it, often with data still unsent.",
    causes: &[
        "The peer stopped reading (zero window), so our data and FIN cannot be delivered.",
        "The peer, or a NAT or load balancer on the path, forgot the connection.",
        "Packet loss toward the peer.",
    ],
};

fn judge(s: &Input, th: &Orphans) -> Outcome {
    judge_orphans(
        s,
        RULE.id,
        &s.obs.fin_wait1,
        th,
        &FIN_WAIT1,
        Some("sysctl net.ipv4.tcp_orphan_retries   # a lower value frees orphaned sockets sooner"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::orphan_state::OrphanFacts;
    use crate::diagnose::rules::orphan_state::tests::{
        orphans, pile_up_relative_to_the_host, resending,
    };
    use crate::diagnose::rules::testkit::{ctx, facts, fired, judge};
    use crate::report::Finding;

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &ctx(), &resending(TcpState::FinWait1, 3)))
    }

    #[test]
    fn orphans_resending_their_fin_pile_up_relative_to_the_host() {
        pile_up_relative_to_the_host(&RULE, TcpState::FinWait1);
    }

    #[test]
    fn one_socket_retransmitting_for_long_is_enough() {
        let f = fired(judge(&RULE, &ctx(), &orphans(TcpState::FinWait1, 1, 5)));
        assert_eq!(facts::<OrphanFacts>(&f).max_retransmits, 5);
        assert!(
            f.next_steps
                .iter()
                .any(|s| s.contains("tcp_orphan_retries"))
        );
    }
}
