//! Encoding a causal store to Arrow (batches, IPC bytes) and decoding it back, with every
//! invariant checked on the way in.

use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, DictionaryArray, RecordBatch, UInt32Array, UInt64Array,
};
use arrow_buffer::Buffer;
use arrow_ipc::reader::{read_dictionary, read_record_batch};
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_ipc::CompressionType;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use xxhash_rust::xxh3::Xxh3Default;

use super::columns::{ArrowItem, Cells};
use super::{
    base64, context, DecodeError, Limits, COMPRESS_MIN_ROWS, FORMAT_VERSION, META_CHECKSUM,
    META_CONTEXT, META_FORMAT, META_KIND, META_ROWS, ROWS_PER_BATCH, ZSTD_LEVEL,
};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::item::ItemCol;
use crate::kinds::{Kind, WireKind};
use crate::replica::{ReplicaId, ReplicaTable};
use crate::store::run::Run;
use crate::store::CausalStore;

thread_local! {
    /// Rows per record batch on this thread when set (see [`with_rows_per_batch`]); 0 means
    /// [`ROWS_PER_BATCH`].
    static ROWS_PER_BATCH_HERE: Cell<usize> = const { Cell::new(0) };
}

/// Rows per record batch: [`ROWS_PER_BATCH`] unless a test lowered it on this thread.
fn rows_per_batch() -> usize {
    match ROWS_PER_BATCH_HERE.with(Cell::get) {
        0 => ROWS_PER_BATCH,
        n => n,
    }
}

/// Runs `f` with record batches of `rows` rows instead of [`ROWS_PER_BATCH`] for encoding
/// *and* decoding on this thread (the decoder requires every batch but the last to be
/// full), so that tests of multi-batch streams stay small and fast. Not for production use:
/// bytes written under it decode only under it.
#[doc(hidden)]
pub fn with_rows_per_batch<R>(rows: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            ROWS_PER_BATCH_HERE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(ROWS_PER_BATCH_HERE.with(|c| c.replace(rows.max(1))));
    f()
}

/// The schema of a kind's stream, with the kind, format version, context and row count in
/// its metadata (the checksum is added by [`encode_store`]).
fn schema<K: ArrowItem, V: Cells>(version: &str, context_b64: String, rows: usize) -> Schema {
    let mut fields = vec![
        Field::new("key", K::data_type(), false),
        Field::new(
            "replica",
            DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Binary)),
            false,
        ),
        Field::new("counter", DataType::UInt64, false),
    ];
    fields.extend(<V::Kind<K> as WireKind>::cell_fields());
    let meta = HashMap::from([
        (
            META_KIND.to_string(),
            <V::Kind<K> as Kind>::NAME.to_string(),
        ),
        (META_FORMAT.to_string(), version.to_string()),
        (META_CONTEXT.to_string(), context_b64),
        (META_ROWS.to_string(), rows.to_string()),
    ]);
    Schema::new(fields).with_metadata(meta)
}

/// A store's canonical layout (see the module docs), shared by the Arrow stream and the
/// compact sync payload (`wire::compact`).
pub(crate) struct Canonical<'a, K: ArrowItem, V: Cells> {
    /// The store's replica indices of the replicas with dots, sorted by name.
    pub order: Vec<u32>,
    /// Per store replica index, its rank in `order` (`u32::MAX` for replicas without dots).
    pub canon: Vec<u32>,
    /// The context of the replicas of `order`, in the `wire::context` encoding.
    pub context: Vec<u8>,
    /// The store's entries in one run.
    pub run: std::borrow::Cow<'a, Run<K, V>>,
    /// Rows of `run` in canonical order: key groups in store order, each sorted by (name
    /// rank, counter).
    pub rows: Vec<usize>,
    /// The store's context with its retired records as rows (appended: the entries'
    /// replica indices do not move).
    pub ctx: std::borrow::Cow<'a, crate::CausalContext>,
}

impl<'a, K: ArrowItem, V: Cells> Canonical<'a, K, V> {
    pub(crate) fn of(store: &'a CausalStore<K, V>) -> Self {
        let ctx = store.ctx.expanded();
        let table = ctx.table();
        let dots = ctx.dots().replicas();
        // canonical table: the replicas with dots, sorted by name
        let order = ctx.canonical_order();
        let mut canon = vec![u32::MAX; table.len()];
        for (rank, &i) in order.iter().enumerate() {
            canon[i as usize] = rank as u32;
        }
        let context =
            context::encode_dots(&order.iter().map(|&i| &dots[i as usize]).collect::<Vec<_>>());
        let run = store.merged_cow();
        let mut rows: Vec<usize> = (0..run.rows()).collect();
        let mut start = 0;
        while start < rows.len() {
            let mut end = start + 1;
            while end < rows.len()
                && run.hash[end] == run.hash[start]
                && run.keys.cmp_at(end, &run.keys, start).is_eq()
            {
                end += 1;
            }
            rows[start..end].sort_by_key(|&i| (canon[run.replica[i] as usize], run.counter[i]));
            start = end;
        }
        Self {
            order,
            canon,
            context,
            run,
            rows,
            ctx,
        }
    }
}

