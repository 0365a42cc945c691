//! The `pluriverse` command: simulate a lossy network of replicas; merge, diff and inspect
//! state files. `pluriverse --help` lists the commands, `pluriverse COMMAND --help` their
//! options.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pluriverse_any::{AnyState, Kind, Scalar};
use pluriverse_cli::files::{self, Input, DEFAULT_MAX_BYTES};
use pluriverse_cli::show::{self, count, hex, quoted, thousands};
use pluriverse_sim::{
    Config, PartitionMode, Progress, Report, RestartMode, MAX_HEAL_ROUNDS, MAX_LOSS,
};

mod cluster_cmd;
mod node_cmd;

/// pluriverse: replicated data merged at the speed of memory
#[derive(Parser)]
#[command(
    name = "pluriverse",
    version,
    after_help = "exit status: 0 success (simulate, cluster: verdict PASS), 1 failure, 2 usage error"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replicas converging over a lossy network, checked by an independent oracle
    Simulate(SimulateArgs),
    /// Join state files into OUT (written atomically)
    Merge(MergeArgs),
    /// Where two state files differ (found by bucket digests)
    Diff(DiffArgs),
    /// Kind, types, keys, entries, replicas, context and digest of a state file
    Inspect(InspectArgs),
    /// Run a replica as a process: QUIC sync with pinned peers, a local HTTP API
    Node(node_cmd::NodeArgs),
    /// Node processes on a lossy local network with kill -9, checked by a model of the acknowledged writes
    Cluster(cluster_cmd::ClusterArgs),
}

/// Options every command that reads state files takes.
#[derive(Args)]
struct ReadArgs {
    /// Refuse a file larger than this many bytes (checked before it is read)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_BYTES)]
    max_bytes: u64,
}

#[derive(Args)]
struct MergeArgs {
    /// State files to join (at least two; `-` is standard input)
    #[arg(value_name = "FILE", required = true, num_args = 2..)]
    inputs: Vec<String>,
    /// The file to write the join to
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
struct DiffArgs {
    /// The first state file (`-` is standard input)
    a: String,
    /// The other
    b: String,
    /// Compare 2^N bucket digests (at most 24)
    #[arg(long, value_name = "N", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(0..=24))]
    bits: u32,
    /// Show at most N keys of each sort
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
struct InspectArgs {
    /// The state file (`-` is standard input)
    file: String,
    #[command(flatten)]
    read: ReadArgs,
}

/// When to show progress on standard error.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum When {
    /// When standard error is a terminal (and not with --json)
    Auto,
    /// Always (one line per phase and now and then)
    Always,
    /// Never
    Never,
}

#[derive(Args)]
#[command(
    after_help = "The verdict is PASS only when every replica holds byte-identical state \
with equal digests and the oracle, a plain model of the semantics that knows nothing of the \
engine, agrees on every value, counter and the causal context."
)]
struct SimulateArgs {
    /// Seed of everything random
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Replicas, each the primary for its own keys (1 to 1024)
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    replicas: u64,
    /// Writes in total (1 to 100000000)
    #[arg(long, value_name = "N", default_value_t = 200_000,
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    records: u64,
    /// Record kind: mvmap, awset, pncounter or lww
    #[arg(long, value_name = "K", default_value = "mvmap", value_parser = parse_kind)]
    kind: Kind,
    /// Probability that a message is lost, 0 to 0.9; the heal runs as many anti-entropy
    /// rounds as that loss needs (about ln(1e-6/n^2) / ln(1-(1-F)^2), 40 at least); past 0.9
    /// it would need more than 5000
    #[arg(long, value_name = "F", default_value_t = 0.2, value_parser = parse_loss)]
    loss: f64,
    /// Probability of each extra copy of a message, 0 to 0.9
    #[arg(long, value_name = "F", default_value_t = 0.1, value_parser = parse_dup)]
    dup: f64,
    /// Most ticks a message is delayed, at most 1000 (a few wait 20x longer)
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=1000))]
    delay: u32,
    /// Partitions while writing: none, isolate, split, asymmetric, random or flapping
    /// (many short ones: with --link-rate they cut transfers in the middle)
    #[arg(long, value_name = "P", default_value = "split", value_parser = parse_partition)]
    partition: PartitionMode,
    /// Restarts while writing: none, keep, lose, old or mixed (lose: the replica comes back
    /// empty under a new epoch of its name; old: from an old copy of its state, under a
    /// fresh incarnation)
    #[arg(long, value_name = "R", default_value = "none", value_parser = parse_restarts)]
    restarts: RestartMode,
    /// The sync protocol's message bound in bytes, 1200 (a datagram) to 16777216
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 10,
          value_parser = clap::value_parser!(u64).range(1200..=16 << 20))]
    max_message: u64,
    /// Messages a link carries per tick and direction (0: any number)
    #[arg(long, value_name = "N", default_value_t = 0)]
    link_rate: u32,
    /// Print the report as JSON (with the timeline when --timeline or --plot is given)
    #[arg(long)]
    json: bool,
    /// Draw the run over time to FILE.svg (or FILE.png): replicas by digest and messages per
    /// tick, the partition and restart windows shaded, the heal and convergence marked
    /// (implies --timeline)
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    plot: Option<PathBuf>,
    /// Record the run tick by tick (one digest per replica per tick more) and put it in
    /// the JSON report as "timeline"
    #[arg(long)]
    timeline: bool,
    /// Show progress on standard error
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    progress: When,
    /// Run even when the memory estimate is above the limit
    #[arg(long)]
    force: bool,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse::<Kind>().map_err(|e| e.to_string())
}

