//! Digests: the type description they fold in, the hash of one entry and of the context,
//! the state digest, and the bucket and key digests that find where two states differ.

use pluriverse_kernels::digest::Digest;
use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed, xxh3_64};

use super::CausalStore;
use crate::item::{Item, ItemCol};
use crate::store::run::Run;

/// Rows of a run digested as one part on the rayon pool ([`CausalStore::digest`]).
const DIGEST_PART: usize = 1 << 16;

impl<K: Item, V: Item> CausalStore<K, V> {
    /// The kind and types this store's digests fold in (contract 12), e.g.
    /// `MVMap<utf8,int64>`, `AWSet<uint64,unit>`, `PNCounterMap<binary,(uint64,uint64)>`,
    /// `LWWMap<int64,(uint64,(bool,utf8))>`. The kind follows from the value type, as on the
    /// wire: `unit` is an `AWSet`, `(uint64,uint64)` a `PNCounterMap`,
    /// `(uint64,(bool,_))` an `LWWMap`, any other an `MVMap`.
    pub fn type_description() -> String {
        let value = V::type_name();
        let kind = if value == "unit" {
            "AWSet"
        } else if value == "(uint64,uint64)" {
            "PNCounterMap"
        } else if value.starts_with("(uint64,(bool,") {
            "LWWMap"
        } else {
            "MVMap"
        };
        format!("{kind}<{},{value}>", K::type_name())
    }

    /// The seed of every entry hash: `xxh3_64` of [`Self::type_description`], so entries
    /// (and the state, bucket and key digests built from them) of different types differ.
    fn type_seed() -> u64 {
        xxh3_64(Self::type_description().as_bytes())
    }

    /// The digest element of the type itself (so that empty states of different types
    /// differ): `xxh3_128` of the byte 3 followed by [`Self::type_description`].
    fn type_hash() -> u128 {
        let mut b = vec![3u8];
        b.extend_from_slice(Self::type_description().as_bytes());
        xxh3_128(&b)
    }

    /// The 128-bit hash of one live entry, by replica *name* (the unit of every digest),
    /// seeded with the store's type.
    fn entry_hash(&self, run: &Run<K, V>, i: usize, seed: u64, buf: &mut Vec<u8>) -> u128 {
        let names = self.ctx.table().names();
        buf.clear();
        buf.push(1);
        let start = buf.len();
        buf.extend_from_slice(&[0; 8]);
        run.keys.write_at(i, buf);
        let klen = (buf.len() - start - 8) as u64;
        buf[start..start + 8].copy_from_slice(&klen.to_le_bytes());
        let name = names[run.replica[i] as usize].as_bytes();
        buf.extend_from_slice(&(name.len() as u64).to_le_bytes());
        buf.extend_from_slice(name);
        buf.extend_from_slice(&run.counter[i].to_le_bytes());
        run.values.write_at(i, buf);
        xxh3_128_with_seed(buf, seed)
    }

    /// The digest of the context alone (by replica name).
    pub fn context_digest(&self) -> u128 {
        let mut d = Digest::new();
        self.add_context_to(&mut d);
        d.finish()
    }

    fn add_context_to(&self, d: &mut Digest) {
        let names = self.ctx.table().names();
        let mut buf = Vec::with_capacity(64);
        for (name, dots) in names.iter().zip(self.ctx.dots().replicas()) {
            if dots.is_empty() {
                continue;
            }
            buf.clear();
            buf.push(2);
            buf.extend_from_slice(&(name.as_bytes().len() as u64).to_le_bytes());
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(&dots.prefix().to_le_bytes());
            for (first, len) in dots.cloud_runs() {
                buf.extend_from_slice(&first.to_le_bytes());
                buf.extend_from_slice(&len.to_le_bytes());
            }
            d.add_hash(xxh3_128(&buf));
        }
        // records, as the rows they stand for (a prefix and no cloud run)
        for (name, m) in self.ctx.retired().iter() {
            buf.clear();
            buf.push(2);
            buf.extend_from_slice(&(name.as_bytes().len() as u64).to_le_bytes());
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(&m.to_le_bytes());
            d.add_hash(xxh3_128(&buf));
        }
    }

