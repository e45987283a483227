//! The Lambda Runtime API as plain data: its paths and header names, the pure
//! functions that turn a `/next` answer into a [`Context`], and the ones that
//! build what the runtime posts back ([`Post`]).
//!
//! The parts: this file holds the names (paths, headers, limits) and reading
//! a `/next` answer; `post` builds the posts and judges their answers
//! (buffered answers, error reports, SnapStart's); `stream` builds a streamed
//! answer's head, error trailers and function URL prelude; `base64` is the
//! encoding two headers and one trailer use.
//!
//! Nothing here opens a socket or reads the environment: data in, data out, on
//! `core` + `alloc`. The std shell (the `client` module) moves the bytes. This is
//! the module to hold against the AWS documentation ("Using the Lambda runtime
//! API for custom runtimes"); the names below follow its order.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use alloc::{format, vec};
use miniserde::{Deserialize, Serialize, json};

use crate::context::{Config, Context};
use crate::error::{Diagnostic, Error};

mod base64;
mod post;
mod stream;

pub use base64::{decode_base64, encode_base64};
pub use post::{
    Post, RESTORE_NEXT, error, error_body, init_error, judge_post, judge_restore_next, response,
    restore_error,
};
pub use stream::{StreamHead, error_trailers, http_prelude, stream_head};

/// The one version of the Runtime API there is.
pub const API_VERSION: &str = "2018-06-01";

/// Header: the request id that names the invocation in every later post.
pub const REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";
/// Header: the deadline, in milliseconds since the Unix epoch.
pub const DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";
/// Header: the ARN the function was invoked with.
pub const INVOKED_FUNCTION_ARN: &str = "Lambda-Runtime-Invoked-Function-Arn";
/// Header: the AWS X-Ray tracing header.
pub const TRACE_ID: &str = "Lambda-Runtime-Trace-Id";
/// Header: the client context (JSON), for calls from the AWS Mobile SDK.
pub const CLIENT_CONTEXT: &str = "Lambda-Runtime-Client-Context";
/// Header: the Cognito identity (JSON), for calls from the AWS Mobile SDK.
pub const COGNITO_IDENTITY: &str = "Lambda-Runtime-Cognito-Identity";
/// Header: the tenant, for functions in tenant isolation mode.
pub const TENANT_ID: &str = "Lambda-Runtime-Aws-Tenant-Id";
/// Header: the per-invocation nonce, echoed back on `/response` and `/error`.
pub const INVOCATION_ID: &str = "Lambda-Runtime-Invocation-Id";
/// Header of `/error` and `/init/error`: `Category.Reason`.
pub const FUNCTION_ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
/// Content type of the error body Lambda understands.
pub const ERROR_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error+json";
/// `Lambda-Runtime-Function-Error-Type` of a `/restore/error` report: an
/// after-restore hook of SnapStart failed.
pub const AFTER_RESTORE_ERROR: &str = "Runtime.AfterRestoreError";
/// Header of a streamed `/response`: the value `streaming` asks Lambda to pass
/// the body on to the caller as it arrives.
pub const FUNCTION_RESPONSE_MODE: &str = "Lambda-Runtime-Function-Response-Mode";
/// Trailer of a streamed `/response` that failed after bytes were sent: the
/// base64 of the usual error body (its type goes in [`FUNCTION_ERROR_TYPE`]).
pub const FUNCTION_ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";
/// Content type of a streamed function URL (HTTP) response: a JSON prelude
/// (status, headers, cookies), [`HTTP_PRELUDE_DELIMITER`], then the body.
pub const HTTP_INTEGRATION_CONTENT_TYPE: &str =
    "application/vnd.awslambda.http-integration-response";
/// What ends the prelude of an HTTP integration response: eight NUL bytes.
pub const HTTP_PRELUDE_DELIMITER: [u8; 8] = [0; 8];
/// The documented ceiling of a streamed response: 200 MB, against 6 MB
/// buffered. The first 6 MB go out at full speed, the rest at up to 2 MB/s.
/// Lambda enforces both, not the runtime (see `runtime::ResponseStream`).
pub const MAX_STREAMED_RESPONSE_BYTES: u64 = 200 * 1024 * 1024;

