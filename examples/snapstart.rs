//! SnapStart for a container image: one before-snapshot and one
//! after-restore hook, each logging a line; the handler echoes its event.
//! The hooks run only under `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`.
//!
//! For tests: `BEFORE_SNAPSHOT_FAIL=1` or `AFTER_RESTORE_FAIL=1` makes that
//! hook fail, `AFTER_RESTORE_PANIC=1` makes the after-restore hook panic.
use miniserde::json::Value;
use tiny_lambda::{Context, Diagnostic, Handler, Runtime};

fn fails(name: &str) -> bool {
    std::env::var_os(name).is_some()
}

fn main() {
    Runtime::from_env()
        .before_snapshot(|| {
            log::info!("before snapshot: closing what must not be shared");
            if fails("BEFORE_SNAPSHOT_FAIL") {
                return Err(Diagnostic::new(
                    "SnapshotRefused",
                    "BEFORE_SNAPSHOT_FAIL is set",
                ));
            }
            Ok(())
        })
        .after_restore(|| {
            log::info!("after restore: reconnecting");
            if fails("AFTER_RESTORE_PANIC") {
                panic!("after-restore hook panicked on purpose");
            }
            if fails("AFTER_RESTORE_FAIL") {
                return Err(Diagnostic::new(
                    "RestoreRefused",
                    "AFTER_RESTORE_FAIL is set",
                ));
            }
            Ok(())
        })
        .serve(Handler::json(|event: Value, _ctx: &Context| {
            Ok::<_, Diagnostic>(event)
        }))
}
