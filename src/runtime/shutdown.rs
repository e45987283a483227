//! Graceful shutdown (feature `extension`): a hook that runs when Lambda
//! stops the execution environment.
//!
//! Lambda tells a runtime of its shutdown with SIGTERM, and only when at
//! least one extension is registered; without one it simply kills the
//! process. So [`Runtime::on_shutdown`] registers an internal extension,
//! this process itself, for no events (an internal extension cannot take
//! `SHUTDOWN`: the signal is its message), and then a signal handler and
//! two threads share the work:
//!
//! - the SIGTERM handler does only what a handler may: it writes one byte to
//!   a pipe, once (the self-pipe trick);
//! - `lambda-sigterm` waits on the pipe's other end, runs the hook, and
//!   exits the process with status 0; a watchdog thread, started then, warns
//!   if the hook is about to outlive Lambda's budget;
//! - `lambda-extension` keeps the extension's `event/next` parked: Lambda
//!   ends init only once the runtime and every registered extension have
//!   asked for their next event, and an extension registered for no events
//!   is never answered.
//!
//! `on_shutdown` sets all of this up itself, during init, before the first
//! `/next`; `Runtime` carries no field for it and `serve` never calls into
//! it. So a bootstrap that does not register a hook links none of it, and
//! one that does pays only here.
//!
//! Not even the feature may move a byte of a bootstrap that never calls
//! `on_shutdown`, and code that merely sits in the crate can: a second user
//! of something the runtime's loop uses (a `Mutex`, which std's channels
//! lock too; the drop code of the connection) changed how LLVM inlined it
//! into the loop, and echo built with `extension` grew or changed. So this
//! module keeps its hook behind an atomic pointer, its watchdog on an atomic
//! flag, and its extension leaked, never dropped. Echo's bytes are compared
//! in four builds: ureq and built-in, with and without the feature.

use std::boxed::Box;
use std::fs::File;
use std::io::Read;
use std::string::ToString;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{EXIT_FAILURE, Runtime, report_init_error};
use crate::client::Client;
use crate::error::Diagnostic;
use crate::extension::{Error, Extension};

/// The internal extension's name. Lambda takes a name that is no file of
/// `/opt/extensions` for an internal extension.
const NAME: &str = "tiny-lambda-shutdown";

/// How long the runtime has after SIGTERM before Lambda's SIGKILL, at the
/// least: the figures in circulation run from 300 to 500 ms by which
/// extensions are present (AWS's graceful shutdown sample gives a runtime
/// 300 ms beside external extensions and 500 ms with an internal one), so
/// the hook is held to the smallest. Telling the cases apart would mean
/// probing `/opt/extensions`, for a warning.
const BUDGET_MS: u64 = 300;
/// When a hook still running is warned about: a warning at the deadline
/// would race the kill and seldom be seen.
const WARN_AFTER_MS: u64 = 250;

/// The pauses before `event/next` is asked again after the connection
/// failed (after a SnapStart restore, the one parked over the snapshot is
/// dead). Few: an API that stays gone stays gone.
const NEXT_RETRY_DELAYS_MS: [u64; 3] = [20, 100, 500];

/// The stacks of the parked extension's thread and of the watchdog: each
/// makes one call or sleeps. The hook runs on a thread of std's default size.
const SMALL_STACK: usize = 128 * 1024;

/// The hook to run on SIGTERM, once: in a static rather than in `Runtime`,
/// so that only a bootstrap that calls `on_shutdown` links any of this.
type Hook = Box<dyn FnOnce() + Send>;
static HOOK: AtomicPtr<Hook> = AtomicPtr::new(core::ptr::null_mut());
/// Whether `on_shutdown` has set everything up.
static PREPARED: AtomicBool = AtomicBool::new(false);
/// Whether the hook has returned, for the watchdog.
static HOOK_DONE: AtomicBool = AtomicBool::new(false);

