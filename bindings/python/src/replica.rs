//! The handle on a durable replica directory: `pluriverse_replica::Replica` with Python
//! arguments converted in and results converted out. The public class is
//! `pluriverse.Replica` (pure Python over this one).

use std::path::PathBuf;
use std::str::FromStr;

use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};
use pluriverse_replica::{Durability, Options, Replica as Inner, ReplicaError, Written};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::arrow::import_array;
use crate::errors::{replica_err, ConfigError, KindError, ReplicaClosedError};
use crate::scalar::{any_err, key_from_py, u64_from_py, value_from_py};
use crate::state::{read_contains, read_get, read_get_with_timestamp, read_value, State};
use crate::version_vector::{replica_from_py, replica_to_py};

/// A replica that lives in a directory (see `pluriverse.Replica`).
#[pyclass(name = "Replica", module = "pluriverse._native")]
pub struct Replica {
    /// `None` once closed.
    inner: Option<Inner>,
    /// The directory, kept for messages after close.
    dir: PathBuf,
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
    fn live(&self) -> PyResult<&Inner> {
        self.inner.as_ref().ok_or_else(|| self.closed())
    }

    fn live_mut(&mut self) -> PyResult<&mut Inner> {
        match self.inner.as_mut() {
            Some(r) => Ok(r),
            None => Err(ReplicaClosedError::new_err(format!(
                "the replica in {} is closed",
                self.dir.display()
            ))),
        }
    }

    fn closed(&self) -> PyErr {
        ReplicaClosedError::new_err(format!("the replica in {} is closed", self.dir.display()))
    }

    fn ty(&self) -> PyResult<StateType> {
        Ok(self.live()?.state().state_type())
    }

    fn key(&self, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Scalar> {
        key_from_py(obj, self.ty()?.key, what)
    }

    fn value(&self, obj: &Bound<'_, PyAny>) -> PyResult<Scalar> {
        let ty = self.ty()?;
        match ty.value {
            Some(t) => value_from_py(obj, t),
            None => Err(KindError::new_err(format!("{} has no values", ty.kind))),
        }
    }

    /// Runs one mutator through `Replica::write` with the GIL released; returns its delta.
    fn write(
        &mut self,
        py: Python<'_>,
        f: impl FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState> + Send,
    ) -> PyResult<State> {
        let r = self.live_mut()?;
        let w: Result<Written, ReplicaError> = py.detach(|| r.write(f));
        w.map(|w| State::wrap(w.delta)).map_err(replica_err)
    }

    fn from_inner(inner: Inner) -> Self {
        Self {
            dir: inner.dir().to_path_buf(),
            inner: Some(inner),
        }
    }

    /// The state, for the sync peer (`Sync.poll_transmit`).
    pub(crate) fn state_ref(&self) -> PyResult<&AnyState> {
        Ok(self.live()?.state())
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
        Ok(replica_to_py(py, self.live()?.name()))
    }

    /// The incarnation this handle writes as (`name#<16 hex digits>`).
    fn writer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(replica_to_py(py, self.live()?.writer()))
    }

    /// The directory.
    fn path(&self) -> PathBuf {
        self.dir.clone()
    }