/// The store as Arrow record batches in the canonical layout (see the module docs). The
/// schema's metadata holds everything but `pluriverse.checksum`, which covers the IPC bytes
/// and is added by [`encode_store`].
///
/// # Errors
/// [`Error::Encode`] if Arrow rejects the arrays (a bug, not an input problem).
pub fn to_record_batches<K: ArrowItem, V: Cells>(
    store: &CausalStore<K, V>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    record_batches(store, FORMAT_VERSION)
}

/// [`to_record_batches`] with `version` in the schema's metadata.
fn record_batches<K: ArrowItem, V: Cells>(
    store: &CausalStore<K, V>,
    version: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let c = Canonical::of(store);
    let (table, order, canon, run, rows) = (c.ctx.table(), &c.order, &c.canon, &c.run, &c.rows);
    let schema = Arc::new(schema::<K, V>(
        version,
        base64::encode(&c.context),
        run.rows(),
    ));
    let names: ArrayRef = Arc::new(BinaryArray::from_iter_values(
        order.iter().map(|&i| table.names()[i as usize].as_bytes()),
    ));
    let mut batches = vec![];
    let chunks: Vec<&[usize]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(rows_per_batch()).collect()
    };
    for chunk in chunks {
        let replica_keys =
            UInt32Array::from_iter_values(chunk.iter().map(|&i| canon[run.replica[i] as usize]));
        let replica = DictionaryArray::<UInt32Type>::try_new(replica_keys, names.clone())
            .map_err(|e| Error::Encode(e.to_string()))?;
        let mut cols: Vec<ArrayRef> = vec![
            K::to_array(&run.keys, chunk, None),
            Arc::new(replica),
            Arc::new(UInt64Array::from_iter_values(
                chunk.iter().map(|&i| run.counter[i]),
            )),
        ];
        cols.extend(<V::Kind<K> as WireKind>::encode_cells(&run.values, chunk));
        batches.push(
            RecordBatch::try_new(schema.clone(), cols).map_err(|e| Error::Encode(e.to_string()))?,
        );
    }
    Ok((schema, batches))
}

/// The store as Arrow IPC stream bytes (canonical: equal states give identical bytes),
/// sealed with its row count and checksum (see the module docs): format
/// [`FORMAT_VERSION`], its buffers ZSTD-compressed from [`COMPRESS_MIN_ROWS`] rows on.
///
/// # Errors
/// As [`to_record_batches`].
pub fn encode_store<K: ArrowItem, V: Cells>(store: &CausalStore<K, V>) -> Result<Vec<u8>> {
    encode(store, 3, |rows| {
        (rows >= COMPRESS_MIN_ROWS).then_some(ZSTD_LEVEL)
    })
}

/// The store in format `version` (2: never compressed; 3: its buffers ZSTD-compressed at
/// `zstd_level` when given): what [`encode_store`] writes with a choice of version and
/// compression, for tests of the readers of older formats and for measuring the levels.
/// Not for production use: [`encode_store`] writes the canonical form.
///
/// # Errors
/// As [`to_record_batches`]; [`Error::Encode`] for a version other than 2 and 3, or a
/// compression level ZSTD does not have.
#[doc(hidden)]
pub fn encode_store_as<K: ArrowItem, V: Cells>(
    store: &CausalStore<K, V>,
    version: u8,
    zstd_level: Option<i32>,
) -> Result<Vec<u8>> {
    encode(store, version, |_| zstd_level)
}

