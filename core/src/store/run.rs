//! A sorted run: entries `(key, dot, value)` column by column, sorted by
//! `(xxh3(key), key, replica, counter)`, plus a bitmap of rows deleted since it was built.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

use pluriverse_kernels::interleave::{
    interleave_in_place, AnyPick, CheckedPlan, Part, Pick, Pick32,
};
use roaring::RoaringBitmap;

use super::merge::{self, Step};
use super::slice::live_hash;

use crate::item::{Item, ItemCol};

/// Interleaves of at least this many rows fill their columns in parallel.
const PAR_INTERLEAVE_ROWS: usize = 1 << 16;

/// Runs of at least this many rows get a hash directory on their first key lookup.
const DIR_MIN_ROWS: usize = 1 << 12;

/// Runs of at most this many rows are scanned for dots instead of indexed by dot.
pub(crate) const SCAN_ROWS: usize = 256;

/// One sorted run of a causal dot store. Runs are immutable once built except for
/// `deleted`, which marks rows removed by later joins (so removing one entry from a
/// ten-million-row run costs a bitmap insert, not a rewrite).
#[derive(Clone, Debug)]
pub(crate) struct Run<K: Item, V: Item> {
    pub hash: Vec<u64>,
    pub keys: K::Col,
    pub replica: Vec<u32>,
    pub counter: Vec<u64>,
    pub values: V::Col,
    pub deleted: RoaringBitmap,
    /// Row ids sorted by `(replica, counter)`, built on first use.
    by_dot: OnceLock<Vec<u32>>,
    /// For long runs, built on first use: `dir[b]` is the first row whose hash has `b` in
    /// its top bits, so a key lookup reads one slot and a bucket of a few rows instead of
    /// bisecting the whole hash column (a cache miss per step).
    dir: OnceLock<(u32, Vec<u32>)>,
    /// For runs longer than [`SCAN_ROWS`], built on the first range summary: sums over
    /// the dot index that make a range's summary cost O(log rows) (see [`DotSums`]).
    sums: SumsCell,
}

impl<K: Item, V: Item> Default for Run<K, V> {
    fn default() -> Self {
        Self {
            hash: Vec::new(),
            keys: K::Col::default(),
            replica: Vec::new(),
            counter: Vec::new(),
            values: V::Col::default(),
            deleted: RoaringBitmap::new(),
            by_dot: OnceLock::new(),
            dir: OnceLock::new(),
            sums: SumsCell::default(),
        }
    }
}

/// Positions of [`Run::by_dot`] per block of [`DotSums`].
const BLOCK: usize = 32;

/// Sums over a run's dot index ([`Run::by_dot`]) for range summaries: per block of
/// [`BLOCK`] positions, the live rows and the wrapping sum of their `live_hash`, with
/// prefix sums over the blocks, so that the live part of a range's summary costs two
/// searches of the index and two partial blocks.
///
/// Exact by construction, never stale: the sums are those of the rows live when they
/// were last brought up to date, and `deleted` is the set they reflect. A run's rows never
/// change once built (a row inserted into a short run resets the cell), only `deleted`
/// grows; every use compares it with the run's and, when it grew, takes the new rows out
/// of their blocks (O(new rows + blocks)); any other difference rebuilds the sums.
#[derive(Clone, Debug)]
pub(crate) struct DotSums {
    /// Row -> its position in `by_dot`.
    pos: Vec<u32>,
    block_live: Vec<u32>,
    block_sum: Vec<u128>,
    /// `pre_live[b]`, `pre_sum[b]`: the sums of blocks `0..b`.
    pre_live: Vec<u64>,
    pre_sum: Vec<u128>,
    /// The deleted rows the sums reflect.
    deleted: RoaringBitmap,
}

