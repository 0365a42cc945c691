//! The handle on a durable replica directory: `pluriverse_replica::Replica` with Python
//! arguments converted in and results converted out. The public class is
//! `pluriverse.Replica` (pure Python over this one).

use std::path::PathBuf;
use std::str::FromStr;

use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};
use pluriverse_replica::{Durability, Options, Replica as Inner, ReplicaError, Written};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::errors::{replica_err, ConfigError, ReplicaClosedError};
use crate::lock::Shared;
use crate::mutation::Args;
use crate::scalar::{any_err, bytes_arg, scalar_to_py};
use crate::state::{values_to_py, State};
use crate::version_vector::{replica_from_py, replica_to_py};

/// A replica that lives in a directory (see `pluriverse.Replica`).
///
/// Frozen: the replica lives behind a read-write lock (`crate::lock`), so threads share a
/// handle; reads run side by side, writes wait for each other and for the reads.
#[pyclass(name = "Replica", module = "pluriverse._native", frozen)]
pub struct Replica {
    /// `None` once closed.
    pub(crate) inner: Shared<Option<Inner>>,
    /// The directory, kept for messages after close.
    dir: PathBuf,
    /// The kind and types (they never change).
    ty: StateType,
}

fn options(durability: &str, fold_bytes: Option<u64>) -> PyResult<Options> {
    let durability = match durability.to_ascii_lowercase().as_str() {
        "group" => Durability::Group,
        "synced" => Durability::Synced,
        "buffered" => Durability::Buffered,
        other => {
            return Err(ConfigError::new_err(format!(
                "unknown durability {other:?} (expected \"group\", \"synced\" or \"buffered\")"
            )))
        }
    };
    let mut opts = Options {
        durability,
        ..Options::default()
    };
    if let Some(b) = fold_bytes {
        opts.fold_bytes = b;
    }
    Ok(opts)
}

impl Replica {
    pub(crate) fn closed(&self) -> PyErr {
        ReplicaClosedError::new_err(format!("the replica in {} is closed", self.dir.display()))
    }

    /// A short read of the open replica, with the GIL held.
    pub(crate) fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&Inner) -> R) -> PyResult<R> {
        self.inner
            .read(py, |r| r.as_ref().map(f))
            .ok_or_else(|| self.closed())
    }

    /// A long read of the open replica, with the GIL released.
    pub(crate) fn with_detached<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Inner) -> R + Send,
    ) -> PyResult<R> {
        self.inner
            .read_detached(py, |r| r.as_ref().map(f))
            .ok_or_else(|| self.closed())
    }

    /// A change to the open replica, with the GIL released.
    fn with_mut<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Inner) -> Result<R, ReplicaError> + Send,
    ) -> PyResult<R> {
        self.inner
            .write_detached(py, |r| r.as_mut().map(f))
            .ok_or_else(|| self.closed())?
            .map_err(replica_err)
    }

    /// The kind and types.
    pub(crate) fn ty(&self) -> StateType {
        self.ty
    }

    /// Converts arguments for this replica's types.
    fn args(&self) -> Args {
        Args(self.ty)
    }

    /// Runs one mutator through `Replica::write` with the GIL released; returns its delta.
    fn write(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState> + Send,
    ) -> PyResult<State> {
        let w: Written = self.with_mut(py, |r| r.write(f))?;
        Ok(State::wrap(w.delta))
    }

    fn from_inner(inner: Inner) -> Self {
        Self {
            dir: inner.dir().to_path_buf(),
            ty: inner.state().state_type(),
            inner: Shared::new(Some(inner)),
        }
    }
}

#[pymethods]
impl Replica {
    /// Creates a replica named `name` in `path` (created if missing; it must not hold a
    /// replica) and opens it.
    #[staticmethod]
    #[pyo3(signature = (path, name, kind, key_type, value_type=None, durability="group", fold_bytes=None))]
    #[allow(clippy::too_many_arguments)] // a Python signature: keywords, not a struct
    fn create(
        py: Python<'_>,
        path: PathBuf,
        name: &Bound<'_, PyAny>,
        kind: &str,
        key_type: &str,
        value_type: Option<&str>,
        durability: &str,
        fold_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let name = replica_from_py(name)?;
        let kind = Kind::from_str(kind).map_err(any_err)?;
        let key = KeyType::from_str(key_type).map_err(any_err)?;
        let value = value_type
            .map(ValueType::from_str)
            .transpose()
            .map_err(any_err)?;
        let ty = StateType::new(kind, key, value).map_err(any_err)?;
        let opts = options(durability, fold_bytes)?;
        py.detach(|| Inner::create(&path, name, ty, opts))
            .map(Self::from_inner)
            .map_err(replica_err)
    }