/// The store in format `version`, ZSTD-compressed at the level `zstd` gives for its row
/// count (none for `None`).
fn encode<K: ArrowItem, V: Cells>(
    store: &CausalStore<K, V>,
    version: u8,
    zstd: impl FnOnce(usize) -> Option<i32>,
) -> Result<Vec<u8>> {
    let enc = |e: arrow_schema::ArrowError| Error::Encode(e.to_string());
    let (schema, batches) = record_batches(store, &version.to_string())?;
    let zstd_level = zstd(batches.iter().map(RecordBatch::num_rows).sum());
    let compression = match (version, zstd_level) {
        (2, None) | (3, None) => None,
        (3, Some(level)) => Some(level),
        _ => {
            return Err(Error::Encode(format!(
                "format {version} with compression {zstd_level:?}"
            )))
        }
    };
    let opts = match compression {
        None => IpcWriteOptions::default(),
        Some(level) => IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::ZSTD))
            .and_then(|o| o.try_with_compression_level(Some(level)))
            .map_err(enc)?,
    };
    let mut w = StreamWriter::try_new_with_options(Vec::new(), &schema, opts).map_err(enc)?;
    let unsealed_schema = w.get_ref().len();
    for b in &batches {
        w.write(b).map_err(enc)?;
    }
    w.finish().map_err(enc)?;
    let stream = w.into_inner().map_err(enc)?;
    let rest = &stream[unsealed_schema..];
    let mut meta = schema.metadata().clone();
    meta.insert(
        META_CHECKSUM.to_string(),
        format!("{:016x}", checksum(&schema, rest)),
    );
    let sealed = schema.as_ref().clone().with_metadata(meta);
    let mut out = schema_message(&sealed).map_err(enc)?;
    out.extend_from_slice(rest);
    Ok(out)
}

/// The schema message this writer writes for `schema` (continuation marker, length,
/// flatbuffer, padding): the canonical form the decoder compares the input's with.
fn schema_message(schema: &Schema) -> Result<Vec<u8>, arrow_schema::ArrowError> {
    Ok(StreamWriter::try_new(Vec::new(), schema)?.get_ref().clone())
}

/// The stable name of a column type in the checksum's schema description.
fn type_tag(t: &DataType) -> String {
    match t {
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float64 => "float64".into(),
        DataType::Boolean => "bool".into(),
        DataType::Utf8 => "utf8".into(),
        DataType::Binary => "binary".into(),
        DataType::Dictionary(k, v) => format!("dictionary<{},{}>", type_tag(k), type_tag(v)),
        // not a type of the format (the schema check refuses it before any checksum)
        other => format!("{other:?}"),
    }
}

/// The checksum of a stream (module docs, "Integrity"): xxh3-64 of the schema's description
/// (each field's name, type and nullability; each metadata entry but the checksum, in key
/// order; all length-prefixed) followed by every byte after the schema message.
fn checksum(schema: &Schema, rest: &[u8]) -> u64 {
    let mut h = Xxh3Default::new();
    let mut put = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    put(b"pluriverse checksum");
    for f in schema.fields() {
        put(f.name().as_bytes());
        put(type_tag(f.data_type()).as_bytes());
        put(&[u8::from(f.is_nullable())]);
    }
    let mut meta: Vec<(&String, &String)> = schema
        .metadata()
        .iter()
        .filter(|(k, _)| k.as_str() != META_CHECKSUM)
        .collect();
    meta.sort();
    for (k, v) in meta {
        put(k.as_bytes());
        put(v.as_bytes());
    }
    h.update(rest);
    h.digest()
}

/// Checks the kind, format version and columns of a stream's schema; the version (2 or 3).
fn check_schema<K: ArrowItem, V: Cells>(got: &Schema) -> Result<u8, DecodeError> {
    let meta = got.metadata();
    let kind = meta.get(META_KIND).cloned().unwrap_or_default();
    if kind != <V::Kind<K> as Kind>::NAME {
        return Err(DecodeError::Kind {
            expected: <V::Kind<K> as Kind>::NAME,
            found: if kind.is_empty() {
                "stream without pluriverse.kind".into()
            } else {
                kind
            },
        });
    }
    let version = match meta.get(META_FORMAT).map(String::as_str) {
        Some("2") => 2,
        Some("3") => 3,
        other => return Err(DecodeError::Version(other.unwrap_or_default().to_string())),
    };
    let want = schema::<K, V>(FORMAT_VERSION, String::new(), 0);
    let same = got.fields().len() == want.fields().len()
        && got
            .fields()
            .iter()
            .zip(want.fields())
            .all(|(g, w)| g.name() == w.name() && g.data_type() == w.data_type());
    if !same {
        let show = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(DecodeError::Schema(format!(
            "expected [{}], found [{}]",
            show(&want),
            show(got)
        )));
    }
    Ok(version)
}

