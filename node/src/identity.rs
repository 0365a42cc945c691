//! A node's identity: an ed25519 key pair kept in its directory, the self-signed certificate
//! made from it for QUIC's TLS, and the public keys peers are pinned by.
//!
//! # Files
//! | file | what |
//! |---|---|
//! | `node.key` | the 32-byte ed25519 secret seed as 64 lowercase hex digits and a newline; mode `0600`, written atomically (temporary file, fsync, rename, fsync of the directory) |
//! | `node.pub` | the public key, 64 lowercase hex digits and a newline (for people and scripts; the node derives its key from `node.key`) |
//!
//! A public key is written everywhere (the command's output, `--peer`, the peers file,
//! `/status`) as **64 lowercase hex digits**, the 32 bytes of RFC 8032's encoding.
//!
//! # Why these crates
//! - `ed25519-dalek`: generates the key and encodes it as PKCS#8 for TLS (the issue asks
//!   for ed25519 identities; it is the reference Rust implementation).
//! - `rcgen`: makes the self-signed X.509 certificate TLS needs around the key; nothing of
//!   it is trusted but the key inside (no CA, no names, no dates are checked: see
//!   [`crate::tls`]).
//! - `rustls-webpki` (already under rustls): parses a peer's certificate to read its
//!   public key.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{io, NodeError, Result};

/// The secret key file in a node's directory.
pub const KEY_FILE: &str = "node.key";
/// The public key file in a node's directory.
pub const PUB_FILE: &str = "node.pub";

/// The DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410): the key's 32 bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An ed25519 public key: what a node is known and pinned by.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as the DER SubjectPublicKeyInfo a certificate carries.
    pub fn spki_der(&self) -> Vec<u8> {
        let mut v = SPKI_PREFIX.to_vec();
        v.extend_from_slice(&self.0);
        v
    }

    /// The key a certificate carries, when it is an ed25519 key.
    ///
    /// # Errors
    /// A message when the certificate does not parse or holds another kind of key.
    pub fn of_certificate(cert: &CertificateDer<'_>) -> Result<Self, String> {
        let ee = webpki::EndEntityCert::try_from(cert)
            .map_err(|e| format!("unreadable certificate: {e:?}"))?;
        let spki = ee.subject_public_key_info();
        let b: &[u8] = spki.as_ref();
        match b.strip_prefix(&SPKI_PREFIX[..]) {
            Some(k) if k.len() == 32 => {
                let mut a = [0u8; 32];
                a.copy_from_slice(k);
                Ok(Self(a))
            }
            _ => Err("the certificate's key is not an ed25519 key".into()),
        }
    }

    /// A short form for logs: the first 8 hex digits.
    pub fn short(&self) -> String {
        hex(&self.0[..4])
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = String;

    /// 64 hex digits (either case) of a valid ed25519 point.
    fn from_str(s: &str) -> Result<Self, String> {
        let b = unhex(s.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| format!("{s:?} is not a public key (64 hex digits)"))?;
        let mut a = [0u8; 32];
        a.copy_from_slice(&b);
        VerifyingKey::from_bytes(&a)
            .map_err(|_| format!("{s:?} is not a valid ed25519 public key"))?;
        Ok(Self(a))
    }
}

/// A node's key pair.
pub struct Identity {
    secret: SigningKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.public())
    }
}

