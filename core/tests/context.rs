//! Named causal contexts and version vectors against naive models: a `BTreeSet` of
//! `(name, counter)` and a `BTreeMap` of name -> counter.

mod common;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::{CausalContext, Dot, Error, Order, ReplicaId, VersionVector};

const NAMES: [&str; 5] = ["amsterdam", "berlin", "cairo", "delhi", "edo"];

fn random_context(g: &mut Rng) -> (CausalContext, BTreeSet<(String, u64)>) {
    let mut c = CausalContext::new();
    let mut o = BTreeSet::new();
    for _ in 0..g.below(40) {
        let name = NAMES[g.below(5) as usize];
        let k = 1 + g.below(12);
        c.insert(&Dot::new(name, k));
        o.insert((name.to_string(), k));
    }
    (c, o)
}

fn naive_prefix(o: &BTreeSet<(String, u64)>, name: &str) -> u64 {
    let mut n = 0;
    while o.contains(&(name.to_string(), n + 1)) {
        n += 1;
    }
    n
}

#[test]
fn merge_across_tables_matches_set_union() {
    let mut g = Rng(1);
    for _ in 0..500 {
        let (mut a, mut oa) = random_context(&mut g);
        let (b, ob) = random_context(&mut g);
        a.merge(&b);
        oa.extend(ob);
        for name in NAMES {
            for k in 0..=13 {
                assert_eq!(
                    a.contains(&Dot::new(name, k)),
                    oa.contains(&(name.to_string(), k))
                );
            }
            assert_eq!(
                a.version_vector().get(&name.into()),
                naive_prefix(&oa, name)
            );
            let max = oa
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, k)| *k)
                .max()
                .unwrap_or(0);
            assert_eq!(a.next_dot(&name.into()).unwrap().counter, max + 1);
        }
    }
}

#[test]
fn equality_ignores_interning_order() {
    let mut a = CausalContext::new();
    let mut b = CausalContext::new();
    for (n, k) in [("x", 1), ("y", 5), ("z", 2)] {
        a.insert(&Dot::new(n, k));
    }
    for (n, k) in [("z", 2), ("y", 5), ("x", 1)] {
        b.insert(&Dot::new(n, k));
    }
    assert_eq!(a, b);
    b.insert(&Dot::new("w", 1));
    assert_ne!(a, b);
}

#[test]
fn merge_laws() {
    let mut g = Rng(2);
    for _ in 0..300 {
        let (a, _) = random_context(&mut g);
        let (b, _) = random_context(&mut g);
        let (c, _) = random_context(&mut g);
        let join = |x: &CausalContext, y: &CausalContext| {
            let mut z = x.clone();
            z.merge(y);
            z
        };
        assert_eq!(join(&a, &b), join(&b, &a), "commutative");
        assert_eq!(
            join(&join(&a, &b), &c),
            join(&a, &join(&b, &c)),
            "associative"
        );
        assert_eq!(join(&a, &a), a, "idempotent");
    }
}

#[test]
fn ranges_compact_and_overflow_is_an_error() {
    let mut c = CausalContext::new();
    let r: ReplicaId = "batch".into();
    assert_eq!(c.insert_range(&r, 1, 1_000_000).unwrap(), 1_000_000);
    assert!(c.is_compact());
    assert!(c.insert_range(&r, 0, 3).is_err());
    assert!(c.insert_range(&r, 9, 3).is_err());
    c.insert(&Dot::new("late", u64::MAX));
    assert_eq!(
        c.next_dot(&"late".into()),
        Err(Error::CounterOverflow {
            replica: "late".into()
        })
    );
}

fn naive_compare(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> Order {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let get = |m: &BTreeMap<String, u64>, k: &String| m.get(k).copied().unwrap_or(0);
    let lt = keys.iter().any(|k| get(a, k) < get(b, k));
    let gt = keys.iter().any(|k| get(a, k) > get(b, k));
    match (lt, gt) {
        (false, false) => Order::Equal,
        (true, false) => Order::Before,
        (false, true) => Order::After,
        (true, true) => Order::Concurrent,
    }
}

#[test]
fn version_vector_matches_naive_map() {
    let mut g = Rng(3);
    for _ in 0..1000 {
        let mut ma = BTreeMap::new();
        let mut mb = BTreeMap::new();
        for _ in 0..g.below(5) {
            ma.insert(NAMES[g.below(5) as usize].to_string(), 1 + g.below(3));
        }
        for _ in 0..g.below(5) {
            mb.insert(NAMES[g.below(5) as usize].to_string(), 1 + g.below(3));
        }
        let a: VersionVector = ma.iter().map(|(k, &v)| (k.as_str(), v)).collect();
        let b: VersionVector = mb.iter().map(|(k, &v)| (k.as_str(), v)).collect();
        assert_eq!(a.compare(&b), naive_compare(&ma, &mb));
        let mut j = a.clone();
        j.merge(&b);
        for (k, &v) in &mb {
            let e = ma.entry(k.clone()).or_insert(0);
            *e = (*e).max(v);
        }
        assert_eq!(
            j,
            ma.iter()
                .map(|(k, &v)| (k.as_str(), v))
                .collect::<VersionVector>()
        );
        // a ⊔ b == b iff a <= b
        let mut ab = a.clone();
        ab.merge(&b);
        assert_eq!(ab == b, a.dominated_by(&b));
    }
    assert_eq!(Order::from_code(3), Some(Order::Concurrent));
    assert_eq!(Order::from_code(4), None);
    assert_eq!(Order::Before as u8, 1);
}
