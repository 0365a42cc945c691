//! Retired incarnations (`pluriverse::retired`) in the scenarios of issue 14: one replica
//! restarted many times among five, an old copy restored after retirement, and two lineages
//! of one name writing at once. The reference is a naive set of every dot issued (each write
//! issues one, counted here) and the reads a replica must end with; contexts travel as the
//! split form's bytes (rows, then records) and are rebuilt on the other side.

mod common;
use common::sets::reads;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::retired::{incarnation_name, Retired};
use pluriverse::{CausalContext, Dot, MVMap, ReplicaId};

type Map = MVMap<String, i64>;

/// A context sent as its split form's bytes and rebuilt from them.
fn through_split_bytes(ctx: &CausalContext) -> CausalContext {
    let (rows, retired) = ctx.split_retired(|_| false);
    let rows = CausalContext::from_bytes(&rows.to_bytes()).unwrap();
    let retired = Retired::from_bytes(&retired.to_bytes()).unwrap();
    rows.with_retired(&retired)
}

#[test]
fn many_restarts_leave_rows_for_the_live_replicas_and_records_that_agree() {
    let mut g = Rng(14);
    let plain = ["lima", "oslo", "rome", "tokyo"];
    let mut others: Vec<Map> = plain.iter().map(|&n| Map::new(n)).collect();
    // naive: every dot issued, by writer
    let mut issued: BTreeMap<ReplicaId, u64> = BTreeMap::new();
    let mut paris = Map::new(incarnation_name(b"paris", g.next_u64()));
    let restarts = 300;
    for i in 0..restarts {
        // restart from the last state under a fresh incarnation, then write once
        paris = Map::from_bytes(
            &paris.to_bytes().unwrap(),
            incarnation_name(b"paris", g.next_u64()),
        )
        .unwrap();
        let d = paris.set(format!("k{}", g.below(8)), i).unwrap();
        *issued.entry(paris.replica().clone()).or_default() += 1;
        for o in &mut others {
            o.join(&d);
            if g.chance(0.3) {
                let d = o.set(format!("k{}", g.below(8)), -i).unwrap();
                *issued.entry(o.replica().clone()).or_default() += 1;
                paris.join(&d);
            }
            if g.chance(0.2) {
                let d = o.remove(&format!("k{}", g.below(8)));
                paris.join(&d);
            }
        }
    }
    for o in &mut others {
        o.join(paris.store());
        paris.join(o.store());
    }
    let ctx = paris.context();
    let (rows, retired) = ctx.split_retired(|_| false);
    // every incarnation wrote once: all are records, the rows are the four plain names
    assert_eq!(ctx.canonical_order().len(), restarts as usize + plain.len());
    assert_eq!(rows.canonical_order().len(), plain.len());
    assert_eq!(retired.len(), restarts as usize);
    assert_eq!(retired.base_names(), 1);
    // about 8 bytes of bits and a 1-byte prefix per record, against 46 for the incarnation
    // as a row (name length, 22 bytes of name, prefix, run count)
    let per_record = retired.to_bytes().len() as f64 / retired.len() as f64;
    let per_row = (8 + incarnation_name(b"paris", 0).as_bytes().len() + 16) as f64;
    assert!(per_record < 10.0, "{per_record} bytes per record");
    assert!(per_row > 4.0 * per_record, "{per_row} bytes per row");
    // the standalone context bytes carry the records
    let bytes = ctx.to_bytes().len();
    assert!(bytes < retired.to_bytes().len() + 200, "{bytes} bytes");
    // the split answers exactly the naive set of issued dots
    let back = through_split_bytes(ctx);
    for (writer, &n) in &issued {
        for c in 0..=n + 1 {
            let dot = Dot::new(writer.clone(), c);
            let want = (1..=n).contains(&c);
            assert_eq!(
                rows.contains(&dot) || retired.contains(&dot),
                want,
                "{dot:?}"
            );
            assert_eq!(back.contains(&dot), want, "{dot:?}");
        }
    }
    // and the others' records, joined, are the same set
    let mut joined = Retired::new();
    for o in &others {
        joined.merge(&o.context().split_retired(|_| false).1);
    }
    assert_eq!(joined, retired);
}

