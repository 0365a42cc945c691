//! Figures for the node's HTTP API (a bench script, not a test): single-write latency over
//! HTTP, and acknowledged writes per second through `POST /batch` against the same batch
//! written in process (decoded, written and synced through a `Replica` with the same group
//! commit), in one run.
//!
//! ```sh
//! cargo run --release -p pluriverse-cluster --example http_writes            # 100k rows
//! cargo run --release -p pluriverse-cluster --example http_writes -- 1000000 500
//! ```
//! Arguments: rows per batch, single writes. Each client request opens its own TCP
//! connection (the harness's client sends `Connection: close`), so the latency includes a
//! loopback connect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use pluriverse_any::{KeyType, Kind, StateType, ValueType};
use pluriverse_node::batch::Columns;
use pluriverse_node::client::{request, request_bytes};
use pluriverse_node::{init, Node, NodeConfig};
use pluriverse_replica::{Durability, Options, Replica};

const T: Duration = Duration::from_secs(120);

fn ipc(rows: usize, round: usize) -> Vec<u8> {
    let keys: Vec<String> = (0..rows).map(|i| format!("b{i}")).collect();
    let key: ArrayRef = Arc::new(StringArray::from(keys));
    let value: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..rows as i64).map(|i| i + (round as i64) * 1_000_000_000),
    ));
    let b = RecordBatch::try_from_iter([("key", key), ("value", value)]).expect("a batch");
    let mut out = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &b.schema()).expect("ipc");
    w.write(&b).expect("ipc write");
    w.finish().expect("ipc finish");
    drop(w);
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let singles: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let rounds = 6;
    let ty = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).expect("type");
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let bodies: Vec<Vec<u8>> = (0..rounds).map(|r| ipc(rows, r)).collect();

    // in process: the same bodies decoded, written and synced (group commit's one sync)
    let mut rep = Replica::create(
        tmp.path().join("local"),
        "local",
        ty,
        Options {
            durability: Durability::Group,
            ..Options::default()
        },
    )
    .expect("a replica");
    // over HTTP: one node, no peers
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tmp.path().join("node");
    init(&dir, "node", ty).expect("node init");
    let node = rt
        .block_on(Node::start(NodeConfig::new(&dir)))
        .expect("a node");
    let h = node.http_addr();
    // alternated, so that the machine's drift falls on both; round 0 warms up
    let (mut local, mut http) = (Duration::ZERO, Duration::ZERO);
    for (r, b) in bodies.iter().enumerate() {
        let t0 = Instant::now();
        let cols = Columns::from_ipc(ty, None, b).expect("a batch");
        rep.write(|s| cols.apply(s)).expect("a write");
        rep.sync().expect("a sync");
        if r > 0 {
            local += t0.elapsed();
        }
        let t0 = Instant::now();
        let resp = request_bytes(
            h,
            "POST",
            "/batch",
            Some((b, "application/vnd.apache.arrow.stream")),
            None,
            T,
        )
        .expect("POST /batch");
        assert_eq!(resp.status, 200, "{}", resp.body);
        if r > 0 {
            http += t0.elapsed();
        }
    }
    rep.close().expect("close");
    let mut lat = Vec::with_capacity(singles);
    for i in 0..singles {
        let t = Instant::now();
        let r = request(
            h,
            "PUT",
            &format!("/keys/s{i}"),
            Some(&format!("{{\"value\":{i}}}")),
            None,
            T,
        )
        .expect("PUT");
        lat.push(t.elapsed());
        assert_eq!(r.status, 200, "{}", r.body);
    }
    rt.block_on(node.shutdown()).expect("shutdown");
    lat.sort_unstable();

    let n = (rows * (rounds - 1)) as f64;
    let (lw, hw) = (n / local.as_secs_f64(), n / http.as_secs_f64());
    println!("batch of {rows} rows x {}, group commit:", rounds - 1);
    println!("  in process  {lw:>12.0} writes/s");
    println!(
        "  HTTP /batch {hw:>12.0} writes/s  ({:.2}x the in-process time)",
        lw / hw
    );
    println!(
        "single writes over HTTP ({singles}, one at a time): median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3
    );
}
