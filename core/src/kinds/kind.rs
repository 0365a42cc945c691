//! The record kind as a type: [`Kind`] names a kind's wire name and its key and cell types,
//! [`WireKind`] adds its cell columns; one marker type per kind.

use std::marker::PhantomData;

use arrow_array::ArrayRef;
use arrow_schema::Field;

use crate::item::Item;
use crate::wire::{ArrowItem, DecodeError};

pub(crate) mod sealed {
    /// Only core defines kinds: the join, the digests and the wire format are written for
    /// exactly these.
    pub trait Sealed {}
}

/// A record kind: what a [`crate::kinds::State`] of it stores, and the name it goes by on
/// the wire (the schema's `pluriverse.kind`) and in every face.
///
/// Sealed: the kinds are [`MVMapKind`], [`AWSetKind`], [`PNCounterKind`] and [`LWWMapKind`].
///
/// # Example
/// ```
/// use pluriverse::{Kind, MVMap, MVMapKind};
/// fn kind_of<Kd: Kind>(_: &pluriverse::State<Kd>) -> &'static str {
///     Kd::NAME
/// }
/// let m: MVMap<String, i64> = MVMap::new("a");
/// assert_eq!(kind_of(&m), "MVMap");
/// assert_eq!(<MVMapKind<String, i64> as Kind>::NAME, "MVMap");
/// ```
pub trait Kind: sealed::Sealed + Sized + Send + Sync + 'static {
    /// The kind's name on the wire and in every face: `MVMap`, `AWSet`, `PNCounterMap`,
    /// `LWWMap`.
    const NAME: &'static str;
    /// The key type.
    type Key: Item;
    /// The value stored per entry (a *cell*): the value of an `MVMap`, `()` for an `AWSet`,
    /// a replica's `(increments, decrements)` for a `PNCounterMap`, an [`crate::LwwCell`].
    type Cell: Item;
}

/// A kind with Arrow columns: its cells as the value columns after `key`, `replica`,
/// `counter` ([`crate::wire`]).
pub trait WireKind: Kind<Key: ArrowItem> {
    /// The value fields.
    fn cell_fields() -> Vec<Field>;
    /// The value columns for `rows` of `col`.
    fn encode_cells(col: &<Self::Cell as Item>::Col, rows: &[usize]) -> Vec<ArrayRef>;
    /// Appends the value columns of a batch (types already checked against
    /// [`WireKind::cell_fields`]) to `col`.
    ///
    /// # Errors
    /// A null where the kind allows none.
    fn decode_cells(
        cols: &[ArrayRef],
        rows: usize,
        col: &mut <Self::Cell as Item>::Col,
        first_row: usize,
    ) -> Result<(), DecodeError>;
}

/// The [`Kind`] of [`crate::MVMap`]: keys `K` holding multi-value registers of `V`.
pub struct MVMapKind<K, V>(PhantomData<fn() -> (K, V)>);
/// The [`Kind`] of [`crate::AWSet`]: elements `E`, no cell.
pub struct AWSetKind<E>(PhantomData<fn() -> E>);
/// The [`Kind`] of [`crate::PNCounterMap`]: keys `K`, cells `(increments, decrements)`.
pub struct PNCounterKind<K>(PhantomData<fn() -> K>);
/// The [`Kind`] of [`crate::LWWMap`]: keys `K`, cells [`crate::LwwCell<V>`].
pub struct LWWMapKind<K, V>(PhantomData<fn() -> (K, V)>);

impl<K, V> sealed::Sealed for MVMapKind<K, V> {}
impl<E> sealed::Sealed for AWSetKind<E> {}
impl<K> sealed::Sealed for PNCounterKind<K> {}
impl<K, V> sealed::Sealed for LWWMapKind<K, V> {}

impl<K: Item, V: Item> Kind for MVMapKind<K, V> {
    const NAME: &'static str = "MVMap";
    type Key = K;
    type Cell = V;
}

impl<E: Item> Kind for AWSetKind<E> {
    const NAME: &'static str = "AWSet";
    type Key = E;
    type Cell = ();
}

impl<K: Item> Kind for PNCounterKind<K> {
    const NAME: &'static str = "PNCounterMap";
    type Key = K;
    type Cell = (u64, u64);
}

impl<K: Item, V: Item> Kind for LWWMapKind<K, V> {
    const NAME: &'static str = "LWWMap";
    type Key = K;
    type Cell = crate::LwwCell<V>;
}

/// The names of every kind, in one list (for faces that pick a kind by name).
pub const KIND_NAMES: [&str; 4] = [
    <MVMapKind<u64, u64> as Kind>::NAME,
    <AWSetKind<u64> as Kind>::NAME,
    <PNCounterKind<u64> as Kind>::NAME,
    <LWWMapKind<u64, u64> as Kind>::NAME,
];
