//! Removes leave no tombstones: after ten million set/remove operations on the same 1,000
//! keys, a state holds about 1,000 entries and its context has compacted to a version
//! vector. Runs in release mode from the test script (it is slow unoptimized).

use pluriverse::MVMap;

#[test]
#[cfg_attr(debug_assertions, ignore = "run with --release (scripts/test.sh does)")]
fn ten_million_set_remove_cycles_leave_a_thousand_entries() {
    let keys: Vec<u64> = (0..1000).collect();
    let values: Vec<i64> = (0..1000).collect();
    let mut a: MVMap<u64, i64> = MVMap::new("a");
    let mut b: MVMap<u64, i64> = MVMap::new("b");
    let mut ops = 0u64;
    let mut round = 0;
    while ops < 10_000_000 {
        // a writes every key, b (having seen it) removes half of them, a overwrites
        let d = a.set_many(&keys, &values).unwrap();
        b.join(&d);
        let half = if round % 2 == 0 {
            &keys[..500]
        } else {
            &keys[500..]
        };
        let r = b.remove_many(half);
        a.join(&r);
        ops += 1500;
        round += 1;
    }
    for m in [&a, &b] {
        let n = m.entry_count();
        assert!((500..=1000).contains(&n), "{n} entries");
        assert!(
            m.context().is_compact(),
            "context cloud: {}",
            m.context().cloud_len()
        );
        assert!(m.store().run_count() <= 8, "{} runs", m.store().run_count());
        // about 1K entries of (u64, u64-ish) columns: far below a byte per operation
        assert!(
            m.store().heap_bytes() < 1 << 20,
            "{} bytes",
            m.store().heap_bytes()
        );
    }
    assert_eq!(a.digest(), b.digest());
}
