//! The SVG plots (plotters): kde.svg (the density of each configuration's
//! latency coloured by cluster, like the paper's Fig. 3), ecdf.svg (the
//! latency distribution of each cluster), k.svg (the k-selection curve) and,
//! when runs carry CPU time, pareto.svg (mean latency against CPU cost, the
//! Pareto front marked). The stage plots are in [`crate::stage_plots`].

use plotters::prelude::*;

use crate::Error;
use crate::analyze::Analysis;
use crate::kde::kde;
use crate::model::Dataset;

pub(crate) const SIZE: (u32, u32) = (900, 480);

/// Colour of cluster `i` (matplotlib's tab10, repeated).
pub fn colour(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[i % TAB10.len()];
    RGBColor(r, g, b)
}

/// CSS hex of [`colour`].
pub fn colour_hex(i: usize) -> String {
    let c = colour(i);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

macro_rules! tryp {
    ($what:expr, $e:expr) => {
        $e.map_err(|e| Error::Plot {
            what: $what.to_string(),
            why: e.to_string(),
        })?
    };
}
pub(crate) use tryp;

/// The chart frame every plot here shares: the caption, a 12 px margin, a 40 px x-label area and
/// a y-label area of `y_labels` px.
pub(crate) fn frame<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_labels: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(root);
    b.caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_labels);
    b
}

/// Draws the series legend in the style every plot here shares.
pub(crate) fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
    title: &str,
) -> Result<(), Error>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    tryp!(
        title,
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(pos)
            .draw()
    );
    Ok(())
}

fn empty_svg(title: &str, msg: &str) -> Result<String, Error> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        tryp!(title, root.titled(title, ("sans-serif", 20)));
        tryp!(
            title,
            root.draw_text(msg, &("sans-serif", 16).into_text_style(&root), (40, 200))
        );
        tryp!(title, root.present());
    }
    Ok(s)
}

/// The configurations to draw: round-robin over clusters, each cluster in
/// ascending mean latency, at most `top` in all.
fn pick(a: &Analysis, top: usize) -> Vec<(usize, usize)> {
    let mut per: Vec<Vec<(f64, usize)>> = vec![Vec::new(); a.k];
    for (i, c) in a.configs.iter().enumerate() {
        if let (Some(k), Some(s)) = (c.cluster, c.stats) {
            per[k].push((s.mean, i));
        }
    }
    for v in &mut per {
        v.sort_by(|x, y| x.0.total_cmp(&y.0));
    }
    let mut out = Vec::new();
    let mut round = 0;
    while out.len() < top && per.iter().any(|v| v.len() > round) {
        for (k, v) in per.iter().enumerate() {
            if let Some(&(_, i)) = v.get(round)
                && out.len() < top
            {
                out.push((k, i));
            }
        }
        round += 1;
    }
    out
}

fn pooled_us(ds: &Dataset, idx: usize) -> Vec<f64> {
    ds.configs[idx]
        .runs
        .iter()
        .flat_map(|r| r.sample.iter())
        .map(|&x| x as f64 / 1e3)
        .collect()
}

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let lo = v[((v.len() - 1) as f64 * 0.002) as usize];
    let hi = v[((v.len() - 1) as f64 * 0.998) as usize];
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.01).max(0.01);
    Some(((lo - pad).max(0.0), hi + pad))
}

/// kde.svg.
pub fn kde_svg(a: &Analysis, ds: &Dataset, top: usize) -> Result<String, Error> {
    let title = "Kernel density of each configuration's RTT, by cluster";
    let chosen = pick(a, top);
    let samples: Vec<(usize, Vec<f64>)> = chosen
        .iter()
        .map(|&(k, i)| (k, pooled_us(ds, i)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let Some((lo, hi)) = range(samples.iter().flat_map(|(_, v)| v.iter().copied())) else {
        return empty_svg(title, "no latency samples to plot");
    };
    let curves: Vec<(usize, Vec<(f64, f64)>)> = samples
        .iter()
        .filter_map(|(k, v)| {
            kde(v, lo, hi, 400).map(|d| (*k, d.xs.into_iter().zip(d.ys).collect()))
        })
        .collect();
    let ymax = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1e-12)
        * 1.05;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        let mut chart = tryp!(
            title,
            frame(
                &root,
                &format!("{title} ({} configurations)", curves.len()),
                70
            )
            .build_cartesian_2d(lo..hi, 0.0..ymax)
        );
        tryp!(
            title,
            chart
                .configure_mesh()
                .x_desc("RTT (µs)")
                .y_desc("density (1/µs)")
                .draw()
        );
        let mut labelled = vec![false; a.k];
        for (k, c) in curves {
            let col = colour(k);
            let series = tryp!(
                title,
                chart.draw_series(LineSeries::new(c, col.mix(0.7).stroke_width(1)))
            );
            if !labelled[k] {
                labelled[k] = true;
                let mean = a
                    .clusters
                    .get(k)
                    .map(|c| c.mean_ns / 1e3)
                    .unwrap_or(f64::NAN);
                series
                    .label(format!("cluster {k} (mean {mean:.2} µs)"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(3))
                    });
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, title)?;
        tryp!(title, root.present());
    }
    Ok(s)
}

