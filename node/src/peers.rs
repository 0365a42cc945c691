//! The peers a node syncs with: pinned public keys, each with the address to dial.
//!
//! A peer is written `PUBKEY@ADDR` (`ADDR` a socket address such as `127.0.0.1:7000`), or
//! `PUBKEY` alone for a peer that is only accepted, never dialed. A peers file holds one per
//! line; blank lines and lines starting with `#` are skipped.

use std::net::SocketAddr;
use std::path::Path;

use crate::error::{io, NodeError, Result};
use crate::identity::PublicKey;

/// The most peers a node takes (each costs a sync machine and a connection).
pub const MAX_PEERS: usize = 256;
/// The largest peers file read.
const MAX_FILE: u64 = 1 << 20;

/// One pinned peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSpec {
    /// Its key: the only thing that authenticates it.
    pub key: PublicKey,
    /// Where to dial it; `None`: only accepted.
    pub addr: Option<SocketAddr>,
}

impl PeerSpec {
    /// Parses `PUBKEY@ADDR` or `PUBKEY`; `origin` names where the text came from, for the
    /// error.
    ///
    /// # Errors
    /// [`NodeError::Peer`].
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let bad = |why: String| NodeError::Peer {
            origin: origin.into(),
            why,
        };
        let text = text.trim();
        let (k, a) = match text.split_once('@') {
            Some((k, a)) => (k, Some(a)),
            None => (text, None),
        };
        let key = k.parse::<PublicKey>().map_err(bad)?;
        let addr = a
            .map(|a| {
                a.parse::<SocketAddr>()
                    .map_err(|_| bad(format!("{a:?} is not an address such as 127.0.0.1:7000")))
            })
            .transpose()?;
        Ok(Self { key, addr })
    }
}

/// Reads a peers file.
///
/// # Errors
/// [`NodeError::Io`], or [`NodeError::Peer`] naming the line.
pub fn read_file(path: &Path) -> Result<Vec<PeerSpec>> {
    let len = std::fs::metadata(path).map_err(io(path, "stat"))?.len();
    if len > MAX_FILE {
        return Err(NodeError::Peer {
            origin: path.display().to_string(),
            why: format!("{len} bytes: larger than a peers file ({MAX_FILE} at most)"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io(path, "read"))?;
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        v.push(PeerSpec::parse(
            l,
            &format!("{}:{}", path.display(), i + 1),
        )?);
    }
    Ok(v)
}

/// Checks a node's peer list: no duplicate key, not its own key, at most [`MAX_PEERS`].
///
/// # Errors
/// [`NodeError::Peer`].
pub fn check(own: PublicKey, peers: &[PeerSpec]) -> Result<()> {
    if peers.len() > MAX_PEERS {
        return Err(NodeError::Peer {
            origin: "peers".into(),
            why: format!("{} peers: at most {MAX_PEERS}", peers.len()),
        });
    }
    for (i, p) in peers.iter().enumerate() {
        if p.key == own {
            return Err(NodeError::Peer {
                origin: p.key.to_string(),
                why: "this is the node's own key".into(),
            });
        }
        if peers[..i].iter().any(|q| q.key == p.key) {
            return Err(NodeError::Peer {
                origin: p.key.to_string(),
                why: "listed twice".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    #[test]
    fn parses_and_refuses() {
        let k = Identity::generate().unwrap().public();
        let p = PeerSpec::parse(&format!("{k}@127.0.0.1:7000"), "--peer").unwrap();
        assert_eq!(p.key, k);
        assert_eq!(p.addr, Some("127.0.0.1:7000".parse().unwrap()));
        assert_eq!(PeerSpec::parse(&k.to_string(), "x").unwrap().addr, None);
        for bad in [
            format!("{k}@nowhere"),
            "abcd@127.0.0.1:1".to_string(),
            String::new(),
        ] {
            assert!(
                matches!(PeerSpec::parse(&bad, "x"), Err(NodeError::Peer { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn file_names_the_bad_line_and_check_refuses_duplicates() {
        let d = tempfile::tempdir().unwrap();
        let k = Identity::generate().unwrap().public();
        let f = d.path().join("peers");
        std::fs::write(&f, format!("# peers\n\n{k}@127.0.0.1:1\n")).unwrap();
        let v = read_file(&f).unwrap();
        assert_eq!(v.len(), 1);
        std::fs::write(&f, format!("{k}@127.0.0.1:1\nbogus\n")).unwrap();
        let e = read_file(&f).unwrap_err().to_string();
        assert!(e.contains(":2"), "{e}");
        let own = Identity::generate().unwrap().public();
        assert!(check(own, &[v[0], v[0]]).is_err());
        assert!(check(k, &v).is_err());
        assert!(check(own, &v).is_ok());
    }
}
