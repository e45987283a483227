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

use std::borrow::ToOwned;
use std::collections::VecDeque;
use std::format;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::string::String;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use miniserde::json::{self, Number, Value};
use tiny_lambda::extension::telemetry::{MAX_BYTES, MAX_ITEMS, SANDBOX_HOST, TIMEOUT_MS};
use tiny_lambda::http1;

use super::answer::{Answer, error_answer};
use super::{DEFAULT_FUNCTION_ARN, Delivery, LogSource, RuntimeApi, Shared, State};

/// The schema versions Lambda accepts in a subscription.
const SCHEMA_VERSIONS: [&str; 3] = ["2022-07-01", "2022-12-13", "2025-01-29"];

/// How long a post to a listener may take before the batch is dropped.
const POST_TIMEOUT: Duration = Duration::from_secs(2);

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

/// The function's name, from the default ARN.
pub(super) fn function_name() -> &'static str {
    DEFAULT_FUNCTION_ARN.rsplit(':').next().unwrap_or("")
}

/// `platform.initStart`, made when the mock starts: the environment's init
/// begins.
pub(super) fn init_start(state: &mut State) {
    let record = format!(
        r#"{{"initializationType":"on-demand","phase":"init","functionName":{},"functionVersion":"$LATEST"}}"#,
        json::to_string(function_name())
    );
    state
        .telemetry
        .emit(Kind::Platform, "platform.initStart", &record);
}

/// `platform.initRuntimeDone`: the runtime's own init ended.
pub(super) fn init_runtime_done(t: &mut Telemetry, status: &str, error_type: Option<&str>) {
    if !t.wants() {
        return;
    }
    let record = format!(
        r#"{{"initializationType":"on-demand","phase":"init","status":"{status}"{}}}"#,
        error_field(error_type)
    );
    t.emit(Kind::Platform, "platform.initRuntimeDone", &record);
}

/// `platform.extension`: an extension's state at the end of init.
pub(super) fn extension(t: &mut Telemetry, name: &str, events: &[String]) {
    let record = format!(
        r#"{{"name":{},"state":"Ready","events":{}}}"#,
        json::to_string(name),
        json::to_string(events)
    );
    t.emit(Kind::Platform, "platform.extension", &record);
}

/// `platform.initReport`: the whole init phase, extensions included.
pub(super) fn init_report(t: &mut Telemetry, status: &str, duration: Duration) {
    if !t.wants() {
        return;
    }
    let record = format!(
        r#"{{"initializationType":"on-demand","phase":"init","status":"{status}","metrics":{{"durationMs":{}}}}}"#,
        millis(duration)
    );
    t.emit(Kind::Platform, "platform.initReport", &record);
}

/// `platform.start`: an invocation was handed out.
pub(super) fn start(t: &mut Telemetry, request_id: &str, trace: Option<&str>) {
    let record = format!(
        r#"{{"requestId":{},"version":"$LATEST"{}}}"#,
        json::to_string(request_id),
        tracing_field(trace)
    );
    t.emit(Kind::Platform, "platform.start", &record);
}

/// What `platform.runtimeDone` says.
pub(super) struct RuntimeDone<'a> {
    pub(super) request_id: &'a str,
    pub(super) status: &'a str,
    pub(super) error_type: Option<&'a str>,
    /// From the hand-out to the runtime's answer.
    pub(super) duration: Duration,
    pub(super) produced_bytes: usize,
    pub(super) trace: Option<&'a str>,
}

/// `platform.runtimeDone`: the runtime answered (or ran out of time).
pub(super) fn runtime_done(t: &mut Telemetry, done: &RuntimeDone) {
    let record = format!(
        r#"{{"requestId":{},"status":"{}"{},"metrics":{{"durationMs":{},"producedBytes":{}}}{}}}"#,
        json::to_string(done.request_id),
        done.status,
        error_field(done.error_type),
        millis(done.duration),
        done.produced_bytes,
        tracing_field(done.trace)
    );
    t.emit(Kind::Platform, "platform.runtimeDone", &record);
}

/// What `platform.report` says.
pub(super) struct Report<'a> {
    pub(super) request_id: &'a str,
    pub(super) status: &'a str,
    pub(super) error_type: Option<&'a str>,
    /// From the hand-out to the end for everyone: what Lambda bills.
    pub(super) duration: Duration,
    pub(super) memory_mb: u32,
    pub(super) max_memory_used_mb: u64,
    /// On the first invocation only: how long init took.
    pub(super) init: Option<Duration>,
    pub(super) trace: Option<&'a str>,
}

