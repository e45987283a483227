//! HTTP/1.1 as the runtime speaks it, as plain data: heads written and
//! parsed, bodies framed by length or in chunks, and one set of limits. No
//! sockets here, on `core` + `alloc`; [`read`] (with `std`) is the one thin
//! shell that pulls a message off a `BufRead` with these functions.
//!
//! Every side of the house that speaks HTTP/1.1 is built on this module: the
//! built-in Runtime API transport, the streamed `/response` post (in both
//! builds: ureq cannot send request trailers), the mock Runtime API and the
//! fuzz targets. So a rule (what counts as `chunked`, how long a head may
//! be, what a status line looks like) is written once and read alike
//! everywhere.
//!
//! The parts: this file holds the limits, the errors and the framing rules;
//! `head` writes and parses request and response heads; `chunked` frames a
//! body in chunks and reads their size lines.
//!
//! What is left out, and why: the Runtime API is a local, plain-HTTP peer.
//! No TLS, no redirects, no compression, no pipelining, no `HTTP/2`.

use alloc::string::String;
use core::fmt;

mod chunked;
mod head;
#[cfg(feature = "std")]
pub mod read;

pub use chunked::{chunk_frame, chunk_size_line, last_chunk, parse_chunk_size};
pub use head::{
    Head, HeadParser, RequestLine, StartLine, StatusLine, parse_header_line, parse_request_line,
    parse_status_line, write_request_head, write_response_head,
};

/// Heads larger than this are refused, on either side: the Runtime API sends
/// a few hundred bytes (a few KB with a client context), the runtime less.
/// The trailers of a chunked body count against a budget of the same size.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Bodies larger than this are refused. The largest body the Runtime API
/// sends is an event, which Lambda caps at 6 MB (synchronous invokes; 1 MB
/// asynchronous); the rest is headroom. Without a cap a broken peer could
/// declare, or stream in chunks, a body of any size and the reader would try
/// to hold it all.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What is wrong with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Not HTTP/1.1 as RFC 9112 writes it; the text names the part.
    Malformed(&'static str),
    /// A head past [`MAX_HEAD_BYTES`] or a body past [`MAX_BODY_BYTES`].
    TooLarge,
}

impl Error {
    /// What is wrong, in a few words.
    pub fn text(self) -> &'static str {
        match self {
            Error::Malformed(what) => what,
            Error::TooLarge => "message larger than tiny-lambda accepts",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// How a message's body is delimited, read from its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` bytes (0 when a request names none).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// An answer with neither: the body runs to the end of the connection.
    ToClose,
}

/// A header's value by name, ignoring case as HTTP does; the first wins.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A field value without the spaces and tabs around it (RFC 9110's `OWS`),
/// and nothing else: `str::trim` would also take Unicode spaces (a value
/// ending in U+00A0, say) that are part of the value.
pub fn trim_ows(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// Whether any `Transfer-Encoding` line names `chunked` among its
/// comma-separated codings, as ureq reads it: `chunkedjjj` or `notchunked`
/// is another coding (and an answer's body then runs to the close).
pub fn is_chunked(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Transfer-Encoding"))
        .flat_map(|(_, value)| value.split(','))
        .any(|coding| trim_ows(coding).eq_ignore_ascii_case("chunked"))
}

/// How the body after `head` is framed. `request` says which side sent it:
/// a request without a length has no body, an answer without one runs to
/// the close. Answers that never have a body (`1xx`, 204, 304) have none.
pub fn framing(head: &Head, request: bool) -> Result<Framing, Error> {
    if !request && (head.status < 200 || head.status == 204 || head.status == 304) {
        return Ok(Framing::Length(0));
    }
    if is_chunked(&head.headers) {
        return Ok(Framing::Chunked);
    }
    match header(&head.headers, "Content-Length") {
        Some(length) => {
            // `str::parse`, as ureq reads it (a leading `+` included): the two
            // transports must read one answer alike.
            let length: usize = length
                .parse()
                .map_err(|_| Error::Malformed("malformed Content-Length"))?;
            if length > MAX_BODY_BYTES {
                return Err(Error::TooLarge);
            }
            Ok(Framing::Length(length))
        }
        None if request => Ok(Framing::Length(0)),
        None => Ok(Framing::ToClose),
    }
}

/// Whether the connection may carry another message after this one: not
/// after `Connection: close`, nor after an HTTP/1.0 message (which closes
/// unless asked otherwise, and we never ask).
pub fn keeps_alive(head: &Head) -> bool {
    !head.http10
        && !header(&head.headers, "Connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
}

/// A line without its CRLF (or bare LF); `None` if it has neither, that
/// is, if it was cut short.
#[inline]
pub fn without_line_end(line: &[u8]) -> Option<&[u8]> {
    match line {
        [rest @ .., b'\r', b'\n'] | [rest @ .., b'\n'] => Some(rest),
        _ => None,
    }
}

/// Decimal digits of `n` without `core::fmt`, which would be the only
/// formatting on the built-in transport's path.
pub fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn head(status: u16, headers: &[(&str, &str)]) -> Head {
        Head {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Head::default()
        }
    }

    #[test]
    fn only_the_chunked_coding_itself_means_chunked() {
        for (value, chunked) in [
            ("chunked", true),
            ("gzip, chunked", true),
            ("  Chunked\t", true),
            ("chunkedjjj", false),
            ("notchunked", false),
            ("", false),
        ] {
            let h = head(200, &[("Transfer-Encoding", value)]);
            assert_eq!(is_chunked(&h.headers), chunked, "{value:?}");
        }
    }

    #[test]
    fn framing_follows_the_head_and_the_side() {
        let sized = head(200, &[("Content-Length", "5")]);
        assert_eq!(framing(&sized, false), Ok(Framing::Length(5)));
        let chunked = head(
            200,
            &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
        );
        assert_eq!(framing(&chunked, false), Ok(Framing::Chunked));
        assert_eq!(framing(&head(200, &[]), false), Ok(Framing::ToClose));
        assert_eq!(framing(&head(0, &[]), true), Ok(Framing::Length(0)));
        for status in [100, 204, 304] {
            assert_eq!(
                framing(&head(status, &[("Content-Length", "5")]), false),
                Ok(Framing::Length(0))
            );
        }
        for bad in ["-1", "5 ", "five", ""] {
            let h = head(200, &[("Content-Length", bad)]);
            assert_eq!(
                framing(&h, false),
                Err(Error::Malformed("malformed Content-Length")),
                "{bad:?}"
            );
        }
        let huge = (MAX_BODY_BYTES + 1).to_string();
        assert_eq!(
            framing(&head(200, &[("Content-Length", &huge)]), false),
            Err(Error::TooLarge)
        );
    }

    #[test]
    fn keep_alive_ends_on_close_or_http10() {
        assert!(keeps_alive(&head(200, &[])));
        assert!(!keeps_alive(&head(200, &[("connection", "Close")])));
        let old = Head {
            http10: true,
            ..head(200, &[])
        };
        assert!(!keeps_alive(&old));
    }

    #[test]
    fn decimals_without_fmt() {
        let mut buf = [0; 20];
        assert_eq!(decimal(0, &mut buf), "0");
        assert_eq!(decimal(1234567, &mut buf), "1234567");
        assert_eq!(decimal(usize::MAX, &mut buf), usize::MAX.to_string());
    }
}
