//! Arrow data across the boundary by the Arrow PyCapsule interface (the C data and C stream
//! interfaces): arrays in from `__arrow_c_array__`, arrays and record-batch streams out as
//! capsules that pyarrow (or polars, DuckDB, ...) takes over without copying.

use std::ffi::CStr;

use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{make_array, Array, ArrayRef, RecordBatch, RecordBatchIterator};
use arrow_schema::{Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::errors::{Error, KindError};

const SCHEMA: &CStr = c"arrow_schema";
const ARRAY: &CStr = c"arrow_array";
const STREAM: &CStr = c"arrow_array_stream";

/// Imports an object that implements `__arrow_c_array__` (a pyarrow `Array`, ...) without
/// copying its buffers; `what` names the argument in errors.
pub fn import_array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<ArrayRef> {
    if !obj.hasattr("__arrow_c_array__")? {
        return Err(KindError::new_err(format!(
            "`{what}` must be an Arrow array (with __arrow_c_array__), not {}",
            obj.get_type().name()?
        )));
    }
    let pair = obj.call_method0("__arrow_c_array__")?;
    let pair = pair.cast::<PyTuple>().map_err(|_| {
        KindError::new_err(format!(
            "`{what}`.__arrow_c_array__() did not return a tuple"
        ))
    })?;
    if pair.len() != 2 {
        return Err(KindError::new_err(format!(
            "`{what}`.__arrow_c_array__() must return (schema, array) capsules"
        )));
    }
    let schema_cap = pair.get_item(0)?;
    let array_cap = pair.get_item(1)?;
    let schema_cap = schema_cap.cast::<PyCapsule>()?;
    let array_cap = array_cap.cast::<PyCapsule>()?;
    let schema_ptr = schema_cap.pointer_checked(Some(SCHEMA))?;
    let array_ptr = array_cap.pointer_checked(Some(ARRAY))?;
    // SAFETY: the capsule named "arrow_array" holds a valid, aligned `struct ArrowArray`
    // (the PyCapsule interface's contract); `from_raw` moves it out and leaves a released
    // (empty) struct behind, so the capsule's destructor does not release it again.
    let array = unsafe { FFI_ArrowArray::from_raw(array_ptr.as_ptr().cast()) };
    // SAFETY: the capsule named "arrow_schema" holds a valid `struct ArrowSchema` that lives
    // as long as `schema_cap`, which outlives this borrow.
    let schema = unsafe { &*(schema_ptr.as_ptr() as *const FFI_ArrowSchema) };
    // SAFETY: `array` and `schema` come from one `__arrow_c_array__` call, so they describe
    // the same array per the C data interface; `validate_full` below checks the buffers.
    let data = unsafe { from_ffi(array, schema) }
        .map_err(|e| KindError::new_err(format!("`{what}`: cannot import the Arrow array: {e}")))?;
    data.validate_full()
        .map_err(|e| KindError::new_err(format!("`{what}`: invalid Arrow array: {e}")))?;
    Ok(make_array(data))
}

/// The `(schema, array)` capsule pair of `__arrow_c_array__` for `array`.
pub fn export_array<'py>(py: Python<'py>, array: &dyn Array) -> PyResult<Bound<'py, PyTuple>> {
    let (ffi_array, ffi_schema) =
        to_ffi(&array.to_data()).map_err(|e| Error::new_err(format!("Arrow export: {e}")))?;
    let schema = PyCapsule::new_with_value(py, ffi_schema, SCHEMA)?;
    let array = PyCapsule::new_with_value(py, ffi_array, ARRAY)?;
    PyTuple::new(py, [schema.into_any(), array.into_any()])
}

/// An `arrow_array_stream` capsule (for `__arrow_c_stream__`) over record batches.
pub fn export_stream(
    py: Python<'_>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'_, PyCapsule>> {
    let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    PyCapsule::new_with_value(py, stream, STREAM)
}

/// The Arrow schema of an `arrow_schema` capsule (a `requested_schema`), or of an object
/// with `__arrow_c_schema__` (a `pyarrow.Schema`).
pub fn import_schema(obj: &Bound<'_, PyAny>) -> PyResult<Schema> {
    let cap = if obj.hasattr("__arrow_c_schema__")? {
        obj.call_method0("__arrow_c_schema__")?
    } else {
        obj.clone()
    };
    let cap = cap.cast::<PyCapsule>().map_err(|_| {
        KindError::new_err("requested_schema must be an arrow_schema capsule or a schema")
    })?;
    let ptr = cap.pointer_checked(Some(SCHEMA))?;
    // SAFETY: the capsule named "arrow_schema" holds a valid `struct ArrowSchema` that lives
    // as long as `cap`, which outlives this borrow; it is only read (converted to a Schema).
    let ffi = unsafe { &*(ptr.as_ptr() as *const FFI_ArrowSchema) };
    Schema::try_from(ffi)
        .map_err(|e| KindError::new_err(format!("requested_schema: cannot import it: {e}")))
}
