//! The sync messages and their bytes.
//!
//! # Format (version 5)
//! Every message starts with the magic `PLS`, the version byte `5` and a type byte, and ends
//! with a checksum: the xxh3-64 of every byte before it, 8 bytes little-endian. Integers
//! are LEB128 varints (7 bits a byte, low first, minimal, at most 10 bytes) unless said
//! otherwise; a *name* is a varint length (1 to [`MAX_NAME`]) and that many bytes.
//!
//! | type | body |
//! |---|---|
//! | `1` summary | flags `u8` (bit 0: a cover follows), [cover: `after` and `upto` as optional names (a `u8` 0/1 then the name)], `count`, then `count` items |
//! | `2` data | the state type (3 bytes: kind, key type, value type; below), `count`, then `count` items, then the rest of the message up to the checksum: a delta in the compact encoding of [`pluriverse::wire::encode_compact`] (no schema: the type is the peer's), the join of the sender's slices over the items' ranges, or with no items, pushed local writes or an answer to the receiver's slice (neither is answered) |
//!
//! | `3` dots | flags `u8` (bit 0: a request, not to be answered with dots), `count`, then `count` dot items |
//! | `4` compressed data | as `2`, but after the items: `len`, the payload's length (at least [`COMPRESS_MIN`], at most [`MAX_EXPANSION`] times the message bound), then the payload as one zstd frame up to the checksum |
//! | `5` names | `after` as an optional name (as a cover bound), `count` (at least 1), then `count` name-range items |
//! | `6` columnar compressed data | as `4`, but the zstd frame holds the payload's *columnar form* (below), at most `len + 8` bytes, which gives back a payload of exactly `len` bytes |
//!
//! A data message with items (an answer to a peer's summaries: the bulk of a catch-up) whose
//! payload is at least [`COMPRESS_MIN`] bytes is compressed, ZSTD level [`COMPRESS_LEVEL`],
//! when that is shorter: as type `6` when the payload parses by the compact layout (a
//! sender's own payloads always do), else as type `4`. Pushed writes (no items) always go as type `2`, since a burst of small writes is
//! bound by the CPU, not by the bytes. The slices of an answer are sized by their
//! *compressed* bytes: a type `4` or `6` message is at most the bound, its payload at most
//! [`MAX_EXPANSION`] times the bound (a sender measures the message it builds and re-slices
//! one that comes out over either, and never sends it); a type `2` payload is at most the
//! bound, as the whole message is. The decoder allocates at most the declared length
//! (itself at most [`MAX_EXPANSION`] times the bound, checked before anything is
//! allocated), once for the frame's content and once for the payload it gives back, and
//! refuses a frame that does not decompress (or a columnar form that does not give back)
//! exactly that many bytes. Every data type decodes to the same [`Message::Data`];
//! re-encoding is a fixed point (an accepted type `4` or `6` message made by another zstd
//! build or level, or a type `4` one whose payload has a columnar form, re-encodes to this
//! build's bytes).
//!
//! The *columnar form* of a compact payload keeps its names, context, row count, validity
//! bitmaps and `Float64` and `Bool` columns as they are; every other row column, in the
//! compact encoding's order (key, replica index, counter, then the kind's value columns),
//! starts with a mode `u8`: `0`, the column as it is; `1`, the column transformed. A varint
//! column (integer keys and values, replica indices, counters, timestamps, increments and
//! decrements; an `Int64` column's zigzag varints as they are) transformed holds per row
//! `zigzag(v - prev)` of its varint `v` (wrapping; `prev` the row before's, 0 for the
//! first); a byte-string column (UTF-8 and binary keys and values) transformed holds per
//! row the length of the prefix it shares with the row before (0 for the first row), the
//! length of the rest, and the rest. A sender transforms a column when that makes it
//! shorter, so the form is at most 8 bytes longer than the payload (at most five mode
//! bytes). Rows are in the canonical order (by key hash), so what this takes is the bytes
//! keys share (`key-000123…`) and the small steps of columns that follow the rows' order,
//! which ZSTD alone on a frame of a kilobyte or two does not find: a datagram's worth of
//! entries then compresses better than the state file's 64K-row buffers.
//!
//! An *item* is one range's summary: a `u8` (`0`: the same replica as the item before it,
//! which must exist; `1`: a name follows, another than the item before's), [the name], then `lo - base` (the wrapping difference,
//! zigzag-coded: `(d << 1) ^ (d >> 63)` as signed) where `base` is 1 for a new name and the
//! previous item's `hi + 1` (wrapping) for the same one,
//! `hi - lo`, `width - seen` where `width = hi - lo + 1` (wrapping: the whole range
//! `1..=u64::MAX` has width `u64::MAX`), `seen - live`, and the 128-bit fingerprint as 16
//! bytes little-endian ([`RangeSummary`]). Dense ranges thus cost about 23 bytes an item.
//!
//! A *dot item* lists what the sender knows of each counter of one range ([`DotsItem`]):
//! the same tag, name and range fields as an item (`lo - base` zigzag-coded, `hi - lo`),
//! then `n` (at least 1), then `n - 1` runs as varints `(len - 1) << 2 | state` (`len` at
//! least 1 and below 2^62) and the last run as its state alone (a `u8`: it takes the rest
//! of the range, at least one counter). States: `0` unseen, `1` live, `2` dead; two runs in
//! a row have different states. A range holding all but a few removed dots thus costs about
//! 3 bytes per removal, whatever its width.
//!
//! State type codes: kind `0` MVMap, `1` AWSet, `2` PNCounterMap, `3` LWWMap; key `0` utf8,
//! `1` binary, `2` int64, `3` uint64; value `0` none, `1` utf8, `2` binary, `3` int64,
//! `4` float64, `5` bool.
//!
//! A summary with a cover lists, for every replica of the sender whose name is in
//! `(after, upto]` (an absent bound is open), the summary of its whole counter range
//! `1..=u64::MAX`: a replica of the receiver in the interval but not listed is one the
//! sender has seen nothing of.
//!
//! A *name-range item* summarises every replica of the sender whose name lies in one name
//! interval, as one fingerprint ([`NameRange`]): `upto` as an optional name (absent: open,
//! the last item only), `n` the number of such replicas, then the interval's fingerprint
//! as 16 bytes little-endian. The items of a names message cover consecutive intervals: the
//! first `(after, upto]`, each next one from the item before's `upto` (exclusive) to its
//! own (inclusive), so the `upto`s increase strictly. Only replicas whose whole-range
//! summary is not empty count, and the fingerprint is the wrapping sum (mod 2^128) of
//! [`name_hash`] over them: the xxh3-128 of the name (length varint, bytes), the summary's
//! `seen` and `live` (varints) and its fingerprint (16 bytes little-endian). `n = 0` needs
//! a zero fingerprint.
//!
//! A round's top-level summary is one names item over all names, `(open, open]`, once the
//! sender knows more than a few replicas (fewer are listed, a summary with a cover). The
//! receiver compares it with its own over the same interval: equal, nothing more; the
//! sender has nothing there, it streams its replicas of the interval; it holds few there
//! itself, it lists them (summaries with covers, below); else it splits the interval at
//! its own names into parts of about equal counts and sends their items back, which the
//! peer answers the same way. A difference in one replica among `n` is thus found in
//! `O(log n)` round trips of a few items each, and agreeing peers exchange one item a
//! round, whatever the number of incarnations. Every message stands alone: a lost one is
//! redone by a later round.
//!
//! Decoding checks the bound first (a message over it is refused before it is read), then
//! the checksum, then every length and count against the bytes left (before anything is
//! allocated), and refuses trailing bytes and non-minimal varints; the payload is decoded
//! by [`pluriverse::wire::decode_compact_with_limits`], which checks as much.
//!
//! Older versions are refused with an error naming the version: version 4 (no names
//! messages: a round listed every replica ever seen, one item each, every round, so its
//! summaries grew with every incarnation; and a compressed payload at most the bound
//! itself, so a datagram-sized answer held about 1.1 KB of payload that ZSTD took to about
//! 500 bytes), version 3 (no compressed data messages), version 2 (no dots messages: small
//! ranges were compared by fingerprints of eight parts, recursively) and version 1 (Arrow
//! IPC payloads, fixed-width items, no checksum: its payload repeated the Arrow schema,
//! about 1.5 KB, in every data message, so a datagram-sized bound could not carry one).

