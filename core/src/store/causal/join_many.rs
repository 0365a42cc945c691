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
            .flat_map(|(p, map)| p.runs.iter().map(move |r| (r, map.as_slice())))
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
            runs: if run.rows() > 0 { vec![run] } else { vec![] },
        })
    }
}
