//! Contract 8 and hostile input: a state or delta carries what lets a reader know it is
//! whole and unaltered (row count, checksum, end marker). Truncated copies (at a record
//! batch boundary too), bit flips, dictionary deltas and states no honest replica writes are
//! refused, and a refused join leaves the target unchanged.

mod common;
use common::{seal, Rng};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{ArrayRef, BinaryArray, DictionaryArray, RecordBatch, UInt32Array, UInt64Array};
use arrow_ipc::writer::{DictionaryHandling, IpcWriteOptions, StreamWriter};
use arrow_schema::{DataType, Field, Schema};
use pluriverse::wire::{with_rows_per_batch, DecodeError, Limits};
use pluriverse::{CausalStore, Error, LWWMap, MVMap, PNCounterMap};

/// The byte ranges of a stream's messages, found by walking the IPC framing here (not with
/// the library's code): `(start, end)` of each message, the end-of-stream marker last.
fn messages(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let mut pos = 0;
    loop {
        let word = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
        assert_eq!(word(pos), 0xFFFF_FFFF, "continuation marker");
        let len = word(pos + 4);
        if len == 0 {
            out.push((pos, pos + 8));
            return out;
        }
        let meta = &bytes[pos + 8..pos + 8 + len];
        let body = arrow_ipc::root_as_message(meta).unwrap().bodyLength() as usize;
        out.push((pos, pos + 8 + len + body));
        pos += 8 + len + body;
    }
}

