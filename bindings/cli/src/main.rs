//! The `pluriverse` command: simulate a lossy network of replicas; merge, diff and inspect
//! state files. `pluriverse --help` lists the commands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use pluriverse_any::{AnyState, Kind, Scalar};
use pluriverse_cli::files;
use pluriverse_cli::sim::net::{PartitionMode, RestartMode};
use pluriverse_cli::sim::{self, Config, Progress, Report};

const HELP: &str = "\
pluriverse: replicated data merged at the speed of memory

usage:
  pluriverse simulate [options]       replicas converging over a lossy network, checked by an oracle
  pluriverse merge A B [C...] -o OUT  join state files into OUT (written atomically)
  pluriverse diff A B [--bits N] [--limit N]
                                      where two state files differ (found by bucket digests)
  pluriverse inspect FILE             kind, types, records, replicas, context, digest
  pluriverse --help | --version

simulate options (defaults in brackets):
  --seed N          seed of everything random [1]
  --replicas N      replicas, each the primary for its own keys [8]
  --records N       writes in total [1000000]
  --kind K          mvmap | awset | pncounter | lww [mvmap]
  --loss F          message loss probability, 0..1 [0.2]
  --dup F           probability of each extra copy of a message [0.1]
  --delay N         most ticks a message is delayed (a few wait 20x longer) [3]
  --partition P     none | isolate | split | asymmetric | random [split]
  --restarts R      none | keep | lose | mixed (lose: back empty under a new epoch) [none]
  --json            print the report as JSON

exit status: 0 success (simulate: verdict PASS), 1 failure, 2 usage error";

