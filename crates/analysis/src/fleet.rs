//! `xdplat fleet`: many host pairs' sweeps (one directory per pair, as the Ansible collection in
//! `ansible/` fetches them: `FLEET/<pair>/sweep/` and `FLEET/<pair>/doctor.json`) read as one:
//! a per-pair table (median, p99, the best configuration, doctor's facts), and which pairs
//! differ from the rest of the fleet.
//!
//! **Differ**: for every configuration all pairs ran (matched by the sweep's configuration id,
//! a hash of the axis values), the pair's probes against a reference pooled from the other
//! pairs nearest the fleet's median for that configuration (half of them, at least one: a slow
//! pair must not drag the reference of the others, and a masked outlier is the classic failure
//! of leave-one-out comparisons with few pairs): the
//! Mann–Whitney test and the bootstrap interval of the median shift of [`crate::compare`], and
//! a shift of at least `min_shift` of the others' median (huge samples make any shift
//! "significant"), the pair's median far out among all the pairs' medians (Iglewicz and
//! Hoaglin's modified z-score above 3.5), and every repetition of the pair beyond every repetition of the reference
//! (probes of one run are not independent: they share its CPU placement and its neighbours'
//! load, so two healthy pairs sharing a host differ by more than the probes' interval says). A
//! pair that differs so in most of the configurations (more than half), all in the same
//! direction, is an outlier: one configuration that differs is reported in its row's shifts,
//! not as an outlier pair. It is explained by the stage of the round trip whose median
//! moved most against the other pairs (the chain stages add up to the RTT) and by the doctor
//! facts in which it differs from the majority of the fleet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::robust::median;
use crate::stages::stage_label;

/// One run of one pair.
#[derive(Debug, Clone)]
pub struct PairRun {
    pub config: String,
    pub label: String,
    pub rep: u32,
    pub run: String,
    pub rtt: Option<results::Describe>,
    pub sent: u64,
    pub lost: u64,
    /// Median of each measured stage (ns).
    pub stages: BTreeMap<String, f64>,
    pub params: serde_json::Map<String, Value>,
    pub samples: PathBuf,
}

/// One pair: its sweep's runs and doctor's facts.
#[derive(Debug, Clone)]
pub struct Pair {
    pub name: String,
    pub runs: Vec<PairRun>,
    /// Fact → value (kernel, driver, zero-copy, NAPI, xdplat), from `doctor.json`.
    pub facts: BTreeMap<String, String>,
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

/// Doctor's facts that tell two pairs' hosts apart.
fn facts(doctor: &Value) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            f.insert(k.to_string(), v);
        }
    };
    put(
        "kernel",
        doctor["kernel"]["release"].as_str().map(str::to_string),
    );
    let i = doctor["interfaces"].as_array().and_then(|a| a.first());
    if let Some(i) = i {
        put("driver", i["driver"].as_str().map(str::to_string));
        put(
            "zero-copy",
            Some((i["tries"]["bind_zero_copy"]["result"] == "ok").to_string()),
        );
        put(
            "napi",
            Some(
                i["napi_ids"]
                    .as_array()
                    .is_some_and(|n| !n.is_empty())
                    .to_string(),
            ),
        );
        put("firmware", i["firmware"].as_str().map(str::to_string));
    }
    f
}

