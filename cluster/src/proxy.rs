//! A UDP fault proxy (after toxiproxy and Jepsen's nemesis): it sits between a QUIC dialer
//! and the node it dials, on 127.0.0.1, and drops, duplicates, delays and reorders
//! datagrams as a seeded random draw decides, and drops everything while it is blocked
//! (a partition).
//!
//! One proxy serves one directed pair: node A dials node B at the proxy's address; the
//! proxy forwards A's datagrams to B from a socket of its own (one per source address, as
//! a NAT does, so that a restarted A on a new port gets a fresh path) and B's answers back
//! to A. Faults apply to both directions. B's address can change while the proxy runs
//! ([`Proxy::set_target`]: B restarted on another port).
//!
//! The proxy stops by itself: when its [`Proxy`] handle is dropped, or at the end of the
//! lifetime it was given, whichever comes first. Its memory is bounded: at most
//! [`MAX_QUEUED`] datagrams wait for their delay, at most [`MAX_CLIENTS`] source addresses
//! have a path (the oldest is forgotten).
//!
//! # Example
//! (Compiled, not run: `tests/proxy.rs` runs the same with every wait bounded. This
//! example once hung on a loaded machine: deliveries used `try_send`, which drops what a
//! socket whose readiness tokio has not yet seen would take; they now wait for it.)
//! ```no_run
//! use std::time::Duration;
//! use pluriverse_cluster::proxy::{Faults, Proxy};
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
//!     let faults = Faults { loss: 0.0, dup: 0.0, delay: Duration::ZERO };
//!     let p = Proxy::start(Some(server.local_addr().unwrap()), faults, 7, Duration::from_secs(10))
//!         .await
//!         .unwrap();
//!     let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
//!     client.send_to(b"hello", p.addr()).await.unwrap();
//!     let mut buf = [0u8; 16];
//!     let (n, from) = server.recv_from(&mut buf).await.unwrap();
//!     assert_eq!(&buf[..n], b"hello");
//!     server.send_to(b"back", from).await.unwrap();
//!     let (n, _) = client.recv_from(&mut buf).await.unwrap();
//!     assert_eq!(&buf[..n], b"back");
//!     p.set_blocked(true); // a partition: nothing passes
//!     client.send_to(b"lost", p.addr()).await.unwrap();
//!     let r = tokio::time::timeout(Duration::from_millis(100), server.recv_from(&mut buf)).await;
//!     assert!(r.is_err());
//!     assert_eq!(p.stats().dropped_partition, 1);
//! });
//! ```

use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::rng::{self, Rng};

/// Most datagrams waiting for their delay; beyond, new ones are dropped (counted).
pub const MAX_QUEUED: usize = 8192;
/// Most source addresses with a path of their own; a new one beyond forgets the oldest.
pub const MAX_CLIENTS: usize = 8;
/// The longest a delivery waits for its socket to take the datagram (then it is dropped,
/// counted in [`Stats::dropped_other`]).
const SEND_WAIT: Duration = Duration::from_millis(100);
/// The largest datagram carried (QUIC's are at most about 1,500 bytes on loopback).
const MAX_DATAGRAM: usize = 65_535;

/// What the proxy does to each datagram that is not blocked.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Faults {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a datagram that passes is delivered twice (each copy delayed on
    /// its own).
    pub dup: f64,
    /// Each delivery waits a uniformly random time up to this (reordering follows).
    #[serde(serialize_with = "crate::report::millis")]
    pub delay: Duration,
}

/// What a proxy has done, both directions together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Datagrams received from either side.
    pub datagrams_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Datagrams delivered (duplicates included).
    pub datagrams_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Dropped by the loss draw.
    pub dropped_loss: u64,
    /// Dropped because the proxy was blocked (on arrival or when due).
    pub dropped_partition: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Dropped because the delay queue was full, the target unknown or a socket refused.
    pub dropped_other: u64,
}

#[derive(Default)]
struct Counters {
    datagrams_in: AtomicU64,
    bytes_in: AtomicU64,
    datagrams_out: AtomicU64,
    bytes_out: AtomicU64,
    dropped_loss: AtomicU64,
    dropped_partition: AtomicU64,
    duplicated: AtomicU64,
    dropped_other: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// A running proxy; dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    blocked: Arc<AtomicBool>,
    target: Arc<Mutex<Option<SocketAddr>>>,
    counters: Arc<Counters>,
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field("target", &self.target())
            .field("blocked", &self.blocked.load(Ordering::Relaxed))
            .finish()
    }
}

