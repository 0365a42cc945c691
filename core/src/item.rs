//! Key and value types, and the columns that hold them.
//!
//! Keys may be `u64`, `i64`, `String` (Arrow utf8) or `Vec<u8>` (Arrow binary); values of
//! `MVMap` and `LWWMap` may also be `f64` or `bool`. Fixed-width items live in a plain
//! `Vec`; strings and bytes live in one buffer with offsets (the Arrow layout), so a column
//! of a million short strings is two allocations, not a million. A join builds its output
//! columns with [`ItemCol::interleave`], the [`crate::kernels::interleave`] kernel: one
//! column from two by a list of picks.

use std::cmp::Ordering;
use std::fmt::Debug;

use pluriverse_kernels::interleave::{
    interleave_in_place, interleave_into, interleave_var_in_place, interleave_var_into, AnyPick,
    CheckedPlan, Part, VarSlice,
};
use xxhash_rust::xxh3::xxh3_64;

/// Hints the CPU to load the cache line at `p` (a read soon): a no-op off x86-64. Never
/// dereferences `p`, so any address is fine.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never dereferences its
    // address (it cannot fault, whatever `p` is).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A key or value type the record kinds can hold.
pub trait Item: Clone + Debug + PartialEq + Send + Sync + 'static {
    /// The column type holding many of these.
    type Col: ItemCol<Self>;

    /// A total order (for `f64`: IEEE total order, so NaN has a place).
    fn total_cmp(&self, other: &Self) -> Ordering;

    /// A placeholder value (0, empty, false), stored where a row has no value (an
    /// `LWWMap` tombstone).
    fn zero() -> Self;

    /// Appends the canonical little-endian bytes of the item (for hashing and digests).
    fn write_bytes(&self, out: &mut Vec<u8>);

    /// The type's name in digests: `uint64`, `int64`, `float64`, `bool`, `utf8`, `binary`,
    /// `unit`, and `(a,b)` for pairs (the wire format's type names).
    fn type_name() -> String;

    /// Hints the CPU to load what the item points to (a string's bytes); nothing for
    /// fixed-width items. For gathers in a random order, ahead of the read.
    #[inline]
    fn prefetch_heap(&self) {}

    /// 64-bit hash of the canonical bytes: the partition and sort prefix of keys.
    fn hash64(&self) -> u64 {
        let mut b = Vec::with_capacity(16);
        self.write_bytes(&mut b);
        xxh3_64(&b)
    }
}

/// A column of items.
pub trait ItemCol<T: Item>: Clone + Default + Debug + Send + Sync {
    /// Number of items.
    fn len(&self) -> usize;
    /// Whether empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends an item.
    fn push(&mut self, v: &T);
    /// Appends item `i` of `src`.
    fn push_from(&mut self, src: &Self, i: usize);
    /// Item `i`, owned.
    fn get(&self, i: usize) -> T;
    /// Compares item `i` with item `j` of `other`.
    fn cmp_at(&self, i: usize, other: &Self, j: usize) -> Ordering;
    /// Compares item `i` with `v`.
    fn cmp_item(&self, i: usize, v: &T) -> Ordering;
    /// Appends the canonical bytes of item `i`.
    fn write_at(&self, i: usize, out: &mut Vec<u8>);
    /// [`Item::hash64`] of item `i`, without building the item.
    fn hash_at(&self, i: usize) -> u64 {
        let mut b = Vec::with_capacity(16);
        self.write_at(i, &mut b);
        xxh3_64(&b)
    }
    /// Hints the CPU to load item `i`'s first cache line (for a variable-length column: its
    /// offset), ahead of a read in a random order. A hint: any `i` is fine.
    #[inline]
    fn prefetch(&self, _i: usize) {}
    /// Hints the CPU to load item `i`'s bytes (variable-length columns; reads the offset,
    /// so call it after [`ItemCol::prefetch`] of `i` had time to land). Any `i` is fine.
    #[inline]
    fn prefetch_data(&self, _i: usize) {}
    /// Heap bytes held.
    fn heap_bytes(&self) -> usize;
    /// Reserves room for `n` more items.
    fn reserve(&mut self, n: usize);
    /// Inserts item `i` of `src` at position `at` (`at <= len`), shifting later items.
    fn insert_from(&mut self, at: usize, src: &Self, i: usize);
    /// Appends items `range` of `src`.
    fn extend_range(&mut self, src: &Self, range: std::ops::Range<usize>);
    /// The items the plans name, in order (the plans one after the other): a pick
    /// ([`pluriverse_kernels::interleave::Pick`] or `Pick32`) of the left side is an item of `a`, of the right side an item of `b`. The
    /// [`pluriverse_kernels::interleave`] kernel.
    ///
    /// # Panics
    /// If a pick names an item its column does not have (the store's join plans name
    /// only rows of the two runs they merge).
    fn interleave<Q: AnyPick>(a: &Self, b: &Self, plans: &[Part<Q>]) -> Self;
    /// [`ItemCol::interleave`] of `self` (the left side) with `b`, written into `self`'s
    /// own buffers where the layout allows (fixed-width items through the
    /// [`pluriverse_kernels::interleave::interleave_in_place`] kernel, byte items through
    /// [`pluriverse_kernels::interleave::interleave_var_in_place`]), else built anew.
    ///
    /// # Panics
    /// If `plan` was checked for columns of other lengths than `self` and `b`.
    fn interleave_in_place<Q: AnyPick>(&mut self, b: &Self, plan: &CheckedPlan<'_, Part<Q>, Q>) {
        *self = Self::interleave(self, b, plan.parts());
    }
}

