//! HTTPS through rustls, set up only when Medic's URL is https: ureq's own TLS would
//! parse the system's whole CA store when the agent starts, even for plain http to
//! 127.0.0.1 or when a CA file replaces it (about 0.3 MB held for nothing).

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use ureq::{ReadWrite, TlsConnector};

/// The CAs trusted: `MEDIC_AGENT_CA_FILE` when set, else the system's store.
pub fn connector(ca_file: Option<&Path>) -> Result<Arc<Rustls>, String> {
    let roots = match ca_file {
        Some(path) => from_file(path)?,
        None => from_system()?,
    };
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(Rustls(Arc::new(config))))
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

pub struct Rustls(Arc<rustls::ClientConfig>);

impl TlsConnector for Rustls {
    fn connect(
        &self,
        dns_name: &str,
        mut io: Box<dyn ReadWrite>,
    ) -> Result<Box<dyn ReadWrite>, ureq::Error> {
        let invalid =
            |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
        let name = rustls::ServerName::try_from(dns_name).map_err(|e| invalid(&e))?;
        let mut session =
            rustls::ClientConnection::new(Arc::clone(&self.0), name).map_err(|e| invalid(&e))?;
        session.complete_io(&mut io)?;
        Ok(Box::new(TlsStream(rustls::StreamOwned::new(session, io))))
    }
}

struct TlsStream(rustls::StreamOwned<rustls::ClientConnection, Box<dyn ReadWrite>>);

impl ReadWrite for TlsStream {
    fn socket(&self) -> Option<&TcpStream> {
        self.0.get_ref().socket()
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            // rustls 0.20 reports the peer's close_notify as an error: it is the end.
            Err(e)
                if e.kind() == io::ErrorKind::ConnectionAborted
                    && e.to_string().contains("CloseNotify") =>
            {
                Ok(0)
            }
            other => other,
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsStream")
    }
}
