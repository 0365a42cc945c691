//! Dot-range slices of a store: the unit of sync.
//!
//! A *dot range* is one replica's counters `lo..=hi`. The slice of a store over a dot range
//! is the sub-state whose context is the store's context within the range and whose entries
//! are the live entries whose dots fall in it. Such a slice is a valid state on its own (every
//! live entry whose dot its context holds is in it), it lies below the store in the join
//! order, and the slices over a partition of every replica's counters join back to the
//! store. So a store can be shipped as any number of independent, bounded slices: each one
//! joined alone is correct, a transfer cut half way keeps what arrived, and a slice that
//! arrives twice changes nothing.
//!
//! [`RangeSummary`] fingerprints a slice without building it: the dots seen (as maximal
//! runs) and the dots live in the range. Two stores with equal summaries for a range hold
//! the same slice there (up to hash collisions of 128 bits), whatever else they hold, so
//! two replicas can find where they differ by comparing summaries of ranges, splitting the
//! ranges that differ, and shipping slices only where they still differ.

use std::borrow::Cow;

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;
use xxhash_rust::xxh3::xxh3_128_with_seed;

use super::causal::CausalStore;
use super::run::Run;
use crate::context::CausalContext;
use crate::item::{Item, ItemCol};
use crate::replica::ReplicaId;

/// The index [`CausalStore::replica_view`] gives a retired record: no entry has it, so the
/// searches of the runs by dot find nothing.
const RECORD: u32 = u32::MAX;

/// The fingerprint of a store's slice over one dot range.
///
/// # Example
/// ```
/// use pluriverse::MVMap;
/// let mut a: MVMap<u64, u64> = MVMap::new("a");
/// a.set_many(&[1, 2, 3], &[10, 20, 30]).unwrap();
/// let mut b = a.clone();
/// let s = a.store().range_summary(&"a".into(), 1, u64::MAX);
/// assert_eq!((s.seen, s.live), (3, 3));
/// assert_eq!(s, b.store().range_summary(&"a".into(), 1, u64::MAX));
/// b.remove(&2);
/// // b has seen the same dots, but one is no longer live
/// assert_ne!(s, b.store().range_summary(&"a".into(), 1, u64::MAX));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct RangeSummary {
    /// Dots of the range in the context.
    pub seen: u64,
    /// Live entries whose dots are in the range.
    pub live: u64,
    /// Order-independent hash of the seen dots (by maximal runs) and the live dots.
    pub fingerprint: u128,
}

impl RangeSummary {
    /// Whether the range holds nothing (no dot seen).
    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }
}

/// What a store knows of one dot: never seen, seen and live, or seen and no longer live.
/// In that order each state knows more than the one before (a removal implies the write),
/// so of two stores' states of a dot the greater is the join's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DotState {
    /// Not in the context.
    Unseen,
    /// In the context, with a live entry.
    Live,
    /// In the context, with no live entry (written, then removed or overwritten).
    Dead,
}

const SEED_RUN: u64 = 0x7275_6e73;
const SEED_LIVE: u64 = 0x6c69_7665;

fn run_hash(first: u64, last: u64) -> u128 {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&first.to_le_bytes());
    b[8..].copy_from_slice(&last.to_le_bytes());
    xxh3_128_with_seed(&b, SEED_RUN)
}

pub(crate) fn live_hash(counter: u64) -> u128 {
    xxh3_128_with_seed(&counter.to_le_bytes(), SEED_LIVE)
}

/// The maximal runs `(first, last)` of `dots` clipped to `lo..=hi`, in order.
pub(crate) fn clipped_runs(dots: &ReplicaDots, lo: u64, hi: u64) -> Vec<(u64, u64)> {
    clipped_runs_limited(dots, lo, hi, usize::MAX)
}

