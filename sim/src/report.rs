//! What a run did and whether it passed, as named fields; every struct serializes (the
//! command's `--json` is this, as it is).

use std::time::Duration;

use pluriverse_any::Kind;
use serde::{Serialize, Serializer};

use crate::net::NetStats;
use crate::oracle::Check;
use crate::timeline::Timeline;
use crate::Config;

/// What a run did and whether it passed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The settings.
    pub config: Config,
    /// The writes issued.
    pub writes: Writes,
    /// The joins performed and their cost.
    pub merges: Merges,
    /// What the network did.
    pub net: NetStats,
    /// What the sync protocol did.
    pub protocol: Protocol,
    /// The faults that actually happened (a schedule may end before some are due).
    pub faults: Faults,
    /// How the heal went.
    pub convergence: Convergence,
    /// Replica 0's final state.
    pub final_state: FinalState,
    /// The oracle's verdict.
    pub check: Check,
    /// The run over time, when it was recorded ([`crate::harness::run_with_timeline`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// Wall time of the run.
    #[serde(rename = "wall_seconds", serialize_with = "seconds")]
    pub wall: Duration,
}

impl Report {
    /// Converged, and the oracle agrees.
    pub fn passed(&self) -> bool {
        self.convergence.converged && self.check.failures.is_empty()
    }
}

/// The writes issued.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Writes {
    /// Records written (events of the oracle).
    pub events: u64,
    /// Write batches, each one delta.
    pub batches: u64,
    /// Ticks of the write phase.
    pub ticks: u32,
}

/// Joins of one sort: how many, what they carried, how long they took.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Joins {
    /// Messages decoded and joined.
    pub count: u64,
    /// Live entries they carried.
    pub records: u64,
    /// Time spent decoding and joining.
    #[serde(rename = "seconds", serialize_with = "seconds")]
    pub time: Duration,
}

/// The joins performed.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Merges {
    /// Gossiped write deltas.
    pub deltas: Joins,
    /// Anti-entropy slices (data messages naming their ranges).
    pub anti_entropy: Joins,
    /// Messages refused (never happens with the correct merge: every message is valid).
    pub refused: u64,
}

impl Merges {
    /// Joins of both sorts.
    pub fn count(&self) -> u64 {
        self.deltas.count + self.anti_entropy.count
    }

    /// Time spent joining, both sorts.
    pub fn time(&self) -> Duration {
        self.deltas.time + self.anti_entropy.time
    }
}

/// The faults that actually happened.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Faults {
    /// Partitions the schedule drew.
    pub partitions_scheduled: u32,
    /// Of those, partitions that began before the writes ended.
    pub partitions_in_effect: u32,
    /// Messages a partition dropped.
    pub blocked_by_partition: u64,
    /// Restarts the schedule drew.
    pub restarts_scheduled: u32,
    /// Replicas that went down (restarts that began before the writes ended).
    pub restarts: u32,
    /// Of those, replicas that came back empty under a new epoch.
    pub restarts_state_lost: u32,
    /// Of those, replicas that came back from an old copy under a fresh incarnation.
    pub restarts_old_copy: u32,
    /// Message copies that arrived at a replica that was down.
    pub blocked_down: u64,
}

/// What the sync protocol ([`pluriverse_replica::sync`]) did, summed over every replica's
/// state machines (including those of earlier incarnations).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Protocol {
    /// The message bound the run used.
    pub max_message: u64,
    /// Messages sent.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The largest message sent, in bytes (at most `max_message`).
    pub largest_message: u64,
    /// Summary messages (anti-entropy: range summaries), and their bytes.
    pub summaries: u64,
    /// Bytes of summary messages.
    pub summary_bytes: u64,
    /// Data messages naming their ranges (anti-entropy: slices answering a summary, and
    /// streams of what the peer lacks).
    pub offers: u64,
    /// Bytes of those.
    pub offer_bytes: u64,
    /// Data messages naming no range (pushed local writes, and answers to offers).
    pub plain: u64,
    /// Bytes of those.
    pub plain_bytes: u64,
    /// Anti-entropy rounds started (every pair's own).
    pub rounds: u64,
    /// Slices and pushed deltas sent (several may share one data message).
    pub slices: u64,
    /// Deltas the state machines handed back to be joined.
    pub deltas_handed: u64,
    /// Messages the state machines refused (never, between honest peers).
    pub bad_messages: u64,
    /// Messages dropped by a receiver's inbound bound.
    pub throttled: u64,
    /// Work dropped because a state machine's queue was full.
    pub dropped_work: u64,
    /// Slices that did not fit the bound even alone.
    pub oversized: u64,
    /// Ticks the heal's rounds took, in all.
    pub heal_ticks: u64,
    /// Heal rounds cut off because the protocol did not go quiet.
    pub rounds_cut: u64,
}

/// How the heal went.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Convergence {
    /// Whether all replicas ended byte-identical with equal digests.
    pub converged: bool,
    /// Anti-entropy rounds after the heal until every replica held identical bytes.
    pub rounds: Option<u32>,
    /// The most rounds the run allowed.
    pub max_rounds: u32,
}

/// Replica 0's final state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FinalState {
    /// Keys (elements) present.
    pub keys: u64,
    /// Entries (dots) held.
    pub entries: u64,
    /// Whether the context is a plain version vector.
    pub context_compact: bool,
    /// The digest, as 32 hex digits.
    pub digest: String,
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

pub(crate) fn kind_name<S: Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.name())
}
