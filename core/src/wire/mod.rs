//! States and deltas as Arrow: a `RecordBatch` view and Arrow IPC stream bytes.
//!
//! # Format (version 3)
//! One Arrow IPC stream; any Arrow implementation that reads IPC buffer compression (ZSTD)
//! reads it as it is (pyarrow, arrow-rs with the `zstd` feature, arrow C++). Columns, in
//! order:
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
//! Schema metadata:
//! - `pluriverse.kind`: `MVMap`, `AWSet`, `PNCounterMap` or `LWWMap`;
//! - `pluriverse.format`: `3` (`2` in streams of the previous version, still read);
//! - `pluriverse.context`: the causal context, base64 of, per dictionary name in order,
//!   `prefix: u64`, `runs: u64` and `runs` pairs `(first: u64, len: u64)` of the dot cloud
//!   (little-endian; see `wire::context`);
//! - `pluriverse.rows`: the number of rows, in decimal;
//! - `pluriverse.checksum`: 16 lowercase hex digits, the xxh3-64 of the schema's description
//!   followed by every byte of the stream after the schema message (the dictionary, the
//!   record batches and the end-of-stream marker). The description is, each as a
//!   little-endian `u64` length then the bytes: `pluriverse checksum`; per field its name,
//!   its type (`uint64`, `int64`, `float64`, `bool`, `utf8`, `binary`,
//!   `dictionary<uint32,binary>`) and one byte `1` if nullable else `0`; per metadata entry
//!   but the checksum, in key order, its key and its value.
//!
//! The stream holds the schema, one dictionary message (not a delta), record batches of
//! [`ROWS_PER_BATCH`] rows (the last one shorter, a single empty batch for an empty state)
//! and the end-of-stream marker.
//!
//! Rows are sorted by `(xxh3_64(key bytes), key, replica name, counter)`; the dictionary
//! holds exactly the replicas with at least one dot. Equal states therefore give identical
//! bytes, whatever order their replicas were interned in (compressed ones too, for one
//! version of the ZSTD library: its output at a level is deterministic).
//!
//! ## Compression (new in version 3)
//! A stream of at least [`COMPRESS_MIN_ROWS`] rows is written with Arrow IPC buffer
//! compression: every message's `BodyCompression` is `ZSTD`, method `BUFFER`, and each
//! non-empty buffer is its uncompressed length as a little-endian `i64` followed by one
//! ZSTD frame (level [`ZSTD_LEVEL`]), or `-1` followed by the buffer as it is where
//! compressing would not make it smaller (Arrow's rule). The dictionary message is
//! compressed the same way. Smaller streams are written uncompressed. The columns, their
//! order and the rows are those of version 2; only the buffers' bytes differ. A reader
//! decompresses a message's buffers and then reads it as an uncompressed one. The rule is
//! part of the format and checked: a version-3 stream's messages are ZSTD-compressed if and
//! only if `pluriverse.rows` is at least [`COMPRESS_MIN_ROWS`] (another codec, such as
//! Arrow's `LZ4_FRAME`, or compression where the rule has none, is refused as
//! [`DecodeError::NotCanonical`]). Version 2 is version 3 without compression: a
//! version-2 stream with a compressed message is refused the same way.
//!
//! Why ZSTD and not LZ4 (both are Arrow codecs; measured on the bench's update below): LZ4
//! (`lz4_flex`) gives 19.2 MB, above the target of loro's 13.0 MB, since it has no entropy
//! coding for the random low bytes of keys and values; ZSTD at level 1 gives 10.5 MB (level
//! 3: 10.8 MB, slower; level -1: 15.1 MB), and decoding stays faster than encoding. The
//! `zstd` crate builds the C library (`zstd-sys`, with `cc`) into a clean build; `lz4_flex`
//! would have been pure Rust.
//!
//! What it buys, for the Python bench's update (one replica's `MVMap` of 1M utf8 keys
//! `k{i}` and int64 values, `benches/README.md`, session 9): 31.5 MB in version 2,
//! 10.5 MB in version 3 (key 6.2 MB, replica 0.001 MB, counter 1.0 MB, value 3.3 MB);
//! decoding stays about half as long as encoding.
//!
//! # Integrity
//! A reader knows a stream is whole and unaltered (contract 8): the end-of-stream marker is
//! required (a stream cut at a record-batch boundary is refused, so a truncated copy cannot
//! pass for a state whose context covers rows it lacks), the rows must add up to
//! `pluriverse.rows`, and the checksum must match, which catches any corruption of the
//! content (a flipped bit, a cut-and-patched stream). The checksum covers the bytes as
//! they are in the stream (compressed where they are), so it is checked before anything
//! is decompressed. The schema message must be byte for byte the one this writer writes.
//! Every accepted stream written by this version of the library (or corrupted on the way)
//! therefore re-encodes to the same bytes; a version-2 stream re-encodes to version 3, and
//! a stream another writer compressed otherwise within the rule (another ZSTD level or
//! build, a buffer left uncompressed) decodes to the state it holds and re-encodes to this
//! writer's form of it.
//!
//! The checksum is no signature: anyone can compute it. What a peer whose bytes are not
//! authenticated can still do, within the [`Limits`]:
//! - write entries under any replica name with fresh dots (forged writes), and claim in
//!   its context that it has seen dots of other replicas that it has not, up to
//!   [`Limits::max_counter`]: a replica that joins such a claim treats those replicas'
//!   writes with the claimed dots as removed when they arrive (their data is lost there)
//!   and skips the claimed counters when it writes itself. A join through
//!   [`crate::CausalStore::join_checked`] refuses claims on the joining replica's own dots
//!   beyond what it issued ([`crate::Error::ForeignClaim`]), but cannot judge claims on
//!   third parties' dots;
//! - remove any entry it knows the dot of (its context covers the dot, its store lacks it);
//! - bind a dot to other contents than the writer did: refused at a join that meets the
//!   honest copy ([`crate::Error::Equivocation`]), undetectable where it arrives first;
//! - write a non-canonical encoding of valid content with a correct checksum (padding,
//!   the data under null slots, another ZSTD level for the buffers): it decodes to the
//!   state its content says.
//!
//! Signed writes (DESIGN, turn 2) are what closes these; this format is the unsigned mode.
//!
//! # Decoding
//! Decoding checks everything and returns a [`DecodeError`] naming what was wrong: the
//! stream framing (in one pass, before any array is built: every message, every buffer inside
//! its body, the limits, the row count and the checksum), the schema and metadata, the
//! context encoding, replica indices, zero counters, row order, duplicate dots, two cells
//! of one replica for one key of a `PNCounterMap`, and that every entry's dot is in the
//! context. A compressed message's buffers are checked by the uncompressed lengths their
//! prefixes declare (whole elements of the column's type; all of the stream's together
//! within [`Limits::max_bytes`]) in the framing pass, before the checksum and before any
//! buffer is decompressed, so a small input cannot make the decoder allocate more than
//! that limit; Arrow then checks each buffer decompresses to exactly its declared length.
//! Format version
//! 1 (without row count and checksum) is refused with [`DecodeError::Version`]: a truncated
//! version-1 stream cannot be told from a whole one, so reading it even read-only would
//! hand out states that delete what they lack. To migrate a version-1 file, decode it with
//! the release that wrote it, check it, and write it again with this one.

