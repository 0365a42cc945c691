//! The durable replica against what its callers were told: every acknowledged write
//! survives SIGKILL at any moment (folds included), a torn log tail is cut at every byte
//! offset, damage in the middle is reported with file and offset, one process at a time
//! opens a directory, and a restored old copy of a directory never reissues a dot.
//!
//! The kill tests run this test binary itself as the child (`PLV_CHILD=...`): it writes
//! with synced durability and prints each acknowledgement; the parent kills it, reopens
//! the directory and checks every acknowledged write against its own record of them.

mod common;
use common::tmp;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};
use pluriverse_replica::{Durability, Options, Replica, ReplicaError};
use pluriverse_testkit::SplitMix64 as Rng;

fn mvmap() -> StateType {
    StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Every entry `(writer, counter) -> (key, value)` of an MVMap state, read from its Arrow
/// columns (the wire format's documented layout, not the engine's read path).
fn entries(s: &AnyState) -> BTreeMap<(String, u64), (String, i64)> {
    let (_, batches) = s.to_record_batches().unwrap();
    let mut out = BTreeMap::new();
    for b in batches {
        let keys = b.column(0).as_string::<i32>();
        let reps = b
            .column(1)
            .as_dictionary::<arrow_array::types::UInt32Type>();
        let names = reps.values().as_binary::<i32>();
        let counters = b.column(2).as_primitive::<UInt64Type>();
        let values = b.column(3).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let name =
                String::from_utf8_lossy(names.value(reps.keys().value(i) as usize)).into_owned();
            out.insert(
                (name, counters.value(i)),
                (keys.value(i).to_owned(), values.value(i)),
            );
        }
    }
    out
}

