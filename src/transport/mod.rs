//! The Runtime API transport: how one request reaches the Runtime API and how
//! its whole answer comes back. Not to be confused with an HTTP *event* (an
//! API Gateway request handed to a handler): this is the runtime's own wire.
//!
//! Two implementations of one small contract, [`Transport`], chosen at compile
//! time by the `ureq` feature:
//!
//! - `ureq_agent` (feature `ureq`, on by default): ureq 3, its agent built from
//!   the parts the Runtime API needs and nothing more (a resolver that takes
//!   the address literally, a plain TCP connector, small buffers).
//! - `builtin` (without `ureq`): a socket and [`crate::http1`], the
//!   smallest tier. Its tests also run in the ureq build, where the two are
//!   held to the same answers.
//!
//! Both keep one connection alive, send bodies with a `Content-Length`, read
//! bodies sized either way, and turn every failure into an `io::Error`; the
//! client above them cannot tell which one it has. Features are additive:
//! enabling `ureq` anywhere in a dependency graph only swaps this one type.
//!
//! A streamed answer does not fit the trait (its body is written while the
//! handler runs, and ends with trailers ureq cannot send): `stream_post`
//! sends it on a connection of its own, in both builds.

use std::io::{self, BufReader};
use std::net::TcpStream;
use std::string::String;
use std::vec::Vec;

#[cfg(any(not(feature = "ureq"), test, fuzzing))]
pub(crate) mod builtin;
pub(crate) mod stream_post;
#[cfg(feature = "ureq")]
pub(crate) mod ureq_agent;

/// The transport this build talks through.
#[cfg(feature = "ureq")]
pub(crate) type Connection = ureq_agent::Connection;
/// The transport this build talks through.
#[cfg(not(feature = "ureq"))]
pub(crate) type Connection = builtin::Connection;

/// What every transport does: send one request to the one host it was made
/// for, and read the answer whole.
pub(crate) trait Transport {
    /// A transport for `host:port`; nothing is opened yet.
    fn new(authority: &str) -> Self;

    /// Send one request and read its answer. A `GET` whose kept-alive
    /// connection turns out to have been closed while idle is sent once more
    /// on a fresh one; a `POST` never is: the caller decides that.
    fn send(&mut self, request: &Request) -> io::Result<Response>;
}

/// One request: the method, the path (with its leading `/`), extra headers
/// and the body. `Host`, `User-Agent` and `Content-Length` are added.
#[derive(Clone)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: &'a [u8],
}

/// Status, headers and body of one answer, as received.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the connection may carry the next exchange (no
    /// `Connection: close`, not HTTP/1.0).
    pub(crate) keep_alive: bool,
}

impl Response {
    /// A header's value by name, ignoring case as HTTP does.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A failure that means the server had closed the kept-alive connection
/// while we were idle: end-of-file or a reset before any answer.
pub(crate) fn is_stale(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// Whether a kept-alive connection is idle and open: a read would block
/// (nothing sent, no end-of-file, no error), asked without waiting. The API
/// sends nothing between exchanges, so any byte or error means it is done.
pub(crate) fn is_idle(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let idle = matches!(stream.peek(&mut [0]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && idle
}

/// Whether the connection that carried this exchange may carry the next:
/// after any failure it may be mid-message.
pub(crate) fn keeps_alive(result: &io::Result<Response>) -> bool {
    matches!(result, Ok(r) if r.keep_alive)
}

/// A new connection to `host:port`, read through an 8 KiB buffer.
pub(crate) fn connect(authority: &str) -> io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect(authority)?;
    // Each request (or chunk) is written whole and then we wait; with Nagle
    // on, a second segment (the body of a large post, the next chunk of a
    // stream) could wait for the peer's delayed ACK, about 40 ms on Linux.
    stream.set_nodelay(true)?;
    Ok(BufReader::with_capacity(8 * 1024, stream))
}

/// What the runtime calls itself in `User-Agent`.
pub(crate) const USER_AGENT: &str = concat!("tiny-lambda/", env!("CARGO_PKG_VERSION"));

/// The same scripted server answers both transports, and each scenario must
/// come out the same from both: what the server received, what the caller
/// got back, and how many connections it took. The integration suite runs
/// every example over each transport too; this pins the contract itself.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::string::ToString;
    use std::sync::mpsc;
    use std::thread;
    use std::{format, vec};

    /// One request as the server saw it: the request line, lower-cased header
    /// names with their values (sorted), and the body.
    type Seen = (String, Vec<(String, String)>, Vec<u8>);

    /// What the server does after reading each request: answer these bytes,
    /// then close the connection or keep reading on it.
    struct Step {
        answer: &'static [u8],
        close: bool,
    }

    /// Serves `steps` in order over as many connections as the client opens;
    /// returns the address and a channel of (connection number, request).
    fn serve(steps: Vec<Step>) -> (String, mpsc::Receiver<(usize, Seen)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut steps = steps.into_iter();
            for (n, stream) in listener.incoming().enumerate() {
                let mut stream = BufReader::new(stream.unwrap());
                while let Some(seen) = read_request(&mut stream) {
                    let Some(step) = steps.next() else { return };
                    tx.send((n, seen)).unwrap();
                    stream.get_mut().write_all(step.answer).unwrap();
                    if step.close {
                        break;
                    }
                }
            }
        });
        (address, rx)
    }

    fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).ok()?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':')?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        headers.retain(|(name, _)| name != "accept"); // ureq's own extra, harmless
        headers.sort();
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some((line.trim_end().to_string(), headers, body))
    }

    /// Runs `requests` through a fresh transport of type `T` against `steps`.
    fn scenario<T: Transport>(
        steps: Vec<Step>,
        requests: &[Request],
    ) -> (Vec<io::Result<Response>>, Vec<(usize, Seen)>) {
        let (address, seen) = serve(steps);
        let mut transport = T::new(&address);
        let answers = requests.iter().map(|r| transport.send(r)).collect();
        let seen = seen.try_iter().collect::<Vec<_>>();
        let host = format!("host: {address}");
        // The port differs per run; the rest must not.
        let seen = seen
            .into_iter()
            .map(|(n, (line, headers, body))| {
                let headers = headers
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if format!("{k}: {v}") == host {
                            "HOST".into()
                        } else {
                            v
                        };
                        (k, v)
                    })
                    .collect();
                (n, (line, headers, body))
            })
            .collect();
        (answers, seen)
    }

    /// What the caller sees of an answer: status, a few headers, body; or the
    /// error's kind.
    fn outcome(
        answer: &io::Result<Response>,
    ) -> std::result::Result<(u16, Option<&str>, &[u8]), ()> {
        match answer {
            Ok(r) => Ok((r.status, r.header("x-seen"), &r.body)),
            Err(_) => Err(()),
        }
    }

    const GET: Request = Request {
        method: "GET",
        path: "/2018-06-01/runtime/invocation/next",
        headers: &[],
        body: b"",
    };
    const POST: Request = Request {
        method: "POST",
        path: "/2018-06-01/runtime/invocation/r1/response",
        headers: &[("Content-Type", "application/json")],
        body: b"{\"ok\":true}",
    };
    const SIZED: &[u8] = b"HTTP/1.1 200 OK\r\nX-Seen: yes\r\nContent-Length: 5\r\n\r\nhello";
    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
    const ACCEPTED: &[u8] =
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
    const FAILED: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    const NOT_UTF8: &[u8] = b"HTTP/1.1 200 OK\r\nX-Seen: \xff\r\nContent-Length: 0\r\n\r\n";

    fn both(steps: impl Fn() -> Vec<Step>, requests: &[Request]) {
        let (a_answers, a_seen) = scenario::<builtin::Connection>(steps(), requests);
        let (b_answers, b_seen) = scenario::<Connection>(steps(), requests);
        let a: Vec<_> = a_answers.iter().map(outcome).collect();
        let b: Vec<_> = b_answers.iter().map(outcome).collect();
        assert_eq!(a, b, "what the caller got");
        assert_eq!(a_seen, b_seen, "what the server received");
    }

    fn keep(answer: &'static [u8]) -> Step {
        Step {
            answer,
            close: false,
        }
    }

    #[test]
    fn bodies_of_both_framings_over_one_kept_alive_connection() {
        both(
            || vec![keep(SIZED), keep(ACCEPTED), keep(CHUNKED), keep(FAILED)],
            &[GET, POST, GET, POST],
        );
        let (answers, seen) =
            scenario::<Connection>(vec![keep(SIZED), keep(ACCEPTED)], &[GET, POST]);
        assert_eq!(outcome(&answers[0]), Ok((200, Some("yes"), &b"hello"[..])));
        assert_eq!(answers[1].as_ref().unwrap().status, 202);
        // One connection for both, a GET without a body, a POST with its length.
        assert!(seen.iter().all(|(n, _)| *n == 0));
        let (get_line, get_headers, _) = &seen[0].1;
        assert_eq!(get_line, "GET /2018-06-01/runtime/invocation/next HTTP/1.1");
        assert!(!get_headers.iter().any(|(k, _)| k == "content-length"));
        let (_, post_headers, post_body) = &seen[1].1;
        assert!(post_headers.contains(&("content-length".into(), "11".into())));
        assert!(post_headers.contains(&("user-agent".into(), USER_AGENT.into())));
        assert_eq!(post_body, POST.body);
    }

    #[test]
    fn a_get_after_the_server_closed_the_idle_connection_reconnects() {
        let steps = || {
            let close_after = Step {
                answer: SIZED,
                close: true,
            };
            vec![close_after, keep(SIZED)]
        };
        both(steps, &[GET, GET]);
        let (answers, seen) = scenario::<Connection>(steps(), &[GET, GET]);
        assert!(answers.iter().all(|a| a.is_ok()));
        assert_eq!(seen.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn large_bodies_both_ways_and_large_heads_up_to_the_limit() {
        // An answer of a megabyte each way, and heads just under and over the
        // limit: the ureq transport's buffers grow, the built-in reader's
        // budget holds, and both agree.
        let body: &'static [u8] = vec![b'x'; 1 << 20].leak();
        let mut sized =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        sized.extend_from_slice(body);
        let sized: &'static [u8] = sized.leak();
        let head = |pad: usize| -> &'static [u8] {
            let filler = "a".repeat(pad);
            format!("HTTP/1.1 200 OK\r\nX-Seen: {filler}\r\nContent-Length: 0\r\n\r\n")
                .into_bytes()
                .leak()
        };
        let big_post = Request { body, ..POST };
        let (near, over) = (
            head(http1::MAX_HEAD_BYTES - 200),
            head(http1::MAX_HEAD_BYTES),
        );
        both(
            || vec![keep(sized), keep(ACCEPTED), keep(near)],
            &[GET, big_post.clone(), GET],
        );
        both(|| vec![keep(over)], &[GET]);
        let (answers, seen) = scenario::<Connection>(
            vec![keep(sized), keep(ACCEPTED), keep(near), keep(over)],
            &[GET, big_post.clone(), GET, GET],
        );
        assert_eq!(answers[0].as_ref().unwrap().body.len(), 1 << 20);
        assert_eq!(seen[1].1.2.len(), 1 << 20);
        assert!(answers[2].is_ok());
        assert!(answers[3].is_err());
    }

    /// Answers on which the two once differed (the `transports` fuzz target
    /// found them): an interim answer before the final one, a coding that
    /// only contains `chunked`, a value ending in a Unicode space, a chunk
    /// whose size takes in its CR.
    #[test]
    fn answers_the_fuzzer_found_read_alike() {
        const INTERIM: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Seen: yes\r\nContent-Length: 5\r\n\r\nhello";
        const NOT_CHUNKED: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedjjj\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        const NBSP: &[u8] =
            "HTTP/1.1 200 OK\r\nX-Seen: yes\u{a0}\r\nContent-Length: 0\r\n\r\n".as_bytes();
        const MISCOUNTED: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabc\r\n0\r\n\r\n";
        let close = |answer| Step {
            answer,
            close: true,
        };
        both(|| vec![keep(INTERIM), keep(SIZED)], &[GET, GET]);
        let (answers, seen) =
            scenario::<builtin::Connection>(vec![keep(INTERIM), keep(SIZED)], &[GET, GET]);
        assert_eq!(outcome(&answers[0]), Ok((200, Some("yes"), &b"hello"[..])));
        assert_eq!(outcome(&answers[1]), Ok((200, Some("yes"), &b"hello"[..])));
        assert!(seen.iter().all(|(n, _)| *n == 0));
        both(|| vec![close(NOT_CHUNKED)], &[GET]);
        let (answers, _) = scenario::<builtin::Connection>(vec![close(NOT_CHUNKED)], &[GET]);
        assert_eq!(
            answers[0].as_ref().unwrap().body,
            b"5\r\nhello\r\n0\r\n\r\n"
        );
        both(|| vec![keep(NBSP)], &[GET]);
        both(|| vec![close(MISCOUNTED)], &[GET]);
        let (answers, _) = scenario::<builtin::Connection>(vec![close(MISCOUNTED)], &[GET]);
        assert!(answers[0].is_err());
    }

    #[test]
    fn faults_are_errors_on_both() {
        both(|| vec![keep(NOT_UTF8)], &[GET]);
        let (answers, _) = scenario::<Connection>(vec![keep(NOT_UTF8)], &[GET]);
        assert!(answers[0].is_err());
        // Nothing listens on a port just released.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        assert!(builtin::Connection::new(&address).send(&GET).is_err());
        assert!(Connection::new(&address).send(&GET).is_err());
    }
}
