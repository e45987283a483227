//! A small, blocking AWS client (feature `aws`): what a function needs to
//! call DynamoDB, SQS and S3 without bringing an async executor back.
//!
//! The AWS SDK for Rust is async only; its first call would put tokio, hyper
//! and the SDK's layers into a bootstrap this crate keeps small. This client
//! signs requests with Signature Version 4, sends them over ureq (rustls for
//! HTTPS) on the calling thread, and reads the answers with miniserde.
//!
//! ```no_run
//! use tiny_lambda::aws::{Aws, dynamodb::{Expr, Item, Value}};
//! use tiny_lambda::{Context, Diagnostic, Handler, Runtime};
//!
//! fn main() {
//!     let runtime = Runtime::from_env();
//!     let aws = runtime.init(Aws::from_env);
//!     runtime.serve(Handler::json(move |id: String, ctx: &Context| -> Result<String, Diagnostic> {
//!         let mut item = Item::new();
//!         item.insert("id".into(), Value::S(id.clone()));
//!         aws.dynamodb(ctx).put_item("table", &item, &Expr::new())?;
//!         Ok(id)
//!     }))
//! }
//! ```
//!
//! The parts, each a file:
//! - `sigv4`: signing as a pure function, tested on AWS's worked examples;
//!   `time`: the two date formats it and the credentials need.
//! - `credentials`: the environment's keys or the container credentials
//!   endpoint, cached and refreshed before they expire.
//! - `http`: the one I/O shell, an agent per thread, keep-alive.
//! - `error`: one [`Error`] with the AWS error code, whatever the protocol.
//! - this file: [`Aws`] and its settings, the [`Deadline`], and what a
//!   call is; `call`: where each service's endpoint is, and the call
//!   itself: sign, send, retry, never past the [`Deadline`].
//! - the services: [`dynamodb`], [`sqs`], [`s3`], and [`Aws::call_json`]
//!   for any other service on the AWS JSON protocol.
//!
//! # Where requests go
//!
//! The region is `AWS_REGION`, else `AWS_DEFAULT_REGION` (Lambda sets the
//! first). A service's endpoint is `https://{service}.{region}.amazonaws.com`
//! (`.amazonaws.com.cn` in China), unless `AWS_ENDPOINT_URL_{SERVICE}`
//! (`AWS_ENDPOINT_URL_DYNAMODB`, `_SQS`, `_S3`) or `AWS_ENDPOINT_URL` names
//! another, as in the AWS SDKs and CLI; an `http://` endpoint is plain HTTP.
//! S3 is addressed virtual-hosted style (`bucket.s3.region.amazonaws.com`)
//! on AWS, and path style (`endpoint/bucket/key`) on an endpoint URL, which
//! local mocks need and which works for bucket names with dots.
//!
//! # Time limits and retries
//!
//! Each attempt has a connect timeout (3 s) and a timeout for the whole
//! exchange (10 s), both adjustable ([`Aws::with_timeouts`]). A call made
//! with a [`Deadline`] (a handler passes its `&Context`) never runs past it:
//! attempts are cut short [`DEADLINE_MARGIN`] before it, so the handler is
//! left time to answer, and no retry starts that could not finish.
//!
//! Retries follow the AWS SDKs' standard mode: up to 3 attempts
//! (`AWS_MAX_ATTEMPTS` changes it), for throttling, 5xx answers, broken
//! connections and timeouts, after a pause of `random(0, 1) * 2^(n-1)`
//! seconds (at most 20 s); each retry is a DEBUG line. The SDKs' retry quota
//! (a token bucket that stops retries when many fail) is left out: a
//! function serves one invocation per thread, and its deadline bounds the
//! retries already.

use std::string::{String, ToString};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::vec::Vec;

use crate::context::Context;

mod call;

// `pub(crate)` for the `aws` fuzz target's reach (`crate::__fuzz`).
pub(crate) mod credentials;
pub(crate) mod error;
mod http;
mod sigv4;
pub(crate) mod time;

