//! `JoinBatch` against joining the same deltas one by one and against a naive model
//! (entries and context as sets, the join as the paper's formula): writers' deltas in
//! order (gathered), overwrites and removals of gathered entries, other replicas' deltas,
//! duplicates and reordering (refused and joined the usual way).

mod common;
use common::sets::{model, model_join};
use common::Rng;

use pluriverse::{CausalStore, JoinBatch, MVMap};

/// Deltas of three writers: mostly one-record sets of fresh keys, some overwrites of
/// recent keys, removals, multi-key writes, and now and then a duplicate or an older one.
fn deltas(seed: u64) -> Vec<CausalStore<u64, u64>> {
    let mut rng = Rng(seed);
    let mut reps: Vec<MVMap<u64, u64>> = ["a", "b", "c"].iter().map(|n| MVMap::new(*n)).collect();
    let mut out: Vec<CausalStore<u64, u64>> = Vec::new();
    for step in 0..600u64 {
        let i = if rng.below(5) == 0 {
            rng.below(3) as usize
        } else {
            0
        };
        let d = match rng.below(20) {
            0 => reps[i].remove_many(&[rng.below(step + 1)]),
            1 => {
                let ks: Vec<u64> = (0..1 + rng.below(5)).map(|_| rng.below(step + 1)).collect();
                let n = ks.len();
                reps[i].set_many(&ks, &vec![step; n]).unwrap()
            }
            2 | 3 => reps[i].set(rng.below(step + 1), step).unwrap(),
            4 if !out.is_empty() => out[rng.below(out.len() as u64) as usize].clone(),
            _ => reps[i].set(1000 + step, step).unwrap(),
        };
        if rng.below(10) == 0 {
            // another replica hears of it
            let j = rng.below(3) as usize;
            if j != i {
                reps[j].join(&d);
            }
        }
        out.push(d);
    }
    out
}

#[test]
fn a_batch_joins_as_one_by_one_and_as_the_model() {
    for seed in 0..40 {
        let ds = deltas(seed);
        let mut rng = Rng(seed ^ 0x5eed);
        let mut base = MVMap::<u64, u64>::new("r");
        base.set_many(&[1, 2, 3, 1001], &[9, 9, 9, 9]).unwrap();
        let mut one = base.store().clone();
        let mut want = model(&one);
        let mut batched = base.store().clone();
        let mut batch = JoinBatch::new();
        let (mut taken, mut refused) = (0, 0);
        for d in &ds {
            one.join(d);
            model_join(&mut want, &model(d));
            if batch.add(d) {
                taken += 1;
            } else {
                refused += 1;
                batched.join(&batch.finish());
                batched.join(d);
                assert!(batch.is_empty());
            }
            if rng.below(64) == 0 {
                let b = batch.finish();
                b.check_invariants().unwrap();
                batched.join(&b);
            }
        }
        batched.join(&batch.finish());
        batched.check_invariants().unwrap();
        assert_eq!(batched.digest(), one.digest(), "seed {seed}");
        assert_eq!(model(&batched), want, "seed {seed}");
        assert!(
            taken > refused,
            "seed {seed}: {taken} taken, {refused} refused"
        );
    }
}

#[test]
fn a_refused_delta_leaves_the_batch_as_it_was() {
    let mut w = MVMap::<u64, u64>::new("w");
    let d1 = w.set(1, 1).unwrap();
    let d2 = w.set(1, 2).unwrap(); // its context holds d1's dot
    let mut batch = JoinBatch::new();
    assert!(batch.add(&d1));
    assert!(!batch.add(&d2));
    assert!(!batch.add(&d1)); // a duplicate
    assert_eq!((batch.len(), batch.rows()), (1, 1));
    assert_eq!(batch.finish().digest(), d1.digest());
    assert!(batch.is_empty());
    assert_eq!(
        batch.finish().digest(),
        CausalStore::<u64, u64>::new().digest()
    );
}

#[test]
fn a_delta_holding_retired_records_is_joined_not_gathered() {
    use pluriverse::retired::incarnation_name;
    // p#1 wrote key 1, p#2 overwrote it: p#1 has no live entry and is held as a record
    let mut first: MVMap<u64, u64> = MVMap::new(incarnation_name(b"p", 1));
    first.set(1, 1).unwrap();
    let mut later: MVMap<u64, u64> =
        MVMap::from_store(incarnation_name(b"p", 2), first.store().clone());
    later.set(1, 2).unwrap();
    let mut delta = later.store().clone();
    assert_eq!(delta.retire_idle(Some(later.replica())), 1);
    assert_eq!(delta.context().retired().len(), 1);

    let mut batch: JoinBatch<u64, u64> = JoinBatch::new();
    assert!(
        !batch.add(&delta),
        "a record's knowledge must go through the join"
    );
    assert!(batch.is_empty());
    // the usual join keeps what the record says: p#1's dot stays seen
    let mut joined = CausalStore::new();
    joined.join(&delta);
    // (context equality counts records as the rows they stand for)
    assert_eq!(joined.context(), later.store().context());
    assert_eq!(joined.context().retired().len(), 1);
    assert_eq!(joined.digest(), later.store().digest());
    assert_eq!(model(&joined).0, model(later.store()).0);
}
