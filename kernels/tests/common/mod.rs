//! Test support: a seeded generator and naive oracles, the simplest code that is obviously
//! right. The oracles are not the shipped fallback; they exist only here.
#![allow(dead_code)] // each test binary uses a different part

/// The instruction-set families a differential test ran: printed (so a log shows what a
/// run on a CPU without AVX-512 did *not* cover), and checked against
/// `PLURIVERSE_EXPECT_ISA`, a comma-separated list of family names (`avx512bw`,
/// `avx2,avx512`, ...): the test fails when a named family did not run, so CI on an
/// AVX-512 machine cannot silently skip it. An unknown name fails too.
pub fn report_families(test: &str, ran: &[pluriverse_kernels::Isa]) {
    use pluriverse_kernels::Isa;
    let names: Vec<&str> = ran.iter().map(|i| i.name()).collect();
    let skipped: Vec<&str> = [
        Isa::Portable,
        Isa::Sse2,
        Isa::Avx2,
        Isa::Avx512,
        Isa::Avx512Bw,
    ]
    .into_iter()
    .filter(|i| !ran.contains(i))
    .map(Isa::name)
    .collect();
    eprintln!("{test}: ran families {names:?}; skipped (CPU or target lacks them) {skipped:?}");
    if let Err(msg) = check_expected_families(std::env::var("PLURIVERSE_EXPECT_ISA").ok(), ran) {
        panic!("{test}: {msg}");
    }
}

/// The check behind [`report_families`], apart from the environment so it can be tested.
pub fn check_expected_families(
    expect: Option<String>,
    ran: &[pluriverse_kernels::Isa],
) -> Result<(), String> {
    let Some(expect) = expect else {
        return Ok(());
    };
    for name in expect.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match pluriverse_kernels::Isa::from_name(name) {
            None => {
                return Err(format!(
                    "PLURIVERSE_EXPECT_ISA names unknown family {name:?}"
                ))
            }
            Some(isa) if !ran.contains(&isa) => {
                return Err(format!(
                    "PLURIVERSE_EXPECT_ISA expects {name} but it did not run (this CPU or \
                     target lacks it)"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The workspace's seeded generator (SplitMix64).
pub use pluriverse_testkit::SplitMix64 as Rng;

/// Counters drawn for kernel inputs.
pub trait Counters {
    /// A counter from a mix of distributions: small, near u64::MAX, full range, zero.
    fn counter(&mut self) -> u64;
}

impl Counters for Rng {
    fn counter(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => u64::MAX - self.below(3),
            2 => self.next_u64(),
            3 => 1u64 << self.below(64),
            _ => self.below(4),
        }
    }
}

pub mod vv {
    pub fn merge<T: Ord + Copy>(a: &mut [T], b: &[T]) {
        for i in 0..a.len() {
            if b[i] > a[i] {
                a[i] = b[i];
            }
        }
    }

    pub fn compare<T: Ord + Copy>(a: &[T], b: &[T], width: usize) -> Vec<u8> {
        a.chunks(width)
            .zip(b.chunks(width))
            .map(|(x, y)| {
                let lt = x.iter().zip(y).any(|(p, q)| p < q);
                let gt = x.iter().zip(y).any(|(p, q)| p > q);
                match (lt, gt) {
                    (false, false) => 0,
                    (true, false) => 1,
                    (false, true) => 2,
                    (true, true) => 3,
                }
            })
            .collect()
    }

    pub fn dominated<T: Ord + Copy>(a: &[T], b: &[T], width: usize) -> Vec<bool> {
        a.chunks(width)
            .zip(b.chunks(width))
            .map(|(x, y)| x.iter().zip(y).all(|(p, q)| q <= p))
            .collect()
    }

    pub fn column_min<T: Ord + Copy>(m: &[T], width: usize, max: T) -> Vec<T> {
        (0..width)
            .map(|j| {
                m.iter()
                    .skip(j)
                    .step_by(width)
                    .copied()
                    .min()
                    .unwrap_or(max)
            })
            .collect()
    }
}
