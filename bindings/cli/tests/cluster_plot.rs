//! `pluriverse cluster --plot FILE.svg` end to end, on one short three-node run with a
//! partition and kills (about 10 s on the 2-core machine): the timeline in `--json` agrees
//! with the report's own counters (the proxies' datagrams, the faults, the convergence) and
//! the SVG, parsed back, draws the timeline's series where its own coordinates put them,
//! shades each partition and kill window and names the run.

use std::process::Command;

use pluriverse_sim::plot::colour;
use serde_json::Value;

mod svg;
use svg::{draws, series, u, Dir};

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_cluster_svg_draws_what_the_report_counts() {
    let dir = Dir::new("cluster");
    let svg_path = dir.path("cluster.svg");
    let o = Command::new(env!("CARGO_BIN_EXE_pluriverse"))
        .args([
            "cluster",
            "--nodes",
            "3",
            "--seed",
            "4",
            "--duration",
            "2",
            "--kills",
            "2",
            "--partitions",
            "1",
            "--timeout",
            "30",
            "--json",
            "--plot",
            &svg_path,
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let r: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {out} {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let summary = format!(
        "{} {} {}",
        r["error"], r["check"]["failures"], r["check_extra"]
    );
    assert_eq!(
        (o.status.code(), r["verdict"].as_str()),
        (Some(0), Some("PASS")),
        "{summary}"
    );

    // the timeline against the report
    let t = &r["timeline"];
    assert_eq!(r["config"]["sample_every_ms"], 200.0);
    assert_eq!(u(&t["interval_ms"]), 200);
    assert_eq!(u(&t["nodes"]), 3);
    let samples = t["samples"].as_array().unwrap();
    let at: Vec<f64> = samples.iter().map(|s| f(&s["at"])).collect();
    assert!(
        at.len() >= 10,
        "{} samples of a run of several seconds",
        at.len()
    );
    assert_eq!(at[0], 0.0);
    for w in at.windows(2) {
        let slots = (w[1] - w[0]) / 0.2;
        assert!(
            slots > 0.99 && (slots - slots.round()).abs() < 1e-6,
            "samples on the 200 ms grid, in order: {w:?}"
        );
    }
    for s in samples {
        let g: u64 = s["groups"].as_array().unwrap().iter().map(u).sum();
        assert_eq!(
            g + u(&s["down"]) + u(&s["silent"]),
            3,
            "every node is in a group, down or silent: {s}"
        );
    }
    // the proxies' counts, interval by interval, add up to the report's totals up to the
    // last sample (the report reads them later, after the lag wait)
    for (key, total) in [
        ("datagrams_in", "datagrams_in"),
        ("delivered", "datagrams_out"),
        ("lost", "dropped_loss"),
        ("partitioned", "dropped_partition"),
        ("duplicated", "duplicated"),
    ] {
        let sum: u64 = samples.iter().map(|s| u(&s[key])).sum();
        let report: u64 = r["proxies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| u(&p[total]))
            .sum();
        assert!(
            sum <= report,
            "{key}: {sum} sampled, {report} in the report"
        );
        if key != "duplicated" {
            assert!(sum > 0, "{key}: nothing sampled");
        }
        // the run is over by the last sample: at most a few seconds of idle rounds follow
        assert!(
            sum as f64 >= report as f64 * 0.5,
            "{key}: {sum} sampled of {report}"
        );
    }
    // converged: the last sample has every node in one group
    assert_eq!(samples.last().unwrap()["groups"], serde_json::json!([3]));
    let heal = f(&t["heal"]);
    let converged = f(&t["converged"]);
    let after = f(&r["convergence"]["after_heal_seconds"]);
    assert!(heal <= converged && converged <= *at.last().unwrap() + 0.2);
    assert!(
        (converged - heal - after).abs() < 0.2,
        "equal digests {converged} - heal {heal} against the report's {after} s"
    );
    // the windows: one per partition and per kill
    let partitions = t["partitions"].as_array().unwrap();
    let down = t["down"].as_array().unwrap();
    assert_eq!(partitions.len() as u64, u(&r["faults"]["partitions"]));
    assert_eq!(down.len() as u64, u(&r["faults"]["kills"]));
    assert!(
        !partitions.is_empty() && !down.is_empty(),
        "this seed draws both"
    );
    let restored = down.iter().filter(|d| d["from_copy"] == true).count() as u64;
    assert_eq!(restored, u(&r["faults"]["restores_from_copy"]));
    for w in partitions.iter().chain(down) {
        let (s, e) = (f(&w["start"]), f(&w["end"]));
        assert!(
            0.0 <= s && s <= e && e <= heal + 0.01,
            "{w} before the heal"
        );
    }

    // the picture: the series are the timeline's, x in seconds
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses as XML");
    assert!(doc.root_element().has_tag_name("svg"));
    let groups =
        |s: &Value| -> Vec<u64> { s["groups"].as_array().unwrap().iter().map(u).collect() };
    let distinct: Vec<f64> = samples.iter().map(|s| groups(s).len() as f64).collect();
    let line = series(&doc, colour::DISTINCT, 0);
    draws(&line, &distinct, "distinct digests");
    // x is one affine function of the sample's time
    let scale = (line.last().unwrap().0 - line[0].0) / (at.last().unwrap() - at[0]);
    for (p, a) in line.iter().zip(&at) {
        let want = line[0].0 + (a - at[0]) * scale;
        assert!(
            (p.0 - want).abs() <= 1.5,
            "sample at {a} s drawn at x={}",
            p.0
        );
    }
    let outside: Vec<f64> = samples
        .iter()
        .map(|s| {
            let g = groups(s);
            (g.iter().sum::<u64>() - g.first().copied().unwrap_or(0)) as f64
        })
        .collect();
    draws(
        &series(&doc, colour::OUTSIDE, 0),
        &outside,
        "outside the largest group",
    );
    for (hex, key, nth) in [
        (colour::SENT, "datagrams_in", 0),
        (colour::DELIVERED, "delivered", 0),
        (colour::LOST, "lost", 1),
    ] {
        let v: Vec<f64> = samples.iter().map(|s| u(&s[key]) as f64).collect();
        draws(&series(&doc, hex, nth), &v, key);
    }
    let down_per_sample: Vec<f64> = samples.iter().map(|s| u(&s["down"]) as f64).collect();
    if down_per_sample.iter().any(|d| *d > 0.0) {
        draws(
            &series(&doc, colour::DOWN, 0),
            &down_per_sample,
            "nodes down",
        );
    }
    let rects = |fill: &str| {
        doc.descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| {
                n.attribute("fill")
                    .is_some_and(|f| f.eq_ignore_ascii_case(fill))
            })
            .count()
    };
    // each window once per panel, plus a legend swatch
    assert_eq!(rects("#F0AA3C"), 2 * (partitions.len() + 1));
    assert_eq!(rects("#965AC8"), 2 * (down.len() + 1));
    let words: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    // the legend names a moment as the plot holds it: in whole milliseconds
    let ms = |s: f64| (s * 1e3).round() as u32 as f64 * 1e-3;
    for w in [
        "pluriverse cluster: 3 nodes".to_string(),
        "seed 4".into(),
        format!("equal digests {after:.2} s after the heal, check PASS"),
        "nodes by digest, per 200 ms".into(),
        "datagrams per 200 ms".into(),
        "nodes outside the largest group".into(),
        "node down (kill -9 to restart)".into(),
        format!("heal ({:.2} s)", ms(heal)),
        format!("converged ({:.2} s)", ms(converged)),
        "seconds".into(),
    ] {
        assert!(words.contains(&w), "the SVG lacks {w:?}");
    }
}
