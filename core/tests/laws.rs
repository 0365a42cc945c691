//! Contracts 1, 2 and 4 for every kind, on states and on deltas: join is commutative,
//! associative and idempotent (compared by bytes and digest, so by the whole state);
//! `delta_since` joined into a peer equals the whole state joined into it, removals
//! included; equal states have equal bytes and digests. Partitions by key hash join back
//! to the state and can be merged part by part.

mod common;
use common::Rng;

use pluriverse::wire::{ArrowItem, Cells};
use pluriverse::{
    AWSetKind, CausalStore, Item, JoinPath, Kind, LWWMapKind, MVMapKind, PNCounterKind, State,
};

/// The store of kind `Kd`.
type Store<Kd> = CausalStore<<Kd as Kind>::Key, <Kd as Kind>::Cell>;

/// A kind whose states the laws run on: its keys and cells have Arrow columns, and a random
/// write of it.
trait Random: Kind<Key: ArrowItem, Cell: Cells> {
    fn op(s: &mut State<Self>, g: &mut Rng) -> Store<Self>;
}

impl Random for MVMapKind<u64, i64> {
    fn op(s: &mut State<Self>, g: &mut Rng) -> Store<Self> {
        let k = g.below(6);
        if g.below(3) == 0 {
            s.remove(&k)
        } else {
            s.set(k, g.below(9) as i64).unwrap()
        }
    }
}

impl Random for AWSetKind<String> {
    fn op(s: &mut State<Self>, g: &mut Rng) -> Store<Self> {
        let e = format!("e{}", g.below(6));
        if g.below(3) == 0 {
            s.remove(&e)
        } else {
            s.add(e).unwrap()
        }
    }
}

impl Random for PNCounterKind<Vec<u8>> {
    fn op(s: &mut State<Self>, g: &mut Rng) -> Store<Self> {
        let k = vec![g.below(6) as u8];
        if g.below(2) == 0 {
            s.increment(k, g.below(5))
        } else {
            s.decrement(k, g.below(5))
        }
        .unwrap()
    }
}

impl Random for LWWMapKind<i64, String> {
    fn op(s: &mut State<Self>, g: &mut Rng) -> Store<Self> {
        let (k, ts) = (g.below(6) as i64 - 3, g.below(8));
        if g.below(3) == 0 {
            s.remove(k, ts)
        } else {
            s.set(k, format!("v{}", g.below(9)), ts)
        }
        .unwrap()
    }
}

/// Three replicas' states and all deltas they produced.
fn scenario<T: Random>(g: &mut Rng) -> (Vec<State<T>>, Vec<Store<T>>) {
    let mut r: Vec<State<T>> = ["p", "q", "r"].iter().map(|n| State::new(*n)).collect();
    let mut deltas = vec![];
    for _ in 0..g.below(25) {
        let i = g.below(3) as usize;
        let d = T::op(&mut r[i], g);
        let j = g.below(3) as usize;
        if j != i && g.below(2) == 0 {
            r[j].join_with(&d, JoinPath::Auto);
        }
        deltas.push(d);
    }
    (r, deltas)
}

fn same<K: ArrowItem, V: Cells>(x: &CausalStore<K, V>, y: &CausalStore<K, V>) -> bool {
    x.check_invariants().unwrap();
    y.check_invariants().unwrap();
    x.to_bytes().unwrap() == y.to_bytes().unwrap() && x.digest() == y.digest()
}

fn join<K: Item, V: Item>(
    x: &CausalStore<K, V>,
    y: &CausalStore<K, V>,
    path: JoinPath,
) -> CausalStore<K, V> {
    let mut z = x.clone();
    z.join_with(y, path);
    z
}

fn check_laws<T: Random>(seed: u64) {
    let mut g = Rng(seed);
    let paths = [JoinPath::Auto, JoinPath::Incremental, JoinPath::Full];
    for round in 0..150 {
        let (states, deltas) = scenario::<T>(&mut g);
        let p = paths[round % 3];
        let (a, b, c) = (states[0].store(), states[1].store(), states[2].store());
        assert!(
            same(&join(a, b, p), &join(b, a, p)),
            "commutative, round {round}"
        );
        assert!(
            same(&join(&join(a, b, p), c, p), &join(a, &join(b, c, p), p)),
            "associative"
        );
        assert!(same(&join(a, a, p), a), "idempotent");
        // the same laws on deltas
        if deltas.len() >= 3 {
            let (x, y, z) = (&deltas[0], &deltas[1], &deltas[deltas.len() - 1]);
            assert!(same(&join(x, y, p), &join(y, x, p)), "delta commutative");
            assert!(
                same(&join(&join(x, y, p), z, p), &join(x, &join(y, z, p), p)),
                "delta associative"
            );
            assert!(same(&join(x, x, p), x), "delta idempotent");
        }
        // contract 2: delta_since joined into b == a joined into b
        let via_delta = join(b, &a.delta_since(b.context()), p);
        assert!(
            same(&via_delta, &join(b, a, p)),
            "delta_since, round {round}"
        );
        // partitions by key hash: each part valid and holding only its keys; the parts join
        // back to the state; joining part by part gives the parts of the join
        let parts = [1, 2, 3, 7][round % 4];
        let (pa, pb) = (a.partition(parts), b.partition(parts));
        assert_eq!(pa.len(), parts);
        let mut whole = CausalStore::new();
        let mut merged = CausalStore::new();
        for (p, (x, y)) in pa.iter().zip(&pb).enumerate() {
            x.check_invariants().unwrap();
            for (k, ..) in x.entries() {
                assert_eq!(Store::<T>::partition_of(k.hash64(), parts), p);
            }
            whole.join_with(x, p_path(round));
            merged.join(&join(x, y, p_path(round + 1)));
        }
        assert!(same(&whole, a), "parts join back, round {round}");
        assert!(
            same(&merged, &join(a, b, p)),
            "partition-wise join, round {round}"
        );
        // all deltas in a shuffled order with duplicates == the same deltas in order
        let mut fwd = CausalStore::new();
        for d in &deltas {
            fwd.join(d);
        }
        let mut shuffled: Vec<&Store<T>> = deltas.iter().chain(deltas.iter().step_by(2)).collect();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, g.below(i as u64 + 1) as usize);
        }
        let mut back = CausalStore::new();
        for d in shuffled {
            back.join_with(d, p);
        }
        assert!(
            same(&fwd, &back),
            "delivery order and duplicates, round {round}"
        );
    }
}

fn p_path(i: usize) -> JoinPath {
    [JoinPath::Incremental, JoinPath::Full][i % 2]
}

#[test]
fn mvmap_laws() {
    check_laws::<MVMapKind<u64, i64>>(1);
}

#[test]
fn awset_laws() {
    check_laws::<AWSetKind<String>>(2);
}

#[test]
fn pncounter_laws() {
    check_laws::<PNCounterKind<Vec<u8>>>(3);
}

#[test]
fn lww_laws() {
    check_laws::<LWWMapKind<i64, String>>(4);
}
