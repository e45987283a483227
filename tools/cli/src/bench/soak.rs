//! `bench --soak N`: one bootstrap, one process, N warm invocations against
//! the mock Runtime API, and its resident memory sampled as it goes.
//!
//! A runtime that keeps anything per invocation (a header copied into a
//! global, an environment variable that glibc never frees) grows by a few
//! bytes each time, which no single invocation shows and a million do. The
//! verdict is about the steady state: the first tenth of the run is warm-up
//! (lazy set-up, the allocator settling), and after it `VmRSS` must stay
//! within [`NOISE_KIB`] of where it was.

use std::fs;
use std::time::Instant;

use super::concurrent::drive;
use super::report::{progress, progress_done};
use super::subject::{LIMIT, MEMORY_MB, Subject, Warm, round_trip, start_api};
use crate::bootstrap::{self, Process};
use crate::failure::Failure;

/// How far `VmRSS` may rise after warm-up and still be flat: 16 pages. RSS
/// moves in 4 KiB pages as the allocator reuses and returns them; a leak of
/// even a few bytes per invocation is megabytes over a soak.
const NOISE_KIB: u64 = 64;

/// Samples over the run, one after each tenth; the first ends warm-up.
const SAMPLES: usize = 10;

/// One reading of the bootstrap's memory.
struct Sample {
    invocations: usize,
    rss_kib: u64,
    hwm_kib: u64,
    /// The bench's own RSS: the mock keeps a record of every request, so it
    /// grows; shown so that a machine running short is not a mystery.
    mock_kib: u64,
    seconds: f64,
}

