//! The replica's owner: one thread holds the [`Replica`] and every peer's sync machine, and
//! takes commands (HTTP writes and reads) and network events over bounded channels.
//!
//! Writes are group-committed: the writes waiting in the channel are applied as one batch,
//! the log is synced once (under [`Durability::Group`]), then every write of the batch is
//! answered, each with the dot it was given, and its delta is pushed to the connected
//! peers. Reads are answered after the batch too, so a read never shows a write that could
//! still be lost. The thread runs its own single-threaded runtime so that `fdatasync` never
//! stalls the network tasks.
//!
//! `/status` reports the state's digest, a full pass over the state: it is cached until the
//! state changes ([`Replica::changes`]), and while deltas stream in (a catch-up) a request
//! waits until the stream pauses ([`STATUS_SETTLE`]) or until the time since the last
//! digest is 20 times what that one cost ([`DIGEST_BUDGET`], at most [`STATUS_MAX_WAIT`]),
//! so polls take a bounded share of the actor, and every digest answered is exact for the
//! state at the moment of the answer. Folds write their snapshot on a thread of their own
//! ([`Replica::start_fold`]): the actor pays the log's cut and a clone of the state (which
//! shares its runs).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use pluriverse::ReplicaId;
use pluriverse_any::{AnyState, Kind, Scalar, StateType};
use pluriverse_replica::dir::Encoded;
use pluriverse_replica::sync::Peer;
use pluriverse_replica::{Durability, Replica, ReplicaError};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::identity::PublicKey;
use crate::json::{scalar_json, show_id};
use crate::peers::PeerSpec;
use crate::tls::Refusals;

/// Most commands taken into one group commit.
const MAX_BATCH: usize = 512;
/// How often the actor wakes with nothing to do (rounds are due, queues drained).
/// How long after a connection comes up another one from the same peer still counts as a
/// simultaneous dial (beyond it, the older connection is stale).
const SIMULTANEOUS_DIAL: Duration = Duration::from_secs(2);

const TICK: Duration = Duration::from_millis(20);
/// The longest the sync machines wait for a snapshot transfer under way before they go on
/// beside it (a snapshot that comes later is joined like any delta).
const SNAPSHOT_PAUSE: Duration = Duration::from_secs(30);

/// A local write, as the HTTP API asks for it.
#[derive(Debug, Clone)]
pub(crate) enum WriteOp {
    /// `MVMap`: set.
    Set(Scalar, Scalar),
    /// `LWWMap`: set at a timestamp.
    SetAt(Scalar, Scalar, u64),
    /// `MVMap`, `AWSet`: remove.
    Remove(Scalar),
    /// `LWWMap`: remove at a timestamp.
    RemoveAt(Scalar, u64),
    /// `AWSet`: add.
    Add(Scalar),
    /// `PNCounterMap`: add.
    Increment(Scalar, u64),
    /// `PNCounterMap`: subtract.
    Decrement(Scalar, u64),
    /// A batch ([`crate::batch`]): columns of keys and values, one write.
    Many(crate::batch::Columns),
}

/// A refusal to show the HTTP client: a status code and a message.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

fn replica_error(e: ReplicaError) -> ApiError {
    match e {
        ReplicaError::State(e) => ApiError::new(400, e.to_string()),
        ReplicaError::Poisoned => ApiError::new(503, e.to_string()),
        e => ApiError::new(500, e.to_string()),
    }
}

/// What a write was given.
#[derive(Debug, Clone)]
pub(crate) struct Dot {
    pub writer: ReplicaId,
    /// The counters, `first..=last`; `None` for a write that takes no dot (a remove, an
    /// outdated LWW write).
    pub counters: Option<(u64, u64)>,
}

/// A command from the HTTP side.
pub(crate) enum Cmd {
    Write {
        op: WriteOp,
        reply: oneshot::Sender<Result<Dot, ApiError>>,
    },
    /// Reads one key; the answer is the JSON document.
    Read {
        key: Scalar,
        reply: oneshot::Sender<Result<Value, ApiError>>,
    },
    Status {
        reply: oneshot::Sender<Value>,
    },
    Metrics {
        reply: oneshot::Sender<String>,
    },
}

/// An event from the network side.
pub(crate) enum Net {
    /// A connection with peer `peer` is established.
    Up {
        peer: usize,
        id: u64,
        dialed: bool,
        conn: quinn::Connection,
        tx: mpsc::Sender<Vec<u8>>,
    },
    /// Connection `id` ended.
    Down { peer: usize, id: u64, why: String },
    /// A dial or the connection's start failed.
    Failed { peer: usize, why: String },
    /// A sync message arrived on connection `id`.
    Message {
        peer: usize,
        id: u64,
        bytes: Vec<u8>,
    },
    /// Our newest snapshot file went to peer `peer` (`bytes` of it).
    SnapshotSent { peer: usize, bytes: u64 },
    /// The snapshot transfer from peer `peer` ended: the decoded state (`None`: declined)
    /// or why it failed.
    Snapshot {
        peer: usize,
        result: Result<Option<Encoded>, String>,
    },
}

