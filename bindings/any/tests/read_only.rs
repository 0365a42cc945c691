//! A state opened only to be read (`AnyState::from_bytes_read_only`): every mutator of every
//! kind refuses with `AnyError::ReadOnly` and leaves the bytes as they were; reads, joins and
//! derived states behave as on a writable state holding the same entries.

use arrow_array::{ArrayRef, Int64Array, StringArray, UInt64Array};
use pluriverse_any::{AnyError, AnyState, KeyType, Kind, Scalar, StateType, ValueType};

fn utf8(s: &str) -> Scalar {
    Scalar::Utf8(s.into())
}

fn ty(kind: Kind) -> StateType {
    let value = kind.has_values().then_some(ValueType::Int64);
    StateType::new(kind, KeyType::Utf8, value).unwrap()
}

/// A writable state of `kind` holding keys `a` and `b` (written by `w`).
fn written(kind: Kind, w: &str) -> AnyState {
    let mut s = AnyState::new(ty(kind), w);
    for (k, v) in [("a", 1), ("b", 2)] {
        match kind {
            Kind::MVMap => s.set(utf8(k), Scalar::Int64(v)).map(drop),
            Kind::AWSet => s.add(utf8(k)).map(drop),
            Kind::PNCounterMap => s.increment(utf8(k), v as u64).map(drop),
            Kind::LWWMap => s.set_at(utf8(k), Scalar::Int64(v), 5).map(drop),
        }
        .unwrap();
    }
    s
}

/// Every mutator of `AnyState` on `s`, with the name `AnyError::ReadOnly` must carry.
fn every_mutator(s: &mut AnyState) -> Vec<(&'static str, Result<AnyState, AnyError>)> {
    let keys: ArrayRef = std::sync::Arc::new(StringArray::from(vec!["a", "z"]));
    let ints: ArrayRef = std::sync::Arc::new(Int64Array::from(vec![7, 8]));
    let amounts: ArrayRef = std::sync::Arc::new(UInt64Array::from(vec![1, 2]));
    let stamps: ArrayRef = std::sync::Arc::new(UInt64Array::from(vec![9, 9]));
    vec![
        ("set", s.set(utf8("a"), Scalar::Int64(9))),
        ("remove", s.remove(utf8("a"))),
        ("add", s.add(utf8("z"))),
        ("increment", s.increment(utf8("a"), 3)),
        ("decrement", s.decrement(utf8("a"), 3)),
        (
            "set (with a timestamp)",
            s.set_at(utf8("a"), Scalar::Int64(9), 9),
        ),
        ("remove (with a timestamp)", s.remove_at(utf8("a"), 9)),
        ("set_many", s.set_many(&keys, &ints)),
        ("remove_many", s.remove_many(&keys)),
        ("add_many", s.add_many(&keys)),
        ("increment_many", s.increment_many(&keys, &amounts)),
        ("decrement_many", s.decrement_many(&keys, &amounts)),
        (
            "set_many (with timestamps)",
            s.set_many_at(&keys, &ints, &stamps),
        ),
        (
            "remove_many (with timestamps)",
            s.remove_many_at(&keys, &stamps),
        ),
    ]
}

#[test]
fn every_mutator_of_every_kind_refuses_and_changes_nothing() {
    for kind in Kind::ALL {
        let bytes = written(kind, "w").to_bytes().unwrap();
        let mut r = AnyState::from_bytes_read_only(&bytes).unwrap();
        assert!(r.is_read_only());
        assert_eq!(r.replica().as_bytes(), b"", "{kind}: no writer name");
        for (op, result) in every_mutator(&mut r) {
            match result {
                Err(AnyError::ReadOnly { op: got }) => assert_eq!(got, op, "{kind}"),
                other => panic!("{kind} {op}: expected ReadOnly, got {other:?}"),
            }
            assert_eq!(
                r.to_bytes().unwrap(),
                bytes,
                "{kind} {op} changed the state"
            );
        }
        // a writable copy of the same bytes takes the mutators its kind has
        let mut w = AnyState::from_bytes(&bytes, "w2").unwrap();
        let accepted = every_mutator(&mut w)
            .into_iter()
            .filter(|(_, r)| r.is_ok())
            .count();
        assert!(accepted >= 2, "{kind}: only {accepted} mutators accepted");
    }
}

#[test]
fn reads_joins_and_derived_states_match_a_writable_state() {
    for kind in Kind::ALL {
        let paris = written(kind, "paris");
        let tokyo = written(kind, "tokyo");
        let mut r = AnyState::from_bytes_read_only(&paris.to_bytes().unwrap()).unwrap();
        // the reference: a writable handle fed the same inputs
        let mut w = AnyState::from_bytes(&paris.to_bytes().unwrap(), "lagos").unwrap();
        assert_eq!(r.digest(), paris.digest(), "{kind}");
        assert_eq!(r.len(), 2, "{kind}");
        assert!(r.contains(&utf8("a")).unwrap(), "{kind}");

        // joins (checked or not) work: a reader has no dots of its own to protect
        r.join_checked(&tokyo).unwrap();
        w.join_checked(&tokyo).unwrap();
        assert_eq!(r.to_bytes().unwrap(), w.to_bytes().unwrap(), "{kind}");
        let more = written(kind, "lima").to_bytes().unwrap();
        r.join_bytes_checked(&more, &Default::default()).unwrap();
        w.join_bytes_checked(&more, &Default::default()).unwrap();
        assert_eq!(r.to_bytes().unwrap(), w.to_bytes().unwrap(), "{kind}");
        assert!(r.is_read_only(), "{kind}: a join keeps it read-only");

        // derived states are read-only too, with the same content as the writable ones
        let empty = pluriverse::CausalContext::default();
        let derived = [
            (r.delta_since(&empty), w.delta_since(&empty)),
            (r.clone(), w.clone()),
            (r.partition(3).remove(1), w.partition(3).remove(1)),
        ];
        for (mut from_r, from_w) in derived {
            assert!(from_r.is_read_only() && !from_w.is_read_only(), "{kind}");
            assert_eq!(from_r.to_bytes().unwrap(), from_w.to_bytes().unwrap());
            assert!(matches!(
                every_mutator(&mut from_r).remove(0).1,
                Err(AnyError::ReadOnly { .. })
            ));
        }

        // naming a writer gives a writable copy; to_read_only takes the writer away
        let named = r.with_replica("quito");
        assert!(!named.is_read_only());
        let mut back = named.to_read_only();
        assert!(back.is_read_only() && back.replica().as_bytes().is_empty());
        assert!(matches!(
            every_mutator(&mut back).remove(0).1,
            Err(AnyError::ReadOnly { .. })
        ));
    }
}

#[test]
fn bad_bytes_are_refused_as_by_from_bytes() {
    let good = written(Kind::MVMap, "w").to_bytes().unwrap();
    for cut in [0, 1, good.len() / 2, good.len() - 1] {
        let bad = &good[..cut];
        let a = AnyState::from_bytes_read_only(bad).map(drop);
        let b = AnyState::from_bytes(bad, "w").map(drop);
        assert!(a.is_err(), "{cut} bytes accepted");
        assert_eq!(a, b, "{cut}: the same error either way");
    }
}
