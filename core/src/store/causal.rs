//! The causal dot store: entries `(key, dot, value)` in sorted runs, and one causal context.
//! `MVMap` and `AWSet` are thin layers over it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

use rayon::prelude::*;

use pluriverse_kernels::digest::Digest;
use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;
use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed, xxh3_64};

use super::run::{Run, SCAN_ROWS};
use crate::context::CausalContext;
use crate::item::{Item, ItemCol, RIGHT};

/// A new run is merged with the run before it while that one is at most this many times
/// larger: runs grow geometrically, so there are O(log n) of them and each entry is copied
/// O(log n) times (a binary-counter LSM).
const RUN_RATIO: usize = 4;
/// A run is rewritten without its deleted rows when more than 1/DEAD_FRACTION is dead.
const DEAD_FRACTION: u64 = 4;
/// `delta_since` spells out at most this many counters of one replica's prefix in a bitmap
/// before it ships the whole state instead.
const MAX_SPELLED_RANGE: u64 = 1 << 32;
/// New rows go into the smallest run in place while it holds at most this many rows.
const TAIL_ROWS: usize = 256;
/// Deltas of at most this many entries look our entries up by their keys first.
const KEY_PROBE_ROWS: usize = 64;
/// Joins whose other side costs more than 1/INCREMENTAL_FRACTION of this store take the
/// full merge path.
const INCREMENTAL_FRACTION: usize = 8;

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

/// Which algorithm a join uses. Both give the same state; [`JoinPath::Auto`] picks by cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JoinPath {
    /// Incremental when the other side is small against this store, full otherwise.
    #[default]
    Auto,
    /// Mark removed rows deleted in place and add the new entries as a new run: costs what
    /// the other side carries (plus a lookup per dot), not what this store holds.
    Incremental,
    /// Merge both sides' sorted entries into one new run: one sequential pass over both.
    Full,
}

/// Full joins of at least this many rows (both sides) merge partitions in parallel.
const PAR_MIN_ROWS: usize = 1 << 17;

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

/// Plans the merge of rows `ra` of `a` and `rb` of `b` (both sorted) by the join rule,
/// appending the rows to keep, in order, to `plan`: a row in both is kept once; a row on
/// one side only is kept unless the other side's context has seen its dot (then the other
/// side removed it). Reads only the sort keys and dots; the columns are gathered after.
///
/// With `CHECK`, also gathers what [`Conflicts`] needs to find dots bound to two contents:
/// a value mismatch where both sides hold the same entry (compared only there), and the
/// dots each side drops because the other has seen them.
#[allow(clippy::too_many_arguments)] // the two sides, their ranges and contexts, two outputs
fn plan_join<K: Item, V: Item, const CHECK: bool>(
    a: &Run<K, V>,
    ra: std::ops::Range<usize>,
    b: &Run<K, V>,
    rb: std::ops::Range<usize>,
    ours: &DotContext,
    theirs: &DotContext,
    plan: &mut Vec<u64>,
    conflicts: &mut Conflicts,
) {
    let (ours, theirs) = (SeenTable::new(ours), SeenTable::new(theirs));
    let (mut i, mut j) = (ra.start, rb.start);
    while i < ra.end && j < rb.end {
        // Hashes decide almost every step; the full key only on equal hashes.
        let ord = match a.hash[i].cmp(&b.hash[j]) {
            Ordering::Equal => a.cmp_rows(i, b, j),
            o => o,
        };
        match ord {
            Ordering::Equal => {
                if CHECK && a.values.cmp_at(i, &b.values, j).is_ne() {
                    conflicts.note_mismatch(a.replica[i], a.counter[i]);
                }
                plan.push(i as u64);
                i += 1;
                j += 1;
            }
            Ordering::Less => {
                if !theirs.contains(a.replica[i], a.counter[i]) {
                    plan.push(i as u64);
                } else if CHECK {
                    conflicts.dropped_ours.push((a.replica[i], a.counter[i]));
                }
                i += 1;
            }
            Ordering::Greater => {
                if !ours.contains(b.replica[j], b.counter[j]) {
                    plan.push(RIGHT | j as u64);
                } else if CHECK {
                    conflicts.dropped_theirs.push((b.replica[j], b.counter[j]));
                }
                j += 1;
            }
        }
    }
    for i in i..ra.end {
        if !theirs.contains(a.replica[i], a.counter[i]) {
            plan.push(i as u64);
        } else if CHECK {
            conflicts.dropped_ours.push((a.replica[i], a.counter[i]));
        }
    }
    for j in j..rb.end {
        if !ours.contains(b.replica[j], b.counter[j]) {
            plan.push(RIGHT | j as u64);
        } else if CHECK {
            conflicts.dropped_theirs.push((b.replica[j], b.counter[j]));
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
        let (mut i, mut j) = (0, 0);
        while i < self.dropped_ours.len() && j < self.dropped_theirs.len() {
            match self.dropped_ours[i].cmp(&self.dropped_theirs[j]) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    let (r, c) = self.dropped_ours[i];
                    self.note_mismatch(r, c);
                    break;
                }
            }
        }
        self.mismatch
    }
}