#[test]
fn an_old_copy_restored_after_retirement_does_not_resurrect_a_removed_key() {
    let mut tokyo = Map::new("tokyo");
    let mut paris = Map::new(incarnation_name(b"paris", 1));
    tokyo.join(&paris.set("x".into(), 1).unwrap());
    tokyo.join(&paris.set("z".into(), 3).unwrap());
    let backup = paris.to_bytes().unwrap(); // holds x
    paris.join(&tokyo.remove(&"x".into()));
    // paris restarts from its live state, writes, and its first incarnation is retired
    let mut paris =
        Map::from_bytes(&paris.to_bytes().unwrap(), incarnation_name(b"paris", 2)).unwrap();
    tokyo.join(&paris.set("y".into(), 2).unwrap());
    let (_, retired) = tokyo.context().split_retired(|_| false);
    assert_eq!(retired.prefix(&incarnation_name(b"paris", 1)), 2);
    // the old copy comes back under a fresh incarnation and syncs both ways, tokyo's context
    // travelling as rows plus records
    let mut old = Map::from_bytes(&backup, incarnation_name(b"paris", 3)).unwrap();
    assert!(old.contains_key(&"x".into()));
    let to_tokyo = old.delta_since(&through_split_bytes(tokyo.context()));
    assert_eq!(to_tokyo.len(), 0, "x's dot is covered by the record");
    tokyo.join(&to_tokyo);
    old.join(&tokyo.delta_since(old.context()));
    let want: BTreeMap<String, Vec<i64>> =
        [("y".to_string(), vec![2]), ("z".to_string(), vec![3])].into();
    assert_eq!(reads(&tokyo), want);
    assert_eq!(reads(&old), want);
    paris.join(old.store());
    assert_eq!(reads(&paris), want);
}

#[test]
fn two_lineages_of_one_name_both_write_and_nothing_is_lost() {
    // paris runs as incarnation 1; a copy of its directory, taken while it runs, is opened
    // elsewhere as incarnation 2, which believes 1 is dead
    let live = incarnation_name(b"paris", 1);
    let mut paris = Map::new(live.clone());
    let mut tokyo = Map::new("tokyo");
    for i in 0..3 {
        tokyo.join(&paris.set(format!("a{i}"), i).unwrap());
    }
    let mut clone =
        Map::from_bytes(&paris.to_bytes().unwrap(), incarnation_name(b"paris", 2)).unwrap();
    // tokyo holds incarnation 1 as a record of prefix 3
    let (_, retired) = tokyo.context().split_retired(|_| false);
    assert_eq!(retired.prefix(&live), 3);
    // both lineages keep writing
    let mut want: BTreeSet<String> = (0..3).map(|i| format!("a{i}")).collect();
    for i in 0..5 {
        paris.set(format!("p{i}"), i).unwrap();
        clone.set(format!("c{i}"), i).unwrap();
        want.insert(format!("p{i}"));
        want.insert(format!("c{i}"));
    }
    // anti-entropy with tokyo's context as rows plus records
    for src in [&paris, &clone] {
        let d = src.delta_since(&through_split_bytes(tokyo.context()));
        tokyo.join(&d);
    }
    let got: BTreeSet<String> = tokyo.keys().into_iter().collect();
    assert_eq!(got, want);
    // the counter-less record of the first design ("covers every counter of 1") would have
    // claimed paris's new dots as seen: delta_since ships none of them, they are lost
    let mut counterless = tokyo.context().clone();
    counterless.insert_range(&live, 1, 1 << 40).unwrap();
    let mut later = paris.clone();
    let d = later.set("late".into(), 9).unwrap();
    assert_eq!(d.delta_since(&counterless).len(), 0);
    assert_eq!(
        d.delta_since(&through_split_bytes(tokyo.context())).len(),
        1
    );
}

/// Writes the context format 2 seeds of the `decode` fuzz target (`fuzz/seeds/decode/`,
/// `ctx2-*`): records of two base names, rows with clouds, a plain name, and records only.
/// `cargo test -p pluriverse --test retired -- --ignored write_context_fuzz_seeds`.
#[test]
#[ignore = "writes files; run by hand to refresh the fuzz seeds"]
fn write_context_fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/decode");
    let mut c = CausalContext::new();
    for bits in [1u64, 0xfeed, u64::MAX] {
        c.insert_range(&incarnation_name(b"paris", bits), 1, bits % 300 + 1)
            .unwrap();
    }
    c.insert_range(&incarnation_name(b"lima", 9), 1, 200)
        .unwrap();
    c.insert(&Dot::new(incarnation_name(b"lima", 10), 3)); // a cloud: a row
    c.insert_range(&"tokyo".into(), 1, 4).unwrap();
    c.insert(&Dot::new("tokyo", 9));
    let bytes = c.to_bytes();
    assert_eq!(CausalContext::from_bytes(&bytes).unwrap(), c);
    std::fs::write(dir.join("ctx2-records-and-rows"), &bytes).unwrap();
    let mut only = CausalContext::new();
    only.insert_range(&incarnation_name(b"p", 0), 1, 1 << 20)
        .unwrap();
    std::fs::write(dir.join("ctx2-records-only"), only.to_bytes()).unwrap();
}
