//! Arrow IPC states and deltas: round trips for every kind, canonical bytes, and hostile
//! input (truncated, bit-flipped, wrong schema or kind, lying contents) rejected with a
//! specific error, never a panic, with the target state unchanged.

mod common;
use common::{seal, Rng};

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{ArrayRef, BinaryArray, DictionaryArray, RecordBatch, UInt32Array, UInt64Array};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
use pluriverse::wire::{DecodeError, Limits};
use pluriverse::{AWSet, CausalStore, Error, LWWMap, MVMap, PNCounterMap};

/// Two replicas with concurrent writes, removes, and a partial exchange, so the state has
/// several replicas, concurrent values and a dot cloud.
fn mvmap_pair(g: &mut Rng) -> (MVMap<String, i64>, MVMap<String, i64>) {
    let mut a: MVMap<String, i64> = MVMap::new("alpha");
    let mut b: MVMap<String, i64> = MVMap::new(b"\xffbeta".to_vec());
    for _ in 0..40 {
        let k = format!("k{}", g.below(12));
        let (x, y) = if g.below(2) == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let d = if g.below(4) == 0 {
            x.remove(&k)
        } else {
            x.set(k, g.below(1000) as i64).unwrap()
        };
        if g.below(3) != 0 {
            y.join(&d);
        }
    }
    (a, b)
}

#[test]
fn every_kind_round_trips() {
    let mut g = Rng(1);
    for _ in 0..50 {
        let (a, _) = mvmap_pair(&mut g);
        let bytes = a.to_bytes().unwrap();
        let back = MVMap::<String, i64>::from_bytes(&bytes, "someone-else").unwrap();
        let sorted = |m: &MVMap<String, i64>| {
            let mut e = m.store().entries();
            e.sort_by(|x, y| (&x.0, &x.1, x.2).cmp(&(&y.0, &y.1, y.2)));
            e
        };
        assert_eq!(sorted(&back), sorted(&a));
        assert_eq!(back.context(), a.context());
        assert_eq!(back.digest(), a.digest());
        assert_eq!(back.to_bytes().unwrap(), bytes, "re-encoding is canonical");
    }
    let mut s: AWSet<u64> = AWSet::new("s");
    s.add_many(&[1, 2, 3, u64::MAX]).unwrap();
    s.remove(&2);
    let back = AWSet::<u64>::from_bytes(&s.to_bytes().unwrap(), "t").unwrap();
    assert_eq!(back.digest(), s.digest());
    assert!(back.contains(&u64::MAX) && !back.contains(&2));

    let mut p: PNCounterMap<Vec<u8>> = PNCounterMap::new("p");
    p.increment(b"x".to_vec(), 7).unwrap();
    p.decrement(b"y".to_vec(), 3).unwrap();
    let back = PNCounterMap::<Vec<u8>>::from_bytes(&p.to_bytes().unwrap(), "q").unwrap();
    assert_eq!(
        (back.value(&b"x".to_vec()), back.value(&b"y".to_vec())),
        (7, -3)
    );

    let mut l: LWWMap<i64, f64> = LWWMap::new("l");
    l.set(-5, 1.5, 10).unwrap();
    l.set(6, f64::NAN, 11).unwrap();
    l.remove(-5, 20).unwrap();
    let bytes = l.to_bytes().unwrap();
    let back = LWWMap::<i64, f64>::from_bytes(&bytes, "m").unwrap();
    assert_eq!(back.get(&-5), None, "tombstone survives the round trip");
    assert!(back.get(&6).unwrap().is_nan());
    assert_eq!(back.digest(), l.digest());

    let mut bm: LWWMap<u64, bool> = LWWMap::new("b");
    bm.set(1, true, 1).unwrap();
    let back = LWWMap::<u64, bool>::from_bytes(&bm.to_bytes().unwrap(), "b").unwrap();
    assert_eq!(back.get(&1), Some(true));
}