/// The panic of an [`ItemCol::interleave`] whose plan names an item its column lacks.
#[cold]
fn bad_plan(e: pluriverse_kernels::KernelError) -> ! {
    panic!("an interleave plan names only items of its two columns: {e}")
}

/// Picks in all the parts of a plan: the length of its output.
pub(crate) fn plan_len<Q>(plans: &[Part<Q>]) -> usize {
    plans.iter().map(|p| p.picks.len()).sum()
}

/// [`ItemCol::interleave`] over plain slices.
pub(crate) fn interleave_col<T: Copy, Q: AnyPick>(a: &[T], b: &[T], plans: &[Part<Q>]) -> Vec<T> {
    let mut out = pluriverse_kernels::pages::with_capacity(plan_len(plans));
    for part in plans {
        // a part's picks count from its bases: the inputs from there on (a base past the
        // end leaves an empty side, whose picks the kernel refuses)
        let (a, b) = (
            a.get(part.left..).unwrap_or(&[]),
            b.get(part.right..).unwrap_or(&[]),
        );
        interleave_into(a, b, &part.picks, &mut out).unwrap_or_else(|e| bad_plan(e));
    }
    out
}

macro_rules! fixed_item {
    ($t:ty, $name:literal, $zero:expr, $cmp:expr, $bytes:expr) => {
        impl Item for $t {
            type Col = Vec<$t>;
            fn type_name() -> String {
                $name.into()
            }
            fn zero() -> Self {
                $zero
            }
            #[inline]
            fn total_cmp(&self, other: &Self) -> Ordering {
                let f: fn(&$t, &$t) -> Ordering = $cmp;
                f(self, other)
            }
            #[inline]
            fn write_bytes(&self, out: &mut Vec<u8>) {
                let f: fn(&$t) -> [u8; std::mem::size_of::<$t>()] = $bytes;
                out.extend_from_slice(&f(self));
            }
            #[inline]
            fn hash64(&self) -> u64 {
                let f: fn(&$t) -> [u8; std::mem::size_of::<$t>()] = $bytes;
                xxh3_64(&f(self))
            }
        }

        impl ItemCol<$t> for Vec<$t> {
            #[inline]
            fn len(&self) -> usize {
                Vec::len(self)
            }
            #[inline]
            fn push(&mut self, v: &$t) {
                Vec::push(self, *v);
            }
            #[inline]
            fn push_from(&mut self, src: &Self, i: usize) {
                Vec::push(self, src[i]);
            }
            #[inline]
            fn get(&self, i: usize) -> $t {
                self[i]
            }
            #[inline]
            fn cmp_at(&self, i: usize, other: &Self, j: usize) -> Ordering {
                self[i].total_cmp(&other[j])
            }
            #[inline]
            fn cmp_item(&self, i: usize, v: &$t) -> Ordering {
                self[i].total_cmp(v)
            }
            #[inline]
            fn write_at(&self, i: usize, out: &mut Vec<u8>) {
                self[i].write_bytes(out);
            }
            #[inline]
            fn hash_at(&self, i: usize) -> u64 {
                self[i].hash64()
            }
            #[inline]
            fn prefetch(&self, i: usize) {
                prefetch(self.as_ptr().wrapping_add(i));
            }
            fn heap_bytes(&self) -> usize {
                self.capacity() * std::mem::size_of::<$t>()
            }
            fn reserve(&mut self, n: usize) {
                Vec::reserve(self, n);
                // large fresh room faults in by huge pages where the kernel allows
                pluriverse_kernels::pages::advise(self);
            }
            #[inline]
            fn insert_from(&mut self, at: usize, src: &Self, i: usize) {
                Vec::insert(self, at, src[i]);
            }
            #[inline]
            fn extend_range(&mut self, src: &Self, range: std::ops::Range<usize>) {
                self.extend_from_slice(&src[range]);
            }
            fn interleave<Q: AnyPick>(a: &Self, b: &Self, plans: &[Part<Q>]) -> Self {
                interleave_col(a, b, plans)
            }
            fn interleave_in_place<Q: AnyPick>(
                &mut self,
                b: &Self,
                plan: &CheckedPlan<'_, Part<Q>, Q>,
            ) {
                interleave_in_place(self, b, plan).unwrap_or_else(|e| bad_plan(e));
            }
        }
    };
}

