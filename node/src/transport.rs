//! QUIC between nodes: one endpoint that both accepts and dials, one connection per peer,
//! sync messages framed on one unidirectional stream per direction.
//!
//! # Framing
//! Each side opens one unidirectional stream on a connection and writes every sync message
//! on it as a 4-byte big-endian length and the message's bytes, after a hello frame of
//! length 0 (the dialer waits for the acceptor's before it counts the connection as up:
//! in TLS 1.3 a client's handshake completes before the server has checked the client's
//! certificate, so without it a refused dialer would think itself connected for a moment). A length over the sync
//! machine's message bound closes the connection (the peer is broken). One ordered stream
//! is the simplest thing that is flow-controlled end to end: when the peer reads slowly,
//! QUIC's stream window fills, the writer task waits, its bounded channel fills, and the
//! replica's owner stops asking the sync machine for messages (the machine's
//! `poll_transmit` is its backpressure). QUIC retransmits what the network loses; the sync
//! protocol would not need it (any message may be lost), so unreliable datagrams for small
//! gossip are a later option, not a need.
//!
//! # Snapshot transfer
//! A node that starts empty (no entries, no dots) asks the first peer it connects to for
//! that peer's newest snapshot file, on a bidirectional stream of its own: the request is
//! [`SNAPSHOT_REQUEST`]; the answer an 8-byte big-endian length (0: declined, the snapshot
//! is missing or smaller than the peer's `snapshot_min`) and the file's bytes. The file is
//! already encoded (the state as of the peer's last fold), so the sender copies it from
//! disk, bounded read-ahead, and the receiver decodes it off the replica's owner with every
//! validation of the state format, then logs the bytes as they came
//! ([`Replica::apply_encoded`](pluriverse_replica::Replica::apply_encoded)); the sync
//! protocol ships what the peer wrote since its fold. While the transfer runs the empty
//! node sends no sync messages, so no peer starts streaming the same state in slices (for
//! at most 30 s: a slower transfer goes on beside the protocol, and what it brings later is
//! joined like any delta). The receiver refuses a length over its bound before reading,
//! a file of another state type on its schema (its first bytes), and gives up after 10 s
//! without a byte or 30 s plus a second per MiB announced in all. Any failure (the peer
//! declines, the connection drops, a stall, the deadline, bytes that do not decode, a panic
//! while decoding) leaves the replica as it was and the protocol carries the whole
//! catch-up.
//!
//! # Connections
//! A node dials every peer that has an address whenever it has no connection with it,
//! with jittered exponential backoff between failed attempts, and accepts connections
//! from any pinned key. When both sides dial at once, both keep the connection dialed by
//! the lower key (decided by the replica's owner, the `actor` module).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify};

use pluriverse::wire::Limits;
use pluriverse::ReplicaId;
use pluriverse_any::StateType;
use pluriverse_replica::dir::Encoded;

use crate::actor::Net;
use crate::identity::PublicKey;
use crate::tls::peer_key;

/// Messages queued towards one connection's writer (each at most the message bound).
pub const OUT_QUEUE: usize = 64;
/// How long a handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(5);
/// First and longest wait between dial attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The longest wait before a node's first dial of a peer (jittered from half of it).
const FIRST_DIAL: Duration = Duration::from_millis(20);
/// A connection that lived this long resets the backoff.
const STABLE: Duration = Duration::from_secs(2);

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

/// QUIC transport settings: keep-alives so that a dead peer is noticed in seconds; quinn's
/// defaults otherwise. (A larger MTU-discovery bound, 65,527, with a 16 MiB stream window
/// made a raw loopback stream copy slower, 0.65x the TCP copy against 1.27x with the
/// defaults in the same run of `node_figures`, twice; likely bursts beyond what the
/// receiving socket buffers hold, lost and sent again.)
pub fn transport_config() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(Duration::from_millis(500)));
    t.max_idle_timeout(Some(
        quinn::IdleTimeout::try_from(Duration::from_secs(3)).expect("3 s is a valid idle timeout"),
    ));
    // one bidirectional stream at a time: a snapshot transfer
    t.max_concurrent_bidi_streams(1u32.into());
    t.max_concurrent_uni_streams(4u32.into());
    Arc::new(t)
}

