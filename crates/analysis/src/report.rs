//! report.html: one self-contained page (inline SVG and CSS, no script, no
//! network) with the cluster table, the plots, the k-selection scores, the
//! effect ranking, the filters' decisions and every configuration's statistics.

use crate::analyze::Analysis;
use crate::model::render_value;
use crate::options::{Feature, Method};
use crate::plots::colour_hex;

/// The plots to inline, as SVG text.
#[derive(Debug, Default)]
pub struct Plots {
    pub kde: String,
    pub ecdf: String,
    pub k: String,
    pub pareto: Option<String>,
    pub stages: Option<String>,
    pub breakdown: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn us(ns: f64) -> String {
    if ns.is_finite() {
        format!("{:.2}", ns / 1e3)
    } else {
        "-".into()
    }
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.n{text-align:right}.sw{display:inline-block;width:12px;height:12px;margin-right:4px}\
.warn{color:#a40}.ok{color:#262}figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// Which features, over repetitions how, and why, in one sentence.
pub fn method_sentence(a: &Analysis) -> String {
    match a.method {
        Method::Robust if a.features == [Feature::Stages] => "Robust method: clustered on where the time goes, the median of each stage of the round trip, the median over a configuration's repetitions. Medians ignore the scheduling spikes that rule a run's mean and standard deviation, and the stages separate what the RTT blurs (crates/analysis/README.md); the mean and std stay in the tables. `--method paper` clusters on the paper's mean, median, std, q1 and q3 instead.".into(),
        Method::Robust => "Robust method: each run's median and quartiles, the median over a configuration's repetitions. A few scheduling spikes rule a run's mean and standard deviation but cannot move its quantiles (crates/analysis/README.md); the mean and std stay in the tables. `--method paper` clusters on the paper's mean, median, std, q1 and q3 instead.".into(),
        Method::Paper => "Paper method: the paper's features averaged over repetitions, the effects on each configuration's mean. A few spikes can rule the mean and std; the default (robust) method clusters on quantiles.".into(),
    }
}

fn effect_sentence(a: &Analysis) -> &'static str {
    match a.method {
        Method::Robust => {
            "Effect: between configurations that differ in that parameter alone (where the sweep has two such pairs), the median of the worst value's median RTT minus the best value's, with a 95% bootstrap interval over the pairs; otherwise the median of the configurations' median RTT at the worst value minus at the best, bootstrapped over configurations. An interval reaching 0 cannot be told from noise."
        }
        Method::Paper => {
            "Effect: median of the configurations' mean RTT at the worst value minus at the best value; 95% bootstrap interval over configurations. An interval reaching 0 cannot be told from noise."
        }
    }
}

/// The page for `a`.
pub fn html(a: &Analysis, plots: &Plots) -> String {
    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xdplat analysis</title>";
    h += &format!("<style>{STYLE}</style></head><body>\n");
    h += &format!(
        "<h1>Latency analysis</h1><p>Input: <code>{}</code>. ",
        esc(&a.source)
    );
    let features: Vec<&str> = a.features.iter().map(|f| f.name()).collect();
    h += &format!(
        "{} configurations, {} clustered into k = {} clusters on the standardised features {}.</p>\n",
        a.configs.len(),
        a.configs.iter().filter(|c| c.cluster.is_some()).count(),
        a.k,
        esc(&features.join(", "))
    );
    h += &format!("<p>{}</p>\n", esc(&method_sentence(a)));
    h += &format!(
        "<p class=\"{}\"><strong>{}</strong></p>\n",
        if a.structure.findings { "ok" } else { "warn" },
        esc(&a.structure.sentence)
    );
    for w in &a.warnings {
        h += &format!("<p class=\"warn\">Warning: {}</p>\n", esc(w));
    }

    h += "<h2>Clusters</h2><table><tr><th>Cluster</th><th>Mean (µs)</th><th>Std (µs)</th><th>Median (µs)</th><th>Configs</th><th>Relevant parameters</th></tr>\n";
    for c in &a.clusters {
        h += &format!(
            "<tr><td><span class=\"sw\" style=\"background:{}\"></span>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            colour_hex(c.id),
            c.id,
            us(c.mean_ns),
            us(c.std_ns),
            us(c.median_ns),
            c.configs.len(),
            esc(&c.description)
        );
    }
    h += "</table>\n<p>A parameter not mentioned can take any of its values within the cluster.";
    if !a.fixed.is_empty() {
        let f: Vec<String> = a
            .fixed
            .iter()
            .map(|(k, v)| format!("{k} = {}", render_value(v)))
            .collect();
        h += &format!(
            " Fixed across the whole sweep (not findings): {}.",
            esc(&f.join(", "))
        );
    }
    h += "</p>\n";
    if a.clusters.iter().any(|c| !c.explanation.is_empty()) {
        h += "<h3>What moved each cluster</h3><ul>\n";
        for c in &a.clusters {
            h += &format!("<li>{}</li>\n", esc(&c.explanation));
        }
        h += "</ul>\n";
    }
    h += &format!(
        "<figure>{}<figcaption>Kernel density estimate (Gaussian kernel, Silverman's bandwidth) of each configuration's RTT, coloured by cluster.</figcaption></figure>\n",
        plots.kde
    );
    h += &format!("<figure>{}</figure>\n", plots.ecdf);
    if let Some(svg) = &plots.breakdown {
        h += "<h2>Where the round trip goes</h2><p>A and B stamped with one clock, so each probe's round trip splits into consecutive stages that add up to its RTT: A to B's XDP hook, B's XDP hook to B's user space, B's processing, B back to A's XDP hook, A's XDP hook to A's user space. Bars stack each stage's median, averaged over the cluster's configurations.</p>";
        for f in crate::stage_plots::breakdown_findings(a) {
            h += &format!("<p>{}</p>", esc(&f));
        }
        h += &format!("<figure>{svg}</figure>\n");
        h += "<table><tr><th>Configuration</th><th>Cluster</th>";
        for name in results::CHAIN_STAGES {
            h += &format!("<th>{}</th>", esc(name.trim_start_matches("chain_")));
        }
        h += "</tr>\n";
        for c in &a.configs {
            if !results::CHAIN_STAGES
                .iter()
                .all(|k| c.stages.contains_key(*k))
            {
                continue;
            }
            h += &format!(
                "<tr><td>{}</td><td class=\"n\">{}</td>",
                esc(&c.id),
                c.cluster.map_or("-".to_string(), |k| k.to_string())
            );
            for k in results::CHAIN_STAGES {
                h += &format!("<td class=\"n\">{}</td>", us(c.stages[k]));
            }
            h += "</tr>\n";
        }
        h += "</table>\n";
    }
    if let Some(svg) = &plots.stages {
        let names: std::collections::BTreeSet<&String> =
            a.clusters.iter().flat_map(|c| c.stages.keys()).collect();
        h += "<h2>Where the time goes</h2><p>Median of each stage interval (µs), averaged over the cluster's configurations. Stages overlap: they are intervals between stamps, not a partition of the RTT. <em>Measured by</em> says whose clock took the stamps: software (CLOCK_MONOTONIC in user space, the XDP program or the kernel) or hardware (the NIC's clock).</p>";
        h += "<table><tr><th>Stage</th><th>Measured by</th>";
        for c in &a.clusters {
            h += &format!(
                "<th><span class=\"sw\" style=\"background:{}\"></span>cluster {}</th>",
                colour_hex(c.id),
                c.id
            );
        }
        h += "</tr>\n";
        for n in names {
            h += &format!(
                "<tr><td>{}</td><td>{}</td>",
                esc(n),
                esc(a.stage_sources.get(n).map_or("-", String::as_str))
            );
            for c in &a.clusters {
                h += &format!(
                    "<td class=\"n\">{}</td>",
                    c.stages
                        .get(n)
                        .map(|v| us(*v))
                        .unwrap_or_else(|| "-".into())
                );
            }
            h += "</tr>\n";
        }
        h += "</table>\n";
        let unmeasured: Vec<String> = a
            .stage_sources
            .iter()
            .filter(|(_, v)| v.starts_with("not measured"))
            .map(|(k, v)| format!("{k} ({})", v.trim_start_matches("not measured: ")))
            .collect();
        if !unmeasured.is_empty() {
            h += &format!(
                "<p>Not measured in any run: {}.</p>\n",
                esc(&unmeasured.join("; "))
            );
        }
        h += &format!("<figure>{svg}</figure>\n");
    }

    h += "<h2>Choice of k</h2>\n";
    for n in &a.k_selection.notes {
        h += &format!("<p>{}</p>\n", esc(n));
    }
    h += "<table><tr><th>k</th><th>mean silhouette</th><th>null silhouette</th><th>stability</th><th>inertia</th></tr>\n";
    let opt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    for s in &a.k_selection.scores {
        let null = match (s.null_silhouette, s.null_sd) {
            (Some(m), Some(sd)) => format!("{m:.3} ± {sd:.3}"),
            _ => "-".into(),
        };
        h += &format!(
            "<tr><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{null}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td></tr>\n",
            s.k,
            s.silhouette,
            opt(s.stability),
            s.inertia
        );
    }
    h += "</table>\n<p>Null silhouette: what k-means reaches on configurations spread uniformly over the same range (mean ± sd over reference sets); a structure must stand clear of it. Stability: mean adjusted Rand index between the clusters and those found again with each configuration's repetitions resampled.</p>\n";
    if a.k_selection.scores.len() >= 2 {
        h += &format!("<figure>{}</figure>\n", plots.k);
    }

    h += &format!(
        "<h2>Which parameters matter most</h2><p>{}</p>\n",
        esc(effect_sentence(a))
    );
    h += "<table><tr><th>Parameter</th><th>Effect (µs)</th><th>95% CI (µs)</th><th>Best</th><th>Worst</th><th>Distinguishable</th></tr>\n";
    for e in &a.effects {
        h += &format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">[{}, {}]</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&e.param),
            us(e.effect_ns),
            us(e.ci_low_ns),
            us(e.ci_high_ns),
            esc(&e.best),
            esc(&e.worst),
            if e.distinguishable { "yes" } else { "no" }
        );
    }
    h += "</table>\n";
    if !a.interactions.is_empty() {
        h += "<h3>Interactions</h3><table><tr><th>Effect of</th><th>within values of</th><th>effect per value (µs)</th><th>range (µs)</th></tr>\n";
        for i in a.interactions.iter().take(8) {
            let per: Vec<String> = i
                .effect_by_value_ns
                .iter()
                .map(|(v, e)| format!("{v}: {}", us(*e)))
                .collect();
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
                esc(&i.param),
                esc(&i.by),
                esc(&per.join(", ")),
                us(i.range_ns)
            );
        }
        h += "</table>\n";
    }
    if let Some(p) = &plots.pareto {
        h += &format!("<h2>Latency against CPU cost</h2><figure>{p}</figure>\n");
    }