fixed_item!(u64, "uint64", 0, |a, b| a.cmp(b), |v| v.to_le_bytes());
fixed_item!(i64, "int64", 0, |a, b| a.cmp(b), |v| v.to_le_bytes());
fixed_item!(f64, "float64", 0.0, |a, b| a.total_cmp(b), |v| v
    .to_bits()
    .to_le_bytes());
fixed_item!(bool, "bool", false, |a, b| a.cmp(b), |v| [u8::from(*v)]);

/// Variable-length items (strings, byte strings) in the Arrow layout: one byte buffer and
/// `len + 1` offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarCol {
    offsets: Vec<u64>,
    data: Vec<u8>,
}

impl Default for VarCol {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
        }
    }
}

impl VarCol {
    /// Item `i` as bytes.
    #[inline]
    pub fn bytes_at(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Appends an item given as bytes (for `String` columns the caller guarantees UTF-8).
    #[inline]
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.data.extend_from_slice(b);
        self.offsets.push(self.data.len() as u64);
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Inserts `b` as item `at` (`at <= len`), shifting later items.
    fn insert_bytes(&mut self, at: usize, b: &[u8]) {
        let start = self.offsets[at];
        let pos = start as usize;
        self.data.splice(pos..pos, b.iter().copied());
        let n = b.len() as u64;
        for o in &mut self.offsets[at + 1..] {
            *o += n;
        }
        self.offsets.insert(at + 1, start + n);
    }

    /// Appends items `range` of `src`.
    fn extend_bytes_range(&mut self, src: &Self, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let (lo, hi) = (src.offsets[range.start], src.offsets[range.end]);
        let base = self.data.len() as u64;
        self.data
            .extend_from_slice(&src.data[lo as usize..hi as usize]);
        self.offsets.extend(
            src.offsets[range.start + 1..=range.end]
                .iter()
                .map(|o| o - lo + base),
        );
    }

    /// The column as the kernels' view of the Arrow layout.
    fn as_var_slice(&self) -> VarSlice<'_> {
        VarSlice {
            offsets: &self.offsets,
            values: &self.data,
        }
    }

    /// [`ItemCol::interleave`] for byte items: offsets first, then the bytes.
    fn interleave_bytes<Q: AnyPick>(a: &Self, b: &Self, plans: &[Part<Q>]) -> Self {
        let mut offsets = pluriverse_kernels::pages::with_capacity(plan_len(plans) + 1);
        offsets.push(0u64);
        let mut data = Vec::new();
        for part in plans {
            interleave_var_into(
                a.as_var_slice().from_item(part.left),
                b.as_var_slice().from_item(part.right),
                &part.picks,
                &mut offsets,
                &mut data,
            )
            .unwrap_or_else(|e| bad_plan(e));
        }
        Self { offsets, data }
    }

    /// Appends the items of an Arrow offsets buffer (`offsets`, ascending, within `values`,
    /// as Arrow validated them) over `values`: the bytes they span copied once, the offsets
    /// rebased.
    ///
    /// # Panics
    /// If an offset is negative or beyond `values` (an Arrow array's are not).
    pub fn extend_offsets(&mut self, offsets: &[i32], values: &[u8]) {
        let (Some(&lo), Some(&hi)) = (offsets.first(), offsets.last()) else {
            return;
        };
        let base = self.data.len() as u64;
        self.data
            .extend_from_slice(&values[lo as usize..hi as usize]);
        self.offsets
            .extend(offsets[1..].iter().map(|&o| (o - lo) as u64 + base));
    }

