//! Following a streamed answer while it arrives: `invoke` prints each chunk
//! as the mock reads it, and then the error trailers, if the stream failed.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use tiny_lambda_mock::{Outcome, Posted, RuntimeApi};

use crate::bootstrap::{self, Process};
use crate::failure::Failure;

/// How long one wait for a chunk lasts before the process is checked again.
const POLL: Duration = Duration::from_millis(50);

/// Wait for the answer to `request_id`, writing a streamed one's chunks to
/// stdout as they arrive; a buffered one is left for the caller to print.
/// `None` when nothing came within `limit`.
pub fn await_answer(
    api: &RuntimeApi,
    process: &mut Process,
    request_id: &str,
    label: &str,
    limit: Duration,
) -> Result<Option<Outcome>, Failure> {
    let until = Instant::now() + limit;
    let mut seen = 0;
    let mut out = io::stdout().lock();
    loop {
        match api.wait_chunks(request_id, seen, POLL) {
            Some((chunks, ended)) => {
                for chunk in &chunks {
                    out.write_all(&chunk.bytes)
                        .and_then(|()| out.flush())
                        .map_err(|e| Failure::Internal(format!("cannot write to stdout: {e}")))?;
                }
                seen += chunks.len();
                if ended {
                    return Ok(api.wait_outcome(request_id, Duration::ZERO));
                }
            }
            None => {
                if let Some(outcome) = api.wait_outcome(request_id, Duration::ZERO) {
                    return Ok(Some(outcome));
                }
            }
        }
        bootstrap::check_alive(api, process, label)?;
        if Instant::now() >= until {
            return Ok(None);
        }
    }
}

/// After a streamed body (already printed): a newline, then the error the
/// trailers carried, if any. Returns whether there was one.
pub fn show_end(posted: &Posted) -> Result<bool, Failure> {
    let Some(stream) = &posted.stream else {
        return Ok(false);
    };
    let mut out = io::stdout().lock();
    let failure = stream.trailer("Lambda-Runtime-Function-Error-Type");
    let written = match failure {
        Some(error_type) => {
            let body = stream.error_body().unwrap_or_default();
            writeln!(
                out,
                "\nERROR after {} bytes: {error_type} {body}",
                posted.body.len()
            )
        }
        None => writeln!(out),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Internal(format!("cannot write to stdout: {e}")))?;
    if !stream.complete {
        eprintln!(
            "note: the stream ended without its last chunk, after {} bytes",
            posted.body.len()
        );
    }
    Ok(failure.is_some() || !stream.complete)
}
