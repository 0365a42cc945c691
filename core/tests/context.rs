//! Named causal contexts and version vectors against naive models: a `BTreeSet` of
//! `(name, counter)` and a `BTreeMap` of name -> counter.

mod common;
use common::Rng;

use std::collections::{BTreeMap, BTreeSet};

use pluriverse::{CausalContext, Dot, Error, Order, ReplicaId, VersionVector};

const NAMES: [&str; 5] = ["amsterdam", "berlin", "cairo", "delhi", "edo"];

fn random_context(g: &mut Rng) -> (CausalContext, BTreeSet<(String, u64)>) {
    let mut c = CausalContext::new();
    let mut o = BTreeSet::new();
    for _ in 0..g.below(40) {
        let name = NAMES[g.below(5) as usize];
        let k = 1 + g.below(12);
        c.insert(&Dot::new(name, k));
        o.insert((name.to_string(), k));
    }
    (c, o)
}

fn naive_prefix(o: &BTreeSet<(String, u64)>, name: &str) -> u64 {
    let mut n = 0;
    while o.contains(&(name.to_string(), n + 1)) {
        n += 1;
    }
    n
}

#[test]
fn merge_across_tables_matches_set_union() {
    let mut g = Rng(1);
    for _ in 0..500 {
        let (mut a, mut oa) = random_context(&mut g);
        let (b, ob) = random_context(&mut g);
        a.merge(&b);
        oa.extend(ob);
        for name in NAMES {
            for k in 0..=13 {
                assert_eq!(
                    a.contains(&Dot::new(name, k)),
                    oa.contains(&(name.to_string(), k))
                );
            }
            assert_eq!(
                a.version_vector().get(&name.into()),
                naive_prefix(&oa, name)
            );
            let max = oa
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, k)| *k)
                .max()
                .unwrap_or(0);
            assert_eq!(a.next_dot(&name.into()).unwrap().counter, max + 1);
        }
    }
}

#[test]
fn equality_ignores_interning_order() {
    let mut a = CausalContext::new();
    let mut b = CausalContext::new();
    for (n, k) in [("x", 1), ("y", 5), ("z", 2)] {
        a.insert(&Dot::new(n, k));
    }
    for (n, k) in [("z", 2), ("y", 5), ("x", 1)] {
        b.insert(&Dot::new(n, k));
    }
    assert_eq!(a, b);
    b.insert(&Dot::new("w", 1));
    assert_ne!(a, b);
}

#[test]
fn merge_laws() {
    let mut g = Rng(2);
    for _ in 0..300 {
        let (a, _) = random_context(&mut g);
        let (b, _) = random_context(&mut g);
        let (c, _) = random_context(&mut g);
        let join = |x: &CausalContext, y: &CausalContext| {
            let mut z = x.clone();
            z.merge(y);
            z
        };
        assert_eq!(join(&a, &b), join(&b, &a), "commutative");
        assert_eq!(
            join(&join(&a, &b), &c),
            join(&a, &join(&b, &c)),
            "associative"
        );
        assert_eq!(join(&a, &a), a, "idempotent");
    }
}

#[test]
fn ranges_compact_and_overflow_is_an_error() {
    let mut c = CausalContext::new();
    let r: ReplicaId = "batch".into();
    assert_eq!(c.insert_range(&r, 1, 1_000_000).unwrap(), 1_000_000);
    assert!(c.is_compact());
    assert!(c.insert_range(&r, 0, 3).is_err());
    assert!(c.insert_range(&r, 9, 3).is_err());
    c.insert(&Dot::new("late", u64::MAX));
    assert_eq!(
        c.next_dot(&"late".into()),
        Err(Error::CounterOverflow {
            replica: "late".into()
        })
    );
}

