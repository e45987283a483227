//! The one error every AWS call returns: which service, the AWS error code,
//! the message, the HTTP status and the request id, read from whichever
//! place the service puts them.

use std::fmt;
use std::string::{String, ToString};

use miniserde::json::{self, Value};

/// A failed AWS call.
///
/// `code` is the AWS error code (`ResourceNotFoundException`,
/// `ConditionalCheckFailedException`, `NoSuchKey`...) when the service
/// answered with one; faults that never got an answer have codes of their
/// own: `ConnectionError` (could not connect, or the connection broke),
/// `TimeoutError` (connect or read timeout), `DeadlineExceeded` (the
/// invocation's deadline leaves no time for the call or its next attempt),
/// `MalformedResponse` (an answer the client cannot read), and
/// `CredentialsError` (no credentials, or the credentials endpoint failed).
///
/// As a handler error it becomes a [`Diagnostic`](crate::Diagnostic) whose `errorType` is the
/// code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The service's signing name: `dynamodb`, `sqs`, `s3`...
    pub service: String,
    /// The AWS error code, or one of the client's own (see above).
    pub code: String,
    /// The service's message, or what went wrong.
    pub message: String,
    /// The HTTP status, 0 when no answer came.
    pub status: u16,
    /// The AWS request id (`x-amzn-RequestId`, `x-amz-request-id`), if any.
    pub request_id: Option<String>,
}

impl Error {
    /// A fault of the client's own, with no answer behind it.
    pub(crate) fn local(service: &str, code: &str, message: impl Into<String>) -> Error {
        Error {
            service: service.to_string(),
            code: code.to_string(),
            message: message.into(),
            status: 0,
            request_id: None,
        }
    }

    /// An error answer (status 300 and above) read into an error: the code
    /// from `x-amzn-ErrorType`, a JSON body's `__type` or `code`, or an XML
    /// body's `<Code>`; else the status's own name.
    pub(crate) fn from_answer(
        service: &str,
        status: u16,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Error {
        let text = String::from_utf8_lossy(body);
        let (mut code, mut message) = (None, None);
        if let Ok(Value::Object(object)) = json::from_str::<Value>(&text) {
            let field = |names: &[&str]| {
                names.iter().find_map(|n| match object.get(*n) {
                    Some(Value::String(s)) => Some(s.clone()),
                    _ => None,
                })
            };
            code = field(&["__type", "code", "Code"]);
            message = field(&["message", "Message", "errorMessage"]);
        } else if text.trim_start().starts_with('<') {
            code = xml_text(&text, "Code").map(str::to_string);
            message = xml_text(&text, "Message").map(str::to_string);
        }
        // The header is the protocols' common place and wins over the body.
        if let Some(header) = header("x-amzn-errortype") {
            code = Some(header);
        }
        let request_id = header("x-amzn-requestid")
            .or_else(|| header("x-amz-request-id"))
            .or_else(|| text_request_id(&text));
        Error {
            service: service.to_string(),
            // A code that decorations leave empty (`ns#`) names nothing.
            code: code
                .as_deref()
                .map(short_code)
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| status_code_name(status))
                .to_string(),
            message: message.unwrap_or_default(),
            status,
            request_id,
        }
    }

    /// Whether the call may succeed if sent again: throttling, a server
    /// fault, or a connection that broke or timed out. The AWS SDKs'
    /// standard retry mode retries the same.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self.status, 429 | 500 | 502 | 503 | 504)
            || matches!(self.code.as_str(), "ConnectionError" | "TimeoutError")
            || THROTTLING.contains(&self.code.as_str())
            || TRANSIENT.contains(&self.code.as_str())
    }
}

/// The error codes the AWS SDKs treat as throttling.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// And the codes they treat as transient.
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.service, self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.status != 0 {
            write!(f, " (HTTP {}", self.status)?;
            if let Some(id) = &self.request_id {
                write!(f, ", request id {id}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` and
/// `ValidationException:http://internal.amazon.com/...` are both the code
/// before and after the decoration.
fn short_code(raw: &str) -> &str {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    after_hash.split(':').next().unwrap_or(after_hash).trim()
}

/// A code for an answer that names none (a `HEAD` has no body), as the SDKs
/// name them.
fn status_code_name(status: u16) -> &'static str {
    match status {
        301 | 307 => "PermanentRedirect",
        304 => "NotModified",
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        412 => "PreconditionFailed",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "UnknownError",
    }
}

/// The text of the first `<name>...</name>` element: enough XML for S3's
/// error documents, which nest nothing inside these.
pub(crate) fn xml_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = ["<", name, ">"].concat();
    let close = ["</", name, ">"].concat();
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

fn text_request_id(text: &str) -> Option<String> {
    xml_text(text, "RequestId").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Error {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_string())
        };
        Error::from_answer("dynamodb", status, &header, body.as_bytes())
    }

    #[test]
    fn reads_the_json_protocols_errors() {
        let e = answer(
            400,
            &[("x-amzn-RequestId", "RID")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
        );
        assert_eq!(e.code, "ResourceNotFoundException");
        assert_eq!(e.message, "Requested resource not found");
        assert_eq!(e.request_id.as_deref(), Some("RID"));
        assert_eq!(e.status, 400);
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "dynamodb: ResourceNotFoundException: Requested resource not found (HTTP 400, request id RID)"
        );
        let d = crate::Diagnostic::from_error(&e);
        assert_eq!(d.error_type, "ResourceNotFoundException");
        assert_eq!(d.header_value(), "Function.ResourceNotFoundException");
    }

    #[test]
    fn the_error_type_header_wins() {
        let e = answer(
            400,
            &[(
                "X-Amzn-ErrorType",
                "ThrottlingException:http://internal.amazon.com/",
            )],
            r#"{"Message":"slow down"}"#,
        );
        assert_eq!(e.code, "ThrottlingException");
        assert_eq!(e.message, "slow down");
        assert!(e.is_retryable());
    }

    #[test]
    fn reads_s3s_xml_and_bodiless_answers() {
        let e = answer(
            404,
            &[("x-amz-request-id", "S3RID")],
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>X</RequestId></Error>",
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("NoSuchKey", "The specified key does not exist.")
        );
        assert_eq!(e.request_id.as_deref(), Some("S3RID"));
        let head = answer(404, &[], "");
        assert_eq!(head.code, "NotFound");
        // Found by the aws fuzz target: a header that is all decoration.
        let empty = answer(400, &[("x-amzn-errortype", "com.amazonaws#")], "");
        assert_eq!(empty.code, "BadRequest");
        let garbage = answer(503, &[], "{not json");
        assert_eq!(garbage.code, "ServiceUnavailable");
        assert!(garbage.is_retryable());
    }

    #[test]
    fn connection_faults_are_retried_deadlines_are_not() {
        assert!(Error::local("sqs", "ConnectionError", "reset").is_retryable());
        assert!(Error::local("sqs", "TimeoutError", "read").is_retryable());
        assert!(!Error::local("sqs", "DeadlineExceeded", "no time").is_retryable());
        assert!(!Error::local("sqs", "MalformedResponse", "x").is_retryable());
        assert_eq!(
            Error::local("sqs", "TimeoutError", "read").to_string(),
            "sqs: TimeoutError: read"
        );
    }
}