/// `platform.report`: the invocation is over for everyone.
pub(super) fn report(t: &mut Telemetry, report: &Report) {
    let billed = report.duration.as_nanos().div_ceil(1_000_000).max(1);
    let init = report.init.map_or(String::new(), |d| {
        format!(r#","initDurationMs":{}"#, millis(d))
    });
    let record = format!(
        r#"{{"requestId":{},"status":"{}"{},"metrics":{{"durationMs":{},"billedDurationMs":{billed},"memorySizeMB":{},"maxMemoryUsedMB":{}{init}}}{}}}"#,
        json::to_string(report.request_id),
        report.status,
        error_field(report.error_type),
        millis(report.duration),
        report.memory_mb,
        report.max_memory_used_mb,
        tracing_field(report.trace)
    );
    t.emit(Kind::Platform, "platform.report", &record);
}

/// A log line, as the text log format sends it: the line as a JSON string.
fn log(t: &mut Telemetry, source: LogSource, line: &str) {
    let (kind, type_name) = match source {
        LogSource::Function => (Kind::Function, "function"),
        LogSource::Extension => (Kind::Extension, "extension"),
    };
    t.emit(kind, type_name, &json::to_string(line));
}

fn error_field(error_type: Option<&str>) -> String {
    error_type.map_or(String::new(), |e| {
        format!(r#","errorType":{}"#, json::to_string(e))
    })
}

fn tracing_field(trace: Option<&str>) -> String {
    trace.map_or(String::new(), |value| {
        format!(
            r#","tracing":{{"type":"X-Amzn-Trace-Id","value":{}}}"#,
            json::to_string(value)
        )
    })
}

/// Milliseconds with three decimals, as a JSON number.
fn millis(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Now, as Lambda writes a record's `time`: `2024-03-09T16:00:00.010Z`.
fn iso_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso8601(now.as_secs(), now.subsec_millis())
}

fn iso8601(seconds: u64, millis: u32) -> String {
    let (year, month, day) = civil_date(seconds / 86_400);
    let time = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        time / 3_600,
        time % 3_600 / 60,
        time % 60
    )
}

/// The Gregorian date of a day counted from 1970-01-01, by shifting the
/// year to start in March so that the leap day comes last.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + u64::from(month <= 2), month, day)
}

/// Takes a subscription from the extension `name`, as Lambda validates it,
/// and starts delivering to it: first the records of init so far. The
/// caller has checked that init is not over.
pub(super) fn subscribe(
    shared: &Arc<Shared>,
    state: &mut State,
    name: &str,
    body: &[u8],
) -> Result<(), Answer> {
    let mut subscriber = read_subscription(body).map_err(|why| {
        let message = format!("Invalid subscription: {why}");
        error_answer(400, &message, "ValidationError")
    })?;
    subscriber.name = name.to_owned();
    let types: Vec<&str> = ["platform", "function", "extension"]
        .into_iter()
        .zip(subscriber.kinds)
        .filter_map(|(name, wanted)| wanted.then_some(name))
        .collect();
    let subscriber = Arc::new(subscriber);
    let t = &mut state.telemetry;
    // A second subscription from the same extension replaces the first.
    if let Some(old) = t.subscribers.iter().position(|s| s.name == name) {
        let old = t.subscribers.remove(old);
        old.lock().stop = true;
        old.wake.notify_all();
    }
    for (kind, element) in &t.init_records {
        subscriber.push(*kind, element);
    }
    t.subscribers.push(Arc::clone(&subscriber));
    let record = format!(
        r#"{{"name":{},"state":"Subscribed","types":{}}}"#,
        json::to_string(name),
        json::to_string(&types)
    );
    t.emit(Kind::Platform, "platform.telemetrySubscription", &record);
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name("mock-telemetry".to_owned())
        .spawn(move || send_batches(&shared, &subscriber))
        .map_err(|_| error_answer(500, "Cannot start a sender", "InternalServerError"))?;
    Ok(())
}

