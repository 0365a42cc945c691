//! TLS for QUIC between nodes: mutual authentication by pinned ed25519 public keys.
//!
//! Each node presents a self-signed certificate around its key ([`Identity::certificate`]).
//! No certificate authority, name or validity period means anything here: a peer is who
//! its key says, and the handshake proves it holds that key (TLS 1.3's CertificateVerify,
//! checked by rustls' webpki signature verification). The verifiers below
//! ([`PinnedServer`] on the dialing side, [`PinnedClients`] on the accepting side) read the
//! key out of the certificate and refuse the handshake unless it is pinned, so a node whose
//! key is not listed never gets a connection, let alone state. Both sides require a
//! certificate (mutual authentication).
//!
//! Only TLS 1.3 (QUIC's) and only ed25519 signatures are offered. The crypto provider is
//! rustls' `ring` (no C build toolchain needed, unlike aws-lc-rs).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::error::{NodeError, Result};
use crate::identity::{Identity, PublicKey};

/// The ALPN protocol name of the node's sync protocol over QUIC.
pub const ALPN: &[u8] = b"pluriverse-sync/1";

/// Handshakes refused because the peer's key is not pinned (or not the one dialed), for
/// `/metrics` and `/status`.
#[derive(Debug, Default)]
pub struct Refusals {
    /// Incoming handshakes refused.
    pub inbound: AtomicU64,
    /// Outgoing handshakes refused (the server presented another key).
    pub outbound: AtomicU64,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn refuse(why: &str, key: Result<PublicKey, String>) -> rustls::Error {
    match key {
        Ok(k) => tracing::warn!(key = %k, "refused a handshake: {why}"),
        Err(e) => tracing::warn!("refused a handshake: {e}"),
    }
    rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
}

fn verify13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify_tls13_signature(
        message,
        cert,
        dss,
        &rustls::crypto::ring::default_provider().signature_verification_algorithms,
    )
}

/// The dialing side's verifier: the server must present exactly the key dialed.
#[derive(Debug)]
pub struct PinnedServer {
    expected: PublicKey,
    refusals: Arc<Refusals>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match PublicKey::of_certificate(end_entity) {
            Ok(k) if k == self.expected => Ok(ServerCertVerified::assertion()),
            other => {
                self.refusals.outbound.fetch_add(1, Ordering::Relaxed);
                Err(refuse(
                    &format!("the server is not the peer dialed ({})", self.expected),
                    other,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// The accepting side's verifier: the client must present one of the pinned keys.
#[derive(Debug)]
pub struct PinnedClients {
    pinned: HashSet<PublicKey>,
    refusals: Arc<Refusals>,
}

impl ClientCertVerifier for PinnedClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match PublicKey::of_certificate(end_entity) {
            Ok(k) if self.pinned.contains(&k) => Ok(ClientCertVerified::assertion()),
            other => {
                self.refusals.inbound.fetch_add(1, Ordering::Relaxed);
                Err(refuse("the client's key is not pinned", other))
            }
        }
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// The certificate and key a node presents, made once.
pub struct Credentials {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials")
    }
}

impl Credentials {
    /// The self-signed certificate of `id`.
    ///
    /// # Errors
    /// [`NodeError::Tls`].
    pub fn new(id: &Identity) -> Result<Self> {
        let (cert, key) = id.certificate()?;
        Ok(Self { cert, key })
    }

    /// The QUIC server side: accepts clients whose key is in `pinned`.
    ///
    /// # Errors
    /// [`NodeError::Tls`].
    pub fn server_config(
        &self,
        pinned: HashSet<PublicKey>,
        refusals: Arc<Refusals>,
    ) -> Result<quinn::crypto::rustls::QuicServerConfig> {
        let tls = |e: String| NodeError::Tls(e);
        let mut c = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls(e.to_string()))?
            .with_client_cert_verifier(Arc::new(PinnedClients { pinned, refusals }))
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| tls(e.to_string()))?;
        c.alpn_protocols = vec![ALPN.to_vec()];
        quinn::crypto::rustls::QuicServerConfig::try_from(c).map_err(|e| tls(e.to_string()))
    }

    /// The QUIC client side for dialing the peer whose key is `expected`.
    ///
    /// # Errors
    /// [`NodeError::Tls`].
    pub fn client_config(
        &self,
        expected: PublicKey,
        refusals: Arc<Refusals>,
    ) -> Result<quinn::crypto::rustls::QuicClientConfig> {
        let tls = |e: String| NodeError::Tls(e);
        let mut c = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer { expected, refusals }))
            .with_client_auth_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| tls(e.to_string()))?;
        c.alpn_protocols = vec![ALPN.to_vec()];
        quinn::crypto::rustls::QuicClientConfig::try_from(c).map_err(|e| tls(e.to_string()))
    }
}

/// The key a connection's peer proved in the handshake.
pub fn peer_key(conn: &quinn::Connection) -> Option<PublicKey> {
    let any = conn.peer_identity()?;
    let certs = any.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    PublicKey::of_certificate(certs.first()?).ok()
}
