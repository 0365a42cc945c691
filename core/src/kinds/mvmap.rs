//! `MVMap`: a map from keys to multi-value registers.

use pluriverse_kernels::dots::DotContext;

use super::last_per_key;
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::item::{Item, ItemCol};
use crate::replica::ReplicaId;
use crate::store::run::Run;
use crate::store::CausalStore;

/// A delta of an [`MVMap`]: a small state carrying only what changed. Join it into any
/// replica, in any order, any number of times.
pub type MVMapDelta<K, V> = CausalStore<K, V>;

/// A map whose every key holds a multi-value register: concurrent `set`s of a key survive
/// side by side until a later `set` (or `remove`) that has seen them replaces them; a
/// `remove` removes only the values its replica had seen.
///
/// Every mutator returns the delta to ship to other replicas.
///
/// # Example
/// ```
/// use pluriverse::MVMap;
/// let mut paris: MVMap<String, i64> = MVMap::new("paris");
/// let mut tokyo: MVMap<String, i64> = MVMap::new("tokyo");
/// let d1 = paris.set("k".into(), 1).unwrap();
/// let d2 = tokyo.set("k".into(), 2).unwrap(); // concurrent with paris' write
/// paris.join(&d2);
/// tokyo.join(&d1);
/// assert_eq!(paris.get(&"k".into()), vec![1, 2]);
/// assert_eq!(paris.digest(), tokyo.digest());
/// let d3 = paris.set("k".into(), 3).unwrap(); // has seen both: replaces both
/// tokyo.join(&d3);
/// assert_eq!(tokyo.get(&"k".into()), vec![3]);
/// ```
#[derive(Clone, Debug)]
pub struct MVMap<K: Item, V: Item> {
    replica: ReplicaId,
    store: CausalStore<K, V>,
}

impl<K: Item, V: Item> MVMap<K, V> {
    /// An empty map written to as `replica`.
    pub fn new(replica: impl Into<ReplicaId>) -> Self {
        Self {
            replica: replica.into(),
            store: CausalStore::new(),
        }
    }

    /// A handle writing as `replica` over an existing state.
    pub fn from_store(replica: impl Into<ReplicaId>, store: CausalStore<K, V>) -> Self {
        Self {
            replica: replica.into(),
            store,
        }
    }

    /// The replica this handle writes as.
    pub fn replica(&self) -> &ReplicaId {
        &self.replica
    }

    /// The state (entries and context).
    pub fn store(&self) -> &CausalStore<K, V> {
        &self.store
    }

    /// The causal context.
    pub fn context(&self) -> &CausalContext {
        self.store.context()
    }

    /// Sets `key` to `value`, replacing every value of `key` this replica has seen.
    ///
    /// # Errors
    /// [`Error::CounterOverflow`] when this replica has issued `u64::MAX` events; nothing
    /// changes.
    pub fn set(&mut self, key: K, value: V) -> Result<MVMapDelta<K, V>> {
        self.set_many(std::slice::from_ref(&key), std::slice::from_ref(&value))
    }

    /// Sets each `keys[i]` to `values[i]` as one batch with one contiguous run of dots. A key
    /// given twice takes its last value.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the columns differ in length,
    /// [`Error::CounterOverflow`] as for [`MVMap::set`]; nothing changes.
    pub fn set_many(&mut self, keys: &[K], values: &[V]) -> Result<MVMapDelta<K, V>> {
        if keys.len() != values.len() {
            return Err(Error::LengthMismatch {
                what: "values",
                expected: keys.len(),
                actual: values.len(),
            });
        }
        let rows = last_per_key(keys);
        if rows.is_empty() {
            return Ok(MVMapDelta::new());
        }
        let (me, first) = self.store.reserve_dots(&self.replica, rows.len() as u64)?;
        let mut ctx = DotContext::new();
        ctx.insert_range(me, first, first + rows.len() as u64 - 1)?;
        let mut run = Run::with_capacity(rows.len());
        for (n, &(h, i)) in rows.iter().enumerate() {
            for (r, c, _) in self.store.entries_of(&keys[i]) {
                ctx.insert(r, c);
            }
            run.push(h, &keys[i], me, first + n as u64, &values[i]);
        }
        let delta = self.store.local_delta(run, ctx);
        self.store.join(&delta);
        Ok(delta)
    }

    /// Removes every value of `key` this replica has seen (concurrent writes elsewhere
    /// survive). Returns an empty delta when the key holds nothing.
    pub fn remove(&mut self, key: &K) -> MVMapDelta<K, V> {
        self.remove_many(std::slice::from_ref(key))
    }

    /// Removes many keys as one delta.
    pub fn remove_many(&mut self, keys: &[K]) -> MVMapDelta<K, V> {
        let mut ctx = DotContext::new();
        for k in keys {
            for (r, c, _) in self.store.entries_of(k) {
                ctx.insert(r, c);
            }
        }
        if ctx.replicas().iter().all(|d| d.is_empty()) {
            return MVMapDelta::new();
        }
        let delta = self.store.local_delta(Run::default(), ctx);
        self.store.join(&delta);
        delta
    }

