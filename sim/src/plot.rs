//! A [`Timeline`] drawn as SVG (plotters): above, how the replicas' digests group per tick
//! (and how many are down); below, the messages sent, delivered, lost, dropped by partitions
//! and duplicated per tick. Both panels shade the partition and restart windows and mark the
//! heal and the moment of convergence; the title names the run and its verdict, so the
//! picture reads on its own.
//!
//! One drawing serves both runs: [`svg`] draws a simulator [`Report`] (x in ticks), and
//! [`svg_of`] any timeline with the words and x axis its caller gives ([`Labels`]):
//! `pluriverse-cluster` fills a [`Timeline`] from its wall-clock samples and draws it in
//! seconds.
//!
//! [`png`] and [`png_of`] (feature `png`) rasterize the same SVG with resvg, a pure-Rust
//! renderer that reads the system's font files itself (plotters' own bitmap text would link
//! fontconfig and FreeType); it needs one TrueType or OpenType font in the usual folders
//! (`/usr/share/fonts`, `~/.local/share/fonts`, ...; Debian's `fonts-dejavu-core`) or in
//! `PLURIVERSE_FONT_DIR`.
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
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::timeline::{Sample, Timeline};
use crate::Report;

/// Width and height of the picture, in pixels.
pub const SIZE: (u32, u32) = (1280, 760);

/// Width of the column right of each panel that holds the panel's legend, in pixels: a
/// legend inside the plotting area covers the lines it names.
const LEGEND: u32 = 250;

/// One line of a legend: what is drawn, and its words.
struct Entry {
    glyph: Glyph,
    label: String,
}

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
enum Glyph {
    /// A line of this colour.
    Line(RGBColor),
    /// A shaded box of this colour and opacity.
    Shade(RGBColor, f64),
}

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
    /// Extra copies made (drawn when there are any).
    pub const DUPLICATED: &str = "#17A2B8";
    /// Replicas down (drawn when some are).
    pub const DOWN: &str = "#7B3FA0";
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

/// What the picture calls things, and how its x axis reads: the caller's words around a
/// [`Timeline`].
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// The run, on top of the picture.
    pub title: String,
    /// How it ended, in the top panel's caption.
    pub verdict: String,
    /// What a tick is on the x axis.
    pub x: XAxis,
    /// What a member of the run is called, singular (`"replica"`, `"node"`).
    pub member: String,
    /// What the network carries, plural (`"messages"`, `"datagrams"`).
    pub messages: String,
    /// The legend of the restart windows (`"replica down (restart)"`).
    pub down: String,
}

/// The x axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XAxis {
    /// Ticks of the simulator: the axis counts them.
    Ticks,
    /// Wall-clock time: the axis reads seconds.
    Seconds {
        /// Seconds per tick (a cluster's timeline counts milliseconds: 0.001).
        tick: f64,
        /// Seconds each sample's counts cover (its sampling interval).
        sample: f64,
    },
}

impl XAxis {
    /// Where tick `t` is drawn.
    fn at(self, t: u32) -> f64 {
        match self {
            XAxis::Ticks => t as f64,
            XAxis::Seconds { tick, .. } => t as f64 * tick,
        }
    }

    /// Tick `t` in words, as the legend names a moment.
    fn moment(self, t: u32) -> String {
        match self {
            XAxis::Ticks => format!("tick {t}"),
            XAxis::Seconds { .. } => format!("{:.2} s", self.at(t)),
        }
    }

    /// The axis's description.
    fn unit(self) -> &'static str {
        match self {
            XAxis::Ticks => "tick",
            XAxis::Seconds { .. } => "seconds",
        }
    }

    /// What one sample covers, after "per".
    fn per(self) -> String {
        match self {
            XAxis::Ticks => "tick".into(),
            XAxis::Seconds { sample, .. } => format!("{:.0} ms", sample * 1e3),
        }
    }
}

/// The report's run drawn as an SVG document.
pub fn svg(report: &Report) -> Result<String, PlotError> {
    let t = report.timeline.as_ref().ok_or(PlotError::NoTimeline)?;
    svg_of(t, &labels(report))
}

/// The words of a simulator run's picture.
fn labels(report: &Report) -> Labels {
    Labels {
        title: title(report),
        verdict: verdict(report),
        x: XAxis::Ticks,
        member: "replica".into(),
        messages: "messages".into(),
        down: "replica down (restart)".into(),
    }
}