impl DotSums {
    fn build<K: Item, V: Item>(run: &Run<K, V>) -> Self {
        let ids = run.by_dot();
        let mut pos = vec![0u32; ids.len()];
        for (p, &row) in ids.iter().enumerate() {
            pos[row as usize] = p as u32;
        }
        let blocks = ids.len().div_ceil(BLOCK);
        let (mut block_live, mut block_sum) = (vec![0u32; blocks], vec![0u128; blocks]);
        for (p, &row) in ids.iter().enumerate() {
            if run.is_live(row as usize) {
                block_live[p / BLOCK] += 1;
                block_sum[p / BLOCK] =
                    block_sum[p / BLOCK].wrapping_add(live_hash(run.counter[row as usize]));
            }
        }
        let mut s = Self {
            pos,
            block_live,
            block_sum,
            pre_live: vec![],
            pre_sum: vec![],
            deleted: run.deleted.clone(),
        };
        s.prefix();
        s
    }

    fn prefix(&mut self) {
        let n = self.block_live.len();
        self.pre_live = Vec::with_capacity(n + 1);
        self.pre_sum = Vec::with_capacity(n + 1);
        let (mut l, mut h) = (0u64, 0u128);
        for b in 0..n {
            self.pre_live.push(l);
            self.pre_sum.push(h);
            l += u64::from(self.block_live[b]);
            h = h.wrapping_add(self.block_sum[b]);
        }
        self.pre_live.push(l);
        self.pre_sum.push(h);
    }

    /// Brings the sums up to date with `run`'s deleted rows.
    fn refresh<K: Item, V: Item>(&mut self, run: &Run<K, V>) {
        if self.pos.len() != run.rows() || !self.deleted.is_subset(&run.deleted) {
            *self = Self::build(run);
            return;
        }
        if self.deleted.len() == run.deleted.len() {
            return;
        }
        for row in &run.deleted - &self.deleted {
            let b = self.pos[row as usize] as usize / BLOCK;
            self.block_live[b] -= 1;
            self.block_sum[b] =
                self.block_sum[b].wrapping_sub(live_hash(run.counter[row as usize]));
        }
        self.prefix();
        self.deleted = run.deleted.clone();
    }
}

/// The lazily built [`DotSums`] of a run (cloned with the run).
#[derive(Debug, Default)]
struct SumsCell(Mutex<Option<DotSums>>);

impl Clone for SumsCell {
    fn clone(&self) -> Self {
        let inner = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Self(Mutex::new(inner))
    }
}

impl<K: Item, V: Item> Run<K, V> {
    /// An empty run with room for `n` rows (large columns advised to huge pages, see
    /// `pluriverse_kernels::pages`: a fresh run's first touch would otherwise fault in
    /// 4 KiB at a time).
    pub fn with_capacity(n: usize) -> Self {
        use pluriverse_kernels::pages;
        let mut r = Self {
            hash: pages::with_capacity(n),
            replica: pages::with_capacity(n),
            counter: pages::with_capacity(n),
            ..Self::default()
        };
        r.keys.reserve(n);
        r.values.reserve(n);
        r
    }

    /// Rows, deleted ones included.
    pub fn rows(&self) -> usize {
        self.hash.len()
    }

    /// Rows not deleted.
    pub fn live(&self) -> usize {
        self.rows() - self.deleted.len() as usize
    }

    #[inline]
    pub fn is_live(&self, row: usize) -> bool {
        !self.deleted.contains(row as u32)
    }

    /// Appends row `i` of `src` with its replica index replaced by `replica`.
    #[inline]
    pub fn push_row(&mut self, src: &Self, i: usize, replica: u32) {
        self.hash.push(src.hash[i]);
        self.keys.push_from(&src.keys, i);
        self.replica.push(replica);
        self.counter.push(src.counter[i]);
        self.values.push_from(&src.values, i);
    }

