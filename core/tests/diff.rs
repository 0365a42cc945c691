//! `CausalStore::diff` against a naive model of both sides: per key, what a read returns
//! (the values, for keys held on one side only and a lower bound on the changed keys) and
//! the entries behind it (exactly what the diff compares: values *and* dots, so a key that
//! two replicas each set to the same value is changed).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::Rng;
use pluriverse::{AWSet, CausalStore, Item, MVMap, StoreDiff};

/// Per key, its entries `(replica, counter, value)`: the model of what `diff` compares.
fn entries<K: Item + Ord, V: Item + Ord>(
    s: &CausalStore<K, V>,
) -> BTreeMap<K, BTreeSet<(String, u64, V)>> {
    let mut out: BTreeMap<K, BTreeSet<(String, u64, V)>> = BTreeMap::new();
    for (k, r, c, v) in s.entries() {
        out.entry(k).or_default().insert((r.to_string(), c, v));
    }
    out
}

/// The naive diff of two models: keys only left, only right, and in both but different,
/// each in the store's order `(xxh3 of the key, key)`.
fn naive<K: Item + Ord, E: PartialEq>(
    a: &BTreeMap<K, E>,
    b: &BTreeMap<K, E>,
) -> (Vec<K>, Vec<K>, Vec<K>) {
    let order = |mut v: Vec<K>| {
        v.sort_by(|x, y| x.hash64().cmp(&y.hash64()).then_with(|| x.cmp(y)));
        v
    };
    let only = |x: &BTreeMap<K, E>, y: &BTreeMap<K, E>| {
        order(x.keys().filter(|k| !y.contains_key(k)).cloned().collect())
    };
    let changed = a
        .iter()
        .filter(|(k, e)| b.get(*k).is_some_and(|f| f != *e))
        .map(|(k, _)| k.clone())
        .collect();
    (only(a, b), only(b, a), order(changed))
}

/// Checks `d` against the entry model, the read model and the bucket count.
fn check<K: Item + Ord, V: Item + Ord, R: PartialEq>(
    d: &StoreDiff<K>,
    (a, b): (&CausalStore<K, V>, &CausalStore<K, V>),
    (ra, rb): (&BTreeMap<K, R>, &BTreeMap<K, R>),
    bits: u32,
    ctx: &str,
) {
    let (l, r, c) = naive(&entries(a), &entries(b));
    assert_eq!(d.only_left, l, "{ctx}: only left");
    assert_eq!(d.only_right, r, "{ctx}: only right");
    assert_eq!(d.changed, c, "{ctx}: changed");
    // the reads: a key held on one side only is exactly one read on one side; a key whose
    // reads differ has different entries
    let (rl, rr, rc) = naive(ra, rb);
    assert_eq!((&rl, &rr), (&l, &r), "{ctx}: reads");
    assert!(rc.iter().all(|k| c.contains(k)), "{ctx}: read differs");
    // the buckets: those of the differing keys (the top bits of the key hash)
    let bucket = |k: &K| k.hash64().checked_shr(64 - bits).unwrap_or(0);
    let want: BTreeSet<u64> = l.iter().chain(&r).chain(&c).map(bucket).collect();
    assert_eq!(d.differing_buckets, want.len(), "{ctx}: differing buckets");
    assert_eq!(d.buckets, 1usize << bits, "{ctx}");
    assert_eq!(d.contexts_differ, a.context() != b.context(), "{ctx}");
    assert_eq!(
        d.is_empty(),
        l.is_empty() && r.is_empty() && c.is_empty() && a.context() == b.context(),
        "{ctx}"
    );
}

fn reads<V: Item + Ord>(m: &MVMap<String, V>) -> BTreeMap<String, Vec<V>> {
    m.keys()
        .into_iter()
        .map(|k| {
            let mut v = m.get(&k);
            v.sort();
            (k, v)
        })
        .collect()
}

#[test]
fn diff_matches_the_naive_model_on_diverged_maps() {
    let mut g = Rng(0xd1ff);
    for round in 0..40 {
        // two replicas sharing part of a history, then each writing on its own (the same
        // value under the same key now and then: equal reads, different entries)
        let mut a: MVMap<String, i64> = MVMap::new("a");
        let mut b: MVMap<String, i64> = MVMap::new("b");
        let keys = 1 + g.below(200);
        for _ in 0..(20 + g.below(300)) {
            let k = format!("k{}", g.below(keys));
            let v = g.below(3) as i64;
            let (me, other) = if g.below(2) == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            let d = match g.below(5) {
                0 => me.remove(&k),
                _ => me.set(k, v).unwrap(),
            };
            if g.below(3) == 0 {
                other.join(&d);
            }
        }
        for bits in [0, 1, 4, 8, 16, 24] {
            let d = a.store().diff(b.store(), bits).unwrap();
            let ctx = format!("round {round} bits {bits}");
            check(
                &d,
                (a.store(), b.store()),
                (&reads(&a), &reads(&b)),
                bits,
                &ctx,
            );
            // the other way round: left and right swap, the changed keys stay
            let e = b.store().diff(a.store(), bits).unwrap();
            assert_eq!((&e.only_left, &e.only_right), (&d.only_right, &d.only_left));
            assert_eq!(e.changed, d.changed, "{ctx}");
        }
        // after a full exchange both sides are equal
        let (da, db) = (a.delta_since(b.context()), b.delta_since(a.context()));
        a.join(&db);
        b.join(&da);
        let d = a.store().diff(b.store(), 8).unwrap();
        assert!(d.is_empty(), "round {round}: {d:?}");
    }
}

#[test]
fn diff_of_sets_and_edge_cases() {
    let mut g = Rng(0x5e7);
    let mut x: AWSet<u64> = AWSet::new("x");
    let mut y: AWSet<u64> = AWSet::new("y");
    let empty: AWSet<u64> = AWSet::new("z");
    // empty against empty: equal, at every width
    for bits in [0, 24] {
        let d = empty.store().diff(empty.store(), bits).unwrap();
        assert!(d.is_empty() && d.only_left.is_empty() && d.changed.is_empty());
    }
    for _ in 0..300 {
        let e = g.below(120);
        let d = if g.below(4) == 0 {
            x.remove(&e)
        } else {
            x.add(e).unwrap()
        };
        if g.below(2) == 0 {
            y.join(&d);
        }
        if g.below(5) == 0 {
            y.add(g.below(120)).unwrap();
        }
    }
    let set_reads = |s: &AWSet<u64>| -> BTreeMap<u64, ()> {
        s.elements().into_iter().map(|e| (e, ())).collect()
    };
    for bits in [0, 3, 12, 24] {
        let ctx = format!("set bits {bits}");
        let d = x.store().diff(y.store(), bits).unwrap();
        check(
            &d,
            (x.store(), y.store()),
            (&set_reads(&x), &set_reads(&y)),
            bits,
            &ctx,
        );
        // against the empty state: everything is on one side
        let d = x.store().diff(empty.store(), bits).unwrap();
        check(
            &d,
            (x.store(), empty.store()),
            (&set_reads(&x), &BTreeMap::new()),
            bits,
            &ctx,
        );
        assert_eq!(d.only_left.len(), x.len());
    }
    // too many bucket bits: an error, not a 2^bits table
    assert!(matches!(
        x.store().diff(y.store(), 25),
        Err(pluriverse::Error::Kernel(_))
    ));
}
