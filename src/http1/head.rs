//! Heads: the request or status line and the header fields, written into a
//! buffer and parsed from the bytes of a complete head.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{Error, MAX_HEAD_BYTES, decimal, trim_ows};

/// A parsed head: a status line's code (0 for a request, whose line is in
/// [`RequestLine`]) and the header fields in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// The answer's status code; 0 for a request.
    pub status: u16,
    /// Sent as `HTTP/1.0`.
    pub http10: bool,
    /// Names as sent, values without the spaces and tabs around them.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// A header's value by name, ignoring case; the first wins.
    pub fn header(&self, name: &str) -> Option<&str> {
        super::header(&self.headers, name)
    }

    /// Parse an answer's head from its bytes: the status line and the
    /// fields, each ending in CRLF (or LF), up to and including the blank
    /// line. The same rules as [`HeadParser`], which reads one line at a time.
    pub fn parse_response(bytes: &[u8]) -> Result<Head, Error> {
        let (_, head) = HeadParser::response().parse_all(bytes)?;
        Ok(head)
    }

    /// Parse a request's head, as [`Head::parse_response`] does an answer's.
    pub fn parse_request(bytes: &[u8]) -> Result<(RequestLine, Head), Error> {
        let (line, head) = HeadParser::request().parse_all(bytes)?;
        let line = line.ok_or(Error::Malformed("head cut short"))?;
        Ok((line, head))
    }
}

/// What a head starts with, read by [`HeadParser`]: a type, so that each
/// parser is compiled for its own start line and a client links no
/// request-line parser.
pub trait StartLine {
    /// What the start line reads as.
    type Line;
    /// Whether the head is an answer's, whose HTTP/1.0 framing rule applies.
    const ANSWER: bool;
    /// Read the start line, its version into `head`.
    fn read(line: &str, head: &mut Head) -> Result<Self::Line, Error>;
}

/// An answer's status line; its code goes into [`Head::status`].
#[derive(Debug)]
pub struct StatusLine;

impl StartLine for StatusLine {
    type Line = ();
    const ANSWER: bool = true;
    fn read(line: &str, head: &mut Head) -> Result<(), Error> {
        let (status, http10) =
            parse_status_line(line).ok_or(Error::Malformed("malformed status line"))?;
        head.status = status;
        head.http10 = http10;
        Ok(())
    }
}

impl StartLine for RequestLine {
    type Line = RequestLine;
    const ANSWER: bool = false;
    fn read(line: &str, head: &mut Head) -> Result<RequestLine, Error> {
        let request = parse_request_line(line).ok_or(Error::Malformed("malformed request line"))?;
        head.http10 = request.http10;
        Ok(request)
    }
}

/// A head parsed line by line as it arrives, all of it charged against one
/// [`MAX_HEAD_BYTES`] budget: the reader never holds more than a line, and a
/// peer that sends an endless head is refused at the budget.
#[derive(Debug)]
pub struct HeadParser<S: StartLine> {
    /// The start line once read; `Some` from the outset for trailers.
    start: Option<S::Line>,
    left: usize,
    head: Head,
}

impl HeadParser<StatusLine> {
    /// For an answer: a status line, then fields.
    pub fn response() -> HeadParser<StatusLine> {
        HeadParser::new(None)
    }

    /// For the trailers of a chunked body: fields only, as if the start
    /// line were past (the same parser type as an answer's, so that a
    /// client compiles one).
    pub fn trailers() -> HeadParser<StatusLine> {
        HeadParser::new(Some(()))
    }
}

impl HeadParser<RequestLine> {
    /// For a request: a request line, then fields.
    pub fn request() -> HeadParser<RequestLine> {
        HeadParser::new(None)
    }
}

impl<S: StartLine> HeadParser<S> {
    fn new(start: Option<S::Line>) -> HeadParser<S> {
        HeadParser {
            start,
            left: MAX_HEAD_BYTES,
            head: Head::default(),
        }
    }

    /// How many more bytes the head may take.
    pub fn left(&self) -> usize {
        self.left
    }

    /// Whether no line has come yet.
    pub fn is_fresh(&self) -> bool {
        self.left == MAX_HEAD_BYTES
    }

    /// Take one line, with its line end. `Ok(true)` when it was the blank
    /// line that ends the head.
    pub fn line(&mut self, line: &[u8]) -> Result<bool, Error> {
        self.left = self.left.checked_sub(line.len()).ok_or(Error::TooLarge)?;
        let line = super::without_line_end(line).ok_or(Error::Malformed("head cut short"))?;
        let line =
            core::str::from_utf8(line).map_err(|_| Error::Malformed("header is not UTF-8"))?;
        if self.start.is_none() {
            self.start = Some(S::read(line, &mut self.head)?);
            return Ok(false);
        }
        if line.is_empty() {
            // RFC 9112 §6.1: framing that HTTP/1.0 does not have is faulty
            // framing. Decoding chunks here gave one body and ureq (which
            // reads on to the close) another.
            if S::ANSWER && self.head.http10 && self.head.header("Transfer-Encoding").is_some() {
                return Err(Error::Malformed("Transfer-Encoding in an HTTP/1.0 answer"));
            }
            return Ok(true);
        }
        let (name, value) = parse_header_line(line).ok_or(Error::Malformed("malformed header"))?;
        self.head
            .headers
            .push((name.to_string(), value.to_string()));
        Ok(false)
    }

    /// The start line (none if the head ended before it) and the head.
    pub fn finish(self) -> (Option<S::Line>, Head) {
        (self.start, self.head)
    }

