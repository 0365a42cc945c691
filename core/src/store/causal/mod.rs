//! The causal dot store: entries `(key, dot, value)` in sorted runs, and one causal context.
//! All four record kinds (`MVMap`, `AWSet`, `PNCounterMap`, `LWWMap`) are thin layers over it.
//!
//! This file holds the type and its reads; each job on it has its own file:
//!
//! | file | what it holds |
//! |---|---|
//! | `join.rs` | the join's entry points (`join`, `try_join`, `join_checked`) and the choice of algorithm |
//! | `join_full.rs` | the full join: plan the merge of both sides from hashes and dots (hash-range partitions in parallel), then interleave the columns |
//! | `join_incremental.rs` | the incremental join of a small delta: look up only the dots both contexts hold, insert the few new rows, settle the LSM |
//! | `join_many.rs` | the join of many deltas at once: disjoint ones (the slices of a stream) by one sort of their rows; `JoinBatch`, small deltas gathered as they come and sorted once |
//! | `delta.rs` | `delta_since`: what a peer with a given context needs |
//! | `write.rs` | local writes: reserve dots, what a writer saw of its keys, build and join the delta |
//! | `digest.rs` | the type description, entry, context and state digests, bucket and key digests |
//! | `diff.rs` | where two states differ: bucket digests, then a sorted merge of the differing buckets' keys |
//! | `partition.rs` | splitting a state by key hash into valid sub-states |
//! | `lsm.rs` | the runs as an LSM: merging them all (reads, compaction), settling after a write (binary counter), dropping dead rows |
//! | `check.rs` | `check_invariants`, the store's internal validation |
//! | `arrow.rs` | the bridge to the Arrow wire format (`to_bytes`, `from_bytes`, compact, record batches) |

mod arrow;
mod check;
mod delta;
mod diff;
mod digest;
mod join;
mod join_full;
mod join_incremental;
mod join_many;
mod lsm;
mod partition;
mod write;

use std::borrow::Cow;

use super::run::{self, Run};
use crate::context::CausalContext;
use crate::item::{Item, ItemCol};

pub use diff::StoreDiff;
pub use join::JoinPath;
pub use join_many::JoinBatch;

/// Entries `(key, dot, value)` plus the causal context they live in.
///
/// The join keeps an entry when its dot is in both stores, or in one store and not in the
/// other's context (Almeida, Shoker, Baquero 2018): a dot the other side has seen but does
/// not hold was removed there.
#[derive(Clone, Debug)]
pub struct CausalStore<K: Item, V: Item> {
    pub(crate) ctx: CausalContext,
    /// Sorted runs, largest first, each shared with the stores and deltas cloned from or
    /// built beside this one (a write's delta holds the run the state added; a clone of a
    /// store copies no rows) and copied on the first change while shared
    /// ([`std::sync::Arc::make_mut`]).
    pub(crate) runs: Vec<std::sync::Arc<Run<K, V>>>,
}