    /// Order-independent 128-bit digest of the entries, the context and the type, by
    /// replica *name*: equal stores have equal digests whatever their interning order or run
    /// layout, and stores of different kinds or key or value types differ by construction
    /// (contract 12).
    ///
    /// The formula: the [`Digest`] (wrapping sum of 128-bit hashes and their count) of
    /// - per live entry, `xxh3_128_with_seed(1, key length: u64, key bytes, name length: u64,
    ///   name, counter: u64, value bytes; seed)` with `seed = xxh3_64(type description)`
    ///   ([`Self::type_description`]; integers little-endian, items as
    ///   [`Item::write_bytes`]);
    /// - per replica with dots, `xxh3_128(2, name length: u64, name, prefix: u64, then each
    ///   cloud run's first: u64 and length: u64)`;
    /// - once, `xxh3_128(3, type description)`.
    pub fn digest(&self) -> u128 {
        use rayon::prelude::*;
        let seed = Self::type_seed();
        // the entries' hashes sum in any order: parts of long runs on the rayon pool
        let part = |run: &Run<K, V>, rows: std::ops::Range<usize>| {
            let mut d = Digest::new();
            let mut buf = Vec::with_capacity(64);
            for i in rows {
                if run.is_live(i) {
                    d.add_hash(self.entry_hash(run, i, seed, &mut buf));
                }
            }
            d
        };
        let mut d = Digest::new();
        for run in &self.runs {
            let n = run.rows();
            if n < 2 * DIGEST_PART {
                d.join(&part(run, 0..n));
                continue;
            }
            let parts: Vec<Digest> = (0..n.div_ceil(DIGEST_PART))
                .into_par_iter()
                .map(|p| part(run, p * DIGEST_PART..((p + 1) * DIGEST_PART).min(n)))
                .collect();
            parts.iter().for_each(|p| d.join(p));
        }
        self.add_context_to(&mut d);
        d.add_hash(Self::type_hash());
        d.finish()
    }

    /// Digests of the entries per bucket of the key-hash space (`2^bits` buckets, bucket =
    /// the top `bits` bits of `xxh3_64(key)`, so a bucket is a contiguous range of the
    /// store's order). Two stores with equal entries have equal bucket digests; comparing
    /// them finds where two replicas differ without shipping the entries. The entry hashes
    /// are seeded with the type (as in [`Self::digest`]), so buckets of stores of different
    /// types differ too. The context is not included (see [`Self::context_digest`]).
    ///
    /// # Errors
    /// [`crate::Error::Kernel`] when `bits` exceeds
    /// [`pluriverse_kernels::digest::MAX_BUCKET_BITS`].
    pub fn bucket_digests(&self, bits: u32) -> crate::Result<Vec<u128>> {
        let mut hashes = Vec::with_capacity(self.len());
        let mut rows = Vec::with_capacity(self.len());
        let mut buf = Vec::with_capacity(64);
        let seed = Self::type_seed();
        for run in &self.runs {
            for i in 0..run.rows() {
                if run.is_live(i) {
                    hashes.push(run.hash[i]);
                    rows.push(self.entry_hash(run, i, seed, &mut buf));
                }
            }
        }
        let b = pluriverse_kernels::digest::bucket_digests(&hashes, &rows, bits)?;
        Ok(b.iter().map(Digest::finish).collect())
    }