/// The first bytes on a stream asking the peer for its snapshot file.
pub const SNAPSHOT_REQUEST: &[u8; 8] = b"PLVSNAP1";
/// A snapshot file is read and sent in chunks of this many bytes ...
const SNAPSHOT_CHUNK: usize = 1 << 20;
/// ... with at most this many read ahead of the stream.
const SNAPSHOT_READ_AHEAD: usize = 4;
/// The receiver grows its buffer by at most this many bytes a step (a length the sender
/// declares is a bound, not an allocation).
const SNAPSHOT_STEP: usize = 8 << 20;
/// The longest a snapshot transfer waits for its next bytes (any progress resets it) ...
const SNAPSHOT_STALL: Duration = Duration::from_secs(10);
/// ... and the longest it takes in all: this plus a second per [`SNAPSHOT_RATE`] bytes of
/// the length announced (a peer that drips its bytes cannot hold a transfer for ever).
const SNAPSHOT_GRACE: Duration = Duration::from_secs(30);
const SNAPSHOT_RATE: u64 = 1 << 20;

/// What the connection tasks share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub net: mpsc::Sender<Net>,
    pub room: Arc<Notify>,
    pub max_message: usize,
    pub snapshot: Arc<Snapshot>,
}

/// The replica's newest snapshot file, as its owner last published it: a transfer reads
/// the file without waiting for the owner (which may be busy, say building the indexes of a
/// state it just opened), so the first bytes leave at once.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    path: std::sync::Mutex<Option<std::path::PathBuf>>,
    /// Files smaller than this are not offered.
    pub min: u64,
}

impl Snapshot {
    pub(crate) fn new(min: u64) -> Self {
        Self {
            path: std::sync::Mutex::new(None),
            min,
        }
    }

    /// Publishes the newest snapshot's path.
    pub(crate) fn publish(&self, p: Option<std::path::PathBuf>) {
        let mut g = self.path.lock().unwrap_or_else(|e| e.into_inner());
        if *g != p {
            *g = p;
        }
    }

    /// The newest snapshot file, opened, with its size, when it is at least [`Self::min`]
    /// bytes; asks again when a fold removed it between publishing and opening.
    fn open(&self) -> Option<(std::fs::File, u64)> {
        for _ in 0..3 {
            let p = self
                .path
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()?;
            match std::fs::File::open(&p).and_then(|f| Ok((f.metadata()?.len(), f))) {
                Ok((len, f)) => return (len >= self.min.max(1)).then_some((f, len)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    tracing::warn!("cannot open the snapshot {}: {e}", p.display());
                    return None;
                }
            }
        }
        None
    }
}

/// Accepts connections until the endpoint closes.
pub(crate) async fn accept_loop(
    endpoint: quinn::Endpoint,
    index: HashMap<PublicKey, usize>,
    shared: Shared,
) {
    while let Some(incoming) = endpoint.accept().await {
        let remote = incoming.remote_address();
        let index = index.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let conn = match tokio::time::timeout(HANDSHAKE, incoming).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    tracing::warn!(%remote, "incoming handshake refused: {e}");
                    return;
                }
                Err(_) => {
                    tracing::warn!(%remote, "incoming handshake timed out");
                    return;
                }
            };
            // the verifier let only pinned keys through
            let Some(peer) = peer_key(&conn).and_then(|k| index.get(&k).copied()) else {
                tracing::warn!(%remote, "connection without a pinned key closed");
                conn.close(2u32.into(), b"not pinned");
                return;
            };
            run_connection(conn, peer, false, &shared).await;
        });
    }
}

/// A uniformly random duration in `[d/2, d]` (jitter, so that peers cut off together do
/// not redial in lockstep).
fn jitter(d: Duration) -> Duration {
    let r = pluriverse_replica::identity::random_u64();
    let half = d / 2;
    half + Duration::from_nanos(r % (half.as_nanos() as u64 + 1))
}

