//! A profiling harness for the full join: two large MVMaps that overlap by half (a tenth of
//! the overlap written concurrently), joined `ROUNDS` times; prints the time per join.
//!
//! `N=1000000 ROUNDS=10 cargo run --release -p pluriverse --example prof_join`; with
//! `B_FIRST=1` the second map writes before it joins the first's batch, so the join maps
//! its replica indices into the other's.
use pluriverse::MVMap;
use std::time::Instant;
fn main() {
    let n: u64 = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = pluriverse_testkit::SplitMix64(5);
    let mut next = || rng.next_u64() >> 11;
    let (mut a_first, mut a_conc) = (vec![], vec![]);
    for k in 0..n {
        if k >= n / 2 && k % 10 == 0 {
            a_conc.push(k)
        } else {
            a_first.push(k)
        }
    }
    let b_keys: Vec<u64> = (n / 2..n * 3 / 2).collect();
    let values: Vec<u64> = (0..n).map(|_| next()).collect();
    let mut a: MVMap<u64, u64> = MVMap::new("a");
    a.set_many(&a_first, &values[..a_first.len()]).unwrap();
    a.set_many(&a_conc, &values[..a_conc.len()]).unwrap();
    a.compact_runs();
    let first = MVMap::<u64, u64>::new("a")
        .set_many(&a_first, &values[..a_first.len()])
        .unwrap();
    let mut b: MVMap<u64, u64> = MVMap::new("b");
    if std::env::var_os("B_FIRST").is_some() {
        // b writes before it hears of a: its replica table is (b, a), a's is (a), so the
        // join maps b's replica indices into a's (and their order differs)
        b.set_many(&b_keys, &values[..b_keys.len()]).unwrap();
        b.join(&first);
    } else {
        b.join(&first);
        b.set_many(&b_keys, &values[..b_keys.len()]).unwrap();
    }
    b.compact_runs();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut total = std::time::Duration::ZERO;
    for _ in 0..rounds {
        let mut t = a.detached();
        let s = Instant::now();
        t.join(b.store());
        total += s.elapsed();
        std::hint::black_box(&t);
    }
    println!(
        "{:.2} ms per join ({} + {} entries)",
        total.as_secs_f64() * 1e3 / rounds as f64,
        a.entry_count(),
        b.entry_count()
    );
}