impl Runtime {
    /// Run `hook` when Lambda shuts the execution environment down (SIGTERM),
    /// then exit with status 0: flush what is buffered, close connections,
    /// say goodbye. Call it during init, before `serve`; a second call
    /// replaces the hook.
    ///
    /// Lambda gives the runtime 300 to 500 ms after SIGTERM, by which
    /// extensions are present, and then kills the process; the hook is held
    /// to 300 ms, and one still running after 250 ms is logged. It runs on a
    /// thread of its own, beside an invocation that may still be running (a
    /// shutdown after a timeout).
    ///
    /// To hear of its shutdown at all, the runtime registers an internal
    /// extension for no events (see the module's notes). Should that be
    /// refused, init fails: it is reported to `/init/error` and the process
    /// exits with [`EXIT_FAILURE`].
    ///
    /// ```no_run
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use tiny_lambda::{Context, Handler, Runtime};
    ///
    /// static SERVED: AtomicU64 = AtomicU64::new(0);
    ///
    /// fn main() {
    ///     Runtime::from_env()
    ///         .on_shutdown(|| log::info!("served {}", SERVED.load(Ordering::Relaxed)))
    ///         .serve(Handler::json(|name: String, _ctx: &Context| {
    ///             SERVED.fetch_add(1, Ordering::Relaxed);
    ///             Ok::<_, String>(name)
    ///         }))
    /// }
    /// ```
    pub fn on_shutdown(self, hook: impl FnOnce() + Send + 'static) -> Runtime {
        let hook: Box<Hook> = Box::new(Box::new(hook));
        drop(take(HOOK.swap(Box::into_raw(hook), Ordering::SeqCst)));
        if !PREPARED.swap(true, Ordering::SeqCst) {
            prepare(&self.client);
        }
        self
    }
}

/// Register the internal extension, install the handler, start the threads.
/// Every fault that would leave init hanging exits.
fn prepare(client: &Client) {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    // Leaked: it lives as long as the process (see the module's notes).
    let extension: &'static mut Extension = match Extension::register_at(&api, NAME, &[]) {
        Ok(extension) => Box::leak(Box::new(extension)),
        Err(e) => fail(client, "ShutdownRegisterFailed", &e),
    };
    // Before the parked `event/next`: once Lambda sees it, it may end init
    // and, later, send the signal.
    match signal::sigterm_pipe() {
        Ok(pipe) => {
            let waiting = thread::Builder::new()
                .name("lambda-sigterm".into())
                .spawn(move || wait_for_sigterm(pipe));
            if let Err(e) = waiting {
                log::warn!("cannot wait for SIGTERM ({e}); the shutdown hook will not run");
            }
        }
        Err(e) => log::warn!("cannot handle SIGTERM ({e}); the shutdown hook will not run"),
    }
    let parked = thread::Builder::new()
        .name("lambda-extension".into())
        .stack_size(SMALL_STACK)
        .spawn(move || park(extension));
    if let Err(e) = parked {
        // Registered but never asking for events, the extension would keep
        // init from ending until Lambda's init timeout.
        fail(client, "ShutdownThreadFailed", &e);
    }
}

fn fail(client: &Client, error_type: &str, fault: &dyn std::fmt::Display) -> ! {
    let diagnostic = Diagnostic::runtime(error_type, fault.to_string());
    report_init_error(client, &diagnostic);
    std::process::exit(EXIT_FAILURE)
}

/// Keep asking for the next event, which for an extension registered for
/// none never comes: the call is how Lambda knows the extension is ready.
fn park(extension: &mut Extension) {
    let mut delays = NEXT_RETRY_DELAYS_MS.iter();
    loop {
        let fault = match extension.park_next() {
            // Not asked for, but no reason to stop asking either.
            Ok(()) => {
                log::debug!("internal extension: an event it did not ask for");
                continue;
            }
            Err(fault @ Error::ApiGone(_)) => fault,
            Err(fault) => {
                log::warn!("internal extension stops asking for events: {fault}");
                return;
            }
        };
        let Some(&delay) = delays.next() else {
            log::warn!("internal extension stops asking for events: {fault}");
            return;
        };
        log::debug!("{fault}; asking event/next again in {delay} ms");
        thread::sleep(Duration::from_millis(delay));
    }
}

