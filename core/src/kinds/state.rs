//! [`State`]: a replica's handle on a state of one [`Kind`], with the API every kind shares
//! (construction, context, joins, `delta_since`, digests, bytes); each kind's file adds its
//! mutators and reads.

use std::fmt;

use super::kind::{Kind, WireKind};
use crate::store::{CausalStore, JoinPath};
use crate::wire::{ArrowItem, Cells};
use crate::{CausalContext, ReplicaId, Result};

/// A state of kind `Kd` and the replica this handle writes as. The kinds' public names are
/// aliases of it: [`crate::MVMap`], [`crate::AWSet`], [`crate::PNCounterMap`],
/// [`crate::LWWMap`].
pub struct State<Kd: Kind> {
    pub(super) replica: ReplicaId,
    pub(super) store: CausalStore<Kd::Key, Kd::Cell>,
}

impl<Kd: Kind> Clone for State<Kd> {
    fn clone(&self) -> Self {
        Self {
            replica: self.replica.clone(),
            store: self.store.clone(),
        }
    }
}

impl<Kd: Kind> fmt::Debug for State<Kd> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(Kd::NAME)
            .field("replica", &self.replica)
            .field("store", &self.store)
            .finish()
    }
}

impl<Kd: Kind> State<Kd> {
    /// An empty state written to as `replica`.
    pub fn new(replica: impl Into<ReplicaId>) -> Self {
        Self::from_store(replica, CausalStore::new())
    }

    /// A handle writing as `replica` over an existing state (the replica a handle writes as
    /// is not part of the state).
    pub fn from_store(
        replica: impl Into<ReplicaId>,
        store: CausalStore<Kd::Key, Kd::Cell>,
    ) -> Self {
        Self {
            replica: replica.into(),
            store,
        }
    }

    /// A copy that shares no run with this state ([`CausalStore::detached`]; a [`Clone`]
    /// shares them until one side changes one).
    ///
    /// # Example
    /// ```
    /// use pluriverse::AWSet;
    /// let mut s: AWSet<u64> = AWSet::new("a");
    /// s.add_many(&[1, 2, 3]).unwrap();
    /// let copy = s.detached();
    /// s.remove(&1);
    /// assert_eq!((s.len(), copy.len()), (2, 3));
    /// ```
    pub fn detached(&self) -> Self {
        Self {
            replica: self.replica.clone(),
            store: self.store.detached(),
        }
    }

    /// The replica this handle writes as.
    pub fn replica(&self) -> &ReplicaId {
        &self.replica
    }

    /// The state: entries and causal context.
    pub fn store(&self) -> &CausalStore<Kd::Key, Kd::Cell> {
        &self.store
    }

    /// The causal context: every event this state has seen.
    pub fn context(&self) -> &CausalContext {
        self.store.context()
    }

    /// Number of `(key, dot, value)` entries (concurrent values count separately).
    pub fn entry_count(&self) -> usize {
        self.store.len()
    }

    /// Merges the store's sorted runs into one (reads and serialization then touch one
    /// run). Joins do this on their own as runs pile up; call it after a bulk load.
    pub fn compact_runs(&mut self) {
        self.store.compact_runs();
    }

    /// Holds the context's idle incarnations as retired records (every row that can be, no
    /// live entry uses and that is not this handle's replica): the state is unchanged, only
    /// held in less memory; see [`crate::CausalStore::retire_idle`]. Returns how many rows
    /// were retired. Cheap moments to call it are those that cost O(state) anyway (an open,
    /// a fold).
    ///
    /// ```
    /// use pluriverse::retired::incarnation_name;
    /// use pluriverse::MVMap;
    /// let mut m: MVMap<u64, u64> = MVMap::new(incarnation_name(b"p", 1));
    /// m.set(1, 1).unwrap();
    /// let mut m = MVMap::from_store(incarnation_name(b"p", 2), m.store().clone());
    /// m.set(1, 2).unwrap();
    /// let d = m.digest();
    /// assert_eq!(m.retire_idle(), 1);
    /// assert_eq!(m.digest(), d);
    /// ```
    pub fn retire_idle(&mut self) -> usize {
        self.store.retire_idle(Some(&self.replica))
    }

