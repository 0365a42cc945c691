//! `Replica::apply_many` against applying one by one: the slices of a stream in any order,
//! with duplicates, overlapping deltas and a forged one in the batch (refused alone, the
//! others kept), and what it joined survives a reopen (it was logged).

mod common;
use common::{source, tmp};

use pluriverse_any::{AnyState, Scalar};
use pluriverse_replica::{Options, Replica, ReplicaError};
use pluriverse_testkit::SplitMix64 as Rng;

#[test]
fn a_batch_applies_as_one_by_one_and_survives_reopen() {
    for seed in 0..12 {
        let src = source(seed);
        let t = src.state_type();
        let mut rng = Rng(seed);
        let mut parts: Vec<AnyState> = Vec::new();
        for name in src.replicas_seen() {
            for (lo, hi) in src.split_range(&name, 1, u64::MAX, 1 + seed % 9) {
                parts.push(src.slice(&name, lo, hi));
            }
        }
        for i in (1..parts.len()).rev() {
            parts.swap(i, rng.below(i as u64 + 1) as usize);
        }
        if seed % 2 == 1 {
            // duplicates and an overlapping delta: the fallback path
            parts.push(parts[0].clone());
            parts.push(src.delta_since(&pluriverse::CausalContext::new()));
        }
        let (dir, one_dir) = (tmp("batch"), tmp("one"));
        let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
        let mut one = Replica::create(&one_dir, "r", t, Options::default()).unwrap();
        let cut = parts.len() / 3;
        for batch in [&parts[..cut], &parts[cut..]] {
            assert!(r.apply_many(batch).iter().all(Result::is_ok), "seed {seed}");
            for p in batch {
                one.apply(p).unwrap();
            }
            assert_eq!(r.state().digest(), one.state().digest(), "seed {seed}");
        }
        assert_eq!(r.state().digest(), src.digest(), "seed {seed}");
        r.close().unwrap();
        let again = Replica::open(&dir, Options::default()).unwrap();
        assert_eq!(
            again.state().digest(),
            src.digest(),
            "seed {seed}: reopened"
        );
        drop((again, one));
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&one_dir).unwrap();
    }
}

#[test]
fn a_forged_delta_is_refused_alone() {
    let src = source(3);
    let t = src.state_type();
    let dir = tmp("forged");
    let mut r = Replica::create(&dir, "r", t, Options::default()).unwrap();
    // a delta claiming a dot of this incarnation that it never issued
    let mut forged = AnyState::new(t, r.writer().clone());
    forged.add(Scalar::Int64(7)).unwrap();
    let name = src.replicas_seen()[0].clone();
    let parts = vec![
        src.slice(&name, 1, 100),
        forged,
        src.slice(&name, 101, u64::MAX),
    ];
    let before = r.state().digest();
    let res = r.apply_many(&parts);
    assert!(res[0].is_ok() && res[2].is_ok());
    assert!(
        matches!(res[1], Err(ReplicaError::ForeignClaim { .. })),
        "{:?}",
        res[1]
    );
    assert_ne!(r.state().digest(), before);
    let mut want = AnyState::new(t, "w");
    want.join(&parts[0]).unwrap();
    want.join(&parts[2]).unwrap();
    assert_eq!(r.state().digest(), want.digest());
    drop(r);
    std::fs::remove_dir_all(&dir).unwrap();
}