fn decode_error<T: std::fmt::Debug>(r: Result<T, Error>) -> DecodeError {
    match r {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// A state of `n` keys written by two replicas (so its context names both).
fn state(n: u64) -> MVMap<u64, u64> {
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    let keys: Vec<u64> = (0..n).collect();
    a.set_many(&keys[..n as usize / 2], &keys[..n as usize / 2])
        .unwrap();
    b.set_many(&keys[n as usize / 2..], &keys[n as usize / 2..])
        .unwrap();
    a.join(b.store());
    a
}

#[test]
fn a_copy_cut_at_a_record_batch_boundary_is_refused_and_deletes_nothing() {
    // 4 rows per batch: 10 entries make 3 record batches (the same code path as 2^20)
    with_rows_per_batch(4, || {
        let whole = state(10);
        let bytes = whole.to_bytes().unwrap();
        let msgs = messages(&bytes);
        // schema, dictionary, 3 batches, end marker
        assert_eq!(msgs.len(), 6, "{msgs:?}");
        // the naive model of what the healthy replica holds
        let model: BTreeMap<u64, Vec<u64>> = (0..10).map(|k| (k, whole.get(&k))).collect();
        let mut healthy = MVMap::<u64, u64>::from_bytes(&bytes, "healthy").unwrap();
        let before = healthy.to_bytes().unwrap();
        let eos = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
        for &(_, end) in &msgs[..msgs.len() - 1] {
            // cut after a whole message: the end marker is missing
            let cut = &bytes[..end];
            let e = decode_error(healthy.join_bytes(cut));
            assert!(matches!(e, DecodeError::Truncated { .. }), "{e:?}");
            // ... and with an end marker patched on: the rows do not add up (or, after the
            // last batch, the same bytes as the whole stream)
            let mut patched = cut.to_vec();
            patched.extend_from_slice(&eos);
            if patched != bytes {
                let e = decode_error(healthy.join_bytes(&patched));
                assert!(
                    matches!(
                        e,
                        DecodeError::RowCount { .. } | DecodeError::Checksum { .. }
                    ),
                    "cut at {end}: {e:?}"
                );
            }
        }
        // a batch dropped from the middle, end marker kept
        let (s2, e2) = msgs[3];
        let mut dropped = bytes[..s2].to_vec();
        dropped.extend_from_slice(&bytes[e2..]);
        let e = decode_error(healthy.join_bytes(&dropped));
        assert!(matches!(e, DecodeError::RowCount { .. }), "{e:?}");
        // only the end marker removed
        let e = decode_error(healthy.join_bytes(&bytes[..bytes.len() - 8]));
        assert!(
            matches!(
                e,
                DecodeError::Truncated {
                    what: "end-of-stream marker",
                    ..
                }
            ),
            "{e:?}"
        );
        // bytes after the end marker
        let mut longer = bytes.clone();
        longer.extend_from_slice(&eos);
        let e = decode_error(healthy.join_bytes(&longer));
        assert!(matches!(e, DecodeError::TrailingBytes { .. }), "{e:?}");
        // every cut anywhere, not only at boundaries
        for cut in 0..bytes.len() {
            assert!(healthy.join_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            healthy.to_bytes().unwrap(),
            before,
            "refused joins change nothing"
        );
        for (k, v) in &model {
            assert_eq!(&healthy.get(k), v, "key {k} kept");
        }
        // the whole stream still joins, and decodes to the same state
        healthy.join_bytes(&bytes).unwrap();
        assert_eq!(healthy.digest(), whole.digest());
    });
}

#[test]
fn multi_batch_states_round_trip_and_batch_sizes_are_canonical() {
    with_rows_per_batch(3, || {
        for n in [0, 1, 2, 3, 4, 6, 7] {
            let s = state(n);
            let bytes = s.to_bytes().unwrap();
            let back = MVMap::<u64, u64>::from_bytes(&bytes, "x").unwrap();
            assert_eq!(back.to_bytes().unwrap(), bytes);
            assert_eq!(back.digest(), s.digest());
            // batches: one (empty) for an empty state, else ceil(n / 3)
            let batches = messages(&bytes).len() - 3;
            assert_eq!(batches as u64, if n == 0 { 1 } else { n.div_ceil(3) });
        }
        // the same state re-batched at 2 rows (sealed as the docs say) is not canonical here
        let s = state(6);
        let (schema, batches) = s.store().to_record_batches().unwrap();
        let all = arrow_select_concat(&schema, &batches);
        let rebatched: Vec<RecordBatch> = (0..3).map(|i| all.slice(i * 2, 2)).collect();
        let e = decode_error(MVMap::<u64, u64>::from_bytes(
            &seal(&schema, &rebatched),
            "x",
        ));
        assert!(matches!(e, DecodeError::NotCanonical(_)), "{e:?}");
        // while the documented sealing of the canonical batches is accepted as it is
        let sealed = seal(&schema, &batches);
        assert_eq!(sealed, s.to_bytes().unwrap());
    });
}

/// The rows of `batches` as one batch (a test helper: copies row by row).
fn arrow_select_concat(schema: &Arc<Schema>, batches: &[RecordBatch]) -> RecordBatch {
    let cols = (0..schema.fields().len())
        .map(|c| {
            let parts: Vec<&dyn arrow_array::Array> =
                batches.iter().map(|b| b.column(c).as_ref()).collect();
            concat(&parts)
        })
        .collect();
    RecordBatch::try_new(schema.clone(), cols).unwrap()
}

fn concat(parts: &[&dyn arrow_array::Array]) -> ArrayRef {
    use arrow_array::cast::AsArray;
    match parts[0].data_type() {
        DataType::UInt64 => Arc::new(UInt64Array::from_iter_values(parts.iter().flat_map(|p| {
            p.as_primitive::<arrow_array::types::UInt64Type>()
                .values()
                .to_vec()
        }))),
        DataType::Dictionary(..) => {
            let d0 = parts[0].as_dictionary::<UInt32Type>();
            let keys = UInt32Array::from_iter_values(
                parts
                    .iter()
                    .flat_map(|p| p.as_dictionary::<UInt32Type>().keys().values().to_vec()),
            );
            Arc::new(DictionaryArray::<UInt32Type>::try_new(keys, d0.values().clone()).unwrap())
        }
        t => panic!("unexpected type {t}"),
    }
}

/// Flips bits of `bytes` (every bit when `sample` is `None`, else `sample` seeded ones) and
/// checks each is refused or decodes to a state that re-encodes to exactly the input.
/// Returns how many were accepted.
fn flips(bytes: &[u8], sample: Option<usize>, decode: impl Fn(&[u8]) -> Option<Vec<u8>>) -> usize {
    let mut g = Rng(99);
    let positions: Vec<usize> = match sample {
        None => (0..bytes.len() * 8).collect(),
        Some(n) => (0..n)
            .map(|_| g.below(bytes.len() as u64 * 8) as usize)
            .collect(),
    };
    let mut accepted = 0;
    for bit in positions {
        let mut bad = bytes.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        if let Some(again) = decode(&bad) {
            accepted += 1;
            assert_eq!(again, bad, "bit {bit}: accepted but not canonical");
        }
    }
    accepted
}

#[test]
fn every_single_bit_flip_is_refused() {
    // a 50-key state with concurrent values, removes and a dot cloud
    let mut a: MVMap<String, i64> = MVMap::new("alpha");
    let mut b: MVMap<String, i64> = MVMap::new("beta");
    let mut g = Rng(5);
    for i in 0..120 {
        let k = format!("k{}", g.below(50));
        let (x, y) = if i % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let d = if g.below(5) == 0 {
            x.remove(&k)
        } else {
            x.set(k, g.below(1 << 40) as i64).unwrap()
        };
        if g.below(3) != 0 {
            y.join(&d);
        }
    }
    let bytes = a.to_bytes().unwrap();
    let accepted = flips(&bytes, None, |b| {
        MVMap::<String, i64>::from_bytes(b, "z")
            .ok()
            .map(|m| m.to_bytes().unwrap())
    });
    assert_eq!(accepted, 0, "of {} flips", bytes.len() * 8);

    // the other kinds, sampled: counters, and LWW with tombstones (null slots)
    let mut p: PNCounterMap<u64> = PNCounterMap::new("p");
    p.increment_many(&(0..50).collect::<Vec<_>>(), &[3; 50])
        .unwrap();
    p.decrement(7, 1).unwrap();
    let bytes = p.to_bytes().unwrap();
    let accepted = flips(&bytes, Some(3000), |b| {
        PNCounterMap::<u64>::from_bytes(b, "z")
            .ok()
            .map(|m| m.to_bytes().unwrap())
    });
    assert_eq!(accepted, 0);
    let mut l: LWWMap<String, String> = LWWMap::new("l");
    for k in 0..50 {
        l.set(format!("k{k}"), format!("v{k}"), k).unwrap();
    }
    for k in 0..10 {
        l.remove(format!("k{k}"), 100).unwrap();
    }
    let bytes = l.to_bytes().unwrap();
    let accepted = flips(&bytes, Some(3000), |b| {
        LWWMap::<String, String>::from_bytes(b, "z")
            .ok()
            .map(|m| m.to_bytes().unwrap())
    });
    assert_eq!(accepted, 0);
}

/// A `PNCounterMap<u64>` stream with the given rows `(key, replica index, counter, inc, dec)`
/// over replicas `names` with context prefixes `prefixes`, sealed as the docs say.
fn pn_stream(rows: &[(u64, u32, u64, u64, u64)], names: &[&[u8]], prefixes: &[u64]) -> Vec<u8> {
    let mut ctx = vec![];
    for p in prefixes {
        ctx.extend_from_slice(&p.to_le_bytes());
        ctx.extend_from_slice(&0u64.to_le_bytes());
    }
    let schema = Arc::new(
        Schema::new(vec![
            Field::new("key", DataType::UInt64, false),
            Field::new(
                "replica",
                DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Binary)),
                false,
            ),
            Field::new("counter", DataType::UInt64, false),
            Field::new("increments", DataType::UInt64, false),
            Field::new("decrements", DataType::UInt64, false),
        ])
        .with_metadata(HashMap::from([
            ("pluriverse.kind".to_string(), "PNCounterMap".to_string()),
            ("pluriverse.format".to_string(), "2".to_string()),
            ("pluriverse.context".to_string(), common::base64(&ctx)),
        ])),
    );
    let dict: ArrayRef = Arc::new(BinaryArray::from_iter_values(names.iter()));
    let keys = UInt32Array::from_iter_values(rows.iter().map(|r| r.1));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(DictionaryArray::<UInt32Type>::try_new(keys, dict).unwrap()),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.3))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.4))),
    ];
    seal(
        &schema,
        &[RecordBatch::try_new(schema.clone(), cols).unwrap()],
    )
}

