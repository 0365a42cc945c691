//! The handle on one state or delta of any kind: `pluriverse_any::AnyState` with Python
//! arguments converted in and results converted out. The public classes (`MVMap`, `AWSet`,
//! `PNCounterMap`, `LWWMap`, `Delta`) are pure Python over this one.

use std::str::FromStr;

use arrow_array::ArrayRef;
use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PyTuple};

use crate::arrow::{export_array, export_stream, import_array};
use crate::context::Context;
use crate::errors::{KindError, ReadOnlyError};
use crate::scalar::{any_err, key_from_py, scalar_to_py, u64_from_py, value_from_py};
use crate::version_vector::{replica_from_py, replica_to_py, vv_to_py};

/// One replica's state (or a delta) of any kind, key type and value type.
#[pyclass(name = "State", module = "pluriverse._native")]
pub struct State {
    pub(crate) inner: AnyState,
    /// A read-only view (`Replica.state`): it carries the replica's incarnation, so writing
    /// to it would issue that incarnation's dots a second time; mutators and joins refuse.
    read_only: bool,
}

impl State {
    pub(crate) fn wrap(inner: AnyState) -> Self {
        Self {
            inner,
            read_only: false,
        }
    }

    /// A read-only view of `inner` (see the `read_only` field).
    pub(crate) fn read_only(inner: AnyState) -> Self {
        Self {
            inner,
            read_only: true,
        }
    }

    /// The state, to change it; `ReadOnlyError` for a view.
    fn writable(&mut self) -> PyResult<&mut AnyState> {
        if self.read_only {
            return Err(ReadOnlyError::new_err(format!(
                "this {} is a read-only view of a Replica's state (it writes as {}): write \
                 through the Replica, or take a writable copy with copy(replica=new_name)",
                self.ty().kind,
                self.inner.replica()
            )));
        }
        Ok(&mut self.inner)
    }

    fn ty(&self) -> StateType {
        self.inner.state_type()
    }

    fn key(&self, obj: &Bound<'_, PyAny>) -> PyResult<pluriverse_any::Scalar> {
        key_from_py(obj, self.ty().key, "key")
    }

    fn value(&self, obj: &Bound<'_, PyAny>) -> PyResult<pluriverse_any::Scalar> {
        match self.ty().value {
            Some(t) => value_from_py(obj, t),
            None => Err(KindError::new_err(format!(
                "{} has no values",
                self.ty().kind
            ))),
        }
    }
}

/// Parses a kind name (`mvmap`, `awset`, `pncounter`, `lww`, or the class names).
fn kind_from_str(s: &str) -> PyResult<Kind> {
    Kind::from_str(s).map_err(any_err)
}

