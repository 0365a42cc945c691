//! The sync messages and their bytes.
//!
//! # Format (version 1)
//! Every message starts with the magic `PLS`, the version byte `1` and a type byte; all
//! integers are little-endian; a *name* is a `u16` length and that many bytes; a *summary*
//! is `seen: u64, live: u64, fingerprint: u128` ([`RangeSummary`]).
//!
//! | type | body |
//! |---|---|
//! | `1` summary | flags `u8` (bit 0: a cover follows), [cover: `after` and `upto` as optional names (a `u8` 0/1 then the name)], `count: u16`, then `count` items: name, `lo: u64`, `hi: u64`, summary |
//! | `2` data | `count: u16`, then `count` items (as in a summary), then the rest of the message: a delta in the state format (Arrow IPC stream): the join of the sender's slices over the items' ranges, or with no items, pushed local writes |
//!
//! A summary with a cover lists, for every replica of the sender whose name is in
//! `(after, upto]` (an absent bound is open), the summary of its whole counter range
//! `1..=u64::MAX`: a replica of the receiver in the interval but not listed is one the
//! sender has seen nothing of.
//!
//! Decoding checks every length against the message and refuses trailing bytes; a message
//! over the configured bound is refused before it is read.

use pluriverse::store::RangeSummary;
use pluriverse::ReplicaId;

use crate::error::{ReplicaError, Result};

const MAGIC: &[u8; 3] = b"PLS";
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// The longest replica name a message carries.
pub const MAX_NAME: usize = 1024;
/// Bytes of one summary item besides its name.
pub(crate) const ITEM_FIXED: usize = 2 + 8 + 8 + 8 + 8 + 16;
/// Bytes of a data message besides its items and payload.
pub(crate) const DATA_FIXED: usize = 5 + 2;

/// One range's summary in a summary message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The replica whose counters the range holds.
    pub replica: ReplicaId,
    /// First counter of the range.
    pub lo: u64,
    /// Last counter of the range.
    pub hi: u64,
    /// The sender's summary of its slice over the range.
    pub summary: RangeSummary,
}

/// A name interval `(after, upto]`; `None` bounds are open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cover {
    /// Names strictly after this one (open when `None`).
    pub after: Option<ReplicaId>,
    /// Names up to and including this one (open when `None`).
    pub upto: Option<ReplicaId>,
}

impl Cover {
    /// Whether `name` lies in the interval.
    pub fn contains(&self, name: &ReplicaId) -> bool {
        self.after.as_ref().is_none_or(|a| name > a) && self.upto.as_ref().is_none_or(|u| name <= u)
    }
}

/// A sync message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Summaries of ranges; with a cover, of every replica in a name interval.
    Summary {
        /// The name interval every replica of which is listed (top-level summaries).
        cover: Option<Cover>,
        /// The ranges.
        items: Vec<Item>,
    },
    /// A delta: the sender's slices over some ranges (with the sender's summaries of
    /// them), or pushed local writes (no items).
    Data {
        /// The ranges the payload holds the sender's slices of, and its summaries of them.
        items: Vec<Item>,
        /// A delta in the state format.
        payload: Vec<u8>,
    },
}

