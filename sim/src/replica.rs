//! What a replica does: its state, one sync state machine
//! ([`pluriverse_replica::sync::Peer`]) per peer, and how it joins what those hand it.
//! Bytes in, bytes out; nothing here knows of the network, the fault schedule or the
//! oracle (the harness in [`crate::harness`] does). The wire format is the library's
//! ([`pluriverse_replica::sync::message`]): the simulator has no protocol of its own.

use std::time::{Duration, Instant};

use arrow_array::{Int64Array, UInt64Array};
use pluriverse::{Order, ReplicaId};
use pluriverse_any::{AnyError, AnyState, StateType};
use pluriverse_replica::sync::{self, Peer};

use crate::Op;

/// How a replica merges the deltas its peers hand it. Everything but [`Merge::Correct`] is
/// a deliberately broken merge that the oracle must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Merge {
    /// The engine's join.
    Correct,
    /// Broken: keep whichever clock dominates: a received delta whose version vector
    /// dominates the state's replaces it; any other delta is dropped (concurrent writes
    /// are lost).
    DominatingClock,
    /// Broken: join only a delta's live entries, dropping the rest of its context: what
    /// it says was removed or overwritten (pure removals and the dead part of every
    /// slice) never arrives.
    DropRemoveContext,
    /// Broken: replace the state with whatever delta arrives.
    Overwrite,
    /// Broken: a replica that lost its state, or came back from an old copy, keeps its old
    /// name and reuses counters it already issued (the harness keeps the name; the merge is
    /// the engine's).
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

/// Joins done and time spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinStats {
    /// Deltas of local writes pushed by peers, joined.
    pub deltas: u64,
    /// Time spent on them (decode + join).
    pub delta_time: Duration,
    /// Anti-entropy slices (offers) joined.
    pub replies: u64,
    /// Time spent on them.
    pub reply_time: Duration,
    /// Messages refused (bad bytes, or a join the engine refused; the state is unchanged).
    pub refused: u64,
}

impl JoinStats {
    /// Adds `other` to these.
    pub fn add(&mut self, other: &JoinStats) {
        self.deltas += other.deltas;
        self.delta_time += other.delta_time;
        self.replies += other.replies;
        self.reply_time += other.reply_time;
        self.refused += other.refused;
    }
}

/// A message [`Replica::handle`] refused.
#[derive(Debug)]
pub struct Refused {
    /// The delta the protocol handed over, when it was the join that refused it.
    pub delta: Option<AnyState>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// One replica: a state under a name, a [`Peer`] per other replica, and a [`Merge`].
///
/// # Example
/// ```
/// use std::time::Duration;
/// use pluriverse_any::Kind;
/// use pluriverse_sim::replica::{Merge, Replica};
/// use pluriverse_sim::{state_type, Op};
/// let ty = state_type(Kind::MVMap);
/// let cfg = pluriverse_replica::sync::Config::default();
/// let mut a = Replica::new(ty, "a".into(), Merge::Correct, 0, 2, cfg).unwrap();
/// let mut b = Replica::new(ty, "b".into(), Merge::Correct, 1, 2, cfg).unwrap();
/// a.write(Op::Set, &[1, 2], &[10, 20], &[]).unwrap();
/// let now = Duration::ZERO;
/// for _ in 0..4 {
///     while let Some(m) = a.poll_transmit(1, now) {
///         b.handle(0, now, &m).unwrap();
///     }
///     while let Some(m) = b.poll_transmit(0, now) {
///         a.handle(1, now, &m).unwrap();
///     }
/// }
/// assert_eq!(a.digest(), b.digest());
/// ```
pub struct Replica {
    state: AnyState,
    merge: Merge,
    digest: Option<u128>,
    stats: JoinStats,
    /// `peers[j]`: the sync state machine towards replica `j` (`None` for itself).
    peers: Vec<Option<Peer>>,
}

impl Replica {
    /// An empty replica named `name`, number `me` of `n`, syncing with every other one.
    ///
    /// # Errors
    /// The protocol's, when `cfg` does not fit the state type.
    pub fn new(
        ty: StateType,
        name: ReplicaId,
        merge: Merge,
        me: usize,
        n: usize,
        cfg: sync::Config,
    ) -> pluriverse_replica::Result<Self> {
        Self::from_state(AnyState::new(ty, name), merge, me, n, cfg)
    }

