//! A node's keys and certificate: made by `init`, checked at every start.
//!
//! Private keys are written with mode 0600 and refused at start if anyone
//! but the owner can read them. They are never logged: [`NodeKey`]'s `Debug`
//! prints only the public half.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use soberana_core::Timestamp;
use soberana_wire::{Digest, NodeKey};

use crate::NodeError;

/// The node's TLS certificate and key, PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PEM (secret).
    key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsIdentity(cert sha256 {})", self.fingerprint())
    }
}

impl TlsIdentity {
    /// A fresh self-signed certificate for `names` (host names or IPs),
    /// valid from a day ago for `valid_days` days: its `notAfter` is when
    /// the node's keys are due for rotation, and what `key status`, the
    /// log and the metrics warn of.
    pub fn generate(names: Vec<String>, valid_days: u64) -> Result<Self, NodeError> {
        let failed = |e: rcgen::Error| NodeError::Tls(format!("cannot make a certificate: {e}"));
        let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - std::time::Duration::from_secs(86_400);
        params.not_after = now + std::time::Duration::from_secs(valid_days.saturating_mul(86_400));
        let key = rcgen::KeyPair::generate().map_err(failed)?;
        let cert = params.self_signed(&key).map_err(failed)?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
        })
    }

    /// When the certificate stops being valid (its `notAfter`).
    pub fn not_after(&self) -> Result<Timestamp, NodeError> {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.cert_der)
            .map_err(|e| NodeError::Tls(format!("the certificate does not parse: {e}")))?;
        let seconds = cert.validity().not_after.timestamp();
        Ok(Timestamp::from_unix_millis(seconds.saturating_mul(1000)))
    }

    /// The SHA-256 of the certificate's DER: what partners pin.
    pub fn fingerprint(&self) -> Digest {
        Digest(Sha256::digest(&self.cert_der).into())
    }

    /// The private key, PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Reads the certificate and key files.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, NodeError> {
        let key_pem = read_secret(key)?;
        let cert_pem = std::fs::read_to_string(cert).map_err(NodeError::io(cert))?;
        let der = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .next()
            .and_then(|c| c.ok())
            .ok_or_else(|| NodeError::BadKey {
                path: cert.to_owned(),
                detail: "no PEM certificate in the file".into(),
            })?;
        Ok(Self {
            cert_der: der.to_vec(),
            cert_pem,
            key_pem,
        })
    }
}

/// Writes a secret file with mode 0600, refusing to overwrite.
pub fn write_secret(path: &Path, text: &str) -> Result<(), NodeError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(NodeError::io(path))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(NodeError::io(path))
}

/// Reads a secret file, refusing one that others can read.
pub fn read_secret(path: &Path) -> Result<String, NodeError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(NodeError::MissingKey(path.to_owned()));
        }
        Err(e) => return Err(NodeError::io(path)(e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(NodeError::KeyPermissions {
            path: path.to_owned(),
            mode,
        });
    }
    std::fs::read_to_string(path).map_err(NodeError::io(path))
}

/// Reads the node's signing key.
pub fn load_signing_key(path: &Path) -> Result<NodeKey, NodeError> {
    let text = read_secret(path)?;
    NodeKey::from_hex(&text).map_err(|e| NodeError::BadKey {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_private_and_refused_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_secret(&path, "00").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_secret(&path).unwrap(), "00");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_secret(&path),
            Err(NodeError::KeyPermissions { .. })
        ));
        assert!(matches!(
            read_secret(&dir.path().join("missing")),
            Err(NodeError::MissingKey(_))
        ));
        assert!(write_secret(&path, "again").is_err(), "never overwrites");
    }
}
