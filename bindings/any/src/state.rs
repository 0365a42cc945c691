//! [`AnyState`]: one handle over every kind and key/value type, dispatching to the typed
//! record kinds of `pluriverse`.

use std::any::Any;
use std::fmt;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use pluriverse::item::{Item, ItemCol};
use pluriverse::store::{DotState, RangeSummary};
use pluriverse::wire::{ArrowItem, Cells, Limits};
use pluriverse::{
    AWSet, AWSetKind, CausalContext, CausalStore, LWWMap, LWWMapKind, MVMap, MVMapKind,
    PNCounterKind, PNCounterMap, ReplicaId, Stability, State, VersionVector, WireKind,
};

use crate::diff::Diff;
use crate::types::{KeyType, Kind, Scalar, StateType, ValueType};
use crate::{AnyError, Result};

/// A key or value type the dynamic layer supports: an Arrow item convertible from and to a
/// [`Scalar`].
pub(crate) trait DynItem: ArrowItem {
    fn to_scalar(&self) -> Scalar;
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self>;
    /// An Arrow array of `items`.
    fn array_of(items: &[Self]) -> ArrayRef {
        let mut col = <Self as Item>::Col::default();
        for i in items {
            col.push(i);
        }
        let rows: Vec<usize> = (0..items.len()).collect();
        <Self as ArrowItem>::to_array(&col, &rows, None)
    }
}

fn mismatch(what: &'static str, expected: &str, s: &Scalar) -> AnyError {
    AnyError::ScalarType {
        what,
        expected: expected.into(),
        found: s.type_name().into(),
    }
}

impl DynItem for String {
    fn to_scalar(&self) -> Scalar {
        Scalar::Utf8(self.clone())
    }
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self> {
        match s {
            Scalar::Utf8(v) => Ok(v.clone()),
            _ => Err(mismatch(what, "utf8", s)),
        }
    }
}

impl DynItem for Vec<u8> {
    fn to_scalar(&self) -> Scalar {
        Scalar::Binary(self.clone())
    }
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self> {
        match s {
            Scalar::Binary(v) => Ok(v.clone()),
            _ => Err(mismatch(what, "binary", s)),
        }
    }
}

impl DynItem for i64 {
    fn to_scalar(&self) -> Scalar {
        Scalar::Int64(*self)
    }
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self> {
        match s {
            Scalar::Int64(v) => Ok(*v),
            Scalar::UInt64(v) => i64::try_from(*v).map_err(|_| mismatch(what, "int64", s)),
            _ => Err(mismatch(what, "int64", s)),
        }
    }
}

impl DynItem for u64 {
    fn to_scalar(&self) -> Scalar {
        Scalar::UInt64(*self)
    }
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self> {
        match s {
            Scalar::UInt64(v) => Ok(*v),
            Scalar::Int64(v) => u64::try_from(*v).map_err(|_| mismatch(what, "uint64", s)),
            _ => Err(mismatch(what, "uint64", s)),
        }
    }
}

impl DynItem for f64 {
    fn to_scalar(&self) -> Scalar {
        Scalar::Float64(*self)
    }
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self> {
        match s {
            Scalar::Float64(v) => Ok(*v),
            Scalar::Int64(v) => Ok(*v as f64),
            _ => Err(mismatch(what, "float64", s)),
        }
    }
}

impl DynItem for bool {
    fn to_scalar(&self) -> Scalar {
        Scalar::Bool(*self)
    }
    fn from_scalar(s: &Scalar, what: &'static str) -> Result<Self> {
        match s {
            Scalar::Bool(v) => Ok(*v),
            _ => Err(mismatch(what, "bool", s)),
        }
    }
}