/// Reads a subscription's body by the Telemetry API's rules (its JSON
/// schema: required `schemaVersion`, `types` and `destination`, buffering
/// within its ranges); what is wrong, in words, otherwise.
fn read_subscription(body: &[u8]) -> Result<Subscriber, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let Ok(Value::Object(fields)) = json::from_str::<Value>(text) else {
        return Err("the body is not a JSON object".to_owned());
    };
    match fields.get("schemaVersion") {
        Some(Value::String(v)) if SCHEMA_VERSIONS.contains(&v.as_str()) => {}
        _ => return Err(format!("schemaVersion must be one of {SCHEMA_VERSIONS:?}")),
    }
    let Some(Value::Array(types)) = fields.get("types") else {
        return Err("types must be an array".to_owned());
    };
    if types.is_empty() {
        return Err("types must not be empty".to_owned());
    }
    let mut kinds = [false; 3];
    for value in types {
        let kind = match value {
            Value::String(t) if t == "platform" => Kind::Platform,
            Value::String(t) if t == "function" => Kind::Function,
            Value::String(t) if t == "extension" => Kind::Extension,
            _ => return Err("types may hold platform, function and extension".to_owned()),
        };
        kinds[kind.index()] = true;
    }
    let Some(Value::Object(destination)) = fields.get("destination") else {
        return Err("destination must be an object".to_owned());
    };
    match destination.get("protocol") {
        Some(Value::String(p)) if p == "HTTP" => {}
        // Lambda also delivers over TCP (one record a line); the mock does
        // not, and says so rather than dropping the records.
        Some(Value::String(p)) if p == "TCP" => {
            return Err("the mock delivers over HTTP only".to_owned());
        }
        _ => return Err("destination.protocol must be HTTP or TCP".to_owned()),
    }
    let Some(Value::String(uri)) = destination.get("URI") else {
        return Err("destination.URI must be a string".to_owned());
    };
    let (port, path) = sandbox_uri(uri)?;
    let mut subscriber = Subscriber {
        name: String::new(),
        kinds,
        max_items: 10_000,
        max_bytes: 262_144,
        timeout: Duration::from_millis(1_000),
        port,
        path,
        host: format!("{SANDBOX_HOST}:{port}"),
        outbox: Mutex::new(Outbox::default()),
        wake: Condvar::new(),
    };
    if let Some(buffering) = fields.get("buffering") {
        let Value::Object(buffering) = buffering else {
            return Err("buffering must be an object".to_owned());
        };
        for (field, range) in [
            ("maxItems", MAX_ITEMS),
            ("maxBytes", MAX_BYTES),
            ("timeoutMs", TIMEOUT_MS),
        ] {
            let Some(value) = buffering.get(field) else {
                continue;
            };
            let n = whole(value)
                .filter(|n| (u64::from(*range.start())..=u64::from(*range.end())).contains(n))
                .ok_or_else(|| format!("buffering.{field} must be a whole number in {range:?}"))?;
            match field {
                "maxItems" => subscriber.max_items = n as usize,
                "maxBytes" => subscriber.max_bytes = n as usize,
                _ => subscriber.timeout = Duration::from_millis(n),
            }
        }
    }
    Ok(subscriber)
}

fn whole(value: &Value) -> Option<u64> {
    match value {
        Value::Number(Number::U64(n)) => Some(*n),
        Value::Number(Number::I64(n)) => u64::try_from(*n).ok(),
        Value::Number(Number::F64(f)) if f.fract() == 0.0 && *f >= 0.0 => Some(*f as u64),
        _ => None,
    }
}

/// The port and path of `http://sandbox.localdomain[:PORT][/PATH]`: only
/// that host is reachable from inside Lambda's environment.
fn sandbox_uri(uri: &str) -> Result<(u16, String), String> {
    let rest = uri
        .strip_prefix("http://")
        .ok_or_else(|| "destination.URI must start with http://".to_owned())?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| "destination.URI has a bad port".to_owned())?,
        ),
        None => (authority, 80),
    };
    if host != SANDBOX_HOST && host != "sandbox" {
        return Err(format!("destination.URI host must be {SANDBOX_HOST}"));
    }
    Ok((port, path.to_owned()))
}

