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
//! alike.

use std::fs;
use std::process::Command;
use std::time::Duration;

use tiny_lambda_mock::Event;

use super::report::{Row, progress, row};
use super::subject::{
    LIMIT, MEMORY_MB, Subject, Warm, expect_response, round_trip, start_api, turn_order,
};
use crate::bootstrap::{self, ProcFigures, Process};
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
    format!(
        "{} cold starts, {} warm invocations each\n",
        settings.cold, settings.warm
    )
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
            let (init, first) = cold_start(subject, settings.event)?;
            measures[k].init.push(init);
            measures[k].first.push(first);
        }
    }
    Ok(())
}

/// One fresh process: its init duration, and the time to its first answer
/// (which must be an accepted response).
fn cold_start(subject: &Subject, event: &str) -> Result<(Duration, Duration), Failure> {
    let api = start_api()?;
    // Queued before the spawn, so the first `/next` is answered at once.
    let id = api.push(Event::new(event));
    let mut process = Process::spawn(bootstrap::command(&subject.path, &api, MEMORY_MB), true)?;
    let first = bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
    let answered = expect_response(&api, &mut process, &id, subject)?;
    Ok((
        first.saturating_duration_since(process.started),
        answered.saturating_duration_since(process.started),
    ))
}

/// N warm invocations of each bootstrap, all alive at once, taking turns.
fn warm_phase(
    settings: &Settings,
    subjects: &[Subject],
    measures: &mut [Measures],
) -> Result<(), Failure> {
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
        measure.figures = warm.process.figures().ok_or_else(|| {
            Failure::Internal(format!(
                "cannot read /proc/{}/status of {}",
                warm.process.id(),
                subject.name()
            ))
        })?;
    }
    Ok(())
}

/// The figures of all bootstraps, one row per figure.
fn rows(measures: &[Measures], callgrind: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let init: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.init)).collect();
    let first: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.first)).collect();
    let warm: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.warm)).collect();
    for (phase, summaries) in [("init", init), ("first", first), ("warm", warm)] {
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
