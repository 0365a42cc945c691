//! A timing harness for the batch write and decode paths: `set_many` of `N` records into an
//! empty map and into a map of `N` other keys (u64 and 10-byte string keys), `to_bytes` and
//! `from_bytes` of the result; prints ns per record (best of `ROUNDS`).
//!
//! `N=1000000 ROUNDS=5 cargo run --release -p pluriverse --example prof_write`
use pluriverse::MVMap;
use std::time::Instant;

fn best<T>(rounds: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut b = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(f());
        b = b.min(t.elapsed().as_secs_f64());
    }
    b
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let (n, rounds) = (env("N", 1_000_000), env("ROUNDS", 5));
    let what = std::env::var("WHAT").unwrap_or_else(|_| "all".into());
    let on = |w: &str| what == "all" || what.split(',').any(|x| x == w);
    let mut rng = pluriverse_testkit::SplitMix64(7);
    let keys: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    let other: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    let values: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    let per = |s: f64| s * 1e9 / n as f64;
    if on("u64") {
        let t = best(rounds, || {
            let mut m: MVMap<u64, u64> = MVMap::new("a");
            m.set_many(&keys, &values).unwrap();
            m
        });
        println!("set_many u64 into empty: {:.1} ns/record", per(t));
        let mut big: MVMap<u64, u64> = MVMap::new("a");
        big.set_many(&other, &values).unwrap();
        let mut total = 0.0f64;
        let mut bestt = f64::MAX;
        for _ in 0..rounds {
            let mut m = big.clone();
            let t = Instant::now();
            m.set_many(&keys, &values).unwrap();
            let e = t.elapsed().as_secs_f64();
            total += e;
            bestt = bestt.min(e);
        }
        let _ = total;
        println!("set_many u64 into {n}: {:.1} ns/record", per(bestt));
    }
    if on("str") {
        let skeys: Vec<String> = keys
            .iter()
            .map(|k| format!("{:010}", k % 10_000_000_000))
            .collect();
        let t = best(rounds, || {
            let mut m: MVMap<String, u64> = MVMap::new("a");
            m.set_many(&skeys, &values).unwrap();
            m
        });
        println!("set_many str10 into empty: {:.1} ns/record", per(t));
    }
    if on("bytes") {
        let mut big: MVMap<u64, u64> = MVMap::new("a");
        big.set_many(&keys, &values).unwrap();
        let tt = best(rounds, || big.to_bytes().unwrap());
        let bytes = big.to_bytes().unwrap();
        let tf = best(rounds, || {
            MVMap::<u64, u64>::from_bytes(&bytes, "b").unwrap()
        });
        println!(
            "to_bytes {:.1} ns/record, from_bytes {:.1} ns/record, ratio {:.2}, {} bytes",
            per(tt),
            per(tf),
            tf / tt,
            bytes.len()
        );
    }
}
