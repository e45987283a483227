//! The Runtime API client: the only module that touches the network.
//!
//! It moves bytes for [`crate::protocol`]: a `GET` for the next event and a
//! `POST` for each [`Post`] the protocol builds, over one kept-alive HTTP/1.1
//! connection made by ureq (no TLS, no gzip: the API is on the same host).

use std::io::Read;
use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use crate::context::{Config, Context};
use crate::error::Error;
use crate::protocol::{self, Post};

/// A handle on the Runtime API. Cloning it shares the one connection.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    /// A client for `AWS_LAMBDA_RUNTIME_API`'s value.
    pub(crate) fn new(api: &str) -> Result<Client, Error> {
        let base = protocol::base_url(api)?;
        let config = ureq::Agent::config_builder()
            // Status codes are the protocol here (410, 413, 500 each mean
            // something different), so they are answers, not ureq errors.
            .http_status_as_error(false)
            // `/next` long-polls for as long as there is no event, and Lambda
            // freezes the whole process between invocations: any timeout would
            // fire on thaw for no reason. So there is none.
            .timeout_global(None)
            .max_redirects(0)
            .user_agent(concat!("tiny-lambda/", env!("CARGO_PKG_VERSION")))
            // Headers and a small body leave in one segment; with Nagle on, the
            // body could wait for the API's delayed ACK (about 40 ms on Linux).
            .no_delay(true)
            // ureq's 128 KiB buffers are zero-filled at first use, which is
            // start-up time paid on every cold start. Headers from `/next` are
            // small (a client context is the largest, a few KiB) and bodies
            // stream through, so 16 KiB is plenty.
            .input_buffer_size(16 * 1024)
            .output_buffer_size(16 * 1024)
            .max_response_header_size(16 * 1024)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .build();
        Ok(Client {
            agent: config.into(),
            base,
        })
    }

    /// Wait for the next event: its context and its body.
    pub(crate) fn next(&self, config: &Arc<Config>) -> Result<(Context, Vec<u8>), Error> {
        let url = protocol::next_url(&self.base);
        log::debug!("GET {url}");
        let response = self.agent.get(&url).call().map_err(gone)?;
        let (parts, body) = response.into_parts();
        let headers = &parts.headers;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let context = protocol::parse_next(parts.status.as_u16(), &header, config);
        // Read the body even when the answer is an error, so the connection
        // stays usable for the next call.
        let event = read_body(body)?;
        let context = context?;
        log::debug!("{}: event of {} bytes", context.request_id, event.len());
        Ok((context, event))
    }

    /// Send one post and judge the answer.
    pub(crate) fn post(&self, post: &Post) -> Result<(), Error> {
        log::debug!("POST {} ({} bytes)", post.url, post.body.len());
        let mut request = self
            .agent
            .post(&post.url)
            .header("Content-Type", post.content_type);
        if let Some(error_type) = &post.error_type {
            request = request.header(protocol::FUNCTION_ERROR_TYPE, error_type);
        }
        if let Some(nonce) = post.invocation_id {
            request = request.header(protocol::INVOCATION_ID, nonce);
        }
        let response = request.send(&post.body[..]).map_err(gone)?;
        let status = response.status().as_u16();
        let answer = read_body(response.into_body())?;
        protocol::judge_post(status, &String::from_utf8_lossy(&answer))
    }

    /// The base URL, for the log line at start.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }
}

/// Read a whole body into one buffer sized from `Content-Length`: an event of
/// megabytes is read once, without regrowing, and parsed where it lies.
fn read_body(body: ureq::Body) -> Result<Vec<u8>, Error> {
    // Lambda caps buffered events at 6 MB; trust the header only that far so a
    // wrong one cannot make us reserve gigabytes up front.
    let expected = body
        .content_length()
        .unwrap_or(0)
        .min(6 * 1024 * 1024 + 4096) as usize;
    let mut bytes = Vec::with_capacity(expected);
    body.into_reader()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::ApiGone(e.to_string()))?;
    Ok(bytes)
}

fn gone(e: ureq::Error) -> Error {
    Error::ApiGone(e.to_string())
}

use std::string::ToString;
