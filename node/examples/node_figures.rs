//! The node figures of `benches/README.md`, each measured in one run with its baseline
//! beside it:
//!
//! - an empty node catching up on an N-record peer over loopback QUIC (two real nodes, real
//!   UDP sockets on 127.0.0.1), against a plain loopback TCP copy of the peer's state bytes
//!   in the same run;
//! - the resident memory of a node process holding those N records, against the size of the
//!   state file (the child process is this example started again with `--hold DIR`).
//!
//! `cargo run --release -p pluriverse-node --example node_figures -- [records]` (default
//! 1,000,000).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, StringArray};
use pluriverse_any::{KeyType, Kind, StateType, ValueType};
use pluriverse_node::client::request;
use pluriverse_node::{init, Node, NodeConfig, PeerSpec, PublicKey};
use pluriverse_replica::{Options, Replica};

fn ty() -> StateType {
    StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Writes `n` records into the replica in `dir` (100,000 per write) and folds the log into
/// a snapshot; returns the snapshot's size in bytes.
fn populate(dir: &Path, n: usize) -> u64 {
    let mut r = Replica::open(dir, Options::default()).unwrap();
    let step = 100_000;
    for start in (0..n).step_by(step) {
        let end = (start + step).min(n);
        let keys = StringArray::from_iter_values((start..end).map(|i| format!("key-{i:010}")));
        let values = Int64Array::from_iter_values((start..end).map(|i| i as i64));
        r.write(|s| s.set_many(&keys, &values)).unwrap();
    }
    r.fold().unwrap();
    r.close().unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot-"))
        .map(|e| e.metadata().unwrap().len())
        .max()
        .expect("a snapshot after fold")
}

fn status(n: &Node) -> serde_json::Value {
    let r = request(
        n.http_addr(),
        "GET",
        "/status",
        None,
        None,
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().unwrap()
}

/// Starts the source node and an empty one pinned to it; returns the time from the empty
/// node's start until both report the same digest, and the source's digest.
fn catch_up(source: &Path, empty: &Path, empty_key: PublicKey) -> (Duration, String) {
    let rt = runtime();
    let mut cfg = NodeConfig::new(source);
    cfg.peers = vec![PeerSpec {
        key: empty_key,
        addr: None,
    }];
    let a = rt.block_on(Node::start(cfg)).unwrap();
    let want = status(&a)["digest"].as_str().unwrap().to_owned();
    let mut cfg = NodeConfig::new(empty);
    cfg.peers = vec![PeerSpec {
        key: a.public_key(),
        addr: Some(a.quic_addr()),
    }];
    cfg.sync.round_interval = Duration::from_millis(100);
    let t = Instant::now();
    let b = rt.block_on(Node::start(cfg)).unwrap();
    loop {
        if status(&b)["digest"].as_str() == Some(want.as_str()) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "no catch-up in 10 min"
        );
        // every poll asks the node for a digest of its whole state: not too often
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = t.elapsed();
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();
    (took, want)
}

/// A loopback TCP copy of `bytes`: connect, send in 64 KiB writes, the receiver reads to the
/// end into a buffer it grows; timed from connect to the last byte received.
fn tcp_copy(bytes: &[u8]) -> Duration {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = l.local_addr().unwrap();
    let rx = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got.len()
    });
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    for c in bytes.chunks(64 << 10) {
        s.write_all(c).unwrap();
    }
    drop(s);
    let n = rx.join().unwrap();
    let took = t.elapsed();
    assert_eq!(n, bytes.len());
    took
}

/// `VmRSS` and `VmHWM` of a process, in bytes.
fn rss(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| {
                v.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap()
                    * 1024
            })
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The child: runs a node on `dir` and prints `READY` once it serves its state.
fn hold(dir: &Path) {
    let rt = runtime();
    let n = rt.block_on(Node::start(NodeConfig::new(dir))).unwrap();
    let _ = status(&n);
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    rt.block_on(n.shutdown()).unwrap();
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--hold") {
        return hold(Path::new(&args[2]));
    }
    let n: usize = args
        .get(1)
        .map_or(1_000_000, |a| a.parse().expect("records"));
    let root = tempfile::tempdir().unwrap();
    let (src, dst): (PathBuf, PathBuf) = (root.path().join("source"), root.path().join("empty"));
    init(&src, "source", ty()).unwrap();
    let empty_key = init(&dst, "empty", ty()).unwrap();
    let t = Instant::now();
    let state_file = populate(&src, n);
    println!(
        "{n} records written and folded in {:.1} s; state file {:.1} MB",
        t.elapsed().as_secs_f64(),
        mb(state_file)
    );

    // the bytes a copy would move: the source's state, encoded
    let state_bytes = {
        let r = Replica::open(&src, Options::default()).unwrap();
        let b = r.state().to_bytes().unwrap();
        r.close().unwrap();
        b
    };
    let (quic, digest) = catch_up(&src, &dst, empty_key);
    let tcp = tcp_copy(&state_bytes);
    let rate = |d: Duration| mb(state_bytes.len() as u64) / d.as_secs_f64();
    println!(
        "catch-up over QUIC: {:.2} s ({:.1} MB/s of state); TCP copy of the {:.1} MB state: {:.3} s ({:.1} MB/s); QUIC/TCP throughput {:.3}x  (digest {})",
        quic.as_secs_f64(),
        rate(quic),
        mb(state_bytes.len() as u64),
        tcp.as_secs_f64(),
        rate(tcp),
        tcp.as_secs_f64() / quic.as_secs_f64(),
        &digest[..16.min(digest.len())]
    );

    // resident memory of a node process holding the records
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--hold")
        .arg(&src)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l == "READY");
    assert!(ready, "the holding node did not start");
    let (now, peak) = rss(child.id());
    drop(child.stdin.take());
    child.wait().unwrap();
    println!(
        "node process holding {n} records: RSS {:.1} MB ({:.1} B/record), peak {:.1} MB; state file {:.1} MB; RSS/state file {:.2}x",
        mb(now),
        now as f64 / n as f64,
        mb(peak),
        mb(state_file),
        now as f64 / state_file as f64
    );
}
