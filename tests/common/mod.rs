//! Shared test harness: run an example bootstrap against the mock Runtime API
//! and collect what it posted and what it logged.
#![allow(dead_code)] // Each test file uses a different part of the harness.

pub mod moto;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tiny_lambda_mock::{Event, Outcome, Posted, RuntimeApi};

/// Long enough for a loaded CI machine, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(10);

/// The path of an example built by `cargo test` (target/<profile>/examples/NAME).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test`, which builds the examples",
        path.display()
    );
    assert_same_transport(&path);
    path
}

/// Cargo keeps one `examples/NAME` per target directory: after a build with
/// other features, a build whose example is already fresh does not link it
/// back, so `examples/NAME` may be the other transport's. Tests of one
/// transport must never run the other's bootstraps, so check the binary
/// (debug builds name their source files) once per example.
fn assert_same_transport(path: &Path) {
    static CHECKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut checked = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    if checked.iter().any(|p| p == path) {
        return;
    }
    let bytes = std::fs::read(path).expect("example binary readable");
    let marker = b"transport/ureq_agent.rs";
    let has_ureq = bytes.windows(marker.len()).any(|w| w == marker);
    assert_eq!(
        has_ureq,
        cfg!(feature = "ureq"),
        "{} was built with the other transport; give each feature set its own \
         CARGO_TARGET_DIR (see README, Contributing)",
        path.display()
    );
    checked.push(path.to_path_buf());
}

/// A bootstrap process talking to its own mock.
pub struct Bootstrap {
    pub api: RuntimeApi,
    pub child: Child,
    stderr: Arc<Mutex<String>>,
    /// Reads stderr until the process closes it; joined once the process exits.
    reader: Option<thread::JoinHandle<()>>,
}

impl Bootstrap {
    /// Start a mock and the example `name` with the usual Lambda variables plus `env`.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Bootstrap {
        Bootstrap::start_path(example(name), env)
    }

    pub fn start_path(path: PathBuf, env: &[(&str, &str)]) -> Bootstrap {
        let api = RuntimeApi::start().expect("mock starts");
        let mut command = Command::new(path);
        command
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", "test-function")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test-function")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/23/[$LATEST]0123456789abcdef",
            )
            .env("RUST_BACKTRACE", "0");
        for (k, v) in env {
            command.env(k, v);
        }
        Bootstrap::spawn(api, command)
    }

    /// Spawn a prepared command against `api` (its address is set here).
    pub fn spawn(api: RuntimeApi, mut command: Command) -> Bootstrap {
        command.env("AWS_LAMBDA_RUNTIME_API", api.address());
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bootstrap spawns");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().expect("piped stderr");
        let reader = thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Bootstrap {
            api,
            child,
            stderr,
            reader: Some(reader),
        }
    }

    /// Push an event and wait for what the runtime posted for it.
    pub fn invoke(&self, event: Event) -> Outcome {
        let id = self.api.push(event);
        self.api
            .wait_outcome(&id, WAIT)
            .unwrap_or_else(|| panic!("no answer for {id}; stderr:\n{}", self.stderr()))
    }

    /// Push an event and expect a response; returns the post.
    pub fn respond(&self, event: Event) -> Posted {
        match self.invoke(event) {
            Outcome::Response(posted) => posted,
            Outcome::Error(posted) => {
                panic!("expected a response, got error {}", posted.body_str())
            }
        }
    }

    /// Push an event and expect an error report; returns the post.
    pub fn fail(&self, event: Event) -> Posted {
        match self.invoke(event) {
            Outcome::Error(posted) => posted,
            Outcome::Response(posted) => {
                panic!("expected an error, got response {}", posted.body_str())
            }
        }
    }

    /// Wait for the process to exit on its own; afterwards `stderr()` holds all it wrote.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The pipe closed with the process: the reader ends once it has it all.
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("stderr reader");
                }
                return status;
            }
            assert!(
                start.elapsed() < WAIT,
                "bootstrap did not exit; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the bootstrap wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until stderr contains `needle`.
    pub fn wait_log(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < WAIT,
                "log never said {needle:?}; stderr:\n{text}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command for the example `name` with an empty environment, for
/// [`Bootstrap::spawn`] against a mock prepared with faults.
pub fn example_command(name: &str) -> Command {
    let mut command = Command::new(example(name));
    command.env_clear();
    command
}

/// Build an example with `panic = "abort"`, with this test build's transport,
/// in a target dir of its own (a nested cargo must not wait on the lock of
/// the one running the tests).
pub fn panic_abort_example(name: &str) -> PathBuf {
    let transport = if cfg!(feature = "ureq") {
        "ureq"
    } else {
        "builtin"
    };
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("panic-abort-{transport}"));
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--quiet", "-j", "1", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_PANIC", "abort");
    if !cfg!(feature = "ureq") {
        command.args(["--no-default-features", "--features", "std,env_logger"]);
    }
    let status = command.status().expect("cargo runs");
    assert!(
        status.success(),
        "building {name} with panic = abort failed"
    );
    target.join("debug").join("examples").join(name)
}

/// Build the example `name`, whose required features are `features`, with
/// this test build's runtime features (transport, logger), in a target dir
/// of its own, and return its path. For a test file that must also pass when
/// run alone (`cargo test --test NAME` builds no examples, and an example
/// left from an earlier build may be stale); cargo's own freshness check
/// keeps the binary current. A nested cargo must not wait on the lock of the
/// one running the tests, hence the other target dir; each example is built
/// once per test binary, the first test to ask waiting for it.
pub fn build_example(name: &str, features: &[&str]) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    let transport = if cfg!(feature = "ureq") {
        "ureq"
    } else {
        "builtin"
    };
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("examples-{transport}"));
    let path = target.join("debug").join("examples").join(name);
    if built.iter().any(|b| b == name) {
        return path;
    }
    let mut all = vec!["std"];
    if cfg!(feature = "ureq") {
        all.push("ureq");
    }
    if cfg!(feature = "env_logger") {
        all.push("env_logger");
    }
    all.extend_from_slice(features);
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name])
        .args(["--no-default-features", "--features", &all.join(",")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the example {name} failed");
    assert_same_transport(&path);
    built.push(name.to_string());
    path
}