    /// These rows (none deleted) with every replica index `r` replaced by `map[r]`: the
    /// replica column in the new indices, and where the new indices reorder the dots of
    /// some keys (`map` not increasing), the order of the rows under them (the identity
    /// outside those keys' rows; the hashes and keys, which order everything else, do not
    /// change). No other column is copied: a join reads them where they are.
    ///
    /// # Panics
    /// If a row's replica is not an index of `map`, or a row is deleted.
    pub fn remapped(&self, map: &[u32]) -> Remapped {
        assert!(self.deleted.is_empty(), "remapped: a run with deleted rows");
        let replica: Vec<u32> = self.replica.iter().map(|&r| map[r as usize]).collect();
        let mut order: Option<Vec<Pick>> = None;
        if !is_monotonic(map) {
            // rows of one hash are consecutive; where a group is out of order under the new
            // indices, the run gets an order (the identity elsewhere)
            let cmp = |i: usize, j: usize| {
                self.keys
                    .cmp_at(i, &self.keys, j)
                    .then_with(|| replica[i].cmp(&replica[j]))
                    .then_with(|| self.counter[i].cmp(&self.counter[j]))
            };
            let n = self.rows();
            let mut i = 0;
            while i < n {
                let h = self.hash[i];
                let j = i + self.hash[i..].iter().take_while(|&&x| x == h).count();
                if j - i > 1 && (i + 1..j).any(|k| cmp(k - 1, k).is_gt()) {
                    let p = order.get_or_insert_with(|| (0..n).map(Pick::left).collect());
                    p[i..j].sort_unstable_by(|a, b| cmp(a.index(), b.index()));
                }
                i = j;
            }
        }
        Remapped { replica, order }
    }

    /// Appends the live rows of `src` in `range`, in bulk between deleted rows.
    pub fn extend_live(&mut self, src: &Self, range: Range<usize>) {
        let mut from = range.start;
        if !src.deleted.is_empty() && !range.is_empty() {
            for dead in src.deleted.range(range.start as u32..range.end as u32) {
                self.extend_rows(src, from..dead as usize);
                from = dead as usize + 1;
            }
        }
        self.extend_rows(src, from..range.end);
    }

    /// Appends rows `range` of `src`, deleted or not.
    fn extend_rows(&mut self, src: &Self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.hash.extend_from_slice(&src.hash[range.clone()]);
        self.keys.extend_range(&src.keys, range.clone());
        self.replica.extend_from_slice(&src.replica[range.clone()]);
        self.counter.extend_from_slice(&src.counter[range.clone()]);
        self.values.extend_range(&src.values, range);
    }

    /// The live rows of two sorted runs merged into one (no dot is live in both).
    pub fn merge_live(a: &Self, b: &Self) -> Self {
        let mut out = Self::with_capacity(a.live() + b.live());
        let clean = (a.deleted.is_empty(), b.deleted.is_empty());
        let mut m = merge::runs(a, 0..a.rows(), b, 0..b.rows());
        while let Some(step) = m.next_pair() {
            match Self::live_of(a, b, step, clean) {
                Some((false, i)) => out.push_row(a, i, a.replica[i]),
                Some((true, j)) => out.push_row(b, j, b.replica[j]),
                None => {}
            }
        }
        // the rest of the longer side, in bulk between deleted rows
        let (ra, rb) = m.rest();
        out.extend_live(a, ra);
        out.extend_live(b, rb);
        out
    }

    /// [`Run::merge_live`] written into `a`'s own columns (grown in place, as
    /// [`Run::interleave_plans_into`] does): `a` is not copied, and its old columns are not
    /// held beside the merged ones, for a lower peak (the copy of [`Run::merge_live`] is
    /// faster where the peak does not matter).
    pub fn merge_live_into(a: Self, b: &Self) -> Self {
        if b.rows() == 0 && a.deleted.is_empty() {
            return a;
        }
        if a.rows().max(b.rows()) <= Pick32::MAX_INDEX {
            let plan = [Self::live_merge_plan::<Pick32>(&a, b)];
            Self::interleave_plans_into(a, b, &plan)
        } else {
            let plan = [Self::live_merge_plan::<Pick>(&a, b)];
            Self::interleave_plans_into(a, b, &plan)
        }
    }

