//! The built-in transport: just enough HTTP/1.1 for the Runtime API, on
//! `std::net`. One kept-alive connection to one host, `GET` and `POST`,
//! request bodies with a `Content-Length`, response bodies with a
//! `Content-Length` or chunked.
//!
//! Why it exists beside ureq: every byte here ships in every bootstrap, and the
//! Runtime API is a local, plain-HTTP peer with no TLS, redirects, proxies,
//! cookies or compression. Built without the `ureq` feature, the echo example
//! is a third smaller (419,816 bytes against 627,888 in the size profile;
//! size-report/NOTES.md has the figures). The reading
//! side is split from the socket ([`read_response`] takes any `BufRead`), so
//! it is tested on byte strings.

// In the ureq build nothing calls this transport yet, but it stays compiled
// so that its tests run in every build.
#![cfg_attr(feature = "ureq", allow(dead_code))]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::string::String;
use std::vec::Vec;

use super::{
    MAX_BODY_BYTES, MAX_HEAD_BYTES, Request, Response, Transport, USER_AGENT, is_stale, keeps_alive,
};

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

/// A new connection to `host:port`, read through an 8 KiB buffer.
pub(crate) fn connect(authority: &str) -> io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect(authority)?;
    // Each request (or chunk) is written whole and then we wait; with Nagle
    // on, a second segment (the body of a large post, the next chunk of a
    // stream) could wait for the peer's delayed ACK, about 40 ms on Linux.
    stream.set_nodelay(true)?;
    Ok(BufReader::with_capacity(8 * 1024, stream))
}

/// The request line and headers, ending with the blank line; a body is
/// announced with its `Content-Length`, except on a `GET`, which has none.
pub(crate) fn request_head(request: &Request, host: &str) -> Vec<u8> {
    let length = (request.method != "GET").then_some(request.body.len());
    head(request.method, request.path, host, request.headers, length)
}

/// A request head: `Content-Length` only when `content_length` is given (a
/// chunked post names its framing among `headers` instead).
pub(crate) fn head(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    content_length: Option<usize>,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    let mut line = |parts: &[&str]| {
        for part in parts {
            head.extend_from_slice(part.as_bytes());
        }
        head.extend_from_slice(b"\r\n");
    };
    line(&[method, " ", path, " HTTP/1.1"]);
    line(&["Host: ", host]);
    line(&["User-Agent: ", USER_AGENT]);
    for (name, value) in headers {
        line(&[name, ": ", value]);
    }
    if let Some(length) = content_length {
        let mut digits = [0_u8; 20];
        line(&["Content-Length: ", format_usize(length, &mut digits)]);
    }
    line(&[]);
    head
}

