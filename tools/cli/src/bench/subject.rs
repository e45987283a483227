//! What every bench mode shares about a bootstrap under measurement: its
//! name, its mock and long-lived process, the limits it runs under, one
//! checked round trip, and the order bootstraps take turns in.
//!
//! It uses no other part of `bench`, so that every mode can use it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tiny_lambda_mock::{Event, Outcome, RuntimeApi};

use crate::bootstrap::{self, Process};
use crate::failure::Failure;

/// The memory size the bootstraps are told they have.
pub(super) const MEMORY_MB: u32 = 128;

/// How long any one step may take before the bench gives up on it.
pub(super) const LIMIT: Duration = Duration::from_secs(30);

/// One bootstrap under measurement.
pub(super) struct Subject {
    /// A, B, C..., as the table's columns name it.
    pub(super) label: String,
    pub(super) path: PathBuf,
}

impl Subject {
    /// How messages name it.
    pub(super) fn name(&self) -> String {
        format!("bootstrap {} ({})", self.label, self.path.display())
    }
}

/// One long-lived process for warm invocations, with its own mock.
pub(super) struct Warm {
    pub(super) api: RuntimeApi,
    pub(super) process: Process,
}

/// A mock Runtime API for one bootstrap.
pub(super) fn start_api() -> Result<RuntimeApi, Failure> {
    RuntimeApi::start()
        .map_err(|e| Failure::Internal(format!("cannot start the mock Runtime API: {e}")))
}

/// One invocation: from handing the event to the mock to receiving the
/// answer, by the mock's clock.
pub(super) fn round_trip(
    warm: &mut Warm,
    subject: &Subject,
    event: &str,
) -> Result<Duration, Failure> {
    let event = Event::new(event);
    let pushed = Instant::now();
    let id = warm.api.push(event);
    let answered = expect_response(&warm.api, &mut warm.process, &id, subject)?;
    Ok(answered.saturating_duration_since(pushed))
}

/// Waits for the answer and checks it is an accepted response; returns when
/// it arrived.
pub(super) fn expect_response(
    api: &RuntimeApi,
    process: &mut Process,
    id: &str,
    subject: &Subject,
) -> Result<Instant, Failure> {
    let name = subject.name();
    match bootstrap::await_outcome(api, process, id, &name, LIMIT)? {
        Some(Outcome::Response(posted)) if posted.status == 202 => Ok(posted.at),
        Some(Outcome::Response(posted)) => Err(Failure::Bootstrap(format!(
            "{name} posted a response the Runtime API refused with status {}",
            posted.status
        ))),
        Some(Outcome::Error(posted)) => Err(Failure::Bootstrap(format!(
            "{name} answered with a function error: {}",
            posted.body_str()
        ))),
        None => Err(Failure::Bootstrap(format!(
            "{name} did not answer within {} s",
            LIMIT.as_secs()
        ))),
    }
}

/// The order of the bootstraps in a round: A, B, C in odd rounds and
/// C, B, A in even ones. Going first or last in a round has its own cost
/// (caches, the scheduler), so every bootstrap takes each place equally.
pub(super) fn turn_order(round: usize, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    if round.is_multiple_of(2) {
        order.reverse();
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_alternate_direction() {
        assert_eq!(turn_order(1, 3), [0, 1, 2]);
        assert_eq!(turn_order(2, 3), [2, 1, 0]);
    }
}