fn probability(s: &str, max: f64, why: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("not a number: {s:?}"))?;
    if (0.0..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!("a probability from 0 to {max}{why}"))
    }
}

fn parse_loss(s: &str) -> Result<f64, String> {
    let why = format!(" (past {MAX_LOSS} the heal would need more than {MAX_HEAL_ROUNDS} rounds)");
    probability(s, MAX_LOSS, &why)
}

fn parse_dup(s: &str) -> Result<f64, String> {
    probability(s, 0.9, "")
}

fn parse_partition(s: &str) -> Result<PartitionMode, String> {
    PartitionMode::parse(s)
        .ok_or_else(|| "none, isolate, split, asymmetric, random or flapping".into())
}

fn parse_restarts(s: &str) -> Result<RestartMode, String> {
    RestartMode::parse(s).ok_or_else(|| "none, keep, lose, old or mixed".into())
}

/// How a command ends besides success.
enum Fail {
    /// A usage error (exit 2), one line.
    Usage(String),
    /// A failure (exit 1), one line.
    Error(String),
    /// Standard output was closed (`| head`): stop quietly, as `cat` does.
    BrokenPipe,
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Fail::BrokenPipe
        } else {
            Fail::Error(format!("writing the output: {e}"))
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    let result = match cli.command {
        Command::Simulate(a) => simulate(a),
        Command::Merge(a) => merge(a),
        Command::Diff(a) => diff(a),
        Command::Inspect(a) => inspect(a),
        Command::Node(a) => node_cmd::node(a),
        Command::Cluster(a) => cluster_cmd::cluster(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            let _ = writeln!(std::io::stderr(), "pluriverse: {m}");
            ExitCode::from(2)
        }
        Err(Fail::Error(m)) => {
            let m: Vec<&str> = m.lines().map(str::trim).collect();
            let _ = writeln!(std::io::stderr(), "pluriverse: error: {}", m.join(" "));
            ExitCode::from(1)
        }
        // 128 + SIGPIPE: what a shell reports for a tool the signal stopped
        Err(Fail::BrokenPipe) => ExitCode::from(141),
    }
}

