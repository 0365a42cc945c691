//! Retired records held inside a store's context in memory (issue 14): random sequences of
//! restarts, writes, removes, joins (whole states, deltas, slices, old copies) on stores
//! that retire their idle incarnations, against the same operations on stores that never
//! do, and against a naive set of every dot each state has seen. Equal digests, bytes,
//! contexts and reads after every step; `check_invariants` holds; removals stick.

mod common;
use common::sets::reads;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::retired::incarnation_name;
use pluriverse::store::JoinPath;
use pluriverse::{CausalContext, Dot, MVMap, ReplicaId};

type Map = MVMap<u64, u64>;
type Naive = BTreeSet<(ReplicaId, u64)>;

/// One machine: the retiring state, its never-retiring twin, and the naive set of the dots
/// both have seen.
struct Machine {
    base: Vec<u8>,
    lean: Map,
    full: Map,
    naive: Naive,
}

fn naive_of(ctx: &CausalContext, names: &BTreeSet<ReplicaId>, upto: u64) -> Naive {
    let mut out = Naive::new();
    for n in names {
        for c in 1..=upto {
            if ctx.contains(&Dot::new(n.clone(), c)) {
                out.insert((n.clone(), c));
            }
        }
    }
    out
}

fn agree(m: &Machine, names: &BTreeSet<ReplicaId>, upto: u64, step: &str) {
    let (a, b) = (&m.lean, &m.full);
    a.store()
        .check_invariants()
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    b.store()
        .check_invariants()
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    assert_eq!(a.digest(), b.digest(), "{step}: digests");
    assert_eq!(a.context(), b.context(), "{step}: contexts");
    assert_eq!(
        a.context().to_bytes(),
        b.context().to_bytes(),
        "{step}: context bytes"
    );
    assert_eq!(reads(a), reads(b), "{step}: reads");
    assert_eq!(
        naive_of(a.context(), names, upto),
        m.naive,
        "{step}: naive dots"
    );
    assert_eq!(a.context().version_vector(), b.context().version_vector());
}