/// Which way a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// From the client at this address towards the target.
    Forward(SocketAddr),
    /// From the target back to the client at this address.
    Back(SocketAddr),
}

/// A datagram waiting for its delay.
struct Due {
    at: Instant,
    seq: u64,
    way: Way,
    bytes: Vec<u8>,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    // the earliest first in a max-heap
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

impl Proxy {
    /// Binds a proxy on `127.0.0.1` (a port chosen by the system) forwarding to `target`
    /// (`None`: datagrams are dropped until [`Proxy::set_target`]), with faults drawn from
    /// `seed`. Call inside a tokio runtime; the proxy's task runs on it until the handle is
    /// dropped or `lifetime` has passed.
    ///
    /// # Errors
    /// The socket cannot be bound; `loss` or `dup` outside `0..=1`.
    pub async fn start(
        target: Option<SocketAddr>,
        faults: Faults,
        seed: u64,
        lifetime: Duration,
    ) -> io::Result<Self> {
        for (name, p) in [("loss", faults.loss), ("dup", faults.dup)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name} {p} is not a probability from 0 to 1"),
                ));
            }
        }
        let listen = UdpSocket::bind(("127.0.0.1", 0)).await?;
        let addr = listen.local_addr()?;
        let blocked = Arc::new(AtomicBool::new(false));
        let target = Arc::new(Mutex::new(target));
        let counters = Arc::new(Counters::default());
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = Task {
            listen: Arc::new(listen),
            blocked: blocked.clone(),
            target: target.clone(),
            counters: counters.clone(),
            faults,
            rng: rng::seeded(seed),
        };
        tokio::spawn(task.run(stop_rx, lifetime));
        Ok(Self {
            addr,
            blocked,
            target,
            counters,
            _stop: stop_tx,
        })
    }

    /// The address clients send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where datagrams from clients go.
    pub fn target(&self) -> Option<SocketAddr> {
        *self.target.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes where datagrams from clients go (the target restarted on another port).
    pub fn set_target(&self, t: SocketAddr) {
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
    }

    /// Blocks (a partition: every datagram is dropped, also those already delayed) or
    /// unblocks.
    pub fn set_blocked(&self, b: bool) {
        self.blocked.store(b, Ordering::SeqCst);
    }

    /// Whether the proxy is blocked.
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::SeqCst)
    }

    /// What it has done so far.
    pub fn stats(&self) -> Stats {
        self.counters.stats()
    }

    /// A handle that reads [`Proxy::stats`] without the proxy (a thread sampling every
    /// proxy while the harness holds them); it reads the last counts once the proxy stops.
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader(self.counters.clone())
    }
}

/// Reads a proxy's [`Stats`] from another thread ([`Proxy::stats_reader`]).
#[derive(Clone)]
pub struct StatsReader(Arc<Counters>);

impl std::fmt::Debug for StatsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StatsReader").field(&self.stats()).finish()
    }
}

impl StatsReader {
    /// What the proxy has done so far.
    pub fn stats(&self) -> Stats {
        self.0.stats()
    }
}

impl Counters {
    fn stats(&self) -> Stats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            datagrams_in: g(&self.datagrams_in),
            bytes_in: g(&self.bytes_in),
            datagrams_out: g(&self.datagrams_out),
            bytes_out: g(&self.bytes_out),
            dropped_loss: g(&self.dropped_loss),
            dropped_partition: g(&self.dropped_partition),
            duplicated: g(&self.duplicated),
            dropped_other: g(&self.dropped_other),
        }
    }
}

/// A client's path: the socket the target sees it as.
struct Path {
    socket: Arc<UdpSocket>,
    last_used: Instant,
    reader: tokio::task::AbortHandle,
}

struct Task {
    listen: Arc<UdpSocket>,
    blocked: Arc<AtomicBool>,
    target: Arc<Mutex<Option<SocketAddr>>>,
    counters: Arc<Counters>,
    faults: Faults,
    rng: Rng,
}

