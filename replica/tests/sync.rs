//! The sync protocol over a seeded lossy network (loss, duplication, delay and reordering,
//! partitions, restarts under new incarnations), for every kind, against the reference:
//! the join of every delta any replica wrote. Every message is checked against the bound.

use std::time::Duration;

use pluriverse::ReplicaId;
use pluriverse_any::{AnyState, KeyType, Kind, Scalar, StateType, ValueType};
use pluriverse_replica::identity::fresh_incarnation;
use pluriverse_replica::sync::message::Message;
use pluriverse_replica::sync::{Config, Peer};
use pluriverse_testkit::SplitMix64 as Rng;

/// Writes `n` keys `key-000000`, `key-000001`, ... with the values 0, 1, ... into the MVMap
/// `a`, in one batch.
fn write_numbered_keys(a: &mut AnyState, n: u64) {
    let keys = arrow_array::StringArray::from_iter_values((0..n).map(|i| format!("key-{i:06}")));
    let vals = arrow_array::Int64Array::from_iter_values(0..n as i64);
    a.set_many(&keys, &vals).unwrap();
}

fn state_type(kind: Kind) -> StateType {
    match kind {
        Kind::MVMap => StateType::new(kind, KeyType::Utf8, Some(ValueType::Int64)),
        Kind::AWSet => StateType::new(kind, KeyType::Int64, None),
        Kind::PNCounterMap => StateType::new(kind, KeyType::Utf8, None),
        Kind::LWWMap => StateType::new(kind, KeyType::UInt64, Some(ValueType::Int64)),
    }
    .unwrap()
}

fn write(s: &mut AnyState, rng: &mut Rng, tick: u64, keys: u64) -> AnyState {
    let k = rng.below(keys);
    let rm = rng.below(5) == 0;
    let key = |k: u64| Scalar::Utf8(format!("k{k}"));
    match s.state_type().kind {
        Kind::MVMap if rm => s.remove(key(k)),
        Kind::MVMap => s.set(key(k), Scalar::Int64(tick as i64)),
        Kind::AWSet if rm => s.remove(Scalar::Int64(k as i64)),
        Kind::AWSet => s.add(Scalar::Int64(k as i64)),
        Kind::PNCounterMap if rm => s.decrement(key(k), 1 + rng.below(3)),
        Kind::PNCounterMap => s.increment(key(k), 1 + rng.below(3)),
        Kind::LWWMap if rm => s.remove_at(Scalar::UInt64(k), tick),
        Kind::LWWMap => s.set_at(Scalar::UInt64(k), Scalar::Int64(tick as i64), tick),
    }
    .unwrap()
}

struct Schedule {
    replicas: usize,
    writes: u64,
    keys: u64,
    loss: f64,
    dup: f64,
    max_delay: u64,
    partition: bool,
    restarts: bool,
    /// A restart at one tick in this many of the writes (when `restarts`).
    restart_one_in: u64,
    max_message: usize,
}

struct Outcome {
    ticks_to_converge: u64,
    bytes: u64,
    messages: u64,
}

fn run(seed: u64, kind: Kind, sch: &Schedule) -> Outcome {
    let mut rng = Rng(seed);
    let ty = state_type(kind);
    let n = sch.replicas;
    let cfg = Config {
        max_message: sch.max_message,
        round_interval: Duration::from_millis(500),
        ..Config::default()
    };
    let mut states: Vec<AnyState> = (0..n)
        .map(|i| AnyState::new(ty, fresh_incarnation(&ReplicaId::from(format!("r{i}")))))
        .collect();
    let new_peers =
        |_: usize| -> Vec<Peer> { (0..n).map(|_| Peer::new(ty, cfg).unwrap()).collect() };
    let mut peers: Vec<Vec<Peer>> = (0..n).map(new_peers).collect();
    let mut reference = AnyState::new(ty, "reference");
    // in flight: (due tick, from, to, bytes)
    let mut flight: Vec<(u64, usize, usize, Vec<u8>)> = Vec::new();
    let write_ticks = 200;
    let part_window = 50..150;
    let cut = |tick: u64, a: usize, b: usize| {
        sch.partition && part_window.contains(&tick) && ((a < n / 2) != (b < n / 2))
    };
    let (mut bytes, mut messages) = (0u64, 0u64);
    let per_tick = sch.writes.div_ceil(write_ticks);
    let mut tick = 0u64;
    let limit = write_ticks + 4000;
    loop {
        let now = Duration::from_millis(tick * 50);
        if tick < write_ticks {
            for _ in 0..per_tick {
                let i = rng.below(n as u64) as usize;
                let d = write(&mut states[i], &mut rng, tick + 1, sch.keys);
                reference.join(&d).unwrap();
                for (j, p) in peers[i].iter_mut().enumerate() {
                    if j != i {
                        p.push(&d);
                    }
                }
            }
            if sch.restarts && rng.below(sch.restart_one_in) == 0 {
                // a restart: same state, a fresh incarnation, fresh sync machines
                let i = rng.below(n as u64) as usize;
                let name = ReplicaId::from(format!("r{i}"));
                states[i] = states[i].with_replica(fresh_incarnation(&name));
                peers[i] = new_peers(i);
            }
        }
        // send
        for (i, (row, state)) in peers.iter_mut().zip(&states).enumerate() {
            for (j, peer) in row.iter_mut().enumerate() {
                if i == j {
                    continue;
                }
                let mut sent = 0;
                while let Some(m) = peer.poll_transmit(now, state) {
                    assert!(
                        m.len() <= sch.max_message,
                        "{} bytes over the bound",
                        m.len()
                    );
                    bytes += m.len() as u64;
                    messages += 1;
                    sent += 1;
                    let lossy = tick < write_ticks;
                    if cut(tick, i, j) || (lossy && rng.chance(sch.loss)) {
                        continue;
                    }
                    let copies = 1 + u64::from(lossy && rng.chance(sch.dup));
                    for _ in 0..copies {
                        let delay = 1 + rng.below(sch.max_delay + 1);
                        flight.push((tick + delay, i, j, m.clone()));
                    }
                    if sent >= 64 {
                        break; // the link's capacity per tick
                    }
                }
            }
        }
        // deliver what is due, in a shuffled order
        let mut due: Vec<(u64, usize, usize, Vec<u8>)> = Vec::new();
        flight.retain(|m| {
            if m.0 <= tick {
                due.push(m.clone());
                false
            } else {
                true
            }
        });
        for k in (1..due.len()).rev() {
            due.swap(k, rng.below(k as u64 + 1) as usize);
        }
        for (_, from, to, m) in due {
            if let Some(d) = peers[to][from].handle(now, &m).unwrap() {
                states[to].join(&d).unwrap();
            }
        }
        tick += 1;
        if tick > write_ticks {
            let want = reference.digest();
            if states.iter().all(|s| s.digest() == want) {
                return Outcome {
                    ticks_to_converge: tick - write_ticks,
                    bytes,
                    messages,
                };
            }
        }
        assert!(
            tick < limit,
            "seed {seed} {kind}: no convergence after {limit} ticks"
        );
    }
}

