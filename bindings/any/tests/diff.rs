//! `diff` against a brute-force comparison of two states' entries, key by key, at every
//! bucket width up to the largest (issue 13: `diff --bits 24` must not cost 2^24 of
//! anything; its memory is checked in `diff_memory.rs`).

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::{AWSet, MVMap};
use pluriverse_any::{diff, AnyState, Scalar};
use pluriverse_testkit::SplitMix64 as Rng;

/// The brute-force answer: keys only left, only right, and in both with other entries.
fn brute<K: Ord + Clone, E: Ord>(
    a: &BTreeMap<K, BTreeSet<E>>,
    b: &BTreeMap<K, BTreeSet<E>>,
) -> (BTreeSet<K>, BTreeSet<K>, BTreeSet<K>) {
    let only = |x: &BTreeMap<K, BTreeSet<E>>, y: &BTreeMap<K, BTreeSet<E>>| {
        x.keys().filter(|k| !y.contains_key(k)).cloned().collect()
    };
    let changed = a
        .iter()
        .filter(|(k, e)| b.get(k).is_some_and(|f| f != *e))
        .map(|(k, _)| k.clone())
        .collect();
    (only(a, b), only(b, a), changed)
}

fn as_set(v: &[Scalar]) -> BTreeSet<String> {
    v.iter().map(|s| format!("{s:?}")).collect()
}

fn keys<K: Ord>(ks: &BTreeSet<K>, f: impl Fn(&K) -> Scalar) -> BTreeSet<String> {
    ks.iter().map(|k| format!("{:?}", f(k))).collect()
}

#[test]
fn diff_matches_brute_force_at_every_width() {
    let mut g = Rng(13);
    for round in 0..12 {
        // two MVMap replicas sharing a history, then diverging
        let mut a: MVMap<u64, i64> = MVMap::new("a");
        let mut b: MVMap<u64, i64> = MVMap::new("b");
        for _ in 0..(50 + g.below(300)) {
            let (k, v) = (g.below(400), g.below(5) as i64);
            let d = a.set(k, v).unwrap();
            if g.below(3) != 0 {
                b.join(&d);
            }
            if g.below(6) == 0 {
                let d = b.remove(&g.below(400));
                if g.below(2) == 0 {
                    a.join(&d);
                }
            }
        }
        let entries = |m: &MVMap<u64, i64>| {
            let mut out: BTreeMap<u64, BTreeSet<(String, u64, i64)>> = BTreeMap::new();
            for (k, r, c, v) in m.store().entries() {
                out.entry(k).or_default().insert((r.to_string(), c, v));
            }
            out
        };
        let (l, r, c) = brute(&entries(&a), &entries(&b));
        let sa = AnyState::from_bytes(&a.to_bytes().unwrap(), "a").unwrap();
        let sb = AnyState::from_bytes(&b.to_bytes().unwrap(), "b").unwrap();
        for bits in [0, 1, 3, 8, 12, 20, 24] {
            let d = diff(&sa, &sb, bits).unwrap();
            let ctx = format!("round {round} bits {bits}");
            assert_eq!(
                as_set(&d.only_left),
                keys(&l, |k| Scalar::UInt64(*k)),
                "{ctx}"
            );
            assert_eq!(
                as_set(&d.only_right),
                keys(&r, |k| Scalar::UInt64(*k)),
                "{ctx}"
            );
            assert_eq!(
                as_set(&d.changed),
                keys(&c, |k| Scalar::UInt64(*k)),
                "{ctx}"
            );
            assert_eq!(d.buckets, 1 << bits);
            assert_eq!(
                d.is_empty(),
                l.is_empty() && r.is_empty() && c.is_empty() && sa.context() == sb.context()
            );
            // the differing buckets: those of the differing keys (top bits of the key hash)
            let bucket = |k: &u64| {
                let h = pluriverse::Item::hash64(k);
                if bits == 0 {
                    0
                } else {
                    h >> (64 - bits)
                }
            };
            let want: BTreeSet<u64> = l.iter().chain(&r).chain(&c).map(bucket).collect();
            assert_eq!(d.differing_buckets, want.len(), "{ctx}");
        }
        // an AWSet with text elements: the same against its own brute force
        let mut x: AWSet<String> = AWSet::new("x");
        let mut y: AWSet<String> = AWSet::new("y");
        for _ in 0..(20 + g.below(100)) {
            let e = format!("e{}", g.below(150));
            let d = x.add(e.clone()).unwrap();
            if g.below(2) == 0 {
                y.join(&d);
            }
            if g.below(4) == 0 {
                y.add(format!("e{}", g.below(150))).unwrap();
            }
        }
        let entries = |m: &AWSet<String>| {
            let mut out: BTreeMap<String, BTreeSet<(String, u64)>> = BTreeMap::new();
            for (k, r, c, ()) in m.store().entries() {
                out.entry(k).or_default().insert((r.to_string(), c));
            }
            out
        };
        let (l, r, c) = brute(&entries(&x), &entries(&y));
        let sx = AnyState::from_bytes(&x.to_bytes().unwrap(), "x").unwrap();
        let sy = AnyState::from_bytes(&y.to_bytes().unwrap(), "y").unwrap();
        for bits in [0, 5, 24] {
            let d = diff(&sx, &sy, bits).unwrap();
            let s = |k: &String| Scalar::Utf8(k.clone());
            assert_eq!(
                as_set(&d.only_left),
                keys(&l, s),
                "round {round} bits {bits}"
            );
            assert_eq!(as_set(&d.only_right), keys(&r, s));
            assert_eq!(as_set(&d.changed), keys(&c, s));
        }
    }
}

#[test]
fn sparse_bucket_digests_are_the_non_empty_dense_ones() {
    let mut a: MVMap<u64, i64> = MVMap::new("a");
    for k in 0..500 {
        a.set(k, k as i64).unwrap();
    }
    let s = AnyState::from_bytes(&a.to_bytes().unwrap(), "a").unwrap();
    let empty =
        AnyState::from_bytes(&MVMap::<u64, i64>::new("e").to_bytes().unwrap(), "e").unwrap();
    for bits in [0, 4, 10] {
        let dense = s.bucket_digests(bits).unwrap();
        let nothing = empty.bucket_digests(bits).unwrap()[0];
        let sparse = s.sparse_bucket_digests(bits).unwrap();
        let want: Vec<(u32, u128)> = dense
            .iter()
            .enumerate()
            .filter(|(_, d)| **d != nothing)
            .map(|(b, d)| (b as u32, *d))
            .collect();
        assert_eq!(sparse, want, "bits {bits}");
    }
    assert!(s.sparse_bucket_digests(25).is_err());
}
