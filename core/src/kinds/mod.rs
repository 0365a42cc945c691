//! The record kinds: maps over millions of keys, each key holding a small CRDT.

/// The methods every kind has, written once: construction, the state and its context,
/// joins, `delta_since`, digests and bytes. `$ty<$g...>` is the kind, `$key` and `$cell` its
/// store's key and value types.
macro_rules! common_methods {
    ($ty:ident < $($g:ident),+ >, $key:ty, $cell:ty) => {
        impl<$($g: crate::item::Item),+> $ty<$($g),+> {
            /// An empty state written to as `replica`.
            pub fn new(replica: impl Into<crate::ReplicaId>) -> Self {
                Self::from_store(replica, crate::store::CausalStore::new())
            }

            /// A handle writing as `replica` over an existing state (the replica a handle
            /// writes as is not part of the state).
            pub fn from_store(
                replica: impl Into<crate::ReplicaId>,
                store: crate::store::CausalStore<$key, $cell>,
            ) -> Self {
                Self {
                    replica: replica.into(),
                    store,
                }
            }

            /// The replica this handle writes as.
            pub fn replica(&self) -> &crate::ReplicaId {
                &self.replica
            }

            /// The state: entries and causal context.
            pub fn store(&self) -> &crate::store::CausalStore<$key, $cell> {
                &self.store
            }

            /// The causal context: every event this state has seen.
            pub fn context(&self) -> &crate::CausalContext {
                self.store.context()
            }

            /// Number of `(key, dot, value)` entries (concurrent values count separately).
            pub fn entry_count(&self) -> usize {
                self.store.len()
            }

            /// Merges the store's sorted runs into one (reads and serialization then touch
            /// one run). Joins do this on their own as runs pile up; call it after a bulk
            /// load.
            pub fn compact_runs(&mut self) {
                self.store.compact_runs();
            }

            /// Joins a delta, or another replica's whole state ([`Self::store`]); any order,
            /// any number of times.
            pub fn join(&mut self, other: &crate::store::CausalStore<$key, $cell>) {
                self.store.join(other);
            }

            /// [`Self::join`], refusing a dot bound to two contents; see
            /// [`crate::CausalStore::try_join`]. On error the state is unchanged.
            ///
            /// # Errors
            /// [`crate::Error::Equivocation`].
            pub fn try_join(
                &mut self,
                other: &crate::store::CausalStore<$key, $cell>,
            ) -> crate::Result<()> {
                self.store.try_join(other)
            }

            /// [`Self::try_join`] that also refuses a claim on this handle's own replica's
            /// dots beyond what it issued; see [`crate::CausalStore::join_checked`]. For
            /// input from peers that are not trusted. On error the state is unchanged.
            ///
            /// # Errors
            /// [`crate::Error::ForeignClaim`] or [`crate::Error::Equivocation`].
            pub fn join_checked(
                &mut self,
                other: &crate::store::CausalStore<$key, $cell>,
            ) -> crate::Result<()> {
                self.store.join_checked(other, &self.replica)
            }

            /// [`Self::join`] with a pinned algorithm ([`crate::JoinPath`]); the result is
            /// the same.
            pub fn join_with(
                &mut self,
                other: &crate::store::CausalStore<$key, $cell>,
                path: crate::JoinPath,
            ) {
                self.store.join_with(other, path);
            }

            /// What a replica with context `peer` lacks; joining it there gives what joining
            /// this whole state would. See [`crate::CausalStore::delta_since`].
            pub fn delta_since(
                &self,
                peer: &crate::CausalContext,
            ) -> crate::store::CausalStore<$key, $cell> {
                self.store.delta_since(peer)
            }

            /// Order-independent 128-bit digest of the state; see
            /// [`crate::CausalStore::digest`].
            pub fn digest(&self) -> u128 {
                self.store.digest()
            }
        }

        impl<$($g: crate::wire::ArrowItem),+> $ty<$($g),+> {
            /// The state as Arrow IPC stream bytes ([`crate::wire`]); the replica this
            /// handle writes as is not part of them.
            ///
            /// # Errors
            /// [`crate::Error::Encode`] only if Arrow refuses the arrays (a bug).
            pub fn to_bytes(&self) -> crate::Result<Vec<u8>> {
                self.store.to_bytes()
            }

            /// A handle writing as `replica` over the state in `bytes`.
            ///
            /// # Errors
            /// [`crate::Error::Decode`] naming what is wrong with the bytes.
            pub fn from_bytes(bytes: &[u8], replica: impl Into<crate::ReplicaId>) -> crate::Result<Self> {
                Ok(Self::from_store(replica, crate::store::CausalStore::from_bytes(bytes)?))
            }

            /// Decodes a delta or state from `bytes` and joins it ([`Self::try_join`]: a
            /// dot bound to two contents is refused). On error the state is unchanged.
            ///
            /// # Errors
            /// As [`Self::from_bytes`], or [`crate::Error::Equivocation`].
            pub fn join_bytes(&mut self, bytes: &[u8]) -> crate::Result<()> {
                let other = crate::store::CausalStore::from_bytes(bytes)?;
                self.store.try_join(&other)
            }

            /// Decodes bytes from a peer that is not trusted and joins them with
            /// [`Self::join_checked`]: also refused when they claim dots of this handle's
            /// replica beyond what it issued. On error the state is unchanged.
            ///
            /// Not for reading back one's own state in parts ([`crate::CausalStore::partition`]
            /// files): a part may carry this replica's later dots that the first part
            /// lacks; join those with [`Self::join_bytes`].
            ///
            /// # Errors
            /// As [`Self::join_bytes`], or [`crate::Error::ForeignClaim`].
            pub fn join_bytes_checked(&mut self, bytes: &[u8]) -> crate::Result<()> {
                let other = crate::store::CausalStore::from_bytes(bytes)?;
                self.join_checked(&other)
            }
        }
    };
}
pub(crate) use common_methods;

