//! The oracle against hand-built histories, with the engine's states as the system under
//! test: each case is a schedule the sweep can hit only by chance.

use pluriverse::ReplicaId;
use pluriverse_any::{AnyState, Kind, Scalar};
use pluriverse_sim::oracle::Oracle;
use pluriverse_sim::{state_type, Op};

fn set(s: &mut AnyState, key: u64, value: i64) -> AnyState {
    use arrow_array::{Int64Array, UInt64Array};
    s.set_many(
        &UInt64Array::from(vec![key]),
        &Int64Array::from(vec![value]),
    )
    .unwrap()
}

/// A write's own dot and the dot it overwrote travel in different slices. `a` overwrites
/// `b`'s value, ships to `c` only the slice of `b`'s counters (the old value's dot, now
/// without its entry), and loses its state before its own slice gets out. What survives is
/// the death of the old value, not the new value: the key ends empty. An oracle that
/// credited causal past by event (the overwrite reached someone, so its past did) or by
/// message type expected the old value to survive the lost overwrite (a false FAIL), or
/// the new one to be there.
#[test]
fn a_death_travels_without_the_write_that_caused_it() {
    let ty = state_type(Kind::MVMap);
    let mut oracle = Oracle::new(Kind::MVMap);
    let names: Vec<ReplicaId> = ["a", "b", "c"].map(ReplicaId::from).to_vec();
    let slots: Vec<u32> = names.iter().map(|n| oracle.add_slot(n.clone())).collect();
    let (sa, sb, sc) = (slots[0], slots[1], slots[2]);
    let mut a = AnyState::new(ty, "a");
    let mut b = AnyState::new(ty, "b");
    let mut c = AnyState::new(ty, "c");

    let d = set(&mut b, 7, 100);
    oracle.issue(sb, Op::Set, &[7], &[100], &[], &d);
    let sent = oracle.step();
    a.join(&d).unwrap();
    oracle.credit(sa, sb, sent, &d);

    let d = set(&mut a, 7, 200);
    oracle.issue(sa, Op::Set, &[7], &[200], &[], &d);
    let slice = a.slice(&"b".into(), 1, u64::MAX);
    assert_eq!(slice.entry_count(), 0, "the old value's dot, dead");
    let sent = oracle.step();
    c.join(&slice).unwrap();
    oracle.credit(sc, sa, sent, &slice);
    oracle.kill_slot(sa);

    b.join(&c).unwrap();
    c.join(&b).unwrap();
    assert!(b.get(&Scalar::UInt64(7)).unwrap().is_empty());
    let check = oracle.check(&b);
    assert!(check.failures.is_empty(), "{:?}", check.failures);
    assert_eq!(check.lost_unacknowledged, 1, "the overwrite never got out");
}

/// A delta that says a value is dead when its sender held it alive is caught where it
/// arrives, whatever the final state.
#[test]
fn a_death_without_a_reason_is_caught() {
    let ty = state_type(Kind::MVMap);
    let mut oracle = Oracle::new(Kind::MVMap);
    let sb = oracle.add_slot("b".into());
    let sc = oracle.add_slot("c".into());
    let mut b = AnyState::new(ty, "b");
    let d = set(&mut b, 7, 100);
    oracle.issue(sb, Op::Set, &[7], &[100], &[], &d);
    // b's state as a broken engine might slice it: the dot without its entry
    let mut forged = b.clone();
    forged
        .remove_many(&arrow_array::UInt64Array::from(vec![7u64]))
        .unwrap();
    let slice = forged.slice(&"b".into(), 1, u64::MAX);
    oracle.credit(sc, sb, oracle.step(), &slice);
    let check = oracle.check(&b);
    assert!(
        check.failures.iter().any(|f| f.contains("held it alive")),
        "{:?}",
        check.failures
    );
}

/// A delta naming a dot nobody issued is caught.
#[test]
fn a_dot_never_issued_is_caught() {
    let ty = state_type(Kind::MVMap);
    let mut oracle = Oracle::new(Kind::MVMap);
    let sb = oracle.add_slot("b".into());
    let sc = oracle.add_slot("c".into());
    let mut b = AnyState::new(ty, "b");
    let d = set(&mut b, 7, 100);
    oracle.issue(sb, Op::Set, &[7], &[100], &[], &d);
    let d2 = set(&mut b, 8, 101); // the oracle never hears of it
    oracle.credit(sc, sb, oracle.step(), &d2);
    let check = oracle.check(&b);
    assert!(
        check.failures.iter().any(|f| f.contains("never issued")),
        "{:?}",
        check.failures
    );
}

/// A replica restored from an old copy knows what the copy knew, under a fresh name: its
/// writes after the restore are concurrent with what the old incarnation wrote after the
/// copy, and both survive where they got out.
#[test]
fn a_restore_from_an_old_copy_knows_what_the_copy_knew() {
    let ty = state_type(Kind::MVMap);
    let mut oracle = Oracle::new(Kind::MVMap);
    let sa = oracle.add_slot("a".into());
    let sb = oracle.add_slot("b".into());
    let mut a = AnyState::new(ty, "a");
    let mut b = AnyState::new(ty, "b");
    let d = set(&mut a, 1, 10);
    oracle.issue(sa, Op::Set, &[1], &[10], &[], &d);
    let (copy, snap) = (a.clone(), oracle.snapshot(sa));
    // after the copy: a overwrites key 1 and the delta reaches b
    let d = set(&mut a, 1, 11);
    oracle.issue(sa, Op::Set, &[1], &[11], &[], &d);
    let sent = oracle.step();
    b.join(&d).unwrap();
    oracle.credit(sb, sa, sent, &d);
    // a comes back from the copy as a#1 and sets key 1 again, not knowing 11
    oracle.kill_slot(sa);
    let name = ReplicaId::from("a#0000000000000001");
    let s1 = oracle.restore(snap, name.clone());
    let mut a1 = copy.with_replica(name);
    let d = set(&mut a1, 1, 12);
    oracle.issue(s1, Op::Set, &[1], &[12], &[], &d);
    b.join(&a1).unwrap();
    a1.join(&b).unwrap();
    let mut got = b.get(&Scalar::UInt64(1)).unwrap();
    got.sort_by(|x, y| x.partial_cmp(y).unwrap());
    assert_eq!(got, [Scalar::Int64(11), Scalar::Int64(12)]);
    let check = oracle.check(&b);
    assert!(check.failures.is_empty(), "{:?}", check.failures);
}
