//! Node processes: `pluriverse node init` and `node run` in directories of their own,
//! SIGKILL, SIGTERM, copies of a directory, and the HTTP calls the harness makes.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pluriverse_node::client::{request, Response};
use serde_json::Value;

/// How long a process may take to start and print its addresses (a loaded machine is slow).
const START: Duration = Duration::from_secs(20);

/// One node of the cluster and its process, if running.
#[derive(Debug)]
pub struct NodeProc {
    /// Replica name (`n0`, `n1`, ...).
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its public key.
    pub key: String,
    /// Where its stderr goes, across restarts.
    pub log: PathBuf,
    /// The running process.
    pub child: Option<Child>,
    /// Its QUIC address (the latest start).
    pub quic: SocketAddr,
    /// Its HTTP address (the latest start).
    pub http: SocketAddr,
    /// The incarnation of each start, in order.
    pub incarnations: Vec<String>,
    /// The latest copy of its directory.
    pub copy: Option<PathBuf>,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `pluriverse node init`: returns the node's public key.
///
/// # Errors
/// The command failing, with its stderr.
pub fn init(bin: &Path, dir: &Path, name: &str) -> Result<String, String> {
    let o = Command::new(bin)
        .args(["node", "init", "--dir"])
        .arg(dir)
        .args([
            "--name", name, "--kind", "mvmap", "--key", "utf8", "--value", "int64",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !o.status.success() {
        return Err(format!(
            "node init {name}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    let key = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    if key.len() != 64 {
        return Err(format!(
            "node init {name} printed {key:?}, not a public key"
        ));
    }
    Ok(key)
}

impl NodeProc {
    /// A node made by [`init`], not running.
    pub fn new(name: String, dir: PathBuf, key: String, log: PathBuf) -> Self {
        let none = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            name,
            dir,
            key,
            log,
            child: None,
            quic: none,
            http: none,
            incarnations: Vec::new(),
            copy: None,
        }
    }

    /// Starts `node run` with `peers` (`PUBKEY@ADDR`), waits for its addresses and its
    /// incarnation.
    ///
    /// # Errors
    /// The process not starting or not answering in time (its log's tail is given).
    pub fn start(&mut self, bin: &Path, peers: &[String], round_ms: u64) -> Result<(), String> {
        let mut c = Command::new(bin);
        c.args(["node", "run", "--dir"]).arg(&self.dir).args([
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--round-ms",
            &round_ms.to_string(),
        ]);
        for p in peers {
            c.args(["--peer", p]);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let mut child = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START).unwrap_or_default();
        let field = |name: &str| -> Option<SocketAddr> {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|a| a.parse().ok())
        };
        let (Some(quic), Some(http)) = (field("quic="), field("http=")) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "node {} did not start (printed {line:?}); its log ends: {}",
                self.name,
                self.log_tail()
            ));
        };
        self.child = Some(child);
        self.quic = quic;
        self.http = http;
        let s = self.status(START)?;
        let inc = s["incarnation"].as_str().unwrap_or_default().to_owned();
        self.incarnations.push(inc);
        Ok(())
    }

    /// Whether the process is running.
    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL, then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for the exit (SIGKILL after `limit`).
    ///
    /// # Errors
    /// A non-zero exit or no exit within `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Result<(), String> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            match c.try_wait() {
                Ok(Some(s)) if s.success() => return Ok(()),
                Ok(Some(s)) => {
                    return Err(format!("node {} exited with {s} after SIGTERM", self.name))
                }
                Ok(None) if start.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = c.kill();
                    let _ = c.wait();
                    return Err(format!(
                        "node {} did not exit within {limit:?} of SIGTERM",
                        self.name
                    ));
                }
            }
        }
    }

    /// `GET /status`.
    ///
    /// # Errors
    /// No answer, or not a 200 with JSON.
    pub fn status(&self, timeout: Duration) -> Result<Value, String> {
        let r = request(self.http, "GET", "/status", None, None, timeout)
            .map_err(|e| format!("GET /status of {}: {e}", self.name))?;
        ok_json(&r).map_err(|e| format!("GET /status of {}: {e}", self.name))
    }

    /// The last lines of the node's log.
    pub fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

/// The body of a 200 answer as JSON.
///
/// # Errors
/// Another status, or a body that is not JSON.
pub fn ok_json(r: &Response) -> Result<Value, String> {
    if r.status != 200 {
        return Err(format!("HTTP {}: {}", r.status, r.body));
    }
    r.json()
}

/// Copies a directory tree (files and folders; a file that vanishes meanwhile is skipped,
/// as a copy of a live directory by `cp -r` would miss it).
///
/// # Errors
/// I/O errors other than a vanished file.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let ty = e.file_type()?;
        let dst = to.join(e.file_name());
        if ty.is_dir() {
            copy_dir(&e.path(), &dst)?;
        } else if ty.is_file() {
            match std::fs::copy(e.path(), &dst) {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(())
}
