//! A streamed answer as data: the head of the chunked `/response`, the
//! trailers that end a stream which failed after its first byte, and the
//! prelude of a function URL (HTTP integration) response.
use super::*;

/// The head of a streamed answer, as data: the request line's path and the
/// headers, in the order they are sent. The body follows as chunks; see
/// [`error_trailers`] for how a failure after the first byte ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead<'a> {
    /// The endpoint's path: the same `/response` as a buffered answer.
    pub path: String,
    /// The headers: content type, response mode, framing, declared trailers,
    /// and the nonce when `/next` sent one.
    pub headers: Vec<(&'static str, &'a str)>,
}

/// The head of a streamed `/response` for this invocation.
///
/// The two error trailers are declared up front, as the AWS documentation
/// asks, whether or not they are sent in the end.
pub fn stream_head<'a>(ctx: &'a Context, content_type: &'a str) -> StreamHead<'a> {
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
        path: format!("/invocation/{}/response", ctx.request_id),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_declares_its_mode_framing_and_trailers() {
        let ctx = Context {
            request_id: "r1".into(),
            invocation_id: Some("n1".into()),
            ..Context::default()
        };
        let head = stream_head(&ctx, "text/plain");
        assert_eq!(head.path, "/invocation/r1/response");
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
        assert_eq!(stream_head(&bare, "x").headers.len(), 4);
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
}
