//! Batch writes with string keys against a naive model (a `BTreeMap`, the last value of a
//! key wins): batches of sizes around the radix sort's thresholds (256 pairs, the bits per
//! bucket pass), with repeated keys, into empty maps and into maps of several runs with
//! deleted rows, from slices and from Arrow columns. Every write's dots are fresh (one
//! contiguous range after the last one issued, none seen before) and the store keeps its
//! invariants.

mod common;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::{StringArray, UInt64Array};
use pluriverse::MVMap;

/// A key from a universe of `universe` keys, of 1 to 12 bytes (some share prefixes).
fn key(g: &mut Rng, universe: u64) -> String {
    let k = g.below(universe);
    format!("{:0width$}", k, width = 1 + (k % 12) as usize)
}

#[test]
fn string_batches_match_the_model() {
    let mut g = Rng(0x5E75);
    let mut m: MVMap<String, u64> = MVMap::new("w");
    let mut model: BTreeMap<String, u64> = BTreeMap::new();
    let mut issued: BTreeSet<u64> = BTreeSet::new();
    let mut last_counter = 0u64;
    let sizes = [
        1usize, 2, 255, 256, 257, 1023, 1025, 4096, 8193, 65_537, 300, 70_000,
    ];
    for (step, &n) in sizes.iter().enumerate() {
        // small universes repeat keys inside a batch and overwrite earlier batches
        let universe = [n as u64 * 4, n as u64 / 2 + 1, 100_000][step % 3];
        let keys: Vec<String> = (0..n).map(|_| key(&mut g, universe)).collect();
        let vals: Vec<u64> = (0..n).map(|_| g.below(1 << 40)).collect();
        let d = if step % 2 == 0 {
            m.set_many(&keys, &vals).unwrap()
        } else {
            let (ka, va) = (
                StringArray::from(keys.clone()),
                UInt64Array::from(vals.clone()),
            );
            m.set_many_arrow(&ka, &va).unwrap()
        };
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for (k, v) in keys.iter().zip(&vals) {
            want.insert(k.clone(), *v);
        }
        // the delta: each distinct key once, with its last value, under fresh dots
        let got = d.entries();
        assert_eq!(got.len(), want.len(), "step {step}: delta size");
        let mut counters: Vec<u64> = vec![];
        for (k, r, c, v) in &got {
            assert_eq!(r.as_str(), Some("w"));
            assert_eq!(want.get(k), Some(v), "step {step}: delta value of {k:?}");
            assert!(issued.insert(*c), "step {step}: dot {c} issued twice");
            counters.push(*c);
        }
        counters.sort_unstable();
        let expect: Vec<u64> = (last_counter + 1..=last_counter + want.len() as u64).collect();
        assert_eq!(
            counters, expect,
            "step {step}: one contiguous run of new dots"
        );
        last_counter += want.len() as u64;
        model.extend(want);
        // the state: every key of the model, with one value
        assert_eq!(m.len(), model.len(), "step {step}: len");
        for (k, v) in model.iter().step_by(1 + model.len() / 500) {
            assert_eq!(m.get(k), vec![*v], "step {step}: {k:?}");
        }
        for k in keys.iter().take(200) {
            assert_eq!(m.get(k), vec![model[k]], "step {step}: {k:?}");
        }
        let listed: BTreeSet<String> = m.keys().into_iter().collect();
        assert_eq!(listed.len(), model.len());
        assert!(listed.iter().eq(model.keys()), "step {step}: keys");
        m.store().check_invariants().unwrap();
        // another replica that joins the delta sees the same entries as this one wrote
        let mut other: MVMap<String, u64> = MVMap::new("o");
        other.join(&d);
        assert_eq!(other.len(), got.len());
    }
}
