//! [`Peer`]: the per-peer sync state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use pluriverse::store::{DotState, RangeSummary};
use pluriverse::wire::Limits;
use pluriverse::ReplicaId;
use pluriverse_any::{AnyBatch, AnyState, StateType};

use super::message::{self, Cover, DotsItem, Item, Message, NameRange};
use crate::error::{ReplicaError, Result};

/// How a [`Peer`] bounds what it sends and accepts.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The largest message sent or accepted, in bytes (default 64 KiB; 1,200 fits a
    /// datagram).
    pub max_message: usize,
    /// Time between anti-entropy rounds (default 1 s).
    pub round_interval: Duration,
    /// Bytes accepted per round interval; messages beyond are dropped (default 256 MiB).
    pub max_inbound: usize,
    /// Most pieces of work queued for the peer; work beyond is dropped and found again by
    /// a later round (default 4,096).
    pub max_queue: usize,
    /// Bounds on the deltas a message may carry.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_message: 64 << 10,
            round_interval: Duration::from_secs(1),
            max_inbound: 256 << 20,
            max_queue: 4096,
            limits: Limits::default(),
        }
    }
}

/// What a [`Peer`] has done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages returned by [`Peer::poll_transmit`].
    pub messages_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Messages given to [`Peer::handle`].
    pub messages_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Anti-entropy rounds started.
    pub rounds: u64,
    /// Slices and batches of pushed deltas sent (several may share one data message; the
    /// small deltas pushed between two polls form one batch).
    pub slices_out: u64,
    /// Deltas handed back to the caller to join.
    pub deltas_in: u64,
    /// Messages refused as malformed, of another type, or over a bound.
    pub bad_messages: u64,
    /// Messages dropped because the round's inbound budget was spent.
    pub throttled: u64,
    /// Pieces of work dropped because the queue was full (a later round redoes them).
    pub dropped_work: u64,
    /// Slices that did not fit in a message even alone (a single entry over the bound),
    /// and messages over the bound that were therefore not sent.
    pub oversized: u64,
    /// Replicas left out of a round because their names are longer than the bound lets
    /// every message carry (see [`Peer::new`]); counted again every round.
    pub long_names: u64,
}

#[derive(Debug)]
enum Work {
    /// Send our top-level summaries.
    Round,
    /// The peer's summary of a range: compare with ours.
    Compare(Item),
    /// Every replica of ours in the cover that the peer did not list: it has nothing of it.
    Cover {
        cover: Cover,
        listed: Vec<ReplicaId>,
    },
    /// The peer has nothing of this range: send all of ours, part by part.
    Stream {
        replica: ReplicaId,
        lo: u64,
        hi: u64,
    },
    /// We joined the peer's slice of this range: if ours still differs, send ours (once per
    /// range and round, and as an answer: without its range, so it is not answered).
    Answer(Item),
    /// The peer's dots of a range: ship the counters we know more of and, unless it is a
    /// request, list ours of the counters it knows more of.
    Dots { request: bool, item: DotsItem },
    /// The peer's fingerprints of consecutive name intervals (arrived at `at`): compare
    /// each with ours over the same interval.
    Names {
        at: Duration,
        after: Option<ReplicaId>,
        items: Vec<NameRange>,
    },
    /// A local delta to push.
    Push(AnyState),
}

/// A stream of ours that may still be in flight to the peer ([`Peer::in_flight`]).
#[derive(Debug)]
struct InFlight {
    /// The range streamed.
    lo: u64,
    hi: u64,
    /// Our seen dots over it when it was queued.
    goal: u64,
    /// The most the peer's summaries have shown of it since.
    peer_seen: u64,
    /// Our round ([`Stats::rounds`]) of its last part or the peer's last progress.
    round: u64,
}

/// Our replicas with something to sync (a non-empty whole-range summary), in name order,
/// with prefix sums of their [`message::name_hash`]es: the count and fingerprint of any
/// name interval in `O(log n)`.
struct NameTable {
    names: Vec<(ReplicaId, RangeSummary)>,
    prefix: Vec<u128>,
}

impl NameTable {
    /// Our replicas with something seen, in name order, but those whose names are longer
    /// than `max_name` (counted in `long`).
    fn new(state: &AnyState, max_name: usize, long: &mut u64) -> Self {
        let mut names: Vec<(ReplicaId, RangeSummary)> = state
            .replicas_seen()
            .into_iter()
            .filter(|n| {
                let fits = n.as_bytes().len() <= max_name;
                *long += u64::from(!fits);
                fits
            })
            .map(|n| {
                let s = state.range_summary(&n, 1, u64::MAX);
                (n, s)
            })
            .filter(|(_, s)| !s.is_empty())
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        names.dedup_by(|a, b| a.0 == b.0);
        let mut prefix = Vec::with_capacity(names.len() + 1);
        let mut sum = 0u128;
        prefix.push(sum);
        let mut buf = Vec::new();
        for (n, s) in &names {
            sum = sum.wrapping_add(message::name_hash_with(&mut buf, n, s));
            prefix.push(sum);
        }
        Self { names, prefix }
    }

    /// The indices `s..e` of the names in `(after, upto]`.
    fn span(&self, after: Option<&ReplicaId>, upto: Option<&ReplicaId>) -> (usize, usize) {
        let s = after.map_or(0, |a| self.names.partition_point(|(n, _)| n <= a));
        let e = upto.map_or(self.names.len(), |u| {
            self.names.partition_point(|(n, _)| n <= u)
        });
        (s, e.max(s))
    }

    /// The fingerprint of the names `s..e`.
    fn fingerprint(&self, s: usize, e: usize) -> u128 {
        self.prefix[e].wrapping_sub(self.prefix[s])
    }
}