    h += "<h2>Filters</h2>";
    if let (Some(c), Some(src)) = (a.ceiling_ns, &a.ceiling_source) {
        h += &format!("<p>Latency ceiling: {} µs ({}).</p>", us(c), esc(src));
    }
    if a.excluded.is_empty() {
        h += "<p>No configuration was excluded.</p>\n";
    } else {
        h += "<table><tr><th>Configuration</th><th>Filter</th><th>Why</th></tr>\n";
        for e in &a.excluded {
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&e.config),
                esc(&e.filter),
                esc(&e.why)
            );
        }
        h += "</table>\n";
    }

    let raced: Vec<&crate::ConfigOut> = a.configs.iter().filter(|c| c.note.is_some()).collect();
    if !raced.is_empty() {
        h += &format!(
            "<h2>Raced sweep</h2><p>{} configurations were eliminated in the race and have only their short race slices (fewer samples; their figures are less precise than a full configuration's):</p><table><tr><th>Configuration</th><th>Why</th></tr>\n",
            raced.len()
        );
        for c in raced {
            h += &format!(
                "<tr><td>{}</td><td>{}</td></tr>\n",
                esc(&c.id),
                esc(c.note.as_deref().unwrap_or_default())
            );
        }
        h += "</table>\n";
    }

    h += "<h2>Configurations</h2><table><tr><th>Configuration</th><th>Cluster</th><th>Mean</th><th>Median</th><th>Std</th><th>p99</th><th>Loss</th><th>Reps</th><th>Rep. spread</th></tr>\n";
    for c in &a.configs {
        let cl = c
            .cluster
            .map(|k| {
                format!(
                    "<span class=\"sw\" style=\"background:{}\"></span>{k}",
                    colour_hex(k)
                )
            })
            .unwrap_or_else(|| "excluded".into());
        match c.stats {
            Some(s) => {
                h += &format!(
                    "<tr><td>{}</td><td>{cl}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}%</td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td></tr>\n",
                    esc(&c.id),
                    us(s.mean),
                    us(s.median),
                    us(s.std),
                    us(s.p99),
                    s.loss_rate * 100.0,
                    s.reps,
                    s.rep_cv * 100.0
                )
            }
            None => {
                h += &format!(
                    "<tr><td>{}</td><td>{cl}</td><td colspan=\"7\">no data</td></tr>\n",
                    esc(&c.id)
                )
            }
        }
    }
    h += "</table>\n<p>Times in µs. Quantiles: numpy's default linear method; std: sample standard deviation; statistics averaged over repetitions.</p>\n</body></html>\n";
    h
}
