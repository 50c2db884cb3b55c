//! A small HTTP/1.1 client for the agent's two requests (the long poll, the report) to
//! Medic's one base URL, over plain TCP (loopback only) or rustls. It replaces ureq,
//! whose URL parsing (url, idna and their Unicode tables) weighed more than the whole
//! client here and kept the static binary over its 2 MB target.
//!
//! One connection is kept alive between requests; before reuse it is checked for a
//! close by the server, and a GET that finds it closed anyway is sent once more on a
//! fresh one. Answers are read by Content-Length, chunked or to the close, up to a cap.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv6Addr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest status or header line, and the most header lines, in an answer.
const MAX_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 100;

/// Medic's base URL, split into what to connect to and what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    /// The host (and port) as written in the URL: the Host header.
    pub authority: String,
    /// The name or address to resolve and to check the certificate against.
    pub host: String,
    pub port: u16,
    /// The base URL's path without its trailing slash ("" for none).
    pub prefix: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("MEDIC_AGENT_URL must start with https://".into());
        };
        if rest
            .bytes()
            .any(|b| b <= b' ' || b >= 0x7f || b"?#\\".contains(&b))
        {
            return Err(
                "MEDIC_AGENT_URL must be https://host[:port][/path] in ASCII \
                        (no query, fragment or spaces)"
                    .into(),
            );
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err("MEDIC_AGENT_URL must not carry a user name or password".into());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let end = bracketed
                    .find(']')
                    .ok_or("MEDIC_AGENT_URL has a bad IPv6 address")?;
                let address = &bracketed[..end];
                address
                    .parse::<Ipv6Addr>()
                    .map_err(|_| "MEDIC_AGENT_URL has a bad IPv6 address")?;
                (address, &bracketed[end + 1..])
            }
            None => authority.split_at(authority.find(':').unwrap_or(authority.len())),
        };
        if host.is_empty() {
            return Err("MEDIC_AGENT_URL has no host".into());
        }
        if !authority.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err("MEDIC_AGENT_URL has a bad host name".into());
        }
        let port = match port {
            "" | ":" => {
                if tls {
                    443
                } else {
                    80
                }
            }
            _ => match port.strip_prefix(':') {
                Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
                    match digits.parse::<u16>() {
                        Ok(port) if port > 0 => port,
                        _ => return Err("MEDIC_AGENT_URL has a bad port".into()),
                    }
                }
                _ => return Err("MEDIC_AGENT_URL has a bad port".into()),
            },
        };
        Ok(Target {
            tls,
            authority: authority.to_string(),
            host: host.to_string(),
            port,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }

    /// Whether the host is this machine (where plain http may carry the key).
    pub fn is_loopback(&self) -> bool {
        self.host == "127.0.0.1"
            || self.host.eq_ignore_ascii_case("localhost")
            || self.host == "::1"
    }
}

/// An answer: its status and its whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why an answer could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection ended before the answer's first byte (a kept-alive connection the
    /// server had closed).
    Closed,
    Io(io::Error),
    Malformed(&'static str),
    TooLarge(usize),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("the server closed the connection"),
            ReadError::Io(error) => write!(f, "{}", error),
            ReadError::Malformed(what) => write!(f, "a malformed answer: {}", what),
            ReadError::TooLarge(cap) => write!(f, "the answer is over {} bytes", cap),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> ReadError {
        ReadError::Io(error)
    }
}

/// One line without its CRLF (or LF); `Ok(None)` at the end of the stream.
fn read_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<Option<()>, ReadError> {
    line.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if available.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > MAX_LINE {
            return Err(ReadError::Malformed("a line over 8 KiB"));
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(()));
        }
    }
}

fn required_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<(), ReadError> {
    match read_line(reader, line)? {
        Some(()) => Ok(()),
        None => Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
    }
}

/// What the head of an answer says about its body and its connection.
struct Head {
    status: u16,
    length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
}

fn read_head<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<Head, ReadError> {
    if read_line(reader, line)?.is_none() {
        return Err(ReadError::Closed);
    }
    // A reason phrase or a header value may be any bytes (obs-text); only ASCII is read.
    let text = String::from_utf8_lossy(line);
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Malformed("the status line")),
    };
    let mut keep_alive = !http10;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReadError::Malformed("the status code"));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| ReadError::Malformed("the status code"))?;
    if !(100..=599).contains(&status) {
        return Err(ReadError::Malformed("the status code"));
    }
    let mut head = Head {
        status,
        length: None,
        chunked: false,
        keep_alive,
    };
    let mut encoded = false;
    for count in 0.. {
        required_line(reader, line)?;
        if line.is_empty() {
            break;
        }
        if count == MAX_HEADERS {
            return Err(ReadError::Malformed("over 100 header lines"));
        }
        let text = String::from_utf8_lossy(line);
        let (name, value) = text
            .split_once(':')
            .ok_or(ReadError::Malformed("a header"))?;
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(ReadError::Malformed("a header name"));
        }
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReadError::Malformed("Content-Length"));
            }
            let length = value
                .parse::<u64>()
                .map_err(|_| ReadError::Malformed("Content-Length"))?;
            if head.length.map_or(false, |seen| seen != length) {
                return Err(ReadError::Malformed("two different Content-Lengths"));
            }
            head.length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
            let last = value.rsplit(',').next().unwrap_or("").trim();
            head.chunked = last.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        }
    }
    if encoded {
        // A body whose coding is not chunked runs to the close (RFC 9112, 6.3), and a
        // Content-Length beside Transfer-Encoding is not to be trusted.
        head.length = None;
        if !head.chunked {
            keep_alive = false;
        }
    }
    head.keep_alive = keep_alive;
    Ok(head)
}