pub mod awset;
pub mod lww;
pub mod mvmap;
pub mod pncounter;

/// Sorts `keys` by `(hash, key)` and keeps the last occurrence of each key: a batch that
/// writes a key twice means its last write. Returns row indices into `keys`.
pub(crate) fn last_per_key<K: crate::item::Item>(keys: &[K]) -> Vec<(u64, usize)> {
    let mut idx: Vec<(u64, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.hash64(), i))
        .collect();
    idx.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| keys[a.1].total_cmp(&keys[b.1]))
            .then_with(|| a.1.cmp(&b.1))
    });
    let mut out: Vec<(u64, usize)> = Vec::with_capacity(idx.len());
    for (h, i) in idx {
        match out.last_mut() {
            Some(last) if last.0 == h && keys[last.1].total_cmp(&keys[i]).is_eq() => *last = (h, i),
            _ => out.push((h, i)),
        }
    }
    out
}

/// Rows of a sorted run where a new key starts.
fn key_starts<K: crate::item::Item, V: crate::item::Item>(
    m: &crate::store::run::Run<K, V>,
) -> impl Iterator<Item = usize> + '_ {
    use crate::item::ItemCol;
    (0..m.rows()).filter(move |&i| {
        i == 0 || m.hash[i] != m.hash[i - 1] || m.keys.cmp_at(i, &m.keys, i - 1).is_ne()
    })
}

/// The distinct keys of a store, in its order.
pub(crate) fn distinct_keys<K: crate::item::Item, V: crate::item::Item>(
    store: &crate::store::CausalStore<K, V>,
) -> Vec<K> {
    use crate::item::ItemCol;
    let m = store.merged_cow();
    key_starts(&m).map(|i| m.keys.get(i)).collect()
}

/// The number of distinct keys of a store.
pub(crate) fn distinct_key_count<K: crate::item::Item, V: crate::item::Item>(
    store: &crate::store::CausalStore<K, V>,
) -> usize {
    key_starts(&store.merged_cow()).count()
}

/// Keeps, per writing replica, only its latest entry (highest counter).
///
/// A replica always sees its own earlier writes, so its later write of a key supersedes its
/// earlier ones; the delta that says so may still be in flight (deltas need no causal
/// delivery), and until it arrives a store can hold both. Reads take the latest, so they
/// never show a superseded value; anti-entropy removes the stale entry itself.
pub(crate) fn latest_per_replica<V>(mut entries: Vec<(u32, u64, V)>) -> Vec<(u32, u64, V)> {
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    entries.dedup_by(|later, first| later.0 == first.0);
    entries
}
