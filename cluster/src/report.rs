//! What a cluster run did and whether it passed; every struct serializes (the command's
//! `--json` is this, as it is).

use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::check::{Check, Outcome, Write};
use crate::procs::NodeProc;
use crate::proxy::Stats;
use crate::Config;

/// Serializes a duration as seconds.
pub(crate) fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Serializes an optional duration as seconds or null.
pub(crate) fn opt_seconds<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Serializes an optional duration as milliseconds or null.
pub(crate) fn opt_millis<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => millis(d, s),
        None => s.serialize_none(),
    }
}

/// Serializes a duration as milliseconds.
pub(crate) fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// What a run did and whether it passed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The settings.
    pub config: Config,
    /// Why the run stopped before its check (a node that would not start, no
    /// convergence within the timeout, ...).
    pub error: Option<String>,
    /// Where the nodes' directories and logs were (kept with `keep`).
    pub root: Option<String>,
    /// The writes, as the clients saw them.
    pub writes: Writes,
    /// The faults that actually happened.
    pub faults: Faults,
    /// How the heal went.
    pub convergence: Convergence,
    /// Each node's final status, in short.
    pub nodes: Vec<NodeReport>,
    /// What each proxy (directed pair) carried and did.
    pub proxies: Vec<ProxyReport>,
    /// Keys read over HTTP and compared with the node's final state.
    pub http_reads: u64,
    /// The model's verdict on the final states.
    pub check: Check,
    /// Other disagreements: a node that did not exit cleanly on SIGTERM, a directory that
    /// opens to another digest than the node reported, an HTTP read unlike the state.
    pub check_extra: Vec<String>,
    /// The write phase as it ran.
    #[serde(rename = "write_phase_seconds", serialize_with = "seconds")]
    pub write_phase: Duration,
    /// Wall time of the run.
    #[serde(rename = "wall_seconds", serialize_with = "seconds")]
    pub wall: Duration,
    /// The run over time, when it was recorded ([`Config::sample_every`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<crate::timeline::Timeline>,
}

/// The writes, as the clients saw them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Writes {
    /// Requests made.
    pub attempted: u64,
    /// Acknowledged (sets and removes).
    pub acknowledged: u64,
    /// Acknowledged sets.
    pub sets: u64,
    /// Acknowledged removes.
    pub removes: u64,
    /// Failed requests (the node was killed, a timeout): maybe applied, maybe not.
    pub unknown: u64,
    /// Keys written.
    pub keys: u64,
}

impl Writes {
    pub(crate) fn of(h: &[Write]) -> Self {
        let mut w = Self {
            attempted: h.len() as u64,
            ..Self::default()
        };
        for x in h {
            match (&x.outcome, x.value) {
                (Outcome::Unknown, _) => w.unknown += 1,
                (_, Some(_)) => w.sets += 1,
                (_, None) => w.removes += 1,
            }
        }
        w.acknowledged = w.sets + w.removes;
        let mut keys: Vec<&str> = h.iter().map(|x| x.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        w.keys = keys.len() as u64;
        w
    }
}

/// The faults that actually happened.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Faults {
    /// SIGKILLs.
    pub kills: u64,
    /// Starts after a kill (and at the heal, of any node still down).
    pub restarts: u64,
    /// Of the restarts, from an old copy of the directory.
    pub restores_from_copy: u64,
    /// Restores from a copy given up because what only that node held was not held
    /// elsewhere in time (restarted from its own directory instead).
    pub restores_refused: u64,
    /// Copies taken of running nodes' directories.
    pub copies: u64,
    /// Partitions.
    pub partitions: u64,
}

/// How the heal went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Convergence {
    /// Every node reported the same digest within the timeout.
    pub converged: bool,
    /// From the heal to equal digests.
    #[serde(rename = "after_heal_seconds", serialize_with = "seconds")]
    pub after_heal: Duration,
    /// From equal digests to every peer's lag metric saying so (in sync, no dot behind).
    #[serde(rename = "lag_zero_after_seconds", serialize_with = "opt_seconds")]
    pub lag_zero_after: Option<Duration>,
    /// Peers whose lag metric still said they were behind when the harness stopped
    /// waiting (not part of the verdict; see the crate docs).
    pub lag_behind: Vec<String>,
    /// Rounds of `/status` polls (every 50 ms).
    pub polls: u64,
    /// The digest they agreed on.
    pub digest: String,
}

