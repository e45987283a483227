//! The ureq transport (feature `ureq`, the default): the project's HTTP/1.1
//! library, with its agent assembled from the parts the Runtime API needs.
//!
//! `ureq::Agent::new_with_defaults()` brings machinery this peer never uses,
//! and each piece costs bytes or start-up time (size-report's notes measure
//! every step):
//!
//! - **Resolver.** The default one resolves through `ToSocketAddrs` and can
//!   spawn a thread to time the lookup out. `AWS_LAMBDA_RUNTIME_API` is an IP
//!   literal and a port (`127.0.0.1:9001`), so [`LiteralResolver`] parses it,
//!   and only a name (`localhost`, say) goes to the system's resolver, on this
//!   thread.
//! - **Connector and buffers.** The default chain tries a SOCKS proxy, then
//!   TLS, then TCP; the Runtime API is plain TCP on the same host, so
//!   [`PlainTcp`] opens a socket and nothing else. ureq's own TCP transport
//!   sizes its buffers at 128 KiB each way by default and grows them a byte at
//!   a time on first use: at `opt-level = "z"` that was a third of the
//!   instructions from process start to the first `/next`, even at 16 KiB.
//!   [`Socket`] starts with 8 KiB in and 4 KiB out, zeroed in one allocator
//!   call, and doubles a buffer a transfer fills, up to 64 KiB.
//! - **Policy.** No redirects, no timeouts (`/next` long-polls, and Lambda
//!   freezes the process between invocations), statuses are data rather than
//!   errors, and one idle connection that never ages out (after a thaw, a
//!   connection that has been frozen for an hour is still the live one).

use std::format;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::string::String;
use std::time::Duration;
use std::vec::Vec;
use std::{fmt, vec};

use ureq::config::Config;
use ureq::http;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, Transport as UreqTransport,
};

use super::{Request, Response, Transport, USER_AGENT, is_idle, is_stale, keeps_alive};
use crate::http1::{MAX_BODY_BYTES, MAX_HEAD_BYTES};

/// Both buffers start small and double, up to [`MAX_BUFFER_BYTES`], whenever
/// a transfer fills one: a request head and an event's headers fit at once,
/// and a multi-megabyte event or answer soon moves in large pieces.
const INPUT_START_BYTES: usize = 8 * 1024;
const OUTPUT_START_BYTES: usize = 4 * 1024;

/// The largest either buffer grows to. The input buffer must hold a whole
/// response head, so this is also the largest head accepted, as in the
/// built-in transport.
const MAX_BUFFER_BYTES: usize = MAX_HEAD_BYTES;

/// One ureq agent for one host. ureq keeps the connection alive in the agent's
/// pool, limited here to one.
pub(crate) struct Connection {
    agent: ureq::Agent,
    /// `http://host:port`: each request's URL is this and the path.
    origin: String,
    /// Whether the last exchange left a connection in the pool to reuse.
    kept: bool,
}

impl Transport for Connection {
    fn new(authority: &str) -> Connection {
        let config = Config::builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .max_response_header_size(MAX_HEAD_BYTES)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .max_idle_age(Duration::MAX)
            .build();
        Connection {
            agent: ureq::Agent::with_parts(config, PlainTcp, LiteralResolver),
            origin: format!("http://{authority}"),
            kept: false,
        }
    }

    /// ureq checks that a pooled connection is still open before using it,
    /// but a close that is still on its way is not seen; a `GET` on a reused
    /// connection that fails that way goes once more, as in the built-in
    /// transport, and ureq then opens a fresh connection.
    fn send(&mut self, request: &Request) -> io::Result<Response> {
        let reused = self.kept;
        let result = match self.exchange(request) {
            Err(e) if reused && request.method == "GET" && is_stale(&e) => self.exchange(request),
            other => other,
        };
        self.kept = keeps_alive(&result);
        result
    }
}

impl Connection {
    fn exchange(&self, request: &Request) -> io::Result<Response> {
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(format!("{}{}", self.origin, request.path));
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        // A `GET` has no body at all (no `Content-Length: 0` either), as in
        // the built-in transport.
        let sent = if request.body.is_empty() && request.method == "GET" {
            builder.body(()).map(|r| self.agent.run(r))
        } else {
            builder.body(request.body).map(|r| self.agent.run(r))
        };
        let mut answer = sent
            .map_err(io::Error::other)?
            .map_err(ureq::Error::into_io)?;
        let mut headers = Vec::with_capacity(answer.headers().len());
        for (name, value) in answer.headers() {
            // The same rule as the built-in reader: header text must be UTF-8.
            let value = String::from_utf8(value.as_bytes().into())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "header is not UTF-8"))?;
            headers.push((name.as_str().into(), value));
        }
        let body = answer
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES as u64)
            .read_to_vec()
            .map_err(ureq::Error::into_io)?;
        let keep_alive = !crate::http1::header(&headers, "Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        Ok(Response {
            status: answer.status().as_u16(),
            headers,
            body,
            keep_alive,
        })
    }
}

/// Resolves `host:port` by parsing it when it is an IP literal, which
/// `AWS_LAMBDA_RUNTIME_API` always is on Lambda, and through the system's
/// resolver on this thread otherwise.
#[derive(Debug)]
struct LiteralResolver;

