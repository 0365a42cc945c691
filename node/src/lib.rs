//! pluriverse nodes: a process serving one durable replica, syncing with pinned peers over
//! QUIC through the sans-IO protocol of [`pluriverse_replica::sync`], with a local HTTP API.
//!
//! | module | what it holds |
//! |---|---|
//! | [`identity`] | the node's ed25519 key (`node.key`, mode 0600), its self-signed certificate, [`PublicKey`] |
//! | [`tls`] | mutual TLS by pinned keys: the custom rustls verifiers of both sides |
//! | [`peers`] | [`PeerSpec`]: `PUBKEY@ADDR` on the command line and in a peers file |
//! | [`transport`] | QUIC: accepting, dialing with jittered backoff, message framing, the snapshot transfer of a node starting empty |
//! | `actor` | the thread that owns the [`Replica`] and the peers' sync machines; group commit |
//! | `http` | the HTTP API (axum): per-kind writes and reads, `/status`, `/metrics` |
//! | [`batch`] | `POST /batch`: an Arrow IPC stream of keys and values, written as one write |
//! | [`json`] | keys and values between text, JSON and [`Scalar`](pluriverse_any::Scalar) |
//! | [`client`] | a small blocking HTTP client for the API (tests, harnesses) |
//!
//! [`init`] makes a node's directory; [`Node::start`] runs one inside a tokio runtime
//! (tests start several in one process); [`run_until_signal`] is `pluriverse node run`.
//!
//! # Example
//! ```no_run
//! # async fn f() -> Result<(), pluriverse_node::NodeError> {
//! use pluriverse_any::{Kind, KeyType, StateType, ValueType};
//! use pluriverse_node::{init, Node, NodeConfig};
//! let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
//! let key = init("/tmp/paris".as_ref(), "paris", t)?;
//! println!("paris is {key}");
//! let node = Node::start(NodeConfig::new("/tmp/paris")).await?;
//! println!("HTTP on {}", node.http_addr());
//! node.shutdown().await?;
//! # Ok(()) }
//! ```

mod actor;
pub mod batch;
pub mod client;
pub mod error;
mod http;
pub mod identity;
pub mod json;
pub mod peers;
pub mod tls;
pub mod transport;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pluriverse_any::StateType;
use pluriverse_replica::sync::{Config as SyncConfig, Peer};
use pluriverse_replica::{Durability, Options, Replica, ReplicaError};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinSet;

pub use error::{NodeError, Result};
pub use identity::{Identity, PublicKey};
pub use peers::PeerSpec;

/// The file in a node's directory where a running node writes the addresses it is bound
/// to (JSON: `quic`, `http`, `public_key`, `pid`), for scripts and tests that start it on
/// port 0.
pub const ADDR_FILE: &str = "node-addresses.json";

/// Commands waiting for the replica's owner (HTTP requests beyond wait in their handlers).
const CMD_QUEUE: usize = 1024;
/// Network events waiting for the replica's owner (connection tasks beyond wait, and so
/// does QUIC's flow control).
const NET_QUEUE: usize = 256;

/// Makes a node's directory: a replica named `name` of type `ty` and a fresh identity key.
/// Returns the node's public key.
///
/// # Errors
/// [`NodeError::Key`] or [`NodeError::Replica`] (`AlreadyExists`) when `dir` holds a node
/// or a replica already; I/O errors.
pub fn init(dir: &Path, name: &str, ty: StateType) -> Result<PublicKey> {
    if dir.join(identity::KEY_FILE).exists() {
        return Err(NodeError::Key {
            path: dir.join(identity::KEY_FILE),
            why: "exists already: the directory holds a node".into(),
        });
    }
    let id = Identity::generate()?;
    let replica = Replica::create(dir, name, ty, Options::default())?;
    id.save(dir)?;
    replica.close()?;
    Ok(id.public())
}

/// How to run a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's directory (made by [`init`]).
    pub dir: PathBuf,
    /// The UDP address QUIC listens on (and dials from).
    pub listen: SocketAddr,
    /// The TCP address of the HTTP API.
    pub http: SocketAddr,
    /// The pinned peers.
    pub peers: Vec<PeerSpec>,
    /// A bearer token the HTTP API requires; needed when `http` is not a loopback address.
    pub token: Option<String>,
    /// What an acknowledged write survives.
    pub durability: Durability,
    /// The sync machines' bounds and round interval.
    pub sync: SyncConfig,
    /// The smallest snapshot file this node sends to a peer that starts empty and asks for
    /// one (see [`transport`]'s "Snapshot transfer"); smaller states go through the sync
    /// protocol alone, which ships them in a few messages anyway. `u64::MAX`: never.
    pub snapshot_min: u64,
}

