//! The full join's plan in hash-range parts: two-byte picks counting from each part's
//! first rows where every part fits them, and wider picks where the shorter side's hashes
//! crowd into one part (more rows there than two-byte picks can name). Both against the
//! join known by construction: two replicas that never saw each other keep every entry.

use std::collections::BTreeMap;

use pluriverse::{Item, JoinPath, MVMap};

/// A map of replica `name` holding `key -> value` for each of `keys`.
fn map(name: &str, keys: &[u64], value: impl Fn(u64) -> u64) -> MVMap<u64, u64> {
    let mut m: MVMap<u64, u64> = MVMap::new(name);
    let vals: Vec<u64> = keys.iter().map(|&k| value(k)).collect();
    m.set_many(keys, &vals).unwrap();
    m.compact_runs();
    m
}

fn entries(m: &MVMap<u64, u64>) -> BTreeMap<(u64, String), u64> {
    m.store()
        .entries()
        .into_iter()
        .map(|(k, r, _c, v)| ((k, r.to_string()), v))
        .collect()
}

/// Joins both ways against the union of the two maps' entries.
fn check(a: &MVMap<u64, u64>, b: &MVMap<u64, u64>) {
    let mut want = entries(a);
    want.extend(entries(b));
    for (x, y) in [(a, b), (b, a)] {
        let mut j = x.clone();
        j.join_with(y.store(), JoinPath::Full);
        j.store().check_invariants().unwrap();
        assert_eq!(entries(&j), want);
    }
}

#[test]
fn a_join_of_many_parts_matches_the_union() {
    // 70K + 40K rows: five parts of at most 2^14 rows of the longer side
    let a = map("a", &(0..70_000).collect::<Vec<_>>(), |k| k * 3);
    let b = map("b", &(50_000..90_000).collect::<Vec<_>>(), |k| k + 1);
    check(&a, &b);
}

#[test]
fn crowded_hashes_fall_back_to_wider_picks() {
    // 40K keys of the shorter side, all hashing into the lowest sixteenth: more rows in
    // one part than two-byte picks name
    let crowded: Vec<u64> = (0u64..)
        .filter(|k| k.hash64() < u64::MAX / 16)
        .take(40_000)
        .collect();
    let a = map("a", &(0..70_000).collect::<Vec<_>>(), |k| k ^ 0x55);
    let b = map("b", &crowded, |k| k * 7);
    check(&a, &b);
}
