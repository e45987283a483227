//! The extension peer: tiny-lambda's `telemetry_extension` example written
//! the way the official `lambda-extension` documentation shows (an events
//! processor and a telemetry processor, each a tower service). It registers
//! under its own file name for `INVOKE` and `SHUTDOWN`, listens on
//! `0.0.0.0:PORT` (4243, or `TELEMETRY_PORT`), subscribes to the `platform`
//! and `function` streams before its first `event/next` (`register` does
//! both, then `run` asks for events), counts `INVOKE` events and `function`
//! records, and on `SHUTDOWN` prints one line to stdout and exits 0:
//!
//! ```text
//! telemetry_extension: invokes=N function_records=M shutdown=REASON
//! ```
//!
//! As the example does, it waits before it prints until no batch has come
//! for the buffering timeout plus 100 ms (300 ms), and never past the
//! shutdown's deadline less 200 ms. Only measured, never deployed; keep it
//! the plain idiomatic version so the comparison stays fair.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_extension::{
    service_fn, Error, Extension, LambdaEvent, LambdaTelemetry, LambdaTelemetryRecord, LogBuffering,
    NextEvent, SharedService,
};
use tokio::time::Instant;

const DEFAULT_PORT: u16 = 4243;
const BUFFER_TIMEOUT_MS: usize = 200;
const QUIET: Duration = Duration::from_millis(BUFFER_TIMEOUT_MS as u64 + 100);
const MARGIN_MS: u64 = 200;
const NO_DEADLINE_WAIT: Duration = Duration::from_millis(1_500);

/// What the telemetry processor has seen.
#[derive(Default)]
struct Received {
    function_records: AtomicU64,
    last_batch: Mutex<Option<Instant>>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let port = match std::env::var("TELEMETRY_PORT") {
        Ok(port) => port.trim().parse()?,
        Err(_) => DEFAULT_PORT,
    };
    let received = Arc::new(Received::default());
    let invokes = Arc::new(AtomicU64::new(0));

    let telemetry = {
        let received = Arc::clone(&received);
        service_fn(move |batch: Vec<LambdaTelemetry>| {
            let received = Arc::clone(&received);
            async move {
                let lines = batch
                    .iter()
                    .filter(|event| matches!(event.record, LambdaTelemetryRecord::Function(_)))
                    .count();
                received.function_records.fetch_add(lines as u64, Ordering::SeqCst);
                *received.last_batch.lock().unwrap() = Some(Instant::now());
                Ok::<(), Error>(())
            }
        })
    };
    let events = service_fn(move |event: LambdaEvent| {
        let received = Arc::clone(&received);
        let invokes = Arc::clone(&invokes);
        async move {
            match event.next {
                NextEvent::Invoke(_) => {
                    invokes.fetch_add(1, Ordering::SeqCst);
                }
                NextEvent::Shutdown(shutdown) => {
                    wait_for_last_batches(&received, shutdown.deadline_ms).await;
                    println!(
                        "telemetry_extension: invokes={} function_records={} shutdown={}",
                        invokes.load(Ordering::SeqCst),
                        received.function_records.load(Ordering::SeqCst),
                        shutdown.shutdown_reason
                    );
                    std::process::exit(0);
                }
            }
            Ok::<(), Error>(())
        }
    });

    Extension::new()
        .with_events(&["INVOKE", "SHUTDOWN"])
        .with_events_processor(events)
        .with_telemetry_types(&["platform", "function"])
        .with_telemetry_buffering(LogBuffering {
            timeout_ms: BUFFER_TIMEOUT_MS,
            max_bytes: 262_144,
            max_items: 1_000,
        })
        .with_telemetry_port_number(port)
        .with_telemetry_processor(SharedService::new(telemetry))
        .run()
        .await
}

/// Wait until no batch has come for [`QUIET`], but not past the deadline
/// (milliseconds since the epoch; 0 when Lambda gave none) less the margin.
async fn wait_for_last_batches(received: &Received, deadline_ms: u64) {
    let shutdown = Instant::now();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let left = match deadline_ms {
        0 => NO_DEADLINE_WAIT,
        deadline => Duration::from_millis(deadline.saturating_sub(now_ms + MARGIN_MS)),
    };
    let give_up = shutdown + left;
    loop {
        let last = received.last_batch.lock().unwrap().unwrap_or(shutdown);
        let until = (last.max(shutdown) + QUIET).min(give_up);
        if Instant::now() >= until {
            return;
        }
        tokio::time::sleep_until(until).await;
    }
}
