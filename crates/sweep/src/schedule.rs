//! The order of a sweep's runs. Interleaved (the default): every configuration's repetition 0
//! in a seeded random order, then repetition 1 in a new order, and so on, so that a slow drift
//! of the machine or a noisy neighbour spreads over all configurations instead of landing on
//! one configuration's repetitions at once. Sequential: the plan's order (configuration by
//! configuration). The seed is drawn once and recorded with the results (`# order: ...` in
//! experiment.toml), so a resumed sweep keeps the plan of its first session.

use crate::experiment::Order;
use crate::plan::Plan;

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, stable, seedable generator; the same seed
/// gives the same order on every version and platform.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in 0..n (n > 0); the modulo bias is below 2^-40 for the sizes used here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// A seed for a new sweep: the clock and the process id, mixed.
pub fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    SplitMix::new(t ^ u64::from(std::process::id()).rotate_left(32)).next_u64() >> 1
}

/// The plan's groups ([`Plan::groups`]) in the order they run.
pub fn order(plan: &Plan, order: Order, seed: u64) -> Vec<Vec<usize>> {
    let groups = plan.groups();
    if order == Order::Sequential {
        return groups;
    }
    let max_rep = plan.runs.iter().map(|r| r.rep).max().unwrap_or(0);
    let mut out = Vec::with_capacity(groups.len());
    for rep in 0..=max_rep {
        let mut these: Vec<Vec<usize>> = groups
            .iter()
            .filter(|g| plan.runs[g[0]].rep == rep)
            .cloned()
            .collect();
        SplitMix::new(seed ^ u64::from(rep).wrapping_mul(0x9e37_79b9)).shuffle(&mut these);
        out.extend(these);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Experiment;

    fn plan() -> Plan {
        let text = r#"
[probe]
interval = "1ms"
duration = "1s"
repetitions = 3
[axes]
busy-poll = [false, true]
fwd.poll = [false, true]
ping.poll = [false, true]
"#;
        crate::expand(&Experiment::parse(text, "t.toml").expect("parses")).expect("expands")
    }

    #[test]
    fn interleaved_runs_every_repetition_0_first_in_a_new_order_each_time() {
        let p = plan();
        let o = order(&p, Order::Interleaved, 7);
        assert_eq!(o.len(), p.runs.len());
        let reps: Vec<u32> = o.iter().map(|g| p.runs[g[0]].rep).collect();
        assert!(reps.windows(2).all(|w| w[0] <= w[1]), "{reps:?}");
        let cfgs = |rep: u32| -> Vec<usize> {
            o.iter()
                .map(|g| &p.runs[g[0]])
                .filter(|r| r.rep == rep)
                .map(|r| r.config)
                .collect()
        };
        assert_eq!(cfgs(0).len(), p.configs.len());
        assert_ne!(cfgs(0), cfgs(1), "each repetition has its own order");
        let sequential: Vec<usize> = (0..p.configs.len()).collect();
        assert_ne!(cfgs(0), sequential);
        // every run exactly once
        let mut all: Vec<usize> = o.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..p.runs.len()).collect::<Vec<_>>());
    }

    #[test]
    fn the_seed_decides_the_order() {
        let p = plan();
        assert_eq!(
            order(&p, Order::Interleaved, 7),
            order(&p, Order::Interleaved, 7)
        );
        assert_ne!(
            order(&p, Order::Interleaved, 7),
            order(&p, Order::Interleaved, 8)
        );
        assert_eq!(order(&p, Order::Sequential, 7), p.groups());
    }
}