/// [`NodeConfig::snapshot_min`]'s default: 1 MiB.
pub const SNAPSHOT_MIN: u64 = 1 << 20;

impl NodeConfig {
    /// Defaults: QUIC and HTTP on `127.0.0.1` with ports chosen by the system, no peers, no
    /// token, group commit, the sync protocol's default bounds with a 500 ms round and
    /// messages up to [`STREAM_MESSAGE`], snapshot files offered from [`SNAPSHOT_MIN`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            peers: Vec::new(),
            token: None,
            durability: Durability::Group,
            sync: SyncConfig {
                round_interval: Duration::from_millis(500),
                max_message: STREAM_MESSAGE,
                ..SyncConfig::default()
            },
            snapshot_min: SNAPSHOT_MIN,
        }
    }
}

/// The node's message bound: 1 MiB. Every sync message goes on a QUIC stream (none as a
/// datagram, which would need 1,200 bytes), so the bound is not a packet's but a frame's: a
/// catch-up ships its state in slices of about this size (16 times fewer than at the sync
/// protocol's 64 KiB default, each a valid delta on its own), and a peer's queue holds at
/// most [`transport::OUT_QUEUE`] of them.
pub const STREAM_MESSAGE: usize = 1 << 20;

/// A running node.
pub struct Node {
    public_key: PublicKey,
    quic_addr: SocketAddr,
    http_addr: SocketAddr,
    endpoint: quinn::Endpoint,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<std::result::Result<(), ReplicaError>>>,
    http_stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("public_key", &self.public_key)
            .field("quic", &self.quic_addr)
            .field("http", &self.http_addr)
            .finish()
    }
}

impl Node {
    /// Opens the node's replica and starts serving: QUIC, the dialers of its peers and the
    /// HTTP API. Call inside a tokio runtime. Writes [`ADDR_FILE`].
    ///
    /// # Errors
    /// A missing or bad key, bad peers, the replica refusing to open (locked by another
    /// process, damaged), a public HTTP address without a token, a port that cannot be
    /// bound.
    pub async fn start(cfg: NodeConfig) -> Result<Self> {
        let id = Identity::load(&cfg.dir)?;
        let own = id.public();
        peers::check(own, &cfg.peers)?;
        if !cfg.http.ip().is_loopback() && cfg.token.is_none() {
            return Err(NodeError::Config(format!(
                "the HTTP API on {} is reachable from other machines: give a --token",
                cfg.http
            )));
        }
        if cfg
            .token
            .as_deref()
            .is_some_and(|t| t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(NodeError::Config(
                "the token must be non-empty, without spaces or control characters".into(),
            ));
        }
        let replica = Replica::open(
            &cfg.dir,
            Options {
                durability: cfg.durability,
                ..Options::default()
            },
        )?;
        let ty = replica.state().state_type();
        let creds = tls::Credentials::new(&id)?;
        let refusals = Arc::new(tls::Refusals::default());
        let pinned: HashSet<PublicKey> = cfg.peers.iter().map(|p| p.key).collect();
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(
            creds.server_config(pinned, refusals.clone())?,
        ));
        server.transport_config(transport::transport_config());
        let endpoint =
            quinn::Endpoint::server(server, cfg.listen).map_err(|source| NodeError::Bind {
                what: "QUIC",
                addr: cfg.listen,
                source,
            })?;
        let quic_addr = endpoint.local_addr().map_err(|source| NodeError::Bind {
            what: "QUIC",
            addr: cfg.listen,
            source,
        })?;
        let listener = tokio::net::TcpListener::bind(cfg.http)
            .await
            .map_err(|source| NodeError::Bind {
                what: "HTTP",
                addr: cfg.http,
                source,
            })?;
        let http_addr = listener.local_addr().map_err(|source| NodeError::Bind {
            what: "HTTP",
            addr: cfg.http,
            source,
        })?;

