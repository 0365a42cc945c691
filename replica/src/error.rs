//! What can go wrong with a replica directory or a sync message.

use std::fmt;
use std::io;
use std::path::PathBuf;

use pluriverse_any::AnyError;

/// Errors of a durable replica and of the sync protocol. Every operation that fails leaves
/// the state and its files as they were (a failed write to the log poisons the handle: see
/// [`ReplicaError::Poisoned`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplicaError {
    /// A file operation failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (`"open"`, `"fdatasync"`, ...).
        op: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// Another process (or another handle in this one) has the directory open.
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// The directory is not a replica directory, or one of another format.
    NotAReplica {
        /// The directory.
        dir: PathBuf,
        /// What is missing or wrong.
        why: String,
    },
    /// `create` found a replica directory already there.
    AlreadyExists {
        /// The directory.
        dir: PathBuf,
    },
    /// A file of the directory is damaged: a log record in the middle of a log fails its
    /// checksum, or a snapshot does not decode. Nothing is skipped silently.
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damaged record (0 for a snapshot).
        offset: u64,
        /// What is wrong.
        why: String,
    },
    /// The state refused an operation (a decode error, a type mismatch, a wrong kind).
    State(AnyError),
    /// A delta claims dots of this replica's current incarnation that it never issued: a
    /// forgery, or a copy of this directory writing under the same incarnation.
    ForeignClaim {
        /// The incarnation the delta claims to be.
        replica: String,
        /// The highest counter the delta claims.
        claimed: u64,
        /// The highest counter this incarnation has issued.
        issued: u64,
    },
    /// An earlier write to the log failed after the state in memory had changed; the
    /// handle refuses everything until it is reopened (which replays what the log holds).
    Poisoned,
    /// A sync message that cannot be decoded: the peer is broken or hostile. It is dropped.
    Message(String),
    /// A configuration that cannot work (for example a message bound too small to hold the
    /// smallest chunk).
    Config(String),
}

impl fmt::Display for ReplicaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, op, source } => write!(f, "{op} {}: {source}", path.display()),
            Self::Locked { dir } => write!(
                f,
                "{} is open in another process (or handle): a replica directory has one writer",
                dir.display()
            ),
            Self::NotAReplica { dir, why } => {
                write!(f, "{} is not a replica directory: {why}", dir.display())
            }
            Self::AlreadyExists { dir } => {
                write!(f, "{} already holds a replica", dir.display())
            }
            Self::Corrupt { file, offset, why } => {
                write!(f, "{} is damaged at byte {offset}: {why}", file.display())
            }
            Self::State(e) => write!(f, "{e}"),
            Self::ForeignClaim {
                replica,
                claimed,
                issued,
            } => write!(
                f,
                "a delta claims {replica}:{claimed}, but this replica has issued only up to \
                 {replica}:{issued} (a forgery, or a copy of this replica writing as it)"
            ),
            Self::Poisoned => write!(
                f,
                "an earlier write to the log failed; reopen the replica to continue"
            ),
            Self::Message(why) => write!(f, "bad sync message: {why}"),
            Self::Config(why) => write!(f, "bad configuration: {why}"),
        }
    }
}

impl std::error::Error for ReplicaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::State(e) => Some(e),
            _ => None,
        }
    }
}

impl From<AnyError> for ReplicaError {
    fn from(e: AnyError) -> Self {
        Self::State(e)
    }
}

/// Results of this crate.
pub type Result<T, E = ReplicaError> = std::result::Result<T, E>;

/// An [`ReplicaError::Io`] for `path`.
pub(crate) fn io(
    path: impl Into<PathBuf>,
    op: &'static str,
) -> impl FnOnce(io::Error) -> ReplicaError {
    let path = path.into();
    move |source| ReplicaError::Io { path, op, source }
}
