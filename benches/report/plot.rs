//! The report's charts, drawn by plotters into SVG files: bars (the
//! median of the rounds, a whisker from min to max) on a log axis grouped
//! by shape, and latency percentile curves on log-log axes. Each chart
//! keeps a column on its right for the legend.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::io;
use std::path::Path;

/// One bar: the median with a min–max whisker.
pub struct Bar {
    /// Legend label.
    pub label: String,
    /// Fill colour, `#rrggbb`.
    pub color: &'static str,
    /// Median of the rounds.
    pub median: f64,
    /// Lowest round.
    pub min: f64,
    /// Highest round.
    pub max: f64,
    /// Drawn lighter (a batch variant of the bar before it).
    pub light: bool,
}

/// One latency curve: (x = log10(1 / (1 - quantile)), y = ns) points.
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// Line colour, `#rrggbb`.
    pub color: &'static str,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Fallible = Result<(), Box<dyn std::error::Error>>;

const LEGEND_WIDTH: u32 = 420;

fn rgb(hex: &str) -> RGBColor {
    let c = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("55"), 16).unwrap_or(0x55);
    RGBColor(c(1), c(3), c(5))
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

/// Powers of ten around every positive value of `values`.
fn decades(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (0.1, 1.0) } else { (lo, hi) };
    let lo = lo.log10().floor();
    10f64.powf(lo)..10f64.powf(hi.log10().ceil().max(lo + 1.0))
}

/// The legend: a swatch and a label per item, lighter where asked.
fn legend(area: &Area, items: &[(&str, &str, bool)]) -> Fallible {
    for (i, (label, color, light)) in items.iter().enumerate() {
        let y = 40 + 20 * i as i32;
        let fill = rgb(color).mix(if *light { 0.4 } else { 1.0 });
        area.draw(&Rectangle::new([(10, y), (22, y + 12)], fill.filled()))?;
        area.draw(&Text::new(label.to_string(), (28, y), font(12)))?;
    }
    Ok(())
}

/// A point of the chart's backend in `area`'s own pixels.
fn below(area: &Area, (x, y): (i32, i32)) -> (i32, i32) {
    let (left, top) = area.get_base_pixel();
    (x - left, y - top)
}

/// `v` with three significant digits, no trailing noise.
fn trim(v: f64) -> String {
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else if v >= 1.0 {
        2
    } else {
        3
    };
    format!("{v:.digits$}")
}

/// Writes `draw`'s chart of `width` × `height` (legend column included)
/// to `dir/file`; returns (file, title) for the report's file list.
fn write(
    dir: &Path,
    file: &str,
    title: &str,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area, &Area) -> Fallible,
) -> io::Result<(String, String)> {
    let path = dir.join(file);
    let root = SVGBackend::new(&path, (width + LEGEND_WIDTH, height)).into_drawing_area();
    let drawn = root.fill(&WHITE).map_err(Into::into).and_then(|()| {
        root.draw(&Text::new(title, (70, 12), font(15)))?;
        let (chart, side) = root.margin(30, 0, 0, 0).split_horizontally(width);
        draw(&chart, &side)?;
        Ok(root.present()?)
    });
    drawn.map_err(|e: Box<dyn std::error::Error>| io::Error::other(e.to_string()))?;
    Ok((file.to_string(), title.to_string()))
}

/// Grouped bars on a log-10 axis labelled `unit`, into `dir/file`.
pub fn bars(
    dir: &Path,
    file: &str,
    title: &str,
    unit: &str,
    groups: &[(String, Vec<Bar>)],
) -> io::Result<(String, String)> {
    // One slot per bar and one between groups.
    let slots: usize = groups.iter().map(|g| g.1.len() + 1).sum::<usize>() + 1;
    let all = || groups.iter().flat_map(|g| &g.1);
    let y = decades(all().flat_map(|b| [b.min, b.max]));
    let mut items: Vec<(&str, &str, bool)> = Vec::new();
    for b in all() {
        if !items.iter().any(|i| i.0 == b.label) {
            items.push((&b.label, b.color, b.light));
        }
    }
    let size = (
        90 + 14 * slots as u32,
        400.max(60 + 20 * items.len() as u32),
    );
    write(dir, file, title, size, |area, side| {
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..slots as f64, y.clone().log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(unit)
            .y_label_formatter(&|v| trim(*v))
            .draw()?;
        let mut x = 1.0;
        for (shape, group) in groups {
            for b in group {
                let fill = rgb(b.color).mix(if b.light { 0.4 } else { 1.0 });
                let mid = x + 0.45;
                chart.draw_series([
                    Rectangle::new([(x, y.start), (x + 0.9, b.median)], fill.filled()),
                    Rectangle::new([(x, y.start), (x + 0.9, b.median)], rgb(b.color)),
                ])?;
                chart.draw_series([PathElement::new([(mid, b.min), (mid, b.max)], BLACK)])?;
                x += 1.0;
            }
            let (px, py) = below(
                area,
                chart.backend_coord(&(x - group.len() as f64 / 2.0, y.start)),
            );
            let label = font(12).pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(shape.clone(), (px, py + 8), label))?;
            x += 1.0;
        }
        let note = "bar: median of the rounds; whisker: min to max";
        let (_, bottom) = below(area, chart.backend_coord(&(0.0, y.start)));
        area.draw(&Text::new(
            note,
            (70, bottom + 26),
            font(12).color(&RGBColor(85, 85, 85)),
        ))?;
        legend(side, &items)
    })
}

/// Percentile curves on log-log axes (the usual HdrHistogram plot), into
/// `dir/file`.
pub fn curves(
    dir: &Path,
    file: &str,
    title: &str,
    curves: &[Curve],
) -> io::Result<(String, String)> {
    let points = || curves.iter().flat_map(|c| &c.points);
    let xmax = points().map(|p| p.0).fold(1.0f64, f64::max).ceil();
    let y = decades(points().map(|p| p.1.max(1.0)));
    let items: Vec<(&str, &str, bool)> = curves
        .iter()
        .map(|c| (c.label.as_str(), c.color, false))
        .collect();
    let size = (640, 420.max(60 + 20 * items.len() as u32));
    write(dir, file, title, size, |area, side| {
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..xmax, y.clone().log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_label_formatter(&|v| crate::tables::ns(*v))
            .draw()?;
        let ticks = [0.0, std::f64::consts::LOG10_2, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        for (i, &tx) in ticks.iter().enumerate().filter(|t| *t.1 <= xmax) {
            let percent = match i {
                0 => "0%".to_string(),
                1 => "50%".to_string(),
                _ => format!("{:.*}%", i.saturating_sub(3), 100.0 - 10f64.powf(2.0 - tx)),
            };
            let grid = RGBColor(221, 221, 221);
            chart.draw_series([PathElement::new([(tx, y.start), (tx, y.end)], grid)])?;
            let (px, py) = below(area, chart.backend_coord(&(tx, y.start)));
            let label = font(12).pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(percent, (px, py + 6), label))?;
        }
        let (px, py) = below(area, chart.backend_coord(&(xmax / 2.0, y.start)));
        let label = font(12).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(
            "percentile (all rounds merged)",
            (px, py + 26),
            label,
        ))?;
        for c in curves {
            let style = rgb(c.color).stroke_width(2);
            chart.draw_series([PathElement::new(c.points.clone(), style)])?;
        }
        legend(side, &items)
    })
}
