//! The end of an execution environment, as Lambda brings it about, and the
//! runtime's death noticed on its own.
//!
//! The order is Lambda's own (the Runtime Interface Emulator's
//! `shutdownContext`), the budgets those of the AWS documentation:
//!
//! 1. With no extension registered, the runtime is sent SIGKILL: Lambda
//!    spends no time on a graceful shutdown nobody could use.
//! 2. Otherwise the runtime is sent SIGTERM (which is how it learns of the
//!    shutdown at all), and SIGKILL if it has not exited after its share:
//!    300 ms, 500 ms when an internal extension registered (AWS's
//!    "graceful shutdown" sample documents both figures), never beyond the
//!    deadline.
//! 3. Then, its last output having reached telemetry subscribers, each
//!    extension registered for `SHUTDOWN` gets the event (reason and
//!    deadline), and an external extension that did not register for it is
//!    sent SIGKILL at once.
//! 4. At the deadline, whatever has not exited is sent SIGKILL.
//!
//! The whole phase is limited to 2,000 ms with an external extension, and
//! 500 ms with internal ones only ([`RuntimeApi::shutdown_budget`]).
//!
//! The mock signals processes by id, which the driver gives it; it learns
//! that one ended from `/proc` (a zombie counts as ended: its parent, the
//! driver, has yet to reap it), so it never reaps a child of the driver.

use std::borrow::ToOwned;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::extensions::{Shutdown, runtime_died, tell_shutdown};
use super::telemetry;
use super::wire::deliver;
use super::{
    ExtensionStop, RuntimeApi, Shared, ShutdownReason, ShutdownReport, State, Stop, epoch_ms,
};

/// How often a process is looked at while waiting for it to exit.
const POLL: Duration = Duration::from_millis(5);

/// The runtime's share of the shutdown with external extensions only.
const RUNTIME_SHARE: Duration = Duration::from_millis(300);

/// The runtime's share when an internal extension registered.
const RUNTIME_SHARE_INTERNAL: Duration = Duration::from_millis(500);

impl RuntimeApi {
    /// The runtime's process id: the shutdown signals it, and the mock
    /// watches it from now on. A runtime that dies on its own fails the
    /// invocation it was serving (`Runtime.ExitError`) and, with an
    /// extension registered, ends the environment with the reason `failure`
    /// (see [`RuntimeApi::wait_shutdown`]).
    pub fn runtime_pid(&self, pid: u32) {
        self.shared.lock().ext.runtime_pid = Some(pid);
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("mock-runtime-watch".to_owned())
            .spawn(move || watch(&shared, pid));
        // Without the watcher a crash is left for the driver to notice.
        drop(spawned);
    }

    /// How long Lambda gives the shutdown phase with the extensions
    /// registered now: 2,000 ms with an external one, 500 ms with internal
    /// ones only, nothing without any.
    pub fn shutdown_budget(&self) -> Duration {
        budget(&self.shared.lock())
    }

    /// Ends the environment as Lambda does (see the module's documentation
    /// for the order), with `SHUTDOWN` events whose `deadlineMs` is
    /// `deadline`; a deadline already past is sent as it is, and leaves no
    /// time to anyone. Blocks until every process the mock knows of has
    /// ended, at the deadline at the latest. No event is handed out from
    /// the start of it. A second call returns the first one's report.
    pub fn shutdown(&self, reason: ShutdownReason, deadline: Instant) -> ShutdownReport {
        run(&self.shared, reason, deadline)
    }

    /// Blocks until a shutdown is over (one asked for, or the one a dying
    /// runtime brought), or the timeout passed, and returns its report.
    pub fn wait_shutdown(&self, timeout: Duration) -> Option<ShutdownReport> {
        let state = self.shared.wait(timeout, |s| {
            s.ext.shutdown.as_ref().is_some_and(|s| s.report.is_some())
        });
        state.ext.shutdown.as_ref().and_then(|s| s.report.clone())
    }
}

fn budget(state: &State) -> Duration {
    let registered = &state.ext.registered;
    if registered.iter().any(|r| r.info.external) {
        Duration::from_millis(2_000)
    } else if registered.is_empty() {
        Duration::ZERO
    } else {
        Duration::from_millis(500)
    }
}