/// The other side of a join, with replica indices already mapped into ours.
struct Incoming<'a, K: Item, V: Item> {
    run: Cow<'a, Run<K, V>>,
    ctx: Cow<'a, DotContext>,
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

    /// `other` in this store's replica indices, given `map` (their index -> ours). Borrows
    /// `other`'s data when the indices already agree.
    fn incoming<'a>(other: &'a Self, map: &[u32]) -> Incoming<'a, K, V> {
        let src = other.merged_cow();
        if is_identity(map) {
            return Incoming {
                run: src,
                ctx: Cow::Borrowed(other.ctx.dots()),
            };
        }
        let mut ctx = DotContext::new();
        for (theirs, &ours) in other.ctx.dots().replicas().iter().zip(map) {
            *ctx.replica_mut(ours) = theirs.clone();
        }
        let mut run = Run::with_capacity(src.rows());
        for i in 0..src.rows() {
            run.push_row(&src, i, map[src.replica[i] as usize]);
        }
        if !is_monotonic(map) {
            run.sort();
        }
        Incoming {
            run: Cow::Owned(run),
            ctx: Cow::Owned(ctx),
        }
    }

    /// Joins `other` (a delta or a whole state) into this store.
    ///
    /// For trusted input: a dot that the two sides bind to different contents (which no
    /// honest pair of replicas does) is not detected, and which content survives depends on
    /// the algorithm. Bytes from elsewhere go through [`Self::try_join`] or
    /// [`Self::join_checked`].
    pub fn join(&mut self, other: &Self) {
        self.join_with(other, JoinPath::Auto);
    }

    /// [`CausalStore::join`] with the algorithm chosen by the caller (tests and benches pin
    /// each path; the result does not depend on it).
    pub fn join_with(&mut self, other: &Self, path: JoinPath) {
        // unchecked: nothing to refuse
        let _ = self.join_inner::<false>(other, path);
    }

    /// Joins `other`, refusing it when it binds a dot to other contents than this store does
    /// (the same dot with another key or value: proof that a replica equivocated or that the
    /// bytes were forged). The check costs only on dots both sides hold (plus the dots each
    /// side drops, on the full-merge path); the join is otherwise [`Self::join`].
    ///
    /// # Errors
    /// [`crate::Error::Equivocation`] naming the replica and counter of the smallest such
    /// dot; the store is unchanged (but for the interning of the other's replica names,
    /// which no read, digest or encoding sees).
    pub fn try_join(&mut self, other: &Self) -> crate::Result<()> {
        self.try_join_with(other, JoinPath::Auto)
    }

    /// [`Self::try_join`] with a pinned algorithm.
    ///
    /// # Errors
    /// As [`Self::try_join`].
    pub fn try_join_with(&mut self, other: &Self, path: JoinPath) -> crate::Result<()> {
        self.join_inner::<true>(other, path)
            .map_err(|(r, c)| crate::Error::Equivocation {
                replica: self.ctx.table().names()[r as usize].to_string(),
                counter: c,
            })
    }

    /// [`Self::try_join`] by the replica `me` that holds this store, which also refuses a
    /// context claiming dots of `me` beyond the highest this store knows `me` issued: no
    /// honest peer can have seen them, so the claim is a forgery, or this store is a rollback
    /// (a restored old copy, which must rejoin under a new name: DESIGN, "A dot is never
    /// issued twice"). Joining such a claim would make `me`'s next writes look removed to
    /// everyone who has joined it.
    ///
    /// # Errors
    /// [`crate::Error::ForeignClaim`], or as [`Self::try_join`]; the store is unchanged.
    pub fn join_checked(&mut self, other: &Self, me: &crate::ReplicaId) -> crate::Result<()> {
        let max_of = |s: &Self| {
            s.ctx
                .table()
                .get(me)
                .and_then(|i| s.ctx.dots().get(i))
                .map_or(0, ReplicaDots::max)
        };
        let (claimed, issued) = (max_of(other), max_of(self));
        if claimed > issued {
            return Err(crate::Error::ForeignClaim {
                replica: me.to_string(),
                counter: claimed,
                issued,
            });
        }
        self.try_join(other)
    }

    /// The join; with `CHECK`, refused before anything changes when a dot is bound to two
    /// contents (returned in our replica indices).
    fn join_inner<const CHECK: bool>(
        &mut self,
        other: &Self,
        path: JoinPath,
    ) -> Result<(), (u32, u64)> {
        let map = self.ctx.table_mut().absorb(other.ctx.table());
        let incremental = match path {
            JoinPath::Incremental => true,
            JoinPath::Full => false,
            JoinPath::Auto => {
                self.incremental_cost(other, &map) * INCREMENTAL_FRACTION <= self.len().max(1024)
            }
        };
        if incremental {
            self.join_incremental::<CHECK>(other, &map)
        } else {
            self.join_full::<CHECK>(Self::incoming(other, &map))
        }
    }

    /// Rows the incremental path would touch: the other's entries, its cloud dots, and our
    /// entries under its prefixes. The last are counted exactly in runs that are short or
    /// already indexed by dot, and bounded by what our context holds of those prefixes in
    /// the others (estimating must not build an index the full path would not use).
    fn incremental_cost(&self, other: &Self, map: &[u32]) -> usize {
        let mut cost = other.len() + other.ctx.dots().cloud_len() as usize;
        for (r, d) in other.ctx.dots().replicas().iter().enumerate() {
            let ours = map[r];
            let Some(seen) = self.ctx.dots().get(ours) else {
                continue;
            };
            let p = d.prefix();
            if p == 0 || !self.seen_any(ours, p) {
                continue;
            }
            let bound = seen.prefix().min(p).saturating_add(seen.cloud().rank(p));
            for run in &self.runs {
                cost += if run.rows() <= SCAN_ROWS || run.has_dot_index() {
                    run.dot_range(ours, 1, p).len()
                } else {
                    usize::try_from(bound).unwrap_or(usize::MAX).min(run.rows())
                };
            }
        }
        cost
    }

    /// Whether our context holds any dot of `replica` with a counter in `1..=upto`.
    fn seen_any(&self, replica: u32, upto: u64) -> bool {
        self.ctx
            .dots()
            .get(replica)
            .is_some_and(|d| d.prefix() > 0 || d.cloud().min().is_some_and(|m| m <= upto))
    }

    fn join_full<const CHECK: bool>(&mut self, inc: Incoming<'_, K, V>) -> Result<(), (u32, u64)> {
        let runs = std::mem::take(&mut self.runs);
        let view = Self {
            ctx: CausalContext::new(),
            runs,
        };
        let a = view.merged_cow();
        let b: &Run<K, V> = &inc.run;
        let ours = self.ctx.dots();
        let theirs: &DotContext = &inc.ctx;
        let (na, nb) = (a.rows(), b.rows());
        let threads = rayon::current_num_threads();
        let mut conflicts = Conflicts::default();
        let plans: Vec<Vec<u64>> = if na + nb < PAR_MIN_ROWS || threads == 1 {
            let mut plan = Vec::with_capacity(na + nb);
            plan_join::<K, V, CHECK>(&a, 0..na, b, 0..nb, ours, theirs, &mut plan, &mut conflicts);
            vec![plan]
        } else {
            // Partition both sides at the same hash values (a key never straddles two
            // parts) and plan the parts on the rayon pool.
            let parts = threads * 4;
            let (long, n) = if na >= nb {
                (&a.hash, na)
            } else {
                (&b.hash, nb)
            };
            let mut cuts: Vec<u64> = (1..parts).map(|p| long[p * n / parts]).collect();
            cuts.dedup();
            let bounds = |h: &[u64]| -> Vec<usize> {
                std::iter::once(0)
                    .chain(cuts.iter().map(|&c| h.partition_point(|&x| x < c)))
                    .chain(std::iter::once(h.len()))
                    .collect()
            };
            let (ab, bb) = (bounds(&a.hash), bounds(&b.hash));
            let parts: Vec<(Vec<u64>, Conflicts)> = (0..ab.len() - 1)
                .into_par_iter()
                .map(|p| {
                    let mut plan = Vec::with_capacity(ab[p + 1] - ab[p] + bb[p + 1] - bb[p]);
                    let mut conflicts = Conflicts::default();
                    plan_join::<K, V, CHECK>(
                        &a,
                        ab[p]..ab[p + 1],
                        b,
                        bb[p]..bb[p + 1],
                        ours,
                        theirs,
                        &mut plan,
                        &mut conflicts,
                    );
                    (plan, conflicts)
                })
                .collect();
            parts
                .into_iter()
                .map(|(plan, c)| {
                    conflicts.absorb(c);
                    plan
                })
                .collect()
        };
        if CHECK {
            if let Some(dot) = conflicts.first() {
                drop(a);
                self.runs = view.runs;
                return Err(dot);
            }
        }
        let out = Run::gather_plans(&a, b, &plans);
        drop(a);
        self.ctx.dots_mut().union_with(theirs);
        self.runs = if out.rows() > 0 { vec![out] } else { vec![] };
        Ok(())
    }

    /// The incremental join: costs what `other` carries (plus a lookup per dot of its
    /// context that we have seen), not what this store holds. Works in `other`'s replica
    /// indices through `map`, so a small delta is neither copied nor re-indexed.
    ///
    /// With `CHECK`, each of our rows whose dot they hold too is compared with their row
    /// (key and value), and a difference refuses the join before anything changes.
    fn join_incremental<const CHECK: bool>(
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
            for row in dead {
                run.deleted.insert(row);
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
            if let Some(tail) = self.runs.last_mut() {
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
                self.runs.push(fresh);
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

    /// Merges the last run with the one before while that one is at most `RUN_RATIO` times
    /// larger (binary-counter LSM).
    fn settle(&mut self) {
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            let (prev, last) = (&self.runs[n - 2], &self.runs[n - 1]);
            if prev.live() > RUN_RATIO * last.live() {
                break;
            }
            let last = self.runs.pop().unwrap_or_default();
            let prev = self.runs.pop().unwrap_or_default();
            self.runs.push(Run::merge_live(&prev, &last));
        }
    }

    /// Rewrites runs that are mostly dead, and drops empty ones.
    fn drop_dead_runs(&mut self) {
        for run in &mut self.runs {
            if run.deleted.len() * DEAD_FRACTION > run.rows() as u64 {
                let mut clean = Run::with_capacity(run.live());
                clean.extend_live(run, 0..run.rows());
                *run = clean;
            }
        }
        self.runs.retain(|r| r.rows() > 0);
        self.runs.sort_by_key(|r| std::cmp::Reverse(r.live()));
    }

    /// Checks the store's invariants and returns the first one broken: every run sorted
    /// strictly by `(hash, key, replica, counter)` with each hash equal to `xxh3(key)`; no
    /// dot live twice; every live entry's dot in the context and its replica in the table;
    /// contexts canonical (clouds strictly above `prefix + 1`). Tests and fuzz targets call
    /// it after every operation.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        let mut seen = HashSet::new();
        let mut buf = Vec::new();
        for (n, run) in self.runs.iter().enumerate() {
            for i in 0..run.rows() {
                buf.clear();
                run.keys.write_at(i, &mut buf);
                if run.hash[i] != xxhash_rust::xxh3::xxh3_64(&buf) {
                    return Err(format!("run {n} row {i}: hash is not xxh3 of the key"));
                }
                if i > 0 && !run.cmp_rows(i - 1, run, i).is_lt() {
                    return Err(format!("run {n} row {i}: out of order"));
                }
                if !run.is_live(i) {
                    continue;
                }
                let (r, c) = (run.replica[i], run.counter[i]);
                if r as usize >= self.ctx.table().len() {
                    return Err(format!("run {n} row {i}: replica {r} not in the table"));
                }
                if !self.ctx.dots().contains(r, c) {
                    return Err(format!(
                        "run {n} row {i}: dot ({r}, {c}) not in the context"
                    ));
                }
                if !seen.insert((r, c)) {
                    return Err(format!("run {n} row {i}: dot ({r}, {c}) live twice"));
                }
            }
        }
        for (r, d) in self.ctx.dots().replicas().iter().enumerate() {
            if d.cloud()
                .min()
                .is_some_and(|m| m <= d.prefix().saturating_add(1))
            {
                return Err(format!("replica {r}: context not compact"));
            }
        }
        Ok(())
    }

    /// The delta a peer whose context is `peer` needs: every entry whose dot the peer has
    /// not seen, and a context that tells it what we removed. Joining the result into the
    /// peer gives exactly what joining this whole store would give.
    ///
    /// The delta's context is `C - (S ∩ C_peer)`: all we have seen, except the dots we still
    /// hold that the peer has seen too (which it must keep, not treat as removed).
    pub fn delta_since(&self, peer: &CausalContext) -> Self {
        let table = self.ctx.table();
        // our replica index -> peer's dots
        let empty = ReplicaDots::new();
        let peer_dots: Vec<&ReplicaDots> = table
            .names()
            .iter()
            .map(|n| {
                peer.table()
                    .get(n)
                    .and_then(|i| peer.dots().get(i))
                    .unwrap_or(&empty)
            })
            .collect();
        let all = self.merged();
        let mut run = Run::default();
        let mut holes: Vec<RoaringTreemap> = vec![RoaringTreemap::new(); table.len()];
        for i in 0..all.rows() {
            let (r, c) = (all.replica[i], all.counter[i]);
            if peer_dots[r as usize].contains(c) {
                holes[r as usize].insert(c);
            } else {
                run.push_row(&all, i, r);
            }
        }
        let mut dots = DotContext::new();
        for (r, d) in self.ctx.dots().replicas().iter().enumerate() {
            let h = &holes[r];
            let slot = if h.is_empty() {
                d.clone()
            } else {
                // 1..first_hole stays a prefix; from the first hole on, the range is spelled
                // out in the bitmap. A range too long to spell out (a replica that issued
                // billions of events before a dot we still hold) falls back to the whole
                // state, which is always a correct delta.
                let first_hole = h.min().unwrap_or(1);
                if d.prefix().saturating_sub(first_hole) > MAX_SPELLED_RANGE {
                    return self.clone();
                }
                let mut set = d.cloud().clone();
                if d.prefix() >= first_hole {
                    set.insert_range(first_hole..=d.prefix());
                }
                set -= h;
                ReplicaDots::from_parts(first_hole.min(d.prefix() + 1) - 1, set)
            };
            *dots.replica_mut(r as u32) = slot;
        }
        Self {
            ctx: CausalContext::from_parts(table.clone(), dots),
            runs: if run.rows() > 0 { vec![run] } else { vec![] },
        }
    }

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
        Ok((self.ctx.table_mut().intern(replica), first))
    }

    /// The dots of every live entry of `keys`: what a writer that replaces those keys has
    /// seen of them.
    pub(crate) fn seen_of<'k>(&self, keys: impl IntoIterator<Item = &'k K>) -> DotContext {
        let mut seen = DotContext::new();
        for k in keys {
            for (r, c, _) in self.entries_of(k) {
                seen.insert(r, c);
            }
        }
        seen
    }

    /// The one local write every mutator makes: issues `replica` one new dot per row of
    /// `rows` (`(key hash, key, cell)`, in any order, each key at most once), covers `seen`
    /// (the dots of this state the write replaces, by this store's replica indices), joins
    /// the delta that says so and returns it. With no rows and nothing seen, nothing changes
    /// and the delta is empty.
    ///
    /// # Errors
    /// [`crate::Error::CounterOverflow`] when `replica` cannot issue `rows.len()` more dots;
    /// nothing changes.
    pub(crate) fn write_local(
        &mut self,
        replica: &crate::ReplicaId,
        rows: &[(u64, &K, &V)],
        mut seen: DotContext,
    ) -> crate::Result<Self> {
        let mut run = Run::with_capacity(rows.len());
        if !rows.is_empty() {
            let n = rows.len() as u64;
            let (me, first) = self.reserve_dots(replica, n)?;
            seen.insert_range(me, first, first + n - 1)?;
            for (k, &(h, key, cell)) in rows.iter().enumerate() {
                run.push(h, key, me, first + k as u64, cell);
            }
        }
        Ok(self.join_local(run, seen))
    }

    /// [`CausalStore::write_local`] without rows (a remove): covers `seen`, issues no dot,
    /// so it cannot fail.
    pub(crate) fn remove_local(&mut self, seen: DotContext) -> Self {
        self.join_local(Run::default(), seen)
    }

    /// Joins and returns the delta of the new entries `run` and the covered dots `ctx`
    /// (empty, changing nothing, when both are).
    fn join_local(&mut self, mut run: Run<K, V>, ctx: DotContext) -> Self {
        if run.rows() == 0 && ctx.replicas().iter().all(|d| d.is_empty()) {
            return Self::new();
        }
        run.sort();
        let delta = Self {
            ctx: CausalContext::from_parts(self.ctx.table().clone(), ctx),
            runs: if run.rows() > 0 { vec![run] } else { vec![] },
        };
        self.join(&delta);
        delta
    }

    /// The kind and types this store's digests fold in (contract 12), e.g.
    /// `MVMap<utf8,int64>`, `AWSet<uint64,unit>`, `PNCounterMap<binary,(uint64,uint64)>`,
    /// `LWWMap<int64,(uint64,(bool,utf8))>`. The kind follows from the value type, as on the
    /// wire: `unit` is an `AWSet`, `(uint64,uint64)` a `PNCounterMap`,
    /// `(uint64,(bool,_))` an `LWWMap`, any other an `MVMap`.
    pub fn type_description() -> String {
        let value = V::type_name();
        let kind = if value == "unit" {
            "AWSet"
        } else if value == "(uint64,uint64)" {
            "PNCounterMap"
        } else if value.starts_with("(uint64,(bool,") {
            "LWWMap"
        } else {
            "MVMap"
        };
        format!("{kind}<{},{value}>", K::type_name())
    }

    /// The seed of every entry hash: `xxh3_64` of [`Self::type_description`], so entries
    /// (and the state, bucket and key digests built from them) of different types differ.
    fn type_seed() -> u64 {
        xxh3_64(Self::type_description().as_bytes())
    }

    /// The digest element of the type itself (so that empty states of different types
    /// differ): `xxh3_128` of the byte 3 followed by [`Self::type_description`].
    fn type_hash() -> u128 {
        let mut b = vec![3u8];
        b.extend_from_slice(Self::type_description().as_bytes());
        xxh3_128(&b)
    }

    /// The 128-bit hash of one live entry, by replica *name* (the unit of every digest),
    /// seeded with the store's type.
    fn entry_hash(&self, run: &Run<K, V>, i: usize, seed: u64, buf: &mut Vec<u8>) -> u128 {
        let names = self.ctx.table().names();
        buf.clear();
        buf.push(1);
        let start = buf.len();
        buf.extend_from_slice(&[0; 8]);
        run.keys.write_at(i, buf);
        let klen = (buf.len() - start - 8) as u64;
        buf[start..start + 8].copy_from_slice(&klen.to_le_bytes());
        let name = names[run.replica[i] as usize].as_bytes();
        buf.extend_from_slice(&(name.len() as u64).to_le_bytes());
        buf.extend_from_slice(name);
        buf.extend_from_slice(&run.counter[i].to_le_bytes());
        run.values.write_at(i, buf);
        xxh3_128_with_seed(buf, seed)
    }

    /// The digest of the context alone (by replica name).
    pub fn context_digest(&self) -> u128 {
        let mut d = Digest::new();
        self.add_context_to(&mut d);
        d.finish()
    }

    fn add_context_to(&self, d: &mut Digest) {
        let names = self.ctx.table().names();
        let mut buf = Vec::with_capacity(64);
        for (name, dots) in names.iter().zip(self.ctx.dots().replicas()) {
            if dots.is_empty() {
                continue;
            }
            buf.clear();
            buf.push(2);
            buf.extend_from_slice(&(name.as_bytes().len() as u64).to_le_bytes());
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(&dots.prefix().to_le_bytes());
            for (first, len) in dots.cloud_runs() {
                buf.extend_from_slice(&first.to_le_bytes());
                buf.extend_from_slice(&len.to_le_bytes());
            }
            d.add_hash(xxh3_128(&buf));
        }
    }

    /// Order-independent 128-bit digest of the entries, the context and the type, by
    /// replica *name*: equal stores have equal digests whatever their interning order or run
    /// layout, and stores of different kinds or key or value types differ by construction
    /// (contract 12).
    ///
    /// The formula: the [`Digest`] (wrapping sum of 128-bit hashes and their count) of
    /// - per live entry, `xxh3_128_with_seed(1, key length: u64, key bytes, name length: u64,
    ///   name, counter: u64, value bytes; seed)` with `seed = xxh3_64(type description)`
    ///   ([`Self::type_description`]; integers little-endian, items as
    ///   [`Item::write_bytes`]);
    /// - per replica with dots, `xxh3_128(2, name length: u64, name, prefix: u64, then each
    ///   cloud run's first: u64 and length: u64)`;
    /// - once, `xxh3_128(3, type description)`.
    pub fn digest(&self) -> u128 {
        let mut d = Digest::new();
        let mut buf = Vec::with_capacity(64);
        let seed = Self::type_seed();
        for run in &self.runs {
            for i in 0..run.rows() {
                if run.is_live(i) {
                    d.add_hash(self.entry_hash(run, i, seed, &mut buf));
                }
            }
        }
        self.add_context_to(&mut d);
        d.add_hash(Self::type_hash());
        d.finish()
    }

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
                Self {
                    ctx: CausalContext::from_parts(
                        self.ctx.table().clone(),
                        DotContext::from_replicas(dots),
                    ),
                    runs: if run.rows() > 0 { vec![run] } else { vec![] },
                }
            })
            .collect()
    }

    /// Digests of the entries per bucket of the key-hash space (`2^bits` buckets, bucket =
    /// the top `bits` bits of `xxh3_64(key)`, so a bucket is a contiguous range of the
    /// store's order). Two stores with equal entries have equal bucket digests; comparing
    /// them finds where two replicas differ without shipping the entries. The entry hashes
    /// are seeded with the type (as in [`Self::digest`]), so buckets of stores of different
    /// types differ too. The context is not included (see [`Self::context_digest`]).
    ///
    /// # Errors
    /// [`crate::Error::Kernel`] when `bits` exceeds
    /// [`pluriverse_kernels::digest::MAX_BUCKET_BITS`].
    pub fn bucket_digests(&self, bits: u32) -> crate::Result<Vec<u128>> {
        let mut hashes = Vec::with_capacity(self.len());
        let mut rows = Vec::with_capacity(self.len());
        let mut buf = Vec::with_capacity(64);
        let seed = Self::type_seed();
        for run in &self.runs {
            for i in 0..run.rows() {
                if run.is_live(i) {
                    hashes.push(run.hash[i]);
                    rows.push(self.entry_hash(run, i, seed, &mut buf));
                }
            }
        }
        let b = pluriverse_kernels::digest::bucket_digests(&hashes, &rows, bits)?;
        Ok(b.iter().map(Digest::finish).collect())
    }

    /// [`Self::bucket_digests`] of the buckets that hold entries only, as `(bucket, digest)`
    /// in bucket order: memory and time proportional to the entries, not to `2^bits` (an
    /// empty bucket's digest is the same for every store, so comparing two stores' lists
    /// finds the same differing buckets as comparing the full vectors).
    ///
    /// # Errors
    /// As [`Self::bucket_digests`].
    ///
    /// # Example
    /// ```
    /// use pluriverse::AWSet;
    /// let mut s: AWSet<u64> = AWSet::new("a");
    /// s.add_many(&[1, 2, 3]).unwrap();
    /// let sparse = s.store().sparse_bucket_digests(24).unwrap();
    /// assert!(sparse.len() <= 3);
    /// let dense = s.store().bucket_digests(8).unwrap();
    /// for (b, d) in s.store().sparse_bucket_digests(8).unwrap() {
    ///     assert_eq!(dense[b as usize], d);
    /// }
    /// ```
    pub fn sparse_bucket_digests(&self, bits: u32) -> crate::Result<Vec<(u32, u128)>> {
        let max = pluriverse_kernels::digest::MAX_BUCKET_BITS;
        if bits > max {
            return Err(pluriverse_kernels::KernelError::BucketBits { bits, max }.into());
        }
        let m = self.merged_cow();
        let seed = Self::type_seed();
        let mut buf = Vec::with_capacity(64);
        let mut out: Vec<(u32, u128)> = Vec::new();
        let mut cur: Option<(u32, Digest)> = None;
        for i in 0..m.rows() {
            // bits <= 24: a bucket fits u32
            let b = pluriverse_kernels::digest::bucket_of(m.hash[i], bits) as u32;
            match cur.as_mut() {
                Some((cb, d)) if *cb == b => d.add_hash(self.entry_hash(&m, i, seed, &mut buf)),
                _ => {
                    if let Some((cb, d)) = cur.take() {
                        out.push((cb, d.finish()));
                    }
                    let mut d = Digest::new();
                    d.add_hash(self.entry_hash(&m, i, seed, &mut buf));
                    cur = Some((b, d));
                }
            }
        }
        if let Some((cb, d)) = cur {
            out.push((cb, d.finish()));
        }
        Ok(out)
    }

    /// [`Self::key_digests`] for the buckets listed in `buckets` (sorted, as
    /// [`Self::sparse_bucket_digests`] gives them): no `2^bits` table.
    pub fn key_digests_in(&self, bits: u32, buckets: &[u32]) -> Vec<(K, u128)> {
        self.key_digests_where(bits, |b| buckets.binary_search(&(b as u32)).is_ok())
    }

    /// Per distinct key whose bucket (as in [`Self::bucket_digests`]) is selected by
    /// `selected`, the digest of that key's entries, in the store's `(hash, key)` order.
    /// Comparing two stores' lists names the keys where they differ.
    pub fn key_digests(&self, bits: u32, selected: &[bool]) -> Vec<(K, u128)> {
        self.key_digests_where(bits, |b| selected.get(b).copied().unwrap_or(false))
    }

    fn key_digests_where(&self, bits: u32, selected: impl Fn(usize) -> bool) -> Vec<(K, u128)> {
        let bits = bits.min(pluriverse_kernels::digest::MAX_BUCKET_BITS);
        let m = self.merged_cow();
        let mut out: Vec<(K, u128)> = Vec::new();
        let mut cur: Option<(usize, Digest)> = None;
        let mut buf = Vec::with_capacity(64);
        let seed = Self::type_seed();
        for i in 0..m.rows() {
            if !selected(pluriverse_kernels::digest::bucket_of(m.hash[i], bits)) {
                continue;
            }
            let same_key = cur.as_ref().is_some_and(|(start, _)| {
                m.hash[*start] == m.hash[i] && m.keys.cmp_at(*start, &m.keys, i).is_eq()
            });
            if !same_key {
                if let Some((start, d)) = cur.take() {
                    out.push((m.keys.get(start), d.finish()));
                }
                cur = Some((i, Digest::new()));
            }
            if let Some((_, d)) = cur.as_mut() {
                d.add_hash(self.entry_hash(&m, i, seed, &mut buf));
            }
        }
        if let Some((start, d)) = cur {
            out.push((m.keys.get(start), d.finish()));
        }
        out
    }
}