/// The schema at the start of state bytes (kind, key and value types, metadata), read
/// without decoding the rows. Nothing else is checked: [`decode_store`] checks everything.
///
/// # Errors
/// A [`DecodeError`] when the bytes do not start with a readable Arrow IPC schema message.
pub fn read_schema(bytes: &[u8]) -> Result<Schema, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let first = Frames::new(bytes).next_frame()?.ok_or(DecodeError::Empty)?;
    let fb = first.msg.header_as_schema().ok_or(DecodeError::Empty)?;
    schema_of(fb, usize::MAX)
}

/// The schema of a verified schema message, refusing fields nested deeper than `max_nesting`
/// before Arrow builds them.
fn schema_of(fb: arrow_ipc::Schema<'_>, max_nesting: usize) -> Result<Schema, DecodeError> {
    let depth = fb
        .fields()
        .iter()
        .flatten()
        .map(|f| nesting(&f))
        .max()
        .unwrap_or(0);
    if depth > max_nesting {
        return Err(DecodeError::Limit {
            what: "nesting",
            limit: max_nesting as u64,
            found: depth as u64,
        });
    }
    // arrow-ipc may assert on malformed (but verified) schema flatbuffers; report it.
    match std::panic::catch_unwind(|| arrow_ipc::convert::try_fb_to_schema(fb)) {
        Ok(r) => r.map_err(|e| DecodeError::Arrow(format!("invalid schema: {e}"))),
        Err(_) => Err(DecodeError::Arrow("malformed schema message".into())),
    }
}

/// The continuation marker that starts every message of an Arrow IPC stream.
const CONTINUATION: u32 = 0xFFFF_FFFF;

/// One message of an Arrow IPC stream, located in the input.
struct Frame<'a> {
    /// The message's metadata (a verified flatbuffer).
    msg: arrow_ipc::Message<'a>,
    /// The whole message: continuation marker, length, metadata and body.
    span: Range<usize>,
    /// The message's body.
    body: Range<usize>,
}

/// The messages of an Arrow IPC stream, in one pass over its framing: every message starts
/// with the continuation marker, its metadata is a verified flatbuffer ending 8-byte aligned,
/// and its body lies inside the input. The end-of-stream marker is required, and nothing may
/// follow it: a stream cut anywhere, even at a message boundary, is refused.
struct Frames<'a> {
    bytes: &'a [u8],
    pos: usize,
    ended: bool,
}

impl<'a> Frames<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            ended: false,
        }
    }

    fn word(&self, pos: usize) -> Option<u32> {
        self.bytes
            .get(pos..pos.checked_add(4)?)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The next message; `None` once the end-of-stream marker has been read.
    fn next_frame(&mut self) -> Result<Option<Frame<'a>>, DecodeError> {
        if self.ended {
            return Ok(None);
        }
        let start = self.pos;
        let truncated = |what: &'static str| DecodeError::Truncated {
            what,
            offset: self.bytes.len(),
        };
        if start == self.bytes.len() {
            return Err(truncated("end-of-stream marker"));
        }
        let (marker, len) = match (self.word(start), self.word(start + 4)) {
            (Some(m), Some(l)) => (m, l),
            _ => return Err(truncated("message header")),
        };
        if marker != CONTINUATION {
            return Err(DecodeError::Arrow(format!(
                "no continuation marker at byte {start}"
            )));
        }
        let meta = start + 8;
        if len == 0 {
            self.ended = true;
            self.pos = meta;
            if meta != self.bytes.len() {
                return Err(DecodeError::TrailingBytes { offset: meta });
            }
            return Ok(None);
        }
        let meta_end = meta
            .checked_add(len as usize)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| truncated("message metadata"))?;
        let msg = arrow_ipc::root_as_message(&self.bytes[meta..meta_end]).map_err(|e| {
            DecodeError::Arrow(format!("invalid message metadata: {}", first_line(&e)))
        })?;
        if meta_end % 8 != 0 {
            return Err(DecodeError::Arrow("message body not 8-byte aligned".into()));
        }
        let body = usize::try_from(msg.bodyLength())
            .map_err(|_| DecodeError::Arrow("negative body length".into()))?;
        let body_end = meta_end
            .checked_add(body)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| truncated("message body"))?;
        self.pos = body_end;
        Ok(Some(Frame {
            msg,
            span: start..body_end,
            body: meta_end..body_end,
        }))
    }
}

