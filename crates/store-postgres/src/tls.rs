//! TLS to PostgreSQL with rustls, chosen the way libpq chooses it: `sslmode` and `sslrootcert`
//! in the database URL.
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (default) | if the server offers TLS | no |
//! | `require` | yes | against `sslrootcert` if one is given, else no |
//! | `verify-ca` | yes | signed by a root of `sslrootcert` |
//! | `verify-full` | yes | as `verify-ca`, and issued for the host name |
//!
//! `sslrootcert` is a PEM file of root certificates, or `system` for the system's bundle.
//!
//! Why by hand: no maintained crate keeps these meanings. tokio-postgres parses only
//! `disable`/`prefer`/`require` and refuses `verify-ca`, `verify-full` and `sslrootcert`, so the
//! URL is read here whichever connector is used. `tokio-postgres-rustls` is only the connector
//! glue (`MakeTlsConnect` over a `rustls::ClientConfig` the caller builds); the meanings live in
//! that config's verifier, and rustls's own verifier always checks the host name, so `require`
//! (nothing checked) and `verify-ca` (chain, not name) need the two verifiers below anyway. Taking
//! it for the ~70 lines of glue would add a second `sha2` and the `x509-cert` tree, and switch on
//! SCRAM channel binding, a change of behaviour of its own. `postgres-native-tls` and
//! `postgres-openssl` could express `verify-ca` (accept invalid host names) but bring OpenSSL, a C
//! library and a second TLS stack beside the rustls that the HTTP client already uses.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bulkwrite_store::{StoreError, StoreResult};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// Where `sslrootcert=system` looks (Debian's and Red Hat's bundles).
const SYSTEM_BUNDLES: &[&str] = &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"];

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypted, certificate not checked (`prefer`, `require`).
    Nothing,
    /// Signed by a trusted root (`verify-ca`).
    Chain,
    /// Signed by a trusted root and issued for the host (`verify-full`).
    ChainAndHost,
}

/// A database URL split into the driver's settings and the TLS settings it does not know.
pub(crate) struct ParsedUrl {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustls,
}

/// Parses `url` (`postgres://…?sslmode=…&sslrootcert=…`, or the `key=value` form).
pub(crate) fn parse_url(url: &str) -> StoreResult<ParsedUrl> {
    let (rest, mode, root) = take_tls_options(url);
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| invalid(format!("database URL: {e}")))?;
    let (ssl_mode, mut verify) = match mode.as_deref() {
        None | Some("prefer" | "allow") => (SslMode::Prefer, Verify::Nothing),
        Some("disable") => (SslMode::Disable, Verify::Nothing),
        Some("require") => (SslMode::Require, Verify::Nothing),
        Some("verify-ca") => (SslMode::Require, Verify::Chain),
        Some("verify-full") => (SslMode::Require, Verify::ChainAndHost),
        Some(other) => {
            return Err(invalid(format!("sslmode {other:?}: use disable, prefer, require, verify-ca or verify-full")))
        }
    };
    let roots = match root.as_deref() {
        Some(path) => Some(load_roots(path)?),
        None if verify != Verify::Nothing => {
            return Err(invalid(format!(
                "sslmode={} needs sslrootcert=FILE (a PEM file of root certificates) or sslrootcert=system",
                mode.unwrap_or_default()
            )))
        }
        None => None,
    };
    // As in libpq, `require` with a root file checks the chain.
    if verify == Verify::Nothing && ssl_mode == SslMode::Require && roots.is_some() {
        verify = Verify::Chain;
    }
    config.ssl_mode(ssl_mode);
    Ok(ParsedUrl { config, tls: MakeRustls::new(verify, roots)? })
}

