//! The run: the seeded workload and fault schedule, the heal, and the bookkeeping the
//! oracle needs. Replicas talk only through the library's sync protocol
//! ([`crate::replica`]); the network sees only who sends how many bytes to whom
//! ([`crate::net`]); who sent a message and when travels beside it, as a `Note`, never on
//! the wire, and the oracle credits a replica only with the deltas it was handed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pluriverse::ReplicaId;
use pluriverse_any::{AnyState, Kind, StateType};
use pluriverse_replica::{identity, sync};

use crate::net::{self, Msg, Network, Restart, RestartKind};
use crate::oracle::{Oracle, Snapshot};
use crate::replica::{add_sync_stats, message_type, JoinStats, Merge, MessageType, Replica};
use crate::report::{Convergence, Faults, FinalState, Joins, Merges, Protocol, Report, Writes};
use crate::rng::{self, Rng};
use crate::timeline::{Phase, Recorder};
use crate::{state_type, Config, Op, Progress};

/// Who sent a message: the oracle slot of the sender, and the oracle step at which the
/// harness took it from the sender's protocol.
#[derive(Debug, Clone, Copy)]
struct Note {
    slot: u32,
    step: u32,
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
    /// Protocol work of earlier incarnations.
    past_sync: sync::Stats,
}

struct Sim<'a> {
    cfg: &'a Config,
    ty: StateType,
    sync: sync::Config,
    nodes: Vec<Node>,
    net: Network<Note>,
    oracle: Oracle,
    rng: Rng,
    delta_records: u64,
    slice_records: u64,
    batches: u64,
    written: u64,
    proto: Protocol,
    /// Old copies of replicas' directories, by restart (taken at its `copy_at`).
    copies: Vec<Option<(AnyState, Snapshot)>>,
    /// Records the timeline, when asked.
    recorder: Option<Recorder>,
}

/// The time the protocol is given at `tick`.
fn now(tick: u32) -> Duration {
    Duration::from_millis(tick as u64 * 10)
}

