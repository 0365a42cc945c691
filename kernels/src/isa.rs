//! Which instruction set the kernels run on: detected once per process and cached.

use std::sync::atomic::{AtomicU8, Ordering};

/// An implementation family of the kernels.
///
/// `Portable` is the scalar fallback (plain Rust over 4-lane arrays, which compilers
/// auto-vectorize where they can) and exists on every target. The x86-64 families are
/// chosen at run time from the CPU's features, so a library built for baseline x86-64 runs
/// AVX2 or AVX-512 code where the CPU has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Isa {
    /// Scalar fallback, every target.
    Portable = 1,
    /// x86-64 SSE2 (128-bit), every x86-64 CPU.
    Sse2 = 2,
    /// x86-64 AVX2 (256-bit).
    Avx2 = 3,
    /// x86-64 AVX-512F (512-bit), the generic algorithms on 512-bit vectors.
    Avx512 = 4,
    /// x86-64 AVX-512F with BW, VL and DQ (Skylake-SP and later): the row kernels
    /// (compare, merge+compare, dominated) decide many rows per step from mask registers
    /// (per-row tests over a plane of lane masks, byte-wise masked stores of the verdicts)
    /// instead of one row at a time. Chosen only when the CPU reports all four features.
    Avx512Bw = 5,
}

const ALL: [Isa; 5] = [
    Isa::Portable,
    Isa::Sse2,
    Isa::Avx2,
    Isa::Avx512,
    Isa::Avx512Bw,
];

static BEST: AtomicU8 = AtomicU8::new(0);

impl Isa {
    /// Lower-case name, as accepted by the `PLURIVERSE_ISA` environment variable.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Sse2 => "sse2",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
            Self::Avx512Bw => "avx512bw",
        }
    }

    /// Parses a name as printed by [`Isa::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|isa| isa.name() == name)
    }

    /// Whether this CPU (and this build's target) can run the family.
    pub fn is_available(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Bw => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every family this CPU can run, slowest first. Tests and benches use it to pin each one.
    pub fn available() -> Vec<Self> {
        ALL.into_iter().filter(|isa| isa.is_available()).collect()
    }

    /// The family the dispatching entry points use: the widest available one, capped by the
    /// `PLURIVERSE_ISA` environment variable when it names an available family (useful to
    /// compare implementations in a running program). Detected once, then cached.
    pub fn best() -> Self {
        match BEST.load(Ordering::Relaxed) {
            0 => {
                let widest = *Self::available().last().unwrap_or(&Self::Portable);
                let chosen = std::env::var("PLURIVERSE_ISA")
                    .ok()
                    .and_then(|v| Self::from_name(v.trim()))
                    .filter(|isa| isa.is_available() && *isa <= widest)
                    .unwrap_or(widest);
                BEST.store(chosen as u8, Ordering::Relaxed);
                chosen
            }
            v => ALL
                .into_iter()
                .find(|isa| *isa as u8 == v)
                .unwrap_or(Self::Portable),
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