/// The sync state machine for one peer: bytes in ([`Peer::handle`]), bytes out
/// ([`Peer::poll_transmit`]), time given by the caller, no I/O. See the
/// [module docs](super) for the protocol and an example.
#[derive(Debug)]
pub struct Peer {
    ty: StateType,
    cfg: Config,
    /// The longest replica name every message can carry at the bound.
    max_name: usize,
    queue: VecDeque<Work>,
    out: VecDeque<Vec<u8>>,
    next_round: Option<Duration>,
    round_queued: bool,
    window_start: Duration,
    window_bytes: usize,
    /// Units (entries or runs of seen dots) per slice; adapted to the message bound.
    budget: u64,
    /// Units per part of a stream (a catch-up's slices, which go compressed): adapted to
    /// fill a message with the compressed bytes measured.
    stream_budget: u64,
    /// The running ratio of a compressed data message's bytes to its uncompressed bytes
    /// (fixed header, items and payload), in 1/1024ths: the estimate that sizes joined
    /// answers.
    zratio: usize,
    /// Bytes of an empty delta of the type: the fixed cost of a payload.
    empty_len: usize,
    /// Bytes per entry of the payloads sent so far (an estimate for unencoded deltas).
    entry_bytes: usize,
    /// Slices (or pushed deltas) waiting to go out together in one data message.
    data: Vec<(Option<Item>, AnyState, usize)>,
    /// Their estimated bytes in the joined payload beyond its fixed part.
    data_share: usize,
    /// The compact encoding of `data`'s first delta when a slice put it there alone (a
    /// lone slice goes out in the bytes it was measured by, not encoded twice).
    data_first: Option<Vec<u8>>,
    /// The message that lone slice makes, when it was measured encoded (a compressed one):
    /// sent as it is when nothing joins it.
    data_first_msg: Option<Vec<u8>>,
    /// Small pushed deltas gathered as they come ([`Peer::push`]: their rows copied, sorted
    /// once when the batch goes out), those that could not be gathered joined, and their
    /// estimated bytes beyond a payload's fixed part.
    gathered: AnyBatch,
    pushed: Option<AnyState>,
    pushed_est: usize,
    /// Summary items waiting to go out together.
    summaries: Vec<Item>,
    /// Their message's encoded size.
    summaries_len: usize,
    /// Dot items waiting to go out together, whether they are requests, and their
    /// message's encoded size.
    dots: Vec<DotsItem>,
    dots_request: bool,
    dots_len: usize,
    stats: Stats,
    /// The peer's latest top-level summary of each replica it listed, and when the last
    /// message of them arrived ([`Peer::peer_summaries`]; at most `max_queue` names).
    theirs: BTreeMap<ReplicaId, RangeSummary>,
    theirs_at: Option<Duration>,
    /// The ranges answered since our round began (at most `max_queue`): a duplicated or
    /// late copy of a slice is not answered again.
    answered: BTreeSet<(ReplicaId, u64, u64)>,
    /// Our streams that may still be in flight, by replica (at most `max_queue`).
    streams: BTreeMap<ReplicaId, InFlight>,
}

/// Ranges of at most this many units (entries or runs of seen dots) are answered with a
/// slice rather than split further.
const LEAF: u64 = 8;

/// Parts a differing range is split into.
const FANOUT: u64 = 8;

/// Rounds of ours after a stream's last part (or the peer's last progress on it) during
/// which it is taken as in flight: not streamed again, not compared.
const RESEND_ROUNDS: u64 = 2;

/// A round lists its replicas (summaries with a cover) when it knows at most this many;
/// beyond, it sends one fingerprint of them all (a names message).
const ROUND_LIST: usize = 8;

/// A differing name interval where we hold at most this many replicas is answered with
/// their summaries (listed, with the interval as the cover); beyond, it is split.
const NAMES_LIST: usize = 16;

/// Parts a differing name interval is split into.
const NAMES_FANOUT: usize = 16;

/// The most runs a listed dot item holds, whatever the message bound.
const MAX_DOT_RUNS: usize = 1024;

/// The name every delta decoded from a message is given (it is only joined, never written).
const RECEIVED: &str = "pluriverse-sync";

impl Peer {
    /// A state machine syncing states of type `ty`.
    ///
    /// Replicas whose names are longer than three fit in one message at the bound (a
    /// listing's two bounds and an item; at most [`message::MAX_NAME`]) are left out of
    /// its rounds and counted in [`Stats::long_names`]: a replica created in a directory
    /// has a name of at most [`MAX_INCARNATION`](crate::identity::MAX_INCARNATION) bytes,
    /// which every bound accepted here carries.
    ///
    /// # Errors
    /// [`ReplicaError::Config`] when `max_message` cannot hold an empty delta of `ty` in a
    /// data message, or a listing of replicas with names of
    /// [`MAX_INCARNATION`](crate::identity::MAX_INCARNATION) bytes.
    pub fn new(ty: StateType, cfg: Config) -> Result<Self> {
        let empty = AnyState::new(ty, RECEIVED).to_compact();
        let need = (message::DATA_FIXED
            + message::item_max(&ReplicaId::from(vec![0u8; 64]))
            + empty.len()
            + 256)
            .max(
                message::SUMMARY_FIXED
                    + message::item_max(&ReplicaId::from(vec![0u8; message::MAX_NAME]))
                    + 16,
            );
        let need = need.max(message::listing_max(crate::identity::MAX_INCARNATION));
        if cfg.max_message < need {
            return Err(ReplicaError::Config(format!(
                "max_message {} is too small for {ty}: at least {need} bytes",
                cfg.max_message
            )));
        }
        Ok(Self {
            ty,
            cfg,
            max_name: message::longest_name(cfg.max_message),
            queue: VecDeque::new(),
            out: VecDeque::new(),
            next_round: None,
            round_queued: false,
            window_start: Duration::ZERO,
            window_bytes: 0,
            budget: (cfg.max_message / 64).max(1) as u64,
            stream_budget: (cfg.max_message / 64).max(1) as u64,
            zratio: 1024,
            empty_len: empty.len(),
            entry_bytes: 64,
            data: Vec::new(),
            data_share: 0,
            data_first: None,
            data_first_msg: None,
            gathered: AnyState::new(ty, RECEIVED).new_batch(),
            pushed: None,
            pushed_est: 0,
            summaries: Vec::new(),
            summaries_len: message::SUMMARY_FIXED,
            dots: Vec::new(),
            dots_request: false,
            dots_len: message::DOTS_FIXED,
            stats: Stats::default(),
            theirs: BTreeMap::new(),
            theirs_at: None,
            answered: BTreeSet::new(),
            streams: BTreeMap::new(),
        })
    }

