//! The mock's side of the two execution-environment modes.
//!
//! Lambda Managed Instances: [`RuntimeApi::max_concurrency`] caps how many
//! invocations one environment may have at once (`/next` requests waiting
//! plus events handed out and not yet answered), as Lambda does with
//! `AWS_LAMBDA_MAX_CONCURRENCY`, and [`RuntimeApi::peak_concurrency`] tells a
//! test how many it actually had.
//!
//! SnapStart: `GET /restore/next` is parked until the test calls
//! [`RuntimeApi::restore`], as Lambda holds it from the snapshot to the
//! restore; the connection that carried it is dead afterwards (whatever is
//! sent on it is swallowed, never answered), as a connection from before a
//! snapshot is. `POST /restore/error` is recorded and accepted once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;
use std::vec::Vec;

use super::answer::{Answer, accept_once, error_answer, fault_answer, first_report};
use super::wire::{Request, finish};
use super::{Fault, Parked, Posted, RuntimeApi, Shared, State};

/// The state of both modes, a part of the mock's [`State`].
#[derive(Default)]
pub(super) struct Modes {
    max_concurrency: Option<usize>,
    /// Events handed out and not yet answered.
    in_flight: usize,
    peak_in_flight: usize,
    restore_calls: usize,
    restored: bool,
    restore_waiting: Option<Parked>,
    restore_faults: VecDeque<Fault>,
    restore_error: Option<Posted>,
    /// Connections from before the snapshot: peers whose requests are swallowed.
    dead_peers: Vec<SocketAddr>,
    swallowed: Vec<Request>,
}

impl RuntimeApi {
    /// Lambda Managed Instances: allow at most `n` invocations at once, as
    /// `AWS_LAMBDA_MAX_CONCURRENCY=n` does; counted are `/next` requests
    /// waiting for an event and events handed out but not answered. A `/next`
    /// beyond that is answered 403 `InvalidStateTransition`, the answer
    /// Lambda's Runtime API gives a `/next` its state does not allow (the
    /// documentation does not say what Managed Instances answer; this is the
    /// mock's choice). Without a call, there is no limit.
    pub fn max_concurrency(&self, n: usize) {
        self.shared.lock().modes.max_concurrency = Some(n);
    }

    /// The most invocations that were handed out and not yet answered at any
    /// one time: how concurrently the runtime really served.
    pub fn peak_concurrency(&self) -> usize {
        self.shared.lock().modes.peak_in_flight
    }

    /// SnapStart: blocks until the runtime called `GET /restore/next` (the
    /// end of its init and its before-snapshot hooks), or the timeout passed;
    /// returns whether it did.
    pub fn wait_restore_next(&self, timeout: Duration) -> bool {
        let state = self.shared.wait(timeout, |s| s.modes.restore_calls > 0);
        state.modes.restore_calls > 0
    }

    /// SnapStart: the snapshot has been restored. A waiting `/restore/next`
    /// is answered 200 now, a later one at once; the connection that carried
    /// it is dead from then on.
    pub fn restore(&self) {
        let mut state = self.shared.lock();
        state.modes.restored = true;
        let Some(waiting) = state.modes.restore_waiting.take() else {
            return;
        };
        answer_restore(&self.shared, state, waiting.request, waiting.record);
    }

    /// SnapStart: queues a fault for a coming `/restore/next`. A status is
    /// answered at once, before any restore; `Close` closes the connection.
    pub fn fault_restore(&self, fault: Fault) {
        self.shared.lock().modes.restore_faults.push_back(fault);
    }

    /// SnapStart: blocks until `/restore/error` was posted, or the timeout passed.
    pub fn wait_restore_error(&self, timeout: Duration) -> Option<Posted> {
        let state = self
            .shared
            .wait(timeout, |s| s.modes.restore_error.is_some());
        state.modes.restore_error.clone()
    }

    /// How many requests came on a connection that died with a restore: a
    /// runtime that reconnects after a restore sends none.
    pub fn requests_on_dead_connections(&self) -> usize {
        self.shared.lock().modes.swallowed.len()
    }
}

impl Modes {
    /// An event was handed out.
    pub(super) fn handed_out(&mut self) {
        self.in_flight += 1;
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
    }

    /// An event was answered (or timed out).
    pub(super) fn answered(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Whether one more waiting `/next` would go beyond the limit.
    pub(super) fn over_limit(&self, waiting: usize) -> bool {
        self.max_concurrency
            .is_some_and(|limit| waiting + self.in_flight >= limit)
    }

    /// Requests left waiting or swallowed, to be closed when the mock stops.
    pub(super) fn drain(&mut self) -> Vec<Request> {
        let mut held: Vec<Request> = self.swallowed.drain(..).collect();
        held.extend(self.restore_waiting.take().map(|p| p.request));
        held
    }
}

/// The 403 for a `/next` beyond [`RuntimeApi::max_concurrency`].
pub(super) fn over_limit_answer() -> Answer {
    error_answer(
        403,
        "More concurrent /next requests than AWS_LAMBDA_MAX_CONCURRENCY allows",
        "InvalidStateTransition",
    )
}

/// Takes a request that came on a dead connection (kept unanswered, as the
/// network after a restore would); returns the others.
pub(super) fn screen(shared: &Shared, request: Request) -> Option<Request> {
    let peer = request.peer;
    let mut state = shared.lock();
    if !peer.is_some_and(|p| state.modes.dead_peers.contains(&p)) {
        return Some(request);
    }
    state.modes.swallowed.push(request);
    shared.changed.notify_all();
    None
}

/// Handles `GET /restore/next`.
pub(super) fn restore_next(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    state.modes.restore_calls += 1;
    shared.changed.notify_all();
    match state.modes.restore_faults.pop_front() {
        Some(Fault::Status(status)) => {
            drop(state);
            finish(shared, request, record, Some(fault_answer(status)), None);
        }
        Some(Fault::Close) => {
            drop(state);
            finish(shared, request, record, None, None);
        }
        // A delay is what `/restore/next` always has: until `restore`.
        Some(Fault::Delay(_)) | None if state.modes.restored => {
            answer_restore(shared, state, request, record)
        }
        Some(Fault::Delay(_)) | None => {
            state.modes.restore_waiting = Some(Parked { request, record });
        }
    }
}

/// Answers `/restore/next` with 200 and marks its connection dead.
fn answer_restore(
    shared: &Arc<Shared>,
    mut state: MutexGuard<'_, State>,
    request: Request,
    record: usize,
) {
    if let Some(peer) = request.peer {
        state.modes.dead_peers.push(peer);
    }
    drop(state);
    let answer = Answer {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    };
    finish(shared, request, record, Some(answer), None);
}

/// Handles `POST /restore/error`: accepted once, then 403 like `/init/error`.
pub(super) fn restore_error(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let posted = first_report(&state, record, state.modes.restore_error.is_some());
    let answer = accept_once(&mut state.modes.restore_error, posted);
    drop(state);
    finish(shared, request, record, Some(answer), None);
}