impl Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let authority = uri.authority().map_or("", |a| a.as_str());
        let mut addrs = self.empty();
        if let Ok(addr) = authority.parse::<SocketAddr>() {
            addrs.push(addr);
            return Ok(addrs);
        }
        for addr in authority.to_socket_addrs()? {
            // ureq keeps at most 16; the first few are the ones tried anyway.
            if addrs.try_push(addr).is_err() {
                break;
            }
        }
        if addrs.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addrs)
    }
}

/// Opens a plain TCP connection to the first address that answers.
#[derive(Debug)]
struct PlainTcp;

impl Connector for PlainTcp {
    type Out = Socket;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Socket>, ureq::Error> {
        let mut last = io::Error::from(io::ErrorKind::AddrNotAvailable);
        for addr in &details.addrs {
            match TcpStream::connect(addr) {
                Ok(stream) => {
                    // Heads and bodies are written whole; Nagle would hold the
                    // second segment of a large post for the peer's delayed ACK.
                    stream.set_nodelay(true)?;
                    return Ok(Some(Socket::new(stream)));
                }
                Err(e) => last = e,
            }
        }
        Err(last.into())
    }
}

/// One TCP connection and its two buffers, as ureq drives it: ureq writes a
/// request into `output` and asks for it to be sent; it asks for input, which
/// lands after `filled`, and consumes it from `consumed`.
struct Socket {
    stream: TcpStream,
    input: Vec<u8>,
    filled: usize,
    consumed: usize,
    /// Whether the last read of the input consumed anything: ureq waits for
    /// more rather than parse the same partial head twice.
    progress: bool,
    output: Vec<u8>,
    /// A read saw end-of-file or an error, or a write failed: the socket is
    /// done, and the pool must not hand it out again.
    broken: bool,
}

impl Socket {
    fn new(stream: TcpStream) -> Socket {
        Socket {
            stream,
            input: zeroed(INPUT_START_BYTES),
            filled: 0,
            consumed: 0,
            progress: false,
            output: zeroed(OUTPUT_START_BYTES),
            broken: false,
        }
    }

    /// Room after `filled`: slide what is unread to the front when it helps,
    /// and double the buffer when what is unread fills it.
    fn free_input(&mut self) -> &mut [u8] {
        if self.consumed == self.filled {
            (self.consumed, self.filled) = (0, 0);
        } else if self.consumed > 0 && self.filled > self.input.len() / 2 {
            self.input.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
        if self.filled == self.input.len() && self.input.len() < MAX_BUFFER_BYTES {
            let mut larger = zeroed(self.input.len() * 2);
            larger[..self.filled].copy_from_slice(&self.input[..self.filled]);
            self.input = larger;
        }
        &mut self.input[self.filled..]
    }
}

/// A zeroed buffer in one allocator call (calloc), never grown in place:
/// `Vec::resize` fills a byte at a time at `opt-level = "z"`.
fn zeroed(len: usize) -> Vec<u8> {
    vec![0; len]
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Socket")
    }
}

impl Buffers for Socket {
    fn output(&mut self) -> &mut [u8] {
        &mut self.output
    }

    fn input(&self) -> &[u8] {
        &self.input[self.consumed..self.filled]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.free_input()
    }

    fn input_appended(&mut self, amount: usize) {
        self.filled += amount;
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.consumed += amount;
    }

    /// ureq reads a request body through the input buffer's free room: it
    /// is never empty here, since `free_input` doubles a full buffer.
    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.free_input();
        (&mut self.input[self.filled..], &mut self.output)
    }

    fn can_use_input(&self) -> bool {
        self.filled > self.consumed && self.progress
    }
}

impl UreqTransport for Socket {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self
    }

    /// No timeouts to apply: the agent sets none (see the module doc).
    fn transmit_output(&mut self, amount: usize, _timeout: NextTimeout) -> Result<(), ureq::Error> {
        if let Err(e) = self.stream.write_all(&self.output[..amount]) {
            self.broken = true;
            return Err(e.into());
        }
        // A full buffer was a piece of a large body: send the rest in larger ones.
        if amount == self.output.len() && amount < MAX_BUFFER_BYTES {
            self.output = zeroed(amount * 2);
        }
        Ok(())
    }

    fn await_input(&mut self, _timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.free_input();
        let free = &mut self.input[self.filled..];
        if free.is_empty() {
            // A head larger than the largest buffer: ureq says it made no
            // progress, and the exchange fails as in the built-in transport.
            return Ok(false);
        }
        let read = loop {
            match self.stream.read(free) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.broken = !matches!(read, Ok(n) if n > 0);
        let read = read?;
        self.filled += read;
        Ok(read > 0)
    }

    /// Open unless this socket has already failed, and if a read would block:
    /// nothing waiting, no end-of-file, no error. ureq asks twice per request
    /// (as a connection goes back to the pool and as it comes out). Answering
    /// from the flag alone saves six system calls per invocation but made warm
    /// round trips slower, not faster (1.11x to 1.21x the median over three
    /// interleaved `bench` runs of 3,000 invocations), so the probe stays.
    fn is_open(&mut self) -> bool {
        !self.broken && is_idle(&self.stream)
    }
}
