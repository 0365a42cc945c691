//! `MVMap`: a map from keys to multi-value registers.

use arrow_array::ArrayRef;
use arrow_schema::Field;

use super::{last_per_key, BatchKeys, KeyCol, MVMapKind, State, WireKind};
use crate::error::{Error, Result};
use crate::item::{Item, ItemCol};
use crate::store::CausalStore;
use crate::wire::{no_nulls, ArrowItem, Cells, DecodeError};

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
pub type MVMap<K, V> = State<MVMapKind<K, V>>;

impl<K: Item, V: Item> State<MVMapKind<K, V>> {
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
        self.set_many_from(keys, &super::ValuesOf(values))
    }

    /// [`MVMap::set_many`] of any batch of keys and values (`values` appends the value of
    /// key `i`).
    fn set_many_from(
        &mut self,
        keys: &(impl BatchKeys<K> + ?Sized),
        values: &impl super::BatchCells<V>,
    ) -> Result<MVMapDelta<K, V>> {
        let batch = last_per_key(keys);
        let held = self.store.held_rows(&batch, keys);
        self.store
            .write_local(&self.replica, &batch, keys, values, &held)
    }

    /// Removes every value of `key` this replica has seen (concurrent writes elsewhere
    /// survive). Returns an empty delta when the key holds nothing.
    pub fn remove(&mut self, key: &K) -> MVMapDelta<K, V> {
        self.remove_many(std::slice::from_ref(key))
    }

    /// Removes many keys as one delta.
    pub fn remove_many(&mut self, keys: &[K]) -> MVMapDelta<K, V> {
        let held = self.store.held_rows(&last_per_key(keys), keys);
        self.store.remove_held(&held)
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
        super::distinct_keys(&self.store)
    }

    /// Number of keys holding values (a pass over the entries).
    pub fn len(&self) -> usize {
        super::distinct_key_count(&self.store)
    }

    /// Whether no key holds a value.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl<K: ArrowItem, V: ArrowItem> State<MVMapKind<K, V>> {
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
        // the columns copied once into the store's column types; no item is built
        let k = crate::wire::col_from_arrow::<K>(keys, "keys")?;
        let v = crate::wire::col_from_arrow::<V>(values, "values")?;
        if k.len() != v.len() {
            return Err(Error::LengthMismatch {
                what: "values",
                expected: k.len(),
                actual: v.len(),
            });
        }
        self.set_many_from(&KeyCol::<K>(&k), &super::ValueCol::<V>(&v))
    }

    /// [`MVMap::remove_many`] with an Arrow column of keys.
    ///
    /// # Errors
    /// [`Error::ArrowColumn`] for a wrong type or nulls.
    pub fn remove_many_arrow(&mut self, keys: &dyn arrow_array::Array) -> Result<MVMapDelta<K, V>> {
        let k = crate::wire::col_from_arrow::<K>(keys, "keys")?;
        let keys = KeyCol::<K>(&k);
        let held = self.store.held_rows(&last_per_key(&keys), &keys);
        Ok(self.store.remove_held(&held))
    }
}

/// Any Arrow value is an `MVMap` cell (the others are `()`, `(u64, u64)` and
/// [`crate::LwwCell`], which are not).
impl<V: ArrowItem> Cells for V {
    type Kind<K: ArrowItem> = MVMapKind<K, V>;
}

/// One column, `value`, no nulls.
impl<K: ArrowItem, V: ArrowItem> WireKind for MVMapKind<K, V> {
    fn cell_fields() -> Vec<Field> {
        vec![Field::new("value", V::data_type(), false)]
    }
    fn encode_cells(col: &V::Col, rows: &[usize]) -> Vec<ArrayRef> {
        vec![V::to_array(col, rows, None)]
    }
    fn decode_cells(
        cols: &[ArrayRef],
        _: usize,
        col: &mut V::Col,
        first_row: usize,
    ) -> std::result::Result<(), DecodeError> {
        let mut nulls = vec![];
        V::extend_from(cols[0].as_ref(), col, &mut nulls);
        no_nulls(&nulls, "value", first_row)
    }
}
