//! SnapStart for container images: the before-snapshot and after-restore
//! hooks, and the lifecycle that runs them.
//!
//! With `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, Lambda runs init once,
//! snapshots the process, and later starts execution environments from the
//! snapshot. A runtime that has hooks takes part ("Implementing SnapStart
//! hooks for container images"): after init it runs the before-snapshot
//! hooks, calls `GET /restore/next` (answered only once the snapshot has
//! been restored), runs the after-restore hooks, reports a failing one to
//! `/restore/error`, and then enters the normal loop.
//!
//! Hooks are registered on [`Runtime`]. Registering the first one is also
//! what links this module into a bootstrap: a bootstrap without hooks never
//! reads the variable, never calls `/restore/next` and carries none of this
//! code (mark its image with the label AWS documents for images without
//! hooks instead, see docs/deploying.md).

use std::boxed::Box;
use std::fmt::Display;
use std::string::ToString;
use std::vec::Vec;

use super::in_flight::{Phase, set_phase};
use super::{EXIT_FAILURE, Runtime, exit_with, report_init_error};
use crate::client::Client;
use crate::error::Diagnostic;
use crate::protocol;

/// One hook, its error already turned into the report it would send.
type Hook = Box<dyn FnOnce() -> Result<(), Diagnostic>>;

/// The registered hooks, and the lifecycle to run them with.
pub(super) struct Hooks {
    before_snapshot: Vec<Hook>,
    after_restore: Vec<Hook>,
    /// [`lifecycle`], reached through this pointer: only a bootstrap that
    /// registers a hook references (and links) it.
    lifecycle: fn(&Client, &mut Hooks),
}

impl Runtime {
    /// Register a hook that runs once, after init and before Lambda takes the
    /// SnapStart snapshot: close connections, drop what must not be shared by
    /// every environment restored from the snapshot. Hooks run only under
    /// SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), last
    /// registered first, so what was built last is torn down first.
    ///
    /// An error (or a panic) is part of init: it is posted to `/init/error`
    /// and the process exits with [`EXIT_FAILURE`].
    ///
    /// ```no_run
    /// use tiny_lambda::{Context, Handler, Runtime};
    ///
    /// fn main() {
    ///     Runtime::from_env()
    ///         .before_snapshot(|| { log::info!("before snapshot"); Ok::<_, String>(()) })
    ///         .after_restore(|| { log::info!("after restore"); Ok::<_, String>(()) })
    ///         .serve(Handler::json(|name: String, _ctx: &Context| Ok::<_, String>(name)))
    /// }
    /// ```
    pub fn before_snapshot<E: Display + 'static>(
        mut self,
        hook: impl FnOnce() -> Result<(), E> + 'static,
    ) -> Runtime {
        let hook = move || hook().map_err(|e| Diagnostic::from_error(&e));
        self.hooks().before_snapshot.push(Box::new(hook));
        self
    }

    /// Register a hook that runs once, when the process has been restored
    /// from the SnapStart snapshot and before the first event: reconnect,
    /// refresh credentials, re-seed what must be unique per environment.
    /// Hooks run only under SnapStart, in the order registered.
    ///
    /// An error (or a panic) is posted to `/restore/error` with the type
    /// `Runtime.AfterRestoreError`, and the process exits with [`EXIT_FAILURE`].
    pub fn after_restore<E: Display + 'static>(
        mut self,
        hook: impl FnOnce() -> Result<(), E> + 'static,
    ) -> Runtime {
        let hook = move || hook().map_err(|e| Diagnostic::from_error(&e));
        self.hooks().after_restore.push(Box::new(hook));
        self
    }

    /// Take part in SnapStart if hooks were registered; a no-op otherwise.
    /// Called by `serve` and `serve_concurrent` once, before any loop (or
    /// thread) starts: so it applies to every handler kind.
    pub(super) fn snapstart(&mut self) {
        if let Some(hooks) = self.snapstart.take() {
            (hooks.lifecycle)(&self.client, hooks);
        }
    }

    fn hooks(&mut self) -> &mut Hooks {
        self.snapstart.get_or_insert_with(|| {
            Box::leak(Box::new(Hooks {
                before_snapshot: Vec::new(),
                after_restore: Vec::new(),
                lifecycle,
            }))
        })
    }
}

/// Before-snapshot hooks, `/restore/next`, a fresh connection, after-restore
/// hooks. Returns only when the loop may start; every failure exits.
fn lifecycle(client: &Client, hooks: &mut Hooks) {
    let snap_start = std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE");
    if snap_start.as_deref() != Ok("snap-start") {
        log::debug!("not under SnapStart: the snapshot hooks do not run");
        return;
    }
    set_phase(Phase::Init);
    for hook in std::mem::take(&mut hooks.before_snapshot).into_iter().rev() {
        if let Err(diagnostic) = hook() {
            set_phase(Phase::Idle);
            report_init_error(client, &diagnostic);
            std::process::exit(EXIT_FAILURE)
        }
    }
    set_phase(Phase::Idle);

    log::debug!("init done; waiting for the snapshot to be restored");
    if let Err(fault) = client.restore_next() {
        // The restore never happened, so this is still the init phase.
        let diagnostic = Diagnostic::runtime("RestoreNextFailed", fault.to_string());
        report_init_error(client, &diagnostic);
        exit_with(&fault)
    }
    // The kept-alive connection that carried `/restore/next` was opened
    // before the snapshot; after a restore it leads nowhere.
    client.reconnect();
    // The same holds for the AWS client's connections, and its keys.
    #[cfg(feature = "aws")]
    crate::aws::after_restore();
    log::debug!("restored from the snapshot");

    set_phase(Phase::Restore(report_restore_error));
    for hook in std::mem::take(&mut hooks.after_restore) {
        if let Err(diagnostic) = hook() {
            set_phase(Phase::Idle);
            report_restore_error(client, &diagnostic);
            std::process::exit(EXIT_FAILURE)
        }
    }
    set_phase(Phase::Idle);
}

/// Post a failed after-restore hook (or a panic in one) to `/restore/error`.
fn report_restore_error(client: &Client, diagnostic: &Diagnostic) {
    log::error!("after-restore hook failed: {diagnostic}");
    if let Err(e) = client.post(&protocol::restore_error(diagnostic)) {
        log::error!("could not report the restore error: {e}");
    }
}
