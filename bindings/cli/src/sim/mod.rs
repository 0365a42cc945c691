//! The lossy-network simulator: replicas that are each the primary for their own keys
//! (plus a few hot keys everyone writes) gossip deltas and run anti-entropy over a network
//! that loses, duplicates, delays, reorders and partitions messages, while replicas restart
//! (with their state, or without it under a new epoch). Everything is drawn from one seed.
//!
//! After the faults heal, anti-entropy runs until every replica holds byte-identical state;
//! then the [`oracle`] — a plain model that knows nothing of the engine — checks the values,
//! the counters and the causal context.
//!
//! # Example
//! ```
//! use pluriverse_cli::sim::{run, Config};
//! let cfg = Config { records: 2_000, ..Config::default() };
//! let report = run(&cfg, &mut |_| {});
//! assert!(report.passed(), "{:?}", report.check.failures);
//! ```

pub mod net;
pub mod oracle;
pub mod rng;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, UInt64Array};
use pluriverse::{CausalContext, Order, ReplicaId};
use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};

use self::net::{Body, Msg, NetStats, Network, PartitionMode, RestartMode};
use self::oracle::{Check, Op, Oracle};
use self::rng::Rng;

/// How a replica merges what it receives. Everything but [`Merge::Correct`] is a
/// deliberately broken merge that the oracle must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The engine's join.
    Correct,
    /// Broken: keep whichever state's version vector dominates; on concurrent states keep
    /// your own (concurrent writes are lost).
    DominatingClock,
    /// Broken: ignore deltas that carry no entries, i.e. pure removals (their context is
    /// dropped).
    DropRemoveContext,
    /// Broken: replace the state with whatever arrives.
    Overwrite,
    /// Broken: a replica that lost its state comes back under its old name and reuses
    /// counters it already issued.
    NoEpoch,
}

impl Merge {
    /// Every broken merge.
    pub const BROKEN: [Merge; 4] = [
        Merge::DominatingClock,
        Merge::DropRemoveContext,
        Merge::Overwrite,
        Merge::NoEpoch,
    ];
}

/// One run's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed of everything random in the run.
    pub seed: u64,
    /// Number of replicas.
    pub replicas: usize,
    /// Writes in total (records set, removed, added, counted).
    pub records: u64,
    /// The record kind.
    pub kind: Kind,
    /// Probability that a message is lost (0 to 1).
    pub loss: f64,
    /// Probability of each extra copy of a message.
    pub dup: f64,
    /// Most ticks a message is delayed (a few are delayed up to 20 times more).
    pub max_delay: u32,
    /// Partitions during the write phase.
    pub partition: PartitionMode,
    /// Restarts during the write phase.
    pub restarts: RestartMode,
    /// Ticks of the write phase.
    pub write_ticks: u32,
    /// Anti-entropy every this many ticks during the write phase.
    pub ae_every: u32,
    /// Keys each replica is the primary for.
    pub keys_per_replica: u64,
    /// Keys every replica writes.
    pub hot_keys: u64,
    /// Share of writes that go to hot keys.
    pub hot_share: f64,
    /// Share of write batches that remove (decrement, for counters).
    pub remove_share: f64,
    /// Anti-entropy rounds allowed after the heal before the run fails.
    pub max_rounds: u32,
    /// How replicas merge (the broken ones exist to test the checker).
    pub merge: Merge,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 1,
            replicas: 8,
            records: 1_000_000,
            kind: Kind::MVMap,
            loss: 0.2,
            dup: 0.1,
            max_delay: 3,
            partition: PartitionMode::Split,
            restarts: RestartMode::None,
            write_ticks: 40,
            ae_every: 8,
            keys_per_replica: 0,
            hot_keys: 64,
            hot_share: 0.02,
            remove_share: 0.2,
            max_rounds: 40,
            merge: Merge::Correct,
        }
    }
}

/// Where a run is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Writes issued so far, of the total.
    Writing {
        /// Done.
        done: u64,
        /// Total.
        total: u64,
    },
    /// Anti-entropy round after the heal.
    Healing {
        /// Round number.
        round: u32,
    },
    /// The oracle is checking.
    Checking,
}

