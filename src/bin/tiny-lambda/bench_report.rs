//! How `bench` reports: one row per figure with the ratio of the first
//! bootstrap to each other one, as a table or as JSON, and the one-line
//! progress it shows while it measures.

use std::io::{self, Write};

use miniserde::Serialize;

use super::{Measures, Options, Subject};
use crate::stats::Summary;

/// One figure for every bootstrap, and the ratios of the first to each
/// other one.
#[derive(Serialize)]
pub(crate) struct Row {
    pub(super) metric: String,
    pub(super) unit: String,
    pub(super) values: Vec<Option<f64>>,
    /// `values[0] / values[i + 1]`; none where a value is missing or zero.
    pub(super) ratios: Vec<Option<f64>>,
}

#[derive(Serialize)]
struct JsonBootstrap {
    label: String,
    path: String,
}

#[derive(Serialize)]
struct JsonReport {
    cold: u64,
    warm: u64,
    bootstraps: Vec<JsonBootstrap>,
    rows: Vec<Row>,
}

pub(super) fn print_rows(options: &Options, subjects: &[Subject], rows: Vec<Row>, legend: &str) {
    if options.json {
        println!("{}", json(options, subjects, rows));
    } else {
        print!("{legend}{}", table(subjects, &rows));
    }
}

/// The figures of all bootstraps, one row per figure.
pub(super) fn rows(measures: &[Measures], callgrind: bool) -> Vec<Row> {
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

pub(super) fn count_row(metric: &str, unit: &str, counts: impl Iterator<Item = u64>) -> Row {
    row(metric, unit, counts.map(|c| Some(c as f64)).collect())
}

pub(crate) fn row(metric: &str, unit: &str, values: Vec<Option<f64>>) -> Row {
    let first = values.first().copied().flatten();
    let ratios = values
        .iter()
        .skip(1)
        .map(|other| match (first, *other) {
            (Some(a), Some(b)) if b != 0.0 => Some(a / b),
            _ => None,
        })
        .collect();
    Row {
        metric: metric.to_owned(),
        unit: unit.to_owned(),
        values,
        ratios,
    }
}

/// The human table: the bootstraps, then one line per figure.
pub(super) fn table(subjects: &[Subject], rows: &[Row]) -> String {
    let mut out = String::new();
    for subject in subjects {
        out.push_str(&format!(
            "  {} = {}\n",
            subject.label,
            subject.path.display()
        ));
    }
    let mut header = format!("\n{:<20}", "");
    for subject in subjects {
        header.push_str(&format!("{:>14}", subject.label));
    }
    for subject in subjects.iter().skip(1) {
        header.push_str(&format!("{:>9}", format!("A/{}", subject.label)));
    }
    out.push_str(header.trim_end());
    out.push('\n');
    for row in rows {
        let metric = if row.unit.is_empty() {
            row.metric.clone()
        } else {
            format!("{} ({})", row.metric, row.unit)
        };
        let mut line = format!("{metric:<20}");
        for value in &row.values {
            line.push_str(&format!(
                "{:>14}",
                value.map_or_else(|| "-".to_owned(), |v| number(v, &row.unit))
            ));
        }
        for ratio in &row.ratios {
            line.push_str(&format!(
                "{:>9}",
                ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Times keep a decimal; counts are whole.
pub(super) fn number(value: f64, unit: &str) -> String {
    if unit == "µs" {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

pub(super) fn json(options: &Options, subjects: &[Subject], rows: Vec<Row>) -> String {
    let report = JsonReport {
        cold: options.cold as u64,
        warm: options.warm as u64,
        bootstraps: subjects
            .iter()
            .map(|s| JsonBootstrap {
                label: s.label.clone(),
                path: s.path.display().to_string(),
            })
            .collect(),
        rows,
    };
    miniserde::json::to_string(&report)
}

/// Shows where the bench is, on one line of stderr.
pub(crate) fn progress(text: &str) {
    let mut err = io::stderr().lock();
    // Progress is a courtesy: a closed stderr must not stop the bench.
    let _ = write!(err, "\r{text:<40}");
    let _ = err.flush();
}

pub(super) fn progress_done() {
    let mut err = io::stderr().lock();
    let _ = write!(err, "\r{:<40}\r", "");
    let _ = err.flush();
}