/// Reads the pairs under `dir` (every subdirectory holding `sweep/runs/`), sorted by name.
pub fn load(dir: &Path) -> Result<Vec<Pair>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut pairs = Vec::new();
    for e in rd.flatten() {
        let base = e.path();
        let sweep = base.join("sweep");
        if !sweep.join("runs").is_dir() {
            continue;
        }
        let mut runs = Vec::new();
        for r in crate::run_dirs(&sweep)? {
            let s = results::read_summary(&r.join(results::SUMMARY_FILE))?;
            let Some(sw) = s.sweep() else { continue };
            runs.push(PairRun {
                config: sw.config,
                label: sw.label,
                rep: s.repetition,
                run: sw.run,
                rtt: s.rtt_ns,
                sent: s.packets.sent,
                lost: s.packets.lost,
                stages: s
                    .stages
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.get("median")?.as_f64()?)))
                    .collect(),
                params: s.params.clone(),
                samples: r.join(results::SAMPLES_FILE),
            });
        }
        pairs.push(Pair {
            name: e.file_name().to_string_lossy().into_owned(),
            runs,
            facts: read_json(&base.join("doctor.json"))
                .map(|d| facts(&d))
                .unwrap_or_default(),
        });
    }
    pairs.sort_by(|a, b| a.name.cmp(&b.name));
    if pairs.len() < 2 {
        return Err(Error::input(
            dir.display(),
            None,
            None,
            format!(
                "{} pair(s) with a sweep (PAIR/sweep/runs/); a fleet needs 2 or more",
                pairs.len()
            ),
        ));
    }
    Ok(pairs)
}

/// One pair in the fleet's table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PairRow {
    pub pair: String,
    pub runs: usize,
    /// The median over the pair's configurations of each configuration's median RTT.
    pub median_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub best_config: Option<String>,
    pub best_label: Option<String>,
    pub best_median_ns: Option<f64>,
    pub facts: BTreeMap<String, String>,
    /// Differs from the rest of the fleet.
    pub outlier: bool,
    /// Why, in words (the stage and the facts).
    pub explanation: Option<String>,
    /// Per common configuration: the median shift against the other pairs (ns), and whether it
    /// counts.
    pub shifts: Vec<Shift>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shift {
    pub config: String,
    pub shift_ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
    pub p_value: f64,
    pub differs: bool,
}

/// The whole comparison (`fleet.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fleet {
    pub schema: u32,
    pub pairs: Vec<PairRow>,
    /// Configurations every pair ran.
    pub common_configs: Vec<String>,
    pub min_shift: f64,
}