impl Task {
    async fn run(mut self, mut stop: oneshot::Receiver<()>, lifetime: Duration) {
        let end = Instant::now() + lifetime;
        let mut paths: HashMap<SocketAddr, Path> = HashMap::new();
        let mut readers = JoinSet::new();
        let (back_tx, mut back_rx) = mpsc::channel::<(SocketAddr, Vec<u8>)>(1024);
        let mut queue: BinaryHeap<Due> = BinaryHeap::new();
        let mut seq = 0u64;
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let next = queue.peek().map_or(end, |d| d.at.min(end));
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep_until(next) => {
                    if Instant::now() >= end {
                        break;
                    }
                }
                r = self.listen.recv_from(&mut buf) => {
                    let Ok((n, from)) = r else { continue };
                    if let std::collections::hash_map::Entry::Vacant(v) = paths.entry(from) {
                        let Ok(socket) = UdpSocket::bind(("127.0.0.1", 0)).await else {
                            bump(&self.counters.dropped_other, 1);
                            continue;
                        };
                        let socket = Arc::new(socket);
                        let reader = readers.spawn(read_back(socket.clone(), from, back_tx.clone()));
                        v.insert(Path { socket, last_used: Instant::now(), reader });
                        if paths.len() > MAX_CLIENTS {
                            if let Some(old) = paths
                                .iter()
                                .filter(|(a, _)| **a != from)
                                .min_by_key(|(_, p)| p.last_used)
                                .map(|(a, _)| *a)
                            {
                                if let Some(p) = paths.remove(&old) {
                                    p.reader.abort();
                                }
                            }
                        }
                    }
                    if let Some(p) = paths.get_mut(&from) {
                        p.last_used = Instant::now();
                    }
                    self.arrive(Way::Forward(from), buf[..n].to_vec(), &mut queue, &mut seq);
                }
                Some((client, bytes)) = back_rx.recv() => {
                    self.arrive(Way::Back(client), bytes, &mut queue, &mut seq);
                }
            }
            let now = Instant::now();
            while queue.peek().is_some_and(|d| d.at <= now) {
                let Some(d) = queue.pop() else { break };
                self.deliver(d, &paths).await;
            }
        }
        readers.abort_all();
    }

    /// A datagram arrived: drop it, or queue it (twice) for delivery after its delay.
    fn arrive(&mut self, way: Way, bytes: Vec<u8>, queue: &mut BinaryHeap<Due>, seq: &mut u64) {
        let c = &self.counters;
        bump(&c.datagrams_in, 1);
        bump(&c.bytes_in, bytes.len() as u64);
        if self.blocked.load(Ordering::SeqCst) {
            bump(&c.dropped_partition, 1);
            return;
        }
        if self.rng.chance(self.faults.loss) {
            bump(&c.dropped_loss, 1);
            return;
        }
        let copies = if self.rng.chance(self.faults.dup) {
            2
        } else {
            1
        };
        if copies == 2 {
            bump(&c.duplicated, 1);
        }
        let max = self.faults.delay.as_micros() as u64;
        for _ in 0..copies {
            if queue.len() >= MAX_QUEUED {
                bump(&c.dropped_other, 1);
                continue;
            }
            let delay = if max == 0 { 0 } else { self.rng.below(max + 1) };
            *seq += 1;
            queue.push(Due {
                at: Instant::now() + Duration::from_micros(delay),
                seq: *seq,
                way,
                bytes: bytes.clone(),
            });
        }
    }

    /// Sends a datagram whose time has come. A send waits for the socket to be writable
    /// (at most [`SEND_WAIT`]): a `try_send` would drop every datagram of a burst after
    /// the first that found the socket's readiness not yet known or spent, since the
    /// reactor that renews it waits for this task (a fault no schedule asked for: a
    /// clean path lost two thirds of a 200-datagram burst that way).
    async fn deliver(&self, d: Due, paths: &HashMap<SocketAddr, Path>) {
        let c = &self.counters;
        if self.blocked.load(Ordering::SeqCst) {
            bump(&c.dropped_partition, 1);
            return;
        }
        let to = match d.way {
            Way::Forward(client) => {
                let target = *self.target.lock().unwrap_or_else(|e| e.into_inner());
                match (target, paths.get(&client)) {
                    (Some(t), Some(p)) => Some((&*p.socket, t)),
                    _ => None,
                }
            }
            Way::Back(client) => Some((&*self.listen, client)),
        };
        let sent = match to {
            Some((socket, to)) => matches!(
                tokio::time::timeout(SEND_WAIT, socket.send_to(&d.bytes, to)).await,
                Ok(Ok(_))
            ),
            None => false,
        };
        if sent {
            bump(&c.datagrams_out, 1);
            bump(&c.bytes_out, d.bytes.len() as u64);
        } else {
            bump(&c.dropped_other, 1);
        }
    }
}

/// Reads what the target answers on a client's path and hands it to the proxy's task.
async fn read_back(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    tx: mpsc::Sender<(SocketAddr, Vec<u8>)>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while let Ok((n, _)) = socket.recv_from(&mut buf).await {
        if tx.send((client, buf[..n].to_vec())).await.is_err() {
            return;
        }
    }
}