#[test]
fn every_kind_converges_over_a_lossy_network() {
    let sch = Schedule {
        replicas: 4,
        writes: 600,
        keys: 80,
        loss: 0.3,
        dup: 0.2,
        max_delay: 6,
        partition: true,
        restarts: true,
        restart_one_in: 40,
        max_message: 4096,
    };
    // a bounded slice in the suite; PLV_SYNC_SEEDS=N runs more
    let seeds: u64 = std::env::var("PLV_SYNC_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for seed in 0..seeds {
        for kind in Kind::ALL {
            let t = std::time::Instant::now();
            let o = run(seed, kind, &sch);
            eprintln!(
                "seed {seed} {kind}: converged {} ticks after the writes, {} messages, {} bytes, {:?}",
                o.ticks_to_converge, o.messages, o.bytes, t.elapsed()
            );
        }
    }
}

/// Many restarts (about a hundred incarnations known, more than a round lists or an
/// interval lists): the names messages narrow differences down under loss, duplication,
/// reordering and a partition, at a datagram-sized bound.
#[test]
fn many_incarnations_converge_over_a_lossy_network() {
    let sch = Schedule {
        replicas: 4,
        writes: 400,
        keys: 60,
        loss: 0.3,
        dup: 0.2,
        max_delay: 6,
        partition: true,
        restarts: true,
        restart_one_in: 2,
        max_message: 1200,
    };
    for seed in 20..22 {
        for kind in [Kind::MVMap, Kind::AWSet] {
            let o = run(seed, kind, &sch);
            eprintln!(
                "seed {seed} {kind}, ~100 incarnations: converged {} ticks after the writes, {} messages, {} bytes",
                o.ticks_to_converge, o.messages, o.bytes
            );
        }
    }
}

#[test]
fn tight_message_bound_and_heavy_loss() {
    let sch = Schedule {
        replicas: 3,
        writes: 300,
        keys: 40,
        loss: 0.5,
        dup: 0.3,
        max_delay: 10,
        partition: true,
        restarts: false,
        restart_one_in: 40,
        max_message: 2048,
    };
    for seed in 10..14 {
        for kind in [Kind::MVMap, Kind::PNCounterMap] {
            run(seed, kind, &sch);
        }
    }
}

#[test]
fn every_kind_converges_under_a_datagram_sized_bound() {
    let sch = Schedule {
        replicas: 3,
        writes: 300,
        keys: 60,
        loss: 0.3,
        dup: 0.2,
        max_delay: 6,
        partition: true,
        restarts: true,
        restart_one_in: 40,
        max_message: 1200,
    };
    for seed in 20..22 {
        for kind in Kind::ALL {
            let o = run(seed, kind, &sch);
            eprintln!(
                "1,200 B, seed {seed} {kind}: converged {} ticks after the writes, {} messages, {} bytes",
                o.ticks_to_converge, o.messages, o.bytes
            );
        }
    }
}

/// Drives two peers over a lossless link until both states are equal; returns bytes and
/// messages.
fn sync_pair(a: &mut AnyState, b: &mut AnyState, cfg: Config) -> (u64, u64, u64) {
    let ty = a.state_type();
    let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
    let (mut bytes, mut msgs) = (0u64, 0u64);
    for tick in 0..1000u64 {
        let now = Duration::from_millis(tick);
        let mut moved = false;
        while let Some(m) = pa.poll_transmit(now, a) {
            bytes += m.len() as u64;
            msgs += 1;
            moved = true;
            if let Some(d) = pb.handle(now, &m).unwrap() {
                b.join(&d).unwrap();
            }
        }
        while let Some(m) = pb.poll_transmit(now, b) {
            bytes += m.len() as u64;
            msgs += 1;
            moved = true;
            if let Some(d) = pa.handle(now, &m).unwrap() {
                a.join(&d).unwrap();
            }
        }
        if !moved && a.digest() == b.digest() {
            return (bytes, msgs, tick);
        }
    }
    panic!("no convergence");
}

#[test]
fn catching_up_costs_about_the_state_and_a_small_difference_costs_little() {
    let ty = state_type(Kind::MVMap);
    let mut a = AnyState::new(ty, "a");
    let n = 20_000;
    write_numbered_keys(&mut a, n);
    // the state as the sync ships it (the compact encoding): the state file is compressed
    // since format 3, the sync's payloads are not
    let state_bytes = a.to_compact().len() as u64;
    let cfg = Config {
        max_message: 64 << 10,
        round_interval: Duration::from_millis(1000),
        ..Config::default()
    };
    // an empty replica catches up
    let mut b = AnyState::new(ty, "b");
    let (bytes, _, _) = sync_pair(&mut a, &mut b, cfg);
    assert_eq!(a.digest(), b.digest());
    assert!(
        bytes < state_bytes * 3 / 2,
        "catch-up {bytes} bytes for a {state_bytes}-byte state"
    );
    // then they differ in a few keys: a writes 10, b removes 5
    for i in 0..10 {
        a.set(Scalar::Utf8(format!("new-{i}")), Scalar::Int64(i))
            .unwrap();
    }
    for i in 0..5 {
        b.remove(Scalar::Utf8(format!("key-{:06}", i * 1000)))
            .unwrap();
    }
    let mut reference = a.clone();
    reference.join(&b).unwrap();
    let (bytes, msgs, _) = sync_pair(&mut a, &mut b, cfg);
    assert_eq!(a.digest(), reference.digest());
    assert_eq!(b.digest(), reference.digest());
    assert!(
        bytes < 64 << 10,
        "a 15-key difference cost {bytes} bytes in {msgs} messages (state: {state_bytes})"
    );
}

#[test]
fn hostile_messages_are_refused_and_change_nothing() {
    let ty = state_type(Kind::AWSet);
    let mut a = AnyState::new(ty, "a");
    for i in 0..50 {
        a.add(Scalar::Int64(i)).unwrap();
    }
    let cfg = Config {
        max_message: 4096,
        ..Config::default()
    };
    let mut pa = Peer::new(ty, cfg).unwrap();
    let mut msgs = vec![];
    let b = AnyState::new(ty, "b");
    let mut pb = Peer::new(ty, cfg).unwrap();
    // b's round summary makes a stream its whole state
    let now = Duration::ZERO;
    while let Some(m) = pb.poll_transmit(now, &b) {
        pa.handle(now, &m).unwrap();
    }
    while let Some(m) = pa.poll_transmit(now, &a) {
        msgs.push(m);
    }
    assert!(msgs.len() >= 2);
    let mut rng = Rng(7);
    let mut refused = 0;
    for m in &msgs {
        for _ in 0..300 {
            let mut x = m.clone();
            match rng.below(3) {
                0 => x.truncate(rng.below(x.len() as u64) as usize),
                1 => {
                    let i = rng.below(x.len() as u64) as usize;
                    x[i] ^= 1 << rng.below(8);
                }
                _ => x.extend((0..rng.below(64)).map(|_| rng.next_u64() as u8)),
            }
            let before = pb.stats().deltas_in;
            match pb.handle(now, &x) {
                Err(_) => refused += 1,
                Ok(Some(d)) => {
                    // accepted: then it is a valid delta of the right type
                    assert_eq!(d.state_type(), ty);
                    assert_eq!(pb.stats().deltas_in, before + 1);
                }
                Ok(None) => {}
            }
        }
    }
    assert!(refused > 0);
    // over the bound: refused before decoding
    assert!(pb.handle(now, &vec![0u8; 4097]).is_err());
    // another type's delta is refused
    let other = AnyState::new(state_type(Kind::MVMap), "x");
    let mut po = Peer::new(state_type(Kind::MVMap), cfg).unwrap();
    po.push(&other.clone());
    let mut o = AnyState::new(state_type(Kind::MVMap), "o");
    let d = o.set(Scalar::Utf8("k".into()), Scalar::Int64(1)).unwrap();
    po.push(&d);
    while let Some(m) = po.poll_transmit(now, &o) {
        if m[4] == 2 {
            assert!(pb.handle(now, &m).is_err());
        }
    }
}

