//! A timing harness for the batch write and decode paths: `set_many` of `N` records into an
//! empty map and into a map of `N` other keys (u64 and 10-byte string keys), `to_bytes` and
//! `from_bytes` of the result; prints ns per record (best of `ROUNDS`).
//!
//! `N=1000000 ROUNDS=5 cargo run --release -p pluriverse --example prof_write`
use pluriverse::MVMap;

/// Seconds of CPU time of this process, all threads (the machine is shared: wall time
/// counts the others' work too; the store's large merges run on rayon's pool, whose threads
/// count here).
fn cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Best CPU time and best wall time of `rounds` calls of `f` (its result dropped outside
/// the timing).
fn best2<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let (mut b, mut w) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let (t, t0) = (cpu_s(), std::time::Instant::now());
        let r = std::hint::black_box(f());
        b = b.min(cpu_s() - t);
        w = w.min(t0.elapsed().as_secs_f64());
        drop(r);
    }
    (b, w)
}

/// Minor page faults of this process so far.
fn minflt() -> i64 {
    // SAFETY: `u` is a valid, writable rusage for the call's duration.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is a valid `who`.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_minflt
}

/// Best CPU time of `rounds` calls of `f`.
fn best<T>(rounds: usize, f: impl FnMut() -> T) -> f64 {
    best2(rounds, f).0
}

/// The key hash of a `u64` key (as the store computes it).
fn xxh(k: u64) -> u64 {
    pluriverse::Item::hash64(&k)
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
        let (t, tw) = best2(rounds, || {
            let mut m: MVMap<u64, u64> = MVMap::new("a");
            let d = m.set_many(&keys, &values).unwrap();
            (m, d)
        });
        let f0 = minflt();
        let r = {
            let mut m: MVMap<u64, u64> = MVMap::new("a");
            let d = m.set_many(&keys, &values).unwrap();
            (m, d)
        };
        let faults = minflt() - f0;
        drop(r);
        let hashes: Vec<u64> = keys.iter().map(|k| xxh(*k)).collect();
        let mut h2 = hashes.clone();
        let ts = best(rounds, || {
            h2.copy_from_slice(&hashes);
            h2.sort_unstable();
        });
        // the output columns of a 1M u64 map (hash, key, replica, counter, value) copied
        // into reused buffers
        let cols: Vec<u8> = vec![7; n * 36];
        let mut out = vec![0u8; n * 36];
        let tc = best(rounds, || out.copy_from_slice(&cols));
        println!(
            "set_many u64 into empty: {:.1} ns/record CPU ({:.1} wall, {} page faults); std sort of the u64 hashes {:.1} ns; copy of the columns {:.1} ns (CPU time)",
            per(t),
            per(tw),
            faults,
            per(ts),
            per(tc)
        );
    }
    if on("into") {
        let mut big: MVMap<u64, u64> = MVMap::new("a");
        big.set_many(&other, &values).unwrap();
        let (mut bestt, mut bestw) = (f64::MAX, f64::MAX);
        for _ in 0..rounds {
            let mut m = big.detached();
            let (t, t0) = (cpu_s(), std::time::Instant::now());
            let d = m.set_many(&keys, &values).unwrap();
            bestt = bestt.min(cpu_s() - t);
            bestw = bestw.min(t0.elapsed().as_secs_f64());
            drop((d, m));
        }
        println!(
            "set_many u64 into {n}: {:.1} ns/record CPU ({:.1} wall)",
            per(bestt),
            per(bestw)
        );
    }
    if on("str") {
        let skeys: Vec<String> = keys
            .iter()
            .map(|k| format!("{:010}", k % 10_000_000_000))
            .collect();
        let (t, tw) = best2(rounds, || {
            let mut m: MVMap<String, u64> = MVMap::new("a");
            let d = m.set_many(&skeys, &values).unwrap();
            (m, d)
        });
        println!(
            "set_many str10 into empty: {:.1} ns/record CPU ({:.1} wall)",
            per(t),
            per(tw)
        );
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
