//! Ages of sockets from their tcp_info, gathered while a second dump streams: a fixed
//! histogram per state (1 s buckets for the first ten minutes, coarser after), the exact
//! oldest and youngest, counts past fixed marks, and the oldest per local port. Memory is the
//! same for ten sockets or a million.

use std::collections::BTreeMap;

use crate::model::{FastMap, TcpInfo, TcpState};
use crate::report::{AgePattern, AgeSince, Ages};

/// Marks the findings say "N older than …" for, in seconds.
const MARKS: [u64; 8] = [10, 30, 60, 300, 600, 1800, 3600, 86_400];
/// Per-second buckets up to 10 min, 10-second ones up to an hour, minutes up to a day.
const FINE: u64 = 600;
const MEDIUM: u64 = 3600;
const COARSE: u64 = 86_400;
const BUCKETS: usize = (FINE + (MEDIUM - FINE) / 10 + (COARSE - MEDIUM) / 60 + 1) as usize;
/// Ports kept with their oldest (the exporter folds all but its `--max-series`).
const PORTS_KEPT: usize = 1000;

/// What the age of a socket in `state` counts from, and so which tcp_info field it is; `None`
/// for states whose age tcp_info does not tell.
pub fn since(state: TcpState) -> Option<AgeSince> {
    match state {
        TcpState::CloseWait => Some(AgeSince::PeerClosed),
        TcpState::FinWait1 | TcpState::FinWait2 | TcpState::LastAck | TcpState::Closing => {
            Some(AgeSince::LastSegment)
        }
        TcpState::Established => Some(AgeSince::Idle),
        _ => None,
    }
}

/// The age in milliseconds of a socket in `state`, from its tcp_info.
fn age_ms(since: AgeSince, info: &TcpInfo) -> u64 {
    let ms = match since {
        AgeSince::PeerClosed => info.last_ack_recv_ms,
        AgeSince::LastSegment => info.last_ack_recv_ms.min(info.last_data_recv_ms),
        AgeSince::Idle => info.last_data_sent_ms.min(info.last_data_recv_ms),
    };
    u64::from(ms)
}

fn bucket(secs: u64) -> usize {
    let b = if secs < FINE {
        secs
    } else if secs < MEDIUM {
        FINE + (secs - FINE) / 10
    } else if secs < COARSE {
        FINE + (MEDIUM - FINE) / 10 + (secs - MEDIUM) / 60
    } else {
        BUCKETS as u64 - 1
    };
    usize::try_from(b).unwrap_or(BUCKETS - 1).min(BUCKETS - 1)
}

/// The middle of a bucket, in seconds.
fn bucket_mid(b: usize) -> f64 {
    let b = b as u64;
    let fine_end = FINE;
    let medium_end = FINE + (MEDIUM - FINE) / 10;
    if b < fine_end {
        b as f64 + 0.5
    } else if b < medium_end {
        (FINE + (b - fine_end) * 10) as f64 + 5.0
    } else {
        (MEDIUM + (b - medium_end) * 60) as f64 + 30.0
    }
}

/// One state's ages.
struct Histogram {
    since: AgeSince,
    counts: Vec<u32>,
    total: u64,
    oldest_ms: u64,
    youngest_ms: u64,
    past: [u64; MARKS.len()],
    by_port: FastMap<u16, u64>,
}

impl Histogram {
    fn new(since: AgeSince) -> Histogram {
        Histogram {
            since,
            counts: vec![0; BUCKETS],
            total: 0,
            oldest_ms: 0,
            youngest_ms: u64::MAX,
            past: [0; MARKS.len()],
            by_port: FastMap::default(),
        }
    }

    fn add(&mut self, port: u16, ms: u64) {
        let secs = ms / 1000;
        let b = bucket(secs);
        self.counts[b] = self.counts[b].saturating_add(1);
        self.total += 1;
        self.oldest_ms = self.oldest_ms.max(ms);
        self.youngest_ms = self.youngest_ms.min(ms);
        for (i, &mark) in MARKS.iter().enumerate() {
            if secs >= mark {
                self.past[i] += 1;
            }
        }
        let oldest = self.by_port.entry(port).or_default();
        *oldest = (*oldest).max(ms);
    }

    fn median_s(&self) -> f64 {
        let half = self.total.div_ceil(2);
        let mut seen = 0u64;
        for (b, &n) in self.counts.iter().enumerate() {
            seen += u64::from(n);
            if seen >= half {
                return bucket_mid(b).min(self.oldest_ms as f64 / 1000.0);
            }
        }
        self.oldest_ms as f64 / 1000.0
    }