/// A subscriber's thread: waits for a batch to be due, posts it, notes the
/// delivery, and again, until the mock stops.
fn send_batches(shared: &Shared, subscriber: &Subscriber) {
    loop {
        let batch = {
            let mut outbox = subscriber.lock();
            loop {
                if outbox.stop || shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if outbox.records.is_empty() {
                    outbox.flush = false;
                    subscriber.wake.notify_all();
                    outbox = wait(&subscriber.wake, outbox, None);
                    continue;
                }
                let full = outbox.records.len() >= subscriber.max_items
                    || outbox.bytes >= subscriber.max_bytes;
                let due = outbox.since.map(|since| since + subscriber.timeout);
                if full || outbox.flush || due.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let left = due.map(|d| d.saturating_duration_since(Instant::now()));
                outbox = wait(&subscriber.wake, outbox, left);
            }
            let n = outbox.records.len().min(subscriber.max_items);
            let batch: Vec<String> = outbox.records.drain(..n).collect();
            outbox.bytes -= batch.iter().map(String::len).sum::<usize>();
            outbox.since = (!outbox.records.is_empty()).then(Instant::now);
            outbox.sending = true;
            batch
        };
        let body = format!("[{}]", batch.join(","));
        let status = post(subscriber, &body).ok();
        {
            let mut state = shared.lock();
            state.telemetry.deliveries.push(Delivery {
                subscriber: subscriber.name.clone(),
                at: Instant::now(),
                body,
                records: batch.len(),
                status,
            });
            shared.changed.notify_all();
        }
        subscriber.lock().sending = false;
        subscriber.wake.notify_all();
    }
}

fn wait<'a>(
    wake: &Condvar,
    guard: MutexGuard<'a, Outbox>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, Outbox> {
    match timeout {
        Some(timeout) => match wake.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        },
        None => wake
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    }
}

/// Posts one batch to the subscriber's listener and returns its status.
fn post(subscriber: &Subscriber, body: &str) -> io::Result<u16> {
    let address = SocketAddr::from(([127, 0, 0, 1], subscriber.port));
    let mut stream = TcpStream::connect_timeout(&address, POST_TIMEOUT)?;
    stream.set_read_timeout(Some(POST_TIMEOUT))?;
    stream.set_write_timeout(Some(POST_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut bytes = Vec::with_capacity(256 + body.len());
    http1::write_request_head(
        &mut bytes,
        ["POST", &subscriber.path],
        &subscriber.host,
        "tiny-lambda-mock",
        &[("Content-Type", "application/json")],
        Some(body.len()),
    );
    bytes.extend_from_slice(body.as_bytes());
    stream.write_all(&bytes)?;
    // The status line is all that matters; the listener's body, if any, is
    // left unread and the connection dropped.
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    http1::parse_status_line(line.trim_end())
        .map(|(status, _)| status)
        .ok_or_else(|| io::ErrorKind::InvalidData.into())
}

/// Asks every subscriber to send what it holds now, and waits until each
/// has (or `until` passed); returns whether all had.
pub(super) fn flush(shared: &Shared, until: Instant) -> bool {
    let subscribers = shared.lock().telemetry.subscribers.clone();
    let mut all = true;
    for subscriber in subscribers {
        let mut outbox = subscriber.lock();
        outbox.flush = true;
        subscriber.wake.notify_all();
        while !outbox.records.is_empty() || outbox.sending {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || outbox.stop {
                all = false;
                break;
            }
            outbox = wait(&subscriber.wake, outbox, Some(left));
        }
    }
    all
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_times_as_lambda_does() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_709_999_999, 10), "2024-03-09T15:59:59.010Z");
        assert_eq!(
            iso8601(951_782_400 + 3_723, 999),
            "2000-02-29T01:02:03.999Z"
        );
    }

    #[test]
    fn reaches_only_the_sandbox_host() {
        assert_eq!(
            sandbox_uri("http://sandbox.localdomain:4243/telemetry"),
            Ok((4243, "/telemetry".to_owned()))
        );
        assert_eq!(sandbox_uri("http://sandbox:80"), Ok((80, "/".to_owned())));
        assert!(sandbox_uri("http://localhost:4243").is_err());
        assert!(sandbox_uri("https://sandbox.localdomain:4243").is_err());
        assert!(sandbox_uri("http://sandbox.localdomain:99999").is_err());
    }

    #[test]
    fn validates_subscriptions_as_lambda_does() {
        let good = r#"{"schemaVersion":"2022-12-13","types":["platform","function"],"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/t"}}"#;
        let subscriber = read_subscription(good.as_bytes()).unwrap();
        assert_eq!(subscriber.kinds, [true, true, false]);
        assert_eq!(
            (subscriber.max_items, subscriber.timeout),
            (1000, Duration::from_millis(25))
        );
        for bad in [
            "",
            "[]",
            r#"{"schemaVersion":"2020-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["logs"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","port":1}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://example.com:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":24},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":10001},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
        ] {
            assert!(read_subscription(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
