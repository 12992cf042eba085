//! What `xdplat fleet` writes: the merged store (`fleet.parquet`, one row per run, and
//! `fleet_samples.parquet`, one row per probe, the pair a column of both: pandas, polars and
//! DuckDB read them), `fleet.json` ([`Fleet`]), and `fleet.md` / `fleet.html`, the fleet view.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int64Builder, StringBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::Error;
use crate::fleet::{Fleet, Pair};

fn werr(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn write_batch(path: &Path, cols: Vec<(&str, ArrayRef)>) -> Result<(), Error> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols.into_iter().map(|c| c.1).collect())
        .map_err(|e| werr(path, e))?;
    let f = File::create(path).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let mut w = ArrowWriter::try_new(f, schema, None).map_err(|e| werr(path, e))?;
    w.write(&batch).map_err(|e| werr(path, e))?;
    w.close().map_err(|e| werr(path, e))?;
    Ok(())
}

/// `fleet.parquet`: pair, config, label, rep, run, sent, lost, median_ns, p99_ns, mean_ns, each
/// chain stage's median, and the run's params as JSON.
fn runs_table(pairs: &[Pair], path: &Path) -> Result<(), Error> {
    let (mut pair, mut config, mut label, mut run, mut params) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let (mut rep, mut sent, mut lost) = (
        UInt32Builder::new(),
        UInt64Builder::new(),
        UInt64Builder::new(),
    );
    let (mut med, mut p99, mut mean) = (
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    let mut stages: Vec<Float64Builder> = results::CHAIN_STAGES
        .iter()
        .map(|_| Float64Builder::new())
        .collect();
    for p in pairs {
        for r in &p.runs {
            pair.append_value(&p.name);
            config.append_value(&r.config);
            label.append_value(&r.label);
            run.append_value(&r.run);
            params.append_value(serde_json::to_string(&r.params).unwrap_or_default());
            rep.append_value(r.rep);
            sent.append_value(r.sent);
            lost.append_value(r.lost);
            med.append_option(r.rtt.map(|d| d.median));
            p99.append_option(r.rtt.map(|d| d.p99));
            mean.append_option(r.rtt.map(|d| d.mean));
            for (b, k) in stages.iter_mut().zip(results::CHAIN_STAGES) {
                b.append_option(r.stages.get(k).copied());
            }
        }
    }
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("pair", Arc::new(pair.finish())),
        ("config", Arc::new(config.finish())),
        ("label", Arc::new(label.finish())),
        ("rep", Arc::new(rep.finish())),
        ("run", Arc::new(run.finish())),
        ("sent", Arc::new(sent.finish())),
        ("lost", Arc::new(lost.finish())),
        ("median_ns", Arc::new(med.finish())),
        ("p99_ns", Arc::new(p99.finish())),
        ("mean_ns", Arc::new(mean.finish())),
    ];
    for (b, k) in stages.iter_mut().zip(results::CHAIN_STAGES) {
        cols.push((k, Arc::new(b.finish())));
    }
    cols.push(("params", Arc::new(params.finish())));
    write_batch(path, cols)
}

/// `fleet_samples.parquet`: pair, config, rep, rtt_ns (every probe that came back).
fn samples_table(pairs: &[Pair], path: &Path) -> Result<(), Error> {
    let (mut pair, mut config) = (StringBuilder::new(), StringBuilder::new());
    let (mut rep, mut rtt) = (UInt32Builder::new(), Int64Builder::new());
    for p in pairs {
        for r in &p.runs {
            if !r.samples.is_file() {
                continue;
            }
            for v in results::read_rtts(&r.samples)? {
                pair.append_value(&p.name);
                config.append_value(&r.config);
                rep.append_value(r.rep);
                rtt.append_value(v);
            }
        }
    }
    write_batch(
        path,
        vec![
            ("pair", Arc::new(pair.finish())),
            ("config", Arc::new(config.finish())),
            ("rep", Arc::new(rep.finish())),
            ("rtt_ns", Arc::new(rtt.finish())),
        ],
    )
}

fn us(ns: Option<f64>) -> String {
    ns.map_or("-".into(), results::us)
}

