//! The statistics `bench` reports over a set of timings: extremes,
//! percentiles and spread.

use std::time::Duration;

/// A summary of timings, every figure in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// The fastest.
    pub min: f64,
    /// The median.
    pub p50: f64,
    /// What 90 % of the timings stay at or under.
    pub p90: f64,
    /// What 99 % of the timings stay at or under.
    pub p99: f64,
    /// The slowest.
    pub max: f64,
    /// The sample standard deviation (divided by n - 1): the runs are a
    /// sample of what the machine could do, not all of it.
    pub std_dev: f64,
}

impl Summary {
    /// The names of the figures, in the order of [`Summary::figures`].
    pub const NAMES: [&'static str; 6] = ["min", "p50", "p90", "p99", "max", "std dev"];

    /// The figures, in the order of [`Summary::NAMES`].
    pub fn figures(&self) -> [f64; 6] {
        [
            self.min,
            self.p50,
            self.p90,
            self.p99,
            self.max,
            self.std_dev,
        ]
    }

    /// Summarises the timings; all zeros when there are none.
    pub fn of(timings: &[Duration]) -> Summary {
        let mut micros: Vec<f64> = timings.iter().map(|t| t.as_secs_f64() * 1e6).collect();
        micros.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max)) = (micros.first(), micros.last()) else {
            return Summary::default();
        };
        Summary {
            min,
            p50: percentile(&micros, 50.0),
            p90: percentile(&micros, 90.0),
            p99: percentile(&micros, 99.0),
            max,
            std_dev: std_dev(&micros),
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at
/// least `p` percent of all values at or below it. It is always one of the
/// measured values, never an interpolation between two.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The sample standard deviation; zero for fewer than two values.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 90.0), 90.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 90.0), 4.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn std_dev_is_the_sample_one() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        // Mean 5, squared deviations sum to 32, over n - 1 = 7.
        assert!((std_dev(&values) - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(std_dev(&[3.0]), 0.0);
    }

    #[test]
    fn summary_sorts_and_converts_to_micros() {
        let timings = [3, 1, 2].map(Duration::from_millis);
        let summary = Summary::of(&timings);
        assert_eq!(
            (summary.min, summary.p50, summary.max),
            (1000.0, 2000.0, 3000.0)
        );
        assert_eq!(Summary::of(&[]), Summary::default());
    }
}