    /// The plan of [`Run::merge_live`]: the live rows of `a` and `b`, in order.
    fn live_merge_plan<Q: AnyPick>(a: &Self, b: &Self) -> Part<Q> {
        let mut plan = Vec::with_capacity(a.live() + b.live());
        let clean = (a.deleted.is_empty(), b.deleted.is_empty());
        plan.extend(
            merge::runs(a, 0..a.rows(), b, 0..b.rows()).filter_map(|step| {
                match Self::live_of(a, b, step, clean)? {
                    (false, i) => Some(Q::left(i)),
                    (true, j) => Some(Q::right(j)),
                }
            }),
        );
        Part::from(plan)
    }

    /// Of one step of the merge of `a` and `b` (`clean`: whether each has no deleted
    /// row), the live row it keeps: `(false, i)` row `i` of `a`, `(true, j)` row `j` of
    /// `b`. Of an entry in both, one copy at most is live.
    #[inline]
    fn live_of(a: &Self, b: &Self, step: Step, clean: (bool, bool)) -> Option<(bool, usize)> {
        let live_a = |i: usize| clean.0 || a.is_live(i);
        let live_b = |j: usize| clean.1 || b.is_live(j);
        match step {
            Step::Left(i) => live_a(i).then_some((false, i)),
            Step::Right(j) => live_b(j).then_some((true, j)),
            Step::Both(i, _) if live_a(i) => Some((false, i)),
            Step::Both(_, j) => live_b(j).then_some((true, j)),
        }
    }

    /// The rows the plans name (a left pick of any width, counted from its part's base, is
    /// a row of `a`, a right one a row of `b`),
    /// in order, written into `a`'s own columns (fixed-width columns grow in place; see
    /// [`ItemCol::interleave_in_place`]; the columns are filled in parallel when the plans
    /// are long): the merge's output reuses the memory of the run it replaces instead of
    /// faulting in fresh pages, and the peak is the output plus the plan. The plans must not
    /// name a deleted row of `a` (they name rows, not live rows); the output has none.
    ///
    /// # Panics
    /// If a pick names a row its run does not have, or the left picks are not in order.
    pub fn interleave_plans_into<Q: AnyPick>(a: Self, b: &Self, plans: &[Part<Q>]) -> Self {
        Self::interleave_plans_into_with(a, b, &b.replica, plans)
    }

    /// [`Run::interleave_plans_into`] with `b_replica` for `b`'s replica column (a side
    /// whose replica indices were mapped into `a`'s, its other columns as they are).
    pub fn interleave_plans_into_with<Q: AnyPick>(
        a: Self,
        b: &Self,
        b_replica: &[u32],
        plans: &[Part<Q>],
    ) -> Self {
        debug_assert!(plans.iter().all(|part| part
            .picks
            .iter()
            .all(|p| p.is_right() || a.is_live(part.left + p.index()))));
        let plan = CheckedPlan::new(plans, a.rows(), b.rows())
            .unwrap_or_else(|e| panic!("a join plan names rows of its two runs, in order: {e}"));
        let Self {
            hash,
            keys,
            replica,
            counter,
            values,
            ..
        } = a;
        fn fixed<T: Copy + Default, Q: AnyPick>(
            mut col: Vec<T>,
            other: &[T],
            plan: &CheckedPlan<'_, Part<Q>, Q>,
        ) -> Vec<T> {
            interleave_in_place(&mut col, other, plan)
                .unwrap_or_else(|e| panic!("the plan was checked for these runs: {e}"));
            col
        }
        let hash_col = || fixed(hash, &b.hash, &plan);
        let counter_col = || fixed(counter, &b.counter, &plan);
        let replica_col = || fixed(replica, b_replica, &plan);
        let keys_col = || {
            let mut keys = keys;
            keys.interleave_in_place(&b.keys, &plan);
            keys
        };
        let values_col = || {
            let mut values = values;
            values.interleave_in_place(&b.values, &plan);
            values
        };
        // a task a column, so that the pool's threads share them out as they finish
        let ((hash, counter), ((replica, keys), values)) = if plan.len() >= PAR_INTERLEAVE_ROWS {
            rayon::join(
                || rayon::join(hash_col, counter_col),
                || rayon::join(|| rayon::join(replica_col, keys_col), values_col),
            )
        } else {
            (
                (hash_col(), counter_col()),
                ((replica_col(), keys_col()), values_col()),
            )
        };
        Self {
            hash,
            keys,
            replica,
            counter,
            values,
            ..Self::default()
        }
    }

