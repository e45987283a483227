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
//! - **Connector.** The default chain tries a SOCKS proxy, then TLS, then TCP;
//!   the Runtime API is plain TCP on the same host, so only `TcpConnector`.
//! - **Buffers.** 128 KiB each way by default, zero-filled on first use, which
//!   is start-up time. Requests here are a few hundred bytes plus a body that
//!   is written through; 16 KiB is plenty.
//! - **Policy.** No redirects, no timeouts (`/next` long-polls, and Lambda
//!   freezes the process between invocations), statuses are data rather than
//!   errors, and one idle connection that never ages out (after a thaw, a
//!   connection that has been frozen for an hour is still the live one).

use std::format;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::string::String;
use std::time::Duration;
use std::vec::Vec;

use ureq::config::Config;
use ureq::http;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{NextTimeout, TcpConnector};

use super::{
    MAX_BODY_BYTES, MAX_HEAD_BYTES, Request, Response, Transport, USER_AGENT, is_stale, keeps_alive,
};

/// Request and response buffer size: see the module doc.
const BUFFER_BYTES: usize = 16 * 1024;

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
            .input_buffer_size(BUFFER_BYTES)
            .output_buffer_size(BUFFER_BYTES)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .max_idle_age(Duration::MAX)
            .build();
        Connection {
            agent: ureq::Agent::with_parts(config, TcpConnector::default(), LiteralResolver),
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
        Ok(Response {
            status: answer.status().as_u16(),
            headers,
            body,
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