/// One node's final status, in short.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Its name.
    pub name: String,
    /// Its incarnations, one per start.
    pub incarnations: Vec<String>,
    /// Keys and entries it holds.
    pub keys: u64,
    /// Entries.
    pub entries: u64,
    /// Replicas (incarnations) in its context.
    pub context_replicas: u64,
    /// Dots outside the contiguous prefixes (0: compact).
    pub context_cloud_dots: u64,
    /// Per peer, since the node's last start: sync messages and bytes out and in, whether
    /// its summaries equal ours, the dots it lacks.
    pub peers: Vec<PeerReport>,
}

/// One peer as a node saw it since its last start.
#[derive(Debug, Clone, Serialize)]
pub struct PeerReport {
    /// The peer's name.
    pub peer: String,
    /// Sync messages sent to it.
    pub messages_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Sync messages received from it.
    pub messages_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Connections established.
    pub connects: u64,
    /// Dots the peer lacked as of its last summaries.
    pub behind_dots: Option<u64>,
    /// Seconds since its summaries last equalled ours.
    pub lag_seconds: Option<f64>,
}

impl NodeReport {
    pub(crate) fn from_status(p: &NodeProc, s: &Value, all: &[NodeProc]) -> Self {
        let u = |v: &Value| v.as_u64().unwrap_or(0);
        let peers = s["peers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| PeerReport {
                        peer: all
                            .iter()
                            .find(|n| Some(n.key.as_str()) == x["key"].as_str())
                            .map_or_else(|| "?".into(), |n| n.name.clone()),
                        messages_out: u(&x["messages_out"]),
                        bytes_out: u(&x["bytes_out"]),
                        messages_in: u(&x["messages_in"]),
                        bytes_in: u(&x["bytes_in"]),
                        connects: u(&x["connects"]),
                        behind_dots: x["behind_dots"].as_u64(),
                        lag_seconds: x["lag_seconds"].as_f64(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name: p.name.clone(),
            incarnations: p.incarnations.clone(),
            keys: u(&s["keys"]),
            entries: u(&s["entries"]),
            context_replicas: u(&s["context"]["replicas"]),
            context_cloud_dots: u(&s["context"]["cloud_dots"]),
            peers,
        }
    }
}

/// What one proxy carried.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyReport {
    /// The dialing node.
    pub from: String,
    /// The node dialed.
    pub to: String,
    /// Its counters (both directions).
    #[serde(flatten)]
    pub stats: Stats,
}

