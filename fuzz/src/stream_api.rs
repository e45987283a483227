//! The Runtime API side of the `stream` target: a server on 127.0.0.1 that
//! takes one streamed post after another on each kept-alive connection and
//! decodes it with its own strict HTTP/1.1 reader (request line, field lines,
//! `hex CRLF data CRLF` chunks with no extensions, `0 CRLF`, trailer lines,
//! blank line; anything else is reported as a failure), written apart from
//! the runtime's encoder so that the two check each other.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

/// The most body bytes one request may carry before the server calls it a
/// runaway: four times what one input may write.
const MAX_BODY: usize = 1024 * 1024;

/// One request as the server decoded it.
#[derive(Debug)]
pub struct Seen {
    pub request_line: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub chunks: Vec<usize>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, Vec<u8>)>,
}

pub type Report = Result<Seen, String>;

pub struct Api {
    pub authority: String,
    reports: Mutex<Receiver<Report>>,
}

pub fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let authority = listener.local_addr().unwrap().to_string();
        let (tx, rx) = channel();
        thread::spawn(move || serve(listener, tx));
        Api {
            authority,
            reports: Mutex::new(rx),
        }
    })
}

/// One kept-alive connection after another, one request after another.
fn serve(listener: TcpListener, reports: Sender<Report>) {
    for connection in listener.incoming() {
        let Ok(connection) = connection else { continue };
        // Within a request, a stall is a failure; between them, waiting is not.
        connection
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(connection);
        loop {
            match reader.fill_buf() {
                Ok([]) => break, // the runtime closed it
                Ok(_) => {}
                Err(e) if is_timeout(&e) => continue,
                Err(e) => {
                    let _ = reports.send(Err(format!("reading the next request: {e}")));
                    break;
                }
            }
            let seen = read_request(&mut reader).and_then(|seen| {
                // Everything up to the last chunk was written before the
                // runtime reads the answer: anything more is already here.
                match stray_bytes(&reader) {
                    Some(stray) => Err(format!(
                        "bytes after the terminating chunk: {:?}",
                        String::from_utf8_lossy(&stray)
                    )),
                    None => Ok(seen),
                }
            });
            let ok = seen.is_ok();
            let _ = reports.send(seen);
            if !ok {
                break; // drop the connection: it cannot be read further
            }
            let answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
            if reader.get_mut().write_all(answer).is_err() {
                break;
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// What is readable now, without waiting: buffered or in the socket.
fn stray_bytes(reader: &BufReader<TcpStream>) -> Option<Vec<u8>> {
    if !reader.buffer().is_empty() {
        return Some(reader.buffer().to_vec());
    }
    let socket = reader.get_ref();
    socket.set_nonblocking(true).unwrap();
    let mut peeked = [0; 64];
    let stray = match socket.peek(&mut peeked) {
        Ok(n) if n > 0 => Some(peeked[..n].to_vec()),
        _ => None,
    };
    socket.set_nonblocking(false).unwrap();
    stray
}

/// A line ended by CRLF, without it; no other CR or LF in it.
fn read_line(reader: &mut impl BufRead, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    reader
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("{what}: {e}"))?;
    if !line.ends_with(b"\r\n") {
        return Err(format!(
            "{what}: not a CRLF line within {limit} bytes: {:?}",
            String::from_utf8_lossy(&line)
        ));
    }
    line.truncate(line.len() - 2);
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(format!("{what}: a bare CR or LF: {line:?}"));
    }
    Ok(line)
}

pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 `field-value`: visible bytes (obs-text too), spaces and tabs
/// only between them; no control bytes.
pub fn is_field_value(value: &[u8]) -> bool {
    !value.iter().any(is_ctl) && trim(value).len() == value.len()
}

/// A control byte: not allowed anywhere in a field value (HTAB is).
pub fn is_ctl(b: &u8) -> bool {
    (*b < 0x20 && *b != b'\t') || *b == 0x7f
}

/// Without the spaces and tabs around it, as a field value is read.
pub fn trim(value: &[u8]) -> &[u8] {
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !ws(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &value[start..end]
}

/// `name: value`, the name a token, the value a field value once its
/// surrounding spaces and tabs are taken off.
fn field_line(line: &[u8], what: &str) -> Result<(String, Vec<u8>), String> {
    let colon = line.iter().position(|&b| b == b':').ok_or_else(|| {
        format!(
            "{what} without a colon: {:?}",
            String::from_utf8_lossy(line)
        )
    })?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(format!("{what}: the name is not a token: {name:?}"));
    }
    let value = trim(value);
    if !is_field_value(value) {
        return Err(format!("{what}: not a field value: {value:?}"));
    }
    Ok((String::from_utf8(name.to_vec()).unwrap(), value.to_vec()))
}

/// Field lines up to the blank line.
fn field_lines(reader: &mut impl BufRead, what: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(reader, 64 * 1024, what)?;
        if line.is_empty() {
            return Ok(fields);
        }
        if fields.len() == 32 {
            return Err(format!("more than 32 {what}s"));
        }
        fields.push(field_line(&line, what)?);
    }
}

fn read_request(reader: &mut impl BufRead) -> Result<Seen, String> {
    let request_line = read_line(reader, 1024, "the request line")?;
    let request_line = String::from_utf8(request_line).map_err(|e| format!("request line: {e}"))?;
    let headers = field_lines(reader, "header")?;
    let mut chunks = Vec::new();
    let mut body = Vec::new();
    loop {
        let size = read_line(reader, 64, "a chunk size")?;
        if size.is_empty() || size.len() > 8 || !size.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!("a chunk size that is not 1-8 hex digits: {size:?}"));
        }
        let size = usize::from_str_radix(std::str::from_utf8(&size).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        if body.len() + size > MAX_BODY {
            return Err(format!(
                "a chunk of {size} bytes after {} bytes",
                body.len()
            ));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|e| format!("a chunk of {size} bytes: {e}"))?;
        let mut crlf = [0; 2];
        reader
            .read_exact(&mut crlf)
            .map_err(|e| format!("after a chunk: {e}"))?;
        if crlf != *b"\r\n" {
            return Err(format!(
                "a chunk of {size} bytes not followed by CRLF: {crlf:?}"
            ));
        }
        chunks.push(size);
    }
    let trailers = field_lines(reader, "trailer")?;
    Ok(Seen {
        request_line,
        headers,
        chunks,
        body,
        trailers,
    })
}

pub fn next_report(timeout: Duration) -> Option<Report> {
    api().reports.lock().unwrap().recv_timeout(timeout).ok()
}
