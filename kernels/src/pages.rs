//! Large fresh buffers backed by transparent huge pages where the kernel allows.
//!
//! A join writes its output into freshly allocated columns, and on a virtual machine the
//! first touch of each 4 KiB page costs more than the bytes written into it (measured on
//! an Intel Xeon under KVM: a `memcpy` of 90 MB into fresh pages took 46.5 ms, into reused
//! ones 14.4 ms, into fresh pages advised `MADV_HUGEPAGE` 24.2 ms). [`with_capacity`]
//! allocates as `Vec::with_capacity` does and, for buffers of at least [`HUGE_MIN_BYTES`],
//! asks the kernel (Linux `madvise(MADV_HUGEPAGE)`) to back the 2 MiB-aligned part of the
//! allocation with huge pages, so that it faults in 2 MiB at a time.
//!
//! Advice only: nothing changes what the buffer holds or how it is freed, and where the
//! kernel refuses (transparent huge pages `never`, another OS) the buffer is an ordinary
//! one. [`set_enabled`] turns the advice off process-wide (the benches measure both).
//!
//! # Example
//! ```
//! use pluriverse_kernels::pages;
//! let mut v: Vec<u64> = pages::with_capacity(1 << 20);
//! v.extend(0..1u64 << 20);
//! assert_eq!(v.len(), 1 << 20);
//! assert!(v.capacity() >= 1 << 20);
//! assert_eq!(v[12345], 12345);
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

/// Buffers of at least this many bytes are advised (smaller ones hold no whole huge page
/// worth the advice).
pub const HUGE_MIN_BYTES: usize = 4 << 20;

/// The huge page size the advice aligns to (x86-64 and most aarch64 kernels).
const HUGE_PAGE: usize = 2 << 20;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the huge-page advice of [`with_capacity`] and [`advise`] on or off for the whole
/// process (on by default). For measurements: the result of any computation is the same.
///
/// # Example
/// ```
/// use pluriverse_kernels::pages;
/// pages::set_enabled(false);
/// assert!(!pages::enabled());
/// pages::set_enabled(true);
/// assert!(pages::enabled());
/// ```
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the huge-page advice is on (see [`set_enabled`]).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// `Vec::with_capacity(n)`, advised to huge pages (see [`advise`]) when it spans at least
/// [`HUGE_MIN_BYTES`].
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise(&mut v);
    v
}

/// The 2 MiB-aligned range inside `[start, start + len)`, as `(start, len)`; `None` when it
/// holds no whole huge page.
fn aligned_interior(start: usize, len: usize) -> Option<(usize, usize)> {
    let lo = start.checked_add(HUGE_PAGE - 1)? & !(HUGE_PAGE - 1);
    let hi = start.checked_add(len)? & !(HUGE_PAGE - 1);
    (hi > lo).then(|| (lo, hi - lo))
}

/// Advises the spare capacity of `v` (the part not yet written: its pages are not faulted
/// in) to huge pages, when it spans at least [`HUGE_MIN_BYTES`] and the advice is
/// [`enabled`]. Returns whether the kernel accepted the advice (always `false` off Linux).
///
/// # Example
/// ```
/// use pluriverse_kernels::pages;
/// let mut small: Vec<u8> = Vec::with_capacity(100);
/// assert!(!pages::advise(&mut small)); // too small to hold a huge page
/// ```
pub fn advise<T>(v: &mut Vec<T>) -> bool {
    let size = std::mem::size_of::<T>();
    let spare = (v.capacity() - v.len()).saturating_mul(size);
    if size == 0 || spare < HUGE_MIN_BYTES || !enabled() {
        return false;
    }
    let start = v.as_mut_ptr().wrapping_add(v.len()) as usize;
    match aligned_interior(start, spare) {
        Some((lo, len)) => madvise_huge(lo, len),
        None => false,
    }
}

#[cfg(target_os = "linux")]
fn madvise_huge(addr: usize, len: usize) -> bool {
    // SAFETY: `[addr, addr + len)` lies inside the spare capacity of a live `Vec`
    // allocation (an anonymous mapping of this process); MADV_HUGEPAGE changes only how the
    // kernel backs those pages, never their contents or the mapping itself.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_HUGEPAGE) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn madvise_huge(_addr: usize, _len: usize) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interior_is_aligned_and_inside() {
        let m = HUGE_PAGE;
        assert_eq!(aligned_interior(0, m), Some((0, m)));
        assert_eq!(aligned_interior(1, m), None);
        assert_eq!(aligned_interior(16, 3 * m), Some((m, 2 * m)));
        assert_eq!(aligned_interior(m - 1, m + 1), Some((m, m)));
        assert_eq!(aligned_interior(usize::MAX - 10, 5), None);
        // brute force over small offsets: the range is aligned, inside, and maximal
        for start in (0..4 * m).step_by(4096 * 37) {
            for len in [0, m / 2, m, m + 4096, 3 * m + 17] {
                match aligned_interior(start, len) {
                    Some((lo, l)) => {
                        assert!(lo % m == 0 && l % m == 0 && l > 0);
                        assert!(lo >= start && lo + l <= start + len);
                        assert!(lo - start < m && start + len - (lo + l) < m);
                    }
                    None => assert!(start.div_ceil(m) * m + m > start + len),
                }
            }
        }
    }

    #[test]
    fn advised_buffers_hold_what_is_written() {
        let mut v: Vec<u64> = with_capacity(3 << 20);
        assert!(v.capacity() >= 3 << 20);
        v.extend((0..3u64 << 20).map(|x| x.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        for (i, &x) in v.iter().enumerate().step_by(4099) {
            assert_eq!(x, (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        // advice on a full buffer (no spare capacity) is refused, not applied
        let mut full = vec![1u8; HUGE_MIN_BYTES];
        full.shrink_to_fit();
        assert!(!advise(&mut full));
        assert_eq!(
            full.iter().map(|&b| usize::from(b)).sum::<usize>(),
            HUGE_MIN_BYTES
        );
    }
}
