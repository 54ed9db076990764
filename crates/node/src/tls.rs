//! Mutual TLS with pinned certificates.
//!
//! Partners do not share a certificate authority; each pins the other's
//! certificate from its party card. A server accepts a client only if the
//! client's certificate is one of the pinned partners'; a client accepts a
//! server only if its certificate is the one pinned for the partner it
//! means to reach. Handshake signatures are still checked with the
//! certificate's key by rustls's own verification functions: only the chain
//! of trust is replaced by the pin.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, Error, ServerConfig,
    SignatureScheme,
};
use sha2::{Digest as _, Sha256};

use crate::NodeError;
use crate::identity::TlsIdentity;

/// The pinned certificate fingerprints a server accepts clients from.
pub type PinSet = Arc<RwLock<HashSet<[u8; 32]>>>;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    Sha256::digest(cert.as_ref()).into()
}

#[derive(Debug)]
struct PinnedClients {
    pins: PinSet,
    algorithms: WebPkiSupportedAlgorithms,
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
    ) -> Result<ClientCertVerified, Error> {
        let pinned = self
            .pins
            .read()
            .map(|p| p.contains(&fingerprint(end_entity)))
            .unwrap_or(false);
        if pinned {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[derive(Debug)]
struct PinnedServer {
    pins: Vec<[u8; 32]>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.pins.contains(&fingerprint(end_entity)) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn key_der(identity: &TlsIdentity) -> Result<PrivateKeyDer<'static>, NodeError> {
    rustls_pemfile::private_key(&mut identity.key_pem().as_bytes())
        .ok()
        .flatten()
        .ok_or_else(|| NodeError::Tls("the TLS key file holds no private key".into()))
}

/// The server side: our certificate, and clients only from pinned partners.
pub fn server_config(identity: &TlsIdentity, pins: PinSet) -> Result<ServerConfig, NodeError> {
    let provider = provider();
    let verifier = Arc::new(PinnedClients {
        pins,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NodeError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(identity.cert_der.clone())],
            key_der(identity)?,
        )
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The client side towards one partner: our certificate, and only the
/// partner's pinned certificates accepted (its card's, and during a
/// rotation's overlap its previous one).
pub fn client_config(
    identity: &TlsIdentity,
    partner_pins: Vec<[u8; 32]>,
) -> Result<ClientConfig, NodeError> {
    let provider = provider();
    let verifier = Arc::new(PinnedServer {
        pins: partner_pins,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NodeError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(
            vec![CertificateDer::from(identity.cert_der.clone())],
            key_der(identity)?,
        )
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    Ok(config)
}