    /// What it has done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What the peer last said it holds: its top-level summary (whole counter range) of
    /// each replica it listed in its summaries with a cover, and when the last of those
    /// arrived (`None` before any). A caller compares them with
    /// `state.range_summary(name, 1, u64::MAX)` to tell how far behind the peer is.
    pub fn peer_summaries(&self) -> (Option<Duration>, &BTreeMap<ReplicaId, RangeSummary>) {
        (self.theirs_at, &self.theirs)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Whether nothing is queued: no message waiting, no work pending.
    pub fn is_idle(&self) -> bool {
        self.out.is_empty()
            && self.queue.is_empty()
            && self.data.is_empty()
            && self.summaries.is_empty()
            && self.dots.is_empty()
            && self.pushed.is_none()
            && self.gathered.is_empty()
    }

    /// When the next round is due ([`Peer::poll_transmit`] starts it then); `None` before
    /// the first call.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.next_round
    }

    /// Starts an anti-entropy round at the next [`Peer::poll_transmit`] (after a reconnect,
    /// say), whatever the interval.
    /// What was streamed before is taken as lost (a new connection) and may be streamed
    /// again.
    pub fn start_round(&mut self) {
        self.next_round = None;
        self.streams.clear();
    }

    /// Queues a local write's delta for the peer. Small deltas go into the batch of pushed
    /// writes that goes out at the next [`Peer::poll_transmit`] (or when it reaches half
    /// the message bound), so a burst of one-record writes costs one payload, one message
    /// and one join at the receiver. A delta whose dots lie above those gathered (a
    /// writer's fresh writes, in order) costs a copy of its rows and dots, no join and no
    /// allocation; any other is joined into the batch.
    pub fn push(&mut self, delta: &AnyState) {
        let est = self.estimate(delta);
        if est + message::DATA_FIXED > self.cfg.max_message / 2 {
            self.enqueue(Work::Push(delta.clone()));
            return;
        }
        match self.gathered.add(delta) {
            Ok(true) => {}
            Ok(false) => {
                // it may remove gathered entries: the batch so far, then the delta, joined
                self.pushed = match self.take_pushed() {
                    Some(mut joined) => {
                        if joined.join(delta).is_err() {
                            // not reached: the batch took a delta of its type
                            self.enqueue(Work::Push(delta.clone()));
                        }
                        Some(joined)
                    }
                    None => Some(delta.clone()),
                };
            }
            Err(_) => {
                // another type: on its own (its receiver refuses it)
                self.enqueue(Work::Push(delta.clone()));
                return;
            }
        }
        self.pushed_est += est.saturating_sub(self.empty_len);
        if self.empty_len + self.pushed_est + message::DATA_FIXED > self.cfg.max_message / 2 {
            self.queue_pushed();
        }
    }

    /// The batch of pushed writes: the joined ones and the gathered ones, joined.
    fn take_pushed(&mut self) -> Option<AnyState> {
        let gathered = (!self.gathered.is_empty()).then(|| self.gathered.finish());
        match (self.pushed.take(), gathered) {
            (Some(mut joined), Some(g)) => {
                if joined.join(&g).is_err() {
                    // not reached: both are of the peer's type
                    self.enqueue(Work::Push(g));
                }
                Some(joined)
            }
            (joined, g) => joined.or(g),
        }
    }

    /// Moves the batch of pushed writes to the work queue.
    fn queue_pushed(&mut self) {
        self.pushed_est = 0;
        if let Some(batch) = self.take_pushed() {
            self.enqueue(Work::Push(batch));
        }
    }

    /// The encoded size of a delta, estimated from the bytes per entry of what went out
    /// before.
    fn estimate(&self, delta: &AnyState) -> usize {
        let replicas = delta
            .context()
            .dots()
            .replicas()
            .iter()
            .filter(|d| !d.is_empty())
            .count();
        self.empty_len + delta.entry_count() * self.entry_bytes + 64 * replicas
    }

    fn enqueue(&mut self, w: Work) {
        if self.queue.len() >= self.cfg.max_queue {
            self.stats.dropped_work += 1;
        } else {
            self.queue.push_back(w);
        }
    }

    /// Takes one message from the peer. Returns the delta it carries, if any, for the
    /// caller to join (into a [`Replica`](crate::Replica) with `apply`, or a bare state);
    /// replies are queued for [`Peer::poll_transmit`].
    ///
    /// # Errors
    /// [`ReplicaError::Message`] for a malformed message or one over the bound, and
    /// [`ReplicaError::State`] for a delta that does not decode or is of another type:
    /// the message is dropped and nothing else changes.
    pub fn handle(&mut self, now: Duration, bytes: &[u8]) -> Result<Option<AnyState>> {
        Ok(self.handle_compact(now, bytes)?.map(|(d, _)| d))
    }

    /// [`Peer::handle`], returning with the delta the compact bytes it was decoded from, for
    /// a log that keeps them as they came
    /// ([`Replica::apply_many_compact`](crate::Replica::apply_many_compact)).
    ///
    /// # Errors
    /// As [`Peer::handle`].
    pub fn handle_compact(
        &mut self,
        now: Duration,
        bytes: &[u8],
    ) -> Result<Option<(AnyState, Vec<u8>)>> {
        self.stats.messages_in += 1;
        self.stats.bytes_in += bytes.len() as u64;
        if now >= self.window_start + self.cfg.round_interval || now < self.window_start {
            self.window_start = now;
            self.window_bytes = 0;
        }
        if self.window_bytes + bytes.len() > self.cfg.max_inbound {
            self.stats.throttled += 1;
            return Ok(None);
        }
        self.window_bytes += bytes.len();
        let msg = match Message::decode(bytes, self.cfg.max_message) {
            Ok(m) => m,
            Err(e) => {
                self.stats.bad_messages += 1;
                return Err(e);
            }
        };
        match msg {
            Message::Summary { cover, items } => {
                if let Some(cover) = &cover {
                    self.theirs.retain(|n, _| !cover.contains(n));
                    for it in items.iter().filter(|i| i.lo == 1 && i.hi == u64::MAX) {
                        if self.theirs.len() < self.cfg.max_queue {
                            self.theirs.insert(it.replica.clone(), it.summary);
                        }
                    }
                    self.theirs_at = Some(now);
                }
                let listed: Vec<ReplicaId> = if cover.is_some() {
                    items.iter().map(|i| i.replica.clone()).collect()
                } else {
                    vec![]
                };
                for it in items {
                    self.enqueue(Work::Compare(it));
                }
                if let Some(cover) = cover {
                    self.enqueue(Work::Cover { cover, listed });
                }
                Ok(None)
            }
            Message::Data { ty, items, payload } => {
                if ty != self.ty {
                    self.stats.bad_messages += 1;
                    return Err(ReplicaError::State(
                        pluriverse_any::AnyError::TypeMismatch {
                            expected: self.ty,
                            found: ty,
                        },
                    ));
                }
                let d = self.decode(&payload)?;
                for it in items {
                    self.enqueue(Work::Answer(it));
                }
                Ok(Some((d, payload)))
            }
            Message::Dots { request, items } => {
                for item in items {
                    self.enqueue(Work::Dots { request, item });
                }
                Ok(None)
            }
            Message::Names { after, items } => {
                self.enqueue(Work::Names {
                    at: now,
                    after,
                    items,
                });
                Ok(None)
            }
        }
    }

