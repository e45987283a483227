//! The bootstrap of the handler-kind matrix (tests/matrix.rs): one binary
//! for every handler kind, so that each kind runs in each mode (one at a
//! time, Lambda Managed Instances, SnapStart) against the mock.
//!
//! `KIND` picks the handler: `json`, `raw`, `streaming`, `streaming_raw` or
//! `http` (the HTTP adapter's); any other value, or none, is an init error.
//! Whatever the kind, it is served with `Runtime::serve_concurrent`, so
//! `AWS_LAMBDA_MAX_CONCURRENCY` decides how many threads serve it, and a
//! before-snapshot and an after-restore hook are registered, each logging
//! one line at INFO (`before snapshot`, `after restore`); Lambda runs them
//! only under SnapStart.
//!
//! Each kind echoes in its own way:
//! - `json`: the event parsed as a JSON value and serialised again;
//! - `raw`: the event's bytes, as they came;
//! - `streaming`: the JSON value serialised again, and `streaming_raw`: the
//!   bytes, each streamed in two halves, flushed one after the other;
//! - `http`: 200, with the request's path as a text body.
//!
//! An event that is a JSON object with `"sleep_ms": N` (for `http`: a
//! request whose body is one) sleeps N ms before answering, so that
//! invocations served at once can be seen to overlap.
use std::io::Write;
use std::thread;
use std::time::Duration;

use miniserde::json::{self, Number, Value};
use tiny_lambda::http_adapter::{self, Request, Response};
use tiny_lambda::{Context, Handler, ResponseStream, Runtime};

#[derive(Clone, Copy)]
enum Kind {
    Json,
    Raw,
    Streaming,
    StreamingRaw,
    Http,
}

fn main() {
    let runtime = Runtime::from_env();
    let kind = runtime.init(kind_from_env);
    runtime
        .before_snapshot(|| {
            log::info!("before snapshot");
            Ok::<_, String>(())
        })
        .after_restore(|| {
            log::info!("after restore");
            Ok::<_, String>(())
        })
        .serve_concurrent(move || handler(kind))
}

fn kind_from_env() -> Result<Kind, String> {
    let kind = std::env::var("KIND").unwrap_or_default();
    match kind.as_str() {
        "json" => Ok(Kind::Json),
        "raw" => Ok(Kind::Raw),
        "streaming" => Ok(Kind::Streaming),
        "streaming_raw" => Ok(Kind::StreamingRaw),
        "http" => Ok(Kind::Http),
        other => Err(format!(
            "KIND is {other:?}, not json, raw, streaming, streaming_raw or http"
        )),
    }
}

/// One thread's handler of `kind`.
fn handler(kind: Kind) -> Handler<'static> {
    match kind {
        Kind::Json => Handler::json(|event: Value, _ctx: &Context| {
            pause(&event);
            Ok::<_, String>(event)
        }),
        Kind::Raw => Handler::raw(|event: &[u8], _ctx: &Context| {
            pause_bytes(event);
            Ok::<_, String>(event.to_vec())
        }),
        Kind::Streaming => {
            Handler::streaming(|event: Value, _ctx: &Context, out: &mut ResponseStream| {
                pause(&event);
                halves(json::to_string(&event).as_bytes(), out)
            })
        }
        Kind::StreamingRaw => {
            Handler::streaming_raw(|event: &[u8], _ctx: &Context, out: &mut ResponseStream| {
                pause_bytes(event);
                halves(event, out)
            })
        }
        Kind::Http => http_adapter::handler(|request: Request, _ctx: &Context| {
            pause_bytes(&request.body);
            Ok::<_, String>(Response::text(200, request.path))
        }),
    }
}

/// Stream `bytes` as two chunks: each half is flushed on its own.
fn halves(bytes: &[u8], out: &mut ResponseStream) -> std::io::Result<()> {
    let (first, second) = bytes.split_at(bytes.len() / 2);
    out.write_all(first)?;
    out.flush()?;
    out.write_all(second)?;
    out.flush()
}

/// Sleep as long as the event's `sleep_ms` says, if it says.
fn pause(event: &Value) {
    let Value::Object(fields) = event else {
        return;
    };
    if let Some(Value::Number(Number::U64(ms))) = fields.get("sleep_ms") {
        thread::sleep(Duration::from_millis(*ms));
    }
}

/// [`pause`] for bytes that may hold a JSON object.
fn pause_bytes(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).ok();
    if let Some(event) = text.and_then(|t| json::from_str::<Value>(t).ok()) {
        pause(&event);
    }
}