impl Report {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            error: None,
            root: None,
            writes: Writes::default(),
            faults: Faults::default(),
            convergence: Convergence::default(),
            nodes: Vec::new(),
            proxies: Vec::new(),
            http_reads: 0,
            check: Check::default(),
            check_extra: Vec::new(),
            write_phase: Duration::ZERO,
            wall: Duration::ZERO,
            timeline: None,
        }
    }

    /// Ran to the end, converged, and the model and every other check agree.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.convergence.converged
            && self.check.failures.is_empty()
            && self.check_extra.is_empty()
            && self.check.states == self.config.nodes as u64
    }

    /// `PASS` or `FAIL`.
    pub fn verdict(&self) -> &'static str {
        if self.passed() {
            "PASS"
        } else {
            "FAIL"
        }
    }

    /// The report as text, as `pluriverse cluster` prints it.
    pub fn text(&self) -> String {
        let c = &self.config;
        let w = &self.writes;
        let f = &self.faults;
        let mut s = String::new();
        s += &format!(
            "pluriverse cluster: {} node processes (mvmap utf8 -> int64), seed {}\n",
            c.nodes, c.seed
        );
        s += &format!(
            "network: {:.0}% loss, {:.0}% duplication, delay up to {} ms (reordering), partition {} x{}, {} kills\n\n",
            c.loss * 100.0,
            c.dup * 100.0,
            c.delay.as_millis(),
            c.partition.name(),
            c.partitions,
            c.kills
        );
        s += &format!(
            "  writes          {} acknowledged ({} sets, {} removes) of {} requests on {} keys in {:.1} s; {} unknown (failed requests)\n",
            w.acknowledged,
            w.sets,
            w.removes,
            w.attempted,
            w.keys,
            self.write_phase.as_secs_f64(),
            w.unknown
        );
        s += &format!(
            "  faults          {} SIGKILLs, {} restarts ({} from an old copy{}), {} copies of live directories, {} partitions\n",
            f.kills,
            f.restarts,
            f.restores_from_copy,
            if f.restores_refused > 0 {
                format!(", {} restores given up", f.restores_refused)
            } else {
                String::new()
            },
            f.copies,
            f.partitions
        );
        let (mut din, mut dout, mut bout, mut loss, mut part, mut dup) = (0, 0, 0, 0, 0, 0);
        for p in &self.proxies {
            din += p.stats.datagrams_in;
            dout += p.stats.datagrams_out;
            bout += p.stats.bytes_out;
            loss += p.stats.dropped_loss;
            part += p.stats.dropped_partition;
            dup += p.stats.duplicated;
        }
        s += &format!(
            "  proxies         {din} datagrams in, {dout} delivered ({bout} bytes); dropped {loss} (loss) + {part} (partition), {dup} duplicated\n"
        );
        for p in &self.proxies {
            s += &format!(
                "    {:>3} -> {:<3}   {:>7} datagrams {:>10} bytes delivered, {:>6} lost, {:>6} cut\n",
                p.from,
                p.to,
                p.stats.datagrams_out,
                p.stats.bytes_out,
                p.stats.dropped_loss,
                p.stats.dropped_partition
            );
        }
        s += "  sync per peer   (since each node's last start: messages/bytes out, behind, lag)\n";
        for n in &self.nodes {
            let peers: Vec<String> = n
                .peers
                .iter()
                .map(|p| {
                    format!(
                        "{} {}/{} B {} {}",
                        p.peer,
                        p.messages_out,
                        p.bytes_out,
                        p.behind_dots.map_or("-".into(), |d| format!("{d} dots")),
                        p.lag_seconds.map_or("-".into(), |l| format!("{l:.1} s"))
                    )
                })
                .collect();
            s += &format!(
                "    {:<5} {} keys, context {} replicas {} cloud dots; {}\n",
                n.name,
                n.keys,
                n.context_replicas,
                n.context_cloud_dots,
                peers.join("; ")
            );
        }
        s += &format!(
            "  convergence     {}\n",
            if self.convergence.converged {
                format!(
                    "equal digests {:.2} s after the heal (digest {}); lag metric 0 everywhere {} later",
                    self.convergence.after_heal.as_secs_f64(),
                    self.convergence.digest,
                    self.convergence
                        .lag_zero_after
                        .map_or("never".into(), |d| format!("{:.2} s", d.as_secs_f64()))
                )
            } else {
                "none".to_string()
            }
        );
        for l in &self.convergence.lag_behind {
            s += &format!("  lag not zero    {l}\n");
        }
        let k = &self.check;
        s += &format!(
            "  check           {} keys ({} contested, {} with both values kept), {} dots unique, {} final states, {} HTTP reads\n",
            k.keys_checked, k.contested_keys, k.multi_value_keys, k.dots_checked, k.states, self.http_reads
        );
        if let Some(e) = &self.error {
            s += &format!("  error           {e}\n");
        }
        for m in k.failures.iter().chain(&self.check_extra) {
            s += &format!("  failure         {m}\n");
        }
        if k.failure_count as usize > k.failures.len() {
            s += &format!(
                "  ...             {} more\n",
                k.failure_count as usize - k.failures.len()
            );
        }
        s += &format!(
            "\nverdict: {} ({:.1} s)\n",
            self.verdict(),
            self.wall.as_secs_f64()
        );
        s
    }
}