    /// A replica holding `state` (a copy of a state taken earlier, say), written as the
    /// name the state carries, with fresh sync state machines.
    ///
    /// # Errors
    /// As [`Replica::new`].
    pub fn from_state(
        state: AnyState,
        merge: Merge,
        me: usize,
        n: usize,
        cfg: sync::Config,
    ) -> pluriverse_replica::Result<Self> {
        let ty = state.state_type();
        let peers = (0..n)
            .map(|j| (j != me).then(|| Peer::new(ty, cfg)).transpose())
            .collect::<pluriverse_replica::Result<_>>()?;
        Ok(Self {
            state,
            merge,
            digest: None,
            stats: JoinStats::default(),
            peers,
        })
    }

    /// The replica's state.
    pub fn state(&self) -> &AnyState {
        &self.state
    }

    /// What it joined so far.
    pub fn stats(&self) -> JoinStats {
        self.stats
    }

    /// What its sync state machines did so far, summed.
    pub fn sync_stats(&self) -> sync::Stats {
        let mut s = sync::Stats::default();
        for p in self.peers.iter().flatten() {
            add_sync_stats(&mut s, p.stats());
        }
        s
    }

    /// The digest of its state (cached until the state changes).
    pub fn digest(&mut self) -> u128 {
        *self.digest.get_or_insert_with(|| self.state.digest())
    }

    /// Whether no sync state machine has anything queued.
    pub fn is_idle(&self) -> bool {
        self.peers.iter().flatten().all(Peer::is_idle)
    }

    /// Starts an anti-entropy round with `peer` at its next [`Replica::poll_transmit`].
    pub fn start_round(&mut self, peer: usize) {
        if let Some(p) = self.peers.get_mut(peer).and_then(Option::as_mut) {
            p.start_round();
        }
    }

    /// The next message for `peer`, if any.
    pub fn poll_transmit(&mut self, peer: usize, now: Duration) -> Option<Vec<u8>> {
        let p = self.peers.get_mut(peer)?.as_mut()?;
        p.poll_transmit(now, &self.state)
    }

    /// Writes one batch of distinct `keys`, pushes its delta to every peer and returns it.
    /// `values` are the values (`Set`, `LSet`) or amounts (`Inc`, `Dec`); `ts` the
    /// timestamps (`LSet`, `LRemove`).
    ///
    /// # Errors
    /// The engine's, when the write does not fit the kind or a counter overflows.
    pub fn write(
        &mut self,
        op: Op,
        keys: &[u64],
        values: &[i64],
        ts: &[u64],
    ) -> Result<AnyState, AnyError> {
        let k = UInt64Array::from(keys.to_vec());
        let v = || Int64Array::from(values.to_vec());
        let u = || UInt64Array::from(values.iter().map(|&x| x as u64).collect::<Vec<_>>());
        let t = || UInt64Array::from(ts.to_vec());
        let s = &mut self.state;
        let delta = match op {
            Op::Set => s.set_many(&k, &v()),
            Op::Remove => s.remove_many(&k),
            Op::Add => s.add_many(&k),
            Op::Inc => s.increment_many(&k, &u()),
            Op::Dec => s.decrement_many(&k, &u()),
            Op::LSet => s.set_many_at(&k, &v(), &t()),
            Op::LRemove => s.remove_many_at(&k, &t()),
        }?;
        self.digest = None;
        for p in self.peers.iter_mut().flatten() {
            p.push(&delta);
        }
        Ok(delta)
    }

