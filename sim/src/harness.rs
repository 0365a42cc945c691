//! The run: the seeded workload and fault schedule, the heal, and the bookkeeping the
//! oracle needs. Replicas see only bytes ([`crate::replica`]); the network sees only who
//! sends how many bytes to whom ([`crate::net`]); what each message carries in the
//! oracle's terms travels beside it, as a [`Note`], never on the wire.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use pluriverse::ReplicaId;
use pluriverse_any::{Kind, StateType};

use crate::net::{self, Msg, Network, Restart};
use crate::oracle::Oracle;
use crate::replica::{JoinStats, Merge, Replica};
use crate::report::{Convergence, Faults, FinalState, Joins, Merges, Report, Writes};
use crate::rng::Rng;
use crate::timeline::{Phase, Recorder};
use crate::{state_type, Config, Op, Progress};

/// What a message carries, in the oracle's terms.
#[derive(Debug, Clone)]
enum Note {
    /// A gossiped delta carrying these events.
    Delta { events: Range<u32> },
    /// An anti-entropy request sent by oracle slot `slot` at step `at`: its context is what
    /// that slot knew then.
    AeRequest { slot: u32, at: u32 },
    /// A reply from slot `slot`: what it knew at step `as_of` among the first `upto` events,
    /// less what the request (from `asked_by` at step `asked_at`) said was known.
    AeReply {
        slot: u32,
        as_of: u32,
        upto: u32,
        asked_by: u32,
        asked_at: u32,
    },
}

/// A replica's place in the run: its current incarnation and what the harness tracks.
struct Node {
    base: String,
    epoch: u64,
    replica: Replica,
    /// The oracle slot of the current incarnation.
    slot: u32,
    /// Which restart took it down, while it is down.
    down: Option<usize>,
    last_ts: u64,
    /// Joins of earlier incarnations.
    past: JoinStats,
}

struct Sim<'a> {
    cfg: &'a Config,
    ty: StateType,
    nodes: Vec<Node>,
    net: Network<Note>,
    oracle: Oracle,
    rng: Rng,
    delta_records: u64,
    batches: u64,
    written: u64,
    /// Records the timeline, when asked.
    recorder: Option<Recorder>,
}