#[test]
fn a_counter_may_hold_two_cells_of_one_replica_after_joining_slices() {
    // why the decoder accepts it: dot-range sync ships a replica's later cell (dot 2) in
    // one slice and the dot of the cell it replaced in another; a replica that held the
    // earlier cell and has joined only the later slice holds both until the other arrives
    let mut a: PNCounterMap<u64> = PNCounterMap::new("a");
    let mut b: PNCounterMap<u64> = PNCounterMap::new("b");
    b.join(&a.increment(5, 1).unwrap());
    a.increment(5, 3).unwrap();
    b.join(&a.store().slice(&"a".into(), 2, 2));
    assert_eq!(b.store().entries().len(), 2);
    assert_eq!(b.value(&5), 4, "reads take the replica's latest cell");
    let bytes = b.to_bytes().unwrap();
    let back = PNCounterMap::<u64>::from_bytes(&bytes, "b").unwrap();
    assert_eq!(back.value(&5), 4);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    // the other slice retires the earlier cell
    b.join(&a.store().slice(&"a".into(), 1, 1));
    assert_eq!(b.store().entries().len(), 1);
    assert_eq!(b.digest(), a.digest());
    // the same shape, written by hand, decodes too
    let two = pn_stream(&[(5, 0, 1, 1, 0), (5, 0, 2, 4, 1)], &[b"a"], &[2]);
    let p = PNCounterMap::<u64>::from_bytes(&two, "x").unwrap();
    assert_eq!(p.value(&5), 3);
    // two replicas' cells for one key are what a counter is made of
    let both = pn_stream(&[(5, 0, 1, 1, 0), (5, 1, 1, 4, 1)], &[b"a", b"b"], &[1, 1]);
    let p = PNCounterMap::<u64>::from_bytes(&both, "x").unwrap();
    assert_eq!(p.value(&5), 4);
}