    fn decode(&mut self, payload: &[u8]) -> Result<AnyState> {
        let d = AnyState::from_compact_with_limits(self.ty, payload, RECEIVED, &self.cfg.limits)
            .map_err(ReplicaError::State);
        match d {
            Ok(d) => {
                self.stats.deltas_in += 1;
                Ok(d)
            }
            Err(e) => {
                self.stats.bad_messages += 1;
                Err(e)
            }
        }
    }

    /// The next message to send to the peer, computed against `state` as it is now;
    /// `None` when there is nothing to send until the next round
    /// ([`Peer::poll_timeout`]) or the next message in. Call it whenever the transport can
    /// take a message: it is the sender's backpressure.
    pub fn poll_transmit(&mut self, now: Duration, state: &AnyState) -> Option<Vec<u8>> {
        self.queue_pushed();
        if self.next_round.is_none_or(|t| now >= t) && !self.round_queued {
            self.next_round = Some(now + self.cfg.round_interval);
            self.round_queued = true;
            self.queue.push_back(Work::Round);
        }
        loop {
            if let Some(m) = self.out.pop_front() {
                self.stats.messages_out += 1;
                self.stats.bytes_out += m.len() as u64;
                return Some(m);
            }
            match self.queue.pop_front() {
                Some(w) => self.run(w, state),
                None if self.data.is_empty()
                    && self.summaries.is_empty()
                    && self.dots.is_empty() =>
                {
                    return None
                }
                None => {
                    self.flush_data();
                    self.flush_summaries();
                    self.flush_dots();
                }
            }
        }
    }

    fn run(&mut self, w: Work, state: &AnyState) {
        match w {
            Work::Round => {
                self.round_queued = false;
                self.stats.rounds += 1;
                self.answered.clear();
                self.round(state);
            }
            Work::Compare(theirs) => {
                let seen = Some(theirs.summary.seen);
                if self.in_flight(&theirs.replica, theirs.lo, theirs.hi, seen) {
                    return;
                }
                let ours = state.range_summary(&theirs.replica, theirs.lo, theirs.hi);
                if ours == theirs.summary {
                } else if theirs.summary.is_empty() {
                    self.stream(state, theirs.replica, theirs.lo, theirs.hi);
                } else if ours.is_empty() {
                    self.send_summaries(vec![Item {
                        summary: ours,
                        ..theirs
                    }]);
                } else if !(self.beyond_leaf(state, &theirs.replica, theirs.lo, theirs.hi)
                    && self.list_dots(state, &theirs.replica, theirs.lo, theirs.hi))
                {
                    self.offer(
                        state,
                        theirs.replica,
                        theirs.lo,
                        theirs.hi,
                        ours,
                        Some(theirs.summary),
                    );
                }
            }
            Work::Answer(theirs) => {
                let seen = Some(theirs.summary.seen);
                if self.in_flight(&theirs.replica, theirs.lo, theirs.hi, seen) {
                    return;
                }
                let ours = state.range_summary(&theirs.replica, theirs.lo, theirs.hi);
                if ours == theirs.summary || ours.is_empty() {
                    return;
                }
                let range = (theirs.replica, theirs.lo, theirs.hi);
                if self.answered.contains(&range) {
                    return;
                }
                if self.answered.len() >= self.cfg.max_queue {
                    self.stats.dropped_work += 1;
                    return;
                }
                self.answered.insert(range.clone());
                let (replica, lo, hi) = range;
                self.offer(state, replica, lo, hi, ours, None);
            }
            Work::Cover { cover, listed } => {
                for name in state.replicas_seen() {
                    if name.as_bytes().len() <= self.max_name
                        && cover.contains(&name)
                        && !listed.contains(&name)
                    {
                        self.stream(state, name, 1, u64::MAX);
                    }
                }
            }
            Work::Stream { replica, lo, hi } => {
                let rounds = self.stats.rounds;
                if let Some(r) = self.streams.get_mut(&replica) {
                    r.round = rounds;
                }
                let end = self.send_part(state, &replica, lo, hi);
                if end < hi {
                    self.queue.push_front(Work::Stream {
                        replica,
                        lo: end + 1,
                        hi,
                    });
                }
            }
            Work::Dots { request, item } => self.compare_dots(state, request, item),
            Work::Names { at, after, items } => self.compare_names(state, at, after, items),
            Work::Push(delta) => self.push_now(delta),
        }
    }

    /// The most runs a dot item we list may hold: about what one message carries (a run
    /// takes 1 to 4 bytes for ranges below 2^26 counters; a list that comes out over the
    /// bound is not sent) and at most [`MAX_DOT_RUNS`], which bounds the work of listing.
    fn max_runs(&self) -> usize {
        (self
            .cfg
            .max_message
            .saturating_sub(message::DOTS_FIXED + 64)
            / 3)
        .clamp(8, MAX_DOT_RUNS)
    }

    /// Whether a range holds more than a leaf's units (a leaf is answered with its slice).
    fn beyond_leaf(&self, state: &AnyState, replica: &ReplicaId, lo: u64, hi: u64) -> bool {
        let (live, runs) = state.range_size(replica, lo, hi);
        live + runs > LEAF.min(self.budget) && lo < hi
    }

    /// Lists our dots of a range where both sides hold something and differ, if they are
    /// few enough runs (then the peer ships what we lack and asks for what it lacks, exactly,
    /// instead of recursing on fingerprints); returns whether it did.
    fn list_dots(&mut self, state: &AnyState, replica: &ReplicaId, lo: u64, hi: u64) -> bool {
        let Some(runs) = state.range_dots(replica, lo, hi, self.max_runs()) else {
            return false;
        };
        self.send_dots(
            false,
            DotsItem {
                replica: replica.clone(),
                lo,
                hi,
                runs,
            },
        )
    }

