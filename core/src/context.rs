//! Causal contexts over named replicas: the set of events a state has seen.

use std::fmt;

use pluriverse_kernels::dots::{DotContext, ReplicaDots};

use crate::dot::Dot;
use crate::error::{Error, Result};
use crate::replica::{ReplicaId, ReplicaTable};
use crate::retired::Retired;
use crate::version_vector::VersionVector;

/// The set of dots a state has seen, kept compact: per replica a contiguous prefix
/// `1..=n` (a version vector entry) plus a *dot cloud* of the events beyond it that arrived
/// out of order (a roaring bitmap). Whenever the cloud becomes contiguous with the prefix it
/// is folded in, so a context that has seen everything up to `n` from each replica is a
/// plain version vector.
///
/// A context also holds *retired records* ([`crate::retired`]): an incarnation whose dots
/// are a plain prefix `1..=m` may be kept as 16 bytes instead of a row (a lossless choice of
/// representation, [`CausalContext::retire_where`] makes it). The replica table and
/// [`CausalContext::dots`] index the rows only; every method here answers for rows and
/// records together, and [`CausalContext::expanded`] gives the same dots as rows only.
/// No name is both a record and a row with dots.
///
/// # Example
/// ```
/// use pluriverse::{CausalContext, Dot};
/// let mut c = CausalContext::new();
/// c.insert(&Dot::new("a", 1));
/// c.insert(&Dot::new("a", 3)); // out of order: goes to the cloud
/// assert!(!c.is_compact());
/// c.insert(&Dot::new("a", 2)); // the gap is filled: 1..=3 is a prefix
/// assert!(c.is_compact());
/// assert_eq!(c.next_dot(&"a".into()).unwrap(), Dot::new("a", 4));
/// ```
#[derive(Clone, Default)]
pub struct CausalContext {
    table: ReplicaTable,
    dots: DotContext,
    retired: Retired,
}

impl fmt::Debug for CausalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.table
                    .names()
                    .iter()
                    .zip(self.dots.replicas())
                    .map(|(n, d)| (n.to_string(), d.clone())),
            )
            .entries(
                self.retired
                    .iter()
                    .map(|(n, m)| (n.to_string(), ReplicaDots::from_prefix(m))),
            )
            .finish()
    }
}

impl PartialEq for CausalContext {
    /// Equal sets of dots, whatever order the replicas were interned in.
    fn eq(&self, other: &Self) -> bool {
        let records = |c: &'_ Self| c.retired.iter().map(|(n, _)| n).collect::<Vec<_>>();
        let (ours, theirs) = (records(self), records(other));
        self.table
            .names()
            .iter()
            .chain(other.table.names())
            .chain(&ours)
            .chain(&theirs)
            .all(|n| self.dots_of(n) == other.dots_of(n))
    }
}

