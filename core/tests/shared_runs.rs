//! A store's runs are shared with the deltas its writes return and with its clones, and
//! copied on the first change while shared. Checked against a naive model (a `BTreeMap`
//! per replica's writes): after every later change to the state (overwrites and removes of
//! the shared rows, incremental and full joins, compaction), each delta still carries
//! exactly the batch it was returned for, each clone still reads exactly what the model
//! held when it was taken, and the state reads what the model holds now.

mod common;
use common::sets::reads;
use common::Rng;

use std::collections::BTreeMap;

use pluriverse::{JoinPath, MVMap};

/// The other replica writes keys with the top bit set, ours without: the model of a map is
/// the union of both writers' last values.
const THEIRS: u64 = 1 << 63;

/// What the model says a map reads: each key's one value (one writer per key).
fn model_reads(model: &BTreeMap<u64, u64>) -> BTreeMap<u64, Vec<u64>> {
    model.iter().map(|(k, v)| (*k, vec![*v])).collect()
}

/// A batch of `n` keys from `universe` (repeats inside the batch and across batches), each
/// `| tag`, and values; and the model of the batch: each key's last value.
fn batch(g: &mut Rng, n: usize, universe: u64, tag: u64) -> (Vec<u64>, Vec<u64>) {
    let keys: Vec<u64> = (0..n).map(|_| g.below(universe) | tag).collect();
    let vals: Vec<u64> = (0..n).map(|_| g.below(1 << 40)).collect();
    (keys, vals)
}

fn last_values(keys: &[u64], vals: &[u64]) -> BTreeMap<u64, u64> {
    keys.iter().copied().zip(vals.iter().copied()).collect()
}

#[test]
fn deltas_and_clones_keep_their_rows_while_the_state_changes() {
    let mut g = Rng(0x5AED);
    let mut ours: MVMap<u64, u64> = MVMap::new("ours");
    let mut theirs: MVMap<u64, u64> = MVMap::new("theirs");
    let mut model: BTreeMap<u64, u64> = BTreeMap::new();
    let mut their_model: BTreeMap<u64, u64> = BTreeMap::new();
    // (delta, the batch it was returned for)
    let mut deltas = Vec::new();
    // (clone, the model when it was taken)
    let mut clones = Vec::new();
    for step in 0..40 {
        let n = [1usize, 3, 300, 5_000, 20_000][step % 5];
        let universe = [50_000u64, 2_000, 100][step % 3];
        let (keys, vals) = batch(&mut g, n, universe, 0);
        let d = ours.set_many(&keys, &vals).unwrap();
        let want = last_values(&keys, &vals);
        for (k, v) in &want {
            model.insert(*k, *v);
        }
        deltas.push((d, want));
        match step % 4 {
            // overwrite and remove rows of the runs the last deltas share
            0 => {
                let (k, v) = batch(&mut g, n, universe, 0);
                ours.set_many(&k, &v).unwrap();
                model.extend(last_values(&k, &v));
                let gone: Vec<u64> = model.keys().copied().step_by(7).collect();
                ours.remove_many(&gone);
                for k in &gone {
                    model.remove(k);
                }
            }
            // the other replica writes and removes; we take its delta incrementally
            1 => {
                let (k, v) = batch(&mut g, n.min(500), 1_000, THEIRS);
                let mut d = theirs.set_many(&k, &v).unwrap();
                their_model.extend(last_values(&k, &v));
                let gone: Vec<u64> = their_model.keys().copied().step_by(5).collect();
                d.join(&theirs.remove_many(&gone));
                for k in &gone {
                    their_model.remove(k);
                }
                ours.join_with(&d, JoinPath::Incremental);
            }
            // a full join of the other replica's whole state (writes into our run)
            2 => ours.join_with(theirs.store(), JoinPath::Full),
            _ => ours.compact_runs(),
        }
        if step % 3 == 0 {
            let mut now = model.clone();
            now.extend(their_model.iter().filter(|(k, _)| ours.contains_key(k)));
            clones.push((ours.clone(), now));
        }
        ours.store().check_invariants().unwrap();
    }
    // the state: our writes, and what it took in of theirs (all of it after a full join)
    ours.join_with(theirs.store(), JoinPath::Full);
    let mut now = model.clone();
    now.extend(their_model.iter().map(|(k, v)| (*k, *v)));
    assert_eq!(reads(&ours), model_reads(&now), "the state");
    for (i, (d, want)) in deltas.iter().enumerate() {
        d.check_invariants().unwrap();
        let got: BTreeMap<u64, u64> = d
            .entries()
            .into_iter()
            .map(|(k, r, _, v)| {
                assert_eq!(r.as_str(), Some("ours"), "delta {i}");
                (k, v)
            })
            .collect();
        assert_eq!(d.entries().len(), want.len(), "delta {i}: one row per key");
        assert_eq!(&got, want, "delta {i}");
    }
    for (i, (c, want)) in clones.iter().enumerate() {
        c.store().check_invariants().unwrap();
        assert_eq!(reads(c), model_reads(want), "clone {i}");
    }
    // a delta joined into an empty map after all of it gives its batch
    let (d, want) = &deltas[3];
    let mut fresh: MVMap<u64, u64> = MVMap::new("fresh");
    fresh.join(d);
    assert_eq!(reads(&fresh), model_reads(want));
}