    /// Compares the peer's dots of a range with ours: ships the counters we know more of
    /// (a dot's states are ordered unseen < live < dead) and, unless `request`, sends our
    /// dots of the counters the peer knows more of as a request, which the peer answers
    /// with slices only. Where ours are too many runs to list (the peer's are short: it
    /// listed them), the rest of the range is split and its parts' summaries go back.
    fn compare_dots(&mut self, state: &AnyState, request: bool, theirs: DotsItem) {
        let seen = theirs
            .runs
            .iter()
            .filter(|r| r.2 != DotState::Unseen)
            .map(|r| r.1 - r.0 + 1)
            .fold(0u64, u64::saturating_add);
        if self.in_flight(&theirs.replica, theirs.lo, theirs.hi, Some(seen)) {
            return;
        }
        let replica = theirs.replica;
        let mut left = self.max_runs() * 4;
        // maximal ranges we ship, and our runs where the peer knows more
        let mut ship: Vec<(u64, u64)> = Vec::new();
        let mut ask: Vec<(u64, u64, DotState)> = Vec::new();
        for &(f, l, st) in &theirs.runs {
            let Some(ours) = state.range_dots(&replica, f, l, left) else {
                self.split(state, &replica, f, theirs.hi);
                break;
            };
            left -= ours.len();
            for (a, b, o) in ours {
                if o > st {
                    match ship.last_mut() {
                        Some((_, e)) if *e + 1 == a => *e = b,
                        _ => ship.push((a, b)),
                    }
                } else if o < st && !request {
                    match ask.last_mut() {
                        Some((_, e, x)) if *e + 1 == a && *x == o => *e = b,
                        _ => ask.push((a, b, o)),
                    }
                }
            }
        }
        for (a, b) in ship {
            self.ship(state, &replica, a, b);
        }
        // adjacent runs go as one item
        let mut item: Option<DotsItem> = None;
        for (a, b, o) in ask {
            if let Some(it) = item.as_mut().filter(|it| it.hi + 1 == a) {
                it.hi = b;
                it.runs.push((a, b, o));
                continue;
            }
            if let Some(it) = item.take() {
                self.send_dots(true, it);
            }
            item = Some(DotsItem {
                replica: replica.clone(),
                lo: a,
                hi: b,
                runs: vec![(a, b, o)],
            });
        }
        if let Some(it) = item {
            self.send_dots(true, it);
        }
    }

    /// Sends our slice of `lo..=hi` unanswered when it fits one message, else streams it.
    fn ship(&mut self, state: &AnyState, replica: &ReplicaId, lo: u64, hi: u64) {
        let (live, runs) = state.range_size(replica, lo, hi);
        if live + runs <= self.budget.max(LEAF) {
            let slice = state.slice(replica, lo, hi);
            let len = slice.to_compact().len();
            if message::DATA_FIXED + len <= self.cfg.max_message {
                self.stats.slices_out += 1;
                self.add_data(None, slice, len);
                return;
            }
        }
        self.stream(state, replica.clone(), lo, hi);
    }

    /// Queues a dot item for the next dots message of its kind; returns whether it could
    /// be sent (a dot item over the bound alone cannot).
    fn send_dots(&mut self, request: bool, it: DotsItem) -> bool {
        let Some(alone) = message::dots_item_len(&it, None) else {
            return false;
        };
        if message::DOTS_FIXED + alone > self.cfg.max_message {
            return false;
        }
        if request != self.dots_request {
            self.flush_dots();
            self.dots_request = request;
        }
        let len = message::dots_item_len(&it, self.dots.last()).unwrap_or(alone);
        if self.dots_len + len > self.cfg.max_message {
            self.flush_dots();
            self.dots_len = message::DOTS_FIXED + alone;
        } else {
            self.dots_len += len;
        }
        self.dots.push(it);
        true
    }

    fn flush_dots(&mut self) {
        self.dots_len = message::DOTS_FIXED;
        if !self.dots.is_empty() {
            let items = std::mem::take(&mut self.dots);
            let request = self.dots_request;
            self.emit(Message::Dots { request, items });
        }
    }

    /// Queues a stream of a range unless one of the same replica is already queued or may
    /// still be in flight ([`Peer::in_flight`]), and notes it as in flight.
    fn stream(&mut self, state: &AnyState, replica: ReplicaId, lo: u64, hi: u64) {
        if self.in_flight(&replica, lo, hi, None) {
            return;
        }
        let dup = self.queue.iter().any(|w| {
            matches!(w, Work::Stream { replica: r, lo: l, hi: h } if *r == replica && *l <= lo.max(*l) && *h >= hi)
        });
        if dup {
            return;
        }
        if self.queue.len() >= self.cfg.max_queue {
            self.stats.dropped_work += 1;
            return;
        }
        if self.streams.len() < self.cfg.max_queue || self.streams.contains_key(&replica) {
            let goal = state.range_summary(&replica, lo, hi).seen;
            self.streams.insert(
                replica.clone(),
                InFlight {
                    lo,
                    hi,
                    goal,
                    peer_seen: 0,
                    round: self.stats.rounds,
                },
            );
        }
        self.queue.push_back(Work::Stream { replica, lo, hi });
    }

    /// Whether a stream of ours overlapping `lo..=hi` of `replica` may still be in flight:
    /// its last part went out, or the peer last showed progress, less than
    /// [`RESEND_ROUNDS`] of our rounds ago, and the peer has not shown it all landed. Such
    /// a range is neither streamed again nor compared (what the peer's summaries lack of it
    /// is most likely on its way). `peer_seen` is the peer's count of seen dots over
    /// `lo..=hi` when known: where the range holds the stream's, more than last time is
    /// progress (the stream is landing: the wait starts again) and at least what we
    /// streamed is the end of it. What is lost is found by the rounds after the wait.
    fn in_flight(&mut self, replica: &ReplicaId, lo: u64, hi: u64, peer_seen: Option<u64>) -> bool {
        let rounds = self.stats.rounds;
        let Some(r) = self.streams.get_mut(replica) else {
            return false;
        };
        if r.hi < lo || hi < r.lo {
            return false;
        }
        if let Some(seen) = peer_seen.filter(|_| lo <= r.lo && r.hi <= hi) {
            if seen >= r.goal {
                self.streams.remove(replica);
                return false;
            }
            if seen > r.peer_seen {
                r.peer_seen = seen;
                r.round = rounds;
            }
        }
        if rounds >= r.round + RESEND_ROUNDS {
            self.streams.remove(replica);
            return false;
        }
        true
    }

