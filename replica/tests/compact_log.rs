//! Received deltas logged in the compact bytes they came in (`Replica::apply_many_compact`,
//! log format 2): the state matches applying them one by one, a reopen replays the bytes
//! to the same state, every cut of the log (a kill during the catch-up) opens to the join
//! of a prefix of the batches, received deltas fold at `fold_if_due` (or past
//! `RECEIVED_FOLD_FACTOR` times the rule) rather than as they come, and a format-1
//! directory still opens.

mod common;
use common::{slices, source, tmp};

use std::path::{Path, PathBuf};

use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType};
use pluriverse_replica::dir::RECEIVED_FOLD_FACTOR;
use pluriverse_replica::{Durability, Options, Replica, ReplicaError};
use pluriverse_testkit::SplitMix64 as Rng;

fn compact(ds: &[AnyState]) -> Vec<Vec<u8>> {
    ds.iter().map(AnyState::to_compact).collect()
}

fn only_log(dir: &Path) -> PathBuf {
    let logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("log-"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs[0].clone()
}

fn snapshots(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("snapshot-")
        })
        .count()
}

#[test]
fn compact_batches_apply_as_one_by_one_and_replay_on_reopen() {
    for seed in 0..10 {
        let src = source(seed);
        let t = src.state_type();
        let mut rng = Rng(seed);
        let mut parts = slices(&src, 1 + seed % 7, &mut rng);
        if seed % 2 == 1 {
            // duplicates and an overlapping delta: the fallback path
            parts.push(parts[0].clone());
            parts.push(src.delta_since(&pluriverse::CausalContext::new()));
        }
        let bytes = compact(&parts);
        let (dir, one_dir) = (tmp("batch"), tmp("one"));
        let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
        let mut one = Replica::create(&one_dir, "r", t, Options::default()).unwrap();
        let cut = parts.len() / 3;
        for (ds, bs) in [
            (&parts[..cut], &bytes[..cut]),
            (&parts[cut..], &bytes[cut..]),
        ] {
            assert!(
                r.apply_many_compact(ds, bs).iter().all(Result::is_ok),
                "seed {seed}"
            );
            for p in ds {
                one.apply(p).unwrap();
            }
            assert_eq!(r.state().digest(), one.state().digest(), "seed {seed}");
        }
        assert_eq!(r.state().digest(), src.digest(), "seed {seed}");
        // the log holds the bytes as they came: no more than them and their headers
        let logged: usize = bytes
            .iter()
            .map(|b| b.len() + pluriverse_replica::log::HEADER)
            .sum();
        assert_eq!(r.log_bytes(), logged as u64, "seed {seed}");
        r.close().unwrap();
        let again = Replica::open(&dir, Options::default()).unwrap();
        assert_eq!(again.state().digest(), src.digest(), "seed {seed}");
        drop((again, one));
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&one_dir).unwrap();
    }
}

