//! Which configurations each race of `xdplat tune` measures: iterated racing (López-Ibáñez et
//! al., "The irace package", Operations Research Perspectives 3, 2016), made small. The first
//! race takes the default configuration and a seeded uniform sample of the space, as many as
//! the race's share of the budget can measure; each later race takes the elites of the one
//! before and their untried neighbours (one axis changed), the ones the marginal evidence so
//! far favours first, so that it searches around what won. When the whole space fits in the budget, the first race is all of it. Every choice is a
//! function of the seed and of committed results, so a resumed tune makes the same choices.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::plan::Plan;
use crate::schedule::SplitMix;

/// Elites carried from one race to the next, and to the final runs.
pub const ELITES: usize = 3;

/// The configurations of the space (the plan's, without the kernel baseline).
pub fn space(plan: &Plan) -> Vec<usize> {
    (0..plan.configs.len())
        .filter(|c| !plan.configs[*c].baseline)
        .collect()
}

/// The default configuration: each axis at its first value (a derived space lists the value in
/// force first), or the first configuration of the space when that one is excluded.
pub fn default_config(plan: &Plan, axes: &[crate::experiment::Axis]) -> Option<usize> {
    let first = space(plan);
    first
        .iter()
        .copied()
        .find(|c| {
            axes.iter()
                .all(|a| plan.configs[*c].get(&a.key) == a.values.first())
        })
        .or_else(|| first.first().copied())
}

/// How many configurations a race can measure with `remaining` probe time: each is sliced
/// `min_rounds` times before the first elimination, and about as much again is spent on the
/// survivors' later rounds.
pub fn race_size(remaining: Duration, slice: Duration, min_rounds: u32) -> usize {
    let per = slice.as_nanos().max(1) * u128::from(min_rounds) * 2;
    (remaining.as_nanos() / per) as usize
}

/// The configurations of `plan` that differ from `c` in exactly one axis.
pub fn neighbours(plan: &Plan, c: usize) -> Vec<usize> {
    let me = &plan.configs[c];
    space(plan)
        .into_iter()
        .filter(|o| {
            let other = &plan.configs[*o];
            other.values.len() == me.values.len()
                && other
                    .values
                    .iter()
                    .zip(&me.values)
                    .filter(|(a, b)| a != b)
                    .count()
                    == 1
        })
        .collect()
}

/// The first race: the default and a seeded sample of the rest, `n` in all.
pub fn first(plan: &Plan, default: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut rest: Vec<usize> = space(plan).into_iter().filter(|c| *c != default).collect();
    SplitMix::new(seed).shuffle(&mut rest);
    let mut out = vec![default];
    out.extend(rest.into_iter().take(n.saturating_sub(1)));
    out
}

/// The marginal evidence so far: for each axis and value, the median objective of the measured
/// configurations that have it. `promise(from, to)` is how much better (lower) `to`'s values
/// look than `from`'s on the axes where they differ; a value never measured looks best.
#[derive(Debug)]
pub struct Marginals(BTreeMap<(String, String), f64>);

impl Marginals {
    /// From the objective of each measured configuration (plan index → value).
    pub fn new(plan: &Plan, measured: &BTreeMap<usize, f64>) -> Marginals {
        let mut by: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
        for (c, m) in measured {
            for (k, v) in &plan.configs[*c].values {
                by.entry((k.clone(), v.to_string())).or_default().push(*m);
            }
        }
        Marginals(
            by.into_iter()
                .map(|(k, mut v)| (k, analysis::robust::median(&mut v)))
                .collect(),
        )
    }

    pub fn promise(&self, plan: &Plan, from: usize, to: usize) -> f64 {
        let (a, b) = (&plan.configs[from], &plan.configs[to]);
        a.values
            .iter()
            .zip(&b.values)
            .filter(|(x, y)| x != y)
            .map(|((k, va), (_, vb))| {
                let at = |v: &crate::value::Val| self.0.get(&(k.clone(), v.to_string())).copied();
                match (at(va), at(vb)) {
                    (Some(x), Some(y)) => y - x,
                    _ => f64::NEG_INFINITY,
                }
            })
            .sum()
    }
}

