//! The Extensions API (`/2020-01-01/extension`) as Lambda serves it, and the
//! two gates extensions put in front of every event the runtime gets.
//!
//! What is answered when follows Lambda's own implementation of the API (the
//! Runtime Interface Emulator's `rapid`: its registration service, its
//! extension state machines, its init and invoke flows):
//!
//! - `register` is open to an internal extension until the runtime's first
//!   `/next` (registration "turns off" when the runtime is ready). An
//!   external one, whose file name the driver declared as Lambda knows the
//!   files it started, may register until init is over: Lambda starts the
//!   runtime only after its external extensions have registered, so a
//!   driver that starts both at once loses nothing.
//! - Init is over when the runtime has called `/next`, every declared
//!   external extension has registered, and every registered extension has
//!   called `event/next`. Only then may an event go out ([`pump`]).
//! - An event goes out only while every extension registered for `INVOKE`
//!   waits on `event/next`; each of them gets the `INVOKE` with it. Calling
//!   `event/next` again is how an extension says it is done with it; the
//!   invocation is over for everyone when the runtime has answered and each
//!   has ([`Completion`]).
//!
//! A `PUT /2022-07-01/telemetry` is taken here too, since only this part
//! knows which extension sent it; the subscription itself is `telemetry`'s.
//! The `SHUTDOWN` event is handed out here, for `shutdown`.
//!
//! The parts: this file holds the state and the driver's calls about
//! extensions; `gates` keeps the two gates and follows each invocation beside
//! the runtime until it is over for everyone; `endpoints` answers the
//! extensions' calls, using `gates`.

use std::borrow::ToOwned;
use std::collections::{HashMap, VecDeque};
use std::string::String;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::wire::Request;
use super::{
    Completion, Extension, Fault, Init, Parked, RuntimeApi, ShutdownReason, ShutdownReport,
};

mod endpoints;
mod gates;

pub(super) use endpoints::{next, register, report_error, subscribe, tell_shutdown};
use gates::start_timer;
pub(super) use gates::{answered, pump, runtime_died, runtime_init_error, runtime_next};

/// How long init may take, as Lambda allows: 10 seconds.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the mock knows of the extensions, the init phase and the shutdown:
/// a part of the mock's `State`.
pub(super) struct Extensions {
    pub(super) init: Init,
    init_timeout: Duration,
    /// Whether the init timer's thread was started.
    timer: bool,
    /// Whether `platform.initRuntimeDone` was sent.
    runtime_done_sent: bool,
    /// The external extensions the driver started: names and process ids.
    pub(super) expected: Vec<(String, Option<u32>)>,
    pub(super) registered: Vec<Registered>,
    register_faults: VecDeque<Fault>,
    /// Invocations handed out and not yet over for everyone.
    open: HashMap<String, Open>,
    done: HashMap<String, Completion>,
    /// How many `platform.report` records were made: the first carries the
    /// init duration.
    reports: usize,
    pub(super) runtime_pid: Option<u32>,
    pub(super) memory_mb: u32,
    /// Set when the shutdown begins; no event goes out after it.
    pub(super) shutdown: Option<Shutdown>,
}

/// One registered extension.
pub(super) struct Registered {
    pub(super) info: Extension,
    invoke: bool,
    pub(super) takes_shutdown: bool,
    /// Its `event/next`, while it waits for an event.
    waiting: Option<Parked>,
    /// The invocation whose `INVOKE` it got and is not yet done with.
    busy: Option<String>,
    /// A `SHUTDOWN` it is owed: the answer to its next call.
    owed_shutdown: bool,
}

/// An invocation handed out and not yet over for everyone.
struct Open {
    handed_out_at: Instant,
    answered_at: Option<Instant>,
    status: &'static str,
    error_type: Option<String>,
    trace: Option<String>,
    /// The identifiers of the extensions that got its `INVOKE` and have not
    /// called `event/next` since.
    owed: Vec<String>,
    /// Those that have, by name, with when.
    seen: Vec<(String, Instant)>,
}

/// A shutdown under way, or over.
pub(super) struct Shutdown {
    pub(super) reason: ShutdownReason,
    pub(super) deadline_ms: u128,
    /// Set once it is over.
    pub(super) report: Option<ShutdownReport>,
}

