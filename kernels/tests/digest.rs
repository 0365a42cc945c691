//! Digests: order independence, multiset semantics, bucket partitions, offset validation.

mod common;

use common::Rng;
use pluriverse_kernels::digest::{
    bucket_digests, bucket_of, digest_fixed_rows, digest_hashes, digest_var_rows, hash_row, Digest,
    MAX_BUCKET_BITS,
};
use pluriverse_kernels::KernelError;
use xxhash_rust::xxh3::xxh3_128;

fn rows(g: &mut Rng, n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| (0..len).map(|_| g.below(4) as u8).collect())
        .collect()
}

#[test]
fn row_hash_is_xxh3_128() {
    assert_eq!(hash_row(b"pluriverse"), xxh3_128(b"pluriverse"));
}

#[test]
fn equal_multisets_give_equal_digests_in_any_order() {
    let mut g = Rng(21);
    for n in [0usize, 1, 2, 10, 1000, 70_000] {
        let mut r = rows(&mut g, n, 6);
        let flat: Vec<u8> = r.concat();
        let a = digest_fixed_rows(&flat, 6).unwrap();
        for i in (1..r.len()).rev() {
            r.swap(i, g.below(i as u64 + 1) as usize);
        }
        let b = digest_fixed_rows(&r.concat(), 6).unwrap();
        assert_eq!(a, b, "n = {n}");
        assert_eq!(a.count(), n as u64);
        // and the reference: the naive sum of xxh3-128 hashes
        let mut naive = Digest::new();
        r.iter().for_each(|x| naive.add_hash(xxh3_128(x)));
        assert_eq!(a, naive);
        let hashes: Vec<u128> = r.iter().map(|x| xxh3_128(x)).collect();
        assert_eq!(digest_hashes(&hashes), naive);
    }
}

#[test]
fn different_multisets_differ() {
    // a duplicated row is not the same as a single one; two equal rows do not cancel
    let one = digest_fixed_rows(b"ab", 2).unwrap();
    let two = digest_fixed_rows(b"abab", 2).unwrap();
    let none = digest_fixed_rows(b"", 2).unwrap();
    assert_ne!(one.finish(), two.finish());
    assert_ne!(two.finish(), none.finish());
    assert_ne!(
        digest_fixed_rows(b"abcd", 2).unwrap(),
        digest_fixed_rows(b"acbd", 2).unwrap()
    );
}

#[test]
fn parts_join_into_the_whole() {
    let mut g = Rng(22);
    let r = rows(&mut g, 500, 3).concat();
    let whole = digest_fixed_rows(&r, 3).unwrap();
    let mut parts = digest_fixed_rows(&r[..300], 3).unwrap();
    parts.join(&digest_fixed_rows(&r[300..], 3).unwrap());
    assert_eq!(parts, whole);
    assert_eq!(parts.to_bytes(), whole.finish().to_be_bytes());
}

#[test]
fn var_rows_match_fixed_rows_and_validate_offsets() {
    let vals = b"aaabbbccc";
    assert_eq!(
        digest_var_rows(&[0i64, 3, 6, 9], vals).unwrap(),
        digest_fixed_rows(vals, 3).unwrap()
    );
    assert_eq!(digest_var_rows::<i32>(&[], vals).unwrap(), Digest::new());
    assert_eq!(
        digest_var_rows(&[0i32, 4, 2], vals),
        Err(KernelError::BadOffset { index: 2 })
    );
    assert_eq!(
        digest_var_rows(&[0i32, 10], vals),
        Err(KernelError::BadOffset { index: 1 })
    );
    assert_eq!(
        digest_var_rows(&[-1i32, 2], vals),
        Err(KernelError::BadOffset { index: 0 })
    );
    assert_eq!(digest_fixed_rows(vals, 0), Err(KernelError::ZeroWidth));
    assert!(matches!(
        digest_fixed_rows(vals, 2),
        Err(KernelError::RaggedMatrix { .. })
    ));
}

#[test]
fn buckets_partition_the_rows() {
    let mut g = Rng(23);
    let n = 5000;
    let part: Vec<u64> = (0..n).map(|_| g.next_u64()).collect();
    let hash: Vec<u128> = (0..n)
        .map(|_| u128::from(g.next_u64()) << 64 | u128::from(g.next_u64()))
        .collect();
    for bits in [0u32, 1, 4, 9] {
        let b = bucket_digests(&part, &hash, bits).unwrap();
        assert_eq!(b.len(), 1 << bits);
        // naive: filter rows per bucket by their top bits
        for (i, d) in b.iter().enumerate() {
            let mine: Vec<u128> = (0..n)
                .filter(|&k| {
                    if bits == 0 {
                        true
                    } else {
                        (part[k] >> (64 - bits)) as usize == i
                    }
                })
                .map(|k| hash[k])
                .collect();
            assert_eq!(*d, digest_hashes(&mine), "bits {bits} bucket {i}");
        }
        let mut all = Digest::new();
        b.iter().for_each(|d| all.join(d));
        assert_eq!(all, digest_hashes(&hash));
    }
    assert_eq!(bucket_of(u64::MAX, 24), (1 << 24) - 1);
    assert_eq!(
        bucket_digests(&part, &hash, MAX_BUCKET_BITS + 1),
        Err(KernelError::BucketBits {
            bits: MAX_BUCKET_BITS + 1,
            max: MAX_BUCKET_BITS
        })
    );
    assert!(bucket_digests(&part[1..], &hash, 2).is_err());
}

/// One byte order for digests: big-endian, so the bytes' hex is the `u128`'s hex (the form
/// of the corpus's `expect-digest` lines and of every face).
#[test]
fn digest_bytes_are_big_endian() {
    let mut d = Digest::new();
    for row in [&b"apple"[..], b"pear", b""] {
        d.add_row(row);
    }
    let v = d.finish();
    let bytes = d.to_bytes();
    assert_eq!(bytes, v.to_be_bytes());
    assert_eq!(bytes[0], (v >> 120) as u8, "most significant byte first");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, format!("{v:032x}"));
    assert_eq!(u128::from_str_radix(&hex, 16).unwrap(), v);
}
