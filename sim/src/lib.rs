//! A deterministic simulator of pluriverse replicas on a lossy network, checked by an
//! independent oracle: a test harness, not a binding.
//!
//! Replicas are each the primary for their own keys (plus a few hot keys everyone writes);
//! they talk only through the library's sans-IO sync protocol
//! ([`pluriverse_replica::sync`]: pushed deltas, anti-entropy rounds of range summaries,
//! slices of what differs, every message under a bound) over a network that loses,
//! duplicates, delays, reorders and partitions messages and may carry only so many
//! messages per tick on a link, while replicas restart (with their state, without it under
//! a new epoch, or from an old copy of their directory under a fresh incarnation).
//! Everything is drawn from one seed. After the faults heal, anti-entropy runs until every
//! replica holds byte-identical state; then the [`oracle`] — a plain model that knows
//! nothing of the engine and credits a replica only with the deltas it was handed — checks
//! the values, the counters and the causal context.
//!
//! | module | what it holds |
//! |---|---|
//! | [`replica`] | a replica: its state, one protocol state machine per peer, and how it joins (the broken merges too) |
//! | [`net`] | what the network does to messages: loss, duplication, delay, partitions; restart schedules |
//! | [`harness`] | the run: workload, fault schedule, heal, and the bookkeeping the oracle needs |
//! | [`oracle`] | the model of the semantics the final state is checked against |
//! | [`report`] | what a run did, as named fields (serializable) |
//! | [`rng`] | the seeded generator |
//! | [`timeline`] | the run over time, tick by tick (recorded when asked) |
//! | `plot` | the timeline drawn as SVG (feature `plot`) |
//!
//! # Example
//! ```
//! use pluriverse_sim::{run, Config};
//! let cfg = Config { records: 2_000, ..Config::default() };
//! let report = run(&cfg, &mut |_| {});
//! assert!(report.passed(), "{:?}", report.check.failures);
//! assert_eq!(report.writes.events, 2_000);
//! ```

pub mod harness;
pub mod net;
pub mod oracle;
#[cfg(feature = "plot")]
pub mod plot;
pub mod replica;
pub mod report;
pub mod rng;
pub mod timeline;

use pluriverse_any::{KeyType, Kind, StateType, ValueType};

pub use harness::{run, run_with_timeline};
pub use net::{PartitionMode, RestartKind, RestartMode};
pub use replica::Merge;
pub use report::Report;

/// A write operation, as the workload issues it and the oracle models it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `MVMap` set.
    Set,
    /// `MVMap` or `AWSet` remove.
    Remove,
    /// `AWSet` add.
    Add,
    /// `PNCounterMap` increment.
    Inc,
    /// `PNCounterMap` decrement.
    Dec,
    /// `LWWMap` set at a timestamp.
    LSet,
    /// `LWWMap` remove at a timestamp.
    LRemove,
}

impl Op {
    /// Whether the engine gives this write a dot (removes of `MVMap`/`AWSet` do not).
    pub fn takes_dot(self) -> bool {
        !matches!(self, Op::Remove)
    }
}

/// The most anti-entropy rounds a heal may take (see [`Config::heal_rounds`]).
pub const MAX_HEAL_ROUNDS: u32 = 5_000;

/// The highest message loss probability a run accepts: above it, the heal would need more
/// than [`MAX_HEAL_ROUNDS`] rounds to be sure of converging.
pub const MAX_LOSS: f64 = 0.9;

/// One run's settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Config {
    /// Seed of everything random in the run.
    pub seed: u64,
    /// Number of replicas.
    pub replicas: usize,
    /// Writes in total (records set, removed, added, counted).
    pub records: u64,
    /// The record kind.
    #[serde(serialize_with = "report::kind_name")]
    pub kind: Kind,
    /// Probability that a message is lost (0 to [`MAX_LOSS`]).
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
    /// Keys each replica is the primary for (0: about two writes per key).
    pub keys_per_replica: u64,
    /// Keys every replica writes.
    pub hot_keys: u64,
    /// Share of writes that go to hot keys.
    pub hot_share: f64,
    /// Share of write batches that remove (decrement, for counters).
    pub remove_share: f64,
    /// Anti-entropy rounds allowed after the heal before the run fails; `None`: scaled
    /// with the loss ([`Config::heal_rounds`]).
    pub max_rounds: Option<u32>,
    /// How replicas merge (the broken ones exist to test the checker).
    pub merge: Merge,
    /// The sync protocol's message bound, in bytes (the protocol refuses less than about
    /// 1.1 KB, what a summary of a replica with the longest name takes; 1,200 fits a
    /// datagram).
    pub max_message: usize,
    /// Messages a link carries per tick and direction (0: any number): a large difference
    /// then takes many ticks to ship, and faults land in the middle of it.
    pub link_rate: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 1,
            replicas: 8,
            records: 200_000,
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
            max_rounds: None,
            merge: Merge::Correct,
            max_message: 64 << 10,
            link_rate: 0,
        }
    }
}