    /// Our top-level summary: our replicas listed (summaries with a cover) when they are
    /// at most [`ROUND_LIST`], else one fingerprint of them all (a names message), whose
    /// differences the peer narrows down ([`Peer::compare_names`]).
    fn round(&mut self, state: &AnyState) {
        let table = NameTable::new(state, self.max_name, &mut self.stats.long_names);
        let n = table.names.len();
        if n <= ROUND_LIST {
            self.send_listing(None, None, &table.names);
        } else {
            self.emit(Message::Names {
                after: None,
                items: vec![NameRange {
                    upto: None,
                    count: n as u64,
                    fingerprint: table.fingerprint(0, n),
                }],
            });
        }
    }

    /// Lists `names` (in name order, all of ours in `(after, upto]`) with their whole-range
    /// summaries, in as many messages as the bound needs, each with the name interval it
    /// covers.
    fn send_listing(
        &mut self,
        mut after: Option<ReplicaId>,
        upto: Option<ReplicaId>,
        names: &[(ReplicaId, RangeSummary)],
    ) {
        let mut items: Vec<Item> = Vec::new();
        let mut used = 0;
        for (name, summary) in names {
            let item = Item {
                summary: *summary,
                replica: name.clone(),
                lo: 1,
                hi: u64::MAX,
            };
            let len = message::item_len(&item, items.last());
            // the cover's `upto` is this item's name if the message ends with it
            let last =
                message::bound_len(Some(&item.replica)).max(message::bound_len(upto.as_ref()));
            let total =
                message::SUMMARY_FIXED + message::bound_len(after.as_ref()) + last + used + len;
            if total > self.cfg.max_message && !items.is_empty() {
                let end = items.last().map(|i| i.replica.clone());
                let cover = Cover {
                    after: after.take(),
                    upto: end.clone(),
                };
                self.emit(Message::Summary {
                    cover: Some(cover),
                    items: std::mem::take(&mut items),
                });
                after = end;
                used = message::item_len(&item, None);
            } else {
                used += len;
            }
            items.push(item);
        }
        self.emit(Message::Summary {
            cover: Some(Cover { after, upto }),
            items,
        });
    }

    /// Compares the peer's fingerprints of name intervals with ours: an equal interval
    /// costs nothing more (and tells what the peer holds there: what we hold); one the peer
    /// holds nothing of is streamed; one where we hold at most [`NAMES_LIST`] replicas is
    /// listed; a larger one is split at our names into [`NAMES_FANOUT`] parts whose
    /// fingerprints go back.
    fn compare_names(
        &mut self,
        state: &AnyState,
        at: Duration,
        mut after: Option<ReplicaId>,
        items: Vec<NameRange>,
    ) {
        let table = NameTable::new(state, self.max_name, &mut self.stats.long_names);
        for it in items {
            let (s, e) = table.span(after.as_ref(), it.upto.as_ref());
            let cover = Cover {
                after: after.take(),
                upto: it.upto.clone(),
            };
            after = it.upto;
            let ours = &table.names[s..e];
            if ours.len() as u64 == it.count && table.fingerprint(s, e) == it.fingerprint {
                self.theirs.retain(|n, _| !cover.contains(n));
                for (n, sm) in ours {
                    if self.theirs.len() < self.cfg.max_queue {
                        self.theirs.insert(n.clone(), *sm);
                    }
                }
                self.theirs_at = Some(at);
            } else if it.count == 0 {
                for (n, _) in ours {
                    self.stream(state, n.clone(), 1, u64::MAX);
                }
            } else if ours.len() <= NAMES_LIST {
                self.send_listing(cover.after, cover.upto, ours);
            } else {
                self.split_names(&table, cover, s, e);
            }
        }
    }

    /// Sends the fingerprints of [`NAMES_FANOUT`] parts of about equal counts of our names
    /// `s..e`, all of ours in `cover`, in as many names messages as the bound needs.
    fn split_names(&mut self, table: &NameTable, cover: Cover, s: usize, e: usize) {
        let mut after = cover.after;
        let mut items: Vec<NameRange> = Vec::new();
        let mut len = message::NAMES_FIXED + message::bound_len(after.as_ref());
        let mut from = s;
        for k in 1..=NAMES_FANOUT {
            let to = if k == NAMES_FANOUT {
                e
            } else {
                s + (e - s) * k / NAMES_FANOUT
            };
            if to == from {
                continue;
            }
            let upto = if to == e {
                cover.upto.clone()
            } else {
                Some(table.names[to - 1].0.clone())
            };
            let item = NameRange {
                upto,
                count: (to - from) as u64,
                fingerprint: table.fingerprint(from, to),
            };
            from = to;
            let item_len = message::name_range_len(&item);
            if len + item_len > self.cfg.max_message && !items.is_empty() {
                let next = items.last().and_then(|i| i.upto.clone());
                self.emit(Message::Names {
                    after: after.take(),
                    items: std::mem::take(&mut items),
                });
                after = next;
                len = message::NAMES_FIXED + message::bound_len(after.as_ref());
            }
            len += item_len;
            items.push(item);
        }
        if !items.is_empty() {
            self.emit(Message::Names { after, items });
        }
    }

    /// Answers a range where both sides hold something and differ. A small range gets our
    /// slice; a range where the peer holds at most half of what we hold is streamed (at
    /// most half of it is redundant); anything else is split at our data into parts whose
    /// summaries go back, so the recursion follows what differs. `theirs` is `None` for an
    /// answer to the peer's slice: our slice then goes without its range, so the peer
    /// joins it and does not answer it in turn.
    fn offer(
        &mut self,
        state: &AnyState,
        replica: ReplicaId,
        lo: u64,
        hi: u64,
        ours: RangeSummary,
        theirs: Option<RangeSummary>,
    ) {
        let (live, runs) = state.range_size(&replica, lo, hi);
        let units = live + runs;
        if units <= LEAF.min(self.budget) || lo == hi {
            let item = theirs.is_some().then_some(ours);
            if self.slice_out(state, &replica, lo, hi, item) {
                return;
            }
            if lo == hi {
                // one counter's slice alone exceeds the bound
                self.stats.oversized += 1;
                return;
            }
        }
        if theirs.is_some_and(|t| t.live.saturating_mul(2) <= ours.live) {
            self.stream(state, replica, lo, hi);
            return;
        }
        self.split(state, &replica, lo, hi);
    }

