//! The post-response hook: work that runs after the answer has been posted and
//! before the next event, so the caller does not wait for it. Here the hook
//! counts invocations (as a metrics flush would) and sleeps `HOOK_DELAY_MS`
//! to stand in for slow work; each answer reports how many hooks ran before it.
use std::cell::Cell;
use std::rc::Rc;

use miniserde::Serialize;
use miniserde::json::Value;
use tiny_lambda::{Context, Diagnostic, Runtime};

#[derive(Serialize)]
struct Response {
    hooks_run: u64,
}

fn main() {
    let delay_ms: u64 = std::env::var("HOOK_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let hooks_run = Rc::new(Cell::new(0_u64));
    let counter = Rc::clone(&hooks_run);
    Runtime::from_env()
        .after_response(move |ctx: &Context| {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            counter.set(counter.get() + 1);
            log::info!(
                "after response {}: {} hooks run",
                ctx.request_id,
                counter.get()
            );
        })
        .run(move |_event: Value, _ctx: &Context| {
            Ok::<_, Diagnostic>(Response {
                hooks_run: hooks_run.get(),
            })
        })
}
