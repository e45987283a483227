//! Getting a bootstrap to run: finding its binary (an example of this
//! crate is built by `cargo`), starting it with the environment Lambda gives
//! it, waiting on it while watching that it stays alive, and reading its
//! figures from `/proc`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tiny_lambda_mock::{Outcome, RuntimeApi, civil_date};

use crate::cargo::{self, Build};
use crate::failure::Failure;

/// The function name a local run pretends to be.
pub const FUNCTION_NAME: &str = "tiny-lambda-local";

/// How often a wait looks whether the bootstrap is still alive. Figures are
/// taken from the mock's own timestamps, so this does not blur them.
const POLL: Duration = Duration::from_millis(20);

/// Where a bootstrap comes from, as given on the command line.
#[derive(Clone, Debug)]
pub enum Source {
    /// A binary already built.
    Path(PathBuf),
    /// An example of this crate, built on the fly.
    Example(String),
}

impl Source {
    /// Builds the example if it is one, as `build` says, and returns the
    /// binary's path.
    pub fn resolve(&self, build: &Build) -> Result<PathBuf, Failure> {
        let path = match self {
            Source::Path(path) => path.clone(),
            Source::Example(name) => cargo::build_example(name, build)?,
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(Failure::Bootstrap(format!(
                "no bootstrap binary at {}",
                path.display()
            )))
        }
    }
}

/// A command for the bootstrap at `program`, with Lambda's environment.
pub fn command(program: &Path, api: &RuntimeApi, memory_mb: u32) -> Command {
    let mut command = Command::new(program);
    set_lambda_env(&mut command, program, api, memory_mb);
    command
}

/// Sets the variables Lambda gives every runtime process. The bootstrap is
/// `program` even when `command` runs it under another tool.
pub fn set_lambda_env(command: &mut Command, program: &Path, api: &RuntimeApi, memory_mb: u32) {
    let task_root = program
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{FUNCTION_NAME}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name())
        .env("_HANDLER", "bootstrap")
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1");
}

/// A log stream name shaped like Lambda's: `YYYY/MM/DD/[$LATEST]` and 32
/// hex digits.
fn log_stream_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (year, month, day) = civil_date(now.as_secs() / 86_400);
    let unique = u64::from(now.subsec_nanos()) ^ (u64::from(std::process::id()) << 32);
    format!(
        "{year:04}/{month:02}/{day:02}/[$LATEST]{unique:016x}{:016x}",
        now.as_secs()
    )
}

/// A running bootstrap, killed when dropped so that no early return leaves
/// one behind.
pub struct Process {
    child: Child,
    /// Just before the spawn: the start of the init phase.
    pub started: Instant,
}

/// What `/proc/PID/status` tells about a process.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcFigures {
    /// Peak resident memory (`VmHWM`), in KiB.
    pub peak_kib: u64,
    /// Threads alive now.
    pub threads: u64,
}

impl Process {
    /// Spawns `command`, with its output shown (`quiet` false) or thrown
    /// away.
    pub fn spawn(mut command: Command, quiet: bool) -> Result<Process, Failure> {
        if quiet {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        command.stdin(Stdio::null());
        let started = Instant::now();
        let child = command.spawn().map_err(|e| {
            let program = command.get_program().to_string_lossy().into_owned();
            Failure::Bootstrap(format!("cannot start {program}: {e}"))
        })?;
        Ok(Process { child, started })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its stdout and stderr, when the command piped them.
    pub fn take_output(&mut self) -> (Option<ChildStdout>, Option<ChildStderr>) {
        (self.child.stdout.take(), self.child.stderr.take())
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Peak memory and threads, while the process is alive (Linux only).
    pub fn figures(&self) -> Option<ProcFigures> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.id())).ok()?;
        parse_status(&status)
    }

    /// Waits up to `limit` for the process to end by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            thread::sleep(POLL);
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // It may have ended already; either way it must be reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `VmHWM` and `Threads` from the text of `/proc/PID/status`.
fn parse_status(status: &str) -> Option<ProcFigures> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<u64>().ok())
    };
    Some(ProcFigures {
        peak_kib: field("VmHWM:")?,
        threads: field("Threads:")?,
    })
}

/// Fails if the bootstrap died or reported an init error. `label` names it
/// in the message.
pub fn check_alive(api: &RuntimeApi, process: &mut Process, label: &str) -> Result<(), Failure> {
    if let Some(posted) = api.wait_init_error(Duration::ZERO) {
        return Err(Failure::Bootstrap(format!(
            "{label} reported an init error: {}",
            posted.body_str()
        )));
    }
    if let Some(status) = process.exited() {
        return Err(Failure::Bootstrap(format!(
            "{label} exited early ({status})"
        )));
    }
    Ok(())
}

/// Waits for the bootstrap's first `/next`, the end of its init phase.
pub fn await_first_next(
    api: &RuntimeApi,
    process: &mut Process,
    label: &str,
    limit: Duration,
) -> Result<Instant, Failure> {
    let until = Instant::now() + limit;
    loop {
        if api.wait_next_calls(1, POLL)
            && let Some(at) = api.first_next_at()
        {
            return Ok(at);
        }
        check_alive(api, process, label)?;
        if Instant::now() >= until {
            return Err(Failure::Bootstrap(format!(
                "{label} did not ask for an event within {} s",
                limit.as_secs()
            )));
        }
    }
}

/// Waits for the answer to one invocation; `None` if `limit` passed first.
pub fn await_outcome(
    api: &RuntimeApi,
    process: &mut Process,
    request_id: &str,
    label: &str,
    limit: Duration,
) -> Result<Option<Outcome>, Failure> {
    let until = Instant::now() + limit;
    loop {
        if let Some(outcome) = api.wait_outcome(request_id, POLL) {
            return Ok(Some(outcome));
        }
        check_alive(api, process, label)?;
        if Instant::now() >= until {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_status() {
        let text = "Name:\tbootstrap\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\nThreads:\t1\n";
        let figures = parse_status(text).unwrap();
        assert_eq!((figures.peak_kib, figures.threads), (2048, 1));
        assert!(parse_status("Name:\tzombie\n").is_none());
    }
}
