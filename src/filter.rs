//! Which sockets a command looks at: states, families and ports from the command line.

use std::net::IpAddr;

use ipnet::IpNet;

use clap::ValueEnum;

use crate::cli::{FilterArgs, PortRange, StateArg};
use crate::model::{Family, Socket, TcpState};

/// A compiled filter. An empty list means "no restriction".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Bit i set = `TcpState::KNOWN[i]` wanted; `None` = every state, unknown codes included.
    states: Option<u16>,
    /// The `--state` values as given, for describing the filter.
    state_names: Vec<String>,
    families: [bool; 2],
    ports: Vec<PortRange>,
    sports: Vec<PortRange>,
    dports: Vec<PortRange>,
    srcs: Vec<IpNet>,
    dsts: Vec<IpNet>,
}

fn bit(state: TcpState) -> u16 {
    1 << (state.code() - 1)
}

const ALL_STATES: u16 = (1 << 11) - 1;

fn state_mask(arg: StateArg) -> u16 {
    use TcpState::*;
    let listening_or_closed = bit(Listen) | bit(Close);
    let bucket = bit(SynRecv) | bit(TimeWait);
    match arg {
        StateArg::Established => bit(Established),
        StateArg::SynSent => bit(SynSent),
        StateArg::SynRecv => bit(SynRecv),
        StateArg::FinWait1 => bit(FinWait1),
        StateArg::FinWait2 => bit(FinWait2),
        StateArg::TimeWait => bit(TimeWait),
        StateArg::Closed => bit(Close),
        StateArg::CloseWait => bit(CloseWait),
        StateArg::LastAck => bit(LastAck),
        StateArg::Listening => bit(Listen),
        StateArg::Closing => bit(Closing),
        StateArg::All => ALL_STATES,
        StateArg::Connected => ALL_STATES & !listening_or_closed,
        StateArg::Synchronized => ALL_STATES & !listening_or_closed & !bit(SynSent),
        StateArg::Bucket => bucket,
        StateArg::Big => ALL_STATES & !bucket,
    }
}

/// The states a `--state` value stands for (a group stands for several), in lifecycle order.
pub fn states_in(arg: StateArg) -> Vec<TcpState> {
    let mask = state_mask(arg);
    TcpState::LIFECYCLE
        .into_iter()
        .filter(|s| s.index().is_some_and(|i| mask & (1 << i) != 0))
        .collect()
}

impl Filter {
    pub fn new(args: &FilterArgs) -> Filter {
        let states = (!args.states.is_empty())
            .then(|| args.states.iter().fold(0, |mask, &s| mask | state_mask(s)));
        let both = !args.ipv4 && !args.ipv6;
        let state_names = args
            .states
            .iter()
            .filter_map(|s| s.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        Filter {
            states,
            state_names,
            families: [args.ipv4 || both, args.ipv6 || both],
            ports: args.ports.clone(),
            sports: args.sports.clone(),
            dports: args.dports.clone(),
            srcs: args.srcs.clone(),
            dsts: args.dsts.clone(),
        }
    }

    /// Whether any socket of this family can match: the collector skips the file otherwise.
    pub fn wants_family(&self, family: Family) -> bool {
        self.families[family.index()]
    }

    pub fn is_restrictive(&self) -> bool {
        self.states.is_some_and(|m| m != ALL_STATES)
            || !self.families.iter().all(|&f| f)
            || !self.ports.is_empty()
            || !self.sports.is_empty()
            || !self.dports.is_empty()
            || !self.srcs.is_empty()
            || !self.dsts.is_empty()
    }

    pub fn wants_state(&self, state: TcpState) -> bool {
        match (self.states, state.index()) {
            (None, _) => true,
            (Some(mask), Some(i)) => mask & (1 << i) != 0,
            (Some(mask), None) => mask == ALL_STATES,
        }
    }

    pub fn matches(&self, socket: &Socket) -> bool {
        let (sport, dport) = (socket.local.port(), socket.remote.port());
        let any = |ranges: &[PortRange], port: u16| {
            ranges.is_empty() || ranges.iter().any(|r| r.contains(port))
        };
        self.wants_family(socket.family)
            && self.wants_state(socket.state)
            && any(&self.sports, sport)
            && any(&self.dports, dport)
            && (self.ports.is_empty() || any(&self.ports, sport) || any(&self.ports, dport))
            && within(&self.srcs, socket.local.ip())
            && within(&self.dsts, socket.remote.ip())
    }

    /// A short human description, e.g. `state close-wait, dport 5432`; empty when unfiltered.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.states.is_some_and(|m| m != ALL_STATES) {
            parts.push(format!("state {}", self.state_names.join("|")));
        }
        if !self.families.iter().all(|&f| f) {
            parts.push(if self.families[0] { "IPv4" } else { "IPv6" }.to_string());
        }
        for (label, ranges) in [
            ("port", &self.ports),
            ("sport", &self.sports),
            ("dport", &self.dports),
        ] {
            if !ranges.is_empty() {
                let list: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
                parts.push(format!("{label} {}", list.join(",")));
            }
        }
        for (label, nets) in [("src", &self.srcs), ("dst", &self.dsts)] {
            if !nets.is_empty() {
                let list: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
                parts.push(format!("{label} {}", list.join(",")));
            }
        }
        parts.join(", ")
    }
}

