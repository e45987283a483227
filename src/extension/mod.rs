//! The Lambda Extensions API and Telemetry API as plain data: what an
//! extension sends, and what it reads from Lambda's answers.
//!
//! An extension is a second participant in the execution environment beside
//! the runtime. An *external* extension is its own process, which Lambda
//! starts from `/opt/extensions` before the runtime; an *internal* one is a
//! thread the runtime starts itself. Either way it registers during init
//! (`POST register`, which answers with the `Lambda-Extension-Identifier`
//! every later call carries), then loops on `GET event/next` like the runtime
//! loops on `/invocation/next`: each answer is an `INVOKE` or, for an external
//! extension, the final `SHUTDOWN`. Asking for the next event is also how it
//! says it is done with the last one, so the time it spends between the two
//! counts towards the invocation's duration. An extension that fails reports
//! it once (`init/error` or `exit/error`) and exits.
//!
//! A registered extension may also subscribe to the Telemetry API (`PUT
//! telemetry`): from then on Lambda posts batches of platform events and log
//! lines to a small HTTP listener of the extension's own.
//!
//! # How the parts fit
//!
//! - `api`: the Extensions API (`/2020-01-01/extension`): register, next,
//!   the two error reports, and reading their answers into a
//!   [`Registration`](api::Registration) or an [`Event`](api::Event).
//! - `telemetry`: the Telemetry API (`/2022-07-01/telemetry`): the
//!   subscription; its `batch` reads a posted batch one element at a time,
//!   each into a typed `Record`.
//! - This file: what both share: a [`Request`] as data, the address both APIs
//!   live at ([`api_address`]), how a status is judged, and the one [`Error`].
//!
//! Those three are data in, data out, on `core` + `alloc`, like
//! [`crate::protocol`]: nothing in them opens a socket, starts a thread or
//! reads the environment. With `std`, two thin shells move the bytes:
//!
//! - `client`: [`Extension`], one extension's calls, sent as they are built
//!   through the runtime's own Runtime API transport (ureq, or the built-in
//!   client without the `ureq` feature), blocking, one kept-alive connection.
//! - `listener`: [`Listener`], the small HTTP server Lambda posts telemetry
//!   batches to, on [`crate::http1`], on a thread of its own.
//!
//! A function that only wants to learn of its own shutdown needs neither:
//! `Runtime::on_shutdown` registers an internal extension for it.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::protocol::ApiAddress;

pub mod api;
pub mod telemetry;

#[cfg(feature = "std")]
mod client;
#[cfg(feature = "std")]
mod listener;

#[cfg(feature = "std")]
pub use client::{Extension, file_name};
#[cfg(feature = "std")]
pub use listener::Listener;

/// One call to the Extensions or Telemetry API, as data: the shell sends it
/// as it is and hands the answer to the matching `parse_*` or `judge_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    /// The endpoint's path, API version included, below the address's root
    /// (see [`api_address`]; the shell owns the address).
    pub path: &'static str,
    /// Header names (Lambda's spelling) and values, in the order to send them.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body; empty for `GET`.
    pub body: String,
}

