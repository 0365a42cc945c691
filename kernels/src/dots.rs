//! Dot-set kernels over roaring bitmaps: causal contexts (a version-vector prefix plus a dot
//! cloud per replica), the dots of a store, batch membership, and the dot-store join.
//!
//! A dot is `(replica, counter)` with `counter >= 1`; replicas are dense `u32` indices
//! (the caller interns names). Counters are `u64`, so clouds are [`RoaringTreemap`]s and
//! counters above `u32::MAX` are exact.

use std::fmt;

use rayon::prelude::*;
use roaring::RoaringTreemap;

use crate::error::{KernelError, Result};

/// The dots of one replica in a causal context: every counter in `1..=prefix`, plus a
/// *cloud* of counters above the prefix that arrived out of order.
///
/// The representation is kept canonical by every mutator: the cloud holds only counters
/// greater than `prefix + 1` (a contiguous run starting right after the prefix is folded into
/// it, see [`ReplicaDots::compact`]). Equal dot sets therefore have equal representations.
///
/// # Example
/// ```
/// use pluriverse_kernels::dots::ReplicaDots;
/// let mut d = ReplicaDots::from_prefix(3);
/// d.insert(5);
/// assert!(d.contains(2) && !d.contains(4) && d.contains(5));
/// d.insert(4); // fills the gap: 4 and 5 fold into the prefix
/// assert_eq!((d.prefix(), d.cloud().len()), (5, 0));
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct ReplicaDots {
    prefix: u64,
    cloud: RoaringTreemap,
}

impl fmt::Debug for ReplicaDots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1..={}", self.prefix)?;
        if !self.cloud.is_empty() {
            write!(f, " + {} cloud dots", self.cloud.len())?;
        }
        Ok(())
    }
}

/// Clouds of at most this many dots are united by inserting them one by one.
const SMALL_CLOUD: u64 = 16;

impl ReplicaDots {
    /// No dots.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dots `1..=prefix`.
    pub fn from_prefix(prefix: u64) -> Self {
        Self {
            prefix,
            cloud: RoaringTreemap::new(),
        }
    }

    /// The dots `1..=prefix` plus the counters in `cloud` (counter 0 is not a dot and is
    /// ignored; counters under the prefix are redundant and dropped). Canonicalized.
    pub fn from_parts(prefix: u64, mut cloud: RoaringTreemap) -> Self {
        cloud.remove_range(..=prefix);
        let mut d = Self { prefix, cloud };
        d.compact();
        d
    }

    /// The contiguous prefix: every counter in `1..=prefix()` is present.
    pub fn prefix(&self) -> u64 {
        self.prefix
    }

    /// The counters beyond the prefix (never containing `prefix() + 1`).
    pub fn cloud(&self) -> &RoaringTreemap {
        &self.cloud
    }

    /// Number of dots.
    pub fn len(&self) -> u64 {
        self.prefix + self.cloud.len()
    }

    /// Whether there are no dots.
    pub fn is_empty(&self) -> bool {
        self.prefix == 0 && self.cloud.is_empty()
    }

    /// Whether the set is a plain prefix (no cloud): a version-vector entry.
    pub fn is_compact(&self) -> bool {
        self.cloud.is_empty()
    }

    /// The highest counter present, 0 when empty.
    pub fn max(&self) -> u64 {
        self.cloud.max().unwrap_or(self.prefix)
    }

    /// Whether `counter` is present (counter 0 never is).
    #[inline]
    pub fn contains(&self, counter: u64) -> bool {
        counter != 0 && (counter <= self.prefix || self.cloud.contains(counter))
    }

    /// Adds one dot; returns whether it was new. Counter 0 is not a dot: returns false.
    pub fn insert(&mut self, counter: u64) -> bool {
        if counter == 0 || counter <= self.prefix {
            return false;
        }
        if counter == self.prefix + 1 {
            self.prefix = counter;
            self.compact();
            true
        } else {
            self.cloud.insert(counter)
        }
    }

