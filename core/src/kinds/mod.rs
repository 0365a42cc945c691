//! The record kinds: maps over millions of keys, each key holding a small CRDT.
//!
//! A kind is a type ([`Kind`], one marker per kind); a replica's handle on a state of it is
//! [`State`], whose shared API is written once in [`state`]. Each kind's module adds its
//! mutators (all writing through [`crate::CausalStore`]'s one local-write primitive), its
//! reads and its cell columns.

pub mod awset;
pub mod kind;
pub mod lww;
pub mod mvmap;
pub mod pncounter;
pub mod state;

use crate::radix::Pairs;
pub use kind::{AWSetKind, Kind, LWWMapKind, MVMapKind, PNCounterKind, WireKind, KIND_NAMES};
pub use state::State;

/// How many batch rows ahead of its read a batch's key or cell is prefetched, in the
/// gathers in hash order (twice as far for the first of two steps, see
/// [`BatchKeys::prefetch`]).
pub(crate) const PREFETCH_AHEAD: usize = 16;

/// The keys of a batch write: a slice of items, or a column ([`KeyCol`]: an Arrow array
/// copied into the store's column type, no item built one by one).
pub(crate) trait BatchKeys<K: crate::item::Item> {
    /// Number of keys.
    fn count(&self) -> usize;
    /// [`crate::Item::hash64`] of key `i`.
    fn hash(&self, i: usize) -> u64;
    /// Order of keys `i` and `j`.
    fn cmp(&self, i: usize, j: usize) -> std::cmp::Ordering;
    /// Order of item `j` of `col` against key `i`.
    fn cmp_in(&self, col: &K::Col, j: usize, i: usize) -> std::cmp::Ordering;
    /// Appends key `i` to `col`.
    fn push_to(&self, col: &mut K::Col, i: usize);
    /// Hints the CPU to load key `i` (a gather in hash order reads keys at random): the
    /// first of two steps, some keys ahead of the read.
    #[inline]
    fn prefetch(&self, _i: usize) {}
    /// The second step: what key `i` points to (a string's bytes), once the first landed.
    #[inline]
    fn prefetch_data(&self, _i: usize) {}
}

/// The cells of a batch write: `push_to(col, pos, i)` appends the cell of the row at batch
/// position `pos`, which is key `i`. Any `Fn(&mut V::Col, usize, usize)` is one (no
/// prefetch); [`ValuesOf`] and [`ValueCol`] gather by `i` and prefetch ahead.
pub(crate) trait BatchCells<V: crate::item::Item> {
    /// Appends the cell of batch position `pos` (key `i`).
    fn push_to(&self, col: &mut V::Col, pos: usize, i: usize);
    /// Hints the CPU to load the cell of key `i` (first step, as [`BatchKeys::prefetch`]).
    #[inline]
    fn prefetch(&self, _i: usize) {}
    /// The second step: what that cell points to.
    #[inline]
    fn prefetch_data(&self, _i: usize) {}
}

impl<V: crate::item::Item, F: Fn(&mut V::Col, usize, usize)> BatchCells<V> for F {
    #[inline]
    fn push_to(&self, col: &mut V::Col, pos: usize, i: usize) {
        self(col, pos, i)
    }
}

/// Cell `i` is `self.0[i]`.
pub(crate) struct ValuesOf<'a, V>(pub &'a [V]);

impl<V: crate::item::Item> BatchCells<V> for ValuesOf<'_, V> {
    #[inline]
    fn push_to(&self, col: &mut V::Col, _: usize, i: usize) {
        use crate::item::ItemCol;
        col.push(&self.0[i]);
    }
    #[inline]
    fn prefetch(&self, i: usize) {
        crate::item::prefetch(self.0.as_ptr().wrapping_add(i));
    }
    #[inline]
    fn prefetch_data(&self, i: usize) {
        if let Some(v) = self.0.get(i) {
            v.prefetch_heap();
        }
    }
}

/// Cell `i` is item `i` of a column.
pub(crate) struct ValueCol<'a, V: crate::item::Item>(pub &'a V::Col);

impl<V: crate::item::Item> BatchCells<V> for ValueCol<'_, V> {
    #[inline]
    fn push_to(&self, col: &mut V::Col, _: usize, i: usize) {
        use crate::item::ItemCol;
        col.push_from(self.0, i);
    }
    #[inline]
    fn prefetch(&self, i: usize) {
        use crate::item::ItemCol;
        self.0.prefetch(i);
    }
    #[inline]
    fn prefetch_data(&self, i: usize) {
        use crate::item::ItemCol;
        self.0.prefetch_data(i);
    }
}

impl<K: crate::item::Item> BatchKeys<K> for [K] {
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn hash(&self, i: usize) -> u64 {
        self[i].hash64()
    }
    #[inline]
    fn cmp(&self, i: usize, j: usize) -> std::cmp::Ordering {
        self[i].total_cmp(&self[j])
    }
    #[inline]
    fn cmp_in(&self, col: &K::Col, j: usize, i: usize) -> std::cmp::Ordering {
        use crate::item::ItemCol;
        col.cmp_item(j, &self[i])
    }
    #[inline]
    fn push_to(&self, col: &mut K::Col, i: usize) {
        use crate::item::ItemCol;
        col.push(&self[i]);
    }
    #[inline]
    fn prefetch(&self, i: usize) {
        crate::item::prefetch(self.as_ptr().wrapping_add(i));
    }
    #[inline]
    fn prefetch_data(&self, i: usize) {
        if let Some(k) = self.get(i) {
            k.prefetch_heap();
        }
    }
}

