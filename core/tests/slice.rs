//! Dot-range slices against the join: every slice is a valid sub-state (joining it and then
//! the whole state equals joining the whole state), the slices of a split join back to the
//! state, and equal summaries mean equal slices.

use pluriverse::{CausalStore, MVMap, ReplicaId};

use pluriverse_testkit::SplitMix64 as Rng;

/// Three replicas writing, removing and exchanging some deltas (not all: their states
/// differ, with clouds in their contexts).
fn replicas(seed: u64) -> Vec<MVMap<u64, u64>> {
    let mut rng = Rng(seed);
    let mut reps: Vec<MVMap<u64, u64>> = ["a", "b", "c"].iter().map(|n| MVMap::new(*n)).collect();
    for step in 0..120 {
        let i = rng.below(3) as usize;
        let d = if rng.below(4) == 0 {
            reps[i].remove(&rng.below(30))
        } else {
            let n = 1 + rng.below(4) as usize;
            let keys: Vec<u64> = (0..n).map(|_| rng.below(30)).collect();
            reps[i].set_many(&keys, &vec![step; n]).unwrap()
        };
        for (j, r) in reps.iter_mut().enumerate() {
            if j != i && rng.below(3) == 0 {
                r.join(&d);
            }
        }
    }
    reps
}

#[test]
fn slices_are_valid_sub_states_and_join_back() {
    for seed in 0..40 {
        let reps = replicas(seed);
        for a in &reps {
            for b in &reps {
                let mut whole = b.store().clone();
                whole.join(a.store());
                for name in a.store().replicas_seen() {
                    let budget = 1 + seed % 5;
                    let parts = a.store().split_range(&name, 1, u64::MAX, budget);
                    // the parts cover 1..=MAX without gaps or overlaps
                    assert_eq!(parts[0].0, 1);
                    assert_eq!(parts.last().unwrap().1, u64::MAX);
                    assert!(parts.windows(2).all(|w| w[0].1 + 1 == w[1].0));
                    // streaming part by part: parts tile the range, hold at most `budget`
                    // units (or one counter), and join back to the replica's slices
                    let mut lo = 1u64;
                    let mut streamed: CausalStore<u64, u64> = CausalStore::new();
                    loop {
                        let hi = a.store().first_part(&name, lo, u64::MAX, budget);
                        assert!(hi >= lo);
                        let (live, runs) = a.store().range_size(&name, lo, hi);
                        assert!(live + runs <= budget.max(2), "{lo}..={hi}: {live}+{runs}");
                        streamed.join(&a.store().slice(&name, lo, hi));
                        if hi == u64::MAX {
                            break;
                        }
                        lo = hi + 1;
                    }
                    assert_eq!(
                        streamed.digest(),
                        a.store().slice(&name, 1, u64::MAX).digest()
                    );
                    for &(lo, hi) in &parts {
                        let s = a.store().slice(&name, lo, hi);
                        s.check_invariants().unwrap();
                        // below `a`: joining it first changes nothing about the join
                        let mut via = b.store().clone();
                        via.join(&s);
                        via.check_invariants().unwrap();
                        via.join(a.store());
                        assert_eq!(
                            via.digest(),
                            whole.digest(),
                            "seed {seed} {name} {lo}..={hi}"
                        );
                        // its summary is the range's summary in `a`
                        assert_eq!(
                            s.range_summary(&name, lo, hi),
                            a.store().range_summary(&name, lo, hi)
                        );
                    }
                }
                // all slices of all replicas join back to `a`
                let mut back: CausalStore<u64, u64> = CausalStore::new();
                for name in a.store().replicas_seen() {
                    for (lo, hi) in a.store().split_range(&name, 1, u64::MAX, 2) {
                        back.join(&a.store().slice(&name, lo, hi));
                    }
                }
                assert_eq!(back.digest(), a.digest(), "seed {seed}");
            }
        }
    }
}