pub mod dynamodb;
pub mod s3;
pub mod sqs;

pub use credentials::{Credentials, REFRESH_BEFORE_SECS};
pub use error::Error;

/// How long before a [`Deadline`] every call gives up, so that the handler
/// still has time to answer the invocation.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// The standard retry mode's attempts, unless `AWS_MAX_ATTEMPTS` says.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// The largest JSON answer read: DynamoDB's `Query` pages at 1 MB, SQS
/// messages are at most 1 MiB each and 10 at a time.
const MAX_JSON_ANSWER: u64 = 16 * 1024 * 1024;

/// How many times this process has been restored from a SnapStart
/// snapshot. Keys and connections made under an older count are not used
/// again: the snapshot's connections are dead, its keys may be stale, and
/// the environment is read again for the keys it now names.
static RESTORES: AtomicU64 = AtomicU64::new(0);

fn restores() -> u64 {
    RESTORES.load(Ordering::Relaxed)
}

/// Forget every client's cached keys and every thread's pooled connections.
/// The runtime calls this after a SnapStart restore, before the after-restore
/// hooks; call it yourself if you know the keys were revoked.
pub fn after_restore() {
    RESTORES.fetch_add(1, Ordering::Relaxed);
}

/// When a call must be over: an invocation's deadline, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline (calls made during init): only the timeouts bound them.
    pub const NONE: Deadline = Deadline(None);

    /// A deadline at a point in time.
    pub fn at(instant: Instant) -> Deadline {
        Deadline(Some(instant))
    }

    /// Time left before the deadline, less [`DEADLINE_MARGIN`].
    fn usable(&self) -> Option<Duration> {
        self.0.map(|at| {
            at.saturating_duration_since(Instant::now())
                .saturating_sub(DEADLINE_MARGIN)
        })
    }
}

/// The invocation's deadline, from [`Context::remaining`].
impl From<&Context> for Deadline {
    fn from(ctx: &Context) -> Deadline {
        Deadline(Some(Instant::now() + ctx.remaining()))
    }
}

/// A client for AWS, cheap to clone: clones share the credentials cache.
/// Build it once, during init.
#[derive(Clone)]
pub struct Aws {
    shared: Arc<Shared>,
}

struct Shared {
    region: String,
    /// `AWS_ENDPOINT_URL` and the `AWS_ENDPOINT_URL_*` variables, read once.
    endpoint_urls: Vec<(String, String)>,
    /// Made by [`Aws::from_env`]: [`Aws::call_json`] may read the endpoint
    /// variable of a service not read at start from the process environment.
    /// A client from [`Aws::from_lookup`] reads its lookup only.
    process_env: bool,
    credentials: credentials::Cache,
    connect_timeout: Duration,
    timeout: Duration,
    max_attempts: u32,
}

/// A call as [`Aws::call`] sends it: the service, the endpoint variable's
/// suffix, and the request.
pub(crate) struct Call<'a> {
    /// The signing name, also the [`Error::service`].
    pub service: &'a str,
    /// Where to send it.
    pub endpoint: &'a Endpoint,
    pub method: &'a str,
    /// Percent-encoded, after the endpoint's own path.
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    /// Lower-case names; all are signed.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// S3's rules: the path encoded once, `x-amz-content-sha256` sent.
    pub s3: bool,
    pub body_limit: u64,
    /// Time the service may hold the answer back on purpose (SQS's long
    /// poll), added to each attempt's timeout.
    pub wait: Duration,
}

/// A service on the AWS JSON protocol, as [`Aws::json_object`] calls it.
pub(crate) struct JsonService {
    /// The signing name and endpoint prefix.
    pub name: &'static str,
    /// Its own endpoint variable.
    pub variable: &'static str,
    /// What `X-Amz-Target` starts with: `DynamoDB_20120810.`.
    pub target_prefix: &'static str,
    pub content_type: &'static str,
}

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `https://host[:port]`.
    pub origin: String,
    /// The `Host` header: the host, and the port unless the scheme's own.
    pub host: String,
    /// A path the endpoint URL itself carries (usually empty), no trailing `/`.
    pub prefix: String,
    /// Whether an `AWS_ENDPOINT_URL*` variable chose it.
    pub overridden: bool,
}

