//! Incarnations: the name a replica writes under, fresh at every open.
//!
//! A replica's dots are `(writer, counter)`. If a process could come back under the writer
//! name it used before and continue counting from what its files say, a crash after a delta
//! left the machine but before the files had it, or a restore of an old copy of the
//! directory, would issue the same dot for different content, and replicas would never
//! converge. So a replica never continues a writer name: every open draws a fresh
//! *incarnation* `name#<16 hex digits>` from the operating system's randomness, and writes
//! under it. Its files are never asked what was issued, so no loss of them can cause reuse.
//! An incarnation that never writes leaves no trace (a context only holds writers with
//! dots).

use std::io::Read;

use pluriverse::ReplicaId;

use crate::error::{ReplicaError, Result};

/// Separates a replica's name from its incarnation.
pub const SEPARATOR: u8 = pluriverse::retired::INCARNATION_SEPARATOR;

/// The longest name a replica may be given, in bytes. Its incarnations (the name, `#` and
/// 16 hex digits) are then at most [`MAX_INCARNATION`] bytes, short enough that every
/// message bound a [`crate::sync::Peer`] accepts carries three of them in one message (a
/// listing's two interval bounds and an item), down to a 1,200-byte datagram.
pub const MAX_REPLICA_NAME: usize = 238;

/// The longest incarnation name: [`MAX_REPLICA_NAME`] bytes and the 17 of the suffix.
pub const MAX_INCARNATION: usize = MAX_REPLICA_NAME + 17;

/// Checks a name a replica is to be given: 1 to [`MAX_REPLICA_NAME`] bytes, any bytes.
///
/// # Errors
/// [`ReplicaError::Config`] naming the length when it is empty or too long.
///
/// # Example
/// ```
/// use pluriverse_replica::identity::{check_name, MAX_REPLICA_NAME};
/// assert!(check_name(&"paris".into()).is_ok());
/// assert!(check_name(&"".into()).is_err());
/// assert!(check_name(&"x".repeat(MAX_REPLICA_NAME + 1).as_str().into()).is_err());
/// ```
pub fn check_name(name: &ReplicaId) -> Result<()> {
    let n = name.as_bytes().len();
    if n == 0 || n > MAX_REPLICA_NAME {
        return Err(ReplicaError::Config(format!(
            "a replica name of {n} bytes: a name is 1 to {MAX_REPLICA_NAME} bytes (its \
             incarnations must fit the sync protocol's smallest messages)"
        )));
    }
    Ok(())
}

/// A fresh incarnation of `name`: `name#` and 16 hex digits of randomness.
///
/// # Example
/// ```
/// use pluriverse_replica::identity::{base_name, fresh_incarnation};
/// let a = fresh_incarnation(&"paris".into());
/// let b = fresh_incarnation(&"paris".into());
/// assert_ne!(a, b);
/// assert_eq!(base_name(&a), Some("paris".into()));
/// assert_eq!(a.as_bytes().len(), "paris".len() + 17);
/// ```
pub fn fresh_incarnation(name: &ReplicaId) -> ReplicaId {
    incarnation(name, random_u64())
}

/// The incarnation of `name` numbered `bits`: `name#` and `bits` as 16 hex digits.
/// [`fresh_incarnation`] draws `bits` from the operating system; a simulator draws them
/// from its seed so that a run replays exactly. Two incarnations of one name are distinct
/// exactly when their bits are, so bits must never repeat for a name (64 random bits
/// do not, in practice).
///
/// # Example
/// ```
/// use pluriverse_replica::identity::{base_name, incarnation};
/// let a = incarnation(&"paris".into(), 0xbeef);
/// assert_eq!(a, "paris#000000000000beef".into());
/// assert_eq!(base_name(&a), Some("paris".into()));
/// ```
pub fn incarnation(name: &ReplicaId, bits: u64) -> ReplicaId {
    pluriverse::retired::incarnation_name(name.as_bytes(), bits)
}

/// The replica name of an incarnation written by [`fresh_incarnation`], if `id` is one
/// (the form is defined in core, [`pluriverse::retired::incarnation_parts`], where retired
/// incarnations are kept as compact records).
pub fn base_name(id: &ReplicaId) -> Option<ReplicaId> {
    pluriverse::retired::incarnation_parts(id).map(|(base, _)| ReplicaId::from(base))
}

/// 64 random bits from the operating system (`/dev/urandom`); where that cannot be read,
/// a hash of the time, the process id and a per-process counter.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return u64::from_le_bytes(b);
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut s = [0u8; 24];
    s[..8].copy_from_slice(&t.to_le_bytes());
    s[8..16].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
    s[16..].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&s)
}
