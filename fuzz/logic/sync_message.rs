//! Hostile bytes against the sync protocol's decoders: the message framing (header,
//! checksum, summary items, covers, the data header, dot items, name ranges) and the compact payload of every kind
//! and key/value type, both as they are and re-sealed with a correct checksum (so that the
//! fuzzer gets past the checksum to the structure behind it). Never a panic; an accepted
//! message re-encodes to exactly its own bytes (a data message: to a fixed point of the same
//! message, since its payload may go compressed or not); a delta a peer hands back is of its type
//! and re-encodes to its payload; an accepted compact payload re-encodes to itself; a
//! summary or dots message handed to a peer holding a small state gets replies within the
//! bound (hostile ranges and dot runs reach the comparisons). The seeds include compressed
//! data messages under a 1,200-byte bound whose payloads exceed it, in columnar form
//! (version 5, type 6: `cdata-*`), and plain compressed ones (type 4: `zdata-*`).

use std::time::Duration;

use pluriverse::wire::Limits;
use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};
use pluriverse_replica::sync::message::Message;
use pluriverse_replica::sync::{Config, Peer};
use xxhash_rust::xxh3::xxh3_64;

/// Every state type ([`StateType::all`]).
pub fn types() -> Vec<StateType> {
    StateType::all()
}

fn sealed(body: &[u8]) -> Vec<u8> {
    let mut m = body.to_vec();
    m.extend_from_slice(&xxh3_64(body).to_le_bytes());
    m
}

fn one_message(bytes: &[u8]) {
    let Ok(m) = Message::decode(bytes, 1 << 16) else {
        return;
    };
    let again = m.encode();
    if matches!(m, Message::Data { .. }) {
        // a data message may be written compressed or not (another zstd build or level, or
        // a sender that did not compress): re-encoding is a fixed point of the same message
        let back = Message::decode(&again, 1 << 16).expect("a re-encoded message decodes");
        assert_eq!(back, m, "a re-encoded data message decodes to itself");
        assert_eq!(
            back.encode(),
            again,
            "re-encoding a data message is a fixed point"
        );
    } else {
        assert_eq!(again, bytes, "an accepted message re-encodes to itself");
    }
    if let Message::Data { ty, payload, .. } = &m {
        let cfg = Config::default();
        let mut p = Peer::new(*ty, cfg).expect("the default bound fits every type");
        if let Ok(Some(d)) = p.handle(Duration::ZERO, bytes) {
            assert_eq!(d.state_type(), *ty);
            assert_eq!(&d.to_compact(), payload, "an accepted payload is canonical");
        }
    } else {
        let ty = types()[0];
        let cfg = Config {
            max_message: 1 << 16,
            ..Config::default()
        };
        let mut p = Peer::new(ty, cfg).expect("the bound fits");
        let mut s = AnyState::new(ty, "a");
        for k in 0..40 {
            write(&mut s, k);
        }
        let now = Duration::ZERO;
        let _ = p.poll_transmit(now, &s); // our own round, not followed
        while p.poll_transmit(now, &s).is_some() {}
        if p.handle(now, bytes).is_ok() {
            let mut n = 0;
            while let Some(out) = p.poll_transmit(now, &s) {
                assert!(out.len() <= cfg.max_message, "a reply within the bound");
                n += 1;
                assert!(n < 100_000, "replies are bounded");
            }
        }
    }
}

/// Runs one input: panics on any broken promise.
pub fn check(data: &[u8]) {
    one_message(data);
    one_message(&sealed(data));
    // the bytes as a compact payload of a few types (the first byte picks them)
    let all = types();
    let pick = data.first().map_or(0, |&b| b as usize);
    for ty in [all[pick % all.len()], all[(pick / 7) % all.len()]] {
        let limits = Limits::default();
        if let Ok(s) =
            AnyState::from_compact_with_limits(ty, &data[1.min(data.len())..], "f", &limits)
        {
            assert_eq!(
                s.to_compact(),
                &data[1.min(data.len())..],
                "{ty}: canonical payload"
            );
        }
    }
}

