//! PNCounterMap and LWWMap against naive models: PN cells as a `BTreeMap` of
//! `(key, replica) -> (increments, decrements)` joined by pointwise max; LWW as the set of
//! every write seen, read as its maximum by `(timestamp, replica, sequence)`.

mod common;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::{JoinPath, LWWMap, LWWMapDelta, PNCounterDelta, PNCounterMap};

const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const PATHS: [JoinPath; 3] = [JoinPath::Auto, JoinPath::Incremental, JoinPath::Full];

type Cells = BTreeMap<(u64, usize), (u64, u64)>;

fn pn_join(into: &mut Cells, from: &Cells) {
    for (k, &(p, n)) in from {
        let e = into.entry(*k).or_insert((0, 0));
        *e = (e.0.max(p), e.1.max(n));
    }
}

fn pn_value(c: &Cells, key: u64) -> i128 {
    c.iter()
        .filter(|((k, _), _)| *k == key)
        .map(|(_, &(p, n))| i128::from(p) - i128::from(n))
        .sum()
}

#[test]
fn pncounter_matches_pointwise_max_model() {
    let mut g = Rng(31);
    for seed in 0..300 {
        let n = 2 + g.below(3) as usize;
        let mut eng: Vec<PNCounterMap<u64>> = (0..n).map(|i| PNCounterMap::new(NAMES[i])).collect();
        let mut model: Vec<Cells> = vec![Cells::new(); n];
        let mut net: Vec<(usize, PNCounterDelta<u64>, Cells)> = vec![];
        for _ in 0..(5 + g.below(40)) {
            let r = g.below(n as u64) as usize;
            if g.below(3) < 2 {
                let (k, amt) = (g.below(5), g.below(10));
                let inc = g.below(2) == 0;
                let d = if inc {
                    eng[r].increment(k, amt)
                } else {
                    eng[r].decrement(k, amt)
                }
                .unwrap();
                let cell = model[r].entry((k, r)).or_insert((0, 0));
                if inc {
                    cell.0 += amt
                } else {
                    cell.1 += amt
                }
                let md: Cells = [((k, r), *cell)].into_iter().collect();
                for to in 0..n {
                    if to != r {
                        net.push((to, d.clone(), md.clone()));
                    }
                }
            } else if !net.is_empty() {
                let i = g.below(net.len() as u64) as usize;
                let (to, d, md) = if g.below(4) == 0 {
                    net[i].clone()
                } else {
                    net.swap_remove(i)
                };
                if g.below(5) != 0 {
                    eng[to].join_with(&d, PATHS[g.below(3) as usize]);
                    pn_join(&mut model[to], &md);
                }
            }
            for i in 0..n {
                eng[i].store().check_invariants().unwrap();
                for k in 0..5 {
                    assert_eq!(
                        eng[i].value(&k),
                        pn_value(&model[i], k),
                        "seed {seed} replica {i} key {k}"
                    );
                }
            }
        }
        heal!(eng);
        let all = model.iter().fold(Cells::new(), |mut acc, m| {
            pn_join(&mut acc, m);
            acc
        });
        for i in 0..n {
            for k in 0..5 {
                assert_eq!(eng[i].value(&k), pn_value(&all, k), "seed {seed} healed");
            }
            assert_eq!(eng[i].digest(), eng[0].digest());
            assert_eq!(eng[i].to_bytes().unwrap(), eng[0].to_bytes().unwrap());
        }
    }
}

#[test]
fn pncounter_batches_sum_duplicates_and_overflow_is_an_error() {
    let mut m: PNCounterMap<String> = PNCounterMap::new("x");
    m.increment_many(&["a".into(), "b".into(), "a".into()], &[1, 2, 3])
        .unwrap();
    assert_eq!(m.value(&"a".into()), 4);
    assert_eq!(m.value(&"b".into()), 2);
    m.decrement_many(&["a".into()], &[10]).unwrap();
    assert_eq!(m.value(&"a".into()), -6);
    let before = m.digest();
    assert!(m.increment("a".into(), u64::MAX).is_err());
    assert!(m.increment_many(&["a".into()], &[1, 2]).is_err());
    assert_eq!(m.digest(), before, "state unchanged on error");
    assert_eq!(m.len(), 2);
}

