//! Reading a plot back: a scratch directory, the SVG's data polylines by colour, and the
//! check that a polyline draws given values (shared by `plot.rs` and `cluster_plot.rs`).

use std::path::PathBuf;

/// A scratch directory, removed at the end.
pub struct Dir(PathBuf);
impl Dir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("pluriverse-plot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self, f: &str) -> String {
        self.0.join(f).to_string_lossy().into_owned()
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The points of a polyline, as pixels.
pub fn points(node: roxmltree::Node) -> Vec<(f64, f64)> {
    node.attribute("points")
        .unwrap_or("")
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// The `nth` data polyline drawn in `hex`: of the polylines of that colour with more than
/// the legend's two points, in document order (the top panel is drawn first).
pub fn series(doc: &roxmltree::Document, hex: &str, nth: usize) -> Vec<(f64, f64)> {
    let lines: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| {
            n.attribute("stroke")
                .is_some_and(|s| s.eq_ignore_ascii_case(hex))
        })
        .map(points)
        .filter(|p| p.len() > 2)
        .collect();
    lines
        .get(nth)
        .cloned()
        .unwrap_or_else(|| panic!("no series {hex} number {nth} ({} found)", lines.len()))
}

/// Checks that pixel heights are one affine function of `values` (within a pixel), that
/// is, the line draws these values, and that x grows with the tick.
pub fn draws(pixels: &[(f64, f64)], values: &[f64], what: &str) {
    assert_eq!(pixels.len(), values.len(), "{what}: one point per tick");
    assert!(
        pixels.windows(2).all(|w| w[1].0 >= w[0].0),
        "{what}: x does not grow with the tick"
    );
    let (lo, hi) = values.iter().enumerate().fold((0, 0), |(lo, hi), (i, v)| {
        (
            if *v < values[lo] { i } else { lo },
            if *v > values[hi] { i } else { hi },
        )
    });
    assert!(
        values[hi] > values[lo],
        "{what}: a flat series proves little"
    );
    let scale = (pixels[hi].1 - pixels[lo].1) / (values[hi] - values[lo]);
    assert!(scale < 0.0, "{what}: higher values are drawn lower");
    for (i, (p, v)) in pixels.iter().zip(values).enumerate() {
        let want = pixels[lo].1 + (v - values[lo]) * scale;
        assert!(
            (p.1 - want).abs() <= 1.5,
            "{what}: tick {i} drawn at y={} for {v}, expected about {want}",
            p.1
        );
    }
}

/// A JSON count.
pub fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}
