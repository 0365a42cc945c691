//! The full join: the merge of both sides is planned from the hashes and dots alone
//! (hash-range partitions on the rayon pool), then each column is interleaved in one pass.

use rayon::prelude::*;

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use pluriverse_kernels::interleave::{AnyPick, Part, Pick, Pick16, Pick32};

use super::join::Incoming;
use super::CausalStore;
use crate::item::{Item, ItemCol};
use crate::store::merge::{self, Step};
use crate::store::run::Run;

/// Full joins of at least this many rows (both sides) merge partitions in parallel.
const PAR_MIN_ROWS: usize = 1 << 17;

/// Rows of the longer side in one part of a full join's plan, at most: half of what
/// two-byte picks can name, so that the shorter side's part fits them too unless its
/// hashes crowd into that range.
const PART_ROWS: usize = 1 << 14;

/// A causal context flattened for the merge loop: per replica its prefix and the smallest
/// counter of its cloud (`u64::MAX` when it has none), so that membership is two compares
/// and a bitmap lookup only for counters inside the cloud's span.
struct SeenTable<'a> {
    ctx: &'a DotContext,
    prefix: Vec<u64>,
    cloud_min: Vec<u64>,
}

impl<'a> SeenTable<'a> {
    fn new(ctx: &'a DotContext) -> Self {
        let r = ctx.replicas();
        Self {
            ctx,
            prefix: r.iter().map(ReplicaDots::prefix).collect(),
            cloud_min: r
                .iter()
                .map(|d| d.cloud().min().unwrap_or(u64::MAX))
                .collect(),
        }
    }

    #[inline]
    fn contains(&self, replica: u32, counter: u64) -> bool {
        let r = replica as usize;
        counter <= self.prefix.as_slice().get(r).copied().unwrap_or(0)
            || (counter
                >= self
                    .cloud_min
                    .as_slice()
                    .get(r)
                    .copied()
                    .unwrap_or(u64::MAX)
                && self.ctx.contains(replica, counter))
    }
}

/// The other side of a full join as the merge reads it: its run, its replica column in our
/// indices, and the order of its rows under them where that differs from the run's own.
struct OtherSide<'r, K: Item, V: Item> {
    run: &'r Run<K, V>,
    replica: &'r [u32],
    order: Option<&'r [Pick]>,
}

impl<K: Item, V: Item> OtherSide<'_, K, V> {
    /// The run's row at place `k` of the order.
    #[inline]
    fn row(&self, k: usize) -> usize {
        self.order.map_or(k, |o| o[k].index())
    }
}

/// Plans the merge of places `ra` of `a` and `rb` of `b` (both in order; a place of `b`
/// is a row of its run where it keeps the run's order) by the join rule, appending the rows
/// to keep, in order, to `plan` (counted from `ra.start` and `rb.start`: a row of `b` that
/// another order moved stays among the rows of its hash, so in its part; `seen` is our
/// context and theirs): a row in both is kept once; a row on one side only is kept unless
/// the other side's context has seen its dot (then the other side removed it). Reads only
/// the sort keys and dots; the columns are interleaved after.
///
/// With `CHECK`, also gathers what [`Conflicts`] needs to find dots bound to two contents:
/// a value mismatch where both sides hold the same entry (compared only there), and the
/// dots each side drops because the other has seen them.
fn plan_join<K: Item, V: Item, Q: AnyPick, const CHECK: bool>(
    a: &Run<K, V>,
    ra: std::ops::Range<usize>,
    b: &OtherSide<'_, K, V>,
    rb: std::ops::Range<usize>,
    (ours, theirs): &(SeenTable<'_>, SeenTable<'_>),
    plan: &mut Vec<Q>,
    conflicts: &mut Conflicts,
) {
    // picks count from the ranges' starts (the part's bases)
    let (la, lb) = (ra.start, rb.start);
    let (run, replica) = (b.run, b.replica);
    // the order of `merge::runs`, with `b`'s rows in its order and its replica indices ours
    let order = |i: usize, k: usize| {
        let j = b.row(k);
        match a.hash[i].cmp(&run.hash[j]) {
            std::cmp::Ordering::Equal => a
                .keys
                .cmp_at(i, &run.keys, j)
                .then_with(|| a.replica[i].cmp(&replica[j]))
                .then_with(|| a.counter[i].cmp(&run.counter[j])),
            o => o,
        }
    };
    for step in merge::Merge::new(ra, rb, order) {
        match step {
            Step::Both(i, k) => {
                if CHECK && a.values.cmp_at(i, &run.values, b.row(k)).is_ne() {
                    conflicts.note_mismatch(a.replica[i], a.counter[i]);
                }
                plan.push(Q::left(i - la));
            }
            Step::Left(i) => {
                if !theirs.contains(a.replica[i], a.counter[i]) {
                    plan.push(Q::left(i - la));
                } else if CHECK {
                    conflicts.dropped_ours.push((a.replica[i], a.counter[i]));
                }
            }
            Step::Right(k) => {
                let j = b.row(k);
                if !ours.contains(replica[j], run.counter[j]) {
                    plan.push(Q::right(j - lb));
                } else if CHECK {
                    conflicts.dropped_theirs.push((replica[j], run.counter[j]));
                }
            }
        }
    }
}