/// Wait for the handler's byte, run the hook, exit.
fn wait_for_sigterm(mut pipe: File) {
    if let Err(e) = pipe.read_exact(&mut [0]) {
        log::warn!("lost the SIGTERM pipe ({e}); the shutdown hook will not run");
        return;
    }
    log::debug!("SIGTERM: running the shutdown hook");
    let started = Instant::now();
    // A watchdog, so that a hook that is about to be killed is seen to be;
    // if it cannot start, only the warning is lost.
    let _ = thread::Builder::new()
        .name("lambda-watchdog".into())
        .stack_size(SMALL_STACK)
        .spawn(move || {
            thread::sleep(Duration::from_millis(WARN_AFTER_MS));
            if !HOOK_DONE.load(Ordering::SeqCst) {
                log::warn!(
                    "shutdown hook still running after {WARN_AFTER_MS} ms; Lambda may stop \
                     the process from {BUDGET_MS} ms on"
                );
            }
        });
    let hook = take(HOOK.swap(core::ptr::null_mut(), Ordering::SeqCst));
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(hook) = hook {
            hook();
        }
    }));
    HOOK_DONE.store(true, Ordering::SeqCst);
    // Milliseconds as `u64`: formatting the `u128` of `as_millis` would link
    // a kilobyte of code for it.
    let took_ms = started.elapsed().as_millis() as u64;
    if took_ms > BUDGET_MS {
        log::warn!(
            "shutdown hook took {took_ms} ms, more than the {BUDGET_MS} ms Lambda may allow"
        );
    }
    if ran.is_err() {
        log::error!("shutdown hook panicked; exiting");
        std::process::exit(EXIT_FAILURE)
    }
    std::process::exit(0)
}

/// Own the hook a pointer swapped out of [`HOOK`] points to, if any.
fn take(hook: *mut Hook) -> Option<Box<Hook>> {
    // SAFETY: every non-null pointer in `HOOK` comes from `Box::into_raw`,
    // and the swap that returned it took it out, so this is its one owner.
    (!hook.is_null()).then(|| unsafe { Box::from_raw(hook) })
}

