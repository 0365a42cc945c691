//! Retired incarnations: context rows kept as compact records.
//!
//! A durable replica writes under a fresh *incarnation* `base#<16 lowercase hex digits>` at
//! every open, so a replica restarted many times leaves one context row per incarnation.
//! A row can never simply be dropped (a removal issues no dot, and an old copy restored
//! from a backup may still hold removed entries: without the row, both would resurrect
//! them; see `docs/DESIGN.md`, "Replicas that live"). What can be done is to keep a row
//! whose dots are a plain prefix `1..=m` as a *record* `(base, bits, m)`: 16 bytes in
//! memory instead of a name, a prefix and a cloud. The record says exactly what the row
//! said, "`(base#bits, c)` is seen for `1 <= c <= m`", and the row can be rebuilt from it,
//! name included, so retiring is lossless: it neither adds knowledge (a counter-less record
//! claiming every counter would cover dots nobody has seen, and lose the writes of a copy
//! of a live directory) nor drops any.
//!
//! [`Retired`] is the set of records, joined by taking each record's larger prefix (the
//! union of two prefixes). [`CausalContext::split_retired`] and
//! [`CausalContext::with_retired`] convert between a context and rows plus records. A
//! context also holds records itself ([`CausalContext::retired`]), made by
//! [`CausalContext::retire_where`] and, for a store, [`crate::CausalStore::retire_idle`]
//! (which a replica directory calls at every open and fold).
//!
//! # Bytes
//! `PVRT`, a format byte (`1`), the number of base names (`u64`), then per base name in
//! increasing byte order: its length (`u64`), its bytes, the number of records (`u64`,
//! at least 1), and each record in increasing order of bits as `bits: u64` (little-endian)
//! and the prefix as an LEB128 varint (at least 1, minimal length). Equal sets give
//! identical bytes.

use std::collections::BTreeMap;

use crate::context::CausalContext;
use crate::dot::Dot;
use crate::replica::ReplicaId;
use crate::wire::{DecodeError, Limits};

/// Separates an incarnation's base name from its bits.
pub const INCARNATION_SEPARATOR: u8 = b'#';

/// The first bytes of a retired set.
const MAGIC: &[u8; 4] = b"PVRT";

/// The only format version of a retired set.
const VERSION: u8 = 1;

/// The base name and bits of an incarnation name `base#<16 lowercase hex digits>`, or `None`
/// for any other name (uppercase digits included: only the form [`incarnation_name`]
/// writes can be rebuilt from its parts, so only that form is an incarnation).
///
/// # Example
/// ```
/// use pluriverse::retired::{incarnation_name, incarnation_parts};
/// let id = incarnation_name(b"paris", 0xbeef);
/// assert_eq!(id.to_string(), "paris#000000000000beef");
/// assert_eq!(incarnation_parts(&id), Some((b"paris".as_slice(), 0xbeef)));
/// assert_eq!(incarnation_parts(&"paris#000000000000BEEF".into()), None);
/// assert_eq!(incarnation_parts(&"paris#2".into()), None);
/// ```
pub fn incarnation_parts(id: &ReplicaId) -> Option<(&[u8], u64)> {
    let b = id.as_bytes();
    let (base, tail) = b.split_at(b.len().checked_sub(17)?);
    if tail[0] != INCARNATION_SEPARATOR
        || !tail[1..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    {
        return None;
    }
    let hex = std::str::from_utf8(&tail[1..]).ok()?;
    Some((base, u64::from_str_radix(hex, 16).ok()?))
}

/// The incarnation of `base` numbered `bits`: `base#` and `bits` as 16 lowercase hex digits.
///
/// ```
/// use pluriverse::retired::incarnation_name;
/// assert_eq!(incarnation_name(b"a", 1).to_string(), "a#0000000000000001");
/// ```
pub fn incarnation_name(base: &[u8], bits: u64) -> ReplicaId {
    let mut v = base.to_vec();
    v.push(INCARNATION_SEPARATOR);
    v.extend_from_slice(format!("{bits:016x}").as_bytes());
    ReplicaId::from(v)
}

/// Records of retired incarnations: per base name, the bits of each incarnation and the
/// prefix `m` of its dots (`(base#bits, c)` is seen for `1 <= c <= m`).
///
/// # Example
/// ```
/// use pluriverse::retired::{incarnation_name, Retired};
/// use pluriverse::Dot;
/// let i = incarnation_name(b"paris", 7);
/// let mut r = Retired::new();
/// assert!(r.insert(&i, 3));
/// assert!(!r.insert(&"paris".into(), 3), "not an incarnation name");
/// assert!(r.contains(&Dot::new(i.clone(), 3)));
/// assert!(!r.contains(&Dot::new(i.clone(), 4)), "a record covers only what was seen");
/// let back = Retired::from_bytes(&r.to_bytes()).unwrap();
/// assert_eq!(back, r);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retired {
    /// Per base name, `(bits, prefix)` sorted by bits, unique, prefixes at least 1.
    groups: BTreeMap<ReplicaId, Vec<(u64, u64)>>,
    len: usize,
}