#[test]
fn an_mvmap_may_hold_two_values_of_one_replica_for_a_key_after_a_lost_remove() {
    // why the decoder accepts this for MVMap: an honest run gets there
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    b.join(&a.set(1, 10).unwrap());
    let _lost = a.remove(&1);
    b.join(&a.set(1, 20).unwrap());
    assert_eq!(b.store().entries().len(), 2);
    let bytes = b.to_bytes().unwrap();
    let back = MVMap::<u64, u64>::from_bytes(&bytes, "b").unwrap();
    assert_eq!(back.get(&1), vec![20], "reads show the replica's latest");
    assert_eq!(back.to_bytes().unwrap(), bytes);
}

/// A stream of `n` record batches of 0 rows, each adding one replica name to the
/// dictionary (as dictionary deltas, or as whole replacement dictionaries), sealed.
fn dictionary_stream(n: usize, handling: DictionaryHandling) -> Vec<u8> {
    let schema = Arc::new(
        Schema::new(vec![
            Field::new("key", DataType::UInt64, false),
            Field::new(
                "replica",
                DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Binary)),
                false,
            ),
            Field::new("counter", DataType::UInt64, false),
            Field::new("value", DataType::UInt64, false),
        ])
        .with_metadata(HashMap::from([
            ("pluriverse.kind".to_string(), "MVMap".to_string()),
            ("pluriverse.format".to_string(), "2".to_string()),
            ("pluriverse.context".to_string(), String::new()),
            ("pluriverse.rows".to_string(), "0".to_string()),
        ])),
    );
    let opts = IpcWriteOptions::default().with_dictionary_handling(handling);
    let mut w = StreamWriter::try_new_with_options(Vec::new(), &schema, opts).unwrap();
    let head = w.get_ref().len();
    let mut names: Vec<Vec<u8>> = vec![];
    for i in 0..n {
        names.push(format!("r{i:08}").into_bytes());
        let dict: ArrayRef = Arc::new(BinaryArray::from_iter_values(names.iter()));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(Vec::<u64>::new())),
            Arc::new(
                DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(Vec::<u32>::new()), dict)
                    .unwrap(),
            ),
            Arc::new(UInt64Array::from(Vec::<u64>::new())),
            Arc::new(UInt64Array::from(Vec::<u64>::new())),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    common::seal_written(&schema, &w.into_inner().unwrap(), head)
}