/// Real messages of a short sync of every kind (summaries with covers, split ranges, data
/// messages with items and pushed writes, dots messages and their requests, names messages).
pub fn seeds() -> Vec<Vec<u8>> {
    let mut out = vec![];
    for (i, ty) in types().into_iter().enumerate().step_by(5) {
        let cfg = Config {
            max_message: 1200,
            ..Config::default()
        };
        let mut a = AnyState::new(ty, "a");
        let mut b = AnyState::new(ty, "b");
        let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
        for k in 0..20u64 {
            let d = write(&mut a, k + i as u64);
            pa.push(&d);
            write(&mut b, k * 3);
        }
        exchange(3, (&mut pa, &mut a), (&mut pb, &mut b), &mut out);
    }
    // replicas that share most of a range and differ in scattered counters: dots messages
    for ty in types().into_iter().step_by(9) {
        let cfg = Config {
            max_message: 1200,
            ..Config::default()
        };
        let mut a = AnyState::new(ty, "a");
        for k in 0..60u64 {
            write(&mut a, k * 2);
        }
        let mut b = AnyState::new(ty, "b");
        b.join(&a).unwrap();
        for k in 0..60u64 {
            if k % 7 == 0 {
                write(&mut a, k * 2 + 4); // k * 2 + 4 = 4 mod 5 removes, sometimes
                write(&mut b, k * 5 + 1);
            }
        }
        let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
        exchange(4, (&mut pa, &mut a), (&mut pb, &mut b), &mut out);
    }
    // an empty replica catching up under a larger bound: compressed data messages (type 4)
    for ty in types().into_iter().step_by(11) {
        let cfg = Config {
            max_message: 1 << 14,
            ..Config::default()
        };
        let mut a = AnyState::new(ty, "a");
        for k in 0..400u64 {
            write(&mut a, k);
        }
        let mut b = AnyState::new(ty, "b");
        let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
        exchange(3, (&mut pa, &mut a), (&mut pb, &mut b), &mut out);
    }
    // more replicas than a round lists, one of them differing: names messages (type 5)
    for ty in types().into_iter().step_by(13) {
        let cfg = Config {
            max_message: 1200,
            ..Config::default()
        };
        let mut a = AnyState::new(ty, "a");
        let mut writers = vec![];
        for r in 0..60u64 {
            let mut w = AnyState::new(ty, format!("w{r:02}"));
            let d = write(&mut w, r);
            a.join(&d).unwrap();
            writers.push(w);
        }
        let mut b = a.clone();
        let d = write(&mut writers[30], 99);
        b.join(&d).unwrap();
        let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
        exchange(4, (&mut pa, &mut a), (&mut pb, &mut b), &mut out);
    }
    // the same under a datagram-sized bound: answers sized by their compressed bytes, their
    // payloads beyond the bound itself (up to `MAX_EXPANSION` times it)
    for ty in types().into_iter().step_by(13) {
        let cfg = Config {
            max_message: 1200,
            ..Config::default()
        };
        let mut a = AnyState::new(ty, "a");
        for k in 0..300u64 {
            write(&mut a, k);
        }
        let mut b = AnyState::new(ty, "b");
        let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
        exchange(3, (&mut pa, &mut a), (&mut pb, &mut b), &mut out);
    }
    out
}

/// `rounds` of both peers sending all they have to the other, each joining what it gets;
/// every message is kept in `out`.
fn exchange(
    rounds: usize,
    (pa, a): (&mut Peer, &mut AnyState),
    (pb, b): (&mut Peer, &mut AnyState),
    out: &mut Vec<Vec<u8>>,
) {
    let now = Duration::ZERO;
    for _ in 0..rounds {
        while let Some(m) = pa.poll_transmit(now, a) {
            if let Ok(Some(d)) = pb.handle(now, &m) {
                b.join(&d).unwrap();
            }
            out.push(m);
        }
        while let Some(m) = pb.poll_transmit(now, b) {
            if let Ok(Some(d)) = pa.handle(now, &m) {
                a.join(&d).unwrap();
            }
            out.push(m);
        }
    }
}

fn write(s: &mut AnyState, k: u64) -> AnyState {
    use pluriverse_any::Scalar;
    let ty = s.state_type();
    let key = match ty.key {
        KeyType::Utf8 => Scalar::Utf8(format!("k{k}")),
        KeyType::Binary => Scalar::Binary(vec![k as u8, 1]),
        KeyType::Int64 => Scalar::Int64(k as i64 - 5),
        KeyType::UInt64 => Scalar::UInt64(k),
    };
    let value = match ty.value {
        Some(ValueType::Utf8) => Scalar::Utf8(format!("v{k}")),
        Some(ValueType::Binary) => Scalar::Binary(vec![k as u8]),
        Some(ValueType::Int64) => Scalar::Int64(-(k as i64)),
        Some(ValueType::Float64) => Scalar::Float64(k as f64 / 3.0),
        Some(ValueType::Bool) => Scalar::Bool(k.is_multiple_of(2)),
        None => Scalar::Int64(0),
    };
    match ty.kind {
        Kind::MVMap if k % 5 == 4 => s.remove(key),
        Kind::MVMap => s.set(key, value),
        Kind::AWSet if k % 5 == 4 => s.remove(key),
        Kind::AWSet => s.add(key),
        Kind::PNCounterMap => s.increment(key, 1 + k % 3),
        Kind::LWWMap if k % 5 == 4 => s.remove_at(key, k + 1),
        Kind::LWWMap => s.set_at(key, value, k + 1),
    }
    .unwrap()
}