    /// Adds the dots `start..=end`; returns how many were new. A local batch write of a
    /// million records is one call.
    ///
    /// # Errors
    /// [`KernelError::InvalidRange`] when `start == 0` or `start > end`; nothing changes.
    pub fn insert_range(&mut self, start: u64, end: u64) -> Result<u64> {
        if start == 0 || start > end {
            return Err(KernelError::InvalidRange { start, end });
        }
        if end <= self.prefix {
            return Ok(0);
        }
        // Counted from what roaring reports, not by `len()` before and after: a roaring
        // `len()` sums every container (and every run of a run container), so it would make
        // each write cost the whole cloud.
        let added = if start <= self.prefix + 1 {
            // every cloud counter is > prefix, so the removed ones are in prefix+1..=end
            let removed = self.cloud.remove_range(..=end);
            let added = end - self.prefix - removed;
            self.prefix = end;
            added
        } else {
            self.cloud.insert_range(start..=end)
        };
        self.compact();
        Ok(added)
    }

    /// Adds every dot of `other` (set union).
    pub fn union_with(&mut self, other: &Self) {
        if other.prefix > self.prefix {
            self.prefix = other.prefix;
            self.cloud.remove_range(..=self.prefix);
        }
        if other.cloud.len() <= SMALL_CLOUD {
            // a delta's few dots: inserted one by one, no bitmap union
            for c in other.cloud.iter() {
                if c <= self.prefix {
                    // already present; also covers `self.prefix == u64::MAX`, where
                    // `prefix + 1` below would overflow
                    continue;
                }
                if c - 1 == self.prefix && self.cloud.is_empty() {
                    self.prefix = c;
                } else {
                    self.cloud.insert(c);
                }
            }
        } else {
            self.cloud |= &other.cloud;
            self.cloud.remove_range(..=self.prefix);
        }
        self.compact();
    }

    /// Folds the run of cloud counters contiguous with the prefix into the prefix; returns
    /// how many counters moved. Every mutator ends with it, so a context that has received
    /// all dots up to `n` is the plain prefix `1..=n`.
    pub fn compact(&mut self) -> u64 {
        let p = self.prefix;
        // the cloud's first run, from roaring's own run iteration (no rank queries, which
        // are linear in the containers)
        let first_run = runs_of(&self.cloud).next();
        match first_run {
            Some((first, last)) if p.checked_add(1) == Some(first) => {
                self.cloud.remove_range(..=last);
                self.prefix = last;
                last - p
            }
            _ => 0,
        }
    }

    /// The cloud as maximal runs `(first, len)` of consecutive counters, in order.
    ///
    /// One pass over roaring's own runs ([`roaring::bitmap::Iter::next_range`]): linear in
    /// the number of runs plus the bitmap's containers, never a step per dot, so a cloud of a
    /// billion contiguous dots is one cheap run and one of 25,600 gaps is 25,600 steps
    /// (the previous rank-query version cost a rank per probe, each linear in the
    /// containers: quadratic in the runs, issue 13). Runs crossing a container or a 2^32
    /// bitmap boundary come out whole.
    pub fn cloud_runs(&self) -> Vec<(u64, u64)> {
        // every cloud counter is >= 2 (> prefix + 1), so `last - first + 1` cannot overflow
        runs_of(&self.cloud)
            .map(|(first, last)| (first, last - first + 1))
            .collect()
    }

    /// This set without the counters in `s` (`C - s`), in canonical form: removing a
    /// counter inside the prefix shortens the prefix and moves the rest to the cloud.
    ///
    /// # Example
    /// ```
    /// use pluriverse_kernels::dots::ReplicaDots;
    /// use roaring::RoaringTreemap;
    /// let d = ReplicaDots::from_prefix(5);
    /// let out = d.without(&RoaringTreemap::from_iter([3u64]));
    /// assert_eq!(out.prefix(), 2);
    /// assert_eq!(out.cloud_runs(), vec![(4, 2)]);
    /// ```
    pub fn without(&self, s: &RoaringTreemap) -> Self {
        // the smallest *dot* of `s`: counter 0 is not one and removes nothing
        let mut dots = s.iter();
        dots.advance_to(1);
        match dots.next() {
            None => self.clone(),
            Some(first) if first > self.prefix => Self::from_parts(self.prefix, &self.cloud - s),
            Some(first) => {
                let mut cloud = self.cloud.clone();
                if first < self.prefix {
                    cloud.insert_range(first + 1..=self.prefix);
                }
                cloud -= s;
                Self::from_parts(first - 1, cloud)
            }
        }
    }