/// What a run did and whether it passed.
#[derive(Debug, Clone)]
pub struct Report {
    /// The settings.
    pub config: Config,
    /// Write batches (deltas created).
    pub batches: u64,
    /// Merges performed (deltas and anti-entropy replies joined).
    pub merges: u64,
    /// Time spent decoding and joining.
    pub merge_time: Duration,
    /// Of those, the gossiped write deltas: count, records they carried, time.
    pub delta_merges: (u64, u64, Duration),
    /// What the network did.
    pub net: NetStats,
    /// Anti-entropy rounds after the heal until every replica held identical bytes.
    pub rounds_to_converge: Option<u32>,
    /// Restarts that happened (with state lost).
    pub restarts: (u32, u32),
    /// Whether all replicas ended byte-identical with equal digests.
    pub converged: bool,
    /// The final digest (of replica 0).
    pub digest: [u8; 16],
    /// Entries and keys in the final state.
    pub entries: u64,
    /// Keys (elements) in the final state.
    pub keys: u64,
    /// Whether the final context is a plain version vector.
    pub context_compact: bool,
    /// The oracle's verdict.
    pub check: Check,
    /// Wall time of the run.
    pub wall: Duration,
}

impl Report {
    /// Converged, and the oracle agrees.
    pub fn passed(&self) -> bool {
        self.converged && self.check.failures.is_empty()
    }
}

/// The state type the simulator uses for a kind (u64 keys, i64 values).
pub fn state_type(kind: Kind) -> StateType {
    let value = kind.has_values().then_some(ValueType::Int64);
    StateType {
        kind,
        key: KeyType::UInt64,
        value,
    }
}

struct Replica {
    base: String,
    epoch: u64,
    state: AnyState,
    slot: u32,
    up: bool,
    last_ts: u64,
    digest: Option<u128>,
}

impl Replica {
    fn digest(&mut self) -> u128 {
        *self.digest.get_or_insert_with(|| self.state.digest())
    }
}

struct Sim<'a> {
    cfg: &'a Config,
    reps: Vec<Replica>,
    net: Network,
    oracle: Oracle,
    rng: Rng,
    merges: u64,
    merge_time: Duration,
    delta_merges: (u64, u64, Duration),
    batches: u64,
    written: u64,
}