#[test]
fn equal_states_give_identical_bytes_whatever_the_interning_order() {
    let mut x: MVMap<u64, u64> = MVMap::new("x");
    let mut y: MVMap<u64, u64> = MVMap::new("y");
    let dx = x.set(1, 10).unwrap();
    let dy = y.set(1, 20).unwrap();
    let mut p: MVMap<u64, u64> = MVMap::new("p");
    let mut q: MVMap<u64, u64> = MVMap::new("q");
    p.join(&dx);
    p.join(&dy);
    q.join(&dy);
    q.join(&dx);
    assert_eq!(p.to_bytes().unwrap(), q.to_bytes().unwrap());
    // the handle's own replica name (interned by a failed or empty write) is not in the bytes
    let before = p.to_bytes().unwrap();
    p.remove(&99);
    assert_eq!(p.to_bytes().unwrap(), before);
}

#[test]
fn deltas_travel_as_bytes_and_record_batches_are_readable() {
    let mut a: MVMap<u64, i64> = MVMap::new("a");
    let mut b: MVMap<u64, i64> = MVMap::new("b");
    let d = a.set_many(&[1, 2, 3], &[10, 20, 30]).unwrap();
    b.join_bytes(&d.to_bytes().unwrap()).unwrap();
    assert_eq!(b.get(&2), vec![20]);
    let (schema, batches) = a.store().to_record_batches().unwrap();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["key", "replica", "counter", "value"]);
    assert_eq!(schema.metadata()["pluriverse.kind"], "MVMap");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
}

fn assert_rejected<T: std::fmt::Debug>(r: Result<T, Error>) -> DecodeError {
    match r {
        Err(Error::Decode(e)) => {
            assert!(!e.to_string().is_empty());
            e
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn truncated_and_bit_flipped_bytes_never_panic_and_leave_the_target_unchanged() {
    let mut g = Rng(2);
    let (a, mut target) = mvmap_pair(&mut g);
    let bytes = a.to_bytes().unwrap();
    let before = target.to_bytes().unwrap();
    for cut in (0..bytes.len()).step_by(7) {
        assert_rejected(target.join_bytes(&bytes[..cut]));
    }
    let mut accepted = 0;
    for _ in 0..3000 {
        let mut bad = bytes.clone();
        let i = g.below(bad.len() as u64) as usize;
        bad[i] ^= 1 << g.below(8);
        match MVMap::<String, i64>::from_bytes(&bad, "z") {
            Ok(m) => {
                // a flip can land on a value or padding: whatever is accepted is a valid state
                accepted += 1;
                let again = MVMap::<String, i64>::from_bytes(&m.to_bytes().unwrap(), "z").unwrap();
                assert_eq!(again.digest(), m.digest());
            }
            Err(Error::Decode(_)) => {}
            Err(e) => panic!("unexpected error kind {e:?}"),
        }
    }
    assert!(accepted < 3000);
    assert_eq!(
        target.to_bytes().unwrap(),
        before,
        "failed joins changed nothing"
    );
}

#[test]
fn wrong_kind_or_types_are_named() {
    let mut m: MVMap<u64, i64> = MVMap::new("a");
    m.set(1, 1).unwrap();
    let bytes = m.to_bytes().unwrap();
    assert!(matches!(
        assert_rejected(AWSet::<u64>::from_bytes(&bytes, "x")),
        DecodeError::Kind {
            expected: "AWSet",
            ..
        }
    ));
    assert!(matches!(
        assert_rejected(MVMap::<String, i64>::from_bytes(&bytes, "x")),
        DecodeError::Schema(_)
    ));
    assert!(matches!(
        assert_rejected(MVMap::<u64, i64>::from_bytes(b"", "x")),
        DecodeError::Empty
    ));
    assert!(matches!(
        assert_rejected(MVMap::<u64, i64>::from_bytes(b"not arrow at all", "x")),
        DecodeError::Arrow(_)
    ));
}

/// Writes a hand-made MVMap<u64, u64> stream: rows as (key, replica index, counter, value),
/// dictionary `names`, and raw metadata; sealed with its row count and checksum.
fn forge(
    rows: &[(u64, u32, u64, u64)],
    names: &[&[u8]],
    context_b64: &str,
    kind: &str,
    version: &str,
) -> Vec<u8> {
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
            ("pluriverse.kind".to_string(), kind.to_string()),
            ("pluriverse.format".to_string(), version.to_string()),
            ("pluriverse.context".to_string(), context_b64.to_string()),
        ])),
    );
    let dict: ArrayRef = Arc::new(BinaryArray::from_iter_values(names.iter()));
    // the dictionary keys are built unchecked through the data API when out of range
    let keys = UInt32Array::from_iter_values(rows.iter().map(|r| r.1));
    let replica: ArrayRef = match DictionaryArray::<UInt32Type>::try_new(keys.clone(), dict.clone())
    {
        Ok(d) => Arc::new(d),
        Err(_) => {
            // SAFETY: deliberately invalid keys, to check the decoder validates them.
            Arc::new(unsafe { DictionaryArray::<UInt32Type>::new_unchecked(keys, dict) })
        }
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        replica,
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.3))),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    seal(&schema, &[batch])
}