impl Aws {
    /// A client configured from the environment, as Lambda sets it. Fails
    /// only when no region or no source of credentials is set; no request
    /// is sent until the first call.
    pub fn from_env() -> Result<Aws, Error> {
        let aws = Aws::from_lookup(&|name| std::env::var(name).ok())?;
        Ok(aws.reshape(|s| s.process_env = true))
    }

    /// The same, from any lookup of variables (tests, or settings of your own).
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Aws, Error> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let region = set("AWS_REGION")
            .or_else(|| set("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                Error::local(
                    "aws",
                    "MissingRegion",
                    "set AWS_REGION or AWS_DEFAULT_REGION",
                )
            })?;
        let source = credentials::Source::from_lookup(var)?;
        let mut endpoint_urls = Vec::new();
        for name in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SQS",
            "AWS_ENDPOINT_URL_S3",
        ] {
            if let Some(url) = set(name) {
                endpoint_urls.push((name.to_string(), url));
            }
        }
        let max_attempts = match set("AWS_MAX_ATTEMPTS") {
            None => DEFAULT_MAX_ATTEMPTS,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    Error::local(
                        "aws",
                        "InvalidConfiguration",
                        ["AWS_MAX_ATTEMPTS is not a whole number from 1: ", &text].concat(),
                    )
                })?,
        };
        log::debug!(
            "aws: region {region}, {} endpoint override(s)",
            endpoint_urls.len()
        );
        Ok(Aws {
            shared: Arc::new(Shared {
                region,
                endpoint_urls,
                process_env: false,
                credentials: credentials::Cache::new(source),
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                timeout: DEFAULT_TIMEOUT,
                max_attempts,
            }),
        })
    }

    /// The same client with other timeouts for each attempt: to connect,
    /// and for the whole exchange. Call it before cloning.
    pub fn with_timeouts(self, connect: Duration, exchange: Duration) -> Aws {
        self.reshape(|s| {
            s.connect_timeout = connect;
            s.timeout = exchange;
        })
    }

    /// The same client with at most `attempts` tries per call (at least 1).
    pub fn with_max_attempts(self, attempts: u32) -> Aws {
        self.reshape(|s| s.max_attempts = attempts.max(1))
    }

    fn reshape(self, change: impl FnOnce(&mut Shared)) -> Aws {
        let mut shared = match Arc::try_unwrap(self.shared) {
            Ok(shared) => shared,
            Err(arc) => Shared {
                region: arc.region.clone(),
                endpoint_urls: arc.endpoint_urls.clone(),
                process_env: arc.process_env,
                credentials: credentials::Cache::new(arc.credentials.source()),
                connect_timeout: arc.connect_timeout,
                timeout: arc.timeout,
                max_attempts: arc.max_attempts,
            },
        };
        change(&mut shared);
        Aws {
            shared: Arc::new(shared),
        }
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.shared.region
    }

    /// The keys the next call will sign with, fetched if need be.
    pub fn credentials(&self) -> Result<Credentials, Error> {
        self.shared.credentials.get()
    }

    /// DynamoDB, bounded by `deadline` (pass the handler's `&Context`, or
    /// [`Deadline::NONE`] during init).
    pub fn dynamodb(&self, deadline: impl Into<Deadline>) -> dynamodb::DynamoDb<'_> {
        dynamodb::DynamoDb::new(self, deadline.into())
    }

    /// SQS, bounded by `deadline`.
    pub fn sqs(&self, deadline: impl Into<Deadline>) -> sqs::Sqs<'_> {
        sqs::Sqs::new(self, deadline.into())
    }

    /// S3, bounded by `deadline`.
    pub fn s3(&self, deadline: impl Into<Deadline>) -> s3::S3<'_> {
        s3::S3::new(self, deadline.into())
    }
}