fn put_name(out: &mut Vec<u8>, n: &ReplicaId) {
    let b = n.as_bytes();
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_summary(out: &mut Vec<u8>, s: &RangeSummary) {
    out.extend_from_slice(&s.seen.to_le_bytes());
    out.extend_from_slice(&s.live.to_le_bytes());
    out.extend_from_slice(&s.fingerprint.to_le_bytes());
}

fn put_item(out: &mut Vec<u8>, it: &Item) {
    put_name(out, &it.replica);
    out.extend_from_slice(&it.lo.to_le_bytes());
    out.extend_from_slice(&it.hi.to_le_bytes());
    put_summary(out, &it.summary);
}

/// Encoded size of a summary item.
pub(crate) fn item_len(name: &ReplicaId) -> usize {
    ITEM_FIXED + name.as_bytes().len()
}

impl Message {
    /// The message's bytes.
    ///
    /// # Example
    /// ```
    /// use pluriverse_replica::sync::message::{Cover, Message};
    /// let m = Message::Summary { cover: Some(Cover::default()), items: vec![] };
    /// let bytes = m.encode();
    /// assert_eq!(Message::decode(&bytes, 1200).unwrap(), m);
    /// assert!(Message::decode(&bytes[..bytes.len() - 1], 1200).is_err());
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        match self {
            Message::Summary { cover, items } => {
                out.push(1);
                out.push(u8::from(cover.is_some()));
                if let Some(c) = cover {
                    for b in [&c.after, &c.upto] {
                        match b {
                            Some(n) => {
                                out.push(1);
                                put_name(&mut out, n);
                            }
                            None => out.push(0),
                        }
                    }
                }
                out.extend_from_slice(&(items.len() as u16).to_le_bytes());
                for it in items {
                    put_item(&mut out, it);
                }
            }
            Message::Data { items, payload } => {
                out.push(2);
                out.extend_from_slice(&(items.len() as u16).to_le_bytes());
                for it in items {
                    put_item(&mut out, it);
                }
                out.extend_from_slice(payload);
            }
        }
        out
    }

    /// Decodes a message of at most `max_len` bytes.
    ///
    /// # Errors
    /// [`ReplicaError::Message`] naming what is wrong: too long, bad magic or version, a
    /// length past the end, an empty or over-long name, an empty range, trailing bytes.
    /// The payload of a chunk or delta is not decoded here.
    pub fn decode(bytes: &[u8], max_len: usize) -> Result<Self> {
        if bytes.len() > max_len {
            return Err(bad(format!(
                "{} bytes exceed the bound of {max_len}",
                bytes.len()
            )));
        }
        let mut r = Reader { b: bytes, at: 0 };
        if r.take(3)? != MAGIC {
            return Err(bad("not a pluriverse sync message (bad magic)".into()));
        }
        let v = r.u8()?;
        if v != VERSION {
            return Err(bad(format!(
                "protocol version {v} (this build speaks {VERSION})"
            )));
        }
        let m = match r.u8()? {
            1 => {
                let flags = r.u8()?;
                if flags > 1 {
                    return Err(bad(format!("unknown summary flags {flags:#x}")));
                }
                let cover = if flags & 1 == 1 {
                    let mut bound = || -> Result<Option<ReplicaId>> {
                        match r.u8()? {
                            0 => Ok(None),
                            1 => Ok(Some(r.name()?)),
                            x => Err(bad(format!("bad cover bound tag {x}"))),
                        }
                    };
                    let after = bound()?;
                    let upto = bound()?;
                    Some(Cover { after, upto })
                } else {
                    None
                };
                let items = r.items()?;
                if !r.done() {
                    return Err(bad("trailing bytes after the last item".into()));
                }
                Message::Summary { cover, items }
            }
            2 => {
                let items = r.items()?;
                if r.done() {
                    return Err(bad("a data message without a delta".into()));
                }
                Message::Data {
                    items,
                    payload: r.b[r.at..].to_vec(),
                }
            }
            t => return Err(bad(format!("unknown message type {t}"))),
        };
        Ok(m)
    }
}

fn bad(why: String) -> ReplicaError {
    ReplicaError::Message(why)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> usize {
        self.b.len() - self.at
    }
    fn done(&self) -> bool {
        self.at == self.b.len()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest() < n {
            return Err(bad(format!(
                "truncated: {n} bytes needed at offset {}, {} left",
                self.at,
                self.rest()
            )));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let mut a = [0u8; 2];
        a.copy_from_slice(self.take(2)?);
        Ok(u16::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn u128(&mut self) -> Result<u128> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(u128::from_le_bytes(a))
    }
    fn name(&mut self) -> Result<ReplicaId> {
        let n = self.u16()? as usize;
        if n == 0 || n > MAX_NAME {
            return Err(bad(format!(
                "replica name of {n} bytes (1 to {MAX_NAME} allowed)"
            )));
        }
        Ok(ReplicaId::from(self.take(n)?))
    }
    fn items(&mut self) -> Result<Vec<Item>> {
        let n = self.u16()? as usize;
        // each item takes at least ITEM_FIXED bytes: no allocation beyond the input
        if n * ITEM_FIXED > self.rest() {
            return Err(bad(format!(
                "{n} items cannot fit in {} bytes",
                self.rest()
            )));
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.item()?);
        }
        Ok(items)
    }
    fn item(&mut self) -> Result<Item> {
        let replica = self.name()?;
        let lo = self.u64()?;
        let hi = self.u64()?;
        if lo == 0 || lo > hi {
            return Err(bad(format!("empty or invalid range {lo}..={hi}")));
        }
        let summary = RangeSummary {
            seen: self.u64()?,
            live: self.u64()?,
            fingerprint: self.u128()?,
        };
        if summary.live > summary.seen || summary.seen > hi - lo + 1 {
            return Err(bad(format!(
                "summary of {lo}..={hi} claims {} seen and {} live",
                summary.seen, summary.live
            )));
        }
        Ok(Item {
            replica,
            lo,
            hi,
            summary,
        })
    }
}
