//! State files: reading (bounded, every byte checked), merging, diffing, and writing
//! atomically (temporary file, fsync, rename), so a reader never sees half a file.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use pluriverse::wire::DecodeError;
use pluriverse_any::{AnyError, AnyState, Diff, StateType};

use crate::show::{a_or_an, path as shown};

/// The magic that opens an Arrow IPC *file* (Feather v2); a stream opens otherwise.
const ARROW_FILE_MAGIC: &[u8] = b"ARROW1";

/// The most bytes a state file may hold unless told otherwise: the decoder's own limit.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 32;

/// Where a state comes from: a file, or standard input (written `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

impl Input {
    /// `-` is standard input; anything else a path.
    ///
    /// # Example
    /// ```
    /// use pluriverse_cli::files::Input;
    /// assert_eq!(Input::parse("-"), Input::Stdin);
    /// assert_eq!(Input::parse("a.arrow"), Input::Path("a.arrow".into()));
    /// ```
    pub fn parse(s: &str) -> Self {
        if s == "-" {
            Self::Stdin
        } else {
            Self::Path(s.into())
        }
    }

    fn name(&self) -> PathBuf {
        match self {
            Self::Path(p) => p.clone(),
            Self::Stdin => PathBuf::from("<stdin>"),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => f.write_str(&shown(p)),
            Self::Stdin => f.write_str("<stdin>"),
        }
    }
}

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
    /// `path` holds more than the limit (checked before reading it all).
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// `path` is an Arrow IPC file (Feather v2), not the IPC stream format states use.
    ArrowFile {
        /// The file.
        path: PathBuf,
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
            Self::Io { path, error } => write!(f, "{}: {error}", shown(path)),
            Self::TooLarge { path, limit } => write!(
                f,
                "{}: larger than {limit} bytes, the most a state may hold (see --max-bytes)",
                shown(path)
            ),
            Self::ArrowFile { path } => write!(
                f,
                "{}: this is an Arrow IPC file (Feather v2); pluriverse reads the IPC stream \
                 format (pyarrow: write it with pa.ipc.new_stream)",
                shown(path)
            ),
            Self::Invalid { path, error } => {
                write!(f, "{}: ", shown(path))?;
                match error {
                    AnyError::Core(pluriverse::Error::Decode(DecodeError::Arrow(m))) => write!(
                        f,
                        "the file is truncated or corrupt, or not a pluriverse state \
                         (the Arrow reader says: {m})"
                    ),
                    AnyError::Core(pluriverse::Error::Decode(
                        e @ (DecodeError::Truncated { .. } | DecodeError::Checksum { .. }),
                    )) => write!(f, "the file is truncated or corrupt ({e})"),
                    AnyError::Core(pluriverse::Error::Decode(DecodeError::Empty)) => {
                        f.write_str("empty: not a pluriverse state (no Arrow schema)")
                    }
                    e => write!(f, "not a valid pluriverse state: {e}"),
                }
            }
            Self::Mismatch { left, right, error } => {
                write!(f, "{} and {} cannot be merged: ", shown(left), shown(right))?;
                match error {
                    AnyError::TypeMismatch { expected, found } => write!(
                        f,
                        "{} holds {}, {} holds {}",
                        shown(left),
                        with_article(expected),
                        shown(right),
                        with_article(found)
                    ),
                    e => write!(f, "{e}"),
                }
            }
        }
    }
}

fn with_article(t: &StateType) -> String {
    let t = t.to_string();
    format!("{} {t}", a_or_an(&t))
}

impl std::error::Error for FileError {}

/// Reads at most `max_bytes` from `input`: the size is checked first where it is known
/// (a regular file), and the read itself is bounded (a device or a pipe never ends).
///
/// # Errors
/// [`FileError::Io`], or [`FileError::TooLarge`] past `max_bytes`.
pub fn read_bounded(input: &Input, max_bytes: u64) -> Result<Vec<u8>, FileError> {
    let name = input.name();
    let io = |error| FileError::Io {
        path: name.clone(),
        error,
    };
    let too_large = || FileError::TooLarge {
        path: name.clone(),
        limit: max_bytes,
    };
    let mut buf = Vec::new();
    match input {
        Input::Path(p) => {
            let f = fs::File::open(p).map_err(io)?;
            let meta = f.metadata().map_err(io)?;
            if meta.is_dir() {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "is a directory",
                )));
            }
            if meta.is_file() && meta.len() > max_bytes {
                return Err(too_large());
            }
            if meta.is_file() {
                buf.reserve_exact(meta.len() as usize);
            }
            f.take(max_bytes.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(io)?;
        }
        Input::Stdin => {
            std::io::stdin()
                .lock()
                .take(max_bytes.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(io)?;
        }
    }
    if buf.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(buf)
}

/// Reads and fully validates the state in `input`, refusing more than `max_bytes`; the state
/// is read-only ([`AnyState::from_bytes_read_only`]): the command never writes to one.
///
/// # Errors
/// [`FileError::Io`] when it cannot be read, [`FileError::TooLarge`] past `max_bytes`,
/// [`FileError::ArrowFile`] for an Arrow IPC file, [`FileError::Invalid`] when its bytes
/// are not a valid state.
pub fn read_state(input: &Input, max_bytes: u64) -> Result<AnyState, FileError> {
    decode_state(input, &read_bounded(input, max_bytes)?)
}

/// Validates and decodes `bytes`, read from `input` (named in errors).
///
/// # Errors
/// [`FileError::ArrowFile`] for an Arrow IPC file, [`FileError::Invalid`] when the bytes
/// are not a valid state.
pub fn decode_state(input: &Input, bytes: &[u8]) -> Result<AnyState, FileError> {
    if bytes.starts_with(ARROW_FILE_MAGIC) {
        return Err(FileError::ArrowFile { path: input.name() });
    }
    // the command only reads, joins and writes bytes: no writer, no replica name to invent
    AnyState::from_bytes_read_only(bytes).map_err(|error| FileError::Invalid {
        path: input.name(),
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
pub fn merge(inputs: &[Input], max_bytes: u64) -> Result<AnyState, FileError> {
    let (first, rest) = inputs.split_first().ok_or_else(|| FileError::Io {
        path: PathBuf::new(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no input files"),
    })?;
    let mut acc = read_state(first, max_bytes)?;
    for p in rest {
        let s = read_state(p, max_bytes)?;
        acc.join(&s).map_err(|error| FileError::Mismatch {
            left: first.name(),
            right: p.name(),
            error,
        })?;
    }
    Ok(acc)
}

/// Where the states in `a` and `b` differ, by `2^bits` bucket digests.
///
/// # Errors
/// As [`merge`].
pub fn diff(a: &Input, b: &Input, bits: u32, max_bytes: u64) -> Result<Diff, FileError> {
    let (sa, sb) = (read_state(a, max_bytes)?, read_state(b, max_bytes)?);
    pluriverse_any::diff(&sa, &sb, bits).map_err(|error| FileError::Mismatch {
        left: a.name(),
        right: b.name(),
        error,
    })
}