    /// Joins a delta, or another replica's whole state ([`Self::store`]); any order, any
    /// number of times.
    pub fn join(&mut self, other: &CausalStore<Kd::Key, Kd::Cell>) {
        self.store.join(other);
    }

    /// [`Self::join`], refusing a dot bound to two contents; see
    /// [`crate::CausalStore::try_join`]. On error the state is unchanged.
    ///
    /// # Errors
    /// [`crate::Error::Equivocation`].
    pub fn try_join(&mut self, other: &CausalStore<Kd::Key, Kd::Cell>) -> Result<()> {
        self.store.try_join(other)
    }

    /// [`Self::try_join`] that also refuses a claim on this handle's own replica's dots
    /// beyond what it issued; see [`crate::CausalStore::join_checked`]. For input from
    /// peers that are not trusted. On error the state is unchanged.
    ///
    /// # Errors
    /// [`crate::Error::ForeignClaim`] or [`crate::Error::Equivocation`].
    pub fn join_checked(&mut self, other: &CausalStore<Kd::Key, Kd::Cell>) -> Result<()> {
        self.store.join_checked(other, &self.replica)
    }

    /// [`Self::join`] with a pinned algorithm ([`JoinPath`]); the result is the same.
    pub fn join_with(&mut self, other: &CausalStore<Kd::Key, Kd::Cell>, path: JoinPath) {
        self.store.join_with(other, path);
    }

    /// What a replica with context `peer` lacks; joining it there gives what joining this
    /// whole state would. See [`crate::CausalStore::delta_since`].
    pub fn delta_since(&self, peer: &CausalContext) -> CausalStore<Kd::Key, Kd::Cell> {
        self.store.delta_since(peer)
    }

    /// Order-independent 128-bit digest of the state; see [`crate::CausalStore::digest`].
    pub fn digest(&self) -> u128 {
        self.store.digest()
    }
}

impl<Kd: WireKind> State<Kd>
where
    Kd::Key: ArrowItem,
    Kd::Cell: Cells,
{
    /// The state as Arrow IPC stream bytes ([`crate::wire`]); the replica this handle
    /// writes as is not part of them.
    ///
    /// # Errors
    /// [`crate::Error::Encode`] only if Arrow refuses the arrays (a bug).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.store.to_bytes()
    }

    /// A handle writing as `replica` over the state in `bytes`.
    ///
    /// # Errors
    /// [`crate::Error::Decode`] naming what is wrong with the bytes.
    pub fn from_bytes(bytes: &[u8], replica: impl Into<ReplicaId>) -> Result<Self> {
        Ok(Self::from_store(replica, CausalStore::from_bytes(bytes)?))
    }

    /// Decodes a delta or state from `bytes` and joins it ([`Self::try_join`]: a dot bound
    /// to two contents is refused). On error the state is unchanged.
    ///
    /// # Errors
    /// As [`Self::from_bytes`], or [`crate::Error::Equivocation`].
    pub fn join_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let other = CausalStore::from_bytes(bytes)?;
        self.store.try_join(&other)
    }

    /// Decodes bytes from a peer that is not trusted and joins them with
    /// [`Self::join_checked`]: also refused when they claim dots of this handle's replica
    /// beyond what it issued. On error the state is unchanged.
    ///
    /// Not for reading back one's own state in parts ([`crate::CausalStore::partition`]
    /// files): a part may carry this replica's later dots that the first part lacks; join
    /// those with [`Self::join_bytes`].
    ///
    /// # Errors
    /// As [`Self::join_bytes`], or [`crate::Error::ForeignClaim`].
    pub fn join_bytes_checked(&mut self, bytes: &[u8]) -> Result<()> {
        let other = CausalStore::from_bytes(bytes)?;
        self.join_checked(&other)
    }
}