    /// [`Self::bucket_digests`] of the buckets that hold entries only, as `(bucket, digest)`
    /// in bucket order: memory and time proportional to the entries, not to `2^bits` (an
    /// empty bucket's digest is the same for every store, so comparing two stores' lists
    /// finds the same differing buckets as comparing the full vectors).
    ///
    /// # Errors
    /// As [`Self::bucket_digests`].
    ///
    /// # Example
    /// ```
    /// use pluriverse::AWSet;
    /// let mut s: AWSet<u64> = AWSet::new("a");
    /// s.add_many(&[1, 2, 3]).unwrap();
    /// let sparse = s.store().sparse_bucket_digests(24).unwrap();
    /// assert!(sparse.len() <= 3);
    /// let dense = s.store().bucket_digests(8).unwrap();
    /// for (b, d) in s.store().sparse_bucket_digests(8).unwrap() {
    ///     assert_eq!(dense[b as usize], d);
    /// }
    /// ```
    pub fn sparse_bucket_digests(&self, bits: u32) -> crate::Result<Vec<(u32, u128)>> {
        let max = pluriverse_kernels::digest::MAX_BUCKET_BITS;
        if bits > max {
            return Err(pluriverse_kernels::KernelError::BucketBits { bits, max }.into());
        }
        let m = self.merged_cow();
        let seed = Self::type_seed();
        let mut buf = Vec::with_capacity(64);
        let mut out: Vec<(u32, u128)> = Vec::new();
        let mut cur: Option<(u32, Digest)> = None;
        for i in 0..m.rows() {
            // bits <= 24: a bucket fits u32
            let b = pluriverse_kernels::digest::bucket_of(m.hash[i], bits) as u32;
            match cur.as_mut() {
                Some((cb, d)) if *cb == b => d.add_hash(self.entry_hash(&m, i, seed, &mut buf)),
                _ => {
                    if let Some((cb, d)) = cur.take() {
                        out.push((cb, d.finish()));
                    }
                    let mut d = Digest::new();
                    d.add_hash(self.entry_hash(&m, i, seed, &mut buf));
                    cur = Some((b, d));
                }
            }
        }
        if let Some((cb, d)) = cur {
            out.push((cb, d.finish()));
        }
        Ok(out)
    }

    /// [`Self::key_digests`] for the buckets listed in `buckets` (sorted, as
    /// [`Self::sparse_bucket_digests`] gives them): no `2^bits` table.
    pub fn key_digests_in(&self, bits: u32, buckets: &[u32]) -> Vec<(K, u128)> {
        Self::without_hashes(self.key_digests_in_buckets(bits, buckets))
    }

    /// [`Self::key_digests_in`] with each key's hash: `(hash, key, digest)` in the store's
    /// order.
    pub(super) fn key_digests_in_buckets(&self, bits: u32, buckets: &[u32]) -> Vec<(u64, K, u128)> {
        self.key_digests_where(bits, |b| buckets.binary_search(&(b as u32)).is_ok())
    }

    /// Per distinct key whose bucket (as in [`Self::bucket_digests`]) is selected by
    /// `selected`, the digest of that key's entries, in the store's `(hash, key)` order.
    /// Comparing two stores' lists names the keys where they differ.
    pub fn key_digests(&self, bits: u32, selected: &[bool]) -> Vec<(K, u128)> {
        Self::without_hashes(
            self.key_digests_where(bits, |b| selected.get(b).copied().unwrap_or(false)),
        )
    }

    fn without_hashes(rows: Vec<(u64, K, u128)>) -> Vec<(K, u128)> {
        rows.into_iter().map(|(_, k, d)| (k, d)).collect()
    }

    /// Per distinct key whose bucket is selected, `(hash, key, digest)` in store order.
    fn key_digests_where(
        &self,
        bits: u32,
        selected: impl Fn(usize) -> bool,
    ) -> Vec<(u64, K, u128)> {
        let bits = bits.min(pluriverse_kernels::digest::MAX_BUCKET_BITS);
        let m = self.merged_cow();
        let mut out: Vec<(u64, K, u128)> = Vec::new();
        let mut cur: Option<(usize, Digest)> = None;
        let mut buf = Vec::with_capacity(64);
        let seed = Self::type_seed();
        for i in 0..m.rows() {
            if !selected(pluriverse_kernels::digest::bucket_of(m.hash[i], bits)) {
                continue;
            }
            let same_key = cur.as_ref().is_some_and(|(start, _)| {
                m.hash[*start] == m.hash[i] && m.keys.cmp_at(*start, &m.keys, i).is_eq()
            });
            if !same_key {
                if let Some((start, d)) = cur.take() {
                    out.push((m.hash[start], m.keys.get(start), d.finish()));
                }
                cur = Some((i, Digest::new()));
            }
            if let Some((_, d)) = cur.as_mut() {
                d.add_hash(self.entry_hash(&m, i, seed, &mut buf));
            }
        }
        if let Some((start, d)) = cur {
            out.push((m.hash[start], m.keys.get(start), d.finish()));
        }
        out
    }
}
