//! The full join at a size where its output columns and plans are large enough to be
//! advised to huge pages (`pluriverse::kernels::pages`, 4 MiB and up), with the advice on
//! and off, against the result known by construction: replica `a` writes keys `0..n`,
//! replica `b` sees that write, then `a` rewrites every tenth key of the upper half
//! (concurrently with `b`) and `b` writes keys `n/2..3n/2`.

use std::collections::BTreeMap;

use pluriverse::kernels::pages;
use pluriverse::{JoinPath, MVMap};

/// The expected join: key -> sorted `(replica, value)` pairs of its surviving entries.
fn expected(n: u64) -> BTreeMap<u64, Vec<(String, u64)>> {
    let mut m = BTreeMap::new();
    for k in 0..n * 3 / 2 {
        let mut v = vec![];
        if k < n / 2 {
            v.push(("a".to_string(), k));
        } else if k < n && k % 10 == 0 {
            // a's concurrent rewrite survives beside b's write
            v.push(("a".to_string(), k + 7));
        }
        if k >= n / 2 {
            v.push(("b".to_string(), k * 3));
        }
        v.sort();
        m.insert(k, v);
    }
    m
}

fn states(n: u64) -> (MVMap<u64, u64>, MVMap<u64, u64>) {
    let keys: Vec<u64> = (0..n).collect();
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    let first = a.set_many(&keys, &keys).unwrap();
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    b.join(&first);
    let conc: Vec<u64> = (n / 2..n).filter(|k| k % 10 == 0).collect();
    let conc_vals: Vec<u64> = conc.iter().map(|k| k + 7).collect();
    a.set_many(&conc, &conc_vals).unwrap();
    let b_keys: Vec<u64> = (n / 2..n * 3 / 2).collect();
    let b_vals: Vec<u64> = b_keys.iter().map(|k| k * 3).collect();
    b.set_many(&b_keys, &b_vals).unwrap();
    a.compact_runs();
    b.compact_runs();
    (a, b)
}

fn got(m: &MVMap<u64, u64>) -> BTreeMap<u64, Vec<(String, u64)>> {
    let mut out: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
    for (k, r, _c, v) in m.store().entries() {
        out.entry(k).or_default().push((r.to_string(), v));
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

#[test]
#[cfg_attr(debug_assertions, ignore = "run with --release (scripts/test.sh does)")]
fn large_full_join_with_and_without_huge_pages() {
    // 1.5n output rows of u64 columns: 12 MB per column at n = 2^20
    let n = 1u64 << 20;
    let (a, b) = states(n);
    let want = expected(n);
    for huge in [true, false] {
        pages::set_enabled(huge);
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut j = x.clone();
            j.join_with(y.store(), JoinPath::Full);
            assert_eq!(got(&j), want, "huge pages {huge}");
            j.store().check_invariants().unwrap();
        }
    }
    pages::set_enabled(true);
}