/// Help and version go to stdout (exit 0); a usage error is one line on stderr (exit 2).
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let text = e.render().to_string();
            let code = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            };
            let mut out: Box<dyn Write> = if code == 0 {
                Box::new(std::io::stdout())
            } else {
                Box::new(std::io::stderr())
            };
            let _ = out.write_all(text.as_bytes());
            ExitCode::from(code)
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            let first = first.trim().trim_start_matches("error: ");
            let command = std::env::args().skip(1).find(|a| {
                ["simulate", "merge", "diff", "inspect", "node", "cluster"].contains(&a.as_str())
            });
            let help = command.map_or("pluriverse --help".to_string(), |c| {
                format!("pluriverse {c} --help")
            });
            let _ = writeln!(std::io::stderr(), "pluriverse: {first} (see `{help}`)");
            ExitCode::from(2)
        }
    }
}

/// The most memory `simulate` takes without `--force`: 8 GiB, or three quarters of the
/// machine's memory where that is less.
fn memory_limit() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let cap = 8u64 << 30;
    total.map_or(cap, |t| cap.min(t / 4 * 3))
}

fn simulate(a: SimulateArgs) -> Result<(), Fail> {
    let cfg = Config {
        seed: a.seed,
        replicas: a.replicas as usize,
        records: a.records,
        kind: a.kind,
        loss: a.loss,
        dup: a.dup,
        max_delay: a.delay,
        partition: a.partition,
        restarts: a.restarts,
        max_message: a.max_message as usize,
        link_rate: a.link_rate,
        ..Config::default()
    };
    let picture = a.plot.as_deref().map(check_plot_path).transpose()?;
    let need = cfg.estimated_memory();
    let limit = memory_limit();
    if need > limit && !a.force {
        return Err(Fail::Usage(format!(
            "this run would need about {} of memory ({} x {}, and {} anti-entropy replies \
             in flight per heal round), more than the limit of {}: use fewer --replicas or \
             --records, or --force to run it anyway",
            show::bytes(need),
            count(cfg.replicas as u64, "replica", "replicas"),
            count(cfg.records, "record", "records"),
            thousands((cfg.replicas * cfg.replicas.saturating_sub(1)) as u64),
            show::bytes(limit)
        )));
    }
    let show_progress = match a.progress {
        When::Always => true,
        When::Never => false,
        When::Auto => std::io::stderr().is_terminal() && !a.json,
    };
    let tty = std::io::stderr().is_terminal();
    let mut meter = Meter::new(show_progress, tty);
    let report = if a.timeline || a.plot.is_some() {
        pluriverse_sim::run_with_timeline(&cfg, &mut |p| meter.show(p))
    } else {
        pluriverse_sim::run(&cfg, &mut |p| meter.show(p))
    };
    meter.finish();
    if let (Some(path), Some(picture)) = (&a.plot, picture) {
        let drawn = match picture {
            Picture::Svg => pluriverse_sim::plot::svg(&report).map(String::into_bytes),
            Picture::Png => pluriverse_sim::plot::png(&report),
        }
        .map_err(|e| Fail::Error(format!("drawing {}: {e}", path.display())))?;
        std::fs::write(path, drawn)
            .map_err(|e| Fail::Error(format!("writing {}: {e}", path.display())))?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let text = serde_json::to_string(&JsonReport {
            verdict: verdict(&report),
            report: &report,
        })
        .map_err(|e| Fail::Error(format!("encoding the report: {e}")))?;
        writeln!(out, "{text}")?;
    } else {
        out.write_all(report_text(&report).as_bytes())?;
    }
    out.flush()?;
    if report.passed() {
        Ok(())
    } else {
        Err(Fail::Error("verdict FAIL (see the report)".into()))
    }
}

/// The picture formats `--plot` writes, by the file name's ending.
pub(crate) enum Picture {
    Svg,
    Png,
}

/// The picture format a plot file's name asks for; refuses any other name before the run.
pub(crate) fn check_plot_path(p: &std::path::Path) -> Result<Picture, Fail> {
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => Ok(Picture::Svg),
        Some("png") => Ok(Picture::Png),
        _ => Err(Fail::Usage(format!(
            "--plot {}: the file name must end in .svg or .png",
            p.display()
        ))),
    }
}

