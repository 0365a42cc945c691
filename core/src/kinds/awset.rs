//! `AWSet`: an add-wins set of elements.

use pluriverse_kernels::dots::DotContext;

use super::last_per_key;
use crate::error::Result;
use crate::item::Item;
use crate::replica::ReplicaId;
use crate::store::run::Run;
use crate::store::CausalStore;

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
#[derive(Clone, Debug)]
pub struct AWSet<E: Item> {
    replica: ReplicaId,
    store: CausalStore<E, ()>,
}

super::common_methods!(AWSet<E>, E, ());

impl<E: Item> AWSet<E> {
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
        let rows = last_per_key(elems);
        if rows.is_empty() {
            return Ok(AWSetDelta::new());
        }
        let n = rows.len() as u64;
        let (me, first) = self.store.reserve_dots(&self.replica, n)?;
        let mut ctx = DotContext::new();
        ctx.insert_range(me, first, first + n - 1)?;
        let mut run = Run::with_capacity(rows.len());
        for (k, &(h, i)) in rows.iter().enumerate() {
            for (r, c, _) in self.store.entries_of(&elems[i]) {
                ctx.insert(r, c);
            }
            run.push(h, &elems[i], me, first + k as u64, &());
        }
        let delta = self.store.local_delta(run, ctx);
        self.store.join(&delta);
        Ok(delta)
    }

    /// Removes `e` as far as this replica has seen it.
    pub fn remove(&mut self, e: &E) -> AWSetDelta<E> {
        self.remove_many(std::slice::from_ref(e))
    }

    /// Removes many elements as one delta.
    pub fn remove_many(&mut self, elems: &[E]) -> AWSetDelta<E> {
        let mut ctx = DotContext::new();
        for e in elems {
            for (r, c, _) in self.store.entries_of(e) {
                ctx.insert(r, c);
            }
        }
        if ctx.replicas().iter().all(|d| d.is_empty()) {
            return AWSetDelta::new();
        }
        let delta = self.store.local_delta(Run::default(), ctx);
        self.store.join(&delta);
        delta
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

impl<E: Item> AWSet<E>
where
    E: crate::wire::ArrowItem,
{
    /// [`AWSet::add_many`] with an Arrow column.
    ///
    /// # Errors
    /// [`crate::Error::ArrowColumn`] for a wrong type or nulls, or as [`AWSet::add_many`].
    pub fn add_many_arrow(&mut self, elems: &dyn arrow_array::Array) -> Result<AWSetDelta<E>> {
        self.add_many(&crate::wire::items_from_arrow::<E>(elems, "elements")?)
    }

    /// [`AWSet::remove_many`] with an Arrow column.
    ///
    /// # Errors
    /// [`crate::Error::ArrowColumn`] for a wrong type or nulls.
    pub fn remove_many_arrow(&mut self, elems: &dyn arrow_array::Array) -> Result<AWSetDelta<E>> {
        Ok(self.remove_many(&crate::wire::items_from_arrow::<E>(elems, "elements")?))
    }
}