struct Live {
    id: u64,
    dialed: bool,
    conn: quinn::Connection,
    tx: mpsc::Sender<Vec<u8>>,
    since: SystemTime,
}

struct Slot {
    spec: PeerSpec,
    sync: Peer,
    live: Option<Live>,
    connected: watch::Sender<bool>,
    last_message: Option<SystemTime>,
    last_delta: Option<SystemTime>,
    connects: u64,
    disconnects: u64,
    errors: u64,
    failures: u64,
    last_error: Option<String>,
    /// Why the last connection ended (a peer that shut down says so in its close).
    last_disconnect: Option<String>,
    /// The arrival time ([`Peer::peer_summaries`]) of the peer's summaries last compared.
    summaries_seen: Option<Duration>,
    /// When the peer's summaries last equalled our state.
    agreed: Option<Instant>,
    /// Whether we asked the peer for its snapshot file in this run ([`Bootstrap`]).
    snapshot_asked: bool,
    /// Snapshot transfers from the peer that failed or were refused, and why the last did.
    snapshots_refused: u64,
    snapshot_error: Option<String>,
    /// Snapshot files sent to the peer, and their bytes.
    snapshots_out: u64,
    snapshot_bytes_out: u64,
    /// Snapshot files taken from the peer, and their bytes.
    snapshots_in: u64,
    snapshot_bytes_in: u64,
}

/// Whether a snapshot transfer is under way ([`crate::transport`]'s "Snapshot transfer"):
/// while one is, the actor sends no sync message to anyone.
enum Bootstrap {
    /// None is, or was.
    Idle,
    /// From this peer, since then.
    Fetching(usize, Instant),
}

#[derive(Default)]
struct Counters {
    writes: u64,
    write_errors: u64,
    merges: u64,
    merge_errors: u64,
    group_commits: u64,
    reads: u64,
}

/// What the actor needs at start.
pub(crate) struct Setup {
    pub replica: Replica,
    pub own: PublicKey,
    pub peers: Vec<(PeerSpec, Peer, watch::Sender<bool>)>,
    pub refusals: Arc<Refusals>,
    pub room: Arc<Notify>,
    pub quic_addr: std::net::SocketAddr,
    pub http_addr: std::net::SocketAddr,
    /// The network's runtime (snapshot transfers run on it) and its event channel.
    pub net_rt: tokio::runtime::Handle,
    pub net: mpsc::Sender<Net>,
    /// Where the connection tasks find the newest snapshot file.
    pub snapshot: Arc<crate::transport::Snapshot>,
}

pub(crate) struct Actor {
    replica: Replica,
    ty: StateType,
    own: PublicKey,
    peers: Vec<Slot>,
    counters: Counters,
    refusals: Arc<Refusals>,
    room: Arc<Notify>,
    start: Instant,
    started: SystemTime,
    quic_addr: std::net::SocketAddr,
    http_addr: std::net::SocketAddr,
    /// Deltas received in the current batch of network events, with their peers and the
    /// compact bytes they came in: joined at once, and logged in those bytes
    /// ([`Replica::apply_many_compact`]), before the next messages go out.
    received: Vec<(usize, AnyState, Vec<u8>)>,
    /// When a delta was last applied: the log is folded once none came for [`FOLD_QUIET`].
    last_applied: Option<Instant>,
    /// When a delta was last applied (not reset by a fold): `/status` waits for a stream to
    /// settle ([`STATUS_SETTLE`]) before it digests a changing state again.
    last_received: Option<Instant>,
    /// The state's digest as of [`Replica::changes`] (a full pass over the state: computed
    /// again only once the state changed).
    digest: Option<(u64, u128)>,
    /// When the digest was last computed, and what it cost.
    digest_at: Option<Instant>,
    digest_cost: Duration,
    /// The state's distinct keys as of [`Replica::changes`].
    keys: Option<(u64, usize)>,
    /// `/status` requests waiting for a digest ([`Actor::digest_ready`]).
    deferred_status: Vec<oneshot::Sender<Value>>,
    net_rt: tokio::runtime::Handle,
    net_tx: mpsc::Sender<Net>,
    snapshot: Arc<crate::transport::Snapshot>,
    bootstrap: Bootstrap,
}

/// A stream of received deltas counts as settled once none came for this long: `/status`
/// then digests the state at once.
const STATUS_SETTLE: Duration = Duration::from_millis(40);
/// While deltas stream in, the state's digest is computed again only after this many times
/// what the last one cost (at most [`STATUS_MAX_WAIT`]): `/status` polls take at most about
/// 1/20 of the actor's time, not a full pass over a growing state at every poll.
const DIGEST_BUDGET: u32 = 20;
/// The longest a `/status` request waits for a stream to settle.
const STATUS_MAX_WAIT: Duration = Duration::from_secs(5);