    /// Reserves room for `items` more items of `bytes` bytes in all.
    pub fn reserve_bytes(&mut self, items: usize, bytes: usize) {
        self.offsets.reserve(items);
        self.data.reserve(bytes);
    }
}

macro_rules! var_item {
    ($t:ty, $name:literal, $as_bytes:expr, $from_bytes:expr) => {
        impl Item for $t {
            type Col = VarCol;
            fn type_name() -> String {
                $name.into()
            }
            fn zero() -> Self {
                Self::new()
            }
            #[inline]
            fn total_cmp(&self, other: &Self) -> Ordering {
                let f: fn(&$t) -> &[u8] = $as_bytes;
                f(self).cmp(f(other))
            }
            #[inline]
            fn write_bytes(&self, out: &mut Vec<u8>) {
                let f: fn(&$t) -> &[u8] = $as_bytes;
                out.extend_from_slice(f(self));
            }
            #[inline]
            fn hash64(&self) -> u64 {
                let f: fn(&$t) -> &[u8] = $as_bytes;
                xxh3_64(f(self))
            }
            #[inline]
            fn prefetch_heap(&self) {
                let f: fn(&$t) -> &[u8] = $as_bytes;
                prefetch(f(self).as_ptr());
            }
        }

        impl ItemCol<$t> for VarCol {
            #[inline]
            fn len(&self) -> usize {
                VarCol::len(self)
            }
            #[inline]
            fn push(&mut self, v: &$t) {
                let f: fn(&$t) -> &[u8] = $as_bytes;
                self.push_bytes(f(v));
            }
            #[inline]
            fn push_from(&mut self, src: &Self, i: usize) {
                self.push_bytes(src.bytes_at(i));
            }
            fn get(&self, i: usize) -> $t {
                let f: fn(&[u8]) -> $t = $from_bytes;
                f(self.bytes_at(i))
            }
            #[inline]
            fn cmp_at(&self, i: usize, other: &Self, j: usize) -> Ordering {
                self.bytes_at(i).cmp(other.bytes_at(j))
            }
            #[inline]
            fn cmp_item(&self, i: usize, v: &$t) -> Ordering {
                let f: fn(&$t) -> &[u8] = $as_bytes;
                self.bytes_at(i).cmp(f(v))
            }
            #[inline]
            fn write_at(&self, i: usize, out: &mut Vec<u8>) {
                out.extend_from_slice(self.bytes_at(i));
            }
            #[inline]
            fn hash_at(&self, i: usize) -> u64 {
                xxh3_64(self.bytes_at(i))
            }
            #[inline]
            fn prefetch(&self, i: usize) {
                prefetch(self.offsets.as_ptr().wrapping_add(i));
            }
            #[inline]
            fn prefetch_data(&self, i: usize) {
                if let Some(&o) = self.offsets.as_slice().get(i) {
                    prefetch(self.data.as_ptr().wrapping_add(o as usize));
                }
            }
            fn heap_bytes(&self) -> usize {
                self.offsets.capacity() * 8 + self.data.capacity()
            }
            fn reserve(&mut self, n: usize) {
                self.offsets.reserve(n);
                pluriverse_kernels::pages::advise(&mut self.offsets);
            }
            fn insert_from(&mut self, at: usize, src: &Self, i: usize) {
                self.insert_bytes(at, src.bytes_at(i));
            }
            fn extend_range(&mut self, src: &Self, range: std::ops::Range<usize>) {
                self.extend_bytes_range(src, range);
            }
            fn interleave<Q: AnyPick>(a: &Self, b: &Self, plans: &[Part<Q>]) -> Self {
                VarCol::interleave_bytes(a, b, plans)
            }
            fn interleave_in_place<Q: AnyPick>(
                &mut self,
                b: &Self,
                plan: &CheckedPlan<'_, Part<Q>, Q>,
            ) {
                interleave_var_in_place(&mut self.offsets, &mut self.data, b.as_var_slice(), plan)
                    .unwrap_or_else(|e| bad_plan(e));
            }
        }
    };
}

// Strings are pushed only from `String`s, so the bytes are valid UTF-8; decoding is lossy
// only to stay total on data that was validated on import.
var_item!(String, "utf8", |s| s.as_bytes(), |b| {
    String::from_utf8_lossy(b).into_owned()
});
var_item!(Vec<u8>, "binary", |v| v.as_slice(), |b| b.to_vec());