/// [`clipped_runs`], stopping once `max` runs are complete (the last one returned may then
/// be cut short: only its start is exact).
fn clipped_runs_limited(dots: &ReplicaDots, lo: u64, hi: u64, max: usize) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    let lo = lo.max(1);
    if lo > hi {
        return runs;
    }
    if dots.prefix() >= lo {
        runs.push((lo, dots.prefix().min(hi)));
    }
    if dots.prefix() < hi {
        let mut it = dots.cloud().iter();
        it.advance_to(lo.max(dots.prefix().saturating_add(1)));
        for c in it {
            if c > hi {
                break;
            }
            if runs.len() > max {
                break;
            }
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == c => *last = c,
                _ => runs.push((c, c)),
            }
        }
    }
    runs
}

/// The live rows of `run` whose dots are replica `r`'s counters in `lo..=hi`, copied into
/// a run of their own in row order (`None` for none). The rows are chosen through the dot
/// index and the deletion bitmap alone (no row is read to choose it), sorted, and then
/// each column is gathered on its own: a dot range of a store in key-hash order picks rows
/// spread over the whole run, so every row read is a cache miss, and a loop over one
/// column issues those misses independently of each other (the processor overlaps them),
/// where a row at a time waited on five columns' misses in turn.
fn gather_in_range<K: Item, V: Item>(
    run: &Run<K, V>,
    r: u32,
    lo: u64,
    hi: u64,
) -> Option<Run<K, V>> {
    let ids = &run.by_dot()[run.dot_range(r, lo, hi)];
    let mut rows: Vec<u32> = if run.deleted.is_empty() {
        ids.to_vec()
    } else {
        ids.iter()
            .copied()
            .filter(|&row| run.is_live(row as usize))
            .collect()
    };
    if rows.is_empty() {
        return None;
    }
    rows.sort_unstable();
    let mut out: Run<K, V> = Run::default();
    out.hash = rows.iter().map(|&i| run.hash[i as usize]).collect();
    out.counter = rows.iter().map(|&i| run.counter[i as usize]).collect();
    out.replica = vec![r; rows.len()];
    out.keys.reserve(rows.len());
    for &i in &rows {
        out.keys.push_from(&run.keys, i as usize);
    }
    out.values.reserve(rows.len());
    for &i in &rows {
        out.values.push_from(&run.values, i as usize);
    }
    Some(out)
}

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The replicas with at least one dot in the context, by name.
    pub fn replicas_seen(&self) -> Vec<ReplicaId> {
        let names = self.ctx.table().names();
        self.ctx
            .dots()
            .replicas()
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_empty())
            .map(|(i, _)| names[i].clone())
            .chain(self.ctx.retired().iter().map(|(n, _)| n))
            .collect()
    }

    /// The row index and dots of `replica`; a retired record (which holds no entry) as
    /// [`RECORD`] and its prefix.
    fn replica_view(&self, replica: &ReplicaId) -> Option<(u32, Cow<'_, ReplicaDots>)> {
        if let Some(r) = self.ctx.table().get(replica) {
            if let Some(d) = self.ctx.dots().get(r).filter(|d| !d.is_empty()) {
                return Some((r, Cow::Borrowed(d)));
            }
        }
        let m = self.ctx.retired().prefix(replica);
        if m > 0 {
            return Some((RECORD, Cow::Owned(ReplicaDots::from_prefix(m))));
        }
        self.ctx
            .table()
            .get(replica)
            .and_then(|r| self.ctx.dots().get(r).map(|d| (r, Cow::Borrowed(d))))
    }

    /// The live rows `(run, row)` whose dots are `replica`'s counters in `lo..=hi`, with
    /// their counters.
    fn live_rows_in(&self, r: u32, lo: u64, hi: u64) -> Vec<(u64, usize, usize)> {
        let mut out = Vec::new();
        for (ri, run) in self.runs.iter().enumerate() {
            let ids = run.by_dot();
            for &row in &ids[run.dot_range(r, lo, hi)] {
                let row = row as usize;
                if run.is_live(row) {
                    out.push((run.counter[row], ri, row));
                }
            }
        }
        out
    }

    /// The fingerprint of the slice over `replica`'s counters `lo..=hi`; see
    /// [`RangeSummary`]. Costs the runs of the context in the range, and for the live
    /// entries O(log entries) per run of the store: each long run keeps sums of its dot
    /// index, built on first use and kept in step with the rows later joins delete, so a
    /// sync round's summaries cost what differs, not what the store holds.
    pub fn range_summary(&self, replica: &ReplicaId, lo: u64, hi: u64) -> RangeSummary {
        self.summary_with(replica, lo, hi, |r, lo, hi| {
            self.runs.iter().fold((0, 0), |(n, h), run| {
                let (m, g) = run.live_sum(r, lo, hi);
                (n + m, h.wrapping_add(g))
            })
        })
    }

    /// [`Self::range_summary`] computed naively from the live entries of the range, for
    /// tests of the cached sums.
    #[doc(hidden)]
    pub fn range_summary_naive(&self, replica: &ReplicaId, lo: u64, hi: u64) -> RangeSummary {
        self.summary_with(replica, lo, hi, |r, lo, hi| {
            self.live_rows_in(r, lo, hi)
                .into_iter()
                .fold((0, 0), |(n, h), (c, _, _)| {
                    (n + 1, h.wrapping_add(live_hash(c)))
                })
        })
    }

    fn summary_with(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        live: impl FnOnce(u32, u64, u64) -> (u64, u128),
    ) -> RangeSummary {
        let Some((r, dots)) = self.replica_view(replica) else {
            return RangeSummary::default();
        };
        let mut s = RangeSummary::default();
        let mut fp_runs = 0u128;
        for (first, last) in clipped_runs(&dots, lo, hi) {
            s.seen += last - first + 1;
            fp_runs = fp_runs.wrapping_add(run_hash(first, last));
        }
        let (n, fp_live) = if lo.max(1) <= hi {
            live(r, lo.max(1), hi)
        } else {
            (0, 0)
        };
        s.live = n;
        let mut b = [0u8; 48];
        b[..16].copy_from_slice(&fp_runs.to_le_bytes());
        b[16..32].copy_from_slice(&fp_live.to_le_bytes());
        b[32..40].copy_from_slice(&s.seen.to_le_bytes());
        b[40..].copy_from_slice(&s.live.to_le_bytes());
        s.fingerprint = xxh3_128_with_seed(&b, 0);
        s
    }

    /// How much the slice over `lo..=hi` holds: `(live entries, runs of seen dots)`.
    pub fn range_size(&self, replica: &ReplicaId, lo: u64, hi: u64) -> (u64, u64) {
        let Some((r, d)) = self.replica_view(replica) else {
            return (0, 0);
        };
        let runs = clipped_runs(&d, lo, hi).len() as u64;
        let live = self.runs.iter().map(|run| run.live_sum(r, lo, hi).0).sum();
        (live, runs)
    }

    /// What the store knows of each of `replica`'s counters in `lo..=hi`, as maximal runs
    /// `(first, last, state)` in order, covering the range exactly; `None` when there are
    /// more than `max_runs` of them. This is the slice's content up to the entries' keys
    /// and values (a dot is bound to one content), so two stores can find exactly which
    /// counters differ by comparing these lists, the way negentropy compares id lists.
    ///
    /// Costs O(runs found x log width) counts of live entries (each O(log entries) per run
    /// of the store, from the same cached sums as [`Self::range_summary`]): the dead
    /// counters are found by bisecting where fewer entries are live than dots are seen, so
    /// a 10M-counter range with 50 removals costs about 50 x 24 counts, not a pass.
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// use pluriverse::store::DotState::{Dead, Live, Unseen};
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..10).collect::<Vec<_>>(), &[7; 10]).unwrap();
    /// a.remove(&3); // the dot a:4
    /// let me = "a".into();
    /// let runs = a.store().range_dots(&me, 1, 20, 8).unwrap();
    /// assert_eq!(runs, vec![(1, 3, Live), (4, 4, Dead), (5, 10, Live), (11, 20, Unseen)]);
    /// assert_eq!(a.store().range_dots(&me, 1, 20, 3), None);
    /// ```
    pub fn range_dots(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        max_runs: usize,
    ) -> Option<Vec<(u64, u64, DotState)>> {
        let lo = lo.max(1);
        let mut out: Vec<(u64, u64, DotState)> = Vec::new();
        if lo > hi {
            return Some(out);
        }
        let push = |out: &mut Vec<(u64, u64, DotState)>, f: u64, l: u64, st: DotState| {
            match out.last_mut() {
                Some((_, last, s)) if *s == st && *last + 1 == f => *last = l,
                _ => out.push((f, l, st)),
            }
            out.len() <= max_runs
        };
        let seen = self
            .replica_view(replica)
            .map(|(r, d)| (r, clipped_runs_limited(&d, lo, hi, max_runs)));
        let Some((r, seen)) = seen.filter(|(_, s)| !s.is_empty()) else {
            push(&mut out, lo, hi, DotState::Unseen);
            return (out.len() <= max_runs).then_some(out);
        };
        if seen.len() > max_runs {
            return None;
        }
        let live =
            |f: u64, l: u64| -> u64 { self.runs.iter().map(|run| run.live_sum(r, f, l).0).sum() };
        let mut at = lo;
        for (f, l) in seen {
            if f > at && !push(&mut out, at, f - 1, DotState::Unseen) {
                return None;
            }
            // bisect the seen run for its dead counters
            let mut stack = vec![(f, l)];
            while let Some((a, b)) = stack.pop() {
                let n = live(a, b);
                let st = if n > b - a {
                    Some(DotState::Live)
                } else if n == 0 {
                    Some(DotState::Dead)
                } else {
                    None
                };
                match st {
                    Some(st) => {
                        if !push(&mut out, a, b, st) {
                            return None;
                        }
                    }
                    None => {
                        let mid = a + (b - a) / 2;
                        // the left half first: the stack pops it next
                        stack.push((mid + 1, b));
                        stack.push((a, mid));
                    }
                }
            }
            if l == hi {
                return Some(out);
            }
            at = l + 1;
        }
        push(&mut out, at, hi, DotState::Unseen).then_some(out)
    }

    /// Splits `lo..=hi` into at most `parts` consecutive ranges covering it, holding about
    /// equal numbers of this store's live entries of `replica` (by quantiles of the run
    /// holding most of them, O(parts log entries); small ranges are split exactly by
    /// [`Self::split_range`]). The split the sync protocol recurses on.
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..10_000).collect::<Vec<_>>(), &[0; 10_000]).unwrap();
    /// let me = "a".into();
    /// let parts = a.store().split_even(&me, 1, u64::MAX, 16);
    /// assert_eq!(parts.len(), 16);
    /// assert!(parts.windows(2).all(|w| w[0].1 + 1 == w[1].0));
    /// assert!(parts.iter().all(|&(lo, hi)| (600..=650).contains(&a.store().range_size(&me, lo, hi).0)));
    /// ```
    pub fn split_even(&self, replica: &ReplicaId, lo: u64, hi: u64, parts: u64) -> Vec<(u64, u64)> {
        let lo = lo.max(1);
        let parts = parts.max(2);
        if lo > hi {
            return vec![];
        }
        let Some((r, _)) = self.replica_view(replica) else {
            return vec![(lo, hi)];
        };
        let counts: Vec<u64> = self
            .runs
            .iter()
            .map(|run| run.live_sum(r, lo, hi).0)
            .collect();
        let best = (0..counts.len()).max_by_key(|&i| counts[i]);
        let n = best.map_or(0, |i| counts[i]);
        if n < 16 * parts {
            let (live, runs) = self.range_size(replica, lo, hi);
            return self.split_range(replica, lo, hi, (live + runs).div_ceil(parts).max(1));
        }
        let run = &self.runs[best.unwrap_or(0)];
        let mut out = Vec::with_capacity(parts as usize);
        let mut start = lo;
        for k in 1..parts {
            if let Some(c) = run.kth_live(r, lo, hi, k * n / parts) {
                if c > start {
                    out.push((start, c - 1));
                    start = c;
                }
            }
        }
        out.push((start, hi));
        out
    }

    /// Splits `lo..=hi` into consecutive ranges covering it, each holding at most about
    /// `budget` units of this store's slice (a live entry or a run of seen dots is one
    /// unit; a range is never split inside one counter). Returns `(lo, hi)` pairs in order.
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..100).collect::<Vec<_>>(), &[0; 100]).unwrap();
    /// let parts = a.store().split_range(&"a".into(), 1, u64::MAX, 30);
    /// assert_eq!(parts.first().unwrap().0, 1);
    /// assert_eq!(parts.last().unwrap().1, u64::MAX);
    /// let total: u64 = parts.iter().map(|&(lo, hi)| a.store().range_size(&"a".into(), lo, hi).0).sum();
    /// assert_eq!(total, 100);
    /// assert!(parts.iter().all(|&(lo, hi)| a.store().range_size(&"a".into(), lo, hi).0 <= 30));
    /// ```
    pub fn split_range(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        budget: u64,
    ) -> Vec<(u64, u64)> {
        let budget = budget.max(1);
        let lo = lo.max(1);
        if lo > hi {
            return vec![];
        }
        let Some((r, d)) = self.replica_view(replica) else {
            return vec![(lo, hi)];
        };
        // the counters where a unit starts: each live dot, and each run's first counter
        let mut marks: Vec<u64> = self
            .live_rows_in(r, lo, hi)
            .into_iter()
            .map(|(c, _, _)| c)
            .collect();
        marks.extend(clipped_runs(&d, lo, hi).into_iter().map(|(f, _)| f));
        marks.sort_unstable();
        let mut out = Vec::new();
        let mut start = lo;
        let mut units = 0u64;
        let mut i = 0;
        while i < marks.len() {
            // all units starting at one counter stay together
            let c = marks[i];
            let mut n = 0;
            while i < marks.len() && marks[i] == c {
                n += 1;
                i += 1;
            }
            if units > 0 && units + n > budget && c > start {
                out.push((start, c - 1));
                start = c;
                units = 0;
            }
            units += n;
        }
        out.push((start, hi));
        out
    }

    /// The end of the first range of a split of `lo..=hi` at `budget` units (see
    /// [`Self::split_range`]), found from the start of the range alone: costs about
    /// `budget` units per run of the store, not the whole range, so streaming a range part
    /// by part costs what is streamed.
    ///
    /// # Example
    /// ```
    /// use pluriverse::MVMap;
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..100).collect::<Vec<_>>(), &[0; 100]).unwrap();
    /// let me = "a".into();
    /// let end = a.store().first_part(&me, 1, u64::MAX, 30);
    /// assert_eq!(end, a.store().split_range(&me, 1, u64::MAX, 30)[0].1);
    /// // 29 entries and the run of seen dots 1..=100 that starts at counter 1
    /// assert_eq!(a.store().range_size(&me, 1, end), (29, 1));
    /// ```
    pub fn first_part(&self, replica: &ReplicaId, lo: u64, hi: u64, budget: u64) -> u64 {
        let budget = budget.max(1) as usize;
        let lo = lo.max(1);
        if lo >= hi {
            return hi;
        }
        let Some((r, d)) = self.replica_view(replica) else {
            return hi;
        };
        let mut marks: Vec<u64> = Vec::new();
        for run in &self.runs {
            let ids = run.by_dot();
            marks.extend(
                ids[run.dot_range(r, lo, hi)]
                    .iter()
                    .map(|&row| row as usize)
                    .filter(|&row| run.is_live(row))
                    .take(budget + 1)
                    .map(|row| run.counter[row]),
            );
        }
        marks.extend(
            clipped_runs_limited(&d, lo, hi, budget + 1)
                .into_iter()
                .map(|(f, _)| f),
        );
        marks.sort_unstable();
        // the first counter at which `budget` units are exceeded starts the second part
        let mut units = 0usize;
        let mut i = 0;
        while i < marks.len() {
            let c = marks[i];
            let mut n = 0;
            while i < marks.len() && marks[i] == c {
                n += 1;
                i += 1;
            }
            if units > 0 && units + n > budget && c > lo {
                return c - 1;
            }
            units += n;
        }
        hi
    }

    /// The slice over `replica`'s counters `lo..=hi`: the context within the range and the
    /// live entries whose dots are in it. A valid state below this one in the join order;
    /// see the [module docs](self).
    ///
    /// # Example
    /// ```
    /// use pluriverse::{CausalStore, MVMap};
    /// let mut a: MVMap<u64, u64> = MVMap::new("a");
    /// a.set_many(&(0..10).collect::<Vec<_>>(), &[7; 10]).unwrap();
    /// a.remove(&3);
    /// let mut b: CausalStore<u64, u64> = CausalStore::new();
    /// for (lo, hi) in a.store().split_range(&"a".into(), 1, u64::MAX, 3) {
    ///     b.join(&a.store().slice(&"a".into(), lo, hi));
    /// }
    /// assert_eq!(b.digest(), a.digest());
    /// ```
    pub fn slice(&self, replica: &ReplicaId, lo: u64, hi: u64) -> Self {
        let lo = lo.max(1);
        let Some((r, dots)) = self.replica_view(replica) else {
            return Self::new();
        };
        if lo > hi {
            return Self::new();
        }
        let runs: Vec<Run<K, V>> = self
            .runs
            .iter()
            .filter_map(|run| gather_in_range(run, r, lo, hi))
            .collect();
        let mut table = self.ctx.table().clone();
        // a record's slice holds no entry: its replica becomes a row of the slice
        let r = if r == RECORD {
            table.intern(replica)
        } else {
            r
        };
        let mut ctx = DotContext::new();
        let mut cloud = RoaringTreemap::new();
        let mut prefix = 0;
        for (first, last) in clipped_runs(&dots, lo, hi) {
            if first == 1 {
                prefix = last;
            } else {
                cloud.insert_range(first..=last);
            }
        }
        *ctx.replica_mut(r) = ReplicaDots::from_parts(prefix, cloud);
        let mut out = Self {
            ctx: CausalContext::from_parts(table, ctx),
            runs: runs.into_iter().map(Into::into).collect(),
        };
        out.compact_runs();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_runs_match_a_naive_walk() {
        let mut cloud = RoaringTreemap::new();
        for c in [12u64, 13, 14, 20, 22, 23, 40] {
            cloud.insert(c);
        }
        let d = ReplicaDots::from_parts(10, cloud);
        for lo in 0..45 {
            for hi in lo..45 {
                let naive: Vec<u64> = (lo.max(1)..=hi).filter(|&c| d.contains(c)).collect();
                let runs = clipped_runs(&d, lo, hi);
                let flat: Vec<u64> = runs.iter().flat_map(|&(f, l)| f..=l).collect();
                assert_eq!(flat, naive, "{lo}..={hi}");
                // maximal: no two runs touch
                assert!(runs.windows(2).all(|w| w[0].1 + 1 < w[1].0));
            }
        }
    }

    /// The per-counter reference: the context's `contains` and the live rows.
    fn naive_dots(
        s: &CausalStore<u64, u64>,
        me: &ReplicaId,
        lo: u64,
        hi: u64,
    ) -> Vec<(u64, u64, DotState)> {
        let r = s.ctx.table().get(me);
        let live: std::collections::HashSet<u64> = r
            .map(|r| {
                s.live_rows_in(r, 1, u64::MAX)
                    .into_iter()
                    .map(|x| x.0)
                    .collect()
            })
            .unwrap_or_default();
        let mut out: Vec<(u64, u64, DotState)> = Vec::new();
        for c in lo.max(1)..=hi {
            let seen = r
                .and_then(|r| s.ctx.dots().get(r))
                .is_some_and(|d| d.contains(c));
            let st = match (seen, live.contains(&c)) {
                (false, _) => DotState::Unseen,
                (true, true) => DotState::Live,
                (true, false) => DotState::Dead,
            };
            match out.last_mut() {
                Some((_, l, x)) if *x == st => *l = c,
                _ => out.push((c, c, st)),
            }
        }
        out
    }

    /// A row as the tests compare it: hash, key, replica, counter, value.
    type Row = (u64, u64, u32, u64, u64);

    /// The slice's rows row by row, as it was gathered before the column-wise gather: the
    /// live rows of the range (through [`CausalStore::live_rows_in`]) pushed whole.
    fn slice_row_by_row(
        s: &CausalStore<u64, u64>,
        me: &ReplicaId,
        lo: u64,
        hi: u64,
    ) -> Vec<Vec<Row>> {
        let Some(r) = s.ctx.table().get(me) else {
            return Vec::new();
        };
        let mut rows = s.live_rows_in(r, lo.max(1), hi);
        rows.sort_unstable_by_key(|&(_, ri, row)| (ri, row));
        let mut out: Vec<Vec<Row>> = vec![Vec::new(); s.runs.len()];
        for (_, ri, row) in rows {
            let run = &s.runs[ri];
            out[ri].push((
                run.hash[row],
                ItemCol::get(&run.keys, row),
                r,
                run.counter[row],
                ItemCol::get(&run.values, row),
            ));
        }
        out.retain(|v| !v.is_empty());
        out
    }

    #[test]
    fn the_column_wise_gather_matches_a_row_by_row_copy() {
        use crate::MVMap;
        let me: ReplicaId = "a".into();
        let mut a: MVMap<u64, u64> = MVMap::new("a");
        // several runs (writes of different sizes), deleted rows (removals, overwrites)
        a.set_many(&(0..5000).collect::<Vec<_>>(), &[1; 5000])
            .unwrap();
        for k in (0..5000).step_by(7) {
            a.remove(&k);
        }
        a.set_many(&(4000..4600).collect::<Vec<_>>(), &[2; 600])
            .unwrap();
        for k in (3..5000).step_by(113) {
            a.set(k, 3).unwrap();
        }
        let mut other: MVMap<u64, u64> = MVMap::new("b");
        other
            .set_many(&(100..300).collect::<Vec<_>>(), &[9; 200])
            .unwrap();
        let mut st = a.store().clone();
        st.join(other.store());
        assert!(st.runs.len() > 1, "the test wants several runs");
        assert!(
            st.runs.iter().any(|r| !r.deleted.is_empty()),
            "and deleted rows"
        );
        for (lo, hi) in [
            (1, u64::MAX),
            (0, 10),
            (1, 1),
            (700, 2100),
            (4990, 6000),
            (5601, 5700),
            (9000, 9100),
        ] {
            let want = slice_row_by_row(&st, &me, lo, hi);
            let r = st.ctx.table().get(&me).unwrap();
            let got: Vec<Vec<Row>> = st
                .runs
                .iter()
                .filter_map(|run| gather_in_range(run, r, lo.max(1), hi))
                .map(|g| {
                    (0..g.rows())
                        .map(|i| {
                            (
                                g.hash[i],
                                ItemCol::get(&g.keys, i),
                                g.replica[i],
                                g.counter[i],
                                ItemCol::get(&g.values, i),
                            )
                        })
                        .collect()
                })
                .collect();
            assert_eq!(got, want, "{lo}..={hi}");
            // and the slice built from them joins like the rows it holds
            let sl = st.slice(&me, lo, hi);
            let n: usize = want.iter().map(Vec::len).sum();
            assert_eq!(sl.len(), n, "{lo}..={hi}");
        }
    }

    /// The gather before the column-wise one, kept to time against it: the live rows of
    /// the range with their counters, sorted, pushed a row at a time.
    fn gather_row_by_row<K: Item, V: Item>(
        s: &CausalStore<K, V>,
        r: u32,
        lo: u64,
        hi: u64,
    ) -> Vec<Run<K, V>> {
        let mut rows = s.live_rows_in(r, lo, hi);
        rows.sort_unstable_by_key(|&(_, ri, row)| (ri, row));
        let mut runs: Vec<Run<K, V>> = Vec::new();
        let mut cur: Option<(usize, Run<K, V>)> = None;
        for (_, ri, row) in rows {
            if cur.as_ref().is_some_and(|(i, _)| *i != ri) {
                runs.extend(cur.take().map(|(_, run)| run));
            }
            let (_, run) = cur.get_or_insert_with(|| (ri, Run::default()));
            run.push_row(&s.runs[ri], row, r);
        }
        runs.extend(cur.map(|(_, run)| run));
        runs
    }

    /// `cargo test --release -p pluriverse --lib -- --ignored gather_speed --nocapture`:
    /// a 4M-row store sliced into 300 dot ranges, both gathers in one run.
    #[test]
    #[ignore]
    fn gather_speed() {
        use crate::MVMap;
        let n: u64 = 4_000_000;
        let me: ReplicaId = "a".into();
        let mut a: MVMap<u64, u64> = MVMap::new("a");
        let keys: Vec<u64> = (0..n)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        for c in keys.chunks(100_000) {
            a.set_many(c, &vec![5; c.len()]).unwrap();
        }
        let mut st = a.store().clone();
        st.compact_runs();
        let r = st.ctx.table().get(&me).unwrap();
        let parts = 300;
        let step = n / parts;
        let _ = st.runs[0].by_dot();
        for round in 0..2 {
            let t = std::time::Instant::now();
            let mut rows = 0;
            for p in 0..parts {
                for g in gather_row_by_row(&st, r, 1 + p * step, (p + 1) * step) {
                    rows += g.rows();
                }
            }
            let old = t.elapsed();
            let t = std::time::Instant::now();
            let mut rows2 = 0;
            for p in 0..parts {
                for run in &st.runs {
                    rows2 += gather_in_range(run, r, 1 + p * step, (p + 1) * step)
                        .map_or(0, |g| g.rows());
                }
            }
            let new = t.elapsed();
            assert_eq!(rows, rows2);
            println!("round {round}: {rows} rows in {parts} slices: row by row {old:?}, column-wise {new:?} ({:.2}x)", old.as_secs_f64() / new.as_secs_f64());
        }
    }

    #[test]
    fn range_dots_match_a_naive_walk() {
        use crate::MVMap;
        let me: ReplicaId = "a".into();
        let mut a: MVMap<u64, u64> = MVMap::new("a");
        // a long run (cached sums), then removals and overwrites (dead dots)
        a.set_many(&(0..3000).collect::<Vec<_>>(), &[1; 3000])
            .unwrap();
        for k in (0..3000).step_by(97) {
            a.remove(&k);
        }
        for k in (5..3000).step_by(331) {
            a.set(k, 2).unwrap();
        }
        a.set_many(&[7, 8, 9, 10], &[3; 4]).unwrap();
        // b: slices of a over some ranges only (gaps in its context), in several joins
        let mut b: CausalStore<u64, u64> = CausalStore::new();
        for (lo, hi) in [(1, 400), (900, 1500), (1502, 1502), (2000, 3100)] {
            b.join(&a.store().slice(&me, lo, hi));
        }
        let end = 3000 + 3000 / 97 + 1 + 3000 / 331 + 1 + 4 + 3;
        for s in [a.store(), &b] {
            for (lo, hi) in [
                (1, end),
                (1, u64::MAX),
                (0, 50),
                (390, 910),
                (1499, 1503),
                (3000, end),
                (97, 99),
            ] {
                let want = naive_dots(s, &me, lo, hi.min(end + 10));
                let got = s.range_dots(&me, lo, hi, usize::MAX).unwrap();
                let got: Vec<_> = got
                    .into_iter()
                    .map(|(f, l, st)| (f, l.min(end + 10), st))
                    .collect();
                assert_eq!(got, want, "{lo}..={hi}");
                // the limit is exact: one fewer run refuses
                assert_eq!(
                    s.range_dots(&me, lo, hi, want.len() - 1),
                    None,
                    "{lo}..={hi}"
                );
                assert!(s.range_dots(&me, lo, hi, want.len()).is_some());
            }
        }
        let other: ReplicaId = "z".into();
        assert_eq!(
            b.range_dots(&other, 3, 9, 1),
            Some(vec![(3, 9, DotState::Unseen)])
        );
    }
}
