//! Where an answer goes: the [`Sink`] the loop answers through, and the
//! buffered one, which posts a handler's whole result to `/response` (or its
//! failure to `/error`) once it returns. The streamed one is
//! `response_stream`'s.

use std::boxed::Box;
use std::vec::Vec;

use super::response_stream::ResponseStream;
use crate::client::Client;
use crate::context::Context;
use crate::error::{Diagnostic, Error};
use crate::protocol;

/// One runtime thread's way of answering, reused invocation after
/// invocation.
pub(crate) trait Sink {
    /// Start answering `ctx`.
    fn begin(&mut self, _ctx: &Context) {}

    /// The stream a streaming handler writes into; none when buffered.
    fn stream(&mut self) -> Option<&mut ResponseStream> {
        None
    }

    /// Deliver the answer: the handler's body (empty when it streamed) or
    /// the failure to report.
    fn end(
        &mut self,
        client: &Client,
        ctx: &Context,
        outcome: Result<Vec<u8>, Diagnostic>,
    ) -> Result<(), Error>;
}

/// Answers posted whole.
struct Buffered;

impl Sink for Buffered {
    fn end(
        &mut self,
        client: &Client,
        ctx: &Context,
        outcome: Result<Vec<u8>, Diagnostic>,
    ) -> Result<(), Error> {
        match outcome {
            Ok(body) => client.post(&protocol::response(ctx, &body)),
            Err(diagnostic) => client.post(&protocol::error(ctx, &diagnostic)),
        }
    }
}

/// The sink of every buffered kind.
pub(super) fn buffered(_client: &Client) -> Box<dyn Sink> {
    Box::new(Buffered)
}