/// How long no delta must arrive before a log that received deltas left over the fold
/// rule is folded ([`Replica::fold_if_due`]): a catch-up writes one snapshot, at its end.
const FOLD_QUIET: Duration = Duration::from_millis(500);

/// Answers to send once the batch is durable.
enum Reply {
    Write(
        oneshot::Sender<Result<Dot, ApiError>>,
        Result<Dot, ApiError>,
    ),
    Read(
        oneshot::Sender<Result<Value, ApiError>>,
        Result<Value, ApiError>,
    ),
    Status(oneshot::Sender<Value>),
    Metrics(oneshot::Sender<String>),
}

impl Actor {
    pub(crate) fn new(s: Setup) -> Self {
        let ty = s.replica.state().state_type();
        Self {
            replica: s.replica,
            ty,
            own: s.own,
            peers: s
                .peers
                .into_iter()
                .map(|(spec, sync, connected)| Slot {
                    spec,
                    sync,
                    live: None,
                    connected,
                    last_message: None,
                    last_delta: None,
                    connects: 0,
                    disconnects: 0,
                    errors: 0,
                    failures: 0,
                    last_error: None,
                    last_disconnect: None,
                    summaries_seen: None,
                    agreed: None,
                    snapshot_asked: false,
                    snapshots_refused: 0,
                    snapshot_error: None,
                    snapshots_out: 0,
                    snapshot_bytes_out: 0,
                    snapshots_in: 0,
                    snapshot_bytes_in: 0,
                })
                .collect(),
            counters: Counters::default(),
            refusals: s.refusals,
            room: s.room,
            start: Instant::now(),
            started: SystemTime::now(),
            quic_addr: s.quic_addr,
            http_addr: s.http_addr,
            received: Vec::new(),
            last_applied: None,
            last_received: None,
            digest: None,
            digest_at: None,
            digest_cost: Duration::ZERO,
            keys: None,
            deferred_status: Vec::new(),
            net_rt: s.net_rt,
            net_tx: s.net,
            snapshot: s.snapshot,
            bootstrap: Bootstrap::Idle,
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs until `stop` fires or every command sender is gone; then closes the replica
    /// (syncing its log) and the connections, and returns the close's result.
    pub(crate) async fn run(
        mut self,
        mut cmds: mpsc::Receiver<Cmd>,
        mut net: mpsc::Receiver<Net>,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), ReplicaError> {
        let room = self.room.clone();
        loop {
            self.snapshot.publish(self.replica.snapshot_path());
            // unbiased: a stream of writes does not starve the peers' messages, nor the reverse
            tokio::select! {
                _ = &mut stop => break,
                c = cmds.recv() => match c {
                    Some(c) => {
                        let mut batch = vec![c];
                        while batch.len() < MAX_BATCH {
                            match cmds.try_recv() {
                                Ok(c) => batch.push(c),
                                Err(_) => break,
                            }
                        }
                        self.batch(batch);
                    }
                    None => break,
                },
                n = net.recv() => {
                    if let Some(n) = n {
                        self.net(n);
                        // take what else is waiting, bounded, before pumping
                        for _ in 0..MAX_BATCH {
                            match net.try_recv() {
                                Ok(n) => self.net(n),
                                Err(_) => break,
                            }
                        }
                        self.apply_received();
                    }
                }
                _ = room.notified() => {}
                _ = tokio::time::sleep(TICK) => self.fold_if_quiet(),
            }
            if !self.deferred_status.is_empty() && self.digest_ready() {
                let v = self.status();
                for tx in self.deferred_status.drain(..) {
                    let _ = tx.send(v.clone());
                }
            }
            self.pump();
        }
        if !self.deferred_status.is_empty() {
            let v = self.status();
            for tx in self.deferred_status.drain(..) {
                let _ = tx.send(v.clone());
            }
        }
        for p in &mut self.peers {
            if let Some(l) = p.live.take() {
                l.conn.close(0u32.into(), b"shutdown");
            }
        }
        self.replica.close()
    }

    /// Applies a batch of commands, syncs once, answers them all, pushes the deltas.
    fn batch(&mut self, batch: Vec<Cmd>) {
        let mut replies = Vec::with_capacity(batch.len());
        let mut deltas: Vec<AnyState> = Vec::new();
        let mut wrote = false;
        for c in batch {
            match c {
                Cmd::Write { op, reply } => {
                    let r = self.write(op).map(|(dot, delta)| {
                        deltas.push(delta);
                        dot
                    });
                    wrote |= r.is_ok();
                    replies.push(Reply::Write(reply, r));
                }
                Cmd::Read { key, reply } => {
                    self.counters.reads += 1;
                    let r = self.read(&key);
                    replies.push(Reply::Read(reply, r));
                }
                Cmd::Status { reply } => replies.push(Reply::Status(reply)),
                Cmd::Metrics { reply } => replies.push(Reply::Metrics(reply)),
            }
        }
        if wrote && self.replica.options().durability == Durability::Group {
            self.counters.group_commits += 1;
            if let Err(e) = self.replica.sync() {
                tracing::error!("group commit failed, writes of the batch refused: {e}");
                let e = replica_error(e);
                for r in &mut replies {
                    if let Reply::Write(_, res @ Ok(_)) = r {
                        self.counters.writes -= 1;
                        self.counters.write_errors += 1;
                        *res = Err(e.clone());
                    }
                }
                deltas.clear();
            }
        }
        for d in &deltas {
            for p in &mut self.peers {
                if p.live.is_some() {
                    p.sync.push(d);
                }
            }
        }
        for r in replies {
            match r {
                Reply::Write(tx, r) => {
                    let _ = tx.send(r);
                }
                Reply::Read(tx, r) => {
                    let _ = tx.send(r);
                }
                Reply::Status(tx) => {
                    if self.digest_ready() {
                        let _ = tx.send(self.status());
                    } else {
                        self.deferred_status.push(tx);
                    }
                }
                Reply::Metrics(tx) => {
                    let _ = tx.send(self.metrics());
                }
            }
        }
    }

    fn write(&mut self, op: WriteOp) -> Result<(Dot, AnyState), ApiError> {
        let r = self.replica.write(|s| match op {
            WriteOp::Set(k, v) => s.set(k, v),
            WriteOp::SetAt(k, v, t) => s.set_at(k, v, t),
            WriteOp::Remove(k) => s.remove(k),
            WriteOp::RemoveAt(k, t) => s.remove_at(k, t),
            WriteOp::Add(k) => s.add(k),
            WriteOp::Increment(k, n) => s.increment(k, n),
            WriteOp::Decrement(k, n) => s.decrement(k, n),
            WriteOp::Many(c) => c.apply(s),
        });
        match r {
            Ok(w) => {
                self.counters.writes += 1;
                Ok((
                    Dot {
                        writer: w.writer,
                        counters: w.dots,
                    },
                    w.delta,
                ))
            }
            Err(e) => {
                self.counters.write_errors += 1;
                Err(replica_error(e))
            }
        }
    }

    fn read(&self, key: &Scalar) -> Result<Value, ApiError> {
        let s = self.replica.state();
        let bad = |e: pluriverse_any::AnyError| ApiError::new(400, e.to_string());
        let k = scalar_json(key);
        Ok(match self.ty.kind {
            Kind::MVMap => {
                let vs: Vec<Value> = s.get(key).map_err(bad)?.iter().map(scalar_json).collect();
                json!({ "key": k, "values": vs })
            }
            Kind::AWSet => json!({ "key": k, "present": s.contains(key).map_err(bad)? }),
            Kind::PNCounterMap => {
                let v = s.value(key).map_err(bad)?;
                // beyond i64 a JSON number loses precision in most readers: text then
                let v = i64::try_from(v).map_or_else(|_| json!(v.to_string()), |v| json!(v));
                json!({ "key": k, "value": v })
            }
            Kind::LWWMap => match s.get_with_timestamp(key).map_err(bad)? {
                Some((t, v)) => json!({ "key": k, "value": scalar_json(&v), "timestamp": t }),
                None => json!({ "key": k, "value": null, "timestamp": null }),
            },
        })
    }

    fn net(&mut self, n: Net) {
        let now = self.now();
        match n {
            Net::Up {
                peer,
                id,
                dialed,
                conn,
                tx,
            } => {
                let own = self.own;
                let p = &mut self.peers[peer];
                // When both sides dial at once, both keep the connection dialed by the lower
                // key. A connection that arrives while ours has been up for a while is no
                // simultaneous dial: the peer dials only when it has no connection to us, so
                // ours is stale (the peer restarted, or lost it in a partition) and the new
                // one wins, whichever side dialed it.
                let preferred = |dialed: bool| dialed == (own < p.spec.key);
                let adopt = match &p.live {
                    None => true,
                    Some(l) => {
                        preferred(dialed)
                            || !preferred(l.dialed)
                            || l.since
                                .elapsed()
                                .map_or(true, |age| age > SIMULTANEOUS_DIAL)
                    }
                };
                if !adopt {
                    conn.close(1u32.into(), b"duplicate");
                    return;
                }
                if let Some(old) = p.live.take() {
                    old.conn.close(1u32.into(), b"duplicate");
                }
                tracing::info!(
                    peer = %p.spec.key.short(),
                    remote = %conn.remote_address(),
                    dialed,
                    "connected"
                );
                p.live = Some(Live {
                    id,
                    dialed,
                    conn,
                    tx,
                    since: SystemTime::now(),
                });
                p.connects += 1;
                p.sync.start_round();
                let _ = p.connected.send(true);
                self.maybe_bootstrap(peer);
            }
            Net::Down { peer, id, why } => {
                let p = &mut self.peers[peer];
                if p.live.as_ref().is_some_and(|l| l.id == id) {
                    tracing::info!(peer = %p.spec.key.short(), "disconnected: {why}");
                    p.live = None;
                    p.disconnects += 1;
                    p.last_disconnect = Some(why);
                    let _ = p.connected.send(false);
                }
            }
            Net::Failed { peer, why } => {
                let p = &mut self.peers[peer];
                p.failures += 1;
                p.last_error = Some(why);
            }
            Net::Message { peer, id, bytes } => {
                let p = &mut self.peers[peer];
                if p.live.as_ref().is_none_or(|l| l.id != id) {
                    return; // from a connection being replaced
                }
                let r = p.sync.handle_compact(now, &bytes);
                let (at, _) = p.sync.peer_summaries();
                if at != p.summaries_seen {
                    p.summaries_seen = at;
                    if behind(self.replica.state(), &p.sync) == Some((true, 0)) {
                        p.agreed = Some(Instant::now());
                    }
                }
                match r {
                    Ok(d) => {
                        p.last_message = Some(SystemTime::now());
                        self.received.extend(d.map(|(d, b)| (peer, d, b)));
                    }
                    Err(e) => {
                        p.errors += 1;
                        tracing::warn!(peer = %p.spec.key.short(), "bad sync message: {e}");
                        p.last_error = Some(e.to_string());
                    }
                }
            }
            Net::SnapshotSent { peer, bytes } => {
                let p = &mut self.peers[peer];
                p.snapshots_out += 1;
                p.snapshot_bytes_out += bytes;
                tracing::info!(peer = %p.spec.key.short(), bytes, "sent our snapshot");
            }
            Net::Snapshot { peer, result } => self.snapshot_arrived(peer, result),
        }
    }

    /// Whether the state holds nothing: no entry, no dot, no retired incarnation (a node
    /// that starts empty).
    fn blank(&self) -> bool {
        let s = self.replica.state();
        s.entry_count() == 0
            && s.context().dots().replicas().iter().all(|d| d.is_empty())
            && s.context().retired().is_empty()
    }

    /// Asks peer `peer` for its snapshot file when the state is blank, no transfer is under
    /// way and the peer was not asked before in this run.
    fn maybe_bootstrap(&mut self, peer: usize) {
        if !matches!(self.bootstrap, Bootstrap::Idle) || !self.blank() {
            return;
        }
        let p = &mut self.peers[peer];
        let Some(l) = &p.live else { return };
        if p.snapshot_asked {
            return;
        }
        p.snapshot_asked = true;
        self.bootstrap = Bootstrap::Fetching(peer, Instant::now());
        tracing::info!(peer = %p.spec.key.short(), "starting empty: asking the peer for its snapshot");
        let conn = l.conn.clone();
        let net = self.net_tx.clone();
        let writer = self.replica.writer().clone();
        let limits = self.replica.options().limits;
        // a file the decoder would refuse for its size is refused before it is read
        let max = pluriverse_replica::log::MAX_RECORD.min(limits.max_bytes) as u64;
        self.net_rt.spawn(crate::transport::fetch_snapshot(
            conn, max, self.ty, writer, limits, peer, net,
        ));
    }

    /// A snapshot transfer ended: joins and logs what came, then starts a round with every
    /// peer (the protocol ships what the snapshot lacks).
    fn snapshot_arrived(&mut self, peer: usize, result: Result<Option<Encoded>, String>) {
        let since = match self.bootstrap {
            Bootstrap::Fetching(p, t) if p == peer => t,
            _ => return,
        };
        self.bootstrap = Bootstrap::Idle;
        let p = &mut self.peers[peer];
        match result {
            Ok(Some(e)) => {
                let bytes = e.bytes().len() as u64;
                let entries = e.state().entry_count();
                match self.replica.apply_encoded(&e) {
                    Ok(()) => {
                        p.snapshots_in += 1;
                        p.snapshot_bytes_in += bytes;
                        p.last_delta = Some(SystemTime::now());
                        self.counters.merges += 1;
                        self.last_applied = Some(Instant::now());
                        self.last_received = self.last_applied;
                        tracing::info!(
                            peer = %p.spec.key.short(),
                            bytes,
                            entries,
                            secs = since.elapsed().as_secs_f64(),
                            "took the peer's snapshot"
                        );
                    }
                    Err(err) => {
                        self.counters.merge_errors += 1;
                        p.errors += 1;
                        p.snapshots_refused += 1;
                        tracing::warn!(peer = %p.spec.key.short(), "refused the peer's snapshot: {err}");
                        p.snapshot_error = Some(err.to_string());
                        p.last_error = Some(err.to_string());
                    }
                }
            }
            Ok(None) => {
                tracing::debug!(peer = %p.spec.key.short(), "the peer has no snapshot to offer");
            }
            Err(why) => {
                p.errors += 1;
                p.snapshots_refused += 1;
                tracing::warn!(peer = %p.spec.key.short(), "no snapshot from the peer: {why}");
                p.snapshot_error = Some(why.clone());
                p.last_error = Some(why);
            }
        }
        for p in &mut self.peers {
            if p.live.is_some() {
                p.sync.start_round();
            }
        }
    }

    /// Joins the deltas received in this batch of network events at once (the slices of a
    /// stream arrive many to a batch: one sort and one join, not one join each).
    fn apply_received(&mut self) {
        let received = std::mem::take(&mut self.received);
        if received.is_empty() {
            return;
        }
        let mut peers = Vec::with_capacity(received.len());
        let mut deltas = Vec::with_capacity(received.len());
        let mut compact = Vec::with_capacity(received.len());
        for (p, d, b) in received {
            peers.push(p);
            deltas.push(d);
            compact.push(b);
        }
        let results = self.replica.apply_many_compact(&deltas, &compact);
        self.last_applied = Some(Instant::now());
        self.last_received = self.last_applied;
        let now = SystemTime::now();
        for (peer, r) in peers.into_iter().zip(results) {
            let p = &mut self.peers[peer];
            match r {
                Ok(()) => {
                    self.counters.merges += 1;
                    p.last_delta = Some(now);
                }
                Err(e) => {
                    self.counters.merge_errors += 1;
                    p.errors += 1;
                    tracing::warn!(peer = %p.spec.key.short(), "refused a delta: {e}");
                    p.last_error = Some(e.to_string());
                }
            }
        }
    }

    /// Folds the log once no delta has arrived for [`FOLD_QUIET`] and the received ones
    /// left it over the fold rule; the snapshot is written off this thread
    /// ([`Replica::start_fold`]), and a fold whose thread has finished is reaped.
    fn fold_if_quiet(&mut self) {
        if let Err(e) = self.replica.finish_fold(false) {
            tracing::error!("folding the log failed: {e}");
        }
        self.snapshot.publish(self.replica.snapshot_path());
        if self.last_applied.is_none_or(|t| t.elapsed() < FOLD_QUIET) || !self.replica.fold_due() {
            return;
        }
        self.last_applied = None;
        if let Err(e) = self.replica.start_fold_if_due() {
            tracing::error!("folding the log failed: {e}");
        }
    }

    /// Whether `/status` may be answered now: the digest is current, or the deltas have
    /// stopped coming ([`STATUS_SETTLE`]), or enough time has passed since the last digest
    /// for another one to fit the budget ([`DIGEST_BUDGET`], [`STATUS_MAX_WAIT`]).
    fn digest_ready(&self) -> bool {
        if self
            .digest
            .is_some_and(|(at, _)| at == self.replica.changes())
        {
            return true;
        }
        if self
            .last_received
            .is_none_or(|t| t.elapsed() >= STATUS_SETTLE)
        {
            return true;
        }
        let gap = (self.digest_cost * DIGEST_BUDGET).min(STATUS_MAX_WAIT);
        self.digest_at.is_none_or(|t| t.elapsed() >= gap)
    }

    /// The state's digest, from the cache while the state has not changed.
    fn digest(&mut self) -> u128 {
        let now = self.replica.changes();
        if let Some((at, d)) = self.digest {
            if at == now {
                return d;
            }
        }
        let t = Instant::now();
        let d = self.replica.state().digest();
        self.digest_cost = t.elapsed();
        self.digest_at = Some(Instant::now());
        self.digest = Some((now, d));
        d
    }

    /// The state's distinct keys (a pass over the state, over a merged copy of its runs
    /// when it has several), from the cache while the state has not changed.
    fn keys(&mut self) -> usize {
        let now = self.replica.changes();
        match self.keys {
            Some((at, k)) if at == now => k,
            _ => {
                let k = self.replica.state().len();
                self.keys = Some((now, k));
                k
            }
        }
    }

    /// Moves messages from the sync machines to the connections, while they have room.
    fn pump(&mut self) {
        if let Bootstrap::Fetching(_, since) = self.bootstrap {
            if since.elapsed() < SNAPSHOT_PAUSE {
                // no peer streams the state in slices while its snapshot comes (for a
                // while: beyond it, a slow transfer goes on beside the protocol)
                return;
            }
        }
        let now = self.now();
        let state = self.replica.state();
        for p in &mut self.peers {
            let Some(l) = &p.live else { continue };
            while l.tx.capacity() > 0 {
                let Some(m) = p.sync.poll_transmit(now, state) else {
                    break;
                };
                if l.tx.try_send(m).is_err() {
                    break; // the connection task is gone; its Down follows
                }
            }
        }
    }

    fn status(&mut self) -> Value {
        let digest = self.digest();
        let keys = self.keys();
        let s = self.replica.state();
        let vv: serde_json::Map<String, Value> = s
            .version_vector()
            .iter()
            .map(|(r, c)| (show_id(r), json!(c)))
            .collect();
        let peers: Vec<Value> = self
            .peers
            .iter()
            .map(|p| {
                let st = p.sync.stats();
                let (in_sync, behind_dots) = match behind(s, &p.sync) {
                    Some((eq, n)) => (json!(eq), json!(n)),
                    None => (Value::Null, Value::Null),
                };
                json!({
                    "key": p.spec.key.to_string(),
                    "address": p.spec.addr.map(|a| a.to_string()),
                    "state": if p.live.is_some() { "connected" }
                             else if p.spec.addr.is_some() { "connecting" }
                             else { "waiting" },
                    "connected_since": p.live.as_ref().map(|l| unix_ms(l.since)),
                    "remote": p.live.as_ref().map(|l| l.conn.remote_address().to_string()),
                    "last_sync": p.last_message.map(unix_ms),
                    "last_delta": p.last_delta.map(unix_ms),
                    "connects": p.connects,
                    "disconnects": p.disconnects,
                    "last_disconnect": p.last_disconnect,
                    "bytes_in": st.bytes_in,
                    "bytes_out": st.bytes_out,
                    "snapshots_in": p.snapshots_in,
                    "snapshot_bytes_in": p.snapshot_bytes_in,
                    "snapshots_refused": p.snapshots_refused,
                    "snapshot_error": p.snapshot_error,
                    "snapshots_out": p.snapshots_out,
                    "snapshot_bytes_out": p.snapshot_bytes_out,
                    "messages_in": st.messages_in,
                    "messages_out": st.messages_out,
                    "rounds": st.rounds,
                    "in_sync": in_sync,
                    "behind_dots": behind_dots,
                    "lag_seconds": p.agreed.map(|t| t.elapsed().as_secs_f64()),
                    "errors": p.errors,
                    "failed_dials": p.failures,
                    "last_error": p.last_error,
                })
            })
            .collect();
        json!({
            "name": show_id(self.replica.name()),
            "incarnation": show_id(self.replica.writer()),
            "public_key": self.own.to_string(),
            "type": self.ty.to_string(),
            "durability": format!("{:?}", self.replica.options().durability).to_lowercase(),
            "quic": self.quic_addr.to_string(),
            "http": self.http_addr.to_string(),
            "started": unix_ms(self.started),
            "version_vector": vv,
            "context": {
                "replicas": vv.len(),
                "cloud_dots": s.context().cloud_len(),
                "compact": s.context().is_compact(),
            },
            "digest": format!("{digest:032x}"),
            "keys": keys,
            "entries": s.entry_count(),
            "issued": self.replica.issued(),
            "writes": self.counters.writes,
            "merges": self.counters.merges,
            "refused_handshakes": {
                "inbound": self.refusals.inbound.load(Ordering::Relaxed),
                "outbound": self.refusals.outbound.load(Ordering::Relaxed),
            },
            "peers": peers,
        })
    }

    fn metrics(&mut self) -> String {
        let keys = self.keys();
        let s = self.replica.state();
        let c = &self.counters;
        let mut o = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(o, "# HELP pluriverse_{name} {help}");
            let _ = writeln!(o, "# TYPE pluriverse_{name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(o, "pluriverse_{name}{labels} {v}");
            }
        };
        let one = |v: f64| vec![(String::new(), v)];
        metric(
            "writes_total",
            "counter",
            "Local writes acknowledged.",
            &one(c.writes as f64),
        );
        metric(
            "write_errors_total",
            "counter",
            "Local writes refused.",
            &one(c.write_errors as f64),
        );
        metric(
            "reads_total",
            "counter",
            "Key reads served.",
            &one(c.reads as f64),
        );
        metric(
            "group_commits_total",
            "counter",
            "Log syncs, each acknowledging a batch of writes.",
            &one(c.group_commits as f64),
        );
        metric(
            "merges_total",
            "counter",
            "Deltas received from peers and joined.",
            &one(c.merges as f64),
        );
        metric(
            "merge_errors_total",
            "counter",
            "Deltas received from peers and refused.",
            &one(c.merge_errors as f64),
        );
        metric(
            "keys",
            "gauge",
            "Keys (elements) the replica holds.",
            &one(keys as f64),
        );
        metric(
            "entries",
            "gauge",
            "Entries the replica holds.",
            &one(s.entry_count() as f64),
        );
        metric(
            "log_bytes",
            "gauge",
            "Bytes in the replica's current log.",
            &one(self.replica.log_bytes() as f64),
        );
        metric(
            "refused_handshakes_total",
            "counter",
            "QUIC handshakes refused because the peer's key is not pinned (or not the one dialed).",
            &[
                (
                    "{direction=\"inbound\"}".into(),
                    self.refusals.inbound.load(Ordering::Relaxed) as f64,
                ),
                (
                    "{direction=\"outbound\"}".into(),
                    self.refusals.outbound.load(Ordering::Relaxed) as f64,
                ),
            ],
        );
        let per = |f: &dyn Fn(&Slot) -> f64| -> Vec<(String, f64)> {
            self.peers
                .iter()
                .map(|p| (format!("{{peer=\"{}\"}}", p.spec.key), f(p)))
                .collect()
        };
        metric(
            "peer_connected",
            "gauge",
            "1 while a connection with the peer is up.",
            &per(&|p| f64::from(u8::from(p.live.is_some()))),
        );
        metric(
            "peer_connects_total",
            "counter",
            "Connections established with the peer.",
            &per(&|p| p.connects as f64),
        );
        metric(
            "peer_bytes_in_total",
            "counter",
            "Sync message bytes received from the peer.",
            &per(&|p| p.sync.stats().bytes_in as f64),
        );
        metric(
            "peer_bytes_out_total",
            "counter",
            "Sync message bytes sent to the peer.",
            &per(&|p| p.sync.stats().bytes_out as f64),
        );
        metric(
            "peer_snapshot_bytes_in_total",
            "counter",
            "Bytes of snapshot files taken from the peer (a start from empty).",
            &per(&|p| p.snapshot_bytes_in as f64),
        );
        metric(
            "peer_snapshot_bytes_out_total",
            "counter",
            "Bytes of snapshot files sent to the peer.",
            &per(&|p| p.snapshot_bytes_out as f64),
        );
        metric(
            "peer_messages_in_total",
            "counter",
            "Sync messages received from the peer.",
            &per(&|p| p.sync.stats().messages_in as f64),
        );
        metric(
            "peer_messages_out_total",
            "counter",
            "Sync messages sent to the peer.",
            &per(&|p| p.sync.stats().messages_out as f64),
        );
        metric(
            "peer_sync_rounds_total",
            "counter",
            "Anti-entropy rounds started with the peer.",
            &per(&|p| p.sync.stats().rounds as f64),
        );
        metric(
            "peer_behind_dots",
            "gauge",
            "Dots this node holds that the peer lacked as of its last summaries (per replica, seen dots beyond the peer's; -1: no summary yet).",
            &per(&|p| behind(s, &p.sync).map_or(-1.0, |(_, n)| n as f64)),
        );
        metric(
            "peer_lag_seconds",
            "gauge",
            "Convergence lag: seconds since the peer's summaries last equalled this node's state (at most about a round while in sync; -1: not since start).",
            &per(&|p| p.agreed.map_or(-1.0, |t| t.elapsed().as_secs_f64())),
        );
        metric(
            "peer_errors_total",
            "counter",
            "Messages or deltas from the peer refused.",
            &per(&|p| p.errors as f64),
        );
        metric(
            "peer_last_sync_age_seconds",
            "gauge",
            "Seconds since the last message from the peer (-1: never).",
            &per(&|p| {
                p.last_message
                    .and_then(|t| t.elapsed().ok())
                    .map_or(-1.0, |d| d.as_secs_f64())
            }),
        );
        o
    }
}

/// How far behind `peer` is, as of its last summaries: whether they equal `state`'s (every
/// replica's summary alike, none missing on either side) and the dots `state` holds that
/// they lack (per replica, the seen dots beyond the peer's). `None` before any summary.
/// Costs a summary of each replica's whole range: the dots of the state.
fn behind(state: &AnyState, peer: &Peer) -> Option<(bool, u64)> {
    let (at, theirs) = peer.peer_summaries();
    at?;
    let mut equal = true;
    let mut lack = 0u64;
    let names = state.replicas_seen();
    for name in &names {
        let ours = state.range_summary(name, 1, u64::MAX);
        match theirs.get(name) {
            Some(t) if *t == ours => {}
            Some(t) => {
                equal = false;
                lack += ours.seen.saturating_sub(t.seen);
            }
            None => {
                equal &= ours.is_empty();
                lack += ours.seen;
            }
        }
    }
    // a replica the peer knows and we do not
    equal &= theirs
        .iter()
        .all(|(n, t)| t.is_empty() || names.contains(n));
    Some((equal, lack))
}

/// Milliseconds since the Unix epoch.
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Index of each pinned key in the peer list.
pub(crate) fn index(peers: &[PeerSpec]) -> HashMap<PublicKey, usize> {
    peers.iter().enumerate().map(|(i, p)| (p.key, i)).collect()
}
