//! The Telemetry API's side of the mock: subscriptions, the records Lambda
//! makes (`platform.*`, and the `function` and `extension` log lines the
//! driver hands over), and their delivery in batches to each subscriber's
//! listener.
//!
//! As in Lambda's own implementation (the Runtime Interface Emulator's
//! telemetry relay and subscribers): records made during init are kept and
//! replayed to each extension as it subscribes, and subscriptions close when
//! init ends; each subscriber buffers the records of the types it asked for
//! and posts them as one JSON array when `maxItems` or `maxBytes` is reached
//! or `timeoutMs` has passed since the first of them, one batch at a time, to
//! its destination: `http://sandbox.localdomain:PORT/PATH`, reached on
//! `127.0.0.1:PORT`. A batch the listener refuses or never answers is
//! dropped and noted in [`Delivery`]. Each subscriber has a thread of its
//! own, so a slow listener holds up only its own telemetry.
//!
//! Records follow the Telemetry API's event schema (2022-12-13); the mock
//! leaves out what it cannot know (spans, runtime versions).
//!
//! The parts: this file holds the state (the subscriptions, and what each
//! subscriber is owed) and the driver's calls about telemetry; `record`
//! makes the records; `subscription` reads and takes a subscription and
//! starts its sender; `delivery` is that sender, posting batches.

use std::borrow::ToOwned;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::string::String;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::{Delivery, LogSource, RuntimeApi};

mod delivery;
mod record;
mod subscription;

pub(super) use delivery::flush;
pub(super) use record::{
    Report, RuntimeDone, extension, function_name, init_report, init_runtime_done, init_start,
    report, runtime_done, start,
};
use record::{iso_now, log};
pub(super) use subscription::subscribe;

/// The kind of a record, which decides who gets it: a subscriber asks for
/// some of `platform`, `function` and `extension`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Platform,
    Function,
    Extension,
}

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// Subscriptions and what is owed to them: a part of the mock's `State`.
#[derive(Default)]
pub(super) struct Telemetry {
    subscribers: Vec<Arc<Subscriber>>,
    /// The records made during init, replayed to each new subscriber.
    init_records: Vec<(Kind, String)>,
    /// Init is over: no more subscriptions, and no more keeping records.
    closed: bool,
    deliveries: Vec<Delivery>,
    /// The function's output streams the driver hands over, still open.
    pub(super) open_function_streams: usize,
}

/// One subscription, shared with the thread that posts its batches.
struct Subscriber {
    name: String,
    kinds: [bool; 3],
    max_items: usize,
    max_bytes: usize,
    timeout: Duration,
    port: u16,
    path: String,
    host: String,
    outbox: Mutex<Outbox>,
    /// Signalled when a record arrives, a flush is asked for, or a batch
    /// has gone out.
    wake: Condvar,
}

#[derive(Default)]
struct Outbox {
    records: VecDeque<String>,
    bytes: usize,
    /// When the oldest record waiting arrived: the batch's timer.
    since: Option<Instant>,
    flush: bool,
    sending: bool,
    stop: bool,
}

impl Telemetry {
    /// Whether a record made now would reach anyone: during init (it is
    /// kept for later subscribers), or with a subscriber. Callers skip
    /// building records otherwise, so that a mock without extensions costs
    /// an invocation nothing.
    pub(super) fn wants(&self) -> bool {
        !self.closed || !self.subscribers.is_empty()
    }

    /// Init is over: subscriptions close, and records are no longer kept.
    pub(super) fn close(&mut self) {
        self.closed = true;
        self.init_records = Vec::new();
    }

    /// Stops every subscriber's thread (the mock is going away).
    pub(super) fn stop(&mut self) {
        for subscriber in &self.subscribers {
            subscriber.lock().stop = true;
            subscriber.wake.notify_all();
        }
    }

    /// Makes a record of this type, time-stamped now, for whoever wants it.
    fn emit(&mut self, kind: Kind, type_name: &str, record: &str) {
        let element = format!(
            r#"{{"time":"{}","type":"{type_name}","record":{record}}}"#,
            iso_now()
        );
        for subscriber in &self.subscribers {
            subscriber.push(kind, &element);
        }
        if !self.closed {
            self.init_records.push((kind, element));
        }
    }
}

impl Subscriber {
    fn lock(&self) -> MutexGuard<'_, Outbox> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, kind: Kind, element: &str) {
        if !self.kinds[kind.index()] {
            return;
        }
        let mut outbox = self.lock();
        outbox.records.push_back(element.to_owned());
        outbox.bytes += element.len();
        outbox.since.get_or_insert_with(Instant::now);
        self.wake.notify_all();
    }
}

impl RuntimeApi {
    /// One line the function (the runtime process) or an external extension
    /// printed, without its line end: it becomes a `function` or
    /// `extension` record for the subscribers that asked for those.
    pub fn log_line(&self, source: LogSource, line: &str) {
        let mut state = self.shared.lock();
        if state.telemetry.wants() {
            log(&mut state.telemetry, source, line);
        }
    }

    /// Reads a process's output (its piped stdout or stderr) line by line on
    /// a thread of its own until it ends: each line goes to `echo` (to show
    /// it; `|_| ()` to keep quiet), then becomes a record as
    /// [`RuntimeApi::log_line`] makes them. Call it once for each stream.
    /// The shutdown waits (within its deadline) for the function's streams
    /// to end, so that its last lines reach subscribers before `SHUTDOWN`.
    pub fn read_output(
        &self,
        source: LogSource,
        output: impl Read + Send + 'static,
        mut echo: impl FnMut(&str) + Send + 'static,
    ) -> io::Result<()> {
        let function = source == LogSource::Function;
        if function {
            self.shared.lock().telemetry.open_function_streams += 1;
        }
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("mock-output".to_owned())
            .spawn(move || {
                let mut reader = BufReader::new(output);
                let mut line = Vec::new();
                while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']);
                    echo(text);
                    let mut state = shared.lock();
                    if state.telemetry.wants() {
                        log(&mut state.telemetry, source, text);
                    }
                    drop(state);
                    line.clear();
                }
                if function {
                    shared.lock().telemetry.open_function_streams -= 1;
                    shared.changed.notify_all();
                }
            });
        if spawned.is_err() && function {
            self.shared.lock().telemetry.open_function_streams -= 1;
        }
        spawned.map(drop)
    }

    /// Every batch posted to a telemetry subscriber so far, in order.
    pub fn telemetry_deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().telemetry.deliveries.clone()
    }

    /// Blocks until at least `n` batches were posted to subscribers (answered
    /// or not), or the timeout passed; returns them all.
    pub fn wait_deliveries(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let state = self
            .shared
            .wait(timeout, |s| s.telemetry.deliveries.len() >= n);
        state.telemetry.deliveries.clone()
    }

    /// Sends every subscriber what it holds now, without waiting for its
    /// buffering limits, and waits until each batch has been answered (or
    /// the timeout passed); returns whether all were.
    pub fn flush_telemetry(&self, timeout: Duration) -> bool {
        flush(&self.shared, Instant::now() + timeout)
    }
}