/// The shutdown itself; see the module's documentation.
fn run(shared: &Arc<Shared>, reason: ShutdownReason, deadline: Instant) -> ShutdownReport {
    let now = Instant::now();
    let deadline_ms = match deadline.checked_duration_since(now) {
        Some(ahead) => epoch_ms() + ahead.as_millis(),
        None => epoch_ms().saturating_sub(now.duration_since(deadline).as_millis()),
    };
    let (runtime_pid, registered, any_internal) = {
        let mut state = shared.lock();
        if state.ext.shutdown.is_some() {
            drop(state);
            return wait_report(shared);
        }
        state.ext.shutdown = Some(Shutdown {
            reason,
            deadline_ms,
            report: None,
        });
        shared.changed.notify_all();
        (
            state.ext.runtime_pid,
            !state.ext.registered.is_empty(),
            state.ext.any_internal(),
        )
    };
    let mut report = ShutdownReport {
        reason,
        deadline_ms,
        runtime_terminated: false,
        runtime: Stop::NoProcess,
        extensions: Vec::new(),
    };
    if !registered {
        report.runtime = runtime_pid.map_or(Stop::NoProcess, kill_now);
        return finish(shared, report);
    }
    if let Some(pid) = runtime_pid {
        let share = if any_internal {
            RUNTIME_SHARE_INTERNAL
        } else {
            RUNTIME_SHARE
        };
        let until = (now + share).min(deadline);
        report.runtime = if !alive(pid) {
            Stop::Gone
        } else {
            report.runtime_terminated = signal(pid, SIGTERM);
            end(pid, until)
        };
    }
    // The function's last lines (a shutdown hook's, say) reach subscribers
    // before the extensions are told to go.
    {
        let state = shared.wait(deadline.saturating_duration_since(Instant::now()), |s| {
            s.telemetry.open_function_streams == 0
        });
        drop(state);
    }
    telemetry::flush(shared, deadline);
    let (out, processes) = {
        let mut state = shared.lock();
        let out = tell_shutdown(&mut state);
        shared.changed.notify_all();
        let processes: Vec<(std::string::String, Option<u32>, bool)> = state
            .ext
            .expected
            .iter()
            .map(|(name, pid)| {
                let takes =
                    state.ext.registered.iter().any(|r| {
                        r.info.name == *name && r.takes_shutdown && r.info.error.is_none()
                    });
                (name.clone(), *pid, takes)
            })
            .collect();
        (out, processes)
    };
    // Judged before anyone is told, so that an extension quick to exit on
    // its SHUTDOWN is not taken for one that had gone before.
    let mut stops: Vec<Stop> = Vec::new();
    for (_, pid, takes) in &processes {
        let stop = match pid {
            None => Stop::NoProcess,
            Some(pid) if !alive(*pid) => Stop::Gone,
            // Lambda does not wait for an extension that cannot hear of it.
            Some(pid) if !takes => kill_now(*pid),
            Some(_) => Stop::Exited,
        };
        stops.push(stop);
    }
    for (request, answer) in out {
        deliver(shared, request, Some(answer));
    }
    for ((_, pid, takes), stop) in processes.iter().zip(stops.iter_mut()) {
        if let (Some(pid), true, Stop::Exited) = (pid, takes, *stop) {
            *stop = end(*pid, deadline);
        }
    }
    let state = shared.lock();
    for r in &state.ext.registered {
        let stop = processes
            .iter()
            .position(|(name, _, _)| *name == r.info.name)
            .map_or(Stop::NoProcess, |i| stops[i]);
        report.extensions.push(ExtensionStop {
            name: r.info.name.clone(),
            told: r.info.shutdown_at.is_some(),
            stop,
        });
    }
    for ((name, _, _), stop) in processes.iter().zip(&stops) {
        if !state.ext.registered.iter().any(|r| r.info.name == *name) {
            report.extensions.push(ExtensionStop {
                name: name.clone(),
                told: false,
                stop: *stop,
            });
        }
    }
    drop(state);
    finish(shared, report)
}

/// Keeps the report where waiters find it, and returns it.
fn finish(shared: &Shared, report: ShutdownReport) -> ShutdownReport {
    let mut state = shared.lock();
    if let Some(shutdown) = state.ext.shutdown.as_mut() {
        shutdown.report = Some(report.clone());
    }
    shared.changed.notify_all();
    report
}

/// Waits for the report of a shutdown another caller runs.
fn wait_report(shared: &Shared) -> ShutdownReport {
    let state = shared.wait(Duration::from_secs(3_600), |s| {
        s.ext.shutdown.as_ref().is_some_and(|s| s.report.is_some())
    });
    let found = state.ext.shutdown.as_ref().and_then(|s| s.report.clone());
    found.unwrap_or_else(|| ShutdownReport {
        reason: ShutdownReason::Spindown,
        deadline_ms: 0,
        runtime_terminated: false,
        runtime: Stop::NoProcess,
        extensions: Vec::new(),
    })
}

/// Waits until the process has exited or `until` passed; SIGKILL then.
fn end(pid: u32, until: Instant) -> Stop {
    loop {
        if !alive(pid) {
            return Stop::Exited;
        }
        if Instant::now() >= until {
            return kill_now(pid);
        }
        thread::sleep(POLL);
    }
}

/// SIGKILL, unless the process has ended already.
fn kill_now(pid: u32) -> Stop {
    if !alive(pid) {
        return Stop::Gone;
    }
    signal(pid, SIGKILL);
    Stop::Killed
}

/// The runtime's watcher: notices a runtime that dies while no shutdown is
/// under way, and ends the environment as Lambda would.
fn watch(shared: &Arc<Shared>, pid: u32) {
    loop {
        thread::sleep(Duration::from_millis(10));
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        {
            let state = shared.lock();
            if state.ext.shutdown.is_some() || state.ext.runtime_pid != Some(pid) {
                return;
            }
        }
        if alive(pid) {
            continue;
        }
        let budget = {
            let mut state = shared.lock();
            runtime_died(&mut state);
            shared.changed.notify_all();
            (!state.ext.registered.is_empty()).then(|| budget(&state))
        };
        if let Some(budget) = budget {
            run(shared, ShutdownReason::Failure, Instant::now() + budget);
        }
        return;
    }
}

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

/// Sends a signal; returns whether it was sent.
#[cfg(unix)]
fn signal(pid: u32, signal: i32) -> bool {
    // kill(2) from the C library std links on every Unix: one call is not
    // worth a dependency. Declaring it is unsafe as any foreign item is.
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    // 0 and negative ids name process groups: never those.
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    unsafe { kill(pid, signal) == 0 }
}

#[cfg(not(unix))]
fn signal(_pid: u32, _signal: i32) -> bool {
    false
}

/// Whether the process is running: not gone, and not a zombie left for its
/// parent to reap.
#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(std::format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may
    // itself hold spaces and parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn alive(pid: u32) -> bool {
    signal(pid, 0)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    false
}
