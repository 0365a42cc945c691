//! The columnar form of a compact payload: what a type `6` data message compresses (the
//! format is in [`super::message`]).
//!
//! The transform is a bijection between compact payloads that parse (by the layout alone,
//! minimal varints, no trailing bytes) and their columnar forms: it checks nothing else (the
//! compact decoder does, on the payload it gives back), the way there never writes more
//! than the payload's length and the way back never more than the declared length.

use pluriverse_any::{KeyType, Kind, StateType, ValueType};

#[derive(Clone, Copy)]
enum Col {
    /// LEB128 varints.
    Varint,
    /// A varint length and that many bytes.
    Bytes,
    /// Fixed-width values of this many bytes.
    Fixed(usize),
}

/// The row columns of `ty`'s compact encoding, each with whether it is nullable.
fn columns(ty: StateType) -> Vec<(Col, bool)> {
    let key = match ty.key {
        KeyType::Utf8 | KeyType::Binary => Col::Bytes,
        KeyType::Int64 | KeyType::UInt64 => Col::Varint,
    };
    let value = match ty.value {
        Some(ValueType::Utf8 | ValueType::Binary) => Col::Bytes,
        Some(ValueType::Int64) => Col::Varint,
        Some(ValueType::Float64) => Col::Fixed(8),
        Some(ValueType::Bool) | None => Col::Fixed(1),
    };
    let mut cols = vec![(key, false), (Col::Varint, false), (Col::Varint, false)];
    match ty.kind {
        Kind::MVMap => cols.push((value, false)),
        Kind::AWSet => {}
        Kind::PNCounterMap => cols.extend([(Col::Varint, false), (Col::Varint, false)]),
        Kind::LWWMap => cols.extend([(Col::Varint, false), (value, true)]),
    }
    cols
}

fn zigzag(d: u64) -> u64 {
    (d << 1) ^ ((d as i64 >> 63) as u64)
}

fn unzigzag(z: u64) -> u64 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

struct Walk<'a> {
    b: &'a [u8],
    at: usize,
    out: Vec<u8>,
    cap: usize,
}

impl<'a> Walk<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = *self.b.get(self.at)?;
            self.at += 1;
            if i == 9 && byte > 1 {
                return None;
            }
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return (byte != 0 || i == 0).then_some(v);
            }
        }
        None
    }
    fn room(&self, n: usize) -> Option<()> {
        (self.out.len().checked_add(n)? <= self.cap).then_some(())
    }
    fn put(&mut self, mut v: u64) -> Option<()> {
        self.room(crate::sync::message::varint_len(v))?;
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
        Some(())
    }
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len())?;
        let s = &self.b[self.at..end];
        self.at = end;
        Some(s)
    }
    fn copy(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        self.room(n)?;
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len())?;
        self.out.extend_from_slice(&self.b[self.at..end]);
        self.at = end;
        Some(())
    }
    fn copy_varint(&mut self) -> Option<u64> {
        let v = self.varint()?;
        self.put(v)?;
        Some(v)
    }

    /// Walks a payload (`forward`: compact to columnar) or its columnar form back.
    fn run(&mut self, ty: StateType, forward: bool) -> Option<()> {
        // names and context, as they are
        let n = self.copy_varint()?;
        for _ in 0..n {
            let len = self.copy_varint()?;
            self.copy(len)?;
        }
        for _ in 0..n {
            self.copy_varint()?;
            let runs = self.copy_varint()?;
            for _ in 0..runs {
                self.copy_varint()?;
                self.copy_varint()?;
            }
        }
        let rows = self.copy_varint()?;
        for (col, nullable) in columns(ty) {
            let present = if nullable {
                let bits = self.take(rows.div_ceil(8))?;
                let set = (0..rows as usize)
                    .filter(|&i| bits[i / 8] & (1 << (i % 8)) != 0)
                    .count() as u64;
                self.at -= bits.len();
                self.copy(rows.div_ceil(8))?;
                set
            } else {
                rows
            };
            if let Col::Fixed(w) = col {
                self.copy(present.checked_mul(w as u64)?)?;
            } else if forward {
                // transformed when that is shorter, else as it is
                self.put(1)?;
                let (at, len) = (self.at, self.out.len());
                if self.there(col, present).is_none() || self.out.len() - len >= self.at - at {
                    self.at = at;
                    self.out.truncate(len - 1);
                    self.put(0)?;
                    self.raw(col, present)?;
                }
            } else {
                match self.varint()? {
                    0 => self.raw(col, present)?,
                    1 => self.back(col, present)?,
                    _ => return None,
                }
            }
        }
        (self.at == self.b.len()).then_some(())
    }

    /// Copies a column as it is (its varints checked minimal).
    fn raw(&mut self, col: Col, present: u64) -> Option<()> {
        for _ in 0..present {
            match col {
                Col::Varint => {
                    self.copy_varint()?;
                }
                Col::Bytes => {
                    let len = self.copy_varint()?;
                    self.copy(len)?;
                }
                Col::Fixed(w) => self.copy(w as u64)?,
            }
        }
        Some(())
    }

    /// A column's columnar form; `None` as soon as it is longer than the column (or the
    /// column does not parse).
    fn there(&mut self, col: Col, present: u64) -> Option<()> {
        let (at, len) = (self.at, self.out.len());
        let mut prev = 0u64;
        let mut prev_bytes: &[u8] = &[];
        for _ in 0..present {
            match col {
                Col::Varint => {
                    let v = self.varint()?;
                    self.put(zigzag(v.wrapping_sub(prev)))?;
                    prev = v;
                }
                Col::Bytes => {
                    let n = self.varint()?;
                    let value = self.take(n)?;
                    let shared = value
                        .iter()
                        .zip(prev_bytes)
                        .take_while(|(x, y)| x == y)
                        .count();
                    self.put(shared as u64)?;
                    self.put((value.len() - shared) as u64)?;
                    self.room(value.len() - shared)?;
                    self.out.extend_from_slice(&value[shared..]);
                    prev_bytes = value;
                }
                Col::Fixed(_) => return None,
            }
            // a few bytes of slack: a byte-string column's first row costs one more
            if self.out.len() - len > self.at - at + 16 {
                return None;
            }
        }
        Some(())
    }

    /// A column back from its columnar form.
    fn back(&mut self, col: Col, present: u64) -> Option<()> {
        let mut prev = 0u64;
        // the previous value: its place in `out`
        let (mut ps, mut pl) = (0usize, 0usize);
        for _ in 0..present {
            match col {
                Col::Varint => {
                    prev = prev.wrapping_add(unzigzag(self.varint()?));
                    self.put(prev)?;
                }
                Col::Bytes => {
                    let shared = self.varint()?;
                    let rest = self.varint()?;
                    if shared > pl as u64 {
                        return None;
                    }
                    let len = shared.checked_add(rest)?;
                    self.put(len)?;
                    let start = self.out.len();
                    self.room(usize::try_from(len).ok()?)?;
                    self.out.extend_from_within(ps..ps + shared as usize);
                    self.copy(rest)?;
                    (ps, pl) = (start, len as usize);
                }
                Col::Fixed(_) => return None,
            }
        }
        Some(())
    }
}

