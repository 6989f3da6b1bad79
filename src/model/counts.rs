//! Socket counts per state: one type for the summary, each `top` group and each namespace.
//! Fixed-size, so memory does not grow with the number of sockets counted.

use std::collections::BTreeMap;

use super::{Family, TcpState};

/// Sockets per state; codes this build does not know are kept by code, never dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    known: [u64; 11],
    unknown: BTreeMap<u8, u64>,
}

impl StateCounts {
    pub fn add(&mut self, state: TcpState) {
        match state.index() {
            Some(i) => self.known[i] += 1,
            None => *self.unknown.entry(state.code()).or_default() += 1,
        }
    }

    /// Adds `n` sockets in `state`.
    pub fn add_n(&mut self, state: TcpState, n: u64) {
        match state.index() {
            Some(i) => self.known[i] += n,
            None => *self.unknown.entry(state.code()).or_default() += n,
        }
    }

    /// Count of one state (an unknown code counts by its code).
    pub fn get(&self, state: TcpState) -> u64 {
        match state.index() {
            Some(i) => self.known[i],
            None => self.unknown.get(&state.code()).copied().unwrap_or(0),
        }
    }

    /// Every socket, unknown states included.
    pub fn total(&self) -> u64 {
        self.known.iter().sum::<u64>() + self.unknown_total()
    }

    /// Sockets in states this build does not know, by raw code.
    pub fn unknown(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.unknown.iter().map(|(&code, &n)| (code, n))
    }

    pub fn unknown_total(&self) -> u64 {
        self.unknown.values().sum()
    }

    /// Adds another count into this one.
    pub fn merge(&mut self, other: &StateCounts) {
        for (mine, theirs) in self.known.iter_mut().zip(other.known) {
            *mine += theirs;
        }
        for (code, n) in other.unknown() {
            *self.unknown.entry(code).or_default() += n;
        }
    }
}

/// Socket counts per family and state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    families: [StateCounts; 2],
}

impl Tally {
    pub fn add(&mut self, family: Family, state: TcpState) {
        self.families[family.index()].add(state);
    }

    /// The counts of one family.
    pub fn family(&self, family: Family) -> &StateCounts {
        &self.families[family.index()]
    }

    /// Count of one state in one family.
    pub fn get(&self, family: Family, state: TcpState) -> u64 {
        self.family(family).get(state)
    }

    /// Count of one state over both families.
    pub fn state_total(&self, state: TcpState) -> u64 {
        Family::ALL.iter().map(|&f| self.get(f, state)).sum()
    }

    /// All sockets of one family, unknown states included.
    pub fn family_total(&self, family: Family) -> u64 {
        self.family(family).total()
    }

    pub fn total(&self) -> u64 {
        Family::ALL.iter().map(|&f| self.family_total(f)).sum()
    }

    /// Both families together.
    pub fn both(&self) -> StateCounts {
        let mut all = self.families[0].clone();
        all.merge(&self.families[1]);
        all
    }

    /// Sockets in states this build does not know, by family and raw code.
    pub fn unknown(&self) -> impl Iterator<Item = (Family, u8, u64)> + '_ {
        Family::ALL
            .into_iter()
            .flat_map(|f| self.family(f).unknown().map(move |(code, n)| (f, code, n)))
    }

    /// Adds another tally into this one (the host-wide total of several namespaces).
    pub fn merge(&mut self, other: &Tally) {
        for f in Family::ALL {
            self.families[f.index()].merge(other.family(f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_known_and_unknown_states() {
        let mut tally = Tally::default();
        tally.add(Family::Ipv4, TcpState::Listen);
        tally.add(Family::Ipv6, TcpState::Listen);
        tally.add(Family::Ipv6, TcpState::Unknown(0x0D));
        assert_eq!(tally.state_total(TcpState::Listen), 2);
        assert_eq!(tally.get(Family::Ipv6, TcpState::Unknown(0x0D)), 1);
        assert_eq!(tally.family_total(Family::Ipv6), 2);
        assert_eq!(tally.total(), 3);
        assert_eq!(tally.both().total(), 3);
        assert_eq!(
            tally.unknown().collect::<Vec<_>>(),
            vec![(Family::Ipv6, 0x0D, 1)]
        );
    }

    #[test]
    fn merged_counts_add_up() {
        let mut a = Tally::default();
        a.add(Family::Ipv4, TcpState::CloseWait);
        let mut b = Tally::default();
        b.add(Family::Ipv4, TcpState::CloseWait);
        b.add(Family::Ipv4, TcpState::Unknown(0x0E));
        a.merge(&b);
        assert_eq!(a.get(Family::Ipv4, TcpState::CloseWait), 2);
        assert_eq!(a.total(), 3);
    }
}
