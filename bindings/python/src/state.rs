//! The handle on one state or delta of any kind: `pluriverse_any::AnyState` with Python
//! arguments converted in and results converted out. The public classes (`MVMap`, `AWSet`,
//! `PNCounterMap`, `LWWMap`, `Delta`) are pure Python over this one.

use std::str::FromStr;

use arrow_array::ArrayRef;
use arrow_schema::SchemaRef;
use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PyTuple};

use crate::arrow::{export_array, export_stream, import_schema};
use crate::context::Context;
use crate::errors::{KindError, ReadOnlyError};
use crate::lock::Shared;
use crate::mutation::Args;
use crate::scalar::{any_err, bytes_arg, scalar_to_py, timestamp_from_py};
use crate::version_vector::{replica_from_py, replica_to_py, vv_from_py, vv_to_py};

/// One replica's state (or a delta) of any kind, key type and value type.
///
/// Frozen (no borrow flags): the state lives behind a read-write lock, so threads share a
/// handle; reads run side by side, writes and joins wait for them, and long calls release
/// the GIL while they wait and while they run (see `crate::lock`).
#[pyclass(name = "State", module = "pluriverse._native", frozen)]
pub struct State {
    pub(crate) inner: Shared<AnyState>,
    /// The kind and types (they never change).
    ty: StateType,
    /// A read-only view (`Replica.state`): it carries the replica's incarnation, so writing
    /// to it would issue that incarnation's dots a second time; mutators and joins refuse.
    read_only: bool,
}

impl State {
    pub(crate) fn wrap(inner: AnyState) -> Self {
        Self {
            ty: inner.state_type(),
            inner: Shared::new(inner),
            read_only: false,
        }
    }

    /// A read-only view of `inner` (see the `read_only` field).
    pub(crate) fn read_only(inner: AnyState) -> Self {
        Self {
            read_only: true,
            ..Self::wrap(inner)
        }
    }

    /// The kind and types.
    pub(crate) fn ty(&self) -> StateType {
        self.ty
    }

    /// `ReadOnlyError` for a state without a writer (`AnyState::from_bytes_read_only`: a
    /// `Delta` decoded from bytes, a partition a Dask task folds): it joins, but does not
    /// write.
    fn has_writer(&self, py: Python<'_>) -> PyResult<()> {
        self.writable(py)?;
        if self.inner.read(py, |s| s.is_read_only()) {
            return Err(ReadOnlyError::new_err(format!(
                "this {} was opened only to be read (it has no writer): take a writable \
                 copy with copy(replica=new_name)",
                self.ty.kind,
            )));
        }
        Ok(())
    }

    /// `ReadOnlyError` for a view.
    fn writable(&self, py: Python<'_>) -> PyResult<()> {
        if self.read_only {
            let replica = self.inner.read(py, |s| s.replica().to_string());
            return Err(ReadOnlyError::new_err(format!(
                "this {} is a read-only view of a Replica's state (it writes as {replica}): \
                 write through the Replica, or take a writable copy with \
                 copy(replica=new_name)",
                self.ty.kind,
            )));
        }
        Ok(())
    }

    /// Converts arguments for this state's types.
    fn args(&self) -> Args {
        Args(self.ty)
    }

    /// A single mutator (short: run with the GIL held, under the write lock).
    fn mutate(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState>,
    ) -> PyResult<Self> {
        self.has_writer(py)?;
        self.inner.write(py, f).map(Self::wrap).map_err(any_err)
    }

    /// A batch mutator (the GIL is released while it waits for the lock and while it runs).
    fn batch(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState> + Send,
    ) -> PyResult<Self> {
        self.has_writer(py)?;
        self.inner
            .write_detached(py, f)
            .map(Self::wrap)
            .map_err(any_err)
    }

    /// The same state (a copy) with another read-only flag.
    fn cloned(&self, py: Python<'_>, read_only: bool) -> Self {
        let s = self.inner.read_detached(py, |s| s.clone());
        Self {
            read_only,
            ..Self::wrap(s)
        }
    }
}

/// Parses a kind name (`mvmap`, `awset`, `pncounter`, `lww`, or the class names).
fn kind_from_str(s: &str) -> PyResult<Kind> {
    Kind::from_str(s).map_err(any_err)
}

/// The kind's name (one of `KIND_NAMES`) for a name users pass (`mvmap`, `awset`,
/// `pncounter`, `lww`, or the class names, in any case), or `None` for an unknown one.
#[pyfunction]
pub(crate) fn kind_name(name: &str) -> Option<&'static str> {
    Kind::from_str(name).ok().map(Kind::name)
}

