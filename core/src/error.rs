//! The error type of the core crate: what went wrong, with the context to act on it.

use std::fmt;

use pluriverse_kernels::KernelError;

/// Why an operation of the core crate failed. The target state is unchanged whenever one of
/// these is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A replica's next counter would exceed `u64::MAX`: it must rejoin under a new name.
    CounterOverflow {
        /// The replica, as its name renders.
        replica: String,
    },
    /// A counter value (for example a PN-counter total) would exceed its type.
    ValueOverflow {
        /// What overflowed.
        what: &'static str,
    },
    /// A batch mutator was given columns of different lengths.
    LengthMismatch {
        /// Which column disagrees.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// A kernel refused its arguments.
    Kernel(KernelError),
    /// Bytes could not be decoded into a state or delta.
    Decode(crate::wire::DecodeError),
    /// An Arrow column given to a batch mutator has the wrong type or holds nulls.
    ArrowColumn {
        /// Which argument.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// Arrow refused to build the output (a bug, never an input problem).
    Encode(String),
    /// A join met one dot bound to two contents (another key or value on each side): a
    /// replica equivocated or the bytes were forged. Refused by
    /// [`crate::CausalStore::try_join`].
    Equivocation {
        /// The dot's replica, as its name renders.
        replica: String,
        /// The dot's counter.
        counter: u64,
    },
    /// The other side claims to have seen dots of the joining replica itself beyond the
    /// highest it issued: a forgery, or this state is a rollback. Refused by
    /// [`crate::CausalStore::join_checked`].
    ForeignClaim {
        /// The joining replica, as its name renders.
        replica: String,
        /// The highest counter of it claimed.
        counter: u64,
        /// The highest counter of it this state knows it issued.
        issued: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CounterOverflow { replica } => write!(
                f,
                "counter of replica {replica} would overflow u64; rejoin under a new replica name"
            ),
            Self::ValueOverflow { what } => write!(f, "{what} would overflow u64"),
            Self::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "column `{what}` has {actual} rows, expected {expected}"),
            Self::Kernel(e) => write!(f, "{e}"),
            Self::Decode(e) => write!(f, "{e}"),
            Self::ArrowColumn { what, problem } => write!(f, "Arrow column `{what}`: {problem}"),
            Self::Encode(e) => write!(f, "could not encode to Arrow: {e}"),
            Self::Equivocation { replica, counter } => write!(
                f,
                "dot ({replica}, {counter}) is bound to two different contents: a replica \
                 equivocated or the input is forged; nothing was joined"
            ),
            Self::ForeignClaim {
                replica,
                counter,
                issued,
            } => write!(
                f,
                "the input claims replica {replica}'s counter {counter}, but it has issued only \
                 {issued}: a forgery, or this state is a rollback; nothing was joined"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Kernel(e) => Some(e),
            Self::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::wire::DecodeError> for Error {
    fn from(e: crate::wire::DecodeError) -> Self {
        Self::Decode(e)
    }
}

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Self {
        Self::Kernel(e)
    }
}

/// Result alias for the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