mod base64;
mod codec;
mod columns;
mod compact;
mod context;

use std::fmt;

pub use codec::{
    decode_store, decode_store_with_limits, encode_store, read_schema, to_record_batches,
};
#[doc(hidden)]
pub use codec::{encode_store_as, with_rows_per_batch};
pub(crate) use columns::no_nulls;
pub use columns::{col_from_arrow, items_from_arrow, ArrowItem, Cells};
pub use compact::{decode_compact_with_limits, encode_compact};
pub(crate) use context::{decode_context, encode_context};

/// Format version written to `pluriverse.format` (this build reads it and version 2).
pub const FORMAT_VERSION: &str = "3";
/// The fewest rows a stream must have for [`encode_store`] to compress its buffers (below,
/// the schema message dominates and compression would save a few bytes at best).
pub const COMPRESS_MIN_ROWS: usize = 256;
/// The ZSTD level [`encode_store`] compresses at.
pub const ZSTD_LEVEL: i32 = 1;
/// Metadata key of the record kind.
pub const META_KIND: &str = "pluriverse.kind";
/// Metadata key of the format version.
pub const META_FORMAT: &str = "pluriverse.format";
/// Metadata key of the base64 causal context.
pub const META_CONTEXT: &str = "pluriverse.context";
/// Metadata key of the row count.
pub const META_ROWS: &str = "pluriverse.rows";
/// Metadata key of the checksum (see the module docs, "Integrity").
pub const META_CHECKSUM: &str = "pluriverse.checksum";
/// Rows per record batch in the stream.
pub const ROWS_PER_BATCH: usize = 1 << 20;
/// The most dots a decoded context's clouds may hold together (the default of
/// [`Limits::max_cloud_dots`]).
pub const MAX_CLOUD_DOTS: u64 = 1 << 32;
/// The highest counter a decoded context may hold by default ([`Limits::max_counter`]):
/// `u64::MAX - 2^32`. An honest replica issuing a million events a second takes half a
/// million years to get there; a forged context claiming counters near `u64::MAX` would
/// leave every replica it names unable to write.
pub const MAX_COUNTER: u64 = u64::MAX - (1 << 32);

