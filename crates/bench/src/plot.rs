//! Line charts as PNG files (plotters' bitmap backend): one line per
//! server, a logarithmic x axis with a tick at each measured point, a
//! legend. The text is drawn with a TrueType font read from a file when the
//! first chart is drawn (ab_glyph), so nothing depends on fontconfig or on
//! which fonts the system would pick.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use plotters::coord::combinators::{BindKeyPoints as _, IntoLogRange as _};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Size of a chart in pixels: readable as an image in a markdown page.
pub const SIZE: (u32, u32) = (800, 500);

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name in the legend.
    pub label: String,
    /// Its colour, RGB.
    pub color: (u8, u8, u8),
    /// (x, y) points in increasing x; a missing measurement is left out.
    pub points: Vec<(f64, f64)>,
}

/// What a chart shows.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The caption above the plot.
    pub title: String,
    /// The x axis' title.
    pub x_label: String,
    /// The y axis' title.
    pub y_label: String,
    /// The x values that get a tick, with their labels (the measured
    /// points: a log axis' own ticks would be powers of ten).
    pub x_ticks: Vec<(f64, String)>,
    /// The lines.
    pub series: Vec<Series>,
}

/// The font registered with plotters so far (registered again only when a
/// different file is asked for).
static REGISTERED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Reads `font` and makes it plotters' sans-serif font.
fn use_font(font: &Path) -> Result<(), String> {
    let mut registered = REGISTERED.lock().map_err(|_| "font lock poisoned")?;
    if registered.as_deref() == Some(font) {
        return Ok(());
    }
    let bytes = std::fs::read(font).map_err(|e| {
        format!(
            "cannot read the plots' font {}: {e} (Debian's fonts-dejavu-core has it: \
             scripts/install-deps.sh installs it; or pass --plot-font PATH to a .ttf)",
            font.display()
        )
    })?;
    // plotters keeps fonts for the life of the process: a few hundred KiB,
    // once per font file.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{} is not a TrueType/OpenType font", font.display()))?;
    *registered = Some(font.to_owned());
    Ok(())
}

/// Draws `chart` into the PNG file `path` ([`SIZE`]), its text in `font`.
pub fn draw(path: &Path, chart: &Chart, font: &Path) -> Result<(), String> {
    use_font(font)?;
    draw_png(path, chart).map_err(|e| format!("cannot draw {}: {e}", path.display()))
}

fn draw_png(path: &Path, chart: &Chart) -> Result<(), Box<dyn std::error::Error>> {
    let (x_min, x_max) = x_span(chart);
    let y_max = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(_, y)| y))
        .fold(0.0f64, f64::max);
    // Room above the highest point for the legend's corner; 1 when nothing
    // was measured, so the axes are still drawn.
    let y_top = if y_max > 0.0 { y_max * 1.2 } else { 1.0 };

    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut plot = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(82)
        .build_cartesian_2d(
            (x_min..x_max)
                .log_scale()
                .with_key_points(chart.x_ticks.iter().map(|&(x, _)| x).collect()),
            0.0..y_top,
        )?;
    let tick_label = |x: &f64| {
        chart
            .x_ticks
            .iter()
            .find(|(t, _)| (t - x).abs() <= t.abs() * 1e-9)
            .map(|(_, label)| label.clone())
            .unwrap_or_default()
    };
    plot.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&tick_label)
        .y_label_formatter(&|y| compact(*y))
        .y_labels(8)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for series in &chart.series {
        let (r, g, b) = series.color;
        let color = RGBColor(r, g, b);
        plot.draw_series(LineSeries::new(
            series.points.iter().copied(),
            color.stroke_width(3),
        ))?
        .label(&series.label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
        plot.draw_series(
            series
                .points
                .iter()
                .map(|&point| Circle::new(point, 5, color.filled())),
        )?;
    }
    plot.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The x range: a little beyond the outer ticks (or points), so that their
/// markers are not cut in half by the frame.
fn x_span(chart: &Chart) -> (f64, f64) {
    let xs = chart
        .x_ticks
        .iter()
        .map(|&(x, _)| x)
        .chain(
            chart
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0)),
        )
        .filter(|x| *x > 0.0);
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if lo > hi {
        return (1.0, 10.0);
    }
    (lo / 1.4, hi * 1.4)
}

/// 1_250_000 → "1.25M", 800_000 → "800k", 0 → "0".
pub fn compact(v: f64) -> String {
    let (scaled, unit) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// 100 → "100 B", 1024 → "1 KiB", 16384 → "16 KiB", 1536 → "1.5 KiB".
pub fn bytes(n: u64) -> String {
    if n >= 1024 && n.is_multiple_of(128) {
        let kib = format!("{:.2}", n as f64 / 1024.0);
        format!("{} KiB", kib.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(800_000.0), "800k");
        assert_eq!(compact(1_250_000.0), "1.25M");
        assert_eq!(compact(2_000_000.0), "2M");
        assert_eq!(bytes(100), "100 B");
        assert_eq!(bytes(1024), "1 KiB");
        assert_eq!(bytes(16_384), "16 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1000), "1000 B");
    }

    #[test]
    fn a_missing_font_is_named_with_its_fix() {
        let chart = Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_ticks: vec![(1.0, "1".into())],
            series: Vec::new(),
        };
        let dir = std::env::temp_dir().join(format!("telltale-plot-{}", std::process::id()));
        let e = draw(&dir.join("x.png"), &chart, &dir.join("no-such-font.ttf")).unwrap_err();
        assert!(
            e.contains("no-such-font.ttf") && e.contains("--plot-font"),
            "{e}"
        );
    }
}