/// Runs a batch mutator with the GIL released.
fn batch(
    py: Python<'_>,
    state: &mut AnyState,
    f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState> + Send,
) -> PyResult<State> {
    py.detach(|| f(state)).map(State::wrap).map_err(any_err)
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

    /// Decodes state or delta bytes (the kind and types come from the bytes), written to as
    /// `replica`; with `kind`, bytes of another kind raise `KindError`.
    #[staticmethod]
    #[pyo3(signature = (data, replica, kind=None))]
    fn from_bytes(
        py: Python<'_>,
        data: &[u8],
        replica: &Bound<'_, PyAny>,
        kind: Option<&str>,
    ) -> PyResult<Self> {
        let replica = replica_from_py(replica)?;
        let expected = kind.map(kind_from_str).transpose()?;
        let inner = py
            .detach(|| {
                let ty = StateType::of_bytes(data)?;
                if let Some(k) = expected.filter(|&k| k != ty.kind) {
                    return Err(pluriverse_any::AnyError::UnknownType(format!(
                        "the bytes hold a {ty}, not a {k}"
                    )));
                }
                AnyState::from_bytes(data, replica)
            })
            .map_err(any_err)?;
        Ok(Self::wrap(inner))
    }

    /// `(kind, key type, value type or None)`, e.g. `("MVMap", "utf8", "int64")`.
    fn state_type(&self) -> (&'static str, &'static str, Option<&'static str>) {
        let t = self.ty();
        (t.kind.name(), t.key.name(), t.value.map(|v| v.name()))
    }

    /// The replica this handle writes as.
    fn replica<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        replica_to_py(py, self.inner.replica())
    }

    /// The same state written to as `replica` (a copy).
    fn with_replica(&self, replica: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self::wrap(
            self.inner.with_replica(replica_from_py(replica)?),
        ))
    }

    /// A copy of the state.
    fn copy(&self, py: Python<'_>) -> Self {
        let inner = &self.inner;
        Self {
            inner: py.detach(|| inner.clone()),
            read_only: self.read_only,
        }
    }

    /// The causal context (a copy).
    fn context(&self) -> Context {
        Context {
            inner: self.inner.context().clone(),
        }
    }

    /// The context's contiguous prefixes, as a dict.
    fn version_vector<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        vv_to_py(py, &self.inner.version_vector())
    }

    /// Number of keys (elements).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Number of `(key, dot, value)` entries.
    fn entry_count(&self) -> usize {
        self.inner.entry_count()
    }

    /// The 128-bit digest as 16 big-endian bytes.
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let inner = &self.inner;
        let d = py.detach(|| inner.digest_bytes());
        PyBytes::new(py, &d)
    }

    /// The Arrow IPC stream bytes of the state.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &self.inner;
        let bytes = py.detach(|| inner.to_bytes()).map_err(any_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The state as an Arrow record-batch stream capsule (the Arrow PyCapsule interface).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema; // the state's own schema is the only one offered
        let inner = &self.inner;
        let (schema, batches) = py.detach(|| inner.to_record_batches()).map_err(any_err)?;
        export_stream(py, schema, batches)
    }

    /// The keys as an Arrow `(schema, array)` capsule pair.
    fn keys_capsules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let inner = &self.inner;
        let keys: ArrayRef = py.detach(|| inner.keys());
        export_array(py, keys.as_ref())
    }

    /// Joins a delta or whole state of the same type (the GIL is released).
    fn join(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        if slf.is(other) {
            return Ok(()); // s ⊔ s = s
        }
        let py = slf.py();
        // another thread using either handle (the GIL is released in joins): RuntimeError
        let other = other.try_borrow()?;
        let mut this = slf.try_borrow_mut()?;
        let (a, b) = (this.writable()?, &other.inner);
        py.detach(|| a.join(b)).map_err(any_err)
    }

    /// Decodes delta or state bytes and joins them (the GIL is released); on any error the
    /// state is unchanged.
    fn join_bytes(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let inner = self.writable()?;
        py.detach(|| inner.join_bytes(data)).map_err(any_err)
    }

    /// What a replica whose context is `context` lacks.
    fn delta_since(&self, py: Python<'_>, context: &Context) -> Self {
        let (inner, ctx) = (&self.inner, &context.inner);
        Self::wrap(py.detach(|| inner.delta_since(ctx)))
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
        let inner = &self.inner;
        Ok(py
            .detach(|| inner.partition(parts))
            .into_iter()
            .map(|inner| Self {
                inner,
                read_only: self.read_only,
            })
            .collect())
    }

    // --- single mutators (each returns the delta) ---

    /// MVMap: sets `key` to `value`.
    fn set(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (k, v) = (self.key(key)?, self.value(value)?);
        self.writable()?.set(k, v).map(Self::wrap).map_err(any_err)
    }

    /// MVMap, AWSet: removes `key` (what this replica has seen of it).
    fn remove(&mut self, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let k = self.key(key)?;
        self.writable()?.remove(k).map(Self::wrap).map_err(any_err)
    }

    /// AWSet: adds `elem`.
    fn add(&mut self, elem: &Bound<'_, PyAny>) -> PyResult<Self> {
        let k = key_from_py(elem, self.ty().key, "element")?;
        self.writable()?.add(k).map(Self::wrap).map_err(any_err)
    }

    /// PNCounterMap: adds `n` to `key`'s counter.
    fn increment(&mut self, key: &Bound<'_, PyAny>, n: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (k, n) = (self.key(key)?, u64_from_py(n, "n")?);
        self.writable()?
            .increment(k, n)
            .map(Self::wrap)
            .map_err(any_err)
    }

    /// PNCounterMap: subtracts `n` from `key`'s counter.
    fn decrement(&mut self, key: &Bound<'_, PyAny>, n: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (k, n) = (self.key(key)?, u64_from_py(n, "n")?);
        self.writable()?
            .decrement(k, n)
            .map(Self::wrap)
            .map_err(any_err)
    }

    /// LWWMap: sets `key` to `value` at `timestamp`.
    fn set_at(
        &mut self,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (k, v) = (self.key(key)?, self.value(value)?);
        let ts = u64_from_py(timestamp, "timestamp")?;
        self.writable()?
            .set_at(k, v, ts)
            .map(Self::wrap)
            .map_err(any_err)
    }

    /// LWWMap: removes `key` at `timestamp` (a timestamped tombstone).
    fn remove_at(
        &mut self,
        key: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let k = self.key(key)?;
        let ts = u64_from_py(timestamp, "timestamp")?;
        self.writable()?
            .remove_at(k, ts)
            .map(Self::wrap)
            .map_err(any_err)
    }

    // --- batch mutators over Arrow arrays (the GIL is released while they run) ---

    /// MVMap: `set` for each pair of `keys` and `values`.
    fn set_many(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (k, v) = (import_array(keys, "keys")?, import_array(values, "values")?);
        batch(py, self.writable()?, |s| s.set_many(k.as_ref(), v.as_ref()))
    }

    /// MVMap, AWSet: `remove` for each key.
    fn remove_many(&mut self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<Self> {
        let k = import_array(keys, "keys")?;
        batch(py, self.writable()?, |s| s.remove_many(k.as_ref()))
    }

    /// AWSet: `add` for each element.
    fn add_many(&mut self, py: Python<'_>, elems: &Bound<'_, PyAny>) -> PyResult<Self> {
        let e = import_array(elems, "elements")?;
        batch(py, self.writable()?, |s| s.add_many(e.as_ref()))
    }

    /// PNCounterMap: `increment` for each pair of `keys` and `amounts` (uint64).
    fn increment_many(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (k, n) = (
            import_array(keys, "keys")?,
            import_array(amounts, "amounts")?,
        );
        batch(py, self.writable()?, |s| {
            s.increment_many(k.as_ref(), n.as_ref())
        })
    }

    /// PNCounterMap: `decrement` for each pair of `keys` and `amounts` (uint64).
    fn decrement_many(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (k, n) = (
            import_array(keys, "keys")?,
            import_array(amounts, "amounts")?,
        );
        batch(py, self.writable()?, |s| {
            s.decrement_many(k.as_ref(), n.as_ref())
        })
    }

    /// LWWMap: `set_at` for each triple of `keys`, `values` and `timestamps` (uint64).
    fn set_many_at(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let k = import_array(keys, "keys")?;
        let v = import_array(values, "values")?;
        let t = import_array(timestamps, "timestamps")?;
        batch(py, self.writable()?, |s| {
            s.set_many_at(k.as_ref(), v.as_ref(), t.as_ref())
        })
    }

    /// LWWMap: `remove_at` for each pair of `keys` and `timestamps` (uint64).
    fn remove_many_at(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (k, t) = (
            import_array(keys, "keys")?,
            import_array(timestamps, "timestamps")?,
        );
        batch(py, self.writable()?, |s| {
            s.remove_many_at(k.as_ref(), t.as_ref())
        })
    }

    // --- reads ---

    /// Whether the key (element) is present.
    fn contains(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        read_contains(&self.inner, key)
    }

    /// MVMap: the concurrent values of `key` (empty when absent); LWWMap: 0 or 1 value.
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        read_get(py, &self.inner, key)
    }

    /// LWWMap: `(timestamp, value)` of `key`, or `None` when absent.
    fn get_with_timestamp<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        read_get_with_timestamp(py, &self.inner, key)
    }

    /// PNCounterMap: the counter's value (0 when absent).
    fn value_of(&self, key: &Bound<'_, PyAny>) -> PyResult<i128> {
        read_value(&self.inner, key)
    }
}

