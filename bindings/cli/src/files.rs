//! State files: reading (every byte checked), merging, diffing, inspecting, and writing
//! atomically (temporary file, fsync, rename), so a reader never sees half a file.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use pluriverse_any::{AnyError, AnyState, Diff};

/// The replica the command's handles write as (it never writes; the name is not part of
/// any state).
const HANDLE: &str = "pluriverse-cli";

/// Why a file operation failed.
#[derive(Debug)]
pub enum FileError {
    /// Reading or writing `path` failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// `path` does not hold a valid state.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: AnyError,
    },
    /// Two files hold states of different kinds or types.
    Mismatch {
        /// The first file.
        left: PathBuf,
        /// The other.
        right: PathBuf,
        /// The types.
        error: AnyError,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{}: {error}", path.display()),
            Self::Invalid { path, error } => {
                write!(
                    f,
                    "{}: not a valid pluriverse state: {error}",
                    path.display()
                )
            }
            Self::Mismatch { left, right, error } => write!(
                f,
                "{} and {} cannot be merged: {error}",
                left.display(),
                right.display()
            ),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads and fully validates the state in `path`.
///
/// # Errors
/// [`FileError::Io`] when the file cannot be read, [`FileError::Invalid`] when its bytes
/// are not a valid state.
pub fn read_state(path: &Path) -> Result<AnyState, FileError> {
    let bytes = fs::read(path).map_err(|error| FileError::Io {
        path: path.into(),
        error,
    })?;
    AnyState::from_bytes(&bytes, HANDLE).map_err(|error| FileError::Invalid {
        path: path.into(),
        error,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// rename over `path`, fsync of the directory. On error the temporary file is removed and
/// `path` is untouched.
///
/// # Errors
/// [`FileError::Io`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let io = |error| FileError::Io {
        path: path.into(),
        error,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // make the rename itself durable
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Joins the states in `inputs` (at least one) and returns the result; nothing is written.
///
/// # Errors
/// The first unreadable or invalid file, or two files of different types.
pub fn merge(inputs: &[PathBuf]) -> Result<AnyState, FileError> {
    let (first, rest) = inputs.split_first().ok_or_else(|| FileError::Io {
        path: PathBuf::new(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no input files"),
    })?;
    let mut acc = read_state(first)?;
    for p in rest {
        let s = read_state(p)?;
        acc.join(&s).map_err(|error| FileError::Mismatch {
            left: first.clone(),
            right: p.clone(),
            error,
        })?;
    }
    Ok(acc)
}

/// Where the states in `a` and `b` differ, by `2^bits` bucket digests.
///
/// # Errors
/// As [`merge`].
pub fn diff(a: &Path, b: &Path, bits: u32) -> Result<Diff, FileError> {
    let (sa, sb) = (read_state(a)?, read_state(b)?);
    pluriverse_any::diff(&sa, &sb, bits).map_err(|error| FileError::Mismatch {
        left: a.into(),
        right: b.into(),
        error,
    })
}