/// Bytes a columnar form may hold beyond its payload's length: one mode byte per varint or
/// byte-string column (at most five).
pub(crate) const FLAGS: usize = 8;

/// The columnar form of a compact payload of `ty` (at most [`FLAGS`] bytes longer than
/// it), if it parses.
pub(crate) fn to_columns(ty: StateType, payload: &[u8]) -> Option<Vec<u8>> {
    let mut w = Walk {
        b: payload,
        at: 0,
        out: Vec::with_capacity(payload.len() + FLAGS),
        // room for a column's transform to run past its length before it is abandoned
        cap: payload.len() + FLAGS + 64,
    };
    w.run(ty, true)?;
    Some(w.out)
}

/// The compact payload of `ty` whose columnar form is `cols`, if it is at most `cap` bytes
/// (`None` for a columnar form that does not parse or goes past `cap`).
pub(crate) fn from_columns(ty: StateType, cols: &[u8], cap: usize) -> Option<Vec<u8>> {
    let mut w = Walk {
        b: cols,
        at: 0,
        out: Vec::with_capacity(cap.min(cols.len().saturating_mul(4))),
        cap,
    };
    w.run(ty, false)?;
    Some(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pluriverse_any::{AnyState, Scalar};

    /// Random bytes and mutations of real payloads, as payloads and as columnar forms:
    /// never a panic, never more than the cap, and whatever has a columnar form gets
    /// exactly itself back from it (the bijection the decoder's fixed point rests on).
    #[test]
    fn hostile_bytes_are_bounded_and_forms_invert_exactly() {
        let mut rng = pluriverse_testkit::SplitMix64(3);
        for ty in StateType::all() {
            let mut s = AnyState::new(ty, "a");
            for k in 0..40u64 {
                let key = match ty.key {
                    KeyType::Utf8 => Scalar::Utf8(format!("key-{k:04}")),
                    KeyType::Binary => Scalar::Binary(vec![1, k as u8]),
                    KeyType::Int64 => Scalar::Int64(k as i64 - 20),
                    KeyType::UInt64 => Scalar::UInt64(k),
                };
                let v = match ty.value {
                    Some(ValueType::Utf8) => Scalar::Utf8(format!("v{k}")),
                    Some(ValueType::Binary) => Scalar::Binary(vec![k as u8]),
                    Some(ValueType::Int64) => Scalar::Int64(k as i64),
                    Some(ValueType::Float64) => Scalar::Float64(k as f64),
                    Some(ValueType::Bool) => Scalar::Bool(k % 3 == 0),
                    None => Scalar::Int64(0),
                };
                match ty.kind {
                    Kind::MVMap => s.set(key, v),
                    Kind::AWSet => s.add(key),
                    Kind::PNCounterMap => s.increment(key, k + 1),
                    Kind::LWWMap if k % 4 == 0 => s.remove_at(key, k + 1),
                    Kind::LWWMap => s.set_at(key, v, k + 1),
                }
                .unwrap();
            }
            let payload = s.to_compact();
            let cols = to_columns(ty, &payload).expect("a real payload has a columnar form");
            assert!(cols.len() <= payload.len() + FLAGS);
            assert_eq!(from_columns(ty, &cols, payload.len()).unwrap(), payload);
            assert!(from_columns(ty, &cols, payload.len() - 1).is_none());
            for _ in 0..200 {
                let mut m = if rng.next_u64().is_multiple_of(2) {
                    payload.clone()
                } else {
                    cols.clone()
                };
                for _ in 0..1 + rng.next_u64() % 3 {
                    let i = (rng.next_u64() as usize) % m.len();
                    m[i] = rng.next_u64() as u8;
                }
                m.truncate(m.len() - (rng.next_u64() as usize) % 3);
                let cap = (rng.next_u64() as usize) % (2 * payload.len());
                if let Some(back) = from_columns(ty, &m, cap) {
                    assert!(back.len() <= cap);
                }
                if let Some(c) = to_columns(ty, &m) {
                    assert!(c.len() <= m.len() + FLAGS);
                    assert_eq!(from_columns(ty, &c, m.len()).as_deref(), Some(&m[..]));
                }
            }
        }
    }
}
