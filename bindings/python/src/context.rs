//! `pluriverse.CausalContext`: the set of events a state has seen, as a handle on
//! `pluriverse::CausalContext` with its bytes form.

use pluriverse::CausalContext;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::core_err;
use crate::version_vector::vv_to_py;

/// Every event (dot) a state has seen: a version vector plus the dots beyond it.
#[pyclass(name = "CausalContext", module = "pluriverse._native", frozen, eq)]
#[derive(PartialEq)]
pub struct Context {
    /// The Rust context.
    pub inner: CausalContext,
}

#[pymethods]
impl Context {
    /// The empty context.
    #[new]
    fn new() -> Self {
        Self {
            inner: CausalContext::new(),
        }
    }

    /// The context's canonical bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Decodes `to_bytes()`; `DecodeError` for anything else.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = crate::scalar::bytes_arg(data, "data")?;
        let data: &[u8] = &data;
        let inner = py
            .detach(|| CausalContext::from_bytes(data))
            .map_err(core_err)?;
        Ok(Self { inner })
    }

    /// The contiguous prefix of each replica's events, as a dict.
    fn version_vector<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        vv_to_py(py, &self.inner.version_vector())
    }

    /// Whether the context holds the dot `(replica, counter)`.
    fn contains(&self, replica: &Bound<'_, PyAny>, counter: u64) -> PyResult<bool> {
        let r = crate::version_vector::replica_from_py(replica)?;
        Ok(self.inner.contains(&pluriverse::Dot::new(r, counter)))
    }
}