    /// The counters of `s` that are not in this set: `s - C`.
    pub fn subtract_from(&self, s: &RoaringTreemap) -> RoaringTreemap {
        let mut out = s - &self.cloud;
        out.remove_range(..=self.prefix);
        out
    }

    /// The next counter after the highest present one.
    ///
    /// # Errors
    /// [`KernelError::CounterOverflow`] (with `replica`) when the highest is `u64::MAX`.
    pub fn next_counter(&self, replica: u32) -> Result<u64> {
        self.max()
            .checked_add(1)
            .ok_or(KernelError::CounterOverflow { replica })
    }
}

/// The maximal runs `(first, last)` of consecutive counters of `t`, in increasing order,
/// joined across roaring's container and 2^32-bitmap boundaries.
fn runs_of(t: &RoaringTreemap) -> impl Iterator<Item = (u64, u64)> + '_ {
    let mut bitmaps = t.bitmaps();
    let mut current: Option<(u32, roaring::bitmap::Iter<'_>)> = None;
    let mut pending: Option<(u64, u64)> = None;
    std::iter::from_fn(move || loop {
        // the next run of roaring's, as full u64 counters
        let next = loop {
            if let Some((hi, it)) = current.as_mut() {
                if let Some(r) = it.next_range() {
                    let hi = u64::from(*hi) << 32;
                    break Some((hi | u64::from(*r.start()), hi | u64::from(*r.end())));
                }
            }
            match bitmaps.next() {
                Some((hi, bm)) => current = Some((hi, bm.iter())),
                None => break None,
            }
        };
        match (pending, next) {
            (None, None) => return None,
            (None, Some(r)) => pending = Some(r),
            (Some(p), None) => {
                pending = None;
                return Some(p);
            }
            // contiguous across a 2^32 boundary: one run
            (Some((first, last)), Some((s, e))) if last.checked_add(1) == Some(s) => {
                pending = Some((first, e));
            }
            (Some(p), Some(r)) => {
                pending = Some(r);
                return Some(p);
            }
        }
    })
}

/// A causal context: the set of dots a state has seen, as one [`ReplicaDots`] per dense
/// replica index. Replicas past the end have seen nothing.
///
/// # Example
/// ```
/// use pluriverse_kernels::dots::DotContext;
/// let mut c = DotContext::new();
/// c.insert_range(0, 1, 1_000_000).unwrap(); // a local batch write of 1M records
/// c.insert(2, 7);
/// let mut out = [false; 3];
/// c.contains_batch(&[0, 2, 2], &[999_999, 7, 6], &mut out).unwrap();
/// assert_eq!(out, [true, true, false]);
/// assert_eq!(c.version_vector(), vec![1_000_000, 0, 0]);
/// ```
#[derive(Clone, Default)]
pub struct DotContext {
    replicas: Vec<ReplicaDots>,
}

impl PartialEq for DotContext {
    /// Equal dot sets; trailing empty replicas do not matter.
    fn eq(&self, other: &Self) -> bool {
        let n = self.replicas.len().max(other.replicas.len());
        let empty = ReplicaDots::new();
        (0..n).all(|i| {
            self.replicas.get(i).unwrap_or(&empty) == other.replicas.get(i).unwrap_or(&empty)
        })
    }
}

impl fmt::Debug for DotContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.replicas.iter().enumerate())
            .finish()
    }
}

