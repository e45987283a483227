//! `bench --cold-cache`: cold starts as Lambda pays for them, from a file
//! no process has read yet, beside the same starts from the page cache.
//!
//! It runs after the cold/warm bench, when none of its processes is left
//! to keep a binary mapped. For each bootstrap it first makes sure that
//! eviction works where the binary lives (else it starts a copy from
//! /var/tmp, or says it could not), and learns the shared libraries the
//! binary maps from a first start. Then, taking turns, each bootstrap
//! starts K times with its binary and libraries read into the cache first
//! and K times with them evicted. Each start is held at its first `/next`
//! (no event is queued yet) while it is measured: the faults in
//! `/proc/PID/stat`, the bytes in `/proc/PID/io`, and which pages of its
//! files are now in the cache; then it answers one event, which must be
//! accepted. Last, the zip `package` writes is inflated, as Lambda does
//! before a new environment's first start.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use tiny_lambda_mock::Event;

use super::report::{Row, progress, row};
use super::subject::{LIMIT, MEMORY_MB, Subject, expect_response, start_api, turn_order};
use crate::bootstrap::{self, Process};
use crate::failure::Failure;
use crate::package::{UNZIP_RUNS, unzip_times, zip_bootstrap};
use crate::page_cache::{self, Faults, Residency};
use crate::stats::{Summary, percentile};

/// Where a binary is copied when eviction does not work at its own path.
const SCRATCH_PARENT: &str = "/var/tmp";

/// What the starts of one bootstrap use, and what was learnt about them.
struct Files {
    /// The binary that is started: the subject's, or a copy.
    binary: PathBuf,
    /// The other files its process maps: the loader, shared libraries.
    libraries: Vec<PathBuf>,
    /// What the legend says about it.
    note: String,
}

/// One start, measured at its first `/next`.
#[derive(Clone, Copy, Default)]
struct Sample {
    init: Duration,
    faults: Faults,
    /// `/proc/PID/io` read_bytes.
    disk_read: u64,
    /// Bytes of the binary and of the libraries the start brought into
    /// the cache.
    binary_read: u64,
    libraries_read: u64,
    /// Bytes eviction left in the cache before the start.
    binary_left: u64,
    libraries_left: u64,
}

/// Everything measured for one bootstrap.
#[derive(Default)]
struct Measures {
    warm_cache: Vec<Sample>,
    cold_cache: Vec<Sample>,
    unzip: Vec<Duration>,
}

/// Removes the scratch directory of copies, whatever happens.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        // Nothing else is in it; a failure leaves only a temporary file.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// K starts of each bootstrap with a warm page cache and K with a cold
/// one, taking turns; returns the rows and what the legend should add.
pub(super) fn measure(
    subjects: &[Subject],
    starts: usize,
    event: &str,
) -> Result<(Vec<Row>, String), Failure> {
    let scratch = Scratch(
        Path::new(SCRATCH_PARENT).join(format!("tiny-lambda-cold-cache-{}", std::process::id())),
    );
    let mut files = Vec::new();
    for subject in subjects {
        progress(&format!("page cache {}", subject.label));
        files.push(prepare(subject, &scratch.0)?);
    }
    let mut measures: Vec<Measures> = subjects.iter().map(|_| Measures::default()).collect();
    for round in 1..=starts {
        for k in turn_order(round, subjects.len()) {
            let subject = &subjects[k];
            progress(&format!("cache {round}/{starts} {}", subject.label));
            measures[k]
                .warm_cache
                .push(start(subject, &files[k], event, false)?);
            measures[k]
                .cold_cache
                .push(start(subject, &files[k], event, true)?);
        }
    }
    for (subject, measure) in subjects.iter().zip(&mut measures) {
        progress(&format!("unzip {}", subject.label));
        let binary = fs::read(&subject.path).map_err(|e| {
            Failure::Internal(format!("cannot read {}: {e}", subject.path.display()))
        })?;
        measure.unzip = unzip_times(&zip_bootstrap(&binary)?, UNZIP_RUNS)?;
    }
    let mut legend = String::from(LEGEND);
    for (subject, files) in subjects.iter().zip(&files) {
        legend.push_str(&format!("  {}: {}\n", subject.label, files.note));
    }
    Ok((rows(&measures), legend))
}

