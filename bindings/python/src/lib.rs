//! The private native module of the `pluriverse` Python package (`pluriverse._native`).
//!
//! Conversion only: every type here turns Python objects into the Rust types of `pluriverse`
//! and `pluriverse-any` and back; the merge logic lives in those crates. The public API, its
//! docstrings and its type stubs are the pure-Python package in `python/pluriverse/`.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

mod arrow;
mod buffer;
mod context;
mod errors;
mod lock;
mod mutation;
mod replica;
mod scalar;
mod state;
mod sync;
mod version_vector;
mod view;
mod vv;

/// The module object: `pluriverse._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<state::State>()?;
    m.add_class::<context::Context>()?;
    m.add_class::<replica::Replica>()?;
    m.add_class::<sync::Sync>()?;
    m.add_function(wrap_pyfunction!(version_vector::vv_merge, m)?)?;
    m.add_function(wrap_pyfunction!(version_vector::vv_compare, m)?)?;
    m.add_function(wrap_pyfunction!(vv::vv_batch_merge, m)?)?;
    m.add_function(wrap_pyfunction!(vv::vv_batch_compare, m)?)?;
    // the record kinds' names, from core (the one list the Python classes are checked
    // against), and those whose states carry values
    let py = m.py();
    m.add(
        "KIND_NAMES",
        PyTuple::new(py, pluriverse::kinds::KIND_NAMES)?,
    )?;
    let with_values = pluriverse_any::Kind::ALL
        .into_iter()
        .filter(|k| k.has_values());
    m.add(
        "KINDS_WITH_VALUES",
        PyTuple::new(py, with_values.map(|k| k.name()).collect::<Vec<_>>())?,
    )?;
    m.add_function(wrap_pyfunction!(state::kind_name, m)?)?;
    m.add("EQUAL", pluriverse::kernels::vv::EQUAL)?;
    m.add("BEFORE", pluriverse::kernels::vv::BEFORE)?;
    m.add("AFTER", pluriverse::kernels::vv::AFTER)?;
    m.add("CONCURRENT", pluriverse::kernels::vv::CONCURRENT)?;
    Ok(())
}
