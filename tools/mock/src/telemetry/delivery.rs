//! A subscriber's sender: the thread that waits for a batch to be due,
//! posts it to the listener and notes the [`Delivery`], and the flush that
//! asks every subscriber to send what it holds.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::string::String;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, MutexGuard};
use std::time::{Duration, Instant};
use std::vec::Vec;

use tiny_lambda::http1;

use super::{Outbox, Subscriber};
use crate::{Delivery, Shared};

/// How long a post to a listener may take before the batch is dropped.
const POST_TIMEOUT: Duration = Duration::from_secs(2);

/// A subscriber's thread: waits for a batch to be due, posts it, notes the
/// delivery, and again, until the mock stops.
pub(super) fn send_batches(shared: &Shared, subscriber: &Subscriber) {
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
pub(crate) fn flush(shared: &Shared, until: Instant) -> bool {
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
