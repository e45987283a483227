//! The Lambda Runtime API as plain data: its paths and header names, the pure
//! functions that turn a `/next` answer into a [`Context`], and the ones that
//! build what the runtime posts back ([`Post`]).
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

/// The base URL of the Runtime API from `AWS_LAMBDA_RUNTIME_API`.
///
/// Lambda sets `host:port`; `cargo lambda watch` sets a full URL with a path
/// prefix (`http://127.0.0.1:9000/.rt`). Both work. There is no TLS: the API
/// lives on the same host, so `https://` is refused rather than silently
/// downgraded.
///
/// ```
/// use tiny_lambda::protocol::base_url;
/// assert_eq!(base_url("127.0.0.1:9001").unwrap(), "http://127.0.0.1:9001/2018-06-01/runtime");
/// assert_eq!(base_url("http://127.0.0.1:9000/.rt/").unwrap(), "http://127.0.0.1:9000/.rt/2018-06-01/runtime");
/// assert!(base_url("").is_err());
/// ```
pub fn base_url(api: &str) -> Result<String, Error> {
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
    Ok(format!(
        "http://{authority}{}/{API_VERSION}/runtime",
        prefix.trim_end_matches('/')
    ))
}

/// `GET` this to wait for the next event.
pub fn next_url(base: &str) -> String {
    format!("{base}/invocation/next")
}

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

