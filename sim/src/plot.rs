//! A run's [`Timeline`] drawn as SVG (plotters): above, how the replicas' digests group per
//! tick; below, the messages sent, delivered, lost and dropped by partitions per tick. Both
//! panels shade the partition and restart windows and mark the heal and the moment of
//! convergence; the title names the run and its verdict, so the picture reads on its own.
//!
//! [`png`] (feature `png`) rasterizes the same SVG with resvg, a pure-Rust renderer that reads
//! the system's font files itself (plotters' own bitmap text would link fontconfig and
//! FreeType); it needs one TrueType or OpenType font in the usual folders (`/usr/share/fonts`,
//! `~/.local/share/fonts`, ...; Debian's `fonts-dejavu-core`) or in `PLURIVERSE_FONT_DIR`.
//!
//! # Example
//! ```
//! use pluriverse_sim::{plot, run_with_timeline, Config};
//! let report = run_with_timeline(&Config { records: 2_000, ..Config::default() }, &mut |_| {});
//! let svg = plot::svg(&report).unwrap();
//! assert!(svg.starts_with("<svg") && svg.contains("distinct digests"));
//! ```

use std::fmt;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::timeline::Timeline;
use crate::Report;

/// Width and height of the picture, in pixels.
pub const SIZE: (u32, u32) = (1100, 760);

/// The colour of each series, as `#rrggbb` (the SVG's `stroke`): a reader of the SVG finds
/// a series by its colour.
pub mod colour {
    /// Distinct digests among the replicas.
    pub const DISTINCT: &str = "#1F5FBF";
    /// Replicas outside the largest group.
    pub const OUTSIDE: &str = "#D0402A";
    /// Messages sent.
    pub const SENT: &str = "#404040";
    /// Message copies delivered.
    pub const DELIVERED: &str = "#2A9D4A";
    /// Messages lost.
    pub const LOST: &str = "#D0402A";
    /// Messages dropped by a partition.
    pub const BLOCKED: &str = "#E08A00";
}

/// Why a picture was not drawn.
#[derive(Debug)]
pub enum PlotError {
    /// The report holds no timeline (the run was not recorded).
    NoTimeline,
    /// The timeline holds no tick.
    Empty,
    /// plotters failed.
    Draw(String),
    /// No font to draw the PNG's text with.
    NoFont,
    /// The SVG could not be rasterized.
    Raster(String),
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::NoTimeline => {
                write!(
                    f,
                    "the report holds no timeline (run it with run_with_timeline)"
                )
            }
            PlotError::Empty => write!(f, "the timeline holds no tick"),
            PlotError::Draw(e) => write!(f, "drawing failed: {e}"),
            PlotError::NoFont => write!(
                f,
                "no TrueType or OpenType font found (looked in the system's font folders and \
                 PLURIVERSE_FONT_DIR) to draw the PNG's text: install one (Debian: \
                 fonts-dejavu-core), point PLURIVERSE_FONT_DIR at a folder of fonts, or write \
                 an SVG"
            ),
            PlotError::Raster(e) => write!(f, "rasterizing the SVG failed: {e}"),
        }
    }
}

impl std::error::Error for PlotError {}

fn draw_err<E: fmt::Debug>(e: E) -> PlotError {
    PlotError::Draw(format!("{e:?}"))
}

fn rgb(hex: &str) -> RGBColor {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    RGBColor(c(1), c(3), c(5))
}

const PARTITION: RGBColor = RGBColor(240, 170, 60);
const DOWN: RGBColor = RGBColor(150, 90, 200);
const HEAL: RGBColor = RGBColor(0, 0, 0);
const CONVERGED: RGBColor = RGBColor(30, 150, 60);

