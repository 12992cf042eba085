//! `xdplat analyze` as one library call: load the input, split it by hardware (or the column
//! asked), analyse each part, write each part's outputs and, for a split, the index. The caller
//! prints the [`Report`] it gets back.

use std::path::PathBuf;

use crate::model::Dataset;
use crate::options::{Input, RunOptions, Split};
use crate::output::{Part, part_dir, write_index, write_outputs};
use crate::{Analysis, Error, analyze, load_runs, load_table};

/// Parameters that name the hardware: results from different values never belong together.
pub const SPLIT_KEYS: [&str; 3] = ["testbed", "nic", "driver"];

/// One analysed part (the whole input when not split).
#[derive(Debug)]
pub struct PartReport {
    /// The split column's value; `None` when not split.
    pub value: Option<String>,
    pub dir: PathBuf,
    pub analysis: Analysis,
}

/// What one run of the analysis did.
#[derive(Debug)]
pub struct Report {
    /// The input's name.
    pub source: String,
    /// The column split by, and whether that was the automatic hardware split.
    pub split: Option<(String, bool)>,
    pub parts: Vec<PartReport>,
    /// The page to open: report.html (of the index, for a split).
    pub report: PathBuf,
}

/// The hardware column that varies (and is present everywhere), if any.
pub fn default_split(ds: &Dataset) -> Option<String> {
    SPLIT_KEYS.iter().find_map(|k| {
        let first = ds.configs.first()?.params.get(*k)?;
        let varies = ds.configs.iter().any(|c| c.params.get(*k) != Some(first));
        let everywhere = ds.configs.iter().all(|c| c.params.contains_key(*k));
        (varies && everywhere).then(|| k.to_string())
    })
}

/// Loads, splits, analyses and writes, as `opts` says.
pub fn run(opts: &RunOptions) -> Result<Report, Error> {
    opts.analysis.check()?;
    let ds = match &opts.input {
        Input::Runs(d) => load_runs(d)?,
        Input::Table(t) => load_table(t)?,
    };
    let split = match &opts.split {
        Split::By(col) => Some((col.clone(), false)),
        Split::Never => None,
        Split::Auto => default_split(&ds).map(|k| (k, true)),
    };
    let mut report = Report {
        source: ds.source.clone(),
        split: split.clone(),
        parts: Vec::new(),
        report: opts.out.join("report.html"),
    };
    let one = |ds: &Dataset, dir: PathBuf, value: Option<String>| -> Result<PartReport, Error> {
        let a = analyze(ds, &opts.analysis)?;
        write_outputs(&a, ds, &opts.analysis, &dir)?;
        Ok(PartReport {
            value,
            dir,
            analysis: a,
        })
    };
    match &split {
        None => report.parts.push(one(&ds, opts.out.clone(), None)?),
        Some((col, _)) => {
            for (value, part) in ds.split_by(col)? {
                let dir = part_dir(col, &value);
                report
                    .parts
                    .push(one(&part, opts.out.join(&dir), Some(value))?);
            }
            let index: Vec<Part<'_>> = report
                .parts
                .iter()
                .map(|p| Part {
                    value: p.value.clone().unwrap_or_default(),
                    dir: p
                        .dir
                        .file_name()
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    analysis: &p.analysis,
                })
                .collect();
            write_index(col, &index, &opts.out)?;
        }
    }
    Ok(report)
}