/// SIGTERM's handler, declared by hand as `concurrency` declares `mallopt`:
/// the layout of `struct sigaction` and the constants are Linux's, for the
/// two architectures Lambda runs (glibc and musl agree on them).
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod signal {
    use core::ffi::{c_int, c_void};
    use std::fs::File;
    use std::io;
    use std::os::fd::FromRawFd;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

    const SIGTERM: c_int = 15;
    /// Restart a system call the signal interrupted (a runtime thread
    /// blocked in a read, say) rather than fail it with `EINTR`.
    const SA_RESTART: c_int = 0x1000_0000;
    const O_CLOEXEC: c_int = 0o2_000_000;

    /// The pipe's write end, for the handler.
    static WRITE_END: AtomicI32 = AtomicI32::new(-1);
    /// Set by the first SIGTERM: later ones write nothing.
    static RECEIVED: AtomicBool = AtomicBool::new(false);

    /// `struct sigaction`: the handler, a signal mask of 1,024 bits (empty:
    /// block nothing more while it runs), the flags, and a restorer the C
    /// library fills in itself.
    #[repr(C)]
    struct SigAction {
        handler: extern "C" fn(c_int),
        mask: [u64; 16],
        flags: c_int,
        restorer: usize,
    }

    unsafe extern "C" {
        /// `pipe2(2)`: a pipe, both ends closed on exec.
        fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
        /// `sigaction(2)`: install a handler.
        fn sigaction(signal: c_int, action: *const SigAction, old: *mut SigAction) -> c_int;
        /// `write(2)`: async-signal-safe, unlike almost everything else.
        fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    }

    /// Install the handler; the pipe's read end, which yields one byte after
    /// the first SIGTERM.
    pub(super) fn sigterm_pipe() -> io::Result<File> {
        let mut fds: [c_int; 2] = [-1; 2];
        // SAFETY: the kernel writes two descriptors into `fds`.
        if unsafe { pipe2(fds.as_mut_ptr(), O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        WRITE_END.store(fds[1], Ordering::SeqCst);
        // SAFETY: `fds[0]` was just opened and nothing else owns it.
        let read_end = unsafe { File::from_raw_fd(fds[0]) };
        let action = SigAction {
            handler: on_sigterm,
            mask: [0; 16],
            flags: SA_RESTART,
            restorer: 0,
        };
        // SAFETY: `action` is a valid `struct sigaction` for this target, and
        // the handler only does what a signal handler may.
        if unsafe { sigaction(SIGTERM, &action, core::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(read_end)
    }

    /// An atomic and one `write(2)`, both safe in a signal handler; at most
    /// one byte is ever written, so the pipe cannot fill and block it, and a
    /// write that succeeds leaves `errno` as the interrupted code had it.
    extern "C" fn on_sigterm(_signal: c_int) {
        if RECEIVED.swap(true, Ordering::SeqCst) {
            return;
        }
        let byte = 1_u8;
        // SAFETY: one byte from a live local to a descriptor this module
        // opened and never closes.
        unsafe {
            write(
                WRITE_END.load(Ordering::SeqCst),
                (&raw const byte).cast(),
                1,
            )
        };
    }
}

/// Lambda runs Linux on x86_64 and arm64 only; elsewhere (a developer's
/// machine) the hook is registered but no signal reaches it.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod signal {
    use std::fs::File;
    use std::io;

    pub(super) fn sigterm_pipe() -> io::Result<File> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SIGTERM is handled on Linux (x86_64, aarch64) only",
        ))
    }
}