impl Retired {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of base names.
    pub fn base_names(&self) -> usize {
        self.groups.len()
    }

    /// The prefix recorded for incarnation `id` (0 when there is none).
    pub fn prefix(&self, id: &ReplicaId) -> u64 {
        let Some((base, bits)) = incarnation_parts(id) else {
            return 0;
        };
        self.groups
            .get(&ReplicaId::from(base))
            .and_then(|g| {
                g.binary_search_by_key(&bits, |&(b, _)| b)
                    .ok()
                    .map(|i| g[i].1)
            })
            .unwrap_or(0)
    }

    /// Whether a record covers `dot`.
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.counter >= 1 && dot.counter <= self.prefix(&dot.replica)
    }

    /// Records that `id`'s dots `1..=prefix` are seen (keeping a larger prefix already
    /// recorded); returns whether the set changed. Nothing is recorded, and `false`
    /// returned, when `id` is not an incarnation name or `prefix` is 0.
    pub fn insert(&mut self, id: &ReplicaId, prefix: u64) -> bool {
        let Some((base, bits)) = incarnation_parts(id) else {
            return false;
        };
        if prefix == 0 {
            return false;
        }
        let g = self.groups.entry(ReplicaId::from(base)).or_default();
        match g.binary_search_by_key(&bits, |&(b, _)| b) {
            Ok(i) if g[i].1 >= prefix => false,
            Ok(i) => {
                g[i].1 = prefix;
                true
            }
            Err(i) => {
                g.insert(i, (bits, prefix));
                self.len += 1;
                true
            }
        }
    }

    /// Removes the record of `id`; returns its prefix (0 when there was none).
    pub fn remove(&mut self, id: &ReplicaId) -> u64 {
        let Some((base, bits)) = incarnation_parts(id) else {
            return 0;
        };
        let base = ReplicaId::from(base);
        let Some(g) = self.groups.get_mut(&base) else {
            return 0;
        };
        let Ok(i) = g.binary_search_by_key(&bits, |&(b, _)| b) else {
            return 0;
        };
        let (_, m) = g.remove(i);
        if g.is_empty() {
            self.groups.remove(&base);
        }
        self.len -= 1;
        m
    }

    /// Adds every record of `other`, keeping the larger prefix where both hold one.
    pub fn merge(&mut self, other: &Self) {
        for (base, theirs) in &other.groups {
            let ours = self.groups.entry(base.clone()).or_default();
            let mut out = Vec::with_capacity(ours.len() + theirs.len());
            let (mut a, mut b) = (ours.iter().peekable(), theirs.iter().peekable());
            loop {
                match (a.peek(), b.peek()) {
                    (Some(&&x), Some(&&y)) if x.0 == y.0 => {
                        out.push((x.0, x.1.max(y.1)));
                        a.next();
                        b.next();
                    }
                    (Some(&&x), Some(&&y)) if x.0 < y.0 => {
                        out.push(x);
                        a.next();
                    }
                    (_, Some(&&y)) => {
                        out.push(y);
                        b.next();
                    }
                    (Some(&&x), None) => {
                        out.push(x);
                        a.next();
                    }
                    (None, None) => break,
                }
            }
            self.len += out.len() - ours.len();
            *ours = out;
        }
    }

    /// Every record as `(incarnation name, prefix)`, base names in byte order, then bits.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.groups.iter().flat_map(|(base, g)| {
            g.iter()
                .map(|&(bits, m)| (incarnation_name(base.as_bytes(), bits), m))
        })
    }

    /// The set as bytes (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.len * 10);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.groups.len() as u64).to_le_bytes());
        for (base, g) in &self.groups {
            out.extend_from_slice(&(base.as_bytes().len() as u64).to_le_bytes());
            out.extend_from_slice(base.as_bytes());
            out.extend_from_slice(&(g.len() as u64).to_le_bytes());
            for &(bits, m) in g {
                out.extend_from_slice(&bits.to_le_bytes());
                let mut m = m;
                while m >= 0x80 {
                    out.push((m as u8) | 0x80);
                    m >>= 7;
                }
                out.push(m as u8);
            }
        }
        out
    }

    /// Decodes [`Retired::to_bytes`], checking canonical form, within default limits.
    ///
    /// # Errors
    /// [`DecodeError::Context`] naming what is wrong, or [`DecodeError::Limit`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with_limits(bytes, &Limits::default())
    }

    /// [`Retired::from_bytes`] within `limits`: `max_bytes`, `max_replicas` (records and
    /// base names, each) and `max_counter` (prefixes). Allocation is bounded by the input's
    /// length.
    ///
    /// # Errors
    /// As [`Retired::from_bytes`].
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        let bad = DecodeError::Context;
        if bytes.len() > limits.max_bytes {
            return Err(DecodeError::Limit {
                what: "bytes",
                limit: limits.max_bytes as u64,
                found: bytes.len() as u64,
            });
        }
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(bad("not a retired set (no PVRT magic)"))?;
        let (&version, mut rest) = rest.split_first().ok_or(bad("retired set truncated"))?;
        if version != VERSION {
            return Err(bad("unknown retired set format version"));
        }
        let mut take = |n: usize| -> Result<&[u8], DecodeError> {
            if rest.len() < n {
                return Err(bad("retired set truncated"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let limit = |what, found: u64, max: u64| {
            if found > max {
                Err(DecodeError::Limit {
                    what,
                    limit: max,
                    found,
                })
            } else {
                Ok(())
            }
        };
        let max_replicas = limits.max_replicas as u64;
        let groups = u64_of(take(8)?);
        limit("replicas", groups, max_replicas)?;
        let mut out = Self::new();
        let mut prev_base: Option<&[u8]> = None;
        for _ in 0..groups {
            let len =
                usize::try_from(u64_of(take(8)?)).map_err(|_| bad("retired set truncated"))?;
            let base = take(len)?;
            if prev_base.is_some_and(|p| p >= base) {
                return Err(bad("retired base names not sorted and unique"));
            }
            prev_base = Some(base);
            let count = u64_of(take(8)?);
            if count == 0 {
                return Err(bad("retired base name without records"));
            }
            limit(
                "replicas",
                (out.len as u64).saturating_add(count),
                max_replicas,
            )?;
            // each record takes at least 9 bytes: the count cannot outgrow the input
            let mut g = Vec::with_capacity((count as usize).min(bytes.len() / 9));
            for _ in 0..count {
                let bits = u64_of(take(8)?);
                if g.last().is_some_and(|&(b, _): &(u64, u64)| b >= bits) {
                    return Err(bad("retired records not sorted and unique"));
                }
                let mut m: u64 = 0;
                let mut shift = 0;
                loop {
                    let &[byte] = take(1)? else {
                        return Err(bad("retired set truncated"));
                    };
                    if shift == 63 && byte > 1 {
                        return Err(bad("retired prefix overflows u64"));
                    }
                    m |= u64::from(byte & 0x7f) << shift;
                    if byte & 0x80 == 0 {
                        if byte == 0 && shift > 0 {
                            return Err(bad("retired prefix varint not minimal"));
                        }
                        break;
                    }
                    shift += 7;
                }
                if m == 0 {
                    return Err(bad("retired record with prefix 0"));
                }
                limit("counter", m, limits.max_counter)?;
                g.push((bits, m));
            }
            out.len += g.len();
            out.groups.insert(ReplicaId::from(base), g);
        }
        if !rest.is_empty() {
            return Err(bad("bytes after the retired set"));
        }
        Ok(out)
    }
}

impl CausalContext {
    /// The context as rows plus records: every replica whose name is an incarnation
    /// ([`incarnation_parts`]), whose dots are a plain prefix `1..=m` (no cloud) and that
    /// `keep` does not ask to keep as a row, becomes a record; the rest stay rows. Lossless:
    /// [`CausalContext::with_retired`] gives the context back. With `keep` always `false`
    /// the split is a function of the set of dots alone (the canonical form).
    ///
    /// # Example
    /// ```
    /// use pluriverse::retired::incarnation_name;
    /// use pluriverse::{CausalContext, Dot};
    /// let mut c = CausalContext::new();
    /// for bits in 0..100 {
    ///     c.insert_range(&incarnation_name(b"paris", bits), 1, 3).unwrap();
    /// }
    /// c.insert(&Dot::new("tokyo", 1));
    /// c.insert(&Dot::new(incarnation_name(b"lima", 1), 2)); // a cloud: stays a row
    /// let (rows, retired) = c.split_retired(|_| false);
    /// assert_eq!(rows.canonical_order().len(), 2);
    /// assert_eq!(retired.len(), 100);
    /// assert_eq!(rows.with_retired(&retired), c);
    /// ```
    pub fn split_retired(&self, keep: impl Fn(&ReplicaId) -> bool) -> (CausalContext, Retired) {
        let full = self.expanded();
        let mut rows = CausalContext::new();
        let mut retired = Retired::new();
        for &i in &full.canonical_order() {
            let name = &full.table().names()[i as usize];
            let Some(d) = full.dots().get(i) else {
                continue;
            };
            if d.is_compact() && !keep(name) && retired.insert(name, d.prefix()) {
                continue;
            }
            let j = rows.table_mut().intern(name);
            rows.dots_mut().replica_mut(j).union_with(d);
        }
        (rows, retired)
    }

    /// This context with the records of `retired` expanded into rows (a record and a row of
    /// the same name join as the union of their dots).
    pub fn with_retired(&self, retired: &Retired) -> CausalContext {
        let mut out = self.expanded().into_owned();
        for (name, m) in retired.iter() {
            let i = out.table_mut().intern(&name);
            out.dots_mut()
                .replica_mut(i)
                .union_with(&pluriverse_kernels::dots::ReplicaDots::from_prefix(m));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use pluriverse_testkit::SplitMix64;

    use super::*;

    /// A naive reference: every seen dot, by full name.
    type Naive = BTreeMap<ReplicaId, BTreeSet<u64>>;

    fn name(base: u64, bits: u64, plain: bool) -> ReplicaId {
        let base = [b'a' + (base % 3) as u8];
        if plain {
            ReplicaId::from(base.as_slice())
        } else {
            incarnation_name(&base, bits % 8)
        }
    }

    /// A random context over 3 base names, 8 incarnations each and the plain names, with
    /// its naive reference.
    fn build(g: &mut SplitMix64) -> (CausalContext, Naive) {
        let mut c = CausalContext::new();
        let mut n = Naive::new();
        for _ in 0..g.below(40) {
            let id = name(g.below(3), g.below(8), g.chance(0.2));
            let start = 1 + g.below(5);
            let end = start + g.below(4);
            c.insert_range(&id, start, end).unwrap();
            n.entry(id).or_default().extend(start..=end);
        }
        (c, n)
    }

    fn agrees(rows: &CausalContext, retired: &Retired, naive: &Naive) {
        for b in 0..3 {
            for bits in 0..8 {
                for plain in [false, true] {
                    let id = name(b, bits, plain);
                    for counter in 0..12 {
                        let dot = Dot::new(id.clone(), counter);
                        let want = naive.get(&id).is_some_and(|s| s.contains(&counter));
                        let got = rows.contains(&dot) || retired.contains(&dot);
                        assert_eq!(got, want, "{dot:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn split_agrees_with_the_naive_set_and_round_trips() {
        let mut g = SplitMix64(1);
        let (mut records, mut cloud_rows) = (0, 0);
        for _ in 0..500 {
            let (c, naive) = build(&mut g);
            let (rows, retired) = c.split_retired(|_| false);
            records += retired.len();
            cloud_rows += rows
                .dots()
                .replicas()
                .iter()
                .filter(|d| !d.is_compact())
                .count();
            agrees(&rows, &retired, &naive);
            assert_eq!(rows.with_retired(&retired), c);
            // canonical: no row left that could have been a record
            for &i in &rows.canonical_order() {
                let n = &rows.table().names()[i as usize];
                let d = rows.dots().get(i).unwrap();
                assert!(incarnation_parts(n).is_none() || !d.is_compact());
            }
            let back = Retired::from_bytes(&retired.to_bytes()).unwrap();
            assert_eq!(back, retired);
            assert_eq!(retired.iter().count(), retired.len());
        }
        assert!(
            records > 1000 && cloud_rows > 1000,
            "{records} {cloud_rows}"
        );
    }

    #[test]
    fn merge_of_splits_is_the_split_of_the_union() {
        let mut g = SplitMix64(2);
        for _ in 0..500 {
            let (ca, na) = build(&mut g);
            let (cb, nb) = build(&mut g);
            let (ra, xa) = ca.split_retired(|_| false);
            let (rb, xb) = cb.split_retired(|_| false);
            let mut rows = ra.clone();
            rows.merge(&rb);
            let mut retired = xa.clone();
            retired.merge(&xb);
            let mut naive = na.clone();
            for (k, v) in nb {
                naive.entry(k).or_default().extend(v);
            }
            agrees(&rows, &retired, &naive);
            let mut union = ca.clone();
            union.merge(&cb);
            assert_eq!(rows.with_retired(&retired), union);
            // the joined pair, put back in canonical form, is the union's canonical form
            let (r1, x1) = rows.with_retired(&retired).split_retired(|_| false);
            let (r2, x2) = union.split_retired(|_| false);
            assert_eq!(r1.to_bytes(), r2.to_bytes());
            assert_eq!(x1.to_bytes(), x2.to_bytes());
            // merge is commutative and idempotent
            let mut other = xb.clone();
            other.merge(&xa);
            assert_eq!(other, retired);
            other.merge(&xa);
            assert_eq!(other, retired);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics_and_accepts_only_canonical_bytes() {
        let mut g = SplitMix64(3);
        let mut r = Retired::new();
        for bits in 0..4 {
            r.insert(&incarnation_name(b"ab", bits * 77), 1 + bits * 200);
        }
        let good = r.to_bytes();
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..1 + g.below(3) {
                let i = g.below(b.len() as u64) as usize;
                b[i] = g.next_u64() as u8;
            }
            b.truncate(g.below(b.len() as u64 + 1) as usize);
            if let Ok(back) = Retired::from_bytes(&b) {
                assert_eq!(back.to_bytes(), b, "accepted bytes are canonical");
            }
        }
    }

    #[test]
    fn keep_holds_a_row_back() {
        let live = incarnation_name(b"paris", 1);
        let dead = incarnation_name(b"paris", 2);
        let mut c = CausalContext::new();
        c.insert_range(&live, 1, 4).unwrap();
        c.insert_range(&dead, 1, 9).unwrap();
        let (rows, retired) = c.split_retired(|n| n == &live);
        assert_eq!(rows.version_vector().get(&live), 4);
        assert_eq!(retired.prefix(&dead), 9);
        assert_eq!(retired.prefix(&live), 0);
        assert_eq!(rows.with_retired(&retired), c);
    }

    #[test]
    fn decoder_refuses_non_canonical_and_over_limit_input() {
        let mut r = Retired::new();
        r.insert(&incarnation_name(b"a", 1), 300);
        r.insert(&incarnation_name(b"a", 2), 1);
        let good = r.to_bytes();
        assert_eq!(Retired::from_bytes(&good).unwrap(), r);
        let err = |b: &[u8]| Retired::from_bytes(b).unwrap_err();
        assert!(matches!(
            err(&good[..good.len() - 1]),
            DecodeError::Context(_)
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(err(&trailing), DecodeError::Context(_)));
        // a non-minimal varint for the last prefix (1 written as 0x81 0x00)
        let mut long = good[..good.len() - 1].to_vec();
        long.extend_from_slice(&[0x81, 0x00]);
        assert!(matches!(err(&long), DecodeError::Context(_)));
        // records out of order: swap the two records' bits
        let mut swapped = good.clone();
        let first = 4 + 1 + 8 + 8 + 1 + 8;
        let second = first + 8 + 2;
        let (x, y) = (
            swapped[first..first + 8].to_vec(),
            swapped[second..second + 8].to_vec(),
        );
        swapped[first..first + 8].copy_from_slice(&y);
        swapped[second..second + 8].copy_from_slice(&x);
        assert!(matches!(err(&swapped), DecodeError::Context(_)));
        let tight = Limits {
            max_replicas: 1,
            ..Limits::default()
        };
        assert!(matches!(
            Retired::from_bytes_with_limits(&good, &tight),
            Err(DecodeError::Limit {
                what: "replicas",
                ..
            })
        ));
        let low = Limits {
            max_counter: 10,
            ..Limits::default()
        };
        assert!(matches!(
            Retired::from_bytes_with_limits(&good, &low),
            Err(DecodeError::Limit {
                what: "counter",
                ..
            })
        ));
        // a huge declared count is refused by the limit, not allocated
        let mut huge = b"PVRT\x01".to_vec();
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.push(b'a');
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            Retired::from_bytes(&huge),
            Err(DecodeError::Limit { .. })
        ));
    }
}