impl Identity {
    /// A fresh key pair from the operating system's randomness.
    ///
    /// # Errors
    /// [`NodeError::Io`] when `/dev/urandom` cannot be read.
    pub fn generate() -> Result<Self> {
        let mut seed = [0u8; 32];
        let p = Path::new("/dev/urandom");
        File::open(p)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
            .map_err(io(p, "read"))?;
        Ok(Self {
            secret: SigningKey::from_bytes(&seed),
        })
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.secret.verifying_key().to_bytes())
    }

    /// Writes `node.key` (mode 0600, atomically) and `node.pub` into `dir`.
    ///
    /// # Errors
    /// [`NodeError::Key`] when `node.key` exists already; [`NodeError::Io`].
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(KEY_FILE);
        if path.exists() {
            return Err(NodeError::Key {
                path,
                why: "exists already (a node keeps its identity)".into(),
            });
        }
        let text = format!("{}\n", hex(self.secret.as_bytes()));
        write_atomic(dir, &path, text.as_bytes(), 0o600)?;
        write_atomic(
            dir,
            &dir.join(PUB_FILE),
            format!("{}\n", self.public()).as_bytes(),
            0o644,
        )
    }

    /// Reads `node.key` from `dir`.
    ///
    /// # Errors
    /// [`NodeError::Key`] when it is missing, malformed, or readable by group or others
    /// (as ssh refuses such a key); [`NodeError::Io`].
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(KEY_FILE);
        let bad = |why: String| NodeError::Key {
            path: path.clone(),
            why,
        };
        let meta = fs::metadata(&path).map_err(|e| bad(format!("{e} (run `node init`)")))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(bad(format!(
                "mode {:o} lets others read it; chmod 600 it",
                meta.permissions().mode() & 0o777
            )));
        }
        if meta.len() > 1024 {
            return Err(bad("larger than a key".into()));
        }
        let text = fs::read_to_string(&path).map_err(io(&path, "read"))?;
        let seed = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| bad("not 64 hex digits".into()))?;
        let mut a = [0u8; 32];
        a.copy_from_slice(&seed);
        Ok(Self {
            secret: SigningKey::from_bytes(&a),
        })
    }

    /// A self-signed certificate around the public key, and the private key in the PKCS#8
    /// form TLS takes.
    ///
    /// # Errors
    /// [`NodeError::Tls`] when the certificate cannot be made.
    pub fn certificate(&self) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
        let tls = |e: String| NodeError::Tls(e);
        let pkcs8 = self
            .secret
            .to_pkcs8_der()
            .map_err(|e| tls(format!("PKCS#8: {e}")))?;
        let der = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
        let kp = rcgen::KeyPair::try_from(&der).map_err(|e| tls(format!("key pair: {e}")))?;
        let mut params = rcgen::CertificateParams::new(vec!["pluriverse-node".to_string()])
            .map_err(|e| tls(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, self.public().to_string());
        let cert = params
            .self_signed(&kp)
            .map_err(|e| tls(format!("certificate: {e}")))?;
        Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(der)))
    }
}

/// Writes `bytes` to `path` atomically with `mode`: a temporary file created with that
/// mode, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    // `.tmp`: the replica's open removes leftovers of that name
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp, "create"))?;
    f.write_all(bytes).map_err(io(&tmp, "write"))?;
    f.sync_all().map_err(io(&tmp, "fsync"))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io(path, "rename into"))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "fsync directory"))
}

/// Lowercase hex.
pub(crate) fn hex(b: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Hex (either case) to bytes; `None` for anything else.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_carries_the_key() {
        let id = Identity::generate().unwrap();
        let (cert, _) = id.certificate().unwrap();
        assert_eq!(PublicKey::of_certificate(&cert).unwrap(), id.public());
    }

    #[test]
    fn public_key_text_round_trips_and_refuses_junk() {
        let id = Identity::generate().unwrap();
        let k = id.public();
        assert_eq!(k.to_string().parse::<PublicKey>().unwrap(), k);
        assert_eq!(
            k.to_string().to_uppercase().parse::<PublicKey>().unwrap(),
            k
        );
        assert!("abc".parse::<PublicKey>().is_err());
        assert!("zz".repeat(32).parse::<PublicKey>().is_err());
        assert!("00".repeat(33).parse::<PublicKey>().is_err());
    }

    #[test]
    fn key_file_is_private_and_reloads() {
        let d = tempfile::tempdir().unwrap();
        let id = Identity::generate().unwrap();
        id.save(d.path()).unwrap();
        let mode = fs::metadata(d.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Identity::load(d.path()).unwrap().public(), id.public());
        assert!(matches!(id.save(d.path()), Err(NodeError::Key { .. })));
        let pubtext = fs::read_to_string(d.path().join(PUB_FILE)).unwrap();
        assert_eq!(pubtext.trim(), id.public().to_string());
        // readable by others: refused
        fs::set_permissions(d.path().join(KEY_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Identity::load(d.path()),
            Err(NodeError::Key { .. })
        ));
        // junk: refused
        fs::set_permissions(d.path().join(KEY_FILE), fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(d.path().join(KEY_FILE), "not hex\n").unwrap();
        assert!(matches!(
            Identity::load(d.path()),
            Err(NodeError::Key { .. })
        ));
    }
}
