//! `PNCounterMap`: a map from keys to counters that go up and down.

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};

use super::{sorted_by_key, PNCounterKind, State, WireKind};
use crate::error::{Error, Result};
use crate::item::{Item, ItemCol};
use crate::store::CausalStore;
use crate::wire::{no_nulls, ArrowItem, Cells, DecodeError};

/// A delta of a [`PNCounterMap`].
pub type PNCounterDelta<K> = CausalStore<K, (u64, u64)>;

/// A map of PN-counters: per key, each replica keeps the running totals of its own
/// increments and decrements (a *cell*); the value is the sum of increments minus the sum
/// of decrements over all cells.
///
/// Each update of a cell is a new event (dot) of its replica whose delta supersedes that
/// replica's previous cell for the key, so joining keeps, per key and replica, the latest
/// cell: the pointwise maximum of the totals, reached without any per-cell comparison.
/// Deltas are idempotent (they carry totals, not increments).
///
/// # Example
/// ```
/// use pluriverse::PNCounterMap;
/// let mut a: PNCounterMap<String> = PNCounterMap::new("a");
/// let mut b: PNCounterMap<String> = PNCounterMap::new("b");
/// let d1 = a.increment("likes".into(), 5).unwrap();
/// let d2 = b.decrement("likes".into(), 2).unwrap();
/// a.join(&d2);
/// b.join(&d1);
/// b.join(&d1); // duplicates change nothing
/// assert_eq!(a.value(&"likes".into()), 3);
/// assert_eq!(b.value(&"likes".into()), 3);
/// ```
pub type PNCounterMap<K> = State<PNCounterKind<K>>;

impl<K: Item> State<PNCounterKind<K>> {
    /// Adds `n` to `key`.
    ///
    /// # Errors
    /// [`Error::ValueOverflow`] when this replica's increments of `key` would exceed
    /// `u64::MAX`; [`Error::CounterOverflow`] when its event counter would. Nothing changes.
    pub fn increment(&mut self, key: K, n: u64) -> Result<PNCounterDelta<K>> {
        self.update_many(std::slice::from_ref(&key), &[n], &[0])
    }

    /// Subtracts `n` from `key`.
    ///
    /// # Errors
    /// As [`PNCounterMap::increment`].
    pub fn decrement(&mut self, key: K, n: u64) -> Result<PNCounterDelta<K>> {
        self.update_many(std::slice::from_ref(&key), &[0], &[n])
    }

    /// Adds `amounts[i]` to `keys[i]` for all `i`, as one delta (a key given twice gets the
    /// sum).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], or as [`PNCounterMap::increment`]. Nothing changes.
    pub fn increment_many(&mut self, keys: &[K], amounts: &[u64]) -> Result<PNCounterDelta<K>> {
        self.update_many(keys, amounts, &vec![0; amounts.len()])
    }

    /// Subtracts `amounts[i]` from `keys[i]` for all `i`, as one delta.
    ///
    /// # Errors
    /// As [`PNCounterMap::increment_many`].
    pub fn decrement_many(&mut self, keys: &[K], amounts: &[u64]) -> Result<PNCounterDelta<K>> {
        self.update_many(keys, &vec![0; amounts.len()], amounts)
    }

    fn update_many(&mut self, keys: &[K], inc: &[u64], dec: &[u64]) -> Result<PNCounterDelta<K>> {
        for (what, col) in [("amounts", inc), ("amounts", dec)] {
            if col.len() != keys.len() {
                return Err(Error::LengthMismatch {
                    what,
                    expected: keys.len(),
                    actual: col.len(),
                });
            }
        }
        let overflow = || Error::ValueOverflow {
            what: "per-replica increment or decrement total",
        };
        // group equal keys, summing their amounts
        let mut groups: Vec<(u64, usize, u64, u64)> = vec![];
        let sorted = sorted_by_key(keys, |a, b| a.cmp(&b));
        for (at, &(h, i)) in sorted.iter().enumerate() {
            // the amounts are read in hash order, at random: prefetched ahead
            if let Some(&(_, ahead)) = sorted.get(at + super::PREFETCH_AHEAD) {
                crate::item::prefetch(inc.as_ptr().wrapping_add(ahead));
                crate::item::prefetch(dec.as_ptr().wrapping_add(ahead));
            }
            match groups.last_mut() {
                Some(g) if g.0 == h && keys[g.1].total_cmp(&keys[i]).is_eq() => {
                    g.2 = g.2.checked_add(inc[i]).ok_or_else(overflow)?;
                    g.3 = g.3.checked_add(dec[i]).ok_or_else(overflow)?;
                }
                _ => groups.push((h, i, inc[i], dec[i])),
            }
        }
        // every new cell is computed (and checked) before anything changes: a key's new
        // cell adds to this replica's latest cell of it, which it replaces
        let me_now = self.store.ctx.table().get(&self.replica);
        let batch: Vec<(u64, usize)> = groups.iter().map(|g| (g.0, g.1)).collect();
        let mut own = self.store.held_rows(&batch, keys);
        own.retain(|h| Some(self.store.runs[h.run as usize].replica[h.row as usize]) == me_now);
        let mut cells = Vec::with_capacity(groups.len());
        let mut next = own.iter().peekable();
        for (at, &(_, _, p, n)) in groups.iter().enumerate() {
            // this replica's latest cell of the key, if it holds one
            let mut latest: Option<(u64, (u64, u64))> = None;
            while let Some(o) = next.next_if(|o| o.at == at) {
                let run = &self.store.runs[o.run as usize];
                let c = run.counter[o.row as usize];
                if latest.is_none_or(|l| c > l.0) {
                    latest = Some((
                        c,
                        (run.values.0[o.row as usize], run.values.1[o.row as usize]),
                    ));
                }
            }
            let total = match latest {
                None => (p, n),
                Some((_, (p0, n0))) => (
                    p0.checked_add(p).ok_or_else(overflow)?,
                    n0.checked_add(n).ok_or_else(overflow)?,
                ),
            };
            cells.push(total);
        }
        self.store.write_local(
            &self.replica,
            &batch,
            keys,
            &|c: &mut <(u64, u64) as Item>::Col, pos: usize, _: usize| {
                ItemCol::push(c, &cells[pos])
            },
            &own,
        )
    }

