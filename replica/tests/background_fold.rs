//! Folds whose snapshot is written off the caller's thread ([`Replica::start_fold`]):
//! the state they leave against an in-memory model, writes going on while the snapshot is
//! written, and received deltas acknowledged (handed to the OS) surviving SIGKILL at any
//! moment, folds in flight included.
//!
//! The kill test runs this test binary itself as the child (`PLV_BG_CHILD_DIR=...`): it
//! receives deltas from an in-memory source into a replica whose received deltas fold
//! every few KiB, and prints each acknowledgement; the parent kills it, reopens the
//! directory and checks every acknowledged delta's entry against its own record.

mod common;
use common::tmp;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};
use pluriverse_replica::{Options, Replica, ReplicaError};
use pluriverse_testkit::SplitMix64 as Rng;

fn mvmap() -> StateType {
    StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap()
}

fn files(dir: &Path) -> Vec<String> {
    let mut f: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("snapshot-") || f.starts_with("log-"))
        .collect();
    f.sort();
    f
}

fn get(s: &AnyState, key: &str) -> Vec<Scalar> {
    s.get(&Scalar::Utf8(key.into())).unwrap()
}

#[test]
fn a_background_fold_keeps_every_write_made_while_it_runs() {
    let dir = tmp("writes");
    let opts = Options {
        fold_bytes: 1 << 40, // no fold but the ones asked for
        ..Options::default()
    };
    let mut r = Replica::create(&dir, "r", mvmap(), opts).unwrap();
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let mut rng = Rng(7);
    for round in 0..6 {
        for _ in 0..200 {
            let k = format!("k{}", rng.next_u64() % 500);
            let v = rng.next_u64() as i64;
            r.write(|s| s.set(Scalar::Utf8(k.clone()), Scalar::Int64(v)))
                .unwrap();
            model.insert(k, v);
        }
        r.start_fold().unwrap();
        assert!(r.fold_pending());
        // writes go on, into the next log, while the snapshot is written
        for _ in 0..50 {
            let k = format!("k{}", rng.next_u64() % 500);
            let v = rng.next_u64() as i64;
            r.write(|s| s.set(Scalar::Utf8(k.clone()), Scalar::Int64(v)))
                .unwrap();
            model.insert(k, v);
        }
        if round % 2 == 0 {
            r.finish_fold(true).unwrap();
            assert!(!r.fold_pending());
            // the older files are gone: one snapshot, the log after it
            let f = files(&dir);
            assert_eq!(f.len(), 2, "{f:?}");
        }
        // one handle's writes are sequential: every key holds its last value
        for (k, v) in &model {
            assert_eq!(get(r.state(), k), vec![Scalar::Int64(*v)]);
        }
    }
    let digest = r.state().digest();
    r.close().unwrap(); // waits for a fold in flight
    let again = Replica::open(&dir, opts).unwrap();
    assert_eq!(again.state().digest(), digest);
    for (k, v) in &model {
        assert_eq!(get(again.state(), k), vec![Scalar::Int64(*v)]);
    }
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dropping_a_handle_waits_for_its_fold() {
    let dir = tmp("drop");
    let mut r = Replica::create(&dir, "r", mvmap(), Options::default()).unwrap();
    let keys: Vec<String> = (0..5000).map(|i| format!("key-{i}")).collect();
    for k in &keys {
        r.write(|s| s.set(Scalar::Utf8(k.clone()), Scalar::Int64(1)))
            .unwrap();
    }
    r.start_fold().unwrap();
    drop(r);
    // the fold finished before the lock went: one snapshot and its log, no temporary
    let f = files(&dir);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(!std::fs::read_dir(&dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
    let r = Replica::open(&dir, Options::default()).unwrap();
    assert_eq!(r.state().len(), keys.len());
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn received_deltas_fold_off_the_thread_and_reopen() {
    let dir = tmp("received");
    let opts = Options {
        fold_bytes: 4 << 10, // received deltas fold past 16 KiB of log
        ..Options::default()
    };
    let mut r = Replica::create(&dir, "r", mvmap(), opts).unwrap();
    let mut src = AnyState::new(mvmap(), "src");
    let mut folds = 0;
    for i in 0..3000 {
        let d = src
            .set(Scalar::Utf8(format!("k{i}")), Scalar::Int64(i))
            .unwrap();
        let b = d.to_compact();
        assert!(r.apply_many_compact(&[d], &[b]).iter().all(Result::is_ok));
        folds += usize::from(r.fold_pending());
    }
    assert!(folds > 0, "no fold started");
    assert_eq!(r.state().digest(), src.digest());
    r.close().unwrap();
    let r = Replica::open(&dir, opts).unwrap();
    assert_eq!(r.state().digest(), src.digest());
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child: receives deltas of keys `k{tag}-{i}` from an in-memory source into the
/// replica in `PLV_BG_CHILD_DIR` (received deltas fold past 16 KiB of log, off the thread),
/// and prints `ACK key value` once each `apply_many_compact` returns (the record is
/// handed to the OS: it survives the process).
#[test]
fn child_receiver() {
    let Ok(dir) = std::env::var("PLV_BG_CHILD_DIR") else {
        return;
    };
    let opts = Options {
        fold_bytes: 4 << 10,
        ..Options::default()
    };
    let mut r = match Replica::open(&dir, opts) {
        Ok(r) => r,
        Err(ReplicaError::NotAReplica { .. }) => {
            Replica::create(&dir, "dst", mvmap(), opts).unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    let tag: u64 = std::env::var("PLV_BG_CHILD_TAG").unwrap().parse().unwrap();
    let mut src = AnyState::new(mvmap(), format!("src{tag}"));
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for i in 0u64.. {
        // a batch of a few deltas at a time, as a node receives them
        let n = 1 + (i % 4) as usize;
        let mut ds = Vec::new();
        let mut keys = Vec::new();
        for j in 0..n {
            let key = format!("k{tag}-{i}-{j}");
            let value = (tag * 1_000_000 + i) as i64;
            ds.push(
                src.set(Scalar::Utf8(key.clone()), Scalar::Int64(value))
                    .unwrap(),
            );
            keys.push((key, value));
        }
        let bs: Vec<Vec<u8>> = ds.iter().map(AnyState::to_compact).collect();
        assert!(r.apply_many_compact(&ds, &bs).iter().all(Result::is_ok));
        for (key, value) in keys {
            writeln!(out, "ACK {key} {value}").unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_received_deltas_survive_sigkill_during_background_folds() {
    let kills: u64 = std::env::var("PLV_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let dir = tmp("kill");
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let mut rng = Rng(0x6b69_6c6c);
    for tag in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_receiver",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PLV_BG_CHILD_DIR", &dir)
            .env("PLV_BG_CHILD_TAG", tag.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        // wait for the first acknowledgement (the open is done), then a random while
        let first = rx.recv_timeout(Duration::from_secs(60));
        let wait = Duration::from_millis(20 + rng.next_u64() % 200);
        let t = Instant::now();
        let mut lines: Vec<String> = first.into_iter().collect();
        while t.elapsed() < wait {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(5)) {
                lines.push(l);
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        for l in lines {
            let mut p = l.split(' ');
            if p.next() != Some("ACK") {
                continue;
            }
            let (Some(k), Some(v)) = (p.next(), p.next()) else {
                continue; // a line cut by the kill was never acknowledged
            };
            if let Ok(v) = v.parse::<i64>() {
                acked.insert(k.to_owned(), v);
            }
        }
        // the directory opens, holding every acknowledged delta
        let r = Replica::open(&dir, Options::default()).unwrap();
        for (k, v) in &acked {
            assert_eq!(
                get(r.state(), k),
                vec![Scalar::Int64(*v)],
                "acknowledged {k} lost after kill {tag}"
            );
        }
        drop(r);
    }
    assert!(acked.len() as u64 > kills, "too few acknowledgements");
    std::fs::remove_dir_all(&dir).unwrap();
}
