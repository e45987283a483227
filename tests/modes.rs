//! The two execution-environment modes against the mock Runtime API: Lambda
//! Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY`, the `concurrent`
//! example) and SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, the
//! `snapstart` example), with their faults.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;

use common::{Bootstrap, WAIT, example};
use tiny_lambda_mock::{Event, Fault, Outcome, RuntimeApi};

/// The `concurrent` example at DEBUG, with `AWS_LAMBDA_MAX_CONCURRENCY` if given.
fn concurrent(max: Option<&str>, limit: Option<usize>) -> Bootstrap {
    let api = RuntimeApi::start().expect("mock starts");
    if let Some(limit) = limit {
        api.max_concurrency(limit);
    }
    let mut command = lambda_command(example("concurrent"));
    command.env("RUST_LOG", "concurrent=debug,tiny_lambda=debug");
    if let Some(max) = max {
        command.env("AWS_LAMBDA_MAX_CONCURRENCY", max);
    }
    Bootstrap::spawn(api, command)
}

fn lambda_command(path: std::path::PathBuf) -> Command {
    let mut command = Command::new(path);
    command
        .env_clear()
        .env("AWS_LAMBDA_FUNCTION_NAME", "test-function")
        .env("RUST_BACKTRACE", "0");
    command
}

fn sleeping(ms: u64) -> Event {
    Event::new(format!(r#"{{"sleep_ms":{ms}}}"#))
}

/// `Threads:` of /proc/PID/status.
fn threads(b: &Bootstrap) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{}/status", b.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line["Threads:".len()..].trim().parse().unwrap()
}

/// Pushes all events at once, then waits for every answer; returns them by id.
fn invoke_all(b: &Bootstrap, events: Vec<Event>) -> HashMap<String, Outcome> {
    let ids: Vec<String> = events.into_iter().map(|e| b.api.push(e)).collect();
    ids.into_iter()
        .map(|id| {
            let outcome = b.api.wait_outcome(&id, WAIT);
            let outcome = outcome.unwrap_or_else(|| panic!("no answer for {id}:\n{}", b.stderr()));
            (id, outcome)
        })
        .collect()
}

fn response_of(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Response(posted) => posted.body_str(),
        Outcome::Error(posted) => panic!("an error: {}", posted.body_str()),
    }
}

/// The thread each request id was handled on and answered on, from the
/// example's DEBUG lines; also checks that each handler line names, in its
/// request-id column, the request it is about (the after-response hook runs
/// once the invocation is over, so its lines name none).
fn threads_by_request(log: &str) -> (HashMap<String, String>, HashMap<String, String>) {
    let (mut handled, mut answered) = (HashMap::new(), HashMap::new());
    for line in log.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let Some(message) = fields.get(3) else {
            continue;
        };
        let (table, rest) = if let Some(rest) = message.strip_prefix("concurrent: handling ") {
            (&mut handled, rest)
        } else if let Some(rest) = message.strip_prefix("concurrent: answered ") {
            (&mut answered, rest)
        } else {
            continue;
        };
        let mut words = rest.split(' ');
        let (id, thread) = (words.next().unwrap(), words.nth(1).unwrap());
        let expected = if message.contains("handling") { id } else { "" };
        assert_eq!(
            fields[1], expected,
            "a log line names another request: {line}"
        );
        table.insert(id.to_string(), thread.to_string());
    }
    (handled, answered)
}

