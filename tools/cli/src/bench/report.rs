//! How `bench` reports: one row per figure with the ratio of the first
//! bootstrap to each other one, as a table or as JSON, and the one-line
//! progress it shows while it measures. Each mode makes its own rows; this
//! file only lays them out.

use std::io::{self, Write};

use miniserde::Serialize;

use super::subject::Subject;

/// One figure for every bootstrap, and the ratios of the first to each
/// other one.
#[derive(Serialize)]
pub(super) struct Row {
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

/// A row of figures, with its ratios worked out.
pub(super) fn row(metric: &str, unit: &str, values: Vec<Option<f64>>) -> Row {
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
    let labels: Vec<String> = rows.iter().map(label).collect();
    // As wide as the longest label, and never narrower than it was.
    let width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(20);
    let mut header = format!("\n{:<width$}", "");
    for subject in subjects {
        header.push_str(&format!("{:>14}", subject.label));
    }
    for subject in subjects.iter().skip(1) {
        header.push_str(&format!("{:>9}", format!("A/{}", subject.label)));
    }
    out.push_str(header.trim_end());
    out.push('\n');
    for (row, metric) in rows.iter().zip(&labels) {
        let mut line = format!("{metric:<width$}");
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

/// A row's label: the metric and its unit.
fn label(row: &Row) -> String {
    if row.unit.is_empty() {
        row.metric.clone()
    } else {
        format!("{} ({})", row.metric, row.unit)
    }
}

/// Times keep a decimal; counts are whole.
pub(super) fn number(value: f64, unit: &str) -> String {
    if unit == "µs" {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// The JSON form: the run's cold and warm counts, the bootstraps and the
/// rows.
pub(super) fn json(cold: usize, warm: usize, subjects: &[Subject], rows: Vec<Row>) -> String {
    let report = JsonReport {
        cold: cold as u64,
        warm: warm as u64,
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
pub(super) fn progress(text: &str) {
    let mut err = io::stderr().lock();
    // Progress is a courtesy: a closed stderr must not stop the bench.
    let _ = write!(err, "\r{text:<40}");
    let _ = err.flush();
}

/// Clears the progress line.
pub(super) fn progress_done() {
    let mut err = io::stderr().lock();
    let _ = write!(err, "\r{:<40}\r", "");
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_divide_the_first_by_each_other() {
        let r = row("bytes", "B", vec![Some(50.0), Some(100.0), Some(0.0), None]);
        assert_eq!(r.ratios, vec![Some(0.5), None, None]);
    }
}