/// A kill at any moment of a catch-up leaves a log cut somewhere: it opens to the join of
/// the batches written before the cut (a prefix of the transfer), never to an error.
#[test]
fn every_cut_of_a_compact_log_opens_to_a_prefix_of_the_batches() {
    let src = source(5);
    let t = src.state_type();
    let parts = slices(&src, 6, &mut Rng(9));
    let bytes = compact(&parts);
    let dir = tmp("cut");
    let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    // after each batch: the log's length and the state's digest
    let mut marks = vec![(0u64, r.state().digest())];
    for (ds, bs) in parts.chunks(3).zip(bytes.chunks(3)) {
        assert!(r.apply_many_compact(ds, bs).iter().all(Result::is_ok));
        marks.push((r.log_bytes(), r.state().digest()));
    }
    r.close().unwrap();
    let log = only_log(&dir);
    let full = std::fs::read(&log).unwrap();
    assert_eq!(full.len() as u64, marks.last().unwrap().0);
    let mut rng = Rng(11);
    let mut cuts: Vec<usize> = marks.iter().map(|m| m.0 as usize).collect();
    cuts.extend((0..40).map(|_| rng.below(full.len() as u64 + 1) as usize));
    for cut in cuts {
        let copy = tmp("cut-copy");
        std::fs::create_dir_all(&copy).unwrap();
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_name() != "LOCK" {
                std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
            }
        }
        std::fs::write(copy.join(log.file_name().unwrap()), &full[..cut]).unwrap();
        let back = Replica::open(&copy, Options::default()).unwrap();
        // the records are the batches' slices: the state is a join of whole records, and
        // at a batch boundary exactly that batch's state
        if let Some(m) = marks.iter().find(|m| m.0 as usize == cut) {
            assert_eq!(back.state().digest(), m.1, "cut {cut}");
        }
        let mut model = AnyState::new(t, "m");
        let mut at = 0;
        for b in &bytes {
            let end = at + pluriverse_replica::log::HEADER + b.len();
            if end > cut {
                break;
            }
            model
                .join(&AnyState::from_compact_with_limits(t, b, "x", &Default::default()).unwrap())
                .unwrap();
            at = end;
        }
        assert_eq!(back.state().digest(), model.digest(), "cut {cut}");
        drop(back);
        std::fs::remove_dir_all(&copy).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn received_deltas_fold_when_told_or_far_past_the_rule() {
    let src = source(2);
    let t = src.state_type();
    let parts = slices(&src, 3, &mut Rng(4));
    let bytes = compact(&parts);
    let opts = Options {
        durability: Durability::Buffered,
        fold_bytes: 64,
        ..Options::default()
    };
    let dir = tmp("fold");
    let mut r = Replica::create(&dir, "r", t, opts).unwrap();
    let (mut most, mut folds, mut over_rule) = (0, 0, 0);
    for (ds, bs) in parts.chunks(2).zip(bytes.chunks(2)) {
        let before = r.log_bytes();
        assert!(r.apply_many_compact(ds, bs).iter().all(Result::is_ok));
        let added: usize = bs
            .iter()
            .map(|b| b.len() + pluriverse_replica::log::HEADER)
            .sum();
        if r.log_bytes() < before + added as u64 {
            folds += 1;
        }
        if r.fold_due() {
            over_rule += 1;
        }
        most = most.max(r.log_bytes());
        // never past the received bound
        assert!(r.log_bytes() <= RECEIVED_FOLD_FACTOR * opts.fold_bytes);
    }
    let total: usize = bytes
        .iter()
        .map(|b| b.len() + pluriverse_replica::log::HEADER)
        .sum();
    assert!(
        total as u64 > 2 * RECEIVED_FOLD_FACTOR * opts.fold_bytes,
        "{total} bytes: the test proves nothing"
    );
    // over the rule most of the time, folded only at the bound: about total / bound folds
    assert!(
        over_rule > folds,
        "{over_rule} batches over the rule, {folds} folds"
    );
    assert!(
        folds >= 1 && folds as u64 <= total as u64 / (RECEIVED_FOLD_FACTOR * opts.fold_bytes),
        "{folds} folds of {total} bytes"
    );
    assert!(most > opts.fold_bytes);
    assert_eq!(r.state().digest(), src.digest());
    if r.fold_due() {
        assert!(r.fold_if_due().unwrap());
    }
    assert!(!r.fold_due());
    assert!(!r.fold_if_due().unwrap());
    drop(r);
    assert_eq!(snapshots(&dir), 1);
    let back = Replica::open(&dir, opts).unwrap();
    assert_eq!(back.state().digest(), src.digest());
    drop(back);

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refused_deltas_are_not_logged_and_unequal_lengths_change_nothing() {
    let src = source(3);
    let t = src.state_type();
    let dir = tmp("refused");
    let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    let mut forged = AnyState::new(t, r.writer().clone());
    forged.add(Scalar::Int64(7)).unwrap();
    let name = src.replicas_seen()[0].clone();
    let parts = vec![
        src.slice(&name, 1, 100),
        forged,
        src.slice(&name, 101, u64::MAX),
    ];
    let bytes = compact(&parts);
    let res = r.apply_many_compact(&parts, &bytes[..2]);
    assert!(res
        .iter()
        .all(|e| matches!(e, Err(ReplicaError::Config(_)))));
    assert_eq!(r.log_bytes(), 0);
    let res = r.apply_many_compact(&parts, &bytes);
    assert!(res[0].is_ok() && res[2].is_ok());
    assert!(matches!(res[1], Err(ReplicaError::ForeignClaim { .. })));
    let want_log = (bytes[0].len() + bytes[2].len() + 2 * pluriverse_replica::log::HEADER) as u64;
    assert_eq!(r.log_bytes(), want_log);
    let digest = r.state().digest();
    r.close().unwrap();
    let back = Replica::open(&dir, Options::default()).unwrap();
    assert_eq!(back.state().digest(), digest);
    drop(back);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_compact_record_that_does_not_decode_is_corruption_with_its_offset() {
    let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    let dir = tmp("bad-record");
    let r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    drop(r);
    let log = only_log(&dir);
    let mut good = AnyState::new(t, "a");
    good.add(Scalar::Int64(1)).unwrap();
    let mut f =
        pluriverse_replica::log::encode(pluriverse_replica::log::TAG_COMPACT, &good.to_compact());
    let at = f.len();
    f.extend(pluriverse_replica::log::encode(
        pluriverse_replica::log::TAG_COMPACT,
        b"not a delta",
    ));
    std::fs::write(&log, &f).unwrap();
    match Replica::open(&dir, Options::default()) {
        Err(ReplicaError::Corrupt { offset, .. }) => assert_eq!(offset, at as u64),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A directory written by a format-1 build (Arrow log records only) opens as it is, and the
/// open marks it format 2 before anything new is logged; an unknown format is refused.
#[test]
fn a_format_1_directory_opens_and_is_marked_format_2() {
    let src = source(7);
    let t = src.state_type();
    let dir = tmp("format1");
    let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    r.apply(&src).unwrap(); // an Arrow record, as format 1 wrote them
    r.close().unwrap();
    let meta = dir.join("replica.json");
    let json = std::fs::read_to_string(&meta).unwrap();
    assert!(json.contains("\"format\": 2"), "{json}");
    std::fs::write(&meta, json.replace("\"format\": 2", "\"format\": 1")).unwrap();
    let back = Replica::open(&dir, Options::default()).unwrap();
    assert_eq!(back.state().digest(), src.digest());
    drop(back);
    assert!(std::fs::read_to_string(&meta)
        .unwrap()
        .contains("\"format\": 2"));
    std::fs::write(&meta, json.replace("\"format\": 2", "\"format\": 3")).unwrap();
    assert!(matches!(
        Replica::open(&dir, Options::default()),
        Err(ReplicaError::NotAReplica { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