/// Any timeline drawn as an SVG document, in the caller's words.
///
/// # Example
/// ```
/// use pluriverse_sim::plot::{self, Labels, XAxis};
/// use pluriverse_sim::timeline::{Phase, Sample, Timeline, Window};
/// let sample = |tick, groups: Vec<u32>, sent| Sample {
///     tick, phase: Phase::Write, groups, sent, lost: 1, blocked: 0, delivered: sent - 1,
///     duplicated: 0, down: 0,
/// };
/// let t = Timeline {
///     replicas: 3,
///     samples: vec![sample(0, vec![2, 1], 9), sample(1, vec![3], 4)],
///     partitions: vec![Window { start: 0, end: 1 }],
///     down: vec![],
///     heal: 1,
///     converged: Some(1),
/// };
/// let labels = Labels {
///     title: "three nodes".into(),
///     verdict: "PASS".into(),
///     x: XAxis::Seconds { tick: 0.2, sample: 0.2 },
///     member: "node".into(),
///     messages: "datagrams".into(),
///     down: "node down".into(),
/// };
/// let svg = plot::svg_of(&t, &labels).unwrap();
/// assert!(svg.contains("three nodes") && svg.contains("heal (0.20 s)"));
/// ```
pub fn svg_of(t: &Timeline, labels: &Labels) -> Result<String, PlotError> {
    if t.samples.is_empty() {
        return Err(PlotError::Empty);
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root
            .titled(&labels.title, ("sans-serif", 17))
            .map_err(draw_err)?;
        let (top, bottom) = root.split_vertically((SIZE.1 - 40) / 2);
        digests(&top, t, labels)?;
        messages(&bottom, t, labels)?;
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
    let t = report.timeline.as_ref().ok_or(PlotError::NoTimeline)?;
    png_of(t, &labels(report))
}

/// Any timeline drawn as a PNG image of [`SIZE`] pixels: the SVG of [`svg_of`], rasterized.
#[cfg(feature = "png")]
pub fn png_of(t: &Timeline, labels: &Labels) -> Result<Vec<u8>, PlotError> {
    use resvg::{tiny_skia, usvg};
    let svg = svg_of(t, labels)?;
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

fn x_range(t: &Timeline, x: XAxis) -> std::ops::Range<f64> {
    let last = t.samples.last().map_or(0, |s| s.tick);
    0.0..x.at(last + 1)
}

/// Shades the fault windows and marks the heal and convergence, with legend entries.
fn windows(
    chart: &mut Chart<'_, '_>,
    t: &Timeline,
    ymax: f64,
    labels: &Labels,
    legend: &mut Vec<Entry>,
) -> Result<(), PlotError> {
    let x = labels.x;
    let shade = |start: u32, end: u32, c: RGBColor, alpha: f64| {
        Rectangle::new(
            [(x.at(start), 0.0), (x.at(end.max(start + 1)), ymax)],
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
            .map_err(draw_err)?;
        legend.push(Entry {
            glyph: Glyph::Shade(PARTITION, 0.25),
            label: "partition".into(),
        });
    }
    if !t.down.is_empty() {
        chart
            .draw_series(
                t.down
                    .iter()
                    .map(|d| shade(d.window.start, d.window.end, DOWN, 0.15)),
            )
            .map_err(draw_err)?;
        legend.push(Entry {
            glyph: Glyph::Shade(DOWN, 0.3),
            label: labels.down.clone(),
        });
    }
    let mark = |at: u32, c: RGBColor| {
        PathElement::new(vec![(x.at(at), 0.0), (x.at(at), ymax)], c.stroke_width(2))
    };
    chart
        .draw_series(std::iter::once(mark(t.heal, HEAL)))
        .map_err(draw_err)?;
    legend.push(Entry {
        glyph: Glyph::Line(HEAL),
        label: format!("heal ({})", x.moment(t.heal)),
    });
    if let Some(at) = t.converged {
        chart
            .draw_series(std::iter::once(mark(at, CONVERGED)))
            .map_err(draw_err)?;
        legend.push(Entry {
            glyph: Glyph::Line(CONVERGED),
            label: format!("converged ({})", x.moment(at)),
        });
    }
    Ok(())
}

fn line(
    chart: &mut Chart<'_, '_>,
    points: Vec<(f64, f64)>,
    hex: &str,
    label: &str,
    legend: &mut Vec<Entry>,
) -> Result<(), PlotError> {
    let c = rgb(hex);
    chart
        .draw_series(LineSeries::new(points, c.stroke_width(2)))
        .map_err(draw_err)?;
    legend.push(Entry {
        glyph: Glyph::Line(c),
        label: label.into(),
    });
    Ok(())
}

/// Draws a panel's legend into its column (`area`, right of the chart), top-aligned with
/// the plotting area, one entry per line.
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    top: i32,
    legend: &[Entry],
) -> Result<(), PlotError> {
    const ROW: i32 = 20;
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    for (i, e) in legend.iter().enumerate() {
        let y = top + 8 + ROW * i as i32;
        match e.glyph {
            Glyph::Line(c) => {
                area.draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(2)))
            }
            Glyph::Shade(c, alpha) => area.draw(&Rectangle::new(
                [(8, y - 6), (30, y + 6)],
                c.mix(alpha).filled(),
            )),
        }
        .map_err(draw_err)?;
        area.draw(&Text::new(
            e.label.as_str(),
            (38, y),
            font.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// The x axis's tick labels: whole ticks, or seconds with as many decimals as their spacing
/// needs.
fn x_label(x: XAxis, v: f64) -> String {
    match x {
        XAxis::Ticks => format!("{v:.0}"),
        XAxis::Seconds { .. } => {
            let s = format!("{v:.1}");
            s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
        }
    }
}

/// A count's label: whole numbers only (a few members get half steps on the axis).
fn whole(y: &f64) -> String {
    if (y - y.round()).abs() < 1e-9 {
        format!("{y:.0}")
    } else {
        String::new()
    }
}

fn digests(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    t: &Timeline,
    labels: &Labels,
) -> Result<(), PlotError> {
    let x = labels.x;
    let members = format!("{}s", labels.member);
    let ymax = t.replicas as f64 + 0.5;
    let (area, column) = area.split_horizontally(SIZE.0 - LEGEND);
    let mut legend = Vec::new();
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!("{members} by digest, per {}: {}", x.per(), labels.verdict),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range(t, x), 0.0..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x.unit())
        .y_desc(members.as_str())
        .axis_desc_style(("sans-serif", 14))
        .x_label_formatter(&|v| x_label(x, *v))
        .y_label_formatter(&whole)
        .draw()
        .map_err(draw_err)?;
    windows(&mut chart, t, ymax, labels, &mut legend)?;
    let pts = |f: &dyn Fn(&Sample) -> u32| -> Vec<(f64, f64)> {
        t.samples
            .iter()
            .map(|s| (x.at(s.tick), f(s) as f64))
            .collect()
    };
    line(
        &mut chart,
        pts(&|s| s.distinct()),
        colour::DISTINCT,
        "distinct digests",
        &mut legend,
    )?;
    line(
        &mut chart,
        pts(&|s| s.outside_majority()),
        colour::OUTSIDE,
        &format!("{members} outside the largest group"),
        &mut legend,
    )?;
    if t.samples.iter().any(|s| s.down > 0) {
        line(
            &mut chart,
            pts(&|s| s.down),
            colour::DOWN,
            &format!("{members} down"),
            &mut legend,
        )?;
    }
    let top = chart.plotting_area().get_base_pixel().1 - column.get_base_pixel().1;
    draw_legend(&column, top, &legend)
}

fn messages(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    t: &Timeline,
    labels: &Labels,
) -> Result<(), PlotError> {
    let x = labels.x;
    let most = t
        .samples
        .iter()
        .map(|s| s.sent.max(s.delivered))
        .max()
        .unwrap_or(0);
    let ymax = (most as f64 * 1.1).max(1.0);
    let (area, column) = area.split_horizontally(SIZE.0 - LEGEND);
    let mut legend = Vec::new();
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!("{} per {}", labels.messages, x.per()),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range(t, x), 0.0..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x.unit())
        .y_desc(labels.messages.as_str())
        .axis_desc_style(("sans-serif", 14))
        .x_label_formatter(&|v| x_label(x, *v))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(draw_err)?;
    windows(&mut chart, t, ymax, labels, &mut legend)?;
    type Field = fn(&Sample) -> u64;
    let mut series: Vec<(Field, &str, &str)> = vec![
        (|s| s.sent, colour::SENT, "sent"),
        (|s| s.delivered, colour::DELIVERED, "delivered"),
        (|s| s.lost, colour::LOST, "lost"),
        (|s| s.blocked, colour::BLOCKED, "dropped by a partition"),
    ];
    if t.samples.iter().any(|s| s.duplicated > 0) {
        series.push((|s| s.duplicated, colour::DUPLICATED, "duplicated"));
    }
    for (f, hex, label) in series {
        let pts = t
            .samples
            .iter()
            .map(|s| (x.at(s.tick), f(s) as f64))
            .collect();
        line(&mut chart, pts, hex, label, &mut legend)?;
    }
    let top = chart.plotting_area().get_base_pixel().1 - column.get_base_pixel().1;
    draw_legend(&column, top, &legend)
}
