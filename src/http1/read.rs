//! The shell: one message pulled off a `BufRead` (a socket, in practice)
//! with the codec's rules. The built-in transport and the streamed post read
//! answers with it, the mock reads requests, chunk by chunk when it wants to
//! see a stream arrive.
//!
//! Every fault is an `io::Error`: `UnexpectedEof` when the peer closed
//! before a message began (a kept-alive connection it had closed while
//! idle), `InvalidData` for what the codec refuses.

use std::io::{self, BufRead, Read};
use std::string::String;
use std::vec::Vec;

use super::{
    Error, Framing, Head, HeadParser, MAX_BODY_BYTES, MAX_HEAD_BYTES, RequestLine, StartLine,
    framing,
};

/// One piece of a chunked body.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk {
    /// A chunk's data.
    Data(Vec<u8>),
    /// The last chunk, with its trailers.
    Last(Vec<(String, String)>),
}

/// Read one answer: its head and its whole body. Interim answers (`1xx` but
/// `101`) are read and dropped, as ureq does: the final one follows them,
/// and returning an interim one would leave the final one on the
/// connection, to be read as the answer to the next request.
pub fn read_response(reader: &mut impl BufRead) -> io::Result<(Head, Vec<u8>)> {
    loop {
        let parser = read_head(reader, HeadParser::response())?;
        let (_, head) = parser.ok_or(io::ErrorKind::UnexpectedEof)?.finish();
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        let body = read_body(reader, framing(&head, false).map_err(invalid)?)?;
        return Ok((head, body));
    }
}

/// Read one request's head; `Ok(None)` when the peer closed the connection
/// between requests. The body is the caller's to read, whole
/// ([`read_body`]) or chunk by chunk ([`read_chunk`]).
pub fn read_request_head(reader: &mut impl BufRead) -> io::Result<Option<(RequestLine, Head)>> {
    let Some(parser) = read_head(reader, HeadParser::request())? else {
        return Ok(None);
    };
    match parser.finish() {
        (Some(line), head) => Ok(Some((line, head))),
        (None, _) => Err(invalid(Error::Malformed("malformed request line"))),
    }
}

/// A whole body, framed as the head said: at most [`MAX_BODY_BYTES`].
pub fn read_body(reader: &mut impl BufRead, framing: Framing) -> io::Result<Vec<u8>> {
    match framing {
        Framing::Length(length) => {
            // One allocation of the right size, then one copy out of the
            // socket: an event of megabytes is never regrown or copied again.
            let mut body = Vec::with_capacity(length);
            let read = reader.take(length as u64).read_to_end(&mut body)?;
            if read < length {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(body)
        }
        Framing::ToClose => {
            let mut body = Vec::new();
            reader
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut body)?;
            if body.len() > MAX_BODY_BYTES {
                return Err(invalid(Error::TooLarge));
            }
            Ok(body)
        }
        Framing::Chunked => {
            let mut body = Vec::new();
            while read_chunk_into(reader, &mut body, MAX_BODY_BYTES)?.is_none() {}
            Ok(body)
        }
    }
}

/// One chunk of a chunked body, of at most `room` bytes.
pub fn read_chunk(reader: &mut impl BufRead, room: usize) -> io::Result<Chunk> {
    let mut data = Vec::new();
    Ok(match read_chunk_into(reader, &mut data, room)? {
        Some(trailers) => Chunk::Last(trailers),
        None => Chunk::Data(data),
    })
}

