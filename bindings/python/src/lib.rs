//! The private native module of the `pluriverse` Python package (`pluriverse._native`).
//!
//! Conversion only: every type here turns Python objects into the Rust types of `pluriverse`
//! and `pluriverse-any` and back; the merge logic lives in those crates. The public API, its
//! docstrings and its type stubs are the pure-Python package in `python/pluriverse/`.

use pyo3::prelude::*;

mod arrow;
mod buffer;
mod context;
mod errors;
mod lock;
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
    m.add("EQUAL", pluriverse::kernels::vv::EQUAL)?;
    m.add("BEFORE", pluriverse::kernels::vv::BEFORE)?;
    m.add("AFTER", pluriverse::kernels::vv::AFTER)?;
    m.add("CONCURRENT", pluriverse::kernels::vv::CONCURRENT)?;
    Ok(())
}