/// Data messages whose framing and checksum are right but whose compact payload is hostile:
/// cut, flipped, extended, or crafted (huge counts, non-minimal varints, a row outside the
/// context, trailing bytes). Each is refused with an error or decodes to a valid delta that
/// re-encodes to exactly its payload (canonical); none panics or allocates beyond its size.
#[test]
fn hostile_compact_payloads_are_refused() {
    use pluriverse_replica::sync::message::Message;
    let now = Duration::ZERO;
    let mut rng = Rng(11);
    for kind in Kind::ALL {
        let ty = state_type(kind);
        let cfg = Config {
            max_message: 1200,
            ..Config::default()
        };
        let mut a = AnyState::new(ty, "a");
        let mut pa = Peer::new(ty, cfg).unwrap();
        for t in 0..40 {
            let d = write(&mut a, &mut rng, t + 1, 30);
            pa.push(&d);
        }
        let mut data = vec![];
        while let Some(m) = pa.poll_transmit(now, &a) {
            if let Message::Data {
                ty: mt,
                items,
                payload,
            } = Message::decode(&m, 1200).unwrap()
            {
                assert_eq!(mt, ty);
                data.push((items, payload));
            }
        }
        assert!(!data.is_empty());
        let mut pb = Peer::new(ty, cfg).unwrap();
        let mut tried = 0;
        let mut crafted: Vec<Vec<u8>> = vec![
            vec![0x80, 0x80, 0x80, 0x80, 0x01],       // a huge name count
            vec![0x00, 0xff, 0xff, 0xff, 0xff, 0x0f], // no names, a huge row count
            vec![0x80, 0x00, 0x00],                   // a non-minimal varint
            vec![0x00, 0x00, 0x00],                   // an empty state and a trailing byte
            vec![0x01, 0x01, b'x', 0x01, 0x00, 0x01], // a row count with no rows
        ];
        for (items, payload) in &data {
            for _ in 0..200 {
                let mut p = payload.clone();
                match rng.below(3) {
                    0 => p.truncate(rng.below(p.len() as u64) as usize),
                    1 => {
                        let i = rng.below(p.len() as u64) as usize;
                        p[i] ^= 1 << rng.below(8);
                    }
                    _ => p.extend((0..1 + rng.below(8)).map(|_| rng.next_u64() as u8)),
                }
                crafted.push(p);
            }
            for p in crafted.drain(..) {
                if p.is_empty() {
                    continue;
                }
                let m = Message::Data {
                    ty,
                    items: items.clone(),
                    payload: p.clone(),
                }
                .encode();
                if m.len() > 1200 {
                    continue;
                }
                tried += 1;
                match pb.handle(now, &m) {
                    Err(_) => {}
                    Ok(Some(d)) => {
                        assert_eq!(d.state_type(), ty);
                        assert_eq!(
                            d.to_compact(),
                            p,
                            "{kind}: an accepted payload is canonical"
                        );
                    }
                    Ok(None) => panic!("a data message handed back no delta"),
                }
            }
        }
        assert!(tried > 100);
        assert!(pb.stats().bad_messages > 0, "{kind}");
        // the unaltered payloads still decode to what was sent
        for (items, payload) in &data {
            let m = Message::Data {
                ty,
                items: items.clone(),
                payload: payload.clone(),
            }
            .encode();
            let d = pb.handle(now, &m).unwrap().unwrap();
            assert_eq!(&d.to_compact(), payload);
        }
    }
}

/// Every message the peer has to send now.
fn drain(p: &mut Peer, now: Duration, s: &AnyState) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| p.poll_transmit(now, s)).collect()
}

/// The ranges a data message names (`None` for a summary message).
fn data_items(m: &[u8]) -> Option<usize> {
    match Message::decode(m, Config::default().max_message).unwrap() {
        Message::Data { items, .. } => Some(items.len()),
        Message::Summary { .. } | Message::Dots { .. } | Message::Names { .. } => None,
    }
}

/// A slice (a data message naming its range) is answered with the receiver's own slice
/// once per round however many copies of it arrive, and the answer names no range: it is
/// joined and not answered in turn, even when the range changed meanwhile. (Before, every
/// duplicated or late copy restarted the exchange.)
#[test]
fn a_slice_is_answered_once_and_an_answer_is_not_answered() {
    let ty = state_type(Kind::AWSet);
    let mut a = AnyState::new(ty, "a");
    for i in 0..3 {
        a.add(Scalar::Int64(i)).unwrap();
    }
    let mut b = AnyState::new(ty, "b");
    b.join(&a).unwrap();
    for i in 3..5 {
        a.add(Scalar::Int64(i)).unwrap();
    }
    // a holds a:1..=5, b holds a:1..=3; rounds only at the first poll
    let cfg = Config {
        round_interval: Duration::from_secs(1 << 30),
        ..Config::default()
    };
    let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
    let now = Duration::ZERO;
    let round = drain(&mut pa, now, &a);
    assert!(!round.is_empty() && round.iter().all(|m| data_items(m).is_none()));
    drain(&mut pb, now, &b); // b's own round: not followed
    for m in &round {
        assert!(pb.handle(now, m).unwrap().is_none());
    }
    // b answers a's summary of a:* with its slice, naming the range
    let slice = drain(&mut pb, now, &b);
    assert_eq!(slice.len(), 1);
    assert_eq!(data_items(&slice[0]), Some(1));
    let d = pa.handle(now, &slice[0]).unwrap().unwrap();
    a.join(&d).unwrap();
    // a still holds more than b's slice: it answers with its own, naming no range
    let answer = drain(&mut pa, now, &a);
    assert_eq!(answer.len(), 1);
    assert_eq!(data_items(&answer[0]), Some(0));
    // a duplicated copy of b's slice is not answered again
    let d = pa.handle(now, &slice[0]).unwrap().unwrap();
    a.join(&d).unwrap();
    assert!(drain(&mut pa, now, &a).is_empty());
    // b's range changes before a's answer arrives (a pushed a newer write): the answer is
    // joined and not answered
    let newer = a.add(Scalar::Int64(9)).unwrap();
    b.join(&newer).unwrap();
    let d = pb.handle(now, &answer[0]).unwrap().unwrap();
    b.join(&d).unwrap();
    assert!(drain(&mut pb, now, &b).is_empty());
    assert_eq!(a.digest(), b.digest());
}

