//! Splitting a state by key hash into valid sub-states that can be merged independently.

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::Item;
use crate::store::run::Run;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The partition (of `parts`) that a key with 64-bit hash `hash` belongs to:
    /// `hash * parts / 2^64`, so partitions are contiguous, equal ranges of the hash space
    /// (and of the store's order). `parts` must be at least 1.
    pub fn partition_of(hash: u64, parts: usize) -> usize {
        ((hash as u128 * parts.max(1) as u128) >> 64) as usize
    }

    /// Splits the state into `parts` states by key hash ([`Self::partition_of`] of
    /// `xxh3_64(key bytes)`): partition `p` holds the entries of its keys and the context
    /// minus the dots of the other partitions' entries. Each part is a valid state; joining
    /// all parts gives back this state, and joining part `p` of two states gives part `p`
    /// of their join — so partitions of replicas can be merged independently (on other
    /// machines) and the results joined or kept apart.
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut m: MVMap<u64, u64> = MVMap::new("a");
    /// m.set_many(&(0..100).collect::<Vec<_>>(), &[7; 100]).unwrap();
    /// m.remove(&5);
    /// let parts = m.store().partition(4);
    /// assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), 99);
    /// let mut back = pluriverse::CausalStore::new();
    /// for p in &parts {
    ///     back.join(p);
    /// }
    /// assert_eq!(back.digest(), m.digest());
    /// ```
    pub fn partition(&self, parts: usize) -> Vec<Self> {
        let parts = parts.max(1);
        let m = self.merged_cow();
        let n_rep = self.ctx.table().len();
        let mut runs: Vec<Run<K, V>> = (0..parts).map(|_| Run::default()).collect();
        // per partition and replica, the dots of its entries; and of all entries
        let mut mine: Vec<Vec<RoaringTreemap>> = vec![vec![RoaringTreemap::new(); n_rep]; parts];
        let mut all: Vec<RoaringTreemap> = vec![RoaringTreemap::new(); n_rep];
        for i in 0..m.rows() {
            let p = Self::partition_of(m.hash[i], parts);
            let r = m.replica[i] as usize;
            runs[p].push_row(&m, i, m.replica[i]);
            mine[p][r].insert(m.counter[i]);
            all[r].insert(m.counter[i]);
        }
        // what every partition keeps: the context without any entry's dot
        let base: Vec<ReplicaDots> = self
            .ctx
            .dots()
            .replicas()
            .iter()
            .zip(&all)
            .map(|(d, a)| d.without(a))
            .collect();
        runs.into_iter()
            .zip(mine)
            .map(|(run, mine)| {
                let dots: Vec<ReplicaDots> = base
                    .iter()
                    .zip(mine)
                    .map(|(b, own)| {
                        let mut d = b.clone();
                        d.union_with(&ReplicaDots::from_parts(0, own));
                        d
                    })
                    .collect();
                let mut ctx = CausalContext::from_parts(
                    self.ctx.table().clone(),
                    DotContext::from_replicas(dots),
                );
                // records hold no entry: every part keeps them
                ctx.merge_retired(self.ctx.retired());
                Self {
                    ctx,
                    runs: if run.rows() > 0 {
                        vec![run.into()]
                    } else {
                        vec![]
                    },
                }
            })
            .collect()
    }
}