impl Sim<'_> {
    fn send(&mut self, from: usize, to: usize, bytes: Arc<Vec<u8>>, note: Note, tick: u32) {
        let msg = Msg {
            from,
            to,
            bytes,
            note,
        };
        self.net.send(msg, tick);
    }

    fn deliver(&mut self, tick: u32) {
        for msg in self.net.due(tick) {
            let to = msg.to;
            let node = &mut self.nodes[to];
            if node.down.is_some() {
                self.net.stats.blocked_down += 1;
                continue;
            }
            self.net.stats.delivered += 1;
            self.net.stats.bytes_delivered += msg.bytes.len() as u64;
            // our own messages are always valid; a refused one changes nothing
            let replies = node.replica.handle(&msg.bytes).unwrap_or_default();
            let slot = node.slot;
            match msg.note {
                Note::Delta { events } => {
                    self.delta_records += events.len() as u64;
                    self.oracle.receive_events(slot, events);
                }
                Note::AeRequest {
                    slot: asked_by,
                    at: asked_at,
                } => {
                    let (as_of, upto) = (self.oracle.step(), self.oracle.events());
                    for r in replies {
                        let note = Note::AeReply {
                            slot,
                            as_of,
                            upto,
                            asked_by,
                            asked_at,
                        };
                        self.send(to, msg.from, Arc::new(r), note, tick);
                    }
                }
                Note::AeReply {
                    slot: from,
                    as_of,
                    upto,
                    asked_by,
                    asked_at,
                } => {
                    self.oracle
                        .receive_reply(slot, from, as_of, upto, (asked_by, asked_at));
                }
            }
        }
    }

    fn ae_request(&mut self, from: usize, to: usize, tick: u32) {
        let node = &mut self.nodes[from];
        let bytes = Arc::new(node.replica.ae_request());
        let note = Note::AeRequest {
            slot: node.slot,
            at: self.oracle.step(),
        };
        self.send(from, to, bytes, note, tick);
    }

    /// Picks up to `n` distinct keys for replica `i`.
    fn pick_keys(&mut self, i: usize, n: usize) -> Vec<u64> {
        let kpr = self.cfg.keys_per_replica.max(1);
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n * 2 {
            if out.len() == n {
                break;
            }
            let k = if self.cfg.hot_keys > 0 && self.rng.chance(self.cfg.hot_share) {
                (1 << 63) | self.rng.below(self.cfg.hot_keys)
            } else {
                ((i as u64) << 40) | self.rng.below(kpr)
            };
            if seen.insert(k) {
                out.push(k);
            }
        }
        out
    }

    /// Replica `i` writes one batch of up to `n` records and gossips its delta.
    fn write(&mut self, i: usize, n: usize, tick: u32) {
        let keys = self.pick_keys(i, n);
        if keys.is_empty() {
            return;
        }
        let removing = self.rng.chance(self.cfg.remove_share);
        let first_event = self.oracle.events() as i64;
        let values: Vec<i64> = match self.cfg.kind {
            Kind::PNCounterMap => keys
                .iter()
                .map(|_| 1 + self.rng.below(100) as i64)
                .collect(),
            // every written value is unique: the event's number
            _ => (0..keys.len() as i64).map(|j| first_event + j).collect(),
        };
        let node = &mut self.nodes[i];
        let ts: Vec<u64> = keys
            .iter()
            .map(|_| {
                // a skewed clock per replica, strictly increasing; ties across replicas happen
                let t = (tick as u64 * 8 + self.rng.below(12)).max(node.last_ts + 1);
                node.last_ts = t;
                t
            })
            .collect();
        let op = match (self.cfg.kind, removing) {
            (Kind::MVMap, false) => Op::Set,
            (Kind::MVMap | Kind::AWSet, true) => Op::Remove,
            (Kind::AWSet, false) => Op::Add,
            (Kind::PNCounterMap, false) => Op::Inc,
            (Kind::PNCounterMap, true) => Op::Dec,
            (Kind::LWWMap, false) => Op::LSet,
            (Kind::LWWMap, true) => Op::LRemove,
        };
        let bytes = match node.replica.write(op, &keys, &values, &ts) {
            Ok(b) => Arc::new(b),
            // the workload never overflows a counter or mistypes a column
            Err(e) => unreachable!("a local write failed: {e}"),
        };
        let events = self.oracle.issue(node.slot, op, &keys, &values, &ts);
        self.written += keys.len() as u64;
        self.batches += 1;
        for to in 0..self.nodes.len() {
            if to != i {
                let note = Note::Delta {
                    events: events.clone(),
                };
                self.send(i, to, bytes.clone(), note, tick);
            }
        }
    }

    /// Replica `i` comes back after losing its state: empty, under the next epoch of its
    /// name (the broken `NoEpoch` merge keeps the old name), as a new oracle slot.
    fn rejoin_empty(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if self.cfg.merge != Merge::NoEpoch {
            node.epoch += 1;
        }
        let name = name(&node.base, node.epoch);
        let old = std::mem::replace(
            &mut node.replica,
            Replica::new(self.ty, name.clone(), self.cfg.merge),
        );
        add_stats(&mut node.past, old.stats());
        node.slot = self.oracle.add_slot(name);
        node.last_ts = 0;
    }

    /// Ends `tick` for the timeline, when one is recorded.
    fn record(&mut self, tick: u32, phase: Phase) {
        if let Some(mut rec) = self.recorder.take() {
            let digests: Vec<u128> = self.nodes.iter_mut().map(|n| n.replica.digest()).collect();
            rec.tick(tick, phase, &digests, &self.net.stats);
            self.recorder = Some(rec);
        }
    }

    /// How many replicas' digests differ from replica 0's (0: converged, bytes checked).
    fn differing(&mut self) -> usize {
        let d0 = self.nodes[0].replica.digest();
        let n = (1..self.nodes.len())
            .filter(|&i| self.nodes[i].replica.digest() != d0)
            .count();
        if n > 0 {
            return n;
        }
        let b0 = self.nodes[0].replica.state().to_bytes().ok();
        self.nodes[1..]
            .iter()
            .filter(|n| n.replica.state().to_bytes().ok() != b0)
            .count()
    }
}