/// The report's run drawn as an SVG document.
pub fn svg(report: &Report) -> Result<String, PlotError> {
    let t = report.timeline.as_ref().ok_or(PlotError::NoTimeline)?;
    if t.samples.is_empty() {
        return Err(PlotError::Empty);
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root
            .titled(&title(report), ("sans-serif", 17))
            .map_err(draw_err)?;
        let (top, bottom) = root.split_vertically((SIZE.1 - 40) / 2);
        digests(&top, t, &verdict(report))?;
        messages(&bottom, t)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

/// Families tried, in order, for the PNG's `sans-serif` text; any other face is the fallback.
#[cfg(feature = "png")]
const SANS: [&str; 6] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "FreeSans",
    "Arial",
    "Helvetica",
];

/// The report's run drawn as a PNG image of [`SIZE`] pixels: the SVG of [`svg`], rasterized.
///
/// # Example
/// ```
/// use pluriverse_sim::{plot, run_with_timeline, Config};
/// let report = run_with_timeline(&Config { records: 2_000, ..Config::default() }, &mut |_| {});
/// match plot::png(&report) {
///     Ok(png) => assert_eq!(&png[1..4], b"PNG"),
///     Err(plot::PlotError::NoFont) => {} // a machine without any font file
///     Err(e) => panic!("{e}"),
/// }
/// ```
#[cfg(feature = "png")]
pub fn png(report: &Report) -> Result<Vec<u8>, PlotError> {
    use resvg::{tiny_skia, usvg};
    let svg = svg(report)?;
    let mut opt = usvg::Options::default();
    let fonts = opt.fontdb_mut();
    fonts.load_system_fonts();
    if let Some(dir) = std::env::var_os("PLURIVERSE_FONT_DIR") {
        fonts.load_fonts_dir(dir);
    }
    let family = {
        let has = |name: &str| {
            fonts
                .faces()
                .any(|f| f.families.iter().any(|(n, _)| n == name))
        };
        let proportional = || {
            fonts
                .faces()
                .find(|f| !f.monospaced)
                .or_else(|| fonts.faces().next())
                .and_then(|f| f.families.first())
                .map(|(n, _)| n.clone())
        };
        SANS.iter()
            .find(|n| has(n))
            .map(|n| n.to_string())
            .or_else(proportional)
            .ok_or(PlotError::NoFont)?
    };
    fonts.set_sans_serif_family(family.clone());
    opt.font_family = family;
    let tree = usvg::Tree::from_str(&svg, &opt).map_err(|e| PlotError::Raster(e.to_string()))?;
    let mut pixmap = tiny_skia::Pixmap::new(SIZE.0, SIZE.1)
        .ok_or_else(|| PlotError::Raster(format!("no {}x{} pixmap", SIZE.0, SIZE.1)))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| PlotError::Raster(e.to_string()))
}

/// The run: what was simulated.
fn title(r: &Report) -> String {
    let c = &r.config;
    format!(
        "pluriverse simulate: {} replicas, {}, {} records, loss {}, partitions {}, restarts {}, seed {}",
        c.replicas,
        c.kind.name(),
        c.records,
        c.loss,
        c.partition.name(),
        c.restarts.name(),
        c.seed
    )
}

