//! The causal context's binary encoding (carried base64-encoded in the schema metadata).
//!
//! For each replica of the dictionary, in order: `prefix: u64`, `runs: u64`, then `runs`
//! pairs `(first: u64, len: u64)` of the dot cloud, all little-endian. Canonical: runs are
//! increasing, non-adjacent, `len >= 1`, and the first run starts past `prefix + 1` (a run
//! touching the prefix would have been folded into it).

use pluriverse_kernels::dots::ReplicaDots;
use roaring::RoaringTreemap;

use super::{DecodeError, Limits};

/// Encodes the dot sets (dictionary order).
pub(crate) fn encode(dots: &[&ReplicaDots]) -> Vec<u8> {
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
pub(crate) fn decode(
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
