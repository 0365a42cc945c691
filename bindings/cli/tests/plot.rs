//! `pluriverse simulate --plot FILE.svg` (and `.png`) end to end: the real binary writes the
//! picture, which parses as XML and carries the series the JSON report counts (read back from the
//! SVG's own coordinates); the timeline in `--json` adds up to the report's counters.

use std::process::{Command, Output};

use pluriverse_sim::plot::colour;
use serde_json::Value;

mod svg;
use svg::{draws, series, u, Dir};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pluriverse"))
        .args(args)
        .output()
        .expect("the binary runs")
}

const RUN: &[&str] = &[
    "simulate",
    "--records",
    "4000",
    "--replicas",
    "6",
    "--seed",
    "3",
    "--restarts",
    "mixed",
    "--progress",
    "never",
    "--json",
];

#[test]
fn the_svg_draws_what_the_report_counts() {
    let dir = Dir::new("svg");
    let svg_path = dir.path("run.svg");
    let mut args = RUN.to_vec();
    args.extend(["--plot", &svg_path]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "PASS");

    // the timeline adds up to the report's own counters
    let t = &report["timeline"];
    let samples = t["samples"].as_array().unwrap();
    let ticks: Vec<u64> = samples.iter().map(|s| u(&s["tick"])).collect();
    assert_eq!(ticks, (0..samples.len() as u64).collect::<Vec<_>>());
    let sum = |k: &str| samples.iter().map(|s| u(&s[k])).sum::<u64>();
    assert_eq!(sum("sent"), u(&report["net"]["sent"]));
    assert_eq!(sum("lost"), u(&report["net"]["lost"]));
    assert_eq!(sum("delivered"), u(&report["net"]["delivered"]));
    assert_eq!(sum("blocked"), u(&report["faults"]["blocked_by_partition"]));
    assert_eq!(sum("duplicated"), u(&report["net"]["duplicated"]));
    let writes = samples.iter().filter(|s| s["phase"] == "write").count() as u64;
    assert_eq!(writes, u(&report["writes"]["ticks"]));
    assert_eq!(u(&t["heal"]), writes);
    let n = u(&report["config"]["replicas"]);
    assert_eq!(u(&t["replicas"]), n);
    for s in samples {
        let g: u64 = s["groups"].as_array().unwrap().iter().map(u).sum();
        assert_eq!(g, n, "every replica is in one group");
    }
    assert_eq!(samples.last().unwrap()["groups"], serde_json::json!([n]));
    let converged = u(&t["converged"]);
    assert!(converged >= writes && converged <= *ticks.last().unwrap());
    let partitions = t["partitions"].as_array().unwrap().len() as u64;
    assert_eq!(partitions, u(&report["faults"]["partitions_in_effect"]));
    let downs = t["down"].as_array().unwrap().len() as u64;
    assert_eq!(downs, u(&report["faults"]["restarts"]));
    assert!(partitions > 0 && downs > 0, "this seed draws both faults");

    // the picture
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses as XML");
    assert!(doc.root_element().has_tag_name("svg"));
    let distinct: Vec<f64> = samples
        .iter()
        .map(|s| s["groups"].as_array().unwrap().len() as f64)
        .collect();
    draws(
        &series(&doc, colour::DISTINCT, 0),
        &distinct,
        "distinct digests",
    );
    let outside: Vec<f64> = samples
        .iter()
        .map(|s| {
            let g: Vec<u64> = s["groups"].as_array().unwrap().iter().map(u).collect();
            (g.iter().sum::<u64>() - g[0]) as f64
        })
        .collect();
    draws(
        &series(&doc, colour::OUTSIDE, 0),
        &outside,
        "outside the largest group",
    );
    for (hex, key) in [(colour::SENT, "sent"), (colour::DELIVERED, "delivered")] {
        let v: Vec<f64> = samples.iter().map(|s| u(&s[key]) as f64).collect();
        draws(&series(&doc, hex, 0), &v, key);
    }
    // lost shares its colour with the top panel's second series: the second of that colour
    let lost: Vec<f64> = samples.iter().map(|s| u(&s["lost"]) as f64).collect();
    draws(&series(&doc, colour::LOST, 1), &lost, "lost");
    let dup: Vec<f64> = samples.iter().map(|s| u(&s["duplicated"]) as f64).collect();
    draws(&series(&doc, colour::DUPLICATED, 0), &dup, "duplicated");
    // replicas down per tick: the restart windows that cover it
    let down: Vec<f64> = samples
        .iter()
        .map(|s| {
            let tick = u(&s["tick"]);
            t["down"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| (u(&d["window"]["start"])..u(&d["window"]["end"])).contains(&tick))
                .count() as f64
        })
        .collect();
    assert_eq!(
        down,
        samples
            .iter()
            .map(|s| u(&s["down"]) as f64)
            .collect::<Vec<_>>()
    );
    draws(&series(&doc, colour::DOWN, 0), &down, "replicas down");

    // shaded windows: each partition and each restart once per panel, plus a legend swatch
    let rects = |fill: &str| {
        doc.descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| {
                n.attribute("fill")
                    .is_some_and(|f| f.eq_ignore_ascii_case(fill))
            })
            .count() as u64
    };
    assert_eq!(rects("#F0AA3C"), 2 * (partitions + 1));
    assert_eq!(rects("#965AC8"), 2 * (downs + 1));

    // the words a reader needs: title, legends with the heal and convergence ticks
    let words: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    for w in [
        "pluriverse simulate: 6 replicas, MVMap, 4000 records".to_string(),
        "seed 3".into(),
        format!("converged at tick {converged}"),
        "distinct digests".into(),
        "replicas outside the largest group".into(),
        "sent".into(),
        "delivered".into(),
        "lost".into(),
        "dropped by a partition".into(),
        "partition".into(),
        "replica down (restart)".into(),
        format!("heal (tick {writes})"),
        format!("converged (tick {converged})"),
        "tick".into(),
        "replicas".into(),
        "messages".into(),
    ] {
        assert!(words.contains(&w), "the SVG lacks {w:?}");
    }
}

