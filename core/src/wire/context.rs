//! The causal context's byte formats, both in this one place.
//!
//! - **The dots** (carried base64-encoded in a state's `pluriverse.context` metadata, and
//!   the tail of the standalone form below): for each replica of the dictionary, in order,
//!   `prefix: u64`, `runs: u64`, then `runs` pairs `(first: u64, len: u64)` of the dot
//!   cloud, all little-endian. Canonical: runs are increasing, non-adjacent, `len >= 1`,
//!   and the first run starts past `prefix + 1` (a run touching the prefix would have been
//!   folded into it). A replica with no dots at all is not written.
//! - **A standalone context** ([`CausalContext::to_bytes`], what a peer sends for
//!   `delta_since`), format 2: `PVCX`, a format byte (`2`), the length (`u64`) of the
//!   *retired records* that follow ([`crate::retired::Retired::to_bytes`]: every replica
//!   whose name is an incarnation `base#<16 lowercase hex>` and whose dots are a plain
//!   prefix `1..=m`, as 8 bytes of bits and a varint `m`), then the *rows*: the number of
//!   the other replicas (`u64`), each one's name (`u64` length, bytes) in byte order, then
//!   their dots as above in that order. Canonical: no row could have been a record, and no
//!   name is both. The decoder expands the records back into the context (the split is
//!   lossless, see [`CausalContext::split_retired`]); `max_replicas` bounds rows and
//!   records together. Format 1 (every replica a row, no records) is still read.
//!
//! Both list the replicas in [`CausalContext::canonical_order`] (format 2: the rows), so
//! equal contexts give identical bytes whatever their interning order. (The compact sync payload writes the
//! same dots with varints and gaps, `wire::compact`, and hands them to [`decode_dots`] in
//! this encoding for the one checker.)

use pluriverse_kernels::dots::{DotContext, ReplicaDots};
use roaring::RoaringTreemap;

use super::{DecodeError, Limits};
use crate::context::CausalContext;
use crate::replica::{ReplicaId, ReplicaTable};
use crate::retired::{incarnation_parts, Retired};

/// The first bytes of a standalone context.
const CONTEXT_MAGIC: &[u8; 4] = b"PVCX";

/// The standalone context format version written: rows plus retired records.
const CONTEXT_VERSION: u8 = 2;

/// The first standalone context format: every replica a row.
const CONTEXT_VERSION_ROWS: u8 = 1;

/// A standalone context (see the module docs).
pub(crate) fn encode_context(ctx: &CausalContext) -> Vec<u8> {
    let (rows, retired) = ctx.split_retired(|_| false);
    let retired = retired.to_bytes();
    let names = rows.table().names();
    let order = rows.canonical_order();
    let mut out = Vec::with_capacity(24 + retired.len() + order.len() * 32);
    out.extend_from_slice(CONTEXT_MAGIC);
    out.push(CONTEXT_VERSION);
    out.extend_from_slice(&(retired.len() as u64).to_le_bytes());
    out.extend_from_slice(&retired);
    out.extend_from_slice(&(order.len() as u64).to_le_bytes());
    for &i in &order {
        let n = names[i as usize].as_bytes();
        out.extend_from_slice(&(n.len() as u64).to_le_bytes());
        out.extend_from_slice(n);
    }
    let replicas = rows.dots().replicas();
    let dots: Vec<&ReplicaDots> = order.iter().map(|&i| &replicas[i as usize]).collect();
    out.extend_from_slice(&encode_dots(&dots));
    out
}