    fn finish(self, state: TcpState) -> Ages {
        let oldest_s = self.oldest_ms as f64 / 1000.0;
        let youngest_s = self.youngest_ms as f64 / 1000.0;
        let median_s = self.median_s().max(youngest_s);
        let older_than = MARKS
            .iter()
            .zip(self.past)
            .filter(|&(_, n)| n > 0)
            .map(|(&mark, n)| (mark, n))
            .collect();
        let mut ports: Vec<(u16, f64)> = self
            .by_port
            .into_iter()
            .map(|(port, ms)| (port, ms as f64 / 1000.0))
            .collect();
        ports.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ports.truncate(PORTS_KEPT);
        Ages {
            state,
            since: self.since,
            measured: self.total,
            oldest_s,
            median_s,
            youngest_s,
            older_than,
            pattern: pattern(oldest_s, youngest_s),
            oldest_by_port: ports,
        }
    }
}

/// A burst: all about the same age and none old. A steady leak: the oldest long past, the
/// ages spread out over that time.
fn pattern(oldest_s: f64, youngest_s: f64) -> AgePattern {
    let spread = oldest_s - youngest_s;
    if oldest_s < 600.0 && spread <= (0.2 * oldest_s).max(5.0) {
        AgePattern::Burst
    } else if oldest_s >= 300.0 && spread >= 0.5 * oldest_s {
        AgePattern::Steady
    } else {
        AgePattern::Mixed
    }
}

/// The ages of every state asked for, fed one socket at a time.
#[derive(Default)]
pub struct AgeBuilder {
    states: BTreeMap<TcpState, Histogram>,
}

impl AgeBuilder {
    /// Ages for these states (those tcp_info can date).
    pub fn new(states: impl IntoIterator<Item = TcpState>) -> AgeBuilder {
        let states = states
            .into_iter()
            .filter_map(|s| Some((s, Histogram::new(since(s)?))))
            .collect();
        AgeBuilder { states }
    }

    /// One socket of the dump: counted when its state is one asked for and it has tcp_info.
    pub fn add(&mut self, state: TcpState, local_port: u16, info: Option<&TcpInfo>) {
        if let (Some(h), Some(info)) = (self.states.get_mut(&state), info) {
            h.add(local_port, age_ms(h.since, info));
        }
    }

    /// The ages of each state that had at least one socket with tcp_info.
    pub fn finish(self) -> Vec<Ages> {
        self.states
            .into_iter()
            .filter(|(_, h)| h.total > 0)
            .map(|(state, h)| h.finish(state))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(ms: u32) -> TcpInfo {
        TcpInfo {
            last_ack_recv_ms: ms,
            ..TcpInfo::default()
        }
    }

    #[test]
    fn a_forty_second_leak_is_dated_to_the_second() {
        // Measured: 40 CLOSE_WAIT made 40 s earlier showed last_ack_recv 41672..41780 ms, and
        // 40 made 10 s earlier 11668..11776 ms.
        let mut b = AgeBuilder::new([TcpState::CloseWait]);
        for i in 0..40 {
            b.add(TcpState::CloseWait, 8080, Some(&closed(41_672 + i * 2)));
            b.add(TcpState::CloseWait, 8080, Some(&closed(11_668 + i * 2)));
        }
        b.add(TcpState::Established, 8080, Some(&closed(1)));
        b.add(TcpState::CloseWait, 8080, None);
        let ages = b.finish();
        assert_eq!(ages.len(), 1);
        let a = &ages[0];
        assert_eq!(a.measured, 80);
        assert!((a.oldest_s - 41.75).abs() < 0.01, "{a:?}");
        assert!((a.youngest_s - 11.668).abs() < 0.01, "{a:?}");
        assert!((11.0..=42.0).contains(&a.median_s), "{a:?}");
        assert_eq!(a.older_than, vec![(10, 80), (30, 40)]);
        assert_eq!(a.oldest_by_port, vec![(8080, 41.75)]);
    }

    #[test]
    fn a_burst_and_a_steady_leak_look_different() {
        assert_eq!(pattern(12.0, 11.0), AgePattern::Burst);
        assert_eq!(pattern(3.0, 0.1), AgePattern::Burst);
        assert_eq!(pattern(3.0 * 3600.0, 5.0), AgePattern::Steady);
        assert_eq!(pattern(120.0, 2.0), AgePattern::Mixed);
    }

    #[test]
    fn buckets_cover_every_age_and_medians_stay_inside_the_range() {
        let mut last = 0;
        for secs in [
            0,
            1,
            599,
            600,
            609,
            610,
            3599,
            3600,
            3659,
            3660,
            86_399,
            86_400,
            u64::MAX / 1000,
        ] {
            let b = bucket(secs);
            assert!(b >= last && b < BUCKETS, "{secs}: {b}");
            last = b;
            let mid = bucket_mid(b);
            assert!(
                secs >= 86_400 || (mid - secs as f64).abs() <= 60.0,
                "{secs}: {mid}"
            );
        }
        let mut h = AgeBuilder::new([TcpState::CloseWait]);
        h.add(TcpState::CloseWait, 1, Some(&closed(u32::MAX)));
        let a = &h.finish()[0];
        assert!(
            a.median_s <= a.oldest_s && a.median_s >= a.youngest_s,
            "{a:?}"
        );
    }
}
