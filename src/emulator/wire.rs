//! The mock's HTTP/1.1 server, on `std::net`: accepting connections (a
//! thread each, kept alive, `TCP_NODELAY`), reading requests (bodies with a
//! `Content-Length`, or chunked, chunk by chunk with their trailers), and
//! putting answers on the wire or closing the connection instead.
//!
//! Why our own: a streamed answer has to be seen chunk by chunk as it
//! arrives, trailers included, and an injected fault has to be able to close
//! the socket; a general server library decodes chunked bodies itself, drops
//! trailers, and keeps its sockets to itself. What is routed where is
//! `serve`'s business: this file hands it one [`Request`] at a time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::vec;

use super::serve::{dispatch, error_answer};
use super::*;
use crate::transport::builtin;

/// Request heads larger than this are refused: the runtime sends a few
/// hundred bytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One request as read off a connection, and the connection to answer on.
pub(super) struct Request {
    /// Who sent it: the runtime's end of the connection.
    pub(super) peer: Option<SocketAddr>,
    pub(super) method: String,
    pub(super) path: String,
    /// The headers, in the order received.
    pub(super) headers: Vec<(String, String)>,
    /// A `Content-Length` body, read whole. A chunked body is read by whoever
    /// handles the request: whole ([`Request::read_body`]) or chunk by chunk.
    pub(super) body: Vec<u8>,
    chunked: bool,
    /// The client asked to close after this answer (or spoke HTTP/1.0).
    close: bool,
    reader: BufReader<TcpStream>,
    /// Gives the connection back to its thread once answered, or `None` to
    /// end it.
    done: mpsc::Sender<Option<BufReader<TcpStream>>>,
}

/// One piece of a chunked body.
pub(super) enum Piece {
    Data(Vec<u8>),
    /// The last chunk, with its trailers.
    End(Vec<(String, String)>),
}

/// Accepts connections until the mock is dropped, a thread for each.
pub(super) fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        // Each answer is written whole and the client waits for it: with
        // Nagle on, a second segment waits for the client's delayed ACK.
        let _ = stream.set_nodelay(true);
        let id = shared.connection_ids.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            shared.connections().insert(id, clone);
        }
        let shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("mock-connection".to_owned())
            .spawn(move || {
                serve_connection(&shared, stream);
                shared.connections().remove(&id);
            });
        // Without a thread the connection is dropped, and so closed.
        drop(spawned);
    }
}

/// Reads requests off one connection and dispatches each, waiting for its
/// answer before reading the next, until either side closes.
fn serve_connection(shared: &Arc<Shared>, stream: TcpStream) {
    let mut reader = BufReader::new(stream);
    loop {
        let (done, answered) = mpsc::channel();
        let request = match read_request(reader, done) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(mut reader) => {
                let bad = error_answer(400, "Malformed request", "BadRequest");
                let _ = reader.get_mut().write_all(&answer_bytes(&bad, true));
                return;
            }
        };
        dispatch(shared, request);
        match answered.recv() {
            Ok(Some(back)) => reader = back,
            _ => return,
        }
    }
}