use pluriverse::store::{DotState, RangeSummary};
use pluriverse::ReplicaId;
use pluriverse_any::{KeyType, Kind, StateType, ValueType};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use crate::error::{ReplicaError, Result};

const MAGIC: &[u8; 3] = b"PLS";
/// The protocol version this build speaks.
pub const VERSION: u8 = 5;
/// Payloads of answers shorter than this go uncompressed (type `2`).
pub const COMPRESS_MIN: usize = 256;
/// The zstd level of compressed data messages (types `4` and `6`).
pub const COMPRESS_LEVEL: i32 = 1;
/// How many times the message bound a compressed payload (type `4`) may decompress to:
/// the decoder's allocation bound (a slice of a 1,200-byte answer takes about 2.5 KB
/// uncompressed).
pub const MAX_EXPANSION: usize = 8;
/// The longest replica name a message carries.
pub const MAX_NAME: usize = 1024;
/// Bytes of the header (magic, version, type) and the checksum.
pub(crate) const FRAME: usize = 5 + 8;
/// Bytes of a data message besides its items and payload (at most).
pub(crate) const DATA_FIXED: usize = FRAME + 3 + 3;
/// Bytes of a summary message besides its cover and items (at most).
pub(crate) const SUMMARY_FIXED: usize = FRAME + 1 + 3;
/// Bytes of a names message besides its `after` bound and items (at most).
pub(crate) const NAMES_FIXED: usize = FRAME + 3;
/// Bytes of a dots message besides its items (at most).
pub(crate) const DOTS_FIXED: usize = FRAME + 1 + 3;
/// The longest run a dot item carries other than its last (the length field's bound).
pub(crate) const MAX_RUN: u64 = 1 << 62;

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

