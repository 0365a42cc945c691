//! The append-only log: length-prefixed, checksummed records.
//!
//! # Record format (version 2)
//! | bytes | field |
//! |---|---|
//! | 4 | payload length `n`, little-endian `u32` (at most [`MAX_RECORD`]) |
//! | 8 | `xxh3_64` of the tag byte followed by the payload, little-endian |
//! | 1 | tag: [`TAG_DELTA`] (the payload is a delta in the state format) or [`TAG_COMPACT`] (a delta in the compact encoding of the replica's type, as a peer sent it) |
//! | `n` | payload |
//!
//! Version 1 had [`TAG_DELTA`] only; a version-1 log reads as it is. Version 2 adds
//! [`TAG_COMPACT`]: a delta received from a peer is logged in the bytes it came in (the
//! compact encoding, [`pluriverse::wire::encode_compact`]; the type is the replica's, in
//! `replica.json`), not encoded again.
//!
//! A log is read from the start. A record that runs past the end of the file, or the last
//! record of the file failing its checksum, is a *torn tail* (a write cut by a crash): the
//! reader reports where the good records end so the file can be cut there. A record that
//! fails its checksum with more bytes after it is corruption in the middle and an error:
//! nothing is skipped silently. Zeros from a record's start to the end of the file (a
//! file extended by a power loss before its data reached the disk) are a torn tail too.

use xxhash_rust::xxh3::xxh3_64;

/// Bytes before a record's payload.
pub const HEADER: usize = 13;
/// The largest payload of one record (1 GiB).
pub const MAX_RECORD: usize = 1 << 30;
/// Tag of a record holding a delta (a local write's or a received one) in the state format.
pub const TAG_DELTA: u8 = 1;
/// Tag of a record holding a delta in the compact encoding of the replica's type (a
/// received one, logged in the bytes it came in; log format 2).
pub const TAG_COMPACT: u8 = 2;

/// Appends one record to `out` (what [`encode`] returns, without a buffer of its own).
///
/// # Example
/// ```
/// use pluriverse_replica::log::{encode, encode_into, TAG_COMPACT};
/// let mut out = Vec::new();
/// encode_into(&mut out, TAG_COMPACT, b"abc");
/// assert_eq!(out, encode(TAG_COMPACT, b"abc"));
/// ```
pub fn encode_into(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    let start = out.len();
    out.reserve(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.push(tag);
    out.extend_from_slice(payload);
    let sum = xxh3_64(&out[start + 12..]);
    out[start + 4..start + 12].copy_from_slice(&sum.to_le_bytes());
}

/// The header of a record holding `payload` (what [`encode`] puts before it), for a writer
/// that writes the payload from where it is instead of copying it behind the header.
///
/// # Example
/// ```
/// use pluriverse_replica::log::{encode, header, TAG_DELTA};
/// let mut rec = header(TAG_DELTA, b"hello").to_vec();
/// rec.extend_from_slice(b"hello");
/// assert_eq!(rec, encode(TAG_DELTA, b"hello"));
/// ```
pub fn header(tag: u8, payload: &[u8]) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut sum = xxhash_rust::xxh3::Xxh3::new();
    sum.update(&[tag]);
    sum.update(payload);
    h[4..12].copy_from_slice(&sum.digest().to_le_bytes());
    h[12] = tag;
    h
}

/// Encodes one record.
///
/// # Example
/// ```
/// use pluriverse_replica::log::{encode, scan, Scan, TAG_DELTA};
/// let mut file = encode(TAG_DELTA, b"hello");
/// file.extend(encode(TAG_DELTA, b"world"));
/// let Scan { records, end, torn } = scan(&file).unwrap();
/// assert_eq!(records.len(), 2);
/// assert_eq!((end, torn), (file.len(), false));
/// // a crash in the middle of the second write leaves a torn tail, cut on open
/// let cut = &file[..file.len() - 2];
/// let s = scan(cut).unwrap();
/// assert_eq!((s.records.len(), s.end, s.torn), (1, 18, true));
/// ```
pub fn encode(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    encode_into(&mut out, tag, payload);
    out
}

