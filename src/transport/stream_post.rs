//! A streamed post: one `POST` whose body goes out as HTTP/1.1 chunks while
//! the handler is still writing, and ends with a last chunk that may carry
//! trailers. Used for response streaming in both builds.
//!
//! Why not through [`super::Transport`]: ureq 3 sends a chunked body from a
//! reader but has no way to send request trailers, and the trailers are how a
//! stream reports a failure after its first byte. So this file writes the
//! request itself, on `std::net`, with [`crate::http1`]'s framing, and reads
//! the answer with its reader.
//!
//! One connection, separate from the one `/next` uses, is kept alive from one
//! stream to the next ([`StreamConnection`]). Reusing it is checked first: a
//! stream cannot be sent twice (its bytes are gone once written), so a
//! connection the API closed while we were idle must be found out before the
//! first byte, not after.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::string::String;
use std::vec::Vec;

use super::{Response, USER_AGENT, connect, is_idle, keeps_alive};
use crate::http1::{self, chunk_frame, chunk_size_line, last_chunk};

/// Bodies up to this size are copied behind their chunk header, so that a
/// chunk leaves in one write (one TCP segment for a small one); larger ones
/// are written from where they lie.
const COPY_LIMIT: usize = 16 * 1024;

/// The connection streamed posts travel on, opened on first use and kept
/// between streams.
pub(crate) struct StreamConnection {
    authority: String,
    kept: Option<BufReader<TcpStream>>,
}

impl StreamConnection {
    pub(crate) fn new(authority: &str) -> StreamConnection {
        StreamConnection {
            authority: authority.into(),
            kept: None,
        }
    }

    /// Start a streamed post: `path`, `headers` (framing included, see
    /// `protocol::stream_head`). Nothing is written yet: the head leaves with
    /// the first chunk.
    pub(crate) fn start(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<StreamPost> {
        // Every chunk is a flush the handler asked for: `connect` turns Nagle
        // off, so it leaves now rather than after the ACK of the one before.
        let reader = match self.kept.take().filter(is_open) {
            Some(reader) => reader,
            None => connect(&self.authority)?,
        };
        Ok(StreamPost {
            reader,
            pending: {
                let mut head = Vec::with_capacity(256);
                http1::write_request_head(
                    &mut head,
                    ["POST", path],
                    &self.authority,
                    USER_AGENT,
                    headers,
                    None,
                );
                head
            },
        })
    }

    /// Take back the connection of a finished post, if it may carry another.
    pub(crate) fn keep(&mut self, post: StreamPost, answer: &io::Result<Response>) {
        if keeps_alive(answer) {
            self.kept = Some(post.reader);
        }
    }
}

/// Whether a kept connection is still open: nothing buffered and nothing to
/// read (see [`is_idle`]).
fn is_open(reader: &BufReader<TcpStream>) -> bool {
    reader.buffer().is_empty() && is_idle(reader.get_ref())
}

/// A streamed post in progress.
pub(crate) struct StreamPost {
    reader: BufReader<TcpStream>,
    /// Bytes to go out ahead of the next chunk: the head, until the first one.
    pending: Vec<u8>,
}

impl StreamPost {
    /// Send one chunk. Empty data sends nothing: an empty chunk would end the body.
    pub(crate) fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let stream = self.reader.get_mut();
        if data.len() <= COPY_LIMIT {
            chunk_frame(&mut self.pending, data);
            stream.write_all(&self.pending)?;
        } else {
            chunk_size_line(&mut self.pending, data.len());
            stream.write_all(&self.pending)?;
            stream.write_all(data)?;
            stream.write_all(b"\r\n")?;
        }
        self.pending.clear();
        Ok(())
    }

    /// End the body (with `trailers`, if any) and read the answer.
    pub(crate) fn finish(&mut self, trailers: &[(&str, &str)]) -> io::Result<Response> {
        last_chunk(&mut self.pending, trailers);
        self.reader.get_mut().write_all(&self.pending)?;
        self.pending.clear();
        read_response(&mut self.reader)
    }
}

fn read_response(reader: &mut BufReader<TcpStream>) -> io::Result<Response> {
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
    use std::io::{BufRead, Read};
    use std::net::TcpListener;
    use std::string::ToString;
    use std::thread;

    /// A server that reads one streamed post whole (head, chunks, trailers)
    /// per connection and answers 202; returns what it read, raw.
    fn serve_one() -> (String, thread::JoinHandle<Vec<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut seen = Vec::new();
            for _ in 0..2 {
                let mut raw = Vec::new();
                // Head, then lines until the blank line after the last chunk.
                let mut blank_lines = 0;
                while blank_lines < 2 {
                    let mut line = Vec::new();
                    if reader.read_until(b'\n', &mut line).unwrap() == 0 {
                        return seen;
                    }
                    if line == b"\r\n" {
                        blank_lines += 1;
                    }
                    raw.extend_from_slice(&line);
                }
                seen.push(raw);
                reader
                    .get_mut()
                    .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
                    .unwrap();
            }
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
            seen
        });
        (address, server)
    }

    #[test]
    fn a_stream_goes_out_as_chunks_and_its_connection_is_kept() {
        let (address, server) = serve_one();
        let mut connection = StreamConnection::new(&address);
        for trailer in [None, Some(("X-Why", "because"))] {
            let mut post = connection
                .start("/r", &[("Transfer-Encoding", "chunked")])
                .unwrap();
            post.send(b"abc").unwrap();
            post.send(b"").unwrap();
            post.send(b"de").unwrap();
            let trailers: Vec<_> = trailer.into_iter().collect();
            let answer = post.finish(&trailers);
            assert_eq!(answer.as_ref().unwrap().status, 202);
            connection.keep(post, &answer);
        }
        drop(connection);
        let seen = server.join().unwrap();
        assert_eq!(seen.len(), 2, "both posts on the one connection");
        let first = String::from_utf8(seen[0].clone()).unwrap();
        assert!(first.starts_with("POST /r HTTP/1.1\r\nHost: "), "{first}");
        assert!(
            first.ends_with("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            "{first}"
        );
        let second = String::from_utf8(seen[1].clone()).unwrap();
        assert!(second.ends_with("0\r\nX-Why: because\r\n\r\n"), "{second}");
    }

    #[test]
    fn a_connection_closed_while_idle_is_not_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let mut connection = StreamConnection::new(&address);
        let client = TcpStream::connect(&address).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        connection.kept = Some(BufReader::new(client));
        assert!(is_open(connection.kept.as_ref().unwrap()));
        drop(server_side);
        // The close takes a moment to arrive.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while is_open(connection.kept.as_ref().unwrap()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the close never arrived"
            );
            thread::sleep(std::time::Duration::from_millis(5));
        }
        let _post = connection.start("/r", &[]).unwrap();
        // A fresh connection: the listener has a second one waiting.
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_ok(), "no new connection was opened");
    }
}
