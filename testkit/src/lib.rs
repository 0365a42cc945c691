//! Test support shared by the workspace's tests, benches and simulator.
//!
//! One thing lives here so that it is written once: [`SplitMix64`], the seeded generator
//! every test, bench input, simulated schedule and cluster fault plan draws from. It has no
//! dependencies, so every crate of the workspace (the kernels included) can use it.

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit state advanced by a constant and mixed on output. Fast, good
/// enough for workloads and schedules, and identical on every platform, so a seed names
/// one run everywhere.
///
/// ```
/// use pluriverse_testkit::SplitMix64;
/// let mut a = SplitMix64(7);
/// let mut b = SplitMix64(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// assert!((0.0..1.0).contains(&a.unit()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` by multiply-shift (Lemire), without the bias of `% n`.
    ///
    /// # Panics
    /// If `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no value to return");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A fair coin.
    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Uniform in `0.0..1.0`: the top 53 bits of the next output, scaled (every value a
    /// multiple of 2^-53).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p` (never for `p <= 0`, always for `p >= 1`): one
    /// [`Self::unit`] draw, `<= p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() <= p
    }

    /// Shuffles `v` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    /// The first outputs for seed 1234567, computed outside this crate by a separate
    /// implementation of the reference algorithm (Vigna's `splitmix64.c`, transcribed to
    /// Python with arbitrary-precision integers masked to 64 bits).
    #[test]
    fn matches_the_reference_sequence() {
        let mut g = SplitMix64(1234567);
        let want = [
            6457827717110365317u64,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821,
        ];
        for w in want {
            assert_eq!(g.next_u64(), w);
        }
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut g = SplitMix64(1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = g.below(7);
            assert!(x < 7);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    /// `unit` is the top 53 bits over 2^53, computed here with integers only.
    #[test]
    fn unit_is_the_top_53_bits_scaled() {
        let (mut a, mut b) = (SplitMix64(9), SplitMix64(9));
        for _ in 0..1000 {
            let u = a.unit();
            let top = b.next_u64() >> 11;
            assert!((0.0..1.0).contains(&u));
            assert_eq!((u * 2f64.powi(53)) as u64, top);
        }
    }

    /// `chance` draws once per call, `<= p` (so `p = 1` is certain and `p = 0` never), and
    /// the share of hits tracks `p`.
    #[test]
    fn chance_draws_once_and_tracks_p() {
        let (mut a, mut b) = (SplitMix64(11), SplitMix64(11));
        let mut hits = 0u32;
        for _ in 0..10_000 {
            let hit = a.chance(0.25);
            assert_eq!(hit, (b.next_u64() >> 11) <= 1 << 51);
            hits += u32::from(hit);
        }
        assert!(
            (2_300..2_700).contains(&hits),
            "{hits} hits of 10000 at p = 0.25"
        );
        assert!((0..100).all(|_| a.chance(1.0) && !a.chance(0.0)));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut g = SplitMix64(3);
        let mut v: Vec<u32> = (0..100).collect();
        g.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
