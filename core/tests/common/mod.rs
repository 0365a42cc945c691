//! Shared test support: the workspace's seeded generator and a full exchange.
#![allow(dead_code)] // each test binary uses what it needs

/// The workspace's seeded generator (SplitMix64).
pub use pluriverse_testkit::SplitMix64 as Rng;

pub mod sets;

/// Full exchange: every replica joins `delta_since` from every other, twice over, so each
/// ends up with everything (replicas of any kind: anything with `delta_since`, `context`
/// and `join`).
#[macro_export]
macro_rules! heal {
    ($replicas:expr) => {
        for _ in 0..2 {
            for a in 0..$replicas.len() {
                for b in 0..$replicas.len() {
                    if a != b {
                        let d = $replicas[a].delta_since($replicas[b].context());
                        $replicas[b].join(&d);
                    }
                }
            }
        }
    };
}

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Schema};

/// The format's checksum, computed here from its documentation (`pluriverse::wire`,
/// "Integrity"), not by the library: xxh3-64 of the length-prefixed schema description and
/// the bytes after the schema message.
pub fn documented_checksum(schema: &Schema, after_schema: &[u8]) -> u64 {
    let mut input = vec![];
    let mut put = |b: &[u8]| {
        input.extend_from_slice(&(b.len() as u64).to_le_bytes());
        input.extend_from_slice(b);
    };
    put(b"pluriverse checksum");
    for f in schema.fields() {
        let ty = match f.data_type() {
            DataType::UInt64 => "uint64",
            DataType::Int64 => "int64",
            DataType::Utf8 => "utf8",
            DataType::Binary => "binary",
            DataType::Float64 => "float64",
            DataType::Boolean => "bool",
            DataType::Dictionary(..) => "dictionary<uint32,binary>",
            t => panic!("not a type of the format: {t}"),
        };
        put(f.name().as_bytes());
        put(ty.as_bytes());
        put(&[u8::from(f.is_nullable())]);
    }
    let mut meta: Vec<_> = schema
        .metadata()
        .iter()
        .filter(|(k, _)| *k != "pluriverse.checksum")
        .collect();
    meta.sort();
    for (k, v) in meta {
        put(k.as_bytes());
        put(v.as_bytes());
    }
    input.extend_from_slice(after_schema);
    xxhash_rust::xxh3::xxh3_64(&input)
}

/// Writes `batches` as a stream whose schema carries `meta` plus `pluriverse.rows` (the
/// batches' rows) and the documented checksum, as a writer following the docs would.
pub fn seal(schema: &Schema, batches: &[RecordBatch]) -> Vec<u8> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut meta = schema.metadata().clone();
    meta.insert("pluriverse.rows".to_string(), rows.to_string());
    let schema = Arc::new(schema.clone().with_metadata(meta));
    let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
    let head = w.get_ref().len();
    for b in batches {
        w.write(&b.clone().with_schema(schema.clone()).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    seal_written(&schema, &w.into_inner().unwrap(), head)
}

/// Seals a stream written with `schema` (its schema message `head` bytes long): the same
/// stream after a schema message whose metadata adds the documented checksum over what
/// follows the schema.
pub fn seal_written(schema: &Schema, stream: &[u8], head: usize) -> Vec<u8> {
    let sum = documented_checksum(schema, &stream[head..]);
    let mut meta = schema.metadata().clone();
    meta.insert("pluriverse.checksum".to_string(), format!("{sum:016x}"));
    let sealed = schema.clone().with_metadata(meta);
    let mut out = StreamWriter::try_new(Vec::new(), &sealed)
        .unwrap()
        .get_ref()
        .clone();
    out.extend_from_slice(&stream[head..]);
    out
}

/// Standard base64 with padding (the encoding of `pluriverse.context`).
pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= c.len() {
                A[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