impl DotContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context from one [`ReplicaDots`] per replica index.
    pub fn from_replicas(replicas: Vec<ReplicaDots>) -> Self {
        Self { replicas }
    }

    /// The per-replica dot sets, indexed by replica.
    pub fn replicas(&self) -> &[ReplicaDots] {
        &self.replicas
    }

    /// The dots of `replica`, if it has any slot.
    pub fn get(&self, replica: u32) -> Option<&ReplicaDots> {
        self.replicas.get(replica as usize)
    }

    /// The dots of `replica`, creating empty slots up to it.
    pub fn replica_mut(&mut self, replica: u32) -> &mut ReplicaDots {
        let i = replica as usize;
        if i >= self.replicas.len() {
            self.replicas.resize_with(i + 1, ReplicaDots::new);
        }
        &mut self.replicas[i]
    }

    /// Whether the dot `(replica, counter)` is in the context.
    #[inline]
    pub fn contains(&self, replica: u32, counter: u64) -> bool {
        self.get(replica).is_some_and(|d| d.contains(counter))
    }

    /// Adds one dot; returns whether it was new.
    pub fn insert(&mut self, replica: u32, counter: u64) -> bool {
        counter != 0 && self.replica_mut(replica).insert(counter)
    }

    /// Adds the dots `(replica, start..=end)`; returns how many were new.
    ///
    /// # Errors
    /// As [`ReplicaDots::insert_range`]; nothing changes on error.
    pub fn insert_range(&mut self, replica: u32, start: u64, end: u64) -> Result<u64> {
        if start == 0 || start > end {
            return Err(KernelError::InvalidRange { start, end });
        }
        self.replica_mut(replica).insert_range(start, end)
    }

    /// Set union with `other` (same replica indexing).
    pub fn union_with(&mut self, other: &Self) {
        if other.replicas.len() > self.replicas.len() {
            self.replicas
                .resize_with(other.replicas.len(), ReplicaDots::new);
        }
        for (mine, theirs) in self.replicas.iter_mut().zip(&other.replicas) {
            mine.union_with(theirs);
        }
    }

    /// Folds every replica's contiguous cloud into its prefix; returns the counters moved.
    /// Mutators already keep contexts compact; this is idempotent.
    pub fn compact(&mut self) -> u64 {
        self.replicas.iter_mut().map(ReplicaDots::compact).sum()
    }

    /// Whether every replica is a plain prefix: the context is a version vector.
    pub fn is_compact(&self) -> bool {
        self.replicas.iter().all(ReplicaDots::is_compact)
    }

    /// The prefixes, one per replica slot: the version vector part.
    pub fn version_vector(&self) -> Vec<u64> {
        self.replicas.iter().map(ReplicaDots::prefix).collect()
    }

    /// Number of dots outside the prefixes.
    pub fn cloud_len(&self) -> u64 {
        self.replicas.iter().map(|d| d.cloud.len()).sum()
    }

    /// Batch membership: `out[i]` is whether `(replica[i], counter[i])` is in the context.
    ///
    /// # Errors
    /// [`KernelError::LengthMismatch`] when the three slices differ in length.
    pub fn contains_batch(&self, replica: &[u32], counter: &[u64], out: &mut [bool]) -> Result<()> {
        same_len("counter", replica.len(), counter.len())?;
        same_len("out", replica.len(), out.len())?;
        const CHUNK: usize = 1 << 14;
        let run = |(o, (r, c)): (&mut [bool], (&[u32], &[u64]))| {
            for ((o, &r), &c) in o.iter_mut().zip(r).zip(c) {
                *o = self.contains(r, c);
            }
        };
        if replica.len() < 4 * CHUNK {
            run((out, (replica, counter)));
        } else {
            out.par_chunks_mut(CHUNK)
                .zip(replica.par_chunks(CHUNK).zip(counter.par_chunks(CHUNK)))
                .for_each(run);
        }
        Ok(())
    }
}

fn same_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(KernelError::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}

/// The dots of a dot store (the dots its entries carry), one bitmap per replica index.
///
/// # Example
/// ```
/// use pluriverse_kernels::dots::{DotContext, DotSet};
/// // replica 0 wrote dots 1..=3 and both sides saw them; the right side then removed 2
/// let left = DotSet::from_columns(&[0, 0, 0], &[1, 2, 3]).unwrap();
/// let right = DotSet::from_columns(&[0, 0], &[1, 3]).unwrap();
/// let mut ctx = DotContext::new();
/// ctx.insert_range(0, 1, 3).unwrap();
/// let joined = DotSet::join(&left, &ctx, &right, &ctx);
/// assert_eq!(joined.replica(0).unwrap().iter().collect::<Vec<_>>(), vec![1, 3]);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct DotSet {
    replicas: Vec<RoaringTreemap>,
}