/// Two replicas of 50,000 records differing in 100 keys scattered over the whole range (50
/// new on one side, 50 removed on the other) find them by listing dots (a removal costs a
/// few bytes of a run list), not by recursing on fingerprints: a few KiB, under either
/// bound. The result is checked against the join of the two states.
#[test]
fn a_scattered_difference_is_found_by_listing_dots() {
    let ty = state_type(Kind::MVMap);
    let n: usize = 50_000;
    let mut a = AnyState::new(ty, "a");
    write_numbered_keys(&mut a, n as u64);
    for max in [64 << 10, 1200] {
        let mut x = a.clone();
        let mut y = a.clone();
        for i in 0..50 {
            x.set(Scalar::Utf8(format!("new-{i}")), Scalar::Int64(i))
                .unwrap();
            y.remove(Scalar::Utf8(format!(
                "key-{:06}",
                i as usize * (n / 50) + 7
            )))
            .unwrap();
        }
        let mut reference = x.clone();
        reference.join(&y).unwrap();
        let cfg = Config {
            max_message: max,
            round_interval: Duration::from_secs(1 << 30),
            ..Config::default()
        };
        let (bytes, msgs, ticks) = sync_pair(&mut x, &mut y, cfg);
        eprintln!("bound {max}: {bytes} bytes, {msgs} messages, {ticks} ticks");
        assert_eq!(x.digest(), reference.digest());
        assert_eq!(y.digest(), reference.digest());
        assert!(
            bytes < 8 << 10,
            "bound {max}: {bytes} bytes in {msgs} messages"
        );
    }
}

/// A context fragmented by heavy loss (the receiver got every other small slice of the
/// sender's range: thousands of gaps) makes no summary or dot list explode: every message
/// stays within the bound, dot lists are refused past their run limit (ranges are split by
/// fingerprints instead), and the bytes stay within a small factor of what is missing.
#[test]
fn a_fragmented_context_keeps_messages_bounded() {
    let ty = state_type(Kind::MVMap);
    let n = 20_000u64;
    let mut a = AnyState::new(ty, "a");
    write_numbered_keys(&mut a, n);
    // b holds a's slices over 1..=3, 7..=9, ...: 3,333 gaps of 3 counters
    let me = "a".into();
    let mut b = AnyState::new(ty, "b");
    let mut missing = AnyState::new(ty, "m");
    for lo in (1..=n).step_by(3) {
        let part = a.slice(&me, lo, (lo + 2).min(n));
        if lo % 2 == 1 {
            b.join(&part).unwrap();
        } else {
            missing.join(&part).unwrap();
        }
    }
    assert!(b.range_dots(&me, 1, u64::MAX, 1024).is_none());
    let missing_bytes = missing.to_compact().len() as u64;
    for max in [64 << 10, 1200] {
        let (mut x, mut y) = (a.clone(), b.clone());
        let cfg = Config {
            max_message: max,
            round_interval: Duration::from_secs(1 << 30),
            ..Config::default()
        };
        let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
        let (mut bytes, mut largest) = (0u64, 0usize);
        let now = Duration::ZERO;
        for _ in 0..200 {
            let (ma, mb) = (drain(&mut pa, now, &x), drain(&mut pb, now, &y));
            if ma.is_empty() && mb.is_empty() {
                break;
            }
            for (ms, p, s) in [(&ma, &mut pb, &mut y), (&mb, &mut pa, &mut x)] {
                for m in ms {
                    bytes += m.len() as u64;
                    largest = largest.max(m.len());
                    if let Some(d) = p.handle(now, m).unwrap() {
                        s.join(&d).unwrap();
                    }
                }
            }
        }
        assert_eq!(x.digest(), a.digest());
        assert_eq!(y.digest(), a.digest());
        assert!(largest <= max, "bound {max}: a message of {largest} bytes");
        eprintln!("fragmented, bound {max}: {bytes} bytes for {missing_bytes} missing");
        assert!(
            bytes < missing_bytes * 3,
            "bound {max}: {bytes} bytes for {missing_bytes} bytes missing"
        );
    }
}