/// How it ended.
fn verdict(r: &Report) -> String {
    match (&r.timeline, r.passed()) {
        (
            Some(Timeline {
                converged: Some(at),
                ..
            }),
            true,
        ) => format!(
            "converged at tick {at} (heal rounds: {}), oracle PASS",
            r.convergence.rounds.unwrap_or(0)
        ),
        (_, true) => "PASS".to_string(),
        (_, false) if !r.convergence.converged => "did NOT converge".to_string(),
        _ => "converged, oracle FAIL".to_string(),
    }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn x_range(t: &Timeline) -> std::ops::Range<f64> {
    let last = t.samples.last().map_or(0, |s| s.tick);
    0.0..(last as f64 + 1.0)
}

/// Shades the fault windows and marks the heal and convergence, with legend entries.
fn windows(chart: &mut Chart<'_, '_>, t: &Timeline, ymax: f64) -> Result<(), PlotError> {
    let shade = |start: u32, end: u32, c: RGBColor, alpha: f64| {
        Rectangle::new(
            [(start as f64, 0.0), (end.max(start + 1) as f64, ymax)],
            c.mix(alpha).filled(),
        )
    };
    if !t.partitions.is_empty() {
        chart
            .draw_series(
                t.partitions
                    .iter()
                    .map(|w| shade(w.start, w.end, PARTITION, 0.25)),
            )
            .map_err(draw_err)?
            .label("partition")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 6), (x + 18, y + 6)], PARTITION.mix(0.25).filled())
            });
    }
    if !t.down.is_empty() {
        chart
            .draw_series(
                t.down
                    .iter()
                    .map(|d| shade(d.window.start, d.window.end, DOWN, 0.15)),
            )
            .map_err(draw_err)?
            .label("replica down (restart)")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], DOWN.mix(0.3).filled()));
    }
    let mark = |at: u32, c: RGBColor| {
        PathElement::new(vec![(at as f64, 0.0), (at as f64, ymax)], c.stroke_width(2))
    };
    chart
        .draw_series(std::iter::once(mark(t.heal, HEAL)))
        .map_err(draw_err)?
        .label(format!("heal (tick {})", t.heal))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], HEAL.stroke_width(2)));
    if let Some(at) = t.converged {
        chart
            .draw_series(std::iter::once(mark(at, CONVERGED)))
            .map_err(draw_err)?
            .label(format!("converged (tick {at})"))
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], CONVERGED.stroke_width(2))
            });
    }
    Ok(())
}

fn line(
    chart: &mut Chart<'_, '_>,
    points: Vec<(f64, f64)>,
    hex: &str,
    label: &str,
) -> Result<(), PlotError> {
    let c = rgb(hex);
    chart
        .draw_series(LineSeries::new(points, c.stroke_width(2)))
        .map_err(draw_err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, at: SeriesLabelPosition) -> Result<(), PlotError> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(draw_err)
}

fn digests(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    t: &Timeline,
    verdict: &str,
) -> Result<(), PlotError> {
    let ymax = t.replicas as f64 + 0.5;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("replicas by digest, per tick: {verdict}"),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range(t), 0.0..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("tick")
        .y_desc("replicas")
        .axis_desc_style(("sans-serif", 14))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(draw_err)?;
    windows(&mut chart, t, ymax)?;
    let pts = |f: &dyn Fn(&crate::timeline::Sample) -> u32| -> Vec<(f64, f64)> {
        t.samples
            .iter()
            .map(|s| (s.tick as f64, f(s) as f64))
            .collect()
    };
    line(
        &mut chart,
        pts(&|s| s.distinct()),
        colour::DISTINCT,
        "distinct digests",
    )?;
    line(
        &mut chart,
        pts(&|s| s.outside_majority()),
        colour::OUTSIDE,
        "replicas outside the largest group",
    )?;
    legend(&mut chart, SeriesLabelPosition::LowerLeft)
}

fn messages(area: &DrawingArea<SVGBackend<'_>, Shift>, t: &Timeline) -> Result<(), PlotError> {
    let most = t
        .samples
        .iter()
        .map(|s| s.sent.max(s.delivered))
        .max()
        .unwrap_or(0);
    let ymax = (most as f64 * 1.1).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .caption("messages per tick", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range(t), 0.0..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("tick")
        .y_desc("messages")
        .axis_desc_style(("sans-serif", 14))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(draw_err)?;
    windows(&mut chart, t, ymax)?;
    type Field = fn(&crate::timeline::Sample) -> u64;
    let series: [(Field, &str, &str); 4] = [
        (|s| s.sent, colour::SENT, "sent"),
        (|s| s.delivered, colour::DELIVERED, "delivered"),
        (|s| s.lost, colour::LOST, "lost"),
        (|s| s.blocked, colour::BLOCKED, "dropped by a partition"),
    ];
    for (f, hex, label) in series {
        let pts = t
            .samples
            .iter()
            .map(|s| (s.tick as f64, f(s) as f64))
            .collect();
        line(&mut chart, pts, hex, label)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperMiddle)
}
