//! What can go wrong starting or running a node.

use std::fmt;
use std::io;
use std::path::PathBuf;

use pluriverse_replica::ReplicaError;

/// Errors of a node: its files, its configuration, its sockets.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeError {
    /// A file operation on the node's directory failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The replica refused (locked, damaged, not a replica, ...).
    Replica(ReplicaError),
    /// The identity key file is missing, of the wrong size or not hex, or readable by others.
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A peer given on the command line or in the peers file that cannot be parsed.
    Peer {
        /// Where it was given (`--peer`, or `FILE:LINE`).
        origin: String,
        /// What is wrong.
        why: String,
    },
    /// A configuration that cannot work (a public HTTP address without a token, ...).
    Config(String),
    /// A socket could not be bound.
    Bind {
        /// What was being bound (`QUIC`, `HTTP`).
        what: &'static str,
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// TLS or QUIC could not be set up (certificate generation, cipher suites).
    Tls(String),
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, op, source } => write!(f, "{op} {}: {source}", path.display()),
            Self::Replica(e) => write!(f, "{e}"),
            Self::Key { path, why } => write!(f, "identity key {}: {why}", path.display()),
            Self::Peer { origin, why } => write!(f, "peer ({origin}): {why}"),
            Self::Config(why) => write!(f, "bad configuration: {why}"),
            Self::Bind { what, addr, source } => {
                write!(f, "cannot bind {what} to {addr}: {source}")
            }
            Self::Tls(why) => write!(f, "TLS: {why}"),
        }
    }
}

impl std::error::Error for NodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } | Self::Bind { source, .. } => Some(source),
            Self::Replica(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ReplicaError> for NodeError {
    fn from(e: ReplicaError) -> Self {
        Self::Replica(e)
    }
}

/// Results of this crate.
pub type Result<T, E = NodeError> = std::result::Result<T, E>;

/// A [`NodeError::Io`] for `path`.
pub(crate) fn io(
    path: impl Into<PathBuf>,
    op: &'static str,
) -> impl FnOnce(io::Error) -> NodeError {
    let path = path.into();
    move |source| NodeError::Io { path, op, source }
}