/// A usage error (exit 2) or a failure (exit 1), printed as one line.
enum Fail {
    Usage(String),
    Error(String),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            println!("{HELP}");
            Ok(())
        }
        Some("-V" | "--version") => {
            println!("pluriverse {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("simulate") => simulate(&args[1..]),
        Some("merge") => merge(&args[1..]),
        Some("diff") => diff(&args[1..]),
        Some("inspect") => inspect(&args[1..]),
        Some(other) => Err(Fail::Usage(format!(
            "unknown command {other:?} (try `pluriverse --help`)"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            eprintln!("pluriverse: {m}");
            ExitCode::from(2)
        }
        Err(Fail::Error(m)) => {
            let m: Vec<&str> = m.lines().map(str::trim).collect();
            eprintln!("pluriverse: error: {}", m.join(" "));
            ExitCode::from(1)
        }
    }
}

/// Options and positional arguments of a subcommand.
struct Args {
    positional: Vec<String>,
    options: Vec<(String, String)>,
    flags: Vec<String>,
}

fn parse(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Args, Fail> {
    let mut out = Args {
        positional: vec![],
        options: vec![],
        flags: vec![],
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some((k, v)) = a.split_once('=').filter(|(k, _)| k.starts_with("--")) {
            if !with_value.contains(&k) {
                return Err(Fail::Usage(format!("unknown option {k}")));
            }
            out.options.push((k.into(), v.into()));
        } else if with_value.contains(&a.as_str()) {
            let v = it
                .next()
                .ok_or_else(|| Fail::Usage(format!("{a} needs a value")))?;
            out.options.push((a.clone(), v.clone()));
        } else if flags.contains(&a.as_str()) {
            out.flags.push(a.clone());
        } else if a.starts_with('-') && a.len() > 1 {
            return Err(Fail::Usage(format!("unknown option {a}")));
        } else {
            out.positional.push(a.clone());
        }
    }
    Ok(out)
}

impl Args {
    fn get<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Fail> {
        match self.options.iter().rev().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, v)) => v
                .parse()
                .map(Some)
                .map_err(|_| Fail::Usage(format!("{name}: invalid value {v:?}"))),
        }
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

fn simulate(args: &[String]) -> Result<(), Fail> {
    let a = parse(
        args,
        &[
            "--seed",
            "--replicas",
            "--records",
            "--kind",
            "--loss",
            "--dup",
            "--delay",
            "--partition",
            "--restarts",
        ],
        &["--json"],
    )?;
    if let Some(p) = a.positional.first() {
        return Err(Fail::Usage(format!("simulate takes no argument {p:?}")));
    }
    let mut cfg = Config::default();
    if let Some(v) = a.get("--seed")? {
        cfg.seed = v;
    }
    if let Some(v) = a.get::<usize>("--replicas")? {
        if !(1..=1024).contains(&v) {
            return Err(Fail::Usage("--replicas: between 1 and 1024".into()));
        }
        cfg.replicas = v;
    }
    if let Some(v) = a.get::<u64>("--records")? {
        if !(1..=100_000_000).contains(&v) {
            return Err(Fail::Usage("--records: between 1 and 100000000".into()));
        }
        cfg.records = v;
    }
    if let Some(v) = a.get::<String>("--kind")? {
        cfg.kind = v.parse::<Kind>().map_err(|e| Fail::Usage(e.to_string()))?;
    }
    for (name, slot) in [("--loss", &mut cfg.loss), ("--dup", &mut cfg.dup)] {
        if let Some(v) = a.get::<f64>(name)? {
            if !(0.0..=0.9).contains(&v) {
                return Err(Fail::Usage(format!(
                    "{name}: a probability between 0 and 0.9"
                )));
            }
            *slot = v;
        }
    }
    if let Some(v) = a.get::<u32>("--delay")? {
        cfg.max_delay = v.min(1000);
    }
    if let Some(v) = a.get::<String>("--partition")? {
        cfg.partition = PartitionMode::parse(&v).ok_or_else(|| {
            Fail::Usage("--partition: none, isolate, split, asymmetric or random".into())
        })?;
    }
    if let Some(v) = a.get::<String>("--restarts")? {
        cfg.restarts = RestartMode::parse(&v)
            .ok_or_else(|| Fail::Usage("--restarts: none, keep, lose or mixed".into()))?;
    }
    let json = a.flag("--json");
    let tty = std::io::stderr().is_terminal() && !json;
    let mut last = Instant::now();
    let mut bar = |p: Progress| {
        if !tty || last.elapsed().as_millis() < 100 {
            return;
        }
        last = Instant::now();
        let line = match p {
            Progress::Writing { done, total } => {
                let frac = done as f64 / total.max(1) as f64;
                let filled = (frac * 30.0) as usize;
                format!(
                    "[{}{}] {:>3.0}% writing {done}/{total}",
                    "#".repeat(filled),
                    "-".repeat(30 - filled.min(30)),
                    frac * 100.0
                )
            }
            Progress::Healing { round } => format!("healed; anti-entropy round {round}"),
            Progress::Checking => "checking against the oracle".into(),
        };
        eprint!("\r\x1b[2K{line}");
        let _ = std::io::stderr().flush();
    };
    let report = sim::run(&cfg, &mut bar);
    if tty {
        eprint!("\r\x1b[2K");
    }
    if json {
        println!("{}", report_json(&report));
    } else {
        print!("{}", report_text(&report));
    }
    if report.passed() {
        Ok(())
    } else {
        Err(Fail::Error("verdict FAIL (see the report)".into()))
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

fn report_text(r: &Report) -> String {
    let c = &r.config;
    let merge_s = r.merge_time.as_secs_f64();
    let mut s = String::new();
    s += &format!(
        "pluriverse simulate: {} replicas, {} writes, {} (u64 keys), seed {}\n",
        c.replicas,
        thousands(c.records),
        c.kind,
        c.seed
    );
    s += &format!(
        "network: {:.0}% loss, {:.0}% duplication, delay up to {} ticks (a few 20x longer), partition {}, restarts {}\n\n",
        c.loss * 100.0,
        c.dup * 100.0,
        c.max_delay,
        c.partition.name(),
        c.restarts.name()
    );
    s += &format!(
        "  writes          {} in {} batches (deltas), every replica the primary for its own keys\n",
        thousands(r.check.events),
        thousands(r.batches)
    );
    let (dn, drec, dt) = r.delta_merges;
    let ae_n = r.merges - dn;
    let ae_s = (r.merge_time - dt).as_secs_f64();
    s += &format!(
        "  delta merges    {} gossiped deltas joined ({} records) in {:.2} s: {} records/s, {:.0} us per delta (decode + join)\n",
        thousands(dn),
        thousands(drec),
        dt.as_secs_f64(),
        thousands((drec as f64 / dt.as_secs_f64().max(1e-9)) as u64),
        dt.as_secs_f64() * 1e6 / dn.max(1) as f64
    );
    s += &format!(
        "  anti-entropy    {} delta_since replies joined in {:.2} s ({:.1} ms each); {:.2} s merging in all\n",
        thousands(ae_n),
        ae_s,
        ae_s * 1e3 / ae_n.max(1) as f64,
        merge_s
    );
    s += &format!(
        "  messages        {} sent, {} delivered, {} lost, {} blocked (partition or down), {} duplicated\n",
        thousands(r.net.sent),
        thousands(r.net.delivered),
        thousands(r.net.lost),
        thousands(r.net.blocked),
        thousands(r.net.duplicated)
    );
    s += &format!(
        "  bytes shipped   {} sent, {} delivered\n",
        mib(r.net.bytes_sent),
        mib(r.net.bytes_delivered)
    );
    s += &format!(
        "  restarts        {} ({} lost their state and came back under a new epoch)\n",
        r.restarts.0, r.restarts.1
    );
    s += &match r.rounds_to_converge {
        Some(n) => format!(
            "  converged       {n} anti-entropy round(s) after the heal; {} replicas byte-identical, equal digests\n",
            c.replicas
        ),
        None => format!(
            "  converged       NO, not within {} anti-entropy rounds after the heal\n",
            c.max_rounds
        ),
    };
    s += &format!(
        "  final state     {} keys, {} entries, context {}, digest {}\n",
        thousands(r.keys),
        thousands(r.entries),
        if r.context_compact {
            "compact (a plain version vector)"
        } else {
            "with a dot cloud"
        },
        hex(&r.digest)
    );
    s += &format!(
        "  oracle          {} keys checked against the model ({}); {} unacknowledged writes lost with their writer's state\n",
        thousands(r.check.keys_checked),
        if r.check.exact { "exact" } else { "allowing lost overwrites" },
        thousands(r.check.lost_unacknowledged)
    );
    for f in &r.check.failures {
        s += &format!("    mismatch: {f}\n");
    }
    if r.check.failure_count > r.check.failures.len() as u64 {
        s += &format!(
            "    ... {} mismatches in all\n",
            thousands(r.check.failure_count)
        );
    }
    s += &format!("  wall time       {:.2} s\n\n", r.wall.as_secs_f64());
    s += &format!("verdict: {}\n", if r.passed() { "PASS" } else { "FAIL" });
    s
}

fn json_str(s: &str) -> String {
    let mut o = String::from('"');
    for c in s.chars() {
        match c {
            '"' => o += "\\\"",
            '\\' => o += "\\\\",
            c if (c as u32) < 0x20 => o += &format!("\\u{:04x}", c as u32),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn report_json(r: &Report) -> String {
    let c = &r.config;
    let failures: Vec<String> = r.check.failures.iter().map(|f| json_str(f)).collect();
    format!(
        concat!(
            "{{\"verdict\":{},\"seed\":{},\"replicas\":{},\"records\":{},\"kind\":{},",
            "\"loss\":{},\"dup\":{},\"max_delay\":{},\"partition\":{},\"restarts\":{},",
            "\"writes\":{},\"batches\":{},\"merges\":{},\"merge_seconds\":{:.6},\"merges_per_second\":{:.1},",
            "\"delta_merges\":{},\"delta_records_merged\":{},\"delta_merge_seconds\":{:.6},",
            "\"messages_sent\":{},\"messages_delivered\":{},\"messages_lost\":{},\"messages_blocked\":{},",
            "\"messages_duplicated\":{},\"bytes_sent\":{},\"bytes_delivered\":{},",
            "\"restarts_done\":{},\"restarts_state_lost\":{},\"converged\":{},\"rounds_to_converge\":{},",
            "\"keys\":{},\"entries\":{},\"context_compact\":{},\"digest\":{},",
            "\"oracle_keys_checked\":{},\"oracle_exact\":{},\"lost_unacknowledged\":{},",
            "\"mismatches\":{},\"failures\":[{}],\"wall_seconds\":{:.3}}}"
        ),
        json_str(if r.passed() { "PASS" } else { "FAIL" }),
        c.seed,
        c.replicas,
        c.records,
        json_str(c.kind.name()),
        c.loss,
        c.dup,
        c.max_delay,
        json_str(c.partition.name()),
        json_str(c.restarts.name()),
        r.check.events,
        r.batches,
        r.merges,
        r.merge_time.as_secs_f64(),
        r.merges as f64 / r.merge_time.as_secs_f64().max(1e-9),
        r.delta_merges.0,
        r.delta_merges.1,
        r.delta_merges.2.as_secs_f64(),
        r.net.sent,
        r.net.delivered,
        r.net.lost,
        r.net.blocked,
        r.net.duplicated,
        r.net.bytes_sent,
        r.net.bytes_delivered,
        r.restarts.0,
        r.restarts.1,
        r.converged,
        r.rounds_to_converge
            .map_or("null".to_string(), |n| n.to_string()),
        r.keys,
        r.entries,
        r.context_compact,
        json_str(&hex(&r.digest)),
        r.check.keys_checked,
        r.check.exact,
        r.check.lost_unacknowledged,
        r.check.failure_count,
        failures.join(","),
        r.wall.as_secs_f64()
    )
}

fn file_error(e: files::FileError) -> Fail {
    Fail::Error(e.to_string())
}

fn merge(args: &[String]) -> Result<(), Fail> {
    let a = parse(args, &["-o", "--output"], &[])?;
    let out: PathBuf = a
        .get::<String>("-o")?
        .or(a.get::<String>("--output")?)
        .ok_or_else(|| Fail::Usage("merge needs an output file: -o OUT".into()))?
        .into();
    if a.positional.len() < 2 {
        return Err(Fail::Usage(
            "merge needs at least two input files: pluriverse merge A B -o OUT".into(),
        ));
    }
    let inputs: Vec<PathBuf> = a.positional.iter().map(PathBuf::from).collect();
    let merged = files::merge(&inputs).map_err(file_error)?;
    let bytes = merged
        .to_bytes()
        .map_err(|e| Fail::Error(format!("encoding the merged state: {e}")))?;
    files::write_atomic(&out, &bytes).map_err(file_error)?;
    println!(
        "merged {} files into {}: {} keys, {} entries, digest {}",
        inputs.len(),
        out.display(),
        merged.len(),
        merged.entry_count(),
        hex(&merged.digest_bytes())
    );
    Ok(())
}

fn show(k: &Scalar) -> String {
    match k {
        Scalar::Utf8(s) => format!("{s:?}"),
        Scalar::Binary(b) => format!("0x{}", hex(b)),
        other => other.to_string(),
    }
}

fn diff(args: &[String]) -> Result<(), Fail> {
    let a = parse(args, &["--bits", "--limit"], &[])?;
    let [left, right] = a.positional.as_slice() else {
        return Err(Fail::Usage(
            "diff needs two files: pluriverse diff A B".into(),
        ));
    };
    let bits: u32 = a.get("--bits")?.unwrap_or(12);
    if bits > 24 {
        return Err(Fail::Usage("--bits: at most 24".into()));
    }
    let limit: usize = a.get("--limit")?.unwrap_or(20);
    let d = files::diff(left.as_ref(), right.as_ref(), bits).map_err(file_error)?;
    println!(
        "{} of {} buckets differ; {} keys only in {left}, {} only in {right}, {} changed; contexts {}",
        d.differing_buckets,
        d.buckets,
        d.only_left.len(),
        d.only_right.len(),
        d.changed.len(),
        if d.contexts_differ { "differ" } else { "equal" }
    );
    for (tag, keys) in [("<", &d.only_left), (">", &d.only_right), ("~", &d.changed)] {
        for k in keys.iter().take(limit) {
            println!("{tag} {}", show(k));
        }
        if keys.len() > limit {
            println!("{tag} ... {} more", keys.len() - limit);
        }
    }
    if d.is_empty() {
        println!("the states are equal");
    }
    Ok(())
}

fn inspect(args: &[String]) -> Result<(), Fail> {
    let a = parse(args, &[], &[])?;
    let [path] = a.positional.as_slice() else {
        return Err(Fail::Usage(
            "inspect needs one file: pluriverse inspect FILE".into(),
        ));
    };
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let s: AnyState = files::read_state(path.as_ref()).map_err(file_error)?;
    let ctx = s.context();
    let vv = ctx.version_vector();
    println!("file         {path} ({} bytes)", thousands(size));
    println!("type         {}", s.state_type());
    println!("keys         {}", thousands(s.len() as u64));
    println!("entries      {}", thousands(s.entry_count() as u64));
    println!(
        "context      {} replicas, {} events beyond the version vector ({})",
        vv.len(),
        thousands(ctx.cloud_len()),
        if ctx.is_compact() {
            "compact"
        } else {
            "dot cloud"
        }
    );
    for (name, n) in vv.iter() {
        println!("  {name:<24} {}", thousands(n));
    }
    println!("digest       {}", hex(&s.digest_bytes()));
    Ok(())
}
