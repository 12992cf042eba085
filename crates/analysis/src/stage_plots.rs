//! The stage plots: stages.svg (each cluster's median per measured stage interval) and
//! breakdown.svg (the round trip stacked from its chain stages, one bar per cluster), with the
//! findings the breakdown shows in words.

use plotters::prelude::*;

use crate::Error;
use crate::analyze::Analysis;
use crate::plots::{SIZE, colour, frame, legend, tryp};

/// stages.svg: each cluster's median per measured stage interval, or `None`
/// when no run carries stage timings. The stages overlap (they are intervals
/// between stamps, not a partition of the RTT), so they are drawn side by side.
pub fn stages_svg(a: &Analysis) -> Result<Option<String>, Error> {
    let title = "Median of each stage interval per cluster";
    let names: Vec<String> = a
        .clusters
        .iter()
        .flat_map(|c| c.stages.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    let ymax = a
        .clusters
        .iter()
        .flat_map(|c| c.stages.values())
        .fold(0.0f64, |m, v| m.max(*v))
        / 1e3
        * 1.1;
    let n = names.len();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        let mut chart = tryp!(
            title,
            frame(&root, title, 60).build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..ymax.max(1e-3))
        );
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                names[i as usize].clone()
            } else {
                String::new()
            }
        };
        tryp!(
            title,
            chart
                .configure_mesh()
                .x_labels(n)
                .x_label_formatter(&label)
                .y_desc("median (µs)")
                .draw()
        );
        let width = 0.8 / a.clusters.len().max(1) as f64;
        for c in &a.clusters {
            let col = colour(c.id);
            let off = -0.4 + width * c.id as f64;
            let bars: Vec<Rectangle<(f64, f64)>> = names
                .iter()
                .enumerate()
                .filter_map(|(i, name)| {
                    let v = c.stages.get(name)? / 1e3;
                    Some(Rectangle::new(
                        [(i as f64 + off, 0.0), (i as f64 + off + width * 0.9, v)],
                        col.filled(),
                    ))
                })
                .collect();
            tryp!(title, chart.draw_series(bars))
                .label(format!("cluster {}", c.id))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], col.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, title)?;
        tryp!(title, root.present());
    }
    Ok(Some(s))
}

/// What the stacked breakdown shows: per cluster, the median of each consecutive stage of the
/// round trip (`results::CHAIN_STAGES`), averaged over the cluster's configurations. None when
/// no cluster has them (runs without forwarder stamps, or A and B on two clocks).
pub fn chain_rows(a: &Analysis) -> Vec<(usize, Vec<f64>)> {
    a.clusters
        .iter()
        .filter_map(|c| {
            let v: Option<Vec<f64>> = results::CHAIN_STAGES
                .iter()
                .map(|k| c.stages.get(*k).copied())
                .collect();
            Some((c.id, v?))
        })
        .collect()
}

/// breakdown.svg: one horizontal bar per cluster, stacked from the stages of the round trip in
/// path order, so a reader sees which stage separates two clusters.
pub fn breakdown_svg(a: &Analysis) -> Result<Option<String>, Error> {
    let title = "Where the round trip goes: median of each stage per cluster";
    let rows = chain_rows(a);
    if rows.is_empty() {
        return Ok(None);
    }
    let xmax = rows
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(0.0, f64::max)
        / 1e3
        * 1.25;
    let n = rows.len();
    let height = (160 + 60 * n as u32).min(SIZE.1 * 2);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (SIZE.0, height)).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        let mut chart = tryp!(
            title,
            frame(&root, title, 80).build_cartesian_2d(0.0..xmax.max(1e-3), -0.5..n as f64 - 0.5)
        );
        let label = |y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                format!("cluster {}", rows[n - 1 - i as usize].0)
            } else {
                String::new()
            }
        };
        tryp!(
            title,
            chart
                .configure_mesh()
                .y_labels(n)
                .y_label_formatter(&label)
                .x_desc("µs")
                .draw()
        );
        for (k, name) in results::CHAIN_STAGES.iter().enumerate() {
            // stage colours come after the ten cluster colours so the two never read alike
            let col = colour(k + 5);
            let bars: Vec<Rectangle<(f64, f64)>> = rows
                .iter()
                .enumerate()
                .map(|(i, (_, v))| {
                    // cluster 0 on top, as in the tables
                    let i = n - 1 - i;
                    let start = v[..k].iter().sum::<f64>() / 1e3;
                    let end = start + v[k] / 1e3;
                    Rectangle::new(
                        [(start, i as f64 - 0.35), (end, i as f64 + 0.35)],
                        col.filled(),
                    )
                })
                .collect();
            tryp!(title, chart.draw_series(bars))
                .label(name.trim_start_matches("chain_").to_string())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], col.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, title)?;
        tryp!(title, root.present());
    }
    Ok(Some(s))
}

/// For each cluster after the first with a breakdown: the stage that differs most from the
/// lowest cluster's, in words ("cluster 3 differs from cluster 0 mostly in b_xdp_to_user:
/// +35.2 µs of +41.0 µs").
pub fn breakdown_findings(a: &Analysis) -> Vec<String> {
    let rows = chain_rows(a);
    let Some((base_id, base)) = rows.first() else {
        return Vec::new();
    };
    rows.iter()
        .skip(1)
        .filter_map(|(id, v)| {
            let diffs: Vec<f64> = v.iter().zip(base).map(|(x, b)| x - b).collect();
            let (k, d) = diffs.iter().enumerate().max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()))?;
            let total: f64 = diffs.iter().sum();
            Some(format!(
                "cluster {id} differs from cluster {base_id} mostly in {}: {:+.1} µs of {:+.1} µs in all",
                results::CHAIN_STAGES[k].trim_start_matches("chain_"),
                d / 1e3,
                total / 1e3
            ))
        })
        .collect()
}
