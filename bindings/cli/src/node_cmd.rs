//! `pluriverse node init | run`: the command-line face of `pluriverse-node`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use pluriverse_any::{KeyType, Kind, StateType, ValueType};
use pluriverse_node::{NodeConfig, NodeError, PeerSpec};
use pluriverse_replica::Durability;

use crate::Fail;

#[derive(Args)]
pub(crate) struct NodeArgs {
    #[command(subcommand)]
    command: NodeCommand,
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Make a node's directory: a durable replica and an ed25519 identity key (prints the
    /// public key, 64 hex digits)
    Init(InitArgs),
    /// Serve a node: QUIC sync with pinned peers and a local HTTP API, until SIGTERM
    Run(RunArgs),
}

#[derive(Args)]
struct InitArgs {
    /// The node's directory (created; it must not hold a replica)
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The replica's name (its writes are dotted `NAME#<incarnation>`)
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Record kind: mvmap, awset, pncounter or lww
    #[arg(long, value_name = "K", value_parser = |s: &str| s.parse::<Kind>().map_err(|e| e.to_string()))]
    kind: Kind,
    /// Key (element) type: utf8, binary, int64 or uint64
    #[arg(long, value_name = "T", default_value = "utf8",
          value_parser = |s: &str| s.parse::<KeyType>().map_err(|e| e.to_string()))]
    key: KeyType,
    /// Value type for mvmap and lww: utf8, binary, int64, float64 or bool [default: int64]
    #[arg(long, value_name = "T",
          value_parser = |s: &str| s.parse::<ValueType>().map_err(|e| e.to_string()))]
    value: Option<ValueType>,
}

#[derive(Args)]
#[command(
    after_help = "Prints `quic=ADDR http=ADDR key=PUBKEY` on standard output once \
serving (and writes them to DIR/node-addresses.json); logs go to standard error. SIGTERM or \
SIGINT: the log is synced, peers are told, exit 0."
)]
struct RunArgs {
    /// The node's directory (made by `node init`)
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// UDP address for QUIC (port 0: chosen by the system; peers that dial this node need
    /// a fixed one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// TCP address of the HTTP API (not a loopback address: --token is required)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    http: SocketAddr,
    /// A pinned peer, PUBKEY@ADDR (dialed) or PUBKEY (only accepted); repeatable
    #[arg(long = "peer", value_name = "PEER")]
    peers: Vec<String>,
    /// A file of peers, one PUBKEY@ADDR or PUBKEY a line (`#` comments)
    #[arg(long, value_name = "FILE")]
    peers_file: Option<PathBuf>,
    /// Bearer token the HTTP API requires (Authorization: Bearer TOKEN)
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// When a write is acknowledged: group (one fdatasync per batch), synced (one per
    /// write) or buffered (written to the OS: survives kill -9, not power loss)
    #[arg(long, value_name = "D", default_value = "group", value_parser = parse_durability)]
    durability: Durability,
    /// Milliseconds between anti-entropy rounds with each peer (10 to 600000)
    #[arg(long, value_name = "MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    round_ms: u64,
    /// Largest sync message, in bytes (1200 to 16777216)
    #[arg(long, value_name = "N", default_value_t = 64 << 10,
          value_parser = clap::value_parser!(u64).range(1200..=16 << 20))]
    max_message: u64,
    /// Smallest snapshot file, in bytes, sent whole to a peer that starts empty (smaller
    /// states go through the sync protocol alone)
    #[arg(long, value_name = "N", default_value_t = pluriverse_node::SNAPSHOT_MIN)]
    snapshot_min: u64,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    match s {
        "group" => Ok(Durability::Group),
        "synced" => Ok(Durability::Synced),
        "buffered" => Ok(Durability::Buffered),
        _ => Err("group, synced or buffered".into()),
    }
}

fn node_error(e: NodeError) -> Fail {
    match e {
        NodeError::Peer { .. } | NodeError::Config(_) => Fail::Usage(e.to_string()),
        e => Fail::Error(e.to_string()),
    }
}

pub(crate) fn node(a: NodeArgs) -> Result<(), Fail> {
    match a.command {
        NodeCommand::Init(a) => init(a),
        NodeCommand::Run(a) => run(a),
    }
}

fn init(a: InitArgs) -> Result<(), Fail> {
    let value = match (a.kind.has_values(), a.value) {
        (true, v) => Some(v.unwrap_or(ValueType::Int64)),
        (false, None) => None,
        (false, Some(_)) => {
            return Err(Fail::Usage(format!("--value: {} has no values", a.kind)));
        }
    };
    let ty = StateType::new(a.kind, a.key, value).map_err(|e| Fail::Usage(e.to_string()))?;
    let key = pluriverse_node::init(&a.dir, &a.name, ty).map_err(node_error)?;
    println!("{key}");
    eprintln!(
        "pluriverse: node {:?} ({ty}) in {}; its public key is above (also in node.pub)",
        a.name,
        a.dir.display()
    );
    Ok(())
}

fn run(a: RunArgs) -> Result<(), Fail> {
    let mut peers = Vec::new();
    for p in &a.peers {
        peers.push(PeerSpec::parse(p, "--peer").map_err(node_error)?);
    }
    if let Some(f) = &a.peers_file {
        peers.extend(pluriverse_node::peers::read_file(f).map_err(node_error)?);
    }
    let mut cfg = NodeConfig::new(a.dir);
    cfg.listen = a.listen;
    cfg.http = a.http;
    cfg.peers = peers;
    cfg.token = a.token;
    cfg.durability = a.durability;
    cfg.sync.round_interval = Duration::from_millis(a.round_ms);
    cfg.sync.max_message = a.max_message as usize;
    cfg.snapshot_min = a.snapshot_min;
    pluriverse_node::run_until_signal(cfg).map_err(node_error)
}