/// Dots messages: a run list round-trips (the widest range and the longest last run
/// included), and hand-made bodies that break the run rules are refused: runs past the
/// range's end, two runs in a row of one state, an unknown state, no runs, a count beyond
/// the bytes.
#[test]
fn dots_messages_round_trip_and_bad_runs_are_refused() {
    use pluriverse::store::DotState::{Dead, Live, Unseen};
    use pluriverse_replica::sync::message::DotsItem;
    let item = |lo, hi, runs: Vec<(u64, u64, pluriverse::store::DotState)>| DotsItem {
        replica: "a".into(),
        lo,
        hi,
        runs,
    };
    let m = Message::Dots {
        request: true,
        items: vec![
            item(
                1,
                u64::MAX,
                vec![(1, 9, Live), (10, 10, Dead), (11, u64::MAX, Unseen)],
            ),
            item(5, 5, vec![(5, 5, Dead)]),
        ],
    };
    let bytes = m.encode();
    assert_eq!(Message::decode(&bytes, 1200).unwrap(), m);
    // the widest range, one run: a few bytes
    let wide = Message::Dots {
        request: false,
        items: vec![item(1, u64::MAX, vec![(1, u64::MAX, Unseen)])],
    }
    .encode();
    assert!(wide.len() < 40, "{} bytes", wide.len());
    // hand-made bodies: header, flags, one item of replica "a", lo - 1 = 0, hi - lo = 9
    let body = |runs: &[u8]| {
        let mut b = b"PLS".to_vec();
        b.push(pluriverse_replica::sync::message::VERSION);
        b.extend_from_slice(b"\x03\x00\x01\x01\x01a\x00\x09");
        b.extend_from_slice(runs);
        let sum = xxhash_rust::xxh3::xxh3_64(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    };
    // 1..=4 live, 5..=10 dead: (4 - 1) << 2 | 1 = 13
    let good = body(&[2, 13, 2]);
    match Message::decode(&good, 1200).unwrap() {
        Message::Dots { request, items } => {
            assert!(!request);
            assert_eq!(items, vec![item(1, 10, vec![(1, 4, Live), (5, 10, Dead)])]);
        }
        other => panic!("{other:?}"),
    }
    for (runs, why) in [
        (&[2u8, (9 << 2) | 1, 2][..], "past the end"),
        (&[2, (20 << 2) | 1, 2][..], "past the end"),
        (&[2, 13, 1][..], "two dot runs in a row of one state"),
        (&[2, 15, 2][..], "unknown dot state"),
        (&[1, 3][..], "unknown dot state"),
        (&[0][..], "dot runs"),
        (&[9, 13, 2][..], "dot runs"),
    ] {
        let err = Message::decode(&body(runs), 1200).unwrap_err().to_string();
        assert!(err.contains(why), "{runs:?}: {err}");
    }
}

/// Answers with a large payload go as compressed data messages (type 4), pushes never; both
/// decode to the same message, re-encoding is a fixed point, and a hostile frame or length
/// is refused with nothing allocated past the bound.
#[test]
fn large_answers_are_compressed_and_hostile_frames_refused() {
    let now = Duration::ZERO;
    let ty = state_type(Kind::MVMap);
    let mut rng = Rng(7);
    let mut a = AnyState::new(ty, "a");
    for t in 0..2_000 {
        write(&mut a, &mut rng, t + 1, 1_500);
    }
    let payload = a.to_compact();
    assert!(payload.len() > 4 * pluriverse_replica::sync::message::COMPRESS_MIN);
    let name = a.replica().clone();
    let top = 2_000;
    let item = pluriverse_replica::sync::message::Item {
        summary: a.range_summary(&name, 1, top),
        replica: name,
        lo: 1,
        hi: top,
    };
    let answer = Message::Data {
        ty,
        items: vec![item.clone()],
        payload: payload.clone(),
    };
    let bound = 1 << 20;
    let bytes = answer.encode();
    assert_eq!(bytes[4], 6, "a large answer is compressed, in columns");
    assert!(
        bytes.len() < payload.len(),
        "{} >= {}",
        bytes.len(),
        payload.len()
    );
    assert_eq!(Message::decode(&bytes, bound).unwrap(), answer);
    assert_eq!(Message::decode(&bytes, bound).unwrap().encode(), bytes);
    // a receiver gets the delta the payload holds
    let mut pb = Peer::new(
        ty,
        Config {
            max_message: bound,
            ..Config::default()
        },
    )
    .unwrap();
    let d = pb.handle(now, &bytes).unwrap().unwrap();
    assert_eq!(d.digest(), a.digest());
    // a push of the same payload, or an answer with a small one, goes as it is
    let push = Message::Data {
        ty,
        items: vec![],
        payload: payload.clone(),
    }
    .encode();
    assert_eq!(push[4], 2);
    let small = AnyState::new(ty, "b").to_compact();
    let small = Message::Data {
        ty,
        items: vec![item.clone()],
        payload: small,
    }
    .encode();
    assert_eq!(small[4], 2);
    // hostile: re-sealed bodies with a wrong length, a frame cut or altered, a length past
    // the bound, no items
    let reseal = |mut b: Vec<u8>| {
        let sum = xxhash_rust::xxh3::xxh3_64(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    };
    let body = &bytes[..bytes.len() - 8];
    // header (5), type (3), the items as encoded, then the length varint
    let head = Message::Data {
        ty,
        items: vec![item.clone()],
        payload: vec![0],
    }
    .encode();
    let items_end = head.len() - 8 - 1;
    let mut at = items_end;
    while body[at] & 0x80 != 0 {
        at += 1;
    }
    let frame = &body[at + 1..];
    let with_len = |len: u64, frame: &[u8]| {
        let mut b = body[..items_end].to_vec();
        let mut v = len;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                b.push(byte);
                break;
            }
            b.push(byte | 0x80);
        }
        b.extend_from_slice(frame);
        reseal(b)
    };
    let n = payload.len() as u64;
    assert_eq!(with_len(n, frame), bytes, "the test rebuilds the message");
    // (an altered frame that still decompresses is an altered payload: the message's
    // checksum guards the bytes, the compact decoder the payload)
    for (m, why) in [
        (with_len(n + 1, frame), "declared"),
        (with_len(n - 1, frame), "decompress"),
        (with_len(n, &frame[..frame.len() / 2]), "decompress"),
        (with_len(u64::MAX >> 1, frame), "to the bound"),
        (with_len(100, frame), "to the bound"),
        (with_len(n, &[]), "without a delta"),
    ] {
        let err = Message::decode(&m, bound).unwrap_err().to_string();
        assert!(err.contains(why), "{why}: {err}");
    }
    let mut no_items = body[..5 + 3].to_vec();
    no_items.push(0);
    no_items.extend_from_slice(&body[items_end..]);
    let err = Message::decode(&reseal(no_items), bound)
        .unwrap_err()
        .to_string();
    assert!(err.contains("without items"), "{err}");
}

/// A state knowing `n` replicas besides its own, one entry each, and the states that wrote
/// them (to write more as one of them later).
fn many_replicas(ty: StateType, n: usize) -> (AnyState, Vec<AnyState>) {
    let mut a = AnyState::new(ty, "a");
    let mut writers = Vec::with_capacity(n);
    for i in 0..n {
        let mut w = AnyState::new(ty, format!("inc-{i:06}"));
        let d = w
            .set(Scalar::Utf8(format!("k{}", i % 7)), Scalar::Int64(i as i64))
            .unwrap();
        a.join(&d).unwrap();
        writers.push(w);
    }
    (a, writers)
}

/// The bytes of the summary a round sends when both peers agree: one names item, not one
/// item per replica, whatever the number of incarnations; and one changed replica among
/// thousands is found in a few round trips and a few KiB (the reference: the listing of
/// every replica a version-4 round sent, encoded by the same code).
#[test]
fn a_round_costs_the_same_whatever_the_incarnations_and_finds_one_change_in_log_rounds() {
    let ty = state_type(Kind::MVMap);
    let cfg = Config {
        max_message: 1200,
        round_interval: Duration::from_millis(1000),
        ..Config::default()
    };
    let mut last = None;
    for n in [20usize, 3000] {
        let (mut a, mut writers) = many_replicas(ty, n);
        let mut b = a.clone();
        let mut pa = Peer::new(ty, cfg).unwrap();
        let mut pb = Peer::new(ty, cfg).unwrap();
        let now = Duration::ZERO;
        let round: Vec<Vec<u8>> = drain(&mut pa, now, &a);
        let bytes: usize = round.iter().map(|m| m.len()).sum();
        assert_eq!(round.len(), 1);
        assert!(bytes < 64, "{n} replicas: a round of {bytes} bytes");
        if let Some(prev) = last {
            // only the count's varint grows
            assert!(
                bytes <= prev + 2,
                "the round's bytes grow: {prev} to {bytes}"
            );
        }
        last = Some(bytes);
        // the peer agrees: nothing comes back, and it knows what we hold
        for m in &round {
            assert!(pb.handle(now, m).unwrap().is_none());
        }
        assert!(drain(&mut pb, now, &b)
            .iter()
            .all(|m| matches!(Message::decode(m, 1200).unwrap(), Message::Names { .. })));
        let (at, theirs) = pb.peer_summaries();
        assert_eq!(at, Some(now));
        assert_eq!(theirs.len(), n);
        // one replica in the middle writes again; b has it, a does not
        let w = &mut writers[n / 2];
        let d = w
            .set(Scalar::Utf8("new".into()), Scalar::Int64(-1))
            .unwrap();
        b.join(&d).unwrap();
        let mut reference = a.clone();
        reference.join(&d).unwrap();
        let (bytes, msgs, ticks) = sync_pair(&mut a, &mut b, cfg);
        assert_eq!(a.digest(), reference.digest());
        assert_eq!(b.digest(), reference.digest());
        // what a version-4 round listed: every replica's summary, each side, every round
        let listing: usize = {
            let mut names = a.replicas_seen();
            names.sort();
            let items: Vec<_> = names
                .iter()
                .map(|r| pluriverse_replica::sync::message::Item {
                    replica: r.clone(),
                    lo: 1,
                    hi: u64::MAX,
                    summary: a.range_summary(r, 1, u64::MAX),
                })
                .collect();
            Message::Summary { cover: None, items }.encode().len()
        };
        eprintln!(
            "{n} replicas: one change found and shipped in {bytes} B, {msgs} messages, {ticks} \
             round trips; a version-4 round listed {listing} B a side"
        );
        assert!(ticks <= 8, "{ticks} round trips");
        assert!(bytes < 8 << 10, "{bytes} bytes");
        if n >= 1000 {
            assert!(bytes * 10 < listing as u64, "{bytes} vs {listing}");
        }
    }
}

