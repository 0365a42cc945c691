//! `AWSet`: an add-wins set of elements.

use arrow_array::ArrayRef;
use arrow_schema::Field;

use super::{last_per_key, AWSetKind, BatchKeys, KeyCol, State, WireKind};
use crate::error::Result;
use crate::item::{Item, ItemCol, UnitCol};
use crate::store::CausalStore;
use crate::wire::{ArrowItem, Cells, DecodeError};

/// A delta of an [`AWSet`].
pub type AWSetDelta<E> = CausalStore<E, ()>;

/// An add-wins set: an element is present when some `add` of it has not been seen by a
/// `remove`; an `add` concurrent with a `remove` wins.
///
/// # Example
/// ```
/// use pluriverse::AWSet;
/// let mut a: AWSet<u64> = AWSet::new("a");
/// let mut b: AWSet<u64> = AWSet::new("b");
/// let add = a.add(7).unwrap();
/// b.join(&add);
/// let rm = b.remove(&7);         // b removes the add it saw...
/// let again = a.add(7).unwrap(); // ...while a adds 7 again, concurrently
/// a.join(&rm);
/// b.join(&again);
/// assert!(a.contains(&7) && b.contains(&7)); // add wins
/// ```
pub type AWSet<E> = State<AWSetKind<E>>;

impl<E: Item> State<AWSetKind<E>> {
    /// Adds `e`.
    ///
    /// # Errors
    /// [`crate::Error::CounterOverflow`] when this replica has issued `u64::MAX` events.
    pub fn add(&mut self, e: E) -> Result<AWSetDelta<E>> {
        self.add_many(std::slice::from_ref(&e))
    }

    /// Adds many elements as one delta with one contiguous run of dots.
    ///
    /// # Errors
    /// As [`AWSet::add`]; nothing changes.
    pub fn add_many(&mut self, elems: &[E]) -> Result<AWSetDelta<E>> {
        self.add_many_from(elems)
    }

    /// [`AWSet::add_many`] of any batch of elements.
    fn add_many_from(&mut self, elems: &(impl BatchKeys<E> + ?Sized)) -> Result<AWSetDelta<E>> {
        let batch = last_per_key(elems);
        let held = self.store.held_rows(&batch, elems);
        self.store.write_local(
            &self.replica,
            &batch,
            elems,
            &|c: &mut UnitCol, _: usize, _: usize| c.push(&()),
            &held,
        )
    }

    /// Removes `e` as far as this replica has seen it.
    pub fn remove(&mut self, e: &E) -> AWSetDelta<E> {
        self.remove_many(std::slice::from_ref(e))
    }

    /// Removes many elements as one delta.
    pub fn remove_many(&mut self, elems: &[E]) -> AWSetDelta<E> {
        self.remove_many_from(elems)
    }

    /// [`AWSet::remove_many`] of any batch of elements.
    fn remove_many_from(&mut self, elems: &(impl BatchKeys<E> + ?Sized)) -> AWSetDelta<E> {
        let held = self.store.held_rows(&last_per_key(elems), elems);
        self.store.remove_held(&held)
    }

    /// Whether `e` is in the set.
    pub fn contains(&self, e: &E) -> bool {
        !self.store.entries_of(e).is_empty()
    }

    /// The elements, in the store's order (by hash).
    pub fn elements(&self) -> Vec<E> {
        super::distinct_keys(&self.store)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        super::distinct_key_count(&self.store)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl<E: ArrowItem> State<AWSetKind<E>> {
    /// [`AWSet::add_many`] with an Arrow column.
    ///
    /// # Errors
    /// [`crate::Error::ArrowColumn`] for a wrong type or nulls, or as [`AWSet::add_many`].
    pub fn add_many_arrow(&mut self, elems: &dyn arrow_array::Array) -> Result<AWSetDelta<E>> {
        let col = crate::wire::col_from_arrow::<E>(elems, "elements")?;
        self.add_many_from(&KeyCol::<E>(&col))
    }

    /// [`AWSet::remove_many`] with an Arrow column.
    ///
    /// # Errors
    /// [`crate::Error::ArrowColumn`] for a wrong type or nulls.
    pub fn remove_many_arrow(&mut self, elems: &dyn arrow_array::Array) -> Result<AWSetDelta<E>> {
        let col = crate::wire::col_from_arrow::<E>(elems, "elements")?;
        Ok(self.remove_many_from(&KeyCol::<E>(&col)))
    }
}

/// `AWSet` entries carry no cell.
impl Cells for () {
    type Kind<K: ArrowItem> = AWSetKind<K>;
}

/// No value columns.
impl<E: ArrowItem> WireKind for AWSetKind<E> {
    fn cell_fields() -> Vec<Field> {
        vec![]
    }
    fn encode_cells(_: &UnitCol, _: &[usize]) -> Vec<ArrayRef> {
        vec![]
    }
    fn decode_cells(
        _: &[ArrayRef],
        rows: usize,
        col: &mut UnitCol,
        _: usize,
    ) -> std::result::Result<(), DecodeError> {
        for _ in 0..rows {
            col.push(&());
        }
        Ok(())
    }
}