/// The JSON report: the verdict, then every field of the simulator's report.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    verdict: &'static str,
    #[serde(flatten)]
    report: &'a Report,
}

fn verdict(r: &Report) -> &'static str {
    if r.passed() {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Progress on stderr: on a terminal one line redrawn in place; elsewhere a line per
/// phase and one every few seconds.
struct Meter {
    on: bool,
    tty: bool,
    last: Option<Instant>,
    phase: &'static str,
    drawn: bool,
}

impl Meter {
    fn new(on: bool, tty: bool) -> Self {
        Self {
            on,
            tty,
            last: None,
            phase: "",
            drawn: false,
        }
    }

    fn show(&mut self, p: Progress) {
        if !self.on {
            return;
        }
        let phase = match p {
            Progress::Writing { .. } => "writing",
            Progress::Draining { .. } => "draining",
            Progress::Healing { .. } => "healing",
            Progress::Checking => "checking",
        };
        let every = if self.tty { 100 } else { 2000 };
        let due = self.last.is_none_or(|t| t.elapsed().as_millis() >= every);
        if phase == self.phase && !due {
            return;
        }
        self.phase = phase;
        self.last = Some(Instant::now());
        let line = match p {
            Progress::Writing { done, total } => {
                let frac = done as f64 / total.max(1) as f64;
                let filled = ((frac * 30.0) as usize).min(30);
                format!(
                    "[{}{}] {:>3.0}% writing {}/{}",
                    "#".repeat(filled),
                    "-".repeat(30 - filled),
                    frac * 100.0,
                    thousands(done),
                    thousands(total)
                )
            }
            Progress::Draining { tick, until } => {
                format!("healed; delivering what is in flight, tick {tick} of {until}")
            }
            Progress::Healing {
                round,
                max,
                differing,
            } => format!(
                "anti-entropy round {round} (at most {max}); {} differ from replica 0",
                count(differing as u64, "replica", "replicas")
            ),
            Progress::Checking => "checking against the oracle".into(),
        };
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.on && self.tty && self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

fn report_text(r: &Report) -> String {
    let c = &r.config;
    let m = &r.merges;
    let f = &r.faults;
    let mut s = String::new();
    s += &format!(
        "pluriverse simulate: {}, {}, {} (u64 keys), seed {}\n",
        count(c.replicas as u64, "replica", "replicas"),
        count(c.records, "write", "writes"),
        c.kind,
        c.seed
    );
    s += &format!(
        "network: {:.0}% loss, {:.0}% duplication, delay up to {} (a few 20x longer), partition {}, restarts {}\n\n",
        c.loss * 100.0,
        c.dup * 100.0,
        count(c.max_delay as u64, "tick", "ticks"),
        c.partition.name(),
        c.restarts.name()
    );
    s += &format!(
        "  writes          {} in {} over {}, every replica the primary for its own keys\n",
        thousands(r.writes.events),
        count(r.writes.batches, "batch (delta)", "batches (deltas)"),
        count(r.writes.ticks as u64, "tick", "ticks"),
    );
    let dt = m.deltas.time.as_secs_f64();
    s += &format!(
        "  delta merges    {} joined ({}) in {dt:.2} s: {} records/s, {:.0} us per delta (decode + join)\n",
        count(m.deltas.count, "gossiped delta", "gossiped deltas"),
        count(m.deltas.records, "record", "records"),
        thousands((m.deltas.records as f64 / dt.max(1e-9)) as u64),
        dt * 1e6 / m.deltas.count.max(1) as f64
    );
    let at = m.anti_entropy.time.as_secs_f64();
    s += &format!(
        "  anti-entropy    {} joined in {at:.2} s ({:.1} ms each); {:.2} s merging in all\n",
        count(
            m.anti_entropy.count,
            "anti-entropy slice message",
            "anti-entropy slice messages"
        ),
        at * 1e3 / m.anti_entropy.count.max(1) as f64,
        m.time().as_secs_f64()
    );
    let n = &r.net;
    s += &format!(
        "  messages        {} sent, {} delivered, {} lost, {} duplicated\n",
        thousands(n.sent),
        thousands(n.delivered),
        thousands(n.lost),
        thousands(n.duplicated)
    );
    s += &format!(
        "  bytes shipped   {} sent, {} delivered\n",
        show::bytes(n.bytes_sent),
        show::bytes(n.bytes_delivered)
    );
    s += &format!(
        "  partitions      {} of {} in effect before the writes ended; {} blocked by them\n",
        thousands(f.partitions_in_effect as u64),
        count(f.partitions_scheduled as u64, "scheduled", "scheduled"),
        count(f.blocked_by_partition, "message", "messages"),
    );
    let mut lost = match f.restarts_state_lost {
        1 => "1 lost its state and came back under a new epoch".to_string(),
        k => format!("{k} lost their state and came back under a new epoch"),
    };
    if f.restarts_old_copy > 0 {
        lost += &format!(
            ", {} from an old copy under a fresh incarnation",
            f.restarts_old_copy
        );
    }
    s += &format!(
        "  restarts        {} of {} done ({lost}); {} arrived while a replica was down\n",
        thousands(f.restarts as u64),
        count(f.restarts_scheduled as u64, "scheduled", "scheduled"),
        count(f.blocked_down, "message", "messages"),
    );
    let p = &r.protocol;
    s += &format!(
        "  sync protocol   {} ({} summaries, {} slice offers, {} pushes and answers), \
         largest {} of the {}-byte bound; {}\n",
        count(p.messages, "message", "messages"),
        thousands(p.summaries),
        thousands(p.offers),
        thousands(p.plain),
        thousands(p.largest_message),
        thousands(p.max_message),
        count(p.rounds, "round", "rounds"),
    );
    if (c.partition != PartitionMode::None && f.partitions_in_effect == 0)
        || (c.restarts != RestartMode::None && f.restarts == 0)
    {
        s += &format!(
            "  note            the writes ended after {} before the scheduled faults came due: \
             nothing above was tested under them (use more --records)\n",
            count(r.writes.ticks as u64, "tick", "ticks")
        );
    }
    let cv = &r.convergence;
    s += &match cv.rounds {
        Some(k) => format!(
            "  converged       {} after the heal; {} byte-identical, equal digests\n",
            count(k as u64, "anti-entropy round", "anti-entropy rounds"),
            if c.replicas == 1 {
                "one replica".to_string()
            } else {
                format!("all {} replicas", c.replicas)
            }
        ),
        None => format!(
            "  converged       NO, not within {} after the heal\n",
            count(
                cv.max_rounds as u64,
                "anti-entropy round",
                "anti-entropy rounds"
            )
        ),
    };
    let fs = &r.final_state;
    s += &format!(
        "  final state     {}, {}, context {}, digest {}\n",
        count(fs.keys, "key", "keys"),
        count(fs.entries, "entry", "entries"),
        if fs.context_compact {
            "compact (a plain version vector)"
        } else {
            "with a dot cloud"
        },
        fs.digest
    );
    let ck = &r.check;
    s +=
        &format!(
        "  oracle          {} checked against the model ({}); {} lost with their writer's state\n",
        count(ck.keys_checked, "key", "keys"),
        if ck.exact {
            "exact"
        } else {
            "allowing lost overwrites"
        },
        count(ck.lost_unacknowledged, "unacknowledged write", "unacknowledged writes")
    );
    for f in &ck.failures {
        s += &format!("    mismatch: {f}\n");
    }
    if ck.failure_count > ck.failures.len() as u64 {
        s += &format!(
            "    ... {} in all\n",
            count(ck.failure_count, "mismatch", "mismatches")
        );
    }
    s += &format!("  wall time       {:.2} s\n\n", r.wall.as_secs_f64());
    s += &format!("verdict: {}\n", verdict(r));
    s
}

fn file_error(e: files::FileError) -> Fail {
    Fail::Error(e.to_string())
}

/// The inputs, refusing standard input twice (the second read would find it empty).
fn inputs(args: &[String]) -> Result<Vec<Input>, Fail> {
    let v: Vec<Input> = args.iter().map(|a| Input::parse(a)).collect();
    if v.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        return Err(Fail::Usage("standard input (-) can be given once".into()));
    }
    Ok(v)
}

fn merge(a: MergeArgs) -> Result<(), Fail> {
    let inputs = inputs(&a.inputs)?;
    let merged = files::merge(&inputs, a.read.max_bytes).map_err(file_error)?;
    let bytes = merged
        .to_bytes()
        .map_err(|e| Fail::Error(format!("encoding the merged state: {e}")))?;
    files::write_atomic(&a.output, &bytes).map_err(file_error)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "merged {} into {}: {}, {}, digest {}",
        count(inputs.len() as u64, "file", "files"),
        show::path(&a.output),
        count(merged.len() as u64, "key", "keys"),
        count(merged.entry_count() as u64, "entry", "entries"),
        hex(&merged.digest_bytes())
    )?;
    out.flush()?;
    Ok(())
}

fn show_key(k: &Scalar) -> String {
    match k {
        Scalar::Utf8(s) => quoted(s.as_bytes()),
        Scalar::Binary(b) => format!("0x{}", hex(b)),
        other => other.to_string(),
    }
}

fn diff(a: DiffArgs) -> Result<(), Fail> {
    let [left, right]: [Input; 2] = inputs(&[a.a, a.b])?
        .try_into()
        .map_err(|_| Fail::Usage("diff needs two files".into()))?;
    let d = files::diff(&left, &right, a.bits, a.read.max_bytes).map_err(file_error)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "{} of {} {}; {} only in {left}, {} only in {right}, {} changed; contexts {}",
        thousands(d.differing_buckets as u64),
        count(d.buckets as u64, "bucket", "buckets"),
        if d.differing_buckets == 1 {
            "differs"
        } else {
            "differ"
        },
        count(d.only_left.len() as u64, "key", "keys"),
        thousands(d.only_right.len() as u64),
        thousands(d.changed.len() as u64),
        if d.contexts_differ { "differ" } else { "equal" }
    )?;
    for (tag, keys) in [("<", &d.only_left), (">", &d.only_right), ("~", &d.changed)] {
        for k in keys.iter().take(a.limit) {
            writeln!(out, "{tag} {}", show_key(k))?;
        }
        if keys.len() > a.limit {
            writeln!(
                out,
                "{tag} ... {} more",
                thousands((keys.len() - a.limit) as u64)
            )?;
        }
    }
    if d.is_empty() {
        writeln!(out, "the states are equal")?;
    }
    out.flush()?;
    Ok(())
}

fn inspect(a: InspectArgs) -> Result<(), Fail> {
    let input = Input::parse(&a.file);
    let bytes = files::read_bounded(&input, a.read.max_bytes).map_err(file_error)?;
    let size = bytes.len() as u64;
    let s: AnyState = files::decode_state(&input, &bytes).map_err(file_error)?;
    drop(bytes);
    let ctx = s.context();
    let vv = ctx.version_vector();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "file         {input} ({})",
        count(size, "byte", "bytes")
    )?;
    writeln!(out, "type         {}", s.state_type())?;
    writeln!(out, "keys         {}", thousands(s.len() as u64))?;
    writeln!(out, "entries      {}", thousands(s.entry_count() as u64))?;
    writeln!(
        out,
        "context      {}, {} beyond the version vector ({})",
        count(vv.len() as u64, "replica", "replicas"),
        count(ctx.cloud_len(), "event", "events"),
        if ctx.is_compact() {
            "compact"
        } else {
            "dot cloud"
        }
    )?;
    for (name, n) in vv.iter() {
        writeln!(out, "  {:<24} {}", quoted(name.as_bytes()), thousands(n))?;
    }
    writeln!(out, "digest       {}", hex(&s.digest_bytes()))?;
    out.flush()?;
    Ok(())
}