const LEGEND: &str = "\
page cache: K more starts each with the binary and the libraries it maps
read into the page cache (warm cache) and K with them evicted first (cold
cache), each held at its first /next while measured; faults from
/proc/PID/stat, disk read from /proc/PID/io, read = pages in the cache
after the first /next that were not before (mincore): a fault on an
evicted file reads around it up to the device's read-ahead (below), so a
large one reads all of a small binary however it is laid out
";

/// Finds where the subject's binary can be evicted and which libraries it
/// maps.
fn prepare(subject: &Subject, scratch: &Path) -> Result<Files, Failure> {
    let path = &subject.path;
    let here = filesystem(path);
    let left = evict_and_look(path)?;
    let (binary, mut note) = if left.resident == 0 {
        (path.clone(), format!("evicted where it is ({here})"))
    } else {
        let dir = scratch.join(&subject.label);
        let copy = dir.join(path.file_name().unwrap_or_else(|| "bootstrap".as_ref()));
        fs::create_dir_all(&dir)
            .and_then(|()| fs::copy(path, &copy))
            .map_err(|e| {
                Failure::Internal(format!(
                    "cannot copy {} to {}: {e}",
                    path.display(),
                    copy.display()
                ))
            })?;
        let there = filesystem(&copy);
        let copy_left = evict_and_look(&copy)?;
        let kept = format!(
            "eviction left {} of {} pages in the cache on {here}",
            left.resident, left.pages
        );
        if copy_left.resident == 0 {
            let note = format!(
                "{kept}; started from a copy in {} ({there}), where it works",
                dir.display()
            );
            (copy, note)
        } else {
            let note = format!(
                "EVICTION DOES NOT WORK: {kept}, and {} of {} on {there} ({}): its cold-cache figures are warm-cache ones",
                copy_left.resident,
                copy_left.pages,
                dir.display()
            );
            (path.clone(), note)
        }
    };
    let libraries = libraries(subject, &binary)?;
    if libraries.is_empty() {
        note.push_str("; maps no shared library (static)");
    } else {
        let names: Vec<String> = libraries
            .iter()
            .map(|l| {
                l.file_name().map_or_else(
                    || l.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            })
            .collect();
        note.push_str(&format!("; maps {}", names.join(", ")));
    }
    Ok(Files {
        binary,
        libraries,
        note,
    })
}

/// The file system of `path` and the read-ahead under it, for the legend.
fn filesystem(path: &Path) -> String {
    let Some(mount) = page_cache::mount(path) else {
        return "an unknown file system".to_owned();
    };
    match mount.read_ahead_kib() {
        Some(kib) => format!("{}, device read-ahead {kib} KiB", mount.kind),
        None => mount.kind,
    }
}

/// Evicts `path` and says how much of it stayed in the cache.
fn evict_and_look(path: &Path) -> Result<Residency, Failure> {
    page_cache::evict(path)
        .and_then(|()| page_cache::residency(path))
        .map_err(|e| {
            Failure::Internal(format!(
                "cannot evict {} from the page cache: {e}",
                path.display()
            ))
        })
}

/// The files a first start of `binary` maps besides itself.
fn libraries(subject: &Subject, binary: &Path) -> Result<Vec<PathBuf>, Failure> {
    let api = start_api()?;
    let mut process = Process::spawn(bootstrap::command(binary, &api, MEMORY_MB), true)?;
    bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
    let mapped = page_cache::mapped_files(process.id())
        .map_err(|e| Failure::Internal(format!("cannot read /proc/{}/maps: {e}", process.id())))?;
    let own = fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    Ok(mapped.into_iter().filter(|file| *file != own).collect())
}

/// One start, from a warm or a cold page cache, measured at its first
/// `/next`; then it answers one event.
fn start(subject: &Subject, files: &Files, event: &str, cold: bool) -> Result<Sample, Failure> {
    let binary = std::slice::from_ref(&files.binary);
    let before = if cold {
        for file in binary.iter().chain(&files.libraries) {
            // A library may be unreadable or gone; it then counts as left.
            let _ = page_cache::evict(file);
        }
        Some((resident(binary), resident(&files.libraries)))
    } else {
        for file in binary.iter().chain(&files.libraries) {
            page_cache::warm(file)
                .map_err(|e| Failure::Internal(format!("cannot read {}: {e}", file.display())))?;
        }
        None
    };
    let api = start_api()?;
    let mut process = Process::spawn(bootstrap::command(&files.binary, &api, MEMORY_MB), true)?;
    let first = bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
    let faults = settled_faults(&process)
        .ok_or_else(|| Failure::Internal(format!("cannot read /proc/{}/stat", process.id())))?;
    let disk_read = page_cache::read_bytes(process.id()).unwrap_or(0);
    let mut sample = Sample {
        init: first.saturating_duration_since(process.started),
        faults,
        disk_read,
        ..Sample::default()
    };
    if let Some((binary_before, libraries_before)) = before {
        sample.binary_read = resident(binary).saturating_sub(binary_before);
        sample.libraries_read = resident(&files.libraries).saturating_sub(libraries_before);
        sample.binary_left = binary_before;
        sample.libraries_left = libraries_before;
    }
    let id = api.push(Event::new(event));
    expect_response(&api, &mut process, &id, subject)?;
    Ok(sample)
}

/// The bytes of `files` in the page cache; a file that cannot be looked
/// at counts nothing.
fn resident(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|file| page_cache::residency(file).ok())
        .map(|r| r.resident_bytes())
        .sum()
}