impl<K: crate::wire::ArrowItem, V: crate::wire::Cells> CausalStore<K, V> {
    /// The state as Arrow IPC stream bytes in the documented format ([`crate::wire`]):
    /// equal states give identical bytes.
    ///
    /// # Errors
    /// [`crate::Error::Encode`] only if Arrow refuses the arrays (a bug).
    pub fn to_bytes(&self) -> crate::Result<Vec<u8>> {
        crate::wire::encode_store(self)
    }

    /// A state from bytes written by [`CausalStore::to_bytes`] for the same kind and types.
    ///
    /// # Errors
    /// [`crate::Error::Decode`] naming what is wrong with the bytes.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        Ok(crate::wire::decode_store(bytes)?)
    }

    /// [`CausalStore::from_bytes`] within caller-chosen [`crate::wire::Limits`].
    ///
    /// # Errors
    /// As [`CausalStore::from_bytes`]; a breached limit is
    /// [`crate::wire::DecodeError::Limit`].
    pub fn from_bytes_with_limits(
        bytes: &[u8],
        limits: &crate::wire::Limits,
    ) -> crate::Result<Self> {
        Ok(crate::wire::decode_store_with_limits(bytes, limits)?)
    }

    /// The state in the compact encoding of the sync protocol's payloads
    /// ([`crate::wire::encode_compact`]): the content without a schema, for peers that
    /// know the type.
    pub fn to_compact(&self) -> Vec<u8> {
        crate::wire::encode_compact(self)
    }

    /// A state from [`CausalStore::to_compact`] bytes of the same kind and types, within
    /// `limits`.
    ///
    /// # Errors
    /// [`crate::Error::Decode`] naming what is wrong with the bytes (see
    /// [`crate::wire::decode_compact_with_limits`]).
    pub fn from_compact_with_limits(
        bytes: &[u8],
        limits: &crate::wire::Limits,
    ) -> crate::Result<Self> {
        Ok(crate::wire::decode_compact_with_limits(bytes, limits)?)
    }

    /// The state as Arrow record batches (schema and rows as in [`crate::wire`]).
    ///
    /// # Errors
    /// As [`CausalStore::to_bytes`].
    pub fn to_record_batches(
        &self,
    ) -> crate::Result<(arrow_schema::SchemaRef, Vec<arrow_array::RecordBatch>)> {
        crate::wire::to_record_batches(self)
    }
}

/// Whether row `i` of `a` and row `j` of `b` (one dot) carry the same key and value.
fn same_content<K: Item, V: Item>(a: &Run<K, V>, i: usize, b: &Run<K, V>, j: usize) -> bool {
    a.hash[i] == b.hash[j]
        && a.keys.cmp_at(i, &b.keys, j).is_eq()
        && a.values.cmp_at(i, &b.values, j).is_eq()
}

/// Whether `map` sends every index to itself.
fn is_identity(map: &[u32]) -> bool {
    map.iter().enumerate().all(|(i, &m)| m as usize == i)
}

/// Whether `map` keeps the order of indices (re-indexed rows stay sorted).
fn is_monotonic(map: &[u32]) -> bool {
    map.windows(2).all(|w| w[0] < w[1])
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
