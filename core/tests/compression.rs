//! Format 3 (issue 16): states of at least `COMPRESS_MIN_ROWS` rows are written with Arrow
//! IPC ZSTD buffer compression; smaller ones, and format 2, uncompressed. Every format-2
//! stream still decodes (to the same state, re-encoding to format 3); compression other
//! than the rule's (LZ4, or none where ZSTD is due, or ZSTD in format 2) is refused; and a
//! compressed buffer that declares more bytes than the limits allow is refused from the
//! framing, before anything is decompressed.

mod common;
use common::{seal_written, Rng};

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_ipc::CompressionType;
use arrow_schema::Schema;
use pluriverse::wire::{
    encode_store_as, read_schema, to_record_batches, with_rows_per_batch, DecodeError, Limits,
    COMPRESS_MIN_ROWS,
};
use pluriverse::{AWSet, CausalStore, Error, LWWMap, MVMap, PNCounterMap};

/// The byte ranges `(start, metadata end, end)` of a stream's messages, found by walking
/// the IPC framing here, the end-of-stream marker last.
fn messages(bytes: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = vec![];
    let mut pos = 0;
    loop {
        let word = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
        assert_eq!(word(pos), 0xFFFF_FFFF, "continuation marker");
        let len = word(pos + 4);
        if len == 0 {
            out.push((pos, pos + 8, pos + 8));
            return out;
        }
        let meta_end = pos + 8 + len;
        let msg = arrow_ipc::root_as_message(&bytes[pos + 8..meta_end]).unwrap();
        let end = meta_end + msg.bodyLength() as usize;
        out.push((pos, meta_end, end));
        pos = end;
    }
}

/// The codec of each record batch of a stream (`None`: uncompressed).
fn codecs(bytes: &[u8]) -> Vec<Option<CompressionType>> {
    messages(bytes)
        .iter()
        .filter(|&&(s, m, _)| m > s + 8)
        .filter_map(|&(s, m, _)| {
            let msg = arrow_ipc::root_as_message(&bytes[s + 8..m]).unwrap();
            msg.header_as_record_batch()
                .map(|rb| rb.compression().map(|c| c.codec()))
        })
        .collect()
}

/// The format version a stream's schema names.
fn version(bytes: &[u8]) -> String {
    read_schema(bytes).unwrap().metadata()["pluriverse.format"].clone()
}

/// An `MVMap<String, i64>` of `n` keys `k{i}` written by `a`, half of them overwritten by
/// `b` concurrently, some removed.
fn mvmap(n: usize) -> MVMap<String, i64> {
    let mut a: MVMap<String, i64> = MVMap::new("a");
    let mut b: MVMap<String, i64> = MVMap::new("b");
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let values: Vec<i64> = (0..n as i64).collect();
    a.set_many(&keys, &values).unwrap();
    b.set_many(&keys[..n / 2], &values[..n / 2]).unwrap();
    for k in keys.iter().step_by(7) {
        a.remove(k);
    }
    a.join(b.store());
    a
}

/// Decodes `bytes` as a store of `K`, `V`, re-encodes it, and checks the state survived.
fn roundtrip<K, V>(store: &CausalStore<K, V>, bytes: &[u8])
where
    K: pluriverse::wire::ArrowItem,
    V: pluriverse::wire::Cells,
{
    let back = CausalStore::<K, V>::from_bytes(bytes).unwrap();
    assert_eq!(back.digest(), store.digest());
    assert_eq!(back.to_bytes().unwrap(), store.to_bytes().unwrap());
}

/// Why `bytes` do not decode as a store of `K`, `V`.
fn roundtrip_err<K, V>(_: &CausalStore<K, V>, bytes: &[u8]) -> Error
where
    K: pluriverse::wire::ArrowItem,
    V: pluriverse::wire::Cells,
{
    CausalStore::<K, V>::from_bytes(bytes).unwrap_err()
}