/// Reads exactly `size` more bytes onto `body`.
fn read_exact_onto<R: Read>(
    reader: &mut R,
    size: u64,
    body: &mut Vec<u8>,
) -> Result<(), ReadError> {
    let read = reader.take(size).read_to_end(body)? as u64;
    if read < size {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(())
}

fn read_chunked<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    cap: usize,
    body: &mut Vec<u8>,
) -> Result<(), ReadError> {
    loop {
        required_line(reader, line)?;
        let text = std::str::from_utf8(line).map_err(|_| ReadError::Malformed("a chunk size"))?;
        let digits = text
            .split(';')
            .next()
            .unwrap_or("")
            .trim_matches(|c| c == ' ' || c == '\t');
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ReadError::Malformed("a chunk size"));
        }
        let size =
            u64::from_str_radix(digits, 16).map_err(|_| ReadError::Malformed("a chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line that ends the answer.
            for _ in 0..=MAX_HEADERS {
                required_line(reader, line)?;
                if line.is_empty() {
                    return Ok(());
                }
            }
            return Err(ReadError::Malformed("over 100 trailer lines"));
        }
        if body.len() as u64 + size > cap as u64 {
            return Err(ReadError::TooLarge(cap));
        }
        read_exact_onto(reader, size, body)?;
        required_line(reader, line)?;
        if !line.is_empty() {
            return Err(ReadError::Malformed("no CRLF after a chunk"));
        }
    }
}

/// One answer from `reader`, its body at most `cap` bytes, and whether the connection
/// may carry another request. Interim (1xx) answers are passed over.
pub fn read_response<R: BufRead>(
    reader: &mut R,
    cap: usize,
) -> Result<(Response, bool), ReadError> {
    let mut line = Vec::new();
    let mut head = read_head(reader, &mut line)?;
    while head.status < 200 {
        if head.status == 101 {
            return Err(ReadError::Malformed("a protocol switch"));
        }
        head = read_head(reader, &mut line)?;
    }
    let mut body = Vec::new();
    let mut reusable = head.keep_alive;
    let bodiless = head.status == 204 || head.status == 304;
    if bodiless {
        // No body, whatever the headers say (RFC 9112, 6.3).
    } else if head.chunked {
        read_chunked(reader, &mut line, cap, &mut body)?;
    } else if let Some(length) = head.length {
        if length > cap as u64 {
            return Err(ReadError::TooLarge(cap));
        }
        read_exact_onto(reader, length, &mut body)?;
    } else {
        reader.take(cap as u64 + 1).read_to_end(&mut body)?;
        if body.len() > cap {
            return Err(ReadError::TooLarge(cap));
        }
        reusable = false;
    }
    Ok((
        Response {
            status: head.status,
            body,
        },
        reusable,
    ))
}