/// Removes `sslmode` and `sslrootcert` from `url`; returns the rest and their values.
fn take_tls_options(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: &str| match key {
        "sslmode" => mode = Some(value.to_string()),
        "sslrootcert" => root = Some(value.to_string()),
        _ => {}
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None, None);
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key == "sslmode" || key == "sslrootcert" {
                take(key, &percent_decode(value));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        return (rest, mode, root);
    }
    let mut kept = Vec::new();
    for word in url.split_whitespace() {
        match word.split_once('=') {
            Some((key, value)) if key == "sslmode" || key == "sslrootcert" => take(key, value.trim_matches('\'')),
            _ => kept.push(word),
        }
    }
    (kept.join(" "), mode, root)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn load_roots(path: &str) -> StoreResult<RootCertStore> {
    let file = if path == "system" {
        SYSTEM_BUNDLES
            .iter()
            .find(|bundle| std::path::Path::new(bundle).exists())
            .ok_or_else(|| invalid("sslrootcert=system: no system certificate bundle found".into()))?
    } else {
        path
    };
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(format!("sslrootcert {file}: {e}")))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(invalid(format!("sslrootcert {file}: no certificate in it")));
    }
    Ok(roots)
}

fn invalid(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// Makes TLS connections to PostgreSQL (see the module's table).
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl MakeRustls {
    fn new(verify: Verify, roots: Option<RootCertStore>) -> StoreResult<MakeRustls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?;
        let verifier: Arc<dyn ServerCertVerifier> = match (verify, roots) {
            (Verify::Nothing, _) | (_, None) => Arc::new(Unchecked(provider)),
            (verify, Some(roots)) => {
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| invalid(format!("TLS roots: {e}")))?;
                Arc::new(Checked { webpki, host: verify == Verify::ChainAndHost })
            }
        };
        let config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
        Ok(MakeRustls { config: Arc::new(config) })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for MakeRustls {
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        // A host given as an IP address is checked as one. Without a host name (a Unix socket, or
        // `hostaddr` alone) there is nothing to check the certificate's names against.
        let domain = if domain.is_empty() { "localhost" } else { domain };
        let name =
            ServerName::try_from(domain.to_string()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect { config: self.config.clone(), name })
    }
}

pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for RustlsConnect {
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { Ok(RustlsStream(connector.connect(self.name, stream).await?)) })
    }
}

/// A TLS connection to the server.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM's channel binding is optional; without it the password exchange is unchanged.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Accepts any certificate (libpq's `prefer` and `require`), still checking the handshake's
/// signatures so that the session keys belong to the certificate presented.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the chain against the roots, and the host name only for `verify-full`.
#[derive(Debug)]
struct Checked {
    webpki: Arc<WebPkiServerVerifier>,
    host: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.host => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_both_url_forms() {
        let (rest, mode, root) = take_tls_options(
            "postgres://u@h:5432/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x",
        );
        assert_eq!(rest, "postgres://u@h:5432/db?application_name=x");
        assert_eq!((mode.as_deref(), root.as_deref()), (Some("verify-full"), Some("/tmp/ca.pem")));
        let (rest, mode, root) = take_tls_options("postgres://u@h/db?sslmode=require");
        assert_eq!((rest.as_str(), mode.as_deref(), root), ("postgres://u@h/db", Some("require"), None));
        let (rest, mode, _) = take_tls_options("host=h user=u sslmode=disable dbname=db");
        assert_eq!((rest.as_str(), mode.as_deref()), ("host=h user=u dbname=db", Some("disable")));
    }

    /// An error with its sources, as the server prints it.
    fn chain(error: StoreError) -> String {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    #[test]
    fn modes_follow_libpq() {
        let mode = |url: &str| parse_url(url).map(|parsed| parsed.config.get_ssl_mode()).map_err(chain);
        assert_eq!(mode("postgres://u@h/db").unwrap(), SslMode::Prefer);
        assert_eq!(mode("postgres://u@h/db?sslmode=disable").unwrap(), SslMode::Disable);
        assert_eq!(mode("postgres://u@h/db?sslmode=require").unwrap(), SslMode::Require);
        let error = mode("postgres://u@h/db?sslmode=verify-full").unwrap_err();
        assert!(error.contains("needs sslrootcert"), "{error}");
        let error = mode("postgres://u@h/db?sslmode=sometimes").unwrap_err();
        assert!(error.contains("use disable, prefer, require, verify-ca or verify-full"), "{error}");
        let error = mode("postgres://u@h/db?sslmode=require&sslrootcert=/nonexistent.pem").unwrap_err();
        assert!(error.contains("/nonexistent.pem"), "{error}");
    }
}
