//! The built-in transport: just enough HTTP/1.1 for the Runtime API, on
//! `std::net`. One kept-alive connection to one host, `GET` and `POST`,
//! request bodies with a `Content-Length`, response bodies with a
//! `Content-Length` or chunked. The HTTP/1.1 itself is [`crate::http1`]:
//! this file is the socket around it.
//!
//! Why it exists beside ureq: every byte here ships in every bootstrap, and
//! the Runtime API is a local, plain-HTTP peer with no TLS, redirects,
//! proxies, cookies or compression. Without the `ureq` feature echo is a
//! third smaller (size-report's `echo-builtin` row).

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::string::String;
use std::vec::Vec;

use super::{Request, Response, Transport, USER_AGENT, connect, is_stale, keeps_alive};
use crate::http1;

/// One connection to the Runtime API, opened on first use and kept alive.
pub(crate) struct Connection {
    authority: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Transport for Connection {
    fn new(authority: &str) -> Connection {
        Connection {
            authority: authority.into(),
            stream: None,
        }
    }

    /// A kept-alive connection that the server closed while we were idle fails
    /// on first use with nothing received; a `GET` is then sent once more on a
    /// fresh connection.
    fn send(&mut self, request: &Request) -> io::Result<Response> {
        let reused = self.stream.is_some();
        match self.send_once(request) {
            Err(e) if reused && request.method == "GET" && is_stale(&e) => self.send_once(request),
            other => other,
        }
    }
}

impl Connection {
    fn send_once(&mut self, request: &Request) -> io::Result<Response> {
        let result = self.exchange(request);
        if !keeps_alive(&result) {
            self.stream = None;
        }
        result
    }

    fn exchange(&mut self, request: &Request) -> io::Result<Response> {
        let reader = match &mut self.stream {
            Some(reader) => reader,
            None => self.stream.insert(connect(&self.authority)?),
        };
        let mut message = request_head(request, &self.authority);
        let body = request.body;
        let stream = reader.get_mut();
        // Small bodies go out with the head in one write, one TCP segment;
        // large ones are written from where they lie rather than copied.
        if body.len() <= 16 * 1024 {
            message.extend_from_slice(body);
            stream.write_all(&message)?;
        } else {
            stream.write_all(&message)?;
            stream.write_all(body)?;
        }
        read_response(reader)
    }
}

/// The request line and headers, ending with the blank line; a body is
/// announced with its `Content-Length`, except on a `GET`, which has none.
pub(crate) fn request_head(request: &Request, host: &str) -> Vec<u8> {
    let length = (request.method != "GET").then_some(request.body.len());
    let mut head = Vec::with_capacity(256);
    http1::write_request_head(
        &mut head,
        [request.method, request.path],
        host,
        USER_AGENT,
        request.headers,
        length,
    );
    head
}

/// Read one answer with the codec's reader.
pub(crate) fn read_response(reader: &mut impl BufRead) -> io::Result<Response> {
    let (head, body) = http1::read::read_response(reader)?;
    Ok(Response {
        status: head.status,
        keep_alive: http1::keeps_alive(&head),
        headers: head.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_are_exact() {
        let next = Request {
            method: "GET",
            path: "/2018-06-01/runtime/invocation/next",
            headers: &[],
            body: &[],
        };
        let get = request_head(&next, "127.0.0.1:9001");
        let expected = concat!(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n",
            "Host: 127.0.0.1:9001\r\n",
            "User-Agent: tiny-lambda/",
            env!("CARGO_PKG_VERSION"),
            "\r\n\r\n"
        );
        assert_eq!(String::from_utf8(get).unwrap(), expected);
        let body = [b'x'; 1234];
        let headers = [("Content-Type", "application/json")];
        let post = request_head(
            &Request {
                method: "POST",
                path: "/r",
                headers: &headers,
                body: &body,
            },
            "h:1",
        );
        let text = String::from_utf8(post).unwrap();
        assert!(
            text.starts_with("POST /r HTTP/1.1\r\nHost: h:1\r\n"),
            "{text}"
        );
        assert!(
            text.ends_with("Content-Type: application/json\r\nContent-Length: 1234\r\n\r\n"),
            "{text}"
        );
    }
}