#[test]
fn large_states_are_compressed_and_small_ones_are_not() {
    for n in [10, COMPRESS_MIN_ROWS - 1, COMPRESS_MIN_ROWS, 5000] {
        let mut m: MVMap<u64, u64> = MVMap::new("a");
        let keys: Vec<u64> = (0..n as u64).collect();
        m.set_many(&keys, &vec![7; n]).unwrap();
        let bytes = m.to_bytes().unwrap();
        assert_eq!(version(&bytes), "3");
        let want = (n >= COMPRESS_MIN_ROWS).then_some(CompressionType::ZSTD);
        assert_eq!(codecs(&bytes), vec![want], "{n} rows");
        let v2 = encode_store_as(m.store(), 2, None).unwrap();
        assert_eq!(version(&v2), "2");
        assert_eq!(codecs(&v2), vec![None]);
        if n >= COMPRESS_MIN_ROWS {
            assert!(
                bytes.len() * 2 < v2.len(),
                "{} vs {}",
                bytes.len(),
                v2.len()
            );
        }
        let back = MVMap::<u64, u64>::from_bytes(&bytes, "a").unwrap();
        assert_eq!(back.digest(), m.digest());
        assert_eq!(back.to_bytes().unwrap(), bytes, "re-encodes to itself");
        // the other choice is refused: compression is decided by the row count
        let other = encode_store_as(m.store(), 3, (n < COMPRESS_MIN_ROWS).then_some(1)).unwrap();
        let err = MVMap::<u64, u64>::from_bytes(&other, "a").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode(DecodeError::NotCanonical("buffer compression"))
            ),
            "{n}: {err}"
        );
    }
}

#[test]
fn every_kind_roundtrips_compressed_and_from_format_2() {
    let mut rng = Rng(16);
    let n = 3 * COMPRESS_MIN_ROWS;
    let m = mvmap(n);
    let mut s: AWSet<Vec<u8>> = AWSet::new("s");
    let elems: Vec<Vec<u8>> = (0..n).map(|i| format!("e{i}").into_bytes()).collect();
    s.add_many(&elems).unwrap();
    let mut p: PNCounterMap<i64> = PNCounterMap::new("p");
    for i in 0..n as i64 {
        p.increment(i, rng.below(1000) + 1).unwrap();
    }
    let mut l: LWWMap<u64, String> = LWWMap::new("l");
    for i in 0..n as u64 {
        l.set(i, format!("v{}", rng.below(50)), rng.below(1 << 40))
            .unwrap();
    }
    for i in (0..n as u64).step_by(3) {
        l.remove(i, 1 << 41).unwrap();
    }
    macro_rules! check {
        ($st:expr) => {{
            let st = $st;
            let bytes = st.to_bytes().unwrap();
            assert_eq!(codecs(&bytes), vec![Some(CompressionType::ZSTD)]);
            roundtrip(st, &bytes);
            let v2 = encode_store_as(st, 2, None).unwrap();
            roundtrip(st, &v2);
            // another level is another encoding of the same content: it decodes
            for level in [1, 3, 9] {
                roundtrip(st, &encode_store_as(st, 3, Some(level)).unwrap());
            }
            // no compression where the rule has it: refused
            let plain = encode_store_as(st, 3, None).unwrap();
            assert!(matches!(
                roundtrip_err(st, &plain),
                Error::Decode(DecodeError::NotCanonical("buffer compression"))
            ));
        }};
    }
    check!(m.store());
    check!(s.store());
    check!(p.store());
    check!(l.store());
}

#[test]
fn multi_batch_streams_compress_each_batch() {
    let m = mvmap(2000);
    with_rows_per_batch(300, || {
        let bytes = m.to_bytes().unwrap();
        let c = codecs(&bytes);
        assert!(c.len() > 2 && c.iter().all(|c| *c == Some(CompressionType::ZSTD)));
        roundtrip(m.store(), &bytes);
        roundtrip(m.store(), &encode_store_as(m.store(), 2, None).unwrap());
    });
}

#[test]
fn format_2_cannot_be_written_compressed() {
    let m = mvmap(300);
    assert!(matches!(
        encode_store_as(m.store(), 2, Some(1)),
        Err(Error::Encode(_))
    ));
    assert!(matches!(
        encode_store_as(m.store(), 4, None),
        Err(Error::Encode(_))
    ));
}