/// Names messages round-trip; hostile ones (empty, out of order, an open interval before
/// the last, an empty interval with a fingerprint, trailing bytes) and version 4 are refused.
#[test]
fn names_messages_round_trip_and_bad_ones_are_refused() {
    use pluriverse_replica::sync::message::NameRange;
    let r = |upto: Option<&str>, count: u64, fingerprint: u128| NameRange {
        upto: upto.map(ReplicaId::from),
        count,
        fingerprint,
    };
    let m = Message::Names {
        after: Some("a".into()),
        items: vec![
            r(Some("b"), 3, 77),
            r(Some("c"), 0, 0),
            r(None, 1, u128::MAX),
        ],
    };
    let bytes = m.encode();
    assert_eq!(Message::decode(&bytes, 1200).unwrap(), m);
    let seal = |mut b: Vec<u8>| {
        let sum = xxhash_rust::xxh3::xxh3_64(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    };
    // a version-4 message is refused, naming the version
    let mut old = bytes[..bytes.len() - 8].to_vec();
    old[3] = 4;
    let err = Message::decode(&seal(old), 1200).unwrap_err().to_string();
    assert!(err.contains("version 4"), "{err}");
    let fp = [0u8; 16];
    let mut fp1 = fp;
    fp1[0] = 1;
    let body = |rest: &[u8]| {
        let mut b = b"PLS\x05\x05".to_vec();
        b.extend_from_slice(rest);
        seal(b)
    };
    let item = |upto: Option<&[u8]>, count: u8, fp: &[u8; 16]| {
        let mut b = match upto {
            Some(n) => [&[1u8, n.len() as u8][..], n].concat(),
            None => vec![0],
        };
        b.push(count);
        b.extend_from_slice(fp);
        b
    };
    let good = body(&[&[0u8, 1][..], &item(None, 2, &fp1)].concat());
    assert!(Message::decode(&good, 1200).is_ok());
    for (rest, why) in [
        (vec![0u8, 0], "name-range items"),
        (vec![0u8, 100], "name-range items"),
        (
            [
                &[0u8, 2][..],
                &item(Some(b"b"), 1, &fp1),
                &item(Some(b"a"), 1, &fp1),
            ]
            .concat(),
            "out of order",
        ),
        (
            [&[1u8, 1, b'b', 1][..], &item(Some(b"b"), 1, &fp1)].concat(),
            "out of order",
        ),
        (
            [
                &[0u8, 2][..],
                &item(None, 1, &fp1),
                &item(Some(b"a"), 1, &fp1),
            ]
            .concat(),
            "open name interval",
        ),
        (
            [&[0u8, 1][..], &item(None, 0, &fp1)].concat(),
            "empty name interval",
        ),
        (
            [&[0u8, 1][..], &item(None, 1, &fp1), &[0][..]].concat(),
            "trailing",
        ),
        (
            [&[0u8, 1][..], &item(None, 1, &fp1)[..10]].concat(),
            "name-range items",
        ),
    ] {
        let err = Message::decode(&body(&rest), 1200).unwrap_err().to_string();
        assert!(err.contains(why), "{rest:?}: {err}");
    }
}

/// An empty replica catching up over a slow link: the source's stream takes several of the
/// empty side's rounds to land, and each of its summaries (showing nothing, then part of
/// the state) arrives at the source before the stream has. Returns the source's bytes out
/// and the ticks (10 ms each) to converge. `per_tick` bytes go from the source per tick;
/// the other way is instant.
fn slow_catch_up(a: &AnyState, per_tick: usize, loss_every: Option<u64>) -> (u64, u64) {
    let ty = a.state_type();
    let mut b = AnyState::new(ty, "b");
    let src = Config {
        max_message: 64 << 10,
        round_interval: Duration::from_millis(500),
        ..Config::default()
    };
    let dst = Config {
        round_interval: Duration::from_millis(100),
        ..src
    };
    let (mut pa, mut pb) = (Peer::new(ty, src).unwrap(), Peer::new(ty, dst).unwrap());
    let mut link: std::collections::VecDeque<Vec<u8>> = Default::default();
    let mut sent = 0u64;
    let mut credit = 0usize;
    for tick in 0..20_000u64 {
        let now = Duration::from_millis(tick * 10);
        while let Some(m) = pa.poll_transmit(now, a) {
            sent += 1;
            if loss_every.is_some_and(|k| sent.is_multiple_of(k)) {
                continue;
            }
            link.push_back(m);
        }
        // a message takes its bytes' share of the ticks
        credit = if link.is_empty() {
            0
        } else {
            credit.saturating_add(per_tick)
        };
        while link.front().is_some_and(|m| m.len() <= credit) {
            let m = link.pop_front().unwrap();
            credit -= m.len();
            if let Some(d) = pb.handle(now, &m).unwrap() {
                b.join(&d).unwrap();
            }
        }
        while let Some(m) = pb.poll_transmit(now, &b) {
            pa.handle(now, &m).unwrap();
        }
        if link.is_empty() && pa.is_idle() && b.digest() == a.digest() {
            return (pa.stats().bytes_out, tick);
        }
    }
    panic!("no convergence");
}

/// The source sends its state about once to an empty replica whose summaries keep coming
/// while the stream is in flight (the reference: the source's bytes over an instant link,
/// where no summary overtakes the stream); lost stream messages are still recovered.
#[test]
fn a_stream_in_flight_is_not_sent_again() {
    let ty = state_type(Kind::MVMap);
    let mut a = AnyState::new(ty, "a");
    let n = 20_000;
    write_numbered_keys(&mut a, n);
    let (instant, _) = slow_catch_up(&a, usize::MAX, None);
    for per_tick in [64 << 10, 4 << 10, 1 << 10] {
        let (bytes, ticks) = slow_catch_up(&a, per_tick, None);
        eprintln!(
            "{per_tick} B a tick: the source sent {bytes} B in {ticks} ticks ({:.2}x the \
             {instant} B over an instant link)",
            bytes as f64 / instant as f64
        );
        assert!(
            bytes < instant * 6 / 5,
            "{per_tick} B a tick: {bytes} B sent, {instant} B over an instant link"
        );
    }
    // every seventh message lost: what is missing is found by later rounds
    let (bytes, ticks) = slow_catch_up(&a, 4 << 10, Some(7));
    eprintln!(
        "4 KiB a tick, every 7th message lost: {bytes} B in {ticks} ticks ({:.2}x)",
        bytes as f64 / instant as f64
    );
}

/// Under a datagram-sized bound, a catch-up's answers are sized by their compressed bytes:
/// every message within the bound, their payloads up to [`MAX_EXPANSION`] times it (most of
/// them beyond the bound itself), the whole at most 1.1x the compressed state file. A
/// payload declared past that multiple is refused before anything is allocated, however
/// small its frame, and a version-4 message is refused at its version byte.
///
/// [`MAX_EXPANSION`]: pluriverse_replica::sync::message::MAX_EXPANSION
#[test]
fn datagram_sized_answers_are_sized_by_their_compressed_bytes() {
    use pluriverse_replica::sync::message::{Item, MAX_EXPANSION, VERSION};
    let ty = state_type(Kind::MVMap);
    let n = 20_000;
    let mut a = AnyState::new(ty, "a");
    let keys = arrow_array::StringArray::from_iter_values((0..n).map(|i| format!("key-{i:09}")));
    let vals = arrow_array::Int64Array::from_iter_values(0..n as i64);
    a.set_many(&keys, &vals).unwrap();
    let file = a.to_bytes().unwrap().len() as u64;
    let bound = 1200;
    let cfg = Config {
        max_message: bound,
        round_interval: Duration::from_secs(3600),
        ..Config::default()
    };
    let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
    let mut b = AnyState::new(ty, "b");
    let now = Duration::ZERO;
    let (mut bytes, mut answers, mut beyond) = (0u64, 0, 0);
    for _ in 0..4 {
        for m in drain(&mut pa, now, &a) {
            assert!(m.len() <= bound, "{} bytes over the bound", m.len());
            bytes += m.len() as u64;
            if let Message::Data { payload, .. } = Message::decode(&m, bound).unwrap() {
                assert!(payload.len() <= MAX_EXPANSION * bound);
                answers += 1;
                beyond += usize::from(payload.len() > bound);
            }
            if let Some(d) = pb.handle(now, &m).unwrap() {
                b.join(&d).unwrap();
            }
        }
        for m in drain(&mut pb, now, &b) {
            assert!(m.len() <= bound);
            bytes += m.len() as u64;
            if let Some(d) = pa.handle(now, &m).unwrap() {
                a.join(&d).unwrap();
            }
        }
    }
    assert_eq!(a.digest(), b.digest());
    assert!(
        beyond * 10 >= answers * 9,
        "{beyond} of {answers} payloads beyond the bound"
    );
    assert!(
        bytes * 10 <= file * 11,
        "catch-up {bytes} bytes for a {file}-byte state file"
    );

    // a payload that compresses more than MAX_EXPANSION times: refused under a bound it
    // exceeds that many times, accepted under one it does not
    let mut big = AnyState::new(
        StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Utf8)).unwrap(),
        "c",
    );
    for i in 0..20 {
        big.set(
            Scalar::Utf8(format!("k{i}")),
            Scalar::Utf8("x".repeat(1000)),
        )
        .unwrap();
    }
    let payload = big.to_compact();
    let name: ReplicaId = "c".into();
    let m = Message::Data {
        ty: big.state_type(),
        items: vec![Item {
            summary: big.range_summary(&name, 1, 20),
            replica: name,
            lo: 1,
            hi: 20,
        }],
        payload: payload.clone(),
    }
    .encode();
    assert!(m.len() <= bound && payload.len() > MAX_EXPANSION * bound);
    let err = Message::decode(&m, bound).unwrap_err().to_string();
    assert!(err.contains("to the bound"), "{err}");
    let roomy = payload.len().div_ceil(MAX_EXPANSION);
    assert!(matches!(
        Message::decode(&m, roomy),
        Ok(Message::Data { payload: p, .. }) if p == payload
    ));

    // the previous version is refused at its version byte
    let mut old = m[..m.len() - 8].to_vec();
    assert_eq!(old[3], VERSION);
    old[3] = 4;
    let sum = xxhash_rust::xxh3::xxh3_64(&old);
    old.extend_from_slice(&sum.to_le_bytes());
    let err = Message::decode(&old, 1 << 16).unwrap_err().to_string();
    assert!(err.contains("protocol version 4"), "{err}");
}

