//! Lambda Managed Instances: N invocations at once, on N OS threads.
//!
//! When Lambda sets `AWS_LAMBDA_MAX_CONCURRENCY`, its Runtime API accepts
//! that many concurrent `/next` and `/response` calls in one execution
//! environment. [`Runtime::serve_concurrent`] answers with N copies of the
//! one loop, `run_loop`, each on its own thread (the main thread is one of
//! them) with its own handler, sink and kept-alive connection: nothing is
//! shared but what the handlers borrow, the function's configuration and the
//! after-response hook. Any handler kind works, streaming and HTTP
//! included. Without the variable, or with 1, it is exactly
//! [`Runtime::serve`].
//!
//! What is per invocation stays per thread: the phase the panic hook and the
//! logger read (`in_flight`), and the connection. `_X_AMZN_TRACE_ID` cannot
//! hold N trace headers at once, so with N > 1 it is left unset, as the
//! tokio runtime does in its concurrent mode; the header is in
//! [`Context::xray_trace_id`] either way.
//!
//! On glibc each thread also gets a malloc arena of its own
//! ([`one_arena_per_thread`]): shared arenas made a long run's memory creep.

use std::format;
use std::string::String;
use std::sync::Arc;
use std::thread;

use super::in_flight::enter_runtime_thread;
use super::{Handler, Runtime, exit_with, trace_env};

/// The most threads `serve_concurrent` starts, whatever the variable says.
/// Lambda's own defaults are tens per vCPU; a value beyond this is a mistake
/// (or a typo), and thousands of threads would only cost memory.
pub const MAX_THREADS: usize = 512;

/// The stack of each thread `serve_concurrent` starts, unless
/// [`Runtime::thread_stack_size`] or `RUST_MIN_STACK` says otherwise: a
/// quarter of std's 2 MiB. The runtime's own loop runs in under 32 KiB
/// (size profile; under 128 KiB in a debug build); the rest is the
/// handler's. Only the pages a thread touches become resident: at 64 threads
/// peak memory measured the same with 64 KiB and 2 MiB stacks
/// (size-report/NOTES.md), so this bounds address space, not memory.
pub const DEFAULT_STACK_SIZE: usize = 512 * 1024;

impl Runtime {
    /// Serve events on as many threads as `AWS_LAMBDA_MAX_CONCURRENCY` asks
    /// for (Lambda Managed Instances), one otherwise. `make` builds each
    /// thread's handler, of any kind, on that thread: state the handler
    /// owns is per thread, and what it borrows from `make`'s surroundings is
    /// shared (keep it behind a `Mutex` or an atomic). SnapStart hooks run
    /// once, before any thread starts.
    ///
    /// ```no_run
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use tiny_lambda::{Context, Handler, Runtime};
    ///
    /// fn main() {
    ///     let served = AtomicU64::new(0);
    ///     Runtime::from_env().serve_concurrent(|| {
    ///         Handler::json(|name: String, ctx: &Context| {
    ///             let n = served.fetch_add(1, Ordering::Relaxed);
    ///             Ok::<_, String>(format!("hello {name} ({n}, {})", ctx.request_id))
    ///         })
    ///     })
    /// }
    /// ```
    ///
    /// A value that is not a positive integer is logged and served one at a
    /// time; one above [`MAX_THREADS`] is logged and served with that many.
    /// If a thread cannot be started, the runtime serves with the threads it
    /// has and logs how many. A fault that ends the loop on any thread ends
    /// the process, as in single mode.
    pub fn serve_concurrent<'a, M>(mut self, make: M) -> !
    where
        M: Fn() -> Handler<'a> + Sync,
    {
        self.snapstart();
        let (n, warning) = concurrency(std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().as_deref());
        if let Some(warning) = warning {
            log::warn!("{warning}");
        }
        if n == 1 {
            let fault = self.run_loop(&mut make());
            exit_with(&fault)
        }
        serve_on_threads(self, n, &make)
    }

    /// The stack size of each thread [`Runtime::serve_concurrent`] starts,
    /// in bytes (the main thread keeps its own). Default: `RUST_MIN_STACK`
    /// if set, else [`DEFAULT_STACK_SIZE`].
    pub fn thread_stack_size(mut self, bytes: usize) -> Runtime {
        self.thread_stack_size = Some(bytes);
        self
    }
}