/// Decodes [`encode_context`]'s bytes, checking canonical form and `limits` (`max_bytes`,
/// `max_replicas`, then those of [`decode_dots`]); allocation is bounded by the input.
pub(crate) fn decode_context(bytes: &[u8], limits: &Limits) -> Result<CausalContext, DecodeError> {
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::Limit {
            what: "bytes",
            limit: limits.max_bytes as u64,
            found: bytes.len() as u64,
        });
    }
    let bad = DecodeError::Context;
    let rest = bytes
        .strip_prefix(CONTEXT_MAGIC.as_slice())
        .ok_or(bad("not a context (no PVCX magic)"))?;
    let (&version, mut rest) = rest.split_first().ok_or(bad("truncated"))?;
    if version != CONTEXT_VERSION && version != CONTEXT_VERSION_ROWS {
        return Err(bad("unknown context format version"));
    }
    let mut retired = Retired::new();
    if version == CONTEXT_VERSION {
        let (len, tail) = rest.split_at_checked(8).ok_or(bad("truncated"))?;
        let len = usize::try_from(u64::from_le_bytes(len.try_into().unwrap_or([0; 8])))
            .map_err(|_| bad("truncated"))?;
        let (records, tail) = tail.split_at_checked(len).ok_or(bad("truncated"))?;
        retired = Retired::from_bytes_with_limits(records, limits)?;
        rest = tail;
    }
    let mut take = |n: usize| -> Result<&[u8], DecodeError> {
        if rest.len() < n {
            return Err(bad("truncated"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    let count = u64_of(take(8)?);
    let replicas = count.saturating_add(retired.len() as u64);
    if replicas > limits.max_replicas as u64 {
        return Err(DecodeError::Limit {
            what: "replicas",
            limit: limits.max_replicas as u64,
            found: replicas,
        });
    }
    let mut table = ReplicaTable::new();
    let mut prev: Option<&[u8]> = None;
    for _ in 0..count {
        let len = u64_of(take(8)?);
        let len = usize::try_from(len).map_err(|_| bad("truncated"))?;
        let name = take(len)?;
        if prev.is_some_and(|p| p >= name) {
            return Err(bad("replica names not sorted and unique"));
        }
        table.intern(&ReplicaId::from(name));
        prev = Some(name);
    }
    let replicas = decode_dots(rest, table.len(), limits)?;
    if version == CONTEXT_VERSION {
        for (name, dots) in table.names().iter().zip(&replicas) {
            if retired.prefix(name) != 0 {
                return Err(bad("a replica both a row and a retired record"));
            }
            if dots.is_compact() && incarnation_parts(name).is_some() {
                return Err(bad("a row that is a retired record"));
            }
        }
    }
    let rows = CausalContext::from_parts(table, DotContext::from_replicas(replicas));
    Ok(if retired.is_empty() {
        rows
    } else {
        rows.with_retired(&retired)
    })
}

/// The dots of `dots`, in the given (dictionary) order.
pub(crate) fn encode_dots(dots: &[&ReplicaDots]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in dots {
        out.extend_from_slice(&d.prefix().to_le_bytes());
        let runs = d.cloud_runs();
        out.extend_from_slice(&(runs.len() as u64).to_le_bytes());
        for (first, len) in runs {
            out.extend_from_slice(&first.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let end = self.pos.checked_add(8).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(DecodeError::Context("truncated"))?;
        let v = u64::from_le_bytes(self.bytes[self.pos..end].try_into().unwrap_or([0; 8]));
        self.pos = end;
        Ok(v)
    }
}

/// Decodes the dot sets of `replicas` replicas, checking canonical form and the limits on
/// cloud dots and counters. Allocation is bounded by the input: a run count is checked
/// against the bytes left before anything is reserved.
pub(crate) fn decode_dots(
    bytes: &[u8],
    replicas: usize,
    limits: &Limits,
) -> Result<Vec<ReplicaDots>, DecodeError> {
    let max_cloud_dots = limits.max_cloud_dots;
    let counter_ok = |c: u64| {
        if c > limits.max_counter {
            Err(DecodeError::Limit {
                what: "counter",
                limit: limits.max_counter,
                found: c,
            })
        } else {
            Ok(())
        }
    };
    let mut r = Reader { bytes, pos: 0 };
    let mut cloud_dots = 0u64;
    let mut out = Vec::with_capacity(replicas.min(bytes.len() / 16));
    for _ in 0..replicas {
        let prefix = r.u64()?;
        let runs = r.u64()?;
        counter_ok(prefix)?;
        if runs > ((bytes.len() - r.pos) / 16) as u64 {
            return Err(DecodeError::Context("run count exceeds the encoded data"));
        }
        let mut cloud = RoaringTreemap::new();
        // the next counter a run may start at: past the prefix and not adjacent to it
        let mut floor = prefix.checked_add(2);
        for _ in 0..runs {
            let (first, len) = (r.u64()?, r.u64()?);
            let Some(min) = floor else {
                return Err(DecodeError::Context("cloud run beyond u64::MAX"));
            };
            if len == 0 || first < min {
                return Err(DecodeError::Context("cloud runs not canonical"));
            }
            let last = first
                .checked_add(len - 1)
                .ok_or(DecodeError::Context("cloud run beyond u64::MAX"))?;
            counter_ok(last)?;
            cloud_dots = cloud_dots.saturating_add(len);
            if cloud_dots > max_cloud_dots {
                return Err(DecodeError::Limit {
                    what: "cloud dots",
                    limit: max_cloud_dots,
                    found: cloud_dots,
                });
            }
            cloud.insert_range(first..=last);
            floor = last.checked_add(2);
        }
        if prefix == 0 && runs == 0 {
            return Err(DecodeError::Context("replica with no dots"));
        }
        out.push(ReplicaDots::from_parts(prefix, cloud));
    }
    if r.pos != bytes.len() {
        return Err(DecodeError::Context("trailing bytes"));
    }
    Ok(out)
}