/// What the sender knows of each counter of one range, as runs: a dot item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotsItem {
    /// The replica whose counters the range holds.
    pub replica: ReplicaId,
    /// First counter of the range.
    pub lo: u64,
    /// Last counter of the range.
    pub hi: u64,
    /// Maximal runs `(first, last, state)` covering `lo..=hi` in order, as
    /// [`pluriverse::CausalStore::range_dots`] gives them.
    pub runs: Vec<(u64, u64, DotState)>,
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

/// One name interval's summary in a names message: how many replicas of the sender lie in
/// it and their fingerprint. The interval starts after the item before's `upto` (or the
/// message's `after`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRange {
    /// Names up to and including this one (open when `None`: the last item only).
    pub upto: Option<ReplicaId>,
    /// Replicas with a non-empty whole-range summary in the interval.
    pub count: u64,
    /// The wrapping sum of their [`name_hash`]es.
    pub fingerprint: u128,
}

/// One replica's share of a name-range fingerprint: the xxh3-128 of its name (length
/// varint, bytes), its whole-range summary's `seen` and `live` (varints) and fingerprint
/// (16 bytes little-endian).
///
/// # Example
/// ```
/// use pluriverse::store::RangeSummary;
/// use pluriverse_replica::sync::message::name_hash;
/// let s = RangeSummary { seen: 3, live: 2, fingerprint: 7 };
/// assert_eq!(name_hash(&"a".into(), &s), name_hash(&"a".into(), &s));
/// assert_ne!(name_hash(&"a".into(), &s), name_hash(&"b".into(), &s));
/// ```
pub fn name_hash(name: &ReplicaId, summary: &RangeSummary) -> u128 {
    name_hash_with(&mut Vec::new(), name, summary)
}

/// [`name_hash`] through a buffer of the caller's (one allocation for many names).
pub(crate) fn name_hash_with(b: &mut Vec<u8>, name: &ReplicaId, summary: &RangeSummary) -> u128 {
    b.clear();
    put_name(b, name);
    put_varint(b, summary.seen);
    put_varint(b, summary.live);
    b.extend_from_slice(&summary.fingerprint.to_le_bytes());
    xxh3_128(b)
}

/// Encoded size of an optional name as a bound (a tag, then the name).
pub(crate) fn bound_len(n: Option<&ReplicaId>) -> usize {
    1 + n.map_or(0, |n| {
        let b = n.as_bytes().len();
        varint_len(b as u64) + b
    })
}

/// The longest name every message this crate's [`Peer`](super::Peer) builds can carry at
/// the bound `max_message`: a listing (a summary with a cover) holds three names, its
/// two bounds and an item, a names message two. At most [`MAX_NAME`].
pub(crate) fn longest_name(max_message: usize) -> usize {
    (0..=MAX_NAME)
        .rev()
        .find(|&n| {
            let names = NAMES_FIXED + 2 * (1 + varint_len(n as u64) + n) + 10 + 16;
            listing_max(n).max(names) <= max_message
        })
        .unwrap_or(0)
}

