//! The handler kinds: small adapters that turn a user's function into the
//! one thing the loop calls (event bytes and context in, an answer out) and
//! pick where the answer goes.
//!
//! - [`Handler::json`]: a typed event, parsed from JSON; a typed result,
//!   serialised to JSON.
//! - [`Handler::raw`]: the event's bytes in, the answer's bytes out.
//! - [`Handler::streaming`] and [`Handler::streaming_raw`]: the handler
//!   writes its answer into a [`ResponseStream`] while it runs.
//! - `http_adapter::handler` (feature `http-adapter`): an HTTP request in,
//!   an HTTP response out, for API Gateway, ALB and function URLs.
//!
//! Generic at the edge, concrete inside: each constructor wraps the user's
//! function once, and the loop sees one boxed `dyn FnMut`, so a bootstrap
//! carries one copy of the loop whatever its handler's type. The sink is a
//! function pointer that only the streaming constructors set to the stream:
//! a bootstrap that never streams links none of it.

use std::boxed::Box;
use std::fmt::Display;
use std::format;
use std::vec::Vec;

use miniserde::{Deserialize, Serialize, json};

use super::response_stream::ResponseStream;
use super::sink::{self, MakeSink, Sink, SinkArg};
use crate::client::Client;
use crate::context::Context;
use crate::error::Diagnostic;

/// What the loop calls: the event, its context, and the sink a streaming
/// kind writes into (none for a buffered one); the body of a buffered
/// answer, or the failure.
type Call<'a> = dyn FnMut(&[u8], &Context, SinkArg<'_>) -> Result<Vec<u8>, Diagnostic> + 'a;

/// A handler of one kind, ready for [`Runtime::serve`](super::Runtime::serve).
///
/// ```no_run
/// use tiny_lambda::{Context, Handler, Runtime};
///
/// fn main() {
///     Runtime::from_env().serve(Handler::raw(|event: &[u8], _ctx: &Context| {
///         Ok::<_, String>(event.to_vec())
///     }))
/// }
/// ```
pub struct Handler<'a> {
    call: Box<Call<'a>>,
    /// Makes the sink for one runtime thread's loop: set by the streaming
    /// kinds only, since a buffered answer needs none.
    sink: Option<MakeSink>,
}

impl<'a> Handler<'a> {
    /// A typed handler: the event is parsed from JSON into `E`, the result
    /// serialised to JSON. An event that does not parse is reported as
    /// `Runtime.InvalidEvent` and the loop goes on; a handler error is
    /// reported with its type name as `errorType` (see [`Diagnostic`]).
    pub fn json<E, R, Err, F>(mut handler: F) -> Handler<'a>
    where
        E: Deserialize,
        R: Serialize,
        Err: Display + 'static,
        F: FnMut(E, &Context) -> Result<R, Err> + 'a,
    {
        Handler::buffered(move |event, ctx| {
            let event = parse_event(event)?;
            match handler(event, ctx) {
                Ok(result) => Ok(json::to_string(&result).into_bytes()),
                Err(e) => Err(Diagnostic::from_error(&e)),
            }
        })
    }

    /// A handler on raw bytes: the event body in, the response body out, for
    /// users who bring their own parsing.
    pub fn raw<Err, F>(mut handler: F) -> Handler<'a>
    where
        Err: Display + 'static,
        F: FnMut(&[u8], &Context) -> Result<Vec<u8>, Err> + 'a,
    {
        Handler::buffered(move |event, ctx| {
            handler(event, ctx).map_err(|e| Diagnostic::from_error(&e))
        })
    }

    /// A streaming handler on a typed event: parsed from JSON into `E`, and
    /// the answer written into the [`ResponseStream`] while the handler runs.
    ///
    /// Lambda streams to callers of function URLs (invoke mode
    /// `RESPONSE_STREAM`) and of `InvokeWithResponseStream`; other callers
    /// get the whole body once it is complete.
    ///
    /// ```no_run
    /// use std::io::Write;
    /// use tiny_lambda::{Context, Handler, ResponseStream, Runtime};
    ///
    /// #[derive(miniserde::Deserialize)]
    /// struct Count { to: u32 }
    ///
    /// fn main() {
    ///     Runtime::from_env().serve(Handler::streaming(
    ///         |req: Count, _ctx: &Context, out: &mut ResponseStream| {
    ///             for n in 1..=req.to {
    ///                 writeln!(out, "{n}")?;
    ///                 out.flush()?; // the caller sees each line as it is written
    ///             }
    ///             Ok::<_, std::io::Error>(())
    ///         },
    ///     ))
    /// }
    /// ```
    pub fn streaming<E, Err, F>(mut handler: F) -> Handler<'a>
    where
        E: Deserialize,
        Err: Display + 'static,
        F: FnMut(E, &Context, &mut ResponseStream) -> Result<(), Err> + 'a,
    {
        Handler::streamed(move |event, ctx, out| {
            let event = parse_event(event)?;
            handler(event, ctx, out).map_err(|e| Diagnostic::from_error(&e))
        })
    }

