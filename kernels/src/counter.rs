//! The counter element types of version-vector matrices: `u64` (the model's counters) and
//! `u32` (compact matrices where counters are known to stay small).

use crate::isa::Isa;
use crate::vv::KernelSet;

pub(crate) mod sealed {
    use std::sync::OnceLock;

    use crate::isa::Isa;
    use crate::vv::KernelSet;

    /// A value only this crate can make (its field is private to this module). Methods
    /// of [`Sealed`] take one: a supertrait's methods are callable through a generic
    /// `T: Counter` bound even where the trait cannot be named, so the token is what keeps
    /// them crate-private.
    pub struct Token(());

    /// The one token.
    pub(crate) const TOKEN: Token = Token(());

    /// The crate-private half of [`Counter`](super::Counter): it cannot be named or
    /// implemented outside the crate, and its methods cannot be called there (no
    /// [`Token`]).
    pub trait Sealed: Sized + 'static {
        /// The table compiled for `isa` for this type, if this build has one, **without**
        /// checking that the CPU runs `isa`. Only [`KernelSet::for_isa`] (after checking)
        /// and [`KernelSet::for_isa_unchecked`] (under its caller's promise) call it.
        fn compiled_kernels(token: Token, isa: Isa) -> Option<&'static KernelSet<Self>>;

        /// Where [`KernelSet::best`] caches the table it chose for this type.
        fn best_slot(token: Token) -> &'static OnceLock<&'static KernelSet<Self>>;
    }
}

/// An unsigned counter type the kernels are implemented for (`u32`, `u64`). Sealed.
///
/// Safe code gets a kernel table only through [`KernelSet::for_isa`] (which checks the
/// CPU) or [`KernelSet::best`]; the unchecked table lookup is not reachable from outside
/// this crate, neither by naming the type nor through a generic bound:
///
/// ```compile_fail
/// use pluriverse_kernels::{vv::KernelSet, Counter, Isa};
/// // would hand out AVX-512 code on a CPU without AVX-512
/// fn sneak<T: Counter>() -> Option<&'static KernelSet<T>> {
///     T::compiled_kernels(Isa::Avx512)
/// }
/// ```
///
/// ```compile_fail
/// use pluriverse_kernels::{Counter, Isa};
/// let _k = <u64 as Counter>::compiled_kernels(Isa::Avx512);
/// ```
///
/// while the checked path, spelled the same way, compiles:
///
/// ```
/// use pluriverse_kernels::{vv::KernelSet, Counter, Isa};
/// fn checked<T: Counter>() -> Option<&'static KernelSet<T>> {
///     KernelSet::<T>::for_isa(Isa::Avx512)
/// }
/// assert_eq!(checked::<u64>().is_some(), Isa::Avx512.is_available());
/// ```
pub trait Counter:
    sealed::Sealed + Copy + Ord + Default + Send + Sync + std::fmt::Debug + 'static
{
    /// The largest counter; the identity of `min`.
    const MAX: Self;
    /// Counter zero: "no event seen"; the identity of `max`.
    const ZERO: Self;
}

macro_rules! impl_counter {
    ($t:ty, $set:ident) => {
        impl Counter for $t {
            const MAX: Self = <$t>::MAX;
            const ZERO: Self = 0;
        }

        impl sealed::Sealed for $t {
            fn compiled_kernels(_: sealed::Token, isa: Isa) -> Option<&'static KernelSet<Self>> {
                match isa {
                    Isa::Portable => Some(&crate::arch::portable::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Sse2 => Some(&crate::arch::x86_64::sse2::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => Some(&crate::arch::x86_64::avx2::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => Some(&crate::arch::x86_64::avx512::$set),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512Bw => Some(&crate::arch::x86_64::avx512bw::$set),
                    #[cfg(not(target_arch = "x86_64"))]
                    _ => None,
                }
            }

            fn best_slot(
                _: sealed::Token,
            ) -> &'static std::sync::OnceLock<&'static KernelSet<Self>> {
                static BEST: std::sync::OnceLock<&'static KernelSet<$t>> =
                    std::sync::OnceLock::new();
                &BEST
            }
        }
    };
}

impl_counter!(u64, U64);
impl_counter!(u32, U32);
