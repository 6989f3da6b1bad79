//! How long connections lived, as histograms: the classic buckets Prometheus exposes (chosen for
//! connection lifetimes: a millisecond to a day) and, for one namespace's window, finer
//! logarithmic buckets for the median and p99 a person reads. Fixed size: a flood of closes
//! never grows them.

/// The classic buckets' upper bounds, in milliseconds (`le` in seconds: 0.001 … 86400). A
/// connection that lived longer counts only in `+Inf`.
pub const CLASSIC_MS: [u64; 13] = [
    1, 10, 100, 500, 1_000, 5_000, 15_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000,
    86_400_000,
];

/// Fine buckets per doubling: bucket `i` holds `[2^(i/4), 2^((i+1)/4))` ms, so a quantile is
/// within 19% of the truth (half that with the geometric middle), from 1 ms up.
const FINE_PER_DOUBLING: u32 = 4;
/// 2^27 ms is 37 hours; the last bucket is open-ended.
const FINE: usize = 27 * FINE_PER_DOUBLING as usize + 1;

/// Lifetimes counted in the classic buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Histogram {
    pub count: u64,
    pub sum_ms: u64,
    /// Per bucket of [`CLASSIC_MS`], not cumulative; the last is past the largest bound.
    pub buckets: [u64; CLASSIC_MS.len() + 1],
}

impl Histogram {
    pub fn add(&mut self, ms: u64) {
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
        let i = CLASSIC_MS.partition_point(|&bound| bound < ms);
        self.buckets[i] += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        self.count += other.count;
        self.sum_ms = self.sum_ms.saturating_add(other.sum_ms);
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
    }

    /// Cumulative counts per bound, as Prometheus writes `_bucket{le=…}` (then `+Inf` = count).
    pub fn cumulative(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        CLASSIC_MS
            .iter()
            .zip(self.buckets)
            .scan(0u64, |sum, (&bound, n)| {
                *sum += n;
                Some((bound, *sum))
            })
    }

    /// The bucket holding quantile `q` (0..=1), as its upper bound in ms (`None` past the
    /// largest, or when empty): what a per-destination row can say with this resolution.
    pub fn quantile_bound(&self, q: f64) -> Option<u64> {
        let rank = rank(self.count, q)?;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return CLASSIC_MS.get(i).copied();
            }
        }
        None
    }
}

/// Lifetimes in fine buckets too: the median and the p99 of one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifetimes {
    pub classic: Histogram,
    fine: Box<[u32; FINE]>,
}

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        Lifetimes {
            classic: Histogram::default(),
            fine: Box::new([0; FINE]),
        }
    }
}

impl Lifetimes {
    pub fn add(&mut self, ms: u64) {
        self.classic.add(ms);
        let slot = &mut self.fine[fine_bucket(ms)];
        *slot = slot.saturating_add(1);
    }

    pub fn merge(&mut self, other: &Lifetimes) {
        self.classic.merge(&other.classic);
        for (a, b) in self.fine.iter_mut().zip(other.fine.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    pub fn count(&self) -> u64 {
        self.classic.count
    }

    /// Quantile `q` (0..=1) in milliseconds: the geometric middle of its fine bucket (0 for the
    /// first, which holds everything under a millisecond). `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let rank = rank(self.classic.count, q)?;
        let mut seen = 0u64;
        for (i, &n) in self.fine.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                if i == 0 {
                    return Some(0.5);
                }
                let per = f64::from(FINE_PER_DOUBLING);
                return Some(2f64.powf((i as f64 - 0.5) / per));
            }
        }
        // Saturated counters: the last bucket.
        Some(2f64.powf((FINE - 1) as f64 / f64::from(FINE_PER_DOUBLING)))
    }
}

/// The 1-based rank of quantile `q` among `count` values.
fn rank(count: u64, q: f64) -> Option<u64> {
    if count == 0 || !q.is_finite() {
        return None;
    }
    Some(((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).clamp(1, count))
}

/// Bucket 0 holds `[0, 1)` ms; bucket `i` ≥ 1 holds `[2^((i-1)/4), 2^(i/4))`.
fn fine_bucket(ms: u64) -> usize {
    if ms == 0 {
        return 0;
    }
    let per = f64::from(FINE_PER_DOUBLING);
    let i = ((ms as f64).log2() * per).floor() as usize + 1;
    i.min(FINE - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_buckets_count_each_lifetime_once_at_its_bound() {
        let mut h = Histogram::default();
        for ms in [0, 1, 2, 10, 999, 1_000, 86_400_000, 86_400_001] {
            h.add(ms);
        }
        let cumulative: Vec<(u64, u64)> = h.cumulative().collect();
        // le=0.001 holds 0 and 1 ms (a bound is inclusive), le=0.01 adds 2 and 10 ms.
        assert_eq!(cumulative[0], (1, 2));
        assert_eq!(cumulative[1], (10, 4));
        assert_eq!(cumulative[4], (1_000, 6));
        assert_eq!(cumulative.last(), Some(&(86_400_000, 7)));
        assert_eq!(h.count, 8);
        assert_eq!(h.quantile_bound(0.5), Some(10));
        assert_eq!(h.quantile_bound(1.0), None, "past the largest bound");
        assert_eq!(Histogram::default().quantile_bound(0.5), None);
    }

    #[test]
    fn fine_quantiles_are_within_a_tenth() {
        let mut l = Lifetimes::default();
        // 99 connections of 200 ms and one of 30 s.
        for _ in 0..99 {
            l.add(200);
        }
        l.add(30_000);
        let median = l.quantile_ms(0.5).unwrap();
        assert!((median / 200.0 - 1.0).abs() < 0.1, "{median}");
        let p99 = l.quantile_ms(0.99).unwrap();
        assert!((p99 / 200.0 - 1.0).abs() < 0.1, "{p99}");
        let max = l.quantile_ms(1.0).unwrap();
        assert!((max / 30_000.0 - 1.0).abs() < 0.1, "{max}");
        assert_eq!(Lifetimes::default().quantile_ms(0.5), None);
        let mut sub = Lifetimes::default();
        sub.add(0);
        assert_eq!(sub.quantile_ms(0.5), Some(0.5));
        // Merging adds both.
        let mut both = Lifetimes::default();
        both.merge(&l);
        both.merge(&sub);
        assert_eq!(both.count(), 101);
    }

    #[test]
    fn every_lifetime_has_a_bucket() {
        for ms in [0, 1, 2, 3, u64::from(u32::MAX), u64::MAX] {
            assert!(fine_bucket(ms) < FINE, "{ms}");
        }
        assert_eq!(fine_bucket(1), 1);
        assert_eq!(fine_bucket(2), 5);
    }
}
