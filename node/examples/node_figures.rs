//! The node figures of `benches/README.md`, each measured in one run with its baseline
//! beside it:
//!
//! - an empty node catching up on an N-record peer over loopback QUIC (two real nodes, real
//!   UDP sockets on 127.0.0.1; the empty one takes the peer's snapshot file whole, then the
//!   protocol ships the rest), against a plain loopback TCP copy of the peer's state bytes
//!   in the same run, and `from_bytes` of those bytes alone (what the receiver must add to
//!   a copy);
//! - where a catch-up through the sync protocol alone (a node not starting empty, or one
//!   whose peer has no snapshot to offer) spends its time, each part measured alone in the
//!   same run: the sender's
//!   slicing and encoding (the sync machine's `poll_transmit`), the receiver's decoding
//!   (`handle`), joining the slices one by one and at once, logging them into a replica
//!   directory as the node does (`apply_many_compact`, then the one fold at the end), a
//!   write + fsync of the state's bytes to a file (the disk's ceiling), and a raw QUIC
//!   stream copy of the same bytes with the node's transport settings (the transport's
//!   ceiling);
//! - the resident memory of a node process holding those N records, against the size of the
//!   state file (the child process is this example started again with `--hold DIR`).
//!
//! `cargo run --release -p pluriverse-node --example node_figures -- [records]` (default
//! 1,000,000); with `PLV_LOG=1` the nodes' log lines (connections, the snapshot transfer's
//! parts) go to stderr with their times.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, StringArray};
use pluriverse_any::AnyState;
use pluriverse_any::{KeyType, Kind, StateType, ValueType};
use pluriverse_node::client::request;
use pluriverse_node::tls::{Credentials, Refusals};
use pluriverse_node::transport::transport_config;
use pluriverse_node::{init, Identity, Node, NodeConfig, PeerSpec, PublicKey};
use pluriverse_replica::sync::Peer;
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
        // a node that has just opened 10M records builds its dot index on the first status
        Duration::from_secs(300),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().unwrap()
}

/// Starts the source node and an empty one pinned to it; returns the time from the empty
/// node's start until both report the same digest, and the source's digest.
/// With `snapshot` false the source offers no snapshot file: the sync protocol carries the
/// whole catch-up.
fn catch_up(
    source: &Path,
    empty: &Path,
    empty_key: PublicKey,
    snapshot: bool,
) -> (Duration, String) {
    let rt = runtime();
    let mut cfg = NodeConfig::new(source);
    if !snapshot {
        cfg.snapshot_min = u64::MAX;
    }
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
        // a poll is cheap: the node caches its digest, and while deltas stream in it
        // digests again only within a budget (see the actor's docs)
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = t.elapsed();
    let sa = status(&a);
    let p = &sa["peers"][0];
    println!(
        "the source sent {:.1} MB in {} messages over {} rounds",
        mb(p["bytes_out"].as_u64().unwrap_or(0)),
        p["messages_out"],
        p["rounds"]
    );
    // the fold at the end of the catch-up (once no delta came for a while), then stop
    std::thread::sleep(Duration::from_secs(2));
    let _ = status(&b);
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(empty)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            format!(
                "{} ({:.1} MB)",
                e.file_name().to_string_lossy(),
                mb(e.metadata().unwrap().len())
            )
        })
        .filter(|f| f.starts_with("snapshot-") || f.starts_with("log-"))
        .collect();
    files.sort();
    println!("the caught-up directory: {}", files.join(", "));
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

