//! Shared test support: a seeded generator (SplitMix64).
#![allow(dead_code)] // each test binary uses what it needs

/// SplitMix64: deterministic, seedable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Full exchange: every replica joins `delta_since` from every other, twice over, so each
/// ends up with everything (replicas of any kind: anything with `delta_since`, `context`
/// and `join`).
#[macro_export]
macro_rules! heal {
    ($replicas:expr) => {
        for _ in 0..2 {
            for a in 0..$replicas.len() {
                for b in 0..$replicas.len() {
                    if a != b {
                        let d = $replicas[a].delta_since($replicas[b].context());
                        $replicas[b].join(&d);
                    }
                }
            }
        }
    };
}