/// One loop per unit of concurrency, `n` of them. Never returns: the first
/// fatal fault on any thread ends the process.
fn serve_on_threads<'a>(
    mut runtime: Runtime,
    n: usize,
    make: &(dyn Fn() -> Handler<'a> + Sync),
) -> ! {
    trace_env::leave_unset();
    one_arena_per_thread(n);
    let stack_size = runtime.thread_stack_size.unwrap_or_else(default_stack_size);
    // The scope never ends: the main thread's loop ends only by exiting the
    // process, and so does every other thread's.
    thread::scope(|scope| {
        let mut started = 1;
        for i in 1..n {
            let client = runtime.client.with_own_connection();
            let config = Arc::clone(&runtime.config);
            let after_response = runtime.after_response;
            let spawned = thread::Builder::new()
                .name(format!("lambda-{i}"))
                .stack_size(stack_size)
                .spawn_scoped(scope, move || {
                    enter_runtime_thread(client.clone());
                    // No init or SnapStart duties: those ran before the threads.
                    let mut runtime = Runtime {
                        client,
                        config,
                        after_response,
                        snapstart: None,
                        thread_stack_size: None,
                    };
                    let fault = runtime.run_loop(&mut make());
                    exit_with(&fault)
                });
            if let Err(e) = spawned {
                // Each further try would fail the same way (no memory, no
                // thread slots); fewer loops are still a correct runtime.
                log::warn!(
                    "could not start thread {} of {n} ({e}); serving {started} invocations at a time",
                    i + 1
                );
                break;
            }
            started += 1;
        }
        log::debug!("serving up to {started} invocations at a time");
        let fault = runtime.run_loop(&mut make());
        exit_with(&fault)
    })
}

/// glibc's default: threads get arenas of their own up to this many per core,
/// and share them beyond.
const GLIBC_ARENAS_PER_CORE: usize = 8;

/// On glibc, let each of the `n` threads allocate from an arena of its own,
/// before any of them starts.
///
/// glibc stops making arenas at 8 per core and puts further threads on
/// arenas already in use. Threads sharing one keep their freed blocks in
/// per-thread caches the others cannot reuse, so the arena grows a little
/// each time their invocations overlap in a new way: at N = 64 on 2 cores
/// (16 arenas), VmRSS rose 336 KiB over 300,000 invocations and was still
/// rising, while the bytes the program held stayed at 1.0 MB throughout.
/// With an arena per thread it was flat (size-report/NOTES.md, "Soak"). A
/// limit the user set, `MALLOC_ARENA_MAX` or `glibc.malloc.arena_max` in
/// `GLIBC_TUNABLES`, is theirs and is kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_arena_per_thread(n: usize) {
    let user_set = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc.arena_max"));
    let Some(limit) = arena_limit(n, cores(), user_set) else {
        return;
    };
    /// `M_ARENA_MAX` of `<malloc.h>`.
    const M_ARENA_MAX: core::ffi::c_int = -8;
    // SAFETY: mallopt takes malloc's own lock and only sets a limit glibc
    // reads when a thread first allocates; no loop thread has started yet
    // (a shutdown hook's threads may have, and keep the arenas they have).
    // `limit` is at most MAX_THREADS, so it fits.
    let set = unsafe { mallopt(M_ARENA_MAX, limit as core::ffi::c_int) };
    log::debug!("malloc arenas: up to {limit}, one per thread (mallopt said {set})");
}

/// Elsewhere (musl, other systems) the allocator has no such limit to raise.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_arena_per_thread(_n: usize) {}

/// The cores glibc's default counts: those this process may run on. Where
/// glibc counts more (every online CPU), its default is larger still, and
/// N arenas are enough for N threads either way. Not
/// `std::thread::available_parallelism`, which also reads cgroup files and
/// cost 15 KB of the concurrent example's bytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn cores() -> usize {
    // glibc's CPU_SETSIZE: 1,024 CPUs.
    let mut mask = [0_u64; 16];
    // SAFETY: the kernel writes at most `size_of_val(&mask)` bytes into it.
    let ok = unsafe { sched_getaffinity(0, core::mem::size_of_val(&mask), mask.as_mut_ptr()) } == 0;
    let count: u32 = mask.iter().map(|word| word.count_ones()).sum();
    if ok { (count as usize).max(1) } else { 1 }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc's `mallopt(3)`: set one of malloc's parameters.
    fn mallopt(param: core::ffi::c_int, value: core::ffi::c_int) -> core::ffi::c_int;
    /// `sched_getaffinity(2)`: the CPUs process `pid` (0: this one) may use.
    fn sched_getaffinity(pid: core::ffi::c_int, size: usize, mask: *mut u64) -> core::ffi::c_int;
}

