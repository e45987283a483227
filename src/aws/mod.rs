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
//! - this file: [`Aws`], where each service's endpoint is, and the call
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

use miniserde::json::{self, Object, Value as Json};

use crate::context::Context;

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

    /// Any service on the AWS JSON protocol: `target` is the
    /// `X-Amz-Target` (`Kinesis_20131202.PutRecord`), `json_version` the
    /// protocol's (`1.0` for DynamoDB and SQS, `1.1` for most others: see
    /// the service's API reference), `body` the request as JSON. Returns the
    /// answer's JSON text. `service` is the signing name and endpoint
    /// prefix (`kinesis`, `secretsmanager`); its endpoint variable is
    /// `AWS_ENDPOINT_URL_` and the name in capitals, read from the process
    /// environment by a client from [`Aws::from_env`]. A client from
    /// [`Aws::from_lookup`] reads only what its lookup gave at start:
    /// `AWS_ENDPOINT_URL` and the DynamoDB, SQS and S3 variables.
    pub fn call_json(
        &self,
        deadline: impl Into<Deadline>,
        service: &str,
        target: &str,
        json_version: &str,
        body: &str,
    ) -> Result<String, Error> {
        let variable = [
            "AWS_ENDPOINT_URL_",
            &service.to_ascii_uppercase().replace('-', "_"),
        ]
        .concat();
        // The variables read at start first: those are the lookup's.
        let own = self.endpoint_url(&variable).or_else(|| {
            self.shared
                .process_env
                .then(|| std::env::var(&variable).ok())
                .flatten()
        });
        let endpoint = self.endpoint_for(&variable, service, own)?;
        let content_type = ["application/x-amz-json-", json_version].concat();
        self.json(
            deadline.into(),
            service,
            &endpoint,
            target,
            &content_type,
            body,
            Duration::ZERO,
        )
    }

    /// A call on the AWS JSON protocol (`POST /` with `X-Amz-Target`), its
    /// answer as text.
    #[allow(clippy::too_many_arguments)] // Each is one field of the call; a struct would only rename them.
    pub(crate) fn json(
        &self,
        deadline: Deadline,
        service: &str,
        endpoint: &Endpoint,
        target: &str,
        content_type: &str,
        body: &str,
        wait: Duration,
    ) -> Result<String, Error> {
        let headers = [("content-type", content_type), ("x-amz-target", target)];
        let answer = self.call(
            deadline,
            &Call {
                service,
                endpoint,
                method: "POST",
                path: "/",
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
                s3: false,
                body_limit: MAX_JSON_ANSWER,
                wait,
            },
        )?;
        String::from_utf8(answer.body).map_err(|_| {
            Error::local(
                service,
                "MalformedResponse",
                ["the answer to ", target, " is not UTF-8"].concat(),
            )
        })
    }

    /// One operation of a service on the AWS JSON protocol: `body` out, the
    /// answer's JSON object back (an empty answer is an empty object).
    pub(crate) fn json_object(
        &self,
        deadline: Deadline,
        service: &JsonService,
        operation: &str,
        body: Object,
        wait: Duration,
    ) -> Result<Object, Error> {
        let endpoint = self.endpoint(service.variable, service.name)?;
        let target = [service.target_prefix, operation].concat();
        let text = json::to_string(&Json::Object(body));
        let answer = self.json(
            deadline,
            service.name,
            &endpoint,
            &target,
            service.content_type,
            &text,
            wait,
        )?;
        if answer.trim().is_empty() {
            return Ok(Object::new());
        }
        match json::from_str::<Json>(&answer) {
            Ok(Json::Object(object)) => Ok(object),
            _ => Err(Error::local(
                service.name,
                "MalformedResponse",
                [operation, ": the answer is not a JSON object"].concat(),
            )),
        }
    }

    /// The endpoint of a service with a variable of its own
    /// (`AWS_ENDPOINT_URL_DYNAMODB`), read when the client was made.
    pub(crate) fn endpoint(&self, variable: &str, prefix: &str) -> Result<Endpoint, Error> {
        self.endpoint_for(variable, prefix, self.endpoint_url(variable))
    }

    /// An endpoint variable's value, as read when the client was made.
    fn endpoint_url(&self, variable: &str) -> Option<String> {
        self.shared
            .endpoint_urls
            .iter()
            .find(|(name, _)| name == variable)
            .map(|(_, url)| url.clone())
    }

    fn endpoint_for(
        &self,
        variable: &str,
        prefix: &str,
        own: Option<String>,
    ) -> Result<Endpoint, Error> {
        match own
            .filter(|u| !u.is_empty())
            .or_else(|| self.endpoint_url("AWS_ENDPOINT_URL"))
        {
            Some(url) => parse_endpoint_url(&url).ok_or_else(|| {
                Error::local(
                    prefix,
                    "InvalidConfiguration",
                    [
                        variable,
                        " (or AWS_ENDPOINT_URL) is not an http(s) URL: ",
                        &url,
                    ]
                    .concat(),
                )
            }),
            None => {
                let suffix = if self.shared.region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                let host = [prefix, ".", &self.shared.region, ".", suffix].concat();
                Ok(Endpoint {
                    origin: ["https://", &host].concat(),
                    host,
                    prefix: String::new(),
                    overridden: false,
                })
            }
        }
    }

    /// Sign, send, read; retry what may succeed when sent again, while the
    /// deadline allows. An answer of 300 or more is an [`Error`].
    pub(crate) fn call(&self, deadline: Deadline, call: &Call) -> Result<http::Answer, Error> {
        let shared = &self.shared;
        let mut url = String::with_capacity(call.endpoint.origin.len() + call.path.len() + 16);
        url.push_str(&call.endpoint.origin);
        url.push_str(&call.endpoint.prefix);
        url.push_str(call.path);
        for (i, (name, value)) in call.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&sigv4::uri_encode(name, true));
            url.push('=');
            url.push_str(&sigv4::uri_encode(value, true));
        }
        let signed_path = [call.endpoint.prefix.as_str(), call.path].concat();
        let payload_hash = sigv4::sha256_hex(call.body);
        let mut headers: Vec<(&str, &str)> = call.headers.to_vec();
        if call.s3 {
            headers.push(("x-amz-content-sha256", &payload_hash));
        }
        let scope = sigv4::Scope {
            region: &shared.region,
            service: call.service,
            double_encode_path: !call.s3,
        };

        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut timeout = shared.timeout + call.wait;
            let mut bounded_by_deadline = false;
            if let Some(left) = deadline.usable() {
                if left.is_zero() {
                    return Err(Error::local(
                        call.service,
                        "DeadlineExceeded",
                        "no time left before the invocation's deadline",
                    ));
                }
                if left < timeout {
                    timeout = left;
                    bounded_by_deadline = true;
                }
            }
            let keys = shared
                .credentials
                .get_before(deadline.usable().map(|left| Instant::now() + left))?;
            let request = sigv4::Request {
                method: call.method,
                host: &call.endpoint.host,
                path: &signed_path,
                query: call.query,
                headers: &headers,
                payload_hash: &payload_hash,
            };
            let added = sigv4::sign(&request, &scope, &keys, credentials::now_secs());
            let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 4);
            all.push(("host", &call.endpoint.host));
            all.extend_from_slice(&headers);
            all.extend(added.iter().map(|(n, v)| (*n, v.as_str())));
            let sent = http::send(&http::Outgoing {
                method: call.method,
                url: &url,
                headers: &all,
                body: call.body,
                connect_timeout: shared.connect_timeout.min(timeout),
                timeout,
                body_limit: call.body_limit,
            });
            let error = match sent {
                Ok(answer) if answer.status < 300 => return Ok(answer),
                Ok(answer) => {
                    let header = |name: &str| answer.header(name).map(str::to_string);
                    Error::from_answer(call.service, answer.status, &header, &answer.body)
                }
                Err(http::Fault::Timeout(why)) if bounded_by_deadline => {
                    return Err(Error::local(
                        call.service,
                        "DeadlineExceeded",
                        ["cut short by the invocation's deadline: ", &why].concat(),
                    ));
                }
                Err(http::Fault::Timeout(why)) => Error::local(call.service, "TimeoutError", why),
                Err(http::Fault::Connection(why)) => {
                    Error::local(call.service, "ConnectionError", why)
                }
                Err(http::Fault::Malformed(why)) => {
                    Error::local(call.service, "MalformedResponse", why)
                }
            };
            if !error.is_retryable() || attempt >= shared.max_attempts {
                return Err(error);
            }
            let pause = backoff(attempt);
            if deadline.usable().is_some_and(|left| left <= pause) {
                log::debug!(
                    "{}: attempt {attempt} failed ({}); no time left for another before the deadline",
                    call.service,
                    error.code
                );
                return Err(error);
            }
            log::debug!(
                "{}: attempt {attempt} failed ({}); retrying in {} ms",
                call.service,
                error.code,
                pause.as_millis()
            );
            std::thread::sleep(pause);
        }
    }
}