/// One record found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record's header in the file.
    pub offset: usize,
    /// The record's tag.
    pub tag: u8,
    /// The payload.
    pub payload: &'a [u8],
}

/// What [`scan`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    /// The good records, in order.
    pub records: Vec<Record<'a>>,
    /// Where the good records end: the length to cut the file to.
    pub end: usize,
    /// Whether bytes after `end` are a torn tail.
    pub torn: bool,
}

/// A record in the middle of a log that is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the damaged record.
    pub offset: usize,
    /// What is wrong.
    pub why: String,
}

/// Reads every record of a log file's bytes.
///
/// # Errors
/// [`Damage`] when a record that is not the last fails its checksum or has an unknown tag
/// or an impossible length.
pub fn scan(bytes: &[u8]) -> Result<Scan<'_>, Damage> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEADER {
            return Ok(Scan {
                records,
                end: at,
                torn: true,
            });
        }
        let n = u32::from_le_bytes(rest[..4].try_into().unwrap_or_default()) as usize;
        let sum = u64::from_le_bytes(rest[4..12].try_into().unwrap_or_default());
        // a file extended by a crash before its data reached the disk reads as zeros
        let zeros = || rest.iter().all(|&b| b == 0);
        if n > MAX_RECORD {
            if zeros() {
                return Ok(Scan {
                    records,
                    end: at,
                    torn: true,
                });
            }
            return Err(Damage {
                offset: at,
                why: format!("record length {n} exceeds the limit of {MAX_RECORD}"),
            });
        }
        if rest.len() < HEADER + n {
            return Ok(Scan {
                records,
                end: at,
                torn: true,
            });
        }
        let body = &rest[12..HEADER + n];
        if xxh3_64(body) != sum {
            if rest.len() == HEADER + n || zeros() {
                // the last record: a write the crash cut short
                return Ok(Scan {
                    records,
                    end: at,
                    torn: true,
                });
            }
            return Err(Damage {
                offset: at,
                why: format!("record of {n} bytes fails its checksum"),
            });
        }
        let tag = body[0];
        if tag != TAG_DELTA && tag != TAG_COMPACT {
            return Err(Damage {
                offset: at,
                why: format!("unknown record tag {tag}"),
            });
        }
        records.push(Record {
            offset: at,
            tag,
            payload: &body[1..],
        });
        at += HEADER + n;
    }
    Ok(Scan {
        records,
        end: at,
        torn: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(payloads: &[&[u8]]) -> Vec<u8> {
        payloads.iter().flat_map(|p| encode(TAG_DELTA, p)).collect()
    }

    #[test]
    fn every_cut_of_the_last_record_is_a_torn_tail() {
        let payloads: [&[u8]; 3] = [b"a", b"bb", b"the third record"];
        let f = file(&payloads);
        let before_last = f.len() - (HEADER + payloads[2].len());
        for cut in before_last..f.len() {
            let s = scan(&f[..cut]).unwrap();
            assert_eq!(s.records.len(), 2, "cut at {cut}");
            assert_eq!(s.end, before_last);
            assert_eq!(s.torn, cut > before_last);
        }
    }

    #[test]
    fn a_flipped_bit_in_the_last_record_is_torn_and_in_the_middle_is_damage() {
        let payloads: [&[u8]; 3] = [b"first", b"second", b"third"];
        let f = file(&payloads);
        let starts = [0, HEADER + 5, 2 * HEADER + 11];
        for bit in 0..f.len() * 8 {
            let mut g = f.clone();
            g[bit / 8] ^= 1 << (bit % 8);
            let rec = starts.iter().rposition(|&s| s <= bit / 8).unwrap();
            match scan(&g) {
                Ok(s) => {
                    // only the last record may go, and then as a torn tail; or the flip hit
                    // a length byte and made a record run past the end
                    assert!(s.torn, "bit {bit}");
                    assert!(s.records.len() >= rec.min(2), "bit {bit}");
                    for r in &s.records {
                        assert!(payloads.contains(&r.payload), "bit {bit}");
                    }
                }
                Err(d) => assert!(d.offset <= bit / 8, "bit {bit}: {d:?}"),
            }
        }
    }
}