/// The arena limit to ask glibc for with `n` threads on `cores` cores: none
/// when its default already gives each thread its own, or when the user set
/// one.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
fn arena_limit(n: usize, cores: usize, user_set: bool) -> Option<usize> {
    (!user_set && n > GLIBC_ARENAS_PER_CORE * cores).then_some(n)
}

/// `RUST_MIN_STACK` (std's own variable for the stacks of spawned threads)
/// if it is a number, else [`DEFAULT_STACK_SIZE`].
fn default_stack_size() -> usize {
    std::env::var("RUST_MIN_STACK")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_STACK_SIZE)
}

/// How many invocations to serve at once for a value of
/// `AWS_LAMBDA_MAX_CONCURRENCY`, and a warning when the value was not usable
/// as it stood. Unset means one; so does anything that is not a positive
/// integer (serving one at a time is correct for any limit Lambda meant).
/// More than [`MAX_THREADS`], however many digits, means that many.
pub(super) fn concurrency(value: Option<&str>) -> (usize, Option<String>) {
    let Some(raw) = value else {
        return (1, None);
    };
    let digits = raw.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let warning = format!(
            "AWS_LAMBDA_MAX_CONCURRENCY is {raw:?}, not a positive integer; serving one invocation at a time"
        );
        return (1, Some(warning));
    }
    // All digits: only an overflow fails, and that is more than MAX_THREADS too.
    match digits.parse::<usize>().unwrap_or(usize::MAX) {
        0 => (
            1,
            Some("AWS_LAMBDA_MAX_CONCURRENCY is 0; serving one invocation at a time".into()),
        ),
        n if n > MAX_THREADS => {
            let warning = format!(
                "AWS_LAMBDA_MAX_CONCURRENCY is {digits}, more than the {MAX_THREADS} threads tiny-lambda starts; serving {MAX_THREADS} at a time"
            );
            (MAX_THREADS, Some(warning))
        }
        n => (n, None),
    }
}

/// For [`Runtime::serve`]: one invocation at a time is always correct, but
/// under Managed Instances it leaves capacity unused, so say so once.
pub(super) fn note_one_at_a_time() {
    let Some(value) = std::env::var_os("AWS_LAMBDA_MAX_CONCURRENCY") else {
        return;
    };
    if value != "1" {
        log::warn!(
            "AWS_LAMBDA_MAX_CONCURRENCY is {value:?}, but Runtime::serve serves one invocation \
             at a time; use Runtime::serve_concurrent to serve several"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_is_asked_for_an_arena_per_thread_only_when_its_default_has_too_few() {
        // 2 cores: glibc's default is 16 arenas.
        assert_eq!(arena_limit(64, 2, false), Some(64));
        assert_eq!(arena_limit(17, 2, false), Some(17));
        assert_eq!(arena_limit(16, 2, false), None);
        assert_eq!(arena_limit(8, 2, false), None);
        assert_eq!(arena_limit(64, 8, false), None);
        // The user's own limit stands, whatever it is.
        assert_eq!(arena_limit(64, 2, true), None);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_cores_counted_are_those_the_process_may_use() {
        // std's figure is the affinity mask, lowered by any cgroup quota.
        let std_figure = thread::available_parallelism().unwrap().get();
        assert!(cores() >= std_figure, "{} < {std_figure}", cores());
    }

    #[test]
    fn the_variable_decides_how_many_threads() {
        assert_eq!(concurrency(None), (1, None));
        assert_eq!(concurrency(Some("1")), (1, None));
        assert_eq!(concurrency(Some("8")), (8, None));
        assert_eq!(concurrency(Some(" 64\n")), (64, None));
        assert_eq!(concurrency(Some("512")), (512, None));
        for bad in ["", "abc", "-4", "2.5", "+3", "0x10", "8 threads"] {
            let (n, warning) = concurrency(Some(bad));
            assert_eq!(n, 1, "{bad:?}");
            assert!(
                warning.unwrap().contains("not a positive integer"),
                "{bad:?}"
            );
        }
        let (n, warning) = concurrency(Some("0"));
        assert_eq!(n, 1);
        assert!(warning.unwrap().contains("is 0"));
        for huge in ["513", "100000", "99999999999999999999999999"] {
            let (n, warning) = concurrency(Some(huge));
            assert_eq!(n, MAX_THREADS, "{huge}");
            assert!(warning.unwrap().contains("serving 512 at a time"), "{huge}");
        }
    }
}