/// The unit value: `AWSet` entries carry no value.
impl Item for () {
    type Col = UnitCol;
    fn type_name() -> String {
        "unit".into()
    }
    fn zero() -> Self {}
    fn total_cmp(&self, _: &Self) -> Ordering {
        Ordering::Equal
    }
    fn write_bytes(&self, _: &mut Vec<u8>) {}
}

/// A column of `()`: just a length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitCol(usize);

impl ItemCol<()> for UnitCol {
    fn len(&self) -> usize {
        self.0
    }
    fn push(&mut self, _: &()) {
        self.0 += 1;
    }
    fn push_from(&mut self, _: &Self, _: usize) {
        self.0 += 1;
    }
    fn get(&self, _: usize) {}
    fn cmp_at(&self, _: usize, _: &Self, _: usize) -> Ordering {
        Ordering::Equal
    }
    fn cmp_item(&self, _: usize, _: &()) -> Ordering {
        Ordering::Equal
    }
    fn write_at(&self, _: usize, _: &mut Vec<u8>) {}
    fn heap_bytes(&self) -> usize {
        0
    }
    fn reserve(&mut self, _: usize) {}
    fn insert_from(&mut self, _: usize, _: &Self, _: usize) {
        self.0 += 1;
    }
    fn extend_range(&mut self, _: &Self, range: std::ops::Range<usize>) {
        self.0 += range.len();
    }
    fn interleave<Q: AnyPick>(_: &Self, _: &Self, plans: &[Part<Q>]) -> Self {
        // a unit item is nothing to read: the column is its length
        UnitCol(plan_len(plans))
    }
}

/// Pairs of items, column by column: `PNCounterMap` cells are `(increments, decrements)`
/// and `LWWMap` cells `(timestamp, (tombstone, value))`.
impl<A: Item, B: Item> Item for (A, B) {
    type Col = (A::Col, B::Col);
    fn type_name() -> String {
        format!("({},{})", A::type_name(), B::type_name())
    }
    fn zero() -> Self {
        (A::zero(), B::zero())
    }
    fn total_cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| self.1.total_cmp(&other.1))
    }
    fn write_bytes(&self, out: &mut Vec<u8>) {
        self.0.write_bytes(out);
        self.1.write_bytes(out);
    }
}

impl<A: Item, B: Item> ItemCol<(A, B)> for (A::Col, B::Col) {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn push(&mut self, v: &(A, B)) {
        self.0.push(&v.0);
        self.1.push(&v.1);
    }
    fn push_from(&mut self, src: &Self, i: usize) {
        self.0.push_from(&src.0, i);
        self.1.push_from(&src.1, i);
    }
    fn get(&self, i: usize) -> (A, B) {
        (self.0.get(i), self.1.get(i))
    }
    fn cmp_at(&self, i: usize, other: &Self, j: usize) -> Ordering {
        self.0
            .cmp_at(i, &other.0, j)
            .then_with(|| self.1.cmp_at(i, &other.1, j))
    }
    fn cmp_item(&self, i: usize, v: &(A, B)) -> Ordering {
        self.0
            .cmp_item(i, &v.0)
            .then_with(|| self.1.cmp_item(i, &v.1))
    }
    fn write_at(&self, i: usize, out: &mut Vec<u8>) {
        self.0.write_at(i, out);
        self.1.write_at(i, out);
    }
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
    fn reserve(&mut self, n: usize) {
        self.0.reserve(n);
        self.1.reserve(n);
    }
    fn insert_from(&mut self, at: usize, src: &Self, i: usize) {
        self.0.insert_from(at, &src.0, i);
        self.1.insert_from(at, &src.1, i);
    }
    fn extend_range(&mut self, src: &Self, range: std::ops::Range<usize>) {
        self.0.extend_range(&src.0, range.clone());
        self.1.extend_range(&src.1, range);
    }
    fn interleave<Q: AnyPick>(a: &Self, b: &Self, plans: &[Part<Q>]) -> Self {
        (
            A::Col::interleave(&a.0, &b.0, plans),
            B::Col::interleave(&a.1, &b.1, plans),
        )
    }
    fn interleave_in_place<Q: AnyPick>(&mut self, b: &Self, plan: &CheckedPlan<'_, Part<Q>, Q>) {
        self.0.interleave_in_place(&b.0, plan);
        self.1.interleave_in_place(&b.1, plan);
    }
}