/// The most a listing of one item takes when its names (both bounds and the item's) are
/// `n` bytes.
pub(crate) fn listing_max(n: usize) -> usize {
    SUMMARY_FIXED + 2 * (1 + varint_len(n as u64) + n) + item_max_len(n)
}

/// Encoded size of a name-range item.
pub(crate) fn name_range_len(it: &NameRange) -> usize {
    bound_len(it.upto.as_ref()) + varint_len(it.count) + 16
}

fn put_bound(out: &mut Vec<u8>, b: Option<&ReplicaId>) {
    match b {
        Some(n) => {
            out.push(1);
            put_name(out, n);
        }
        None => out.push(0),
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
        /// The type of the delta (both peers sync this type).
        ty: StateType,
        /// The ranges the payload holds the sender's slices of, and its summaries of them.
        items: Vec<Item>,
        /// A delta in the compact encoding ([`pluriverse::wire::encode_compact`]).
        payload: Vec<u8>,
    },
    /// Fingerprints of consecutive name intervals, the first starting after `after`.
    Names {
        /// Names strictly after this one (open when `None`).
        after: Option<ReplicaId>,
        /// The intervals, in name order (at least one).
        items: Vec<NameRange>,
    },
    /// What the sender knows of each counter of some ranges: the receiver ships the
    /// counters it knows more of and, unless this is a request, lists its own dots of the
    /// counters the sender knows more of (a request, which is never answered with dots).
    Dots {
        /// Whether this answers dots (the receiver only ships, it lists nothing back).
        request: bool,
        /// The ranges.
        items: Vec<DotsItem>,
    },
}

thread_local! {
    /// One zstd context of each direction per thread: creating one per message costs more
    /// than compressing a datagram-sized payload.
    static ZSTD: std::cell::RefCell<Option<Contexts>> = const { std::cell::RefCell::new(None) };
}

/// The longest payload a data message under the bound `max_message` may carry: compressed
/// (type `4`), [`MAX_EXPANSION`] times the bound.
pub(crate) fn max_payload(max_message: usize) -> usize {
    max_message.saturating_mul(MAX_EXPANSION)
}

/// A thread's zstd contexts: a compressor and a decompressor.
type Contexts = (
    zstd::bulk::Compressor<'static>,
    zstd::bulk::Decompressor<'static>,
);

fn with_zstd<T>(f: impl FnOnce(&mut Contexts) -> std::io::Result<T>) -> std::io::Result<T> {
    ZSTD.with(|z| {
        let mut z = z.borrow_mut();
        if z.is_none() {
            *z = Some((
                zstd::bulk::Compressor::new(COMPRESS_LEVEL)?,
                zstd::bulk::Decompressor::new()?,
            ));
        }
        f(z.as_mut().expect("set above"))
    })
}

/// The bytes as one zstd frame (`None` if zstd fails, which it does not for a slice).
fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    with_zstd(|(c, _)| c.compress(bytes)).ok()
}

