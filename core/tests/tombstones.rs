//! LWW tombstones are collected at causal stability (issue 13: "200K removes of absent keys
//! leave 7.7 MB"), and collecting them never changes what any replica reads, checked against
//! a naive model: per replica, the set of writes it has seen; a read is the largest
//! `(timestamp, replica, counter)` write of the key, a value or a remove. The random runs
//! fail if any one of the collection's three conditions (frontier, horizon, timestamp
//! floor) is skipped, or if the writes a dropped tombstone beats are kept (tried).

mod common;

use std::collections::BTreeMap;

use common::Rng;
use pluriverse::{LWWMap, LWWMapDelta, ReplicaId, Stability, VersionVector};

const NAMES: [&str; 4] = ["ann", "bob", "cy", "dee"];

/// A write as the model sees it: `(key, timestamp, replica, counter) -> value or remove`.
type Writes = BTreeMap<(u64, u64, &'static str, u64), Option<u64>>;

fn model_read(w: &Writes, key: u64) -> Option<u64> {
    w.iter()
        .filter(|(k, _)| k.0 == key)
        .max_by_key(|(k, _)| (k.1, k.2, k.3))
        .and_then(|(_, v)| *v)
}

fn tombstones(m: &LWWMap<u64, u64>) -> usize {
    m.store().entries().iter().filter(|e| (e.3).1 .0).count()
}

fn stability(peers: &[(ReplicaId, VersionVector)]) -> Stability {
    Stability::from_peers(peers.iter().map(|(r, v)| (r, v)))
}

#[test]
fn removes_of_absent_keys_are_collected_once_stable() {
    let n = 200_000u64;
    let mut a: LWWMap<u64, u64> = LWWMap::new("a");
    let mut b: LWWMap<u64, u64> = LWWMap::new("b");
    let keys: Vec<u64> = (0..n).collect();
    let ts = vec![7u64; n as usize];
    let d = a.remove_many(&keys, &ts).unwrap();
    b.join(&d);
    assert_eq!(a.entry_count(), n as usize, "a remove leaves a tombstone");
    let before = a.to_bytes().unwrap().len();
    // format 3 compresses the rows (ZSTD): about 4.5 bytes a tombstone here
    assert!(before > 2 * n as usize, "{before} bytes for {n} tombstones");
    let peers = [
        (ReplicaId::from("a"), a.context().version_vector()),
        (ReplicaId::from("b"), b.context().version_vector()),
    ];
    let s = stability(&peers);
    // the promise on timestamps decides: tombstones above the floor stay
    assert_eq!(a.collect_tombstones(&s, 6), 0);
    assert_eq!(a.collect_tombstones(&s, 7), n as usize);
    assert_eq!(b.collect_tombstones(&s, 7), n as usize);
    for m in [&a, &b] {
        assert_eq!(m.entry_count(), 0);
        assert!(m.store().heap_bytes() < 4096, "{}", m.store().heap_bytes());
        let after = m.to_bytes().unwrap().len();
        assert!(
            after < 2048,
            "{after} bytes after collection (was {before})"
        );
        assert_eq!(m.context().version_vector(), peers[0].1, "the dots stay");
    }
    assert_eq!(a.digest(), b.digest());
    // a late copy of the removes brings nothing back
    a.join(&d);
    assert_eq!(a.entry_count(), 0);
}

#[test]
fn a_late_concurrent_set_loses_to_a_collected_remove() {
    let mut a: LWWMap<u64, u64> = LWWMap::new("a");
    let mut b: LWWMap<u64, u64> = LWWMap::new("b");
    let mut c: LWWMap<u64, u64> = LWWMap::new("c");
    // c sets k at 5 behind a partition; a removes k at 10, a key it never saw
    let late = c.set(1, 99, 5).unwrap();
    let rm = a.remove(1, 10).unwrap();
    b.join(&rm);
    c.join(&rm);
    assert_eq!(c.get(&1), None, "the remove wins at c");
    let vv = |m: &LWWMap<u64, u64>| m.context().version_vector();
    let peers = [
        (ReplicaId::from("a"), vv(&a)),
        (ReplicaId::from("b"), vv(&b)),
        (ReplicaId::from("c"), vv(&c)),
    ];
    let s = stability(&peers);
    assert!(
        s.frontier().get(&"a".into()) >= 1,
        "everyone has seen the remove"
    );
    // a and b lack c's write, which the horizon holds: they keep the tombstone
    assert_eq!(a.collect_tombstones(&s, 100), 0);
    assert_eq!(b.collect_tombstones(&s, 100), 0);
    // c drops it with the write it beats
    assert_eq!(c.collect_tombstones(&s, 100), 2);
    assert_eq!((c.entry_count(), c.get(&1)), (0, None));
    // the set reaches a late: it still loses there
    a.join(&late);
    assert_eq!(a.get(&1), None);
    // c's state removes both at b, and the set arriving after that is discarded
    b.join(&c.delta_since(b.context()));
    assert_eq!((b.entry_count(), b.get(&1)), (0, None));
    b.join(&late);
    assert_eq!(b.get(&1), None);
    // a replica started from b's state, given the old set, reads nothing either
    let mut d: LWWMap<u64, u64> = LWWMap::from_store("d", b.store().clone());
    d.join(&late);
    d.join(&rm);
    assert_eq!((d.entry_count(), d.get(&1)), (0, None));
    // a later write above the floor wins as it would have
    let w = d.set(1, 7, 101).unwrap();
    a.join(&w);
    assert_eq!(a.get(&1), Some(7));
    a.join(&c.delta_since(a.context()));
    assert_eq!(a.get(&1), Some(7));
    assert_eq!(a.entry_count(), 1, "the tombstone and the late set left a");
}

/// A message of the simulated network: the delta, the writes the model says it carries,
/// and the sender's version vector when the message is an anti-entropy reply.
#[derive(Clone)]
struct Msg {
    to: usize,
    from: usize,
    delta: LWWMapDelta<u64, u64>,
    writes: Writes,
    vv: Option<VersionVector>,
}

/// Whether `m` carries one write that loses to a remove the receiver has seen and no longer
/// holds (it was collected there or at a replica it joined). The write itself is then known
/// to the receiver already: the horizon made every collector hold it, and the removal of the
/// tombstone carries its dot.
fn meets_a_collected_remove(to: &LWWMap<u64, u64>, seen: &Writes, m: &Msg) -> bool {
    let [(&(k, ts, r, c), _)] = m.writes.iter().collect::<Vec<_>>()[..] else {
        return false;
    };
    let best = seen
        .iter()
        .filter(|(w, _)| w.0 == k)
        .max_by_key(|(w, _)| (w.1, w.2, w.3));
    let held = to.store().entries().iter().any(|e| e.0 == k && (e.3).1 .0);
    best.is_some_and(|(w, v)| v.is_none() && (w.1, w.2, w.3) > (ts, r, c)) && !held
}

#[test]
fn collection_never_changes_a_read_against_the_naive_model() {
    let mut g = Rng(0x7057);
    let mut collected = 0usize;
    let mut late_losers = 0usize;
    let mut in_loop = 0usize;
    for seed in 0..30 {
        let n = 2 + g.below(3) as usize;
        let keys = 2 + g.below(10);
        let mut eng: Vec<LWWMap<u64, u64>> = (0..n).map(|i| LWWMap::new(NAMES[i])).collect();
        let mut seen: Vec<Writes> = vec![Writes::new(); n];
        // heard[i][j]: the version vector i last heard from j (its own is read fresh)
        let mut heard = vec![vec![VersionVector::new(); n]; n];
        let mut net: Vec<Msg> = vec![];
        let mut counters = vec![0u64; n];
        for now in 1..=(150 + g.below(250)) {
            let r = g.below(n as u64) as usize;
            match g.below(10) {
                // a write: timestamps jitter, so a later write may carry a lower timestamp
                0..=2 => {
                    let (k, ts) = (g.below(keys), now + g.below(8));
                    let val = (g.below(3) != 0).then(|| g.below(1000));
                    let wins = seen[r]
                        .iter()
                        .filter(|(w, _)| w.0 == k)
                        .map(|(w, _)| (w.1, w.2, w.3))
                        .max()
                        .is_none_or(|best| (ts, NAMES[r], counters[r] + 1) > best);
                    let d = match val {
                        Some(v) => eng[r].set(k, v, ts),
                        None => eng[r].remove(k, ts),
                    }
                    .unwrap();
                    assert_eq!(
                        d.is_empty(),
                        !wins,
                        "seed {seed}: a losing write is a no-op"
                    );
                    if !wins {
                        continue;
                    }
                    counters[r] += 1;
                    let w: Writes = [((k, ts, NAMES[r], counters[r]), val)].into();
                    seen[r].extend(w.clone());
                    for to in (0..n).filter(|&to| to != r) {
                        net.push(Msg {
                            to,
                            from: r,
                            delta: d.clone(),
                            writes: w.clone(),
                            vv: None,
                        });
                    }
                }
                // anti-entropy: r sends each peer what it lacks and r's version vector, or
                // only the version vector (a summary: the vector arrives before the data)
                3..=4 => {
                    let summary = g.below(2) == 0;
                    for to in (0..n).filter(|&to| to != r) {
                        let (delta, writes) = if summary {
                            (LWWMapDelta::new(), Writes::new())
                        } else {
                            (eng[r].delta_since(eng[to].context()), seen[r].clone())
                        };
                        net.push(Msg {
                            to,
                            from: r,
                            delta,
                            writes,
                            vv: Some(eng[r].context().version_vector()),
                        });
                    }
                }
                // delivery: a few messages, any of them, maybe duplicated, maybe lost
                5..=8 => {
                    for _ in 0..=g.below(4) {
                        if net.is_empty() {
                            break;
                        }
                        let i = g.below(net.len() as u64) as usize;
                        let m = if g.below(4) == 0 {
                            net[i].clone()
                        } else {
                            net.swap_remove(i)
                        };
                        if g.below(6) == 0 {
                            continue;
                        }
                        late_losers +=
                            usize::from(meets_a_collected_remove(&eng[m.to], &seen[m.to], &m));
                        eng[m.to].join(&m.delta);
                        seen[m.to].extend(m.writes);
                        if let Some(v) = m.vv {
                            heard[m.to][m.from].merge(&v);
                        }
                    }
                }
                // collection at r from what it has heard; no write at or below `now` follows
                _ => {
                    let peers: Vec<(ReplicaId, VersionVector)> = (0..n)
                        .map(|j| {
                            let v = if j == r {
                                eng[r].context().version_vector()
                            } else {
                                heard[r][j].clone()
                            };
                            (ReplicaId::from(NAMES[j]), v)
                        })
                        .collect();
                    let c = eng[r].collect_tombstones(&stability(&peers), now);
                    collected += c;
                    in_loop += c;
                }
            }
            for i in 0..n {
                eng[i].store().check_invariants().unwrap();
                for k in 0..keys {
                    assert_eq!(
                        eng[i].get(&k),
                        model_read(&seen[i], k),
                        "seed {seed} step {now} replica {i} key {k}"
                    );
                }
            }
        }
        // deliver what is left: a write that lost to a collected remove must still lose
        for m in net.drain(..) {
            late_losers += usize::from(meets_a_collected_remove(&eng[m.to], &seen[m.to], &m));
            eng[m.to].join(&m.delta);
            seen[m.to].extend(m.writes);
            for k in 0..keys {
                assert_eq!(eng[m.to].get(&k), model_read(&seen[m.to], k), "seed {seed}");
            }
        }
        heal!(eng);
        let all: Writes = seen.iter().flatten().map(|(k, v)| (*k, *v)).collect();
        let peers: Vec<(ReplicaId, VersionVector)> = (0..n)
            .map(|j| (ReplicaId::from(NAMES[j]), eng[j].context().version_vector()))
            .collect();
        for m in &mut eng {
            // no write follows: every remove may go
            collected += m.collect_tombstones(&stability(&peers), u64::MAX);
            assert_eq!(tombstones(m), 0, "seed {seed}: all collected once stable");
        }
        for i in 0..n {
            for k in 0..keys {
                assert_eq!(eng[i].get(&k), model_read(&all, k), "seed {seed} key {k}");
            }
            assert_eq!(eng[i].digest(), eng[0].digest(), "seed {seed}");
            assert_eq!(eng[i].to_bytes().unwrap(), eng[0].to_bytes().unwrap());
        }
    }
    eprintln!("{in_loop} entries collected in the runs, {collected} with the final ones; {late_losers} late copies met a collected remove");
    assert!(
        in_loop > 100,
        "collections happen during the runs: {in_loop}"
    );
    assert!(
        late_losers > 0,
        "late copies meet collected removes: {late_losers}"
    );
}
