//! Order-independent 128-bit digests of row batches, whole and per hash-prefix bucket.
//!
//! Each row is hashed with xxh3-128; a [`Digest`] adds the row hashes modulo 2^128 and
//! counts them (an additive multiset hash), so equal multisets of rows give equal digests
//! in any order, digests of disjoint parts add up to the digest of the whole, and
//! duplicates count (unlike XOR, a row seen twice does not cancel). [`Digest::finish`]
//! mixes the sum and the count through xxh3 once more into the published fingerprint.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_128;

use crate::error::{KernelError, Result};

/// Batches with at least this many rows are hashed on the rayon pool.
const PAR_MIN_ROWS: usize = 1 << 15;

/// Buckets of a hash-prefix partition use at most this many bits (16M buckets).
pub const MAX_BUCKET_BITS: u32 = 24;

/// An accumulating order-independent digest of a multiset of rows.
///
/// # Example
/// ```
/// use pluriverse_kernels::digest::Digest;
/// let mut x = Digest::new();
/// x.add_row(b"apple");
/// x.add_row(b"pear");
/// let mut y = Digest::new();
/// y.add_row(b"pear");
/// y.add_row(b"apple");
/// assert_eq!(x.finish(), y.finish());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Digest {
    sum: u128,
    count: u64,
}

impl Digest {
    /// The digest of no rows.
    pub const fn new() -> Self {
        Self { sum: 0, count: 0 }
    }

    /// Adds a row by its 128-bit hash (see [`hash_row`]).
    #[inline]
    pub fn add_hash(&mut self, hash: u128) {
        self.sum = self.sum.wrapping_add(hash);
        self.count = self.count.wrapping_add(1);
    }

    /// Adds a row by its bytes.
    #[inline]
    pub fn add_row(&mut self, row: &[u8]) {
        self.add_hash(hash_row(row));
    }

    /// Adds every row of `other` (multiset sum): digests of parts combine into the whole.
    pub fn join(&mut self, other: &Self) {
        self.sum = self.sum.wrapping_add(other.sum);
        self.count = self.count.wrapping_add(other.count);
    }

    /// Number of rows added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The published 128-bit fingerprint.
    pub fn finish(&self) -> u128 {
        let mut buf = [0u8; 24];
        buf[..16].copy_from_slice(&self.sum.to_le_bytes());
        buf[16..].copy_from_slice(&self.count.to_le_bytes());
        xxh3_128(&buf)
    }

    /// [`Digest::finish`] as 16 big-endian bytes (most significant first): the one byte
    /// order of digests on every face of pluriverse (Rust, Python `digest()`, C
    /// `pv_*_digest`, the CLI), so the bytes written as hex read the same as the `u128`
    /// printed with `{:032x}` and as the testdata corpus's `expect-digest` lines.
    ///
    /// # Example
    /// ```
    /// use pluriverse_kernels::digest::Digest;
    /// let mut d = Digest::new();
    /// d.add_row(b"apple");
    /// let hex: String = d.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    /// assert_eq!(hex, format!("{:032x}", d.finish()));
    /// ```
    pub fn to_bytes(&self) -> [u8; 16] {
        self.finish().to_be_bytes()
    }
}

/// The 128-bit hash of one row's bytes (xxh3-128).
#[inline]
pub fn hash_row(row: &[u8]) -> u128 {
    xxh3_128(row)
}

/// The digest of rows given by their hashes.
pub fn digest_hashes(hashes: &[u128]) -> Digest {
    let fold = |c: &[u128]| {
        let mut d = Digest::new();
        c.iter().for_each(|&h| d.add_hash(h));
        d
    };
    if hashes.len() < PAR_MIN_ROWS {
        fold(hashes)
    } else {
        hashes
            .par_chunks(PAR_MIN_ROWS / 4)
            .map(fold)
            .reduce(Digest::new, |mut a, b| {
                a.join(&b);
                a
            })
    }
}