/// The fleet view, Markdown.
pub fn markdown(f: &Fleet) -> String {
    let mut s = format!(
        "# xdplat fleet\n\n{} pairs; {} configurations ran on every pair. A pair differs when its probes differ from the reference, the other pairs nearest the fleet's median (Mann–Whitney p < 0.01, the median shift's 95 % interval excluding 0) by at least {:.0} % of the reference's median with every repetition beyond every repetition of the reference and its median far out among the pairs' (modified z-score above 3.5, Iglewicz and Hoaglin), in more than half of the configurations, one way.\n\n",
        f.pairs.len(),
        f.common_configs.len(),
        f.min_shift * 100.0
    );
    let keys: std::collections::BTreeSet<&String> =
        f.pairs.iter().flat_map(|p| p.facts.keys()).collect();
    s.push_str("| pair | runs | median | p99 | best configuration | its median | ");
    for k in &keys {
        s.push_str(&format!("{k} | "));
    }
    s.push_str("differs |\n|---|---|---|---|---|---|");
    for _ in &keys {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for p in &f.pairs {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | ",
            p.pair,
            p.runs,
            us(p.median_ns),
            us(p.p99_ns),
            p.best_label.as_deref().unwrap_or("-"),
            us(p.best_median_ns)
        ));
        for k in &keys {
            s.push_str(&format!(
                "{} | ",
                p.facts.get(*k).map_or("-", String::as_str)
            ));
        }
        s.push_str(if p.outlier { "**yes** |\n" } else { "no |\n" });
    }
    let out: Vec<&String> = f
        .pairs
        .iter()
        .filter_map(|p| p.explanation.as_ref())
        .collect();
    s.push_str("\n## Outliers\n\n");
    if out.is_empty() {
        s.push_str("None: every pair is within the fleet.\n");
    }
    for e in out {
        s.push_str(&format!("- {e}\n"));
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The fleet view, one HTML page.
pub fn html(f: &Fleet) -> String {
    let mut s = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>xdplat fleet</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}tr.out{background:#fde2e2}</style></head><body><h1>xdplat fleet</h1>",
    );
    s.push_str(&format!(
        "<p>{} pairs, {} common configurations; minimum shift {:.0} %.</p><table><tr><th>pair</th><th>runs</th><th>median</th><th>p99</th><th>best configuration</th><th>facts</th><th>differs</th></tr>",
        f.pairs.len(),
        f.common_configs.len(),
        f.min_shift * 100.0
    ));
    for p in &f.pairs {
        let facts: Vec<String> = p.facts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
            if p.outlier { " class=\"out\"" } else { "" },
            esc(&p.pair),
            p.runs,
            us(p.median_ns),
            us(p.p99_ns),
            esc(p.best_label.as_deref().unwrap_or("-")),
            us(p.best_median_ns),
            esc(&facts.join(", ")),
            if p.outlier { "yes" } else { "no" }
        ));
    }
    s.push_str("</table><h2>Outliers</h2><ul>");
    for e in f.pairs.iter().filter_map(|p| p.explanation.as_ref()) {
        s.push_str(&format!("<li>{}</li>", esc(e)));
    }
    s.push_str("</ul></body></html>\n");
    s
}

/// Loads the fleet in `dir`, compares its pairs and writes everything into `out`.
pub fn run_fleet(dir: &Path, out: &Path, min_shift: f64) -> Result<Fleet, Error> {
    if !(min_shift > 0.0 && min_shift.is_finite()) {
        return Err(Error::Option(format!(
            "--min-shift {min_shift}: a fraction above 0 (e.g. 0.25)"
        )));
    }
    let pairs = crate::fleet::load(dir)?;
    let f = crate::fleet::compare(&pairs, min_shift, 1)?;
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    runs_table(&pairs, &out.join("fleet.parquet"))?;
    samples_table(&pairs, &out.join("fleet_samples.parquet"))?;
    let write = |name: &str, body: String| {
        let p = out.join(name);
        std::fs::write(&p, body).map_err(|source| Error::Write { path: p, source })
    };
    write(
        "fleet.json",
        serde_json::to_string_pretty(&f).expect("plain data serialises") + "\n",
    )?;
    write("fleet.md", markdown(&f))?;
    write("fleet.html", html(&f))?;
    Ok(f)
}
