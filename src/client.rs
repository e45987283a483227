//! The Runtime API client: moves the bytes that [`crate::protocol`] describes.
//!
//! A `GET` for the next event and a `POST` for each [`Post`], over the one
//! kept-alive connection of [`crate::transport`]. This module and `transport`
//! are the only code that touches the network.

use std::string::{String, ToString};
use std::sync::{Arc, Mutex, TryLockError};
use std::vec::Vec;

use crate::context::{Config, Context};
use crate::error::Error;
use crate::protocol::{self, Post};
use crate::transport::{Connection, Request, Response, Transport};

/// A handle on the Runtime API. Clones share the one connection.
#[derive(Clone)]
pub(crate) struct Client {
    base: String,
    /// `host:port` of the API: where to connect, and the `Host` header.
    authority: String,
    connection: Arc<Mutex<Connection>>,
}

impl Client {
    /// A client for `AWS_LAMBDA_RUNTIME_API`'s value.
    pub(crate) fn new(api: &str) -> Result<Client, Error> {
        let base = protocol::base_url(api)?;
        let authority = base["http://".len()..]
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let connection = Arc::new(Mutex::new(Connection::new(&authority)));
        Ok(Client {
            base,
            authority,
            connection,
        })
    }

    /// A client for the same API with a connection of its own, for a thread
    /// that serves invocations beside this one's. Nothing is opened yet.
    pub(crate) fn with_own_connection(&self) -> Client {
        Client {
            base: self.base.clone(),
            authority: self.authority.clone(),
            connection: Arc::new(Mutex::new(Connection::new(&self.authority))),
        }
    }

    /// Forget the kept-alive connection, so the next call opens a new one:
    /// after a SnapStart restore the old one is dead, and trying it first
    /// would cost a failed call (or, on a connection that swallows what is
    /// sent, a wait without end).
    pub(crate) fn reconnect(&self) {
        let fresh = Connection::new(&self.authority);
        match self.connection.lock() {
            Ok(mut connection) => *connection = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    /// The base URL: `http://host:port[/prefix]/2018-06-01/runtime`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `host:port` of the API, for the connection streamed answers take.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// Wait for the next event: its context and its body.
    ///
    /// There is no timeout: `/next` long-polls for as long as there is no
    /// event, and Lambda freezes the whole process between invocations, so a
    /// timer would fire on thaw for no reason.
    pub(crate) fn next(&self, config: &Arc<Config>) -> Result<(Context, Vec<u8>), Error> {
        let url = protocol::next_url(&self.base);
        log::debug!("GET {url}");
        let response = self.send("GET", &url, &[], &[])?;
        let header = |name: &str| response.header(name);
        let context = protocol::parse_next(response.status, &header, config)?;
        log::debug!(
            "{}: event of {} bytes",
            context.request_id,
            response.body.len()
        );
        Ok((context, response.body))
    }

    /// SnapStart: `GET /restore/next`, which Lambda answers once the snapshot
    /// taken after init has been restored. No timeout, like `/next`: the
    /// process is frozen in between. Any answer but 200 is an error.
    pub(crate) fn restore_next(&self) -> Result<(), Error> {
        let url = protocol::restore_next_url(&self.base);
        log::debug!("GET {url}");
        let response = self.send("GET", &url, &[], &[])?;
        protocol::judge_restore_next(response.status)
    }

    /// Send one post and judge the answer.
    pub(crate) fn post(&self, post: &Post) -> Result<(), Error> {
        log::debug!("POST {} ({} bytes)", post.url, post.body.len());
        let mut headers = Vec::with_capacity(3);
        headers.push(("Content-Type", post.content_type));
        if let Some(error_type) = &post.error_type {
            headers.push((protocol::FUNCTION_ERROR_TYPE, error_type.as_str()));
        }
        if let Some(nonce) = post.invocation_id {
            headers.push((protocol::INVOCATION_ID, nonce));
        }
        let response = self.send("POST", &post.url, &headers, &post.body)?;
        protocol::judge_post(response.status, &String::from_utf8_lossy(&response.body))
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, Error> {
        // Every URL comes from `base`, so the path is what follows the authority.
        let path = &url["http://".len() + self.authority.len()..];
        let request = Request {
            method,
            path,
            headers,
            body,
        };
        let exchange = |connection: &mut Connection| connection.send(&request);
        let result = match self.connection.try_lock() {
            Ok(mut connection) => exchange(&mut connection),
            Err(TryLockError::Poisoned(poisoned)) => exchange(&mut poisoned.into_inner()),
            // Only the panic hook can get here, for a panic raised while the
            // connection was in use: it reports over a connection of its own.
            Err(TryLockError::WouldBlock) => exchange(&mut Connection::new(&self.authority)),
        };
        result.map_err(|e| Error::ApiGone(e.to_string()))
    }
}
