//! Joining many deltas at once: the slices of a stream that arrive together.
//!
//! Deltas whose contexts are disjoint (per replica, their counter intervals do not
//! overlap: the slices of a dot-range stream, say) cannot remove each other's entries, so
//! their join is the union of their entries and contexts: one sort of all their rows by
//! the run order, one pass that copies them, no join per delta and no growing
//! intermediate store. Other deltas are joined one by one.

use std::cmp::Ordering;

use pluriverse_kernels::dots::DotContext;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::{Item, ItemCol};
use crate::replica::ReplicaTable;
use crate::store::run::Run;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The join of `parts`: what joining them one by one into an empty store with
    /// [`Self::try_join`] gives. When their contexts are disjoint (per replica, no two
    /// parts' counter intervals overlap, as for the slices of a stream) it is built by one
    /// sort of their rows, in O(rows log rows), however many parts there are.
    ///
    /// # Errors
    /// [`crate::Error::Equivocation`] when two overlapping parts bind a dot to different
    /// contents (disjoint parts share no dot, so they cannot).
    ///
    /// # Example
    /// ```
    /// use pluriverse::{CausalStore, MVMap};
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..100).collect::<Vec<_>>(), &[1; 100]).unwrap();
    /// let me = "a".into();
    /// let parts: Vec<CausalStore<u64, u64>> = a.store().split_range(&me, 1, u64::MAX, 10)
    ///     .into_iter()
    ///     .map(|(lo, hi)| a.store().slice(&me, lo, hi))
    ///     .collect();
    /// let all = CausalStore::try_join_all(&parts.iter().collect::<Vec<_>>()).unwrap();
    /// assert_eq!(all.digest(), a.store().digest());
    /// ```
    pub fn try_join_all(parts: &[&Self]) -> crate::Result<Self> {
        if let Some(u) = Self::union_disjoint(parts) {
            return Ok(u);
        }
        let mut out = Self::new();
        for p in parts {
            out.try_join(p)?;
        }
        Ok(out)
    }

    /// The union of `parts` when their contexts are pairwise disjoint per replica (by
    /// counter intervals); `None` otherwise.
    fn union_disjoint(parts: &[&Self]) -> Option<Self> {
        if parts.iter().any(|p| !p.ctx.retired().is_empty()) {
            return None; // records take the joins one by one
        }
        let mut table = ReplicaTable::default();
        let maps: Vec<Vec<u32>> = parts.iter().map(|p| table.absorb(p.ctx.table())).collect();
        // every part's interval of each replica, in the common indices
        let mut spans: Vec<(u32, u64, u64)> = Vec::new();
        for (p, map) in parts.iter().zip(&maps) {
            for (r, d) in p.ctx.dots().replicas().iter().enumerate() {
                if d.is_empty() {
                    continue;
                }
                let first = if d.prefix() > 0 {
                    1
                } else {
                    d.cloud().min().unwrap_or(1)
                };
                spans.push((map[r], first, d.max()));
            }
        }
        spans.sort_unstable();
        if spans
            .windows(2)
            .any(|w| w[0].0 == w[1].0 && w[1].1 <= w[0].2)
        {
            return None;
        }
        let mut dots = DotContext::new();
        for (p, map) in parts.iter().zip(&maps) {
            for (r, d) in p.ctx.dots().replicas().iter().enumerate() {
                if !d.is_empty() {
                    dots.replica_mut(map[r]).union_with(d);
                }
            }
        }
        // every live row of every part, sorted by the run order (hash first: most
        // comparisons end there)
        let runs: Vec<(&Run<K, V>, &[u32])> = parts
            .iter()
            .zip(&maps)
            .flat_map(|(p, map)| p.runs.iter().map(move |r| (&**r, map.as_slice())))
            .collect();
        let mut rows: Vec<(u64, u32, u32)> =
            Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for (i, (run, _)) in runs.iter().enumerate() {
            for row in 0..run.rows() {
                if run.is_live(row) {
                    rows.push((run.hash[row], i as u32, row as u32));
                }
            }
        }
        let cmp = |a: &(u64, u32, u32), b: &(u64, u32, u32)| -> Ordering {
            a.0.cmp(&b.0).then_with(|| {
                let ((ra, ma), (rb, mb)) = (runs[a.1 as usize], runs[b.1 as usize]);
                let (i, j) = (a.2 as usize, b.2 as usize);
                ra.keys
                    .cmp_at(i, &rb.keys, j)
                    .then_with(|| ma[ra.replica[i] as usize].cmp(&mb[rb.replica[j] as usize]))
                    .then_with(|| ra.counter[i].cmp(&rb.counter[j]))
            })
        };
        rows.sort_unstable_by(cmp);
        let mut run = Run::with_capacity(rows.len());
        for &(_, i, row) in &rows {
            let (src, map) = runs[i as usize];
            let row = row as usize;
            run.push_row(src, row, map[src.replica[row] as usize]);
        }
        Some(Self {
            ctx: CausalContext::from_parts(table, dots),
            runs: if run.rows() > 0 {
                vec![run.into()]
            } else {
                vec![]
            },
        })
    }
}

/// The most cloud counters of one replica a delta may carry to be gathered by a
/// [`JoinBatch`] (a larger one is joined the usual way).
const BATCH_CLOUD: u64 = 64;