/// The bytes of a request's head and body.
pub fn request_bytes(
    method: &str,
    target: &Target,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut head = format!(
        "{} {}{} HTTP/1.1\r\nHost: {}\r\n",
        method, target.prefix, path, target.authority
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if let Some(body) = body {
        head.push_str("Content-Length: ");
        head.push_str(&body.len().to_string());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(socket) => socket,
            Stream::Tls(stream) => stream.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.read(buf),
            Stream::Tls(stream) => match stream.read(buf) {
                // rustls 0.20 can report the peer's close_notify as an error: it is the end.
                Err(e)
                    if e.kind() == io::ErrorKind::ConnectionAborted
                        && e.to_string().contains("CloseNotify") =>
                {
                    Ok(0)
                }
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.write(buf),
            Stream::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.flush(),
            Stream::Tls(stream) => stream.flush(),
        }
    }
}

/// Whether a kept-alive connection is still usable: nothing waiting on it (neither the
/// server's close nor stray bytes).
fn still_open(connection: &BufReader<Stream>) -> bool {
    let socket = connection.get_ref().socket();
    if !connection.buffer().is_empty() || socket.set_nonblocking(true).is_err() {
        return false;
    }
    let idle =
        matches!(socket.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    socket.set_nonblocking(false).is_ok() && idle
}

/// Why one exchange failed, and whether the request may be sent again.
enum Failed {
    /// The request may not have reached the server: a kept-alive connection it closed.
    Stale(String),
    Final(String),
}

pub struct Http {
    target: Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    read_timeout: Duration,
    cap: usize,
    idle: RefCell<Option<BufReader<Stream>>>,
}

impl Http {
    /// `tls` is required for an https target; `read_timeout` bounds each read.
    pub fn new(
        target: Target,
        tls: Option<Arc<rustls::ClientConfig>>,
        read_timeout: Duration,
        cap: usize,
    ) -> Http {
        Http {
            target,
            tls,
            read_timeout,
            cap,
            idle: RefCell::new(None),
        }
    }

    /// Sends one request for `path` (under the base URL's) and reads its answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        let bytes = request_bytes(method, &self.target, path, headers, body);
        let describe = |error: String| {
            format!(
                "{} {}: {}",
                method,
                path.split('?').next().unwrap_or(""),
                error
            )
        };
        let reused = self.idle.borrow_mut().take().filter(still_open);
        if let Some(mut connection) = reused {
            match self.exchange(&mut connection, &bytes, method == "GET") {
                Ok((response, reusable)) => return Ok(self.keep(connection, response, reusable)),
                Err(Failed::Stale(_)) => {}
                Err(Failed::Final(error)) => return Err(describe(error)),
            }
        }
        let mut connection = self.connect().map_err(describe)?;
        match self.exchange(&mut connection, &bytes, false) {
            Ok((response, reusable)) => Ok(self.keep(connection, response, reusable)),
            Err(Failed::Stale(error)) | Err(Failed::Final(error)) => Err(describe(error)),
        }
    }

    fn keep(&self, connection: BufReader<Stream>, response: Response, reusable: bool) -> Response {
        if reusable {
            *self.idle.borrow_mut() = Some(connection);
        }
        response
    }

    /// Writes the request and reads the answer; `retry` when the request may be sent
    /// again after the server closed the connection before answering.
    fn exchange(
        &self,
        connection: &mut BufReader<Stream>,
        bytes: &[u8],
        retry: bool,
    ) -> Result<(Response, bool), Failed> {
        let stream = connection.get_mut();
        if let Err(error) = stream.write_all(bytes).and_then(|_| stream.flush()) {
            return Err(Failed::Stale(error.to_string()));
        }
        match read_response(connection, self.cap) {
            Ok(answer) => Ok(answer),
            Err(ReadError::Closed) if retry => Err(Failed::Stale(ReadError::Closed.to_string())),
            Err(ReadError::Io(e))
                if retry
                    && matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
            {
                Err(Failed::Stale(e.to_string()))
            }
            Err(error) => Err(Failed::Final(error.to_string())),
        }
    }

    fn connect(&self) -> Result<BufReader<Stream>, String> {
        let (host, port) = (self.target.host.as_str(), self.target.port);
        let addresses = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {}: {}", host, e))?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        let mut connected = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                Ok(socket) => {
                    connected = Some(socket);
                    break;
                }
                Err(error) => last = error,
            }
        }
        let socket =
            connected.ok_or_else(|| format!("connecting to {}:{}: {}", host, port, last))?;
        let timeouts = |socket: &TcpStream, read: Duration| -> Result<(), String> {
            socket
                .set_read_timeout(Some(read))
                .and_then(|_| socket.set_write_timeout(Some(WRITE_TIMEOUT)))
                .and_then(|_| socket.set_nodelay(true))
                .map_err(|e| e.to_string())
        };
        let stream = match (&self.tls, self.target.tls) {
            (Some(config), true) => {
                timeouts(&socket, CONNECT_TIMEOUT)?;
                Stream::Tls(Box::new(crate::tls::handshake(config, host, socket)?))
            }
            (None, true) => return Err("https without a TLS configuration".into()),
            (_, false) => Stream::Plain(socket),
        };
        timeouts(stream.socket(), self.read_timeout)?;
        Ok(BufReader::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8], cap: usize) -> Result<(Response, bool), ReadError> {
        read_response(&mut BufReader::with_capacity(7, raw), cap)
    }

    fn body(raw: &[u8]) -> Vec<u8> {
        read(raw, 1024).unwrap().0.body
    }

    #[test]
    fn a_content_length_body_keeps_the_connection() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 11\r\n\r\n{\"job\":null}extra";
        let (response, reusable) = read(raw, 1024).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"job\":null");
        assert!(reusable);
        let close =
            b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";
        let (response, reusable) = read(close, 1024).unwrap();
        assert_eq!(
            (response.status, response.body.as_slice(), reusable),
            (401, &b"no"[..], false)
        );
    }

    #[test]
    fn a_chunked_body_is_joined_with_extensions_and_trailers_ignored() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n0005\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
        let (response, reusable) = read(raw, 1024).unwrap();
        assert_eq!(response.body, b"Wikipedia in\r\n\r\nchunks.");
        assert!(reusable);
        // Transfer-Encoding wins over a Content-Length beside it.
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
        assert_eq!(body(both), b"ok");
    }

    #[test]
    fn a_body_without_length_runs_to_the_close() {
        let (response, reusable) = read(b"HTTP/1.0 200 OK\n\nall of it", 1024).unwrap();
        assert_eq!(response.body, b"all of it");
        assert!(!reusable);
        let gzip = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw";
        let (response, reusable) = read(gzip, 1024).unwrap();
        assert_eq!((response.body.as_slice(), reusable), (&b"raw"[..], false));
        let kept = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
        assert!(read(kept, 1024).unwrap().1);
    }

    #[test]
    fn other_bytes_in_a_reason_or_a_value_are_borne() {
        let raw = b"HTTP/1.1 200 Gr\xfc\xdf\r\nServer: caf\xe9\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(body(raw), b"{}");
    }

    #[test]
    fn interim_answers_and_bodiless_statuses() {
        let raw =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
        let (response, reusable) = read(raw, 1024).unwrap();
        assert_eq!(
            (response.status, response.body.len(), reusable),
            (204, 0, true)
        );
    }

    #[test]
    fn oversize_answers_are_refused() {
        let long = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a";
        assert!(matches!(read(long, 10), Err(ReadError::TooLarge(10))));
        assert_eq!(read(long, 11).unwrap().0.body.len(), 11);
        let chunks = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n6789ab\r\n0\r\n\r\n";
        assert!(matches!(read(chunks, 10), Err(ReadError::TooLarge(10))));
        let open = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789a";
        assert!(matches!(read(open, 10), Err(ReadError::TooLarge(10))));
        let mut header = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        header.extend(std::iter::repeat(b'a').take(MAX_LINE));
        header.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(read(&header, 10), Err(ReadError::Malformed(_))));
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(matches!(
            read(many.as_bytes(), 10),
            Err(ReadError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_and_cut_answers_are_errors() {
        assert!(matches!(read(b"", 10), Err(ReadError::Closed)));
        for raw in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nCont\xe9nt-Length: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            let result = read(raw, 1024);
            assert!(
                matches!(result, Err(ReadError::Malformed(_))),
                "{:?}: {:?}",
                String::from_utf8_lossy(raw),
                result
            );
        }
        for cut in [
            &b"HTTP/1.1 200 OK\r\nContent-Le"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        ] {
            let result = read(cut, 1024);
            assert!(
                matches!(&result, Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof),
                "{:?}: {:?}",
                String::from_utf8_lossy(cut),
                result
            );
        }
    }

    #[test]
    fn urls_split_into_connection_and_request() {
        let target = Target::parse("https://medic.example.com:8443/base").unwrap();
        assert_eq!(
            target,
            Target {
                tls: true,
                authority: "medic.example.com:8443".into(),
                host: "medic.example.com".into(),
                port: 8443,
                prefix: "/base".into(),
            }
        );
        assert_eq!(Target::parse("https://m").unwrap().port, 443);
        assert_eq!(Target::parse("http://localhost/").unwrap().port, 80);
        let v6 = Target::parse("http://[::1]:8080").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority.as_str(), v6.port),
            ("::1", "[::1]:8080", 8080)
        );
        assert!(v6.is_loopback());
        for bad in [
            "ftp://x",
            "https://",
            "https:///v2",
            "https://m:0",
            "https://m:99999",
            "https://m:+80",
            "https://m:80x",
            "https://user:pw@m",
            "http://127.0.0.1:80@evil.example.com",
            "https://m/a b",
            "https://m/?x=1",
            "https://m/#x",
            "https://[::1",
            "https://[zz]:80",
            "https://exämple.com",
            "https://m\\@evil",
        ] {
            assert!(Target::parse(bad).is_err(), "{} must be refused", bad);
        }
    }

    #[test]
    fn a_request_carries_host_and_length() {
        let target = Target::parse("http://127.0.0.1:8080/medic").unwrap();
        let get = request_bytes(
            "GET",
            &target,
            "/v2/agent/jobs?wait=30",
            &[("Authorization", "Bearer k")],
            None,
        );
        assert_eq!(
            String::from_utf8(get).unwrap(),
            "GET /medic/v2/agent/jobs?wait=30 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer k\r\n\r\n"
        );
        let post = request_bytes("POST", &target, "/r", &[], Some(b"{}"));
        assert!(String::from_utf8(post)
            .unwrap()
            .ends_with("Content-Length: 2\r\n\r\n{}"));
    }
}