/// What a checked full join gathers to find a dot bound to two contents. A dot both sides
/// hold with the same key meets itself in the merge and its values are compared there; a
/// dot both hold under different keys does not meet, but each side drops it (the other has
/// seen it and does not hold it under that key), so it is in both dropped lists.
#[derive(Default)]
struct Conflicts {
    /// The smallest dot (our replica index, counter) held on both sides with other values.
    mismatch: Option<(u32, u64)>,
    /// Dots of our rows dropped because the other side has seen them.
    dropped_ours: Vec<(u32, u64)>,
    /// Dots of their rows dropped because we have seen them.
    dropped_theirs: Vec<(u32, u64)>,
}

impl Conflicts {
    fn note_mismatch(&mut self, replica: u32, counter: u64) {
        let d = (replica, counter);
        if self.mismatch.is_none_or(|m| d < m) {
            self.mismatch = Some(d);
        }
    }

    fn absorb(&mut self, other: Self) {
        if let Some((r, c)) = other.mismatch {
            self.note_mismatch(r, c);
        }
        self.dropped_ours.extend(other.dropped_ours);
        self.dropped_theirs.extend(other.dropped_theirs);
    }

    /// The smallest dot bound to two contents, if any.
    fn first(mut self) -> Option<(u32, u64)> {
        self.dropped_ours.sort_unstable();
        self.dropped_theirs.sort_unstable();
        // the first dot in both lists (a merge that stops when either list ends)
        let first = {
            let mut m = merge::slices(&self.dropped_ours, &self.dropped_theirs);
            std::iter::from_fn(|| m.next_pair()).find_map(|step| match step {
                Step::Both(i, _) => Some(self.dropped_ours[i]),
                _ => None,
            })
        };
        if let Some((r, c)) = first {
            self.note_mismatch(r, c);
        }
        self.mismatch
    }
}

impl<K: Item, V: Item> CausalStore<K, V> {
    pub(super) fn join_full<const CHECK: bool>(
        &mut self,
        inc: Incoming<'_, K, V>,
    ) -> Result<(), (u32, u64)> {
        let runs = std::mem::take(&mut self.runs);
        // our side as one run: ours as it is when it is one, else merged into our largest
        // run's own columns (no copy of it, and the runs merged are not held beside)
        let (runs, merged) = match runs.as_slice() {
            [only] if only.deleted.is_empty() => (runs, None),
            _ => (vec![], Some(Self::into_merged(runs))),
        };
        let a: &Run<K, V> = match &merged {
            Some(m) => m,
            None => &runs[0],
        };
        let (na, nb) = (a.rows(), inc.run.rows());
        let threads = rayon::current_num_threads();
        let parallel = na + nb >= PAR_MIN_ROWS && threads > 1;
        // Partition both sides at the same hash values (a key never straddles two parts):
        // enough parts for the pool, and parts short enough for two-byte picks.
        let parts = if parallel { threads * 4 } else { 1 }.max(na.max(nb).div_ceil(PART_ROWS));
        let (long, n) = if na >= nb {
            (&a.hash, na)
        } else {
            (&inc.run.hash, nb)
        };
        let mut cuts: Vec<u64> = (1..parts).map(|p| long[p * n / parts]).collect();
        cuts.dedup();
        let bounds = |h: &[u64]| -> Vec<usize> {
            std::iter::once(0)
                .chain(cuts.iter().map(|&c| h.partition_point(|&x| x < c)))
                .chain(std::iter::once(h.len()))
                .collect()
        };
        let bounds = (bounds(&a.hash), bounds(&inc.run.hash));
        // The plan in two-byte picks counting from each part's first rows where every part
        // fits them (a part longer than 2^15 rows a side: one key with that many rows, or
        // hashes crowded into one range), else four-byte picks (any store short of 2^31
        // rows), else eight: its memory is held beside the output, and read once per column.
        let fits = |b: &[usize], max: usize| b.windows(2).all(|w| w[1] - w[0] <= max + 1);
        if fits(&bounds.0, Pick16::MAX_INDEX) && fits(&bounds.1, Pick16::MAX_INDEX) {
            self.join_parts::<CHECK, Pick16>(runs, merged, inc, &bounds, parallel)
        } else if na.max(nb) <= Pick32::MAX_INDEX {
            self.join_parts::<CHECK, Pick32>(runs, merged, inc, &bounds, parallel)
        } else {
            self.join_parts::<CHECK, Pick>(runs, merged, inc, &bounds, parallel)
        }
    }