#[test]
fn n_threads_serve_n_invocations_at_once_each_on_its_own_connection() {
    let b = concurrent(Some("4"), Some(4));
    assert!(b.api.wait_next_calls(4, WAIT), "{}", b.stderr());
    let events: Vec<Event> = (0..12)
        .map(|i| sleeping(150).trace_id(Some(&format!("Root=1-trace-{i}"))))
        .collect();
    let outcomes = invoke_all(&b, events);
    for (id, outcome) in &outcomes {
        assert_eq!(response_of(outcome), format!(r#"{{"request_id":"{id}"}}"#));
    }
    assert_eq!(b.api.peak_concurrency(), 4, "{}", b.stderr());
    assert_eq!(threads(&b), 4);

    let records = b.api.records();
    assert!(
        records.iter().all(|r| r.status != 403),
        "a /next beyond the limit"
    );
    let peers: HashSet<_> = records.iter().map(|r| r.peer.unwrap()).collect();
    assert_eq!(peers.len(), 4, "one kept-alive connection per thread");

    // Every line names its own request; the hook ran where the handler did;
    // the process-wide trace variable was never set.
    b.wait_log("answered");
    assert!(b.api.wait_next_calls(12 + 4, WAIT));
    let log = b.stderr();
    let (handled, answered) = threads_by_request(&log);
    assert_eq!(handled.len(), 12, "{log}");
    assert_eq!(handled, answered, "{log}");
    let names: HashSet<&String> = handled.values().collect();
    assert!(
        names
            .iter()
            .all(|n| *n == "main" || n.starts_with("lambda-")),
        "{names:?}"
    );
    assert!(!log.contains("_X_AMZN_TRACE_ID: Root="), "{log}");
}

#[test]
fn without_the_variable_one_thread_serves_one_at_a_time_and_sets_the_trace_variable() {
    for max in [None, Some("1")] {
        let b = concurrent(max, Some(1));
        let events = (0..3).map(|i| sleeping(30).trace_id(Some(&format!("Root=1-t-{i}"))));
        let outcomes = invoke_all(&b, events.collect());
        assert_eq!(outcomes.len(), 3);
        assert_eq!(b.api.peak_concurrency(), 1);
        assert_eq!(threads(&b), 1);
        let peers: HashSet<_> = b.api.records().iter().map(|r| r.peer.unwrap()).collect();
        assert_eq!(peers.len(), 1, "{max:?}");
        let log = b.wait_log("_X_AMZN_TRACE_ID: Root=1-t-2");
        assert!(!log.contains("WARN"), "{log}");
    }
}

#[test]
fn a_value_that_is_not_a_positive_integer_is_logged_and_served_one_at_a_time() {
    for bad in ["abc", "0", "-3", "2.5", ""] {
        let b = concurrent(Some(bad), None);
        let answer = b.invoke(sleeping(0));
        assert!(
            response_of(&answer).starts_with(r#"{"request_id":""#),
            "{bad:?}"
        );
        let log = b.wait_log("AWS_LAMBDA_MAX_CONCURRENCY is");
        assert!(
            log.contains("serving one invocation at a time"),
            "{bad:?}: {log}"
        );
        assert_eq!(threads(&b), 1, "{bad:?}");
    }
}

#[test]
fn an_absurd_value_is_capped_at_max_threads() {
    let b = concurrent(Some("1000000"), None);
    let log = b.wait_log("AWS_LAMBDA_MAX_CONCURRENCY is 1000000");
    assert!(log.contains("serving 512 at a time"), "{log}");
    // (Whether all 512 `/next` calls reach the mock at once depends on its
    // listen backlog, so the threads are counted, not the calls.)
    assert!(b.api.wait_next_calls(64, WAIT));
    let start = std::time::Instant::now();
    while threads(&b) < tiny_lambda::runtime::MAX_THREADS && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(threads(&b), tiny_lambda::runtime::MAX_THREADS);
    response_of(&b.invoke(sleeping(0)));
}

#[test]
fn run_with_a_single_threaded_handler_stays_one_at_a_time_and_says_so() {
    let api = RuntimeApi::start().unwrap();
    api.max_concurrency(1);
    let mut command = lambda_command(example("echo"));
    command.env("AWS_LAMBDA_MAX_CONCURRENCY", "8");
    let b = Bootstrap::spawn(api, command);
    let outcomes = invoke_all(&b, (0..4).map(|i| Event::new(i.to_string())).collect());
    assert_eq!(outcomes.len(), 4);
    b.wait_log("use Runtime::serve_concurrent to serve several");
    assert_eq!(threads(&b), 1);
}

#[test]
fn a_panic_fails_only_its_invocation_and_its_thread_goes_on() {
    let b = concurrent(Some("2"), Some(2));
    assert!(b.api.wait_next_calls(2, WAIT));
    let panicking = Event::new(r#"{"panic":"only this one"}"#);
    let outcomes = invoke_all(&b, vec![panicking.request_id("doomed"), sleeping(100)]);
    match &outcomes["doomed"] {
        Outcome::Error(posted) => {
            assert_eq!(
                posted.header("Lambda-Runtime-Function-Error-Type"),
                Some("Function.Panic")
            );
            assert!(
                posted.body_str().contains("only this one"),
                "{}",
                posted.body_str()
            );
        }
        other => panic!("{other:?}"),
    }
    // Both loops are back on /next, and both still serve at once.
    assert!(b.api.wait_next_calls(2 + 2, WAIT), "{}", b.stderr());
    let again = invoke_all(&b, vec![sleeping(300), sleeping(300)]);
    assert_eq!(again.len(), 2);
    assert_eq!(threads(&b), 2);
    assert!(b.api.wait_next_calls(4 + 2, WAIT), "{}", b.stderr());
}

#[test]
fn with_panic_abort_the_panicking_invocation_is_reported_before_the_process_dies() {
    let bin = panic_abort_example("concurrent");
    let api = RuntimeApi::start().unwrap();
    let mut command = lambda_command(bin);
    command
        .env("AWS_LAMBDA_MAX_CONCURRENCY", "2")
        .env("RUST_LOG", "debug");
    let mut b = Bootstrap::spawn(api, command);
    let slow = b.api.push(sleeping(5_000).request_id("slow"));
    b.wait_log("handling slow");
    let doomed = b
        .api
        .push(Event::new(r#"{"panic":"abort now"}"#).request_id("doomed"));
    match b.api.wait_outcome(&doomed, WAIT) {
        Some(Outcome::Error(posted)) => assert_eq!(
            posted.body_str(),
            r#"{"errorMessage":"abort now","errorType":"Panic","stackTrace":[]}"#
        ),
        other => panic!("{other:?}\n{}", b.stderr()),
    }
    assert!(!b.wait_exit().success());
    // The other invocation died with the process, unanswered.
    assert!(b.api.wait_outcome(&slow, Duration::ZERO).is_none());
}

/// A thread that cannot be started: a 256 MiB stack each (`RUST_MIN_STACK`)
/// under a 1 GiB address-space limit leaves room for a few threads, not 8.
#[test]
#[cfg(target_os = "linux")]
fn a_thread_that_cannot_be_spawned_leaves_the_runtime_serving_with_the_rest() {
    use std::os::unix::process::CommandExt;
    unsafe extern "C" {
        fn setrlimit(resource: i32, limit: *const [u64; 2]) -> i32;
    }
    const RLIMIT_AS: i32 = 9;
    const LIMIT: u64 = 1 << 30;

    let api = RuntimeApi::start().unwrap();
    let mut command = lambda_command(example("concurrent"));
    command
        .env("AWS_LAMBDA_MAX_CONCURRENCY", "8")
        .env("RUST_MIN_STACK", (256 << 20).to_string());
    // SAFETY: between fork and exec only setrlimit runs, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            let limit = [LIMIT, LIMIT];
            match setrlimit(RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let b = Bootstrap::spawn(api, command);
    let log = b.wait_log("invocations at a time");
    let started: usize = log
        .split("; serving ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert!(log.contains("could not start thread"), "{log}");
    assert!((1..8).contains(&started), "{log}");
    assert!(b.api.wait_next_calls(started, WAIT));
    let outcomes = invoke_all(&b, (0..started * 2).map(|_| sleeping(20)).collect());
    assert_eq!(outcomes.len(), started * 2);
    assert_eq!(threads(&b), started);
}

#[test]
fn the_mock_refuses_a_next_beyond_its_limit() {
    // The runtime asks for 3 loops where the environment allows 2.
    let b = concurrent(Some("3"), Some(2));
    b.wait_log("asking /next again");
    let refused = b.api.records().iter().filter(|r| r.status == 403).count();
    assert!(refused >= 1);
    assert!(b.stderr().contains("runtime API answered /next with 403"));
}

// ----------------------------------------------------------------- SnapStart

fn snapstart(env: &[(&str, &str)]) -> Bootstrap {
    let mut all = vec![("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")];
    all.extend_from_slice(env);
    Bootstrap::start("snapstart", &all)
}

#[test]
fn snapstart_runs_the_hooks_around_restore_next_and_reconnects() {
    let b = snapstart(&[]);
    assert!(b.api.wait_restore_next(WAIT), "{}", b.stderr());
    let log = b.wait_log("before snapshot");
    assert!(!log.contains("after restore"), "{log}");
    // Frozen until restored: no /next yet.
    std::thread::sleep(Duration::from_millis(100));
    assert!(!b.api.wait_next_calls(1, Duration::ZERO));

    b.api.restore();
    b.wait_log("after restore: reconnecting");
    assert_eq!(b.respond(Event::new(r#"{"n":1}"#)).body_str(), r#"{"n":1}"#);
    // Nothing went to the connection that carried /restore/next: it died
    // with the snapshot, and a runtime that tried it would wait forever.
    assert_eq!(b.api.requests_on_dead_connections(), 0);
    let records = b.api.records();
    let restore = records
        .iter()
        .find(|r| r.path.ends_with("/restore/next"))
        .unwrap();
    let next = records
        .iter()
        .find(|r| r.path.ends_with("/invocation/next"))
        .unwrap();
    assert_ne!(restore.peer, next.peer);
    assert!(!b.stderr().contains("WARN"), "{}", b.stderr());
}

#[test]
fn without_snapstart_the_hooks_never_run() {
    let b = Bootstrap::start("snapstart", &[]);
    assert_eq!(b.respond(Event::new("1")).body_str(), "1");
    let log = b.stderr();
    assert!(
        !log.contains("before snapshot") && !log.contains("after restore"),
        "{log}"
    );
    assert!(!b.api.wait_restore_next(Duration::ZERO));
}

#[test]
fn a_failing_after_restore_hook_is_reported_to_restore_error_and_ends_the_process() {
    let mut b = snapstart(&[("AFTER_RESTORE_FAIL", "1")]);
    assert!(b.api.wait_restore_next(WAIT));
    b.api.restore();
    let posted = b
        .api
        .wait_restore_error(WAIT)
        .expect("a /restore/error post");
    assert_eq!(
        posted.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.AfterRestoreError")
    );
    assert_eq!(
        posted.body_str(),
        r#"{"errorMessage":"AFTER_RESTORE_FAIL is set","errorType":"RestoreRefused","stackTrace":[]}"#
    );
    assert_eq!(b.wait_exit().code(), Some(1));
    assert!(!b.api.wait_next_calls(1, Duration::ZERO));
}

#[test]
fn a_panicking_after_restore_hook_is_reported_to_restore_error() {
    let mut b = snapstart(&[("AFTER_RESTORE_PANIC", "1")]);
    assert!(b.api.wait_restore_next(WAIT));
    b.api.restore();
    let posted = b
        .api
        .wait_restore_error(WAIT)
        .expect("a /restore/error post");
    assert!(
        posted
            .body_str()
            .contains("after-restore hook panicked on purpose")
    );
    assert!(!b.wait_exit().success());
}

#[test]
fn a_failing_before_snapshot_hook_is_an_init_error() {
    let mut b = snapstart(&[("BEFORE_SNAPSHOT_FAIL", "1")]);
    let posted = b.api.wait_init_error(WAIT).expect("an /init/error post");
    assert_eq!(
        posted.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.SnapshotRefused")
    );
    assert_eq!(b.wait_exit().code(), Some(1));
    assert!(!b.api.wait_restore_next(Duration::ZERO));
}

#[test]
fn restore_next_answering_an_error_or_closing_is_a_defined_exit() {
    for fault in [Fault::Status(500), Fault::Status(403), Fault::Close] {
        let api = RuntimeApi::start().unwrap();
        api.fault_restore(fault.clone());
        let mut command = lambda_command(example("snapstart"));
        command.env("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start");
        let mut b = Bootstrap::spawn(api, command);
        assert_eq!(b.wait_exit().code(), Some(1), "{fault:?}: {}", b.stderr());
        let log = b.stderr();
        let expected = match fault {
            Fault::Status(s) => format!("runtime API answered /restore/next with {s}; exiting"),
            _ => "runtime API unreachable".to_string(),
        };
        assert!(log.contains(&expected), "{fault:?}: {log}");
        assert!(!log.contains("after restore"), "{log}");
        // The restore never happened: Lambda hears of it as an init error.
        let posted = b.api.wait_init_error(Duration::ZERO);
        assert!(
            posted.is_some_and(|p| p.body_str().contains("RestoreNextFailed")),
            "{fault:?}"
        );
        assert!(!b.api.wait_next_calls(1, Duration::ZERO));
    }
}

#[test]
fn snapstart_then_concurrency_threads_start_after_the_restore() {
    let api = RuntimeApi::start().unwrap();
    api.max_concurrency(3);
    let mut command = lambda_command(example("concurrent"));
    command
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
        .env("AWS_LAMBDA_MAX_CONCURRENCY", "3");
    let b = Bootstrap::spawn(api, command);
    // The concurrent example registers no hooks: no /restore/next, threads at once.
    assert!(b.api.wait_next_calls(3, WAIT));
    assert!(!b.api.wait_restore_next(Duration::ZERO));
}

/// Build an example with `panic = "abort"` in a target dir of its own (a
/// nested cargo must not wait on the lock of the one running the tests).
fn panic_abort_example(name: &str) -> std::path::PathBuf {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("panic-abort");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-j", "1", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_PANIC", "abort")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building {name} with panic = abort failed"
    );
    target.join("debug").join("examples").join(name)
}