fn config_medians(p: &Pair) -> BTreeMap<String, (String, Vec<f64>, Vec<f64>)> {
    let mut m: BTreeMap<String, (String, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in &p.runs {
        if let Some(d) = &r.rtt {
            let e = m
                .entry(r.config.clone())
                .or_insert_with(|| (r.label.clone(), Vec::new(), Vec::new()));
            e.1.push(d.median);
            e.2.push(d.p99);
        }
    }
    m
}

fn probes(p: &Pair, config: &str) -> Result<Vec<i64>, Error> {
    let mut out = Vec::new();
    for r in p.runs.iter().filter(|r| r.config == config) {
        if r.samples.is_file() {
            out.extend(results::read_rtts(&r.samples)?);
        }
    }
    Ok(out)
}

fn stage_medians(p: &Pair, configs: &[String]) -> BTreeMap<String, f64> {
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in p.runs.iter().filter(|r| configs.contains(&r.config)) {
        for (k, v) in &r.stages {
            if results::CHAIN_STAGES.contains(&k.as_str()) {
                by.entry(k.clone()).or_default().push(*v);
            }
        }
    }
    by.into_iter()
        .map(|(k, mut v)| (k, median(&mut v)))
        .collect()
}

/// Compares the pairs; `min_shift` is the smallest shift that counts, as a fraction of the
/// other pairs' median (0.25: a quarter).
pub fn compare(pairs: &[Pair], min_shift: f64, seed: u64) -> Result<Fleet, Error> {
    let medians: Vec<_> = pairs.iter().map(config_medians).collect();
    let common: Vec<String> = medians[0]
        .keys()
        .filter(|c| medians.iter().all(|m| m.contains_key(*c)))
        .cloned()
        .collect();
    let all_probes: Vec<BTreeMap<String, Vec<i64>>> = pairs
        .iter()
        .map(|p| {
            common
                .iter()
                .map(|c| Ok((c.clone(), probes(p, c)?)))
                .collect::<Result<_, Error>>()
        })
        .collect::<Result<_, Error>>()?;
    let mut rows = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        let m = &medians[i];
        let per: Vec<f64> = m.values().map(|v| median(&mut v.1.clone())).collect();
        let p99: Vec<f64> = m.values().map(|v| median(&mut v.2.clone())).collect();
        let best = m
            .iter()
            .map(|(c, v)| (c, &v.0, median(&mut v.1.clone())))
            .min_by(|a, b| a.2.total_cmp(&b.2));
        let mut shifts = Vec::new();
        for (k, c) in common.iter().enumerate() {
            let mine = &all_probes[i][c];
            // the reference: the other pairs nearest the fleet's median, half of them (at
            // least one), so that one slow pair does not drag the others' reference with it
            let pm: Vec<f64> = medians
                .iter()
                .map(|m| median(&mut m[c].1.clone()))
                .collect();
            let center = median(&mut pm.clone());
            let mut others: Vec<usize> = (0..pairs.len()).filter(|j| *j != i).collect();
            others.sort_by(|a, b| (pm[*a] - center).abs().total_cmp(&(pm[*b] - center).abs()));
            others.truncate(others.len().div_ceil(2).max(1));
            let rest: Vec<i64> = others
                .iter()
                .flat_map(|j| all_probes[*j][c].iter().copied())
                .collect();
            let Some(cmp) = crate::compare(&rest, mine, 1000, seed ^ (i * 131 + k) as u64) else {
                continue;
            };
            let big = cmp.shift_ns.abs() >= min_shift * cmp.median_a_ns;
            let ref_reps: Vec<f64> = others
                .iter()
                .flat_map(|j| medians[*j][c].1.iter().copied())
                .collect();
            let apart = separated(&m[c].1, &ref_reps, cmp.shift_ns) && far_out(&pm, i);
            shifts.push(Shift {
                config: c.clone(),
                shift_ns: cmp.shift_ns,
                ci_low_ns: cmp.ci_low_ns,
                ci_high_ns: cmp.ci_high_ns,
                p_value: cmp.p_value,
                differs: cmp.differ && big && apart,
            });
        }
        let up = shifts
            .iter()
            .filter(|s| s.differs && s.shift_ns > 0.0)
            .count();
        let down = shifts
            .iter()
            .filter(|s| s.differs && s.shift_ns < 0.0)
            .count();
        let n = shifts.len().max(1);
        let outlier = (up * 2 > n && down == 0) || (down * 2 > n && up == 0);
        rows.push(PairRow {
            pair: p.name.clone(),
            runs: p.runs.len(),
            median_ns: (!per.is_empty()).then(|| median(&mut per.clone())),
            p99_ns: (!p99.is_empty()).then(|| median(&mut p99.clone())),
            best_config: best.map(|b| b.0.clone()),
            best_label: best.map(|b| b.1.clone()),
            best_median_ns: best.map(|b| b.2),
            facts: p.facts.clone(),
            outlier,
            explanation: None,
            shifts,
        });
    }
    for i in 0..rows.len() {
        if !rows[i].outlier {
            continue;
        }
        rows[i].explanation = Some(explain(pairs, &rows, i, &common));
    }
    Ok(Fleet {
        schema: 1,
        pairs: rows,
        common_configs: common,
        min_shift,
    })
}

/// Iglewicz and Hoaglin's modified z-score cut-off (1993): `0.6745 (x - median) / MAD` above
/// 3.5 marks an outlier.
const MODIFIED_Z: f64 = 3.5;

/// Whether pair `i`'s median lies far out among all the pairs' medians `pm` by the modified
/// z-score: two healthy pairs that differ steadily (their CPUs, their neighbours) are then no
/// outliers of each other, and with two pairs none is one (either could be the odd one).
fn far_out(pm: &[f64], i: usize) -> bool {
    let center = median(&mut pm.to_vec());
    let mut dev: Vec<f64> = pm.iter().map(|v| (v - center).abs()).collect();
    let mad = median(&mut dev);
    let d = (pm[i] - center).abs();
    if mad == 0.0 {
        return d > 0.0;
    }
    0.6745 * d / mad > MODIFIED_Z
}

