//! `bench` without a mode flag: cold starts and warm round trips, side by
//! side.
//!
//! For each bootstrap it takes cold starts (a fresh process each, timed from
//! spawn to the first `/next`, as Lambda's Init Duration, and to the first
//! answer), warm round trips (one long-lived process, timed from handing the
//! mock an event to receiving the answer), peak memory and threads after the
//! warm phase, binary and zipped bytes, and optionally the instructions
//! executed before the first `/next` under callgrind. Bootstraps take turns
//! at every step, so that drift in the machine's speed hits all of them
//! alike. With extensions (`--extension`), every process of either phase
//! runs beside them (the warm phase then one environment at a time), and
//! what they add to init and to each warm invocation is measured too.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tiny_lambda_mock::Event;

use super::report::{Row, progress, row};
use super::subject::{
    LIMIT, MEMORY_MB, Subject, Warm, expect_response, round_trip, start_api, turn_order,
};
use crate::bootstrap::{self, ProcFigures, Process};
use crate::extensions::{self, Extensions};
use crate::failure::Failure;
use crate::package::zip_bootstrap;
use crate::stats::Summary;

/// Callgrind runs programs some fifty times slower.
const CALLGRIND_LIMIT: Duration = Duration::from_secs(300);

/// What `--cold`, `--warm`, `--event` and `--callgrind` asked for.
pub(super) struct Settings<'a> {
    pub(super) cold: usize,
    pub(super) warm: usize,
    pub(super) event: &'a str,
    pub(super) callgrind: bool,
    /// Extensions to run beside every bootstrap.
    pub(super) extensions: &'a [PathBuf],
}

/// Everything measured for one bootstrap.
#[derive(Default)]
struct Measures {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    figures: ProcFigures,
    bytes: u64,
    zipped: u64,
    instructions: Option<u64>,
    instructions_first: Option<u64>,
    /// With extensions: the bootstrap's own init, over the cold starts.
    runtime_init: Vec<Duration>,
    /// With extensions: answer to the last extension's next call, warm.
    ext_overhead: Vec<Duration>,
}

/// Takes every figure of every bootstrap and returns the rows of the table.
pub(super) fn measure(subjects: &[Subject], settings: &Settings) -> Result<Vec<Row>, Failure> {
    let mut measures: Vec<Measures> = subjects.iter().map(|_| Measures::default()).collect();
    cold_phase(settings, subjects, &mut measures)?;
    warm_phase(settings, subjects, &mut measures)?;
    for (subject, measure) in subjects.iter().zip(&mut measures) {
        let binary = fs::read(&subject.path).map_err(|e| {
            Failure::Internal(format!("cannot read {}: {e}", subject.path.display()))
        })?;
        measure.bytes = binary.len() as u64;
        measure.zipped = zip_bootstrap(&binary)?.len() as u64;
        if settings.callgrind {
            progress(&format!("callgrind {}", subject.label));
            measure.instructions = Some(count_instructions(subject, None)?);
            measure.instructions_first = Some(count_instructions(subject, Some(settings.event))?);
        }
    }
    Ok(rows(&measures, settings.callgrind))
}

/// The legend above the table.
pub(super) fn legend(settings: &Settings) -> String {
    let mut legend = format!(
        "{} cold starts, {} warm invocations each\n",
        settings.cold, settings.warm
    );
    if !settings.extensions.is_empty() {
        let names: Vec<String> = settings
            .extensions
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        legend.push_str(&format!("beside extensions: {}\n", names.join(", ")));
    }
    legend
}

/// K cold starts of each bootstrap, taking turns: A, B, A, B...
fn cold_phase(
    settings: &Settings,
    subjects: &[Subject],
    measures: &mut [Measures],
) -> Result<(), Failure> {
    for round in 1..=settings.cold {
        for k in turn_order(round, subjects.len()) {
            let subject = &subjects[k];
            progress(&format!("cold {round}/{} {}", settings.cold, subject.label));
            let cold = if settings.extensions.is_empty() {
                cold_start(subject, settings.event)?
            } else {
                cold_start_beside(subject, settings.event, settings.extensions)?
            };
            measures[k].init.push(cold.init);
            measures[k].first.push(cold.first);
            measures[k].runtime_init.extend(cold.runtime_init);
        }
    }
    Ok(())
}

/// What one cold start measured.
struct Cold {
    init: Duration,
    first: Duration,
    /// Beside extensions: the bootstrap's own init.
    runtime_init: Option<Duration>,
}

/// One fresh process: its init duration, and the time to its first answer
/// (which must be an accepted response).
fn cold_start(subject: &Subject, event: &str) -> Result<Cold, Failure> {
    let api = start_api()?;
    // Queued before the spawn, so the first `/next` is answered at once.
    let id = api.push(Event::new(event));
    let mut process = Process::spawn(bootstrap::command(&subject.path, &api, MEMORY_MB), true)?;
    let first = bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
    let answered = expect_response(&api, &mut process, &id, subject)?;
    Ok(Cold {
        init: first.saturating_duration_since(process.started),
        first: answered.saturating_duration_since(process.started),
        runtime_init: None,
    })
}

