//! pluriverse states whose kind and key/value types are chosen at run time.
//!
//! The core crate (`pluriverse`) is generic: `MVMap<String, i64>` is a different type from
//! `MVMap<u64, f64>`. The faces that learn the types only at run time — the Python module,
//! the C library, the `pluriverse` command reading a state file — use [`AnyState`], one
//! handle over every supported combination. It holds no merge logic: each call converts
//! its arguments and calls the typed code in `pluriverse`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`types`] | [`Kind`], [`KeyType`], [`ValueType`], [`StateType`] and [`Scalar`] values |
//! | [`state`] | [`AnyState`]: mutators (single and Arrow batch), joins, reads, bytes, digests; read-only states ([`AnyState::from_bytes_read_only`]) for the faces that only read |
//! | [`diff`](mod@diff) | [`diff()`]: where two states differ (the keys of [`pluriverse::CausalStore::diff`] as [`Scalar`]s) |
//!
//! Supported types: keys `utf8`, `binary`, `int64`, `uint64`; values (for `MVMap` and
//! `LWWMap`) `utf8`, `binary`, `int64`, `float64`, `bool`.
//!
//! # Example
//! ```
//! use pluriverse_any::{AnyState, Kind, KeyType, Scalar, StateType, ValueType};
//! let t = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64)).unwrap();
//! let mut paris = AnyState::new(t, "paris");
//! let mut tokyo = AnyState::new(t, "tokyo");
//! let d = paris.set(Scalar::Utf8("k".into()), Scalar::Int64(21)).unwrap();
//! tokyo.join_bytes(&d.to_bytes().unwrap()).unwrap();
//! assert_eq!(tokyo.get(&Scalar::Utf8("k".into())).unwrap(), vec![Scalar::Int64(21)]);
//! // a state file names its own kind and types
//! let back = AnyState::from_bytes(&tokyo.to_bytes().unwrap(), "lagos").unwrap();
//! assert_eq!(back.state_type(), t);
//! assert_eq!(back.digest(), paris.digest());
//! ```

use std::fmt;

pub mod diff;
pub mod state;
pub mod types;

pub use diff::{diff, Diff};
pub use state::{AnyBatch, AnyState};
pub use types::{KeyType, Kind, Scalar, StateType, ValueType};

/// Why a call on an [`AnyState`] failed. The state is unchanged whenever one is returned.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyError {
    /// The typed layer refused: bad bytes ([`pluriverse::Error::Decode`]), counter
    /// overflow, a bad Arrow column, ...
    Core(pluriverse::Error),
    /// The operation does not exist for this kind (e.g. `add` on an `MVMap`).
    WrongKind {
        /// The operation.
        op: &'static str,
        /// The state's kind.
        kind: Kind,
    },
    /// Two states (or a state and bytes) of different kinds or types.
    TypeMismatch {
        /// This state's type.
        expected: StateType,
        /// The other's.
        found: StateType,
    },
    /// A key or value of the wrong type.
    ScalarType {
        /// `key`, `value`, ...
        what: &'static str,
        /// The type the state holds.
        expected: String,
        /// What was given.
        found: String,
    },
    /// An unknown kind or type name, or a value type given where none belongs.
    UnknownType(String),
    /// A mutator called on a state opened only to be read
    /// ([`AnyState::from_bytes_read_only`]): it has no writer.
    ReadOnly {
        /// The mutator.
        op: &'static str,
    },
}

impl fmt::Display for AnyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(e) => write!(f, "{e}"),
            Self::WrongKind { op, kind } => write!(f, "{kind} has no `{op}` operation"),
            Self::TypeMismatch { expected, found } => {
                write!(f, "expected a {expected}, found a {found}")
            }
            Self::ScalarType {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected {expected}, found {found}"),
            Self::UnknownType(m) => f.write_str(m),
            Self::ReadOnly { op } => write!(
                f,
                "`{op}` on a read-only state: it has no writer (open it with a replica name to write)"
            ),
        }
    }
}

impl std::error::Error for AnyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Core(e) => Some(e),
            _ => None,
        }
    }
}

impl From<pluriverse::Error> for AnyError {
    fn from(e: pluriverse::Error) -> Self {
        Self::Core(e)
    }
}

impl From<pluriverse::wire::DecodeError> for AnyError {
    fn from(e: pluriverse::wire::DecodeError) -> Self {
        Self::Core(pluriverse::Error::Decode(e))
    }
}

/// The result type of this crate.
pub type Result<T, E = AnyError> = std::result::Result<T, E>;