/// Answers of every kind and key/value type go as columnar compressed data (type 6) and
/// decode to exactly their payload, with two writers' rows (replica indices that change),
/// removals and LWW tombstones (validity bitmaps), random and negative keys and values; a
/// declared length short of the payload, or a frame whose columns are altered, is refused.
#[test]
fn columnar_answers_round_trip_for_every_type() {
    use pluriverse_replica::sync::message::Item;
    let mut rng = Rng(11);
    let mut types = vec![];
    for kind in Kind::ALL {
        for key in KeyType::ALL {
            if kind.has_values() {
                for v in ValueType::ALL {
                    types.push(StateType::new(kind, key, Some(v)).unwrap());
                }
            } else {
                types.push(StateType::new(kind, key, None).unwrap());
            }
        }
    }
    let mut columnar = 0;
    for ty in types {
        let mut s = AnyState::new(ty, "a");
        let mut t = AnyState::new(ty, "bb");
        for i in 0..300u64 {
            let r = rng.next_u64();
            // keys mostly in the order of their writes (as appends are), some rewritten
            let k = if r.is_multiple_of(4) {
                r % (3 * i + 1)
            } else {
                3 * i + r % 3
            };
            let key = match ty.key {
                KeyType::Utf8 => Scalar::Utf8(format!("key-{k:05}")),
                KeyType::Binary => Scalar::Binary((k as u16).to_be_bytes().to_vec()),
                KeyType::Int64 => Scalar::Int64(k as i64 - 500),
                KeyType::UInt64 => Scalar::UInt64(k + (r % 2) * (u64::MAX - 2000)),
            };
            let value = match ty.value {
                Some(ValueType::Utf8) => Scalar::Utf8(format!("v{}", r % 97)),
                Some(ValueType::Binary) => Scalar::Binary(vec![r as u8; (r % 5) as usize]),
                Some(ValueType::Int64) => Scalar::Int64((r % 100_000) as i64 - 50_000),
                Some(ValueType::Float64) => Scalar::Float64((r % 1000) as f64 / 7.0),
                Some(ValueType::Bool) => Scalar::Bool(r.is_multiple_of(2)),
                None => Scalar::Int64(0),
            };
            let w = if r.is_multiple_of(3) { &mut t } else { &mut s };
            let rm = r % 5 == 1;
            match ty.kind {
                Kind::MVMap if rm => w.remove(key),
                Kind::MVMap => w.set(key, value),
                Kind::AWSet if rm => w.remove(key),
                Kind::AWSet => w.add(key),
                Kind::PNCounterMap if rm => w.decrement(key, r % 9),
                Kind::PNCounterMap => w.increment(key, r % 9 + 1),
                Kind::LWWMap if rm => w.remove_at(key, i + 1),
                Kind::LWWMap => w.set_at(key, value, i + 1),
            }
            .unwrap();
        }
        s.join(&t).unwrap();
        let payload = s.to_compact();
        let name = s.replica().clone();
        let m = Message::Data {
            ty,
            items: vec![Item {
                summary: s.range_summary(&name, 1, 1000),
                replica: name,
                lo: 1,
                hi: 1000,
            }],
            payload: payload.clone(),
        };
        let bytes = m.encode();
        assert_eq!(Message::decode(&bytes, 1 << 20).unwrap(), m, "{ty}");
        assert_eq!(bytes[4], 6, "{ty}: an answer goes in columns");
        columnar += 1;
        // the declared length one short: the columns give back more than it
        let body = &bytes[..bytes.len() - 8];
        let items_end = Message::Data {
            ty,
            items: match &m {
                Message::Data { items, .. } => items.clone(),
                _ => unreachable!(),
            },
            payload: vec![0],
        }
        .encode()
        .len()
            - 8
            - 1;
        let mut at = items_end;
        while body[at] & 0x80 != 0 {
            at += 1;
        }
        let frame = &body[at + 1..];
        let seal = |len: usize, frame: &[u8]| {
            let mut b = body[..items_end].to_vec();
            let mut v = len as u64;
            while v >= 0x80 {
                b.push((v as u8) | 0x80);
                v >>= 7;
            }
            b.push(v as u8);
            b.extend_from_slice(frame);
            let sum = xxhash_rust::xxh3::xxh3_64(&b);
            b.extend_from_slice(&sum.to_le_bytes());
            b
        };
        assert_eq!(seal(payload.len(), frame), bytes);
        let err = Message::decode(&seal(payload.len() - 1, frame), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("decompress"), "{ty}: {err}");
        // altered columns (recompressed): refused, or a payload the compact decoder checks
        let cols = zstd::bulk::decompress(frame, payload.len() + 8).unwrap();
        for cut in [1, cols.len() / 2, cols.len() - 1] {
            let z = zstd::bulk::compress(&cols[..cut], 1).unwrap();
            assert!(Message::decode(&seal(payload.len(), &z), 1 << 20).is_err());
        }
        let mut flipped = cols.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0x55;
            let z = zstd::bulk::compress(&flipped, 1).unwrap();
            if let Ok(Message::Data { payload: p, .. }) =
                Message::decode(&seal(payload.len(), &z), 1 << 20)
            {
                assert_eq!(p.len(), payload.len());
            }
            flipped[i] ^= 0x55;
        }
    }
    assert_eq!(columnar, 48, "every kind and key/value type");
}