    /// Inserts row `j` of `src`, with replica index `replica`, at its sorted place; returns
    /// the place. Shifts later rows (meant for short runs) and forgets the dot index.
    pub fn insert_row(&mut self, src: &Self, j: usize, replica: u32) -> usize {
        let key = |i: usize| {
            self.hash[i]
                .cmp(&src.hash[j])
                .then_with(|| self.keys.cmp_at(i, &src.keys, j))
                .then_with(|| self.replica[i].cmp(&replica))
                .then_with(|| self.counter[i].cmp(&src.counter[j]))
        };
        let at = partition(self.rows(), |i| key(i).is_lt());
        self.hash.insert(at, src.hash[j]);
        self.keys.insert_from(at, &src.keys, j);
        self.replica.insert(at, replica);
        self.counter.insert(at, src.counter[j]);
        self.values.insert_from(at, &src.values, j);
        if self.deleted.max().is_some_and(|m| m as usize >= at) {
            self.deleted = self
                .deleted
                .iter()
                .map(|d| if d as usize >= at { d + 1 } else { d })
                .collect();
        }
        self.by_dot = OnceLock::new();
        self.dir = OnceLock::new();
        self.sums = SumsCell::default();
        at
    }

    /// Calls `f` with each row of `replica` whose counter is in `lo..=hi`, in counter
    /// order for indexed runs (short runs are scanned instead, in row order).
    pub fn for_dots_in(&self, replica: u32, lo: u64, hi: u64, mut f: impl FnMut(u32)) {
        if self.rows() <= SCAN_ROWS {
            for i in 0..self.rows() {
                if self.replica[i] == replica && (lo..=hi).contains(&self.counter[i]) {
                    f(i as u32);
                }
            }
        } else {
            let ids = self.by_dot();
            for p in self.dot_range(replica, lo, hi) {
                f(ids[p]);
            }
        }
    }

    /// Order of row `i` of `self` against row `j` of `other` on the full sort key.
    #[inline]
    pub fn cmp_rows(&self, i: usize, other: &Self, j: usize) -> Ordering {
        self.hash[i]
            .cmp(&other.hash[j])
            .then_with(|| self.keys.cmp_at(i, &other.keys, j))
            .then_with(|| self.replica[i].cmp(&other.replica[j]))
            .then_with(|| self.counter[i].cmp(&other.counter[j]))
    }

    /// Rows whose key is `key` (hash `hash`), live or not.
    pub fn key_range(&self, hash: u64, key: &K) -> Range<usize> {
        let Range { start: lo, end: hi } = self.hash_range(hash);
        let start = lo
            + (lo..hi)
                .take_while(|&i| self.keys.cmp_item(i, key) == Ordering::Less)
                .count();
        let end = start
            + (start..hi)
                .take_while(|&i| self.keys.cmp_item(i, key) == Ordering::Equal)
                .count();
        start..end
    }

    /// Rows whose hash is `hash`.
    pub fn hash_range(&self, hash: u64) -> Range<usize> {
        let (lo, hi) = match self.dir() {
            Some((bits, dir)) => {
                let b = (hash >> (64 - bits)) as usize;
                (dir[b] as usize, dir[b + 1] as usize)
            }
            None => (0, self.rows()),
        };
        let start = lo + self.hash[lo..hi].partition_point(|&h| h < hash);
        let end = start + self.hash[start..hi].partition_point(|&h| h == hash);
        start..end
    }