/// The context encoding: per replica (prefix, [(first, len)]), base64.
fn ctx(replicas: &[(u64, &[(u64, u64)])]) -> String {
    let mut b = vec![];
    for (prefix, runs) in replicas {
        b.extend_from_slice(&prefix.to_le_bytes());
        b.extend_from_slice(&(runs.len() as u64).to_le_bytes());
        for (f, l) in *runs {
            b.extend_from_slice(&f.to_le_bytes());
            b.extend_from_slice(&l.to_le_bytes());
        }
    }
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

fn hash(k: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64(&k.to_le_bytes())
}

#[test]
fn lying_contents_are_rejected_with_a_specific_error() {
    type M = CausalStore<u64, u64>;
    let decode = |b: &[u8]| M::from_bytes(b);
    // a valid forged stream first, so every failure below is the one thing changed
    let (k1, k2) = if hash(1) < hash(2) { (1, 2) } else { (2, 1) };
    let good = forge(
        &[(k1, 0, 1, 5), (k2, 0, 2, 6)],
        &[b"a"],
        &ctx(&[(2, &[])]),
        "MVMap",
        "2",
    );
    assert_eq!(decode(&good).unwrap().len(), 2);

    type Expect = fn(&DecodeError) -> bool;
    let cases: Vec<(Vec<u8>, Expect)> = vec![
        (
            forge(
                &[(k2, 0, 2, 6), (k1, 0, 1, 5)],
                &[b"a"],
                &ctx(&[(2, &[])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::Unsorted { .. }),
        ),
        (
            forge(
                &[(k1, 0, 1, 5), (k2, 0, 1, 6)],
                &[b"a"],
                &ctx(&[(2, &[])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::DuplicateDot { .. }),
        ),
        (
            // a dot far beyond the rows' count (the decoder's sparse bookkeeping)
            forge(
                &[(k1, 0, 1 << 40, 5), (k2, 0, 1 << 40, 6)],
                &[b"a"],
                &ctx(&[(0, &[(1 << 40, 1)])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::DuplicateDot { .. }),
        ),
        (
            forge(&[(k1, 0, 0, 5)], &[b"a"], &ctx(&[(2, &[])]), "MVMap", "2"),
            |e| matches!(e, DecodeError::ZeroCounter { .. }),
        ),
        (
            forge(&[(k1, 0, 3, 5)], &[b"a"], &ctx(&[(2, &[])]), "MVMap", "2"),
            |e| matches!(e, DecodeError::DotNotInContext { .. }),
        ),
        (
            forge(&[(k1, 1, 1, 5)], &[b"a"], &ctx(&[(2, &[])]), "MVMap", "2"),
            |e| matches!(e, DecodeError::Arrow(_) | DecodeError::ReplicaIndex { .. }),
        ),
        (
            forge(
                &[(k1, 0, 1, 5)],
                &[b"b", b"a"],
                &ctx(&[(1, &[]), (1, &[])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::Replicas(_)),
        ),
        (
            forge(&[(k1, 0, 1, 5)], &[b"a"], "%%%%", "MVMap", "2"),
            |e| matches!(e, DecodeError::Context(_)),
        ),
        (
            forge(
                &[(k1, 0, 1, 5)],
                &[b"a"],
                &ctx(&[(1, &[(2, 3)])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::Context(_)),
        ), // run touching the prefix
        (
            forge(
                &[(k1, 0, 1, 5)],
                &[b"a"],
                &ctx(&[(1, &[(5, 0)])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::Context(_)),
        ), // empty run
        (
            forge(
                &[(k1, 0, 1, 5)],
                &[b"a"],
                &ctx(&[(1, &[(u64::MAX, 2)])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::Context(_)),
        ), // past u64::MAX
        (
            forge(
                &[(k1, 0, 1, 5)],
                &[b"a"],
                &ctx(&[(1, &[(10, 1 << 40)])]),
                "MVMap",
                "2",
            ),
            |e| {
                matches!(
                    e,
                    DecodeError::Limit {
                        what: "cloud dots",
                        ..
                    }
                )
            },
        ), // cloud over the limit
        (
            forge(
                &[(k1, 0, 1, 5)],
                &[b"a"],
                &ctx(&[(1, &[]), (1, &[])]),
                "MVMap",
                "2",
            ),
            |e| matches!(e, DecodeError::Context(_)),
        ), // trailing replica
        (
            forge(&[(k1, 0, 1, 5)], &[b"a"], &ctx(&[(1, &[])]), "MVMap", "4"),
            |e| matches!(e, DecodeError::Version(_)),
        ),
        (
            forge(&[(k1, 0, 1, 5)], &[b"a"], &ctx(&[(1, &[])]), "MVMap", "1"),
            |e| matches!(e, DecodeError::Version(v) if v == "1"),
        ), // the old format, without row count and checksum
        (
            forge(&[(k1, 0, 1, 5)], &[b"a"], &ctx(&[(1, &[])]), "LWWMap", "2"),
            |e| matches!(e, DecodeError::Kind { .. }),
        ),
    ];
    for (i, (bytes, ok)) in cases.into_iter().enumerate() {
        match decode(&bytes) {
            Err(Error::Decode(e)) => assert!(ok(&e), "case {i}: wrong error {e:?}"),
            other => panic!("case {i}: expected a decode error, got {other:?}"),
        }
    }
}

#[test]
fn counter_at_u64_max_is_an_error_at_the_next_write() {
    // a state whose replica has issued u64::MAX events is refused by default (a forged
    // context like it would leave the replica unable to write)...
    let bytes = forge(&[], &[b"a"], &ctx(&[(u64::MAX, &[])]), "MVMap", "2");
    assert!(matches!(
        assert_rejected(MVMap::<u64, u64>::from_bytes(&bytes, "a")),
        DecodeError::Limit {
            what: "counter",
            found: u64::MAX,
            ..
        }
    ));
    // ... and decodes under a raised limit, but cannot write again
    let open = Limits {
        max_counter: u64::MAX,
        ..Limits::default()
    };
    let store = CausalStore::<u64, u64>::from_bytes_with_limits(&bytes, &open).unwrap();
    let mut m = MVMap::from_store("a", store.clone());
    let before = m.to_bytes().unwrap();
    assert!(matches!(m.set(1, 1), Err(Error::CounterOverflow { .. })));
    assert_eq!(m.to_bytes().unwrap(), before);
    // another replica still can
    let mut other = MVMap::from_store("b", store);
    other.set(1, 1).unwrap();
}

#[test]
fn delta_since_with_an_enormous_prefix_stays_exact() {
    // replica "a" has issued 2^40 events; we still hold its first. A peer that has seen
    // them all (and removed the first) must learn nothing new, and vice versa.
    let (k1, _) = if hash(1) < hash(2) { (1, 2) } else { (2, 1) };
    let ours = MVMap::<u64, u64>::from_bytes(
        &forge(
            &[(k1, 0, 1, 5)],
            &[b"a"],
            &ctx(&[(1 << 40, &[])]),
            "MVMap",
            "2",
        ),
        "x",
    )
    .unwrap();
    let peer = MVMap::<u64, u64>::from_bytes(
        &forge(&[], &[b"a"], &ctx(&[(1 << 40, &[])]), "MVMap", "2"),
        "y",
    )
    .unwrap();
    for (a, b) in [(&ours, &peer), (&peer, &ours)] {
        let mut via_delta = b.clone();
        via_delta.join(&a.delta_since(b.context()));
        let mut via_state = b.clone();
        via_state.join(a.store());
        assert_eq!(via_delta.digest(), via_state.digest());
        assert!(via_delta.get(&k1).is_empty(), "the peer removed it");
    }
}

#[test]
fn batch_mutators_take_arrow_columns_and_check_them() {
    use arrow_array::{Int64Array, StringArray};
    let mut m: MVMap<String, i64> = MVMap::new("a");
    let keys = StringArray::from(vec!["x", "y", "x"]);
    let vals = Int64Array::from(vec![1, 2, 3]);
    m.set_many_arrow(&keys, &vals).unwrap();
    assert_eq!((m.get(&"x".into()), m.get(&"y".into())), (vec![3], vec![2]));
    let before = m.digest();
    let wrong = UInt64Array::from(vec![1u64, 2, 3]);
    assert!(matches!(
        m.set_many_arrow(&keys, &wrong),
        Err(Error::ArrowColumn { what: "values", .. })
    ));
    let nulls = StringArray::from(vec![Some("x"), None, Some("z")]);
    assert!(matches!(
        m.set_many_arrow(&nulls, &vals),
        Err(Error::ArrowColumn { what: "keys", .. })
    ));
    assert!(matches!(
        m.set_many_arrow(&keys, &Int64Array::from(vec![1])),
        Err(Error::LengthMismatch { .. })
    ));
    assert_eq!(m.digest(), before, "rejected batches change nothing");
    m.remove_many_arrow(&StringArray::from(vec!["x"])).unwrap();
    assert!(m.get(&"x".into()).is_empty());

    let mut s: AWSet<u64> = AWSet::new("s");
    s.add_many_arrow(&UInt64Array::from(vec![5u64, 6])).unwrap();
    s.remove_many_arrow(&UInt64Array::from(vec![5u64])).unwrap();
    assert_eq!(s.elements(), vec![6]);

    let mut p: PNCounterMap<u64> = PNCounterMap::new("p");
    p.increment_many_arrow(
        &UInt64Array::from(vec![1u64, 1]),
        &UInt64Array::from(vec![2u64, 3]),
    )
    .unwrap();
    p.decrement_many_arrow(
        &UInt64Array::from(vec![1u64]),
        &UInt64Array::from(vec![1u64]),
    )
    .unwrap();
    assert_eq!(p.value(&1), 4);

    let mut l: LWWMap<u64, i64> = LWWMap::new("l");
    l.set_many_arrow(
        &UInt64Array::from(vec![1u64]),
        &Int64Array::from(vec![9]),
        &UInt64Array::from(vec![5u64]),
    )
    .unwrap();
    l.remove_many_arrow(
        &UInt64Array::from(vec![1u64]),
        &UInt64Array::from(vec![6u64]),
    )
    .unwrap();
    assert_eq!(l.get(&1), None);
}

fn limit_of<T: std::fmt::Debug>(r: Result<T, Error>) -> (&'static str, u64, u64) {
    match r {
        Err(Error::Decode(DecodeError::Limit { what, limit, found })) => (what, limit, found),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn every_decoding_limit_holds_at_the_limit_and_refuses_one_past_it() {
    use pluriverse::wire::Limits;
    use pluriverse::{CausalContext, Dot};
    // three replicas, five entries, a dot cloud of three dots (a's counters 10, 12, 13)
    let mut m: MVMap<u64, u64> = MVMap::new("a");
    for r in ["b", "c"] {
        let mut o: MVMap<u64, u64> = MVMap::new(r);
        let d = o
            .set(100 + r.len() as u64 + u64::from(r.as_bytes()[0]), 1)
            .unwrap();
        m.join(&d);
    }
    m.set_many(&[1, 2, 3], &[0, 0, 0]).unwrap();
    let mut far = CausalContext::new();
    for c in [10, 12, 13] {
        far.insert(&Dot::new("a", c));
    }
    let bytes = m.to_bytes().unwrap();
    let at = |l: Limits| CausalStore::<u64, u64>::from_bytes_with_limits(&bytes, &l);
    let d = Limits::default();

    // bytes
    assert!(at(Limits {
        max_bytes: bytes.len(),
        ..d
    })
    .is_ok());
    let (what, limit, found) = limit_of(at(Limits {
        max_bytes: bytes.len() - 1,
        ..d
    }));
    assert_eq!(
        (what, limit, found),
        ("bytes", bytes.len() as u64 - 1, bytes.len() as u64)
    );
    // entries
    assert_eq!(m.entry_count(), 5);
    assert!(at(Limits {
        max_entries: 5,
        ..d
    })
    .is_ok());
    assert_eq!(
        limit_of(at(Limits {
            max_entries: 4,
            ..d
        })),
        ("entries", 4, 5)
    );
    // replicas
    assert!(at(Limits {
        max_replicas: 3,
        ..d
    })
    .is_ok());
    assert_eq!(
        limit_of(at(Limits {
            max_replicas: 2,
            ..d
        })),
        ("replicas", 2, 3)
    );
    // dot cloud, in a context's bytes and in a state's metadata
    let cb = far.to_bytes();
    assert!(CausalContext::from_bytes_with_limits(
        &cb,
        &Limits {
            max_cloud_dots: 3,
            ..d
        }
    )
    .is_ok());
    assert_eq!(
        limit_of(CausalContext::from_bytes_with_limits(
            &cb,
            &Limits {
                max_cloud_dots: 2,
                ..d
            }
        )),
        ("cloud dots", 2, 3)
    );
    assert_eq!(
        limit_of(CausalContext::from_bytes_with_limits(
            &cb,
            &Limits {
                max_replicas: 0,
                ..d
            }
        )),
        ("replicas", 0, 1)
    );
    assert_eq!(
        limit_of(CausalContext::from_bytes_with_limits(
            &cb,
            &Limits {
                max_bytes: cb.len() - 1,
                ..d
            }
        ))
        .0,
        "bytes"
    );
    // a state that saw q's third write but not the first two: a cloud of one dot
    let mut holed: CausalStore<u64, u64> = CausalStore::new();
    let mut q: MVMap<u64, u64> = MVMap::new("q");
    q.set(1, 1).unwrap();
    q.set(2, 2).unwrap();
    holed.join(&q.set(3, 3).unwrap());
    assert_eq!(holed.context().cloud_len(), 1);
    let hb = holed.to_bytes().unwrap();
    let hat = |n| {
        CausalStore::<u64, u64>::from_bytes_with_limits(
            &hb,
            &Limits {
                max_cloud_dots: n,
                ..d
            },
        )
    };
    assert!(hat(1).is_ok());
    assert_eq!(limit_of(hat(0)), ("cloud dots", 0, 1));
    // nesting: a list column is one level deep
    use arrow_array::Array;
    let list =
        arrow_array::ListArray::from_iter_primitive::<arrow_array::types::UInt64Type, _, _>(vec![
            Some(vec![Some(1u64)]),
        ]);
    let schema = Arc::new(Schema::new(vec![Field::new(
        "key",
        list.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list) as ArrayRef]).unwrap();
    let mut nested = vec![];
    {
        let mut w = StreamWriter::try_new(&mut nested, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let nat = |n| {
        CausalStore::<u64, u64>::from_bytes_with_limits(
            &nested,
            &Limits {
                max_nesting: n,
                ..d
            },
        )
    };
    assert_eq!(limit_of(nat(0)), ("nesting", 0, 1));
    // at the limit the decoder goes on, and refuses the schema for what it is
    assert!(matches!(
        nat(1),
        Err(Error::Decode(
            DecodeError::Kind { .. } | DecodeError::Schema(_)
        ))
    ));
}

/// The Arrow batch mutators (which write from the columns, building no item) leave the
/// same state and return the same delta as the slice mutators given the same items, on a
/// state that already holds some of the keys, with repeated keys in the batch.
#[test]
fn arrow_batches_equal_slice_batches() {
    use arrow_array::{Int64Array, StringArray};
    let mut g = Rng(0xA770);
    let base: Vec<String> = (0..3000).map(|i| format!("key{}", i * 7 % 2000)).collect();
    let vals: Vec<i64> = (0..3000).map(|_| g.below(100) as i64).collect();
    let batch: Vec<String> = (0..2500).map(|_| format!("key{}", g.below(4000))).collect();
    let bvals: Vec<i64> = (0..2500).map(|_| g.below(100) as i64).collect();
    let gone: Vec<String> = (0..300).map(|_| format!("key{}", g.below(4000))).collect();
    let mut by_items: MVMap<String, i64> = MVMap::new("a");
    by_items.set_many(&base, &vals).unwrap();
    let mut by_arrow = by_items.clone();
    let d_items = by_items.set_many(&batch, &bvals).unwrap();
    let d_arrow = by_arrow
        .set_many_arrow(
            &StringArray::from(batch.iter().map(String::as_str).collect::<Vec<_>>()),
            &Int64Array::from(bvals.clone()),
        )
        .unwrap();
    assert_eq!(d_items.to_bytes().unwrap(), d_arrow.to_bytes().unwrap());
    assert_eq!(by_items.to_bytes().unwrap(), by_arrow.to_bytes().unwrap());
    let r_items = by_items.remove_many(&gone);
    let r_arrow = by_arrow
        .remove_many_arrow(&StringArray::from(
            gone.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
        .unwrap();
    assert_eq!(r_items.to_bytes().unwrap(), r_arrow.to_bytes().unwrap());
    assert_eq!(by_items.to_bytes().unwrap(), by_arrow.to_bytes().unwrap());

    let elems: Vec<u64> = (0..2000).map(|_| g.below(1500)).collect();
    let mut s_items: AWSet<u64> = AWSet::new("s");
    s_items.add_many(&elems[..1000]).unwrap();
    let mut s_arrow = s_items.clone();
    let a = s_items.add_many(&elems[1000..]).unwrap();
    let b = s_arrow
        .add_many_arrow(&UInt64Array::from(elems[1000..].to_vec()))
        .unwrap();
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
    let a = s_items.remove_many(&elems[500..1200]);
    let b = s_arrow
        .remove_many_arrow(&UInt64Array::from(elems[500..1200].to_vec()))
        .unwrap();
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
    assert_eq!(s_items.to_bytes().unwrap(), s_arrow.to_bytes().unwrap());
}