/// Dials peer `peer` at `addr` whenever no connection with it is up, until the endpoint
/// closes.
pub(crate) async fn dial_loop(
    endpoint: quinn::Endpoint,
    config: quinn::ClientConfig,
    peer: usize,
    key: PublicKey,
    addr: SocketAddr,
    mut connected: watch::Receiver<bool>,
    shared: Shared,
) {
    let mut backoff = BACKOFF_MIN;
    // a small first delay: nodes started together do not all dial at the same instant
    tokio::time::sleep(jitter(FIRST_DIAL)).await;
    loop {
        while *connected.borrow_and_update() {
            if connected.changed().await.is_err() {
                return;
            }
        }
        let connecting = match endpoint.connect_with(config.clone(), addr, "pluriverse-node") {
            Ok(c) => c,
            Err(quinn::ConnectError::EndpointStopping) => return,
            Err(e) => {
                tracing::warn!(peer = %key.short(), %addr, "cannot dial: {e}");
                tokio::time::sleep(jitter(BACKOFF_MAX)).await;
                continue;
            }
        };
        let start = Instant::now();
        match tokio::time::timeout(HANDSHAKE, connecting).await {
            Ok(Ok(conn)) => {
                run_connection(conn, peer, true, &shared).await;
                if start.elapsed() >= STABLE {
                    backoff = BACKOFF_MIN;
                }
            }
            Ok(Err(e)) => {
                let why = format!("dial failed: {e}");
                tracing::debug!(peer = %key.short(), %addr, "{why}");
                let _ = shared.net.send(Net::Failed { peer, why }).await;
            }
            Err(_) => {
                let why = "dial timed out".to_string();
                tracing::debug!(peer = %key.short(), %addr, "{why}");
                let _ = shared.net.send(Net::Failed { peer, why }).await;
            }
        }
        if shared.net.is_closed() {
            return;
        }
        tokio::time::sleep(jitter(backoff)).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Reads the accepting side's first frame on its stream: it opens the stream only once it
/// has accepted our key (in TLS 1.3 the client's handshake ends before the server has
/// checked the client's certificate), so a connection is up for the dialer only after it.
async fn await_hello(conn: &quinn::Connection) -> Result<quinn::RecvStream, String> {
    let mut r = conn.accept_uni().await.map_err(|e| e.to_string())?;
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    if len != [0; 4] {
        return Err("the peer's stream does not start with the hello frame".into());
    }
    Ok(r)
}

/// Carries sync messages on an established connection until it ends; tells the replica's
/// owner when it is up and when it is down.
///
/// Each side's stream starts with a hello frame (length 0); empty frames carry no message.
async fn run_connection(conn: quinn::Connection, peer: usize, dialed: bool, shared: &Shared) {
    let incoming = if dialed {
        match tokio::time::timeout(HANDSHAKE, await_hello(&conn)).await {
            Ok(Ok(r)) => Some(r),
            Ok(Err(e)) => {
                let _ = shared
                    .net
                    .send(Net::Failed {
                        peer,
                        why: format!("refused by the peer: {e}"),
                    })
                    .await;
                return;
            }
            Err(_) => {
                conn.close(4u32.into(), b"no hello");
                let _ = shared
                    .net
                    .send(Net::Failed {
                        peer,
                        why: "the peer sent no hello".into(),
                    })
                    .await;
                return;
            }
        }
    } else {
        None
    };
    let id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(OUT_QUEUE);
    let up = Net::Up {
        peer,
        id,
        dialed,
        conn: conn.clone(),
        tx,
    };
    if shared.net.send(up).await.is_err() {
        conn.close(0u32.into(), b"shutdown");
        return;
    }
    let writer = async {
        let mut s = conn.open_uni().await.map_err(|e| e.to_string())?;
        s.write_all(&[0; 4]).await.map_err(|e| e.to_string())?;
        while let Some(m) = rx.recv().await {
            shared.room.notify_one();
            let len = u32::try_from(m.len()).map_err(|_| "message over 4 GiB".to_string())?;
            s.write_all(&len.to_be_bytes())
                .await
                .map_err(|e| e.to_string())?;
            s.write_all(&m).await.map_err(|e| e.to_string())?;
        }
        Ok::<_, String>("replaced".to_string())
    };
    let reader = async {
        let mut r = match incoming {
            Some(r) => r,
            None => conn.accept_uni().await.map_err(|e| e.to_string())?,
        };
        loop {
            let mut len = [0u8; 4];
            r.read_exact(&mut len).await.map_err(|e| e.to_string())?;
            let n = u32::from_be_bytes(len) as usize;
            if n == 0 {
                continue;
            }
            if n > shared.max_message {
                conn.close(3u32.into(), b"message over the bound");
                return Err(format!(
                    "the peer sent a {n}-byte message, over the bound of {}",
                    shared.max_message
                ));
            }
            let mut buf = vec![0u8; n];
            r.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            let m = Net::Message {
                peer,
                id,
                bytes: buf,
            };
            if shared.net.send(m).await.is_err() {
                return Ok::<_, String>("shutdown".to_string());
            }
        }
    };
    let snapshots = async {
        loop {
            let (send, recv) = match conn.accept_bi().await {
                Ok(s) => s,
                Err(e) => return e.to_string(),
            };
            if let Err(e) = serve_snapshot(send, recv, peer, shared).await {
                tracing::warn!("a snapshot transfer to the peer failed: {e}");
            }
        }
    };
    let why = tokio::select! {
        r = writer => r.unwrap_or_else(|e| e),
        r = reader => r.unwrap_or_else(|e| e),
        why = snapshots => why,
    };
    // a peer that closed the connection said why (a node shutting down says "shutdown")
    let why = match conn.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => {
            format!("closed by the peer: {}", String::from_utf8_lossy(&c.reason))
        }
        _ => why,
    };
    conn.close(0u32.into(), b"");
    let _ = shared.net.send(Net::Down { peer, id, why }).await;
}

/// `fut`, given up after [`SNAPSHOT_STALL`].
async fn stall<T, E: std::fmt::Display>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(SNAPSHOT_STALL, fut).await {
        Ok(r) => r.map_err(|e| format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: nothing for {SNAPSHOT_STALL:?}")),
    }
}

/// Answers one snapshot request: sends the replica's newest snapshot file ([`Snapshot`]),
/// read ahead on a blocking thread by at most [`SNAPSHOT_READ_AHEAD`] chunks. Returns
/// the bytes sent.
async fn serve_snapshot(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    peer: usize,
    shared: &Shared,
) -> Result<u64, String> {
    let mut req = [0u8; 8];
    stall("the request", recv.read_exact(&mut req)).await?;
    if &req != SNAPSHOT_REQUEST {
        let _ = send.reset(5u32.into());
        return Err("a stream that is no snapshot request".into());
    }
    // opening may wait a few ms for a fold to publish the next file: off the runtime
    let snapshot = shared.snapshot.clone();
    let opened = tokio::task::spawn_blocking(move || snapshot.open())
        .await
        .ok()
        .flatten();
    let Some((file, len)) = opened else {
        stall("the answer", send.write_all(&0u64.to_be_bytes())).await?;
        let _ = send.finish();
        return Ok(0);
    };
    stall("the length", send.write_all(&len.to_be_bytes())).await?;
    let (chunks, mut next) = mpsc::channel::<std::io::Result<Vec<u8>>>(SNAPSHOT_READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = file;
        let mut left = len;
        while left > 0 {
            let n = left.min(SNAPSHOT_CHUNK as u64) as usize;
            let mut buf = vec![0u8; n];
            let r = f.read_exact(&mut buf).map(|()| buf);
            let failed = r.is_err();
            if chunks.blocking_send(r).is_err() || failed {
                return;
            }
            left -= n as u64;
        }
    });
    let mut sent = 0u64;
    while let Some(c) = next.recv().await {
        let c = c.map_err(|e| format!("reading the snapshot file: {e}"))?;
        stall("sending", send.write_all(&c)).await?;
        sent += c.len() as u64;
    }
    if sent != len {
        let _ = send.reset(6u32.into());
        return Err(format!(
            "the snapshot file ended after {sent} of {len} bytes"
        ));
    }
    let _ = send.finish();
    let _ = shared
        .net
        .send(Net::SnapshotSent { peer, bytes: sent })
        .await;
    Ok(sent)
}