#[test]
fn equal_summaries_exactly_when_slices_are_equal() {
    for seed in 0..30 {
        let reps = replicas(seed + 100);
        let names: Vec<ReplicaId> = ["a", "b", "c"]
            .iter()
            .map(|n| ReplicaId::from(*n))
            .collect();
        for x in &reps {
            for y in &reps {
                for name in &names {
                    for (lo, hi) in [(1, u64::MAX), (1, 10), (5, 40), (17, 17), (30, u64::MAX)] {
                        let sx = x.store().slice(name, lo, hi);
                        let sy = y.store().slice(name, lo, hi);
                        // the naive comparison: the slices' dots and entries
                        let same = sx.context() == sy.context() && {
                            let mut ex = sx.entries();
                            let mut ey = sy.entries();
                            ex.sort();
                            ey.sort();
                            ex == ey
                        };
                        let eq = x.store().range_summary(name, lo, hi)
                            == y.store().range_summary(name, lo, hi);
                        assert_eq!(eq, same, "seed {seed} {name} {lo}..={hi}");
                    }
                }
            }
        }
    }
}

/// The cached range sums of long runs (built on first use, kept in step with the rows
/// later joins delete, cloned with the store) against the naive sums of the live entries,
/// after every step of a history of writes, removals, joins and clones; and the even split
/// tiles its range.
#[test]
fn cached_range_sums_match_the_naive_ones_at_every_step() {
    let mut rng = Rng(99);
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    // long runs (over the 256 rows below which runs are scanned)
    a.set_many(&(0..3000).collect::<Vec<_>>(), &[1; 3000])
        .unwrap();
    b.set_many(&(2000..2600).collect::<Vec<_>>(), &[2; 600])
        .unwrap();
    let names: Vec<ReplicaId> = ["a", "b"].iter().map(|n| ReplicaId::from(*n)).collect();
    let check = |s: &CausalStore<u64, u64>, rng: &mut Rng, step: u64| {
        for name in &names {
            for _ in 0..16 {
                let lo = 1 + rng.below(3800);
                let hi = if rng.below(8) == 0 {
                    u64::MAX
                } else {
                    lo + rng.below(1500)
                };
                let cached = s.range_summary(name, lo, hi);
                assert_eq!(
                    cached,
                    s.range_summary_naive(name, lo, hi),
                    "step {step} {name} {lo}..={hi}"
                );
                let (live, _) = s.range_size(name, lo, hi);
                assert_eq!(live, cached.live);
                let parts = s.split_even(name, lo, hi, 16);
                assert_eq!(parts[0].0, lo);
                assert_eq!(parts.last().unwrap().1, hi);
                assert!(parts
                    .windows(2)
                    .all(|w| w[0].1 + 1 == w[1].0 && w[0].0 <= w[0].1));
                let total: u64 = parts.iter().map(|&(l, h)| s.range_size(name, l, h).0).sum();
                assert_eq!(total, live);
            }
        }
    };
    let mut clones: Vec<MVMap<u64, u64>> = vec![];
    for step in 0..40 {
        match rng.below(5) {
            0 | 1 => {
                // removals: rows of the long runs are deleted in place
                for _ in 0..1 + rng.below(40) {
                    let d = a.remove(&rng.below(3000));
                    if rng.below(2) == 0 {
                        b.join(&d);
                    }
                }
            }
            2 => {
                // a batch long enough to be a run of its own, overwriting some keys
                let start = rng.below(3000);
                let keys: Vec<u64> = (start..start + 300).collect();
                let d = b.set_many(&keys, &vec![step; 300]).unwrap();
                a.join(&d);
            }
            3 => {
                let d = a.set_many(&[rng.below(4000)], &[step]).unwrap();
                b.join(&d);
            }
            _ => {
                clones.push(a.clone());
                a.join(b.store());
            }
        }
        check(a.store(), &mut rng, step);
        check(b.store(), &mut rng, step);
    }
    // clones kept their own sums while the original moved on
    for c in &clones {
        check(c.store(), &mut rng, 999);
    }
}