impl<K: Item, V: Item> Default for CausalStore<K, V> {
    fn default() -> Self {
        Self {
            ctx: CausalContext::new(),
            runs: Vec::new(),
        }
    }
}

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy that shares no run with this store. A [`Clone`] shares the runs (no rows are
    /// copied) and copies a run on the first change of it while the other side still holds
    /// it, so the copy's cost falls on that change (a join, a write that overwrites, a
    /// remove); `detached` pays it now, for a caller that wants the change itself to cost
    /// what it always does (the benches take their inputs so).
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut m: MVMap<u64, u64> = MVMap::new("a");
    /// m.set_many(&[1, 2, 3], &[10, 20, 30]).unwrap();
    /// let copy = m.store().detached();
    /// assert_eq!(copy.len(), 3);
    /// m.remove(&2);
    /// assert_eq!((m.store().len(), copy.len()), (2, 3));
    /// ```
    pub fn detached(&self) -> Self {
        Self {
            ctx: self.ctx.clone(),
            runs: self
                .runs
                .iter()
                .map(|r| std::sync::Arc::new(Run::clone(r)))
                .collect(),
        }
    }

    /// The causal context.
    pub fn context(&self) -> &CausalContext {
        &self.ctx
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.runs.iter().map(|r| r.live()).sum()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of sorted runs (the LSM depth; a fully merged store has one).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Approximate heap bytes held by the entries (not the context). Runs shared with a
    /// clone or a delta ([`CausalStore::detached`]) count in each of them.
    pub fn heap_bytes(&self) -> usize {
        self.runs.iter().map(|r| r.heap_bytes()).sum()
    }

    /// Every live entry as `(key, replica, counter, value)`, in the store's order.
    pub fn entries(&self) -> Vec<(K, crate::ReplicaId, u64, V)> {
        let m = self.merged();
        let names = self.ctx.table().names();
        (0..m.rows())
            .map(|i| {
                (
                    m.keys.get(i),
                    names[m.replica[i] as usize].clone(),
                    m.counter[i],
                    m.values.get(i),
                )
            })
            .collect()
    }

    /// Holds as retired records ([`crate::retired`]) the rows of the context that can be
    /// and that no live entry uses, except `keep` (the replica this state writes as, whose
    /// next write would turn its record back into a row); returns how many were retired.
    /// The state does not change (equal digests and bytes, equal joins): only how its
    /// context is held, which after many restarts of one replica is O(live writers) rows
    /// instead of one per incarnation. Costs O(entries) when something is retired (the
    /// runs are merged and their replica column renumbered), O(entries) to find nothing.
    ///
    /// # Example
    /// ```
    /// use pluriverse::retired::incarnation_name;
    /// use pluriverse::MVMap;
    /// let mut m: MVMap<u64, u64> = MVMap::new(incarnation_name(b"p", 1));
    /// m.set(1, 1).unwrap();
    /// let mut later: MVMap<u64, u64> = MVMap::from_store(incarnation_name(b"p", 2), m.store().clone());
    /// later.set(1, 2).unwrap(); // overwrites p#1's only entry
    /// let before = later.digest();
    /// let mut store = later.store().clone();
    /// assert_eq!(store.retire_idle(Some(later.replica())), 1);
    /// assert_eq!((store.context().table().len(), store.context().retired().len()), (1, 1));
    /// assert_eq!(store.digest(), before);
    /// ```
    pub fn retire_idle(&mut self, keep: Option<&crate::ReplicaId>) -> usize {
        let mut used = vec![false; self.ctx.table().len()];
        for run in &self.runs {
            for (i, &r) in run.replica.iter().enumerate() {
                if run.is_live(i) {
                    used[r as usize] = true;
                }
            }
        }
        let can = |i: u32, name: &crate::ReplicaId| {
            !used[i as usize]
                && keep != Some(name)
                && crate::retired::incarnation_parts(name).is_some()
        };
        let any = self
            .ctx
            .table()
            .names()
            .iter()
            .zip(self.ctx.dots().replicas())
            .enumerate()
            .any(|(i, (n, d))| d.is_compact() && d.prefix() > 0 && can(i as u32, n));
        if !any {
            return 0;
        }
        let before = self.ctx.retired().len();
        // dead rows may name retired rows: merge them away before renumbering
        let merged = self.merged();
        let Some(map) = self.ctx.retire_where(can) else {
            return 0;
        };
        let mut run = run::Run::with_capacity(merged.rows());
        for i in 0..merged.rows() {
            run.push_row(&merged, i, map[merged.replica[i] as usize]);
        }
        // the map keeps the order of the indices, so the run stays sorted
        self.runs = if run.rows() > 0 {
            vec![run.into()]
        } else {
            vec![]
        };
        self.ctx.retired().len() - before
    }

    /// Before a join with `other`: our records named by `other`'s rows become rows here,
    /// and `other` is returned with its records named by our rows made rows (a copy, only
    /// when there is one), so that every kernel asking "has the other side seen this dot"
    /// finds it in the replica table. (The records left on both sides name no row of the
    /// other: the join merges them afterwards, `CausalContext::merge_retired`.)
    pub(crate) fn promote_for_join<'a>(&mut self, other: &'a Self) -> Cow<'a, Self> {
        if !self.ctx.retired().is_empty() {
            let names = other.ctx.table().names();
            for (n, d) in names.iter().zip(other.ctx.dots().replicas()) {
                if !d.is_empty() {
                    self.ctx.promote(n);
                }
            }
        }
        if other.ctx.retired().is_empty() {
            return Cow::Borrowed(other);
        }
        let names = self.ctx.table().names();
        let wanted: Vec<&crate::ReplicaId> = names
            .iter()
            .zip(self.ctx.dots().replicas())
            .filter(|(n, d)| !d.is_empty() && other.ctx.retired().prefix(n) > 0)
            .map(|(n, _)| n)
            .collect();
        if wanted.is_empty() {
            return Cow::Borrowed(other);
        }
        let mut copy = other.clone();
        for n in wanted {
            copy.ctx.promote(n);
        }
        Cow::Owned(copy)
    }

    /// The live entries of `key`: `(replica index, counter, value)`.
    pub(crate) fn entries_of(&self, key: &K) -> Vec<(u32, u64, V)> {
        let h = key.hash64();
        let mut out = vec![];
        for run in &self.runs {
            for i in run.key_range(h, key) {
                if run.is_live(i) {
                    out.push((run.replica[i], run.counter[i], run.values.get(i)));
                }
            }
        }
        out
    }
}
