//! Hand-written SVG plots: bars on a log scale, and latency percentile
//! curves. Small and dependency-free; the report links them.

use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One bar: the median with a min–max whisker.
pub struct Bar {
    /// Legend label.
    pub label: String,
    /// Fill colour.
    pub color: &'static str,
    /// Median, min, max.
    pub median: f64,
    /// Lowest round.
    pub min: f64,
    /// Highest round.
    pub max: f64,
    /// Drawn lighter (a batch variant of the bar before it).
    pub light: bool,
}

const FONT: &str = "font-family=\"sans-serif\" font-size=\"12\"";
const TITLE_FONT: &str = "font-family=\"sans-serif\" font-size=\"15\"";

/// Grouped bars on a log-10 axis labelled `unit`.
pub fn bars(title: &str, unit: &str, groups: &[(String, Vec<Bar>)]) -> String {
    let values = groups
        .iter()
        .flat_map(|g| g.1.iter())
        .flat_map(|b| [b.min, b.max]);
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (0.1, 1.0) } else { (lo, hi) };
    let (dlo, dhi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let (bar_w, gap, left, top, plot_h): (f64, f64, f64, f64, f64) =
        (14.0, 26.0, 70.0, 40.0, 300.0);
    let widths: Vec<f64> = groups
        .iter()
        .map(|g| g.1.len() as f64 * bar_w + gap)
        .collect();
    let plot_w: f64 = widths.iter().sum::<f64>() + gap;
    let mut legend: Vec<(&str, &str, bool)> = Vec::new();
    for b in groups.iter().flat_map(|g| g.1.iter()) {
        if !legend.iter().any(|l| l.0 == b.label) {
            legend.push((&b.label, b.color, b.light));
        }
    }
    let width = left + plot_w + 300.0;
    let height = (top + plot_h + 50.0).max(top + 20.0 * legend.len() as f64 + 20.0);
    let y = |v: f64| top + plot_h * (1.0 - (v.max(10f64.powf(dlo)).log10() - dlo) / (dhi - dlo));
    let mut s = open(width, height, left, title);
    let mut d = dlo;
    while d <= dhi + 1e-9 {
        let v = 10f64.powf(d);
        let yy = y(v);
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>",
            left + plot_w
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"end\">{}</text>",
            left - 6.0,
            yy + 4.0,
            trim(v)
        );
        d += 1.0;
    }
    let _ = writeln!(
        s,
        "<text transform=\"translate(18,{:.1}) rotate(-90)\" {FONT} text-anchor=\"middle\">{}</text>",
        top + plot_h / 2.0,
        esc(unit)
    );
    let mut x = left + gap;
    for (g, w) in groups.iter().zip(&widths) {
        for (i, b) in g.1.iter().enumerate() {
            let bx = x + i as f64 * bar_w;
            let (ytop, ybase) = (y(b.median), top + plot_h);
            let _ = writeln!(
                s,
                "<rect x=\"{bx:.1}\" y=\"{ytop:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"{}\" stroke=\"{}\"><title>{}: {}</title></rect>",
                bar_w - 2.0,
                (ybase - ytop).max(0.0),
                b.color,
                if b.light { 0.4 } else { 1.0 },
                b.color,
                esc(&b.label),
                trim(b.median)
            );
            let cx = bx + (bar_w - 2.0) / 2.0;
            let _ = writeln!(
                s,
                "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
                y(b.min),
                y(b.max)
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"middle\">{}</text>",
            x + (w - gap) / 2.0,
            top + plot_h + 18.0,
            esc(&g.0)
        );
        x += w;
    }
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"black\"/>",
        top + plot_h
    );
    legend_box(&mut s, left + plot_w + 20.0, top, &legend);
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{:.1}\" {FONT} fill=\"#555\">bar: median of the rounds; whisker: min to max</text>",
        top + plot_h + 40.0
    );
    s.push_str("</svg>\n");
    s
}

/// The opening of a plot: the `<svg>` element, a white background and the
/// title at `left`.
fn open(width: f64, height: f64, left: f64, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"22\" {TITLE_FONT}>{}</text>",
        esc(title)
    );
    s
}

fn legend_box(s: &mut String, x: f64, top: f64, legend: &[(&str, &str, bool)]) {
    for (i, (label, color, light)) in legend.iter().enumerate() {
        let ly = top + 20.0 * i as f64;
        let opacity = if *light { 0.4 } else { 1.0 };
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{ly:.1}\" width=\"12\" height=\"12\" fill=\"{color}\" fill-opacity=\"{opacity}\" stroke=\"{color}\"/>"
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT}>{}</text>",
            x + 18.0,
            ly + 11.0,
            esc(label)
        );
    }
}

/// `v` with three significant digits, no trailing noise.
fn trim(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// One latency curve: (x = log10(1 / (1 - quantile)), y = ns) points.
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// Line colour.
    pub color: &'static str,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
}

/// Percentile curves on log-log axes (the usual HdrHistogram plot).
pub fn curves(title: &str, curves: &[Curve]) -> String {
    let (left, top, plot_w, plot_h): (f64, f64, f64, f64) = (70.0, 40.0, 560.0, 320.0);
    let xmax = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max)
        .ceil();
    let ys = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1.max(1.0)));
    let (lo, hi) = ys.fold((f64::MAX, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (dlo, dhi) = (
        lo.min(hi).log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let x = |v: f64| left + plot_w * v / xmax;
    let y = |v: f64| top + plot_h * (1.0 - (v.max(1.0).log10() - dlo) / (dhi - dlo));
    let legend: Vec<(&str, &str, bool)> = curves
        .iter()
        .map(|c| (c.label.as_str(), c.color, false))
        .collect();
    let width = left + plot_w + 320.0;
    let height = (top + plot_h + 60.0).max(top + 20.0 * legend.len() as f64 + 20.0);
    let mut s = open(width, height, left, title);
    let mut d = dlo;
    while d <= dhi + 1e-9 {
        let yy = y(10f64.powf(d));
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>",
            left + plot_w
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"end\">{}</text>",
            left - 6.0,
            yy + 4.0,
            crate::tables::ns(10f64.powf(d))
        );
        d += 1.0;
    }
    let ticks = [
        (0.0, "0%"),
        (std::f64::consts::LOG10_2, "50%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
        (5.0, "99.999%"),
        (6.0, "99.9999%"),
    ];
    for (tx, label) in ticks.iter().filter(|t| t.0 <= xmax) {
        let xx = x(*tx);
        let _ = writeln!(
            s,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#ddd\"/>",
            top + plot_h
        );
        let _ = writeln!(
            s,
            "<text x=\"{xx:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"middle\">{label}</text>",
            top + plot_h + 18.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"middle\">percentile (all rounds merged)</text>",
        left + plot_w / 2.0,
        top + plot_h + 40.0
    );
    let _ = writeln!(
        s,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"black\"/>"
    );
    for c in curves {
        let pts: Vec<String> = c
            .points
            .iter()
            .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"><title>{}</title></polyline>",
            pts.join(" "),
            c.color,
            esc(&c.label)
        );
    }
    legend_box(&mut s, left + plot_w + 20.0, top, &legend);
    s.push_str("</svg>\n");
    s
}