/// A write as the model sees it: (key, timestamp, replica, sequence, value or tombstone).
type Write = (u64, u64, &'static str, u64, Option<i64>);

fn lww_read(w: &BTreeSet<Write>, key: u64) -> Option<i64> {
    w.iter()
        .filter(|x| x.0 == key)
        .max_by_key(|x| (x.1, x.2, x.3))
        .and_then(|x| x.4)
}

#[test]
fn lww_matches_the_set_of_writes_model() {
    let mut g = Rng(41);
    for seed in 0..300 {
        let n = 2 + g.below(3) as usize;
        let mut eng: Vec<LWWMap<u64, i64>> = (0..n).map(|i| LWWMap::new(NAMES[i])).collect();
        let mut model: Vec<BTreeSet<Write>> = vec![BTreeSet::new(); n];
        let mut seq = vec![0u64; n];
        let mut net: Vec<(usize, LWWMapDelta<u64, i64>, BTreeSet<Write>)> = vec![];
        for _ in 0..(5 + g.below(40)) {
            let r = g.below(n as u64) as usize;
            if g.below(3) < 2 {
                let (k, ts) = (g.below(4), g.below(6));
                let val = if g.below(4) == 0 {
                    None
                } else {
                    Some(g.below(100) as i64)
                };
                let d = match val {
                    Some(v) => eng[r].set(k, v, ts),
                    None => eng[r].remove(k, ts),
                }
                .unwrap();
                seq[r] += 1;
                let w = (k, ts, NAMES[r], seq[r], val);
                // the model: a write that loses to what the replica holds changes nothing
                let current = model[r]
                    .iter()
                    .filter(|x| x.0 == k)
                    .max_by_key(|x| (x.1, x.2, x.3))
                    .copied();
                let wins = current.is_none_or(|c| (ts, NAMES[r], seq[r]) > (c.1, c.2, c.3));
                let md: BTreeSet<Write> = if wins {
                    [w].into_iter().collect()
                } else {
                    BTreeSet::new()
                };
                assert_eq!(
                    d.is_empty() && d.context().dots().replicas().iter().all(|x| x.is_empty()),
                    !wins,
                    "seed {seed}: losing write must be a no-op"
                );
                model[r].extend(md.iter().copied());
                for to in 0..n {
                    if to != r {
                        net.push((to, d.clone(), md.clone()));
                    }
                }
            } else if !net.is_empty() {
                let i = g.below(net.len() as u64) as usize;
                let (to, d, md) = if g.below(4) == 0 {
                    net[i].clone()
                } else {
                    net.swap_remove(i)
                };
                if g.below(5) != 0 {
                    eng[to].join_with(&d, PATHS[g.below(3) as usize]);
                    model[to].extend(md);
                }
            }
            for i in 0..n {
                eng[i].store().check_invariants().unwrap();
                for k in 0..4 {
                    assert_eq!(
                        eng[i].get(&k),
                        lww_read(&model[i], k),
                        "seed {seed} replica {i} key {k}"
                    );
                }
            }
        }
        heal!(eng);
        let all: BTreeSet<Write> = model.iter().flatten().copied().collect();
        for i in 0..n {
            eng[i].store().check_invariants().unwrap();
            for k in 0..4 {
                assert_eq!(
                    eng[i].get(&k),
                    lww_read(&all, k),
                    "seed {seed} healed key {k}"
                );
            }
            assert_eq!(eng[i].digest(), eng[0].digest(), "seed {seed}");
            assert_eq!(
                eng[i].to_bytes().unwrap(),
                eng[0].to_bytes().unwrap(),
                "seed {seed}"
            );
        }
    }
}

#[test]
fn lww_batch_keeps_the_winning_write_per_key() {
    let mut m: LWWMap<String, i64> = LWWMap::new("x");
    m.set_many(
        &["k".into(), "k".into(), "j".into()],
        &[1, 2, 3],
        &[10, 5, 1],
    )
    .unwrap();
    assert_eq!(
        m.get(&"k".into()),
        Some(1),
        "timestamp 10 beats the later write at 5"
    );
    assert_eq!(m.get_with_timestamp(&"j".into()), Some((1, 3)));
    m.remove_many(&["j".into()], &[2]).unwrap();
    assert_eq!(m.keys(), vec!["k".to_string()]);
    assert!(m.set_many(&["a".into()], &[1, 2], &[1]).is_err());
}