/// Checks that every buffer of a record or dictionary batch lies inside its `body` and holds
/// whole elements of its column's type (`widths`, in IPC buffer order): arrow-ipc trusts
/// buffer offsets and asserts on lengths, so bad ones become errors here. The batch must be
/// ZSTD-compressed per buffer if `compressed` (the format's rule: see the module docs), and
/// not compressed otherwise; a compressed batch is checked by the lengths its buffers
/// declare uncompressed, read from their 8-byte prefixes. Returns the bytes the buffers hold
/// once decompressed (their lengths as they are when not compressed), so that the caller
/// bounds what decompression allocates before any of it is done.
fn check_buffers(
    batch: arrow_ipc::RecordBatch<'_>,
    body: &[u8],
    widths: &[usize],
    compressed: bool,
) -> Result<u64, DecodeError> {
    let bad = |what: &str| DecodeError::Arrow(what.to_string());
    match batch.compression() {
        None if !compressed => {}
        Some(c) if compressed => {
            if c.codec() != CompressionType::ZSTD
                || c.method() != arrow_ipc::BodyCompressionMethod::BUFFER
            {
                return Err(DecodeError::NotCanonical("buffer compression codec"));
            }
        }
        _ => return Err(DecodeError::NotCanonical("buffer compression")),
    }
    if batch.buffers().map_or(0, |b| b.len()) != widths.len() {
        return Err(bad("wrong number of buffers for the schema"));
    }
    let mut decoded = 0u64;
    for (b, w) in batch.buffers().iter().flatten().zip(widths) {
        let (off, len) = (b.offset(), b.length());
        let inside = off >= 0
            && off % 8 == 0
            && len >= 0
            && (off as u64)
                .checked_add(len as u64)
                .is_some_and(|e| e <= body.len() as u64);
        if !inside {
            return Err(bad("buffer outside its message body"));
        }
        let (off, len) = (off as usize, len as usize);
        // the buffer's length as Arrow will hold it
        let plain = if !compressed || len == 0 {
            len as u64
        } else {
            let prefix = body
                .get(off..off + 8)
                .filter(|_| len >= 8)
                .ok_or_else(|| bad("compressed buffer without its length prefix"))?;
            let declared = i64::from_le_bytes(prefix.try_into().unwrap_or([0; 8]));
            match declared {
                -1 => (len - 8) as u64,
                0 if len == 8 => 0,
                n if n > 0 && len > 8 => n as u64,
                _ => return Err(bad("invalid uncompressed length of a compressed buffer")),
            }
        };
        if !plain.is_multiple_of(*w as u64) {
            return Err(bad("buffer length is not a whole number of elements"));
        }
        decoded = decoded.saturating_add(plain);
    }
    Ok(decoded)
}

/// Bytes per element of the dictionary batch's buffers (the replica names: `Binary`).
const DICTIONARY_WIDTHS: [usize; 3] = [1, 4, 1];

/// Bytes per element of each buffer of a record batch of `schema`, in IPC order (validity
/// bitmaps and booleans count 1).
fn buffer_widths(schema: &Schema) -> Vec<usize> {
    let mut w = vec![];
    for f in schema.fields() {
        w.push(1); // validity
        match f.data_type() {
            DataType::Utf8 | DataType::Binary => w.extend([4, 1]),
            DataType::Dictionary(k, _) => w.push(k.primitive_width().unwrap_or(1)),
            t => w.push(t.primitive_width().unwrap_or(1)),
        }
    }
    w
}

/// How deeply a schema field nests (0 for a flat field).
fn nesting(f: &arrow_ipc::Field<'_>) -> usize {
    f.children()
        .map(|c| c.iter().map(|c| 1 + nesting(&c)).max().unwrap_or(0))
        .unwrap_or(0)
}

/// A metadata value of the schema, required.
fn meta_value<'s>(schema: &'s Schema, key: &'static str) -> Result<&'s str, DecodeError> {
    schema
        .metadata()
        .get(key)
        .map(String::as_str)
        .ok_or(DecodeError::Metadata {
            key,
            problem: "missing",
        })
}

/// The declared row count (`pluriverse.rows`: decimal, no leading zeros).
fn declared_rows(schema: &Schema) -> Result<u64, DecodeError> {
    let text = meta_value(schema, META_ROWS)?;
    text.parse::<u64>()
        .ok()
        .filter(|n| n.to_string() == text)
        .ok_or(DecodeError::Metadata {
            key: META_ROWS,
            problem: "not a canonical decimal u64",
        })
}

/// The declared checksum (`pluriverse.checksum`: 16 lowercase hex digits).
fn declared_checksum(schema: &Schema) -> Result<u64, DecodeError> {
    let text = meta_value(schema, META_CHECKSUM)?;
    let hex = text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| u64::from_str_radix(text, 16).ok())
        .flatten()
        .ok_or(DecodeError::Metadata {
            key: META_CHECKSUM,
            problem: "not 16 lowercase hex digits",
        })
}