/// Where the Runtime API is, read from `AWS_LAMBDA_RUNTIME_API`: the
/// `host:port` to connect to (also the `Host` header), and the path every
/// endpoint below hangs from. Only the client holds it; everything else in the
/// runtime deals in [`ApiAddress::root`]-relative paths such as [`NEXT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAddress {
    /// `host:port`.
    pub authority: String,
    /// `[/prefix]/2018-06-01/runtime`: the path the endpoints follow.
    pub root: String,
}

/// Read `AWS_LAMBDA_RUNTIME_API`'s value.
///
/// Lambda sets `host:port`; `cargo lambda watch` sets a full URL with a path
/// prefix (`http://127.0.0.1:9000/.rt`). Both work. There is no TLS: the API
/// lives on the same host, so `https://` is refused rather than silently
/// downgraded.
///
/// ```
/// use tiny_lambda::protocol::api_address;
/// let api = api_address("127.0.0.1:9001").unwrap();
/// assert_eq!((api.authority.as_str(), api.root.as_str()), ("127.0.0.1:9001", "/2018-06-01/runtime"));
/// let api = api_address("http://127.0.0.1:9000/.rt/").unwrap();
/// assert_eq!((api.authority.as_str(), api.root.as_str()), ("127.0.0.1:9000", "/.rt/2018-06-01/runtime"));
/// assert!(api_address("").is_err());
/// ```
pub fn api_address(api: &str) -> Result<ApiAddress, Error> {
    let bad = || Error::BadApiAddress(api.to_string());
    let value = api.trim();
    let rest = match value.split_once("://") {
        Some(("http", rest)) => rest,
        Some(_) => return Err(bad()),
        None => value,
    };
    let (authority, prefix) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    // An authority must name a host and a port; a URL would silently go to
    // port 80 otherwise, which is never where the Runtime API listens.
    let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
    let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let clean = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"?#@".contains(&b))
    };
    if host.is_empty() || !port_ok || !clean(authority) || !clean(prefix) {
        return Err(bad());
    }
    Ok(ApiAddress {
        authority: authority.to_string(),
        root: format!("{}/{API_VERSION}/runtime", prefix.trim_end_matches('/')),
    })
}

/// `GET` this to wait for the next event.
pub const NEXT: &str = "/invocation/next";

/// Turn the status and headers of a `/next` answer into the invocation's context.
///
/// `header` looks a header up by name, case-insensitively. A bad status or a
/// missing request id is an [`Error`]; a malformed deadline, client context or
/// identity is logged and left empty, because one odd header must not cost the
/// invocation, let alone the process.
pub fn parse_next<'h>(
    status: u16,
    header: &dyn Fn(&str) -> Option<&'h str>,
    config: &Arc<Config>,
) -> Result<Context, Error> {
    if status != 200 {
        return Err(Error::NextStatus(status));
    }
    let request_id = header(REQUEST_ID).map(str::trim).unwrap_or("");
    if request_id.is_empty() {
        return Err(Error::MissingRequestId);
    }
    // The id goes into a URL path; an id that would change the path must never
    // reach `/invocation/{id}/response`. `.` and `..` are made of safe bytes
    // but are path steps of their own (RFC 3986 dot segments; found by
    // fuzz/parse_next).
    if !request_id.bytes().all(is_path_safe) || request_id == "." || request_id == ".." {
        return Err(Error::BadRequestId(request_id.to_string()));
    }
    let deadline_ms = match header(DEADLINE_MS).map(|v| v.trim().parse::<u64>()) {
        Some(Ok(ms)) => ms,
        Some(Err(_)) => {
            log::warn!("{request_id}: ignoring malformed {DEADLINE_MS} header");
            0
        }
        None => 0,
    };
    let owned = |name: &str| header(name).map(str::to_string);
    // The nonce is echoed back as a header; one that could not be written as
    // a header value would fail every post (or bend the request), so it is
    // dropped and the post goes without it. (Found by fuzz/parse_next.)
    let invocation_id = owned(INVOCATION_ID).filter(|nonce| {
        let ok = nonce.bytes().all(is_field_value_byte);
        if !ok {
            log::warn!("{request_id}: ignoring {INVOCATION_ID} with control characters");
        }
        ok
    });
    let client_context_raw = owned(CLIENT_CONTEXT);
    let identity_raw = owned(COGNITO_IDENTITY);
    Ok(Context {
        client_context: parse_json_header(
            request_id,
            CLIENT_CONTEXT,
            client_context_raw.as_deref(),
        ),
        identity: parse_json_header(request_id, COGNITO_IDENTITY, identity_raw.as_deref()),
        request_id: request_id.to_string(),
        deadline_ms,
        invoked_function_arn: owned(INVOKED_FUNCTION_ARN).unwrap_or_default(),
        xray_trace_id: owned(TRACE_ID),
        client_context_raw,
        identity_raw,
        tenant_id: owned(TENANT_ID),
        invocation_id,
        config: Arc::clone(config),
    })
}