/// One fresh environment beside extensions: started first, the bootstrap
/// once they registered; init ends when everyone has called next. The
/// environment is then shut down as Lambda does, outside the figures.
fn cold_start_beside(subject: &Subject, event: &str, paths: &[PathBuf]) -> Result<Cold, Failure> {
    let api = start_api()?;
    api.memory_size(MEMORY_MB);
    let id = api.push(Event::new(event));
    let mut extensions = Extensions::start(paths, &subject.path, &api, MEMORY_MB, true, LIMIT)?;
    let command = bootstrap::command(&subject.path, &api, MEMORY_MB);
    let mut process = extensions::spawn_runtime(command, &api, true)?;
    let init = extensions.await_init(&api, &mut process, LIMIT)?;
    let answered = expect_response(&api, &mut process, &id, subject)?;
    extensions.shut_down(&api, &mut process);
    let since_start = |at: Option<Instant>, start: Instant| {
        at.map_or(Duration::ZERO, |at| at.saturating_duration_since(start))
    };
    Ok(Cold {
        init: since_start(init.done_at, extensions.started),
        first: answered.saturating_duration_since(extensions.started),
        runtime_init: Some(since_start(init.runtime_ready_at, process.started)),
    })
}

/// N warm invocations of each bootstrap, all alive at once, taking turns.
fn warm_phase(
    settings: &Settings,
    subjects: &[Subject],
    measures: &mut [Measures],
) -> Result<(), Failure> {
    if !settings.extensions.is_empty() {
        return warm_phase_beside(settings, subjects, measures);
    }
    let mut warms = Vec::new();
    for subject in subjects {
        progress(&format!("warm start {}", subject.label));
        let api = start_api()?;
        let mut process = Process::spawn(bootstrap::command(&subject.path, &api, MEMORY_MB), true)?;
        bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
        let mut warm = Warm { api, process };
        // The first invocation still pays for lazy set-up; it is not warm.
        round_trip(&mut warm, subject, settings.event)?;
        warms.push(warm);
    }
    for i in 1..=settings.warm {
        for k in turn_order(i, subjects.len()) {
            let subject = &subjects[k];
            // Redrawing on every invocation would cost more than it shows.
            if i % 50 == 0 || i == settings.warm {
                progress(&format!("warm {i}/{} {}", settings.warm, subject.label));
            }
            measures[k]
                .warm
                .push(round_trip(&mut warms[k], subject, settings.event)?);
        }
    }
    for ((subject, warm), measure) in subjects.iter().zip(&warms).zip(measures.iter_mut()) {
        measure.figures = figures(warm, subject)?;
    }
    Ok(())
}

/// The warm phase beside extensions: one environment at a time, each
/// bootstrap's N invocations in one block. Lambda's environments share no
/// network, but here extensions would contend for the ports their
/// listeners bind (a Telemetry API listener's, say), so they cannot run
/// side by side as the bootstraps alone do.
fn warm_phase_beside(
    settings: &Settings,
    subjects: &[Subject],
    measures: &mut [Measures],
) -> Result<(), Failure> {
    for (subject, measure) in subjects.iter().zip(measures.iter_mut()) {
        progress(&format!("warm start {}", subject.label));
        let api = start_api()?;
        api.memory_size(MEMORY_MB);
        let paths = settings.extensions;
        let mut extensions = Extensions::start(paths, &subject.path, &api, MEMORY_MB, true, LIMIT)?;
        let command = bootstrap::command(&subject.path, &api, MEMORY_MB);
        let process = extensions::spawn_runtime(command, &api, true)?;
        let mut warm = Warm { api, process };
        extensions.await_init(&warm.api, &mut warm.process, LIMIT)?;
        // The first invocation still pays for lazy set-up; it is not warm.
        warm_trip(&mut warm, subject, settings.event)?;
        for i in 1..=settings.warm {
            if i % 50 == 0 || i == settings.warm {
                progress(&format!("warm {i}/{} {}", settings.warm, subject.label));
            }
            let (trip, overhead) = warm_trip(&mut warm, subject, settings.event)?;
            measure.warm.push(trip);
            measure.ext_overhead.push(overhead);
        }
        measure.figures = figures(&warm, subject)?;
        let Warm { api, process } = &mut warm;
        extensions.shut_down(api, process);
    }
    Ok(())
}

/// Peak memory and threads of a warm process.
fn figures(warm: &Warm, subject: &Subject) -> Result<ProcFigures, Failure> {
    warm.process.figures().ok_or_else(|| {
        Failure::Internal(format!(
            "cannot read /proc/{}/status of {}",
            warm.process.id(),
            subject.name()
        ))
    })
}

/// One warm invocation beside extensions: the round trip, and what they
/// added after the answer. The next invocation starts only once they are
/// done, as Lambda's next one would.
fn warm_trip(
    warm: &mut Warm,
    subject: &Subject,
    event: &str,
) -> Result<(Duration, Duration), Failure> {
    let pushed = Instant::now();
    let id = warm.api.push(Event::new(event));
    let answered = expect_response(&warm.api, &mut warm.process, &id, subject)?;
    let done = warm.api.wait_invocation_done(&id, LIMIT).ok_or_else(|| {
        Failure::Bootstrap(format!(
            "an extension beside {} did not call event/next again within {} s",
            subject.name(),
            LIMIT.as_secs()
        ))
    })?;
    let overhead = done.done_at.saturating_duration_since(done.answered_at);
    Ok((answered.saturating_duration_since(pushed), overhead))
}