impl Request {
    /// The value of a header of this request, by name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where both APIs are, from `AWS_LAMBDA_RUNTIME_API`: the `authority` to
/// connect to, and a `root` that is only the path prefix (empty on Lambda)
/// each [`Request::path`] follows.
///
/// The Extensions and Telemetry APIs listen at the same address as the
/// Runtime API, so the value is read by the same rules
/// ([`crate::protocol::api_address`]), kept in one place; only the Runtime
/// API's own version path is taken off the root.
///
/// ```
/// use tiny_lambda::extension::api_address;
/// let api = api_address("127.0.0.1:9001").unwrap();
/// assert_eq!((api.authority.as_str(), api.root.as_str()), ("127.0.0.1:9001", ""));
/// assert!(api_address("https://h:1").is_err());
/// ```
pub fn api_address(api: &str) -> Result<ApiAddress, Error> {
    let bad = || Error::BadApiAddress(api.to_string());
    let runtime = crate::protocol::api_address(api).map_err(|_| bad())?;
    let version_path = format!("/{}/runtime", crate::protocol::API_VERSION);
    let prefix = runtime
        .root
        .strip_suffix(version_path.as_str())
        .ok_or_else(bad)?;
    Ok(ApiAddress {
        authority: runtime.authority,
        root: prefix.to_string(),
    })
}

/// What a status of either API means when the call has no more specific
/// reading: any 2xx is success (200 for most calls, 202 for the error reports
/// and for a subscription in local testing); 5xx is the documented "container
/// error, non-recoverable state", after which the extension should exit
/// promptly; anything else is a refusal whose body says why.
fn judge(status: u16, body: &str) -> Result<(), Error> {
    match status {
        200..=299 => Ok(()),
        500..=599 => Err(Error::ApiFailed(status)),
        _ => Err(Error::Refused {
            status,
            message: body.trim().to_string(),
        }),
    }
}

/// Everything that can go wrong in the extension's side of the protocol.
///
/// A fault of the API or of its answers is not survivable the way a refused
/// post is for the runtime: an extension that cannot register, read its next
/// event or subscribe has nothing left to do. After a 5xx it should exit at
/// once; otherwise, once registered, it reports the fault
/// ([`api::exit_error`]) and then exits. The rest ([`Error::BadName`],
/// [`Error::BadSubscription`], [`Error::BadBuffering`]) are refused before
/// anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `AWS_LAMBDA_RUNTIME_API` is not set: not in Lambda (or its emulator).
    MissingApiAddress,
    /// `AWS_LAMBDA_RUNTIME_API` is not `host:port` or `http://host:port/prefix`.
    BadApiAddress(String),
    /// The API could not be reached, or its answer could not be read (the
    /// transport's own words). The shell's fault, never the sans-IO parts'.
    ApiGone(String),
    /// The extension's name is empty or cannot be sent as a header value.
    /// Lambda expects the extension's full file name.
    BadName(String),
    /// `register` answered 200 without a `Lambda-Extension-Identifier`.
    MissingIdentifier,
    /// The identifier holds bytes that cannot go back in a header.
    BadIdentifier(String),
    /// An `event/next` answer is not the documented JSON; says what was wrong.
    BadEvent(&'static str),
    /// An `event/next` answer of an `eventType` other than `INVOKE` or `SHUTDOWN`.
    UnknownEvent(String),
    /// A buffering setting of a telemetry subscription is outside the range
    /// Lambda accepts.
    BadBuffering {
        /// The JSON name of the setting: `maxItems`, `maxBytes` or `timeoutMs`.
        field: &'static str,
        /// The value asked for.
        value: u32,
        /// The smallest value Lambda accepts.
        min: u32,
        /// The largest value Lambda accepts.
        max: u32,
    },
    /// A telemetry subscription Lambda would refuse; says why.
    BadSubscription(&'static str),
    /// A telemetry batch is not a JSON array of `{time, type, record}` objects.
    BadBatch,
    /// The API refused the call (4xx, or a status no call expects). 400 is a
    /// bad request; 403 forbids the call, and the docs name no cause, but no
    /// call succeeds after an `init/error` or `exit/error` has been received.
    Refused {
        /// The HTTP status the API answered.
        status: u16,
        /// What the API said, as text (usually its `errorType` and `errorMessage`).
        message: String,
    },
    /// The API answered 5xx: the environment is broken; exit promptly.
    ApiFailed(u16),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingApiAddress => f.write_str("AWS_LAMBDA_RUNTIME_API is not set"),
            Error::BadApiAddress(v) => write!(f, "AWS_LAMBDA_RUNTIME_API is not host:port: {v:?}"),
            Error::ApiGone(why) => write!(f, "extensions API unreachable: {why}"),
            Error::BadName(n) => write!(f, "extension name not usable as a header: {n:?}"),
            Error::MissingIdentifier => {
                f.write_str("register answered without Lambda-Extension-Identifier")
            }
            Error::BadIdentifier(id) => {
                write!(f, "extension identifier not usable as a header: {id:?}")
            }
            Error::BadEvent(why) => write!(f, "malformed extension event: {why}"),
            Error::UnknownEvent(kind) => write!(f, "unknown extension event type {kind:?}"),
            Error::BadBuffering {
                field,
                value,
                min,
                max,
            } => write!(
                f,
                "telemetry buffering {field} = {value} is outside {min}..={max}"
            ),
            Error::BadSubscription(why) => write!(f, "telemetry subscription refused: {why}"),
            Error::BadBatch => {
                f.write_str("telemetry batch is not a JSON array of {time, type, record}")
            }
            Error::Refused { status, message } => {
                write!(
                    f,
                    "extensions API refused the call with {status}: {message}"
                )
            }
            Error::ApiFailed(s) => write!(f, "extensions API failed with {s}"),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_follows_the_runtime_api_rules() {
        for (api, authority, root) in [
            ("127.0.0.1:9001", "127.0.0.1:9001", ""),
            (" localhost:80 ", "localhost:80", ""),
            ("http://127.0.0.1:9000/.rt/", "127.0.0.1:9000", "/.rt"),
        ] {
            let address = api_address(api).unwrap();
            assert_eq!(address.authority, authority, "{api:?}");
            assert_eq!(address.root, root, "{api:?}");
        }
        for bad in ["", "localhost", "https://h:1", "h:1?x"] {
            assert_eq!(api_address(bad), Err(Error::BadApiAddress(bad.into())));
        }
    }

    #[test]
    fn statuses_are_judged() {
        for ok in [200, 202, 204] {
            assert_eq!(judge(ok, "ignored"), Ok(()));
        }
        for status in [400, 403, 404, 302] {
            assert_eq!(
                judge(status, " {\"errorType\":\"Extension.Forbidden\"}\n"),
                Err(Error::Refused {
                    status,
                    message: "{\"errorType\":\"Extension.Forbidden\"}".into()
                })
            );
        }
        for status in [500, 503] {
            assert_eq!(judge(status, ""), Err(Error::ApiFailed(status)));
        }
    }

    #[test]
    fn a_request_finds_its_headers_in_any_case() {
        let request = Request {
            method: "GET",
            path: "/x",
            headers: alloc::vec![("Lambda-Extension-Identifier", "id-1".into())],
            body: String::new(),
        };
        assert_eq!(request.header("lambda-extension-identifier"), Some("id-1"));
        assert_eq!(request.header("Content-Type"), None);
    }
}
