//! Where an answer goes: the [`Sink`] the loop answers through, and its two
//! kinds. Buffered posts a handler's whole result to `/response` (or its
//! failure to `/error`) once it returns; streamed ends the stream the
//! handler wrote into (`response_stream`), with the error trailers on a
//! late failure.

use std::boxed::Box;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use super::response_stream::{
    Ended, ResponseStream, StreamState, install_stream_panic_hook, lock, set_stream,
};
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
#[inline]
pub(super) fn buffered(_client: &Client) -> Box<dyn Sink> {
    Box::new(Buffered)
}

/// The sink of every streaming kind: one stream, reused invocation after
/// invocation, for the loop on one runtime thread.
struct Streamed {
    state: Arc<Mutex<StreamState>>,
    writer: ResponseStream,
}

/// The sink of every streaming kind, for a loop on `client`; puts the panic
/// hook's stream step in place.
pub(super) fn streamed(client: &Client) -> Box<dyn Sink> {
    install_stream_panic_hook();
    let state = Arc::new(Mutex::new(StreamState::new(client)));
    let writer = ResponseStream::new(Arc::clone(&state));
    Box::new(Streamed { state, writer })
}

impl Sink for Streamed {
    fn begin(&mut self, ctx: &Context) {
        lock(&self.state).begin(ctx);
        set_stream(Some(Arc::clone(&self.state)));
    }

    fn stream(&mut self) -> Option<&mut ResponseStream> {
        Some(&mut self.writer)
    }

    /// End the stream, with the error trailers on a failure; a failure
    /// before any byte was sent goes to `/error` instead, as when buffered.
    fn end(
        &mut self,
        client: &Client,
        ctx: &Context,
        outcome: Result<Vec<u8>, Diagnostic>,
    ) -> Result<(), Error> {
        set_stream(None);
        let failure = outcome.err();
        let ended = lock(&self.state).end(failure.as_ref());
        match (ended, failure) {
            (Ended::NotStarted, Some(diagnostic)) => {
                client.post(&protocol::error(ctx, &diagnostic))
            }
            (ended, _) => ended.judge(&ctx.request_id),
        }
    }
}
