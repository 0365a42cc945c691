//! Local writes: the one delta-writing primitive every mutator uses (reserve dots, find
//! what the writer holds of its keys, build the new run once, apply it and return the
//! delta).
//!
//! A local write needs no general join: its new dots are fresh (this store has not seen
//! them) and the dots it covers are those of rows this store holds, found by key. So the
//! rows it replaces are marked deleted where they are, the new run (already in store
//! order: batches arrive sorted by [`crate::kinds`]' radix sort) is added as one LSM run,
//! and the context gains one range of dots.

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::Item;
use crate::kinds::{BatchCells, BatchKeys, PREFETCH_AHEAD};
use crate::store::run::Run;

/// A run is walked alongside a sorted batch (rather than probed key by key) while it holds
/// at most this many rows per batch key.
const WALK_RATIO: usize = 8;

/// A live row of this store that holds a key of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    /// The key's position in the batch.
    pub at: usize,
    /// The run and the row in it.
    pub run: u32,
    pub row: u32,
}

impl<K: Item, V: Item> CausalStore<K, V> {
    /// Reserves the next `n >= 1` counters of `replica`: returns its index and the first.
    ///
    /// # Errors
    /// [`crate::Error::CounterOverflow`] when the last would exceed `u64::MAX`; nothing changes
    /// but the (harmless) interning of the name.
    fn reserve_dots(&mut self, replica: &crate::ReplicaId, n: u64) -> crate::Result<(u32, u64)> {
        let first = self.ctx.next_dot(replica)?.counter;
        first
            .checked_add(n.saturating_sub(1))
            .ok_or_else(|| crate::Error::CounterOverflow {
                replica: replica.to_string(),
            })?;
        Ok((self.ctx.intern_row(replica), first))
    }

    /// The live rows holding the keys of `batch` (`(hash, index into keys)`, sorted by
    /// `(hash, key)`, each key at most once), ordered by batch position. A run that is not
    /// much longer than the batch is walked alongside it; a longer one is probed per key.
    pub(crate) fn held_rows(
        &self,
        batch: &[(u64, usize)],
        keys: &(impl BatchKeys<K> + ?Sized),
    ) -> Vec<Held> {
        let mut out = Vec::new();
        for (ri, run) in self.runs.iter().enumerate() {
            let ri = ri as u32;
            let clean = run.deleted.is_empty();
            let mut hold = |at: usize, row: usize| {
                if clean || run.is_live(row) {
                    out.push(Held {
                        at,
                        run: ri,
                        row: row as u32,
                    });
                }
            };
            if run.rows() <= WALK_RATIO.saturating_mul(batch.len()) {
                let mut i = 0;
                for (at, &(h, k)) in batch.iter().enumerate() {
                    i = gallop(&run.hash, i, h);
                    let mut j = i;
                    while j < run.rows() && run.hash[j] == h {
                        if keys.cmp_in(&run.keys, j, k).is_eq() {
                            hold(at, j);
                        }
                        j += 1;
                    }
                }
            } else {
                for (at, &(h, k)) in batch.iter().enumerate() {
                    let range = run.hash_range(h);
                    for row in range {
                        if keys.cmp_in(&run.keys, row, k).is_eq() {
                            hold(at, row);
                        }
                    }
                }
            }
        }
        if self.runs.len() > 1 {
            out.sort_by_key(|h| h.at);
        }
        out
    }

    /// The dots of `held` rows, as a context.
    pub(crate) fn dots_of(&self, held: &[Held]) -> DotContext {
        let mut per: Vec<Vec<u64>> = vec![];
        for h in held {
            let run = &self.runs[h.run as usize];
            let r = run.replica[h.row as usize] as usize;
            if per.len() <= r {
                per.resize_with(r + 1, Vec::new);
            }
            per[r].push(run.counter[h.row as usize]);
        }
        let replicas = per
            .into_iter()
            .map(|mut c| {
                c.sort_unstable();
                let cloud = RoaringTreemap::from_sorted_iter(c.into_iter().filter(|&c| c > 0))
                    .unwrap_or_else(|_| unreachable!("the counters were just sorted"));
                ReplicaDots::from_parts(0, cloud)
            })
            .collect();
        DotContext::from_replicas(replicas)
    }

