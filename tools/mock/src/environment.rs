//! What a test learns of the environment around the runtime: the extensions
//! that registered, the init phase and why it failed, each invocation once it
//! is over for everyone, the shutdown and what became of each process, and
//! the batches posted to telemetry subscribers.

use std::string::String;
use std::time::Instant;
use std::vec::Vec;

/// Why an execution environment shuts down: the `shutdownReason` of the
/// `SHUTDOWN` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownReason {
    /// `spindown`: the environment was idle, a normal end.
    Spindown,
    /// `timeout`: an invocation ran out of time.
    Timeout,
    /// `failure`: the runtime or an extension failed (a runtime that dies on
    /// its own brings this).
    Failure,
}

/// Where a line of output came from, which decides the telemetry record it
/// becomes (`function` or `extension`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// The runtime process: the function.
    Function,
    /// An external extension's process.
    Extension,
}

/// A registered extension, as the mock saw it.
#[derive(Clone, Debug)]
pub struct Extension {
    /// `Lambda-Extension-Name`, as sent.
    pub name: String,
    /// The `Lambda-Extension-Identifier` the mock gave it.
    pub identifier: String,
    /// Whether it is one of the external extensions the driver started
    /// ([`RuntimeApi::external_extension`]); otherwise it is internal.
    ///
    /// [`RuntimeApi::external_extension`]: crate::RuntimeApi::external_extension
    pub external: bool,
    /// The events it registered for, as sent (`INVOKE`, `SHUTDOWN`).
    pub events: Vec<String>,
    /// When it registered.
    pub registered_at: Instant,
    /// When it first called `event/next`: the end of its init.
    pub ready_at: Option<Instant>,
    /// The `Lambda-Extension-Function-Error-Type` of its `init/error` or
    /// `exit/error`, if it posted one.
    pub error: Option<String>,
    /// How many `INVOKE` events it was given.
    pub invokes: usize,
    /// When it was given its `SHUTDOWN`.
    pub shutdown_at: Option<Instant>,
}

/// The init phase, as far as it went.
#[derive(Clone, Debug)]
pub struct Init {
    /// When the mock started: the environment's creation.
    pub started_at: Instant,
    /// The runtime's first `/next`.
    pub runtime_ready_at: Option<Instant>,
    /// When the runtime and every extension had called next: the first
    /// event may go out from then on.
    pub done_at: Option<Instant>,
    /// Why init will never end, if it will not.
    pub failure: Option<InitFailure>,
}

/// Why the mock gave up on an init phase. No event is handed out after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitFailure {
    /// The init timeout passed ([`RuntimeApi::init_timeout`]). Says who was
    /// still awaited: `runtime`, or an extension's name followed by what it
    /// had not done.
    ///
    /// [`RuntimeApi::init_timeout`]: crate::RuntimeApi::init_timeout
    TimedOut(Vec<String>),
    /// An extension posted `init/error` with this error type.
    ExtensionError {
        /// The extension's name.
        name: String,
        /// Its `Lambda-Extension-Function-Error-Type`.
        error_type: String,
    },
    /// The runtime process died before init ended.
    RuntimeExited,
}

/// An invocation that is over for everyone: the runtime answered it and
/// every extension given its `INVOKE` called `event/next` again.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The invocation's request id.
    pub request_id: String,
    /// When `/next` handed it to the runtime (and `INVOKE` to extensions).
    pub handed_out_at: Instant,
    /// When the runtime's answer was accepted (or refused as too late).
    pub answered_at: Instant,
    /// Each extension given the `INVOKE`, with its next call after it.
    pub extensions: Vec<(String, Instant)>,
    /// When the last of them had: what extensions add to the invocation is
    /// `done_at - answered_at`.
    pub done_at: Instant,
}

/// What [`RuntimeApi::shutdown`] did.
///
/// [`RuntimeApi::shutdown`]: crate::RuntimeApi::shutdown
#[derive(Clone, Debug)]
pub struct ShutdownReport {
    /// The reason it gave.
    pub reason: ShutdownReason,
    /// The `deadlineMs` of the `SHUTDOWN` events, in epoch milliseconds.
    pub deadline_ms: u128,
    /// Whether the runtime was sent SIGTERM (only with an extension
    /// registered).
    pub runtime_terminated: bool,
    /// What became of the runtime process.
    pub runtime: Stop,
    /// Each registered extension and each external one started.
    pub extensions: Vec<ExtensionStop>,
}

/// How a process ended in a shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The mock has no process id for it (an internal extension, a
    /// scripted client).
    NoProcess,
    /// It had exited before the shutdown signalled it.
    Gone,
    /// It exited by itself in time.
    Exited,
    /// It was sent SIGKILL.
    Killed,
}

/// What became of one extension in a shutdown.
#[derive(Clone, Debug)]
pub struct ExtensionStop {
    /// Its name.
    pub name: String,
    /// Whether it was given its `SHUTDOWN` event.
    pub told: bool,
    /// What became of its process.
    pub stop: Stop,
}

/// One batch the mock posted to a telemetry subscriber.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The subscribing extension's name.
    pub subscriber: String,
    /// When the post was answered, or failed.
    pub at: Instant,
    /// The batch: a JSON array of `{time, type, record}` objects.
    pub body: String,
    /// How many records it held.
    pub records: usize,
    /// The listener's status; `None` when the post failed (refused,
    /// cut, or no answer in time).
    pub status: Option<u16>,
}

impl ShutdownReason {
    /// The reason as the `SHUTDOWN` event writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
        }
    }
}

impl core::fmt::Display for InitFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InitFailure::TimedOut(waiting) => {
                write!(f, "init timed out waiting for {}", waiting.join(", "))
            }
            InitFailure::ExtensionError { name, error_type } => {
                write!(f, "extension {name} reported init/error {error_type}")
            }
            InitFailure::RuntimeExited => f.write_str("the runtime exited during init"),
        }
    }
}