/// The stream another writer following the docs writes for `store`: its record batches,
/// `version` in the metadata, written with `opts` and sealed with the documented checksum.
fn sealed_with(store: &CausalStore<String, i64>, version: &str, opts: IpcWriteOptions) -> Vec<u8> {
    let (schema, batches) = to_record_batches(store).unwrap();
    let mut meta = schema.metadata().clone();
    meta.insert("pluriverse.format", version);
    let schema = Arc::new(Schema::new(schema.fields().clone()).with_metadata(meta));
    let mut w = StreamWriter::try_new_with_options(Vec::new(), &schema, opts).unwrap();
    let head = w.get_ref().len();
    for b in &batches {
        w.write(&RecordBatch::try_new(schema.clone(), b.columns().to_vec()).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    seal_written(&schema, &w.into_inner().unwrap(), head)
}

#[test]
fn a_writer_following_the_docs_is_read_and_other_compressions_are_refused() {
    let m = mvmap(1000);
    let zstd = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::ZSTD))
        .unwrap()
        .try_with_compression_level(Some(pluriverse::wire::ZSTD_LEVEL))
        .unwrap();
    // the documented checksum and compression are this library's
    let ours = sealed_with(m.store(), "3", zstd.clone());
    assert_eq!(ours, m.to_bytes().unwrap());
    let plain = sealed_with(m.store(), "2", IpcWriteOptions::default());
    assert_eq!(plain, encode_store_as(m.store(), 2, None).unwrap());
    roundtrip(m.store(), &plain);
    // LZ4 (the other Arrow codec) is not the format's; format 2 has no compression
    let lz4 = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::LZ4_FRAME))
        .unwrap();
    for (version, opts, what) in [
        ("3", lz4.clone(), "buffer compression codec"),
        ("2", lz4, "buffer compression"),
        ("2", zstd, "buffer compression"),
    ] {
        let bytes = sealed_with(m.store(), version, opts);
        let err = MVMap::<String, i64>::from_bytes(&bytes, "x").unwrap_err();
        assert!(
            matches!(&err, Error::Decode(DecodeError::NotCanonical(w)) if *w == what),
            "{version}: {err}"
        );
    }
}

/// Offsets in `bytes` of the 8-byte uncompressed-length prefixes of the first record
/// batch's non-empty buffers.
fn prefixes(bytes: &[u8]) -> Vec<usize> {
    let (s, m, _) = messages(bytes)
        .into_iter()
        .find(|&(s, m, _)| {
            m > s + 8
                && arrow_ipc::root_as_message(&bytes[s + 8..m])
                    .unwrap()
                    .header_as_record_batch()
                    .is_some()
        })
        .unwrap();
    let msg = arrow_ipc::root_as_message(&bytes[s + 8..m]).unwrap();
    let rb = msg.header_as_record_batch().unwrap();
    assert!(rb.compression().is_some());
    rb.buffers()
        .unwrap()
        .iter()
        .filter(|b| b.length() > 0)
        .map(|b| m + b.offset() as usize)
        .collect()
}

#[test]
fn declared_uncompressed_sizes_are_bounded_before_decompressing() {
    let m = mvmap(2000);
    let bytes = m.to_bytes().unwrap();
    let len = |b: &[u8], at: usize| i64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let total: i64 = prefixes(&bytes)
        .iter()
        .map(|&p| len(&bytes, p))
        .map(|l| l.max(0))
        .sum();
    assert!(
        total as usize > bytes.len(),
        "compressed: {total} > {}",
        bytes.len()
    );
    // a limit below the decompressed size refuses the stream, though the input is within it
    let strict = Limits {
        max_bytes: bytes.len() + 64,
        ..Limits::default()
    };
    let err = CausalStore::<String, i64>::from_bytes_with_limits(&bytes, &strict).unwrap_err();
    assert!(
        matches!(err, Error::Decode(DecodeError::Limit { what: "bytes", .. })),
        "{err}"
    );
    // a buffer claiming 2^40 bytes: refused from the framing (no 1 TiB allocation), before
    // the checksum is even looked at
    let mut rng = Rng(7);
    for &p in &prefixes(&bytes) {
        for claim in [1i64 << 40, i64::MAX & !7, (1 << 20) + 8] {
            let mut bad = bytes.clone();
            bad[p..p + 8].copy_from_slice(&claim.to_le_bytes());
            let limits = Limits {
                max_bytes: 1 << 20,
                ..Limits::default()
            };
            let err = CausalStore::<String, i64>::from_bytes_with_limits(&bad, &limits);
            assert!(
                matches!(
                    err,
                    Err(Error::Decode(DecodeError::Limit { what: "bytes", .. }))
                ),
                "{err:?}"
            );
        }
        // lengths that are no length, or not whole elements: refused, as is any other
        // change to a prefix (by the checksum)
        for claim in [-2i64, i64::MIN, 0, 1 + rng.below(3) as i64] {
            let mut bad = bytes.clone();
            bad[p..p + 8].copy_from_slice(&claim.to_le_bytes());
            assert!(CausalStore::<String, i64>::from_bytes(&bad).is_err());
        }
    }
    // a flipped bit inside the compressed data: the checksum refuses it
    let p = prefixes(&bytes)[0];
    let mut bad = bytes.clone();
    bad[p + 12] ^= 1;
    let err = CausalStore::<String, i64>::from_bytes(&bad).unwrap_err();
    assert!(
        matches!(err, Error::Decode(DecodeError::Checksum { .. })),
        "{err}"
    );
}

