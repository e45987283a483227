//! The HTTP adapter on any event: recognition (which front door sent it),
//! the request model, and the answer in that front door's shape.
//!
//! What must hold:
//!
//! - an event that is not recognised gets a `Runtime.InvalidEvent` that
//!   names what is missing or wrong;
//! - a recognised event's body reaches the handler as the event's bytes,
//!   base64-decoded exactly when `isBase64Encoded` says so;
//! - a round trip keeps the body: the handler answers with the bytes it got,
//!   and the answer, read back as the front door reads it, holds those
//!   bytes (binary as base64, text as it is), with the status sent and the
//!   headers in the place that source reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miniserde::json;
use tiny_lambda::__fuzz::{answer, recognise};
use tiny_lambda::http_adapter::{Response, Source};
use tiny_lambda_fuzz::{AnyResponse, EventBody, base64_decode};

/// What every refusal must name: the part of the event that was wrong.
const NAMED: &[&str] = &[
    "not UTF-8",
    "not a JSON object",
    "requestContext",
    "httpMethod",
    "without path",
    "rawPath",
    "http.method",
    "does not parse",
    "isBase64Encoded",
];

fn read_back(source: Source, response: Response) -> AnyResponse {
    let bytes = answer(source, response);
    let text = std::str::from_utf8(&bytes).expect("an answer is UTF-8");
    json::from_str(text).unwrap_or_else(|_| panic!("the answer does not parse back: {text}"))
}

fuzz_target!(|data: &[u8]| {
    let request = match recognise(data) {
        Ok(request) => request,
        Err(refusal) => {
            assert_eq!(refusal.header_value(), "Runtime.InvalidEvent");
            let why = &refusal.error_message;
            assert!(
                NAMED.iter().any(|n| why.contains(n)),
                "names nothing: {why}"
            );
            return;
        }
    };
    // The body, read independently of the adapter.
    let text = std::str::from_utf8(data).unwrap();
    let event: EventBody = json::from_str(text).expect("a recognised event is a JSON object");
    let raw = event.body.unwrap_or_default();
    let expected = if event.is_base64_encoded.unwrap_or(false) {
        base64_decode(&raw).expect("the adapter decoded what is not base64")
    } else {
        raw.into_bytes()
    };
    assert_eq!(request.body, expected, "the handler got other bytes");

    let source = request.context.source;
    let binary = read_back(source, Response::binary(201, request.body.clone()));
    assert_eq!(binary.status_code, 201);
    assert!(binary.is_base64_encoded);
    let decoded = base64_decode(binary.body.as_deref().unwrap_or("")).unwrap();
    assert_eq!(decoded, request.body, "the binary answer lost bytes");
    let multi = match source {
        Source::ApiGatewayV1 => true,
        Source::ApiGatewayV2 | Source::FunctionUrl => false,
        Source::Alb {
            multi_value_headers,
        } => multi_value_headers,
    };
    let content_type = if multi {
        binary
            .multi_value_headers
            .as_ref()
            .and_then(|h| h.get("content-type")?.first().cloned())
    } else {
        binary
            .headers
            .as_ref()
            .and_then(|h| h.get("content-type").cloned())
    };
    assert_eq!(content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(
        binary.status_description.is_some(),
        matches!(source, Source::Alb { .. })
    );

    if let Some(body) = request.body_text() {
        let text = read_back(source, Response::text(200, body));
        assert!(!text.is_base64_encoded);
        assert_eq!(
            text.body.as_deref(),
            Some(body),
            "the text answer changed the body"
        );
    }
});