/// Asks the peer on `conn` for its snapshot file ([`SNAPSHOT_REQUEST`]), decodes it as a
/// state of `writer` within `limits` on a blocking thread, and tells the replica's owner
/// ([`Net::Snapshot`]: `None` when the peer declined). A file over `max` bytes is refused
/// before it is read. After the owner has the state, the same thread builds the dot indexes
/// the sync machine's first summaries need (the runs pass into a blank state as they are,
/// indexes and all), so the owner does not build them.
pub(crate) async fn fetch_snapshot(
    conn: quinn::Connection,
    max: u64,
    ty: StateType,
    writer: ReplicaId,
    limits: Limits,
    peer: usize,
    net: mpsc::Sender<Net>,
) {
    let bytes = match receive_snapshot(conn, max, ty).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            let _ = net
                .send(Net::Snapshot {
                    peer,
                    result: Ok(None),
                })
                .await;
            return;
        }
        Err(e) => {
            let _ = net
                .send(Net::Snapshot {
                    peer,
                    result: Err(e),
                })
                .await;
            return;
        }
    };
    let len = bytes.len();
    let t = Instant::now();
    let tell = net.clone();
    let work = tokio::task::spawn_blocking(move || {
        let e = match Encoded::decode(bytes, writer, &limits) {
            Ok(e) => e,
            Err(e) => {
                let why = format!("the snapshot does not decode: {e}");
                let _ = net.blocking_send(Net::Snapshot {
                    peer,
                    result: Err(why),
                });
                return;
            }
        };
        let decoded = t.elapsed();
        // the dot indexes the first summaries need, built here rather than on the owner's
        // thread; on the state itself, so that no second holder of its runs is left to
        // make the owner's first change to them a copy
        for n in e.state().replicas_seen() {
            e.state().range_summary(&n, 1, u64::MAX);
        }
        tracing::info!(
            bytes = len,
            decoded_s = decoded.as_secs_f64(),
            indexed_s = t.elapsed().as_secs_f64(),
            "snapshot decoded"
        );
        let _ = net.blocking_send(Net::Snapshot {
            peer,
            result: Ok(Some(e)),
        });
    });
    if let Err(e) = work.await {
        // the owner waits for an answer: a panic is one (it ignores a second)
        let _ = tell
            .send(Net::Snapshot {
                peer,
                result: Err(format!("decoding the snapshot failed: {e}")),
            })
            .await;
    }
}