impl Sim<'_> {
    /// Every live replica's protocol gets to send: all it has, or `link_rate` messages
    /// per peer and tick.
    fn poll(&mut self, tick: u32) {
        let n = self.nodes.len();
        let rate = if self.cfg.link_rate == 0 {
            usize::MAX
        } else {
            self.cfg.link_rate as usize
        };
        for i in 0..n {
            if self.nodes[i].down.is_some() {
                continue;
            }
            for j in 0..n {
                if i == j {
                    continue;
                }
                for _ in 0..rate {
                    let Some(bytes) = self.nodes[i].replica.poll_transmit(j, now(tick)) else {
                        break;
                    };
                    self.count(&bytes);
                    let note = Note {
                        slot: self.nodes[i].slot,
                        step: self.oracle.step(),
                    };
                    let msg = Msg {
                        from: i,
                        to: j,
                        bytes: Arc::new(bytes),
                        note,
                    };
                    self.net.send(msg, tick);
                }
            }
        }
    }

    fn count(&mut self, bytes: &[u8]) {
        let p = &mut self.proto;
        let len = bytes.len() as u64;
        p.largest_message = p.largest_message.max(len);
        match message_type(bytes) {
            Some(MessageType::Summary) => {
                p.summaries += 1;
                p.summary_bytes += len;
            }
            Some(MessageType::Offer) => {
                p.offers += 1;
                p.offer_bytes += len;
            }
            Some(MessageType::Plain) => {
                p.plain += 1;
                p.plain_bytes += len;
            }
            None => {}
        }
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
            let delta = match node.replica.handle(msg.from, now(tick), &msg.bytes) {
                Ok(d) => d,
                // a delta the merge refused was still handed over: the oracle credits it
                Err(refused) => refused.delta,
            };
            if let Some(d) = delta {
                let slot = node.slot;
                self.oracle.credit(slot, msg.note.slot, msg.note.step, &d);
                let records = d.entry_count() as u64;
                if message_type(&msg.bytes) == Some(MessageType::Offer) {
                    self.slice_records += records;
                } else {
                    self.delta_records += records;
                }
            }
        }
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

    /// Replica `i` writes one batch of up to `n` records; its protocol pushes the delta.
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
        let delta = match node.replica.write(op, &keys, &values, &ts) {
            Ok(d) => d,
            // the workload never overflows a counter or mistypes a column
            Err(e) => unreachable!("a local write failed: {e}"),
        };
        self.oracle
            .issue(node.slot, op, &keys, &values, &ts, &delta);
        self.written += keys.len() as u64;
        self.batches += 1;
    }

    /// Replica `i` comes back as `replica` under the oracle slot `slot`.
    fn replace(&mut self, i: usize, replica: Replica, slot: u32) {
        let node = &mut self.nodes[i];
        let old = std::mem::replace(&mut node.replica, replica);
        node.past.add(&old.stats());
        add_sync_stats(&mut node.past_sync, &old.sync_stats());
        node.slot = slot;
    }

    fn new_replica(&self, i: usize, state: AnyState) -> Replica {
        match Replica::from_state(state, self.cfg.merge, i, self.nodes.len(), self.sync) {
            Ok(r) => r,
            // the configuration was accepted for replica 0 already
            Err(e) => unreachable!("the protocol refused its configuration: {e}"),
        }
    }

    /// Replica `i` comes back up after restart `k`: with its state and name (fresh
    /// protocol state machines: a process restart); empty, under the next epoch of its
    /// name; or from the old copy of its directory, under a fresh incarnation (what
    /// `pluriverse_replica::Replica::open` does after a restore). The broken `NoEpoch`
    /// keeps the old name.
    fn come_back(&mut self, i: usize, r: &Restart, k: usize) {
        match r.kind {
            RestartKind::Keep => {
                let mut state = self.nodes[i].replica.state().clone();
                // an open retires the idle incarnations (a choice of representation only)
                state.retire_idle();
                let slot = self.nodes[i].slot;
                let rep = self.new_replica(i, state);
                self.replace(i, rep, slot);
            }
            RestartKind::Lose => {
                let node = &mut self.nodes[i];
                if self.cfg.merge != Merge::NoEpoch {
                    node.epoch += 1;
                }
                let name = name(&node.base, node.epoch);
                node.last_ts = 0;
                let slot = self.oracle.add_slot(name.clone());
                let rep = self.new_replica(i, AnyState::new(self.ty, name));
                self.replace(i, rep, slot);
            }
            RestartKind::OldCopy => {
                let Some((state, snap)) = self.copies[k].take() else {
                    unreachable!("the copy is taken before the restart");
                };
                let name = if self.cfg.merge == Merge::NoEpoch {
                    state.replica().clone()
                } else {
                    // what `pluriverse_replica::Replica::open` does, with the bits drawn
                    // from the run's seed so that a run replays exactly
                    let base = ReplicaId::from(self.nodes[i].base.as_str());
                    identity::incarnation(&base, self.rng.next_u64())
                };
                let slot = self.oracle.restore(snap, name.clone());
                let mut state = state.with_replica(name);
                state.retire_idle();
                let rep = self.new_replica(i, state);
                self.replace(i, rep, slot);
            }
        }
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

    fn idle(&self) -> bool {
        self.net.is_idle() && self.nodes.iter().all(|n| n.replica.is_idle())
    }
}

fn name(base: &str, epoch: u64) -> ReplicaId {
    let id = ReplicaId::from(base);
    if epoch == 0 {
        id
    } else {
        id.with_epoch(epoch)
    }
}

/// The most ticks one heal round may take before the run gives up on it (a protocol that
/// never goes quiet).
const MAX_ROUND_TICKS: u32 = 2_000;