#[test]
fn dictionary_deltas_and_second_dictionaries_are_refused_before_decoding() {
    // 2,000 deltas of one name each: refused from the framing (the old decoder concatenated
    // every delta into a new dictionary: quadratic memory)
    let bytes = dictionary_stream(2_000, DictionaryHandling::Delta);
    let e = decode_error(CausalStore::<u64, u64>::from_bytes(&bytes));
    assert!(matches!(e, DecodeError::Replicas(_)), "{e:?}");
    // replacement dictionaries: each within max_replicas, more than one refused
    let bytes = dictionary_stream(3, DictionaryHandling::Resend);
    let e = decode_error(CausalStore::<u64, u64>::from_bytes(&bytes));
    assert!(matches!(e, DecodeError::Replicas(_)), "{e:?}");
    // one dictionary over the limit: refused from the framing, whatever the rows
    let bytes = dictionary_stream(1, DictionaryHandling::Resend);
    let tight = Limits {
        max_replicas: 0,
        ..Limits::default()
    };
    let e = decode_error(CausalStore::<u64, u64>::from_bytes_with_limits(
        &bytes, &tight,
    ));
    assert!(
        matches!(
            e,
            DecodeError::Limit {
                what: "replicas",
                limit: 0,
                found: 1
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_forged_context_near_u64_max_is_refused() {
    // a delta with no rows claiming counter 2^64-1 of a replica
    let bytes = pn_stream(&[], &[b"victim"], &[u64::MAX]);
    let e = decode_error(PNCounterMap::<u64>::from_bytes(&bytes, "x"));
    assert!(
        matches!(
            e,
            DecodeError::Limit {
                what: "counter",
                ..
            }
        ),
        "{e:?}"
    );
    let at = pluriverse::wire::MAX_COUNTER;
    assert!(PNCounterMap::<u64>::from_bytes(&pn_stream(&[], &[b"v"], &[at]), "x").is_ok());
    assert!(PNCounterMap::<u64>::from_bytes(&pn_stream(&[], &[b"v"], &[at + 1]), "x").is_err());
}

/// Writes the hand-made seeds of the `decode` fuzz target (`fuzz/seeds/decode/v2-*`):
/// valid states of every kind in format 2, and the hostile shapes this file tests (cuts at
/// record-batch boundaries, a missing end marker, trailing bytes, dictionary deltas, two
/// dictionaries, non-canonical batch sizes, forged counters, a version-1 stream). Run with
/// `cargo test -p pluriverse --test integrity -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes files; run by hand to refresh the fuzz seeds"]
fn write_fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/decode");
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let eos = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
    // the seeds are format 2 (their names say so; format 3's are written by
    // `write_format_3_seeds` in tests/compression.rs)
    fn v2<K: pluriverse::wire::ArrowItem, V: pluriverse::wire::Cells>(
        s: &CausalStore<K, V>,
    ) -> Vec<u8> {
        pluriverse::wire::encode_store_as(s, 2, None).unwrap()
    }
    // valid states
    let mut m: MVMap<String, i64> = MVMap::new("alpha");
    m.set("k".into(), 1).unwrap();
    m.set("j".into(), -2).unwrap();
    m.remove(&"j".into());
    put("v2-mvmap-utf8-int64", &v2(m.store()));
    let mut p: PNCounterMap<u64> = PNCounterMap::new("p");
    p.increment(1, 3).unwrap();
    p.decrement(2, 1).unwrap();
    put("v2-pncounter-uint64", &v2(p.store()));
    let mut l: LWWMap<Vec<u8>, String> = LWWMap::new("l");
    l.set(b"a".to_vec(), "x".into(), 5).unwrap();
    l.remove(b"b".to_vec(), 6).unwrap();
    put("v2-lww-binary-utf8-tombstone", &v2(l.store()));
    let mut s: pluriverse::AWSet<i64> = pluriverse::AWSet::new("s");
    s.add_many(&[1, 2, 3]).unwrap();
    put("v2-awset-int64", &v2(s.store()));
    put("v2-empty-mvmap", &v2(MVMap::<u64, i64>::new("e").store()));
    // a large-enough state at the default batch size is many MiB; at 4 rows per batch the
    // same framing is small (refused as non-canonical at the default size, which is fine:
    // the fuzzer mutates from it)
    with_rows_per_batch(4, || {
        let bytes = v2(state(10).store());
        put("v2-multibatch-4rows", &bytes);
        let msgs = messages(&bytes);
        let end = msgs[2].1; // schema, dictionary, first batch
        put("v2-cut-after-first-batch", &bytes[..end]);
        let mut patched = bytes[..end].to_vec();
        patched.extend_from_slice(&eos);
        put("v2-cut-after-first-batch-eos-patched", &patched);
    });
    let bytes = v2(state(10).store());
    put("v2-end-marker-missing", &bytes[..bytes.len() - 8]);
    let mut longer = bytes.clone();
    longer.extend_from_slice(&eos);
    put("v2-trailing-bytes", &longer);
    put(
        "v2-dictionary-deltas",
        &dictionary_stream(50, DictionaryHandling::Delta),
    );
    put(
        "v2-two-dictionaries",
        &dictionary_stream(2, DictionaryHandling::Resend),
    );
    // (built from the current format's batches: the committed seed predates format 3 and
    // still says format 2; both are refused for their batch sizes)
    let s = state(6);
    let (schema, batches) = s.store().to_record_batches().unwrap();
    let all = arrow_select_concat(&schema, &batches);
    let rebatched: Vec<RecordBatch> = (0..3).map(|i| all.slice(i * 2, 2)).collect();
    put("v2-noncanonical-batch-sizes", &seal(&schema, &rebatched));
    put(
        "v2-forged-counter-max",
        &pn_stream(&[], &[b"a", b"b"], &[u64::MAX, u64::MAX]),
    );
    put(
        "v2-pncounter-two-cells-one-replica",
        &pn_stream(&[(5, 0, 1, 1, 0), (5, 0, 2, 4, 1)], &[b"a"], &[2]),
    );
}
