//! Where a state's bytes go: the Python bench's update (replica `b`'s MVMap of 1M utf8 keys
//! `k{i}` and int64 values), per column, uncompressed and under Arrow IPC buffer compression.
//!
//! `cargo run --release -p pluriverse --example wire_bytes [N]`

use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_ipc::CompressionType;
use arrow_schema::Schema;
use pluriverse::MVMap;

/// The batches as one IPC stream, compressed with `c` (ZSTD at the format's level).
fn stream(schema: &Schema, batches: &[RecordBatch], c: Option<CompressionType>) -> Vec<u8> {
    let mut opts = IpcWriteOptions::default().try_with_compression(c).unwrap();
    if c == Some(CompressionType::ZSTD) {
        opts = opts
            .try_with_compression_level(Some(pluriverse::wire::ZSTD_LEVEL))
            .unwrap();
    }
    let mut w = StreamWriter::try_new_with_options(Vec::new(), schema, opts).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    w.into_inner().unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().unwrap());
    let keys: Vec<String> = (n / 2..n / 2 + n).map(|i| format!("k{i}")).collect();
    let values: Vec<i64> = (n / 2..n / 2 + n).map(|i| i as i64).collect();
    let mut b: MVMap<String, i64> = MVMap::new("b");
    b.set_many(&keys, &values).unwrap();
    let t = Instant::now();
    let bytes = b.to_bytes().unwrap();
    let enc = t.elapsed();
    let t = Instant::now();
    let back = MVMap::<String, i64>::from_bytes(&bytes, "b").unwrap();
    let dec = t.elapsed();
    assert_eq!(back.len(), n);
    println!(
        "n = {n}: to_bytes {} B ({:.1?}), from_bytes {:.1?}",
        bytes.len(),
        enc,
        dec
    );
    let (schema, batches) = pluriverse::wire::to_record_batches(b.store()).unwrap();
    let codecs = [
        None,
        Some(CompressionType::LZ4_FRAME),
        Some(CompressionType::ZSTD),
    ];
    println!(
        "| column | none | lz4 | zstd (level {}) |",
        pluriverse::wire::ZSTD_LEVEL
    );
    for (i, f) in schema.fields().iter().enumerate() {
        let s = Arc::new(Schema::new(vec![f.as_ref().clone()]));
        let bs: Vec<RecordBatch> = batches
            .iter()
            .map(|b| RecordBatch::try_new(s.clone(), vec![b.column(i).clone()]).unwrap())
            .collect();
        let sizes: Vec<String> = codecs
            .iter()
            .map(|c| {
                let t = Instant::now();
                let l = stream(&s, &bs, *c).len();
                format!("{l} ({:.1?})", t.elapsed())
            })
            .collect();
        println!("| {} | {} |", f.name(), sizes.join(" | "));
    }
    let plain = Schema::new(schema.fields().clone());
    for c in codecs {
        let t = Instant::now();
        let l = stream(&plain, &batches, c).len();
        println!("all {c:?}: {l} ({:.1?})", t.elapsed());
    }
    println!("| encoding | bytes | to_bytes | from_bytes |");
    for (label, version, level) in [
        ("format 2", 2u8, None),
        ("format 3, zstd -3", 3, Some(-3)),
        ("format 3, zstd -1", 3, Some(-1)),
        ("format 3, zstd 1 (the default)", 3, Some(1)),
        ("format 3, zstd 3", 3, Some(3)),
    ] {
        let (mut enc, mut dec) = (f64::MAX, f64::MAX);
        let mut len = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let bytes = pluriverse::wire::encode_store_as(b.store(), version, level).unwrap();
            enc = enc.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let back = MVMap::<String, i64>::from_bytes(&bytes, "b").unwrap();
            dec = dec.min(t.elapsed().as_secs_f64());
            assert_eq!(back.digest(), b.digest());
            len = bytes.len();
        }
        println!(
            "| {label} | {len} | {:.1} ms | {:.1} ms |",
            enc * 1e3,
            dec * 1e3
        );
    }
}
