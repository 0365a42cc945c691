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
    t.max_concurrent_bidi_streams(0u32.into());
    t.max_concurrent_uni_streams(4u32.into());
    Arc::new(t)
}

/// What the connection tasks share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub net: mpsc::Sender<Net>,
    pub room: Arc<Notify>,
    pub max_message: usize,
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
    tokio::time::sleep(jitter(BACKOFF_MIN)).await;
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
    let why = tokio::select! {
        r = writer => r.unwrap_or_else(|e| e),
        r = reader => r.unwrap_or_else(|e| e),
    };
    conn.close(0u32.into(), b"");
    let _ = shared.net.send(Net::Down { peer, id, why }).await;
}