/// ecdf.svg: the pooled RTTs of each cluster's configurations.
pub fn ecdf_svg(a: &Analysis, ds: &Dataset) -> Result<String, Error> {
    let title = "Empirical CDF of the RTT per cluster";
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); a.k];
    for (i, c) in a.configs.iter().enumerate() {
        if let Some(k) = c.cluster {
            per[k].extend(pooled_us(ds, i));
        }
    }
    let Some((lo, hi)) = range(per.iter().flatten().copied()) else {
        return empty_svg(title, "no latency samples to plot");
    };
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        let mut chart = tryp!(
            title,
            frame(&root, title, 60).build_cartesian_2d(lo..hi, 0.0..1.0)
        );
        tryp!(
            title,
            chart
                .configure_mesh()
                .x_desc("RTT (µs)")
                .y_desc("fraction of packets")
                .draw()
        );
        for (k, v) in per.iter_mut().enumerate() {
            if v.is_empty() {
                continue;
            }
            v.sort_unstable_by(f64::total_cmp);
            let n = v.len();
            let step = n.div_ceil(2000).max(1);
            let pts: Vec<(f64, f64)> = (0..n)
                .step_by(step)
                .chain([n - 1])
                .map(|i| (v[i].clamp(lo, hi), (i + 1) as f64 / n as f64))
                .collect();
            let col = colour(k);
            tryp!(
                title,
                chart.draw_series(LineSeries::new(pts, col.stroke_width(2)))
            )
            .label(format!("cluster {k}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(3)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, title)?;
        tryp!(title, root.present());
    }
    Ok(s)
}

/// k.svg: the silhouette of every k tried, with (robust method) its stability across resampled
/// repetitions and the silhouette of uniformly spread configurations.
pub fn k_svg(a: &Analysis) -> Result<String, Error> {
    let title = "Choice of k: scores per k";
    let pts: Vec<(f64, f64)> = a
        .k_selection
        .scores
        .iter()
        .map(|s| (s.k as f64, s.silhouette))
        .collect();
    if pts.len() < 2 {
        return empty_svg(
            title,
            &format!("k = {} ({})", a.k, a.k_selection.notes.join("; ")),
        );
    }
    let kmin = pts.first().map(|p| p.0).unwrap_or(1.0);
    let kmax = pts.last().map(|p| p.0).unwrap_or(2.0);
    let ymin = a
        .k_selection
        .scores
        .iter()
        .flat_map(|s| [Some(s.silhouette), s.stability, s.null_silhouette])
        .flatten()
        .fold(0.0, f64::min);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        let mut chart = tryp!(
            title,
            frame(&root, title, 60).build_cartesian_2d(kmin - 0.5..kmax + 0.5, ymin..1.0)
        );
        tryp!(
            title,
            chart.configure_mesh().x_desc("k").y_desc("score").draw()
        );
        tryp!(
            title,
            chart.draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
        )
        .label("mean silhouette")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        let scores = &a.k_selection.scores;
        let series = [
            (
                "stability (ARI over resampled repetitions)",
                colour(2),
                scores
                    .iter()
                    .filter_map(|s| Some((s.k as f64, s.stability?)))
                    .collect::<Vec<_>>(),
            ),
            (
                "null silhouette (uniformly spread configurations)",
                colour(7),
                scores
                    .iter()
                    .filter_map(|s| Some((s.k as f64, s.null_silhouette?)))
                    .collect(),
            ),
        ];
        let mut legend_needed = false;
        for (name, col, v) in series {
            if v.len() < 2 {
                continue;
            }
            legend_needed = true;
            tryp!(
                title,
                chart.draw_series(LineSeries::new(v, col.stroke_width(2)))
            )
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
        }
        tryp!(
            title,
            chart.draw_series(
                pts.iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, BLUE.filled()))
            )
        );
        if let Some(&(x, y)) = pts.iter().find(|p| p.0 as usize == a.k) {
            tryp!(
                title,
                chart.draw_series([Circle::new((x, y), 8, RED.stroke_width(2))])
            );
        }
        if legend_needed {
            legend(&mut chart, SeriesLabelPosition::LowerLeft, title)?;
        }
        tryp!(title, root.present());
    }
    Ok(s)
}

/// pareto.svg, or `None` when no configuration carries CPU time.
pub fn pareto_svg(a: &Analysis) -> Result<Option<String>, Error> {
    let title = "Latency against CPU cost (Pareto front in black)";
    let pts: Vec<(f64, f64, usize)> = a
        .configs
        .iter()
        .filter_map(|c| {
            let s = c.stats?;
            Some((s.cpu_ns? / 1e9, s.mean / 1e3, c.cluster?))
        })
        .collect();
    if pts.is_empty() {
        return Ok(None);
    }
    let front = pareto_front(&pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
    let xr = range(pts.iter().map(|p| p.0)).expect("non-empty");
    let yr = range(pts.iter().map(|p| p.1)).expect("non-empty");
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        tryp!(title, root.fill(&WHITE));
        let mut chart = tryp!(
            title,
            frame(&root, title, 60).build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        );
        tryp!(
            title,
            chart
                .configure_mesh()
                .x_desc("CPU time per run (s)")
                .y_desc("mean RTT (µs)")
                .draw()
        );
        tryp!(
            title,
            chart.draw_series(pts.iter().map(|&(x, y, k)| Circle::new(
                (x, y),
                4,
                colour(k).filled()
            )))
        );
        let line: Vec<(f64, f64)> = front.iter().map(|&i| (pts[i].0, pts[i].1)).collect();
        tryp!(
            title,
            chart.draw_series(LineSeries::new(line, BLACK.stroke_width(2)))
        );
        tryp!(title, root.present());
    }
    Ok(Some(s))
}

/// Indices of the points no other point beats on both axes (lower is better), by ascending x.
pub fn pareto_front(pts: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..pts.len()).collect();
    idx.sort_by(|&a, &b| {
        pts[a]
            .0
            .total_cmp(&pts[b].0)
            .then(pts[a].1.total_cmp(&pts[b].1))
    });
    let mut best = f64::INFINITY;
    let mut out = Vec::new();
    for i in idx {
        if pts[i].1 < best {
            best = pts[i].1;
            out.push(i);
        }
    }
    out
}
