//! Response streaming: the entry points for handlers that write their answer
//! into a [`ResponseStream`] instead of returning it, and their loop.
//!
//! The loop is `run_loop`'s twin: next, handle into the stream, end the
//! stream (or report to `/error` if nothing was sent yet), hook, repeat. It
//! is a loop of its own so that a bootstrap that never streams links none of
//! this: the buffered loop stays as it was, byte for byte.
//!
//! The streamed post travels on a connection of its own
//! (`transport::chunked`), in both builds: the `/next` connection may be
//! ureq's, and ureq cannot send request trailers.

use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use miniserde::Deserialize;

use super::in_flight::{
    Phase, install_stream_panic_hook, panic_diagnostic, payload_message, set_phase, set_stream,
    take_phase,
};
use super::response_stream::{Ended, ResponseStream, Sink, lock};
use super::trace_env::set_trace_env;
use super::{Runtime, exit_with, parse_event};
use crate::context::Context;
use crate::error::{Diagnostic, Error};
use crate::protocol;

/// Every streaming handler, typed or raw, as the loop sees it.
type StreamHandler<'a> =
    dyn FnMut(&[u8], &Context, &mut ResponseStream) -> Result<(), Diagnostic> + 'a;

impl Runtime {
    /// Serve events with a streaming handler on a typed event: the event is
    /// parsed from JSON into `E`, and the handler writes its answer into the
    /// [`ResponseStream`]. Returns only by exiting the process.
    ///
    /// Lambda streams to callers of function URLs (invoke mode
    /// `RESPONSE_STREAM`) and of `InvokeWithResponseStream`; other callers get
    /// the whole body once it is complete.
    pub fn run_streaming<E, Err, F>(self, mut handler: F) -> !
    where
        E: Deserialize,
        Err: Display + 'static,
        F: FnMut(E, &Context, &mut ResponseStream) -> Result<(), Err>,
    {
        self.run_streaming_raw(
            move |event: &[u8], ctx: &Context, out: &mut ResponseStream| {
                let event = parse_event(event)?;
                handler(event, ctx, out).map_err(|e| Diagnostic::from_error(&e))
            },
        )
    }

    /// Serve events with a streaming handler on the raw event bytes.
    pub fn run_streaming_raw<Err, F>(self, mut handler: F) -> !
    where
        Err: Display + 'static,
        F: FnMut(&[u8], &Context, &mut ResponseStream) -> Result<(), Err>,
    {
        let mut erased = move |event: &[u8], ctx: &Context, out: &mut ResponseStream| {
            handler(event, ctx, out).map_err(|e| Diagnostic::from_error(&e))
        };
        let fault = self.stream_loop(&mut erased);
        exit_with(&fault)
    }

    /// The streaming runtime: next, handle into the stream, end it (or
    /// report to `/error` when nothing was sent), after-response hook,
    /// repeat. Returns only the fault that ends the process.
    fn stream_loop(mut self, handler: &mut StreamHandler) -> Error {
        let sink = Arc::new(Mutex::new(Sink::new(
            self.client.authority(),
            self.client.base(),
        )));
        let mut stream = ResponseStream::new(Arc::clone(&sink));
        install_stream_panic_hook();
        loop {
            let (ctx, event) = match self.next() {
                Ok(invocation) => invocation,
                Err(fault) => return fault,
            };
            set_trace_env(ctx.xray_trace_id.as_deref());
            lock(&sink).begin(&ctx);
            set_stream(Some(Arc::clone(&sink)));
            set_phase(Phase::Invocation(
                ctx.request_id.clone(),
                ctx.invocation_id.clone(),
            ));

            let outcome =
                panic::catch_unwind(AssertUnwindSafe(|| handler(&event, &ctx, &mut stream)));
            drop(event);
            set_stream(None);
            let posted = match outcome {
                Ok(Ok(())) => self.end_stream(&sink, &ctx, None),
                Ok(Err(diagnostic)) => {
                    log::error!("invocation failed: {diagnostic}");
                    self.end_stream(&sink, &ctx, Some(&diagnostic))
                }
                // The panic hook has reported it already (to `/error`, or in
                // the trailers), unless someone replaced the hook.
                Err(payload) => match take_phase() {
                    Phase::Invocation(..) => {
                        let diagnostic = panic_diagnostic(payload_message(&*payload));
                        self.end_stream(&sink, &ctx, Some(&diagnostic))
                    }
                    _ => Ok(()),
                },
            };
            if let Some(fault) = self.after_answer(posted, &ctx) {
                return fault;
            }
        }
    }

    /// End the stream, with the error trailers on a failure; a failure
    /// before any byte was sent goes to `/error` instead, as when buffered.
    fn end_stream(
        &self,
        sink: &Mutex<Sink>,
        ctx: &Context,
        failure: Option<&Diagnostic>,
    ) -> Result<(), Error> {
        let ended = lock(sink).end(failure);
        match (ended, failure) {
            (Ended::NotStarted, Some(diagnostic)) => {
                self.post(&protocol::error(self.client.base(), ctx, diagnostic))
            }
            (ended, _) => ended.judge(&ctx.request_id),
        }
    }
}

/// Serve events with a typed streaming handler: [`Runtime::from_env`] then
/// [`Runtime::run_streaming`].
///
/// ```no_run
/// use std::io::Write;
/// use tiny_lambda::{Context, ResponseStream};
///
/// #[derive(miniserde::Deserialize)]
/// struct Count { to: u32 }
///
/// fn main() {
///     tiny_lambda::run_streaming(|req: Count, _ctx: &Context, out: &mut ResponseStream| {
///         for n in 1..=req.to {
///             writeln!(out, "{n}")?;
///             out.flush()?; // the caller sees each line as it is written
///         }
///         Ok::<_, std::io::Error>(())
///     })
/// }
/// ```
pub fn run_streaming<E, Err, F>(handler: F) -> !
where
    E: Deserialize,
    Err: Display + 'static,
    F: FnMut(E, &Context, &mut ResponseStream) -> Result<(), Err>,
{
    Runtime::from_env().run_streaming(handler)
}

/// Serve events with a raw streaming handler: [`Runtime::from_env`] then
/// [`Runtime::run_streaming_raw`].
pub fn run_streaming_raw<Err, F>(handler: F) -> !
where
    Err: Display + 'static,
    F: FnMut(&[u8], &Context, &mut ResponseStream) -> Result<(), Err>,
{
    Runtime::from_env().run_streaming_raw(handler)
}