    /// The hash directory of a long run (see the `dir` field); `None` for short runs.
    fn dir(&self) -> Option<(u32, &[u32])> {
        if self.rows() < DIR_MIN_ROWS || self.rows() > u32::MAX as usize {
            return None;
        }
        let (bits, dir) = self.dir.get_or_init(|| {
            // about eight rows per bucket
            let bits = (self.rows() / 8).max(2).ilog2().min(24);
            let mut dir = Vec::with_capacity((1 << bits) + 1);
            for (row, &h) in self.hash.iter().enumerate() {
                let b = (h >> (64 - bits)) as usize;
                while dir.len() <= b {
                    dir.push(row as u32);
                }
            }
            dir.resize((1 << bits) + 1, self.rows() as u32);
            (bits, dir)
        });
        Some((*bits, dir))
    }

    /// Rows whose key is the key of row `j` of `other`, live or not.
    pub fn rows_of_key(&self, other: &Self, j: usize) -> Range<usize> {
        let Range { start: lo, end: hi } = self.hash_range(other.hash[j]);
        let start = lo
            + (lo..hi)
                .take_while(|&i| self.keys.cmp_at(i, &other.keys, j).is_lt())
                .count();
        let end = start
            + (start..hi)
                .take_while(|&i| self.keys.cmp_at(i, &other.keys, j).is_eq())
                .count();
        start..end
    }

    /// Whether the dot index ([`Run::by_dot`]) is built.
    pub fn has_dot_index(&self) -> bool {
        self.by_dot.get().is_some()
    }

    /// Row ids sorted by dot.
    pub fn by_dot(&self) -> &[u32] {
        self.by_dot
            .get_or_init(|| crate::radix::sort_dots(&self.replica, &self.counter))
    }

    /// Positions in [`Run::by_dot`] of the rows of `replica` with counters in `lo..=hi`.
    pub fn dot_range(&self, replica: u32, lo: u64, hi: u64) -> Range<usize> {
        let ids = self.by_dot();
        let key = |p: usize| (self.replica[ids[p] as usize], self.counter[ids[p] as usize]);
        let start = partition(ids.len(), |p| key(p) < (replica, lo));
        let end = partition(ids.len(), |p| key(p) <= (replica, hi));
        start..end.max(start)
    }

    /// Runs `f` on the run's [`DotSums`], built or brought up to date first.
    fn with_sums<R>(&self, f: impl FnOnce(&DotSums, &[u32]) -> R) -> R {
        let ids = self.by_dot();
        let mut cell = self.sums.0.lock().unwrap_or_else(|e| e.into_inner());
        match cell.as_mut() {
            Some(s) => s.refresh(self),
            None => *cell = Some(DotSums::build(self)),
        }
        let sums = cell.as_ref().map(|s| f(s, ids));
        sums.unwrap_or_else(|| unreachable!("the sums were just built"))
    }

    /// The live rows of `replica` with counters in `lo..=hi`: how many, and the wrapping
    /// sum of their `live_hash`. O(log rows) for long runs (through [`DotSums`]).
    pub fn live_sum(&self, replica: u32, lo: u64, hi: u64) -> (u64, u128) {
        let mut acc = (0u64, 0u128);
        let mut add = |row: usize| {
            if self.is_live(row) {
                acc.0 += 1;
                acc.1 = acc.1.wrapping_add(live_hash(self.counter[row]));
            }
        };
        if self.rows() <= SCAN_ROWS {
            self.for_dots_in(replica, lo, hi, |row| add(row as usize));
            return acc;
        }
        let span = self.dot_range(replica, lo, hi);
        let (l, h) = self.with_sums(|s, ids| {
            let (sb, eb) = (span.start.div_ceil(BLOCK), span.end / BLOCK);
            if sb >= eb {
                // within one block (or two partial ones)
                ids[span.clone()].iter().for_each(|&row| add(row as usize));
                return (0, 0);
            }
            ids[span.start..sb * BLOCK]
                .iter()
                .for_each(|&row| add(row as usize));
            ids[eb * BLOCK..span.end]
                .iter()
                .for_each(|&row| add(row as usize));
            (
                s.pre_live[eb] - s.pre_live[sb],
                s.pre_sum[eb].wrapping_sub(s.pre_sum[sb]),
            )
        });
        (acc.0 + l, acc.1.wrapping_add(h))
    }

