//! x86-64 vector types: SSE2 (every x86-64 CPU), AVX2, AVX-512F and
//! AVX-512F+BW/VL/DQ (detected at run time).

pub(crate) mod avx2;
pub(crate) mod avx512;
pub(crate) mod avx512bw;
pub(crate) mod sse2;
