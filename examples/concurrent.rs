//! Lambda Managed Instances: serves up to `AWS_LAMBDA_MAX_CONCURRENCY`
//! invocations at once, one per thread (one at a time without it). The
//! event `{"sleep_ms": D}` sleeps D ms and answers
//! `{"request_id": "<its own request id>"}`: the workload of
//! `bench --concurrency`. For tests, `"panic": "why"` panics instead.
//!
//! At DEBUG (`RUST_LOG=debug`) each invocation logs which thread handled it
//! and what `_X_AMZN_TRACE_ID` said, and the after-response hook which
//! thread ran it.
use std::time::Duration;

use miniserde::{Deserialize, Serialize};
use tiny_lambda::{Context, Diagnostic, Handler, Runtime};

#[derive(Deserialize)]
struct Request {
    sleep_ms: Option<u64>,
    panic: Option<String>,
}

#[derive(Serialize)]
struct Response {
    request_id: String,
}

fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string()
}

fn main() {
    Runtime::from_env()
        .after_response(|ctx: &Context| {
            log::debug!("answered {} on {}", ctx.request_id, thread_name());
        })
        .serve_concurrent(|| {
            Handler::json(|request: Request, ctx: &Context| {
                let trace_variable = std::env::var("_X_AMZN_TRACE_ID");
                log::debug!(
                    "handling {} on {} (_X_AMZN_TRACE_ID: {})",
                    ctx.request_id,
                    thread_name(),
                    trace_variable.as_deref().unwrap_or("unset")
                );
                if let Some(why) = request.panic {
                    panic!("{why}");
                }
                std::thread::sleep(Duration::from_millis(request.sleep_ms.unwrap_or(0)));
                Ok::<_, Diagnostic>(Response {
                    request_id: ctx.request_id.clone(),
                })
            })
        })
}
