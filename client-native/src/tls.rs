//! The TLS configuration for `wss://` relays: rustls with the `ring` provider, trusting the
//! Mozilla root set compiled into the binary (webpki-roots) plus, optionally, the CA
//! certificates of one PEM file.
//!
//! Compiled-in roots give the same answer on every OS and in containers without a CA store;
//! the extra file is how a private CA or a development relay's certificate is trusted.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Error, Result};

/// A client configuration trusting the web roots and every certificate in `ca_file`.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in read_pem_certs(path)? {
            roots.add(cert).map_err(|e| bad_ca(path, &e.to_string()))?;
        }
    }
    // The provider is named rather than taken from the process default: another crate in the
    // application may enable a different one, and then the default is ambiguous.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| bad_ca(path, &e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_ca(path, &format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad_ca(path, "no CERTIFICATE block in it"));
    }
    Ok(certs)
}

fn bad_ca(path: &Path, why: &str) -> Error {
    Error::CaFile {
        path: path.display().to_string(),
        reason: why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_roots_alone_make_a_config() {
        let config = client_config(None).unwrap();
        assert!(config.alpn_protocols.is_empty());
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let msg = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(msg.contains("nope.pem"), "{msg}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just text\n").unwrap();
        let msg = client_config(Some(&empty)).unwrap_err().to_string();
        assert!(msg.contains("no CERTIFICATE"), "{msg}");
    }

    #[test]
    fn a_pem_with_a_garbage_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(matches!(
            client_config(Some(&bad)),
            Err(Error::CaFile { .. })
        ));
    }
}