/// The child: opens (creating if needed) the replica in `PLV_DIR` with synced durability
/// and small folds, writes unique keys, prints `ACK writer counter key value` after each
/// write returns.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("PLV_CHILD_DIR") else {
        return;
    };
    let opts = Options {
        durability: Durability::Synced,
        fold_bytes: 8 << 10,
        ..Options::default()
    };
    let mut r = match Replica::open(&dir, opts) {
        Ok(r) => r,
        Err(ReplicaError::NotAReplica { .. }) => {
            Replica::create(&dir, "paris", mvmap(), opts).unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    let tag: u64 = std::env::var("PLV_CHILD_TAG").unwrap().parse().unwrap();
    if std::env::var("PLV_CHILD_HOLD").is_ok() {
        println!("HOLDING");
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for i in 0.. {
        let key = format!("k{tag}-{i}");
        let value = (tag * 1_000_000 + i) as i64;
        let w = r
            .write(|s| s.set(Scalar::Utf8(key.clone()), Scalar::Int64(value)))
            .unwrap();
        assert!(w.durable);
        let (c, _) = w.dots.unwrap();
        writeln!(out, "ACK {} {c} {key} {value}", w.writer).unwrap();
        out.flush().unwrap();
    }
}

fn spawn_child(dir: &Path, tag: u64, hold: bool) -> std::process::Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env("PLV_CHILD_DIR", dir)
        .env("PLV_CHILD_TAG", tag.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if hold {
        c.env("PLV_CHILD_HOLD", "1");
    }
    c.spawn().unwrap()
}

#[test]
fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let kills: u64 = std::env::var("PLV_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let dir = tmp("kill");
    let mut rng = Rng(0x5eed);
    // (writer, counter) -> (key, value), as acknowledged
    let mut acked: BTreeMap<(String, u64), (String, i64)> = BTreeMap::new();
    let mut writers = BTreeSet::new();
    for tag in 0..kills {
        let mut child = spawn_child(&dir, tag, false);
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                match l {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let mut lines = Vec::new();
        if tag % 4 != 0 {
            // most runs die while writing (folds included): wait for the first
            // acknowledgement, however slow the machine is, then a random moment more
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
                    let first = l.contains("ACK ");
                    lines.push(l);
                    if first {
                        break;
                    }
                }
            }
        }
        // every fourth dies at any moment from its start: opening, replaying, cutting
        std::thread::sleep(Duration::from_micros(rng.next_u64() % 40_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        let mut this_run = BTreeSet::new();
        for l in lines {
            // the first line follows the test harness's "test child_writer ... "
            let Some(at) = l.find("ACK ") else { continue };
            let f: Vec<&str> = l[at..].split(' ').collect();
            if f.len() == 5 && f[0] == "ACK" {
                acked.insert(
                    (f[1].into(), f[2].parse().unwrap()),
                    (f[3].into(), f[4].parse().unwrap()),
                );
                this_run.insert(f[1].to_owned());
            }
        }
        // one writer per run, never seen before
        assert!(this_run.len() <= 1);
        for w in this_run {
            assert!(writers.insert(w), "a writer name was reused");
        }
    }
    let r = Replica::open(&dir, Options::default()).unwrap();
    // the state decodes from its own bytes (every invariant checked by the decoder)
    let bytes = r.state().to_bytes().unwrap();
    AnyState::from_bytes(&bytes, "check").unwrap();
    let have = entries(r.state());
    for (dot, kv) in &acked {
        assert_eq!(
            have.get(dot),
            Some(kv),
            "acknowledged write {dot:?} lost or altered"
        );
    }
    // nothing but acknowledged writes and at most one unacknowledged one per run
    assert!(have.len() <= acked.len() + kills as usize);
    assert!(
        acked.len() as u64 > kills / 2,
        "the children wrote too little to test anything"
    );
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_process_is_refused_while_one_has_the_directory() {
    let dir = tmp("lock");
    Replica::create(&dir, "paris", mvmap(), Options::default()).unwrap();
    let mut child = spawn_child(&dir, 1, true);
    let holding = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.ends_with("HOLDING"));
    assert!(holding);
    assert!(matches!(
        Replica::open(&dir, Options::default()),
        Err(ReplicaError::Locked { .. })
    ));
    child.kill().unwrap();
    child.wait().unwrap();
    // the lock dies with its process
    Replica::open(&dir, Options::default()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A name is 1 to `MAX_REPLICA_NAME` bytes: an empty or longer one is refused before
/// anything is written (the directory is left as it was), the longest is taken, and its
/// incarnations are `MAX_INCARNATION` bytes.
#[test]
fn a_replica_name_that_the_sync_could_not_carry_is_refused_at_create() {
    use pluriverse_replica::identity::{MAX_INCARNATION, MAX_REPLICA_NAME};
    let dir = tmp("names");
    for bad in [String::new(), "n".repeat(MAX_REPLICA_NAME + 1)] {
        let err = Replica::create(&dir, bad.as_str(), mvmap(), Options::default()).unwrap_err();
        assert!(matches!(err, ReplicaError::Config(_)), "{err}");
        assert!(
            err.to_string().contains(&format!("{} bytes", bad.len())),
            "{err}"
        );
        assert!(!dir.exists(), "a refused create left {}", dir.display());
    }
    let longest = "n".repeat(MAX_REPLICA_NAME);
    let r = Replica::create(&dir, longest.as_str(), mvmap(), Options::default()).unwrap();
    assert_eq!(r.writer().as_bytes().len(), MAX_INCARNATION);
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A process forked by another thread holds a copy of every descriptor until it execs,
/// locked ones included: closing a replica and opening it again (or creating one, which
/// used to release its lock and take it again) must not see that copy as a second holder.
#[test]
fn opening_while_another_thread_forks_children_is_not_refused_as_locked() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                Command::new("true").status().unwrap();
                n += 1;
            }
            n
        })
    };
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 300 && started.elapsed() < Duration::from_secs(4) {
        let dir = tmp("forks");
        let r = Replica::create(&dir, "paris", mvmap(), Options::default())
            .unwrap_or_else(|e| panic!("create, round {rounds}: {e}"));
        r.close().unwrap();
        let r = Replica::open(&dir, Options::default())
            .unwrap_or_else(|e| panic!("reopen, round {rounds}: {e}"));
        drop(r);
        std::fs::remove_dir_all(&dir).unwrap();
        rounds += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let forks = forker.join().unwrap();
    assert!(rounds >= 20 && forks > 0, "{rounds} rounds, {forks} forks");
}

/// Writes `n` records with buffered durability; returns the log file and the file's size
/// after each write (read from the file system).
fn write_records(dir: &Path, n: usize) -> (PathBuf, Vec<(u64, String, i64)>) {
    let opts = Options {
        durability: Durability::Buffered,
        ..Options::default()
    };
    let mut r = Replica::create(dir, "paris", mvmap(), opts).unwrap();
    let log = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("log-"))
        .unwrap();
    let mut ends = Vec::new();
    for i in 0..n {
        let (k, v) = (format!("k{i}"), i as i64 * 7);
        r.write(|s| s.set(Scalar::Utf8(k.clone()), Scalar::Int64(v)))
            .unwrap();
        ends.push((std::fs::metadata(&log).unwrap().len(), k, v));
    }
    r.close().unwrap();
    (log, ends)
}

#[test]
fn a_torn_tail_is_cut_at_every_byte_offset_of_the_last_records() {
    let dir = tmp("torn");
    let (log, ends) = write_records(&dir, 6);
    let full = std::fs::read(&log).unwrap();
    let from = ends[2].0; // cut anywhere in the last three records
    for cut in from..=full.len() as u64 {
        let d = tmp("torn-cut");
        copy_dir(&dir, &d);
        let l = d.join(log.file_name().unwrap());
        std::fs::write(&l, &full[..cut as usize]).unwrap();
        let r = Replica::open(&d, Options::default()).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        for (end, k, v) in &ends {
            let got = r.state().get(&Scalar::Utf8(k.clone())).unwrap();
            if *end <= cut {
                assert_eq!(got, vec![Scalar::Int64(*v)], "cut {cut}: {k} lost");
            } else {
                assert!(got.is_empty(), "cut {cut}: {k} from a cut record");
            }
        }
        // the tail was cut off the file: the next write follows the last good record
        let good = ends
            .iter()
            .map(|e| e.0)
            .filter(|&e| e <= cut)
            .max()
            .unwrap_or(0);
        assert_eq!(std::fs::metadata(&l).unwrap().len(), good, "cut {cut}");
        drop(r);
        std::fs::remove_dir_all(&d).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damage_in_the_middle_is_an_error_naming_file_and_offset() {
    let dir = tmp("damage");
    let (log, ends) = write_records(&dir, 5);
    let mut bytes = std::fs::read(&log).unwrap();
    // a bit in the payload of the second record
    let at = ends[0].0 as usize + 20;
    bytes[at] ^= 0x10;
    std::fs::write(&log, &bytes).unwrap();
    match Replica::open(&dir, Options::default()) {
        Err(ReplicaError::Corrupt { file, offset, .. }) => {
            assert_eq!(file, log);
            assert_eq!(offset, ends[0].0);
        }
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
    // the files are untouched by the failed open
    assert_eq!(std::fs::read(&log).unwrap(), bytes);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_restored_old_copy_never_reissues_a_dot() {
    use pluriverse_replica::sync::{Config, Peer};
    let ty = mvmap();
    let (pdir, tdir, backup) = (tmp("paris"), tmp("tokyo"), tmp("backup"));
    let opts = Options::default();
    let mut paris = Replica::create(&pdir, "paris", ty, opts).unwrap();
    let mut tokyo = Replica::create(&tdir, "tokyo", ty, opts).unwrap();
    let set = |r: &mut Replica, k: &str, v: i64| {
        let w = r
            .write(|s| s.set(Scalar::Utf8(k.into()), Scalar::Int64(v)))
            .unwrap();
        w.delta
    };
    let d = set(&mut paris, "a", 1);
    tokyo.apply(&d).unwrap();
    paris.sync().unwrap();
    copy_dir(&pdir, &backup);
    let d = set(&mut paris, "b", 2);
    tokyo.apply(&d).unwrap();
    let d = set(&mut paris, "c", 3);
    tokyo.apply(&d).unwrap();
    let first_writer = paris.writer().clone();
    drop(paris);
    // restore the old copy and write again
    std::fs::remove_dir_all(&pdir).unwrap();
    copy_dir(&backup, &pdir);
    let mut paris = Replica::open(&pdir, opts).unwrap();
    assert_ne!(paris.writer(), &first_writer);
    let d = set(&mut paris, "d", 40);
    tokyo.apply(&d).unwrap();
    // anti-entropy both ways through the protocol
    let cfg = Config::default();
    let (mut pp, mut pt) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tick = 0;
    while paris.state().digest() != tokyo.state().digest() {
        assert!(Instant::now() < deadline, "no convergence");
        let now = Duration::from_secs(tick);
        tick += 1;
        while let Some(m) = pp.poll_transmit(now, paris.state()) {
            if let Some(d) = pt.handle(now, &m).unwrap() {
                tokyo.apply(&d).unwrap();
            }
        }
        while let Some(m) = pt.poll_transmit(now, tokyo.state()) {
            if let Some(d) = pp.handle(now, &m).unwrap() {
                paris.apply(&d).unwrap();
            }
        }
    }
    for (k, v) in [("a", 1), ("b", 2), ("c", 3), ("d", 40)] {
        for r in [&paris, &tokyo] {
            assert_eq!(
                r.state().get(&Scalar::Utf8(k.into())).unwrap(),
                vec![Scalar::Int64(v)],
                "{k}"
            );
        }
    }
    for d in [pdir, tdir, backup] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_delta_claiming_our_own_unissued_dots_is_refused() {
    let dir = tmp("claim");
    let mut r = Replica::create(&dir, "paris", mvmap(), Options::default()).unwrap();
    r.write(|s| s.set(Scalar::Utf8("a".into()), Scalar::Int64(1)))
        .unwrap();
    // a forged delta under this handle's own incarnation, claiming counter 5
    let mut forged = AnyState::new(mvmap(), r.writer().clone());
    for i in 0..5 {
        forged
            .set(Scalar::Utf8(format!("x{i}")), Scalar::Int64(i))
            .unwrap();
    }
    let before = r.state().digest();
    match r.apply(&forged) {
        Err(ReplicaError::ForeignClaim {
            claimed, issued, ..
        }) => assert_eq!((claimed, issued), (5, 1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.state().digest(), before);
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A small replica restarted and written many times: with the default 64 MiB fold bound
/// alone its log would grow by a few records per restart and every open would replay all of
/// them. The log stays within the fold floor (or the snapshot's size) instead, and the state
/// survives every reopen, checked against a model of the writes.
#[test]
fn a_small_replica_restarted_often_keeps_a_short_log() {
    let dir = tmp("restarted-often");
    let opts = Options {
        durability: Durability::Buffered,
        ..Options::default()
    };
    assert!(opts.fold_bytes > 8 * pluriverse_replica::dir::FOLD_FLOOR);
    Replica::create(&dir, "paris", mvmap(), opts).unwrap();
    let mut model = BTreeMap::new();
    let mut longest = 0;
    for restart in 0..40i64 {
        let mut r = Replica::open(&dir, opts).unwrap();
        longest = longest.max(r.log_bytes());
        for i in 0..60 {
            let k = format!("k{}", (restart * 60 + i) % 50);
            let v = restart * 1000 + i;
            r.write(|s| s.set(Scalar::Utf8(k.clone()), Scalar::Int64(v)))
                .unwrap();
            model.insert(k, v);
            longest = longest.max(r.log_bytes());
        }
        for (k, v) in &model {
            assert_eq!(
                r.state().get(&Scalar::Utf8(k.clone())).unwrap(),
                vec![Scalar::Int64(*v)],
                "restart {restart}, key {k}"
            );
        }
    }
    // 2,400 writes of about 1.7 KB each (4 MB) went through the log, well over the floor
    assert!(
        longest <= pluriverse_replica::dir::FOLD_FLOOR + 4096,
        "the log reached {longest} bytes"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn folds_keep_the_state_and_bound_the_log() {
    let dir = tmp("fold");
    let opts = Options {
        durability: Durability::Buffered,
        fold_bytes: 4 << 10,
        ..Options::default()
    };
    let mut r = Replica::create(&dir, "paris", mvmap(), opts).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..300i64 {
        let k = format!("k{}", i % 40);
        r.write(|s| s.set(Scalar::Utf8(k.clone()), Scalar::Int64(i)))
            .unwrap();
        model.insert(k, i);
        assert!(r.log_bytes() <= opts.fold_bytes + 2048);
    }
    drop(r);
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files.iter().filter(|f| f.starts_with("snapshot-")).count(),
        1,
        "{files:?}"
    );
    assert_eq!(
        files.iter().filter(|f| f.starts_with("log-")).count(),
        1,
        "{files:?}"
    );
    let r = Replica::open(&dir, opts).unwrap();
    for (k, v) in &model {
        assert_eq!(
            r.state().get(&Scalar::Utf8(k.clone())).unwrap(),
            vec![Scalar::Int64(*v)]
        );
    }
    assert_eq!(r.state().len(), model.len());
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}