/// The faults of a process waiting on its first `/next`, once two looks a
/// millisecond apart agree: a runtime with more threads (tokio's) may
/// still be parking them when the first one asks.
fn settled_faults(process: &Process) -> Option<Faults> {
    let mut last = page_cache::faults(process.id())?;
    for _ in 0..50 {
        thread::sleep(Duration::from_millis(1));
        let now = page_cache::faults(process.id())?;
        if now == last {
            break;
        }
        last = now;
    }
    Some(last)
}

/// A count taken from each start.
type Count = fn(&Sample) -> u64;

/// The starts of one kind: from a cold page cache, or a warm one.
fn samples(measures: &Measures, cold: bool) -> &[Sample] {
    if cold {
        &measures.cold_cache
    } else {
        &measures.warm_cache
    }
}

/// The figures of all bootstraps, one row per figure.
fn rows(measures: &[Measures]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (phase, cold) in [("init warm cache", false), ("init cold cache", true)] {
        let summaries: Vec<Summary> = measures
            .iter()
            .map(|m| Summary::of(&samples(m, cold).iter().map(|s| s.init).collect::<Vec<_>>()))
            .collect();
        for (k, part) in Summary::NAMES.iter().enumerate() {
            let values = summaries.iter().map(|s| Some(s.figures()[k])).collect();
            rows.push(row(&format!("{phase} {part}"), "µs", values));
        }
    }
    let counts: [(&str, &str, bool, Count); 9] = [
        ("minor faults warm cache", "", false, |s| s.faults.minor),
        ("major faults warm cache", "", false, |s| s.faults.major),
        ("minor faults cold cache", "", true, |s| s.faults.minor),
        ("major faults cold cache", "", true, |s| s.faults.major),
        ("read binary cold cache", "KiB", true, |s| {
            s.binary_read / 1024
        }),
        ("read libs cold cache", "KiB", true, |s| {
            s.libraries_read / 1024
        }),
        ("disk read cold cache", "KiB", true, |s| s.disk_read / 1024),
        ("left in cache: binary", "KiB", true, |s| {
            s.binary_left / 1024
        }),
        ("left in cache: libs", "KiB", true, |s| {
            s.libraries_left / 1024
        }),
    ];
    for (metric, unit, cold, count) in counts {
        let values = measures
            .iter()
            .map(|m| {
                let mut values: Vec<f64> =
                    samples(m, cold).iter().map(|s| count(s) as f64).collect();
                values.sort_by(f64::total_cmp);
                Some(percentile(&values, 50.0))
            })
            .collect();
        rows.push(row(&format!("{metric} p50"), unit, values));
    }
    let unzip: Vec<Summary> = measures.iter().map(|m| Summary::of(&m.unzip)).collect();
    rows.push(row(
        "unzip min",
        "µs",
        unzip.iter().map(|s| Some(s.min)).collect(),
    ));
    rows.push(row(
        "unzip p50",
        "µs",
        unzip.iter().map(|s| Some(s.p50)).collect(),
    ));
    rows
}
