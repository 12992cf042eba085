//! The RTT histogram of a ping's hot path: HdrHistogram's own bucket layout (values 1 ns to
//! [`crate::tally::HIST_MAX_NS`], 3 significant digits) with a record that is four integer
//! operations and an increment, turned into an [`hdrhistogram::Histogram`] once, at the end.
//!
//! Why not record into the hdrhistogram crate directly: its `saturating_record` cost 6.6 ns per
//! probe here (index checks, min/max, auto-resize tests, across a crate boundary), two thirds of
//! the whole tally at batch 1. Recording each bucket's lowest value `n` times into the crate's
//! histogram puts `n` in the very bucket this one counted, so the result is the same histogram
//! (tested), min, max and quantiles included.

use hdrhistogram::Histogram;

/// log2 of half the sub-buckets per bucket: 3 significant digits need 2048 sub-buckets.
const HALF_MAGNITUDE: u32 = 10;
const HALF: u64 = 1 << HALF_MAGNITUDE;
/// `64 - unit magnitude (0: 1 ns) - HALF_MAGNITUDE - 1`, as hdrhistogram computes it.
const LZ_BASE: u32 = 64 - HALF_MAGNITUDE - 1;
const SUB_MASK: u64 = 2 * HALF - 1;

#[derive(Debug, Clone)]
pub struct RttHist {
    counts: Vec<u64>,
    max: u64,
    total: u64,
}

#[inline(always)]
fn index(v: u64) -> usize {
    let bucket = LZ_BASE - (v | SUB_MASK).leading_zeros();
    (((u64::from(bucket) + 1) << HALF_MAGNITUDE) + (v >> bucket) - HALF) as usize
}

/// The lowest value of bucket `i` (hdrhistogram's `value_for(i)`).
fn value_of(i: usize) -> u64 {
    let i = i as u64;
    let mut bucket = (i >> HALF_MAGNITUDE) as i64 - 1;
    let mut sub = (i & (HALF - 1)) + HALF;
    if bucket < 0 {
        sub -= HALF;
        bucket = 0;
    }
    sub << bucket
}

impl RttHist {
    /// Values above `max` are clamped to it.
    pub fn new(max: u64) -> RttHist {
        RttHist {
            counts: vec![0; index(max) + 1],
            max,
            total: 0,
        }
    }

    #[inline(always)]
    pub fn record(&mut self, v: u64) {
        let i = index(v.min(self.max));
        // in bounds: index is monotonic and v <= max; the check stays for safety of the slice
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
            self.total += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    /// The highest value in the bucket holding quantile `q` (for progress lines only: the run's
    /// statistics come from [`RttHist::into_hdr`]).
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        let want = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return value_of(i + 1).saturating_sub(1).max(value_of(i));
            }
        }
        0
    }

    /// The same counts as an hdrhistogram histogram (1 ns to `max`, 3 significant digits).
    pub fn into_hdr(self) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, self.max, 3).expect("valid bounds");
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                h.saturating_record_n(value_of(i).max(1), c);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_histogram_as_recording_into_hdrhistogram() {
        let max = crate::tally::HIST_MAX_NS;
        let mut ours = RttHist::new(max);
        let mut theirs = Histogram::<u64>::new_with_bounds(1, max, 3).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, max - 1, max];
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // RTT-like values from 1 ns to 60 s, log-uniform
            values.push(1 + (x % (1 << (x % 36))));
        }
        values.push(max + 12345);
        for &v in &values {
            ours.record(v);
            theirs.saturating_record(v.min(max));
        }
        let ours = ours.into_hdr();
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(ours.min(), theirs.min());
        assert_eq!(ours.max(), theirs.max());
        assert_eq!(ours.mean(), theirs.mean());
        for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            assert_eq!(
                ours.value_at_quantile(q),
                theirs.value_at_quantile(q),
                "q {q}"
            );
        }
        assert!(ours == theirs, "every bucket equal");
    }

    #[test]
    fn progress_quantiles_land_in_hdrhistogram_s_bucket() {
        let mut ours = RttHist::new(crate::tally::HIST_MAX_NS);
        for v in [5_000u64, 6_000, 7_000, 100_000] {
            ours.record(v);
        }
        let hdr = ours.clone().into_hdr();
        for q in [0.5, 0.99] {
            assert_eq!(ours.value_at_quantile(q), hdr.value_at_quantile(q), "q {q}");
        }
    }
}