/// The digest of fixed-width rows: `bytes` is `row_len`-byte rows back to back.
///
/// # Errors
/// [`KernelError::ZeroWidth`] when `row_len == 0`, [`KernelError::RaggedMatrix`] when
/// `bytes` is not a whole number of rows.
///
/// # Example
/// ```
/// use pluriverse_kernels::digest::digest_fixed_rows;
/// let a = digest_fixed_rows(b"aabbcc", 2).unwrap();
/// let b = digest_fixed_rows(b"ccaabb", 2).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn digest_fixed_rows(bytes: &[u8], row_len: usize) -> Result<Digest> {
    if row_len == 0 {
        return Err(KernelError::ZeroWidth);
    }
    if !bytes.len().is_multiple_of(row_len) {
        return Err(KernelError::RaggedMatrix {
            what: "bytes",
            len: bytes.len(),
            width: row_len,
        });
    }
    let fold = |c: &[u8]| {
        let mut d = Digest::new();
        c.chunks_exact(row_len).for_each(|r| d.add_row(r));
        d
    };
    let rows = bytes.len() / row_len;
    Ok(if rows < PAR_MIN_ROWS {
        fold(bytes)
    } else {
        bytes
            .par_chunks(row_len * (PAR_MIN_ROWS / 4))
            .map(fold)
            .reduce(Digest::new, |mut a, b| {
                a.join(&b);
                a
            })
    })
}

/// Validates Arrow-style offsets (`offsets[i]..offsets[i + 1]` is row `i` of `values`) and
/// returns them as `usize`.
fn row_bounds<O: Copy + Into<i64>>(offsets: &[O], values_len: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut prev = 0usize;
    for (i, &o) in offsets.iter().enumerate() {
        let v: i64 = o.into();
        let v = usize::try_from(v)
            .ok()
            .filter(|&v| v <= values_len && (i == 0 || v >= prev))
            .ok_or(KernelError::BadOffset { index: i })?;
        out.push(v);
        prev = v;
    }
    Ok(out)
}

/// The digest of variable-length rows in Arrow layout: row `i` is
/// `values[offsets[i]..offsets[i + 1]]`.
///
/// # Errors
/// [`KernelError::BadOffset`] when an offset is negative, decreasing or past `values`.
///
/// # Example
/// ```
/// use pluriverse_kernels::digest::digest_var_rows;
/// let a = digest_var_rows(&[0i32, 3, 5], b"onetw").unwrap();
/// let b = digest_var_rows(&[0i32, 2, 5], b"twone").unwrap();
/// assert_eq!(a, b);
/// ```
pub fn digest_var_rows<O: Copy + Into<i64>>(offsets: &[O], values: &[u8]) -> Result<Digest> {
    let bounds = row_bounds(offsets, values.len())?;
    let mut d = Digest::new();
    for w in bounds.windows(2) {
        d.add_row(&values[w[0]..w[1]]);
    }
    Ok(d)
}

/// The bucket of a 64-bit partition hash in a partition of `2^bits` buckets: its top `bits`
/// bits, so buckets are contiguous ranges of the hash space (and of a hash-sorted run).
#[inline]
pub fn bucket_of(hash: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (hash >> (64 - bits)) as usize
    }
}

/// Digests per bucket of a hash-prefix partition: row `i` (hash `row_hash[i]`) goes to
/// bucket [`bucket_of`]`(partition_hash[i], bits)`. Anti-entropy compares these and ships
/// only the buckets that differ.
///
/// # Errors
/// [`KernelError::LengthMismatch`] when the columns differ in length,
/// [`KernelError::BucketBits`] when `bits > MAX_BUCKET_BITS`.
///
/// # Example
/// ```
/// use pluriverse_kernels::digest::{bucket_digests, digest_hashes};
/// let part = [0u64, u64::MAX, 1 << 63];
/// let rows = [10u128, 20, 30];
/// let b = bucket_digests(&part, &rows, 1).unwrap();
/// assert_eq!(b.len(), 2);
/// assert_eq!(b[0], digest_hashes(&[10]));
/// assert_eq!(b[1], digest_hashes(&[30, 20]));
/// ```
pub fn bucket_digests(partition_hash: &[u64], row_hash: &[u128], bits: u32) -> Result<Vec<Digest>> {
    if bits > MAX_BUCKET_BITS {
        return Err(KernelError::BucketBits {
            bits,
            max: MAX_BUCKET_BITS,
        });
    }
    if partition_hash.len() != row_hash.len() {
        return Err(KernelError::LengthMismatch {
            what: "row_hash",
            expected: partition_hash.len(),
            actual: row_hash.len(),
        });
    }
    let mut out = vec![Digest::new(); 1 << bits];
    for (&p, &h) in partition_hash.iter().zip(row_hash) {
        out[bucket_of(p, bits)].add_hash(h);
    }
    Ok(out)
}