/// A raw QUIC copy of `bytes` over loopback with the node's TLS and transport settings: one
/// unidirectional stream, written in 64 KiB writes, read to the end; timed from the start
/// of the handshake to the last byte received.
fn quic_copy(bytes: &[u8], transport: Arc<quinn::TransportConfig>) -> Duration {
    let rt = runtime();
    let (server_id, client_id) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let (sk, ck) = (server_id.public(), client_id.public());
    let refusals = Arc::new(Refusals::default());
    let creds = Credentials::new(&server_id).unwrap();
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(
        creds
            .server_config([ck].into_iter().collect(), refusals.clone())
            .unwrap(),
    ));
    server.transport_config(transport.clone());
    let ccreds = Credentials::new(&client_id).unwrap();
    let mut client =
        quinn::ClientConfig::new(Arc::new(ccreds.client_config(sk, refusals).unwrap()));
    client.transport_config(transport);
    let payload = bytes.to_vec();
    rt.block_on(async move {
        let se = quinn::Endpoint::server(server, "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = se.local_addr().unwrap();
        let rx = tokio::spawn(async move {
            let conn = se.accept().await.unwrap().await.unwrap();
            let mut r = conn.accept_uni().await.unwrap();
            let got = r.read_to_end(usize::MAX).await.unwrap();
            conn.close(0u32.into(), b"");
            got.len()
        });
        let t = Instant::now();
        let mut ce = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        ce.set_default_client_config(client);
        let conn = ce.connect(addr, "pluriverse-node").unwrap().await.unwrap();
        let mut s = conn.open_uni().await.unwrap();
        for c in payload.chunks(64 << 10) {
            s.write_all(c).await.unwrap();
        }
        s.finish().unwrap();
        let n = rx.await.unwrap();
        let took = t.elapsed();
        assert_eq!(n, payload.len());
        ce.wait_idle().await;
        took
    })
}

