//! The incremental join of a small delta: only the dots of its context that ours also holds
//! are looked up (by the delta's keys first, then by dot), and its few new rows go straight
//! into the smallest run; the runs then settle (`lsm.rs`).

use super::CausalStore;
use crate::item::{Item, ItemCol};
use crate::store::run::is_monotonic;
use crate::store::run::{Run, SCAN_ROWS};

/// New rows go into the smallest run in place while it holds at most this many rows.
const TAIL_ROWS: usize = 256;
/// Deltas of at most this many entries look our entries up by their keys first.
const KEY_PROBE_ROWS: usize = 64;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The incremental join: costs what `other` carries (plus a lookup per dot of its
    /// context that we have seen), not what this store holds. Works in `other`'s replica
    /// indices through `map`, so a small delta is neither copied nor re-indexed.
    ///
    /// With `CHECK`, each of our rows whose dot they hold too is compared with their row
    /// (key and value), and a difference refuses the join before anything changes.
    pub(super) fn join_incremental<const CHECK: bool>(
        &mut self,
        other: &Self,
        map: &[u32],
    ) -> Result<(), (u32, u64)> {
        let src = other.merged_cow();
        // Their entries' dots in our indices, sorted, with their rows: "held there too"
        // versus "removed there". Built only when one of our dots is in their context.
        let mut held: Option<Vec<(u32, u64, usize)>> = None;
        let mut held_there = |r: u32, c: u64| -> Option<usize> {
            let v = held.get_or_insert_with(|| {
                let mut v: Vec<(u32, u64, usize)> = (0..src.rows())
                    .map(|j| (map[src.replica[j] as usize], src.counter[j], j))
                    .collect();
                v.sort_unstable();
                v
            });
            v.binary_search_by(|e| (e.0, e.1).cmp(&(r, c)))
                .ok()
                .map(|p| v[p].2)
        };
        // the smallest dot found bound to two contents
        let mut conflict: Option<(u32, u64)> = None;
        let mut settle_row =
            |run: &Run<K, V>, row: u32, r: u32, c: u64, dead: &mut Vec<u32>| match held_there(r, c)
            {
                None => dead.push(row),
                Some(j) => {
                    if CHECK
                        && !same_content(run, row as usize, &src, j)
                        && conflict.is_none_or(|m| (r, c) < m)
                    {
                        conflict = Some((r, c));
                    }
                }
            };
        // 1. Our entries whose dot they have seen but do not hold: removed. Only dots of
        //    their context that our context also holds can name one of our entries.
        // rows to delete, per run (allocated when there is anything to look up)
        let mut dead: Vec<Vec<u32>> = Vec::new();
        let (mut seen, mut rest, mut found) = (Vec::new(), Vec::new(), Vec::new());
        for (tr, d) in other.ctx.dots().replicas().iter().enumerate() {
            let r = map[tr];
            let Some(ours) = self.ctx.dots().get(r) else {
                continue;
            };
            if ours.is_empty() {
                continue;
            }
            if dead.is_empty() {
                dead.resize(self.runs.len(), Vec::new());
            }
            if d.prefix() > 0 && self.seen_any(r, d.prefix()) {
                for (run, dead) in self.runs.iter().zip(&mut dead) {
                    run.for_dots_in(r, 1, d.prefix(), |row| {
                        settle_row(run, row, r, run.counter[row as usize], dead);
                    });
                }
            }
            // their cloud, restricted to what we have seen, against our rows of replica
            // `r` in its span: one range query per run, then a galloping merge (both sides
            // ascend), not a query per dot
            seen.clear();
            seen.extend(d.cloud().iter().filter(|&c| ours.contains(c)));
            let (Some(&lo), Some(&hi)) = (seen.first(), seen.last()) else {
                continue;
            };
            // Short runs are scanned; in long ones the entries of the delta's own keys are
            // looked up first (a set overwrites what its writer saw of the same key), and
            // only dots found neither way need the long runs' dot index.
            found.clear();
            found.resize(seen.len(), false);
            let mut resolve = |run: &Run<K, V>, row: u32, c: u64, dead: &mut Vec<u32>| {
                if let Ok(p) = seen.binary_search(&c) {
                    found[p] = true;
                    settle_row(run, row, r, c, dead);
                }
            };
            for (run, dead) in self.runs.iter().zip(&mut dead) {
                if run.rows() <= SCAN_ROWS {
                    run.for_dots_in(r, lo, hi, |row| {
                        resolve(run, row, run.counter[row as usize], dead);
                    });
                } else if src.rows() <= KEY_PROBE_ROWS {
                    for j in 0..src.rows() {
                        for i in run.rows_of_key(&src, j) {
                            if run.replica[i] == r {
                                resolve(run, i as u32, run.counter[i], dead);
                            }
                        }
                    }
                }
            }
            rest.clear();
            rest.extend(seen.iter().zip(&found).filter(|f| !*f.1).map(|f| *f.0));
            let (Some(&lo), Some(&hi)) = (rest.first(), rest.last()) else {
                continue;
            };
            for (run, dead) in self.runs.iter().zip(&mut dead) {
                if run.rows() <= SCAN_ROWS {
                    continue;
                }
                let span = run.dot_range(r, lo, hi);
                if span.is_empty() {
                    continue;
                }
                let ids = run.by_dot();
                let counter_at = |p: usize| run.counter[ids[p] as usize];
                let mut pos = span.start;
                for &c in &rest {
                    pos = gallop(pos, span.end, |p| counter_at(p) < c);
                    if pos == span.end {
                        break;
                    }
                    if counter_at(pos) == c {
                        settle_row(run, ids[pos], r, c, dead);
                    }
                }
            }
        }
        if let Some(dot) = conflict {
            return Err(dot);
        }
        let mut any_dead = false;
        for (run, dead) in self.runs.iter_mut().zip(dead) {
            any_dead |= !dead.is_empty();
            if !dead.is_empty() {
                let run = std::sync::Arc::make_mut(run);
                for row in dead {
                    run.deleted.insert(row);
                }
            }
        }
        if any_dead {
            self.drop_dead_runs();
        }
        // 2. Their entries we have not seen: new here. A few go straight into the smallest
        //    run while it stays short (a stream of one-record deltas allocates no run per
        //    record); more become a new run.
        let ours = self.ctx.dots();
        let unseen = |j: usize| !ours.contains(map[src.replica[j] as usize], src.counter[j]);
        let tail_room = self
            .runs
            .last()
            .is_some_and(|t| t.rows() + src.rows() <= TAIL_ROWS);
        let mut added = false;
        if tail_room {
            let new: Vec<usize> = (0..src.rows()).filter(|&j| unseen(j)).collect();
            if let Some(tail) = self.runs.last_mut().filter(|_| !new.is_empty()) {
                // short: a copy, where a clone or a delta shares it, is cheap
                let tail = std::sync::Arc::make_mut(tail);
                for j in new {
                    tail.insert_row(&src, j, map[src.replica[j] as usize]);
                    added = true;
                }
            }
        } else {
            let mut fresh = Run::with_capacity(src.rows());
            for j in (0..src.rows()).filter(|&j| unseen(j)) {
                fresh.push_row(&src, j, map[src.replica[j] as usize]);
            }
            if fresh.rows() > 1 && !is_monotonic(map) {
                fresh.sort();
            }
            if fresh.rows() > 0 {
                self.runs.push(fresh.into());
                added = true;
            }
        }
        let dots = self.ctx.dots_mut();
        for (tr, d) in other.ctx.dots().replicas().iter().enumerate() {
            if !d.is_empty() {
                dots.replica_mut(map[tr]).union_with(d);
            }
        }
        if added {
            self.settle();
        }
        Ok(())
    }
}

/// Whether row `i` of `a` and row `j` of `b` (one dot) carry the same key and value.
fn same_content<K: Item, V: Item>(a: &Run<K, V>, i: usize, b: &Run<K, V>, j: usize) -> bool {
    a.hash[i] == b.hash[j]
        && a.keys.cmp_at(i, &b.keys, j).is_eq()
        && a.values.cmp_at(i, &b.values, j).is_eq()
}

/// The first position in `from..end` where `before` turns false (`before` is true on a
/// prefix of the range): exponential steps from `from`, then bisection, so advancing by `k`
/// costs `O(log k)`.
fn gallop(from: usize, end: usize, before: impl Fn(usize) -> bool) -> usize {
    if from >= end || !before(from) {
        return from;
    }
    // before(lo) holds; find hi with !before(hi) or hi == end
    let (mut lo, mut step) = (from, 1usize);
    let mut hi = loop {
        let probe = lo.saturating_add(step);
        if probe >= end {
            break end;
        }
        if !before(probe) {
            break probe;
        }
        lo = probe;
        step *= 2;
    };
    // invariant: before(lo), and hi == end or !before(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}