    /// Whether `key` has ever been counted (a key whose value returns to 0 stays).
    pub fn contains_key(&self, key: &K) -> bool {
        !self.store.entries_of(key).is_empty()
    }

    /// The counter's value: all increments minus all decrements (0 for an absent key). Each
    /// replica's latest cell counts (an older cell still waiting for the delta that replaces
    /// it is ignored), so the value is exact under any delivery order.
    pub fn value(&self, key: &K) -> i128 {
        super::latest_per_replica(self.store.entries_of(key))
            .iter()
            .map(|(_, _, (p, n))| i128::from(*p) - i128::from(*n))
            .sum()
    }

    /// Keys with at least one cell, in the store's order.
    pub fn keys(&self) -> Vec<K> {
        super::distinct_keys(&self.store)
    }

    /// Number of keys with at least one cell (a pass over the entries).
    pub fn len(&self) -> usize {
        super::distinct_key_count(&self.store)
    }

    /// Whether no key has a cell.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl<K: ArrowItem> State<PNCounterKind<K>> {
    /// [`PNCounterMap::increment_many`] with Arrow columns (`amounts`: `UInt64`).
    ///
    /// # Errors
    /// [`Error::ArrowColumn`] for a wrong type or nulls, or as
    /// [`PNCounterMap::increment_many`].
    pub fn increment_many_arrow(
        &mut self,
        keys: &dyn arrow_array::Array,
        amounts: &dyn arrow_array::Array,
    ) -> Result<PNCounterDelta<K>> {
        let k = crate::wire::items_from_arrow::<K>(keys, "keys")?;
        let a = crate::wire::items_from_arrow::<u64>(amounts, "amounts")?;
        self.increment_many(&k, &a)
    }

    /// [`PNCounterMap::decrement_many`] with Arrow columns.
    ///
    /// # Errors
    /// As [`PNCounterMap::increment_many_arrow`].
    pub fn decrement_many_arrow(
        &mut self,
        keys: &dyn arrow_array::Array,
        amounts: &dyn arrow_array::Array,
    ) -> Result<PNCounterDelta<K>> {
        let k = crate::wire::items_from_arrow::<K>(keys, "keys")?;
        let a = crate::wire::items_from_arrow::<u64>(amounts, "amounts")?;
        self.decrement_many(&k, &a)
    }
}

/// `PNCounterMap` cells: a replica's running totals.
impl Cells for (u64, u64) {
    type Kind<K: ArrowItem> = PNCounterKind<K>;
}

/// Two columns, `increments` and `decrements`, no nulls.
impl<K: ArrowItem> WireKind for PNCounterKind<K> {
    fn cell_fields() -> Vec<Field> {
        vec![
            Field::new("increments", DataType::UInt64, false),
            Field::new("decrements", DataType::UInt64, false),
        ]
    }
    fn encode_cells(col: &(Vec<u64>, Vec<u64>), rows: &[usize]) -> Vec<ArrayRef> {
        vec![
            u64::to_array(&col.0, rows, None),
            u64::to_array(&col.1, rows, None),
        ]
    }
    fn decode_cells(
        cols: &[ArrayRef],
        _: usize,
        col: &mut (Vec<u64>, Vec<u64>),
        first_row: usize,
    ) -> std::result::Result<(), DecodeError> {
        let mut nulls = vec![];
        u64::extend_from(cols[0].as_ref(), &mut col.0, &mut nulls);
        no_nulls(&nulls, "increments", first_row)?;
        nulls.clear();
        u64::extend_from(cols[1].as_ref(), &mut col.1, &mut nulls);
        no_nulls(&nulls, "decrements", first_row)
    }
}