/// Decodes Arrow IPC stream bytes written by [`encode_store`] for the same kind, key and
/// value types, checking every invariant (see the module docs), within the default
/// [`Limits`].
///
/// # Errors
/// A [`DecodeError`] naming the first problem found.
pub fn decode_store<K: ArrowItem, V: Cells>(
    bytes: &[u8],
) -> Result<CausalStore<K, V>, DecodeError> {
    decode_store_with_limits(bytes, &Limits::default())
}

/// [`decode_store`] within caller-chosen [`Limits`] (checked before anything is decoded).
///
/// # Errors
/// [`DecodeError::Limit`] when the bytes exceed a limit; otherwise as [`decode_store`].
pub fn decode_store_with_limits<K: ArrowItem, V: Cells>(
    bytes: &[u8],
    limits: &Limits,
) -> Result<CausalStore<K, V>, DecodeError> {
    let over =
        |what: &'static str, limit: u64, found: u64| DecodeError::Limit { what, limit, found };
    if bytes.len() as u64 > limits.max_bytes as u64 {
        return Err(over("bytes", limits.max_bytes as u64, bytes.len() as u64));
    }
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    // 1. The schema: kind, version and columns, then its message byte for byte as this
    //    writer writes it (so no unchecked byte of it can vary).
    let mut frames = Frames::new(bytes);
    let first = frames.next_frame()?.ok_or(DecodeError::Empty)?;
    let fb = first.msg.header_as_schema().ok_or(DecodeError::Empty)?;
    let schema = schema_of(fb, limits.max_nesting)?;
    let version = check_schema::<K, V>(&schema)?;
    let rows_declared = declared_rows(&schema)?;
    let sum_declared = declared_checksum(&schema)?;
    if rows_declared > limits.max_entries as u64 {
        return Err(over("entries", limits.max_entries as u64, rows_declared));
    }
    // format 3 compresses the buffers of a stream of COMPRESS_MIN_ROWS rows or more
    let compressed = version >= 3 && rows_declared >= COMPRESS_MIN_ROWS as u64;
    let canonical = schema_message(&schema).map_err(|e| DecodeError::Arrow(e.to_string()))?;
    if bytes[first.span.clone()] != canonical[..] {
        return Err(DecodeError::NotCanonical("schema message"));
    }
    let schema_end = first.span.end;

    // 2. One pass over the framing of the rest: message types and order, buffer layouts,
    //    the limits (rows, dictionary entries), the row count, then the checksum; all before
    //    any array is built.
    let widths = buffer_widths(&schema);
    let per_batch = rows_per_batch() as u64;
    let mut frames_rest: Vec<Frame<'_>> = vec![];
    let (mut rows, mut batches, mut dictionaries, mut names) = (0u64, 0usize, 0usize, 0u64);
    let mut last_len = 0u64;
    // bytes of the bodies once decompressed, all messages together
    let mut decoded = 0u64;
    let mut decoded_within = |more: u64| {
        decoded = decoded.saturating_add(more);
        if decoded > limits.max_bytes as u64 {
            return Err(over("bytes", limits.max_bytes as u64, decoded));
        }
        Ok(decoded)
    };
    while let Some(f) = frames.next_frame()? {
        if f.msg.version() != arrow_ipc::MetadataVersion::V5 {
            return Err(DecodeError::NotCanonical("message metadata version"));
        }
        if let Some(d) = f.msg.header_as_dictionary_batch() {
            dictionaries += 1;
            if dictionaries > 1 || batches > 0 {
                return Err(DecodeError::Replicas(
                    "more than one dictionary message, or one after a record batch",
                ));
            }
            if d.isDelta() {
                return Err(DecodeError::Replicas("dictionary delta"));
            }
            let data = d
                .data()
                .ok_or_else(|| DecodeError::Arrow("dictionary batch without data".into()))?;
            names = names.saturating_add(u64::try_from(data.length()).unwrap_or(u64::MAX));
            if names > limits.max_replicas as u64 {
                return Err(over("replicas", limits.max_replicas as u64, names));
            }
            decoded_within(check_buffers(
                data,
                &bytes[f.body.clone()],
                &DICTIONARY_WIDTHS,
                compressed,
            )?)?;
        } else if let Some(rb) = f.msg.header_as_record_batch() {
            let n = u64::try_from(rb.length()).unwrap_or(u64::MAX);
            if batches > 0 && last_len != per_batch {
                return Err(DecodeError::NotCanonical("record batch sizes"));
            }
            batches += 1;
            last_len = n;
            rows = rows.saturating_add(n);
            if rows > limits.max_entries as u64 {
                return Err(over("entries", limits.max_entries as u64, rows));
            }
            if rows > rows_declared {
                return Err(DecodeError::RowCount {
                    declared: rows_declared,
                    found: rows,
                });
            }
            decoded_within(check_buffers(
                rb,
                &bytes[f.body.clone()],
                &widths,
                compressed,
            )?)?;
        } else {
            return Err(DecodeError::Arrow(
                "a message that is neither a dictionary nor a record batch".into(),
            ));
        }
        frames_rest.push(f);
    }
    if rows != rows_declared {
        return Err(DecodeError::RowCount {
            declared: rows_declared,
            found: rows,
        });
    }
    let batch_sizes_ok = match batches {
        0 => false,
        1 => last_len <= per_batch,
        _ => (1..=per_batch).contains(&last_len),
    };
    if !batch_sizes_ok {
        return Err(DecodeError::NotCanonical("record batch sizes"));
    }
    let computed = checksum(&schema, &bytes[schema_end..]);
    if computed != sum_declared {
        return Err(DecodeError::Checksum {
            declared: sum_declared,
            computed,
        });
    }

    // 3. The columns, one message at a time (one body copied at a time). arrow-ipc still
    //    asserts (panics) on a few malformed layouts the framing pass cannot see; such a
    //    panic is caught and reported as the decode error it is. Nothing outlives the
    //    closure but the partly filled run, which is dropped with the error.
    let arrow = |e: arrow_schema::ArrowError| DecodeError::Arrow(e.to_string());
    let schema = Arc::new(schema);
    let version = arrow_ipc::MetadataVersion::V5;
    let mut dicts: HashMap<i64, ArrayRef> = HashMap::new();
    // every row takes at least 12 bytes of the decompressed buffers (its replica index and
    // counter), so this reserves no more than those, already bounded, whatever the headers
    // claim
    let decoded = decoded_within(0)?;
    let mut run: Run<K, V> =
        Run::with_capacity(usize::try_from(rows.min(decoded / 12)).unwrap_or(0));
    let mut names: Option<ArrayRef> = None;
    for f in &frames_rest {
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let body = Buffer::from_slice_ref(&bytes[f.body.clone()]);
            if let Some(d) = f.msg.header_as_dictionary_batch() {
                read_dictionary(&body, d, &schema, &mut dicts, &version).map_err(arrow)?;
                Ok(None)
            } else if let Some(rb) = f.msg.header_as_record_batch() {
                read_record_batch(&body, rb, schema.clone(), &dicts, None, &version)
                    .map(Some)
                    .map_err(arrow)
            } else {
                Ok(None)
            }
        }));
        let batch = match decoded {
            Ok(r) => r?,
            Err(_) => return Err(DecodeError::Arrow("malformed buffer layout".into())),
        };
        let Some(b) = batch else { continue };
        let first_row = run.rows();
        let mut nulls = vec![];
        K::extend_from(b.column(0).as_ref(), &mut run.keys, &mut nulls);
        if let Some(i) = nulls.iter().position(|&n| n) {
            return Err(DecodeError::Null {
                column: "key",
                row: first_row + i,
            });
        }
        let dict = b.column(1).as_dictionary::<UInt32Type>();
        match &names {
            None => names = Some(dict.values().clone()),
            Some(n) if n.as_ref() == dict.values().as_ref() => {}
            Some(_) => return Err(DecodeError::Replicas("dictionary differs between batches")),
        }
        let first_null = |a: &dyn Array| (0..a.len()).find(|&i| a.is_null(i));
        if let Some(i) = first_null(dict.keys()) {
            return Err(DecodeError::Null {
                column: "replica",
                row: first_row + i,
            });
        }
        run.replica.extend_from_slice(dict.keys().values());
        let counters = b.column(2).as_primitive::<UInt64Type>();
        if let Some(i) = first_null(counters) {
            return Err(DecodeError::Null {
                column: "counter",
                row: first_row + i,
            });
        }
        run.counter.extend_from_slice(counters.values());
        <V::Kind<K> as WireKind>::decode_cells(
            &b.columns()[3..],
            b.num_rows(),
            &mut run.values,
            first_row,
        )?;
    }

    // the replica table: sorted, unique names
    let names: Vec<ReplicaId> = match &names {
        Some(a) => {
            let a = a.as_binary::<i32>();
            if a.null_count() > 0 {
                return Err(DecodeError::Replicas("null replica name"));
            }
            a.iter()
                .map(|n| ReplicaId::from(n.unwrap_or_default()))
                .collect()
        }
        None => vec![],
    };
    let ctx_text = schema
        .metadata()
        .get(META_CONTEXT)
        .ok_or(DecodeError::Context("missing"))?;
    let ctx_bytes = base64::decode(ctx_text).ok_or(DecodeError::Context("not canonical base64"))?;
    assemble(run, names, &ctx_bytes, limits)
}