fn parse_json_header<T: Deserialize>(request_id: &str, name: &str, raw: Option<&str>) -> Option<T> {
    let raw = raw?;
    // Lambda sends the JSON itself. `cargo lambda watch` forwards the client
    // context base64-encoded, as the Invoke API receives it; accept that too.
    let decoded = || decode_base64(raw).and_then(|bytes| String::from_utf8(bytes).ok());
    let parsed = json::from_str(raw)
        .ok()
        .or_else(|| json::from_str(&decoded()?).ok());
    if parsed.is_none() {
        log::warn!("{request_id}: {name} header is not the expected JSON; kept raw only");
    }
    parsed
}

/// RFC 3986 `pchar` minus `%`: characters that stand for themselves in a path segment.
fn is_path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

/// RFC 9110 `field-value` bytes: visible ASCII, space, tab and non-ASCII.
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(table: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        |name| {
            table
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    fn parse(status: u16, table: &[(&str, &str)]) -> Result<Context, Error> {
        parse_next(status, &lookup(table), &Arc::new(Config::default()))
    }

    #[test]
    fn the_address_accepts_both_forms() {
        let cases = [
            ("127.0.0.1:9001", "127.0.0.1:9001", "/2018-06-01/runtime"),
            (" localhost:80 ", "localhost:80", "/2018-06-01/runtime"),
            (
                "http://127.0.0.1:9000/.rt",
                "127.0.0.1:9000",
                "/.rt/2018-06-01/runtime",
            ),
            ("[::1]:9001", "[::1]:9001", "/2018-06-01/runtime"),
        ];
        for (value, authority, root) in cases {
            let api = api_address(value).unwrap();
            assert_eq!(
                (api.authority.as_str(), api.root.as_str()),
                (authority, root)
            );
        }
    }

    #[test]
    fn the_address_refuses_what_cannot_work() {
        for bad in [
            "",
            "localhost",
            ":9001",
            "host:",
            "host:90x1",
            "https://h:1",
            "h:1/a b",
            "h:1?x",
            "ftp://h:1",
        ] {
            assert_eq!(
                api_address(bad),
                Err(Error::BadApiAddress(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn next_headers_fill_the_context() {
        let ctx = parse(
            200,
            &[
                (
                    "lambda-runtime-aws-request-id",
                    "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
                ),
                ("Lambda-Runtime-Deadline-Ms", "1542409706888"),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-2:123456789012:function:f",
                ),
                (
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                ),
                (
                    "Lambda-Runtime-Client-Context",
                    r#"{"client":{"appTitle":"app"},"custom":{"k":"v"},"env":{"platform":"x"}}"#,
                ),
                (
                    "Lambda-Runtime-Cognito-Identity",
                    r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#,
                ),
                ("Lambda-Runtime-Aws-Tenant-Id", "tenant-7"),
                ("Lambda-Runtime-Invocation-Id", "nonce-1"),
            ],
        )
        .unwrap();
        assert_eq!(ctx.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert_eq!(ctx.deadline_ms, 1_542_409_706_888);
        assert_eq!(
            ctx.invoked_function_arn,
            "arn:aws:lambda:us-east-2:123456789012:function:f"
        );
        assert_eq!(
            ctx.xray_trace_id.as_deref(),
            Some("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
        );
        let cc = ctx.client_context.unwrap();
        assert_eq!(cc.client.unwrap().app_title.as_deref(), Some("app"));
        assert_eq!(cc.custom.unwrap()["k"], "v");
        assert_eq!(cc.env.unwrap()["platform"], "x");
        let id = ctx.identity.unwrap();
        assert_eq!(id.cognito_identity_id.as_deref(), Some("id"));
        assert_eq!(id.cognito_identity_pool_id.as_deref(), Some("pool"));
        assert_eq!(ctx.tenant_id.as_deref(), Some("tenant-7"));
        assert_eq!(ctx.invocation_id.as_deref(), Some("nonce-1"));
    }

    #[test]
    fn a_base64_client_context_is_decoded() {
        // What `cargo lambda watch` sends for --client-context-ascii '{"custom":{"k":"v"}}'.
        let ctx = parse(
            200,
            &[
                (REQUEST_ID, "id"),
                (CLIENT_CONTEXT, "eyJjdXN0b20iOnsiayI6InYifX0="),
            ],
        )
        .unwrap();
        assert_eq!(ctx.client_context.unwrap().custom.unwrap()["k"], "v");
        assert_eq!(
            ctx.client_context_raw.as_deref(),
            Some("eyJjdXN0b20iOnsiayI6InYifX0=")
        );
        assert_eq!(decode_base64("aGk"), Some(b"hi".to_vec()));
        assert_eq!(decode_base64(""), Some(vec![]));
        assert_eq!(decode_base64("a b"), None);
    }

    #[test]
    fn a_bad_status_or_request_id_is_an_error() {
        assert_eq!(
            parse(500, &[(REQUEST_ID, "a")]).unwrap_err(),
            Error::NextStatus(500)
        );
        assert_eq!(parse(200, &[]).unwrap_err(), Error::MissingRequestId);
        assert_eq!(
            parse(200, &[(REQUEST_ID, "  ")]).unwrap_err(),
            Error::MissingRequestId
        );
        assert_eq!(
            parse(200, &[(REQUEST_ID, "a/../b")]).unwrap_err(),
            Error::BadRequestId("a/../b".into())
        );
        assert_eq!(
            parse(200, &[(REQUEST_ID, "a?b")]).unwrap_err(),
            Error::BadRequestId("a?b".into())
        );
        for dots in [".", ".."] {
            assert_eq!(
                parse(200, &[(REQUEST_ID, dots)]).unwrap_err(),
                Error::BadRequestId(dots.into())
            );
        }
        assert_eq!(
            parse(200, &[(REQUEST_ID, "...")]).unwrap().request_id,
            "..."
        );
    }

    #[test]
    fn malformed_optional_headers_are_survived() {
        let ctx = parse(
            200,
            &[
                (REQUEST_ID, "id"),
                (DEADLINE_MS, "soon"),
                (CLIENT_CONTEXT, "{not json"),
                (COGNITO_IDENTITY, "[1,2]"),
            ],
        )
        .unwrap();
        assert_eq!(ctx.deadline_ms, 0);
        assert_eq!(ctx.client_context, None);
        assert_eq!(ctx.client_context_raw.as_deref(), Some("{not json"));
        assert_eq!(ctx.identity, None);
        assert_eq!(ctx.identity_raw.as_deref(), Some("[1,2]"));
        assert_eq!(ctx.invocation_id, None);
        assert_eq!(ctx.xray_trace_id, None);
    }

    #[test]
    fn a_nonce_that_cannot_go_back_as_a_header_is_dropped() {
        // From fuzz/parse_next: a control character in the nonce.
        for bad in ["a\rb", "n\u{7f}", "\u{0}", "x\u{1b}[0m"] {
            let ctx = parse(200, &[(REQUEST_ID, "id"), (INVOCATION_ID, bad)]).unwrap();
            assert_eq!(ctx.invocation_id, None, "{bad:?}");
        }
        let ctx = parse(200, &[(REQUEST_ID, "id"), (INVOCATION_ID, "n 1\té")]).unwrap();
        assert_eq!(ctx.invocation_id.as_deref(), Some("n 1\té"));
    }
}
