//! Encoding a causal store to Arrow (batches, IPC bytes) and decoding it back, with every
//! invariant checked on the way in.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, DictionaryArray, RecordBatch, UInt32Array, UInt64Array,
};
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use xxhash_rust::xxh3::xxh3_64;

use super::columns::{ArrowItem, Cells};
use super::{
    base64, context, DecodeError, Limits, FORMAT_VERSION, META_CONTEXT, META_FORMAT, META_KIND,
    ROWS_PER_BATCH,
};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::item::ItemCol;
use crate::replica::{ReplicaId, ReplicaTable};
use crate::store::run::Run;
use crate::store::CausalStore;

fn schema<K: ArrowItem, V: Cells>(context_b64: String) -> Schema {
    let mut fields = vec![
        Field::new("key", K::data_type(), false),
        Field::new(
            "replica",
            DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Binary)),
            false,
        ),
        Field::new("counter", DataType::UInt64, false),
    ];
    fields.extend(V::fields());
    let meta = HashMap::from([
        (META_KIND.to_string(), V::KIND.to_string()),
        (META_FORMAT.to_string(), FORMAT_VERSION.to_string()),
        (META_CONTEXT.to_string(), context_b64),
    ]);
    Schema::new(fields).with_metadata(meta)
}

/// The store as Arrow record batches in the canonical layout (see the module docs).
///
/// # Errors
/// [`Error::Encode`] if Arrow rejects the arrays (a bug, not an input problem).
pub fn to_record_batches<K: ArrowItem, V: Cells>(
    store: &CausalStore<K, V>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let table = store.ctx.table();
    let dots = store.ctx.dots().replicas();
    // canonical table: the replicas with dots, sorted by name
    let mut order: Vec<u32> = (0..table.len() as u32)
        .filter(|&i| dots.get(i as usize).is_some_and(|d| !d.is_empty()))
        .collect();
    order.sort_by(|&a, &b| table.names()[a as usize].cmp(&table.names()[b as usize]));
    let mut canon = vec![u32::MAX; table.len()];
    for (rank, &i) in order.iter().enumerate() {
        canon[i as usize] = rank as u32;
    }
    let ctx_bytes = context::encode(&order.iter().map(|&i| &dots[i as usize]).collect::<Vec<_>>());
    let schema = Arc::new(schema::<K, V>(base64::encode(&ctx_bytes)));

    let run = store.merged_cow();
    // rows in canonical order: key groups in store order, each sorted by (name rank, counter)
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
    let names: ArrayRef = Arc::new(BinaryArray::from_iter_values(
        order.iter().map(|&i| table.names()[i as usize].as_bytes()),
    ));
    let mut batches = vec![];
    let chunks: Vec<&[usize]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(ROWS_PER_BATCH).collect()
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
        cols.extend(V::encode(&run.values, chunk));
        batches.push(
            RecordBatch::try_new(schema.clone(), cols).map_err(|e| Error::Encode(e.to_string()))?,
        );
    }
    Ok((schema, batches))
}

/// The store as Arrow IPC stream bytes (canonical: equal states give identical bytes).
///
/// # Errors
/// As [`to_record_batches`].
pub fn encode_store<K: ArrowItem, V: Cells>(store: &CausalStore<K, V>) -> Result<Vec<u8>> {
    let (schema, batches) = to_record_batches(store)?;
    let enc = |e: arrow_schema::ArrowError| Error::Encode(e.to_string());
    let mut w = StreamWriter::try_new(Vec::new(), &schema).map_err(enc)?;
    for b in &batches {
        w.write(b).map_err(enc)?;
    }
    w.finish().map_err(enc)?;
    w.into_inner().map_err(enc)
}

fn check_schema<K: ArrowItem, V: Cells>(got: &Schema) -> Result<(), DecodeError> {
    let meta = got.metadata();
    let kind = meta.get(META_KIND).cloned().unwrap_or_default();
    if kind != V::KIND {
        return Err(DecodeError::Kind {
            expected: V::KIND,
            found: if kind.is_empty() {
                "stream without pluriverse.kind".into()
            } else {
                kind
            },
        });
    }
    match meta.get(META_FORMAT) {
        Some(v) if v == FORMAT_VERSION => {}
        other => return Err(DecodeError::Version(other.cloned().unwrap_or_default())),
    }
    let want = schema::<K, V>(String::new());
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
    Ok(())
}