/// Whether every repetition of the pair lies beyond every repetition of the reference in the
/// shift's direction: probes of one run share its placement and its neighbours' load, so runs,
/// not probes, are the unit that varies between pairs.
fn separated(mine: &[f64], reference: &[f64], shift: f64) -> bool {
    let lo = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if shift > 0.0 {
        lo(mine) > hi(reference)
    } else {
        hi(mine) < lo(reference)
    }
}

/// The stage that moved most, and the facts that differ from the majority.
fn explain(pairs: &[Pair], rows: &[PairRow], i: usize, common: &[String]) -> String {
    let row = &rows[i];
    let shifts: Vec<f64> = row
        .shifts
        .iter()
        .filter(|s| s.differs)
        .map(|s| s.shift_ns)
        .collect();
    let shift = median(&mut shifts.clone());
    let mine = stage_medians(&pairs[i], common);
    let mut others: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (j, p) in pairs.iter().enumerate().filter(|(j, _)| *j != i) {
        let _ = j;
        for (k, v) in stage_medians(p, common) {
            others.entry(k).or_default().push(v);
        }
    }
    let stage = mine
        .iter()
        .filter_map(|(k, v)| {
            let o = others.get(k)?;
            Some((k, v - median(&mut o.clone())))
        })
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    let mut s = format!(
        "{}: {:+.1} µs (median shift over {} configurations)",
        row.pair,
        shift / 1000.0,
        shifts.len()
    );
    match stage {
        Some((k, d)) => s.push_str(&format!(
            " in stage {} ({k}: {:+.1} µs against the other pairs' median)",
            stage_label(k),
            d / 1000.0
        )),
        None => s.push_str("; no stage timings to place it"),
    }
    let mut differ = Vec::new();
    for (k, v) in &row.facts {
        let same = rows
            .iter()
            .enumerate()
            .filter(|(j, r)| *j != i && r.facts.get(k) == Some(v))
            .count();
        let others = rows.len() - 1;
        if same * 2 < others {
            let usual = rows
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .filter_map(|(_, r)| r.facts.get(k))
                .next()
                .cloned()
                .unwrap_or_else(|| "-".into());
            differ.push(format!("its {k} differs ({v}; the others: {usual})"));
        }
    }
    if differ.is_empty() {
        s.push_str("; its doctor facts are the fleet's");
    } else {
        s.push_str(&format!("; {}", differ.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{far_out, separated};

    /// The pair medians (µs) of three CI runs of the fleet test: the slow pair is far out in
    /// the two where every role slept, the healthy pairs 19 µs apart never are.
    #[test]
    fn only_the_pair_far_out_among_the_medians_counts() {
        for pm in [[35.7, 53.5, 193.3], [34.3, 52.0, 192.1]] {
            assert_eq!(
                (0..3).map(|i| far_out(&pm, i)).collect::<Vec<_>>(),
                [false, false, true]
            );
        }
        // six spinning roles on 2 CPUs: the slow pair is not far enough out to be told apart
        assert!(!far_out(&[267.0, 112.4, 973.4], 2));
        assert!(!far_out(&[40.0, 45.0], 1));
        assert!(far_out(&[40.0, 40.0, 90.0], 2));
    }

    #[test]
    fn repetitions_must_all_lie_beyond_the_reference() {
        assert!(separated(&[60.0, 62.0], &[40.0, 45.0, 50.0], 15.0));
        assert!(!separated(&[49.0, 62.0], &[40.0, 45.0, 50.0], 15.0));
        assert!(separated(&[30.0, 35.0], &[40.0, 45.0], -10.0));
        assert!(!separated(&[30.0, 41.0], &[40.0, 45.0], -10.0));
    }
}
