//! `try_join_all` against joining one by one and against a naive model (entries and
//! context as sets, the join as the paper's formula): the slices of a stream (disjoint
//! contexts, the one-sort path) and arbitrary overlapping deltas (the fallback), joined
//! into empty and non-empty states.

mod common;
use common::sets::{model, model_join};
use common::Rng;

use pluriverse::{CausalStore, MVMap};

fn replicas(seed: u64) -> Vec<MVMap<u64, u64>> {
    let mut rng = Rng(seed);
    let mut reps: Vec<MVMap<u64, u64>> = ["a", "b", "c"].iter().map(|n| MVMap::new(*n)).collect();
    for step in 0..80 {
        let i = rng.below(3) as usize;
        let d = if rng.below(4) == 0 {
            let ks: Vec<u64> = (0..1 + rng.below(6)).map(|_| rng.below(50)).collect();
            reps[i].remove_many(&ks)
        } else {
            let n = 1 + rng.below(if step % 9 == 0 { 300 } else { 4 }) as usize;
            let ks: Vec<u64> = (0..n).map(|_| rng.below(400)).collect();
            reps[i].set_many(&ks, &vec![step; n]).unwrap()
        };
        for (j, r) in reps.iter_mut().enumerate() {
            if j != i && rng.below(3) == 0 {
                r.join(&d);
            }
        }
    }
    reps
}

fn check(base: &CausalStore<u64, u64>, parts: &[CausalStore<u64, u64>], what: &str) {
    let refs: Vec<&CausalStore<u64, u64>> = parts.iter().collect();
    let all = CausalStore::try_join_all(&refs).unwrap();
    all.check_invariants().unwrap();
    // one by one, and the model
    let mut one = CausalStore::new();
    let mut m = model(&one);
    for p in parts {
        one.try_join(p).unwrap();
        model_join(&mut m, &model(p));
    }
    assert_eq!(all.digest(), one.digest(), "{what}: against one by one");
    assert_eq!(model(&all), m, "{what}: against the model");
    // joined into a state
    let mut batched = base.clone();
    batched.try_join(&all).unwrap();
    let mut seq = base.clone();
    let mut m = model(base);
    for p in parts {
        seq.try_join(p).unwrap();
        model_join(&mut m, &model(p));
    }
    assert_eq!(batched.digest(), seq.digest(), "{what}: into a state");
    assert_eq!(model(&batched), m, "{what}: into a state, model");
}

#[test]
fn stream_slices_join_at_once_as_one_by_one() {
    for seed in 0..40 {
        let reps = replicas(seed);
        let src = reps[(seed % 3) as usize].store();
        // every replica's range streamed in parts of a few units: disjoint contexts
        let mut parts = Vec::new();
        for name in src.replicas_seen() {
            let budget = 1 + seed % 7;
            for (lo, hi) in src.split_range(&name, 1, u64::MAX, budget) {
                parts.push(src.slice(&name, lo, hi));
            }
        }
        // in any order
        let mut rng = Rng(seed ^ 0x5eed);
        for i in (1..parts.len()).rev() {
            parts.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let all = CausalStore::try_join_all(&parts.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(
            all.digest(),
            src.digest(),
            "seed {seed}: the slices join back"
        );
        for base in &reps {
            check(base.store(), &parts, &format!("seed {seed}, slices"));
        }
        // a prefix of the stream: a cut transfer keeps what arrived
        let cut = parts.len() / 2;
        check(reps[1].store(), &parts[..cut], &format!("seed {seed}, cut"));
    }
}

#[test]
fn overlapping_deltas_join_at_once_as_one_by_one() {
    for seed in 0..40 {
        let reps = replicas(seed);
        let mut rng = Rng(seed);
        let mut parts: Vec<CausalStore<u64, u64>> = Vec::new();
        for _ in 0..6 {
            let a = &reps[rng.below(3) as usize];
            let b = &reps[rng.below(3) as usize];
            parts.push(a.store().delta_since(b.context()));
            if let Some(name) = a.store().replicas_seen().first() {
                let lo = 1 + rng.below(40);
                parts.push(a.store().slice(name, lo, lo + rng.below(40)));
            }
        }
        // and a duplicate
        parts.push(parts[0].clone());
        for base in &reps {
            check(base.store(), &parts, &format!("seed {seed}, overlapping"));
        }
        check(&CausalStore::new(), &[], &format!("seed {seed}, none"));
    }
}
