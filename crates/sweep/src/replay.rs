//! The replay testbed (`[testbed] kind = "replay", from = "DIR", seed = N`): every run serves
//! the RTTs of a completed sweep's runs of the same configuration instead of probing, so that a
//! whole sweep (full or raced) runs in seconds and deterministically, on no hardware.
//!
//! A run of configuration C draws (seeded by the replay seed and the run's id, so the same run
//! always gets the same data whatever the order) one of the source's runs of C and a start
//! offset in it, and takes as many consecutive RTTs as the run would have measured, wrapping
//! around: the source's repetition-to-repetition spread and its bursts stay as recorded. The
//! source run's CPU cost comes along, in proportion to the probes taken.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use crate::Error;
use crate::execute::{Member, RunEnd};
use crate::experiment::{Experiment, Replay};
use crate::plan::{Config, Plan, fnv1a};
use crate::schedule::SplitMix;
use crate::store::Store;

/// A completed sweep indexed by configuration id.
#[derive(Debug, Clone)]
pub struct Source {
    pub spec: Replay,
    /// The run directories of each configuration, sorted.
    pub runs: BTreeMap<String, Vec<PathBuf>>,
}

/// Indexes the replay source of `exp` and checks that it holds every configuration of `plan`;
/// nothing runs before this succeeds.
pub fn open(exp: &Experiment, spec: &Replay, plan: &Plan) -> Result<Source, Error> {
    let bad = |msg: String| Error::File {
        path: exp.path.clone(),
        msg: format!("line {}: `from`: {msg}", spec.line),
    };
    let base = spec.from.join("runs");
    let entries = std::fs::read_dir(&base).map_err(|e| {
        bad(format!(
            "{}: {e}; give the directory of a completed sweep (it holds runs/)",
            base.display()
        ))
    })?;
    let mut runs: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in entries.flatten() {
        let dir = e.path();
        let Ok(s) = results::read_summary(&dir.join(results::SUMMARY_FILE)) else {
            continue;
        };
        if let Some(sw) = s.sweep()
            && s.rtt_ns.is_some()
            && dir.join(results::SAMPLES_FILE).is_file()
        {
            runs.entry(sw.config).or_default().push(dir);
        }
    }
    for v in runs.values_mut() {
        v.sort();
    }
    let missing: Vec<String> = plan
        .configs
        .iter()
        .filter(|c| !runs.contains_key(&c.id))
        .map(|c| format!("{} ({})", c.id, c.label()))
        .collect();
    if let Some(first) = missing.first() {
        return Err(bad(format!(
            "{} has no completed run with samples of {} of the plan's configurations, first {first}; replay a sweep of the same axes, or exclude those configurations",
            spec.from.display(),
            missing.len()
        )));
    }
    Ok(Source {
        spec: spec.clone(),
        runs,
    })
}

/// Makes member `m`'s run from the source, and commits it.
pub(crate) fn run(src: &Source, cfg: &Config, m: &Member, store: &Store) -> Result<RunEnd, Error> {
    let cfg_id = &cfg.id;
    let pool = &src.runs[cfg_id];
    let mut rng = SplitMix::new(src.spec.seed ^ fnv1a(m.run.id.as_bytes()));
    let from = &pool[rng.below(pool.len() as u64) as usize];
    let rtts = results::read_rtts(&from.join(results::SAMPLES_FILE))?;
    if rtts.is_empty() {
        return Ok(RunEnd::Failed(format!(
            "replay source {} has no RTT",
            from.display()
        )));
    }
    let source = results::read_summary(&from.join(results::SUMMARY_FILE))?;
    let n = m.exp.count(1) as usize;
    let offset = rng.below(rtts.len() as u64) as usize;
    let mut taken: Vec<i64> = (0..n).map(|i| rtts[(offset + i) % rtts.len()]).collect();
    store.remove(&m.tmp)?;
    std::fs::create_dir_all(&m.tmp).map_err(|e| Error::io("create", &m.tmp, e))?;
    let step = m.exp.probe.interval.as_nanos().max(1) as i64;
    let mut w = results::SamplesWriter::create(&m.tmp)?;
    for (i, rtt) in taken.iter().enumerate() {
        let tx = i as i64 * step;
        w.push(&results::Sample {
            seq: i as u64,
            tx_ns: tx,
            rx_ns: Some(tx + rtt),
            rtt_ns: Some(*rtt),
            ..Default::default()
        })?;
    }
    w.finish()?;
    let rtt = results::describe(&mut taken);
    let mut s = results::Summary {
        params: source.params.clone(),
        effective: source.effective.clone(),
        repetition: m.run.rep,
        rtt_ns: rtt,
        environment: results::Environment::detect(),
        ..Default::default()
    };
    s.packets.sent = n as u64;
    s.packets.received = n as u64;
    if let Some(c) = source.cpu() {
        // the source's CPU time, in proportion to the probes taken
        let k = n as f64 / source.packets.sent.max(1) as f64;
        let scale = |v: Option<u64>| v.map(|ns| (ns as f64 * k).round() as u64);
        s.set_cpu(&results::Cpu {
            ping_user_ns: scale(c.ping_user_ns),
            ping_sys_ns: scale(c.ping_sys_ns),
            fwd_user_ns: scale(c.fwd_user_ns),
            fwd_sys_ns: scale(c.fwd_sys_ns),
            softirq_ns: scale(c.softirq_ns),
            ..c
        });
    }
    s.warnings.push(format!(
        "replayed from {} (no probe was sent)",
        from.display()
    ));
    s.extra.insert(
        "replay".into(),
        json!({ "from": from.display().to_string(), "offset": offset, "seed": src.spec.seed }),
    );
    s.set_sweep(&results::Sweep {
        config: cfg_id.clone(),
        run: m.run.id.clone(),
        label: cfg.label(),
        ..Default::default()
    });
    results::write_summary(&m.tmp, &s)?;
    store.commit(&m.tmp, &m.dst)?;
    Ok(RunEnd::Done {
        p50_ns: vec![rtt.map(|r| r.median)],
    })
}
