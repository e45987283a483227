//! The concurrent peer of `bench --concurrency`: the `concurrent` example's
//! behaviour on the official runtime's concurrent entry point. The event
//! `{"sleep_ms": D}` waits D ms (a tokio timer, as an async handler would)
//! and answers `{"request_id": "<its own request id>"}`. With
//! `AWS_LAMBDA_MAX_CONCURRENCY` unset or 1 it serves one event at a time.

use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn sleep_then_answer(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let sleep_ms = event.payload.get("sleep_ms").and_then(Value::as_u64).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
    Ok(json!({ "request_id": event.context.request_id }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run_concurrent(service_fn(sleep_then_answer)).await
}