/// The schema at the start of state bytes (kind, key and value types, metadata), read
/// without decoding the rows. Nothing else is checked: [`decode_store`] checks everything.
///
/// # Errors
/// A [`DecodeError`] when the bytes do not start with a readable Arrow IPC schema message.
pub fn read_schema(bytes: &[u8]) -> Result<Schema, DecodeError> {
    let bad = |what: &str| DecodeError::Arrow(what.to_string());
    let word = |pos: usize| -> Option<u32> {
        bytes
            .get(pos..pos + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut pos = 0usize;
    let mut len = word(pos).ok_or(DecodeError::Empty)?;
    pos += 4;
    if len == 0xFFFF_FFFF {
        len = word(pos).ok_or_else(|| bad("truncated message header"))?;
        pos += 4;
    }
    if len == 0 {
        return Err(DecodeError::Empty);
    }
    let end = pos.checked_add(len as usize).filter(|&e| e <= bytes.len());
    let end = end.ok_or_else(|| bad("message metadata past the end of the input"))?;
    let msg = arrow_ipc::root_as_message(&bytes[pos..end])
        .map_err(|e| DecodeError::Arrow(format!("invalid message metadata: {}", first_line(&e))))?;
    let fb = msg.header_as_schema().ok_or(DecodeError::Empty)?;
    // arrow-ipc may assert on malformed (but verified) schema flatbuffers; report it.
    match std::panic::catch_unwind(|| arrow_ipc::convert::try_fb_to_schema(fb)) {
        Ok(r) => r.map_err(|e| DecodeError::Arrow(format!("invalid schema: {e}"))),
        Err(_) => Err(bad("malformed schema message")),
    }
}

/// Walks the stream's framing before arrow-ipc sees it: every message's metadata is a
/// verified flatbuffer, its body lies inside the input, and every buffer of a record or
/// dictionary batch lies inside its body. (arrow-ipc trusts buffer offsets and panics on
/// ones past the body; this turns them into errors.)
fn prescan(bytes: &[u8], limits: &Limits, widths: Option<&[usize]>) -> Result<(), DecodeError> {
    let bad = |what: &str| DecodeError::Arrow(what.to_string());
    let over =
        |what: &'static str, limit: u64, found: u64| DecodeError::Limit { what, limit, found };
    if bytes.len() as u64 > limits.max_bytes as u64 {
        return Err(over("bytes", limits.max_bytes as u64, bytes.len() as u64));
    }
    let mut rows = 0u64;
    let word = |pos: usize| -> Option<u32> {
        bytes
            .get(pos..pos + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut pos = 0usize;
    while pos < bytes.len() {
        let mut len = word(pos).ok_or_else(|| bad("truncated message header"))?;
        pos += 4;
        if len == 0xFFFF_FFFF {
            len = word(pos).ok_or_else(|| bad("truncated message header"))?;
            pos += 4;
        }
        if len == 0 {
            return Ok(()); // end-of-stream marker
        }
        let meta_end = pos.checked_add(len as usize).filter(|&e| e <= bytes.len());
        let meta_end = meta_end.ok_or_else(|| bad("message metadata past the end of the input"))?;
        let msg = arrow_ipc::root_as_message(&bytes[pos..meta_end]).map_err(|e| {
            DecodeError::Arrow(format!("invalid message metadata: {}", first_line(&e)))
        })?;
        if meta_end % 8 != 0 {
            return Err(bad("message body not 8-byte aligned"));
        }
        let body = usize::try_from(msg.bodyLength()).map_err(|_| bad("negative body length"))?;
        let body_end = meta_end.checked_add(body).filter(|&e| e <= bytes.len());
        let body_end = body_end.ok_or_else(|| bad("message body past the end of the input"))?;
        if let Some(schema) = msg.header_as_schema() {
            let depth = schema
                .fields()
                .iter()
                .flatten()
                .map(|f| nesting(&f))
                .max()
                .unwrap_or(0);
            if depth > limits.max_nesting {
                return Err(over("nesting", limits.max_nesting as u64, depth as u64));
            }
        }
        if let Some(rb) = msg.header_as_record_batch() {
            rows = rows.saturating_add(u64::try_from(rb.length()).unwrap_or(u64::MAX));
            if rows > limits.max_entries as u64 {
                return Err(over("entries", limits.max_entries as u64, rows));
            }
        }
        if let Some(n) = msg
            .header_as_dictionary_batch()
            .and_then(|d| d.data())
            .map(|d| d.length())
        {
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            if n > limits.max_replicas as u64 {
                return Err(over("replicas", limits.max_replicas as u64, n));
            }
        }
        let batch = msg
            .header_as_record_batch()
            .or_else(|| msg.header_as_dictionary_batch().and_then(|d| d.data()));
        if let Some(batch) = batch {
            if batch.compression().is_some() {
                return Err(bad("compressed buffers are not part of the format"));
            }
            // with the schema known, every buffer must hold whole elements of its column's
            // type (arrow-ipc asserts it)
            let want: Option<&[usize]> = if msg.header_as_dictionary_batch().is_some() {
                widths.map(|_| DICTIONARY_WIDTHS.as_slice())
            } else {
                widths
            };
            if let Some(want) = want {
                let n = batch.buffers().map_or(0, |b| b.len());
                if n != want.len() {
                    return Err(bad("wrong number of buffers for the schema"));
                }
            }
            for (i, b) in batch.buffers().iter().flatten().enumerate() {
                let (off, len) = (b.offset(), b.length());
                if let Some(w) = want.and_then(|w| w.get(i)) {
                    if len >= 0 && !(len as u64).is_multiple_of(*w as u64) {
                        return Err(bad("buffer length is not a whole number of elements"));
                    }
                }
                let inside = off >= 0
                    && off % 8 == 0
                    && len >= 0
                    && (off as u64)
                        .checked_add(len as u64)
                        .is_some_and(|e| e <= body as u64);
                if !inside {
                    return Err(bad("buffer outside its message body"));
                }
            }
        }
        pos = body_end;
    }
    Ok(())
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
    let arrow = |e: arrow_schema::ArrowError| DecodeError::Arrow(e.to_string());
    prescan(bytes, limits, None)?;
    let declared = read_schema(bytes)?;
    check_schema::<K, V>(&declared)?;
    prescan(bytes, limits, Some(&buffer_widths(&declared)))?;
    // arrow-ipc still asserts (panics) on a few malformed layouts that `prescan` cannot see
    // without the column types (a buffer length that is not a whole number of elements);
    // such a panic is caught here and reported as the decode error it is. Nothing outlives
    // the closure, so no broken state can be observed.
    let decoded = std::panic::catch_unwind(|| {
        let mut buf = Buffer::from(bytes.to_vec());
        let mut dec = StreamDecoder::new();
        let mut batches = vec![];
        while !buf.is_empty() {
            match dec.decode(&mut buf).map_err(arrow)? {
                Some(b) => batches.push(b),
                None if buf.is_empty() => break,
                None => {}
            }
        }
        dec.finish().map_err(arrow)?;
        Ok::<_, DecodeError>((dec.schema(), batches))
    });
    let (schema, batches) = match decoded {
        Ok(r) => r?,
        Err(_) => return Err(DecodeError::Arrow("malformed buffer layout".into())),
    };
    let schema = schema.ok_or(DecodeError::Empty)?;
    check_schema::<K, V>(&schema)?;

    let mut run: Run<K, V> = Run::default();
    let mut names: Option<ArrayRef> = None;
    for b in &batches {
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
        for (i, k) in dict.keys().iter().enumerate() {
            run.replica.push(k.ok_or(DecodeError::Null {
                column: "replica",
                row: first_row + i,
            })?);
        }
        let counters = b.column(2).as_primitive::<UInt64Type>();
        for (i, c) in counters.iter().enumerate() {
            run.counter.push(c.ok_or(DecodeError::Null {
                column: "counter",
                row: first_row + i,
            })?);
        }
        V::decode(&b.columns()[3..], b.num_rows(), &mut run.values, first_row)?;
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
    if names.windows(2).any(|w| w[0] >= w[1]) {
        return Err(DecodeError::Replicas("names not sorted and unique"));
    }
    let ctx_text = schema
        .metadata()
        .get(META_CONTEXT)
        .ok_or(DecodeError::Context("missing"))?;
    let ctx_bytes = base64::decode(ctx_text).ok_or(DecodeError::Context("not canonical base64"))?;
    let dots: Vec<ReplicaDots> = context::decode(&ctx_bytes, names.len(), limits.max_cloud_dots)?;
    let dots = DotContext::from_replicas(dots);

    // rows: valid dots, in the context, unique, canonical order
    let mut buf = Vec::with_capacity(32);
    let mut seen: Vec<roaring::RoaringTreemap> = vec![roaring::RoaringTreemap::new(); names.len()];
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
        if !seen[r as usize].insert(c) {
            return Err(DecodeError::DuplicateDot { row: i });
        }
        buf.clear();
        run.keys.write_at(i, &mut buf);
        run.hash.push(xxh3_64(&buf));
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
        runs: if run.rows() > 0 { vec![run] } else { vec![] },
    })
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