/// A later race: the elites (as many as leave room for one more), then up to `n` in all of
/// untried configurations: the
/// elites' neighbours first (the best elite's first, each elite's in the order of the marginal
/// evidence, the most promising first, ties in seeded random order), the rest of the space
/// after them. Empty when nothing is left to try.
pub fn next(
    plan: &Plan,
    elites: &[usize],
    tried: &BTreeSet<usize>,
    marginals: &Marginals,
    n: usize,
    seed: u64,
) -> Vec<usize> {
    let mut rng = SplitMix::new(seed);
    // room for one new configuration at least: the worst elites give way when `n` is small
    let elites = &elites[..elites
        .len()
        .min(n.saturating_sub(1))
        .max(1)
        .min(elites.len())];
    let mut new: Vec<usize> = Vec::new();
    for e in elites {
        let mut near: Vec<usize> = neighbours(plan, *e)
            .into_iter()
            .filter(|c| !tried.contains(c) && !new.contains(c))
            .collect();
        rng.shuffle(&mut near);
        near.sort_by(|a, b| {
            marginals
                .promise(plan, *e, *a)
                .total_cmp(&marginals.promise(plan, *e, *b))
        });
        new.extend(near);
    }
    let mut far: Vec<usize> = space(plan)
        .into_iter()
        .filter(|c| !tried.contains(c) && !new.contains(c))
        .collect();
    rng.shuffle(&mut far);
    new.extend(far);
    new.truncate(n.saturating_sub(elites.len()));
    if new.is_empty() {
        return Vec::new();
    }
    elites.iter().copied().chain(new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Config;
    use crate::value::Val;

    fn plan(axes: &[usize]) -> Plan {
        let mut configs = Vec::new();
        let total: usize = axes.iter().product();
        for mut i in 0..total {
            let mut values = Vec::new();
            for (k, n) in axes.iter().enumerate() {
                values.push((format!("a{k}"), Val::Int((i % n) as i64)));
                i /= n;
            }
            configs.push(Config {
                id: format!("c{}", configs.len()),
                values,
                baseline: false,
            });
        }
        Plan {
            configs,
            excluded: Vec::new(),
            runs: Vec::new(),
            measure_per_run: Duration::from_secs(1),
            wall_per_run: Duration::from_secs(1),
            together: false,
        }
    }

    #[test]
    fn neighbours_differ_in_one_axis() {
        let p = plan(&[2, 3, 2]);
        // c0 = (0,0,0): (1,0,0), (0,1,0), (0,2,0), (0,0,1)
        assert_eq!(neighbours(&p, 0), vec![1, 2, 4, 6]);
    }

    #[test]
    fn the_first_race_holds_the_default_and_is_seeded() {
        let p = plan(&[2, 2, 2, 2]);
        let a = first(&p, 5, 6, 1);
        assert_eq!(a[0], 5);
        assert_eq!(a.len(), 6);
        assert_eq!(a.iter().collect::<BTreeSet<_>>().len(), 6);
        assert_eq!(a, first(&p, 5, 6, 1));
        assert_ne!(a, first(&p, 5, 6, 2));
        assert_eq!(first(&p, 0, 100, 1).len(), 16, "never more than the space");
    }

    #[test]
    fn later_races_search_around_the_elites() {
        let p = plan(&[2, 2, 2, 2]);
        let tried: BTreeSet<usize> = [0, 15].into_iter().collect();
        let none = Marginals::new(&p, &BTreeMap::new());
        let n = next(&p, &[0], &tried, &none, 5, 3);
        assert_eq!(n[0], 0);
        // the 4 neighbours of c0 (1, 2, 4, 8) come before anything farther
        let near: BTreeSet<usize> = n[1..].iter().copied().collect();
        assert_eq!(near, [1, 2, 4, 8].into_iter().collect());
        let all: BTreeSet<usize> = (0..16).collect();
        assert!(next(&p, &[0], &all, &none, 5, 3).is_empty());
        // a small race keeps the best elites and one new configuration
        let small = next(&p, &[0, 15, 3], &tried, &none, 3, 3);
        assert_eq!(&small[..2], &[0, 15]);
        assert_eq!(small.len(), 3);
    }

    #[test]
    fn the_most_promising_neighbour_comes_first() {
        // c = a0 + 2 a1 + 4 a2; with a2 = 1 measured faster, c0's neighbour c4 goes first
        let p = plan(&[2, 2, 2]);
        let measured: BTreeMap<usize, f64> = [(0, 10.0), (3, 10.0), (5, 5.0), (6, 5.0)]
            .into_iter()
            .collect();
        let m = Marginals::new(&p, &measured);
        assert_eq!(m.promise(&p, 0, 4), -5.0);
        assert_eq!(m.promise(&p, 0, 1), 0.0);
        let tried: BTreeSet<usize> = measured.keys().copied().collect();
        for seed in 0..8 {
            assert_eq!(next(&p, &[0], &tried, &m, 2, seed), vec![0, 4]);
        }
    }

    #[test]
    fn race_size_follows_the_budget() {
        let s = Duration::from_secs(1);
        assert_eq!(race_size(Duration::from_secs(80), s, 4), 10);
        assert_eq!(race_size(Duration::from_secs(7), s, 4), 0);
    }
}