/// A mutation, by the kind it belongs to.
#[derive(Clone, Copy)]
pub(crate) enum Op<'a> {
    Set(&'a Scalar, &'a Scalar),
    Remove(&'a Scalar),
    Add(&'a Scalar),
    Increment(&'a Scalar, u64),
    Decrement(&'a Scalar, u64),
    SetAt(&'a Scalar, &'a Scalar, u64),
    RemoveAt(&'a Scalar, u64),
    SetMany(&'a dyn Array, &'a dyn Array),
    RemoveMany(&'a dyn Array),
    AddMany(&'a dyn Array),
    IncrementMany(&'a dyn Array, &'a dyn Array),
    DecrementMany(&'a dyn Array, &'a dyn Array),
    SetManyAt(&'a dyn Array, &'a dyn Array, &'a dyn Array),
    RemoveManyAt(&'a dyn Array, &'a dyn Array),
}

impl Op<'_> {
    fn name(&self) -> &'static str {
        match self {
            Op::Set(..) => "set",
            Op::Remove(..) => "remove",
            Op::Add(..) => "add",
            Op::Increment(..) => "increment",
            Op::Decrement(..) => "decrement",
            Op::SetAt(..) => "set (with a timestamp)",
            Op::RemoveAt(..) => "remove (with a timestamp)",
            Op::SetMany(..) => "set_many",
            Op::RemoveMany(..) => "remove_many",
            Op::AddMany(..) => "add_many",
            Op::IncrementMany(..) => "increment_many",
            Op::DecrementMany(..) => "decrement_many",
            Op::SetManyAt(..) => "set_many (with timestamps)",
            Op::RemoveManyAt(..) => "remove_many (with timestamps)",
        }
    }
}

/// What every typed kind offers the dynamic layer.
pub(crate) trait Dyn: Send + Sync + 'static {
    fn state_type(&self) -> StateType;
    fn as_any(&self) -> &dyn Any;
    fn clone_box(&self) -> Box<dyn Dyn>;
    fn replica(&self) -> &ReplicaId;
    fn with_replica(&self, replica: ReplicaId) -> Box<dyn Dyn>;
    fn context(&self) -> &CausalContext;
    fn entry_count(&self) -> usize;
    fn len(&self) -> usize;
    fn digest(&self) -> u128;
    fn bucket_digests(&self, bits: u32) -> Result<Vec<u128>>;
    fn sparse_bucket_digests(&self, bits: u32) -> Result<Vec<(u32, u128)>>;
    fn diff(&self, other: &dyn Dyn, bits: u32) -> Result<Diff>;
    fn to_bytes(&self) -> Result<Vec<u8>>;
    fn to_compact(&self) -> Vec<u8>;
    fn to_record_batches(&self) -> Result<(SchemaRef, Vec<RecordBatch>)>;
    fn join(&mut self, other: &dyn Dyn) -> Result<()>;
    fn retire_idle(&mut self) -> usize;
    fn join_all(&self, others: &[&dyn Dyn]) -> Result<Box<dyn Dyn>>;
    fn new_batch(&self) -> Box<dyn DynBatch>;
    fn join_bytes(&mut self, bytes: &[u8], limits: &Limits) -> Result<()>;
    fn join_checked(&mut self, other: &dyn Dyn) -> Result<()>;
    fn join_bytes_checked(&mut self, bytes: &[u8], limits: &Limits) -> Result<()>;
    fn delta_since(&self, peer: &CausalContext) -> Box<dyn Dyn>;
    fn partition(&self, parts: usize) -> Vec<Box<dyn Dyn>>;
    fn replicas_seen(&self) -> Vec<ReplicaId>;
    fn range_summary(&self, replica: &ReplicaId, lo: u64, hi: u64) -> RangeSummary;
    fn range_size(&self, replica: &ReplicaId, lo: u64, hi: u64) -> (u64, u64);
    fn range_dots(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        max_runs: usize,
    ) -> Option<Vec<(u64, u64, DotState)>>;
    fn split_range(&self, replica: &ReplicaId, lo: u64, hi: u64, budget: u64) -> Vec<(u64, u64)>;
    fn slice(&self, replica: &ReplicaId, lo: u64, hi: u64) -> Box<dyn Dyn>;
    fn first_part(&self, replica: &ReplicaId, lo: u64, hi: u64, budget: u64) -> u64;
    fn split_even(&self, replica: &ReplicaId, lo: u64, hi: u64, parts: u64) -> Vec<(u64, u64)>;
    fn keys(&self) -> ArrayRef;
    fn apply(&mut self, op: Op<'_>) -> Result<Box<dyn Dyn>>;
    fn contains(&self, key: &Scalar) -> Result<bool>;
    fn get(&self, key: &Scalar) -> Result<Vec<Scalar>> {
        let _ = key;
        Err(AnyError::WrongKind {
            op: "get",
            kind: self.state_type().kind,
        })
    }
    fn get_with_timestamp(&self, key: &Scalar) -> Result<Option<(u64, Scalar)>> {
        let _ = key;
        Err(AnyError::WrongKind {
            op: "get_with_timestamp",
            kind: self.state_type().kind,
        })
    }
    fn value(&self, key: &Scalar) -> Result<i128> {
        let _ = key;
        Err(AnyError::WrongKind {
            op: "value",
            kind: self.state_type().kind,
        })
    }
    fn collect_tombstones(&mut self, stability: &Stability, timestamp_floor: u64) -> Result<usize> {
        let _ = (stability, timestamp_floor);
        Err(AnyError::WrongKind {
            op: "collect_tombstones",
            kind: self.state_type().kind,
        })
    }
}

/// The type tags of the Rust key and value types.
pub(crate) trait KeyTag: DynItem {
    const KEY: KeyType;
}
pub(crate) trait ValueTag: DynItem {
    const VALUE: ValueType;
}
impl KeyTag for String {
    const KEY: KeyType = KeyType::Utf8;
}
impl KeyTag for Vec<u8> {
    const KEY: KeyType = KeyType::Binary;
}
impl KeyTag for i64 {
    const KEY: KeyType = KeyType::Int64;
}
impl KeyTag for u64 {
    const KEY: KeyType = KeyType::UInt64;
}
impl ValueTag for String {
    const VALUE: ValueType = ValueType::Utf8;
}
impl ValueTag for Vec<u8> {
    const VALUE: ValueType = ValueType::Binary;
}
impl ValueTag for i64 {
    const VALUE: ValueType = ValueType::Int64;
}
impl ValueTag for f64 {
    const VALUE: ValueType = ValueType::Float64;
}
impl ValueTag for bool {
    const VALUE: ValueType = ValueType::Bool;
}

fn wrong(op: Op<'_>, kind: Kind) -> AnyError {
    AnyError::WrongKind {
        op: op.name(),
        kind,
    }
}

/// What differs between the kinds for the dynamic layer: their type tag, their mutators and
/// reads. Everything else is [`Dyn`] for [`State`], written once.
pub(crate) trait DynKind: WireKind<Key: KeyTag, Cell: Cells> {
    /// The tag of this kind.
    const KIND: Kind;
    /// The type tag of a state of this kind.
    fn state_type() -> StateType;
    /// Applies `op` (refused with [`AnyError::WrongKind`] when the kind has no such op);
    /// returns the delta.
    fn apply(s: &mut State<Self>, op: Op<'_>) -> Result<Store<Self>>;
    /// The keys (elements, for a set) holding something.
    fn keys(s: &State<Self>) -> Vec<Self::Key>;
    /// How many keys hold something (what `keys(s).len()` says, without building them).
    fn len(s: &State<Self>) -> usize {
        Self::keys(s).len()
    }
    /// Whether `key` holds something.
    fn contains(s: &State<Self>, key: &Self::Key) -> bool;
    /// The values of `key`, for the kinds with values.
    fn get(s: &State<Self>, key: &Scalar) -> Result<Vec<Scalar>> {
        let _ = (s, key);
        Err(AnyError::WrongKind {
            op: "get",
            kind: Self::KIND,
        })
    }
    /// The value of `key` and its timestamp, for an `LWWMap`.
    fn get_with_timestamp(s: &State<Self>, key: &Scalar) -> Result<Option<(u64, Scalar)>> {
        let _ = (s, key);
        Err(AnyError::WrongKind {
            op: "get_with_timestamp",
            kind: Self::KIND,
        })
    }
    /// Drops the tombstones no replica can need any more, for an `LWWMap`.
    fn collect_tombstones(
        s: &mut State<Self>,
        stability: &Stability,
        timestamp_floor: u64,
    ) -> Result<usize> {
        let _ = (s, stability, timestamp_floor);
        Err(AnyError::WrongKind {
            op: "collect_tombstones",
            kind: Self::KIND,
        })
    }
    /// The counter of `key`, for a `PNCounterMap`.
    fn value(s: &State<Self>, key: &Scalar) -> Result<i128> {
        let _ = (s, key);
        Err(AnyError::WrongKind {
            op: "value",
            kind: Self::KIND,
        })
    }
}

/// The store of kind `Kd`.
type Store<Kd> = CausalStore<<Kd as pluriverse::Kind>::Key, <Kd as pluriverse::Kind>::Cell>;

impl<K: KeyTag, V: ValueTag> DynKind for MVMapKind<K, V> {
    const KIND: Kind = Kind::MVMap;
    fn state_type() -> StateType {
        StateType {
            kind: Self::KIND,
            key: K::KEY,
            value: Some(V::VALUE),
        }
    }
    fn apply(s: &mut MVMap<K, V>, op: Op<'_>) -> Result<Store<Self>> {
        Ok(match op {
            Op::Set(k, v) => s.set(K::from_scalar(k, "key")?, V::from_scalar(v, "value")?)?,
            Op::Remove(k) => s.remove(&K::from_scalar(k, "key")?),
            Op::SetMany(k, v) => s.set_many_arrow(k, v)?,
            Op::RemoveMany(k) => s.remove_many_arrow(k)?,
            _ => return Err(wrong(op, Self::KIND)),
        })
    }
    fn keys(s: &MVMap<K, V>) -> Vec<K> {
        s.keys()
    }
    fn len(s: &MVMap<K, V>) -> usize {
        s.len()
    }
    fn contains(s: &MVMap<K, V>, key: &K) -> bool {
        s.contains_key(key)
    }
    fn get(s: &MVMap<K, V>, key: &Scalar) -> Result<Vec<Scalar>> {
        let vals = s.get(&K::from_scalar(key, "key")?);
        Ok(vals.iter().map(DynItem::to_scalar).collect())
    }
}

impl<E: KeyTag> DynKind for AWSetKind<E> {
    const KIND: Kind = Kind::AWSet;
    fn state_type() -> StateType {
        StateType {
            kind: Self::KIND,
            key: E::KEY,
            value: None,
        }
    }
    fn apply(s: &mut AWSet<E>, op: Op<'_>) -> Result<Store<Self>> {
        Ok(match op {
            Op::Add(e) => s.add(E::from_scalar(e, "element")?)?,
            Op::Remove(e) => s.remove(&E::from_scalar(e, "element")?),
            Op::AddMany(e) => s.add_many_arrow(e)?,
            Op::RemoveMany(e) => s.remove_many_arrow(e)?,
            _ => return Err(wrong(op, Self::KIND)),
        })
    }
    fn keys(s: &AWSet<E>) -> Vec<E> {
        s.elements()
    }
    fn len(s: &AWSet<E>) -> usize {
        s.len()
    }
    fn contains(s: &AWSet<E>, e: &E) -> bool {
        s.contains(e)
    }
}

impl<K: KeyTag> DynKind for PNCounterKind<K> {
    const KIND: Kind = Kind::PNCounterMap;
    fn state_type() -> StateType {
        StateType {
            kind: Self::KIND,
            key: K::KEY,
            value: None,
        }
    }
    fn apply(s: &mut PNCounterMap<K>, op: Op<'_>) -> Result<Store<Self>> {
        Ok(match op {
            Op::Increment(k, n) => s.increment(K::from_scalar(k, "key")?, n)?,
            Op::Decrement(k, n) => s.decrement(K::from_scalar(k, "key")?, n)?,
            Op::IncrementMany(k, n) => s.increment_many_arrow(k, n)?,
            Op::DecrementMany(k, n) => s.decrement_many_arrow(k, n)?,
            _ => return Err(wrong(op, Self::KIND)),
        })
    }
    fn keys(s: &PNCounterMap<K>) -> Vec<K> {
        s.keys()
    }
    fn len(s: &PNCounterMap<K>) -> usize {
        s.len()
    }
    fn contains(s: &PNCounterMap<K>, key: &K) -> bool {
        s.contains_key(key)
    }
    fn value(s: &PNCounterMap<K>, key: &Scalar) -> Result<i128> {
        Ok(s.value(&K::from_scalar(key, "key")?))
    }
}

impl<K: KeyTag, V: ValueTag> DynKind for LWWMapKind<K, V> {
    const KIND: Kind = Kind::LWWMap;
    fn state_type() -> StateType {
        StateType {
            kind: Self::KIND,
            key: K::KEY,
            value: Some(V::VALUE),
        }
    }
    fn apply(s: &mut LWWMap<K, V>, op: Op<'_>) -> Result<Store<Self>> {
        Ok(match op {
            Op::SetAt(k, v, ts) => {
                s.set(K::from_scalar(k, "key")?, V::from_scalar(v, "value")?, ts)?
            }
            Op::RemoveAt(k, ts) => s.remove(K::from_scalar(k, "key")?, ts)?,
            Op::SetManyAt(k, v, ts) => s.set_many_arrow(k, v, ts)?,
            Op::RemoveManyAt(k, ts) => s.remove_many_arrow(k, ts)?,
            _ => return Err(wrong(op, Self::KIND)),
        })
    }
    fn keys(s: &LWWMap<K, V>) -> Vec<K> {
        s.keys()
    }
    fn contains(s: &LWWMap<K, V>, key: &K) -> bool {
        s.get_with_timestamp(key).is_some()
    }
    fn get(s: &LWWMap<K, V>, key: &Scalar) -> Result<Vec<Scalar>> {
        let val = s.get(&K::from_scalar(key, "key")?);
        Ok(val.iter().map(DynItem::to_scalar).collect())
    }
    fn collect_tombstones(
        s: &mut LWWMap<K, V>,
        stability: &Stability,
        timestamp_floor: u64,
    ) -> Result<usize> {
        Ok(s.collect_tombstones(stability, timestamp_floor))
    }
    fn get_with_timestamp(s: &LWWMap<K, V>, key: &Scalar) -> Result<Option<(u64, Scalar)>> {
        let val = s.get_with_timestamp(&K::from_scalar(key, "key")?);
        Ok(val.map(|(ts, v)| (ts, v.to_scalar())))
    }
}

/// `other` as a state of kind and types `Kd`, or the mismatch.
fn same_type<Kd: DynKind>(other: &dyn Dyn) -> Result<&State<Kd>> {
    other
        .as_any()
        .downcast_ref::<State<Kd>>()
        .ok_or_else(|| AnyError::TypeMismatch {
            expected: Kd::state_type(),
            found: other.state_type(),
        })
}

/// The store in `bytes`, refused unless of kind and types `Kd`.
fn store_of_bytes<Kd: DynKind>(bytes: &[u8], limits: &Limits) -> Result<Store<Kd>> {
    let found = StateType::of_bytes(bytes)?;
    if found != Kd::state_type() {
        return Err(AnyError::TypeMismatch {
            expected: Kd::state_type(),
            found,
        });
    }
    Ok(CausalStore::from_bytes_with_limits(bytes, limits)?)
}

/// What a [`pluriverse::JoinBatch`] of any kind offers [`AnyBatch`].
pub(crate) trait DynBatch: Send + Sync + 'static {
    fn add(&mut self, delta: &dyn Dyn) -> Result<bool>;
    fn len(&self) -> usize;
    fn rows(&self) -> usize;
    fn finish(&mut self) -> Box<dyn Dyn>;
}

/// A typed batch and the name its result is written to as.
struct Batch<Kd: DynKind> {
    replica: ReplicaId,
    inner: pluriverse::JoinBatch<<Kd as pluriverse::Kind>::Key, <Kd as pluriverse::Kind>::Cell>,
}

impl<Kd: DynKind> DynBatch for Batch<Kd> {
    fn add(&mut self, delta: &dyn Dyn) -> Result<bool> {
        Ok(self.inner.add(same_type::<Kd>(delta)?.store()))
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn rows(&self) -> usize {
        self.inner.rows()
    }
    fn finish(&mut self) -> Box<dyn Dyn> {
        Box::new(State::<Kd>::from_store(
            self.replica.clone(),
            self.inner.finish(),
        ))
    }
}

/// Small deltas of one type gathered for one join ([`pluriverse::JoinBatch`] for any
/// kind): [`AnyState::new_batch`] makes one.
///
/// # Example
/// ```
/// use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};
/// let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
/// let mut w = AnyState::new(t, "w");
/// let mut batch = AnyState::new(t, "out").new_batch();
/// for i in 0..10 {
///     let d = w.set(Scalar::Utf8(format!("k{i}")), Scalar::Int64(i)).unwrap();
///     assert!(batch.add(&d).unwrap());
/// }
/// assert_eq!(batch.len(), 10);
/// assert_eq!(batch.finish().digest(), w.digest());
/// assert!(batch.is_empty());
/// ```
pub struct AnyBatch {
    inner: Box<dyn DynBatch>,
}

impl fmt::Debug for AnyBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyBatch")
            .field("deltas", &self.inner.len())
            .field("rows", &self.inner.rows())
            .finish()
    }
}

impl AnyBatch {
    /// Gathers `delta` when its dots lie above every gathered dot of their replicas (see
    /// [`pluriverse::JoinBatch::add`]); `Ok(false)` leaves the batch as it was: join
    /// [`Self::finish`] and `delta` the usual way.
    ///
    /// # Errors
    /// [`AnyError::TypeMismatch`] for a delta of another type (nothing changes).
    pub fn add(&mut self, delta: &AnyState) -> Result<bool> {
        self.inner.add(delta.inner.as_ref())
    }

    /// Deltas gathered.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is gathered.
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Entries gathered.
    pub fn entry_count(&self) -> usize {
        self.inner.rows()
    }

    /// The join of the gathered deltas, written to as the state that made the batch; the
    /// batch is empty afterwards.
    pub fn finish(&mut self) -> AnyState {
        AnyState::wrap(self.inner.finish())
    }
}

/// A handle on `store` writing as `s` does.
fn sibling<Kd: DynKind>(s: &State<Kd>, store: Store<Kd>) -> Box<dyn Dyn> {
    Box::new(State::<Kd>::from_store(s.replica().clone(), store))
}

impl<Kd: DynKind> Dyn for State<Kd> {
    fn state_type(&self) -> StateType {
        Kd::state_type()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn Dyn> {
        Box::new(self.clone())
    }
    fn replica(&self) -> &ReplicaId {
        State::replica(self)
    }
    fn with_replica(&self, replica: ReplicaId) -> Box<dyn Dyn> {
        Box::new(Self::from_store(replica, self.store().clone()))
    }
    fn context(&self) -> &CausalContext {
        State::context(self)
    }
    fn entry_count(&self) -> usize {
        State::entry_count(self)
    }
    fn len(&self) -> usize {
        Kd::len(self)
    }
    fn digest(&self) -> u128 {
        State::digest(self)
    }
    fn bucket_digests(&self, bits: u32) -> Result<Vec<u128>> {
        Ok(self.store().bucket_digests(bits)?)
    }
    fn sparse_bucket_digests(&self, bits: u32) -> Result<Vec<(u32, u128)>> {
        Ok(self.store().sparse_bucket_digests(bits)?)
    }
    fn diff(&self, other: &dyn Dyn, bits: u32) -> Result<Diff> {
        let d = self.store().diff(same_type::<Kd>(other)?.store(), bits)?;
        let scalars = |keys: Vec<Kd::Key>| keys.iter().map(DynItem::to_scalar).collect();
        Ok(Diff {
            buckets: d.buckets,
            differing_buckets: d.differing_buckets,
            only_left: scalars(d.only_left),
            only_right: scalars(d.only_right),
            changed: scalars(d.changed),
            contexts_differ: d.contexts_differ,
        })
    }
    fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(State::to_bytes(self)?)
    }
    fn to_compact(&self) -> Vec<u8> {
        self.store().to_compact()
    }
    fn to_record_batches(&self) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        Ok(self.store().to_record_batches()?)
    }
    fn join(&mut self, other: &dyn Dyn) -> Result<()> {
        let other = same_type::<Kd>(other)?;
        Ok(self.try_join(other.store())?)
    }
    fn retire_idle(&mut self) -> usize {
        State::retire_idle(self)
    }
    fn join_bytes(&mut self, bytes: &[u8], limits: &Limits) -> Result<()> {
        let other = store_of_bytes::<Kd>(bytes, limits)?;
        Ok(self.try_join(&other)?)
    }
    fn join_all(&self, others: &[&dyn Dyn]) -> Result<Box<dyn Dyn>> {
        let mut stores = vec![self.store()];
        for o in others {
            stores.push(same_type::<Kd>(*o)?.store());
        }
        Ok(sibling(
            self,
            pluriverse::CausalStore::try_join_all(&stores)?,
        ))
    }
    fn new_batch(&self) -> Box<dyn DynBatch> {
        Box::new(Batch::<Kd> {
            replica: self.replica().clone(),
            inner: pluriverse::JoinBatch::new(),
        })
    }
    fn join_checked(&mut self, other: &dyn Dyn) -> Result<()> {
        let other = same_type::<Kd>(other)?;
        Ok(State::join_checked(self, other.store())?)
    }
    fn join_bytes_checked(&mut self, bytes: &[u8], limits: &Limits) -> Result<()> {
        let other = store_of_bytes::<Kd>(bytes, limits)?;
        Ok(State::join_checked(self, &other)?)
    }
    fn delta_since(&self, peer: &CausalContext) -> Box<dyn Dyn> {
        sibling(self, State::delta_since(self, peer))
    }
    fn partition(&self, parts: usize) -> Vec<Box<dyn Dyn>> {
        self.store()
            .partition(parts)
            .into_iter()
            .map(|s| sibling(self, s))
            .collect()
    }
    fn replicas_seen(&self) -> Vec<ReplicaId> {
        self.store().replicas_seen()
    }
    fn range_summary(&self, replica: &ReplicaId, lo: u64, hi: u64) -> RangeSummary {
        self.store().range_summary(replica, lo, hi)
    }
    fn range_size(&self, replica: &ReplicaId, lo: u64, hi: u64) -> (u64, u64) {
        self.store().range_size(replica, lo, hi)
    }
    fn range_dots(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        max_runs: usize,
    ) -> Option<Vec<(u64, u64, DotState)>> {
        self.store().range_dots(replica, lo, hi, max_runs)
    }
    fn split_range(&self, replica: &ReplicaId, lo: u64, hi: u64, budget: u64) -> Vec<(u64, u64)> {
        self.store().split_range(replica, lo, hi, budget)
    }
    fn slice(&self, replica: &ReplicaId, lo: u64, hi: u64) -> Box<dyn Dyn> {
        sibling(self, self.store().slice(replica, lo, hi))
    }
    fn first_part(&self, replica: &ReplicaId, lo: u64, hi: u64, budget: u64) -> u64 {
        self.store().first_part(replica, lo, hi, budget)
    }
    fn split_even(&self, replica: &ReplicaId, lo: u64, hi: u64, parts: u64) -> Vec<(u64, u64)> {
        self.store().split_even(replica, lo, hi, parts)
    }
    fn keys(&self) -> ArrayRef {
        DynItem::array_of(&Kd::keys(self))
    }
    fn apply(&mut self, op: Op<'_>) -> Result<Box<dyn Dyn>> {
        let delta = Kd::apply(self, op)?;
        Ok(sibling(self, delta))
    }
    fn contains(&self, key: &Scalar) -> Result<bool> {
        Ok(Kd::contains(
            self,
            &Kd::Key::from_scalar(key, key_word::<Kd>())?,
        ))
    }
    fn get(&self, key: &Scalar) -> Result<Vec<Scalar>> {
        Kd::get(self, key)
    }
    fn get_with_timestamp(&self, key: &Scalar) -> Result<Option<(u64, Scalar)>> {
        Kd::get_with_timestamp(self, key)
    }
    fn collect_tombstones(&mut self, stability: &Stability, timestamp_floor: u64) -> Result<usize> {
        Kd::collect_tombstones(self, stability, timestamp_floor)
    }
    fn value(&self, key: &Scalar) -> Result<i128> {
        Kd::value(self, key)
    }
}

/// What a key is called in errors: an `AWSet`'s keys are its elements.
fn key_word<Kd: DynKind>() -> &'static str {
    if Kd::KIND == Kind::AWSet {
        "element"
    } else {
        "key"
    }
}

/// Runs `$body` with `$K` bound to the Rust type of key type `$kt`.
macro_rules! with_key {
    ($kt:expr, $K:ident => $body:expr) => {
        match $kt {
            KeyType::Utf8 => {
                type $K = String;
                $body
            }
            KeyType::Binary => {
                type $K = Vec<u8>;
                $body
            }
            KeyType::Int64 => {
                type $K = i64;
                $body
            }
            KeyType::UInt64 => {
                type $K = u64;
                $body
            }
        }
    };
}

/// Runs `$body` with `$V` bound to the Rust type of value type `$vt`.
macro_rules! with_value {
    ($vt:expr, $V:ident => $body:expr) => {
        match $vt {
            ValueType::Utf8 => {
                type $V = String;
                $body
            }
            ValueType::Binary => {
                type $V = Vec<u8>;
                $body
            }
            ValueType::Int64 => {
                type $V = i64;
                $body
            }
            ValueType::Float64 => {
                type $V = f64;
                $body
            }
            ValueType::Bool => {
                type $V = bool;
                $body
            }
        }
    };
}

/// Builds the typed kind of `ty` from `args`, boxed.
fn construct(ty: StateType, args: ConstructArgs<'_>) -> Result<Box<dyn Dyn>> {
    let value = ty.value.unwrap_or(ValueType::Int64);
    Ok(match ty.kind {
        Kind::MVMap => {
            with_key!(ty.key, K => with_value!(value, V => args.build::<MVMapKind<K, V>>()?))
        }
        Kind::LWWMap => {
            with_key!(ty.key, K => with_value!(value, V => args.build::<LWWMapKind<K, V>>()?))
        }
        Kind::AWSet => with_key!(ty.key, K => args.build::<AWSetKind<K>>()?),
        Kind::PNCounterMap => with_key!(ty.key, K => args.build::<PNCounterKind<K>>()?),
    })
}

/// How [`construct`] builds a typed kind: empty, or from bytes.
enum ConstructArgs<'a> {
    Empty(ReplicaId),
    Bytes(&'a [u8], ReplicaId, &'a Limits),
    Compact(&'a [u8], ReplicaId, &'a Limits),
}

impl ConstructArgs<'_> {
    fn build<Kd: DynKind>(self) -> Result<Box<dyn Dyn>> {
        let (replica, store) = match self {
            ConstructArgs::Empty(r) => (r, CausalStore::new()),
            ConstructArgs::Bytes(b, r, l) => (r, CausalStore::from_bytes_with_limits(b, l)?),
            ConstructArgs::Compact(b, r, l) => (r, CausalStore::from_compact_with_limits(b, l)?),
        };
        Ok(Box::new(State::<Kd>::from_store(replica, store)))
    }
}