#[test]
fn retiring_stores_match_never_retiring_ones_and_a_naive_set_of_dots() {
    let mut g = Rng(14);
    let (mut records, mut promoted_joins) = (0usize, 0usize);
    for case in 0..30 {
        let mut names = BTreeSet::new();
        let mut ms: Vec<Machine> = (0..3u8)
            .map(|i| {
                let base = vec![b'a' + i];
                let me = incarnation_name(&base, g.next_u64());
                names.insert(me.clone());
                Machine {
                    base,
                    lean: Map::new(me.clone()),
                    full: Map::new(me),
                    naive: Naive::new(),
                }
            })
            .collect();
        // a plain name (never retired) writes too
        names.insert(ReplicaId::from("plain"));
        let mut plain = Map::new("plain");
        let mut plain_naive = Naive::new();
        let mut old: Vec<(Map, Map, Naive)> = Vec::new();
        let mut removed: BTreeMap<usize, BTreeSet<(ReplicaId, u64)>> = BTreeMap::new();
        for step in 0..120 {
            let i = g.below(3) as usize;
            let j = g.below(3) as usize;
            let what = g.below(100);
            let label = format!("case {case} step {step} op {what}");
            if what < 12 {
                // restart: a fresh incarnation over the same state, idle rows retired
                let me = incarnation_name(&ms[i].base, g.next_u64());
                names.insert(me.clone());
                let m = &mut ms[i];
                m.lean = Map::from_store(me.clone(), m.lean.store().clone());
                m.full = Map::from_store(me, m.full.store().clone());
                m.lean.retire_idle();
            } else if what < 45 {
                let (k, v) = (g.below(6), g.next_u64() % 100);
                let m = &mut ms[i];
                m.lean.set(k, v).unwrap();
                let d = m.full.set(k, v).unwrap();
                for (n, c) in d.entries().into_iter().map(|e| (e.1, e.2)) {
                    m.naive.insert((n, c));
                }
            } else if what < 55 {
                let k = g.below(6);
                let m = &mut ms[i];
                let gone: Vec<(ReplicaId, u64)> = m
                    .full
                    .store()
                    .entries()
                    .into_iter()
                    .filter(|e| e.0 == k)
                    .map(|e| (e.1, e.2))
                    .collect();
                m.lean.remove(&k);
                m.full.remove(&k);
                removed.entry(i).or_default().extend(gone);
            } else if what < 65 && i != j {
                // a whole state, by either join path
                let path =
                    [JoinPath::Auto, JoinPath::Full, JoinPath::Incremental][g.below(3) as usize];
                let (lean, full, naive) = (
                    ms[j].lean.store().clone(),
                    ms[j].full.store().clone(),
                    ms[j].naive.clone(),
                );
                if !lean.context().retired().is_empty()
                    || !ms[i].lean.context().retired().is_empty()
                {
                    promoted_joins += 1;
                }
                let m = &mut ms[i];
                m.lean.join_with(&lean, path);
                m.full.join_with(&full, path);
                m.naive.extend(naive);
            } else if what < 75 && i != j {
                // a delta for the other's context, as it holds it (records included)
                let peer = ms[i].lean.context().clone();
                {
                    // every mix of retiring and not, on either side, joins to the same state
                    let mut whole = ms[i].full.clone();
                    whole.join(ms[j].full.store());
                    let joins_to = |d: &pluriverse::CausalStore<u64, u64>, base: &Map| {
                        let mut x = base.clone();
                        x.join(d);
                        x.digest() == whole.digest()
                    };
                    assert!(
                        joins_to(&ms[j].full.delta_since(&peer), &ms[i].full),
                        "{label}"
                    );
                    assert!(
                        joins_to(&ms[j].lean.delta_since(ms[i].full.context()), &ms[i].full),
                        "{label}"
                    );
                    assert!(joins_to(ms[j].full.store(), &ms[i].lean), "{label}");
                    assert!(joins_to(ms[j].lean.store(), &ms[i].full), "{label}");
                }
                let dl = ms[j].lean.delta_since(&peer);
                let df = ms[j].full.delta_since(ms[i].full.context());
                let scan = ms[j].lean.store().delta_since_scan(&peer);
                let naive = ms[j].naive.clone();
                let m = &mut ms[i];
                let mut via_scan = m.lean.clone();
                via_scan.join(&scan);
                m.lean.join(&dl);
                m.full.join(&df);
                assert_eq!(via_scan.digest(), m.lean.digest(), "{label}: scan delta");
                m.naive.extend(naive);
            } else if what < 82 && i != j {
                // a slice of one replica's range (a retired one's too)
                let seen = ms[j].lean.store().replicas_seen();
                if seen.is_empty() {
                    continue;
                }
                let r = seen[g.below(seen.len() as u64) as usize].clone();
                let lo = 1 + g.below(6);
                let hi = lo + g.below(8);
                let sl = ms[j].lean.store().slice(&r, lo, hi);
                let sf = ms[j].full.store().slice(&r, lo, hi);
                assert_eq!(sl.digest(), sf.digest(), "{label}: slices");
                assert_eq!(
                    ms[j].lean.store().range_summary(&r, lo, hi),
                    ms[j].full.store().range_summary(&r, lo, hi),
                    "{label}: range summaries"
                );
                assert_eq!(
                    ms[j].lean.store().range_dots(&r, lo, hi, 64),
                    ms[j].full.store().range_dots(&r, lo, hi, 64),
                    "{label}: range dots"
                );
                assert_eq!(
                    ms[j].lean.store().split_range(&r, 1, 40, 2),
                    ms[j].full.store().split_range(&r, 1, 40, 2),
                    "{label}: splits"
                );
                let naive: Naive = ms[j]
                    .naive
                    .iter()
                    .filter(|(n, c)| n == &r && (lo..=hi).contains(c))
                    .cloned()
                    .collect();
                let m = &mut ms[i];
                m.lean.join(&sl);
                m.full.join(&sf);
                m.naive.extend(naive);
            } else if what < 87 {
                // keep a copy (a backup) to restore later
                let m = &ms[i];
                old.push((m.lean.clone(), m.full.clone(), m.naive.clone()));
            } else if what < 92 && !old.is_empty() {
                // an old copy comes back: its removed entries must stay removed
                let (lean, full, naive) = old[g.below(old.len() as u64) as usize].clone();
                let m = &mut ms[i];
                m.lean.join(lean.store());
                m.full.join(full.store());
                m.naive.extend(naive);
            } else if what < 96 {
                let (k, v) = (g.below(6), g.next_u64() % 100);
                let d = plain.set(k, v).unwrap();
                for e in d.entries() {
                    plain_naive.insert((e.1, e.2));
                }
                let m = &mut ms[i];
                m.lean.join(plain.store());
                m.full.join(plain.store());
                m.naive.extend(plain_naive.iter().cloned());
            } else {
                // retire without a restart, and through bytes: the bytes are the same
                let m = &mut ms[i];
                m.lean.retire_idle();
                assert_eq!(m.lean.to_bytes().unwrap(), m.full.to_bytes().unwrap());
                let back =
                    Map::from_bytes(&m.lean.to_bytes().unwrap(), m.lean.replica().clone()).unwrap();
                assert_eq!(back.digest(), m.full.digest());
                assert_eq!(
                    m.lean.store().to_compact(),
                    m.full.store().to_compact(),
                    "{label}: compact bytes"
                );
            }
            let upto = 130;
            for (n, m) in ms.iter().enumerate() {
                agree(m, &names, upto, &format!("{label} machine {n}"));
                records += m.lean.context().retired().len();
                // nothing this machine removed came back unless rewritten
                let live: BTreeSet<(ReplicaId, u64)> = m
                    .lean
                    .store()
                    .entries()
                    .into_iter()
                    .map(|e| (e.1, e.2))
                    .collect();
                if let Some(gone) = removed.get(&n) {
                    assert!(live.is_disjoint(gone), "{label}: a removed entry came back");
                }
            }
        }
        // everyone joins everyone: all converge, retiring or not
        for i in 0..3 {
            for j in 0..3 {
                let (l, f) = (ms[j].lean.store().clone(), ms[j].full.store().clone());
                ms[i].lean.join(&l);
                ms[i].full.join(&f);
            }
        }
        for m in &ms {
            assert_eq!(m.lean.digest(), ms[0].full.digest());
        }
    }
    assert!(records > 2000, "records held: {records}");
    assert!(promoted_joins > 60, "joins with records: {promoted_joins}");
}

#[test]
fn restarts_leave_rows_for_the_live_writers_only() {
    let mut paris = Map::new(incarnation_name(b"paris", 0));
    let mut shadow = paris.clone();
    let mut others: Vec<Map> = (0..4).map(|i| Map::new(format!("o{i}"))).collect();
    for i in 0..2000u64 {
        let me = incarnation_name(b"paris", i + 1);
        paris = Map::from_store(me.clone(), paris.store().clone());
        shadow = Map::from_store(me, shadow.store().clone());
        paris.retire_idle();
        paris.set(0, i).unwrap();
        shadow.set(0, i).unwrap();
        for o in &mut others {
            let d = o.set(0, i).unwrap();
            paris.join(&d);
            shadow.join(&d);
        }
    }
    let ctx = paris.context();
    // the four others, the writer and the one before it (its entry was live at the open)
    assert_eq!(ctx.table().len(), 6, "{:?}", ctx.table());
    assert_eq!(ctx.retired().len(), 1998);
    assert_eq!(shadow.context().table().len(), 2004);
    assert_eq!(paris.digest(), shadow.digest());
    assert_eq!(paris.to_bytes().unwrap(), shadow.to_bytes().unwrap());
    paris.store().check_invariants().unwrap();
}