/// The store of decoded rows (`hash` not filled yet), sorted unique `names` and their
/// context in the `wire::context` encoding, with every invariant checked: the names, the
/// context, and per row its replica index, counter, dot in the context, uniqueness and
/// canonical order. Shared by the Arrow stream and the compact sync payload.
pub(crate) fn assemble<K: ArrowItem, V: Cells>(
    mut run: Run<K, V>,
    names: Vec<ReplicaId>,
    ctx_bytes: &[u8],
    limits: &Limits,
) -> Result<CausalStore<K, V>, DecodeError> {
    if names.windows(2).any(|w| w[0] >= w[1]) {
        return Err(DecodeError::Replicas("names not sorted and unique"));
    }
    let dots: Vec<ReplicaDots> = context::decode_dots(ctx_bytes, names.len(), limits)?;
    let dots = DotContext::from_replicas(dots);

    // rows: valid dots, in the context, unique, canonical order (and, for the kinds that
    // hold one, one entry per key and replica)
    let mut used = UsedDots::new(names.len(), run.replica.len());
    run.hash.reserve(run.replica.len());
    for i in 0..run.replica.len() {
        let (r, c) = (run.replica[i], run.counter[i]);
        if r as usize >= names.len() {
            return Err(DecodeError::ReplicaIndex {
                row: i,
                index: u64::from(r),
            });
        }
        if c == 0 {
            return Err(DecodeError::ZeroCounter { row: i });
        }
        if !dots.contains(r, c) {
            return Err(DecodeError::DotNotInContext { row: i });
        }
        if !used.insert(&dots, r, c) {
            return Err(DecodeError::DuplicateDot { row: i });
        }
        run.hash.push(run.keys.hash_at(i));
        if i > 0 && !run.cmp_rows(i - 1, &run, i).is_lt() {
            return Err(DecodeError::Unsorted { row: i });
        }
    }
    let mut table = ReplicaTable::new();
    for n in &names {
        table.intern(n);
    }
    Ok(CausalStore {
        ctx: CausalContext::from_parts(table, dots),
        runs: if run.rows() > 0 {
            vec![run.into()]
        } else {
            vec![]
        },
    })
}