/// The parts of a catch-up measured alone, in process: an empty peer's summary reaches
/// the source's sync machine, which streams its state; the receiver decodes the messages,
/// joins the slices and logs them into a replica directory.
fn breakdown(src: &Path, scratch: &Path, tcp: Duration, one_by_one: bool) {
    let cfg = NodeConfig::new(src).sync;
    let r = Replica::open(src, Options::default()).unwrap();
    let state = r.state().clone();
    r.close().unwrap();
    let ty = state.state_type();
    let empty = AnyState::new(ty, "empty");
    let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
    let now = Duration::ZERO;
    // the empty side's summaries (its round), handed to the source
    while let Some(m) = pb.poll_transmit(now, &empty) {
        pa.handle(now, &m).unwrap();
    }
    let t = Instant::now();
    let mut msgs = Vec::new();
    while let Some(m) = pa.poll_transmit(now, &state) {
        msgs.push(m);
    }
    let send = t.elapsed();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    let t = Instant::now();
    let (deltas, compact): (Vec<AnyState>, Vec<Vec<u8>>) = msgs
        .iter()
        .filter_map(|m| pb.handle_compact(now, m).unwrap())
        .unzip();
    let decode = t.elapsed();
    let t = Instant::now();
    let at_once = deltas[0].join_all(&deltas[1..]).unwrap();
    let mut joined = empty.clone();
    joined.join(&at_once).unwrap();
    let join_all = t.elapsed();
    assert_eq!(
        joined.digest(),
        state.digest(),
        "the stream joins back to the state"
    );
    // the node joins what arrives in one batch of network events (up to 512 messages)
    let dir = scratch.join("log");
    Replica::create(&dir, "log", ty, Options::default())
        .unwrap()
        .close()
        .unwrap();
    let mut log = Replica::open(&dir, Options::default()).unwrap();
    let t = Instant::now();
    for (batch, bytes) in deltas.chunks(64).zip(compact.chunks(64)) {
        assert!(log
            .apply_many_compact(batch, bytes)
            .iter()
            .all(Result::is_ok));
    }
    log.sync().unwrap();
    let apply = t.elapsed();
    // the node folds off its actor: the actor pays the log's cut and a clone of the state,
    // another thread the encoding and the write
    let t = Instant::now();
    let folded = log.start_fold_if_due().unwrap();
    let fold_actor = t.elapsed();
    log.finish_fold(true).unwrap();
    let fold = t.elapsed();
    assert_eq!(log.state().digest(), state.digest());
    log.close().unwrap();
    let reopened = Replica::open(&dir, Options::default()).unwrap();
    assert_eq!(reopened.state().digest(), state.digest());
    drop(reopened);
    // the disk's ceiling: the state's bytes written to a file and fsynced
    let state_bytes = state.to_bytes().unwrap();
    let t = Instant::now();
    {
        let mut f = std::fs::File::create(scratch.join("disk-copy")).unwrap();
        for c in state_bytes.chunks(1 << 20) {
            f.write_all(c).unwrap();
        }
        f.sync_all().unwrap();
    }
    let disk = t.elapsed();
    // what a `/status` poll cost the actor before the digest was cached: a full pass
    let t = Instant::now();
    let _ = state.digest();
    let digest = t.elapsed();
    let x = |d: Duration| d.as_secs_f64() / tcp.as_secs_f64();
    println!(
        "in process: {} messages, {:.1} MB (state {:.1} MB); sender (slice + encode) {:.3} s ({:.1}x the TCP copy); decode {:.3} s ({:.1}x); join at once {:.3} s ({:.1}x); apply_many_compact in batches of 64 + log + sync {:.3} s ({:.1}x); the fold at the end {:.3} s ({:.1}x, folded: {folded}; on the actor {:.3} s, the rest on its own thread); disk write + fsync of the {:.1} MB state {:.3} s ({:.1}x); a digest of the state {:.3} s",
        msgs.len(),
        mb(bytes as u64),
        mb(state.to_compact().len() as u64),
        send.as_secs_f64(),
        x(send),
        decode.as_secs_f64(),
        x(decode),
        join_all.as_secs_f64(),
        x(join_all),
        apply.as_secs_f64(),
        x(apply),
        fold.as_secs_f64(),
        x(fold),
        fold_actor.as_secs_f64(),
        mb(state_bytes.len() as u64),
        disk.as_secs_f64(),
        x(disk),
        digest.as_secs_f64(),
    );
    if one_by_one {
        let t = Instant::now();
        let mut seq = empty.clone();
        for d in &deltas {
            seq.join(d).unwrap();
        }
        let one = t.elapsed();
        assert_eq!(seq.digest(), state.digest());
        println!(
            "in process: joining the {} slices one by one {:.3} s ({:.1}x the TCP copy; {:.1}x joining them at once)",
            deltas.len(),
            one.as_secs_f64(),
            x(one),
            one.as_secs_f64() / join_all.as_secs_f64()
        );
    }
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
    if std::env::var_os("PLV_LOG").is_some() {
        // the nodes' own log lines (connections, the snapshot transfer), with times
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .try_init();
    }
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
    // what a snapshot transfer's receiver must do with those bytes beside copying them:
    // decode them with every validation (best of three)
    let decode = (0..3)
        .map(|_| {
            let t = Instant::now();
            let s = AnyState::from_bytes(&state_bytes, "x").unwrap();
            let d = t.elapsed();
            drop(s);
            d
        })
        .min()
        .unwrap();
    let (quic, digest) = catch_up(&src, &dst, empty_key, true);
    // the same catch-up with the sync protocol alone, into another empty node
    let dst2 = root.path().join("empty-protocol");
    let key2 = init(&dst2, "empty2", ty()).unwrap();
    let (protocol, digest2) = catch_up(&src, &dst2, key2, false);
    assert_eq!(digest2, digest);
    std::fs::remove_dir_all(&dst2).unwrap();
    let tcp = tcp_copy(&state_bytes);
    let raw = quic_copy(&state_bytes, transport_config());
    let raw_default = quic_copy(&state_bytes, Arc::new(quinn::TransportConfig::default()));
    let rate = |d: Duration| mb(state_bytes.len() as u64) / d.as_secs_f64();
    println!(
        "raw QUIC stream copy of the same bytes (node transport settings): {:.3} s ({:.1} MB/s; {:.3}x the TCP copy's throughput)",
        raw.as_secs_f64(),
        rate(raw),
        tcp.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "raw QUIC stream copy with quinn's default transport settings: {:.3} s ({:.1} MB/s; {:.3}x the TCP copy's throughput)",
        raw_default.as_secs_f64(),
        rate(raw_default),
        tcp.as_secs_f64() / raw_default.as_secs_f64()
    );
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

    println!(
        "catch-up through the sync protocol alone (no snapshot offered), same run: {:.2} s ({:.3}x the TCP copy's throughput; the snapshot transfer is {:.1}x faster)",
        protocol.as_secs_f64(),
        tcp.as_secs_f64() / protocol.as_secs_f64(),
        protocol.as_secs_f64() / quic.as_secs_f64()
    );
    println!(
        "from_bytes of the {:.1} MB state file (best of 3): {:.3} s ({:.1} ns/record; {:.1}x the TCP copy)",
        mb(state_bytes.len() as u64),
        decode.as_secs_f64(),
        decode.as_secs_f64() * 1e9 / n as f64,
        decode.as_secs_f64() / tcp.as_secs_f64()
    );
    breakdown(&src, root.path(), tcp, n <= 2_000_000);

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
