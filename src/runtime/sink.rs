//! Where an answer goes ([`answer`]). A buffered kind's is posted whole once
//! the handler returns: its result to `/response`, or its failure to
//! `/error`. A streaming kind answers through its [`Sink`], which ends the
//! stream the handler wrote into (`response_stream`), with the error
//! trailers on a late failure.

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

/// One runtime thread's way of answering a streaming kind, reused
/// invocation after invocation. A trait object, made only by the streaming
/// constructors: a bootstrap that never streams links none of it.
pub(crate) trait Sink {
    /// Start answering `ctx`.
    fn begin(&mut self, ctx: &Context);

    /// The stream the handler writes into.
    fn stream(&mut self) -> &mut ResponseStream;

    /// Deliver the answer: the handler's body (empty when it streamed) or
    /// the failure to report.
    fn end(
        &mut self,
        client: &Client,
        ctx: &Context,
        outcome: Result<Vec<u8>, Diagnostic>,
    ) -> Result<(), Error>;
}

/// Makes a streaming kind's sink for the loop on one runtime thread.
pub(crate) type MakeSink = fn(&Client) -> Box<dyn Sink>;

/// A streaming kind's sink, lent to one call; none for a buffered kind.
pub(crate) type SinkArg<'s> = Option<&'s mut (dyn Sink + 'static)>;

/// Deliver an answer: through the sink when the kind streams, else posted
/// whole, the result to `/response` or the failure to `/error`.
pub(super) fn answer(
    sink: SinkArg<'_>,
    client: &Client,
    ctx: &Context,
    outcome: Result<Vec<u8>, Diagnostic>,
) -> Result<(), Error> {
    match sink {
        Some(sink) => sink.end(client, ctx, outcome),
        None => match outcome {
            Ok(body) => client.post(&protocol::response(ctx, &body)),
            Err(diagnostic) => client.post(&protocol::error(ctx, &diagnostic)),
        },
    }
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

    fn stream(&mut self) -> &mut ResponseStream {
        &mut self.writer
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
