//! The mock's HTTP/1.1 server, on `std::net`: accepting connections (a
//! thread each, kept alive, `TCP_NODELAY`), reading requests (bodies with a
//! `Content-Length`, or chunked, chunk by chunk with their trailers), and
//! putting answers on the wire or closing the connection instead, once the
//! status is noted in the request's record ([`finish`]).
//!
//! Why our own: a streamed answer has to be seen chunk by chunk as it
//! arrives, trailers included, and an injected fault has to be able to close
//! the socket; a general server library decodes chunked bodies itself, drops
//! trailers, and keeps its sockets to itself. What is routed where is
//! `serve`'s business: this file hands it one [`Request`] at a time through
//! the [`Dispatch`] function it was given, and never imports it.

use std::borrow::ToOwned;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::string::String;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::answer::{Answer, error_answer};
use super::{Shared, find_header};
use tiny_lambda::http1::{self, Framing};

/// What is done with each request read: `serve::dispatch`, handed in by
/// `RuntimeApi::start`, so that the server does not need to know the routes.
pub(super) type Dispatch = fn(&Arc<Shared>, Request);

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

/// One piece of a chunked body, as the codec reads it.
pub(super) use tiny_lambda::http1::read::Chunk as Piece;

/// Accepts connections until the mock is dropped, a thread for each.
pub(super) fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, dispatch: Dispatch) {
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
                serve_connection(&shared, stream, dispatch);
                shared.connections().remove(&id);
            });
        // Without a thread the connection is dropped, and so closed.
        drop(spawned);
    }
}

/// Reads requests off one connection and dispatches each, waiting for its
/// answer before reading the next, until either side closes.
fn serve_connection(shared: &Arc<Shared>, stream: TcpStream, dispatch: Dispatch) {
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
    let (line, head) = match http1::read::read_request_head(&mut reader) {
        Ok(Some(request)) => request,
        Ok(None) => return Ok(None),
        Err(_) => return Err(reader),
    };
    let (method, path) = (line.method, line.path);
    let mut close = !http1::keeps_alive(&head);
    let chunked = http1::is_chunked(&head.headers);
    let length = match http1::framing(&head, true) {
        Ok(Framing::Length(length)) => length,
        Ok(_) => 0,
        Err(_) => return Err(reader),
    };
    let headers = head.headers;
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

impl Request {
    /// Reads a chunked body whole into `body`. A body cut short is kept as
    /// far as it came, and the connection ends after the answer.
    pub(super) fn read_body(&mut self) {
        while self.chunked {
            match self.read_chunk(None) {
                Ok(Piece::Data(data)) => self.body.extend_from_slice(&data),
                Ok(Piece::Last(_)) => self.chunked = false,
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
        if matches!(result, Ok(Piece::Last(_))) {
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
    http1::read::read_chunk(reader, http1::MAX_BODY_BYTES)
}

/// Notes the status in the request's record, wakes waiters, and sends the
/// answer (now or after `delay`); `None` closes the connection instead.
pub(super) fn finish(
    shared: &Arc<Shared>,
    request: Request,
    record: usize,
    answer: Option<Answer>,
    delay: Option<Duration>,
) {
    {
        let mut state = shared.lock();
        if let Some(r) = state.records.get_mut(record) {
            r.status = answer.as_ref().map_or(0, |a| a.status);
        }
        shared.changed.notify_all();
    }
    match delay {
        // A short-lived thread sleeps, so no connection waits on another.
        Some(delay) => {
            let shared = Arc::clone(shared);
            thread::spawn(move || {
                thread::sleep(delay);
                deliver(&shared, request, answer);
            });
        }
        None => deliver(shared, request, answer),
    }
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
    // Only printable ASCII, so no test can split the head by accident.
    let printable = |s: &str| s.bytes().all(|b| (b' '..=b'~').contains(&b));
    let mut headers: Vec<(&str, &str)> = answer
        .headers
        .iter()
        .filter(|(name, value)| {
            printable(name) && printable(value) && !name.eq_ignore_ascii_case("Connection")
        })
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    if close {
        headers.push(("Connection", "close"));
    }
    let mut bytes = Vec::with_capacity(256 + answer.body.len());
    http1::write_response_head(
        &mut bytes,
        answer.status,
        reason,
        &headers,
        Some(answer.body.len()),
    );
    bytes.extend_from_slice(&answer.body);
    bytes
}
