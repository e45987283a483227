//! `bench --concurrency N`: Lambda Managed Instances, side by side.
//!
//! Each bootstrap runs once with `AWS_LAMBDA_MAX_CONCURRENCY=N` against a mock
//! that allows N invocations at once. Once all N loops wait on `/next`, the
//! bench keeps N events of `{"sleep_ms": D}` in flight (a new one as each is
//! answered) until M were answered, and reports throughput (answers per
//! second), the round trip of each (handed to the mock to answer received,
//! by the mock's clock), peak resident memory, threads, and how many
//! invocations the mock saw in flight at once. Bootstraps run one after the
//! other: every one of them is busy for the whole run, so taking turns per
//! invocation would measure the other's load instead.

use std::collections::VecDeque;
use std::fs;
use std::time::{Duration, Instant};

use tiny_lambda_mock::{Event, RuntimeApi};

use super::report::{Row, progress, row};
use super::subject::{LIMIT, MEMORY_MB, Subject, expect_response, start_api};
use crate::bootstrap::{self, Process};
use crate::failure::Failure;
use crate::stats::percentile;

/// What `--concurrency`, `--sleep-ms` and `--invocations` asked for.
pub(super) struct Settings {
    pub(super) concurrency: usize,
    pub(super) sleep_ms: u64,
    /// Answers to count, after one unmeasured round of `concurrency`.
    pub(super) invocations: usize,
}

/// Everything measured for one bootstrap.
struct Measured {
    per_second: f64,
    round_trips: Vec<f64>,
    peak_kib: u64,
    threads: u64,
    peak_concurrency: usize,
    bytes: u64,
}

/// Measures every bootstrap and returns the rows of the table.
pub(super) fn measure(subjects: &[Subject], settings: &Settings) -> Result<Vec<Row>, Failure> {
    let mut measured = Vec::new();
    for subject in subjects {
        measured.push(measure_one(subject, settings)?);
    }
    let rows = vec![
        row(
            "invocations/s",
            "",
            measured.iter().map(|m| Some(m.per_second)).collect(),
        ),
        row(
            "round trip p50",
            "µs",
            measured
                .iter()
                .map(|m| Some(percentile(&m.round_trips, 50.0)))
                .collect(),
        ),
        row(
            "round trip p99",
            "µs",
            measured
                .iter()
                .map(|m| Some(percentile(&m.round_trips, 99.0)))
                .collect(),
        ),
        row(
            "peak memory",
            "KiB",
            measured.iter().map(|m| Some(m.peak_kib as f64)).collect(),
        ),
        row(
            "threads",
            "",
            measured.iter().map(|m| Some(m.threads as f64)).collect(),
        ),
        row(
            "in flight at most",
            "",
            measured
                .iter()
                .map(|m| Some(m.peak_concurrency as f64))
                .collect(),
        ),
        row(
            "bytes",
            "B",
            measured.iter().map(|m| Some(m.bytes as f64)).collect(),
        ),
    ];
    Ok(rows)
}

/// The legend above the table.
pub(super) fn legend(settings: &Settings) -> String {
    format!(
        "concurrency {}: {} invocations of {{\"sleep_ms\":{}}} each, {} in flight\n",
        settings.concurrency, settings.invocations, settings.sleep_ms, settings.concurrency
    )
}

fn measure_one(subject: &Subject, settings: &Settings) -> Result<Measured, Failure> {
    let n = settings.concurrency;
    progress(&format!("concurrency {n} start {}", subject.label));
    let api = start_api()?;
    api.max_concurrency(n);
    let mut command = bootstrap::command(&subject.path, &api, MEMORY_MB);
    command.env("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string());
    let mut process = Process::spawn(command, true)?;
    bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
    if !api.wait_next_calls(n, LIMIT) {
        let records = api.records();
        return Err(Failure::Bootstrap(format!(
            "{} asked for {} events at once, not {n}",
            subject.name(),
            records.iter().filter(|r| r.path.ends_with("/next")).count()
        )));
    }
    let event = format!(r#"{{"sleep_ms":{}}}"#, settings.sleep_ms);
    // One unmeasured round: lazy set-up on every thread.
    drive(&api, &mut process, subject, &event, n, n)?;
    progress(&format!("concurrency {n} run {}", subject.label));
    let started = Instant::now();
    let trips = drive(&api, &mut process, subject, &event, n, settings.invocations)?;
    let elapsed = started.elapsed();
    let figures = process
        .figures()
        .ok_or_else(|| Failure::Internal(format!("cannot read /proc/{}/status", process.id())))?;
    let bytes = fs::metadata(&subject.path)
        .map_err(|e| Failure::Internal(format!("cannot read {}: {e}", subject.path.display())))?
        .len();
    let mut round_trips: Vec<f64> = trips.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    round_trips.sort_by(f64::total_cmp);
    Ok(Measured {
        per_second: settings.invocations as f64 / elapsed.as_secs_f64(),
        round_trips,
        peak_kib: figures.peak_kib,
        threads: figures.threads,
        peak_concurrency: api.peak_concurrency(),
        bytes,
    })
}

/// Keeps `n` events in flight until `count` were answered; returns each
/// one's round trip. Answers are awaited oldest first: with one sleep for
/// all, they come back about in that order.
pub(super) fn drive(
    api: &RuntimeApi,
    process: &mut Process,
    subject: &Subject,
    event: &str,
    n: usize,
    count: usize,
) -> Result<Vec<Duration>, Failure> {
    let mut in_flight = VecDeque::with_capacity(n);
    let mut trips = Vec::with_capacity(count);
    let push = |in_flight: &mut VecDeque<(String, Instant)>| {
        let at = Instant::now();
        in_flight.push_back((api.push(Event::new(event)), at));
    };
    let mut pushed = 0;
    while pushed < count.min(n) {
        push(&mut in_flight);
        pushed += 1;
    }
    while let Some((id, at)) = in_flight.pop_front() {
        let answered = expect_response(api, process, &id, subject)?;
        trips.push(answered.saturating_duration_since(at));
        if pushed < count {
            push(&mut in_flight);
            pushed += 1;
        }
    }
    Ok(trips)
}