/// A zstd frame's content, at most `capacity` bytes (more is an error, never allocated).
fn decompress(frame: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    with_zstd(|(_, d)| d.decompress(frame, capacity))
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes of `v` as a varint.
#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_name(out: &mut Vec<u8>, n: &ReplicaId) {
    let b = n.as_bytes();
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A wrapping difference as an unsigned varint value: small either way.
fn zigzag(d: u64) -> u64 {
    (d << 1) ^ ((d as i64 >> 63) as u64)
}

fn unzigzag(z: u64) -> u64 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

/// The width field of a range (`hi - lo + 1`, wrapping).
fn width(lo: u64, hi: u64) -> u64 {
    (hi - lo).wrapping_add(1)
}

/// The item's fields after the name, as encoded after `prev` (the item before it in the
/// same message, if any): `(same name, lo - base, hi - lo, width - seen, seen - live)`.
fn fields(it: &Item, prev: Option<&Item>) -> (bool, u64, u64, u64, u64) {
    let same = prev.is_some_and(|p| p.replica == it.replica);
    let base = match prev {
        Some(p) if same => p.hi.wrapping_add(1),
        _ => 1,
    };
    (
        same,
        zigzag(it.lo.wrapping_sub(base)),
        it.hi - it.lo,
        width(it.lo, it.hi).wrapping_sub(it.summary.seen),
        it.summary.seen - it.summary.live,
    )
}

/// Encoded size of `it` after `prev` (see [`Message::encode`]).
pub(crate) fn item_len(it: &Item, prev: Option<&Item>) -> usize {
    let (same, a, b, c, d) = fields(it, prev);
    let name = if same {
        0
    } else {
        let n = it.replica.as_bytes().len();
        varint_len(n as u64) + n
    };
    1 + name + varint_len(a) + varint_len(b) + varint_len(c) + varint_len(d) + 16
}

/// The most an item of replica `name` takes, whatever comes before it.
pub(crate) fn item_max(name: &ReplicaId) -> usize {
    item_max_len(name.as_bytes().len())
}

/// The most an item of a replica whose name is `n` bytes takes.
fn item_max_len(n: usize) -> usize {
    1 + 2 + n + 4 * 10 + 16
}

fn put_items(out: &mut Vec<u8>, items: &[Item]) {
    put_varint(out, items.len() as u64);
    let mut prev: Option<&Item> = None;
    for it in items {
        let (same, a, b, c, d) = fields(it, prev);
        out.push(u8::from(!same));
        if !same {
            put_name(out, &it.replica);
        }
        for v in [a, b, c, d] {
            put_varint(out, v);
        }
        out.extend_from_slice(&it.summary.fingerprint.to_le_bytes());
        prev = Some(it);
    }
}

fn state_code(st: DotState) -> u64 {
    match st {
        DotState::Unseen => 0,
        DotState::Live => 1,
        DotState::Dead => 2,
    }
}

/// The range fields shared by items and dot items, after `prev` (same replica and its
/// `hi`): `(same name, lo - base, hi - lo)`.
fn range_fields(
    replica: &ReplicaId,
    lo: u64,
    hi: u64,
    prev: Option<(&ReplicaId, u64)>,
) -> (bool, u64, u64) {
    let same = prev.is_some_and(|(r, _)| r == replica);
    let base = match prev {
        Some((_, h)) if same => h.wrapping_add(1),
        _ => 1,
    };
    (same, zigzag(lo.wrapping_sub(base)), hi - lo)
}

/// Encoded size of a dot item after `prev`, or `None` when it cannot be encoded (a run
/// other than the last as long as [`MAX_RUN`], or no runs).
pub(crate) fn dots_item_len(it: &DotsItem, prev: Option<&DotsItem>) -> Option<usize> {
    let (_, rest) = it.runs.split_last()?;
    let (same, a, b) = range_fields(&it.replica, it.lo, it.hi, prev.map(|p| (&p.replica, p.hi)));
    let name = if same {
        0
    } else {
        let n = it.replica.as_bytes().len();
        varint_len(n as u64) + n
    };
    let mut len = 1 + name + varint_len(a) + varint_len(b) + varint_len(it.runs.len() as u64) + 1;
    for &(f, l, st) in rest {
        if l.wrapping_sub(f) >= MAX_RUN {
            return None;
        }
        len += varint_len(((l - f) << 2) | state_code(st));
    }
    Some(len)
}

fn put_dots_items(out: &mut Vec<u8>, items: &[DotsItem]) {
    put_varint(out, items.len() as u64);
    let mut prev: Option<&DotsItem> = None;
    for it in items {
        let (same, a, b) =
            range_fields(&it.replica, it.lo, it.hi, prev.map(|p| (&p.replica, p.hi)));
        out.push(u8::from(!same));
        if !same {
            put_name(out, &it.replica);
        }
        put_varint(out, a);
        put_varint(out, b);
        put_varint(out, it.runs.len() as u64);
        if let Some(((_, _, last), rest)) = it.runs.split_last() {
            for &(f, l, st) in rest {
                // an item `dots_item_len` refuses is not encoded faithfully (its decoding
                // is refused or differs), but encoding it does not panic
                let len_m1 = l.wrapping_sub(f).min(MAX_RUN - 1);
                put_varint(out, (len_m1 << 2) | state_code(st));
            }
            out.push(state_code(*last) as u8);
        }
        prev = Some(it);
    }
}

fn type_code(ty: StateType) -> [u8; 3] {
    let pos = |found: Option<usize>| found.unwrap_or(0) as u8;
    [
        pos(Kind::ALL.iter().position(|&k| k == ty.kind)),
        pos(KeyType::ALL.iter().position(|&k| k == ty.key)),
        ty.value
            .map_or(0, |v| 1 + pos(ValueType::ALL.iter().position(|&x| x == v))),
    ]
}

fn type_of(code: &[u8]) -> Result<StateType> {
    let unknown = || bad(format!("unknown state type code {code:?}"));
    let kind = *Kind::ALL.get(code[0] as usize).ok_or_else(unknown)?;
    let key = *KeyType::ALL.get(code[1] as usize).ok_or_else(unknown)?;
    let value = match code[2] {
        0 => None,
        v => Some(*ValueType::ALL.get(v as usize - 1).ok_or_else(unknown)?),
    };
    StateType::new(kind, key, value).map_err(|_| unknown())
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
                    put_bound(&mut out, c.after.as_ref());
                    put_bound(&mut out, c.upto.as_ref());
                }
                put_items(&mut out, items);
            }
            Message::Names { after, items } => {
                out.push(5);
                put_bound(&mut out, after.as_ref());
                put_varint(&mut out, items.len() as u64);
                for it in items {
                    put_bound(&mut out, it.upto.as_ref());
                    put_varint(&mut out, it.count);
                    out.extend_from_slice(&it.fingerprint.to_le_bytes());
                }
            }
            Message::Data { ty, items, payload } => {
                let big = !items.is_empty() && payload.len() >= COMPRESS_MIN;
                let cols = big
                    .then(|| super::columns::to_columns(*ty, payload))
                    .flatten();
                let packed = big
                    .then(|| compress(cols.as_deref().unwrap_or(payload)))
                    .flatten()
                    .filter(|z| z.len() + varint_len(payload.len() as u64) < payload.len());
                out.push(match (&packed, &cols) {
                    (None, _) => 2,
                    (Some(_), None) => 4,
                    (Some(_), Some(_)) => 6,
                });
                out.extend_from_slice(&type_code(*ty));
                put_items(&mut out, items);
                match packed {
                    Some(z) => {
                        put_varint(&mut out, payload.len() as u64);
                        out.extend_from_slice(&z);
                    }
                    None => out.extend_from_slice(payload),
                }
            }
            Message::Dots { request, items } => {
                out.push(3);
                out.push(u8::from(*request));
                put_dots_items(&mut out, items);
            }
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes a message of at most `max_len` bytes.
    ///
    /// # Errors
    /// [`ReplicaError::Message`] naming what is wrong: too long, bad magic or version, a
    /// checksum mismatch, a length past the end, an empty or over-long name, an empty range,
    /// a summary that cannot be, dot runs that do not cover their range exactly or repeat
    /// a state, a non-minimal varint, trailing bytes, an unknown state type.
    /// The payload of a data message is not decoded here.
    pub fn decode(bytes: &[u8], max_len: usize) -> Result<Self> {
        if bytes.len() > max_len {
            return Err(bad(format!(
                "{} bytes exceed the bound of {max_len}",
                bytes.len()
            )));
        }
        if bytes.len() < FRAME {
            return Err(bad(format!(
                "{} bytes: too short for a message",
                bytes.len()
            )));
        }
        if &bytes[..3] != MAGIC {
            return Err(bad("not a pluriverse sync message (bad magic)".into()));
        }
        let v = bytes[3];
        if v == 4 {
            return Err(bad(format!(
                "protocol version 4 (this build speaks {VERSION}: version 4 peers list every replica every round, without names messages; upgrade the peer)"
            )));
        }
        if v != VERSION {
            return Err(bad(format!(
                "protocol version {v} (this build speaks {VERSION})"
            )));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        let mut declared = [0u8; 8];
        declared.copy_from_slice(sum);
        let declared = u64::from_le_bytes(declared);
        let computed = xxh3_64(body);
        if declared != computed {
            return Err(bad(format!(
                "checksum mismatch (declared {declared:016x}, computed {computed:016x})"
            )));
        }
        let mut r = Reader { b: body, at: 4 };
        let m = match r.u8()? {
            1 => {
                let flags = r.u8()?;
                if flags > 1 {
                    return Err(bad(format!("unknown summary flags {flags:#x}")));
                }
                let cover = if flags & 1 == 1 {
                    let after = r.bound()?;
                    let upto = r.bound()?;
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
                let ty = type_of(r.take(3)?)?;
                let items = r.items()?;
                if r.done() {
                    return Err(bad("a data message without a delta".into()));
                }
                Message::Data {
                    ty,
                    items,
                    payload: r.b[r.at..].to_vec(),
                }
            }
            t @ (4 | 6) => {
                let ty = type_of(r.take(3)?)?;
                let items = r.items()?;
                if items.is_empty() {
                    return Err(bad("a compressed data message without items".into()));
                }
                let len = r.varint()?;
                let most = max_payload(max_len);
                if len < COMPRESS_MIN as u64 || len > most as u64 {
                    return Err(bad(format!(
                        "a compressed payload of {len} bytes (from {COMPRESS_MIN} to the bound {max_len} times {MAX_EXPANSION}: {most})"
                    )));
                }
                let frame = &r.b[r.at..];
                if frame.is_empty() {
                    return Err(bad("a data message without a delta".into()));
                }
                let room = if t == 6 { super::columns::FLAGS } else { 0 };
                let mut payload = decompress(frame, len as usize + room).map_err(|e| {
                    bad(format!(
                        "a compressed payload that does not decompress: {e}"
                    ))
                })?;
                if t == 6 {
                    payload = super::columns::from_columns(ty, &payload, len as usize)
                        .ok_or_else(|| {
                            bad(format!(
                                "a compressed payload whose columns do not decompress to at most {len} bytes"
                            ))
                        })?;
                }
                if payload.len() as u64 != len {
                    return Err(bad(format!(
                        "a compressed payload of {} bytes declared {len}",
                        payload.len()
                    )));
                }
                Message::Data { ty, items, payload }
            }
            5 => {
                let after = r.bound()?;
                let n = r.varint()?;
                // each item takes at least 18 bytes: no allocation beyond the input
                if n == 0 || n.saturating_mul(18) > r.rest() as u64 {
                    return Err(bad(format!(
                        "{n} name-range items in {} bytes (at least one, 18 bytes each)",
                        r.rest()
                    )));
                }
                let mut items: Vec<NameRange> = Vec::with_capacity(n as usize);
                let mut prev = after.clone();
                for i in 0..n {
                    if i > 0 && prev.is_none() {
                        return Err(bad("an open name interval before the last".into()));
                    }
                    let upto = r.bound()?;
                    if let (Some(p), Some(u)) = (&prev, &upto) {
                        if u <= p {
                            return Err(bad("name intervals out of order or empty".into()));
                        }
                    }
                    let count = r.varint()?;
                    let fingerprint = r.fingerprint()?;
                    if count == 0 && fingerprint != 0 {
                        return Err(bad("an empty name interval with a fingerprint".into()));
                    }
                    prev = upto.clone();
                    items.push(NameRange {
                        upto,
                        count,
                        fingerprint,
                    });
                }
                if !r.done() {
                    return Err(bad("trailing bytes after the last name range".into()));
                }
                Message::Names { after, items }
            }
            3 => {
                let flags = r.u8()?;
                if flags > 1 {
                    return Err(bad(format!("unknown dots flags {flags:#x}")));
                }
                let items = r.dots_items()?;
                if !r.done() {
                    return Err(bad("trailing bytes after the last dot item".into()));
                }
                Message::Dots {
                    request: flags == 1,
                    items,
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
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = self.u8()?;
            if i == 9 && byte > 1 {
                return Err(bad("varint beyond u64::MAX".into()));
            }
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(bad("varint not minimal".into()));
                }
                return Ok(v);
            }
        }
        Err(bad("varint longer than 10 bytes".into()))
    }
    fn fingerprint(&mut self) -> Result<u128> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(u128::from_le_bytes(a))
    }
    fn bound(&mut self) -> Result<Option<ReplicaId>> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.name()?)),
            x => Err(bad(format!("bad name bound tag {x}"))),
        }
    }
    fn name(&mut self) -> Result<ReplicaId> {
        let n = self.varint()?;
        if n == 0 || n > MAX_NAME as u64 {
            return Err(bad(format!(
                "replica name of {n} bytes (1 to {MAX_NAME} allowed)"
            )));
        }
        Ok(ReplicaId::from(self.take(n as usize)?))
    }
    fn items(&mut self) -> Result<Vec<Item>> {
        let n = self.varint()?;
        // each item takes at least 21 bytes: no allocation beyond the input
        if n.saturating_mul(21) > self.rest() as u64 {
            return Err(bad(format!(
                "{n} items cannot fit in {} bytes",
                self.rest()
            )));
        }
        let mut items: Vec<Item> = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let it = self.item(items.last())?;
            items.push(it);
        }
        Ok(items)
    }
    fn dots_items(&mut self) -> Result<Vec<DotsItem>> {
        let n = self.varint()?;
        // each dot item takes at least 5 bytes: no allocation beyond the input
        if n.saturating_mul(5) > self.rest() as u64 {
            return Err(bad(format!(
                "{n} dot items cannot fit in {} bytes",
                self.rest()
            )));
        }
        let mut items: Vec<DotsItem> = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let prev = items.last().map(|p| (p.replica.clone(), p.hi));
            let (replica, lo, hi) = self.range(prev.as_ref().map(|(r, h)| (r, *h)))?;
            let count = self.varint()?;
            if count == 0 || count > self.rest() as u64 {
                return Err(bad(format!(
                    "{count} dot runs for {lo}..={hi} ({} bytes left)",
                    self.rest()
                )));
            }
            let mut runs: Vec<(u64, u64, DotState)> = Vec::with_capacity(count as usize);
            let mut at = lo;
            for i in 0..count {
                let (len_m1, code) = if i + 1 == count {
                    (None, u64::from(self.u8()?))
                } else {
                    let v = self.varint()?;
                    (Some(v >> 2), v & 3)
                };
                let st = match code {
                    0 => DotState::Unseen,
                    1 => DotState::Live,
                    2 => DotState::Dead,
                    c => return Err(bad(format!("unknown dot state {c}"))),
                };
                if runs.last().is_some_and(|r| r.2 == st) {
                    return Err(bad(
                        "two dot runs in a row of one state (not canonical)".into()
                    ));
                }
                let last = match len_m1 {
                    Some(m) => at
                        .checked_add(m)
                        .filter(|&l| l < hi)
                        .ok_or_else(|| bad(format!("dot runs past the end of {lo}..={hi}")))?,
                    None => hi,
                };
                runs.push((at, last, st));
                at = last.wrapping_add(1);
            }
            items.push(DotsItem {
                replica,
                lo,
                hi,
                runs,
            });
        }
        Ok(items)
    }
    /// The range fields of an item: tag, name, `lo - base`, `hi - lo`.
    fn range(&mut self, prev: Option<(&ReplicaId, u64)>) -> Result<(ReplicaId, u64, u64)> {
        let (replica, base) = match self.u8()? {
            0 => match prev {
                Some((r, h)) => (r.clone(), h.wrapping_add(1)),
                None => return Err(bad("the first item refers to an item before it".into())),
            },
            1 => {
                let name = self.name()?;
                if prev.is_some_and(|(r, _)| *r == name) {
                    return Err(bad(
                        "a name repeating the item before (not canonical)".into()
                    ));
                }
                (name, 1)
            }
            t => return Err(bad(format!("bad item tag {t}"))),
        };
        let lo = base.wrapping_add(unzigzag(self.varint()?));
        if lo == 0 {
            return Err(bad("a range starting at counter 0".into()));
        }
        let hi = lo
            .checked_add(self.varint()?)
            .ok_or_else(|| bad("range end beyond u64::MAX".into()))?;
        Ok((replica, lo, hi))
    }
    fn item(&mut self, prev: Option<&Item>) -> Result<Item> {
        let (replica, lo, hi) = self.range(prev.map(|p| (&p.replica, p.hi)))?;
        let w = width(lo, hi);
        let seen = w.checked_sub(self.varint()?).ok_or_else(|| {
            bad(format!(
                "summary of {lo}..={hi} claims more dots than it has"
            ))
        })?;
        let live = seen
            .checked_sub(self.varint()?)
            .ok_or_else(|| bad(format!("summary of {lo}..={hi} claims more live than seen")))?;
        let summary = RangeSummary {
            seen,
            live,
            fingerprint: self.fingerprint()?,
        };
        Ok(Item {
            replica,
            lo,
            hi,
            summary,
        })
    }
}
