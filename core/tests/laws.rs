//! Contracts 1, 2 and 4 for every kind, on states and on deltas: join is commutative,
//! associative and idempotent (compared by bytes and digest, so by the whole state);
//! `delta_since` joined into a peer equals the whole state joined into it, removals
//! included; equal states have equal bytes and digests. Partitions by key hash join back
//! to the state and can be merged part by part.

mod common;
use common::Rng;

use pluriverse::wire::{ArrowItem, Cells};
use pluriverse::{AWSet, CausalStore, Item, JoinPath, LWWMap, MVMap, PNCounterMap};

/// Random states of one kind, built by a few replicas writing and partially exchanging
/// deltas; also returns the deltas produced.
trait Kind: Sized + Clone {
    type K: ArrowItem;
    type V: Cells;
    fn new(name: &str) -> Self;
    fn op(&mut self, g: &mut Rng) -> CausalStore<Self::K, Self::V>;
    fn store(&self) -> &CausalStore<Self::K, Self::V>;
    fn join(&mut self, d: &CausalStore<Self::K, Self::V>, path: JoinPath);
}

impl Kind for MVMap<u64, i64> {
    type K = u64;
    type V = i64;
    fn new(name: &str) -> Self {
        MVMap::new(name)
    }
    fn op(&mut self, g: &mut Rng) -> CausalStore<u64, i64> {
        let k = g.below(6);
        if g.below(3) == 0 {
            self.remove(&k)
        } else {
            self.set(k, g.below(9) as i64).unwrap()
        }
    }
    fn store(&self) -> &CausalStore<u64, i64> {
        MVMap::store(self)
    }
    fn join(&mut self, d: &CausalStore<u64, i64>, path: JoinPath) {
        self.join_with(d, path)
    }
}

impl Kind for AWSet<String> {
    type K = String;
    type V = ();
    fn new(name: &str) -> Self {
        AWSet::new(name)
    }
    fn op(&mut self, g: &mut Rng) -> CausalStore<String, ()> {
        let e = format!("e{}", g.below(6));
        if g.below(3) == 0 {
            self.remove(&e)
        } else {
            self.add(e).unwrap()
        }
    }
    fn store(&self) -> &CausalStore<String, ()> {
        AWSet::store(self)
    }
    fn join(&mut self, d: &CausalStore<String, ()>, path: JoinPath) {
        self.join_with(d, path)
    }
}

impl Kind for PNCounterMap<Vec<u8>> {
    type K = Vec<u8>;
    type V = (u64, u64);
    fn new(name: &str) -> Self {
        PNCounterMap::new(name)
    }
    fn op(&mut self, g: &mut Rng) -> CausalStore<Vec<u8>, (u64, u64)> {
        let k = vec![g.below(6) as u8];
        if g.below(2) == 0 {
            self.increment(k, g.below(5))
        } else {
            self.decrement(k, g.below(5))
        }
        .unwrap()
    }
    fn store(&self) -> &CausalStore<Vec<u8>, (u64, u64)> {
        PNCounterMap::store(self)
    }
    fn join(&mut self, d: &CausalStore<Vec<u8>, (u64, u64)>, path: JoinPath) {
        self.join_with(d, path)
    }
}

impl Kind for LWWMap<i64, String> {
    type K = i64;
    type V = pluriverse::LwwCell<String>;
    fn new(name: &str) -> Self {
        LWWMap::new(name)
    }
    fn op(&mut self, g: &mut Rng) -> CausalStore<i64, pluriverse::LwwCell<String>> {
        let (k, ts) = (g.below(6) as i64 - 3, g.below(8));
        if g.below(3) == 0 {
            self.remove(k, ts)
        } else {
            self.set(k, format!("v{}", g.below(9)), ts)
        }
        .unwrap()
    }
    fn store(&self) -> &CausalStore<i64, pluriverse::LwwCell<String>> {
        LWWMap::store(self)
    }
    fn join(&mut self, d: &CausalStore<i64, pluriverse::LwwCell<String>>, path: JoinPath) {
        self.join_with(d, path)
    }
}

type Deltas<T> = Vec<CausalStore<<T as Kind>::K, <T as Kind>::V>>;

/// Three replicas' states and all deltas they produced.
fn scenario<T: Kind>(g: &mut Rng) -> (Vec<T>, Deltas<T>) {
    let mut r: Vec<T> = ["p", "q", "r"].iter().map(|n| T::new(n)).collect();
    let mut deltas = vec![];
    for _ in 0..g.below(25) {
        let i = g.below(3) as usize;
        let d = r[i].op(g);
        let j = g.below(3) as usize;
        if j != i && g.below(2) == 0 {
            r[j].join(&d, JoinPath::Auto);
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

fn check_laws<T: Kind>(seed: u64) {
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
                assert_eq!(
                    CausalStore::<T::K, T::V>::partition_of(k.hash64(), parts),
                    p
                );
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
        let mut shuffled: Vec<&CausalStore<T::K, T::V>> =
            deltas.iter().chain(deltas.iter().step_by(2)).collect();
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
    check_laws::<MVMap<u64, i64>>(1);
}

#[test]
fn awset_laws() {
    check_laws::<AWSet<String>>(2);
}

#[test]
fn pncounter_laws() {
    check_laws::<PNCounterMap<Vec<u8>>>(3);
}

#[test]
fn lww_laws() {
    check_laws::<LWWMap<i64, String>>(4);
}
