//! Batch kernels of pluriverse: the part that runs at the memory's speed.
//!
//! These kernels know nothing of keys, values or Arrow; they work on slices of counters and
//! on roaring bitmaps of dots. The `pluriverse` crate builds the CRDT model on them.
//!
//! | module | what it holds |
//! |---|---|
//! | [`vv`] | version-vector matrices (`N x R`, row-major): [`vv::merge`], [`vv::compare`], [`vv::merge_compare`], [`vv::dominated`], [`vv::column_min`], and [`vv::KernelSet`] to pin one implementation |
//! | [`dots`] | causal contexts (prefix + roaring dot cloud), dot sets, batch membership, the dot-store join |
//! | [`digest`] | order-independent 128-bit digests of row batches, per hash-prefix bucket too |
//! | [`interleave`] | one column from two by a list of [`interleave::Pick`]s (side, index): fixed-width slices and Arrow-layout bytes; the gather step of the engine's full join |
//! | [`pages`] | large fresh buffers advised to transparent huge pages (Linux `MADV_HUGEPAGE`): the join's output columns fault in 2 MiB at a time |
//! | [`Isa`] | the instruction-set families and run-time detection |
//!
//! Not everything here is on the engine's hot path. The CRDT joins of the `pluriverse`
//! crate plan over sorted columnar runs and use [`dots::DotContext`] for membership; they
//! do not call [`dots::DotSet::join`] or [`dots::survivors`] (the join rule written as
//! bitmap algebra, kept as a building block for callers that hold dot sets and as a
//! reference formula), nor the [`vv`] matrices (a user-facing batch API for stores that
//! keep one version vector per record).
//!
//! Building blocks the engine does not use (public for callers, each with its tests in
//! `tests/`, none on a path the engine's results depend on):
//! - dots: [`dots::DotSet`] with [`dots::DotSet::join`] and [`dots::survivors`] (and the
//!   [`dots::ReplicaDots::subtract_from`] they are built on), batch membership
//!   [`dots::DotContext::contains_batch`], [`dots::ReplicaDots::next_counter`] and
//!   [`dots::DotContext::version_vector`] (the engine keeps names beside the indices and
//!   derives both itself);
//! - digest: the engine adds row hashes it computed itself ([`digest::Digest::add_hash`],
//!   [`digest::bucket_digests`]); [`digest::hash_row`], [`digest::Digest::add_row`],
//!   [`digest::digest_hashes`], [`digest::digest_fixed_rows`] and
//!   [`digest::digest_var_rows`] digest rows held as bytes (the `demo` example uses one).
//!
//! # Instruction sets
//! Each version-vector kernel is written once over a small vector trait and instantiated
//! for: a portable scalar fallback (every target), SSE2, AVX2 and AVX-512F (x86-64); on
//! CPUs with AVX-512F, BW, VL and DQ, a further family (`avx512bw`) decides compare and
//! dominated for up to 64 rows at a time from mask registers. The widest family the CPU
//! supports is detected once and cached ([`Isa::best`]); a library built for baseline
//! x86-64 still runs AVX2/AVX-512 code. `PLURIVERSE_ISA=portable|sse2|avx2|avx512|avx512bw`
//! caps the choice at run time. Batches of more than [`vv::PAR_MIN_COUNTERS`] counters are
//! split over the rayon pool; results never depend on the family or the split.
//!
//! A table of kernels ([`vv::KernelSet`]) is obtained only through
//! [`vv::KernelSet::for_isa`], which returns `None` for a family the CPU lacks, through
//! [`vv::KernelSet::best`], or through the `unsafe` [`vv::KernelSet::for_isa_unchecked`]
//! whose caller vouches for the CPU; the dispatching functions cache the chosen table per
//! counter type.
//!
//! # Testing on a given CPU
//! The differential tests (`cargo test -p pluriverse-kernels`) run every family the CPU
//! has against a naive oracle and print which ones ran (`--nocapture` shows it). Set
//! `PLURIVERSE_EXPECT_ISA` to a comma-separated list of family names (`avx512bw`, `avx512`, `avx2`,
//! `sse2`, `portable`) to make them fail when a named family did not run, e.g.
//! `PLURIVERSE_EXPECT_ISA=avx512 cargo test -p pluriverse-kernels` on a machine that is
//! meant to cover AVX-512.
//!
//! # Example
//! ```
//! use pluriverse_kernels::vv;
//! // three records, version vectors over two replicas
//! let mut ours = vec![3u64, 1, 0, 2, 5, 5];
//! let theirs = vec![2u64, 4, 0, 2, 5, 5];
//! let mut order = vec![0u8; 3];
//! vv::merge_compare(&mut ours, &theirs, 2, &mut order).unwrap();
//! assert_eq!(order, [vv::CONCURRENT, vv::EQUAL, vv::EQUAL]);
//! assert_eq!(ours, [3, 4, 0, 2, 5, 5]);
//! ```

mod arch;
mod counter;
pub mod digest;
pub mod dots;
mod error;
pub mod interleave;
mod isa;
pub mod pages;
pub mod vv;

pub use counter::Counter;
pub use error::{KernelError, Result};
pub use isa::Isa;