/// The whole path, in a child process: this test binary run again for the
/// one test [`child`], against a scripted Runtime API in the parent, which
/// sends the child SIGTERM once its extension is parked. The integration
/// tests drive the `graceful` example against the mock the same way.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::http1;
    use std::io::{BufReader, Write};
    use std::net::TcpListener;
    use std::process::{Command, Output, Stdio};
    use std::string::String;
    use std::sync::mpsc;
    use std::vec::Vec;
    use std::{format, println};

    /// Set in the child: what [`child`] should do.
    const CHILD: &str = "TINY_LAMBDA_SHUTDOWN_CHILD";

    unsafe extern "C" {
        /// `kill(2)`.
        fn kill(pid: i32, signal: core::ffi::c_int) -> core::ffi::c_int;
    }

    /// Not a test on its own: the child's program, which does nothing unless
    /// [`CHILD`] is set. Registers a hook (sleeping that many milliseconds
    /// first), then waits as a runtime waits in `/next`.
    #[test]
    fn child() {
        let Ok(sleep_ms) = std::env::var(CHILD) else {
            return;
        };
        let sleep_ms: u64 = sleep_ms.parse().unwrap();
        let _runtime = Runtime::from_env().on_shutdown(move || {
            thread::sleep(Duration::from_millis(sleep_ms));
            println!("hook ran after {sleep_ms} ms");
        });
        loop {
            thread::sleep(Duration::from_secs(60));
        }
    }

    /// The requests the child sent (request line and body), in order.
    type Seen = Vec<(String, String)>;

    /// Serve the child: `register` answered with `status`, then `next` (or
    /// anything else) parked, and the request line of each sent on `tx`.
    fn serve(status: &'static str) -> (String, mpsc::Receiver<(String, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.unwrap());
                    while let Ok(Some((line, head))) = http1::read::read_request_head(&mut reader) {
                        let framing = http1::framing(&head, true).unwrap();
                        let body = http1::read::read_body(&mut reader, framing).unwrap();
                        let body = String::from_utf8(body).unwrap();
                        let register = line.path.ends_with("/extension/register");
                        let _ = tx.send((format!("{} {}", line.method, line.path), body));
                        if line.path.ends_with("/event/next") {
                            continue; // parked: the next read waits for the close
                        }
                        let answer = if register {
                            format!(
                                "HTTP/1.1 {status}\r\nLambda-Extension-Identifier: id-1\r\nContent-Length: 2\r\n\r\n{{}}"
                            )
                        } else {
                            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".into()
                        };
                        reader.get_mut().write_all(answer.as_bytes()).unwrap();
                    }
                });
            }
        });
        (address, rx)
    }

    /// Run [`child`] with `sleep_ms` against a Runtime API answering
    /// `register` with `status`; SIGTERM it once its `event/next` arrives.
    fn run_child(status: &'static str, sleep_ms: u64) -> (Output, Seen) {
        let (address, requests) = serve(status);
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "runtime::shutdown::tests::child", "--nocapture"])
            .env(CHILD, sleep_ms.to_string())
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env_remove("RUST_LOG")
            .env_remove("AWS_LAMBDA_LOG_LEVEL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut seen = Vec::new();
        while let Ok(request) = requests.recv_timeout(Duration::from_secs(10)) {
            let parked = request.0.ends_with("/event/next");
            let init_error = request.0.ends_with("/init/error");
            seen.push(request);
            if parked {
                // SAFETY: a plain system call on our own child's pid.
                assert_eq!(unsafe { kill(child.id() as i32, 15) }, 0);
                break;
            }
            if init_error {
                break;
            }
        }
        // Collect the output on another thread; kill the child if it hangs.
        let pid = child.id() as i32;
        let output = thread::spawn(move || child.wait_with_output().unwrap());
        let started = Instant::now();
        while !output.is_finished() && started.elapsed() < Duration::from_secs(10) {
            thread::sleep(Duration::from_millis(20));
        }
        if !output.is_finished() {
            // SAFETY: as above; SIGKILL.
            unsafe { kill(pid, 9) };
        }
        (output.join().unwrap(), seen)
    }

    #[test]
    fn sigterm_runs_the_hook_and_exits_0() {
        let (output, seen) = run_child("200 OK", 0);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(
            stdout.matches("hook ran after 0 ms\n").count(),
            1,
            "{stdout}"
        );
        let lines: Vec<_> = seen.iter().map(|(line, _)| line.as_str()).collect();
        assert_eq!(
            lines,
            [
                "POST /2020-01-01/extension/register",
                "GET /2020-01-01/extension/event/next"
            ]
        );
        // An internal extension, registered for no events.
        assert_eq!(seen[0].1, r#"{"events":[]}"#);
    }

    #[test]
    fn a_hook_that_overruns_the_budget_is_logged() {
        let (output, _) = run_child("200 OK", 600);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("hook ran after 600 ms\n"), "{stdout}");
        #[cfg(feature = "env_logger")]
        {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let early = "shutdown hook still running after 250 ms; Lambda may stop the process from 300 ms on";
            assert!(stderr.contains(early), "{stderr}");
            assert!(
                stderr.contains("more than the 300 ms Lambda may allow"),
                "{stderr}"
            );
        }
    }

    #[test]
    fn a_refused_registration_fails_init() {
        let (output, seen) = run_child("403 Forbidden", 0);
        assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{output:?}");
        let lines: Vec<_> = seen.iter().map(|(line, _)| line.as_str()).collect();
        assert_eq!(
            lines,
            [
                "POST /2020-01-01/extension/register",
                "POST /2018-06-01/runtime/init/error"
            ]
        );
        assert!(
            seen[1].1.contains("ShutdownRegisterFailed"),
            "{}",
            seen[1].1
        );
    }
}
