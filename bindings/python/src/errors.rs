//! Rust errors as the `pluriverse.Error` subclasses defined in `pluriverse/_errors.py`.

use pyo3::prelude::*;

pyo3::import_exception!(pluriverse._errors, Error);
pyo3::import_exception!(pluriverse._errors, DecodeError);
pyo3::import_exception!(pluriverse._errors, KindError);
pyo3::import_exception!(pluriverse._errors, CounterOverflowError);
pyo3::import_exception!(pluriverse._errors, ShapeError);
pyo3::import_exception!(pluriverse._errors, TimestampError);
pyo3::import_exception!(pluriverse._errors, EquivocationError);

/// A core error as the Python exception that says what kind of problem it is.
pub fn core_err(e: pluriverse::Error) -> PyErr {
    use pluriverse::Error as E;
    let msg = e.to_string();
    match e {
        E::Decode(_) => DecodeError::new_err(msg),
        E::CounterOverflow { .. } | E::ValueOverflow { .. } => CounterOverflowError::new_err(msg),
        E::LengthMismatch { .. } | E::Kernel(_) => ShapeError::new_err(msg),
        E::ArrowColumn { .. } => KindError::new_err(msg),
        E::Equivocation { .. } => EquivocationError::new_err(msg),
        E::ForeignClaim { .. } => ForeignClaimError::new_err(msg),
        _ => Error::new_err(msg),
    }
}

/// A kernel error (always about the shapes of the arguments).
pub fn kernel_err(e: pluriverse::kernels::KernelError) -> PyErr {
    ShapeError::new_err(e.to_string())
}

pyo3::import_exception!(pluriverse._errors, ReadOnlyError);
pyo3::import_exception!(pluriverse._errors, ReplicaError);
pyo3::import_exception!(pluriverse._errors, ReplicaIOError);
pyo3::import_exception!(pluriverse._errors, ReplicaLockedError);
pyo3::import_exception!(pluriverse._errors, ReplicaExistsError);
pyo3::import_exception!(pluriverse._errors, NotAReplicaError);
pyo3::import_exception!(pluriverse._errors, CorruptError);
pyo3::import_exception!(pluriverse._errors, ForeignClaimError);
pyo3::import_exception!(pluriverse._errors, PoisonedError);
pyo3::import_exception!(pluriverse._errors, ReplicaClosedError);
pyo3::import_exception!(pluriverse._errors, SyncMessageError);
pyo3::import_exception!(pluriverse._errors, ConfigError);

/// A replica or sync error as the Python exception that says what kind of problem it is;
/// the path, file and offset it names become attributes (`path`, `file`, `offset`).
pub fn replica_err(e: pluriverse_replica::ReplicaError) -> PyErr {
    use pluriverse_replica::ReplicaError as E;
    let msg = e.to_string();
    let with = |err: PyErr, attrs: &[(&str, Attr)]| -> PyErr {
        Python::attach(|py| {
            let v = err.value(py);
            for (name, a) in attrs {
                let r = match a {
                    Attr::Path(p) => v.setattr(*name, p.as_path()),
                    Attr::U64(n) => v.setattr(*name, *n),
                };
                if let Err(set) = r {
                    return set;
                }
            }
            err
        })
    };
    match e {
        E::Io { path, source, .. } => {
            let err = match source.raw_os_error() {
                Some(errno) => ReplicaIOError::new_err((errno, msg)),
                None => ReplicaIOError::new_err(msg),
            };
            with(
                err,
                &[
                    ("filename", Attr::Path(path.clone())),
                    ("path", Attr::Path(path)),
                ],
            )
        }
        E::Locked { dir } => with(
            ReplicaLockedError::new_err(msg),
            &[("path", Attr::Path(dir))],
        ),
        E::AlreadyExists { dir } => with(
            ReplicaExistsError::new_err(msg),
            &[("path", Attr::Path(dir))],
        ),
        E::NotAReplica { dir, .. } => {
            with(NotAReplicaError::new_err(msg), &[("path", Attr::Path(dir))])
        }
        E::Corrupt { file, offset, .. } => with(
            CorruptError::new_err(msg),
            &[("file", Attr::Path(file)), ("offset", Attr::U64(offset))],
        ),
        E::State(e) => crate::scalar::any_err(e),
        E::ForeignClaim { .. } => ForeignClaimError::new_err(msg),
        E::Poisoned => PoisonedError::new_err(msg),
        E::Message(_) => SyncMessageError::new_err(msg),
        E::Config(_) => ConfigError::new_err(msg),
        _ => ReplicaError::new_err(msg),
    }
}

/// An attribute set on a raised exception.
enum Attr {
    Path(std::path::PathBuf),
    U64(u64),
}
