//! Where two states differ: their bucket digests are compared first (a sorted merge over
//! the buckets that hold entries), then the keys of the differing buckets only (a sorted
//! merge over both states' `(hash, key)` order, which both sides share).

use super::CausalStore;
use crate::item::Item;
use crate::store::merge::{Merge, Step};

/// How two states of one type differ, key by key ([`CausalStore::diff`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StoreDiff<K> {
    /// Buckets compared (`2^bits`).
    pub buckets: usize,
    /// Buckets whose digests differ.
    pub differing_buckets: usize,
    /// Keys only the first state holds, in the store's order.
    pub only_left: Vec<K>,
    /// Keys only the second state holds, in the store's order.
    pub only_right: Vec<K>,
    /// Keys both hold, with different entries, in the store's order.
    pub changed: Vec<K>,
    /// Whether the contexts (the events seen) differ.
    pub contexts_differ: bool,
}

impl<K> StoreDiff<K> {
    /// Whether the states are equal: the same entries and the same context.
    pub fn is_empty(&self) -> bool {
        self.differing_buckets == 0 && !self.contexts_differ
    }
}

impl<K: Item, V: Item> CausalStore<K, V> {
    /// Where this state and `other` differ, by `2^bits` bucket digests: the buckets that
    /// hold entries on either side are compared by digest, and only the keys of differing
    /// buckets are listed, so equal regions cost one digest comparison. Memory and time are
    /// proportional to the entries, not to `2^bits`. A key is *changed* when both states
    /// hold it with different entries (values or dots).
    ///
    /// # Errors
    /// [`crate::Error::Kernel`] when `bits` exceeds
    /// [`pluriverse_kernels::digest::MAX_BUCKET_BITS`].
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut a: MVMap<u64, i64> = MVMap::new("a");
    /// let mut b: MVMap<u64, i64> = MVMap::new("b");
    /// b.join(&a.set(1, 10).unwrap());
    /// a.set(2, 20).unwrap();
    /// b.set(1, 11).unwrap();
    /// let d = a.store().diff(b.store(), 8).unwrap();
    /// assert_eq!((d.only_left, d.only_right, d.changed), (vec![2], vec![], vec![1]));
    /// assert!(d.contexts_differ);
    /// assert!(a.store().diff(a.store(), 8).unwrap().is_empty());
    /// ```
    pub fn diff(&self, other: &Self, bits: u32) -> crate::Result<StoreDiff<K>> {
        let da = self.sparse_bucket_digests(bits)?;
        let db = other.sparse_bucket_digests(bits)?;
        // a bucket on one side only differs (empty buckets are equal on both sides)
        let differing: Vec<u32> =
            Merge::new(0..da.len(), 0..db.len(), |i, j| da[i].0.cmp(&db[j].0))
                .filter_map(|step| match step {
                    Step::Left(i) => Some(da[i].0),
                    Step::Right(j) => Some(db[j].0),
                    Step::Both(i, j) => (da[i].1 != db[j].1).then_some(da[i].0),
                })
                .collect();
        let ka = self.key_digests_in_buckets(bits, &differing);
        let kb = other.key_digests_in_buckets(bits, &differing);
        let (mut only_left, mut only_right, mut changed) = (vec![], vec![], vec![]);
        let by_hash_then_key = |i: usize, j: usize| {
            ka[i]
                .0
                .cmp(&kb[j].0)
                .then_with(|| ka[i].1.total_cmp(&kb[j].1))
        };
        for step in Merge::new(0..ka.len(), 0..kb.len(), by_hash_then_key) {
            match step {
                Step::Left(i) => only_left.push(ka[i].1.clone()),
                Step::Right(j) => only_right.push(kb[j].1.clone()),
                Step::Both(i, j) if ka[i].2 != kb[j].2 => changed.push(ka[i].1.clone()),
                Step::Both(..) => {}
            }
        }
        Ok(StoreDiff {
            buckets: 1usize << bits,
            differing_buckets: differing.len(),
            only_left,
            only_right,
            changed,
            contexts_differ: self.ctx != other.ctx,
        })
    }
}
