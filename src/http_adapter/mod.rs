//! The HTTP adapter: one request/response model for functions behind API
//! Gateway (REST v1 and HTTP API v2), function URLs and Application Load
//! Balancers. (Not to be confused with the Runtime API transport, which is
//! how the runtime itself talks to Lambda; this is what the events mean.)
//!
//! ```no_run
//! use tiny_lambda::Context;
//! use tiny_lambda::http_adapter::{Request, Response};
//!
//! fn main() {
//!     tiny_lambda::http_adapter::run(|req: Request, _ctx: &Context| {
//!         let name = req.query.get("name").unwrap_or("world");
//!         Ok::<_, String>(Response::text(200, format!("Hello, {name}! ({} {})", req.method, req.path)))
//!     })
//! }
//! ```
//!
//! # How the parts fit
//!
//! 1. `recognise`: the event's bytes become a [`Request`]. It tells the
//!    source by its fields, parses the event as that source's type from
//!    [`crate::events`], and fills the one model; an event no source explains
//!    is a `Runtime.InvalidEvent` naming what was missing.
//! 2. The handler: [`Request`] in, [`Response`] out (`request`, `response`).
//! 3. `answer`: the [`Response`] becomes the JSON the same source reads back,
//!    in that source's shape.
//!
//! [`handler`] puts the three in front of the runtime's one loop, as a
//! handler kind ([`Handler`]): the generic part is the handler call, the
//! parsing and answering are written once. [`run`] is its two-line start.
//!
//! # What is left out
//!
//! API Gateway WebSocket and VPC Lattice events, response streaming, and the
//! `http` crate's types: the model is plain structs.

pub(crate) mod answer;
pub(crate) mod recognise;
mod request;
mod response;

use std::fmt::Display;
use std::vec::Vec;

pub use request::{Headers, QueryParams, Request, RequestContext, Source};
pub use response::{Body, Response};

use crate::context::Context;
use crate::error::Diagnostic;
use crate::runtime::{Handler, Runtime};

/// Serve HTTP requests, one at a time: [`Runtime::from_env`] then
/// [`Runtime::serve`] with [`handler`].
///
/// A handler error is reported to Lambda as a failed invocation (the front
/// door answers its caller 502); to answer the caller yourself, return
/// `Ok` with an error status.
pub fn run<E, F>(handler: F) -> !
where
    E: Display + 'static,
    F: FnMut(Request, &Context) -> Result<Response, E>,
{
    Runtime::from_env().serve(self::handler(handler))
}

/// The HTTP handler kind, for [`Runtime::serve`] (on a runtime you have set
/// up: `init`, `after_response`) or [`Runtime::serve_concurrent`].
///
/// Each event is recognised and parsed into a [`Request`]; an event that is
/// not an HTTP request of a known source is reported as
/// `Runtime.InvalidEvent` and the loop goes on. The handler's [`Response`] is
/// answered in the shape of the source the request came from.
pub fn handler<'a, E, F>(mut handler: F) -> Handler<'a>
where
    E: Display + 'static,
    F: FnMut(Request, &Context) -> Result<Response, E> + 'a,
{
    Handler::buffered(
        move |event: &[u8], ctx: &Context| -> Result<Vec<u8>, Diagnostic> {
            let request = recognise::parse(event)?;
            let source = request.context.source;
            match handler(request, ctx) {
                Ok(response) => Ok(answer::answer(source, response)),
                Err(e) => Err(Diagnostic::from_error(&e)),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn answer_text(source: Source, response: Response) -> String {
        String::from_utf8(answer::answer(source, response)).unwrap()
    }

    fn cookies() -> Response {
        Response::new(204).cookie("a=1").cookie("b=2")
    }

    #[test]
    fn v1_answers_with_multi_value_headers() {
        assert_eq!(
            answer_text(Source::ApiGatewayV1, cookies().header("X-Two", "2")),
            r#"{"statusCode":204,"multiValueHeaders":{"set-cookie":["a=1","b=2"],"x-two":["2"]},"body":"","isBase64Encoded":false}"#
        );
    }

    #[test]
    fn v2_and_urls_answer_with_cookies() {
        let expected = r#"{"statusCode":204,"headers":{},"cookies":["a=1","b=2"],"body":"","isBase64Encoded":false}"#;
        assert_eq!(answer_text(Source::ApiGatewayV2, cookies()), expected);
        assert_eq!(answer_text(Source::FunctionUrl, cookies()), expected);
        // No cookies: no `cookies` field at all, never `null`.
        let mut repeated = Response::text(200, "hi");
        repeated.headers.append("Vary", "a");
        repeated.headers.append("vary", "b");
        assert_eq!(
            answer_text(Source::ApiGatewayV2, repeated),
            r#"{"statusCode":200,"headers":{"content-type":"text/plain; charset=utf-8","vary":"a, b"},"body":"hi","isBase64Encoded":false}"#
        );
        // A Set-Cookie header set by hand moves to `cookies`.
        let by_hand = Response::new(200).header("Set-Cookie", "c=3");
        assert!(
            answer_text(Source::ApiGatewayV2, by_hand)
                .contains(r#""headers":{},"cookies":["c=3"]"#)
        );
    }

    #[test]
    fn alb_answers_in_the_kind_of_headers_it_sent() {
        let multi = Source::Alb {
            multi_value_headers: true,
        };
        assert_eq!(
            answer_text(multi, cookies()),
            r#"{"statusCode":204,"statusDescription":"204 No Content","multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"","isBase64Encoded":false}"#
        );
        let single = Source::Alb {
            multi_value_headers: false,
        };
        // One Set-Cookie fits in single-value headers: the first is sent.
        assert_eq!(
            answer_text(single, cookies()),
            r#"{"statusCode":204,"statusDescription":"204 No Content","headers":{"set-cookie":"a=1"},"body":"","isBase64Encoded":false}"#
        );
        assert!(answer_text(single, Response::new(299)).contains(r#""statusDescription":"299""#));
    }

    #[test]
    fn binary_bodies_go_out_as_base64() {
        let answer = answer_text(
            Source::ApiGatewayV2,
            Response::binary(200, std::vec![0, 255]),
        );
        assert!(
            answer.ends_with(r#""body":"AP8=","isBase64Encoded":true}"#),
            "{answer}"
        );
    }
}