    /// The durability it was opened with.
    fn durability(&self) -> PyResult<&'static str> {
        Ok(match self.live()?.options().durability {
            Durability::Buffered => "buffered",
            Durability::Synced => "synced",
            Durability::Group => "group",
        })
    }

    /// Whether `close` was called.
    fn is_closed(&self) -> bool {
        self.inner.is_none()
    }

    /// `(kind, key type, value type or None)`.
    fn state_type(&self) -> PyResult<(&'static str, &'static str, Option<&'static str>)> {
        let t = self.ty()?;
        Ok((t.kind.name(), t.key.name(), t.value.map(|v| v.name())))
    }

    /// The highest counter the current incarnation has issued.
    fn issued(&self) -> PyResult<u64> {
        Ok(self.live()?.issued())
    }

    /// Bytes in the current log.
    fn log_bytes(&self) -> PyResult<u64> {
        Ok(self.live()?.log_bytes())
    }

    /// A read-only copy of the state (the GIL is released while it is copied).
    fn state(&self, py: Python<'_>) -> PyResult<State> {
        let s = self.live()?.state();
        Ok(State::read_only(py.detach(|| s.clone())))
    }

    /// Number of keys (elements).
    fn __len__(&self) -> PyResult<usize> {
        Ok(self.live()?.state().len())
    }

    /// The 128-bit digest of the state as 16 big-endian bytes.
    fn digest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.live()?.state();
        let d = py.detach(|| s.digest_bytes());
        Ok(PyBytes::new(py, &d))
    }

    /// The state's bytes (the state format).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.live()?.state();
        let b = py.detach(|| s.to_bytes()).map_err(any_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Whether the key (element) is present.
    fn contains(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        read_contains(self.live()?.state(), key)
    }

    /// The values of `key` (MVMap: the concurrent ones; LWWMap: 0 or 1).
    fn get<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        read_get(py, self.live()?.state(), key)
    }

    /// LWWMap: `(timestamp, value)` of `key`, or `None`.
    fn get_with_timestamp<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        read_get_with_timestamp(py, self.live()?.state(), key)
    }

    /// PNCounterMap: the counter of `key`.
    fn value_of(&self, key: &Bound<'_, PyAny>) -> PyResult<i128> {
        read_value(self.live()?.state(), key)
    }

    // --- writes: each is logged before it returns its delta ---

    /// MVMap: sets `key` to `value`.
    fn set(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, v) = (self.key(key, "key")?, self.value(value)?);
        self.write(py, |s| s.set(k, v))
    }

    /// MVMap, AWSet: removes `key`.
    fn remove(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<State> {
        let k = self.key(key, "key")?;
        self.write(py, |s| s.remove(k))
    }

    /// AWSet: adds `elem`.
    fn add(&mut self, py: Python<'_>, elem: &Bound<'_, PyAny>) -> PyResult<State> {
        let k = self.key(elem, "element")?;
        self.write(py, |s| s.add(k))
    }

    /// PNCounterMap: adds `n` to `key`'s counter.
    fn increment(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, n) = (self.key(key, "key")?, u64_from_py(n, "n")?);
        self.write(py, |s| s.increment(k, n))
    }

    /// PNCounterMap: subtracts `n` from `key`'s counter.
    fn decrement(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        n: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, n) = (self.key(key, "key")?, u64_from_py(n, "n")?);
        self.write(py, |s| s.decrement(k, n))
    }

    /// LWWMap: sets `key` to `value` at `timestamp`.
    fn set_at(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, v) = (self.key(key, "key")?, self.value(value)?);
        let ts = u64_from_py(timestamp, "timestamp")?;
        self.write(py, |s| s.set_at(k, v, ts))
    }

    /// LWWMap: removes `key` at `timestamp`.
    fn remove_at(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let k = self.key(key, "key")?;
        let ts = u64_from_py(timestamp, "timestamp")?;
        self.write(py, |s| s.remove_at(k, ts))
    }

    /// MVMap: `set` for each pair (Arrow arrays).
    fn set_many(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, v) = (import_array(keys, "keys")?, import_array(values, "values")?);
        self.write(py, |s| s.set_many(k.as_ref(), v.as_ref()))
    }

    /// MVMap, AWSet: `remove` for each key.
    fn remove_many(&mut self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<State> {
        let k = import_array(keys, "keys")?;
        self.write(py, |s| s.remove_many(k.as_ref()))
    }

    /// AWSet: `add` for each element.
    fn add_many(&mut self, py: Python<'_>, elems: &Bound<'_, PyAny>) -> PyResult<State> {
        let e = import_array(elems, "elements")?;
        self.write(py, |s| s.add_many(e.as_ref()))
    }

    /// PNCounterMap: `increment` for each pair of keys and amounts.
    fn increment_many(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, n) = (
            import_array(keys, "keys")?,
            import_array(amounts, "amounts")?,
        );
        self.write(py, |s| s.increment_many(k.as_ref(), n.as_ref()))
    }

    /// PNCounterMap: `decrement` for each pair of keys and amounts.
    fn decrement_many(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        amounts: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, n) = (
            import_array(keys, "keys")?,
            import_array(amounts, "amounts")?,
        );
        self.write(py, |s| s.decrement_many(k.as_ref(), n.as_ref()))
    }

    /// LWWMap: `set_at` for each triple.
    fn set_many_at(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let k = import_array(keys, "keys")?;
        let v = import_array(values, "values")?;
        let t = import_array(timestamps, "timestamps")?;
        self.write(py, |s| s.set_many_at(k.as_ref(), v.as_ref(), t.as_ref()))
    }

    /// LWWMap: `remove_at` for each pair.
    fn remove_many_at(
        &mut self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        timestamps: &Bound<'_, PyAny>,
    ) -> PyResult<State> {
        let (k, t) = (
            import_array(keys, "keys")?,
            import_array(timestamps, "timestamps")?,
        );
        self.write(py, |s| s.remove_many_at(k.as_ref(), t.as_ref()))
    }

    // --- received deltas, durability, lifecycle ---

    /// Joins a received delta (or state) and logs it.
    fn apply(&mut self, py: Python<'_>, delta: &State) -> PyResult<()> {
        let r = self.live_mut()?;
        let d = &delta.inner;
        py.detach(|| r.apply(d)).map_err(replica_err)
    }

    /// Decodes a received delta's bytes and joins them.
    fn apply_bytes(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let r = self.live_mut()?;
        py.detach(|| r.apply_bytes(data)).map_err(replica_err)
    }

    /// `fdatasync`s the log: every write so far survives power loss.
    fn sync(&mut self, py: Python<'_>) -> PyResult<()> {
        let r = self.live_mut()?;
        py.detach(|| r.sync()).map_err(replica_err)
    }

    /// Folds the log into a new snapshot.
    fn fold(&mut self, py: Python<'_>) -> PyResult<()> {
        let r = self.live_mut()?;
        py.detach(|| r.fold()).map_err(replica_err)
    }

    /// Syncs and closes; a second close does nothing.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        match self.inner.take() {
            Some(r) => py.detach(|| r.close()).map_err(replica_err),
            None => Ok(()),
        }
    }
}