/// Reads one request's head and, unless it is chunked, its body. `Ok(None)`
/// when the client closed between requests; `Err` (with the connection, to
/// answer 400 on) when what came is not a request.
fn read_request(
    mut reader: BufReader<TcpStream>,
    done: mpsc::Sender<Option<BufReader<TcpStream>>>,
) -> Result<Option<Request>, BufReader<TcpStream>> {
    let mut budget = MAX_HEAD_BYTES;
    let line = match read_line(&mut reader, &mut budget) {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(None),
        Err(_) => return Err(reader),
    };
    let mut words = line.split(' ');
    let (Some(method), Some(path), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return Err(reader);
    };
    if !version.starts_with("HTTP/1.") {
        return Err(reader);
    }
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut close = version == "HTTP/1.0";
    let mut headers = Vec::new();
    loop {
        let Ok(Some(line)) = read_line(&mut reader, &mut budget) else {
            return Err(reader);
        };
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(reader);
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    close |= find_header(&headers, "Connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let chunked = builtin::is_chunked(&headers);
    let length = match find_header(&headers, "Content-Length") {
        Some(_) if chunked => 0,
        Some(v) => match v.parse::<usize>() {
            Ok(length) => length,
            Err(_) => return Err(reader),
        },
        None => 0,
    };
    // curl and others wait for this before sending a large body.
    if find_header(&headers, "Expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        let _ = reader.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let mut body = Vec::with_capacity(length.min(8 * 1024 * 1024));
    // A body cut short is kept as far as it came; the handlers judge it as
    // they would any other, and the connection ends after the answer.
    if reader
        .by_ref()
        .take(length as u64)
        .read_to_end(&mut body)
        .is_err()
        || body.len() < length
    {
        close = true;
    }
    Ok(Some(Request {
        peer: reader.get_ref().peer_addr().ok(),
        method,
        path,
        headers,
        body,
        chunked,
        close,
        reader,
        done,
    }))
}

/// One line without its CRLF, charged against `budget`, read as the
/// runtime's own client reads its answers; `None` at a clean end of the
/// connection. A line too long or not UTF-8 is `InvalidData`.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<Option<String>> {
    match builtin::read_line(reader, budget) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        other => other.map(Some),
    }
}

impl Request {
    /// Reads a chunked body whole into `body`. A body cut short is kept as
    /// far as it came, and the connection ends after the answer.
    pub(super) fn read_body(&mut self) {
        while self.chunked {
            match self.read_chunk(None) {
                Ok(Piece::Data(data)) => self.body.extend_from_slice(&data),
                Ok(Piece::End(_)) => self.chunked = false,
                Err(_) => {
                    self.chunked = false;
                    self.close = true;
                }
            }
        }
    }

    /// Reads the next piece of a chunked body, waiting until `until` at the
    /// latest (then the error's kind is `TimedOut`).
    pub(super) fn read_chunk(&mut self, until: Option<Instant>) -> io::Result<Piece> {
        let result = self.read_chunk_until(until);
        if result.is_err() {
            // The body's framing is lost: no other request can follow.
            self.close = true;
        }
        if matches!(result, Ok(Piece::End(_))) {
            self.chunked = false;
        }
        result
    }

    fn read_chunk_until(&mut self, until: Option<Instant>) -> io::Result<Piece> {
        let timeout = match until {
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Some(left)
            }
            None => None,
        };
        self.reader.get_ref().set_read_timeout(timeout)?;
        let result = read_piece(&mut self.reader);
        self.reader.get_ref().set_read_timeout(None)?;
        result.map_err(|e| match e.kind() {
            // What a read timeout reports, by platform.
            io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
            _ => e,
        })
    }
}

/// One chunk (size line, data, CRLF), or the last one and its trailers.
fn read_piece(reader: &mut impl BufRead) -> io::Result<Piece> {
    let invalid = || io::Error::from(io::ErrorKind::InvalidData);
    let mut budget = MAX_HEAD_BYTES;
    let mut line = || {
        read_line(reader, &mut budget)?.ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))
    };
    let size_line = line()?;
    let size = size_line.split(';').next().unwrap_or("").trim();
    let size = usize::from_str_radix(size, 16).map_err(|_| invalid())?;
    if size == 0 {
        let mut trailers = Vec::new();
        loop {
            let trailer = line()?;
            if trailer.is_empty() {
                return Ok(Piece::End(trailers));
            }
            let (name, value) = trailer.split_once(':').ok_or_else(invalid)?;
            trailers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut data = vec![0; size];
    reader.read_exact(&mut data)?;
    let mut crlf = [0; 2];
    reader.read_exact(&mut crlf)?;
    if crlf != *b"\r\n" {
        return Err(invalid());
    }
    Ok(Piece::Data(data))
}

/// Sends the answer, or closes the connection when there is none. An answer
/// with `Connection: close` closes it after it is sent.
pub(super) fn deliver(_shared: &Shared, request: Request, answer: Option<Answer>) {
    let Request {
        mut reader,
        done,
        close,
        ..
    } = request;
    let Some(answer) = answer else {
        // The client reads end-of-file where it expected an answer.
        let _ = reader.get_ref().shutdown(Shutdown::Both);
        let _ = done.send(None);
        return;
    };
    let close = close
        || find_header(&answer.headers, "Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let sent = reader.get_mut().write_all(&answer_bytes(&answer, close));
    if sent.is_err() || close {
        let _ = reader.get_ref().shutdown(Shutdown::Both);
        let _ = done.send(None);
        return;
    }
    // A runtime that went away cannot be told anything more.
    let _ = done.send(Some(reader));
}

/// Status line, headers, `Content-Length`, blank line, body.
fn answer_bytes(answer: &Answer, close: bool) -> Vec<u8> {
    let reason = match answer.status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", answer.status);
    for (name, value) in &answer.headers {
        // Only printable ASCII, so no test can split the head by accident.
        let printable = |s: &str| s.bytes().all(|b| (b' '..=b'~').contains(&b));
        if printable(name) && printable(value) && !name.eq_ignore_ascii_case("Connection") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&answer.body);
    bytes
}
