//! `pluriverse cluster` as it runs: real node processes, the UDP fault proxy, SIGKILLs,
//! restarts from old copies, partitions; the command's own checker is the model of the
//! acknowledged writes (`pluriverse-cluster`'s `check`, itself tested against broken
//! states).
//!
//! The suite runs 20 three-node seeds (1 to 20, in three shapes of faults: mixed, split
//! with more loss, duplication and delay, and isolating partitions; seed 6 in the issue's
//! shape), a few at a time, plus one five-node run at 20% loss, and the failure and argument
//! checks: under a minute on the 2-core machine while other builds kept its load average
//! near 20 (see `three_node_seeds_pass_with_kills_restores_and_partitions`).
//! `PLV_CLUSTER_SEEDS=N` runs N three-node seeds instead (a soak; at least 20), and
//! `PLV_CLUSTER_JOBS=J` sets how many run at once (4 by default). Every run is bounded by
//! the command's own timeouts.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

fn cluster(args: &[&str]) -> (Option<i32>, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_pluriverse"))
        .arg("cluster")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let v: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out} / {err}"));
    (o.status.code(), v, err)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// The faults of three-node seed `seed`: `(arguments, kills)`. Seed 6 (and every multiple
/// of 3) is the issue's `--seed 6 --duration 2 --kills 2 --partitions 1 --timeout 40`.
fn shape(seed: u64) -> (Vec<String>, u64) {
    let common = ["--nodes", "3", "--duration", "2", "--timeout", "40"];
    let (extra, kills): (&[&str], u64) = match seed % 3 {
        0 => (&["--kills", "2", "--partitions", "1"], 2),
        1 => (
            &[
                "--kills",
                "3",
                "--partitions",
                "2",
                "--partition",
                "split",
                "--loss",
                "0.3",
                "--dup",
                "0.1",
                "--delay-ms",
                "40",
            ],
            3,
        ),
        _ => (
            &[
                "--kills",
                "3",
                "--partitions",
                "2",
                "--partition",
                "isolate",
            ],
            3,
        ),
    };
    let seed = seed.to_string();
    let args = common
        .iter()
        .chain(&["--seed", seed.as_str()])
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect();
    (args, kills)
}

/// One three-node run: `Err` with the report's failures when it does not pass as it must;
/// else its restores from a copy and its keys that kept two concurrent values.
fn three_node_seed(seed: u64) -> Result<(u64, u64), String> {
    let (args, kills) = shape(seed);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, r, err) = cluster(&args);
    let summary = || {
        format!(
            "seed {seed} ({}): {} {} {} {} {}",
            args.join(" "),
            r["verdict"],
            r["error"],
            r["check"]["failures"],
            r["check_extra"],
            err.trim()
        )
    };
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let ok = r["verdict"] == "PASS"
        && code == Some(0)
        && n(&r["faults"]["kills"]) == kills
        && n(&r["faults"]["partitions"]) >= 1
        && n(&r["writes"]["acknowledged"]) >= 30
        && n(&r["check"]["keys_checked"]) >= 10
        && n(&r["check"]["dots_checked"]) >= 30
        && r["check"]["states"] == 3
        && r["nodes"]
            .as_array()
            .is_some_and(|ns| ns.iter().all(|n| n["context_cloud_dots"] == 0));
    if !ok {
        return Err(format!("{}; faults {}", summary(), r["faults"]));
    }
    Ok((
        n(&r["faults"]["restores_from_copy"]),
        n(&r["check"]["multi_value_keys"]),
    ))
}

/// Three-node seeds 1 to 20 (`PLV_CLUSTER_SEEDS` to 20 or more), `PLV_CLUSTER_JOBS` at once.
/// Measured on the 2-core machine while other engineers' builds ran (load average 20): 20
/// seeds, 4 at a time, in 53 s, beside the five-node run (the whole file in 57 s); 80
/// seeds, 5 at a time, in 171 s.
#[test]
fn three_node_seeds_pass_with_kills_restores_and_partitions() {
    let seeds = env_u64("PLV_CLUSTER_SEEDS").unwrap_or(20).max(20);
    let jobs = env_u64("PLV_CLUSTER_JOBS").unwrap_or(4).clamp(1, 16);
    let next = AtomicU64::new(1);
    let results = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed > seeds {
                    break;
                }
                let r = three_node_seed(seed);
                results.lock().unwrap().push((seed, r));
            });
        }
    });
    let results = results.into_inner().unwrap();
    eprintln!(
        "{} three-node seeds, {jobs} at a time, in {:.1} s",
        results.len(),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(results.len() as u64, seeds);
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err().cloned())
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let (restores, multi) = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .fold((0, 0), |(a, b), (r, m)| (a + r, b + m));
    // the faults that make the runs worth it did happen
    assert!(
        restores >= seeds / 4,
        "only {restores} restores from a copy in {seeds} runs"
    );
    assert!(
        multi >= seeds / 2,
        "only {multi} keys kept concurrent values in {seeds} runs"
    );
}

#[test]
fn five_nodes_with_20_percent_loss_pass() {
    let seed = "1";
    let (code, r, err) = cluster(&[
        "--nodes",
        "5",
        "--seed",
        seed,
        "--duration",
        "3",
        "--kills",
        "3",
        "--partitions",
        "1",
        "--loss",
        "0.2",
        "--timeout",
        "60",
    ]);
    let summary = format!(
        "seed {seed}: {} {} {} {}",
        r["error"], r["check"]["failures"], r["check_extra"], err
    );
    assert_eq!(
        (code, r["verdict"].as_str()),
        (Some(0), Some("PASS")),
        "{summary}"
    );
    assert_eq!(r["check"]["states"], 5, "{summary}");
    assert_eq!(r["faults"]["kills"], 3, "{summary}");
    assert_eq!(r["proxies"].as_array().unwrap().len(), 20, "{summary}");
    // not asked: no timeline (tests/cluster_plot.rs asks for one)
    assert!(r.get("timeline").is_none(), "{summary}");
    assert!(r["config"]["sample_every_ms"].is_null(), "{summary}");
    // the proxies really dropped about a fifth of what came in
    let (mut inn, mut lost) = (0.0, 0.0);
    for p in r["proxies"].as_array().unwrap() {
        inn += p["datagrams_in"].as_f64().unwrap() - p["dropped_partition"].as_f64().unwrap();
        lost += p["dropped_loss"].as_f64().unwrap();
    }
    let rate = lost / inn;
    assert!((0.15..0.25).contains(&rate), "loss rate {rate}: {summary}");
}

#[test]
fn a_run_that_cannot_converge_fails_loudly_and_bad_arguments_are_refused() {
    // 90% loss and one second to agree: no convergence, verdict FAIL, exit 1
    let (code, r, _) = cluster(&[
        "--nodes",
        "2",
        "--duration",
        "1",
        "--kills",
        "0",
        "--partitions",
        "0",
        "--loss",
        "0.9",
        "--timeout",
        "1",
    ]);
    assert_eq!(r["verdict"], "FAIL");
    assert_eq!(code, Some(1));
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("no convergence within 1 s"),
        "{}",
        r["error"]
    );
    for (args, needle) in [
        (&["--nodes", "1"][..], "--nodes"),
        (&["--loss", "1.5"][..], "probability"),
        (
            &["--partition", "sideways"][..],
            "none, isolate, split or mixed",
        ),
        (&["--plot", "run.txt"][..], "must end in .svg or .png"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_pluriverse"))
            .arg("cluster")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
