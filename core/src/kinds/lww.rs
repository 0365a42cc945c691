//! `LWWMap`: a map of last-writer-wins registers with timestamped removes.

use std::cmp::Ordering;

use pluriverse_kernels::dots::DotContext;

use crate::error::{Error, Result};
use crate::item::Item;
use crate::replica::ReplicaId;
use crate::store::run::Run;
use crate::store::CausalStore;

/// The value of an [`LWWMap`] entry: `(timestamp, (is_tombstone, value))`.
pub type LwwCell<V> = (u64, (bool, V));

/// A delta of an [`LWWMap`].
pub type LWWMapDelta<K, V> = CausalStore<K, LwwCell<V>>;

/// A map of last-writer-wins registers: per key, the write with the largest
/// `(timestamp, replica name)` wins (a replica's later event breaks its own ties); a remove
/// is a timestamped tombstone that wins the same way.
///
/// Timestamps are the caller's (wall clock, hybrid logical clock...). Every write is also an
/// event (a dot), so deltas, `delta_since` and the causal context work as for the other
/// kinds: `delta_since(peer_context)` ships every write the peer has not seen. A local write
/// that would lose to the value this replica already holds changes nothing and returns an
/// empty delta. Writes that are concurrent (neither saw the other) are both kept until a
/// later write that has seen them replaces them; reads always show the winner.
///
/// # Example
/// ```
/// use pluriverse::LWWMap;
/// let mut a: LWWMap<String, String> = LWWMap::new("a");
/// let mut b: LWWMap<String, String> = LWWMap::new("b");
/// let d1 = a.set("k".into(), "old".into(), 10).unwrap();
/// let d2 = b.set("k".into(), "new".into(), 20).unwrap();
/// a.join(&d2);
/// b.join(&d1);
/// assert_eq!(a.get(&"k".into()), Some("new".to_string()));
/// let rm = a.remove("k".into(), 30).unwrap();
/// b.join(&rm);
/// assert_eq!(b.get(&"k".into()), None);
/// ```
#[derive(Clone, Debug)]
pub struct LWWMap<K: Item, V: Item> {
    replica: ReplicaId,
    store: CausalStore<K, LwwCell<V>>,
}

/// The winning write of a key: `(timestamp, replica index, counter, cell)`.
type Winner<V> = (u64, u32, u64, LwwCell<V>);

super::common_methods!(LWWMap<K, V>, K, LwwCell<V>);

impl<K: Item, V: Item> LWWMap<K, V> {
    /// Orders two writes: timestamp, then replica name, then counter.
    fn cmp_writes(&self, a: (u64, u32, u64), b: (u64, u32, u64)) -> Ordering {
        let names = self.store.ctx.table().names();
        a.0.cmp(&b.0)
            .then_with(|| names[a.1 as usize].cmp(&names[b.1 as usize]))
            .then_with(|| a.2.cmp(&b.2))
    }

    /// The winning write of `key`, if any (tombstones included).
    fn winner(&self, key: &K) -> Option<Winner<V>> {
        self.store
            .entries_of(key)
            .into_iter()
            .map(|(r, c, cell)| (cell.0, r, c, cell))
            .max_by(|a, b| self.cmp_writes((a.0, a.1, a.2), (b.0, b.1, b.2)))
    }

    /// Sets `key` to `value` at `timestamp`.
    ///
    /// # Errors
    /// [`Error::CounterOverflow`] when this replica has issued `u64::MAX` events.
    pub fn set(&mut self, key: K, value: V, timestamp: u64) -> Result<LWWMapDelta<K, V>> {
        self.write_many(
            std::slice::from_ref(&key),
            Some(std::slice::from_ref(&value)),
            &[timestamp],
        )
    }

    /// Removes `key` at `timestamp` (a tombstone that wins like a write).
    ///
    /// # Errors
    /// As [`LWWMap::set`].
    pub fn remove(&mut self, key: K, timestamp: u64) -> Result<LWWMapDelta<K, V>> {
        self.write_many(std::slice::from_ref(&key), None, &[timestamp])
    }

    /// Sets `keys[i]` to `values[i]` at `timestamps[i]`, as one delta. A key given twice
    /// keeps the write that wins (the larger timestamp; the later one on a tie).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], or as [`LWWMap::set`]. Nothing changes.
    pub fn set_many(
        &mut self,
        keys: &[K],
        values: &[V],
        timestamps: &[u64],
    ) -> Result<LWWMapDelta<K, V>> {
        self.write_many(keys, Some(values), timestamps)
    }

    /// Removes `keys[i]` at `timestamps[i]`, as one delta.
    ///
    /// # Errors
    /// As [`LWWMap::set_many`].
    pub fn remove_many(&mut self, keys: &[K], timestamps: &[u64]) -> Result<LWWMapDelta<K, V>> {
        self.write_many(keys, None, timestamps)
    }