#[test]
fn a_join_into_an_empty_map_takes_the_rows_and_both_sides_stay_apart() {
    let mut g = Rng(0xE417);
    let mut theirs: MVMap<u64, u64> = MVMap::new("theirs");
    let mut model: BTreeMap<u64, u64> = BTreeMap::new();
    // several runs, with removes, so the runs shared are not one plain batch
    for _ in 0..4 {
        let (k, v) = batch(&mut g, 3_000, 10_000, 0);
        theirs.set_many(&k, &v).unwrap();
        model.extend(last_values(&k, &v));
        let gone: Vec<u64> = model.keys().copied().step_by(11).collect();
        theirs.remove_many(&gone);
        for k in &gone {
            model.remove(k);
        }
    }
    let before = model.clone();
    // the same join by the merging path, into another empty map: the reference
    let mut merged: MVMap<u64, u64> = MVMap::new("merged");
    merged.join_with(theirs.store(), JoinPath::Full);
    let mut fresh: MVMap<u64, u64> = MVMap::new("fresh");
    fresh.join(theirs.store());
    fresh.store().check_invariants().unwrap();
    assert_eq!(reads(&fresh), model_reads(&model));
    assert_eq!(fresh.store().digest(), merged.store().digest());
    // both sides change: each keeps to its own writes
    let (k, v) = batch(&mut g, 500, 10_000, 0);
    theirs.set_many(&k, &v).unwrap();
    model.extend(last_values(&k, &v));
    let (fk, fv) = batch(&mut g, 500, 10_000, THEIRS);
    fresh.set_many(&fk, &fv).unwrap();
    let gone: Vec<u64> = before.keys().copied().step_by(3).collect();
    fresh.remove_many(&gone);
    let mut fresh_model = before.clone();
    for k in &gone {
        fresh_model.remove(k);
    }
    fresh_model.extend(last_values(&fk, &fv));
    assert_eq!(reads(&theirs), model_reads(&model), "theirs");
    assert_eq!(reads(&fresh), model_reads(&fresh_model), "fresh");
    // a map that holds nothing but has seen dots does not take the rows it removed
    let mut seen: MVMap<u64, u64> = MVMap::new("seen");
    seen.join(fresh.store());
    let all: Vec<u64> = seen.keys();
    seen.remove_many(&all);
    assert!(seen.keys().is_empty());
    seen.join(fresh.store());
    assert!(
        seen.keys().is_empty(),
        "rows it has seen removed stay removed"
    );
    seen.store().check_invariants().unwrap();
}