        let snapshot = Arc::new(transport::Snapshot::new(cfg.snapshot_min));
        let (cmd_tx, cmd_rx) = mpsc::channel(CMD_QUEUE);
        let (net_tx, net_rx) = mpsc::channel(NET_QUEUE);
        let room = Arc::new(Notify::new());
        let mut machines = Vec::with_capacity(cfg.peers.len());
        let mut watches = Vec::with_capacity(cfg.peers.len());
        for p in &cfg.peers {
            let (tx, rx) = watch::channel(false);
            machines.push((*p, Peer::new(ty, cfg.sync)?, tx));
            watches.push(rx);
        }
        let actor = actor::Actor::new(actor::Setup {
            replica,
            own,
            peers: machines,
            refusals: refusals.clone(),
            room: room.clone(),
            quic_addr,
            http_addr,
            net_rt: tokio::runtime::Handle::current(),
            net: net_tx.clone(),
            snapshot: snapshot.clone(),
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("pluriverse-replica".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let r = match rt {
                    Ok(rt) => rt.block_on(actor.run(cmd_rx, net_rx, stop_rx)),
                    Err(e) => Err(ReplicaError::Config(format!("actor runtime: {e}"))),
                };
                let _ = done_tx.send(r);
            })
            .map_err(|e| NodeError::Config(format!("cannot start the replica's thread: {e}")))?;

        let shared = transport::Shared {
            net: net_tx,
            room,
            max_message: cfg.sync.max_message,
            snapshot,
        };
        let mut tasks = JoinSet::new();
        tasks.spawn(transport::accept_loop(
            endpoint.clone(),
            actor::index(&cfg.peers),
            shared.clone(),
        ));
        for (i, (p, rx)) in cfg.peers.iter().zip(watches).enumerate() {
            let Some(addr) = p.addr else { continue };
            let mut client =
                quinn::ClientConfig::new(Arc::new(creds.client_config(p.key, refusals.clone())?));
            client.transport_config(transport::transport_config());
            tasks.spawn(transport::dial_loop(
                endpoint.clone(),
                client,
                i,
                p.key,
                addr,
                rx,
                shared.clone(),
            ));
        }
        drop(shared);
        let (http_stop, mut http_stop_rx) = watch::channel(false);
        let app = http::App {
            cmds: cmd_tx,
            ty,
            token: cfg.token.as_deref().map(Arc::from),
        };
        tasks.spawn(async move {
            let r = axum::serve(listener, http::router(app))
                .with_graceful_shutdown(async move {
                    let _ = http_stop_rx.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!("HTTP server: {e}");
            }
        });
        let addrs = serde_json::json!({
            "quic": quic_addr.to_string(),
            "http": http_addr.to_string(),
            "public_key": own.to_string(),
            "pid": std::process::id(),
        });
        identity::write_atomic(
            &cfg.dir,
            &cfg.dir.join(ADDR_FILE),
            format!("{addrs}\n").as_bytes(),
            0o644,
        )?;
        tracing::info!(key = %own, quic = %quic_addr, http = %http_addr, "node started");
        Ok(Self {
            public_key: own,
            quic_addr,
            http_addr,
            endpoint,
            stop: Some(stop_tx),
            done: Some(done_rx),
            http_stop,
            tasks,
        })
    }

    /// The node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The UDP address QUIC is bound to.
    pub fn quic_addr(&self) -> SocketAddr {
        self.quic_addr
    }

    /// The TCP address of the HTTP API.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Stops gracefully: the HTTP API stops taking requests (those in flight are
    /// answered), the replica is closed (its log synced), the peers are told (QUIC
    /// connections closed), then every task ends.
    ///
    /// # Errors
    /// The replica's close failing (the log could not be synced).
    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.http_stop.send(true);
        // in-flight requests get a moment to be answered
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let closed = match self.done.take() {
            Some(d) => d.await.unwrap_or(Ok(())),
            None => Ok(()),
        };
        self.endpoint.close(0u32.into(), b"shutdown");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        tracing::info!("node stopped");
        closed.map_err(NodeError::from)
    }
}

/// `pluriverse node run`: starts a node on a tokio runtime of its own, prints
/// `quic=ADDR http=ADDR key=PUBKEY` on standard output, serves until SIGTERM or SIGINT,
/// then shuts down gracefully ([`Node::shutdown`]). Logs go to standard error.
///
/// # Errors
/// As [`Node::start`] and [`Node::shutdown`]; a runtime or signal handler that cannot be
/// set up.
pub fn run_until_signal(cfg: NodeConfig) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Config(format!("tokio runtime: {e}")))?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| NodeError::Config(format!("SIGTERM handler: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| NodeError::Config(format!("SIGINT handler: {e}")))?;
        let node = Node::start(cfg).await?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "quic={} http={} key={}",
                node.quic_addr(),
                node.http_addr(),
                node.public_key()
            );
            let _ = out.flush();
        }
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        node.shutdown().await
    })
}
