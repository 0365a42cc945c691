//! `pluriverse node` as real processes on 127.0.0.1: init, run, kill -9 while writes are
//! being acknowledged, restart on the same port, nothing acknowledged lost, convergence,
//! SIGTERM exits 0. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pluriverse_node::client::{request, Response};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pluriverse"))
}

/// A scratch directory, removed at the end.
struct Dir(PathBuf);
impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("pluriverse-node-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn init(dir: &Path, name: &str) -> String {
    let o = bin()
        .args(["node", "init", "--dir"])
        .arg(dir)
        .args([
            "--name", name, "--kind", "mvmap", "--key", "utf8", "--value", "int64",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert_eq!(key.len(), 64, "{key}");
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    let mode = std::fs::metadata(dir.join("node.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    key
}

/// A node process, killed (SIGKILL) if the test ends without stopping it.
struct NodeProc {
    child: Child,
    quic: SocketAddr,
    http: SocketAddr,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(dir: &Path, listen: &str, peers: &[String]) -> NodeProc {
    let mut c = bin();
    c.args(["node", "run", "--dir"]).arg(dir).args([
        "--listen",
        listen,
        "--http",
        "127.0.0.1:0",
        "--round-ms",
        "200",
    ]);
    for p in peers {
        c.args(["--peer", p]);
    }
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    let mut child = c.stdout(Stdio::piped()).stderr(log).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(T).expect("the node prints its addresses");
    let field = |name: &str| -> SocketAddr {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {line:?}"))
            .parse()
            .unwrap()
    };
    NodeProc {
        quic: field("quic="),
        http: field("http="),
        child,
    }
}

fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> std::io::Result<Response> {
    let b = body.map(|b| b.to_string());
    request(addr, method, path, b.as_deref(), None, T)
}

fn get(n: &NodeProc, path: &str) -> Value {
    let r = call(n.http, "GET", path, None).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().unwrap()
}

fn await_convergence(a: &NodeProc, b: &NodeProc) {
    let start = Instant::now();
    loop {
        let (da, db) = (
            get(a, "/status")["digest"].clone(),
            get(b, "/status")["digest"].clone(),
        );
        if da == db {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no convergence: {da} {db}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM, then the exit status within the bound.
fn terminate(mut n: NodeProc) -> std::process::ExitStatus {
    let pid = n.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    loop {
        if let Some(s) = n.child.try_wait().unwrap() {
            return s;
        }
        assert!(start.elapsed() < T, "the node did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged_and_the_node_converges_again() {
    let root = Dir::new("kill");
    let (da, db) = (root.0.join("a"), root.0.join("b"));
    let ka = init(&da, "paris");
    let kb = init(&db, "tokyo");
    // a second init of the same directory is refused
    let again = bin()
        .args(["node", "init", "--dir"])
        .arg(&da)
        .args(["--name", "x", "--kind", "mvmap"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let a = run(&da, "127.0.0.1:0", std::slice::from_ref(&kb));
    let b = run(&db, "127.0.0.1:0", &[format!("{ka}@{}", a.quic)]);
    // writes to a, acknowledged one by one, while it is killed at some moment
    let http = a.http;
    let writer = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for i in 0..100_000u64 {
            match call(
                http,
                "PUT",
                &format!("/keys/a{i}"),
                Some(json!({ "value": i })),
            ) {
                Ok(r) if r.status == 200 => acked.push(i),
                _ => break,
            }
        }
        acked
    });
    for i in 0..10 {
        let r = call(
            b.http,
            "PUT",
            &format!("/keys/b{i}"),
            Some(json!({ "value": i })),
        )
        .unwrap();
        assert_eq!(r.status, 200);
    }
    std::thread::sleep(Duration::from_millis(700));
    let port = a.quic;
    drop(a); // SIGKILL
    let acked = writer.join().unwrap();
    assert!(
        acked.len() >= 5,
        "only {} writes before the kill",
        acked.len()
    );

    // back on the same port: every acknowledged write is there
    let a = run(&da, &port.to_string(), std::slice::from_ref(&kb));
    for &i in &acked {
        assert_eq!(
            get(&a, &format!("/keys/a{i}"))["values"],
            json!([i]),
            "a{i} lost"
        );
    }
    // b redials (backoff) and both converge, with the writes b made meanwhile
    for i in 10..20 {
        let r = call(
            b.http,
            "PUT",
            &format!("/keys/b{i}"),
            Some(json!({ "value": i })),
        )
        .unwrap();
        assert_eq!(r.status, 200);
    }
    await_convergence(&a, &b);
    for n in [&a, &b] {
        for i in 0..20 {
            assert_eq!(get(n, &format!("/keys/b{i}"))["values"], json!([i]));
        }
        let last = acked.last().unwrap();
        assert_eq!(get(n, &format!("/keys/a{last}"))["values"], json!([last]));
    }
    let s = get(&b, "/status");
    assert!(s["peers"][0]["connects"].as_u64().unwrap() >= 2, "{s}");
    assert!(terminate(b).success());
    assert!(terminate(a).success());
    let log = std::fs::read_to_string(da.with_extension("log")).unwrap();
    assert!(log.contains("SIGTERM"), "{log}");
}

#[test]
fn run_refuses_bad_arguments_clearly() {
    let root = Dir::new("bad");
    let d = root.0.join("n");
    init(&d, "n");
    let cases: [(&[&str], &str); 4] = [
        (&["--peer", "nothex@127.0.0.1:1"], "not a public key"),
        (&["--http", "0.0.0.0:0"], "--token"),
        (&["--durability", "sometimes"], "group, synced or buffered"),
        (
            &["--peers-file", "/nonexistent/peers"],
            "/nonexistent/peers",
        ),
    ];
    for (args, needle) in cases {
        let o = bin()
            .args(["node", "run", "--dir"])
            .arg(&d)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // no such node
    let o = bin()
        .args(["node", "run", "--dir"])
        .arg(root.0.join("none"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("node init"));
}
