//! Which sockets a command looks at: states, families, ports and addresses.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{Family, Socket, StateSet, TcpState};

/// An inclusive port range; a single port is `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn contains(self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// A compiled filter. An empty list means "no restriction".
#[derive(Debug, Clone)]
pub struct Filter {
    /// `None` = every state, unknown codes included.
    pub states: Option<StateSet>,
    /// The `--state` values as given, for describing the filter.
    pub state_names: Vec<String>,
    /// [IPv4, IPv6].
    pub families: [bool; 2],
    pub ports: Vec<PortRange>,
    pub sports: Vec<PortRange>,
    pub dports: Vec<PortRange>,
    pub srcs: Vec<IpNet>,
    pub dsts: Vec<IpNet>,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            states: None,
            state_names: Vec::new(),
            families: [true, true],
            ports: Vec::new(),
            sports: Vec::new(),
            dports: Vec::new(),
            srcs: Vec::new(),
            dsts: Vec::new(),
        }
    }
}

impl Filter {
    /// Whether any socket of this family can match: the collector skips the file otherwise.
    pub fn wants_family(&self, family: Family) -> bool {
        self.families[family.index()]
    }

    /// The states sock_diag may be asked for, or `None` when every state is wanted (unknown
    /// codes included).
    pub fn kernel_states(&self) -> Option<StateSet> {
        self.states.filter(|s| !s.is_all())
    }

    pub fn wants_state(&self, state: TcpState) -> bool {
        match self.states {
            None => true,
            Some(set) if set.is_all() => true,
            Some(set) => set.contains(state),
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

    /// Whether a connection between these ends passes the family, port and address filters
    /// (the state filter is left out: a closed connection has no state left to match).
    pub fn matches_ends(&self, local: std::net::SocketAddr, remote: std::net::SocketAddr) -> bool {
        let family = if local.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let any = |ranges: &[PortRange], port: u16| {
            ranges.is_empty() || ranges.iter().any(|r| r.contains(port))
        };
        let (sport, dport) = (local.port(), remote.port());
        self.wants_family(family)
            && any(&self.sports, sport)
            && any(&self.dports, dport)
            && (self.ports.is_empty() || any(&self.ports, sport) || any(&self.ports, dport))
            && within(&self.srcs, local.ip())
            && within(&self.dsts, remote.ip())
    }

    /// Whether anything but states is filtered.
    pub fn filters_ends(&self) -> bool {
        !self.families.iter().all(|&f| f)
            || !self.ports.is_empty()
            || !self.sports.is_empty()
            || !self.dports.is_empty()
            || !self.srcs.is_empty()
            || !self.dsts.is_empty()
    }

    /// A short human description, e.g. `state close-wait, dport 5432`; empty when unfiltered.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.kernel_states().is_some() {
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

    fn states(set: StateSet, names: &[&str]) -> Filter {
        Filter {
            states: Some(set),
            state_names: names.iter().map(|s| s.to_string()).collect(),
            ..Filter::default()
        }
    }

    #[test]
    fn unknown_states_pass_only_unfiltered_or_all() {
        let odd = TcpState::Unknown(0x0D);
        assert!(Filter::default().wants_state(odd));
        assert!(states(StateSet::ALL, &["all"]).wants_state(odd));
        assert!(!states(StateSet::connected(), &["connected"]).wants_state(odd));
        assert_eq!(states(StateSet::ALL, &["all"]).kernel_states(), None);
    }

    #[test]
    fn ports_and_families() {
        let mut f = states(
            StateSet::of(&[TcpState::CloseWait, TcpState::Listen]),
            &["close-wait", "listening"],
        );
        f.ports = vec![PortRange { lo: 5000, hi: 5000 }];
        f.families = [true, false];
        assert!(f.matches(&socket(TcpState::CloseWait, Family::Ipv4, 5000, 40000)));
        assert!(f.matches(&socket(TcpState::CloseWait, Family::Ipv4, 40000, 5000)));
        assert!(!f.matches(&socket(TcpState::CloseWait, Family::Ipv6, 5000, 1)));
        assert!(!f.matches(&socket(TcpState::Established, Family::Ipv4, 5000, 1)));
        assert!(!f.matches(&socket(TcpState::CloseWait, Family::Ipv4, 5001, 1)));
        assert_eq!(f.describe(), "state close-wait|listening, IPv4, port 5000");

        let f = Filter {
            sports: vec![PortRange { lo: 1, hi: 1024 }],
            dports: vec![PortRange { lo: 5432, hi: 5432 }],
            ..Filter::default()
        };
        assert!(f.matches(&socket(TcpState::Established, Family::Ipv6, 80, 5432)));
        assert!(!f.matches(&socket(TcpState::Established, Family::Ipv6, 5432, 80)));
        assert_eq!(Filter::default().describe(), "");
    }

    #[test]
    fn addresses_and_networks() {
        let f = Filter {
            srcs: vec!["127.0.0.0/8".parse().unwrap()],
            dsts: vec!["10.0.0.5/32".parse().unwrap(), "::1/128".parse().unwrap()],
            ..Filter::default()
        };
        let mut s = socket(TcpState::Established, Family::Ipv4, 1, 2);
        assert!(!f.matches(&s), "peer 127.0.0.1 is not in dst");
        s.remote = ([10, 0, 0, 5], 5432).into();
        assert!(f.matches(&s));
        s.local = ([192, 168, 0, 1], 1).into();
        assert!(!f.matches(&s), "local 192.168.0.1 is not in src");
        assert_eq!(f.describe(), "src 127.0.0.0/8, dst 10.0.0.5/32,::1/128");
    }
}
