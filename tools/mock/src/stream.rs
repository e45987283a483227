//! A streamed answer, as Lambda would take it: read chunk by chunk, each one
//! recorded with its arrival time where `wait_chunks` can follow it, then
//! judged like any post once the last chunk (and its trailers) arrived.
//!
//! Three things end a stream early: the invocation's deadline (410, then the
//! connection is closed), the size limit (413, then closed), and an injected
//! `Fault::Close` (closed after the first chunk, as when the caller goes
//! away). Closing makes the runtime's next writes fail, which is what a
//! handler sees in each of those cases.

use std::borrow::ToOwned;
use std::format;
use std::io;
use std::string::String;
use std::sync::Arc;
use std::time::Instant;
use std::vec::Vec;

use super::answer::{Answer, error_answer, fault_answer};
use super::invocation::judge;
use super::wire::{Piece, Request, finish};
use super::{Chunk, Fault, Outcome, Posted, Shared, Stream, extensions, find_header};

/// Whether a post's headers ask for a streamed answer.
pub(super) fn is_streamed(headers: &[(String, String)]) -> bool {
    find_header(headers, "Lambda-Runtime-Function-Response-Mode")
        .is_some_and(|mode| mode.eq_ignore_ascii_case("streaming"))
        && tiny_lambda::http1::is_chunked(headers)
}

/// How the reading of a stream stopped.
enum Stop {
    /// The last chunk arrived.
    Complete,
    /// The deadline passed first.
    TimedOut,
    /// More than the limit arrived.
    TooLarge,
    /// `Fault::Close`: cut after the first chunk.
    Cut,
    /// The runtime's side broke off (closed, or sent something malformed).
    Broken,
}

/// Handles a streamed `POST /invocation/{id}/response`.
pub(super) fn post(shared: &Arc<Shared>, mut request: Request, record: usize, id: String) {
    let (fault, deadline, limit, first) = {
        let mut state = shared.lock();
        let fault = state.post_faults.pop_front();
        let deadline = state.invocations.get(&id).map(|i| i.deadline);
        let limit = state
            .stream_limit
            .unwrap_or(tiny_lambda::protocol::MAX_STREAMED_RESPONSE_BYTES);
        // Only the first answer for an id is followed and becomes its outcome.
        let first = !state.streams.contains_key(&id) && !state.outcomes.contains_key(&id);
        if first {
            state.streams.insert(id.clone(), Stream::default());
        }
        (fault, deadline, limit, first)
    };
    let mut stream = Stream::default();
    let mut total = 0_u64;
    let stop = loop {
        match request.read_chunk(deadline) {
            Ok(Piece::Data(bytes)) => {
                total += bytes.len() as u64;
                let chunk = Chunk {
                    at: Instant::now(),
                    bytes,
                };
                if first {
                    let mut state = shared.lock();
                    if let Some(live) = state.streams.get_mut(&id) {
                        live.chunks.push(chunk.clone());
                    }
                    shared.changed.notify_all();
                }
                stream.chunks.push(chunk);
                if total > limit {
                    break Stop::TooLarge;
                }
                if fault == Some(Fault::Close) {
                    break Stop::Cut;
                }
            }
            Ok(Piece::Last(trailers)) => {
                stream.trailers = trailers;
                break Stop::Complete;
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break Stop::TimedOut,
            Err(_) => break Stop::Broken,
        }
    };
    stream.ended = true;
    stream.ended_at = Some(Instant::now());
    stream.complete = matches!(stop, Stop::Complete);

    let mut state = shared.lock();
    let headers = state
        .records
        .get(record)
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    let closing = |mut answer: Answer| {
        answer
            .headers
            .push(("Connection".to_owned(), "close".to_owned()));
        Some(answer)
    };
    let (answer, delay) = match (stop, fault) {
        (Stop::Complete, None) => (Some(judge(&mut state, &id, &headers, 0)), None),
        (Stop::Complete, Some(Fault::Status(status))) => (Some(fault_answer(status)), None),
        (Stop::Complete, Some(Fault::Delay(delay))) => {
            (Some(judge(&mut state, &id, &headers, 0)), Some(delay))
        }
        // `Fault::Close` on a stream with no chunk at all closes at its end.
        (Stop::Cut | Stop::Broken, _) | (Stop::Complete, Some(Fault::Close)) => (None, None),
        (Stop::TimedOut, _) => {
            if let Some(invocation) = state.invocations.get_mut(&id) {
                invocation.answered = true;
            }
            let answer = error_answer(410, "Invocation timed out", "InvocationTimedOut");
            (closing(answer), None)
        }
        (Stop::TooLarge, _) => {
            let message = format!("Exceeded maximum allowed payload size ({limit} bytes).");
            let answer = error_answer(413, &message, "RequestEntityTooLarge");
            (closing(answer), None)
        }
    };
    let body: Vec<u8> = stream.chunks.iter().flat_map(|c| c.bytes.clone()).collect();
    if let Some(answer) = &answer {
        let error_type = stream.trailer("Lambda-Runtime-Function-Error-Type");
        let status = if error_type.is_some() {
            "error"
        } else {
            "success"
        };
        extensions::answered(
            &mut state,
            &id,
            answer.status,
            status,
            error_type,
            body.len(),
        );
    }
    if let Some(r) = state.records.get_mut(record) {
        r.body.clone_from(&body);
    }
    if first {
        state.streams.insert(id.clone(), stream.clone());
        let posted = Posted {
            request_id: id.clone(),
            headers,
            body,
            status: answer.as_ref().map_or(0, |a| a.status),
            at: state
                .records
                .get(record)
                .map_or_else(Instant::now, |r| r.at),
            handed_out_at: state.invocations.get(&id).map(|i| i.handed_out_at),
            stream: Some(stream),
        };
        state.outcomes.insert(id, Outcome::Response(posted));
    }
    drop(state);
    finish(shared, request, record, answer, delay);
}
