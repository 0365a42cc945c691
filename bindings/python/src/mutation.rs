//! The mutators with their Python arguments converted, once for both handles that write:
//! `State` runs a [`Mutation`] on its own `AnyState`, `Replica` through
//! `pluriverse_replica::Replica::write` (which logs it).

use pluriverse_any::{AnyState, Scalar, StateType};
use pyo3::prelude::*;

use crate::arrow::import_array;
use crate::errors::KindError;
use crate::scalar::{key_from_py, timestamp_from_py, u64_from_py, value_from_py};

/// One mutator call, its arguments converted: run it on a state to get its delta.
pub(crate) type Mutation =
    Box<dyn FnOnce(&mut AnyState) -> pluriverse_any::Result<AnyState> + Send>;

/// Converts mutator arguments for a state of type `.0` (keys and values of its types;
/// `KindError` for a value given to a kind without values).
pub(crate) struct Args(pub(crate) StateType);

type Obj<'a, 'py> = &'a Bound<'py, PyAny>;

impl Args {
    /// A key (or element) of the state's key type; `what` names it in errors.
    pub(crate) fn key(&self, obj: Obj<'_, '_>, what: &str) -> PyResult<Scalar> {
        key_from_py(obj, self.0.key, what)
    }

    /// A value of the state's value type.
    pub(crate) fn value(&self, obj: Obj<'_, '_>) -> PyResult<Scalar> {
        match self.0.value {
            Some(t) => value_from_py(obj, t),
            None => Err(KindError::new_err(format!("{} has no values", self.0.kind))),
        }
    }

    /// MVMap: `set(key, value)`.
    pub(crate) fn set(&self, key: Obj<'_, '_>, value: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, v) = (self.key(key, "key")?, self.value(value)?);
        Ok(Box::new(move |s| s.set(k, v)))
    }

    /// MVMap, AWSet: `remove(key)`.
    pub(crate) fn remove(&self, key: Obj<'_, '_>) -> PyResult<Mutation> {
        let k = self.key(key, "key")?;
        Ok(Box::new(move |s| s.remove(k)))
    }

    /// AWSet: `add(elem)`.
    pub(crate) fn add(&self, elem: Obj<'_, '_>) -> PyResult<Mutation> {
        let e = self.key(elem, "element")?;
        Ok(Box::new(move |s| s.add(e)))
    }

    /// PNCounterMap: `increment(key, n)`.
    pub(crate) fn increment(&self, key: Obj<'_, '_>, n: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, n) = (self.key(key, "key")?, u64_from_py(n, "n")?);
        Ok(Box::new(move |s| s.increment(k, n)))
    }

    /// PNCounterMap: `decrement(key, n)`.
    pub(crate) fn decrement(&self, key: Obj<'_, '_>, n: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, n) = (self.key(key, "key")?, u64_from_py(n, "n")?);
        Ok(Box::new(move |s| s.decrement(k, n)))
    }

    /// LWWMap: `set_at(key, value, timestamp)`.
    pub(crate) fn set_at(
        &self,
        key: Obj<'_, '_>,
        value: Obj<'_, '_>,
        timestamp: Obj<'_, '_>,
    ) -> PyResult<Mutation> {
        let (k, v) = (self.key(key, "key")?, self.value(value)?);
        let ts = timestamp_from_py(timestamp)?;
        Ok(Box::new(move |s| s.set_at(k, v, ts)))
    }

    /// LWWMap: `remove_at(key, timestamp)`.
    pub(crate) fn remove_at(&self, key: Obj<'_, '_>, timestamp: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, ts) = (self.key(key, "key")?, timestamp_from_py(timestamp)?);
        Ok(Box::new(move |s| s.remove_at(k, ts)))
    }

    /// MVMap: `set_many(keys, values)` (Arrow arrays).
    pub(crate) fn set_many(keys: Obj<'_, '_>, values: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, v) = (import_array(keys, "keys")?, import_array(values, "values")?);
        Ok(Box::new(move |s| s.set_many(k.as_ref(), v.as_ref())))
    }

    /// MVMap, AWSet: `remove_many(keys)`.
    pub(crate) fn remove_many(keys: Obj<'_, '_>) -> PyResult<Mutation> {
        let k = import_array(keys, "keys")?;
        Ok(Box::new(move |s| s.remove_many(k.as_ref())))
    }

    /// AWSet: `add_many(elems)`.
    pub(crate) fn add_many(elems: Obj<'_, '_>) -> PyResult<Mutation> {
        let e = import_array(elems, "elements")?;
        Ok(Box::new(move |s| s.add_many(e.as_ref())))
    }

    /// PNCounterMap: `increment_many(keys, amounts)` (amounts uint64).
    pub(crate) fn increment_many(keys: Obj<'_, '_>, amounts: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, n) = (
            import_array(keys, "keys")?,
            import_array(amounts, "amounts")?,
        );
        Ok(Box::new(move |s| s.increment_many(k.as_ref(), n.as_ref())))
    }

    /// PNCounterMap: `decrement_many(keys, amounts)` (amounts uint64).
    pub(crate) fn decrement_many(keys: Obj<'_, '_>, amounts: Obj<'_, '_>) -> PyResult<Mutation> {
        let (k, n) = (
            import_array(keys, "keys")?,
            import_array(amounts, "amounts")?,
        );
        Ok(Box::new(move |s| s.decrement_many(k.as_ref(), n.as_ref())))
    }

    /// LWWMap: `set_many_at(keys, values, timestamps)` (timestamps uint64).
    pub(crate) fn set_many_at(
        keys: Obj<'_, '_>,
        values: Obj<'_, '_>,
        timestamps: Obj<'_, '_>,
    ) -> PyResult<Mutation> {
        let k = import_array(keys, "keys")?;
        let v = import_array(values, "values")?;
        let t = import_array(timestamps, "timestamps")?;
        Ok(Box::new(move |s| {
            s.set_many_at(k.as_ref(), v.as_ref(), t.as_ref())
        }))
    }

    /// LWWMap: `remove_many_at(keys, timestamps)` (timestamps uint64).
    pub(crate) fn remove_many_at(keys: Obj<'_, '_>, timestamps: Obj<'_, '_>) -> PyResult<Mutation> {
        let k = import_array(keys, "keys")?;
        let t = import_array(timestamps, "timestamps")?;
        Ok(Box::new(move |s| s.remove_many_at(k.as_ref(), t.as_ref())))
    }
}
