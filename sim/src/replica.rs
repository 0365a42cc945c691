//! What a replica does with a message: decode it once at the edge, join it or answer it,
//! and return the messages to send back. Nothing here knows of the network, the clock,
//! the fault schedule or the oracle; the harness in [`crate::harness`] does.
//!
//! The wire format is one tag byte followed by the payload:
//!
//! | tag | message | payload |
//! |---|---|---|
//! | `1` | [`Message::Delta`] | a delta of local writes (a state, Arrow IPC stream) |
//! | `2` | [`Message::AeRequest`] | the 16-byte little-endian digest of the sender's state, then its causal context |
//! | `3` | [`Message::AeReply`] | `delta_since` of the requester's context (a state, Arrow IPC stream) |

use std::fmt;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, UInt64Array};
use pluriverse::{CausalContext, Order, ReplicaId};
use pluriverse_any::{AnyError, AnyState, StateType};

use crate::Op;

const TAG_DELTA: u8 = 1;
const TAG_AE_REQUEST: u8 = 2;
const TAG_AE_REPLY: u8 = 3;

/// A message between replicas, decoded (it borrows the bytes it came in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Gossip: the delta of a batch of local writes.
    Delta(&'a [u8]),
    /// Anti-entropy, step 1: "here is what I have seen".
    AeRequest {
        /// The digest of the sender's state (equal digests: nothing to send).
        digest: u128,
        /// The sender's causal context, encoded.
        context: &'a [u8],
    },
    /// Anti-entropy, step 2: what the requester lacks.
    AeReply(&'a [u8]),
}

/// Bytes that are not a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// No bytes at all.
    Empty,
    /// An unknown tag byte.
    Tag(u8),
    /// An anti-entropy request shorter than its digest.
    Short,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty message"),
            Self::Tag(t) => write!(f, "unknown message tag {t}"),
            Self::Short => f.write_str("anti-entropy request shorter than its digest"),
        }
    }
}

impl std::error::Error for WireError {}

impl<'a> Message<'a> {
    /// Decodes a message (the payload is checked when it is used).
    ///
    /// # Errors
    /// [`WireError`] when the framing is wrong.
    ///
    /// # Example
    /// ```
    /// use pluriverse_sim::replica::Message;
    /// let bytes = Message::AeRequest { digest: 7, context: b"ctx" }.encode();
    /// assert_eq!(Message::decode(&bytes), Ok(Message::AeRequest { digest: 7, context: b"ctx" }));
    /// assert!(Message::decode(&[9]).is_err());
    /// ```
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (&tag, rest) = bytes.split_first().ok_or(WireError::Empty)?;
        match tag {
            TAG_DELTA => Ok(Self::Delta(rest)),
            TAG_AE_REPLY => Ok(Self::AeReply(rest)),
            TAG_AE_REQUEST => {
                let (digest, context) = rest.split_at_checked(16).ok_or(WireError::Short)?;
                let mut d = [0u8; 16];
                d.copy_from_slice(digest);
                Ok(Self::AeRequest {
                    digest: u128::from_le_bytes(d),
                    context,
                })
            }
            t => Err(WireError::Tag(t)),
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Self::Delta(b) => [&[TAG_DELTA][..], b].concat(),
            Self::AeReply(b) => [&[TAG_AE_REPLY][..], b].concat(),
            Self::AeRequest { digest, context } => {
                [&[TAG_AE_REQUEST][..], &digest.to_le_bytes(), context].concat()
            }
        }
    }
}

/// How a replica merges what it receives. Everything but [`Merge::Correct`] is a
/// deliberately broken merge that the oracle must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
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
    /// counters it already issued (the harness keeps the name; the merge is the engine's).
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

/// Joins done and time spent, by what was joined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinStats {
    /// Gossiped deltas decoded and joined.
    pub deltas: u64,
    /// Time spent on them.
    pub delta_time: Duration,
    /// Anti-entropy replies decoded and joined.
    pub replies: u64,
    /// Time spent on them.
    pub reply_time: Duration,
    /// Messages refused (bad framing or bad bytes; the state is unchanged).
    pub refused: u64,
}