/// The figures of all bootstraps, one row per figure.
fn rows(measures: &[Measures], callgrind: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let init: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.init)).collect();
    let first: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.first)).collect();
    let warm: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.warm)).collect();
    let mut phases = vec![("init", init), ("first", first), ("warm", warm)];
    // Beside extensions (every bootstrap runs beside the same ones).
    if measures.iter().any(|m| !m.runtime_init.is_empty()) {
        let runtime: Vec<Summary> = measures
            .iter()
            .map(|m| Summary::of(&m.runtime_init))
            .collect();
        let added: Vec<Summary> = measures
            .iter()
            .map(|m| {
                let added: Vec<Duration> = m
                    .init
                    .iter()
                    .zip(&m.runtime_init)
                    .map(|(all, alone)| all.saturating_sub(*alone))
                    .collect();
                Summary::of(&added)
            })
            .collect();
        let overhead: Vec<Summary> = measures
            .iter()
            .map(|m| Summary::of(&m.ext_overhead))
            .collect();
        phases.extend([
            ("runtime init", runtime),
            ("ext init", added),
            ("ext overhead", overhead),
        ]);
    }
    for (phase, summaries) in phases {
        for (k, part) in Summary::NAMES.iter().enumerate() {
            let values = summaries.iter().map(|s| Some(s.figures()[k])).collect();
            rows.push(row(&format!("{phase} {part}"), "µs", values));
        }
    }
    rows.push(count_row(
        "peak memory",
        "KiB",
        measures.iter().map(|m| m.figures.peak_kib),
    ));
    rows.push(count_row(
        "threads",
        "",
        measures.iter().map(|m| m.figures.threads),
    ));
    rows.push(count_row("bytes", "B", measures.iter().map(|m| m.bytes)));
    rows.push(count_row("zipped", "B", measures.iter().map(|m| m.zipped)));
    if callgrind {
        let values = measures
            .iter()
            .map(|m| m.instructions.map(|i| i as f64))
            .collect();
        rows.push(row("instructions", "", values));
        let values = measures
            .iter()
            .map(|m| m.instructions_first.map(|i| i as f64))
            .collect();
        rows.push(row("instr. to 1st answer", "", values));
    }
    rows
}

/// A row of whole counts.
fn count_row(metric: &str, unit: &str, counts: impl Iterator<Item = u64>) -> Row {
    row(metric, unit, counts.map(|c| Some(c as f64)).collect())
}

/// Counts the instructions from process start to the first `/next` with
/// callgrind, or, given an event, to the second: the first answer included.
/// The process is stopped there with SIGTERM; valgrind still writes its
/// counts on a fatal signal.
fn count_instructions(subject: &Subject, event: Option<&str>) -> Result<u64, Failure> {
    let api = start_api()?;
    let id = event.map(|event| api.push(Event::new(event)));
    let out = std::env::temp_dir().join(format!(
        "tiny-lambda-{}-{}.callgrind",
        std::process::id(),
        subject.label
    ));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&subject.path);
    bootstrap::set_lambda_env(&mut command, &subject.path, &api, MEMORY_MB);
    let mut process = Process::spawn(command, true)
        .map_err(|e| Failure::Internal(format!("{e} (is valgrind installed?)")))?;
    bootstrap::await_first_next(&api, &mut process, &subject.name(), CALLGRIND_LIMIT)?;
    if let Some(id) = id {
        bootstrap::await_outcome(&api, &mut process, &id, &subject.name(), CALLGRIND_LIMIT)?;
        if !api.wait_next_calls(2, CALLGRIND_LIMIT) {
            return Err(Failure::Internal(format!(
                "{} never asked for a second event",
                subject.name()
            )));
        }
    }
    let pid = process.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .map_err(|e| Failure::Internal(format!("cannot run kill: {e}")))?;
    if process.wait_exit(LIMIT).is_none() {
        return Err(Failure::Internal(format!(
            "valgrind did not stop after SIGTERM for {}",
            subject.name()
        )));
    }
    let text = fs::read_to_string(&out).map_err(|e| {
        Failure::Internal(format!(
            "cannot read callgrind output {}: {e}",
            out.display()
        ))
    })?;
    // The counts are read; the file was only a means.
    let _ = fs::remove_file(&out);
    callgrind_total(&text)
        .ok_or_else(|| Failure::Internal(format!("no summary or totals line in {}", out.display())))
}

/// The instruction count on a callgrind output's `summary:` or `totals:`
/// line (the first event column is instructions, `Ir`).
fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callgrind_totals() {
        let text = "events: Ir\nfn=main\n1 5\nsummary: 123456\n";
        assert_eq!(callgrind_total(text), Some(123_456));
        assert_eq!(callgrind_total("events: Ir\ntotals: 42 7\n"), Some(42));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }
}