/// Syncs `a` and `b` at `cfg`'s bound until neither sends and the digests agree or `done`
/// says they are where they should be, checking that every message fits the bound and
/// decodes; returns the two machines.
fn sync_checked(
    a: &mut AnyState,
    b: &mut AnyState,
    cfg: Config,
    done: impl Fn(&AnyState, &AnyState) -> bool,
) -> (Peer, Peer) {
    let ty = a.state_type();
    let (mut pa, mut pb) = (Peer::new(ty, cfg).unwrap(), Peer::new(ty, cfg).unwrap());
    // every message `from` sends, checked and handed to `to`; whether there was one
    fn step(
        from: &mut Peer,
        to: &mut Peer,
        fs: &AnyState,
        ts: &mut AnyState,
        now: Duration,
        max: usize,
    ) -> bool {
        let mut moved = false;
        while let Some(m) = from.poll_transmit(now, fs) {
            assert!(m.len() <= max, "a {}-byte message", m.len());
            Message::decode(&m, max).unwrap();
            moved = true;
            if let Some(d) = to.handle(now, &m).unwrap() {
                ts.join(&d).unwrap();
            }
        }
        moved
    }
    for tick in 0..5000u64 {
        let now = Duration::from_millis(tick);
        let moved = step(&mut pa, &mut pb, a, b, now, cfg.max_message)
            | step(&mut pb, &mut pa, b, a, now, cfg.max_message);
        if !moved && done(a, b) {
            return (pa, pb);
        }
    }
    panic!("no convergence");
}

/// Replicas with the longest names a replica may be given (incarnations of
/// `MAX_REPLICA_NAME`-byte names that differ only in their last bytes, so that every bound
/// of a listing or a names message is as long as it gets) sync in 1,200-byte datagrams:
/// every message fits and decodes, as listings (a few replicas) and as names messages
/// split down to listings (many), and both sides end at the join of the two. A name too
/// long for three to fit one message is left out of the rounds and counted, and everything
/// else still converges.
#[test]
fn the_longest_names_sync_in_datagrams_and_longer_ones_are_left_out() {
    use pluriverse_replica::identity::{incarnation, MAX_INCARNATION, MAX_REPLICA_NAME};
    let ty = state_type(Kind::MVMap);
    let cfg = Config {
        max_message: 1200,
        round_interval: Duration::from_millis(1000),
        ..Config::default()
    };
    let base = "p".repeat(MAX_REPLICA_NAME - 3);
    for n in [5u64, 60] {
        let (mut a, mut b) = (AnyState::new(ty, "a"), AnyState::new(ty, "b"));
        for i in 0..n {
            let name = incarnation(&format!("{base}{i:03}").as_str().into(), i);
            assert_eq!(name.as_bytes().len(), MAX_INCARNATION);
            let mut w = AnyState::new(ty, name);
            for k in 0..3 {
                let d = w
                    .set(
                        Scalar::Utf8(format!("k{}", (i + k) % 11)),
                        Scalar::Int64(k as i64),
                    )
                    .unwrap();
                // a third on each side alone, a third on both
                if i % 3 != 0 {
                    a.join(&d).unwrap();
                }
                if i % 3 != 1 {
                    b.join(&d).unwrap();
                }
            }
        }
        let mut reference = a.clone();
        reference.join(&b).unwrap();
        let (mut a2, mut b2) = (a.clone(), b.clone());
        sync_checked(&mut a2, &mut b2, cfg, |a, b| a.digest() == b.digest());
        assert_eq!(a2.digest(), reference.digest(), "{n} replicas");
        assert_eq!(b2.digest(), reference.digest(), "{n} replicas");

        // one more replica whose name is longer than the bound carries three times
        let mut w = AnyState::new(ty, ReplicaId::from(vec![b'z'; 600]));
        let long = w
            .set(Scalar::Utf8("long".into()), Scalar::Int64(1))
            .unwrap();
        a.join(&long).unwrap();
        let mut with_long = reference.clone();
        with_long.join(&long).unwrap();
        let (want_a, want_b) = (with_long.digest(), reference.digest());
        let (pa, _) = sync_checked(&mut a, &mut b, cfg, |a, b| {
            a.digest() == want_a && b.digest() == want_b
        });
        assert!(pa.stats().long_names > 0);
        assert_eq!(pa.stats().oversized, 0);
    }
}