    /// The full join of `inc` into our side (`runs`, one run, or `merged`), planned in
    /// parts at `bounds` (row bounds of each side) in picks of type `Q`, then interleaved.
    fn join_parts<const CHECK: bool, Q: AnyPick>(
        &mut self,
        runs: Vec<std::sync::Arc<Run<K, V>>>,
        merged: Option<Run<K, V>>,
        inc: Incoming<'_, K, V>,
        (ab, bb): &(Vec<usize>, Vec<usize>),
        parallel: bool,
    ) -> Result<(), (u32, u64)> {
        let a: &Run<K, V> = match &merged {
            Some(m) => m,
            None => &runs[0],
        };
        let b: &Run<K, V> = &inc.run;
        let b_replica = inc.replica();
        let other = OtherSide {
            run: b,
            replica: b_replica,
            order: inc.order.as_deref(),
        };
        let theirs: &DotContext = &inc.ctx;
        let seen = (SeenTable::new(self.ctx.dots()), SeenTable::new(theirs));
        let plan_part = |p: usize| {
            let mut plan =
                pluriverse_kernels::pages::with_capacity(ab[p + 1] - ab[p] + bb[p + 1] - bb[p]);
            let mut conflicts = Conflicts::default();
            plan_join::<K, V, Q, CHECK>(
                a,
                ab[p]..ab[p + 1],
                &other,
                bb[p]..bb[p + 1],
                &seen,
                &mut plan,
                &mut conflicts,
            );
            // room for every input row was reserved; give back what was not kept before
            // the output grows (a large block shrinks in place: no copy)
            plan.shrink_to_fit();
            let part = Part {
                left: ab[p],
                right: bb[p],
                picks: plan,
            };
            (part, conflicts)
        };
        let planned: Vec<(Part<Q>, Conflicts)> = if parallel {
            (0..ab.len() - 1).into_par_iter().map(plan_part).collect()
        } else {
            (0..ab.len() - 1).map(plan_part).collect()
        };
        let mut conflicts = Conflicts::default();
        let plans: Vec<Part<Q>> = planned
            .into_iter()
            .map(|(part, c)| {
                conflicts.absorb(c);
                part
            })
            .collect();
        if CHECK {
            if let Some(dot) = conflicts.first() {
                // unchanged: the same rows, in one run where they were in several
                self.runs = match merged {
                    Some(m) if m.rows() > 0 => vec![m.into()],
                    Some(_) => vec![],
                    None => runs,
                };
                return Err(dot);
            }
        }
        // the output is written into our run's own columns (grown in place): no fresh
        // pages for the rows we already hold, and the old run is not held beside the new
        let ours_run = match merged {
            Some(merged) => merged,
            None => {
                // ours alone, unless a clone or a delta shares it: then a copy
                let mut runs = runs;
                runs.pop()
                    .map(|r| std::sync::Arc::try_unwrap(r).unwrap_or_else(|r| (*r).clone()))
                    .unwrap_or_default()
            }
        };
        let out = Run::interleave_plans_into_with(ours_run, b, b_replica, &plans);
        drop(plans);
        self.ctx.dots_mut().union_with(theirs);
        self.runs = if out.rows() > 0 {
            vec![out.into()]
        } else {
            vec![]
        };
        Ok(())
    }
}
