//! Full joins between states whose replica tables list their replicas in different orders
//! (each heard of the others in its own order, some wrote before hearing of anyone), so
//! the other side's rows are remapped into this side's indices, and where the new order
//! puts one key's dots out of order, re-sorted: against the naive model of the join, with
//! the store's invariants (row order among them) checked after each join.

mod common;

use common::sets::{model, model_join};
use common::Rng;
use pluriverse::{JoinPath, MVMap};

/// Four replicas write batches over a small key space (so most keys hold values from
/// several replicas), hear each other's deltas in a seeded order, then every pair is
/// joined both ways on the full path.
#[test]
fn joins_across_replica_tables_in_other_orders_match_the_model() {
    for seed in 0..6u64 {
        let mut rng = Rng(seed);
        let names = ["r0", "r1", "r2", "r3"];
        let mut maps: Vec<MVMap<u64, u64>> = names.iter().map(|&n| MVMap::new(n)).collect();
        let mut deltas: Vec<Vec<_>> = vec![vec![]; names.len()];
        for round in 0..3 {
            for (i, m) in maps.iter_mut().enumerate() {
                let n = 200 + rng.next_u64() as usize % 600;
                let mut keys: Vec<u64> = (0..n).map(|_| rng.next_u64() % 500).collect();
                keys.sort_unstable();
                keys.dedup();
                let values: Vec<u64> = keys.iter().map(|k| k * 10 + round).collect();
                deltas[i].push(m.set_many(&keys, &values).unwrap());
            }
            // each hears a seeded subset of the others' latest deltas, in a seeded order
            for (i, m) in maps.iter_mut().enumerate() {
                let mut from: Vec<usize> = (0..names.len()).filter(|&j| j != i).collect();
                for k in (1..from.len()).rev() {
                    from.swap(k, rng.next_u64() as usize % (k + 1));
                }
                for j in from {
                    if !rng.next_u64().is_multiple_of(3) {
                        m.join(deltas[j].last().unwrap());
                    }
                }
            }
        }
        for x in &maps {
            for y in &maps {
                let mut want = model(x.store());
                model_join(&mut want, &model(y.store()));
                let mut j = x.clone();
                j.join_with(y.store(), JoinPath::Full);
                j.store().check_invariants().unwrap();
                assert_eq!(model(j.store()), want, "seed {seed}");
            }
        }
    }
}