#[pymethods]
impl State {
    /// An empty state of `kind` with keys of `key_type` (and values of `value_type` for
    /// `mvmap` and `lww`), written to as `replica`.
    #[new]
    #[pyo3(signature = (kind, replica, key_type, value_type=None))]
    fn new(
        kind: &str,
        replica: &Bound<'_, PyAny>,
        key_type: &str,
        value_type: Option<&str>,
    ) -> PyResult<Self> {
        let kind = kind_from_str(kind)?;
        let key = KeyType::from_str(key_type).map_err(any_err)?;
        let value = value_type
            .map(ValueType::from_str)
            .transpose()
            .map_err(any_err)?;
        let ty = StateType::new(kind, key, value).map_err(any_err)?;
        Ok(Self::wrap(AnyState::new(ty, replica_from_py(replica)?)))
    }

    /// Decodes state or delta bytes (`bytes`, `bytearray`, `memoryview` or any buffer; the
    /// kind and types come from the bytes), written to as `replica`, or with no writer when
    /// `replica` is `None` (`AnyState::from_bytes_read_only`: it reads and joins, its
    /// mutators raise `ReadOnlyError`); with `kind`, bytes of another kind raise
    /// `KindError`. `read_only` makes a read-only view (unpickling one).
    #[staticmethod]
    #[pyo3(signature = (data, replica, kind=None, read_only=false))]
    fn from_bytes(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        replica: Option<&Bound<'_, PyAny>>,
        kind: Option<&str>,
        read_only: bool,
    ) -> PyResult<Self> {
        let data = bytes_arg(data, "data")?;
        let replica = replica.map(replica_from_py).transpose()?;
        let expected = kind.map(kind_from_str).transpose()?;
        let data: &[u8] = &data;
        let inner = py
            .detach(|| {
                let ty = StateType::of_bytes(data)?;
                if let Some(k) = expected.filter(|&k| k != ty.kind) {
                    return Err(pluriverse_any::AnyError::UnknownType(format!(
                        "the bytes hold a {ty}, not a {k}"
                    )));
                }
                match replica {
                    Some(r) => AnyState::from_bytes(data, r),
                    None => AnyState::from_bytes_read_only(data),
                }
            })
            .map_err(any_err)?;
        Ok(Self {
            read_only,
            ..Self::wrap(inner)
        })
    }

    /// `(kind, key type, value type or None)`, e.g. `("MVMap", "utf8", "int64")`.
    fn state_type(&self) -> (&'static str, &'static str, Option<&'static str>) {
        let t = self.ty;
        (t.kind.name(), t.key.name(), t.value.map(|v| v.name()))
    }

