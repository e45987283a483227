//! An external extension (a file of `/opt/extensions`): it counts the
//! function's invocations and the log lines the Telemetry API brings it, and
//! on `SHUTDOWN` prints one line to stdout and exits 0:
//!
//! ```text
//! telemetry_extension: invokes=N function_records=M shutdown=REASON
//! ```
//!
//! It registers under its own file name for `INVOKE` and `SHUTDOWN`, listens
//! on `0.0.0.0:PORT` (4243, or `TELEMETRY_PORT`), and subscribes to the
//! `platform` and `function` streams before its first `event/next`.
//!
//! The last records race the `SHUTDOWN` event: Lambda buffers records for up
//! to the subscription's `timeoutMs` before it posts them, so lines the
//! function wrote just before the shutdown may arrive after the event. The
//! extension therefore waits, before it prints, until no batch has arrived
//! for `timeoutMs` plus 100 ms (300 ms here, with a buffering timeout of
//! 200 ms), and never past the shutdown's deadline less 200 ms, so that it
//! still prints and exits before Lambda kills it.
use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tiny_lambda::Diagnostic;
use tiny_lambda::extension::api::{Event, EventType};
use tiny_lambda::extension::telemetry::{Buffering, Record, Stream, Subscription, listener_uri};
use tiny_lambda::extension::{Extension, Listener};

const DEFAULT_PORT: u16 = 4243;
/// How long Lambda may hold records before it posts them: short, so the
/// wait at shutdown is short too.
const BUFFER_TIMEOUT_MS: u32 = 200;
/// Quiet for this long after the last batch (or the shutdown event): all
/// that was buffered has arrived.
const QUIET: Duration = Duration::from_millis(BUFFER_TIMEOUT_MS as u64 + 100);
/// Printed and gone this long before the shutdown's deadline.
const MARGIN_MS: u64 = 200;
/// The wait when Lambda gives no deadline (2 s is an external extension's
/// whole shutdown).
const NO_DEADLINE_WAIT: Duration = Duration::from_millis(1_500);

/// What the listener thread has seen.
struct Received {
    function_records: AtomicU64,
    last_batch: Mutex<Option<Instant>>,
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut extension = match Extension::register(&[EventType::Invoke, EventType::Shutdown]) {
        Ok(extension) => extension,
        Err(e) => {
            log::error!("cannot register: {e}");
            exit(1)
        }
    };
    let received = Arc::new(Received {
        function_records: AtomicU64::new(0),
        last_batch: Mutex::new(None),
    });
    if let Err(diagnostic) = subscribe(&mut extension, Arc::clone(&received)) {
        log::error!("{diagnostic}");
        if let Err(e) = extension.init_error(&diagnostic) {
            log::error!("cannot report the init error: {e}");
        }
        exit(1)
    }

    let mut invokes = 0_u64;
    loop {
        match extension.next_event() {
            Ok(Event::Invoke { .. }) => invokes += 1,
            Ok(Event::Shutdown {
                reason,
                deadline_ms,
            }) => {
                wait_for_last_batches(&received, deadline_ms);
                let records = received.function_records.load(Ordering::SeqCst);
                println!(
                    "telemetry_extension: invokes={invokes} function_records={records} shutdown={}",
                    reason.as_str()
                );
                exit(0)
            }
            Err(e) => {
                log::error!("{e}; exiting");
                let diagnostic = Diagnostic::new("NextFailed", &e.to_string());
                if let Err(e) = extension.exit_error(&diagnostic) {
                    log::error!("cannot report the exit error: {e}");
                }
                exit(1)
            }
        }
    }
}

/// Listen, then subscribe: Lambda may post the first batch at once.
fn subscribe(extension: &mut Extension, received: Arc<Received>) -> Result<(), Diagnostic> {
    let port = match std::env::var("TELEMETRY_PORT") {
        Ok(port) => port.trim().parse().map_err(|_| {
            Diagnostic::new(
                "ConfigInvalid",
                &format!("TELEMETRY_PORT is {port:?}, not a port"),
            )
        })?,
        Err(_) => DEFAULT_PORT,
    };
    let failed = |e: &dyn std::fmt::Display| Diagnostic::new("ListenerFailed", &e.to_string());
    let listener = Listener::bind(port).map_err(|e| failed(&e))?;
    listener
        .spawn(move |batch| {
            let lines = batch
                .iter()
                .filter(|event| matches!(event.record, Record::Function(_)))
                .count();
            received
                .function_records
                .fetch_add(lines as u64, Ordering::SeqCst);
            *received.last_batch.lock().unwrap() = Some(Instant::now());
        })
        .map_err(|e| failed(&e))?;
    let subscription = Subscription {
        types: vec![Stream::Platform, Stream::Function],
        buffering: Buffering {
            timeout_ms: BUFFER_TIMEOUT_MS,
            ..Buffering::default()
        },
        uri: format!("{}/telemetry", listener_uri(port)),
    };
    extension
        .subscribe(&subscription)
        .map_err(|e| Diagnostic::new("SubscribeFailed", &e.to_string()))
}

/// Wait until no batch has come for [`QUIET`], but not past the deadline
/// (milliseconds since the epoch; 0 when Lambda gave none) less the margin.
fn wait_for_last_batches(received: &Received, deadline_ms: u64) {
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
        let quiet_from = last.max(shutdown) + QUIET;
        let until = quiet_from.min(give_up);
        let now = Instant::now();
        if now >= until {
            return;
        }
        thread::sleep(until - now);
    }
}
