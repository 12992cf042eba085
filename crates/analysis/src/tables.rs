//! clusters.md, clusters.tex and clusters.csv in the layout of the paper's
//! Tables I and II: cluster, mean, std, relevant parameters.

use crate::analyze::Analysis;
use crate::model::render_value;

const CAPTION: &str = "A parameter not mentioned can take any of its values within the cluster.";

fn us(ns: f64) -> String {
    format!("{:.2} µs", ns / 1e3)
}

fn fixed_line(a: &Analysis) -> Option<String> {
    (!a.fixed.is_empty()).then(|| {
        a.fixed
            .iter()
            .map(|(k, v)| format!("{k} = {}", render_value(v)))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Markdown table, the structure's verdict and each cluster's explanation.
pub fn markdown(a: &Analysis) -> String {
    let mut s =
        String::from("| Cluster | Mean | Std | Relevant parameters |\n|---:|---:|---:|:---|\n");
    for c in &a.clusters {
        s += &format!(
            "| {} | {} | {} | {} |\n",
            c.id,
            us(c.mean_ns),
            us(c.std_ns),
            c.description.replace('|', "\\|")
        );
    }
    s += &format!(
        "\n{} clusters of {} configurations. {CAPTION}\n",
        a.k,
        a.clusters.iter().map(|c| c.configs.len()).sum::<usize>()
    );
    if let Some(f) = fixed_line(a) {
        s += &format!("Fixed across the whole sweep (not findings): {f}.\n");
    }
    s += &format!("\n{}\n", a.structure.sentence);
    if a.clusters.iter().any(|c| !c.explanation.is_empty()) {
        s += "\nWhat moved each cluster:\n\n";
        for c in &a.clusters {
            s += &format!("- {}\n", c.explanation);
        }
    }
    s
}

fn tex_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '_' | '&' | '%' | '#' | '$' | '{' | '}' => {
                o.push('\\');
                o.push(ch);
            }
            'µ' => o += "$\\mu$",
            '\\' => o += "\\textbackslash{}",
            '~' => o += "\\textasciitilde{}",
            '^' => o += "\\textasciicircum{}",
            _ => o.push(ch),
        }
    }
    o
}

/// LaTeX table (booktabs-free, `tabular` with a wrapped last column).
pub fn latex(a: &Analysis) -> String {
    let mut s = String::from(
        "\\begin{table}[t]\n\\centering\n\\begin{tabular}{rrrp{0.55\\linewidth}}\n\\hline\nCluster & Mean & Std & Relevant parameters \\\\\n\\hline\n",
    );
    for c in &a.clusters {
        s += &format!(
            "{} & {:.2}~$\\mu$s & {:.2}~$\\mu$s & {} \\\\\n",
            c.id,
            c.mean_ns / 1e3,
            c.std_ns / 1e3,
            tex_escape(&c.description)
        );
    }
    let mut caption = format!("Clusters, statistics and relevant parameters. {CAPTION}");
    if let Some(f) = fixed_line(a) {
        caption += &format!(" Fixed across the sweep: {f}.");
    }
    s += &format!(
        "\\hline\n\\end{{tabular}}\n\\caption{{{}}}\n\\end{{table}}\n",
        tex_escape(&caption)
    );
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: one row per cluster, numbers in ns.
pub fn csv(a: &Analysis) -> String {
    let mut s = String::from(
        "cluster,mean_ns,std_ns,spread_ns,configs,relevant_parameters,median_ns,explanation\n",
    );
    for c in &a.clusters {
        s += &format!(
            "{},{:.1},{:.1},{:.1},{},{},{:.1},{}\n",
            c.id,
            c.mean_ns,
            c.std_ns,
            c.spread_ns,
            c.configs.len(),
            csv_field(&c.description),
            c.median_ns,
            csv_field(&c.explanation)
        );
    }
    s
}