fn add_stats(acc: &mut JoinStats, s: JoinStats) {
    acc.deltas += s.deltas;
    acc.delta_time += s.delta_time;
    acc.replies += s.replies;
    acc.reply_time += s.reply_time;
    acc.refused += s.refused;
}

fn name(base: &str, epoch: u64) -> ReplicaId {
    let id = ReplicaId::from(base);
    if epoch == 0 {
        id
    } else {
        id.with_epoch(epoch)
    }
}

/// Runs one simulation; `progress` hears where it is.
pub fn run(cfg: &Config, progress: &mut dyn FnMut(Progress)) -> Report {
    run_recording(cfg, progress, false)
}

/// Runs one simulation and records its [`crate::timeline::Timeline`] in
/// [`Report::timeline`] (one digest per replica per tick more).
pub fn run_with_timeline(cfg: &Config, progress: &mut dyn FnMut(Progress)) -> Report {
    run_recording(cfg, progress, true)
}

fn run_recording(cfg: &Config, progress: &mut dyn FnMut(Progress), record: bool) -> Report {
    let start = Instant::now();
    let mut rng = Rng::new(cfg.seed);
    let n = cfg.replicas.max(1);
    let ty = state_type(cfg.kind);
    let mut network = Network::new(rng.fork(), n, cfg.loss, cfg.dup, cfg.max_delay);
    network.partitions = net::partitions(&mut rng, cfg.partition, n, cfg.write_ticks);
    let restarts: Vec<Restart> = net::restarts(&mut rng, cfg.restarts, n, cfg.write_ticks);
    let mut cfg_keys = cfg.clone();
    if cfg_keys.keys_per_replica == 0 {
        // about two writes per key
        cfg_keys.keys_per_replica = (cfg.records / n as u64 / 2).max(4);
    }
    let mut oracle = Oracle::new(cfg.kind);
    let nodes = (0..n)
        .map(|i| {
            let base = format!("r{i}");
            let id = ReplicaId::from(base.as_str());
            Node {
                slot: oracle.add_slot(id.clone()),
                replica: Replica::new(ty, id, cfg.merge),
                base,
                epoch: 0,
                down: None,
                last_ts: 0,
                past: JoinStats::default(),
            }
        })
        .collect();
    let mut sim = Sim {
        cfg: &cfg_keys,
        ty,
        nodes,
        net: network,
        oracle,
        rng: rng.fork(),
        delta_records: 0,
        batches: 0,
        written: 0,
        recorder: record.then(|| Recorder::new(n)),
    };
    let mut faults = Faults {
        partitions_scheduled: sim.net.partitions.len() as u32,
        restarts_scheduled: restarts.len() as u32,
        ..Faults::default()
    };

    // write phase: every live replica writes a batch per tick, gossips it, and now and
    // then runs anti-entropy with a random peer
    let per_tick = (cfg.records / (n as u64 * cfg.write_ticks.max(1) as u64)).max(1) as usize;
    let mut tick = 0u32;
    while sim.written < cfg.records {
        // a replica that is down already ignores a second restart; only the restart that
        // took it down brings it back
        for (k, rs) in restarts.iter().enumerate().filter(|(_, r)| r.at == tick) {
            let node = &mut sim.nodes[rs.replica];
            if node.down.is_none() {
                node.down = Some(k);
                faults.restarts += 1;
                if rs.lose_state {
                    faults.restarts_state_lost += 1;
                    sim.oracle.kill_slot(node.slot);
                }
            }
        }
        for (k, rs) in restarts.iter().enumerate().filter(|(_, r)| r.back == tick) {
            if sim.nodes[rs.replica].down == Some(k) {
                sim.nodes[rs.replica].down = None;
                if rs.lose_state {
                    sim.rejoin_empty(rs.replica);
                }
            }
        }
        for i in 0..n {
            let left = (cfg.records - sim.written) as usize;
            if sim.nodes[i].down.is_none() && left > 0 {
                sim.write(i, per_tick.min(left), tick);
            }
        }
        if cfg.ae_every > 0 && tick % cfg.ae_every == cfg.ae_every - 1 && n > 1 {
            for i in 0..n {
                if sim.nodes[i].down.is_none() {
                    let peer = (i + 1 + sim.rng.below(n as u64 - 1) as usize) % n;
                    sim.ae_request(i, peer, tick);
                }
            }
        }
        sim.deliver(tick);
        sim.record(tick, Phase::Write);
        tick += 1;
        progress(Progress::Writing {
            done: sim.written,
            total: cfg.records,
        });
    }
    let write_ticks = tick;

    // heal: partitions end, every replica is up; the network still loses, duplicates and
    // reorders, but no message is delayed past a round
    faults.partitions_in_effect =
        sim.net.partitions.iter().filter(|p| p.start < tick).count() as u32;
    faults.blocked_by_partition = sim.net.stats.blocked_by_partition;
    if let Some(rec) = sim.recorder.as_mut() {
        rec.heal(tick, &sim.net.partitions, &restarts);
    }
    sim.net.partitions.clear();
    sim.net.heavy_tail = false;
    for i in 0..n {
        if let Some(k) = sim.nodes[i].down.take() {
            if restarts[k].lose_state {
                sim.rejoin_empty(i);
            }
        }
    }
    // drain what is still in flight, then anti-entropy rounds: everyone asks everyone
    let drain_until = sim.net.last_due().unwrap_or(tick);
    while tick <= drain_until {
        sim.deliver(tick);
        sim.record(tick, Phase::Drain);
        progress(Progress::Draining {
            tick,
            until: drain_until,
        });
        tick += 1;
    }
    let max_rounds = cfg.heal_rounds();
    let mut rounds = None;
    let mut differing = sim.differing();
    for round in 1..=max_rounds {
        if differing == 0 && round > 1 {
            break;
        }
        progress(Progress::Healing {
            round,
            max: max_rounds,
            differing,
        });
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    sim.ae_request(i, j, tick);
                }
            }
        }
        while !sim.net.is_idle() {
            sim.deliver(tick);
            sim.record(tick, Phase::Heal);
            tick += 1;
        }
        differing = sim.differing();
        if differing == 0 {
            rounds = Some(round);
            break;
        }
    }
    progress(Progress::Checking);
    let converged = sim.differing() == 0;
    let timeline = sim.recorder.take().map(|rec| rec.finish(converged));
    let s0 = sim.nodes[0].replica.state();
    let check = sim.oracle.check(s0);
    let final_state = FinalState {
        keys: s0.len() as u64,
        entries: s0.entry_count() as u64,
        context_compact: s0.context().is_compact(),
        digest: s0
            .digest_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    let mut joins = JoinStats::default();
    for node in &sim.nodes {
        add_stats(&mut joins, node.past);
        add_stats(&mut joins, node.replica.stats());
    }
    Report {
        config: cfg.clone(),
        writes: Writes {
            events: check.events,
            batches: sim.batches,
            ticks: write_ticks,
        },
        merges: Merges {
            deltas: Joins {
                count: joins.deltas,
                records: sim.delta_records,
                time: joins.delta_time,
            },
            anti_entropy: Joins {
                count: joins.replies,
                records: 0,
                time: joins.reply_time,
            },
            refused: joins.refused,
        },
        net: sim.net.stats.clone(),
        faults: Faults {
            blocked_down: sim.net.stats.blocked_down,
            ..faults
        },
        convergence: Convergence {
            converged,
            rounds,
            max_rounds,
        },
        final_state,
        check,
        timeline,
        wall: start.elapsed(),
    }
}
