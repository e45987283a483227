//! The shutdown, on `sleep` processes: SIGTERM, then `SHUTDOWN` to the
//! extensions registered for it, then SIGKILL at the deadline; a runtime
//! deaf to SIGTERM, a deadline already passed, and a runtime that crashes.
use super::*;
use crate::tests::get_next;
use std::process::{Child, Command, Stdio};

/// A process to signal: `sleep`, optionally deaf to SIGTERM.
fn process(ignores_term: bool) -> Child {
    let script = if ignores_term {
        "trap '' TERM; exec sleep 30"
    } else {
        "exec sleep 30"
    };
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the shell has become `sleep` (an ignored signal survives
/// the exec; a trap set up in the shell alone would not be ready earlier).
fn settle() {
    thread::sleep(Duration::from_millis(100));
}

#[test]
fn without_extensions_the_runtime_is_killed_outright() {
    let api = RuntimeApi::start().unwrap();
    let mut runtime = process(false);
    api.runtime_pid(runtime.id());
    let report = api.shutdown(
        ShutdownReason::Spindown,
        Instant::now() + Duration::from_secs(2),
    );
    assert!(!report.runtime_terminated);
    assert_eq!(report.runtime, Stop::Killed);
    let status = runtime.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
}

#[test]
fn shutdown_sends_sigterm_then_shutdown_then_sigkill_at_the_deadline() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("tidy");
    api.external_extension("slow");
    api.external_extension("quiet");
    let mut tidy = process(false);
    let mut slow = process(false);
    let mut quiet = process(false);
    api.extension_pid("tidy", tidy.id());
    api.extension_pid("slow", slow.id());
    api.extension_pid("quiet", quiet.id());
    let mut runtime = process(false);
    api.runtime_pid(runtime.id());
    let mut waiting = through_init(
        &api,
        &[
            ("tidy", r#"["SHUTDOWN"]"#),
            ("slow", r#"["SHUTDOWN"]"#),
            ("quiet", "[]"),
        ],
    );
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    assert_eq!(api.shutdown_budget(), Duration::from_secs(2));

    let started = Instant::now();
    let deadline = started + Duration::from_millis(400);
    let shutdown = {
        let api = &api;
        thread::scope(|scope| {
            let handle = scope.spawn(move || api.shutdown(ShutdownReason::Spindown, deadline));
            // The tidy extension exits when told; the slow one never does.
            let told = event(&mut waiting[0].1);
            assert_eq!(text(&told, "eventType"), "SHUTDOWN");
            assert_eq!(text(&told, "shutdownReason"), "spindown");
            tidy.kill().unwrap();
            let told = event(&mut waiting[1].1);
            let deadline_ms = json::to_string(told.get("deadlineMs").unwrap());
            let report = handle.join().unwrap();
            assert_eq!(deadline_ms, report.deadline_ms.to_string());
            report
        })
    };
    let shutdown_started_ms = epoch_ms() - started.elapsed().as_millis();
    let ahead = shutdown.deadline_ms.abs_diff(shutdown_started_ms + 400);
    assert!(
        ahead <= 5,
        "deadlineMs is the deadline given: {ahead} ms off"
    );
    assert!(started.elapsed() >= Duration::from_millis(390));
    assert!(shutdown.runtime_terminated);
    assert_eq!(shutdown.runtime, Stop::Exited, "sleep ends on SIGTERM");
    let stops: Vec<(&str, bool, Stop)> = shutdown
        .extensions
        .iter()
        .map(|e| (e.name.as_str(), e.told, e.stop))
        .collect();
    assert_eq!(
        stops,
        [
            ("tidy", true, Stop::Exited),
            ("slow", true, Stop::Killed),
            ("quiet", false, Stop::Killed),
        ]
    );
    assert!(still_waiting(&waiting[2].1), "registered for nothing");
    for child in [&mut runtime, &mut tidy, &mut slow, &mut quiet] {
        child.wait().unwrap();
    }
    // No event goes out once the shutdown began, and the first report
    // answers a second call.
    let again = api.shutdown(ShutdownReason::Timeout, Instant::now());
    assert_eq!(again.reason, ShutdownReason::Spindown);
    assert_eq!(
        api.wait_shutdown(Duration::ZERO).map(|r| r.reason),
        Some(ShutdownReason::Spindown)
    );
}

#[test]
fn a_runtime_deaf_to_sigterm_is_killed_after_its_share() {
    let api = RuntimeApi::start().unwrap();
    let mut runtime = process(true);
    settle();
    api.runtime_pid(runtime.id());
    let _waiting = through_init(&api, &[("hook", "[]")]);
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    assert_eq!(api.shutdown_budget(), Duration::from_millis(500));
    let started = Instant::now();
    let report = api.shutdown(ShutdownReason::Spindown, started + api.shutdown_budget());
    let took = started.elapsed();
    assert!(report.runtime_terminated);
    assert_eq!(report.runtime, Stop::Killed);
    // An internal extension's runtime gets the whole 500 ms.
    assert!(took >= Duration::from_millis(490), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    runtime.wait().unwrap();
}

#[test]
fn a_shutdown_whose_deadline_has_passed_leaves_no_time() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("late");
    let mut extension = process(false);
    api.extension_pid("late", extension.id());
    let mut runtime = process(true);
    settle();
    api.runtime_pid(runtime.id());
    let mut waiting = through_init(&api, &[("late", r#"["SHUTDOWN"]"#)]);
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    let started = Instant::now();
    let report = api.shutdown(ShutdownReason::Timeout, started - Duration::from_secs(1));
    // Nobody is waited for: far less than any budget.
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(report.deadline_ms < epoch_ms() - 900);
    assert_eq!(report.runtime, Stop::Killed);
    assert_eq!(report.extensions[0].stop, Stop::Killed);
    // It was still told, with the deadline as it was.
    let told = event(&mut waiting[0].1);
    assert_eq!(text(&told, "shutdownReason"), "timeout");
    assert_eq!(
        json::to_string(told.get("deadlineMs").unwrap()),
        report.deadline_ms.to_string()
    );
    runtime.wait().unwrap();
    extension.wait().unwrap();
}

#[test]
fn a_runtime_that_crashes_fails_its_invocation_and_ends_the_environment() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("witness");
    let mut runtime = process(false);
    api.runtime_pid(runtime.id());
    let mut waiting = through_init(&api, &[("witness", r#"["INVOKE","SHUTDOWN"]"#)]);
    let id = api.push(Event::new("{}"));
    assert_eq!(get_next(&api).status, 200);
    event(&mut waiting[0].1);
    let witness = waiting[0].0.clone();
    let mut next = ext_next(&api, &witness);
    // The runtime dies in the middle of the invocation.
    runtime.kill().unwrap();
    let told = event(&mut next);
    assert_eq!(text(&told, "eventType"), "SHUTDOWN");
    assert_eq!(text(&told, "shutdownReason"), "failure");
    let report = api.wait_shutdown(WAIT).unwrap();
    assert_eq!(report.reason, ShutdownReason::Failure);
    assert_eq!(report.runtime, Stop::Gone);
    assert!(!report.runtime_terminated);
    let done = api.wait_invocation_done(&id, WAIT).unwrap();
    assert_eq!(done.extensions.len(), 1);
    runtime.wait().unwrap();
}