    /// The counter of the `k`-th (from 0) live row of `replica` in `lo..=hi`, by counter;
    /// `None` when there are at most `k`. O(log rows) for long runs.
    pub fn kth_live(&self, replica: u32, lo: u64, hi: u64, k: u64) -> Option<u64> {
        if self.rows() <= SCAN_ROWS {
            let mut c: Vec<u64> = vec![];
            self.for_dots_in(replica, lo, hi, |row| {
                if self.is_live(row as usize) {
                    c.push(self.counter[row as usize]);
                }
            });
            c.sort_unstable();
            return c.as_slice().get(k as usize).copied();
        }
        let span = self.dot_range(replica, lo, hi);
        self.with_sums(|s, ids| {
            let live = |p: usize| self.is_live(ids[p] as usize);
            // the rank of the wanted row among all live rows of the index
            let b0 = span.start / BLOCK;
            let before = (b0 * BLOCK..span.start).filter(|&p| live(p)).count() as u64;
            let target = s.pre_live[b0] + before + k;
            let b = s
                .pre_live
                .partition_point(|&x| x <= target)
                .checked_sub(1)?;
            let mut rank = s.pre_live[b];
            let end = ((b + 1) * BLOCK).min(ids.len());
            for (p, &row) in ids.iter().enumerate().take(end).skip(b * BLOCK) {
                if self.is_live(row as usize) {
                    if rank == target {
                        return (p < span.end).then(|| self.counter[row as usize]);
                    }
                    rank += 1;
                }
            }
            None
        })
    }

    /// Sorts rows by the full sort key (used after replica indices were remapped).
    pub fn sort(&mut self) {
        if (1..self.rows()).all(|i| self.cmp_rows(i - 1, self, i).is_le()) {
            return;
        }
        let mut ids: Vec<usize> = (0..self.rows()).collect();
        ids.sort_unstable_by(|&a, &b| self.cmp_rows(a, self, b));
        let mut out = Self::with_capacity(ids.len());
        for &i in &ids {
            out.push_row(self, i, self.replica[i]);
        }
        *self = out;
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.hash.capacity() * 8
            + self.keys.heap_bytes()
            + self.replica.capacity() * 4
            + self.counter.capacity() * 8
            + self.values.heap_bytes()
            + self.deleted.serialized_size()
            + self.by_dot.get().map_or(0, |v| v.capacity() * 4)
            + self.dir.get().map_or(0, |d| d.1.capacity() * 4)
            + self
                .sums
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map_or(0, |s| s.pos.capacity() * 4 + s.block_live.len() * 44)
    }
}

/// First position in `0..n` where `pred` is false (`pred` true then false).
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Whether a replica map (their index -> ours) keeps the order of indices: rows it maps
/// stay sorted.
/// What [`Run::remapped`] returns: a run's replica column under another replica table,
/// and the order of its rows there where it differs.
#[derive(Debug)]
pub struct Remapped {
    /// The replica column in the new indices, in the run's own row order.
    pub replica: Vec<u32>,
    /// Row `order[k]` (a [`Pick::left`]) is the `k`-th in the new order, which moves rows
    /// only among rows of one hash; `None` where the order is the run's own.
    pub order: Option<Vec<Pick>>,
}

pub(crate) fn is_monotonic(map: &[u32]) -> bool {
    map.windows(2).all(|w| w[0] < w[1])
}