    /// Splits `lo..=hi` at our data into [`FANOUT`] parts and sends their summaries.
    fn split(&mut self, state: &AnyState, replica: &ReplicaId, lo: u64, hi: u64) {
        let mut parts = state.split_even(replica, lo, hi, FANOUT);
        if parts.len() < 2 && hi > lo {
            let mid = lo + (hi - lo) / 2;
            parts = vec![(lo, mid), (mid + 1, hi)];
        }
        let items = parts
            .into_iter()
            .map(|(l, h)| Item {
                replica: replica.clone(),
                lo: l,
                hi: h,
                summary: state.range_summary(replica, l, h),
            })
            .collect();
        self.send_summaries(items);
    }

    /// Queues our slice of a range for the next data message, if it fits the bound alone
    /// (adapting the budget either way); returns whether it did. With our `summary` of the
    /// range, the message names the range (the peer answers it if its own still differs)
    /// and goes compressed: it fits when its compressed message does; without, it is an
    /// answer, which goes as it is.
    fn slice_out(
        &mut self,
        state: &AnyState,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        summary: Option<RangeSummary>,
    ) -> bool {
        let r = self.queue_slice(state, replica, lo, hi, summary);
        let whole = match r {
            Ok((_, whole)) | Err((_, whole)) => whole,
        };
        if whole > self.cfg.max_message && r.is_err() {
            self.budget = (self.budget / 2).max(1);
        } else if whole < self.cfg.max_message / 4 {
            self.budget = (self.budget * 2).min(1 << 20);
        }
        r.is_ok()
    }

    /// Queues our slice of a range for the next data message if the message it makes alone
    /// fits the bound (see [`Peer::slice_out`]). Either way returns the bytes of that
    /// message (measured when it goes compressed, else the most it takes) and its
    /// uncompressed bytes (header, the item at its longest, payload).
    fn queue_slice(
        &mut self,
        state: &AnyState,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        summary: Option<RangeSummary>,
    ) -> std::result::Result<(usize, usize), (usize, usize)> {
        let max = self.cfg.max_message;
        let slice = state.slice(replica, lo, hi);
        let bytes = slice.to_compact();
        let len = bytes.len();
        let item = summary.map(|summary| Item {
            replica: replica.clone(),
            lo,
            hi,
            summary,
        });
        let whole = message::DATA_FIXED + message::item_max(replica) + len;
        let mut alone = None;
        let size = match &item {
            Some(item) if len >= message::COMPRESS_MIN => {
                if len > message::max_payload(max) {
                    return Err((whole, whole));
                }
                // measure the message it makes alone: sent as it is if nothing joins it
                let m = Message::Data {
                    ty: self.ty,
                    items: vec![item.clone()],
                    payload: bytes.clone(),
                }
                .encode();
                self.sample_ratio(m.len(), whole);
                let size = m.len();
                alone = Some(m);
                size
            }
            _ => whole,
        };
        if size > max {
            return Err((size, whole));
        }
        self.stats.slices_out += 1;
        self.add_data(item, slice, len);
        if self.data.len() == 1 {
            self.data_first = Some(bytes);
            self.data_first_msg = alone;
        }
        Ok((size, whole))
    }

    /// Takes the bytes of a compressed data message (or one that tried to be) against its
    /// uncompressed bytes into the running ratio.
    fn sample_ratio(&mut self, bytes: usize, whole: usize) {
        let sample = (bytes * 1024 / whole.max(1)).clamp(16, 2048);
        self.zratio = (self.zratio * 3 + sample) / 4;
    }

    /// Adds a delta (with the item it answers, if any) to the data message being built,
    /// sending that one first when the delta would not fit in it.
    fn add_data(&mut self, item: Option<Item>, delta: AnyState, len: usize) {
        // a joined payload costs one fixed part and each delta's share beyond it
        let share = item.as_ref().map_or(0, |i| message::item_max(&i.replica))
            + len.saturating_sub(self.empty_len);
        if !self.data.is_empty() {
            let whole = message::DATA_FIXED + self.empty_len + self.data_share + share;
            // a message with items goes compressed: its bytes estimated by the running ratio
            let items = item.is_some() || self.data.iter().any(|d| d.0.is_some());
            let est = if items {
                whole * self.zratio / 1024
            } else {
                whole
            };
            // a margin for what a join adds (names, contexts of several replicas)
            if est > self.cfg.max_message * 7 / 8
                || whole > message::max_payload(self.cfg.max_message)
            {
                self.flush_data();
            }
        }
        self.data.push((item, delta, len));
        self.data_share += share;
    }

    /// Sends the data message being built: the join of its deltas, re-sliced when the join
    /// came out over the bound.
    fn flush_data(&mut self) {
        self.data_share = 0;
        let first_bytes = self.data_first.take();
        let first_msg = self.data_first_msg.take();
        let data = std::mem::take(&mut self.data);
        if let (1, Some(m)) = (data.len(), first_msg) {
            // a lone slice measured encoded (within the bound) goes in those bytes
            self.out.push_back(m);
            return;
        }
        self.send_data(data, first_bytes);
    }