    /// The concurrent values of `key` (empty when absent), ordered by the writing replica's
    /// name, so every replica lists them the same way. A value superseded by a later write of
    /// the same replica is never shown, even while the delta that removes it is in flight.
    pub fn get(&self, key: &K) -> Vec<V> {
        let names = self.store.ctx.table().names();
        let mut e = super::latest_per_replica(self.store.entries_of(key));
        e.sort_by(|a, b| {
            names[a.0 as usize]
                .cmp(&names[b.0 as usize])
                .then(a.1.cmp(&b.1))
        });
        e.into_iter().map(|(_, _, v)| v).collect()
    }

    /// Whether `key` holds at least one value.
    pub fn contains_key(&self, key: &K) -> bool {
        !self.store.entries_of(key).is_empty()
    }

    /// The keys holding values, in the store's order (by key hash).
    pub fn keys(&self) -> Vec<K> {
        let m = self.store.merged();
        let mut out: Vec<K> = Vec::new();
        for i in 0..m.rows() {
            let new =
                i == 0 || m.hash[i] != m.hash[i - 1] || m.keys.cmp_at(i, &m.keys, i - 1).is_ne();
            if new {
                out.push(m.keys.get(i));
            }
        }
        out
    }

    /// Number of keys holding values (a pass over the entries).
    pub fn len(&self) -> usize {
        super::distinct_key_count(&self.store)
    }

    /// Whether no key holds a value.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
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

    /// Joins a delta or another replica's whole state ([`MVMap::store`]).
    pub fn join(&mut self, other: &MVMapDelta<K, V>) {
        self.store.join(other);
    }

    /// [`MVMap::join`] with a pinned algorithm ([`JoinPath`]); the result is the same.
    pub fn join_with(&mut self, other: &MVMapDelta<K, V>, path: crate::store::JoinPath) {
        self.store.join_with(other, path);
    }

    /// What a replica with context `peer` lacks; see [`CausalStore::delta_since`].
    pub fn delta_since(&self, peer: &CausalContext) -> MVMapDelta<K, V> {
        self.store.delta_since(peer)
    }

    /// Order-independent 128-bit digest of the state; see [`CausalStore::digest`].
    pub fn digest(&self) -> u128 {
        self.store.digest()
    }
}

impl<K: Item, V: Item> MVMap<K, V>
where
    K: crate::wire::ArrowItem,
    V: crate::wire::ArrowItem,
{
    /// The state as Arrow IPC stream bytes ([`crate::wire`]); the replica this handle writes
    /// as is not part of them.
    ///
    /// # Errors
    /// [`Error::Encode`](crate::Error::Encode) only if Arrow refuses the arrays (a bug).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.store.to_bytes()
    }

    /// A handle writing as `replica` over the state in `bytes`.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) naming what is wrong with the bytes.
    pub fn from_bytes(bytes: &[u8], replica: impl Into<ReplicaId>) -> Result<Self> {
        Ok(Self::from_store(
            replica,
            CausalStore::<K, V>::from_bytes(bytes)?,
        ))
    }

    /// Decodes a delta or state from `bytes` and joins it. On error the state is unchanged.
    ///
    /// # Errors
    /// As [`Self::from_bytes`].
    pub fn join_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let other = CausalStore::<K, V>::from_bytes(bytes)?;
        self.store.join(&other);
        Ok(())
    }
}

impl<K: Item, V: Item> MVMap<K, V>
where
    K: crate::wire::ArrowItem,
    V: crate::wire::ArrowItem,
{
    /// [`MVMap::set_many`] with Arrow columns (`keys` of the key type, `values` of the
    /// value type, no nulls).
    ///
    /// # Errors
    /// [`Error::ArrowColumn`] for a wrong type or nulls, or as [`MVMap::set_many`].
    pub fn set_many_arrow(
        &mut self,
        keys: &dyn arrow_array::Array,
        values: &dyn arrow_array::Array,
    ) -> Result<MVMapDelta<K, V>> {
        let k = crate::wire::items_from_arrow::<K>(keys, "keys")?;
        let v = crate::wire::items_from_arrow::<V>(values, "values")?;
        self.set_many(&k, &v)
    }

    /// [`MVMap::remove_many`] with an Arrow column of keys.
    ///
    /// # Errors
    /// [`Error::ArrowColumn`] for a wrong type or nulls.
    pub fn remove_many_arrow(&mut self, keys: &dyn arrow_array::Array) -> Result<MVMapDelta<K, V>> {
        Ok(self.remove_many(&crate::wire::items_from_arrow::<K>(keys, "keys")?))
    }
}
