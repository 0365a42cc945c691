//! Checked joins: a dot bound to two contents (equivocation) and a claim on the joining
//! replica's own dots beyond what it issued (forgery or rollback) are refused with an error
//! naming the dot, the state unchanged; honest joins never trip them.

mod common;
use common::Rng;

use pluriverse::{AWSet, CausalStore, Error, JoinPath, MVMap, PNCounterMap};

const PATHS: [JoinPath; 3] = [JoinPath::Auto, JoinPath::Incremental, JoinPath::Full];

/// Two processes both writing as replica "a" from scratch: the same dots, other contents.
fn twins() -> (MVMap<u64, u64>, MVMap<u64, u64>) {
    let mut x: MVMap<u64, u64> = MVMap::new("a");
    let mut y: MVMap<u64, u64> = MVMap::new("a");
    x.set_many(&[1, 2, 3], &[10, 20, 30]).unwrap();
    y.set_many(&[1, 2, 3], &[10, 20, 30]).unwrap();
    (x, y)
}

#[test]
fn one_dot_with_two_values_is_refused_and_changes_nothing() {
    let (mut x, mut y) = twins();
    // y's fourth event sets key 4 to 41, x's sets it to 40: dot (a, 4) with two values
    x.set(4, 40).unwrap();
    y.set(4, 41).unwrap();
    // unchecked, the result depends on the order: the silent divergence
    let mut xy = x.store().clone();
    xy.join(y.store());
    let mut yx = y.store().clone();
    yx.join(x.store());
    assert_ne!(
        xy.digest(),
        yx.digest(),
        "the unchecked join does not commute here"
    );
    for path in PATHS {
        for (a, b) in [(&x, &y), (&y, &x)] {
            let mut t = a.store().clone();
            let before = t.to_bytes().unwrap();
            let e = t.try_join_with(b.store(), path).unwrap_err();
            assert_eq!(
                e,
                Error::Equivocation {
                    replica: "a".into(),
                    counter: 4
                },
                "{path:?}"
            );
            assert_eq!(t.to_bytes().unwrap(), before, "{path:?}: unchanged");
        }
    }
    // through bytes, as a peer's delta
    let mut t = x.clone();
    let e = t.join_bytes(&y.store().to_bytes().unwrap()).unwrap_err();
    assert!(matches!(e, Error::Equivocation { counter: 4, .. }), "{e:?}");
}

#[test]
fn one_dot_under_two_keys_is_refused_and_changes_nothing() {
    let (mut x, mut y) = twins();
    x.set(4, 7).unwrap();
    y.set(5, 7).unwrap(); // dot (a, 4) names key 4 there, key 5 here
    for path in PATHS {
        for (a, b) in [(&x, &y), (&y, &x)] {
            let mut t = a.store().clone();
            let before = t.to_bytes().unwrap();
            let e = t.try_join_with(b.store(), path).unwrap_err();
            assert!(
                matches!(&e, Error::Equivocation { replica, counter: 4 } if replica == "a"),
                "{path:?}: {e:?}"
            );
            assert_eq!(t.to_bytes().unwrap(), before);
        }
    }
}

#[test]
fn equivocation_is_found_on_the_parallel_full_merge_too() {
    // past the parallel threshold (2^17 rows both sides), keys spread over all partitions
    let n = 70_000u64;
    let keys: Vec<u64> = (0..n).collect();
    let mut x: AWSet<u64> = AWSet::new("a");
    let mut y: AWSet<u64> = AWSet::new("a");
    x.add_many(&keys).unwrap();
    let mut other = keys.clone();
    other[n as usize / 2] = n + 1; // dot (a, n/2 + 1) names another element in y
    y.add_many(&other).unwrap();
    let mut t = x.store().clone();
    let e = t.try_join_with(y.store(), JoinPath::Full).unwrap_err();
    assert!(matches!(e, Error::Equivocation { .. }), "{e:?}");
    assert_eq!(t.digest(), x.store().digest());
}

#[test]
fn honest_joins_never_report_an_equivocation() {
    // random writes, removes, lost and duplicated deltas and syncs on three replicas; every
    // delivery is joined checked on every path and compared with the unchecked join
    let mut g = Rng(17);
    let names = ["p", "q", "r"];
    let mut reps: Vec<MVMap<u64, u64>> = names.iter().map(|n| MVMap::new(*n)).collect();
    let mut sent: Vec<CausalStore<u64, u64>> = vec![];
    for step in 0..400 {
        let i = g.below(3) as usize;
        let k = g.below(20);
        match g.below(4) {
            0 => sent.push(reps[i].remove(&k)),
            1 if !sent.is_empty() => {
                let d = sent[g.below(sent.len() as u64) as usize].clone();
                join_all_ways(&mut reps[i], &d, step);
            }
            2 => {
                let j = g.below(3) as usize;
                let d = reps[j].delta_since(reps[i].context());
                join_all_ways(&mut reps[i], &d, step);
            }
            _ => sent.push(reps[i].set(k, g.below(100)).unwrap()),
        }
    }
    // and a full exchange
    for i in 0..3 {
        for j in 0..3 {
            let s = reps[j].store().clone();
            reps[i].join_checked(&s).unwrap();
        }
    }
}

fn join_all_ways(target: &mut MVMap<u64, u64>, d: &CausalStore<u64, u64>, step: usize) {
    let mut plain = target.store().clone();
    plain.join(d);
    for path in PATHS {
        let mut t = target.store().clone();
        t.try_join_with(d, path)
            .unwrap_or_else(|e| panic!("step {step} {path:?}: {e}"));
        assert_eq!(t.digest(), plain.digest());
    }
    target.join_checked(d).unwrap();
}

#[test]
fn a_claim_on_our_own_dots_beyond_what_we_issued_is_refused() {
    let mut victim: PNCounterMap<u64> = PNCounterMap::new("v");
    for _ in 0..3 {
        victim.increment(1, 1).unwrap();
    }
    // another process naming itself "v" has issued 1000 events (or this is a rollback)
    let mut impostor: PNCounterMap<u64> = PNCounterMap::new("v");
    for _ in 0..1000 {
        impostor.increment(2, 1).unwrap();
    }
    let forged = impostor.delta_since(&pluriverse::CausalContext::new());
    let before = victim.to_bytes().unwrap();
    let e = victim.join_checked(&forged).unwrap_err();
    assert_eq!(
        e,
        Error::ForeignClaim {
            replica: "v".into(),
            counter: 1000,
            issued: 3
        }
    );
    let e = victim
        .join_bytes_checked(&forged.to_bytes().unwrap())
        .unwrap_err();
    assert!(
        matches!(e, Error::ForeignClaim { counter: 1000, .. }),
        "{e:?}"
    );
    assert_eq!(victim.to_bytes().unwrap(), before, "unchanged");
    // the same bytes joined by another replica are just another replica's writes
    let mut bystander: PNCounterMap<u64> = PNCounterMap::new("w");
    bystander.join_checked(&forged).unwrap();
    assert_eq!(bystander.value(&2), 1000);
    // claims up to what we issued are fine: our own deltas coming back
    let mut back = victim.clone();
    let echo = victim.delta_since(&pluriverse::CausalContext::new());
    back.join_checked(&echo).unwrap();
    assert_eq!(back.digest(), victim.digest());
}