/// Decimal digits without `core::fmt`, which would be the only formatting on this path.
fn format_usize(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// Read one answer: status line, headers, body. Interim answers (`1xx` but
/// `101`) are read and dropped, as ureq does: the final one follows them,
/// and returning an interim one would leave the final one on the
/// connection, to be read as the answer to the next request.
pub(crate) fn read_response(reader: &mut impl BufRead) -> io::Result<Response> {
    loop {
        let response = read_head(reader)?;
        if (100..200).contains(&response.status) && response.status != 101 {
            continue;
        }
        let body = read_body(reader, &response)?;
        return Ok(Response { body, ..response });
    }
}

/// A field value without the spaces and tabs around it (RFC 9110's `OWS`),
/// and nothing else: `str::trim` would also take Unicode spaces (a value
/// ending in U+00A0, say) that are part of the value.
fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// `HTTP/1.0` or `HTTP/1.1`, a space, a three-digit code from 100, then a
/// space and a reason or nothing: the status line as RFC 9112 has it, and
/// as ureq reads it.
fn parse_status_line(line: &str) -> Option<u16> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let (code, reason) = rest.split_at_checked(3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(reason.is_empty() || reason.starts_with(' '))
    {
        return None;
    }
    code.parse().ok().filter(|code| *code >= 100)
}

/// A status line and headers, charged against one `MAX_HEAD_BYTES` budget.
fn read_head(reader: &mut impl BufRead) -> io::Result<Response> {
    let mut budget = MAX_HEAD_BYTES;
    let status_line = read_line(reader, &mut budget)?;
    let status = parse_status_line(&status_line).ok_or_else(|| invalid("malformed status line"))?;
    let mut response = Response {
        status,
        ..Response::default()
    };
    loop {
        let line = read_line(reader, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("malformed header"))?;
        response
            .headers
            .push((name.trim().into(), trim_ows(value).into()));
    }
    // RFC 9112 §6.1: framing that HTTP/1.0 does not have is faulty framing.
    // Decoding chunks here gave one body and ureq (which reads on to the
    // close) another.
    if status_line.starts_with("HTTP/1.0") && response.header("Transfer-Encoding").is_some() {
        return Err(invalid("Transfer-Encoding in an HTTP/1.0 answer"));
    }
    Ok(response)
}

fn read_body(reader: &mut impl BufRead, response: &Response) -> io::Result<Vec<u8>> {
    if response.status == 204 || response.status == 304 || response.status < 200 {
        return Ok(Vec::new());
    }
    if is_chunked(&response.headers) {
        return read_chunked(reader);
    }
    let Some(length) = response.header("Content-Length") else {
        // No length: the body runs to the end of the connection.
        let mut body = Vec::new();
        reader
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut body)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        return Ok(body);
    };
    let length: usize = length
        .parse()
        .map_err(|_| invalid("malformed Content-Length"))?;
    if length > MAX_BODY_BYTES {
        return Err(too_large());
    }
    // One allocation of the right size, then one copy out of the socket: an
    // event of megabytes is never regrown or copied again.
    let mut body = Vec::with_capacity(length);
    let read = reader.take(length as u64).read_to_end(&mut body)?;
    if read < length {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(body)
}

/// Whether any `Transfer-Encoding` line names `chunked` among its
/// comma-separated codings, as ureq reads it; `chunkedjjj` or `notchunked`
/// is another coding, and the body then runs to the end of the connection.
/// The mock Runtime API reads requests by the same rule.
pub(crate) fn is_chunked(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Transfer-Encoding"))
        .flat_map(|(_, value)| value.split(','))
        .any(|coding| trim_ows(coding).eq_ignore_ascii_case("chunked"))
}

/// `Transfer-Encoding: chunked`: hex size line, data, CRLF, until size 0.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut budget = MAX_HEAD_BYTES;
        let line = read_line(reader, &mut budget)?;
        // Hex digits only, spaces and tabs around them: `trim` would also take
        // a stray CR, and `from_str_radix` a leading `+`.
        let size = trim_ows(line.split(';').next().unwrap_or(""));
        let size = Some(size)
            .filter(|size| !size.is_empty() && size.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|size| usize::from_str_radix(size, 16).ok())
            .ok_or_else(|| invalid("malformed chunk size"))?;
        if size == 0 {
            // Trailers, if any, end with a blank line.
            while !read_line(reader, &mut budget)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        if size > MAX_BODY_BYTES - start {
            return Err(too_large());
        }
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        // Exactly CRLF: a bare LF here means the size was miscounted (its
        // data ended in the CR), and the data is not what was meant.
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
        if crlf != *b"\r\n" {
            return Err(invalid("chunk without its CRLF"));
        }
    }
}

/// One line without its CRLF, charged against `budget`. End-of-file before
/// any byte is `UnexpectedEof`; a line too long, cut short or not UTF-8 is
/// `InvalidData`.
pub(crate) fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<String> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if read > *budget || line.last() != Some(&b'\n') {
        return Err(invalid("header line too long or cut short"));
    }
    *budget -= read;
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| invalid("header is not UTF-8"))
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