    /// A streaming handler on the raw event bytes.
    pub fn streaming_raw<Err, F>(mut handler: F) -> Handler<'a>
    where
        Err: Display + 'static,
        F: FnMut(&[u8], &Context, &mut ResponseStream) -> Result<(), Err> + 'a,
    {
        Handler::streamed(move |event, ctx, out| {
            handler(event, ctx, out).map_err(|e| Diagnostic::from_error(&e))
        })
    }

    /// Any kind whose answer is posted whole once the handler returns.
    pub(crate) fn buffered(
        mut call: impl FnMut(&[u8], &Context) -> Result<Vec<u8>, Diagnostic> + 'a,
    ) -> Handler<'a> {
        Handler {
            call: Box::new(move |event, ctx, _| call(event, ctx)),
            sink: None,
        }
    }

    /// Any kind that writes its answer into a stream.
    fn streamed(
        mut call: impl FnMut(&[u8], &Context, &mut ResponseStream) -> Result<(), Diagnostic> + 'a,
    ) -> Handler<'a> {
        Handler {
            call: Box::new(move |event, ctx, sink| {
                // Set with this kind's own sink, which always has a stream.
                let out = sink
                    .map(|sink| sink.stream())
                    .ok_or_else(|| Diagnostic::runtime("NoStream", "no response stream".into()))?;
                call(event, ctx, out).map(|()| Vec::new())
            }),
            sink: Some(sink::streamed),
        }
    }

    /// Handle one event, answering into `sink`.
    pub(super) fn call(
        &mut self,
        event: &[u8],
        ctx: &Context,
        sink: SinkArg<'_>,
    ) -> Result<Vec<u8>, Diagnostic> {
        (self.call)(event, ctx, sink)
    }

    /// The sink for a loop that talks to the API through `client`.
    pub(super) fn sink(&self, client: &Client) -> Option<Box<dyn Sink>> {
        self.sink.map(|make| make(client))
    }
}

/// Parse an event as JSON into `E`, or say why not as a
/// `Runtime.InvalidEvent`, as [`Handler::json`] does.
pub(crate) fn parse_event<E: Deserialize>(event: &[u8]) -> Result<E, Diagnostic> {
    let parsed = std::str::from_utf8(event)
        .ok()
        .and_then(|text| json::from_str(text).ok());
    parsed.ok_or_else(|| invalid_event(std::any::type_name::<E>(), event))
}

/// Kept out of the generic `parse_event` so the message code exists once.
fn invalid_event(type_name: &str, event: &[u8]) -> Diagnostic {
    let why = if std::str::from_utf8(event).is_err() {
        "is not UTF-8"
    } else {
        "does not parse"
    };
    let message = format!(
        "the event ({} bytes) {why} as JSON for {type_name}",
        event.len()
    );
    log::error!("{message}");
    Diagnostic::runtime("InvalidEvent", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, miniserde::Deserialize)]
    struct Order {
        items: u32,
    }

    #[test]
    fn events_parse_or_say_why() {
        let order: Order = parse_event(br#"{"items":3}"#).unwrap();
        assert_eq!(order.items, 3);
        let d = parse_event::<Order>(br#"{"items":"three"}"#).unwrap_err();
        assert_eq!(d.header_value(), "Runtime.InvalidEvent");
        assert!(
            d.error_message.contains("does not parse as JSON for"),
            "{}",
            d.error_message
        );
        assert!(d.error_message.contains("Order"), "{}", d.error_message);
        let d = parse_event::<Order>(&[0xff, 0xfe]).unwrap_err();
        assert!(
            d.error_message.contains("is not UTF-8"),
            "{}",
            d.error_message
        );
    }
}