    /// Handles one message from `peer`: the protocol decodes it and may queue replies;
    /// a delta it carries is joined the way this replica's [`Merge`] does, and returned
    /// (for the oracle to credit). Bad bytes are refused and leave the state unchanged.
    ///
    /// # Errors
    /// [`Refused`]: why the message or its delta was refused, and the delta when it was
    /// the join that refused it.
    pub fn handle(
        &mut self,
        peer: usize,
        now: Duration,
        bytes: &[u8],
    ) -> Result<Option<AnyState>, Refused> {
        let Some(p) = self.peers.get_mut(peer).and_then(Option::as_mut) else {
            return Err(Refused {
                delta: None,
                reason: format!("no peer {peer}"),
            });
        };
        let offer = message_type(bytes) == Some(MessageType::Offer);
        let t = Instant::now();
        let d = match p.handle(now, bytes) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.stats.refused += 1;
                return Err(Refused {
                    delta: None,
                    reason: e.to_string(),
                });
            }
        };
        let r = self.join(&d);
        if offer {
            self.stats.replies += 1;
            self.stats.reply_time += t.elapsed();
        } else {
            self.stats.deltas += 1;
            self.stats.delta_time += t.elapsed();
        }
        match r {
            Ok(()) => Ok(Some(d)),
            Err(reason) => Err(Refused {
                delta: Some(d),
                reason,
            }),
        }
    }

    /// Joins a delta the way this replica's [`Merge`] does.
    fn join(&mut self, d: &AnyState) -> Result<(), String> {
        let s = &mut self.state;
        let r = match self.merge {
            Merge::Correct | Merge::NoEpoch => s.join(d),
            Merge::DropRemoveContext => {
                // keep the delta's live entries, each with its own dot, and drop the rest
                // of its context: what was removed or overwritten
                let mut kept = AnyState::new(d.state_type(), d.replica().clone());
                let mut r = Ok(());
                for (_, name, c) in crate::oracle::entry_dots(d) {
                    r = r.and(kept.join(&d.slice(&name, c, c)));
                }
                r.and(s.join(&kept))
            }
            Merge::DominatingClock => {
                if d.version_vector().compare(&s.version_vector()) == Order::After {
                    *s = d.with_replica(s.replica().clone());
                }
                Ok(())
            }
            Merge::Overwrite => {
                *s = d.with_replica(s.replica().clone());
                Ok(())
            }
        };
        self.digest = None;
        r.map_err(|e| {
            self.stats.refused += 1;
            e.to_string()
        })
    }
}

/// The sync messages, by what they do ([`pluriverse_replica::sync::message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Range summaries, name-range fingerprints or dot lists (anti-entropy: what a range
    /// holds, not its content).
    Summary,
    /// A data message naming the ranges whose slices it carries (anti-entropy: slices that
    /// answer a summary, or a stream of what the peer lacks).
    Offer,
    /// A data message naming no range: pushed local writes, or the answer to an offer.
    Plain,
}

/// The type of a sync message, read from its header (`PLS`, version, type, and for data
/// the state type and the count of ranges); `None` for bytes that are not one.
pub fn message_type(bytes: &[u8]) -> Option<MessageType> {
    match bytes.get(..9)? {
        [b'P', b'L', b'S', _, 1 | 3 | 5, ..] => Some(MessageType::Summary),
        [b'P', b'L', b'S', _, 2, _, _, _, 0] => Some(MessageType::Plain),
        // compressed data messages always name their ranges
        [b'P', b'L', b'S', _, 2 | 4 | 6, ..] => Some(MessageType::Offer),
        _ => None,
    }
}

/// Adds `b` to `a`, field by field.
pub fn add_sync_stats(a: &mut sync::Stats, b: &sync::Stats) {
    a.messages_out += b.messages_out;
    a.bytes_out += b.bytes_out;
    a.messages_in += b.messages_in;
    a.bytes_in += b.bytes_in;
    a.rounds += b.rounds;
    a.slices_out += b.slices_out;
    a.deltas_in += b.deltas_in;
    a.bad_messages += b.bad_messages;
    a.throttled += b.throttled;
    a.dropped_work += b.dropped_work;
    a.oversized += b.oversized;
}