impl CausalContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context from its parts (indices of `dots` are indices of `table`).
    pub(crate) fn from_parts(table: ReplicaTable, dots: DotContext) -> Self {
        Self {
            table,
            dots,
            retired: Retired::new(),
        }
    }

    /// The replica table: the names of the rows (retired records are not in it).
    pub fn table(&self) -> &ReplicaTable {
        &self.table
    }

    /// The indexed dot sets of the rows (indices of [`CausalContext::table`]).
    pub fn dots(&self) -> &DotContext {
        &self.dots
    }

    /// The retired records held instead of rows (see [`crate::retired`]).
    pub fn retired(&self) -> &Retired {
        &self.retired
    }

    /// The dots of `name`, row and record together.
    pub fn dots_of(&self, name: &ReplicaId) -> ReplicaDots {
        let mut d = self
            .table
            .get(name)
            .and_then(|i| self.dots.get(i))
            .cloned()
            .unwrap_or_default();
        if !self.retired.is_empty() {
            let m = self.retired.prefix(name);
            if m > 0 {
                d.union_with(&ReplicaDots::from_prefix(m));
            }
        }
        d
    }

    /// The highest counter of `name` seen (0 when none), row and record together.
    pub fn max_counter(&self, name: &ReplicaId) -> u64 {
        let row = self
            .table
            .get(name)
            .and_then(|i| self.dots.get(i))
            .map_or(0, ReplicaDots::max);
        row.max(self.retired.prefix(name))
    }

    /// Turns the record of `name`, if there is one, back into a row (at a new index: the
    /// indices of the other rows do not move); returns the row's index when a record was
    /// promoted.
    pub fn promote(&mut self, name: &ReplicaId) -> Option<u32> {
        if self.retired.is_empty() {
            return None;
        }
        let m = self.retired.remove(name);
        if m == 0 {
            return None;
        }
        let i = self.table.intern(name);
        self.dots
            .replica_mut(i)
            .union_with(&ReplicaDots::from_prefix(m));
        Some(i)
    }

    /// The same dots with every record a row (records appended at new indices, so the
    /// indices of the rows do not move): borrowed when there is no record.
    pub fn expanded(&self) -> std::borrow::Cow<'_, Self> {
        if self.retired.is_empty() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut out = Self::from_parts(self.table.clone(), self.dots.clone());
        for (name, m) in self.retired.iter() {
            let i = out.table.intern(&name);
            out.dots
                .replica_mut(i)
                .union_with(&ReplicaDots::from_prefix(m));
        }
        std::borrow::Cow::Owned(out)
    }

    /// Holds as records the rows that can be ([`crate::retired::incarnation_parts`] names
    /// whose dots are a plain prefix `1..=m`, `m >= 1`) and for which `retire(index, name)`
    /// says so; the others stay rows. Returns, when any row was retired, the map from old
    /// row indices to new ones (`u32::MAX` for retired rows; it keeps the order of the
    /// indices). The set of dots does not change.
    ///
    /// ```
    /// use pluriverse::retired::incarnation_name;
    /// use pluriverse::{CausalContext, Dot};
    /// let mut c = CausalContext::new();
    /// let (old, live) = (incarnation_name(b"p", 1), incarnation_name(b"p", 2));
    /// c.insert_range(&old, 1, 5).unwrap();
    /// c.insert_range(&live, 1, 2).unwrap();
    /// let before = c.clone();
    /// let map = c.retire_where(|_, n| n != &live).unwrap();
    /// assert_eq!(map, vec![u32::MAX, 0]);
    /// assert_eq!((c.table().len(), c.retired().len()), (1, 1));
    /// assert_eq!(c, before);
    /// assert!(c.contains(&Dot::new(old.clone(), 5)) && !c.contains(&Dot::new(old, 6)));
    /// assert_eq!(c.to_bytes(), before.to_bytes());
    /// ```
    pub fn retire_where(&mut self, retire: impl Fn(u32, &ReplicaId) -> bool) -> Option<Vec<u32>> {
        let names = self.table.names();
        let mut map = Vec::with_capacity(names.len());
        let mut table = ReplicaTable::new();
        let mut kept = Vec::with_capacity(names.len());
        let mut any = false;
        let mut rows = self.dots.replicas().to_vec().into_iter();
        for (i, name) in names.iter().enumerate() {
            let d = rows.next().unwrap_or_default();
            if d.is_compact()
                && d.prefix() > 0
                && retire(i as u32, name)
                && self.retired.insert(name, d.prefix())
            {
                any = true;
                map.push(u32::MAX);
                continue;
            }
            map.push(table.intern(name));
            kept.push(d);
        }
        self.dots = DotContext::from_replicas(kept);
        if !any {
            return None;
        }
        self.table = table;
        Some(map)
    }

    /// The canonical replica order, the one every encoding and digest uses: the indices of
    /// the replicas with at least one dot, sorted by name bytes. (Replicas without dots are
    /// left out, so interning order and names seen only in passing change nothing.) Rows
    /// only: encodings and digests work on [`CausalContext::expanded`].
    ///
    /// ```
    /// use pluriverse::{CausalContext, Dot};
    /// let mut c = CausalContext::new();
    /// c.insert(&Dot::new("b", 1));
    /// c.insert(&Dot::new("a", 1));
    /// let names: Vec<String> =
    ///     c.canonical_order().iter().map(|&i| c.table().names()[i as usize].to_string()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn canonical_order(&self) -> Vec<u32> {
        let names = self.table.names();
        let dots = self.dots.replicas();
        let mut order: Vec<u32> = (0..names.len() as u32)
            .filter(|&i| dots.get(i as usize).is_some_and(|d| !d.is_empty()))
            .collect();
        order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        order
    }

    pub(crate) fn dots_mut(&mut self) -> &mut DotContext {
        &mut self.dots
    }

    pub(crate) fn table_mut(&mut self) -> &mut ReplicaTable {
        &mut self.table
    }

    /// Whether the event `dot` has been seen.
    pub fn contains(&self, dot: &Dot) -> bool {
        self.table
            .get(&dot.replica)
            .is_some_and(|i| self.dots.contains(i, dot.counter))
            || (!self.retired.is_empty() && self.retired.contains(dot))
    }

    /// The row index of `name`, interning it if new and promoting its record if it has one.
    pub(crate) fn intern_row(&mut self, name: &ReplicaId) -> u32 {
        match self.promote(name) {
            Some(i) => i,
            None => self.table.intern(name),
        }
    }

    /// Records the event `dot`; returns whether it was new.
    pub fn insert(&mut self, dot: &Dot) -> bool {
        let i = self.intern_row(&dot.replica);
        self.dots.insert(i, dot.counter)
    }

    /// Records the events `start..=end` of `replica`; returns how many were new.
    ///
    /// # Errors
    /// [`Error::Kernel`] with an invalid range (`start == 0` or `start > end`); the context is
    /// unchanged.
    pub fn insert_range(&mut self, replica: &ReplicaId, start: u64, end: u64) -> Result<u64> {
        if start == 0 || start > end {
            return Err(pluriverse_kernels::KernelError::InvalidRange { start, end }.into());
        }
        let i = self.intern_row(replica);
        Ok(self.dots.insert_range(i, start, end)?)
    }

    /// Adds every event of `other` (set union), whatever its replica table: a record of
    /// either side named by a row of the other becomes a row.
    pub fn merge(&mut self, other: &Self) {
        if !self.retired.is_empty() {
            for (name, d) in other.table.names().iter().zip(other.dots.replicas()) {
                if !d.is_empty() {
                    self.promote(name);
                }
            }
        }
        let map = self.table.absorb(&other.table);
        for (theirs, &ours) in other.dots.replicas().iter().zip(&map) {
            self.dots.replica_mut(ours).union_with(theirs);
        }
        self.merge_retired(&other.retired);
    }

    /// Adds the records of `other`: each one folds into our row of the same name when that
    /// row has dots, and joins our records otherwise.
    pub(crate) fn merge_retired(&mut self, other: &Retired) {
        if other.is_empty() {
            return;
        }
        let mut rest = Retired::new();
        for (name, m) in other.iter() {
            match self.table.get(&name) {
                Some(i) if self.dots.get(i).is_some_and(|d| !d.is_empty()) => {
                    self.dots
                        .replica_mut(i)
                        .union_with(&ReplicaDots::from_prefix(m));
                }
                _ => {
                    rest.insert(&name, m);
                }
            }
        }
        self.retired.merge(&rest);
    }

    /// Folds clouds that became contiguous into their prefixes; returns the events moved.
    /// Every mutator already does this; calling it again changes nothing.
    pub fn compact(&mut self) -> u64 {
        self.dots.compact()
    }

    /// Whether the context is a plain version vector (no dot cloud).
    pub fn is_compact(&self) -> bool {
        self.dots.is_compact()
    }

    /// Number of events outside the contiguous prefixes.
    pub fn cloud_len(&self) -> u64 {
        self.dots.cloud_len()
    }

    /// The prefixes as a version vector (the cloud is not included).
    pub fn version_vector(&self) -> VersionVector {
        self.table
            .names()
            .iter()
            .zip(self.dots.replicas())
            .map(|(n, d)| (n.clone(), d.prefix()))
            .chain(self.retired.iter())
            .collect()
    }

    /// The context as bytes, to send a peer for [`crate::CausalStore::delta_since`]:
    /// `PVCX`, a format byte (`2`), the retired incarnations as compact records
    /// ([`crate::retired`]), then the other replicas as rows: their number (`u64`), each
    /// one's name (`u64` length, bytes) in byte order, then the dots in the encoding of the
    /// state format's `pluriverse.context` (`core/src/wire/context.rs`, where both layouts
    /// are written). Equal contexts give identical bytes; format 1 (rows only) is still
    /// read.
    ///
    /// # Example
    /// ```
    /// use pluriverse::{CausalContext, Dot};
    /// let mut c = CausalContext::new();
    /// c.insert(&Dot::new("a", 1));
    /// c.insert(&Dot::new("b", 5));
    /// let back = CausalContext::from_bytes(&c.to_bytes()).unwrap();
    /// assert_eq!(back, c);
    /// assert!(CausalContext::from_bytes(b"PVCX").is_err());
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::wire::encode_context(self)
    }

    /// Decodes [`CausalContext::to_bytes`], checking canonical form; allocation is bounded
    /// by the input's length.
    ///
    /// # Errors
    /// [`Error::Decode`] naming what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_with_limits(bytes, &crate::wire::Limits::default())
    }

    /// [`CausalContext::from_bytes`] within caller-chosen limits (`max_bytes`,
    /// `max_replicas`, `max_cloud_dots`, `max_counter`).
    ///
    /// # Errors
    /// As [`CausalContext::from_bytes`]; a breached limit is
    /// [`crate::wire::DecodeError::Limit`].
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &crate::wire::Limits) -> Result<Self> {
        crate::wire::decode_context(bytes, limits).map_err(Error::Decode)
    }

    /// The next event `replica` may issue: one past the highest it is known to have issued.
    ///
    /// # Errors
    /// [`Error::CounterOverflow`] when that would exceed `u64::MAX`.
    pub fn next_dot(&self, replica: &ReplicaId) -> Result<Dot> {
        let max = self.max_counter(replica);
        let counter = max.checked_add(1).ok_or_else(|| Error::CounterOverflow {
            replica: replica.to_string(),
        })?;
        Ok(Dot::new(replica.clone(), counter))
    }
}