    /// The one local write every mutator makes: issues `replica` one new dot per row of
    /// `batch` (`(key hash, index into keys)`, sorted by `(hash, key)`, each key at most
    /// once; `cells` appends the cell of each row), replaces the `held` rows
    /// (live rows of this store, found by [`Self::held_rows`]), and returns the delta that
    /// says so: the new rows, and in its context their dots and those of the replaced rows.
    /// The new run's columns are built once, in order. With no rows and nothing held,
    /// nothing changes and the delta is empty.
    ///
    /// # Errors
    /// [`crate::Error::CounterOverflow`] when `replica` cannot issue `batch.len()` more
    /// dots; nothing changes.
    pub(crate) fn write_local(
        &mut self,
        replica: &crate::ReplicaId,
        batch: &[(u64, usize)],
        keys: &(impl BatchKeys<K> + ?Sized),
        cells: &impl BatchCells<V>,
        held: &[Held],
    ) -> crate::Result<Self> {
        if batch.is_empty() {
            return Ok(self.remove_held(held));
        }
        let n = batch.len() as u64;
        let (me, first) = self.reserve_dots(replica, n)?;
        let last = first + n - 1;
        let mut seen = self.dots_of(held);
        seen.insert_range(me, first, last)?;
        let mut run: Run<K, V> = Run::with_capacity(batch.len());
        run.hash.extend(batch.iter().map(|b| b.0));
        // keys and cells are read in hash order, at random: each one prefetched in two
        // steps (itself, then what it points to), ahead of its read
        for (pos, &(_, i)) in batch.iter().enumerate() {
            if let Some(&(_, far)) = batch.get(pos + 2 * PREFETCH_AHEAD) {
                keys.prefetch(far);
                cells.prefetch(far);
            }
            if let Some(&(_, near)) = batch.get(pos + PREFETCH_AHEAD) {
                keys.prefetch_data(near);
                cells.prefetch_data(near);
            }
            keys.push_to(&mut run.keys, i);
            cells.push_to(&mut run.values, pos, i);
        }
        run.replica.resize(batch.len(), me);
        run.counter.extend(first..=last);
        debug_assert!((1..run.rows()).all(|i| run.cmp_rows(i - 1, &run, i).is_lt()));
        self.delete_held(held);
        self.ctx.dots_mut().insert_range(me, first, last)?;
        // the delta and the state share the run (the state merges it into its last run, or
        // holds it as it is)
        let run = std::sync::Arc::new(run);
        self.add_run(&run);
        Ok(Self {
            ctx: CausalContext::from_parts(self.ctx.table().clone(), seen),
            runs: vec![run],
        })
    }

    /// [`CausalStore::write_local`] without rows (a remove): replaces the `held` rows with
    /// nothing, issues no dot, so it cannot fail.
    pub(crate) fn remove_held(&mut self, held: &[Held]) -> Self {
        if held.is_empty() {
            return Self::new();
        }
        let delta = Self {
            ctx: CausalContext::from_parts(self.ctx.table().clone(), self.dots_of(held)),
            runs: vec![],
        };
        self.delete_held(held);
        delta
    }

    /// Marks the `held` rows deleted (they are live) and rewrites runs that became mostly
    /// dead.
    fn delete_held(&mut self, held: &[Held]) {
        if held.is_empty() {
            return;
        }
        for h in held {
            std::sync::Arc::make_mut(&mut self.runs[h.run as usize])
                .deleted
                .insert(h.row);
        }
        self.drop_dead_runs();
    }

    /// Covers `seen` (dots of this store's entries, by its replica indices) with a delta
    /// that holds no entries: joined, it removes them. Issues no dot, so it cannot fail.
    pub(crate) fn remove_local(&mut self, seen: DotContext) -> Self {
        if seen.replicas().iter().all(|d| d.is_empty()) {
            return Self::new();
        }
        let delta = Self {
            ctx: CausalContext::from_parts(self.ctx.table().clone(), seen),
            runs: vec![],
        };
        self.join(&delta);
        delta
    }
}

/// The first position at or after `from` whose hash is not below `h` (`hash` ascends): an
/// exponential search from `from`, so a walk costs O(log gap) per step.
fn gallop(hash: &[u64], from: usize, h: u64) -> usize {
    let mut step = 1;
    let mut lo = from;
    while lo + step < hash.len() && hash[lo + step] < h {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(hash.len());
    if lo < hash.len() && hash[lo] >= h {
        return lo;
    }
    lo + hash[lo..hi].partition_point(|&x| x < h)
}