/// The dots the rows of a decoded run have used so far, to refuse a dot used twice: per
/// replica a plain bitmap over `0..=max` (its context's highest counter) while all of them
/// together stay within [`UsedDots::BITS_PER_ROW`] bits per row, a roaring bitmap beyond
/// (a replica with few rows and high counters).
struct UsedDots {
    per: Vec<Option<Used>>,
    /// Dense bits still allowed.
    budget: u64,
}

/// One replica's used counters.
enum Used {
    Dense(Vec<u64>),
    Sparse(roaring::RoaringTreemap),
}

impl UsedDots {
    const BITS_PER_ROW: u64 = 64;

    fn new(replicas: usize, rows: usize) -> Self {
        Self {
            per: (0..replicas).map(|_| None).collect(),
            budget: (rows as u64)
                .saturating_mul(Self::BITS_PER_ROW)
                .saturating_add(1 << 16),
        }
    }

    /// Marks dot `(r, c)` used (`r` a valid index, `c` in the context); whether it was not.
    fn insert(&mut self, dots: &DotContext, r: u32, c: u64) -> bool {
        let budget = &mut self.budget;
        let slot = self.per[r as usize].get_or_insert_with(|| {
            let max = dots.get(r).map_or(0, ReplicaDots::max);
            match max.checked_add(1) {
                Some(bits) if bits <= *budget => {
                    *budget -= bits;
                    Used::Dense(vec![0; (bits as usize).div_ceil(64)])
                }
                _ => Used::Sparse(roaring::RoaringTreemap::new()),
            }
        });
        match slot {
            Used::Dense(b) => match b.get_mut((c / 64) as usize) {
                Some(w) => {
                    let bit = 1u64 << (c % 64);
                    let new = *w & bit == 0;
                    *w |= bit;
                    new
                }
                // beyond the context's maximum: not a dot of it (checked before)
                None => false,
            },
            Used::Sparse(s) => s.insert(c),
        }
    }
}

/// The first line of an error's message (flatbuffers appends a multi-line trace).
fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_string()
}
