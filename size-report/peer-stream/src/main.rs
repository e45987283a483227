//! The streaming peer: tiny-lambda's `stream` example written with
//! `lambda_runtime`'s streaming response, the way its documentation shows.
//! The event `{"chunks": N, "bytes": B, "delay_ms": D, "fail_after": K}`
//! streams N chunks of B bytes, pausing D ms between them; with `fail_after`,
//! the stream fails after K chunks with a message that says how many were
//! sent. Only measured, never deployed; keep it the plain idiomatic version so
//! the comparison stays fair.

use std::time::Duration;

use futures::stream;
use lambda_runtime::streaming::Response;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

#[derive(Deserialize)]
struct Request {
    chunks: u64,
    bytes: usize,
    delay_ms: u64,
    fail_after: Option<u64>,
}

/// The chunks as a stream: min(N, K) chunks, each but the first after the
/// pause, then the end, or with `fail_after` the error that ends it.
async fn handler(
    event: LambdaEvent<Request>,
) -> Result<Response<impl futures::Stream<Item = Result<Vec<u8>, String>>>, Error> {
    let request = event.payload;
    let limit = request.chunks.min(request.fail_after.unwrap_or(u64::MAX));
    // The state is how many chunks were sent; None once the stream is over.
    let chunks = stream::unfold(Some(0_u64), move |state| async move {
        let sent = state?;
        if sent == limit {
            let message = format!("failed after {sent} chunks");
            return request.fail_after.map(|_| (Err(message), None));
        }
        if sent > 0 && request.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(request.delay_ms)).await;
        }
        Some((Ok(vec![b'x'; request.bytes]), Some(sent + 1)))
    });
    Ok(Response::from(Box::pin(chunks)))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