/// Append one chunk's data to `body`, which may hold at most `limit` bytes;
/// at the last chunk, its trailers instead. The size line and the trailers
/// are charged against one [`MAX_HEAD_BYTES`] budget.
fn read_chunk_into(
    reader: &mut impl BufRead,
    body: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<Vec<(String, String)>>> {
    let mut line = Vec::new();
    read_line(reader, MAX_HEAD_BYTES, &mut line)?;
    let size = super::without_line_end(&line)
        .and_then(|line| core::str::from_utf8(line).ok())
        .ok_or(Error::Malformed("malformed chunk size"))
        .and_then(super::parse_chunk_size)
        .map_err(invalid)?;
    if size == 0 {
        let (_, head) = read_head(reader, HeadParser::trailers())?
            .ok_or(io::ErrorKind::UnexpectedEof)?
            .finish();
        return Ok(Some(head.headers));
    }
    let start = body.len();
    if size > limit - start {
        return Err(invalid(Error::TooLarge));
    }
    body.resize(start + size, 0);
    reader.read_exact(&mut body[start..])?;
    // Exactly CRLF: a bare LF here means the size was miscounted (its data
    // ended in the CR), and the data is not what was meant.
    let mut crlf = [0; 2];
    reader.read_exact(&mut crlf)?;
    if crlf != *b"\r\n" {
        return Err(invalid(Error::Malformed("chunk without its CRLF")));
    }
    Ok(None)
}

/// Feed `parser` the lines of one head until its blank line; `None` when
/// the peer closed before any byte. The reader never takes more than the
/// parser's budget allows (and one byte, to tell a line too long).
#[inline]
fn read_head<S: StartLine>(
    reader: &mut impl BufRead,
    mut parser: HeadParser<S>,
) -> io::Result<Option<HeadParser<S>>> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = read_line(reader, parser.left() + 1, &mut line)?;
        if read == 0 {
            if parser.is_fresh() {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if parser.line(&line).map_err(invalid)? {
            return Ok(Some(parser));
        }
    }
}

/// One line into `line`, with its line end, of at most `limit` bytes (a
/// longer one is cut there, for the parser to refuse); 0 at the end.
fn read_line(reader: &mut impl BufRead, limit: usize, line: &mut Vec<u8>) -> io::Result<usize> {
    reader.by_ref().take(limit as u64).read_until(b'\n', line)
}

/// The codec's refusal as an `io::Error` (`InvalidData`), with its text.
#[inline]
pub fn invalid(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<(Head, Vec<u8>)> {
        read_response(&mut &bytes[..])
    }

    #[test]
    fn bodies_of_every_framing_are_read() {
        let (head, body) =
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA").unwrap();
        assert_eq!((head.status, &body[..]), (200, &b"hello"[..]));
        let (_, body) = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\nX: y\r\n\r\n").unwrap();
        assert_eq!(body, b"hello");
        let (_, body) = parse(b"HTTP/1.1 200 OK\r\n\r\nto the end").unwrap();
        assert_eq!(body, b"to the end");
        // An interim answer is skipped; the final one is what is returned.
        let (head, body) = parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
        )
        .unwrap();
        assert_eq!((head.status, &body[..]), (202, &b"ok"[..]));
    }

    #[test]
    fn keep_alive_reads_stop_at_the_message_boundary() {
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb";
        let mut reader = &two[..];
        assert_eq!(read_response(&mut reader).unwrap().1, b"a");
        assert_eq!(read_response(&mut reader).unwrap().1, b"b");
        let e = read_response(&mut reader).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn broken_answers_are_errors_not_panics() {
        let cases: [&[u8]; 7] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
            b"HTTP/1.1 200 OK\r\nX: y",
            b"HTTP/1.1 200 OK\r\n",
        ];
        for bytes in cases {
            assert!(
                parse(bytes).is_err(),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn bodies_up_to_the_limit_are_read_and_larger_ones_refused() {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert!(parse(head.as_bytes()).is_err());
        let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        chunked.extend(format!("{:x}\r\n", MAX_BODY_BYTES + 1).as_bytes());
        assert!(parse(&chunked).is_err());
        let line = std::vec![b'a'; MAX_HEAD_BYTES];
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(line);
        long.extend(b"\r\n\r\n");
        assert!(parse(&long).is_err());
    }

    #[test]
    fn requests_are_read_head_first_then_chunk_by_chunk() {
        let bytes =
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nT: 1\r\n\r\n";
        let mut reader = &bytes[..];
        let (line, head) = read_request_head(&mut reader).unwrap().unwrap();
        assert_eq!((line.method.as_str(), line.path.as_str()), ("POST", "/x"));
        assert_eq!(framing(&head, true), Ok(Framing::Chunked));
        assert_eq!(
            read_chunk(&mut reader, 10).unwrap(),
            Chunk::Data(b"ab".to_vec())
        );
        assert_eq!(
            read_chunk(&mut reader, 10).unwrap(),
            Chunk::Last(std::vec![("T".into(), "1".into())])
        );
        assert!(read_request_head(&mut reader).unwrap().is_none());
    }

    use std::format;
}