fn naive_compare(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> Order {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let get = |m: &BTreeMap<String, u64>, k: &String| m.get(k).copied().unwrap_or(0);
    let lt = keys.iter().any(|k| get(a, k) < get(b, k));
    let gt = keys.iter().any(|k| get(a, k) > get(b, k));
    match (lt, gt) {
        (false, false) => Order::Equal,
        (true, false) => Order::Before,
        (false, true) => Order::After,
        (true, true) => Order::Concurrent,
    }
}

#[test]
fn version_vector_matches_naive_map() {
    let mut g = Rng(3);
    for _ in 0..1000 {
        let mut ma = BTreeMap::new();
        let mut mb = BTreeMap::new();
        for _ in 0..g.below(5) {
            ma.insert(NAMES[g.below(5) as usize].to_string(), 1 + g.below(3));
        }
        for _ in 0..g.below(5) {
            mb.insert(NAMES[g.below(5) as usize].to_string(), 1 + g.below(3));
        }
        let a: VersionVector = ma.iter().map(|(k, &v)| (k.as_str(), v)).collect();
        let b: VersionVector = mb.iter().map(|(k, &v)| (k.as_str(), v)).collect();
        assert_eq!(a.compare(&b), naive_compare(&ma, &mb));
        let mut j = a.clone();
        j.merge(&b);
        for (k, &v) in &mb {
            let e = ma.entry(k.clone()).or_insert(0);
            *e = (*e).max(v);
        }
        assert_eq!(
            j,
            ma.iter()
                .map(|(k, &v)| (k.as_str(), v))
                .collect::<VersionVector>()
        );
        // a ⊔ b == b iff a <= b
        let mut ab = a.clone();
        ab.merge(&b);
        assert_eq!(ab == b, a.dominated_by(&b));
    }
    assert_eq!(Order::from_code(3), Some(Order::Concurrent));
    assert_eq!(Order::from_code(4), None);
    assert_eq!(Order::Before as u8, 1);
}

/// Format 1 of the standalone bytes as the format's description says, written from the
/// naive model: `PVCX`, `1`, the count, the names in byte order (length, bytes), then per
/// name its prefix, its number of cloud runs and each run's `(first, len)`, all `u64`
/// little-endian.
fn naive_bytes(o: &BTreeSet<(String, u64)>) -> Vec<u8> {
    let mut out = b"PVCX\x01".to_vec();
    out.extend_from_slice(&naive_rows(o, |_| true));
    out
}

/// The rows part: the replicas `row` selects.
fn naive_rows(o: &BTreeSet<(String, u64)>, row: impl Fn(&str) -> bool) -> Vec<u8> {
    let names: BTreeSet<&str> = o
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| row(n))
        .collect();
    let u64le = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
    let mut out = vec![];
    u64le(&mut out, names.len() as u64);
    for n in &names {
        u64le(&mut out, n.len() as u64);
        out.extend_from_slice(n.as_bytes());
    }
    for n in &names {
        let prefix = naive_prefix(o, n);
        let mut runs: Vec<(u64, u64)> = vec![];
        for (_, c) in o.iter().filter(|(m, c)| m == n && *c > prefix) {
            match runs.last_mut() {
                Some((first, len)) if *first + *len == *c => *len += 1,
                _ => runs.push((*c, 1)),
            }
        }
        u64le(&mut out, prefix);
        u64le(&mut out, runs.len() as u64);
        for (first, len) in runs {
            u64le(&mut out, first);
            u64le(&mut out, len);
        }
    }
    out
}

/// `name` as `(base, bits)` if it is `base#` and 16 lowercase hex digits.
fn naive_incarnation(name: &str) -> Option<(&str, u64)> {
    let cut = name.len().checked_sub(17)?;
    let (base, tail) = name.split_at(cut);
    let hex = tail.strip_prefix('#')?;
    let ok = hex
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    ok.then(|| (base, u64::from_str_radix(hex, 16).unwrap()))
}

/// Whether `name`'s dots are a plain prefix `1..=m`, `m >= 1`.
fn naive_is_prefix(o: &BTreeSet<(String, u64)>, name: &str) -> bool {
    let n = o.iter().filter(|(m, _)| m == name).count() as u64;
    n > 0 && naive_prefix(o, name) == n
}

/// Format 2, written from the naive model: `PVCX`, `2`, the records' length and the
/// records (`PVRT`, `1`, base names, per base its length, bytes, record count and per
/// record the bits as `u64` and the prefix as LEB128), then the rows.
fn naive_bytes_v2(o: &BTreeSet<(String, u64)>) -> Vec<u8> {
    let retired = |n: &str| naive_incarnation(n).is_some() && naive_is_prefix(o, n);
    let mut groups: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    let names: BTreeSet<&str> = o.iter().map(|(n, _)| n.as_str()).collect();
    for n in names.iter().filter(|n| retired(n)) {
        let (base, bits) = naive_incarnation(n).unwrap();
        groups
            .entry(base)
            .or_default()
            .push((bits, naive_prefix(o, n)));
    }
    let mut rec = b"PVRT\x01".to_vec();
    rec.extend_from_slice(&(groups.len() as u64).to_le_bytes());
    for (base, mut g) in groups {
        g.sort_unstable();
        rec.extend_from_slice(&(base.len() as u64).to_le_bytes());
        rec.extend_from_slice(base.as_bytes());
        rec.extend_from_slice(&(g.len() as u64).to_le_bytes());
        for (bits, mut m) in g {
            rec.extend_from_slice(&bits.to_le_bytes());
            loop {
                let low = (m & 0x7f) as u8;
                m >>= 7;
                if m == 0 {
                    rec.push(low);
                    break;
                }
                rec.push(low | 0x80);
            }
        }
    }
    let mut out = b"PVCX\x02".to_vec();
    out.extend_from_slice(&(rec.len() as u64).to_le_bytes());
    out.extend_from_slice(&rec);
    out.extend_from_slice(&naive_rows(o, |n| !retired(n)));
    out
}