/// Runs the soak of `subject` and prints the table and the verdict.
/// With `concurrency` N > 1 the bootstrap runs under
/// `AWS_LAMBDA_MAX_CONCURRENCY=N` and N invocations are kept in flight (give
/// it a handler that serves concurrently, such as the `concurrent` example).
pub(super) fn run(
    subject: &Subject,
    invocations: usize,
    concurrency: Option<usize>,
    event: &str,
) -> Result<(), Failure> {
    let n = concurrency.unwrap_or(1).max(1);
    let api = start_api()?;
    let mut command = bootstrap::command(&subject.path, &api, MEMORY_MB);
    if n > 1 {
        api.max_concurrency(n);
        command.env("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string());
    }
    let process = Process::spawn(command, true)?;
    let mut warm = Warm { api, process };
    bootstrap::await_first_next(&warm.api, &mut warm.process, &subject.name(), LIMIT)?;
    if n > 1 && !warm.api.wait_next_calls(n, LIMIT) {
        return Err(Failure::Bootstrap(format!(
            "{} did not ask for {n} events at once",
            subject.name()
        )));
    }
    let started = Instant::now();
    let mut samples = Vec::with_capacity(SAMPLES + 1);
    let mut done = 0;
    for stop in sample_points(n, invocations) {
        if n == 1 {
            for _ in done..stop {
                round_trip(&mut warm, subject, event)?;
            }
        } else {
            drive(&warm.api, &mut warm.process, subject, event, n, stop - done)?;
        }
        done = stop;
        samples.push(sample(&warm.process, done, started, subject)?);
        progress(&format!(
            "soak {done}/{invocations}: VmRSS {} KiB",
            samples[samples.len() - 1].rss_kib
        ));
    }
    progress_done();
    let verdict = verdict(&samples);
    print!("{}", table(subject, invocations, n, event, &samples));
    println!("{}", verdict.text);
    drop(warm);
    if verdict.flat {
        Ok(())
    } else {
        // Exit 1, "a comparison failed": the verdict above says which.
        Err(Failure::Function)
    }
}

/// Where to sample: after the first round (one invocation, or N at once),
/// then after each tenth of the run, and at the very end.
fn sample_points(first: usize, total: usize) -> Vec<usize> {
    let step = (total / SAMPLES).max(1);
    let mut points = vec![first.min(total)];
    let mut next = step;
    while next < total {
        if next > points[points.len() - 1] {
            points.push(next);
        }
        next += step;
    }
    if points[points.len() - 1] < total {
        points.push(total);
    }
    points
}

fn sample(
    process: &Process,
    invocations: usize,
    started: Instant,
    subject: &Subject,
) -> Result<Sample, Failure> {
    let status = fs::read_to_string(format!("/proc/{}/status", process.id()))
        .map_err(|e| Failure::Internal(format!("cannot read /proc of {}: {e}", subject.name())))?;
    let own = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let missing = || Failure::Internal(format!("no VmRSS/VmHWM for {}", subject.name()));
    Ok(Sample {
        invocations,
        rss_kib: kib(&status, "VmRSS:").ok_or_else(missing)?,
        hwm_kib: kib(&status, "VmHWM:").ok_or_else(missing)?,
        mock_kib: kib(&own, "VmRSS:").unwrap_or(0),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A `kB` figure of `/proc/PID/status`.
fn kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

struct Verdict {
    flat: bool,
    text: String,
}

/// Flat when no sample after warm-up is more than [`NOISE_KIB`] above the
/// one that ends it. Samples: the first invocation, then each tenth.
fn verdict(samples: &[Sample]) -> Verdict {
    // samples[0] is after the first invocation; samples[1] ends warm-up.
    let Some((baseline, after)) = samples.get(1).map(|b| (b, &samples[2..])) else {
        return Verdict {
            flat: true,
            text: "verdict: too short to tell (fewer than two samples)".to_owned(),
        };
    };
    let peak = after
        .iter()
        .map(|s| s.rss_kib)
        .max()
        .unwrap_or(baseline.rss_kib);
    let growth = peak.saturating_sub(baseline.rss_kib);
    let flat = growth <= NOISE_KIB;
    let text = format!(
        "verdict: {} (VmRSS after warm-up {} KiB at {} invocations, highest later {} KiB: \
         +{growth} KiB, noise allowed {NOISE_KIB} KiB)",
        if flat { "FLAT" } else { "NOT FLAT" },
        baseline.rss_kib,
        baseline.invocations,
        peak,
    );
    Verdict { flat, text }
}

fn table(
    subject: &Subject,
    invocations: usize,
    n: usize,
    event: &str,
    samples: &[Sample],
) -> String {
    let mut out = format!(
        "soak: {invocations} warm invocations of {}, {n} at a time, event of {} bytes\n\n",
        subject.path.display(),
        event.len()
    );
    out.push_str(&format!(
        "{:>12} {:>11} {:>11} {:>13} {:>10}\n",
        "invocations", "VmRSS KiB", "VmHWM KiB", "mock RSS KiB", "seconds"
    ));
    for s in samples {
        out.push_str(&format!(
            "{:>12} {:>11} {:>11} {:>13} {:>10.1}\n",
            s.invocations, s.rss_kib, s.hwm_kib, s.mock_kib, s.seconds
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(invocations: usize, rss_kib: u64) -> Sample {
        Sample {
            invocations,
            rss_kib,
            hwm_kib: rss_kib,
            mock_kib: 0,
            seconds: 0.0,
        }
    }

    #[test]
    fn samples_fall_after_the_first_round_each_tenth_and_the_end() {
        assert_eq!(
            sample_points(1, 100),
            [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
        );
        assert_eq!(
            sample_points(64, 1000),
            [64, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
        );
        assert_eq!(sample_points(1, 7), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(sample_points(64, 5), [5]);
    }

    #[test]
    fn growth_after_warm_up_beyond_noise_is_not_flat() {
        // Warm-up may grow freely; only what follows counts.
        let flat = [at(1, 900), at(10, 1500), at(20, 1540), at(30, 1500)];
        assert!(verdict(&flat).flat, "{}", verdict(&flat).text);
        let leak = [at(1, 900), at(10, 1500), at(20, 1540), at(30, 1600)];
        let v = verdict(&leak);
        assert!(!v.flat);
        assert!(v.text.contains("+100 KiB"), "{}", v.text);
        assert!(verdict(&[at(1, 900)]).flat);
    }

    #[test]
    fn reads_kib_fields() {
        let status = "VmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(kib(status, "VmRSS:"), Some(1024));
        assert_eq!(kib(status, "VmHWM:"), Some(2048));
        assert_eq!(kib(status, "Threads:"), None);
    }
}
