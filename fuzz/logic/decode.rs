//! Hostile bytes against every decoder: state and delta bytes of every kind and type (the
//! Arrow IPC wrapper, the replica table, the context, the columns), context bytes, and the
//! join of bytes into a live state. Never a panic; a rejected input leaves the target
//! byte-identical; an accepted input re-encodes to exactly its own bytes (canonical; a
//! format-2 input re-encodes to format 3, a fixed point with the same digest), and
//! every cut of it at a message boundary, with or without an end marker patched on, is
//! refused (a structured generator of issue 13's truncations from whatever the fuzzer finds
//! valid). The checked join refuses what the plain one does, changing nothing.

use pluriverse::CausalContext;
use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};

/// The state every input is also joined into (of the type the bytes claim, when known).
fn target(ty: StateType) -> AnyState {
    let mut s = AnyState::new(ty, "target");
    let key = match ty.key {
        KeyType::Utf8 => Scalar::Utf8("k".into()),
        KeyType::Binary => Scalar::Binary(b"k".to_vec()),
        KeyType::Int64 => Scalar::Int64(-1),
        KeyType::UInt64 => Scalar::UInt64(1),
    };
    let value = match ty.value {
        Some(ValueType::Utf8) => Scalar::Utf8("v".into()),
        Some(ValueType::Binary) => Scalar::Binary(b"v".to_vec()),
        Some(ValueType::Int64) => Scalar::Int64(7),
        Some(ValueType::Float64) => Scalar::Float64(0.5),
        Some(ValueType::Bool) => Scalar::Bool(true),
        None => Scalar::Int64(0),
    };
    let done = match ty.kind {
        Kind::MVMap => s.set(key, value),
        Kind::AWSet => s.add(key),
        Kind::PNCounterMap => s.increment(key, 3),
        Kind::LWWMap => s.set_at(key, value, 5),
    };
    done.expect("a local write on a fresh state");
    s
}

/// Runs one input: panics on any broken promise.
pub fn check(data: &[u8]) {
    // the schema peek never panics
    let claimed = StateType::of_bytes(data).ok();

    // a state of whatever type the bytes name
    if let Ok(s) = AnyState::from_bytes(data, "fuzz") {
        let once = s.to_bytes().expect("an accepted state encodes");
        // the checksum covers the content and the schema message must be canonical: what is
        // accepted is exactly what this library writes for the state (in format 3; format 2
        // is still read, and written again as format 3)
        let format = pluriverse::wire::read_schema(data)
            .ok()
            .and_then(|s| s.metadata().get(pluriverse::wire::META_FORMAT).cloned());
        if format.as_deref() == Some(pluriverse::wire::FORMAT_VERSION) {
            assert_eq!(once, data, "an accepted input re-encodes to itself");
        } else {
            assert_eq!(
                format.as_deref(),
                Some("2"),
                "only formats 3 and 2 are read"
            );
        }
        let again = AnyState::from_bytes(&once, "fuzz").expect("our own bytes decode");
        assert_eq!(
            again.to_bytes().unwrap(),
            once,
            "re-encoding is a fixed point"
        );
        assert_eq!(again.digest(), s.digest());
        assert_eq!(Some(s.state_type()), claimed);
        cuts_are_refused(data, s.state_type());
    }

    // joined into a live state: refused bytes change nothing
    let ty = claimed.unwrap_or(StateType {
        kind: Kind::MVMap,
        key: KeyType::Utf8,
        value: Some(ValueType::Int64),
    });
    let mut t = target(ty);
    let before = t.to_bytes().unwrap();
    let plain = t.join_bytes(data);
    match &plain {
        Ok(()) => {
            let after = t.to_bytes().expect("a joined state encodes");
            let back = AnyState::from_bytes_read_only(&after).expect("a joined state decodes");
            assert_eq!(back.digest(), t.digest());
        }
        Err(_) => assert_eq!(
            t.to_bytes().unwrap(),
            before,
            "a refused join changed the state"
        ),
    }

    // the checked join (what the C face's merges call): refused bytes change nothing, and
    // it refuses no more than the plain join but claims on the target's own dots
    let mut c = target(ty);
    match c.join_bytes_checked(data, &pluriverse::wire::Limits::default()) {
        Ok(()) => assert_eq!(c.digest(), t.digest(), "checked and plain joins agree"),
        Err(e) => {
            assert_eq!(c.to_bytes().unwrap(), before, "a refused checked join");
            if plain.is_ok() {
                let claim = matches!(
                    e,
                    pluriverse_any::AnyError::Core(pluriverse::Error::ForeignClaim { .. })
                );
                assert!(claim, "the checked join refused more than claims: {e}");
            }
        }
    }

    // context bytes
    if let Ok(c) = CausalContext::from_bytes(data) {
        let once = c.to_bytes();
        let again = CausalContext::from_bytes(&once).expect("our own context bytes decode");
        assert_eq!(again, c);
        assert_eq!(
            again.to_bytes(),
            once,
            "context re-encoding is a fixed point"
        );
    }
}

