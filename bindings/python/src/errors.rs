//! Rust errors as the `pluriverse.Error` subclasses defined in `pluriverse/_errors.py`.

use pyo3::PyErr;

pyo3::import_exception!(pluriverse._errors, Error);
pyo3::import_exception!(pluriverse._errors, DecodeError);
pyo3::import_exception!(pluriverse._errors, KindError);
pyo3::import_exception!(pluriverse._errors, CounterOverflowError);
pyo3::import_exception!(pluriverse._errors, ShapeError);

/// A core error as the Python exception that says what kind of problem it is.
pub fn core_err(e: pluriverse::Error) -> PyErr {
    use pluriverse::Error as E;
    let msg = e.to_string();
    match e {
        E::Decode(_) | E::UnknownReplica { .. } => DecodeError::new_err(msg),
        E::CounterOverflow { .. } | E::ValueOverflow { .. } => CounterOverflowError::new_err(msg),
        E::LengthMismatch { .. } | E::Kernel(_) => ShapeError::new_err(msg),
        E::ArrowColumn { .. } => KindError::new_err(msg),
        _ => Error::new_err(msg),
    }
}

/// A kernel error (always about the shapes of the arguments).
pub fn kernel_err(e: pluriverse::kernels::KernelError) -> PyErr {
    ShapeError::new_err(e.to_string())
}