/// Bounds on what a decoder accepts from bytes it did not write: states, deltas and
/// contexts from a peer or a file. Each is checked before the work it bounds is done
/// (sizes from the stream's framing, before any array is built), and a breach is a
/// [`DecodeError::Limit`]. Allocation while decoding stays within a small multiple of the
/// input's size, or for a compressed stream of its size uncompressed (at most `max_bytes`,
/// checked from the framing before anything is decompressed): the stream holds one
/// dictionary message (a second one, or a dictionary delta, is refused before anything is
/// decoded, and its entries count against `max_replicas`), bodies are copied (and
/// decompressed) one message at a time, and rows are reserved only as far as the buffers
/// could hold them.
///
/// | limit | default | checked |
/// |---|---|---|
/// | `max_bytes` | 4 GiB | the input's length, first; then the bytes of all its buffers uncompressed, from the framing (compressed buffers declare theirs) |
/// | `max_replicas` | 2^20 | the dictionary message's entries (all dictionary messages together), from the framing |
/// | `max_entries` | 2^32 | `pluriverse.rows` and the record batches' lengths, from the framing |
/// | `max_cloud_dots` | 2^32 | while the context is decoded |
/// | `max_counter` | `u64::MAX - 2^32` | every counter of the context (prefixes and cloud runs), so every entry's |
/// | `max_nesting` | 0 | the schema's fields, before Arrow builds them |
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
    /// Most bytes in one message or file (default 4 GiB), and in its buffers once
    /// decompressed, all together.
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
    /// Highest counter in a context (default [`MAX_COUNTER`]): a forged context claiming
    /// counters near `u64::MAX` is refused instead of leaving the replicas it names unable to
    /// write.
    pub max_counter: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: usize::try_from(1u64 << 32).unwrap_or(usize::MAX),
            max_replicas: 1 << 20,
            max_entries: usize::try_from(1u64 << 32).unwrap_or(usize::MAX),
            max_cloud_dots: MAX_CLOUD_DOTS,
            max_nesting: 0,
            max_counter: MAX_COUNTER,
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
    /// `pluriverse.format` is missing or names a version this build does not read (it reads
    /// 3 and 2; version 1, without row count and checksum, is refused: see the module docs).
    Version(String),
    /// The input ends before the stream does (no end-of-stream marker, or a message cut).
    Truncated {
        /// What is missing: `end-of-stream marker`, `message header`, `message metadata`
        /// or `message body`.
        what: &'static str,
        /// Where the input ends.
        offset: usize,
    },
    /// Bytes follow the end-of-stream marker.
    TrailingBytes {
        /// Where they start.
        offset: usize,
    },
    /// A metadata entry of the format is missing or malformed.
    Metadata {
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// The record batches do not hold the rows `pluriverse.rows` declares.
    RowCount {
        /// Rows declared.
        declared: u64,
        /// Rows found (so far, when more than declared).
        found: u64,
    },
    /// The checksum does not match the content: the bytes were altered.
    Checksum {
        /// The checksum in the metadata.
        declared: u64,
        /// The checksum of the bytes.
        computed: u64,
    },
    /// A part of the stream is not in the one form this format writes.
    NotCanonical(&'static str),
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
        /// Which limit: `bytes`, `replicas`, `entries`, `cloud dots`, `counter` or
        /// `nesting`.
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
            Self::Version(v) if v == "1" => write!(
                f,
                "format version 1 is no longer read: it carries no row count or checksum, so \
                 a truncated copy cannot be told from a whole one (this build reads versions \
                 {FORMAT_VERSION} and 2; decode the file with the release that wrote it and write it \
                 again with this one)"
            ),
            Self::Version(v) => write!(
                f,
                "unsupported format version {v:?} (this build reads {FORMAT_VERSION} and 2)"
            ),
            Self::Truncated { what, offset } => {
                write!(
                    f,
                    "truncated: the input ends at byte {offset} before the {what}"
                )
            }
            Self::TrailingBytes { offset } => {
                write!(
                    f,
                    "bytes after the end-of-stream marker, from byte {offset}"
                )
            }
            Self::Metadata { key, problem } => write!(f, "metadata `{key}`: {problem}"),
            Self::RowCount { declared, found } => write!(
                f,
                "the stream declares {declared} rows but holds {found}: truncated or altered"
            ),
            Self::Checksum { declared, computed } => write!(
                f,
                "checksum mismatch (declared {declared:016x}, computed {computed:016x}): the \
                 bytes were altered"
            ),
            Self::NotCanonical(what) => write!(f, "non-canonical encoding: {what}"),
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
