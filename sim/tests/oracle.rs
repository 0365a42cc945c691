//! The oracle against hand-built histories, with the engine's replicas as the system under
//! test: each case is a schedule the sweep can hit only by chance.

use pluriverse::ReplicaId;
use pluriverse_any::{Kind, Scalar};
use pluriverse_sim::oracle::Oracle;
use pluriverse_sim::replica::{Merge, Replica};
use pluriverse_sim::{state_type, Op};

/// An anti-entropy reply addressed to an incarnation that lost its state reaches the new
/// one. The reply is `delta_since` of the old incarnation's context, so it leaves out what
/// the old one held; the new one's later write on that key is concurrent with it, and both
/// values survive. An oracle that credited the new incarnation with everything the
/// responder knew expected only the later value (a false FAIL).
#[test]
fn a_reply_to_a_lost_incarnation_credits_only_what_it_carries() {
    let ty = state_type(Kind::MVMap);
    let mut oracle = Oracle::new(Kind::MVMap);
    let (a_name, b_name) = (ReplicaId::from("a"), ReplicaId::from("b"));
    let a0_slot = oracle.add_slot(a_name.clone());
    let b_slot = oracle.add_slot(b_name.clone());
    let mut a0 = Replica::new(ty, a_name.clone(), Merge::Correct);
    let mut b = Replica::new(ty, b_name, Merge::Correct);

    // b sets key 7 = 100; a0 receives it
    let gossip = b.write(Op::Set, &[7], &[100], &[]).unwrap();
    let ev = oracle.issue(b_slot, Op::Set, &[7], &[100], &[]);
    assert!(a0.handle(&gossip).unwrap().is_empty());
    oracle.receive_events(a0_slot, ev);

    // a0 asks b for what it lacks, then loses its state and comes back as a#1
    let request = a0.ae_request();
    let asked = (a0_slot, oracle.step());
    oracle.kill_slot(a0_slot);
    let a1_name = a_name.with_epoch(1);
    let mut a1 = Replica::new(ty, a1_name.clone(), Merge::Correct);
    let a1_slot = oracle.add_slot(a1_name);

    // meanwhile b writes key 8, so the reply is not empty; it reaches a#1
    b.write(Op::Set, &[8], &[101], &[]).unwrap();
    oracle.issue(b_slot, Op::Set, &[8], &[101], &[]);
    let replies = b.handle(&request).unwrap();
    assert_eq!(replies.len(), 1);
    let (as_of, upto) = (oracle.step(), oracle.events());
    assert!(a1.handle(&replies[0]).unwrap().is_empty());
    oracle.receive_reply(a1_slot, b_slot, as_of, upto, asked);
    // what the reply carried: key 8, not key 7 (a0 had it, b still holds it)
    assert_eq!(
        a1.state().get(&Scalar::UInt64(8)).unwrap(),
        [Scalar::Int64(101)]
    );
    assert!(a1.state().get(&Scalar::UInt64(7)).unwrap().is_empty());

    // a#1 sets key 7 = 200, never having seen 100; b receives it
    let gossip = a1.write(Op::Set, &[7], &[200], &[]).unwrap();
    let ev = oracle.issue(a1_slot, Op::Set, &[7], &[200], &[]);
    b.handle(&gossip).unwrap();
    oracle.receive_events(b_slot, ev);

    let mut got = b.state().get(&Scalar::UInt64(7)).unwrap();
    got.sort_by(|x, y| x.partial_cmp(y).unwrap());
    assert_eq!(got, [Scalar::Int64(100), Scalar::Int64(200)]);
    let check = oracle.check(b.state());
    assert!(check.exact);
    assert!(check.failures.is_empty(), "{:?}", check.failures);
}