fn too_large() -> io::Error {
    invalid("body larger than the runtime accepts (MAX_BODY_BYTES)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<Response> {
        read_response(&mut &bytes[..])
    }

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
        let mut digits = [0; 20];
        assert_eq!(format_usize(0, &mut digits), "0");
        assert_eq!(
            format_usize(usize::MAX, &mut digits),
            "18446744073709551615"
        );
    }

    #[test]
    fn a_content_length_body_is_read_exactly() {
        let r = parse(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: abc\r\ncontent-length: 5\r\n\r\nhelloEXTRA").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("lambda-runtime-aws-request-id"), Some("abc"));
        assert_eq!(r.body, b"hello");
    }

    #[test]
    fn a_chunked_body_is_decoded() {
        let r = parse(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: t\r\n\r\n").unwrap();
        assert_eq!(r.body, b"Wikipedia");
    }

    #[test]
    fn keep_alive_reads_stop_at_the_message_boundary() {
        let two = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        let mut reader = &two[..];
        assert_eq!(read_response(&mut reader).unwrap().body, b"ok");
        assert_eq!(read_response(&mut reader).unwrap().status, 500);
    }

    #[test]
    fn interim_answers_are_skipped_and_status_lines_are_strict() {
        // A `100 Continue` then the answer: the answer, and nothing left over
        // for the next request to read.
        let two = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut reader = &two[..];
        let r = read_response(&mut reader).unwrap();
        assert_eq!((r.status, &r.body[..], reader), (200, &b"ok"[..], &b""[..]));
        assert_eq!(
            parse(b"HTTP/1.1 101 Switching\r\n\r\n").unwrap().status,
            101
        );
        assert_eq!(parse(b"HTTP/1.0 404\r\n\r\n").unwrap().status, 404);
        for bad in [
            &b"HTTP/1.1 10 X\r\n\r\n"[..],
            b"HTTP/1.1 0200 OK\r\n\r\n",
            b"HTTP/1.1 +20 OK\r\n\r\n",
            b"HTTP/1.1 099 OK\r\n\r\n",
            b"HTTP/1.9 200 OK\r\n\r\n",
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn header_values_lose_only_spaces_and_tabs_around_them() {
        let r = parse("HTTP/1.1 200 OK\r\nX-A: \t a\u{a0}\u{2003} \r\n\r\n".as_bytes()).unwrap();
        assert_eq!(r.header("x-a"), Some("a\u{a0}\u{2003}"));
    }

    #[test]
    fn only_the_chunked_coding_itself_means_chunked() {
        let chunked = |te: &str| {
            let answer = std::format!("HTTP/1.1 200 OK\r\n{te}\r\n\r\n2\r\nok\r\n0\r\n\r\n");
            parse(answer.as_bytes()).unwrap().body == b"ok"
        };
        assert!(chunked("Transfer-Encoding: chunked"));
        assert!(chunked("Transfer-Encoding: gzip, Chunked "));
        assert!(chunked(
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked"
        ));
        assert!(!chunked("Transfer-Encoding: chunkedjjj"));
        assert!(!chunked("Transfer-Encoding: notchunked"));
    }

    #[test]
    fn a_body_without_length_runs_to_the_end() {
        assert_eq!(
            parse(b"HTTP/1.0 200 OK\r\n\r\nall of it").unwrap().body,
            b"all of it"
        );
        assert_eq!(parse(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().body, b"");
    }

    #[test]
    fn broken_answers_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"SMTP 220 hello\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            // A chunk size with a stray CR, or a sign (found by fuzz/transports).
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n\r0\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+4\r\nWiki\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nWiki\r\n0\r\n\r\n",
            // Data ending in the CR of a miscounted size, then a bare LF.
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES));
        huge.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse(&huge).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    /// `head` followed by `fill` bytes of `x`, without holding them all twice.
    fn parse_with_fill(head: &[u8], fill: usize, tail: &[u8]) -> io::Result<Response> {
        let body = io::repeat(b'x').take(fill as u64).chain(tail);
        read_response(&mut BufReader::new(head.chain(body)))
    }

    #[test]
    fn bodies_up_to_the_limit_are_read_and_larger_ones_refused() {
        let too_large = |r: io::Result<Response>| {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(std::format!("{e}").contains("MAX_BODY_BYTES"), "{e}");
        };
        // A declared length over the limit is refused before anything is read.
        let head = std::format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        too_large(parse(head.as_bytes()));
        let head = std::format!("HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n");
        let exact = parse_with_fill(head.as_bytes(), MAX_BODY_BYTES, b"").unwrap();
        assert_eq!(exact.body.len(), MAX_BODY_BYTES);
        // A chunk size that would overflow, or chunks that add up past the limit.
        too_large(parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        ));
        let chunked = std::format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            MAX_BODY_BYTES
        );
        let exact = parse_with_fill(chunked.as_bytes(), MAX_BODY_BYTES, b"\r\n0\r\n\r\n").unwrap();
        assert_eq!(exact.body.len(), MAX_BODY_BYTES);
        too_large(parse_with_fill(
            chunked.as_bytes(),
            MAX_BODY_BYTES,
            b"\r\n1\r\nx\r\n0\r\n\r\n",
        ));
        // A body that runs to the end of the connection.
        let open = b"HTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(
            parse_with_fill(open, MAX_BODY_BYTES, b"")
                .unwrap()
                .body
                .len(),
            MAX_BODY_BYTES
        );
        too_large(parse_with_fill(open, MAX_BODY_BYTES + 1, b""));
    }
}