// --- reads of any state, shared with `Replica` (which reads its state in place) ---

/// Whether `key` is present in `s`.
pub(crate) fn read_contains(s: &AnyState, key: &Bound<'_, PyAny>) -> PyResult<bool> {
    let k = key_from_py(key, s.state_type().key, "key")?;
    s.contains(&k).map_err(any_err)
}

/// The values of `key` in `s` (MVMap: the concurrent ones; LWWMap: 0 or 1).
pub(crate) fn read_get<'py>(
    py: Python<'py>,
    s: &AnyState,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let k = key_from_py(key, s.state_type().key, "key")?;
    let values = s.get(&k).map_err(any_err)?;
    let items = values
        .iter()
        .map(|v| scalar_to_py(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// LWWMap: `(timestamp, value)` of `key` in `s`.
pub(crate) fn read_get_with_timestamp<'py>(
    py: Python<'py>,
    s: &AnyState,
    key: &Bound<'py, PyAny>,
) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
    let k = key_from_py(key, s.state_type().key, "key")?;
    match s.get_with_timestamp(&k).map_err(any_err)? {
        Some((ts, v)) => Ok(Some((ts, scalar_to_py(py, &v)?))),
        None => Ok(None),
    }
}

/// PNCounterMap: the counter of `key` in `s`.
pub(crate) fn read_value(s: &AnyState, key: &Bound<'_, PyAny>) -> PyResult<i128> {
    let k = key_from_py(key, s.state_type().key, "key")?;
    s.value(&k).map_err(any_err)
}
