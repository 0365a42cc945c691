//! The Rust side of `bench/bench.py`: the same calls the Python benchmark makes, through
//! `pluriverse-any` (what the native module calls), timed here without Python in the way.
//!
//! `cargo run --release -p pluriverse-python --example bench_rust -- N REPEAT` prints one JSON
//! object of best-of-REPEAT seconds.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Int64Array, StringArray, UInt64Array};
use pluriverse_any::{AnyState, KeyType, Kind, StateType, ValueType};

/// `n` keys `k{start}`, `k{start+1}`, ... and the values `start..start+n`.
fn columns(start: usize, n: usize) -> (ArrayRef, ArrayRef) {
    let keys: StringArray = (start..start + n).map(|i| Some(format!("k{i}"))).collect();
    let values: Int64Array = (start..start + n).map(|i| i as i64).collect();
    (Arc::new(keys), Arc::new(values))
}

/// `n` spread `u64` keys (`i` times an odd constant, wrapping: as bench.py makes them) and
/// the values `0..n`.
fn u64_columns(n: usize) -> (ArrayRef, ArrayRef) {
    let keys: UInt64Array = (0..n as u64)
        .map(|i| Some(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    let values: Int64Array = (0..n as i64).map(Some).collect();
    (Arc::new(keys), Arc::new(values))
}

/// Best wall time of `repeat` batch writes of `keys`/`values` into a fresh state of type
/// `ty`: the delta dropped inside the timing, the state after it (as the Python bench).
fn best_write(repeat: usize, ty: StateType, keys: &ArrayRef, values: &ArrayRef) -> f64 {
    (0..repeat)
        .map(|_| {
            let mut a = AnyState::new(ty, "a");
            let t = Instant::now();
            drop(std::hint::black_box(
                a.set_many(keys.as_ref(), values.as_ref())
                    .expect("set_many"),
            ));
            let e = t.elapsed().as_secs_f64();
            drop(a);
            e
        })
        .fold(f64::INFINITY, f64::min)
}

/// Best wall time of `repeat` runs of `f` (each gets a fresh setup from `setup`).
fn best<S, T>(repeat: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S) -> T) -> f64 {
    (0..repeat)
        .map(|_| {
            let s = setup();
            let t = Instant::now();
            std::hint::black_box(f(s));
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: bench_rust N REPEAT"))
        .collect();
    let (n, repeat) = (
        args.first().copied().unwrap_or(1_000_000),
        args.get(1).copied().unwrap_or(3),
    );
    let ty = StateType::new(Kind::MVMap, KeyType::Utf8, Some(ValueType::Int64))
        .expect("MVMap<utf8, int64> is a valid type");
    let (ka, va) = columns(0, n);
    let (kb, vb) = columns(n / 2, n);

    // as from Python: the delta is dropped inside the timing, the state written into after
    let set_many = best_write(repeat, ty, &ka, &va);
    let ty_u64 = StateType::new(Kind::MVMap, KeyType::UInt64, Some(ValueType::Int64))
        .expect("MVMap<uint64, int64> is a valid type");
    let (ku, vu) = u64_columns(n);
    let set_many_u64 = best_write(repeat, ty_u64, &ku, &vu);

    let mut a = AnyState::new(ty, "a");
    a.set_many(ka.as_ref(), va.as_ref()).expect("set_many");
    let mut b = AnyState::new(ty, "b");
    b.set_many(kb.as_ref(), vb.as_ref()).expect("set_many");
    let b_bytes = b.to_bytes().expect("to_bytes");

    let merge_bytes = best(
        repeat,
        || a.clone(),
        |mut x| x.join_bytes(&b_bytes).expect("join_bytes"),
    );
    let merge_state = best(repeat, || a.clone(), |mut x| x.join(&b).expect("join"));
    let to_bytes = best(repeat, || (), |_| b.to_bytes().expect("to_bytes"));
    println!(
        "{{\"n\": {n}, \"set_many\": {set_many}, \"set_many_u64\": {set_many_u64}, \
         \"merge_bytes\": {merge_bytes}, \"merge_state\": {merge_state}, \"to_bytes\": {to_bytes}}}"
    );
}