    /// Sends deltas as one data message, their join; when that comes out over the bound
    /// (or its payload over what a receiver decompresses), as two halves, each the same
    /// way. `first_bytes` is the compact encoding of a lone delta, if known.
    fn send_data(
        &mut self,
        data: Vec<(Option<Item>, AnyState, usize)>,
        first_bytes: Option<Vec<u8>>,
    ) {
        let Some((_, first, _)) = data.first() else {
            return;
        };
        // a lone delta (a batch of pushed writes, say) is encoded as it is, not copied
        let joined = if data.len() == 1 {
            std::borrow::Cow::Borrowed(first)
        } else {
            let mut joined = first.clone();
            for (_, d, _) in &data[1..] {
                if joined.join(d).is_err() {
                    return;
                }
            }
            std::borrow::Cow::Owned(joined)
        };
        let items: Vec<Item> = data.iter().filter_map(|(i, _, _)| i.clone()).collect();
        let payload = match first_bytes {
            Some(b) if data.len() == 1 => b,
            _ => joined.to_compact(),
        };
        if joined.entry_count() > 0 {
            let per = payload.len().saturating_sub(self.empty_len) / joined.entry_count();
            self.entry_bytes = (self.entry_bytes + per.max(4)) / 2;
        }
        drop(joined);
        let whole = message::DATA_FIXED
            + items
                .iter()
                .map(|i| message::item_max(&i.replica))
                .sum::<usize>()
            + payload.len();
        let compressed = !items.is_empty() && payload.len() >= message::COMPRESS_MIN;
        let fits = payload.len() <= message::max_payload(self.cfg.max_message);
        let ty = self.ty;
        let bytes = Message::Data { ty, items, payload }.encode();
        if compressed {
            self.sample_ratio(bytes.len(), whole);
        }
        if fits && bytes.len() <= self.cfg.max_message {
            self.out.push_back(bytes);
            return;
        }
        let mut data = data;
        if data.len() == 1 {
            let Some((item, d, _)) = data.pop() else {
                return;
            };
            if item.is_none() {
                // a pushed batch whose estimate was short, or an answer: in slices
                self.push_sliced(&d);
            } else {
                // not reached: a slice with its item is measured alone before it is queued
                self.stats.oversized += 1;
            }
            return;
        }
        let tail = data.split_off(data.len() / 2);
        self.send_data(data, None);
        self.send_data(tail, None);
    }

    /// Sends the first part of `lo..=hi` that fits one message; returns where it ends.
    /// Parts are sized by the compressed bytes measured: each part's message tells how many
    /// units fill one.
    fn send_part(&mut self, state: &AnyState, replica: &ReplicaId, lo: u64, hi: u64) -> u64 {
        let max = self.cfg.max_message;
        let target = max - max / 16;
        let mut end = state.first_part(replica, lo, hi, self.stream_budget);
        loop {
            let summary = state.range_summary(replica, lo, end);
            let (live, runs) = state.range_size(replica, lo, end);
            let units = (live + runs).max(1);
            let r = self.queue_slice(state, replica, lo, end, Some(summary));
            let (size, whole) = match r {
                Ok(x) | Err(x) => x,
            };
            // the units a message of the target size holds, by this one
            let fill =
                (u128::from(units) * target as u128 / size.max(1) as u128).min(1 << 20) as u64;
            // and uncompressed (the budget of slices that go as they are)
            self.budget = (u128::from(units) * (max * 7 / 8) as u128 / whole.max(1) as u128)
                .clamp(1, 1 << 20) as u64;
            if r.is_ok() {
                if end < hi {
                    self.stream_budget = fill.clamp(1, self.stream_budget.saturating_mul(2));
                }
                return end;
            }
            if end == lo {
                // one counter's slice alone exceeds the bound
                self.stats.oversized += 1;
                return end;
            }
            self.stream_budget = fill.min(units - 1).max(1);
            end = shrink(
                state.first_part(replica, lo, end, self.stream_budget),
                lo,
                end,
            );
        }
    }

    /// Pushes a delta: one message, or slices of it when it exceeds the bound (up to 64;
    /// beyond that anti-entropy carries it).
    fn push_now(&mut self, delta: AnyState) {
        // a small delta joins the data message unencoded, its size estimated from the
        // bytes per entry of what went out before (a join that comes out over the bound
        // is sent piece by piece)
        let est = self.estimate(&delta);
        if est + message::DATA_FIXED <= self.cfg.max_message / 2 {
            self.stats.slices_out += 1;
            self.add_data(None, delta, est);
            return;
        }
        let payload = delta.to_compact();
        if payload.len() + message::DATA_FIXED <= self.cfg.max_message {
            self.stats.slices_out += 1;
            self.add_data(None, delta, payload.len());
            return;
        }
        self.push_sliced(&delta);
    }

    /// Pushes a delta over the bound as slices of it (up to 64; beyond that anti-entropy
    /// carries it).
    fn push_sliced(&mut self, delta: &AnyState) {
        let mut sent = 0;
        'names: for name in delta.replicas_seen() {
            let mut lo = 1;
            loop {
                let mut end = delta.first_part(&name, lo, u64::MAX, self.budget);
                loop {
                    let part = delta.slice(&name, lo, end);
                    match part.to_compact() {
                        p if p.len() + message::DATA_FIXED <= self.cfg.max_message => {
                            self.stats.slices_out += 1;
                            self.add_data(None, part, p.len());
                            sent += 1;
                            break;
                        }
                        _ if end > lo => {
                            self.budget = (self.budget / 2).max(1);
                            end = shrink(delta.first_part(&name, lo, end, self.budget), lo, end);
                        }
                        _ => {
                            self.stats.oversized += 1;
                            break;
                        }
                    }
                }
                if end == u64::MAX || sent >= 64 {
                    break;
                }
                lo = end + 1;
            }
            if sent >= 64 {
                break 'names;
            }
        }
    }

    /// Queues summaries of ranges (no cover) for the next summary message.
    fn send_summaries(&mut self, items: Vec<Item>) {
        for it in items {
            let len = message::item_len(&it, self.summaries.last());
            if self.summaries_len + len > self.cfg.max_message {
                self.flush_summaries();
                self.summaries_len = message::SUMMARY_FIXED + message::item_len(&it, None);
            } else {
                self.summaries_len += len;
            }
            self.summaries.push(it);
        }
    }

    fn flush_summaries(&mut self) {
        self.summaries_len = message::SUMMARY_FIXED;
        if !self.summaries.is_empty() {
            let items = std::mem::take(&mut self.summaries);
            self.emit(Message::Summary { cover: None, items });
        }
    }

    /// Queues `m`, unless it came out over the bound (the peer would refuse it unread).
    fn emit(&mut self, m: Message) {
        let bytes = m.encode();
        if bytes.len() > self.cfg.max_message {
            self.stats.oversized += 1;
            return;
        }
        self.out.push_back(bytes);
    }
}

/// A shorter end for a part `lo..=end` that did not fit: `next` when the budget made it
/// shorter, else half the counter range.
fn shrink(next: u64, lo: u64, end: u64) -> u64 {
    if next < end {
        next
    } else {
        lo + (end - lo) / 2
    }
}
