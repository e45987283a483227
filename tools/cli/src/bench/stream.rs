//! `bench --stream`: time to first byte and to last byte of streamed
//! answers, for bootstraps that stream (the `stream` example, and
//! size-report/peer-stream for the tokio runtime).
//!
//! Each bootstrap gets one long-lived process and its own mock; they take
//! turns, invocation by invocation, as in the warm phase. Both times run from
//! handing the mock the event: to the arrival of the chunk holding the first
//! body byte, and to the end of the stream (its last chunk read). The first
//! body byte is the first byte after the prelude when the answer is an HTTP
//! integration response: lambda_runtime sends a prelude with every stream,
//! and a function URL caller never sees it.

use std::time::{Duration, Instant};

use tiny_lambda_mock::{Event, Posted};

use super::report::{number, progress, row};
use super::subject::{LIMIT, MEMORY_MB, Subject, Warm, start_api, turn_order};
use crate::bootstrap::{self, ProcFigures, Process};
use crate::failure::Failure;
use crate::stats::Summary;

/// The event unless `--event` says otherwise: a few chunks of a kilobyte,
/// a few milliseconds apart, as a chat-style answer would come.
pub(super) const DEFAULT_EVENT: &str = r#"{"chunks":8,"bytes":1024,"delay_ms":2}"#;

/// Time to first and to last byte of each warm invocation, per bootstrap.
#[derive(Default)]
struct Times {
    first: Vec<Duration>,
    last: Vec<Duration>,
}

/// Measures `invocations` warm streamed invocations of `event` on each
/// bootstrap and returns the table.
pub(super) fn run(
    subjects: &[Subject],
    event: &str,
    invocations: usize,
) -> Result<String, Failure> {
    let mut warms = Vec::new();
    for subject in subjects {
        progress(&format!("stream start {}", subject.label));
        let api = start_api()?;
        let mut process = Process::spawn(bootstrap::command(&subject.path, &api, MEMORY_MB), true)?;
        bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
        let mut warm = Warm { api, process };
        // The first invocation still pays for lazy set-up; it is not warm.
        stream_trip(&mut warm, subject, event)?;
        warms.push(warm);
    }
    let mut times: Vec<Times> = subjects.iter().map(|_| Times::default()).collect();
    for i in 1..=invocations {
        for k in turn_order(i, subjects.len()) {
            if i % 50 == 0 || i == invocations {
                progress(&format!("stream {i}/{invocations} {}", subjects[k].label));
            }
            let (first, last) = stream_trip(&mut warms[k], &subjects[k], event)?;
            times[k].first.push(first);
            times[k].last.push(last);
        }
    }
    let mut figures = Vec::new();
    for (warm, subject) in warms.iter().zip(subjects) {
        figures.push(warm.process.figures().ok_or_else(|| {
            Failure::Internal(format!("cannot read /proc status of {}", subject.name()))
        })?);
    }
    Ok(table(subjects, event, invocations, &times, &figures))
}

/// One streamed invocation: (time to first body byte, time to last byte).
fn stream_trip(
    warm: &mut Warm,
    subject: &Subject,
    event: &str,
) -> Result<(Duration, Duration), Failure> {
    let pushed = Instant::now();
    let id = warm.api.push(Event::new(event));
    let name = subject.name();
    let outcome = bootstrap::await_outcome(&warm.api, &mut warm.process, &id, &name, LIMIT)?
        .ok_or_else(|| Failure::Bootstrap(format!("{name} did not answer within {LIMIT:?}")))?;
    let posted = outcome.posted();
    let (first, last) = stream_times(posted).ok_or_else(|| {
        Failure::Bootstrap(format!(
            "{name} did not stream a complete, accepted answer (status {}, {} bytes)",
            posted.status,
            posted.body.len()
        ))
    })?;
    Ok((
        first.saturating_duration_since(pushed),
        last.saturating_duration_since(pushed),
    ))
}

/// When the first body byte and the end of a streamed answer arrived; None
/// unless it is a complete stream the mock accepted.
fn stream_times(posted: &Posted) -> Option<(Instant, Instant)> {
    let stream = posted
        .stream
        .as_ref()
        .filter(|s| s.complete && posted.status == 202)?;
    let http = posted
        .header("Content-Type")
        .is_some_and(|t| t == tiny_lambda::protocol::HTTP_INTEGRATION_CONTENT_TYPE);
    let prelude = if http { prelude_len(&posted.body)? } else { 0 };
    let mut seen = 0;
    let first = stream.chunks.iter().find_map(|chunk| {
        seen += chunk.bytes.len();
        (seen > prelude).then_some(chunk.at)
    })?;
    Some((first, stream.ended_at?))
}

/// Bytes up to and including the eight NULs that end an HTTP prelude.
fn prelude_len(body: &[u8]) -> Option<usize> {
    let delimiter = tiny_lambda::protocol::HTTP_PRELUDE_DELIMITER;
    body.windows(delimiter.len())
        .position(|w| w == delimiter)
        .map(|at| at + delimiter.len())
}

/// The table: one line per figure, a column per bootstrap, ratios A/X.
fn table(
    subjects: &[Subject],
    event: &str,
    invocations: usize,
    times: &[Times],
    figures: &[ProcFigures],
) -> String {
    let mut rows = Vec::new();
    for (name, pick) in [
        (
            "first byte",
            (|t: &Times| &t.first) as fn(&Times) -> &Vec<Duration>,
        ),
        ("last byte", |t: &Times| &t.last),
    ] {
        let summaries: Vec<Summary> = times.iter().map(|t| Summary::of(pick(t))).collect();
        for (k, part) in Summary::NAMES.iter().enumerate() {
            let values = summaries.iter().map(|s| Some(s.figures()[k])).collect();
            rows.push(row(&format!("{name} {part}"), "µs", values));
        }
    }
    let peak = figures.iter().map(|f| Some(f.peak_kib as f64)).collect();
    rows.push(row("peak memory", "KiB", peak));
    let mut out = format!("{invocations} streamed invocations each, event {event}\n");
    for subject in subjects {
        out.push_str(&format!(
            "  {} = {}\n",
            subject.label,
            subject.path.display()
        ));
    }
    out.push_str(&format!("\n{:<22}", ""));
    for subject in subjects {
        out.push_str(&format!("{:>14}", subject.label));
    }
    for subject in subjects.iter().skip(1) {
        out.push_str(&format!("{:>9}", format!("A/{}", subject.label)));
    }
    out.push('\n');
    for row in &rows {
        let mut line = format!("{:<22}", format!("{} ({})", row.metric, row.unit));
        for value in &row.values {
            let shown = value.map_or_else(|| "-".to_owned(), |v| number(v, &row.unit));
            line.push_str(&format!("{shown:>14}"));
        }
        for ratio in &row.ratios {
            let shown = ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
            line.push_str(&format!("{shown:>9}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prelude_ends_after_its_eight_nuls() {
        let mut body = br#"{"statusCode":200}"#.to_vec();
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(b"payload");
        assert_eq!(prelude_len(&body), Some(body.len() - 7));
        assert_eq!(prelude_len(b"no prelude"), None);
    }
}