impl Sim<'_> {
    fn join(&mut self, to: usize, bytes: &[u8]) -> Duration {
        let t = Instant::now();
        let r = &mut self.reps[to];
        match self.cfg.merge {
            Merge::Correct | Merge::NoEpoch => {
                // a message from the network is untrusted: bad bytes are refused, the state
                // is unchanged (our own messages are always valid)
                let _ = r.state.join_bytes(bytes);
            }
            Merge::DropRemoveContext => {
                if let Ok(d) = AnyState::from_bytes(bytes, "x") {
                    if d.entry_count() > 0 {
                        let _ = r.state.join(&d);
                    }
                }
            }
            Merge::DominatingClock => {
                if let Ok(d) = AnyState::from_bytes(bytes, r.state.replica().clone()) {
                    if d.version_vector().compare(&r.state.version_vector()) == Order::After {
                        r.state = d;
                    }
                }
            }
            Merge::Overwrite => {
                if let Ok(d) = AnyState::from_bytes(bytes, r.state.replica().clone()) {
                    r.state = d;
                }
            }
        }
        r.digest = None;
        let took = t.elapsed();
        self.merges += 1;
        self.merge_time += took;
        took
    }

    fn deliver(&mut self, tick: u32) {
        for msg in self.net.due(tick) {
            let to = msg.to;
            if !self.reps[to].up {
                self.net.stats.blocked += 1;
                continue;
            }
            self.net.stats.delivered += 1;
            match msg.body {
                Body::Delta { bytes, events } => {
                    self.net.stats.bytes_delivered += bytes.len() as u64;
                    let took = self.join(to, &bytes);
                    self.delta_merges.0 += 1;
                    self.delta_merges.1 += events.len() as u64;
                    self.delta_merges.2 += took;
                    self.oracle.receive_events(self.reps[to].slot, events);
                }
                Body::AeRequest { context, digest } => {
                    self.net.stats.bytes_delivered += context.len() as u64 + 16;
                    if self.reps[to].digest() == digest {
                        continue; // in sync: nothing to send
                    }
                    let Ok(ctx) = CausalContext::from_bytes(&context) else {
                        continue;
                    };
                    let r = &self.reps[to];
                    let Ok(bytes) = r.state.delta_since(&ctx).to_bytes() else {
                        continue;
                    };
                    let body = Body::AeReply {
                        bytes: Arc::new(bytes),
                        slot: r.slot,
                        as_of: self.oracle.step(),
                        upto: self.oracle.events(),
                    };
                    self.net.send(
                        Msg {
                            from: to,
                            to: msg.from,
                            body,
                        },
                        tick,
                    );
                }
                Body::AeReply {
                    bytes,
                    slot,
                    as_of,
                    upto,
                } => {
                    self.net.stats.bytes_delivered += bytes.len() as u64;
                    self.join(to, &bytes);
                    self.oracle
                        .receive_knowledge(self.reps[to].slot, slot, as_of, upto);
                }
            }
        }
    }

    fn ae_request(&mut self, from: usize, to: usize, tick: u32) {
        let r = &mut self.reps[from];
        let body = Body::AeRequest {
            context: Arc::new(r.state.context().to_bytes()),
            digest: r.digest(),
        };
        self.net.send(Msg { from, to, body }, tick);
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
        let r = &mut self.reps[i];
        let ts: Vec<u64> = keys
            .iter()
            .map(|_| {
                // a skewed clock per replica, strictly increasing; ties across replicas happen
                let t = (tick as u64 * 8 + self.rng.below(12)).max(r.last_ts + 1);
                r.last_ts = t;
                t
            })
            .collect();
        let k_arr = UInt64Array::from(keys.clone());
        let v_arr = Int64Array::from(values.clone());
        let u_arr = UInt64Array::from(values.iter().map(|&v| v as u64).collect::<Vec<_>>());
        let t_arr = UInt64Array::from(ts.clone());
        let (op, delta) = match (self.cfg.kind, removing) {
            (Kind::MVMap, false) => (Op::Set, r.state.set_many(&k_arr, &v_arr)),
            (Kind::MVMap, true) => (Op::Remove, r.state.remove_many(&k_arr)),
            (Kind::AWSet, false) => (Op::Add, r.state.add_many(&k_arr)),
            (Kind::AWSet, true) => (Op::Remove, r.state.remove_many(&k_arr)),
            (Kind::PNCounterMap, false) => (Op::Inc, r.state.increment_many(&k_arr, &u_arr)),
            (Kind::PNCounterMap, true) => (Op::Dec, r.state.decrement_many(&k_arr, &u_arr)),
            (Kind::LWWMap, false) => (Op::LSet, r.state.set_many_at(&k_arr, &v_arr, &t_arr)),
            (Kind::LWWMap, true) => (Op::LRemove, r.state.remove_many_at(&k_arr, &t_arr)),
        };
        r.digest = None;
        let delta = match delta {
            Ok(d) => d,
            Err(e) => panic!("a local write failed: {e}"),
        };
        let events = self.oracle.issue(r.slot, op, &keys, &values, &ts);
        self.written += keys.len() as u64;
        self.batches += 1;
        let bytes = Arc::new(delta.to_bytes().unwrap_or_default());
        for to in 0..self.reps.len() {
            if to != i {
                let body = Body::Delta {
                    bytes: bytes.clone(),
                    events: events.clone(),
                };
                self.net.send(Msg { from: i, to, body }, tick);
            }
        }
    }

    /// Replica `i` comes back after losing its state: empty, under the next epoch of its
    /// name (the broken `NoEpoch` merge keeps the old name), as a new oracle slot.
    fn rejoin_empty(&mut self, i: usize, ty: StateType) {
        let r = &mut self.reps[i];
        if self.cfg.merge != Merge::NoEpoch {
            r.epoch += 1;
        }
        let name = Self::name(&r.base, r.epoch);
        r.state = AnyState::new(ty, name.clone());
        r.slot = self.oracle.add_slot(name);
        r.digest = None;
        r.last_ts = 0;
    }

    fn name(base: &str, epoch: u64) -> ReplicaId {
        let id = ReplicaId::from(base);
        if epoch == 0 {
            id
        } else {
            id.with_epoch(epoch)
        }
    }

    fn converged(&mut self) -> bool {
        let d0 = self.reps[0].digest();
        if !(1..self.reps.len()).all(|i| self.reps[i].digest() == d0) {
            return false;
        }
        let b0 = self.reps[0].state.to_bytes().ok();
        self.reps[1..].iter().all(|r| r.state.to_bytes().ok() == b0)
    }
}