    /// Opens the replica in `path` under a fresh incarnation.
    #[staticmethod]
    #[pyo3(signature = (path, durability="group", fold_bytes=None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        durability: &str,
        fold_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let opts = options(durability, fold_bytes)?;
        py.detach(|| Inner::open(&path, opts))
            .map(Self::from_inner)
            .map_err(replica_err)
    }

    /// The replica's name.
    fn name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.with(py, |r| r.name().clone())?;
        Ok(replica_to_py(py, &n))
    }

    /// The incarnation this handle writes as (`name#<16 hex digits>`).
    fn writer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let w = self.with(py, |r| r.writer().clone())?;
        Ok(replica_to_py(py, &w))
    }

    /// The directory.
    fn path(&self) -> PathBuf {
        self.dir.clone()
    }

    /// The durability it was opened with.
    fn durability(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(match self.with(py, |r| r.options().durability)? {
            Durability::Buffered => "buffered",
            Durability::Synced => "synced",
            Durability::Group => "group",
        })
    }

    /// Whether `close` was called.
    fn is_closed(&self, py: Python<'_>) -> bool {
        self.inner.read(py, |r| r.is_none())
    }

    /// `(kind, key type, value type or None)`.
    fn state_type(
        &self,
        py: Python<'_>,
    ) -> PyResult<(&'static str, &'static str, Option<&'static str>)> {
        let t = self.ty;
        self.with(py, |_| ())?;
        Ok((t.kind.name(), t.key.name(), t.value.map(|v| v.name())))
    }

    /// The highest counter the current incarnation has issued.
    fn issued(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |r| r.issued())
    }

    /// Bytes in the current log.
    fn log_bytes(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |r| r.log_bytes())
    }

    /// A read-only copy of the state (the GIL is released while it is copied).
    fn state(&self, py: Python<'_>) -> PyResult<State> {
        let s = self.with_detached(py, |r| r.state().clone())?;
        Ok(State::read_only(s))
    }

    /// Number of keys (elements).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |r| r.state().len())
    }

    /// The 128-bit digest of the state as 16 big-endian bytes.
    fn digest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let d = self.with_detached(py, |r| r.state().digest_bytes())?;
        Ok(PyBytes::new(py, &d))
    }

    /// The state's bytes (the state format).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = self
            .with_detached(py, |r| r.state().to_bytes())?
            .map_err(any_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Whether the key (element) is present.
    fn contains(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = self.args().key(key, "key")?;
        self.with(py, |r| r.state().contains(&k))?.map_err(any_err)
    }

    /// The values of `key` (MVMap: the concurrent ones; LWWMap: 0 or 1).
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let k = self.args().key(key, "key")?;
        let values = self.with(py, |r| r.state().get(&k))?.map_err(any_err)?;
        values_to_py(py, &values)
    }

    /// LWWMap: `(timestamp, value)` of `key`, or `None`.
    fn get_with_timestamp<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        let k = self.args().key(key, "key")?;
        let got = self
            .with(py, |r| r.state().get_with_timestamp(&k))?
            .map_err(any_err)?;
        got.map(|(ts, v)| Ok((ts, scalar_to_py(py, &v)?)))
            .transpose()
    }

    /// PNCounterMap: the counter of `key`.
    fn value_of(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<i128> {
        let k = self.args().key(key, "key")?;
        self.with(py, |r| r.state().value(&k))?.map_err(any_err)
    }

    // --- writes: each is logged before it returns its delta ---

    /// MVMap: sets `key` to `value`.
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, self.args().set(key, value)?)
    }

    /// MVMap, AWSet: removes `key` (what this replica has seen of it).
    fn remove(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<State> {
        self.write(py, self.args().remove(key)?)
    }

    /// AWSet: adds `elem`.
    fn add(&self, py: Python<'_>, elem: &Bound<'_, PyAny>) -> PyResult<State> {
        self.write(py, self.args().add(elem)?)
    }

    /// PNCounterMap: adds `n` to `key`'s counter.
    fn increment(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, self.args().increment(key, n)?)
    }

    /// PNCounterMap: subtracts `n` from `key`'s counter.
    fn decrement(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, self.args().decrement(key, n)?)
    }

    /// LWWMap: sets `key` to `value` at `timestamp`.
    fn set_at(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, self.args().set_at(key, value, timestamp)?)
    }

    /// LWWMap: removes `key` at `timestamp` (a timestamped tombstone).
    fn remove_at(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, self.args().remove_at(key, timestamp)?)
    }

    /// MVMap: `set` for each pair of `keys` and `values` (Arrow arrays).
    fn set_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, Args::set_many(keys, values)?)
    }

    /// MVMap, AWSet: `remove` for each key.
    fn remove_many(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<State> {
        self.write(py, Args::remove_many(keys)?)
    }

    /// AWSet: `add` for each element.
    fn add_many(&self, py: Python<'_>, elems: &Bound<'_, PyAny>) -> PyResult<State> {
        self.write(py, Args::add_many(elems)?)
    }

    /// PNCounterMap: `increment` for each pair of `keys` and `amounts` (uint64).
    fn increment_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, Args::increment_many(keys, amounts)?)
    }

    /// PNCounterMap: `decrement` for each pair of `keys` and `amounts` (uint64).
    fn decrement_many(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, Args::decrement_many(keys, amounts)?)
    }

    /// LWWMap: `set_at` for each triple of `keys`, `values` and `timestamps` (uint64).
    fn set_many_at(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, Args::set_many_at(keys, values, timestamps)?)
    }

    /// LWWMap: `remove_at` for each pair of `keys` and `timestamps` (uint64).
    fn remove_many_at(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        self.write(py, Args::remove_many_at(keys, timestamps)?)
    }

    // --- received deltas, durability, lifecycle ---

    /// Joins a received delta (or state) and logs it.
    fn apply(&self, py: Python<'_>, delta: &State) -> PyResult<()> {
        let d = &delta.inner;
        self.with_mut(py, |r| r.apply(&d.read_blocking()))
    }

    /// Decodes a received delta's bytes and joins them.
    fn apply_bytes(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = bytes_arg(data, "data")?;
        let data: &[u8] = &data;
        self.with_mut(py, |r| r.apply_bytes(data))
    }

    /// `fdatasync`s the log: every write so far survives power loss.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        self.with_mut(py, |r| r.sync())
    }

    /// Folds the log into a new snapshot.
    fn fold(&self, py: Python<'_>) -> PyResult<()> {
        self.with_mut(py, |r| r.fold())
    }

    /// Syncs and closes; a second close does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self
            .inner
            .write_detached(py, |r| r.take().map(Inner::close))
        {
            Some(done) => done.map_err(replica_err),
            None => Ok(()),
        }
    }
}
