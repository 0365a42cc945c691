//! A cluster run's [`crate::timeline::Timeline`] drawn by the simulator's drawing code
//! (`pluriverse_sim::plot`): nodes by digest and the proxies' datagrams per sampling
//! interval, in seconds from the start of the write phase, the partitions and the nodes
//! down shaded, the heal and the moment of equal digests marked; the title names the run,
//! the caption its verdict.
//!
//! # Example
//! ```no_run
//! use pluriverse_cluster::{plot, run, Config};
//! let cfg = Config { sample_every: Some(std::time::Duration::from_millis(200)), ..Config::default() };
//! let report = run(&cfg, "target/debug/pluriverse".as_ref());
//! std::fs::write("cluster.svg", plot::svg(&report).unwrap()).unwrap();
//! ```

pub use pluriverse_sim::plot::PlotError;
use pluriverse_sim::plot::{Labels, XAxis};

use crate::Report;

/// The words around the picture.
fn labels(r: &Report, t: &crate::timeline::Timeline) -> Labels {
    let c = &r.config;
    let title = format!(
        "pluriverse cluster: {} nodes, loss {}, dup {}, delay {} ms, partition {} x{}, {} kills, {} s writes, seed {}",
        c.nodes,
        c.loss,
        c.dup,
        c.delay.as_millis(),
        c.partition.name(),
        c.partitions,
        c.kills,
        c.duration.as_secs_f64(),
        c.seed
    );
    let verdict = if r.convergence.converged {
        format!(
            "equal digests {:.2} s after the heal, check {}",
            r.convergence.after_heal.as_secs_f64(),
            r.verdict()
        )
    } else {
        format!("did NOT converge, {}", r.verdict())
    };
    Labels {
        title,
        verdict,
        x: XAxis::Seconds {
            tick: 1e-3,
            sample: t.interval_ms.max(1) as f64 / 1e3,
        },
        member: "node".into(),
        messages: "datagrams".into(),
        down: "node down (kill -9 to restart)".into(),
    }
}

/// The report's run drawn as an SVG document; [`PlotError::NoTimeline`] when it was not
/// recorded ([`crate::Config::sample_every`]).
pub fn svg(r: &Report) -> Result<String, PlotError> {
    let t = r.timeline.as_ref().ok_or(PlotError::NoTimeline)?;
    pluriverse_sim::plot::svg_of(&t.to_plot(), &labels(r, t))
}

/// The same picture as PNG (feature `png`; needs a font file, see `pluriverse_sim::plot`).
#[cfg(feature = "png")]
pub fn png(r: &Report) -> Result<Vec<u8>, PlotError> {
    let t = r.timeline.as_ref().ok_or(PlotError::NoTimeline)?;
    pluriverse_sim::plot::png_of(&t.to_plot(), &labels(r, t))
}
