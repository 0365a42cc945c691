//! Seeded input generators shared by the benches (outside the timed regions).

/// A small deterministic generator (SplitMix64), so bench inputs are identical run to run.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Two `rows x width` matrices of counters with realistic structure: counters near each
/// other so rows are a mix of equal, before, after and concurrent.
pub fn vv_pair(rows: usize, width: usize, seed: u64) -> (Vec<u64>, Vec<u64>) {
    let mut g = SplitMix(seed);
    let n = rows * width;
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    for _ in 0..n {
        let base = g.below(1 << 20);
        a.push(base + g.below(2));
        b.push(base + g.below(2));
    }
    (a, b)
}
