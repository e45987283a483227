//! The peer subject of the size report: an echo function written the way the
//! official `lambda_runtime` documentation shows, JSON in and the same JSON
//! out. It is only measured, never deployed; keep it the plain idiomatic
//! version so the comparison with tiny-lambda's `echo` example stays fair.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// Hands the event back unchanged, like tiny-lambda's `echo` example.
async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