/// Standard base64 (RFC 4648, `=` padding optional), or None if `text` is not that.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut count) = (0_u32, 0_u32);
    for b in text.trim_end_matches('=').bytes() {
        let sextet = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(sextet);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// RFC 3986 `pchar` minus `%`: characters that stand for themselves in a path segment.
fn is_path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

/// RFC 9110 `field-value` bytes: visible ASCII, space, tab and non-ASCII.
fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// One request the runtime sends, as data: where, which headers, what body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post<'a> {
    /// Full URL of the endpoint.
    pub url: String,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// `Lambda-Runtime-Function-Error-Type`, on error reports only.
    pub error_type: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`, echoed exactly when `/next` sent one.
    pub invocation_id: Option<&'a str>,
    /// The body, borrowed when it is the handler's own bytes.
    pub body: Cow<'a, [u8]>,
}

/// The post that delivers a handler's result.
pub fn response<'a>(base: &str, ctx: &'a Context, body: &'a [u8]) -> Post<'a> {
    Post {
        url: format!("{base}/invocation/{}/response", ctx.request_id),
        content_type: "application/json",
        error_type: None,
        invocation_id: ctx.invocation_id.as_deref(),
        body: Cow::Borrowed(body),
    }
}

/// The post that reports a failed invocation.
pub fn error<'a>(base: &str, ctx: &'a Context, diagnostic: &Diagnostic) -> Post<'a> {
    Post {
        url: format!("{base}/invocation/{}/error", ctx.request_id),
        content_type: ERROR_CONTENT_TYPE,
        error_type: Some(diagnostic.header_value()),
        invocation_id: ctx.invocation_id.as_deref(),
        body: Cow::Owned(error_body(diagnostic).into_bytes()),
    }
}

/// The post that reports a failed initialisation; the process exits after it.
pub fn init_error(base: &str, diagnostic: &Diagnostic) -> Post<'static> {
    Post {
        url: format!("{base}/init/error"),
        content_type: ERROR_CONTENT_TYPE,
        error_type: Some(diagnostic.header_value()),
        invocation_id: None,
        body: Cow::Owned(error_body(diagnostic).into_bytes()),
    }
}

/// SnapStart: `GET` this after init (and the before-snapshot hooks); Lambda
/// answers once the snapshot has been restored.
pub fn restore_next_url(base: &str) -> String {
    format!("{base}/restore/next")
}

/// SnapStart: what a `/restore/next` answer's status means. 200 is the only
/// success: the process was restored and may run its after-restore hooks.
pub fn judge_restore_next(status: u16) -> Result<(), Error> {
    match status {
        200 => Ok(()),
        _ => Err(Error::RestoreStatus(status)),
    }
}

/// SnapStart: the post that reports a failed after-restore hook. The header
/// says `Runtime.AfterRestoreError`, as Lambda's own runtimes send it; the
/// body carries the hook's own error type and message. The process exits
/// after it.
pub fn restore_error(base: &str, diagnostic: &Diagnostic) -> Post<'static> {
    Post {
        url: format!("{base}/restore/error"),
        content_type: ERROR_CONTENT_TYPE,
        error_type: Some(AFTER_RESTORE_ERROR.to_string()),
        invocation_id: None,
        body: Cow::Owned(error_body(diagnostic).into_bytes()),
    }
}

/// The head of a streamed answer, as data: the request line's path and the
/// headers, in the order they are sent. The body follows as chunks; see
/// [`error_trailers`] for how a failure after the first byte ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead<'a> {
    /// Full URL of the endpoint: the same `/response` as a buffered answer.
    pub url: String,
    /// The headers: content type, response mode, framing, declared trailers,
    /// and the nonce when `/next` sent one.
    pub headers: Vec<(&'static str, &'a str)>,
}

/// The head of a streamed `/response` for this invocation.
///
/// The two error trailers are declared up front, as the AWS documentation
/// asks, whether or not they are sent in the end.
pub fn stream_head<'a>(base: &str, ctx: &'a Context, content_type: &'a str) -> StreamHead<'a> {
    let mut headers = vec![
        ("Content-Type", content_type),
        (FUNCTION_RESPONSE_MODE, "streaming"),
        ("Transfer-Encoding", "chunked"),
        (
            "Trailer",
            "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
        ),
    ];
    if let Some(nonce) = ctx.invocation_id.as_deref() {
        headers.push((INVOCATION_ID, nonce));
    }
    StreamHead {
        url: format!("{base}/invocation/{}/response", ctx.request_id),
        headers,
    }
}

/// The trailers that end a stream which failed after its first byte:
/// `Category.Reason` and the base64 of the usual error body.
pub fn error_trailers(diagnostic: &Diagnostic) -> [(&'static str, String); 2] {
    [
        (FUNCTION_ERROR_TYPE, diagnostic.header_value()),
        (
            FUNCTION_ERROR_BODY,
            encode_base64(error_body(diagnostic).as_bytes()),
        ),
    ]
}

#[derive(Serialize)]
struct HttpPrelude<'a> {
    #[serde(rename = "statusCode")]
    status_code: u16,
    headers: BTreeMap<&'a str, &'a str>,
    cookies: &'a [&'a str],
}

/// The prelude of a streamed function URL response: the JSON
/// `{"statusCode","headers","cookies"}` and the eight NUL bytes after it.
/// The body is what the handler writes next.
///
/// `headers` is one value per name, as the prelude's object holds; a name
/// given twice keeps its last value. Cookies are `Set-Cookie` values.
pub fn http_prelude(status_code: u16, headers: &[(&str, &str)], cookies: &[&str]) -> Vec<u8> {
    let prelude = HttpPrelude {
        status_code,
        headers: headers.iter().copied().collect(),
        cookies,
    };
    let mut bytes = json::to_string(&prelude).into_bytes();
    bytes.extend_from_slice(&HTTP_PRELUDE_DELIMITER);
    bytes
}

/// Standard base64 (RFC 4648) with `=` padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        // A group of k bytes carries k + 1 sextets; padding fills the rest.
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "stackTrace")]
    stack_trace: Vec<String>,
}

/// The JSON body of `/error` and `/init/error`:
/// `{"errorMessage":"...","errorType":"...","stackTrace":[]}`.
///
/// The stack trace stays empty: a release bootstrap has no symbols to walk.
pub fn error_body(diagnostic: &Diagnostic) -> String {
    json::to_string(&ErrorBody {
        error_message: &diagnostic.error_message,
        error_type: &diagnostic.error_type,
        stack_trace: vec![],
    })
}

/// Judge the API's answer to a post. `body` is what it said, for the log.
///
/// 202 is the documented success. A 4xx is about this one invocation (400 bad
/// request id, 403 a second answer, 410 too late, 413 too large): the post is
/// lost but the environment is fine. 5xx means the environment is broken.
pub fn judge_post(status: u16, body: &str) -> Result<(), Error> {
    match status {
        200..=299 => Ok(()),
        500..=599 => Err(Error::ApiFailed(status)),
        _ => Err(Error::Refused {
            status,
            message: body.trim().to_string(),
        }),
    }
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
    fn base_url_accepts_both_forms() {
        assert_eq!(
            base_url("127.0.0.1:9001").unwrap(),
            "http://127.0.0.1:9001/2018-06-01/runtime"
        );
        assert_eq!(
            base_url(" localhost:80 ").unwrap(),
            "http://localhost:80/2018-06-01/runtime"
        );
        assert_eq!(
            base_url("http://127.0.0.1:9000/.rt").unwrap(),
            "http://127.0.0.1:9000/.rt/2018-06-01/runtime"
        );
        assert_eq!(
            base_url("[::1]:9001").unwrap(),
            "http://[::1]:9001/2018-06-01/runtime"
        );
    }

    #[test]
    fn base_url_refuses_what_cannot_work() {
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
                base_url(bad),
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

    #[test]
    fn posts_carry_the_id_and_the_nonce() {
        let base = base_url("h:1").unwrap();
        let ctx = Context {
            request_id: "r1".into(),
            invocation_id: Some("n1".into()),
            ..Context::default()
        };
        let ok = response(&base, &ctx, b"{}");
        assert_eq!(
            ok.url,
            "http://h:1/2018-06-01/runtime/invocation/r1/response"
        );
        assert_eq!(ok.invocation_id, Some("n1"));
        assert_eq!(ok.error_type, None);
        assert_eq!(&*ok.body, b"{}");

        let failed = error(&base, &ctx, &Diagnostic::new("Boom", "it \"broke\"\n"));
        assert_eq!(
            failed.url,
            "http://h:1/2018-06-01/runtime/invocation/r1/error"
        );
        assert_eq!(failed.content_type, "application/vnd.aws.lambda.error+json");
        assert_eq!(failed.error_type.as_deref(), Some("Function.Boom"));
        assert_eq!(
            &*failed.body,
            br#"{"errorMessage":"it \"broke\"\n","errorType":"Boom","stackTrace":[]}"#
        );

        let no_nonce = Context {
            request_id: "r2".into(),
            ..Context::default()
        };
        assert_eq!(response(&base, &no_nonce, b"").invocation_id, None);

        let init = init_error(&base, &Diagnostic::new("NoConfig", "missing"));
        assert_eq!(init.url, "http://h:1/2018-06-01/runtime/init/error");
        assert_eq!(init.error_type.as_deref(), Some("Function.NoConfig"));
        assert_eq!(
            &*init.body,
            br#"{"errorMessage":"missing","errorType":"NoConfig","stackTrace":[]}"#
        );
    }

    #[test]
    fn a_stream_declares_its_mode_framing_and_trailers() {
        let base = base_url("h:1").unwrap();
        let ctx = Context {
            request_id: "r1".into(),
            invocation_id: Some("n1".into()),
            ..Context::default()
        };
        let head = stream_head(&base, &ctx, "text/plain");
        assert_eq!(
            head.url,
            "http://h:1/2018-06-01/runtime/invocation/r1/response"
        );
        assert_eq!(
            head.headers,
            [
                ("Content-Type", "text/plain"),
                ("Lambda-Runtime-Function-Response-Mode", "streaming"),
                ("Transfer-Encoding", "chunked"),
                (
                    "Trailer",
                    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
                ),
                ("Lambda-Runtime-Invocation-Id", "n1"),
            ]
        );
        let bare = Context {
            request_id: "r2".into(),
            ..Context::default()
        };
        assert_eq!(stream_head(&base, &bare, "x").headers.len(), 4);
    }

    #[test]
    fn a_failure_after_the_first_byte_becomes_two_trailers() {
        let [(type_name, type_value), (body_name, body_value)] =
            error_trailers(&Diagnostic::new("Boom", "after 2 chunks"));
        assert_eq!(
            (type_name, type_value.as_str()),
            ("Lambda-Runtime-Function-Error-Type", "Function.Boom")
        );
        assert_eq!(body_name, "Lambda-Runtime-Function-Error-Body");
        let decoded = decode_base64(&body_value).unwrap();
        assert_eq!(
            decoded,
            br#"{"errorMessage":"after 2 chunks","errorType":"Boom","stackTrace":[]}"#
        );
    }

    #[test]
    fn base64_round_trips_and_pads() {
        // RFC 4648, section 10.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_base64(plain.as_bytes()), coded);
            assert_eq!(decode_base64(coded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_base64(&encode_base64(&all)).unwrap(), all);
    }

    #[test]
    fn an_http_prelude_is_json_then_eight_nuls() {
        let prelude = http_prelude(
            201,
            &[("content-type", "text/plain"), ("x-a", "1"), ("x-a", "2")],
            &["a=1"],
        );
        let (json, delimiter) = prelude.split_at(prelude.len() - 8);
        assert_eq!(delimiter, [0; 8]);
        assert_eq!(
            core::str::from_utf8(json).unwrap(),
            r#"{"statusCode":201,"headers":{"content-type":"text/plain","x-a":"2"},"cookies":["a=1"]}"#
        );
        let empty = http_prelude(204, &[], &[]);
        assert_eq!(
            &empty[..empty.len() - 8],
            br#"{"statusCode":204,"headers":{},"cookies":[]}"#
        );
    }

    #[test]
    fn post_answers_are_judged() {
        assert_eq!(judge_post(202, ""), Ok(()));
        for status in [400, 403, 410, 413] {
            let e = judge_post(status, " {\"errorType\":\"X\"}\n").unwrap_err();
            assert_eq!(
                e,
                Error::Refused {
                    status,
                    message: "{\"errorType\":\"X\"}".into()
                }
            );
            assert!(!e.is_fatal());
        }
        assert_eq!(judge_post(500, ""), Err(Error::ApiFailed(500)));
        assert!(judge_post(502, "").unwrap_err().is_fatal());
    }

    #[test]
    fn snapstart_endpoints() {
        let base = "http://127.0.0.1:9001/2018-06-01/runtime";
        assert_eq!(
            restore_next_url(base),
            "http://127.0.0.1:9001/2018-06-01/runtime/restore/next"
        );
        assert_eq!(judge_restore_next(200), Ok(()));
        for status in [202, 403, 500] {
            let e = judge_restore_next(status).unwrap_err();
            assert_eq!(e, Error::RestoreStatus(status));
            assert!(e.is_fatal());
        }
        let post = restore_error(base, &Diagnostic::new("CacheCold", "no cache"));
        assert_eq!(post.url, format!("{base}/restore/error"));
        assert_eq!(
            post.error_type.as_deref(),
            Some("Runtime.AfterRestoreError")
        );
        assert_eq!(post.content_type, ERROR_CONTENT_TYPE);
        assert_eq!(
            post.body.as_ref(),
            br#"{"errorMessage":"no cache","errorType":"CacheCold","stackTrace":[]}"#
        );
    }
}