/// Runs one simulation; `progress` hears where it is.
pub fn run(cfg: &Config, progress: &mut dyn FnMut(Progress)) -> Report {
    let start = Instant::now();
    let mut rng = Rng::new(cfg.seed);
    let n = cfg.replicas.max(1);
    let ty = state_type(cfg.kind);
    let mut net = Network::new(rng.fork(), n, cfg.loss, cfg.dup, cfg.max_delay);
    net.partitions = net::partitions(&mut rng, cfg.partition, n, cfg.write_ticks);
    let restarts = net::restarts(&mut rng, cfg.restarts, n, cfg.write_ticks);
    let mut cfg_keys = cfg.clone();
    if cfg_keys.keys_per_replica == 0 {
        // about two writes per key
        cfg_keys.keys_per_replica = (cfg.records / n as u64 / 2).max(4);
    }
    let mut oracle = Oracle::new(cfg.kind);
    let reps = (0..n)
        .map(|i| {
            let base = format!("r{i}");
            let slot = oracle.add_slot(ReplicaId::from(base.as_str()));
            Replica {
                state: AnyState::new(ty, base.as_str()),
                base,
                epoch: 0,
                slot,
                up: true,
                last_ts: 0,
                digest: None,
            }
        })
        .collect();
    let mut sim = Sim {
        cfg: &cfg_keys,
        reps,
        net,
        oracle,
        rng: rng.fork(),
        merges: 0,
        merge_time: Duration::ZERO,
        delta_merges: (0, 0, Duration::ZERO),
        batches: 0,
        written: 0,
    };

    // write phase: every live replica writes a batch per tick, gossips it, and now and
    // then runs anti-entropy with a random peer
    let per_tick = (cfg.records / (n as u64 * cfg.write_ticks.max(1) as u64)).max(1) as usize;
    let mut tick = 0u32;
    let (mut restarted, mut lost_state) = (0u32, 0u32);
    while sim.written < cfg.records {
        for rs in restarts.iter().filter(|r| r.at == tick) {
            let r = &mut sim.reps[rs.replica];
            if r.up {
                r.up = false;
                restarted += 1;
                if rs.lose_state {
                    lost_state += 1;
                    sim.oracle.kill_slot(r.slot);
                }
            }
        }
        for rs in restarts.iter().filter(|r| r.back == tick) {
            let r = &mut sim.reps[rs.replica];
            if !r.up {
                r.up = true;
                if rs.lose_state {
                    sim.rejoin_empty(rs.replica, ty);
                }
            }
        }
        for i in 0..n {
            let left = (cfg.records - sim.written) as usize;
            if sim.reps[i].up && left > 0 {
                sim.write(i, per_tick.min(left), tick);
            }
        }
        if cfg.ae_every > 0 && tick % cfg.ae_every == cfg.ae_every - 1 && n > 1 {
            for i in 0..n {
                if sim.reps[i].up {
                    let peer = (i + 1 + sim.rng.below(n as u64 - 1) as usize) % n;
                    sim.ae_request(i, peer, tick);
                }
            }
        }
        sim.deliver(tick);
        tick += 1;
        progress(Progress::Writing {
            done: sim.written,
            total: cfg.records,
        });
    }

    // heal: partitions end, every replica is up; the network still loses, duplicates and
    // reorders, but no message is delayed past a round
    sim.net.partitions.clear();
    sim.net.heavy_tail = false;
    for i in 0..n {
        if !sim.reps[i].up {
            sim.reps[i].up = true;
            if restarts
                .iter()
                .any(|rs| rs.replica == i && rs.lose_state && rs.back > tick)
            {
                sim.rejoin_empty(i, ty);
            }
        }
    }
    // drain what is still in flight, then anti-entropy rounds: everyone asks everyone
    let drain_until = sim
        .net
        .in_flight
        .keys()
        .next_back()
        .copied()
        .unwrap_or(tick);
    while tick <= drain_until {
        sim.deliver(tick);
        tick += 1;
    }
    let mut rounds_to_converge = None;
    for round in 1..=cfg.max_rounds {
        progress(Progress::Healing { round });
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    sim.ae_request(i, j, tick);
                }
            }
        }
        while !sim.net.is_idle() {
            sim.deliver(tick);
            tick += 1;
        }
        if sim.converged() {
            rounds_to_converge = Some(round);
            break;
        }
    }
    progress(Progress::Checking);
    let converged = sim.converged();
    let check = sim.oracle.check(&sim.reps[0].state);
    let s0 = &sim.reps[0].state;
    Report {
        config: cfg.clone(),
        batches: sim.batches,
        merges: sim.merges,
        merge_time: sim.merge_time,
        delta_merges: sim.delta_merges,
        net: sim.net.stats.clone(),
        rounds_to_converge,
        restarts: (restarted, lost_state),
        converged,
        digest: s0.digest_bytes(),
        entries: s0.entry_count() as u64,
        keys: s0.len() as u64,
        context_compact: s0.context().is_compact(),
        check,
        wall: start.elapsed(),
    }
}
