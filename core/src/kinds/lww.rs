//! `LWWMap`: a map of last-writer-wins registers with timestamped removes.

use std::cmp::Ordering;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};
use pluriverse_kernels::dots::DotContext;

use super::{last_per_key_by, LWWMapKind, State, WireKind};
use crate::error::{Error, Result};
use crate::item::{Item, ItemCol};
use crate::stability::Stability;
use crate::store::CausalStore;
use crate::wire::{no_nulls, ArrowItem, Cells, DecodeError};

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
/// A remove is an entry (a tombstone), even for a key this replica never saw: a concurrent
/// write with a lower timestamp may still arrive and must lose. Tombstones go away through
/// [`LWWMap::collect_tombstones`] once every replica has seen them (causal stability), which
/// the layer that knows the peers' version vectors calls; the sync protocol does not call it
/// yet, so without that call tombstones stay.
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
pub type LWWMap<K, V> = State<LWWMapKind<K, V>>;

/// The winning write of a key: `(timestamp, replica index, counter, cell)`.
type Winner<V> = (u64, u32, u64, LwwCell<V>);

impl<K: Item, V: Item> State<LWWMapKind<K, V>> {
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
        let rows = last_per_key_by(keys, |a, b| (ts[a], a).cmp(&(ts[b], b)));
        // keep the writes that beat what this replica holds (every entry of the key: the
        // rows a winning write replaces)
        let me_now = self.store.ctx.table().get(&self.replica);
        let held = self.store.held_rows(&rows, keys);
        let (mut winning, mut cells, mut replaced) = (vec![], vec![], vec![]);
        let mut next = 0;
        for (at, &(h, i)) in rows.iter().enumerate() {
            // timestamps and values are read in hash order, at random: prefetched ahead
            if let Some(&(_, ahead)) = rows.get(at + super::PREFETCH_AHEAD) {
                crate::item::prefetch(ts.as_ptr().wrapping_add(ahead));
                if let Some(v) = values {
                    crate::item::prefetch(v.as_ptr().wrapping_add(ahead));
                }
            }
            let from = next;
            while next < held.len() && held[next].at == at {
                next += 1;
            }
            let entries = &held[from..next];
            let winner = entries
                .iter()
                .map(|e| {
                    let run = &self.store.runs[e.run as usize];
                    let row = e.row as usize;
                    (run.values.0[row], run.replica[row], run.counter[row])
                })
                .max_by(|a, b| self.cmp_writes(*a, *b));
            let beats = match winner {
                None => true,
                Some((wts, wr, _)) => {
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
                replaced.extend_from_slice(entries);
                let cell = match values {
                    Some(v) => (ts[i], (false, v[i].clone())),
                    None => (ts[i], (true, V::zero())),
                };
                winning.push((h, i));
                cells.push(cell);
            }
        }
        self.store.write_local(
            &self.replica,
            &winning,
            keys,
            &|c: &mut <LwwCell<V> as Item>::Col, pos: usize, _: usize| c.push(&cells[pos]),
            &replaced,
        )
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

    /// Drops the tombstones no replica can need any more, and with each the writes of its
    /// key that it beats; returns how many entries were dropped. Their dots stay in the
    /// context, so a copy of a dropped entry arriving later is discarded (as a removed
    /// entry is), and a replica joining this state drops its copies too.
    ///
    /// A remove must leave a tombstone even for a key this replica never saw: a concurrent
    /// `set` with a lower timestamp may still be on its way, and it must lose when it
    /// arrives. A tombstone `t` (dot `d`, timestamp `T`) is dropped only when no such write
    /// can exist any more:
    /// - `d` is in `stability`'s frontier: every replica has seen `t`;
    /// - this state's context covers `stability`'s horizon (else nothing is dropped): every
    ///   write concurrent with `t` was issued before its writer saw `t`, so it is in the
    ///   horizon, hence already here;
    /// - `T <= timestamp_floor`, where the caller promises that no replica will write a
    ///   timestamp at or below `timestamp_floor` any more (a replica that dropped `t` no
    ///   longer knows that a write below `T` should lose). With clock timestamps: the
    ///   smallest clock last heard from the replicas, less the clock skew allowed.
    ///
    /// Who calls it: the layer that knows the peers' version vectors (the replica and its
    /// sync protocol), after anti-entropy rounds; a state on its own cannot know them.
    ///
    /// # Example
    /// ```
    /// use pluriverse::{LWWMap, ReplicaId, Stability};
    /// let mut a: LWWMap<u64, u64> = LWWMap::new("a");
    /// let mut b: LWWMap<u64, u64> = LWWMap::new("b");
    /// let late = b.set(7, 1, 10).unwrap(); // concurrent, not delivered yet
    /// let rm = a.remove(7, 20).unwrap();
    /// b.join(&rm);
    /// // a has not heard from b since b wrote: nothing is stable yet
    /// let heard = |m: &LWWMap<u64, u64>| m.context().version_vector();
    /// let (na, nb) = (ReplicaId::from("a"), ReplicaId::from("b"));
    /// let (va, vb) = (heard(&a), heard(&b));
    /// let s = Stability::from_peers([(&na, &va), (&nb, &vb)]);
    /// assert_eq!(a.collect_tombstones(&s, 100), 0, "the horizon holds b's write, a lacks it");
    /// a.join(&late);
    /// assert_eq!(a.collect_tombstones(&s, 100), 2, "the tombstone and the write it beats");
    /// assert_eq!((a.entry_count(), a.get(&7)), (0, None));
    /// a.join(&late); // a copy arriving again is discarded
    /// assert_eq!(a.get(&7), None);
    /// ```
    pub fn collect_tombstones(&mut self, stability: &Stability, timestamp_floor: u64) -> usize {
        let ctx = &self.store.ctx;
        let prefix = ctx.version_vector();
        if stability.horizon().iter().any(|(r, c)| prefix.get(r) < c) {
            return 0;
        }
        let frontier: Vec<u64> = ctx
            .table()
            .names()
            .iter()
            .map(|n| stability.frontier().get(n))
            .collect();
        let m = self.store.merged_cow();
        let mut dropped = DotContext::new();
        let mut count = 0usize;
        let mut start = 0;
        while start < m.rows() {
            let mut end = start + 1;
            while end < m.rows()
                && m.hash[end] == m.hash[start]
                && m.keys.cmp_at(start, &m.keys, end).is_eq()
            {
                end += 1;
            }
            let write = |i: usize| {
                let (ts, tomb) = (m.values.0[i], m.values.1 .0[i]);
                (ts, m.replica[i], m.counter[i], tomb)
            };
            // the key's largest droppable tombstone, if any
            let best = (start..end)
                .map(write)
                .filter(|&(ts, r, c, tomb)| {
                    tomb && ts <= timestamp_floor && c <= frontier[r as usize]
                })
                .max_by(|a, b| self.cmp_writes((a.0, a.1, a.2), (b.0, b.1, b.2)));
            if let Some((ts, r, c, _)) = best {
                for (wts, wr, wc, _) in (start..end).map(write) {
                    if self.cmp_writes((wts, wr, wc), (ts, r, c)).is_le() {
                        dropped.insert(wr, wc);
                        count += 1;
                    }
                }
            }
            start = end;
        }
        if count == 0 {
            return 0;
        }
        drop(m);
        // a delta with no entries whose context holds the dropped dots: joined, it removes
        // them, as a remove does; the context is unchanged (they are already in it)
        self.store.remove_local(dropped);
        count
    }
}

impl<K: ArrowItem, V: ArrowItem> State<LWWMapKind<K, V>> {
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

/// `LWWMap` cells: timestamp and value; a null value is a tombstone.
impl<V: ArrowItem> Cells for LwwCell<V> {
    type Kind<K: ArrowItem> = LWWMapKind<K, V>;
}

/// Two columns, `timestamp` (no nulls) and `value` (null for a tombstone).
impl<K: ArrowItem, V: ArrowItem> WireKind for LWWMapKind<K, V> {
    fn cell_fields() -> Vec<Field> {
        vec![
            Field::new("timestamp", DataType::UInt64, false),
            Field::new("value", V::data_type(), true),
        ]
    }
    fn encode_cells(col: &(Vec<u64>, (Vec<bool>, V::Col)), rows: &[usize]) -> Vec<ArrayRef> {
        let valid: Vec<bool> = rows.iter().map(|&i| !col.1 .0[i]).collect();
        vec![
            u64::to_array(&col.0, rows, None),
            V::to_array(&col.1 .1, rows, Some(&valid)),
        ]
    }
    fn decode_cells(
        cols: &[ArrayRef],
        _: usize,
        col: &mut (Vec<u64>, (Vec<bool>, V::Col)),
        first_row: usize,
    ) -> std::result::Result<(), DecodeError> {
        let mut nulls = vec![];
        u64::extend_from(cols[0].as_ref(), &mut col.0, &mut nulls);
        no_nulls(&nulls, "timestamp", first_row)?;
        nulls.clear();
        V::extend_from(cols[1].as_ref(), &mut col.1 .1, &mut nulls);
        col.1 .0.extend_from_slice(&nulls);
        Ok(())
    }
}
