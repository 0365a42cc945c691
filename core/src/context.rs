//! Causal contexts over named replicas: the set of events a state has seen.

use std::fmt;

use pluriverse_kernels::dots::{DotContext, ReplicaDots};

use crate::dot::Dot;
use crate::error::{Error, Result};
use crate::replica::{ReplicaId, ReplicaTable};
use crate::version_vector::VersionVector;

/// The set of dots a state has seen, kept compact: per replica a contiguous prefix
/// `1..=n` (a version vector entry) plus a *dot cloud* of the events beyond it that arrived
/// out of order (a roaring bitmap). Whenever the cloud becomes contiguous with the prefix it
/// is folded in, so a context that has seen everything up to `n` from each replica is a
/// plain version vector.
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
}

impl fmt::Debug for CausalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.table
                    .names()
                    .iter()
                    .zip(self.dots.replicas())
                    .map(|(n, d)| (n.to_string(), d)),
            )
            .finish()
    }
}

impl PartialEq for CausalContext {
    /// Equal sets of dots, whatever order the replicas were interned in.
    fn eq(&self, other: &Self) -> bool {
        let empty = ReplicaDots::new();
        let dots_of = |c: &Self, name: &ReplicaId| {
            c.table
                .get(name)
                .and_then(|i| c.dots.get(i))
                .unwrap_or(&empty)
                .clone()
        };
        self.table
            .names()
            .iter()
            .chain(other.table.names())
            .all(|n| dots_of(self, n) == dots_of(other, n))
    }
}

impl CausalContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context from its parts (indices of `dots` are indices of `table`).
    pub(crate) fn from_parts(table: ReplicaTable, dots: DotContext) -> Self {
        Self { table, dots }
    }

    /// The replica table.
    pub fn table(&self) -> &ReplicaTable {
        &self.table
    }

    /// The indexed dot sets (indices of [`CausalContext::table`]).
    pub fn dots(&self) -> &DotContext {
        &self.dots
    }

    /// The canonical replica order, the one every encoding and digest uses: the indices of
    /// the replicas with at least one dot, sorted by name bytes. (Replicas without dots are
    /// left out, so interning order and names seen only in passing change nothing.)
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
    }

    /// Records the event `dot`; returns whether it was new.
    pub fn insert(&mut self, dot: &Dot) -> bool {
        let i = self.table.intern(&dot.replica);
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
        let i = self.table.intern(replica);
        Ok(self.dots.insert_range(i, start, end)?)
    }

    /// Adds every event of `other` (set union), whatever its replica table.
    pub fn merge(&mut self, other: &Self) {
        let map = self.table.absorb(&other.table);
        for (theirs, &ours) in other.dots.replicas().iter().zip(&map) {
            self.dots.replica_mut(ours).union_with(theirs);
        }
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
        let max = self
            .table
            .get(replica)
            .and_then(|i| self.dots.get(i))
            .map_or(0, ReplicaDots::max);
        let counter = max.checked_add(1).ok_or_else(|| Error::CounterOverflow {
            replica: replica.to_string(),
        })?;
        Ok(Dot::new(replica.clone(), counter))
    }
}