/// Runs one simulation; `progress` hears where it is.
///
/// # Panics
/// When the protocol refuses `cfg.max_message` for the kind (below about 1.1 KB).
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
    let mut rng = rng::seeded(cfg.seed);
    let n = cfg.replicas.max(1);
    let ty = state_type(cfg.kind);
    let mut network = Network::new(rng::fork(&mut rng), n, cfg.loss, cfg.dup, cfg.max_delay);
    network.partitions = net::partitions(&mut rng, cfg.partition, n, cfg.write_ticks);
    let restarts: Vec<Restart> = net::restarts(&mut rng, cfg.restarts, n, cfg.write_ticks);
    let mut cfg_keys = cfg.clone();
    if cfg_keys.keys_per_replica == 0 {
        // about two writes per key
        cfg_keys.keys_per_replica = (cfg.records / n as u64 / 2).max(4);
    }
    // rounds only when the harness starts them; no inbound bound that the sweep's small
    // states could reach
    let sync = sync::Config {
        max_message: cfg.max_message,
        round_interval: Duration::from_secs(1 << 40),
        max_inbound: usize::MAX / 4,
        ..sync::Config::default()
    };
    let mut oracle = Oracle::new(cfg.kind);
    let nodes = (0..n)
        .map(|i| {
            let base = format!("r{i}");
            let id = ReplicaId::from(base.as_str());
            let replica = Replica::new(ty, id.clone(), cfg.merge, i, n, sync)
                .unwrap_or_else(|e| panic!("max_message {}: {e}", cfg.max_message));
            Node {
                slot: oracle.add_slot(id),
                replica,
                base,
                epoch: 0,
                down: None,
                last_ts: 0,
                past: JoinStats::default(),
                past_sync: sync::Stats::default(),
            }
        })
        .collect();
    let mut sim = Sim {
        cfg: &cfg_keys,
        ty,
        sync,
        nodes,
        net: network,
        oracle,
        rng: rng::fork(&mut rng),
        delta_records: 0,
        slice_records: 0,
        batches: 0,
        written: 0,
        proto: Protocol::default(),
        copies: vec![None; restarts.len()],
        recorder: record.then(|| Recorder::new(n)),
    };
    let mut faults = Faults {
        partitions_scheduled: sim.net.partitions.len() as u32,
        restarts_scheduled: restarts.len() as u32,
        ..Faults::default()
    };

    // write phase: every live replica writes a batch per tick (its protocol pushes it),
    // and now and then starts an anti-entropy round with a random peer
    let per_tick = (cfg.records / (n as u64 * cfg.write_ticks.max(1) as u64)).max(1) as usize;
    let mut tick = 0u32;
    while sim.written < cfg.records {
        for (k, rs) in restarts.iter().enumerate() {
            if rs.kind == RestartKind::OldCopy && rs.copy_at == tick {
                let node = &sim.nodes[rs.replica];
                let copy = node.replica.state().clone();
                sim.copies[k] = Some((copy, sim.oracle.snapshot(node.slot)));
            }
        }
        // a replica that is down already ignores a second restart; only the restart that
        // took it down brings it back
        for (k, rs) in restarts.iter().enumerate().filter(|(_, r)| r.at == tick) {
            let node = &mut sim.nodes[rs.replica];
            if node.down.is_none() {
                node.down = Some(k);
                faults.restarts += 1;
                match rs.kind {
                    RestartKind::Keep => {}
                    RestartKind::Lose => faults.restarts_state_lost += 1,
                    RestartKind::OldCopy => faults.restarts_old_copy += 1,
                }
                if rs.kind != RestartKind::Keep {
                    sim.oracle.kill_slot(node.slot);
                }
            }
        }
        for (k, rs) in restarts.iter().enumerate().filter(|(_, r)| r.back == tick) {
            if sim.nodes[rs.replica].down == Some(k) {
                sim.nodes[rs.replica].down = None;
                sim.come_back(rs.replica, rs, k);
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
                    sim.nodes[i].replica.start_round(peer);
                }
            }
        }
        sim.deliver(tick);
        sim.poll(tick);
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
            let rs = restarts[k].clone();
            sim.come_back(i, &rs, k);
        }
    }
    // drain what is still in flight, then anti-entropy rounds: everyone with everyone
    let drain_until = sim.net.last_due().unwrap_or(tick);
    while tick <= drain_until {
        sim.deliver(tick);
        sim.poll(tick);
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
                    sim.nodes[i].replica.start_round(j);
                }
            }
        }
        let began = tick;
        loop {
            sim.poll(tick);
            if sim.idle() {
                break;
            }
            if tick - began > MAX_ROUND_TICKS {
                sim.proto.rounds_cut += 1;
                break;
            }
            sim.deliver(tick);
            sim.record(tick, Phase::Heal);
            tick += 1;
        }
        sim.proto.heal_ticks += u64::from(tick - began);
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
    let mut st = sync::Stats::default();
    for node in &sim.nodes {
        joins.add(&node.past);
        joins.add(&node.replica.stats());
        add_sync_stats(&mut st, &node.past_sync);
        add_sync_stats(&mut st, &node.replica.sync_stats());
    }
    let proto = Protocol {
        max_message: cfg.max_message as u64,
        messages: st.messages_out,
        bytes: st.bytes_out,
        rounds: st.rounds,
        slices: st.slices_out,
        deltas_handed: st.deltas_in,
        bad_messages: st.bad_messages,
        throttled: st.throttled,
        dropped_work: st.dropped_work,
        oversized: st.oversized,
        ..sim.proto
    };
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
                records: sim.slice_records,
                time: joins.reply_time,
            },
            refused: joins.refused,
        },
        net: sim.net.stats.clone(),
        protocol: proto,
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
