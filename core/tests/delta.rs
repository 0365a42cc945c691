//! `delta_since` through the dot indexes against the reference pass over the merged rows
//! (`delta_since_scan`, the formula written out per row) and against the join it stands
//! for: for every pair of replicas, the two deltas hold the same entries and context, and
//! joining either into the peer equals joining the whole state.

use pluriverse::{CausalStore, MVMap};

use pluriverse_testkit::SplitMix64 as Rng;

/// Replicas writing batches (long runs, so the dot-index sums are used), removing keys,
/// and exchanging some deltas and some slices (contexts with clouds, stores of several
/// runs with deleted rows).
fn replicas(seed: u64, keys: u64, steps: u64) -> Vec<MVMap<u64, u64>> {
    let mut rng = Rng(seed);
    let mut reps: Vec<MVMap<u64, u64>> = ["a", "b", "c"].iter().map(|n| MVMap::new(*n)).collect();
    for step in 0..steps {
        let i = rng.below(3) as usize;
        let d = match rng.below(6) {
            0 => reps[i].remove(&rng.below(keys)),
            1 => {
                let n = 1 + rng.below(keys / 4) as usize;
                let ks: Vec<u64> = (0..n).map(|_| rng.below(keys)).collect();
                reps[i].remove_many(&ks)
            }
            _ => {
                let most = if rng.below(3) == 0 { keys } else { 5 };
                let n = 1 + rng.below(most) as usize;
                let ks: Vec<u64> = (0..n).map(|_| rng.below(keys)).collect();
                reps[i].set_many(&ks, &vec![step; n]).unwrap()
            }
        };
        for j in 0..3 {
            if j == i {
                continue;
            }
            match rng.below(4) {
                0 => reps[j].join(&d),
                1 => {
                    // a slice of another replica: a cloud in the context
                    let src = reps[rng.below(3) as usize].store().clone();
                    if let Some(name) = src.replicas_seen().first() {
                        let lo = 1 + rng.below(steps);
                        let s = src.slice(name, lo, lo + rng.below(keys));
                        reps[j].join(&s);
                    }
                }
                _ => {}
            }
        }
    }
    reps
}

fn check(a: &CausalStore<u64, u64>, b: &CausalStore<u64, u64>, what: &str) {
    let fast = a.delta_since(b.context());
    let scan = a.delta_since_scan(b.context());
    assert_eq!(fast.len(), scan.len(), "{what}: entries");
    assert_eq!(fast.digest(), scan.digest(), "{what}: entries and context");
    assert_eq!(
        fast.context_digest(),
        scan.context_digest(),
        "{what}: context"
    );
    fast.check_invariants().unwrap();
    let mut whole = b.clone();
    whole.join(a);
    let mut via = b.clone();
    via.join(&fast);
    assert_eq!(via.digest(), whole.digest(), "{what}: joined");
}

#[test]
fn indexed_delta_equals_the_scan_and_the_join() {
    for seed in 0..60 {
        let (keys, steps) = if seed % 3 == 0 { (2000, 60) } else { (40, 100) };
        let reps = replicas(seed, keys, steps);
        for (i, a) in reps.iter().enumerate() {
            for (j, b) in reps.iter().enumerate() {
                check(a.store(), b.store(), &format!("seed {seed}, {i} -> {j}"));
            }
            // and towards an empty peer
            check(
                a.store(),
                &CausalStore::new(),
                &format!("seed {seed}, {i} -> empty"),
            );
        }
    }
}

#[test]
fn a_peer_missing_the_last_writes_gets_them_and_the_removals() {
    let n = 20_000u64;
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    a.set_many(&(0..n).collect::<Vec<_>>(), &vec![1; n as usize])
        .unwrap();
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    b.join(a.store());
    // new values for every 100th key, removals of a block and of scattered keys
    let hot: Vec<u64> = (0..n).step_by(100).collect();
    a.set_many(&hot, &vec![2; hot.len()]).unwrap();
    a.remove_many(&(5000..5100).collect::<Vec<_>>());
    a.remove_many(&(0..n).step_by(997).collect::<Vec<_>>());
    let d = a.store().delta_since(b.context());
    assert_eq!(
        d.len(),
        hot.iter()
            .filter(|&&k| !(5000..5100).contains(&k) && k % 997 != 0)
            .count()
    );
    check(a.store(), b.store(), "1% behind");
}