    /// Feed a whole head's bytes, line by line, and finish.
    fn parse_all(mut self, bytes: &[u8]) -> Result<(Option<S::Line>, Head), Error> {
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            if self.line(line)? {
                return Ok(self.finish());
            }
        }
        Err(Error::Malformed("head cut short"))
    }
}

/// A request line: method, target, version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent: a path, with its query if any.
    pub path: String,
    /// Sent as `HTTP/1.0`.
    pub http10: bool,
}

/// `HTTP/1.0` or `HTTP/1.1`, a space, a three-digit code from 100, then a
/// space and a reason or nothing: the status line as RFC 9112 has it, and as
/// ureq reads it. The code, and whether it was HTTP/1.0.
pub fn parse_status_line(line: &str) -> Option<(u16, bool)> {
    let (rest, http10) = match line.strip_prefix("HTTP/1.1 ") {
        Some(rest) => (rest, false),
        None => (line.strip_prefix("HTTP/1.0 ")?, true),
    };
    let (code, reason) = rest.split_at_checked(3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(reason.is_empty() || reason.starts_with(' '))
    {
        return None;
    }
    let code = code.parse().ok().filter(|code| *code >= 100)?;
    Some((code, http10))
}

/// `METHOD SP target SP HTTP/1.x`.
pub fn parse_request_line(line: &str) -> Option<RequestLine> {
    let mut words = line.split(' ');
    let (method, path, version) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() || method.is_empty() || path.is_empty() {
        return None;
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return None,
    };
    Some(RequestLine {
        method: method.to_string(),
        path: path.to_string(),
        http10,
    })
}

/// `name: value`: the name without spaces around it, the value without its
/// `OWS`.
pub fn parse_header_line(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    Some((name.trim(), trim_ows(value)))
}

/// Append a request head: the request line, `Host`, `User-Agent`, `headers`,
/// `Content-Length` when `content_length` is given (a chunked post names its
/// framing among `headers` instead), and the blank line.
pub fn write_request_head(
    out: &mut Vec<u8>,
    request_line: [&str; 2],
    host: &str,
    user_agent: &str,
    headers: &[(&str, &str)],
    content_length: Option<usize>,
) {
    let [method, path] = request_line;
    line(out, &[method, " ", path, " HTTP/1.1"]);
    line(out, &["Host: ", host]);
    line(out, &["User-Agent: ", user_agent]);
    fields(out, headers, content_length);
}

/// Append an answer's head: the status line, `headers`, `Content-Length`
/// when given, and the blank line.
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    content_length: Option<usize>,
) {
    let mut digits = [0_u8; 20];
    line(
        out,
        &[
            "HTTP/1.1 ",
            decimal(status.into(), &mut digits),
            " ",
            reason,
        ],
    );
    fields(out, headers, content_length);
}

fn fields(out: &mut Vec<u8>, headers: &[(&str, &str)], content_length: Option<usize>) {
    for (name, value) in headers {
        line(out, &[name, ": ", value]);
    }
    if let Some(length) = content_length {
        let mut digits = [0_u8; 20];
        line(out, &["Content-Length: ", decimal(length, &mut digits)]);
    }
    line(out, &[]);
}

fn line(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn request_heads_are_exact() {
        let mut out = Vec::new();
        write_request_head(
            &mut out,
            ["POST", "/2018-06-01/runtime/invocation/r1/response"],
            "127.0.0.1:9001",
            "tiny-lambda/0",
            &[("Content-Type", "application/json")],
            Some(11),
        );
        assert_eq!(
            out,
            b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: tiny-lambda/0\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        );
        let mut out = Vec::new();
        write_response_head(&mut out, 202, "Accepted", &[], Some(0));
        assert_eq!(out, b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn heads_parse_both_ways_and_round_trip() {
        let head = Head::parse_response(
            "HTTP/1.1 200 OK\r\nX-A: one \r\nx-b:\ttwo\u{a0}\r\n\r\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.header("x-a"), Some("one"));
        // Only spaces and tabs go: a Unicode space is part of the value.
        assert_eq!(head.header("X-B"), Some("two\u{a0}"));
        let mut out = Vec::new();
        write_request_head(&mut out, ["GET", "/a?b"], "h:1", "ua", &[("X", "y")], None);
        let (line, head) = Head::parse_request(&out).unwrap();
        assert_eq!(
            (line.method.as_str(), line.path.as_str(), line.http10),
            ("GET", "/a?b", false)
        );
        assert_eq!(head.header("host"), Some("h:1"));
        assert_eq!(head.header("x"), Some("y"));
    }

    #[test]
    fn status_lines_are_strict() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK"), Some((200, false)));
        assert_eq!(parse_status_line("HTTP/1.0 404"), Some((404, true)));
        for bad in [
            "HTTP/1.1 20 OK",
            "HTTP/1.1 2000",
            "HTTP/2 200",
            "HTTP/1.1 099 x",
            "HTTP/1.1 +20 x",
            "",
        ] {
            assert_eq!(parse_status_line(bad), None, "{bad:?}");
        }
        assert_eq!(parse_request_line("GET / HTTP/2"), None);
        assert_eq!(parse_request_line("GET  / HTTP/1.1"), None);
    }

    #[test]
    fn broken_heads_are_errors() {
        let cases: [&[u8]; 5] = [
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: \xff\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: y\r\n",
            b"garbage\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        for bytes in cases {
            assert!(
                matches!(Head::parse_response(bytes), Err(Error::Malformed(_))),
                "{bytes:?}"
            );
        }
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        huge.extend(vec![b'a'; MAX_HEAD_BYTES]);
        assert_eq!(Head::parse_response(&huge), Err(Error::TooLarge));
    }
}