    /// Whether this is a read-only view.
    fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The replica this handle writes as.
    fn replica<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        let r = self.inner.read(py, |s| s.replica().clone());
        replica_to_py(py, &r)
    }

    /// The same state written to as `replica` (a copy).
    fn with_replica(&self, py: Python<'_>, replica: &Bound<'_, PyAny>) -> PyResult<Self> {
        let r = replica_from_py(replica)?;
        Ok(Self::wrap(
            self.inner.read_detached(py, |s| s.with_replica(r)),
        ))
    }

    /// A copy of the state.
    fn copy(&self, py: Python<'_>) -> Self {
        self.cloned(py, self.read_only)
    }

    /// The causal context (a copy).
    fn context(&self, py: Python<'_>) -> Context {
        Context {
            inner: self.inner.read_detached(py, |s| s.context().clone()),
        }
    }

    /// The context's contiguous prefixes, as a dict.
    fn version_vector<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let vv = self.inner.read(py, |s| s.version_vector());
        vv_to_py(py, &vv)
    }

    /// Number of keys (elements).
    fn __len__(&self, py: Python<'_>) -> usize {
        self.inner.read(py, |s| s.len())
    }

    /// Number of `(key, dot, value)` entries.
    fn entry_count(&self, py: Python<'_>) -> usize {
        self.inner.read(py, |s| s.entry_count())
    }

    /// The 128-bit digest as 16 big-endian bytes.
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let d = self.inner.read_detached(py, |s| s.digest_bytes());
        PyBytes::new(py, &d)
    }

    /// The Arrow IPC stream bytes of the state.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .inner
            .read_detached(py, |s| s.to_bytes())
            .map_err(any_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Whether `other` holds the same content (kind, types, entries and context; the
    /// replica a handle writes as is not content): equal canonical bytes, compared after the
    /// digests (a quick refusal).
    fn same_content(&self, py: Python<'_>, other: &Bound<'_, Self>) -> PyResult<bool> {
        let other = other.get();
        if std::ptr::eq(self, other) {
            return Ok(true);
        }
        if self.ty != other.ty {
            return Ok(false);
        }
        let bytes = |s: &State| s.inner.read_detached(py, |s| (s.digest(), s.to_bytes()));
        let ((da, ba), (db, bb)) = (bytes(self), bytes(other));
        if da != db {
            return Ok(false);
        }
        Ok(ba.map_err(any_err)? == bb.map_err(any_err)?)
    }

    /// The state as an Arrow record-batch stream capsule (the Arrow PyCapsule interface).
    /// A `requested_schema` other than the state's own raises `KindError` (none is cast).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let (schema, batches) = self
            .inner
            .read_detached(py, |s| s.to_record_batches())
            .map_err(any_err)?;
        check_requested_schema(requested_schema.as_ref(), &schema)?;
        export_stream(py, schema, batches)
    }

    /// The materialized view as an Arrow record-batch stream capsule: one row per key with
    /// the value a reader sees (see `crate::view`).
    #[pyo3(signature = (requested_schema=None))]
    fn values_stream<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let batch = self.inner.read_detached(py, crate::view::materialize)?;
        let schema = batch.schema();
        check_requested_schema(requested_schema.as_ref(), &schema)?;
        export_stream(py, schema, vec![batch])
    }

    /// The keys as an Arrow `(schema, array)` capsule pair.
    fn keys_capsules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let keys: ArrayRef = self.inner.read_detached(py, |s| s.keys());
        export_array(py, keys.as_ref())
    }

    /// Joins a delta or whole state of the same type (the GIL is released while it waits
    /// for the locks and while it runs). A dot bound to two contents is refused; `checked`
    /// (a state's merge) also refuses claims on this handle's own dots beyond what it issued
    /// (`AnyState::join_checked`), which a delta group (a `Delta` merging the deltas of its
    /// own writer) must not: on any error the state is unchanged.
    #[pyo3(signature = (other, checked = true))]
    fn join(&self, py: Python<'_>, other: &Bound<'_, Self>, checked: bool) -> PyResult<()> {
        let other = other.get();
        if std::ptr::eq(self, other) {
            return Ok(()); // s ⊔ s = s
        }
        self.writable(py)?;
        let (a, b) = (&self.inner, &other.inner);
        let join = |x: &mut AnyState, y: &AnyState| {
            if checked {
                x.join_checked(y)
            } else {
                x.join(y)
            }
        };
        py.detach(|| {
            // both locks, in address order (see `Shared::first_of`)
            if a.first_of(b) {
                let mut x = a.write_blocking();
                let y = b.read_blocking();
                join(&mut x, &y)
            } else {
                let y = b.read_blocking();
                let mut x = a.write_blocking();
                join(&mut x, &y)
            }
        })
        .map_err(any_err)
    }

    /// Decodes delta or state bytes and joins them (the GIL is released), refusing what
    /// [`State::join`] refuses (`checked` as there); on any error the state is unchanged.
    #[pyo3(signature = (data, checked = true))]
    fn join_bytes(&self, py: Python<'_>, data: &Bound<'_, PyAny>, checked: bool) -> PyResult<()> {
        self.writable(py)?;
        let data = bytes_arg(data, "data")?;
        let data: &[u8] = &data;
        self.inner
            .write_detached(py, |s| {
                if checked {
                    s.join_bytes_checked(data, &pluriverse::wire::Limits::default())
                } else {
                    s.join_bytes(data)
                }
            })
            .map_err(any_err)
    }

    /// What a replica whose context is `context` lacks.
    fn delta_since(&self, py: Python<'_>, context: &Context) -> Self {
        let ctx = &context.inner;
        Self::wrap(self.inner.read_detached(py, |s| s.delta_since(ctx)))
    }

    /// Splits the state into `parts` states by key hash (partition `p` holds the keys with
    /// `xxh3_64(key bytes) * parts >> 64 == p`); each part carries the context it needs, the
    /// parts join back to this state, and part `p` of two states joins to part `p` of their
    /// join (the GIL is released).
    fn partition(&self, py: Python<'_>, parts: usize) -> PyResult<Vec<Self>> {
        if parts == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "parts must be at least 1",
            ));
        }
        Ok(self
            .inner
            .read_detached(py, |s| s.partition(parts))
            .into_iter()
            .map(|inner| Self {
                read_only: self.read_only,
                ..Self::wrap(inner)
            })
            .collect())
    }

    // --- single mutators (each returns the delta) ---

    /// MVMap: sets `key` to `value`.
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.mutate(py, self.args().set(key, value)?)
    }

    /// MVMap, AWSet: removes `key` (what this replica has seen of it).
    fn remove(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.mutate(py, self.args().remove(key)?)
    }

    /// AWSet: adds `elem`.
    fn add(&self, py: Python<'_>, elem: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.mutate(py, self.args().add(elem)?)
    }

    /// PNCounterMap: adds `n` to `key`'s counter.
    fn increment(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.mutate(py, self.args().increment(key, n)?)
    }

    /// PNCounterMap: subtracts `n` from `key`'s counter.
    fn decrement(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.mutate(py, self.args().decrement(key, n)?)
    }

    /// LWWMap: sets `key` to `value` at `timestamp`.
    fn set_at(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.mutate(py, self.args().set_at(key, value, timestamp)?)
    }

    /// LWWMap: removes `key` at `timestamp` (a timestamped tombstone).
    fn remove_at(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.mutate(py, self.args().remove_at(key, timestamp)?)
    }

    // --- batch mutators over Arrow arrays (the GIL is released while they run) ---

    /// MVMap: `set` for each pair of `keys` and `values` (Arrow arrays).
    fn set_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.batch(py, Args::set_many(keys, values)?)
    }

    /// MVMap, AWSet: `remove` for each key.
    fn remove_many(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.batch(py, Args::remove_many(keys)?)
    }

    /// AWSet: `add` for each element.
    fn add_many(&self, py: Python<'_>, elems: &Bound<'_, PyAny>) -> PyResult<Self> {
        self.batch(py, Args::add_many(elems)?)
    }

    /// PNCounterMap: `increment` for each pair of `keys` and `amounts` (uint64).
    fn increment_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.batch(py, Args::increment_many(keys, amounts)?)
    }

    /// PNCounterMap: `decrement` for each pair of `keys` and `amounts` (uint64).
    fn decrement_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.batch(py, Args::decrement_many(keys, amounts)?)
    }

    /// LWWMap: `set_at` for each triple of `keys`, `values` and `timestamps` (uint64).
    fn set_many_at(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.batch(py, Args::set_many_at(keys, values, timestamps)?)
    }

    /// LWWMap: `remove_at` for each pair of `keys` and `timestamps` (uint64).
    fn remove_many_at(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        self.batch(py, Args::remove_many_at(keys, timestamps)?)
    }

    // --- reads (under the read lock: they run side by side, and wait for a write) ---

    /// Whether the key (element) is present.
    fn contains(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = self.args().key(key, "key")?;
        self.inner.read(py, |s| s.contains(&k)).map_err(any_err)
    }

    /// MVMap: the concurrent values of `key` (empty when absent); LWWMap: 0 or 1 value.
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let k = self.args().key(key, "key")?;
        let values = self.inner.read(py, |s| s.get(&k)).map_err(any_err)?;
        values_to_py(py, &values)
    }

    /// LWWMap: drops the tombstones no replica can need any more (`LWWMap::collect_tombstones`);
    /// `heard` pairs every replica that may write with the version vector last heard from
    /// it. Returns how many entries were dropped (the GIL is released while it runs).
    fn collect_tombstones(
        &self,
        py: Python<'_>,
        heard: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)>,
        timestamp_floor: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        self.writable(py)?;
        let floor = timestamp_from_py(timestamp_floor)?;
        let heard = heard
            .iter()
            .map(|(r, vv)| Ok((replica_from_py(r)?, vv_from_py(vv)?)))
            .collect::<PyResult<Vec<_>>>()?;
        let stability = pluriverse::Stability::from_peers(heard.iter().map(|(r, v)| (r, v)));
        self.inner
            .write_detached(py, |s| s.collect_tombstones(&stability, floor))
            .map_err(any_err)
    }

    /// LWWMap: `(timestamp, value)` of `key`, or `None` when absent.
    fn get_with_timestamp<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        let k = self.args().key(key, "key")?;
        let got = self
            .inner
            .read(py, |s| s.get_with_timestamp(&k))
            .map_err(any_err)?;
        got.map(|(ts, v)| Ok((ts, scalar_to_py(py, &v)?)))
            .transpose()
    }

    /// PNCounterMap: the counter's value (0 when absent).
    fn value_of(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<i128> {
        let k = self.args().key(key, "key")?;
        self.inner.read(py, |s| s.value(&k)).map_err(any_err)
    }
}

/// Values as a Python list.
pub(crate) fn values_to_py<'py>(
    py: Python<'py>,
    values: &[pluriverse_any::Scalar],
) -> PyResult<Bound<'py, PyList>> {
    let items = values
        .iter()
        .map(|v| scalar_to_py(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// Refuses a `requested_schema` (an `arrow_schema` capsule) other than `schema`.
fn check_requested_schema(
    requested: Option<&Bound<'_, PyAny>>,
    schema: &SchemaRef,
) -> PyResult<()> {
    let Some(req) = requested.filter(|r| !r.is_none()) else {
        return Ok(());
    };
    let wanted = import_schema(req)?;
    if wanted.fields() == schema.fields() {
        return Ok(());
    }
    Err(KindError::new_err(format!(
        "requested_schema {wanted} differs from the state's schema {schema}: pluriverse \
         offers only its own schema (cast the table after reading it)"
    )))
}