/// The format-3 seeds of the `decode` fuzz target (`fuzz/seeds/decode/v3-*`), by name, with
/// whether they are valid states (the others are hostile shapes that must be refused).
fn format_3_seeds() -> Vec<(&'static str, bool, Vec<u8>)> {
    let n = COMPRESS_MIN_ROWS + 44;
    let m = mvmap(n);
    let mut s: AWSet<Vec<u8>> = AWSet::new("s");
    let elems: Vec<Vec<u8>> = (0..n).map(|i| format!("e{i}").into_bytes()).collect();
    s.add_many(&elems).unwrap();
    let mut p: PNCounterMap<i64> = PNCounterMap::new("p");
    let mut l: LWWMap<u64, String> = LWWMap::new("l");
    for i in 0..n as i64 {
        p.increment(i - 100, (i as u64 % 13) + 1).unwrap();
        l.set(i as u64, format!("v{}", i % 9), 1 + i as u64)
            .unwrap();
    }
    for i in (0..n as u64).step_by(5) {
        l.remove(i, 1 << 20).unwrap();
    }
    let bytes = m.to_bytes().unwrap();
    let mut huge = bytes.clone();
    let at = prefixes(&bytes)[1];
    huge[at..at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
    let lz4 = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::LZ4_FRAME))
        .unwrap();
    let zstd = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::ZSTD))
        .unwrap();
    vec![
        ("v3-mvmap-utf8-int64-zstd", true, bytes),
        ("v3-awset-binary-zstd", true, s.to_bytes().unwrap()),
        ("v3-pncounter-int64-zstd", true, p.to_bytes().unwrap()),
        (
            "v3-lww-uint64-utf8-zstd-tombstones",
            true,
            l.to_bytes().unwrap(),
        ),
        (
            "v3-mvmap-small-uncompressed",
            true,
            mvmap(20).to_bytes().unwrap(),
        ),
        ("v3-buffer-declares-1tib", false, huge),
        ("v3-lz4", false, sealed_with(m.store(), "3", lz4)),
        (
            "v3-uncompressed-large",
            false,
            encode_store_as(m.store(), 3, None).unwrap(),
        ),
        (
            "v3-compressed-small",
            false,
            encode_store_as(mvmap(20).store(), 3, Some(1)).unwrap(),
        ),
        (
            "v3-format2-compressed",
            false,
            sealed_with(m.store(), "2", zstd),
        ),
        (
            "v3-multibatch-100rows",
            false,
            with_rows_per_batch(100, || m.to_bytes().unwrap()),
        ),
    ]
}

#[test]
fn format_3_fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/decode");
    for (name, valid, bytes) in format_3_seeds() {
        let stored = std::fs::read(dir.join(name)).expect("seed written (write_format_3_seeds)");
        assert_eq!(
            stored, bytes,
            "{name}: regenerate with write_format_3_seeds"
        );
        let back = decode_and_reencode(&stored);
        assert_eq!(back.is_ok(), valid, "{name}: {back:?}");
        if let Ok(re) = back {
            assert_eq!(re, stored, "{name} re-encodes to itself");
        }
    }
}

/// Decodes a seed as the kind its schema names and re-encodes it.
fn decode_and_reencode(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let kind = read_schema(bytes)
        .map(|s| {
            s.metadata()
                .get("pluriverse.kind")
                .cloned()
                .unwrap_or_default()
        })
        .unwrap_or_default();
    match kind.as_str() {
        "MVMap" => CausalStore::<String, i64>::from_bytes(bytes)?.to_bytes(),
        "AWSet" => CausalStore::<Vec<u8>, ()>::from_bytes(bytes)?.to_bytes(),
        "PNCounterMap" => CausalStore::<i64, (u64, u64)>::from_bytes(bytes)?.to_bytes(),
        _ => CausalStore::<u64, pluriverse::LwwCell<String>>::from_bytes(bytes)?.to_bytes(),
    }
}

/// Writes the format-3 seeds of the `decode` fuzz target (`fuzz/seeds/decode/v3-*`). Run
/// with `cargo test -p pluriverse --test compression -- --ignored write_format_3_seeds`.
#[test]
#[ignore = "writes files; run by hand to refresh the fuzz seeds"]
fn write_format_3_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/decode");
    for (name, _, bytes) in format_3_seeds() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