fn within(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.is_empty() || nets.iter().any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(state: TcpState, family: Family, sport: u16, dport: u16) -> Socket {
        let mut s = Socket::for_test(
            state,
            &format!("127.0.0.1:{sport}"),
            &format!("127.0.0.1:{dport}"),
        );
        s.family = family;
        s
    }

    fn args(states: &[StateArg]) -> FilterArgs {
        FilterArgs {
            states: states.to_vec(),
            ports: vec![],
            sports: vec![],
            dports: vec![],
            srcs: vec![],
            dsts: vec![],
            ipv4: false,
            ipv6: false,
        }
    }

    #[test]
    fn groups_follow_ss() {
        let connected = Filter::new(&args(&[StateArg::Connected]));
        assert!(!connected.wants_state(TcpState::Listen));
        assert!(!connected.wants_state(TcpState::Close));
        assert!(connected.wants_state(TcpState::SynSent));
        let sync = Filter::new(&args(&[StateArg::Synchronized]));
        assert!(!sync.wants_state(TcpState::SynSent));
        assert!(sync.wants_state(TcpState::CloseWait));
        let bucket = Filter::new(&args(&[StateArg::Bucket]));
        assert!(bucket.wants_state(TcpState::TimeWait) && bucket.wants_state(TcpState::SynRecv));
        assert!(!bucket.wants_state(TcpState::Established));
        let big = Filter::new(&args(&[StateArg::Big]));
        assert!(!big.wants_state(TcpState::TimeWait) && big.wants_state(TcpState::Listen));
    }

    #[test]
    fn groups_expand_to_their_states() {
        assert_eq!(states_in(StateArg::CloseWait), vec![TcpState::CloseWait]);
        assert_eq!(
            states_in(StateArg::Bucket),
            vec![TcpState::SynRecv, TcpState::TimeWait]
        );
        assert_eq!(states_in(StateArg::Connected).len(), 9);
    }

    #[test]
    fn unknown_states_pass_only_unfiltered_or_all() {
        let odd = TcpState::Unknown(0x0D);
        assert!(Filter::new(&args(&[])).wants_state(odd));
        assert!(Filter::new(&args(&[StateArg::All])).wants_state(odd));
        assert!(!Filter::new(&args(&[StateArg::Connected])).wants_state(odd));
    }

    #[test]
    fn ports_and_families() {
        let mut a = args(&[StateArg::CloseWait, StateArg::Listening]);
        a.ports = vec![PortRange { lo: 5000, hi: 5000 }];
        a.ipv4 = true;
        let f = Filter::new(&a);
        assert!(f.matches(&socket(TcpState::CloseWait, Family::Ipv4, 5000, 40000)));
        assert!(f.matches(&socket(TcpState::CloseWait, Family::Ipv4, 40000, 5000)));
        assert!(!f.matches(&socket(TcpState::CloseWait, Family::Ipv6, 5000, 1)));
        assert!(!f.matches(&socket(TcpState::Established, Family::Ipv4, 5000, 1)));
        assert!(!f.matches(&socket(TcpState::CloseWait, Family::Ipv4, 5001, 1)));
        assert_eq!(f.describe(), "state close-wait|listening, IPv4, port 5000");

        let mut a = args(&[]);
        a.sports = vec![PortRange { lo: 1, hi: 1024 }];
        a.dports = vec![PortRange { lo: 5432, hi: 5432 }];
        let f = Filter::new(&a);
        assert!(f.matches(&socket(TcpState::Established, Family::Ipv6, 80, 5432)));
        assert!(!f.matches(&socket(TcpState::Established, Family::Ipv6, 5432, 80)));
        assert!(!Filter::new(&args(&[])).is_restrictive());
    }

    #[test]
    fn addresses_and_networks() {
        let mut a = args(&[]);
        a.srcs = vec!["127.0.0.0/8".parse().unwrap()];
        a.dsts = vec!["10.0.0.5/32".parse().unwrap(), "::1/128".parse().unwrap()];
        let f = Filter::new(&a);
        let mut s = socket(TcpState::Established, Family::Ipv4, 1, 2);
        assert!(!f.matches(&s), "peer 127.0.0.1 is not in dst");
        s.remote = ([10, 0, 0, 5], 5432).into();
        assert!(f.matches(&s));
        s.local = ([192, 168, 0, 1], 1).into();
        assert!(!f.matches(&s), "local 192.168.0.1 is not in src");
        assert_eq!(f.describe(), "src 127.0.0.0/8, dst 10.0.0.5/32,::1/128");
    }
}