/// The request and the transfer of [`fetch_snapshot`]: the file's bytes, or `None` when
/// the peer declined.
async fn receive_snapshot(
    conn: quinn::Connection,
    max: u64,
    ty: StateType,
) -> Result<Option<Vec<u8>>, String> {
    let asked = Instant::now();
    let (mut send, mut recv) = stall("opening a stream", conn.open_bi()).await?;
    stall("the request", send.write_all(SNAPSHOT_REQUEST)).await?;
    let _ = send.finish();
    let mut len = [0u8; 8];
    stall("the answer", recv.read_exact(&mut len)).await?;
    let len = u64::from_be_bytes(len);
    if len == 0 {
        return Ok(None);
    }
    if len > max {
        let _ = recv.stop(7u32.into());
        return Err(format!(
            "the peer offers a {len}-byte snapshot, over the bound of {max}"
        ));
    }
    let answered = asked.elapsed();
    let deadline =
        tokio::time::Instant::now() + SNAPSHOT_GRACE + Duration::from_secs(len / SNAPSHOT_RATE);
    let len = len as usize;
    let mut buf = Vec::with_capacity(len.min(SNAPSHOT_STEP));
    let mut typed = false;
    while buf.len() < len {
        let start = buf.len();
        buf.resize(start + (len - start).min(SNAPSHOT_STEP), 0);
        let mut at = start;
        while at < buf.len() {
            let read = tokio::time::timeout_at(
                deadline,
                stall("the snapshot's bytes", recv.read(&mut buf[at..])),
            )
            .await
            .map_err(|_| {
                format!("the snapshot: {len} bytes not received by the deadline ({at} came)")
            })??;
            match read {
                Some(n) => at += n,
                None => return Err(format!("the snapshot ended after {at} of {len} bytes")),
            }
        }
        if !typed {
            // a state of another type is refused on its schema, not after the whole file
            if let Ok(theirs) = StateType::of_bytes(&buf) {
                if theirs != ty {
                    let _ = recv.stop(8u32.into());
                    return Err(format!(
                        "the peer's snapshot holds a {theirs}, this node a {ty}"
                    ));
                }
                typed = true;
            }
        }
    }
    tracing::info!(
        bytes = len,
        answered_s = answered.as_secs_f64(),
        received_s = asked.elapsed().as_secs_f64(),
        "snapshot received"
    );
    Ok(Some(buf))
}