#[test]
fn the_timeline_is_in_json_only_when_asked() {
    let plain = run(RUN);
    assert!(plain.status.success());
    let r: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(r.get("timeline").is_none());
    let mut args = RUN.to_vec();
    args.push("--timeline");
    let timed = run(&args);
    assert!(timed.status.success());
    let t: Value = serde_json::from_slice(&timed.stdout).unwrap();
    assert!(t["timeline"]["samples"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    // recording changes nothing about the run itself
    assert_eq!(r["net"], t["net"]);
    assert_eq!(r["final_state"], t["final_state"]);
}

#[test]
fn other_names_are_refused_before_the_run() {
    let dir = Dir::new("names");
    for name in ["run.txt", "run", "run.svg.gz", "run.jpeg"] {
        let path = dir.path(name);
        let out = run(&["simulate", "--records", "100", "--plot", &path]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("must end in .svg or .png"), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing ran");
        assert!(!std::path::Path::new(&path).exists());
    }
}

/// The PNG of a run is the same picture as its SVG (same run, same seed): of its size, on
/// white, with text, and with every data series of the SVG (whose values the test above
/// checks against the report) drawn in its colour where the SVG puts it.
#[test]
fn the_png_draws_the_svgs_series_in_their_colours() {
    let dir = Dir::new("png");
    let (svg_path, png_path) = (dir.path("run.svg"), dir.path("run.PNG"));
    for p in [&svg_path, &png_path] {
        let mut args = RUN.to_vec();
        args.extend(["--plot", p]);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let bytes = std::fs::read(&png_path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("the PNG decodes");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        pluriverse_sim::plot::SIZE,
        "the picture's size"
    );
    let channels = info.color_type.samples();
    assert!(channels >= 3, "a colour image");
    let pixel = |x: i64, y: i64| -> Option<[u8; 3]> {
        if x < 0 || y < 0 || x >= info.width as i64 || y >= info.height as i64 {
            return None;
        }
        let i = (y as usize * info.width as usize + x as usize) * channels;
        Some([buf[i], buf[i + 1], buf[i + 2]])
    };
    let near = |x: f64, y: f64, c: [u8; 3]| {
        (-2..=2).any(|dx| {
            (-2..=2).any(|dy| {
                pixel(x.round() as i64 + dx, y.round() as i64 + dy)
                    .is_some_and(|p| (0..3).all(|k| p[k].abs_diff(c[k]) <= 48))
            })
        })
    };
    let white = (0..info.height as i64)
        .step_by(7)
        .flat_map(|y| (0..info.width as i64).step_by(7).map(move |x| (x, y)))
        .filter(|&(x, y)| pixel(x, y) == Some([255, 255, 255]))
        .count();
    let sampled = (info.height as usize).div_ceil(7) * (info.width as usize).div_ceil(7);
    assert!(
        white * 2 > sampled,
        "a white background ({white} of {sampled})"
    );
    // the title's text: dark pixels in the top band, where the SVG has only the title
    let dark = (0..28)
        .flat_map(|y| (0..info.width as i64).map(move |x| (x, y)))
        .filter(|&(x, y)| pixel(x, y).is_some_and(|p| p.iter().all(|&v| v < 110)))
        .count();
    assert!(dark > 200, "the title is drawn ({dark} dark pixels)");
    let rgb = |hex: &str| {
        let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
        [c(1), c(3), c(5)]
    };
    let drawn: Vec<(&str, Vec<(f64, f64)>)> = [
        (colour::DISTINCT, 0),
        (colour::OUTSIDE, 0),
        (colour::DOWN, 0),
        (colour::SENT, 0),
        (colour::DELIVERED, 0),
        (colour::LOST, 1),
        (colour::BLOCKED, 0),
        (colour::DUPLICATED, 0),
    ]
    .into_iter()
    .map(|(hex, nth)| (hex, series(&doc, hex, nth)))
    .collect();
    for (i, (hex, pts)) in drawn.iter().enumerate() {
        // a point another series passes over later is hidden in both pictures
        let hidden = |&(x, y): &(f64, f64)| {
            drawn[i + 1..].iter().any(|(_, later)| {
                later
                    .iter()
                    .any(|&(lx, ly)| (lx - x).abs() <= 3.0 && (ly - y).abs() <= 3.0)
            })
        };
        let visible: Vec<_> = pts.iter().filter(|p| !hidden(p)).collect();
        let seen = visible
            .iter()
            .filter(|&&&(x, y)| near(x, y, rgb(hex)))
            .count();
        assert!(
            visible.len() < 5 || seen * 10 >= visible.len() * 8,
            "{hex}: {seen} of {} visible points drawn in the PNG",
            visible.len()
        );
    }
}

#[test]
fn an_unwritable_plot_is_an_error() {
    let dir = Dir::new("unwritable");
    let path = dir.path("no/such/dir/run.svg");
    let out = run(&["simulate", "--records", "100", "--plot", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writing"));
}
