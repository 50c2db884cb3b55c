//! HTTPS through rustls, set up only when Medic's URL is https (or a CA file is given, to
//! check it at start): the system's whole CA store, parsed, is about 0.3 MB, not held
//! for plain http to 127.0.0.1 nor when a CA file replaces it.

use std::io::BufReader;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

/// The CAs trusted: `MEDIC_AGENT_CA_FILE` when set, else the system's store.
pub fn config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let roots = match ca_file {
        Some(path) => from_file(path)?,
        None => from_system()?,
    };
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn from_file(path: &Path) -> Result<rustls::RootCertStore, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {}", path.display(), e))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .map_err(|e| format!("{}: {}", path.display(), e))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(&certs);
    if added == 0 {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(roots)
}

fn from_system() -> Result<rustls::RootCertStore, String> {
    let certs = rustls_native_certs::load_native_certs()
        .map_err(|e| format!("the system's CA certificates: {}", e))?;
    let certs: Vec<Vec<u8>> = certs.into_iter().map(|cert| cert.0).collect();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(&certs);
    if added == 0 {
        return Err(
            "no usable CA certificate in the system's store (set MEDIC_AGENT_CA_FILE)".into(),
        );
    }
    Ok(roots)
}

/// A TLS session over `socket`, its handshake done: the server's certificate is checked
/// against the trusted CAs and `host` here, so a refusal names the certificate.
pub fn handshake(
    config: &Arc<rustls::ClientConfig>,
    host: &str,
    mut socket: TcpStream,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let name = rustls::ServerName::try_from(host)
        .map_err(|_| format!("{} is not a name a certificate can be checked against", host))?;
    let mut session =
        rustls::ClientConnection::new(Arc::clone(config), name).map_err(|e| e.to_string())?;
    while session.is_handshaking() {
        session
            .complete_io(&mut socket)
            .map_err(|e| format!("TLS with {}: {}", host, e))?;
    }
    Ok(rustls::StreamOwned::new(session, socket))
}