impl fmt::Debug for DotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.replicas.iter().enumerate().map(|(i, s)| (i, s.len())))
            .finish()
    }
}

impl DotSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// One bitmap per replica index.
    pub fn from_replicas(replicas: Vec<RoaringTreemap>) -> Self {
        Self { replicas }
    }

    /// The dots `(replica[i], counter[i])`.
    ///
    /// # Errors
    /// [`KernelError::LengthMismatch`] when the columns differ in length.
    pub fn from_columns(replica: &[u32], counter: &[u64]) -> Result<Self> {
        same_len("counter", replica.len(), counter.len())?;
        let mut s = Self::new();
        for (&r, &c) in replica.iter().zip(counter) {
            s.insert(r, c);
        }
        Ok(s)
    }

    /// The bitmap of `replica`, if it has a slot.
    pub fn replica(&self, replica: u32) -> Option<&RoaringTreemap> {
        self.replicas.get(replica as usize)
    }

    /// Per-replica bitmaps.
    pub fn replicas(&self) -> &[RoaringTreemap] {
        &self.replicas
    }

    /// Adds a dot; returns whether it was new.
    pub fn insert(&mut self, replica: u32, counter: u64) -> bool {
        let i = replica as usize;
        if i >= self.replicas.len() {
            self.replicas.resize_with(i + 1, RoaringTreemap::new);
        }
        self.replicas[i].insert(counter)
    }

    /// Whether the dot is present.
    pub fn contains(&self, replica: u32, counter: u64) -> bool {
        self.replica(replica).is_some_and(|s| s.contains(counter))
    }

    /// Number of dots.
    pub fn len(&self) -> u64 {
        self.replicas.iter().map(RoaringTreemap::len).sum()
    }

    /// Whether there are no dots.
    pub fn is_empty(&self) -> bool {
        self.replicas.iter().all(RoaringTreemap::is_empty)
    }

    /// The dots that survive the join of the stores `(s, c)` and `(s2, c2)`:
    /// per replica `(S & S') | (S - C') | (S' - C)`, where each context includes its prefix.
    /// A dot survives when both stores hold it, or when one holds it and the other's context
    /// has not seen it (it is new there, not removed there). Replicas run in parallel.
    ///
    /// The engine's joins (the `pluriverse` crate's stores) apply this rule over sorted
    /// columns and do not call it: it is a building block for callers that hold dot sets,
    /// and the rule's reference formula.
    pub fn join(s: &Self, c: &DotContext, s2: &Self, c2: &DotContext) -> Self {
        let n = s.replicas.len().max(s2.replicas.len());
        let empty_set = RoaringTreemap::new();
        let empty_dots = ReplicaDots::new();
        let one = |i: usize| {
            let a = s.replicas.get(i).unwrap_or(&empty_set);
            let b = s2.replicas.get(i).unwrap_or(&empty_set);
            let ca = c.replicas.get(i).unwrap_or(&empty_dots);
            let cb = c2.replicas.get(i).unwrap_or(&empty_dots);
            survivors(a, ca, b, cb)
        };
        let replicas = if n > 1 && s.len() + s2.len() > 1 << 16 {
            (0..n).into_par_iter().map(one).collect()
        } else {
            (0..n).map(one).collect()
        };
        Self { replicas }
    }
}

/// `(S & S') | (S - C') | (S' - C)` for one replica (the per-replica step of
/// [`DotSet::join`]; not called by the engine either).
pub fn survivors(
    s: &RoaringTreemap,
    c: &ReplicaDots,
    s2: &RoaringTreemap,
    c2: &ReplicaDots,
) -> RoaringTreemap {
    let mut out = s & s2;
    out |= c2.subtract_from(s);
    out |= c.subtract_from(s2);
    out
}