impl Config {
    /// The anti-entropy rounds the heal may take: [`Config::max_rounds`] when set, else
    /// enough that every ordered pair of replicas has, with probability `1 - 1e-6`,
    /// completed one exchange of three messages (the protocol's summary, the slice that
    /// answers it, and the slice that answers that): a pair fails a round with
    /// probability `q = 1 - (1 - loss)^3`, so `rounds = ln(1e-6 / (n (n - 1))) / ln(q)`,
    /// at least 40, at most [`MAX_HEAL_ROUNDS`].
    ///
    /// # Example
    /// ```
    /// use pluriverse_sim::Config;
    /// let lossy = |loss| Config { loss, ..Config::default() }.heal_rounds();
    /// assert_eq!(lossy(0.0), 40);
    /// assert!(lossy(0.9) > 1_000);
    /// ```
    pub fn heal_rounds(&self) -> u32 {
        if let Some(r) = self.max_rounds {
            return r;
        }
        let n = self.replicas.max(2) as f64;
        let q = 1.0 - (1.0 - self.loss.clamp(0.0, 1.0)).powi(3);
        if q <= 0.0 {
            return 40;
        }
        let r = (1e-6 / (n * (n - 1.0))).ln() / q.ln();
        (r.ceil() as u32).clamp(40, MAX_HEAL_ROUNDS)
    }

    /// A rough estimate of the memory a run takes at its peak, in bytes: the states every
    /// replica ends up holding (each holds every record), the oracle's model (a few words
    /// per event and one per event and replica incarnation), and the anti-entropy replies of
    /// one heal round (one per ordered pair, each a few KiB).
    /// Measured (peak RSS) at 8 x 200,000, 2 x 200,000, 100 x 2,000 and 1000 x 1,000
    /// replicas x records; good to a factor of two.
    ///
    /// # Example
    /// ```
    /// use pluriverse_sim::Config;
    /// let big = Config { replicas: 1000, records: 1000, ..Config::default() };
    /// assert!(big.estimated_memory() > 8 << 30); // a million replies per round
    /// ```
    pub fn estimated_memory(&self) -> u64 {
        let n = self.replicas.max(1) as u64;
        let records = self.records;
        // every replica ends up holding every record: ~ 60 bytes each with its entry,
        // indexes and the copies a join makes
        let states = n
            .saturating_mul(records)
            .saturating_mul(BYTES_PER_RECORD_PER_REPLICA);
        // the oracle: ~ 80 bytes per event plus 4 per event per incarnation
        let oracle = records.saturating_mul(BYTES_PER_EVENT + 4 * (n + 2));
        // in flight: one reply per ordered pair per heal round, each naming every replica
        let reply = BYTES_PER_REPLY + BYTES_PER_REPLY_PER_REPLICA * n;
        let replies = n.saturating_mul(n.saturating_sub(1)).saturating_mul(reply);
        BASE_BYTES
            .saturating_add(states)
            .saturating_add(oracle)
            .saturating_add(replies)
    }
}

/// Memory the estimate charges every replica for every record (measured roughly).
const BYTES_PER_RECORD_PER_REPLICA: u64 = 60;
/// Memory the estimate charges the oracle per event (measured roughly).
const BYTES_PER_EVENT: u64 = 80;
/// Memory the estimate charges per anti-entropy reply in flight (measured roughly: 8 KiB
/// each at 100 replicas, 16 KiB at 1000).
const BYTES_PER_REPLY: u64 = 7 << 10;
/// And per replica named in its table.
const BYTES_PER_REPLY_PER_REPLICA: u64 = 9;
/// The process itself.
const BASE_BYTES: u64 = 16 << 20;

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Writes issued so far, of the total.
    Writing {
        /// Done.
        done: u64,
        /// Total.
        total: u64,
    },
    /// Delivering what is still in flight after the heal.
    Draining {
        /// The tick now.
        tick: u32,
        /// The tick the last message in flight is due.
        until: u32,
    },
    /// An anti-entropy round after the heal.
    Healing {
        /// Round number (from 1).
        round: u32,
        /// The most rounds the run allows.
        max: u32,
        /// Replicas whose digest differs from replica 0's after the previous round.
        differing: usize,
    },
    /// The oracle is checking.
    Checking,
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
