//! Nodes started in process on 127.0.0.1 (ports chosen by the system), driven over their
//! HTTP API: convergence, refusal of unpinned keys, every kind's endpoints, bad input.
//! Every wait is bounded.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use pluriverse_any::{KeyType, Kind, Scalar, StateType, ValueType};
use pluriverse_node::client::{encode_segment, request, Response};
use pluriverse_node::{init, Node, NodeConfig, NodeError, PeerSpec, PublicKey};
use pluriverse_replica::{Options, Replica};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn ty(kind: Kind, key: KeyType, value: Option<ValueType>) -> StateType {
    StateType::new(kind, key, value).unwrap()
}

fn mvmap() -> StateType {
    ty(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64))
}

fn start(rt: &tokio::runtime::Runtime, dir: &Path, peers: Vec<PeerSpec>) -> Node {
    let mut cfg = NodeConfig::new(dir);
    cfg.peers = peers;
    cfg.sync.round_interval = Duration::from_millis(200);
    rt.block_on(Node::start(cfg)).unwrap()
}

fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Response {
    let b = body.map(|b| b.to_string());
    request(addr, method, path, b.as_deref(), None, T).unwrap()
}

fn ok(r: Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().unwrap()
}

fn status(n: &Node) -> Value {
    ok(call(n.http_addr(), "GET", "/status", None))
}

fn pin(n: &Node) -> PeerSpec {
    PeerSpec {
        key: n.public_key(),
        addr: Some(n.quic_addr()),
    }
}

fn accept_only(k: PublicKey) -> PeerSpec {
    PeerSpec { key: k, addr: None }
}

/// Waits until every node reports the same digest; panics after `limit`.
/// The value of the first sample of `pluriverse_{name}` in a metrics page (labels or not).
fn metric(page: &str, name: &str) -> f64 {
    let full = format!("pluriverse_{name}");
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let rest = l.strip_prefix(&full)?;
            let rest = match rest.strip_prefix('{') {
                Some(r) => &r[r.find('}')? + 1..],
                None => rest,
            };
            rest.strip_prefix(' ')?.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no {full} in {page}"))
}

