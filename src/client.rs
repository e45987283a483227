//! The Runtime API client: moves the bytes that [`crate::protocol`] describes.
//!
//! A `GET` for the next event and a `POST` for each [`Post`], over the one
//! kept-alive connection of [`crate::transport`]. This module and `transport`
//! are the only code that touches the network.

use std::string::{String, ToString};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread;
use std::time::Duration;
use std::vec::Vec;

use crate::context::{Config, Context};
use crate::error::Error;
use crate::protocol::{self, ApiAddress, Post};
use crate::transport::{Connection, Request, Response, Transport};

/// The pause before a post is sent again on a fresh connection.
const POST_RETRY_DELAY_MS: u64 = 20;

/// A handle on the Runtime API. Clones share the one connection.
///
/// The client alone knows where the API is: the protocol speaks in paths
/// below the API's root ([`protocol::NEXT`], [`Post::path`]), and the client
/// puts the root in front of them.
#[derive(Clone)]
pub(crate) struct Client {
    api: Arc<ApiAddress>,
    connection: Arc<Mutex<Connection>>,
}

impl Client {
    /// A client for `AWS_LAMBDA_RUNTIME_API`'s value.
    pub(crate) fn new(api: &str) -> Result<Client, Error> {
        let api = protocol::api_address(api)?;
        let connection = Arc::new(Mutex::new(Connection::new(&api.authority)));
        Ok(Client {
            api: Arc::new(api),
            connection,
        })
    }

    /// A client for the same API with a connection of its own, for a thread
    /// that serves invocations beside this one's. Nothing is opened yet.
    pub(crate) fn with_own_connection(&self) -> Client {
        Client {
            api: Arc::clone(&self.api),
            connection: Arc::new(Mutex::new(Connection::new(&self.api.authority))),
        }
    }

    /// Forget the kept-alive connection, so the next call opens a new one:
    /// after a SnapStart restore the old one is dead, and trying it first
    /// would cost a failed call (or, on a connection that swallows what is
    /// sent, a wait without end).
    pub(crate) fn reconnect(&self) {
        let fresh = Connection::new(&self.api.authority);
        match self.connection.lock() {
            Ok(mut connection) => *connection = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    /// `host:port` of the API, for the connection streamed answers take.
    pub(crate) fn authority(&self) -> &str {
        &self.api.authority
    }

    /// The request target for one of the protocol's paths.
    pub(crate) fn target(&self, path: &str) -> String {
        let mut target = String::with_capacity(self.api.root.len() + path.len());
        target.push_str(&self.api.root);
        target.push_str(path);
        target
    }

    /// Wait for the next event: its context and its body.
    ///
    /// There is no timeout: `/next` long-polls for as long as there is no
    /// event, and Lambda freezes the whole process between invocations, so a
    /// timer would fire on thaw for no reason.
    pub(crate) fn next(&self, config: &Arc<Config>) -> Result<(Context, Vec<u8>), Error> {
        log::debug!("GET {}", protocol::NEXT);
        let response = self.send("GET", protocol::NEXT, &[], &[])?;
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
        log::debug!("GET {}", protocol::RESTORE_NEXT);
        let response = self.send("GET", protocol::RESTORE_NEXT, &[], &[])?;
        protocol::judge_restore_next(response.status)
    }

    /// Send one post and judge the answer. If the connection died under it
    /// (the API closed an idle keep-alive connection, say), one more try on
    /// a fresh connection: the answer is worth more than the risk of a
    /// duplicate, which Lambda refuses harmlessly with 403.
    pub(crate) fn post(&self, post: &Post) -> Result<(), Error> {
        match self.post_once(post) {
            Err(Error::ApiGone(why)) => {
                log::warn!("post to {} failed ({why}); trying once more", post.path);
                thread::sleep(Duration::from_millis(POST_RETRY_DELAY_MS));
                self.post_once(post)
            }
            other => other,
        }
    }

    #[inline]
    fn post_once(&self, post: &Post) -> Result<(), Error> {
        log::debug!("POST {} ({} bytes)", post.path, post.body.len());
        let mut headers = Vec::with_capacity(3);
        headers.push(("Content-Type", post.content_type));
        if let Some(error_type) = &post.error_type {
            headers.push((protocol::FUNCTION_ERROR_TYPE, error_type.as_str()));
        }
        if let Some(nonce) = post.invocation_id {
            headers.push((protocol::INVOCATION_ID, nonce));
        }
        let response = self.send("POST", &post.path, &headers, &post.body)?;
        protocol::judge_post(response.status, &String::from_utf8_lossy(&response.body))
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, Error> {
        let target = self.target(path);
        let request = Request {
            method,
            path: &target,
            headers,
            body,
        };
        let exchange = |connection: &mut Connection| connection.send(&request);
        let result = match self.connection.try_lock() {
            Ok(mut connection) => exchange(&mut connection),
            Err(TryLockError::Poisoned(poisoned)) => exchange(&mut poisoned.into_inner()),
            // Only the panic hook can get here, for a panic raised while the
            // connection was in use: it reports over a connection of its own.
            Err(TryLockError::WouldBlock) => exchange(&mut Connection::new(&self.api.authority)),
        };
        result.map_err(|e| Error::ApiGone(e.to_string()))
    }
}