impl Default for Extensions {
    fn default() -> Extensions {
        Extensions {
            init: Init {
                started_at: Instant::now(),
                runtime_ready_at: None,
                done_at: None,
                failure: None,
            },
            init_timeout: INIT_TIMEOUT,
            timer: false,
            runtime_done_sent: false,
            expected: Vec::new(),
            registered: Vec::new(),
            register_faults: VecDeque::new(),
            open: HashMap::new(),
            done: HashMap::new(),
            reports: 0,
            runtime_pid: None,
            memory_mb: 128,
            shutdown: None,
        }
    }
}

impl Extensions {
    /// `event/next` requests still waiting, to be closed when the mock stops.
    pub(super) fn drain(&mut self) -> Vec<Request> {
        self.registered
            .iter_mut()
            .filter_map(|r| r.waiting.take().map(|p| p.request))
            .collect()
    }

    /// Whether init has ended, well or not.
    fn init_settled(&self) -> bool {
        self.init.done_at.is_some() || self.init.failure.is_some()
    }

    /// Whether an internal extension registered: the runtime then gets a
    /// longer share of the shutdown.
    pub(super) fn any_internal(&self) -> bool {
        self.registered.iter().any(|r| !r.info.external)
    }
}

impl RuntimeApi {
    /// Says that an external extension with this file name is being
    /// started, as Lambda starts each file of `/opt/extensions`: call it
    /// before starting the process. Init then waits for it to register
    /// (under this name) and to call `event/next`; it may register for
    /// `SHUTDOWN`; and, given its process id ([`RuntimeApi::extension_pid`]),
    /// the shutdown waits for it to exit and kills it at the deadline. An
    /// extension that registers under any other name is internal.
    pub fn external_extension(&self, name: &str) {
        let mut state = self.shared.lock();
        if !state.ext.expected.iter().any(|(n, _)| n == name) {
            state.ext.expected.push((name.to_owned(), None));
        }
        start_timer(&self.shared, &mut state);
    }

    /// The process id of an external extension declared with
    /// [`RuntimeApi::external_extension`], for the shutdown to signal.
    pub fn extension_pid(&self, name: &str, pid: u32) {
        let mut state = self.shared.lock();
        match state.ext.expected.iter_mut().find(|(n, _)| n == name) {
            Some(expected) => expected.1 = Some(pid),
            None => state.ext.expected.push((name.to_owned(), Some(pid))),
        }
    }

    /// Queues a fault for a coming `register`. A status is answered instead
    /// of registering; `Close` closes the connection unanswered.
    pub fn fault_register(&self, fault: Fault) {
        self.shared.lock().ext.register_faults.push_back(fault);
    }

    /// How long init may last, counted from the mock's start, before the
    /// mock gives up on it ([`InitFailure::TimedOut`]): 10 seconds unless
    /// set, as Lambda allows. It applies only once an extension takes part
    /// (declared or registered): a runtime alone under a slow emulator
    /// (valgrind, qemu) is left to its driver's own limit.
    ///
    /// [`InitFailure::TimedOut`]: crate::InitFailure::TimedOut
    pub fn init_timeout(&self, timeout: Duration) {
        self.shared.lock().ext.init_timeout = timeout;
        self.shared.changed.notify_all();
    }

    /// The memory size `platform.report` records state (128 MB unless set),
    /// as `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` tells the runtime.
    pub fn memory_size(&self, mb: u32) {
        self.shared.lock().ext.memory_mb = mb;
    }

    /// Every extension registered so far, in the order they registered.
    pub fn extensions(&self) -> Vec<Extension> {
        let state = self.shared.lock();
        state
            .ext
            .registered
            .iter()
            .map(|r| r.info.clone())
            .collect()
    }

    /// Blocks until at least `n` extensions have registered, or the timeout
    /// passed; returns whether they had.
    pub fn wait_registered(&self, n: usize, timeout: Duration) -> bool {
        let state = self.shared.wait(timeout, |s| s.ext.registered.len() >= n);
        state.ext.registered.len() >= n
    }

    /// Blocks until init is over (or failed), or the timeout passed, and
    /// returns it as far as it went.
    pub fn wait_init(&self, timeout: Duration) -> Init {
        let state = self.shared.wait(timeout, |s| s.ext.init_settled());
        state.ext.init.clone()
    }

    /// Blocks until the invocation is over for everyone: answered by the
    /// runtime, and each extension given its `INVOKE` has called
    /// `event/next` again. `None` if the timeout passed first.
    pub fn wait_invocation_done(&self, request_id: &str, timeout: Duration) -> Option<Completion> {
        let state = self
            .shared
            .wait(timeout, |s| s.ext.done.contains_key(request_id));
        state.ext.done.get(request_id).cloned()
    }
}
