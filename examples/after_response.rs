//! The post-response hook: work that runs after the answer has been posted and
//! before the next event, so the caller does not wait for it. Here the hook
//! counts invocations (as a metrics flush would) and sleeps `HOOK_DELAY_MS`
//! to stand in for slow work; each answer reports how many hooks ran before it.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use miniserde::Serialize;
use miniserde::json::Value;
use tiny_lambda::{Context, Diagnostic, Handler, Runtime};

#[derive(Serialize)]
struct Response {
    hooks_run: u64,
}

fn main() {
    let delay_ms: u64 = std::env::var("HOOK_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let hooks_run = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&hooks_run);
    Runtime::from_env()
        .after_response(move |ctx: &Context| {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            let run = counter.fetch_add(1, Ordering::Relaxed) + 1;
            log::info!("after response {}: {} hooks run", ctx.request_id, run);
        })
        .serve(Handler::json(move |_event: Value, _ctx: &Context| {
            Ok::<_, Diagnostic>(Response {
                hooks_run: hooks_run.load(Ordering::Relaxed),
            })
        }))
}
