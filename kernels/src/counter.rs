//! The counter element types of version-vector matrices: `u64` (the model's counters) and
//! `u32` (compact matrices where counters are known to stay small).

use crate::isa::Isa;
use crate::vv::KernelSet;

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// An unsigned counter type the kernels are implemented for (`u32`, `u64`). Sealed.
pub trait Counter:
    sealed::Sealed + Copy + Ord + Default + Send + Sync + std::fmt::Debug + 'static
{
    /// The largest counter; the identity of `min`.
    const MAX: Self;
    /// Counter zero: "no event seen"; the identity of `max`.
    const ZERO: Self;

    /// The implementation family `isa` compiled for this type, if this build has one.
    /// Availability on the running CPU is checked by [`KernelSet::for_isa`].
    #[doc(hidden)]
    fn compiled_kernels(isa: Isa) -> Option<&'static KernelSet<Self>>;
}

macro_rules! impl_counter {
    ($t:ty, $set:ident) => {
        impl Counter for $t {
            const MAX: Self = <$t>::MAX;
            const ZERO: Self = 0;

            fn compiled_kernels(isa: Isa) -> Option<&'static KernelSet<Self>> {
                match isa {
                    Isa::Portable => Some(&crate::arch::portable::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Sse2 => Some(&crate::arch::x86_64::sse2::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => Some(&crate::arch::x86_64::avx2::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => Some(&crate::arch::x86_64::avx512::$set),
                    #[cfg(not(target_arch = "x86_64"))]
                    _ => None,
                }
            }
        }
    };
}

impl_counter!(u64, U64);
impl_counter!(u32, U32);
