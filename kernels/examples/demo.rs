//! The kernels at work: replicas that each keep a version vector per record gossip their
//! matrices over a lossy network (dropped and duplicated messages), merge what reaches them
//! with the fused merge+compare kernel, and converge; digests confirm it. Prints real figures
//! measured on this machine, next to a plain memory copy of the same bytes.
//!
//! `cargo run --release -p pluriverse-kernels --example demo [-- RECORDS REPLICAS LOSS]`

use std::time::{Duration, Instant};

use pluriverse_kernels::digest::digest_fixed_rows;
use pluriverse_kernels::vv::{self, CONCURRENT, EQUAL};
use pluriverse_kernels::Isa;
use pluriverse_testkit::SplitMix64 as Rng;

fn digest(m: &[u64]) -> u128 {
    let bytes: Vec<u8> = m.iter().flat_map(|c| c.to_le_bytes()).collect();
    digest_fixed_rows(&bytes, 8 * 8)
        .map(|d| d.finish())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let records: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(250_000);
    let replicas: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(8);
    let loss: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.2);
    let width = replicas;
    let mut g = Rng(42);

    println!(
        "pluriverse kernels demo: {replicas} replicas, {records} records, {:.0}% message loss",
        loss * 100.0
    );
    println!(
        "instruction set in use: {} (available: {:?})",
        Isa::best(),
        Isa::available()
    );

    // Every replica writes to the records it is primary for (record % replicas) and to a few
    // hot records that everyone writes: its own column of the record's version vector grows.
    let mut state: Vec<Vec<u64>> = vec![vec![0u64; records * width]; replicas];
    for (r, m) in state.iter_mut().enumerate() {
        for rec in 0..records {
            let hot = rec % 100 == 0;
            if rec % replicas == r || hot {
                m[rec * width + r] = 1 + g.below(5);
            }
        }
    }

    let bytes_per_state = records * width * 8;
    let (mut sent, mut dropped, mut dup, mut merged_bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut merge_time = Duration::ZERO;
    let mut codes = vec![0u8; records];
    let mut round = 0;
    let mut concurrent_seen = 0u64;
    loop {
        round += 1;
        // each replica sends its whole matrix to one random peer; the network drops some
        // messages and delivers some twice
        let mut deliveries = vec![];
        for from in 0..replicas {
            let mut to = g.below(replicas as u64 - 1) as usize;
            if to >= from {
                to += 1;
            }
            sent += 1;
            if (g.below(1000) as f64) < loss * 1000.0 {
                dropped += 1;
                continue;
            }
            deliveries.push((from, to));
            if g.below(10) == 0 {
                dup += 1;
                deliveries.push((from, to));
            }
        }
        for (from, to) in deliveries {
            let msg = state[from].clone();
            let t = Instant::now();
            vv::merge_compare(&mut state[to], &msg, width, &mut codes).expect("shapes match");
            merge_time += t.elapsed();
            merged_bytes += bytes_per_state as u64;
            concurrent_seen += codes.iter().filter(|&&c| c == CONCURRENT).count() as u64;
        }
        // converged when every replica equals the first
        let mut all_equal = true;
        for other in &state[1..] {
            vv::compare(&state[0], other, width, &mut codes).expect("shapes match");
            if codes.iter().any(|&c| c != EQUAL) {
                all_equal = false;
                break;
            }
        }
        if all_equal || round >= 200 {
            break;
        }
    }

    let digests: Vec<u128> = state.iter().map(|m| digest(m)).collect();
    let converged = digests.iter().all(|d| *d == digests[0]);

    // the memory limit: a plain copy of the same bytes, timed the same way
    let src = state[0].clone();
    let mut dst = vec![0u64; src.len()];
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        dst.copy_from_slice(std::hint::black_box(&src));
    }
    let copy_per_state = t.elapsed() / reps;
    let merge_per_state = merge_time / (merged_bytes / bytes_per_state as u64).max(1) as u32;

    println!("rounds to converge: {round}");
    println!("messages: {sent} sent, {dropped} dropped, {dup} duplicated");
    println!("concurrent record versions met while merging: {concurrent_seen}");
    println!(
        "merge+compare: {:.1} M records/s, {:.2} GB/s of state merged ({:.2} ms per {} MB state)",
        records as f64 / merge_per_state.as_secs_f64() / 1e6,
        bytes_per_state as f64 / merge_per_state.as_secs_f64() / 1e9,
        merge_per_state.as_secs_f64() * 1e3,
        bytes_per_state / 1_000_000
    );
    println!(
        "plain copy of the same bytes (one thread): {:.2} ms -> merge+compare costs {:.2}x a copy",
        copy_per_state.as_secs_f64() * 1e3,
        merge_per_state.as_secs_f64() / copy_per_state.as_secs_f64()
    );
    println!("digest of replica 0: {:032x}", digests[0]);
    println!(
        "verdict: {}",
        if converged {
            "CONVERGED (all replicas byte-identical, equal digests)"
        } else {
            "NOT CONVERGED"
        }
    );
    if !converged {
        std::process::exit(1);
    }
}
