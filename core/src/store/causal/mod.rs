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
//! | `delta.rs` | `delta_since`: what a peer with a given context needs |
//! | `write.rs` | local writes: reserve dots, what a writer saw of its keys, build and join the delta |
//! | `digest.rs` | the type description, entry, context and state digests, bucket and key digests |
//! | `diff.rs` | where two states differ: bucket digests, then a sorted merge of the differing buckets' keys |
//! | `partition.rs` | splitting a state by key hash into valid sub-states |
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
mod partition;
mod write;

use std::borrow::Cow;

use super::run::Run;
use crate::context::CausalContext;
use crate::item::{Item, ItemCol};

pub use diff::StoreDiff;
pub use join::JoinPath;

/// Entries `(key, dot, value)` plus the causal context they live in.
///
/// The join keeps an entry when its dot is in both stores, or in one store and not in the
/// other's context (Almeida, Shoker, Baquero 2018): a dot the other side has seen but does
/// not hold was removed there.
#[derive(Clone, Debug)]
pub struct CausalStore<K: Item, V: Item> {
    pub(crate) ctx: CausalContext,
    /// Sorted runs, largest first.
    pub(crate) runs: Vec<Run<K, V>>,
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

    /// The causal context.
    pub fn context(&self) -> &CausalContext {
        &self.ctx
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.runs.iter().map(Run::live).sum()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of sorted runs (the LSM depth; a fully merged store has one).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Approximate heap bytes held by the entries (not the context).
    pub fn heap_bytes(&self) -> usize {
        self.runs.iter().map(Run::heap_bytes).sum()
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

    /// All live rows as one sorted run: borrowed when the store already is one clean run.
    pub(crate) fn merged_cow(&self) -> Cow<'_, Run<K, V>> {
        match self.runs.as_slice() {
            [only] if only.deleted.is_empty() => Cow::Borrowed(only),
            _ => Cow::Owned(self.merged()),
        }
    }

    /// All live rows merged into one sorted run: two-way merges from the smallest run up
    /// (runs shrink geometrically, so each row is copied about once or twice).
    pub(crate) fn merged(&self) -> Run<K, V> {
        let mut live: Vec<&Run<K, V>> = self.runs.iter().filter(|r| r.live() > 0).collect();
        live.sort_by_key(|r| std::cmp::Reverse(r.live()));
        match live.as_slice() {
            [] => Run::default(),
            [only] => {
                let mut out = Run::with_capacity(only.live());
                out.extend_live(only, 0..only.rows());
                out
            }
            [rest @ .., a, b] => {
                let mut acc = Run::merge_live(a, b);
                for r in rest.iter().rev() {
                    acc = Run::merge_live(r, &acc);
                }
                acc
            }
        }
    }

    /// Replaces all runs with one merged run.
    pub fn compact_runs(&mut self) {
        if self.runs.len() > 1 || self.runs.first().is_some_and(|r| r.live() < r.rows()) {
            let m = self.merged();
            self.runs = if m.rows() > 0 { vec![m] } else { vec![] };
        }
    }
}