    fn write_many(
        &mut self,
        keys: &[K],
        values: Option<&[V]>,
        ts: &[u64],
    ) -> Result<LWWMapDelta<K, V>> {
        if let Some(v) = values {
            if v.len() != keys.len() {
                return Err(Error::LengthMismatch {
                    what: "values",
                    expected: keys.len(),
                    actual: v.len(),
                });
            }
        }
        if ts.len() != keys.len() {
            return Err(Error::LengthMismatch {
                what: "timestamps",
                expected: keys.len(),
                actual: ts.len(),
            });
        }
        // per key, the batch's winning write: largest timestamp, later position on ties
        let mut idx: Vec<(u64, usize)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.hash64(), i))
            .collect();
        idx.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| keys[a.1].total_cmp(&keys[b.1]))
                .then_with(|| (ts[a.1], a.1).cmp(&(ts[b.1], b.1)))
        });
        let mut rows: Vec<(u64, usize)> = Vec::with_capacity(idx.len());
        for (h, i) in idx {
            match rows.last_mut() {
                Some(last) if last.0 == h && keys[last.1].total_cmp(&keys[i]).is_eq() => {
                    *last = (h, i)
                }
                _ => rows.push((h, i)),
            }
        }
        // keep the writes that beat what this replica holds
        let me_now = self.store.ctx.table().get(&self.replica);
        let mut winning = vec![];
        let mut old_dots = vec![];
        for (h, i) in rows {
            let entries = self.store.entries_of(&keys[i]);
            let beats = match self.winner(&keys[i]) {
                None => true,
                Some((wts, wr, _, _)) => {
                    let names = self.store.ctx.table().names();
                    match ts[i].cmp(&wts) {
                        Ordering::Greater => true,
                        Ordering::Less => false,
                        // same timestamp: the larger name wins; our own later write beats ours
                        Ordering::Equal => Some(wr) == me_now || self.replica > names[wr as usize],
                    }
                }
            };
            if beats {
                old_dots.extend(entries.iter().map(|(r, c, _)| (*r, *c)));
                winning.push((h, i));
            }
        }
        if winning.is_empty() {
            return Ok(LWWMapDelta::new());
        }
        let (me, first) = self
            .store
            .reserve_dots(&self.replica, winning.len() as u64)?;
        let mut ctx = DotContext::new();
        ctx.insert_range(me, first, first + winning.len() as u64 - 1)?;
        for (r, c) in old_dots {
            ctx.insert(r, c);
        }
        let mut run = Run::with_capacity(winning.len());
        for (k, &(h, i)) in winning.iter().enumerate() {
            let cell = match values {
                Some(v) => (ts[i], (false, v[i].clone())),
                None => (ts[i], (true, V::zero())),
            };
            run.push(h, &keys[i], me, first + k as u64, &cell);
        }
        let delta = self.store.local_delta(run, ctx);
        self.store.join(&delta);
        Ok(delta)
    }

    /// The winning value of `key`; `None` when absent or removed.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_with_timestamp(key).map(|(_, v)| v)
    }

    /// The winning value of `key` and its timestamp; `None` when absent or removed.
    pub fn get_with_timestamp(&self, key: &K) -> Option<(u64, V)> {
        match self.winner(key) {
            Some((ts, _, _, (_, (false, v)))) => Some((ts, v)),
            _ => None,
        }
    }

    /// Keys whose winning write is a value (not a tombstone), in the store's order.
    pub fn keys(&self) -> Vec<K> {
        super::distinct_keys(&self.store)
            .into_iter()
            .filter(|k| self.get_with_timestamp(k).is_some())
            .collect()
    }

    /// Number of keys holding a value.
    pub fn len(&self) -> usize {
        self.keys().len()
    }

    /// Whether no key holds a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Item, V: Item> LWWMap<K, V>
where
    K: crate::wire::ArrowItem,
    V: crate::wire::ArrowItem,
{
    /// [`LWWMap::set_many`] with Arrow columns (`timestamps`: `UInt64`).
    ///
    /// # Errors
    /// [`Error::ArrowColumn`] for a wrong type or nulls, or as [`LWWMap::set_many`].
    pub fn set_many_arrow(
        &mut self,
        keys: &dyn arrow_array::Array,
        values: &dyn arrow_array::Array,
        timestamps: &dyn arrow_array::Array,
    ) -> Result<LWWMapDelta<K, V>> {
        let k = crate::wire::items_from_arrow::<K>(keys, "keys")?;
        let v = crate::wire::items_from_arrow::<V>(values, "values")?;
        let t = crate::wire::items_from_arrow::<u64>(timestamps, "timestamps")?;
        self.set_many(&k, &v, &t)
    }

    /// [`LWWMap::remove_many`] with Arrow columns.
    ///
    /// # Errors
    /// As [`LWWMap::set_many_arrow`].
    pub fn remove_many_arrow(
        &mut self,
        keys: &dyn arrow_array::Array,
        timestamps: &dyn arrow_array::Array,
    ) -> Result<LWWMapDelta<K, V>> {
        let k = crate::wire::items_from_arrow::<K>(keys, "keys")?;
        let t = crate::wire::items_from_arrow::<u64>(timestamps, "timestamps")?;
        self.remove_many(&k, &t)
    }
}