/// A random context over plain names and incarnations of two base names.
fn random_incarnation_context(g: &mut Rng) -> (CausalContext, BTreeSet<(String, u64)>) {
    let mut c = CausalContext::new();
    let mut o = BTreeSet::new();
    for _ in 0..g.below(40) {
        let name = match g.below(3) {
            0 => NAMES[g.below(5) as usize].to_string(),
            1 => format!("paris#{:016x}", g.below(6) * 0x1234_5678_9abc),
            _ => format!("{}#{:016x}", NAMES[0], g.below(3)),
        };
        let k = 1 + g.below(4) * g.below(60);
        for k in k..k + g.below(3) {
            c.insert(&Dot::new(name.as_str(), k));
            o.insert((name.clone(), k));
        }
    }
    (c, o)
}

#[test]
fn bytes_match_a_naive_writer_and_read_back() {
    let mut g = Rng(3);
    let mut records = 0;
    for i in 0..1000 {
        let (c, o) = if i % 2 == 0 {
            random_context(&mut g)
        } else {
            random_incarnation_context(&mut g)
        };
        let bytes = c.to_bytes();
        assert_eq!(bytes, naive_bytes_v2(&o));
        assert_eq!(CausalContext::from_bytes(&bytes).unwrap(), c);
        // format 1 is still read
        assert_eq!(CausalContext::from_bytes(&naive_bytes(&o)).unwrap(), c);
        records += c.split_retired(|_| false).1.len();
    }
    assert!(
        records > 200,
        "{records} records: the retired part is exercised"
    );
}

#[test]
fn format_2_refuses_a_row_that_is_a_record_and_a_name_in_both() {
    let mut o = BTreeSet::new();
    let inc = "paris#00000000000000ab";
    for (n, k) in [(inc, 1), (inc, 2), ("berlin", 1)] {
        o.insert((n.to_string(), k));
    }
    let good = naive_bytes_v2(&o);
    assert!(CausalContext::from_bytes(&good).is_ok());
    let bad = |b: &[u8]| matches!(CausalContext::from_bytes(b), Err(Error::Decode(_)));
    assert!((0..good.len()).all(|n| bad(&good[..n])));
    assert!(bad(&[good.as_slice(), &[0]].concat()));
    // the incarnation written as a row: the format-1 rows after an empty record set
    let empty = b"PVRT\x01\0\0\0\0\0\0\0\0".to_vec();
    let mut m = b"PVCX\x02".to_vec();
    m.extend_from_slice(&(empty.len() as u64).to_le_bytes());
    m.extend_from_slice(&empty);
    m.extend_from_slice(&naive_rows(&o, |_| true));
    assert!(bad(&m));
    // ... and as a row and a record at once
    let records_len = u64::from_le_bytes(good[5..13].try_into().unwrap()) as usize;
    let mut m = good[..13 + records_len].to_vec();
    m.extend_from_slice(&naive_rows(&o, |_| true));
    assert!(bad(&m));
    // a record whose incarnation has a cloud is a row: the same bytes read as format 1 rows
    let mut cloud = o.clone();
    cloud.insert((inc.to_string(), 5));
    assert_eq!(
        CausalContext::from_bytes(&naive_bytes_v2(&cloud))
            .unwrap()
            .to_bytes(),
        naive_bytes_v2(&cloud)
    );
    let mut m = good.clone();
    m[4] = 3;
    assert!(bad(&m), "unknown version");
}

#[test]
fn malformed_bytes_are_errors() {
    let mut o = BTreeSet::new();
    for (n, k) in [("berlin", 1), ("berlin", 4), ("amsterdam", 2)] {
        o.insert((n.to_string(), k));
    }
    let good = naive_bytes(&o);
    assert!(CausalContext::from_bytes(&good).is_ok());
    let bad = |b: &[u8]| matches!(CausalContext::from_bytes(b), Err(Error::Decode(_)));
    // every proper prefix is truncated
    assert!((0..good.len()).all(|n| bad(&good[..n])));
    // trailing bytes, wrong magic, unknown version
    assert!(bad(&[good.as_slice(), &[0]].concat()));
    let mut m = good.clone();
    m[0] = b'X';
    assert!(bad(&m));
    let mut m = good.clone();
    m[4] = 3;
    assert!(bad(&m));
    // names out of order: swap "amsterdam" and "berlin" in the table (not the dots)
    let table_end = 13 + 8 + 9 + 8 + 6;
    let mut m = good[..13].to_vec();
    m.extend_from_slice(&6u64.to_le_bytes());
    m.extend_from_slice(b"berlin");
    m.extend_from_slice(&9u64.to_le_bytes());
    m.extend_from_slice(b"amsterdam");
    m.extend_from_slice(&good[table_end..]);
    assert_eq!(m.len(), good.len());
    assert!(bad(&m));
    // a cloud run touching the prefix is not canonical: berlin's run (4, 1) as (2, 1)
    let mut m = good.clone();
    let run_first = good.len() - 16;
    m[run_first..run_first + 8].copy_from_slice(&2u64.to_le_bytes());
    assert!(bad(&m));
}