/// A replica's handle on a state of any kind and key/value types (also used for deltas:
/// a delta is a small state).
///
/// Mutators return the delta to ship; joins take deltas or whole states of the same type.
/// Every method that fails leaves the state unchanged.
///
/// A state opened only to be read (a file to show, a delta to forward, a partition to fold)
/// has no writer: [`AnyState::from_bytes_read_only`] makes one, whose mutators refuse with
/// [`AnyError::ReadOnly`] (joins, reads and bytes work as on any state).
pub struct AnyState {
    inner: Box<dyn Dyn>,
    /// No writer: mutators refuse (see [`AnyState::from_bytes_read_only`]).
    read_only: bool,
}

impl Clone for AnyState {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone_box(),
            read_only: self.read_only,
        }
    }
}

impl fmt::Debug for AnyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyState")
            .field("type", &self.inner.state_type().to_string())
            .field("replica", &self.inner.replica().to_string())
            .field("read_only", &self.read_only)
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl AnyState {
    fn wrap(inner: Box<dyn Dyn>) -> Self {
        Self {
            inner,
            read_only: false,
        }
    }

    /// A state derived from this one (a delta, a part, a slice): read-only when this is.
    fn derived(&self, inner: Box<dyn Dyn>) -> Self {
        Self {
            inner,
            read_only: self.read_only,
        }
    }

    /// An empty state of type `ty`, written to as `replica`.
    pub fn new(ty: StateType, replica: impl Into<ReplicaId>) -> Self {
        let replica = replica.into();
        match construct(ty, ConstructArgs::Empty(replica)) {
            Ok(inner) => Self::wrap(inner),
            // building an empty state cannot fail
            Err(_) => unreachable!("an empty state always builds"),
        }
    }

    /// The state (or delta) in `bytes`, whatever its kind and types, written to as `replica`.
    ///
    /// # Errors
    /// [`AnyError::Core`] with the decode error naming what is wrong with the bytes.
    pub fn from_bytes(bytes: &[u8], replica: impl Into<ReplicaId>) -> Result<Self> {
        Self::from_bytes_with_limits(bytes, replica, &Limits::default())
    }

    /// [`AnyState::from_bytes`] within caller-chosen decoding [`Limits`].
    ///
    /// # Errors
    /// As [`AnyState::from_bytes`]; a breached limit is a
    /// [`pluriverse::wire::DecodeError::Limit`].
    pub fn from_bytes_with_limits(
        bytes: &[u8],
        replica: impl Into<ReplicaId>,
        limits: &Limits,
    ) -> Result<Self> {
        let ty = StateType::of_bytes(bytes)?;
        let replica = replica.into();
        Ok(Self::wrap(construct(
            ty,
            ConstructArgs::Bytes(bytes, replica, limits),
        )?))
    }

    /// The state (or delta) in `bytes`, whatever its kind and types, opened only to be read:
    /// it has no writer, so no replica name has to be made up for it. Its mutators refuse
    /// with [`AnyError::ReadOnly`] and leave it unchanged; reads, bytes, digests and joins
    /// work as on any state (a join only learns what others wrote). States derived from it
    /// ([`AnyState::delta_since`], [`AnyState::partition`], [`AnyState::slice`], clones) are
    /// read-only too; [`AnyState::with_replica`] gives a writable copy.
    ///
    /// [`AnyState::replica`] of a read-only state is the empty name, under which nothing
    /// writes.
    ///
    /// # Errors
    /// As [`AnyState::from_bytes`].
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyError, AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::Utf8, None).unwrap();
    /// let mut paris = AnyState::new(t, "paris");
    /// paris.add(Scalar::Utf8("a".into())).unwrap();
    /// let mut shown = AnyState::from_bytes_read_only(&paris.to_bytes().unwrap()).unwrap();
    /// assert!(shown.is_read_only());
    /// assert!(shown.contains(&Scalar::Utf8("a".into())).unwrap());
    /// let err = shown.add(Scalar::Utf8("b".into())).unwrap_err();
    /// assert!(matches!(err, AnyError::ReadOnly { op: "add" }));
    /// assert_eq!(shown.digest(), paris.digest(), "unchanged");
    /// // joining is reading more
    /// let d = paris.add(Scalar::Utf8("c".into())).unwrap();
    /// shown.join_checked(&d).unwrap();
    /// assert_eq!(shown.digest(), paris.digest());
    /// // a writer has to be named
    /// let mut lagos = shown.with_replica("lagos");
    /// lagos.add(Scalar::Utf8("d".into())).unwrap();
    /// ```
    pub fn from_bytes_read_only(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_read_only_with_limits(bytes, &Limits::default())
    }

    /// [`AnyState::from_bytes_read_only`] within caller-chosen decoding [`Limits`].
    ///
    /// # Errors
    /// As [`AnyState::from_bytes_with_limits`].
    pub fn from_bytes_read_only_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self> {
        let mut s = Self::from_bytes_with_limits(bytes, ReplicaId::from(""), limits)?;
        s.read_only = true;
        Ok(s)
    }

    /// A read-only copy of this state (see [`AnyState::from_bytes_read_only`]).
    pub fn to_read_only(&self) -> Self {
        let mut s = self.with_replica(ReplicaId::from(""));
        s.read_only = true;
        s
    }

    /// Whether this state has no writer (see [`AnyState::from_bytes_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// [`AnyState::from_bytes`] insisting on type `ty`.
    ///
    /// # Errors
    /// [`AnyError::TypeMismatch`] when the bytes hold another type, or as
    /// [`AnyState::from_bytes`].
    pub fn from_bytes_as(
        ty: StateType,
        bytes: &[u8],
        replica: impl Into<ReplicaId>,
    ) -> Result<Self> {
        let found = StateType::of_bytes(bytes)?;
        if found != ty {
            return Err(AnyError::TypeMismatch {
                expected: ty,
                found,
            });
        }
        Self::from_bytes(bytes, replica)
    }

    /// The kind and key/value types.
    pub fn state_type(&self) -> StateType {
        self.inner.state_type()
    }

    /// The replica this handle writes as (not part of the state; the empty name for a
    /// read-only state).
    pub fn replica(&self) -> &ReplicaId {
        self.inner.replica()
    }

    /// The same state, written to as `replica` (writable, also when this one is read-only).
    pub fn with_replica(&self, replica: impl Into<ReplicaId>) -> Self {
        Self::wrap(self.inner.with_replica(replica.into()))
    }

    /// Every event the state has seen.
    pub fn context(&self) -> &CausalContext {
        self.inner.context()
    }

    /// The context's contiguous prefixes as a version vector.
    pub fn version_vector(&self) -> VersionVector {
        self.inner.context().version_vector()
    }

    /// Number of `(key, dot, value)` entries.
    pub fn entry_count(&self) -> usize {
        self.inner.entry_count()
    }

    /// Number of keys (elements) the state holds.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the state holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Order-independent 128-bit digest: equal states, equal digests.
    pub fn digest(&self) -> u128 {
        self.inner.digest()
    }

    /// [`AnyState::digest`] as 16 big-endian bytes (most significant first), the one byte
    /// order of digests on every face (Python `digest()`, C `pv_*_digest`, the CLI, and
    /// `pluriverse_kernels::digest::Digest::to_bytes`): written as hex they read the same
    /// as the `u128` printed with `{:032x}` and as the corpus's `expect-digest` lines.
    pub fn digest_bytes(&self) -> [u8; 16] {
        self.digest().to_be_bytes()
    }

    /// Digests of the entries per bucket of the key-hash space (`2^bits` buckets); see
    /// [`pluriverse::CausalStore::bucket_digests`].
    ///
    /// # Errors
    /// When `bits` exceeds the kernels' limit (24).
    pub fn bucket_digests(&self, bits: u32) -> Result<Vec<u128>> {
        self.inner.bucket_digests(bits)
    }

    /// The digests of the buckets that hold entries, as `(bucket, digest)` in bucket order;
    /// see [`pluriverse::CausalStore::sparse_bucket_digests`]. Memory proportional to the
    /// entries, whatever `bits`.
    ///
    /// # Errors
    /// As [`AnyState::bucket_digests`].
    pub fn sparse_bucket_digests(&self, bits: u32) -> Result<Vec<(u32, u128)>> {
        self.inner.sparse_bucket_digests(bits)
    }

    pub(crate) fn diff(&self, other: &AnyState, bits: u32) -> Result<Diff> {
        self.inner.diff(other.inner.as_ref(), bits)
    }

    /// The state as Arrow IPC stream bytes (the documented format of `pluriverse::wire`).
    ///
    /// # Errors
    /// Only if Arrow refuses the arrays (a bug).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.inner.to_bytes()
    }

    /// The state in the compact encoding of the sync protocol's payloads: its content
    /// without a schema, for a reader that knows the type
    /// ([`pluriverse::wire::encode_compact`]).
    ///
    /// # Example
    /// ```
    /// use pluriverse::wire::Limits;
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// let d = a.add(Scalar::Int64(5)).unwrap();
    /// let bytes = d.to_compact();
    /// assert!(bytes.len() < d.to_bytes().unwrap().len() / 20);
    /// let back = AnyState::from_compact_with_limits(t, &bytes, "b", &Limits::default()).unwrap();
    /// assert_eq!(back.digest(), d.digest());
    /// ```
    pub fn to_compact(&self) -> Vec<u8> {
        self.inner.to_compact()
    }

    /// The state of type `ty` in `bytes` written by [`AnyState::to_compact`], within
    /// `limits`, written to as `replica`.
    ///
    /// # Errors
    /// [`AnyError::Core`] with the decode error naming what is wrong with the bytes (see
    /// [`pluriverse::wire::decode_compact_with_limits`]).
    pub fn from_compact_with_limits(
        ty: StateType,
        bytes: &[u8],
        replica: impl Into<ReplicaId>,
        limits: &Limits,
    ) -> Result<Self> {
        Ok(Self::wrap(construct(
            ty,
            ConstructArgs::Compact(bytes, replica.into(), limits),
        )?))
    }

    /// The state as Arrow record batches.
    ///
    /// # Errors
    /// As [`AnyState::to_bytes`].
    pub fn to_record_batches(&self) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        self.inner.to_record_batches()
    }

    /// Joins a delta or whole state of the same type.
    ///
    /// # Errors
    /// [`AnyError::TypeMismatch`] for another kind or types (nothing changes).
    pub fn join(&mut self, other: &AnyState) -> Result<()> {
        self.inner.join(other.inner.as_ref())
    }

    /// Holds the context's idle incarnations as retired records: every incarnation row no
    /// live entry uses, except this handle's replica's, whose dots are a plain prefix (see
    /// [`pluriverse::CausalStore::retire_idle`]). The state does not change (digest, bytes,
    /// joins), only the memory it takes; returns how many rows were retired. Costs
    /// O(entries): call it where that is paid anyway (an open, a fold).
    ///
    /// ```
    /// use pluriverse::retired::incarnation_name;
    /// use pluriverse_any::{AnyState, Kind, Scalar, StateType, ValueType, KeyType};
    /// let ty = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
    /// let mut s = AnyState::new(ty, incarnation_name(b"p", 1));
    /// s.set(Scalar::Utf8("k".into()), Scalar::Int64(1)).unwrap();
    /// let mut s = s.with_replica(incarnation_name(b"p", 2));
    /// s.set(Scalar::Utf8("k".into()), Scalar::Int64(2)).unwrap();
    /// let d = s.digest();
    /// assert_eq!(s.retire_idle(), 1);
    /// assert_eq!((s.digest(), s.context().retired().len()), (d, 1));
    /// ```
    pub fn retire_idle(&mut self) -> usize {
        self.inner.retire_idle()
    }

    /// The join of this state and `others`, built at once: the same as joining them one
    /// by one into a copy of this state, but the slices of a stream (deltas with disjoint
    /// contexts) cost one sort of their rows, not one join each
    /// ([`pluriverse::CausalStore::try_join_all`]). Written to as this state's replica.
    ///
    /// # Errors
    /// [`AnyError::TypeMismatch`] when one of `others` is of another type, or an
    /// equivocation between two of them; nothing changes.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// for i in 0..100 {
    ///     a.add(Scalar::Int64(i)).unwrap();
    /// }
    /// let me = "a".into();
    /// let parts: Vec<AnyState> = a
    ///     .split_range(&me, 1, u64::MAX, 10)
    ///     .into_iter()
    ///     .map(|(lo, hi)| a.slice(&me, lo, hi))
    ///     .collect();
    /// let all = parts[0].join_all(&parts[1..]).unwrap();
    /// assert_eq!(all.digest(), a.digest());
    /// ```
    pub fn join_all(&self, others: &[AnyState]) -> Result<AnyState> {
        let others: Vec<&dyn Dyn> = others.iter().map(|o| o.inner.as_ref()).collect();
        Ok(self.derived(self.inner.join_all(&others)?))
    }

    /// An empty [`AnyBatch`] of this state's type, whose result is written to as this
    /// state's replica: small deltas gathered as they come and joined at once.
    pub fn new_batch(&self) -> AnyBatch {
        AnyBatch {
            inner: self.inner.new_batch(),
        }
    }

    /// Decodes a delta or state from `bytes` and joins it (a dot bound to two contents is
    /// refused: [`pluriverse::Error::Equivocation`]).
    ///
    /// # Errors
    /// [`AnyError::TypeMismatch`] for bytes of another type, a decode error for bad bytes,
    /// an equivocation; the state is unchanged.
    pub fn join_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner.join_bytes(bytes, &Limits::default())
    }

    /// [`AnyState::join_bytes`] within caller-chosen decoding [`Limits`].
    ///
    /// # Errors
    /// As [`AnyState::join_bytes`].
    pub fn join_bytes_with_limits(&mut self, bytes: &[u8], limits: &Limits) -> Result<()> {
        self.inner.join_bytes(bytes, limits)
    }

    /// [`AnyState::join`] for input that is not trusted: also refuses a context claiming
    /// dots of this handle's replica beyond what this state knows it issued (a forgery, or
    /// this state is a rollback: [`pluriverse::Error::ForeignClaim`]); see
    /// [`pluriverse::CausalStore::join_checked`].
    ///
    /// # Errors
    /// [`pluriverse::Error::ForeignClaim`], [`pluriverse::Error::Equivocation`], or as
    /// [`AnyState::join`]; the state is unchanged.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyError, AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::UInt64, None).unwrap();
    /// let mut me = AnyState::new(t, "me");
    /// me.add(Scalar::UInt64(1)).unwrap();
    /// let old = me.clone();
    /// me.add(Scalar::UInt64(2)).unwrap();
    /// let mut rolled_back = old.clone();
    /// let err = rolled_back.join_checked(&me).unwrap_err();
    /// assert!(matches!(err, AnyError::Core(pluriverse::Error::ForeignClaim { .. })));
    /// assert_eq!(rolled_back.digest(), old.digest(), "unchanged");
    /// let mut peer = AnyState::new(t, "peer");
    /// peer.join_checked(&me).unwrap();
    /// ```
    pub fn join_checked(&mut self, other: &AnyState) -> Result<()> {
        if self.read_only {
            // no writer, so no dots of its own to protect; equivocation is still refused
            return self.join(other);
        }
        self.inner.join_checked(other.inner.as_ref())
    }

    /// [`AnyState::join_bytes_with_limits`] refusing claims on this handle's own dots, as
    /// [`AnyState::join_checked`]. What the faces' merges of bytes call.
    ///
    /// # Errors
    /// As [`AnyState::join_bytes`] and [`AnyState::join_checked`]; the state is unchanged.
    pub fn join_bytes_checked(&mut self, bytes: &[u8], limits: &Limits) -> Result<()> {
        if self.read_only {
            // as in join_checked
            return self.inner.join_bytes(bytes, limits);
        }
        self.inner.join_bytes_checked(bytes, limits)
    }

    /// What a replica whose context is `peer` lacks (joining it there gives what joining
    /// this whole state would).
    pub fn delta_since(&self, peer: &CausalContext) -> AnyState {
        self.derived(self.inner.delta_since(peer))
    }

    /// Splits the state into `parts` states by key hash (partition `p` holds the keys with
    /// `xxh3_64(key bytes) * parts / 2^64 == p`, contiguous ranges of the hash space); see
    /// [`pluriverse::CausalStore::partition`]. The parts join back to this state, and part
    /// `p` of two states joins to part `p` of their join: partitions merge independently.
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut s = AnyState::new(t, "a");
    /// for i in 0..50 {
    ///     s.add(Scalar::Int64(i)).unwrap();
    /// }
    /// let parts = s.partition(4);
    /// assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), 50);
    /// let mut back = AnyState::new(t, "a");
    /// for p in &parts {
    ///     back.join(p).unwrap();
    /// }
    /// assert_eq!(back.digest(), s.digest());
    /// ```
    pub fn partition(&self, parts: usize) -> Vec<AnyState> {
        self.inner
            .partition(parts)
            .into_iter()
            .map(|p| self.derived(p))
            .collect()
    }

    /// The replicas with at least one dot in the context, by name.
    pub fn replicas_seen(&self) -> Vec<ReplicaId> {
        self.inner.replicas_seen()
    }

    /// The fingerprint of the slice over `replica`'s counters `lo..=hi`; see
    /// [`pluriverse::store::slice`].
    pub fn range_summary(&self, replica: &ReplicaId, lo: u64, hi: u64) -> RangeSummary {
        self.inner.range_summary(replica, lo, hi)
    }

    /// `(live entries, runs of seen dots)` of the slice over `replica`'s `lo..=hi`.
    pub fn range_size(&self, replica: &ReplicaId, lo: u64, hi: u64) -> (u64, u64) {
        self.inner.range_size(replica, lo, hi)
    }

    /// What the state knows of each of `replica`'s counters in `lo..=hi`, as maximal runs
    /// `(first, last, state)`, or `None` beyond `max_runs` runs; see
    /// [`pluriverse::CausalStore::range_dots`].
    ///
    /// # Example
    /// ```
    /// use pluriverse::store::DotState;
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// a.add(Scalar::Int64(1)).unwrap();
    /// let runs = a.range_dots(&"a".into(), 1, 5, 4).unwrap();
    /// assert_eq!(runs, vec![(1, 1, DotState::Live), (2, 5, DotState::Unseen)]);
    /// ```
    pub fn range_dots(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        max_runs: usize,
    ) -> Option<Vec<(u64, u64, DotState)>> {
        self.inner.range_dots(replica, lo, hi, max_runs)
    }

    /// Consecutive ranges covering `lo..=hi`, each holding at most about `budget` entries
    /// or runs of seen dots; see [`pluriverse::CausalStore::split_range`].
    pub fn split_range(
        &self,
        replica: &ReplicaId,
        lo: u64,
        hi: u64,
        budget: u64,
    ) -> Vec<(u64, u64)> {
        self.inner.split_range(replica, lo, hi, budget)
    }

    /// At most `parts` consecutive ranges covering `lo..=hi` with about equal live
    /// entries, in O(parts log entries); see [`pluriverse::CausalStore::split_even`].
    pub fn split_even(&self, replica: &ReplicaId, lo: u64, hi: u64, parts: u64) -> Vec<(u64, u64)> {
        self.inner.split_even(replica, lo, hi, parts)
    }

    /// The end of the first part of `lo..=hi` split at `budget` units, found from the
    /// range's start alone; see [`pluriverse::CausalStore::first_part`].
    pub fn first_part(&self, replica: &ReplicaId, lo: u64, hi: u64, budget: u64) -> u64 {
        self.inner.first_part(replica, lo, hi, budget)
    }

    /// The slice over `replica`'s counters `lo..=hi`: a valid delta on its own, below this
    /// state in the join order; see [`pluriverse::store::slice`].
    ///
    /// # Example
    /// ```
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType};
    /// let t = StateType::new(Kind::AWSet, KeyType::Int64, None).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// for i in 0..20 {
    ///     a.add(Scalar::Int64(i)).unwrap();
    /// }
    /// let me = "a".into();
    /// let mut b = AnyState::new(t, "b");
    /// for (lo, hi) in a.split_range(&me, 1, u64::MAX, 6) {
    ///     b.join(&a.slice(&me, lo, hi)).unwrap();
    /// }
    /// assert_eq!(b.digest(), a.digest());
    /// ```
    pub fn slice(&self, replica: &ReplicaId, lo: u64, hi: u64) -> AnyState {
        self.derived(self.inner.slice(replica, lo, hi))
    }

    /// The keys (elements) the state holds, as an Arrow array of the key type.
    pub fn keys(&self) -> ArrayRef {
        self.inner.keys()
    }

    fn apply(&mut self, op: Op<'_>) -> Result<AnyState> {
        if self.read_only {
            return Err(AnyError::ReadOnly { op: op.name() });
        }
        self.inner.apply(op).map(Self::wrap)
    }

    /// `MVMap`: sets `key` to `value`, replacing every value this replica has seen.
    ///
    /// # Errors
    /// [`AnyError::WrongKind`], [`AnyError::ScalarType`], counter overflow.
    pub fn set(&mut self, key: Scalar, value: Scalar) -> Result<AnyState> {
        self.apply(Op::Set(&key, &value))
    }

    /// `MVMap`, `AWSet`: removes what this replica has seen of `key`.
    ///
    /// # Errors
    /// As [`AnyState::set`].
    pub fn remove(&mut self, key: Scalar) -> Result<AnyState> {
        self.apply(Op::Remove(&key))
    }

    /// `AWSet`: adds `elem`.
    ///
    /// # Errors
    /// As [`AnyState::set`].
    pub fn add(&mut self, elem: Scalar) -> Result<AnyState> {
        self.apply(Op::Add(&elem))
    }

    /// `PNCounterMap`: adds `n` to `key`.
    ///
    /// # Errors
    /// As [`AnyState::set`], or a value overflow.
    pub fn increment(&mut self, key: Scalar, n: u64) -> Result<AnyState> {
        self.apply(Op::Increment(&key, n))
    }

    /// `PNCounterMap`: subtracts `n` from `key`.
    ///
    /// # Errors
    /// As [`AnyState::increment`].
    pub fn decrement(&mut self, key: Scalar, n: u64) -> Result<AnyState> {
        self.apply(Op::Decrement(&key, n))
    }

    /// `LWWMap`: writes `value` at `timestamp` (a write older than the key's winner is a
    /// no-op delta).
    ///
    /// # Errors
    /// As [`AnyState::set`].
    pub fn set_at(&mut self, key: Scalar, value: Scalar, timestamp: u64) -> Result<AnyState> {
        self.apply(Op::SetAt(&key, &value, timestamp))
    }

    /// `LWWMap`: removes `key` at `timestamp` (a timestamped tombstone).
    ///
    /// # Errors
    /// As [`AnyState::set`].
    pub fn remove_at(&mut self, key: Scalar, timestamp: u64) -> Result<AnyState> {
        self.apply(Op::RemoveAt(&key, timestamp))
    }

    /// `MVMap`: [`AnyState::set`] for columns of keys and values.
    ///
    /// # Errors
    /// As [`AnyState::set`], or a bad Arrow column (type, nulls, length).
    pub fn set_many(&mut self, keys: &dyn Array, values: &dyn Array) -> Result<AnyState> {
        self.apply(Op::SetMany(keys, values))
    }

    /// `MVMap`, `AWSet`: [`AnyState::remove`] for a column of keys.
    ///
    /// # Errors
    /// As [`AnyState::set_many`].
    pub fn remove_many(&mut self, keys: &dyn Array) -> Result<AnyState> {
        self.apply(Op::RemoveMany(keys))
    }

    /// `AWSet`: [`AnyState::add`] for a column of elements.
    ///
    /// # Errors
    /// As [`AnyState::set_many`].
    pub fn add_many(&mut self, elems: &dyn Array) -> Result<AnyState> {
        self.apply(Op::AddMany(elems))
    }

    /// `PNCounterMap`: [`AnyState::increment`] for columns of keys and `UInt64` amounts.
    ///
    /// # Errors
    /// As [`AnyState::set_many`].
    pub fn increment_many(&mut self, keys: &dyn Array, amounts: &dyn Array) -> Result<AnyState> {
        self.apply(Op::IncrementMany(keys, amounts))
    }

    /// `PNCounterMap`: [`AnyState::decrement`] for columns of keys and `UInt64` amounts.
    ///
    /// # Errors
    /// As [`AnyState::set_many`].
    pub fn decrement_many(&mut self, keys: &dyn Array, amounts: &dyn Array) -> Result<AnyState> {
        self.apply(Op::DecrementMany(keys, amounts))
    }

    /// `LWWMap`: [`AnyState::set_at`] for columns (timestamps `UInt64`).
    ///
    /// # Errors
    /// As [`AnyState::set_many`].
    pub fn set_many_at(
        &mut self,
        keys: &dyn Array,
        values: &dyn Array,
        timestamps: &dyn Array,
    ) -> Result<AnyState> {
        self.apply(Op::SetManyAt(keys, values, timestamps))
    }

    /// `LWWMap`: [`AnyState::remove_at`] for columns (timestamps `UInt64`).
    ///
    /// # Errors
    /// As [`AnyState::set_many`].
    pub fn remove_many_at(&mut self, keys: &dyn Array, timestamps: &dyn Array) -> Result<AnyState> {
        self.apply(Op::RemoveManyAt(keys, timestamps))
    }

    /// Whether `key` (an element, for `AWSet`) is present.
    ///
    /// # Errors
    /// [`AnyError::ScalarType`] for a key of the wrong type.
    pub fn contains(&self, key: &Scalar) -> Result<bool> {
        self.inner.contains(key)
    }

    /// `MVMap`: the concurrent values of `key` (by writing replica's name); `LWWMap`: the
    /// winning value, if any (zero or one).
    ///
    /// # Errors
    /// [`AnyError::WrongKind`] for other kinds, [`AnyError::ScalarType`].
    pub fn get(&self, key: &Scalar) -> Result<Vec<Scalar>> {
        self.inner.get(key)
    }

    /// `LWWMap`: the winning value of `key` with its timestamp.
    ///
    /// # Errors
    /// As [`AnyState::get`].
    pub fn get_with_timestamp(&self, key: &Scalar) -> Result<Option<(u64, Scalar)>> {
        self.inner.get_with_timestamp(key)
    }

    /// `PNCounterMap`: the value of `key` (0 when absent).
    ///
    /// # Errors
    /// As [`AnyState::get`].
    pub fn value(&self, key: &Scalar) -> Result<i128> {
        self.inner.value(key)
    }

    /// `LWWMap`: drops the tombstones no replica can need any more, with the writes each
    /// beats; returns how many entries were dropped. See [`pluriverse::LWWMap::collect_tombstones`]
    /// for the rule (`stability` from the version vectors last heard from every replica that
    /// may write; `timestamp_floor`: no replica will write at or below it any more).
    ///
    /// # Errors
    /// [`AnyError::WrongKind`] for other kinds (nothing changes).
    ///
    /// # Example
    /// ```
    /// use pluriverse::{ReplicaId, Stability};
    /// use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType, ValueType};
    /// let t = StateType::new(Kind::LWWMap, KeyType::UInt64, Some(ValueType::Int64)).unwrap();
    /// let mut a = AnyState::new(t, "a");
    /// a.remove_at(Scalar::UInt64(7), 10).unwrap(); // a tombstone for a key a never saw
    /// let me = ReplicaId::from("a");
    /// let vv = a.version_vector();
    /// let s = Stability::from_peers([(&me, &vv)]); // a is the only writer
    /// assert_eq!(a.collect_tombstones(&s, 9).unwrap(), 0, "a write at 10 may still come");
    /// assert_eq!(a.collect_tombstones(&s, 10).unwrap(), 1);
    /// assert_eq!(a.entry_count(), 0);
    /// ```
    pub fn collect_tombstones(
        &mut self,
        stability: &Stability,
        timestamp_floor: u64,
    ) -> Result<usize> {
        self.inner.collect_tombstones(stability, timestamp_floor)
    }
}