/// One replica: a state under a name, and what it does with messages.
///
/// # Example
/// ```
/// use pluriverse_any::Kind;
/// use pluriverse_sim::replica::{Merge, Replica};
/// use pluriverse_sim::{state_type, Op};
/// let ty = state_type(Kind::MVMap);
/// let mut a = Replica::new(ty, "a".into(), Merge::Correct);
/// let mut b = Replica::new(ty, "b".into(), Merge::Correct);
/// let gossip = a.write(Op::Set, &[1, 2], &[10, 20], &[]).unwrap();
/// assert!(b.handle(&gossip).unwrap().is_empty()); // a delta needs no answer
/// // anti-entropy: b asks a, a answers with what b lacks (nothing now)
/// let request = b.ae_request();
/// assert!(a.handle(&request).unwrap().is_empty());
/// assert_eq!(a.digest(), b.digest());
/// ```
pub struct Replica {
    state: AnyState,
    merge: Merge,
    digest: Option<u128>,
    stats: JoinStats,
}

impl Replica {
    /// An empty replica named `name`.
    pub fn new(ty: StateType, name: ReplicaId, merge: Merge) -> Self {
        Self {
            state: AnyState::new(ty, name),
            merge,
            digest: None,
            stats: JoinStats::default(),
        }
    }

    /// The replica's state.
    pub fn state(&self) -> &AnyState {
        &self.state
    }

    /// What it joined so far.
    pub fn stats(&self) -> JoinStats {
        self.stats
    }

    /// The digest of its state (cached until the state changes).
    pub fn digest(&mut self) -> u128 {
        *self.digest.get_or_insert_with(|| self.state.digest())
    }

    /// The anti-entropy request this replica sends a peer.
    pub fn ae_request(&mut self) -> Vec<u8> {
        let context = self.state.context().to_bytes();
        Message::AeRequest {
            digest: self.digest(),
            context: &context,
        }
        .encode()
    }

    /// Writes one batch of distinct `keys` and returns the gossip message carrying its
    /// delta. `values` are the values (`Set`, `LSet`) or amounts (`Inc`, `Dec`); `ts` the
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
    ) -> Result<Vec<u8>, AnyError> {
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
        Ok(Message::Delta(&delta.to_bytes()?).encode())
    }

    /// Handles one message from a peer and returns the messages to send back to it.
    /// Bad bytes are refused and leave the state unchanged.
    ///
    /// # Errors
    /// A description of why the message was refused.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let msg = Message::decode(bytes).map_err(|e| {
            self.stats.refused += 1;
            e.to_string()
        })?;
        match msg {
            Message::Delta(b) => {
                let t = Instant::now();
                let r = self.join(b);
                self.stats.deltas += 1;
                self.stats.delta_time += t.elapsed();
                r.map(|()| vec![])
            }
            Message::AeReply(b) => {
                let t = Instant::now();
                let r = self.join(b);
                self.stats.replies += 1;
                self.stats.reply_time += t.elapsed();
                r.map(|()| vec![])
            }
            Message::AeRequest { digest, context } => {
                if self.digest() == digest {
                    return Ok(vec![]); // in sync: nothing to send
                }
                let ctx = CausalContext::from_bytes(context).map_err(|e| {
                    self.stats.refused += 1;
                    e.to_string()
                })?;
                let delta = self
                    .state
                    .delta_since(&ctx)
                    .to_bytes()
                    .map_err(|e| e.to_string())?;
                Ok(vec![Message::AeReply(&delta).encode()])
            }
        }
    }

    /// Joins a state or delta the way this replica's [`Merge`] does.
    fn join(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s = &mut self.state;
        let r = match self.merge {
            Merge::Correct | Merge::NoEpoch => s.join_bytes(bytes),
            Merge::DropRemoveContext => AnyState::from_bytes(bytes, "x").and_then(|d| {
                if d.entry_count() > 0 {
                    s.join(&d)
                } else {
                    Ok(())
                }
            }),
            Merge::DominatingClock => AnyState::from_bytes(bytes, s.replica().clone()).map(|d| {
                if d.version_vector().compare(&s.version_vector()) == Order::After {
                    *s = d;
                }
            }),
            Merge::Overwrite => AnyState::from_bytes(bytes, s.replica().clone()).map(|d| *s = d),
        };
        self.digest = None;
        r.map_err(|e| {
            self.stats.refused += 1;
            e.to_string()
        })
    }
}
