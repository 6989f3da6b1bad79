//! Sets of TCP states: what `--state` selects, what a threshold counts, what sock_diag is
//! asked for.

use super::TcpState;

/// A set of the eleven known states. Bit i stands for `TcpState::KNOWN[i]` (netstat's code
/// minus one); sock_diag numbers its bits by code, see [`StateSet::sock_diag_mask`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct StateSet(u16);

impl StateSet {
    pub const ALL: StateSet = StateSet((1 << 11) - 1);
    pub const EMPTY: StateSet = StateSet(0);

    pub fn of(states: &[TcpState]) -> StateSet {
        states
            .iter()
            .fold(StateSet::EMPTY, |set, &s| set.union(StateSet::one(s)))
    }

    /// One state; an unknown code makes an empty set (no set can name it).
    pub fn one(state: TcpState) -> StateSet {
        StateSet(state.index().map_or(0, |i| 1 << i))
    }

    pub fn union(self, other: StateSet) -> StateSet {
        StateSet(self.0 | other.0)
    }

    pub fn without(self, other: StateSet) -> StateSet {
        StateSet(self.0 & !other.0)
    }

    pub fn contains(self, state: TcpState) -> bool {
        state.index().is_some_and(|i| self.0 & (1 << i) != 0)
    }

    pub fn is_all(self) -> bool {
        self == StateSet::ALL
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The states in the set, in lifecycle order.
    pub fn states(self) -> impl Iterator<Item = TcpState> {
        TcpState::LIFECYCLE
            .into_iter()
            .filter(move |&s| self.contains(s))
    }

    /// ss's `connected`: every state but listening and closed.
    pub fn connected() -> StateSet {
        StateSet::ALL.without(StateSet::of(&[TcpState::Listen, TcpState::Close]))
    }

    /// ss's `synchronized`: connected states except syn-sent.
    pub fn synchronized() -> StateSet {
        StateSet::connected().without(StateSet::one(TcpState::SynSent))
    }

    /// ss's `bucket`: the states kept as mini-sockets.
    pub fn bucket() -> StateSet {
        StateSet::of(&[TcpState::SynRecv, TcpState::TimeWait])
    }

    /// ss's `big`: every state but the bucket ones.
    pub fn big() -> StateSet {
        StateSet::ALL.without(StateSet::bucket())
    }

    /// The kernel's sock_diag state bitmask (bit n for state code n). Request sockets
    /// (TCP_NEW_SYN_RECV) come with the SYN_RECV bit.
    pub fn sock_diag_mask(self) -> u32 {
        self.states().fold(0, |mask, s| mask | (1 << s.code()))
    }
}

/// A `--state` value: one state by its ss name (netstat's names work too, in any case), or one
/// of ss's state groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSelector {
    /// The ss name (`close-wait`, `connected`).
    pub name: &'static str,
    pub states: StateSet,
}

/// Every selector: (ss name, other accepted spellings, help for groups).
pub const SELECTORS: &[(&str, &[&str], &str)] = &[
    ("established", &[], ""),
    ("syn-sent", &["syn_sent"], ""),
    ("syn-recv", &["syn_recv"], ""),
    ("fin-wait-1", &["fin_wait1", "fin-wait1"], ""),
    ("fin-wait-2", &["fin_wait2", "fin-wait2"], ""),
    ("time-wait", &["time_wait"], ""),
    ("closed", &["close"], ""),
    ("close-wait", &["close_wait"], ""),
    ("last-ack", &["last_ack"], ""),
    ("listening", &["listen"], ""),
    ("closing", &[], ""),
    ("all", &[], "Every state"),
    ("connected", &[], "Every state but listening and closed"),
    ("synchronized", &[], "Connected states except syn-sent"),
    (
        "bucket",
        &[],
        "States kept as mini-sockets: syn-recv and time-wait",
    ),
    ("big", &[], "Every state but syn-recv and time-wait"),
];

impl StateSelector {
    /// Parses a state or group name, ss or netstat spelling, in any case.
    pub fn parse(text: &str) -> Option<StateSelector> {
        let text = text.trim();
        let &(name, _, _) = SELECTORS.iter().find(|(name, aliases, _)| {
            name.eq_ignore_ascii_case(text) || aliases.iter().any(|a| a.eq_ignore_ascii_case(text))
        })?;
        Some(StateSelector {
            name,
            states: StateSelector::states_of(name),
        })
    }

    fn states_of(name: &str) -> StateSet {
        use TcpState::*;
        match name {
            "established" => StateSet::one(Established),
            "syn-sent" => StateSet::one(SynSent),
            "syn-recv" => StateSet::one(SynRecv),
            "fin-wait-1" => StateSet::one(FinWait1),
            "fin-wait-2" => StateSet::one(FinWait2),
            "time-wait" => StateSet::one(TimeWait),
            "closed" => StateSet::one(Close),
            "close-wait" => StateSet::one(CloseWait),
            "last-ack" => StateSet::one(LastAck),
            "listening" => StateSet::one(Listen),
            "closing" => StateSet::one(Closing),
            "connected" => StateSet::connected(),
            "synchronized" => StateSet::synchronized(),
            "bucket" => StateSet::bucket(),
            "big" => StateSet::big(),
            _ => StateSet::ALL,
        }
    }

    /// The valid names, for error messages: `established, syn-sent, …, big`.
    pub fn valid_names() -> String {
        SELECTORS
            .iter()
            .map(|(name, _, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_ss() {
        let connected = StateSet::connected();
        assert!(!connected.contains(TcpState::Listen));
        assert!(!connected.contains(TcpState::Close));
        assert!(connected.contains(TcpState::SynSent));
        assert_eq!(connected.states().count(), 9);
        assert!(!StateSet::synchronized().contains(TcpState::SynSent));
        assert!(StateSet::synchronized().contains(TcpState::CloseWait));
        assert_eq!(
            StateSet::bucket().states().collect::<Vec<_>>(),
            vec![TcpState::SynRecv, TcpState::TimeWait]
        );
        assert!(StateSet::big().contains(TcpState::Listen));
        assert!(!StateSet::big().contains(TcpState::TimeWait));
    }

    #[test]
    fn unknown_codes_are_in_no_set() {
        assert!(!StateSet::ALL.contains(TcpState::Unknown(0x0D)));
        assert!(StateSet::one(TcpState::Unknown(0x0D)).is_empty());
    }

    #[test]
    fn netstat_and_ss_names_both_parse() {
        for (text, want) in [
            ("close-wait", "close-wait"),
            ("CLOSE_WAIT", "close-wait"),
            ("FIN_WAIT2", "fin-wait-2"),
            ("fin-wait-2", "fin-wait-2"),
            ("LISTEN", "listening"),
            ("Connected", "connected"),
        ] {
            assert_eq!(
                StateSelector::parse(text).map(|s| s.name),
                Some(want),
                "{text}"
            );
        }
        assert_eq!(StateSelector::parse("half-open"), None);
        assert_eq!(
            StateSelector::parse("bucket").map(|s| s.states),
            Some(StateSet::bucket())
        );
        assert!(StateSelector::valid_names().ends_with("bucket, big"));
    }

    #[test]
    fn sock_diag_bits_are_by_code() {
        assert_eq!(StateSet::ALL.sock_diag_mask(), 0b1111_1111_1110);
        assert_eq!(StateSet::one(TcpState::CloseWait).sock_diag_mask(), 1 << 8);
    }
}