/// Truncation at message boundaries, structurally, for an accepted stream (issue 13: a copy
/// cut after a complete record batch decoded as valid and deleted the rows it lacked). Every
/// IPC message starts 8-byte aligned with the continuation marker `FF FF FF FF`; every
/// strict prefix ending before one (a cut between messages, the end-of-stream marker
/// dropped), and each such prefix with an end-of-stream marker patched on, must be refused,
/// and joining it must leave a live state unchanged. A marker found inside a body only adds
/// another cut, which must be refused too.
fn cuts_are_refused(data: &[u8], ty: StateType) {
    const EOS: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
    let mut t = target(ty);
    let before = t.to_bytes().unwrap();
    let boundaries = (8..data.len())
        .step_by(8)
        .filter(|&i| data[i..].starts_with(&[0xFF; 4]));
    for cut in boundaries.take(64) {
        let mut patched = data[..cut].to_vec();
        patched.extend_from_slice(&EOS);
        for bad in [&data[..cut], &patched[..]] {
            if bad == data {
                continue; // the cut before the end marker, patched back: the stream itself
            }
            assert!(
                AnyState::from_bytes(bad, "fuzz").is_err(),
                "a stream cut at byte {cut} of {} was accepted",
                data.len()
            );
            assert!(t.join_bytes(bad).is_err(), "joined a cut at {cut}");
            assert_eq!(
                t.to_bytes().unwrap(),
                before,
                "a refused cut changed the state"
            );
        }
    }
}

/// Valid inputs of every kind (seeds for the corpus and cases for the replay test).
pub fn seeds() -> Vec<Vec<u8>> {
    let mut out = vec![];
    for kind in Kind::ALL {
        for key in KeyType::ALL {
            let values: Vec<Option<ValueType>> = if kind.has_values() {
                ValueType::ALL.into_iter().map(Some).collect()
            } else {
                vec![None]
            };
            for value in values {
                let ty = StateType { kind, key, value };
                let mut s = target(ty);
                let other = target(ty).with_replica("other");
                let mut o = other.clone();
                let d = match kind {
                    Kind::AWSet | Kind::MVMap => o.remove(match key {
                        KeyType::Utf8 => Scalar::Utf8("k".into()),
                        KeyType::Binary => Scalar::Binary(b"k".to_vec()),
                        KeyType::Int64 => Scalar::Int64(-1),
                        KeyType::UInt64 => Scalar::UInt64(1),
                    }),
                    _ => Ok(o.clone()),
                }
                .unwrap();
                s.join(&o).unwrap();
                out.push(s.to_bytes().unwrap());
                out.push(d.to_bytes().unwrap());
                out.push(s.context().to_bytes());
            }
        }
    }
    out
}