/// `http(s)://host[:port][/path]` as an endpoint, or `None`.
fn parse_endpoint_url(url: &str) -> Option<Endpoint> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['@', '?', '#', ' ']) {
        return None;
    }
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(Endpoint {
        origin: [scheme, "://", authority].concat(),
        host: host.to_string(),
        prefix: path.to_string(),
        overridden: true,
    })
}

/// The pause before attempt `attempt + 1`: full jitter on an exponential
/// base of one second, as the SDKs' standard mode.
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_secs(1u64 << (attempt - 1).min(5)).min(MAX_BACKOFF);
    ceiling.mul_f64(jitter())
}

/// A number in [0, 1) that differs from call to call: enough for jitter,
/// which only has to keep many clients from retrying in step.
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    // splitmix64 of the time and a counter.
    let mut z = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(vars: &[(&str, &str)]) -> Result<Aws, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Aws::from_lookup(&move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    }

    const KEYS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "S"),
    ];

    #[test]
    fn endpoints_follow_the_region_and_the_overrides() {
        let plain = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ])
        .unwrap();
        assert_eq!(plain.region(), "eu-west-1");
        let e = plain
            .endpoint("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb")
            .unwrap();
        assert_eq!(
            (e.origin.as_str(), e.host.as_str(), e.overridden),
            (
                "https://dynamodb.eu-west-1.amazonaws.com",
                "dynamodb.eu-west-1.amazonaws.com",
                false
            )
        );
        let china = aws(&[KEYS[0], KEYS[1], ("AWS_DEFAULT_REGION", "cn-north-1")]).unwrap();
        assert_eq!(
            china.endpoint("AWS_ENDPOINT_URL_SQS", "sqs").unwrap().host,
            "sqs.cn-north-1.amazonaws.com.cn"
        );

        let local = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"),
            ("AWS_ENDPOINT_URL_SQS", "https://sqs.example:443/base"),
        ])
        .unwrap();
        let ddb = local
            .endpoint("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb")
            .unwrap();
        assert_eq!(
            (ddb.origin.as_str(), ddb.host.as_str(), ddb.prefix.as_str()),
            ("http://127.0.0.1:4566", "127.0.0.1:4566", "")
        );
        let sqs = local.endpoint("AWS_ENDPOINT_URL_SQS", "sqs").unwrap();
        assert_eq!(
            (sqs.origin.as_str(), sqs.host.as_str(), sqs.prefix.as_str()),
            ("https://sqs.example:443", "sqs.example", "/base")
        );
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(
            aws(&[KEYS[0], KEYS[1]]).err().unwrap().code,
            "MissingRegion"
        );
        assert_eq!(
            aws(&[("AWS_REGION", "us-east-1")]).err().unwrap().code,
            "CredentialsError"
        );
        let e = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "r"),
            ("AWS_MAX_ATTEMPTS", "0"),
        ])
        .err()
        .unwrap();
        assert!(e.message.contains("AWS_MAX_ATTEMPTS"), "{e}");
        let bad_url = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "r"),
            ("AWS_ENDPOINT_URL", "ftp://x"),
        ])
        .unwrap();
        let e = bad_url.endpoint("AWS_ENDPOINT_URL_S3", "s3").unwrap_err();
        assert!(e.message.contains("AWS_ENDPOINT_URL"), "{e}");
        assert_eq!(parse_endpoint_url("http://"), None);
        assert_eq!(parse_endpoint_url("http://user@host"), None);
    }

    #[test]
    fn backoff_grows_with_full_jitter() {
        for attempt in 1..=8 {
            let ceiling = Duration::from_secs(1 << (attempt - 1).min(5)).min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(attempt) < ceiling);
            }
        }
        let draws: Vec<f64> = (0..100).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn a_spent_deadline_sends_nothing() {
        let client = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ])
        .unwrap();
        let past = Deadline::at(Instant::now());
        let e = client
            .dynamodb(past)
            .get_item("t", &dynamodb::Item::new())
            .unwrap_err();
        assert_eq!(e.code, "DeadlineExceeded");
    }
}
