//! The runs as an LSM: all live rows merged into one run (for reads, encodings and the full
//! join), compaction, and the upkeep after a join adds or deletes rows: runs merge
//! pairwise as they grow (a binary-counter LSM) and mostly dead runs are rewritten.

use std::borrow::Cow;
use std::sync::Arc;

use super::CausalStore;
use crate::context::CausalContext;
use crate::item::Item;
use crate::store::run::Run;

/// A new run is merged with the run before it while that one is at most this many times
/// larger: runs grow geometrically, so there are O(log n) of them and each entry is copied
/// O(log n) times (a binary-counter LSM).
const RUN_RATIO: usize = 4;
/// A run is rewritten without its deleted rows when more than 1/DEAD_FRACTION is dead.
const DEAD_FRACTION: u64 = 4;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// All live rows as one sorted run: borrowed when the store already is one clean run.
    pub(crate) fn merged_cow(&self) -> Cow<'_, Run<K, V>> {
        match self.runs.as_slice() {
            [only] if only.deleted.is_empty() => Cow::Borrowed(&**only),
            _ => Cow::Owned(self.merged()),
        }
    }

    /// All live rows merged into one sorted run: two-way merges from the smallest run up
    /// (runs shrink geometrically, so each row is copied about once or twice).
    pub(crate) fn merged(&self) -> Run<K, V> {
        let mut live: Vec<&Run<K, V>> = self
            .runs
            .iter()
            .map(|r| &**r)
            .filter(|r| r.live() > 0)
            .collect();
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

    /// All live rows of `runs` as one sorted run, as [`Self::merged`], but built in the
    /// largest run's own columns where nothing else (a clone, a delta) shares it: the
    /// others are merged, then merged into it in place ([`Run::merge_live_into`]), so the
    /// largest is not copied and its old columns are not held beside the merged ones.
    pub(crate) fn into_merged(mut runs: Vec<Arc<Run<K, V>>>) -> Run<K, V> {
        let Some(big) = (0..runs.len()).max_by_key(|&i| runs[i].rows()) else {
            return Run::default();
        };
        match Arc::try_unwrap(runs.swap_remove(big)) {
            Ok(big) => {
                let rest = Self {
                    ctx: CausalContext::new(),
                    runs,
                };
                Run::merge_live_into(big, &rest.merged_cow())
            }
            Err(shared) => {
                runs.push(shared);
                Self {
                    ctx: CausalContext::new(),
                    runs,
                }
                .merged()
            }
        }
    }

    /// Replaces all runs with one merged run.
    pub fn compact_runs(&mut self) {
        if self.runs.len() > 1 || self.runs.first().is_some_and(|r| r.live() < r.rows()) {
            let m = Self::into_merged(std::mem::take(&mut self.runs));
            self.runs = if m.rows() > 0 { vec![m.into()] } else { vec![] };
        }
    }

    /// Merges the last run with the one before while that one is at most `RUN_RATIO` times
    /// larger (binary-counter LSM).
    pub(super) fn settle(&mut self) {
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            let (prev, last) = (&self.runs[n - 2], &self.runs[n - 1]);
            if prev.live() > RUN_RATIO * last.live() {
                break;
            }
            let last = self.runs.pop().unwrap_or_default();
            let prev = self.runs.pop().unwrap_or_default();
            // a copy: faster than merging in place (a write's peak is not the join's)
            self.runs.push(Run::merge_live(&prev, &last).into());
        }
    }

    /// Adds `run` (sorted, its dots new to this store) as a run of this store, then
    /// [`Self::settle`]s. Shared, so that a write's delta and its state hold one copy of
    /// the rows: when the run would be merged into the last one straight away, the merge
    /// reads it where it is; otherwise the store holds it as it is.
    pub(super) fn add_run(&mut self, run: &std::sync::Arc<Run<K, V>>) {
        if run.live() == 0 {
            return;
        }
        match self.runs.pop() {
            Some(prev) if prev.live() <= RUN_RATIO * run.live() => {
                self.runs.push(Run::merge_live(&prev, run).into());
            }
            prev => {
                self.runs.extend(prev);
                self.runs.push(run.clone());
            }
        }
        self.settle();
    }

    /// Rewrites runs that are mostly dead, and drops empty ones.
    pub(super) fn drop_dead_runs(&mut self) {
        for run in &mut self.runs {
            if run.deleted.len() * DEAD_FRACTION > run.rows() as u64 {
                let mut clean = Run::with_capacity(run.live());
                clean.extend_live(run, 0..run.rows());
                *run = clean.into();
            }
        }
        self.runs.retain(|r| r.rows() > 0);
        self.runs.sort_by_key(|r| std::cmp::Reverse(r.live()));
    }
}
