//! `pluriverse.VersionVector`: dicts of replica -> counter through `pluriverse::VersionVector`.

use pluriverse::{ReplicaId, VersionVector};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::KindError;

/// A replica name from a Python `str` or `bytes`.
pub fn replica_from_py(obj: &Bound<'_, PyAny>) -> PyResult<ReplicaId> {
    if let Ok(s) = obj.cast::<PyString>() {
        Ok(ReplicaId::from(
            crate::scalar::utf8(s, "a replica name")?.as_ref(),
        ))
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        Ok(ReplicaId::from(b.as_bytes()))
    } else {
        Err(KindError::new_err(format!(
            "a replica name must be str or bytes, not {}",
            obj.get_type().name()?
        )))
    }
}

/// A replica name as Python sees it: `str` when it is UTF-8, `bytes` otherwise.
pub fn replica_to_py<'py>(py: Python<'py>, r: &ReplicaId) -> Bound<'py, PyAny> {
    match r.as_str() {
        Some(s) => PyString::new(py, s).into_any(),
        None => PyBytes::new(py, r.as_bytes()).into_any(),
    }
}

/// A Rust version vector from a mapping of replica name -> counter.
pub fn vv_from_py(obj: &Bound<'_, PyAny>) -> PyResult<VersionVector> {
    let dict = obj.cast::<PyDict>().map_err(|_| {
        KindError::new_err("a version vector must be a dict of replica name -> counter")
    })?;
    let mut vv = VersionVector::new();
    for (k, v) in dict.iter() {
        let counter: u64 = v.extract().map_err(|_| {
            KindError::new_err(format!(
                "version vector counters must be ints in 0..2**64, got {} for replica {}",
                v.repr().map(|r| r.to_string()).unwrap_or_default(),
                k.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        vv.observe(replica_from_py(&k)?, counter);
    }
    Ok(vv)
}

/// A Rust version vector as a plain dict (zero counters left out).
pub fn vv_to_py<'py>(py: Python<'py>, vv: &VersionVector) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (r, c) in vv.iter() {
        d.set_item(replica_to_py(py, r), c)?;
    }
    Ok(d)
}

/// The join (pointwise maximum) of two version vectors, as a new dict.
#[pyfunction]
pub fn vv_merge<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut x = vv_from_py(a)?;
    x.merge(&vv_from_py(b)?);
    vv_to_py(py, &x)
}

/// How `a` relates to `b`: `"equal"`, `"before"`, `"after"` or `"concurrent"`.
#[pyfunction]
pub fn vv_compare(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(vv_from_py(a)?.compare(&vv_from_py(b)?).name())
}