/// Small deltas gathered for one join: a burst of local writes pushed to a peer, say.
///
/// A delta is taken while every dot of its context lies above every dot gathered so far
/// of the same replica (as the one-record deltas of a writer do, in order): such deltas
/// have pairwise disjoint contexts, so none can remove another's entries and their join
/// is the union of their rows and contexts. Adding one copies its rows and context
/// counters (no join, no sort, no allocation once the buffers have grown);
/// [`JoinBatch::finish`] sorts the rows once. The result is what joining the deltas one by
/// one with [`CausalStore::join`] gives.
///
/// # Example
/// ```
/// use pluriverse::{CausalStore, JoinBatch, MVMap};
/// let mut a: MVMap<u64, u64> = MVMap::new("a");
/// let (mut one_by_one, mut batched) = (CausalStore::new(), CausalStore::new());
/// let mut batch = JoinBatch::new();
/// for i in 0..100 {
///     let d = a.set(i % 7, i).unwrap();
///     one_by_one.join(&d);
///     if !batch.add(&d) {
///         // it overwrites a gathered entry: fold the batch in, then join it as usual
///         batched.join(&batch.finish());
///         batched.join(&d);
///     }
/// }
/// batched.join(&batch.finish());
/// assert_eq!(batched.digest(), one_by_one.digest());
/// assert_eq!(batched.digest(), a.store().digest());
/// ```
#[derive(Debug, Clone, Default)]
pub struct JoinBatch<K: Item, V: Item> {
    table: ReplicaTable,
    /// Per replica index: the prefix, the cloud counters (ascending), the highest counter.
    dots: Vec<(u64, Vec<u64>, u64)>,
    /// The gathered rows, unsorted.
    run: Run<K, V>,
    /// Scratch: a delta's replica indices in ours.
    map: Vec<u32>,
    parts: usize,
}

impl<K: Item, V: Item> JoinBatch<K, V> {
    /// The empty batch.
    pub fn new() -> Self {
        Self {
            table: ReplicaTable::default(),
            dots: Vec::new(),
            run: Run::default(),
            map: Vec::new(),
            parts: 0,
        }
    }

    /// Deltas gathered.
    pub fn len(&self) -> usize {
        self.parts
    }

    /// Whether nothing is gathered.
    pub fn is_empty(&self) -> bool {
        self.parts == 0
    }

    /// Rows gathered.
    pub fn rows(&self) -> usize {
        self.run.rows()
    }

    /// Gathers `delta` when each dot of its context lies above every gathered dot of its
    /// replica (its context holds at most 64 counters beyond a prefix per replica and no
    /// retired records);
    /// returns whether it did. Nothing changes when it returns false: join the batch
    /// ([`Self::finish`]) and the delta the usual way.
    pub fn add(&mut self, delta: &CausalStore<K, V>) -> bool {
        if !delta.ctx.retired().is_empty() {
            return false; // a record's knowledge goes through the join
        }
        let names = delta.ctx.table().names();
        let table = &self.table;
        let ours = |name: &crate::ReplicaId| {
            if table.len() <= 8 {
                table.names().iter().position(|n| n == name)
            } else {
                table.get(name).map(|i| i as usize)
            }
        };
        for (r, d) in delta.ctx.dots().replicas().iter().enumerate() {
            if d.is_empty() {
                continue;
            }
            if d.cloud().len() > BATCH_CLOUD {
                return false;
            }
            let first = if d.prefix() > 0 {
                1
            } else {
                d.cloud().min().unwrap_or(1)
            };
            let top = names
                .get(r)
                .and_then(ours)
                .map_or(0, |i| self.dots.get(i).map_or(0, |e| e.2));
            if first <= top {
                return false;
            }
        }
        self.map.clear();
        for name in names {
            self.map.push(self.table.intern(name));
        }
        for (r, d) in delta.ctx.dots().replicas().iter().enumerate() {
            if d.is_empty() {
                continue;
            }
            let i = self.map[r] as usize;
            if self.dots.len() <= i {
                self.dots.resize_with(i + 1, Default::default);
            }
            let e = &mut self.dots[i];
            if d.prefix() > 0 {
                // nothing of this replica was gathered (its first dot would be 1)
                e.0 = d.prefix();
            }
            e.1.extend(d.cloud().iter());
            e.2 = d.max();
        }
        for run in &delta.runs {
            for row in 0..run.rows() {
                if run.is_live(row) {
                    self.run
                        .push_row(run, row, self.map[run.replica[row] as usize]);
                }
            }
        }
        self.parts += 1;
        true
    }

    /// The join of the gathered deltas (their rows sorted once); the batch is empty
    /// afterwards.
    pub fn finish(&mut self) -> CausalStore<K, V> {
        let mut dots = DotContext::new();
        for (i, (prefix, cloud, _)) in self.dots.iter_mut().enumerate() {
            if *prefix == 0 && cloud.is_empty() {
                continue;
            }
            let set = roaring::RoaringTreemap::from_sorted_iter(cloud.iter().copied())
                .unwrap_or_else(|_| cloud.iter().copied().collect());
            *dots.replica_mut(i as u32) =
                pluriverse_kernels::dots::ReplicaDots::from_parts(*prefix, set);
            *prefix = 0;
            cloud.clear();
        }
        self.dots.iter_mut().for_each(|e| e.2 = 0);
        // the indices are the table's, which goes with the result
        let mut run = std::mem::take(&mut self.run);
        run.sort();
        self.parts = 0;
        CausalStore {
            ctx: CausalContext::from_parts(std::mem::take(&mut self.table), dots),
            runs: if run.rows() > 0 {
                vec![run.into()]
            } else {
                vec![]
            },
        }
    }
}