/// A column of keys as a batch.
pub(crate) struct KeyCol<'a, K: crate::item::Item>(pub &'a K::Col);

impl<K: crate::item::Item> BatchKeys<K> for KeyCol<'_, K> {
    fn count(&self) -> usize {
        use crate::item::ItemCol;
        self.0.len()
    }
    #[inline]
    fn hash(&self, i: usize) -> u64 {
        use crate::item::ItemCol;
        self.0.hash_at(i)
    }
    #[inline]
    fn cmp(&self, i: usize, j: usize) -> std::cmp::Ordering {
        use crate::item::ItemCol;
        self.0.cmp_at(i, self.0, j)
    }
    #[inline]
    fn cmp_in(&self, col: &K::Col, j: usize, i: usize) -> std::cmp::Ordering {
        use crate::item::ItemCol;
        col.cmp_at(j, self.0, i)
    }
    #[inline]
    fn push_to(&self, col: &mut K::Col, i: usize) {
        use crate::item::ItemCol;
        col.push_from(self.0, i);
    }
    #[inline]
    fn prefetch(&self, i: usize) {
        use crate::item::ItemCol;
        self.0.prefetch(i);
    }
    #[inline]
    fn prefetch_data(&self, i: usize) {
        use crate::item::ItemCol;
        self.0.prefetch_data(i);
    }
}

/// Sorts `keys` by `(hash, key)`, equal keys by `tie` (an order on row indices): returns
/// `(hash, row)` pairs. A radix sort on the hashes ([`crate::radix`]), then the rare runs of
/// equal hashes (the same key given twice, or a collision) by key and `tie`.
pub(crate) fn sorted_by_key<K: crate::item::Item>(
    keys: &(impl BatchKeys<K> + ?Sized),
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Pairs {
    sorted_with_ties(keys, tie).0
}

/// [`sorted_by_key`], and whether any two pairs share a hash.
fn sorted_with_ties<K: crate::item::Item>(
    keys: &(impl BatchKeys<K> + ?Sized),
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> (Pairs, bool) {
    let mut idx: Pairs = pluriverse_kernels::pages::with_capacity(keys.count());
    idx.extend((0..keys.count()).map(|i| (keys.hash(i), i)));
    crate::radix::sort_hash_rows(&mut idx);
    let mut ties = false;
    let mut start = 0;
    while start < idx.len() {
        let h = idx[start].0;
        let end = start + idx[start..].iter().take_while(|e| e.0 == h).count();
        if end - start > 1 {
            ties = true;
            idx[start..end].sort_by(|a, b| keys.cmp(a.1, b.1).then_with(|| tie(a.1, b.1)));
        }
        start = end;
    }
    (idx, ties)
}

/// Keeps, of each key of `keys`, the row that is last in `tie` (a batch that writes a key
/// twice means its last write, or for an `LWWMap` its winning one). Returns `(hash, row)`
/// pairs in `(hash, key)` order.
pub(crate) fn last_per_key_by<K: crate::item::Item>(
    keys: &(impl BatchKeys<K> + ?Sized),
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Pairs {
    let (mut v, ties) = sorted_with_ties(keys, tie);
    if !ties {
        return v; // no two rows share a hash, so none shares a key
    }
    // in place: each key's rows are adjacent, the last in `tie` order wins
    let mut w: usize = 0;
    for r in 0..v.len() {
        let e = v[r];
        match w.checked_sub(1).map(|l: usize| v[l]) {
            Some(last) if last.0 == e.0 && keys.cmp(last.1, e.1).is_eq() => {
                v[w - 1] = e;
            }
            _ => {
                v[w] = e;
                w += 1;
            }
        }
    }
    v.truncate(w);
    v
}

/// [`last_per_key_by`] batch order: the last occurrence of each key wins.
pub(crate) fn last_per_key<K: crate::item::Item>(keys: &(impl BatchKeys<K> + ?Sized)) -> Pairs {
    last_per_key_by(keys, |a, b| a.cmp(&b))
}

/// Rows of a sorted run where a new key starts.
fn key_starts<K: crate::item::Item, V: crate::item::Item>(
    m: &crate::store::run::Run<K, V>,
) -> impl Iterator<Item = usize> + '_ {
    use crate::item::ItemCol;
    (0..m.rows()).filter(move |&i| {
        i == 0 || m.hash[i] != m.hash[i - 1] || m.keys.cmp_at(i, &m.keys, i - 1).is_ne()
    })
}

/// The distinct keys of a store, in its order.
pub(crate) fn distinct_keys<K: crate::item::Item, V: crate::item::Item>(
    store: &crate::store::CausalStore<K, V>,
) -> Vec<K> {
    use crate::item::ItemCol;
    let m = store.merged_cow();
    key_starts(&m).map(|i| m.keys.get(i)).collect()
}

/// The number of distinct keys of a store.
pub(crate) fn distinct_key_count<K: crate::item::Item, V: crate::item::Item>(
    store: &crate::store::CausalStore<K, V>,
) -> usize {
    key_starts(&store.merged_cow()).count()
}

/// Keeps, per writing replica, only its latest entry (highest counter).
///
/// A replica always sees its own earlier writes, so its later write of a key supersedes its
/// earlier ones; the delta that says so may still be in flight (deltas need no causal
/// delivery), and until it arrives a store can hold both. Reads take the latest, so they
/// never show a superseded value; anti-entropy removes the stale entry itself.
pub(crate) fn latest_per_replica<V>(mut entries: Vec<(u32, u64, V)>) -> Vec<(u32, u64, V)> {
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    entries.dedup_by(|later, first| later.0 == first.0);
    entries
}