fn await_convergence(nodes: &[&Node], limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let d: Vec<String> = nodes
            .iter()
            .map(|n| status(n)["digest"].as_str().unwrap().to_owned())
            .collect();
        if d.iter().all(|x| *x == d[0]) {
            return d[0].clone();
        }
        assert!(
            start.elapsed() < limit,
            "no convergence after {limit:?}: digests {d:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_nodes_converge_after_writes_on_both() {
    let rt = runtime();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(da.path(), "paris", mvmap()).unwrap();
    let kb = init(db.path(), "tokyo", mvmap()).unwrap();
    // both write the same key concurrently, before either has heard of the other, through
    // the replica library on their directories: a multi-value register keeps both. (Two
    // HTTP writes one after the other are not concurrent: a push can reach the second node
    // before the second request, and then its write rightly replaces the first.)
    for (dir, v) in [(da.path(), 1), (db.path(), 2)] {
        let mut r = Replica::open(dir, Options::default()).unwrap();
        r.write(|s| s.set(Scalar::Utf8("both".into()), Scalar::Int64(v)))
            .unwrap();
        r.close().unwrap();
    }
    // paris only accepts tokyo; tokyo dials paris
    let a = start(&rt, da.path(), vec![accept_only(kb)]);
    let b = start(&rt, db.path(), vec![pin(&a)]);
    assert_eq!(b.public_key(), kb);
    let mut counters = Vec::new();
    for i in 0..20 {
        let (n, who) = if i % 2 == 0 {
            (&a, "paris")
        } else {
            (&b, "tokyo")
        };
        let w = ok(call(
            n.http_addr(),
            "PUT",
            &format!("/keys/k{i}"),
            Some(json!({ "value": i })),
        ));
        assert!(w["writer"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{who}#")));
        counters.push((who, w["counter"].as_u64().unwrap()));
    }
    await_convergence(&[&a, &b], Duration::from_secs(20));
    for n in [&a, &b] {
        let s = status(n);
        assert_eq!(s["keys"], 21, "{s}");
        let p = &s["peers"][0];
        assert_eq!(p["state"], "connected", "{s}");
        assert!(p["bytes_in"].as_u64().unwrap() > 0 && p["bytes_out"].as_u64().unwrap() > 0);
        assert!(p["last_sync"].as_u64().is_some());
        for i in 0..20 {
            let r = ok(call(n.http_addr(), "GET", &format!("/keys/k{i}"), None));
            assert_eq!(r["values"], json!([i]), "key k{i}: {r}");
        }
        let mut both = ok(call(n.http_addr(), "GET", "/keys/both", None))["values"]
            .as_array()
            .unwrap()
            .clone();
        both.sort_by_key(|v| v.as_i64());
        assert_eq!(both, vec![json!(1), json!(2)]);
        let m = call(n.http_addr(), "GET", "/metrics", None);
        assert_eq!(m.status, 200);
        assert!(m.body.contains("pluriverse_writes_total 10"), "{}", m.body);
        assert!(m.body.contains("pluriverse_peer_connected{peer=\""));
        assert!(
            !m.body.contains("pluriverse_merges_total 0\n"),
            "{}",
            m.body
        );
    }
    // what the status and the metrics say, against what was written: 22 entries (21 keys,
    // two values of `both`), a version vector of four incarnations (each side's library
    // write and its node) over 22 dots, and each peer seen in sync once a round after the
    // convergence has come, with its traffic, rounds and lag in the metrics
    for n in [&a, &b] {
        let s = status(n);
        assert_eq!(s["entries"], 22, "{s}");
        let vv = s["version_vector"].as_object().unwrap();
        assert_eq!(vv.len(), 4, "{s}");
        assert_eq!(
            vv.values().filter_map(Value::as_u64).sum::<u64>(),
            22,
            "{s}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = status(n);
            let p = &s["peers"][0];
            if p["in_sync"] == true {
                assert_eq!(p["behind_dots"], 0, "{s}");
                assert!(p["lag_seconds"].as_f64().is_some_and(|l| l >= 0.0), "{s}");
                assert!(p["rounds"].as_u64().unwrap() > 0, "{s}");
                break;
            }
            assert!(Instant::now() < deadline, "never in sync: {s}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let m = call(n.http_addr(), "GET", "/metrics", None).body;
        for name in [
            "peer_bytes_in_total",
            "peer_bytes_out_total",
            "peer_messages_in_total",
            "peer_sync_rounds_total",
        ] {
            assert!(metric(&m, name) > 0.0, "{name}: {m}");
        }
        assert_eq!(metric(&m, "peer_behind_dots"), 0.0, "{m}");
        assert!(metric(&m, "peer_lag_seconds") >= 0.0, "{m}");
        assert_eq!(metric(&m, "entries"), 22.0, "{m}");
    }
    // dots: each node's counters are 1, 2, 3, ... in the order it acknowledged them
    for who in ["paris", "tokyo"] {
        let c: Vec<u64> = counters
            .iter()
            .filter(|c| c.0 == who)
            .map(|c| c.1)
            .collect();
        assert_eq!(c, (1..=10).collect::<Vec<_>>());
    }
    // a later write on one side reaches the other over the live connection
    ok(call(
        b.http_addr(),
        "PUT",
        "/keys/late",
        Some(json!({"value": 7})),
    ));
    await_convergence(&[&a, &b], Duration::from_secs(20));
    assert_eq!(
        ok(call(a.http_addr(), "GET", "/keys/late", None))["values"],
        json!([7])
    );
    // a node shutting down tells its peers (its close says why) instead of leaving them
    // to find out by the idle timeout
    rt.block_on(b.shutdown()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = status(&a);
        let p = &s["peers"][0];
        if p["state"] != "connected" {
            assert_eq!(p["last_disconnect"], "closed by the peer: shutdown", "{s}");
            break;
        }
        assert!(Instant::now() < deadline, "still connected: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    rt.block_on(a.shutdown()).unwrap();
}

#[test]
fn a_node_whose_key_is_not_pinned_is_refused() {
    let rt = runtime();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    init(dirs[0].path(), "a", mvmap()).unwrap();
    let kb = init(dirs[1].path(), "b", mvmap()).unwrap();
    init(dirs[2].path(), "c", mvmap()).unwrap();
    // a pins only b; c pins a and dials it
    let a = start(&rt, dirs[0].path(), vec![accept_only(kb)]);
    let c = start(&rt, dirs[2].path(), vec![pin(&a)]);
    ok(call(
        a.http_addr(),
        "PUT",
        "/keys/x",
        Some(json!({"value": 1})),
    ));
    ok(call(
        c.http_addr(),
        "PUT",
        "/keys/y",
        Some(json!({"value": 2})),
    ));
    // c keeps redialing (backoff), a keeps refusing
    let start_t = Instant::now();
    loop {
        let m = call(a.http_addr(), "GET", "/metrics", None).body;
        let refused = m
            .lines()
            .find(|l| l.starts_with("pluriverse_refused_handshakes_total{direction=\"inbound\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap();
        if refused >= 2.0 {
            break;
        }
        assert!(start_t.elapsed() < T, "a never refused c:\n{m}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let (sa, sc) = (status(&a), status(&c));
    assert_ne!(sa["digest"], sc["digest"]);
    assert_eq!(sc["peers"][0]["state"], "connecting", "{sc}");
    assert_eq!(sc["peers"][0]["connects"], 0);
    assert_eq!(sc["peers"][0]["bytes_in"], 0);
    assert!(sc["peers"][0]["failed_dials"].as_u64().unwrap() > 0, "{sc}");
    assert!(
        sc["peers"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{sc}"
    );
    assert_eq!(sa["peers"][0]["connects"], 0);
    assert_eq!(sa["merges"], 0);
    assert_eq!(sc["merges"], 0);
    assert_eq!(
        ok(call(a.http_addr(), "GET", "/keys/y", None))["values"],
        json!([])
    );
    assert_eq!(
        ok(call(c.http_addr(), "GET", "/keys/x", None))["values"],
        json!([])
    );

    // a node dialing an address whose server presents another key refuses it too
    let d = start(
        &rt,
        dirs[1].path(),
        vec![PeerSpec {
            key: c.public_key(), // expects c, dials a
            addr: Some(a.quic_addr()),
        }],
    );
    let start_t = Instant::now();
    while status(&d)["refused_handshakes"]["outbound"]
        .as_u64()
        .unwrap()
        == 0
    {
        assert!(start_t.elapsed() < T, "d never refused a's certificate");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status(&d)["peers"][0]["connects"], 0);
    for n in [d, c, a] {
        rt.block_on(n.shutdown()).unwrap();
    }
}

#[test]
fn every_kind_writes_and_reads_one_key() {
    let rt = runtime();
    let cases = [
        ty(Kind::AWSet, KeyType::Int64, None),
        ty(Kind::PNCounterMap, KeyType::Utf8, None),
        ty(Kind::LWWMap, KeyType::Binary, Some(ValueType::Utf8)),
        ty(Kind::MVMap, KeyType::UInt64, Some(ValueType::Float64)),
    ];
    for t in cases {
        let d = tempfile::tempdir().unwrap();
        init(d.path(), "solo", t).unwrap();
        let n = start(&rt, d.path(), vec![]);
        let h = n.http_addr();
        match t.kind {
            Kind::AWSet => {
                let w = ok(call(h, "PUT", "/keys/-5", None));
                assert_eq!(w["counter"], 1);
                assert_eq!(ok(call(h, "GET", "/keys/-5", None))["present"], true);
                assert_eq!(ok(call(h, "GET", "/keys/6", None))["present"], false);
                let w = ok(call(h, "DELETE", "/keys/-5", None));
                assert_eq!(w["counter"], Value::Null); // a remove takes no dot
                assert_eq!(ok(call(h, "GET", "/keys/-5", None))["present"], false);
            }
            Kind::PNCounterMap => {
                let k = encode_segment("a b/c");
                ok(call(
                    h,
                    "POST",
                    &format!("/keys/{k}/increment"),
                    Some(json!({"by": 5})),
                ));
                ok(call(h, "POST", &format!("/keys/{k}/increment"), None));
                let w = ok(call(
                    h,
                    "POST",
                    &format!("/keys/{k}/decrement"),
                    Some(json!({"by": 10})),
                ));
                assert!(w["counter"].as_u64().is_some());
                let r = ok(call(h, "GET", &format!("/keys/{k}"), None));
                assert_eq!(r, json!({"key": "a b/c", "value": -4}));
            }
            Kind::LWWMap => {
                ok(call(
                    h,
                    "PUT",
                    "/keys/00ff",
                    Some(json!({"value": "new", "timestamp": 20})),
                ));
                // older: loses
                ok(call(
                    h,
                    "PUT",
                    "/keys/00ff",
                    Some(json!({"value": "old", "timestamp": 10})),
                ));
                let r = ok(call(h, "GET", "/keys/00ff", None));
                assert_eq!(r, json!({"key": "00ff", "value": "new", "timestamp": 20}));
                ok(call(h, "DELETE", "/keys/00ff?timestamp=30", None));
                let r = ok(call(h, "GET", "/keys/00ff", None));
                assert_eq!(r["value"], Value::Null, "{r}");
                // without a timestamp: now, in microseconds, wins over 30
                ok(call(h, "PUT", "/keys/00ff", Some(json!({"value": "now"}))));
                let r = ok(call(h, "GET", "/keys/00ff", None));
                assert_eq!(r["value"], "now");
                assert!(r["timestamp"].as_u64().unwrap() > 1_000_000_000_000_000);
            }
            Kind::MVMap => {
                ok(call(
                    h,
                    "PUT",
                    "/keys/18446744073709551615",
                    Some(json!({"value": 2.5})),
                ));
                let r = ok(call(h, "GET", "/keys/18446744073709551615", None));
                assert_eq!(r["values"], json!([2.5]));
                ok(call(h, "DELETE", "/keys/18446744073709551615", None));
                let r = ok(call(h, "GET", "/keys/18446744073709551615", None));
                assert_eq!(r["values"], json!([]));
            }
        }
        let s = status(&n);
        assert_eq!(s["type"], t.to_string());
        assert_eq!(s["name"], "solo");
        assert!(s["incarnation"].as_str().unwrap().starts_with("solo#"));
        rt.block_on(n.shutdown()).unwrap();
    }
}

#[test]
fn bad_input_gets_a_json_4xx_and_never_a_crash() {
    let rt = runtime();
    let d = tempfile::tempdir().unwrap();
    init(
        d.path(),
        "x",
        ty(Kind::MVMap, KeyType::Int64, Some(ValueType::Int64)),
    )
    .unwrap();
    let n = start(&rt, d.path(), vec![]);
    let h = n.http_addr();
    let cases: Vec<(&str, String, Option<String>, u16, &str)> = vec![
        (
            "PUT",
            "/keys/abc".into(),
            Some(r#"{"value": 1}"#.into()),
            400,
            "int64",
        ),
        (
            "PUT",
            "/keys/1".into(),
            Some("not json".into()),
            400,
            "not JSON",
        ),
        (
            "PUT",
            "/keys/1".into(),
            Some("[1]".into()),
            400,
            "JSON object",
        ),
        (
            "PUT",
            "/keys/1".into(),
            Some("{}".into()),
            400,
            "missing \"value\"",
        ),
        (
            "PUT",
            "/keys/1".into(),
            Some(r#"{"value": "one"}"#.into()),
            400,
            "integer",
        ),
        (
            "PUT",
            "/keys/1".into(),
            Some(r#"{"value": 1, "vaule": 2}"#.into()),
            400,
            "unknown field",
        ),
        (
            "POST",
            "/keys/1/increment".into(),
            None,
            405,
            "no increment",
        ),
        ("GET", "/nowhere".into(), None, 404, "no such endpoint"),
        ("POST", "/status".into(), None, 405, "method"),
        (
            "GET",
            format!("/keys/{}", "9".repeat(5000)),
            None,
            400,
            "at most",
        ),
    ];
    for (m, path, body, code, needle) in cases {
        let r = request(h, m, &path, body.as_deref(), None, T).unwrap();
        assert_eq!(r.status, code, "{m} {path}: {}", r.body);
        let e = r.json().unwrap();
        let msg = e["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{m} {path}: {e}"));
        assert!(msg.contains(needle), "{m} {path}: {msg:?} lacks {needle:?}");
    }
    // a body over the bound: refused from its Content-Length, before it is read
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(h).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        write!(
            s,
            "PUT /keys/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            2 << 20
        )
        .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        assert!(r.starts_with("HTTP/1.1 413"), "{r}");
        assert!(r.contains("{\"error\":"), "{r}");
    }
    // still serving, and nothing was written
    let s = status(&n);
    assert_eq!(s["keys"], 0);
    assert_eq!(s["writes"], 0);
    rt.block_on(n.shutdown()).unwrap();

    // a token, when given, is required
    let mut cfg = NodeConfig::new(d.path());
    cfg.token = Some("s3cret".into());
    let n = rt.block_on(Node::start(cfg)).unwrap();
    let r = request(n.http_addr(), "GET", "/status", None, None, T).unwrap();
    assert_eq!(r.status, 401);
    assert!(r.json().unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("token"));
    let r = request(n.http_addr(), "GET", "/status", None, Some("wrong"), T).unwrap();
    assert_eq!(r.status, 401);
    let r = request(n.http_addr(), "GET", "/status", None, Some("s3cret"), T).unwrap();
    assert_eq!(r.status, 200);
    // a second node on the same directory is refused: one writer per replica
    let e = rt
        .block_on(Node::start(NodeConfig::new(d.path())))
        .unwrap_err();
    assert!(matches!(e, NodeError::Replica(_)), "{e}");
    rt.block_on(n.shutdown()).unwrap();

    // a public HTTP address without a token is refused at start
    let mut cfg = NodeConfig::new(d.path());
    cfg.http = "0.0.0.0:0".parse().unwrap();
    let e = rt.block_on(Node::start(cfg)).unwrap_err();
    assert!(e.to_string().contains("--token"), "{e}");
}

#[test]
fn concurrent_writes_are_group_committed_with_distinct_dots() {
    let rt = runtime();
    let d = tempfile::tempdir().unwrap();
    init(d.path(), "g", ty(Kind::PNCounterMap, KeyType::Utf8, None)).unwrap();
    let n = start(&rt, d.path(), vec![]);
    let h = n.http_addr();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| {
                        ok(call(h, "POST", "/keys/c/increment", None))["counter"]
                            .as_u64()
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<_>>());
    assert_eq!(ok(call(h, "GET", "/keys/c", None))["value"], 200);
    let m = call(h, "GET", "/metrics", None).body;
    let commits: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("pluriverse_group_commits_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((1.0..=200.0).contains(&commits), "{commits}");
    rt.block_on(n.shutdown()).unwrap();
    // what was acknowledged is there after a graceful restart
    let n = start(&rt, d.path(), vec![]);
    assert_eq!(
        ok(call(n.http_addr(), "GET", "/keys/c", None))["value"],
        200
    );
    rt.block_on(n.shutdown()).unwrap();
}

fn ipc(batches: &[arrow_array::RecordBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batches[0].schema()).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    drop(w);
    out
}

fn post_batch(h: SocketAddr, query: &str, body: &[u8]) -> Response {
    pluriverse_node::client::request_bytes(
        h,
        "POST",
        &format!("/batch{query}"),
        Some((body, "application/vnd.apache.arrow.stream")),
        None,
        T,
    )
    .unwrap()
}

#[test]
fn a_batch_is_one_write_and_reaches_the_peer_in_chunks() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
    let rt = runtime();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(da.path(), "paris", mvmap()).unwrap();
    let kb = init(db.path(), "tokyo", mvmap()).unwrap();
    let a = start(&rt, da.path(), vec![accept_only(kb)]);
    let b = start(&rt, db.path(), vec![pin(&a)]);
    let batch = |lo: i64, n: i64| {
        let k: ArrayRef = Arc::new(StringArray::from_iter_values(
            (lo..lo + n).map(|i| format!("b{i}")),
        ));
        let v: ArrayRef = Arc::new(Int64Array::from_iter_values(lo..lo + n));
        RecordBatch::try_from_iter([("key", k), ("value", v)]).unwrap()
    };
    // three record batches, 6000 rows: one write, dots 1..=6000
    let body = ipc(&[batch(0, 2000), batch(2000, 2000), batch(4000, 2000)]);
    let w = ok(post_batch(a.http_addr(), "", &body));
    assert_eq!(
        (w["first"].as_u64(), w["last"].as_u64(), w["rows"].as_u64()),
        (Some(1), Some(6000), Some(6000)),
        "{w}"
    );
    await_convergence(&[&a, &b], Duration::from_secs(30));
    assert_eq!(status(&b)["keys"], 6000);
    assert_eq!(
        ok(call(b.http_addr(), "GET", "/keys/b5999", None))["values"],
        json!([5999])
    );
    // remove half of them in one batch
    let k: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..3000).map(|i| format!("b{i}")),
    ));
    let rm = ipc(&[RecordBatch::try_from_iter([("key", k)]).unwrap()]);
    let w = ok(post_batch(b.http_addr(), "?op=remove", &rm));
    assert_eq!(w["rows"], 3000);
    await_convergence(&[&a, &b], Duration::from_secs(30));
    assert_eq!(status(&a)["keys"], 3000);

    // bad batches: 4xx JSON, nothing written
    let wrong_type = {
        let k: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let v: ArrayRef = Arc::new(UInt64Array::from(vec![1u64]));
        ipc(&[RecordBatch::try_from_iter([("key", k), ("value", v)]).unwrap()])
    };
    let unknown = {
        let k: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let v: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        ipc(&[RecordBatch::try_from_iter([("key", k), ("vaule", v)]).unwrap()])
    };
    let nulls = {
        let k: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), None]));
        let v: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        ipc(&[RecordBatch::try_from_iter([("key", k), ("value", v)]).unwrap()])
    };
    let cut = body[..body.len() / 2].to_vec();
    for (q, body, code, needle) in [
        ("", b"not arrow".to_vec(), 400, "Arrow IPC"),
        ("", cut, 400, "Arrow IPC"),
        ("", wrong_type, 400, "expected Int64"),
        ("", unknown, 400, "unknown column"),
        ("", nulls, 400, "nulls"),
        ("?op=increment", rm.clone(), 405, "no batch op"),
    ] {
        let r = post_batch(a.http_addr(), q, &body);
        assert_eq!(r.status, code, "{needle}: {}", r.body);
        let e = r.json().unwrap()["error"].as_str().unwrap().to_owned();
        assert!(e.contains(needle), "{e:?} lacks {needle:?}");
    }
    assert_eq!(status(&a)["keys"], 3000);
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();

    // a counter batch: `by` optional
    let d = tempfile::tempdir().unwrap();
    init(d.path(), "c", ty(Kind::PNCounterMap, KeyType::Int64, None)).unwrap();
    let n = start(&rt, d.path(), vec![]);
    let k: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 1]));
    let by: ArrayRef = Arc::new(UInt64Array::from(vec![10u64, 20, 30]));
    ok(post_batch(
        n.http_addr(),
        "",
        &ipc(&[RecordBatch::try_from_iter([("key", k.clone()), ("by", by)]).unwrap()]),
    ));
    ok(post_batch(
        n.http_addr(),
        "?op=decrement",
        &ipc(&[RecordBatch::try_from_iter([("key", k)]).unwrap()]),
    ));
    assert_eq!(ok(call(n.http_addr(), "GET", "/keys/1", None))["value"], 38);
    assert_eq!(ok(call(n.http_addr(), "GET", "/keys/2", None))["value"], 19);
    rt.block_on(n.shutdown()).unwrap();
}

/// Writes `k0..kN` = their number through the replica library, folds them into a
/// snapshot, then writes `late0..late99` and removes `k0` (those stay in the log).
fn snapshot_then_log(dir: &Path, n: i64) -> u64 {
    let mut r = Replica::open(dir, Options::default()).unwrap();
    for i in 0..n {
        r.write(|s| s.set(Scalar::Utf8(format!("k{i}")), Scalar::Int64(i)))
            .unwrap();
    }
    r.fold().unwrap();
    let len = std::fs::metadata(r.snapshot_path().unwrap()).unwrap().len();
    for i in 0..100 {
        r.write(|s| s.set(Scalar::Utf8(format!("late{i}")), Scalar::Int64(-i)))
            .unwrap();
    }
    r.write(|s| s.remove(Scalar::Utf8("k0".into()))).unwrap();
    r.close().unwrap();
    len
}

fn start_offering(rt: &tokio::runtime::Runtime, dir: &Path, peers: Vec<PeerSpec>) -> Node {
    let mut cfg = NodeConfig::new(dir);
    cfg.peers = peers;
    cfg.sync.round_interval = Duration::from_millis(200);
    cfg.snapshot_min = 0;
    rt.block_on(Node::start(cfg)).unwrap()
}

/// What `snapshot_then_log(dir, n)` leaves, read back key by key over HTTP.
fn check_snapshot_then_log(node: &Node, n: i64) {
    assert_eq!(status(node)["keys"], n - 1 + 100);
    assert_eq!(
        ok(call(node.http_addr(), "GET", "/keys/k0", None))["values"],
        json!([]),
        "k0 was removed after the snapshot"
    );
    for i in (1..n).step_by(997).chain([n - 1]) {
        let r = ok(call(node.http_addr(), "GET", &format!("/keys/k{i}"), None));
        assert_eq!(r["values"], json!([i]), "k{i}: {r}");
    }
    for i in [0, 57, 99] {
        let r = ok(call(
            node.http_addr(),
            "GET",
            &format!("/keys/late{i}"),
            None,
        ));
        assert_eq!(r["values"], json!([-i]), "late{i}: {r}");
    }
}

#[test]
fn an_empty_node_takes_the_peers_snapshot_and_the_rest_by_sync() {
    let rt = runtime();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(da.path(), "paris", mvmap()).unwrap();
    let kb = init(db.path(), "tokyo", mvmap()).unwrap();
    let n = 20_000;
    let snapshot = snapshot_then_log(da.path(), n);
    let a = start_offering(&rt, da.path(), vec![accept_only(kb)]);
    let b = start(&rt, db.path(), vec![pin(&a)]);
    let digest = await_convergence(&[&a, &b], Duration::from_secs(30));
    check_snapshot_then_log(&b, n);
    let s = status(&b);
    let p = &s["peers"][0];
    assert_eq!(p["snapshots_in"], 1, "{s}");
    assert_eq!(p["snapshot_bytes_in"], snapshot, "{s}");
    // the protocol shipped what the snapshot lacks, not the state again
    assert!(
        p["bytes_in"].as_u64().unwrap() < snapshot / 2,
        "the protocol shipped {} bytes beside a {snapshot}-byte snapshot: {s}",
        p["bytes_in"]
    );
    let sa = status(&a);
    assert_eq!(sa["peers"][0]["snapshots_out"], 1, "{sa}");
    assert_eq!(sa["peers"][0]["snapshot_bytes_out"], snapshot, "{sa}");
    let m = call(b.http_addr(), "GET", "/metrics", None).body;
    assert!(
        m.contains(&format!(
            "pluriverse_peer_snapshot_bytes_in_total{{peer=\"{}\"}} {snapshot}",
            a.public_key()
        )),
        "{m}"
    );
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();
    // what tokyo took is in its directory: alone, it opens to the same state, and it asks
    // no one for a snapshot again (it is not empty)
    let b = start(&rt, db.path(), vec![]);
    assert_eq!(status(&b)["digest"], digest.as_str());
    check_snapshot_then_log(&b, n);
    rt.block_on(b.shutdown()).unwrap();
    let a = start_offering(&rt, da.path(), vec![accept_only(kb)]);
    let b = start(&rt, db.path(), vec![pin(&a)]);
    await_convergence(&[&a, &b], Duration::from_secs(30));
    assert_eq!(status(&b)["peers"][0]["snapshots_in"], 0);
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();
}

#[test]
fn a_snapshot_that_does_not_decode_is_refused_and_sync_carries_the_catch_up() {
    let rt = runtime();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(da.path(), "paris", mvmap()).unwrap();
    let kb = init(db.path(), "tokyo", mvmap()).unwrap();
    let n = 5_000;
    snapshot_then_log(da.path(), n);
    let a = start_offering(&rt, da.path(), vec![accept_only(kb)]);
    // paris read its snapshot at start; the file it would send is now damaged (same size)
    let file = std::fs::read_dir(da.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("snapshot-")
        })
        .unwrap();
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    let mut bytes = std::fs::read(&file).unwrap();
    for b in &mut bytes[len / 4..] {
        *b = 0xA5;
    }
    std::fs::write(&file, &bytes).unwrap();
    let b = start(&rt, db.path(), vec![pin(&a)]);
    await_convergence(&[&a, &b], Duration::from_secs(30));
    check_snapshot_then_log(&b, n);
    let s = status(&b);
    let p = &s["peers"][0];
    assert_eq!(p["snapshots_in"], 0, "{s}");
    assert_eq!(p["snapshots_refused"], 1, "{s}");
    assert!(
        p["snapshot_error"]
            .as_str()
            .is_some_and(|e| e.contains("does not decode")),
        "{s}"
    );
    assert!(p["errors"].as_u64().unwrap() >= 1, "{s}");
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();
}

/// A peer whose snapshot holds another type of state is refused on the file's schema (the
/// first bytes, not the whole file), and the empty node's state and files stay as they
/// were: nothing joined, nothing logged.
#[test]
fn a_snapshot_of_another_type_is_refused_on_its_schema() {
    let rt = runtime();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let strings = ty(Kind::MVMap, KeyType::Utf8, Some(ValueType::Utf8));
    init(da.path(), "paris", strings).unwrap();
    let kb = init(db.path(), "tokyo", mvmap()).unwrap();
    let mut r = Replica::open(da.path(), Options::default()).unwrap();
    for i in 0..2000 {
        r.write(|s| s.set(Scalar::Utf8(format!("k{i}")), Scalar::Utf8(format!("v{i}"))))
            .unwrap();
    }
    r.fold().unwrap();
    r.close().unwrap();
    let files = |d: &Path| -> Vec<(String, u64)> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| {
                !e.file_name()
                    .to_string_lossy()
                    .starts_with("node-addresses")
            })
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let a = start_offering(&rt, da.path(), vec![accept_only(kb)]);
    let b = start(&rt, db.path(), vec![pin(&a)]);
    let empty = status(&b)["digest"].clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = status(&b);
        if s["peers"][0]["snapshots_refused"] != 0 {
            break s;
        }
        assert!(Instant::now() < deadline, "no refusal: {s}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let p = &s["peers"][0];
    assert_eq!(p["snapshots_refused"], 1, "{s}");
    let e = p["snapshot_error"].as_str().unwrap();
    assert!(e.contains("holds a") && e.contains("utf8, utf8"), "{s}");
    assert_eq!(p["snapshots_in"], 0, "{s}");
    assert_eq!(s["entries"], 0, "{s}");
    assert_eq!(s["digest"], empty, "{s}");
    let before = files(db.path());
    rt.block_on(b.shutdown()).unwrap();
    rt.block_on(a.shutdown()).unwrap();
    // tokyo's files: what shutting down leaves of an empty replica, and nothing else
    let after = files(db.path());
    assert_eq!(before.len(), after.len(), "{before:?} -> {after:?}");
    let b = start(&rt, db.path(), vec![]);
    assert_eq!(status(&b)["entries"], 0);
    assert_eq!(status(&b)["digest"], empty);
    rt.block_on(b.shutdown()).unwrap();
}
