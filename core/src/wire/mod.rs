//! States and deltas as Arrow: a `RecordBatch` view and Arrow IPC stream bytes.
//!
//! # Format (version 1)
//! One Arrow IPC stream; any Arrow implementation reads it as it is. Columns, in order:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `key` | `UInt64`, `Int64`, `Utf8` or `Binary` | the key (the element, for `AWSet`) |
//! | `replica` | `Dictionary(UInt32, Binary)` | the replica that wrote the entry; the dictionary is the state's replica table, names sorted by bytes |
//! | `counter` | `UInt64` | with `replica`, the entry's dot (`counter >= 1`) |
//! | `value` | the value type | `MVMap` only |
//! | `increments`, `decrements` | `UInt64` | `PNCounterMap`: the replica's running totals for the key |
//! | `timestamp`, `value` | `UInt64`, value type (nullable) | `LWWMap`: a null value is a tombstone |
//!
//! Schema metadata: `pluriverse.kind` (`MVMap`, `AWSet`, `PNCounterMap`, `LWWMap`),
//! `pluriverse.format` (`1`), `pluriverse.context`: the causal context, base64 of, per
//! dictionary name in order, `prefix: u64`, `runs: u64` and `runs` pairs
//! `(first: u64, len: u64)` of the dot cloud (little-endian; see `wire::context`).
//!
//! Rows are sorted by `(xxh3_64(key bytes), key, replica name, counter)`; the dictionary
//! holds exactly the replicas with at least one dot. Equal states therefore give identical
//! bytes, whatever order their replicas were interned in.
//!
//! Decoding checks everything and returns a [`DecodeError`] naming what was wrong: the
//! stream framing (through arrow-ipc, which bounds allocation by the input), the schema and
//! metadata, the context encoding, replica indices, zero counters, row order, duplicate dots,
//! and that every entry's dot is in the context.

mod base64;
mod codec;
mod columns;
mod context;

use std::fmt;

pub use codec::{
    decode_store, decode_store_with_limits, encode_store, read_schema, to_record_batches,
};
pub use columns::{items_from_arrow, ArrowItem, Cells};
pub(crate) use context::{decode as decode_context_dots, encode as encode_context_dots};

/// Format version written to `pluriverse.format`.
pub const FORMAT_VERSION: &str = "1";
/// Metadata key of the record kind.
pub const META_KIND: &str = "pluriverse.kind";
/// Metadata key of the format version.
pub const META_FORMAT: &str = "pluriverse.format";
/// Metadata key of the base64 causal context.
pub const META_CONTEXT: &str = "pluriverse.context";
/// Rows per record batch in the stream.
pub const ROWS_PER_BATCH: usize = 1 << 20;
/// The most dots a decoded context's clouds may hold together (the default of
/// [`Limits::max_cloud_dots`]).
pub const MAX_CLOUD_DOTS: u64 = 1 << 32;

/// Bounds on what a decoder accepts from bytes it did not write: states, deltas and
/// contexts from a peer or a file. Each is checked before the work it bounds is done
/// (sizes from the stream's framing, before any array is built), and a breach is a
/// [`DecodeError::Limit`]. Allocation while decoding stays within a small multiple of the
/// input's size.
///
/// # Example
/// ```
/// use pluriverse::wire::{DecodeError, Limits};
/// use pluriverse::{Error, MVMap};
/// let mut m: MVMap<u64, u64> = MVMap::new("a");
/// m.set_many(&[1, 2, 3], &[0, 0, 0]).unwrap();
/// let bytes = m.to_bytes().unwrap();
/// let strict = Limits { max_entries: 2, ..Limits::default() };
/// let err = pluriverse::CausalStore::<u64, u64>::from_bytes_with_limits(&bytes, &strict);
/// assert!(matches!(err, Err(Error::Decode(DecodeError::Limit { what: "entries", .. }))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in one message or file (default 4 GiB).
    pub max_bytes: usize,
    /// Most replicas in a state's table (default 2^20).
    pub max_replicas: usize,
    /// Most entries in one state or delta (default 2^32).
    pub max_entries: usize,
    /// Most dots in the dot clouds of a context, all replicas together (default 2^32).
    pub max_cloud_dots: u64,
    /// Deepest nesting of an Arrow field (default 0: the format's columns are flat; a nested
    /// type is refused before Arrow builds it).
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: usize::try_from(1u64 << 32).unwrap_or(usize::MAX),
            max_replicas: 1 << 20,
            max_entries: usize::try_from(1u64 << 32).unwrap_or(usize::MAX),
            max_cloud_dots: MAX_CLOUD_DOTS,
            max_nesting: 0,
        }
    }
}

/// Why bytes could not be decoded into a state. The target of the decode is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The Arrow IPC layer refused the bytes (truncated, corrupt framing, invalid arrays).
    Arrow(String),
    /// The stream ended without a schema.
    Empty,
    /// The schema is not the one this kind and key/value types write.
    Schema(String),
    /// `pluriverse.kind` names another kind.
    Kind {
        /// The kind being decoded.
        expected: &'static str,
        /// The kind in the bytes.
        found: String,
    },
    /// `pluriverse.format` is missing or unknown.
    Version(String),
    /// The replica dictionary is not sorted, unique, or differs between batches.
    Replicas(&'static str),
    /// The context encoding is invalid.
    Context(&'static str),
    /// A column has a null where none is allowed.
    Null {
        /// The column.
        column: &'static str,
        /// The row.
        row: usize,
    },
    /// A replica index points past the dictionary.
    ReplicaIndex {
        /// The row.
        row: usize,
        /// The index found.
        index: u64,
    },
    /// A counter is 0 (dots start at 1).
    ZeroCounter {
        /// The row.
        row: usize,
    },
    /// Rows are not in the canonical order, or repeat an entry.
    Unsorted {
        /// The first row out of order.
        row: usize,
    },
    /// Two rows carry the same dot.
    DuplicateDot {
        /// The second row.
        row: usize,
    },
    /// An entry's dot is not in the context (a store's dots are always in its context).
    DotNotInContext {
        /// The row.
        row: usize,
    },
    /// The input exceeds one of the decoder's [`Limits`].
    Limit {
        /// Which limit: `bytes`, `replicas`, `entries`, `cloud dots` or `nesting`.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// What the input has (at least).
        found: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Arrow(e) => write!(f, "not a valid Arrow IPC stream: {e}"),
            Self::Empty => write!(f, "the stream holds no schema"),
            Self::Schema(e) => write!(f, "unexpected schema: {e}"),
            Self::Kind { expected, found } => {
                write!(f, "the bytes hold a {found}, not a {expected}")
            }
            Self::Version(v) => write!(
                f,
                "unsupported format version {v:?} (this build reads {FORMAT_VERSION})"
            ),
            Self::Replicas(e) => write!(f, "invalid replica dictionary: {e}"),
            Self::Context(e) => write!(f, "invalid causal context: {e}"),
            Self::Null { column, row } => write!(f, "null in column `{column}` at row {row}"),
            Self::ReplicaIndex { row, index } => {
                write!(f, "row {row}: replica index {index} is past the dictionary")
            }
            Self::ZeroCounter { row } => write!(f, "row {row}: counter 0 (dots start at 1)"),
            Self::Unsorted { row } => write!(f, "row {row} is out of order or repeats an entry"),
            Self::DuplicateDot { row } => write!(f, "row {row} repeats another row's dot"),
            Self::DotNotInContext { row } => {
                write!(f, "row {row}: its dot is not in the causal context")
            }
            Self::Limit { what, limit, found } => {
                write!(f, "{what}: {found} exceeds the limit of {limit}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
