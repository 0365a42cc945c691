//! `pluriverse cluster`: a real local cluster of node processes on a lossy network, checked
//! against a model of the acknowledged writes (the harness is `pluriverse-cluster`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use pluriverse_cluster::plan::PartitionMode;
use pluriverse_cluster::{run, Config};

use crate::{check_plot_path, Fail, Picture};

#[derive(Args)]
#[command(
    after_help = "Starts N `pluriverse node` processes on 127.0.0.1 with their peer traffic \
through seeded UDP fault proxies, writes to every node over HTTP, SIGKILLs and restarts nodes \
(some from an old copy of their directory), heals the network, waits for equal digests and \
checks every final state against a model of the acknowledged writes. The verdict is PASS only \
when every acknowledged write is there with exactly the values MVMap semantics give, no dot \
was acknowledged twice, every context is compact and all states are equal."
)]
pub(crate) struct ClusterArgs {
    /// Node processes (2 to 16)
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(2..=16))]
    nodes: u64,
    /// Seed of every random choice (faults, schedule, workload)
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Probability that a datagram is dropped (0 to 0.9)
    #[arg(long, value_name = "P", default_value_t = 0.2, value_parser = probability)]
    loss: f64,
    /// Probability that a datagram is delivered twice (0 to 0.9)
    #[arg(long, value_name = "P", default_value_t = 0.05, value_parser = probability)]
    dup: f64,
    /// Each datagram waits up to this many milliseconds (reordering follows; 0 to 1000)
    #[arg(long, value_name = "MS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=1000))]
    delay_ms: u64,
    /// How the network partitions: none, isolate (one node), split (two groups) or mixed
    #[arg(long, value_name = "MODE", default_value = "mixed",
          value_parser = |s: &str| PartitionMode::parse(s).ok_or("none, isolate, split or mixed"))]
    partition: PartitionMode,
    /// How many partitions during the write phase (0 to 100)
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    partitions: u32,
    /// SIGKILLs during the write phase (0 to 1000)
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=1000))]
    kills: u32,
    /// Seconds of the write phase (1 to 3600)
    #[arg(long, value_name = "S", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Client threads per node (1 to 16)
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=16))]
    writers: u64,
    /// The nodes' anti-entropy round in milliseconds (10 to 10000)
    #[arg(long, value_name = "MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..=10_000))]
    round_ms: u64,
    /// Seconds the nodes may take to agree after the heal (1 to 3600)
    #[arg(long, value_name = "S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Keep the nodes' directories, logs and a timed journal of the writes and faults (their
    /// folder is in the report)
    #[arg(long)]
    keep: bool,
    /// Print the report as one JSON object (with the timeline when --timeline or --plot is
    /// given)
    #[arg(long)]
    json: bool,
    /// Draw the run over time to FILE.svg (or FILE.png): nodes by digest (and down) and the
    /// proxies' datagrams per 200 ms, partitions and nodes down shaded, the heal and equal
    /// digests marked (implies --timeline)
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    plot: Option<PathBuf>,
    /// Record the run over time, a sample every 200 ms (each running node's /status and the
    /// proxies' counters), and put it in the JSON report as "timeline"
    #[arg(long)]
    timeline: bool,
}

/// How often `--timeline` samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=0.9).contains(&p) => Ok(p),
        _ => Err(format!("{s}: a probability from 0 to 0.9")),
    }
}

pub(crate) fn cluster(a: ClusterArgs) -> Result<(), Fail> {
    let picture = a.plot.as_deref().map(check_plot_path).transpose()?;
    let cfg = Config {
        nodes: a.nodes as usize,
        seed: a.seed,
        loss: a.loss,
        dup: a.dup,
        delay: Duration::from_millis(a.delay_ms),
        partition: a.partition,
        partitions: a.partitions,
        kills: a.kills,
        duration: Duration::from_secs(a.duration),
        writers: a.writers as usize,
        round_ms: a.round_ms,
        converge_timeout: Duration::from_secs(a.timeout),
        root: None,
        keep: a.keep,
        sample_every: (a.timeline || a.plot.is_some()).then_some(SAMPLE_EVERY),
    };
    let bin = std::env::current_exe()
        .map_err(|e| Fail::Error(format!("cannot find the pluriverse binary itself: {e}")))?;
    let report = run(&cfg, &bin);
    if let (Some(path), Some(picture)) = (&a.plot, picture) {
        let drawn = match picture {
            Picture::Svg => pluriverse_cluster::plot::svg(&report).map(String::into_bytes),
            Picture::Png => pluriverse_cluster::plot::png(&report),
        }
        .map_err(|e| Fail::Error(format!("drawing {}: {e}", path.display())))?;
        std::fs::write(path, drawn)
            .map_err(|e| Fail::Error(format!("writing {}: {e}", path.display())))?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            verdict: &'static str,
            #[serde(flatten)]
            report: &'a pluriverse_cluster::Report,
        }
        let text = serde_json::to_string(&Json {
            verdict: report.verdict(),
            report: &report,
        })
        .map_err(|e| Fail::Error(format!("encoding the report: {e}")))?;
        writeln!(out, "{text}")?;
    } else {
        out.write_all(report.text().as_bytes())?;
    }
    out.flush()?;
    if report.passed() {
        Ok(())
    } else {
        Err(Fail::Error("verdict FAIL (see the report)".into()))
    }
}
