//! Writes an analysis to its output directory: analysis.json, the cluster
//! tables, the SVG plots and report.html.

use std::path::{Path, PathBuf};

use crate::analyze::Analysis;
use crate::model::Dataset;
use crate::options::Options;
use crate::report::{Plots, html};
use crate::{Error, plots, stage_plots, tables};

fn write(dir: &Path, name: &str, body: &[u8]) -> Result<PathBuf, Error> {
    let p = dir.join(name);
    std::fs::write(&p, body).map_err(|source| Error::Write {
        path: p.clone(),
        source,
    })?;
    Ok(p)
}

/// Writes every output of `a` into `dir` (created if needed); returns the files written.
pub fn write_outputs(
    a: &Analysis,
    ds: &Dataset,
    opts: &Options,
    dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut json = serde_json::to_vec_pretty(a).expect("analysis serialises");
    json.push(b'\n');
    let p = Plots {
        kde: plots::kde_svg(a, ds, opts.kde_top)?,
        ecdf: plots::ecdf_svg(a, ds)?,
        k: plots::k_svg(a)?,
        pareto: plots::pareto_svg(a)?,
        stages: stage_plots::stages_svg(a)?,
        breakdown: stage_plots::breakdown_svg(a)?,
    };
    let mut out = vec![
        write(dir, "analysis.json", &json)?,
        write(dir, "clusters.md", tables::markdown(a).as_bytes())?,
        write(dir, "clusters.tex", tables::latex(a).as_bytes())?,
        write(dir, "clusters.csv", tables::csv(a).as_bytes())?,
        write(dir, "kde.svg", p.kde.as_bytes())?,
        write(dir, "ecdf.svg", p.ecdf.as_bytes())?,
        write(dir, "k.svg", p.k.as_bytes())?,
    ];
    if let Some(s) = &p.pareto {
        out.push(write(dir, "pareto.svg", s.as_bytes())?);
    }
    if let Some(s) = &p.stages {
        out.push(write(dir, "stages.svg", s.as_bytes())?);
    }
    if let Some(s) = &p.breakdown {
        out.push(write(dir, "breakdown.svg", s.as_bytes())?);
    }
    out.push(write(dir, "report.html", html(a, &p).as_bytes())?);
    Ok(out)
}

/// One part of a `--by` analysis: the value, its subdirectory and its result.
#[derive(Debug)]
pub struct Part<'a> {
    pub value: String,
    pub dir: String,
    pub analysis: &'a Analysis,
}

/// Directory name for a `--by` value: `COLUMN-VALUE` with unsafe characters replaced.
pub fn part_dir(column: &str, value: &str) -> String {
    format!("{column}-{value}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the top-level analysis.json (`{"by", "groups": [{value, dir, k, clusters}]}`)
/// and an index.html linking each part's report.
pub fn write_index(column: &str, parts: &[Part<'_>], dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let groups: Vec<serde_json::Value> = parts
        .iter()
        .map(|p| serde_json::json!({ "value": p.value, "dir": p.dir, "k": p.analysis.k, "clusters": p.analysis.clusters }))
        .collect();
    let mut json = serde_json::to_vec_pretty(
        &serde_json::json!({ "schema": 1, "by": column, "groups": groups }),
    )
    .expect("serialises");
    json.push(b'\n');
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let column = esc(column);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xdplat analysis by {column}</title></head><body><h1>Analysis by {column}</h1><ul>\n"
    );
    for p in parts {
        html += &format!(
            "<li><a href=\"{}/report.html\">{column} = {}</a>: k = {}</li>\n",
            esc(&p.dir),
            esc(&p.value),
            p.analysis.k
        );
    }
    html += "</ul></body></html>\n";
    Ok(vec![
        write(dir, "analysis.json", &json)?,
        write(dir, "report.html", html.as_bytes())?,
    ])
}
