//! Extensions beside a bootstrap, as Lambda runs `/opt/extensions/*`: each
//! started before the runtime, with the runtime's environment (so
//! `AWS_LAMBDA_RUNTIME_API` points at the mock), under its file name; its
//! output shown line by line after that name and handed to the mock as
//! `extension` telemetry; and the runtime started once they have all
//! registered, its own output handed over as `function` telemetry. `invoke`
//! and `bench` use it, and read what extensions add to init and to each
//! invocation from the mock's timestamps.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tiny_lambda_mock::{Completion, Init, LogSource, RuntimeApi, ShutdownReason, Stop};

use crate::bootstrap::{self, Process};
use crate::failure::Failure;

/// How long one wait lasts before the processes are looked at again.
const POLL: Duration = Duration::from_millis(20);

/// The extensions started for one environment, killed when dropped.
pub struct Extensions {
    running: Vec<(String, Process)>,
    /// Just before the first spawn: the start of the init phase.
    pub started: Instant,
}

/// The name Lambda gives an extension: its file name.
pub fn name(path: &Path) -> Result<String, Failure> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Failure::Usage(format!("no file name in {}", path.display())))
}

impl Extensions {
    /// No external extension: for a bootstrap whose own internal extension
    /// (`Runtime::on_shutdown`) asks for the shutdown Lambda would give it.
    pub fn none() -> Extensions {
        Extensions {
            running: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Starts each extension with the environment the bootstrap `program`
    /// gets, and waits (up to `limit`) until all have registered, as Lambda
    /// does before it starts the runtime. With `quiet`, their output is
    /// not shown (it still reaches telemetry subscribers).
    pub fn start(
        paths: &[PathBuf],
        program: &Path,
        api: &RuntimeApi,
        memory_mb: u32,
        quiet: bool,
        limit: Duration,
    ) -> Result<Extensions, Failure> {
        let started = Instant::now();
        let mut running = Vec::new();
        for path in paths {
            let name = name(path)?;
            api.external_extension(&name);
            let mut command = Command::new(path);
            bootstrap::set_lambda_env(&mut command, program, api, memory_mb);
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut process = Process::spawn(command, false)
                .map_err(|e| Failure::Bootstrap(format!("extension {name}: {e}")))?;
            api.extension_pid(&name, process.id());
            follow(
                api,
                LogSource::Extension,
                &mut process,
                &format!("[{name}] "),
                quiet,
            )?;
            running.push((name, process));
        }
        let mut extensions = Extensions { running, started };
        extensions.await_registered(api, limit)?;
        Ok(extensions)
    }

    /// Fails if an extension has exited.
    pub fn check_alive(&mut self) -> Result<(), Failure> {
        for (name, process) in &mut self.running {
            if let Some(status) = process.exited() {
                return Err(Failure::Bootstrap(format!(
                    "extension {name} exited early ({status})"
                )));
            }
        }
        Ok(())
    }

    fn await_registered(&mut self, api: &RuntimeApi, limit: Duration) -> Result<(), Failure> {
        let until = Instant::now() + limit;
        loop {
            if api.wait_registered(self.running.len(), POLL) {
                return Ok(());
            }
            self.check_alive()?;
            failed_init(api)?;
            if Instant::now() >= until {
                let registered = api.extensions();
                let missing: Vec<&str> = self
                    .running
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .filter(|name| !registered.iter().any(|e| e.name == *name))
                    .collect();
                return Err(Failure::Bootstrap(format!(
                    "extensions did not register within {} s: {}",
                    limit.as_secs(),
                    missing.join(", ")
                )));
            }
        }
    }

    /// Waits (up to `limit`) for the end of init: the runtime and every
    /// extension have called next.
    pub fn await_init(
        &mut self,
        api: &RuntimeApi,
        runtime: &mut Process,
        limit: Duration,
    ) -> Result<Init, Failure> {
        let until = Instant::now() + limit;
        loop {
            let init = api.wait_init(POLL);
            if let Some(failure) = &init.failure {
                return Err(Failure::Bootstrap(format!("init failed: {failure}")));
            }
            if init.done_at.is_some() {
                return Ok(init);
            }
            bootstrap::check_alive(api, runtime, "the bootstrap")?;
            self.check_alive()?;
            if Instant::now() >= until {
                return Err(Failure::Bootstrap(format!(
                    "init did not end within {} s",
                    limit.as_secs()
                )));
            }
        }
    }

    /// What extensions added to init, as a line: the whole init (from the
    /// first extension's start to the end of init), the runtime's own init
    /// (from its start to its first `/next`), the difference, and when each
    /// extension was ready.
    pub fn init_line(&self, api: &RuntimeApi, init: &Init, runtime_started: Instant) -> String {
        let total = init.done_at.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(self.started)
        });
        let alone = init.runtime_ready_at.map_or(Duration::ZERO, |r| {
            r.saturating_duration_since(runtime_started)
        });
        let mut line = format!(
            "INIT Duration: {:.2} ms\tRuntime alone: {:.2} ms\tAdded by extensions: {:.2} ms",
            millis(total),
            millis(alone),
            millis(total.saturating_sub(alone))
        );
        for extension in api.extensions() {
            let ready = extension.ready_at.map_or(Duration::ZERO, |r| {
                r.saturating_duration_since(self.started)
            });
            line.push_str(&format!(
                "\t{} ready: {:.2} ms",
                extension.name,
                millis(ready)
            ));
        }
        line
    }

    /// Ends the environment as Lambda does (SIGTERM to the runtime,
    /// `SHUTDOWN` to the extensions, SIGKILL at the deadline) and says how
    /// each process ended, a line each.
    pub fn shut_down(&mut self, api: &RuntimeApi, runtime: &mut Process) -> Vec<String> {
        let deadline = Instant::now() + api.shutdown_budget();
        let report = api.shutdown(ShutdownReason::Spindown, deadline);
        let mut lines = Vec::new();
        let signal = if report.runtime_terminated {
            "SIGTERM, then "
        } else {
            ""
        };
        lines.push(format!(
            "SHUTDOWN {}\truntime: {signal}{} ({})",
            report.reason.as_str(),
            stop_words(report.runtime),
            status_words(runtime.wait_exit(Duration::from_secs(1)))
        ));
        let registered = api.extensions();
        for stop in &report.extensions {
            let internal = registered
                .iter()
                .any(|e| e.name == stop.name && !e.external);
            if internal {
                lines.push(format!(
                    "SHUTDOWN {}\t{}: internal, ended with the runtime",
                    report.reason.as_str(),
                    stop.name
                ));
                continue;
            }
            let status = self
                .running
                .iter_mut()
                .find(|(name, _)| *name == stop.name)
                .map(|(_, process)| status_words(process.wait_exit(Duration::from_secs(1))));
            lines.push(format!(
                "SHUTDOWN {}\t{}: {}{}{}",
                report.reason.as_str(),
                stop.name,
                if stop.told { "told, " } else { "not told, " },
                stop_words(stop.stop),
                status.map_or(String::new(), |s| format!(" ({s})"))
            ));
        }
        lines
    }
}

/// Counts, with callgrind, the instructions an extension runs from exec to
/// its first `event/next`: alone against a mock of its own, with no
/// bootstrap, so the mock holds that call (init cannot end), and stopped
/// there with SIGTERM (valgrind still writes its counts on a fatal signal).
/// A telemetry batch delivered before the stop would add its listener's
/// work: that is refused, not counted. `invoke --callgrind` uses it.
pub fn count_instructions(path: &Path, program: &Path, memory_mb: u32) -> Result<u64, Failure> {
    const LIMIT: Duration = Duration::from_secs(120);
    let name = name(path)?;
    let api = RuntimeApi::start()
        .map_err(|e| Failure::Internal(format!("cannot start the mock Runtime API: {e}")))?;
    api.init_timeout(LIMIT);
    api.external_extension(&name);
    let out = std::env::temp_dir().join(format!(
        "tiny-lambda-{}-{name}.callgrind",
        std::process::id()
    ));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(path);
    bootstrap::set_lambda_env(&mut command, program, &api, memory_mb);
    let mut process = Process::spawn(command, true)
        .map_err(|e| Failure::Internal(format!("{e} (is valgrind installed?)")))?;
    api.extension_pid(&name, process.id());
    let until = Instant::now() + LIMIT;
    while !api
        .extensions()
        .iter()
        .any(|e| e.name == name && e.ready_at.is_some())
    {
        if let Some(status) = process.exited() {
            return Err(Failure::Bootstrap(format!(
                "extension {name} exited under callgrind before its first event/next ({status})"
            )));
        }
        if Instant::now() >= until {
            return Err(Failure::Bootstrap(format!(
                "extension {name} did not call event/next within {} s under callgrind",
                LIMIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = process.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .map_err(|e| Failure::Internal(format!("cannot run kill: {e}")))?;
    if process.wait_exit(LIMIT).is_none() {
        return Err(Failure::Internal(format!(
            "valgrind did not stop after SIGTERM for {name}"
        )));
    }
    let stopped = Instant::now();
    if api
        .telemetry_deliveries()
        .iter()
        .any(|d| d.subscriber == name && d.at <= stopped)
    {
        let _ = std::fs::remove_file(&out);
        return Err(Failure::Internal(format!(
            "a telemetry batch reached {name} before it was stopped: the count would include its listener's work"
        )));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| {
        Failure::Internal(format!(
            "cannot read callgrind output {}: {e}",
            out.display()
        ))
    })?;
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| Failure::Internal(format!("no summary or totals line in {}", out.display())))
}

/// Fails if the mock gave up on init.
fn failed_init(api: &RuntimeApi) -> Result<(), Failure> {
    match api.wait_init(Duration::ZERO).failure {
        Some(failure) => Err(Failure::Bootstrap(format!("init failed: {failure}"))),
        None => Ok(()),
    }
}

/// Starts the runtime beside extensions: its output piped through the mock
/// (as `function` telemetry) and shown as it is unless `quiet`, and its
/// process id given to the mock for the shutdown.
pub fn spawn_runtime(
    mut command: Command,
    api: &RuntimeApi,
    quiet: bool,
) -> Result<Process, Failure> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut process = Process::spawn(command, false)?;
    api.runtime_pid(process.id());
    follow(api, LogSource::Function, &mut process, "", quiet)?;
    Ok(process)
}

/// Hands a process's output to the mock, line by line, shown after
/// `prefix` on this command's own stdout and stderr unless `quiet`.
fn follow(
    api: &RuntimeApi,
    source: LogSource,
    process: &mut Process,
    prefix: &str,
    quiet: bool,
) -> Result<(), Failure> {
    let (stdout, stderr) = process.take_output();
    let streams: [(Option<Box<dyn Read + Send>>, bool); 2] = [
        (stdout.map(|s| Box::new(s) as Box<dyn Read + Send>), false),
        (stderr.map(|s| Box::new(s) as Box<dyn Read + Send>), true),
    ];
    for (stream, to_stderr) in streams {
        let Some(stream) = stream else { continue };
        let prefix = prefix.to_owned();
        let echo: Box<dyn FnMut(&str) + Send> = match (quiet, to_stderr) {
            (true, _) => Box::new(|_: &str| ()),
            (false, false) => Box::new(move |line: &str| {
                let _ = writeln!(io::stdout().lock(), "{prefix}{line}");
            }),
            (false, true) => Box::new(move |line: &str| {
                let _ = writeln!(io::stderr().lock(), "{prefix}{line}");
            }),
        };
        api.read_output(source, stream, echo)
            .map_err(|e| Failure::Internal(format!("cannot follow a process's output: {e}")))?;
    }
    Ok(())
}

/// What extensions added to one invocation, as a line: from the runtime's
/// answer to the last extension's `event/next`, and each one's share.
pub fn invocation_line(done: &Completion) -> String {
    let mut line = format!(
        "EXTENSIONS RequestId: {}\tOverhead: {:.2} ms",
        done.request_id,
        millis(done.done_at.saturating_duration_since(done.answered_at))
    );
    for (name, at) in &done.extensions {
        let after = at.saturating_duration_since(done.answered_at);
        line.push_str(&format!("\t{name}: {:.2} ms", millis(after)));
    }
    line
}

fn stop_words(stop: Stop) -> &'static str {
    match stop {
        Stop::NoProcess => "no process",
        Stop::Gone => "had exited",
        Stop::Exited => "exited",
        Stop::Killed => "killed (SIGKILL)",
    }
}

fn status_words(status: Option<ExitStatus>) -> String {
    status.map_or_else(|| "still running".to_owned(), |s| s.to_string())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_line_counts_from_the_answer() {
        let start = Instant::now();
        let done = Completion {
            request_id: "r-1".into(),
            handed_out_at: start,
            answered_at: start + Duration::from_millis(2),
            extensions: vec![
                // Done before the runtime answered: it added nothing.
                ("early".into(), start + Duration::from_millis(1)),
                ("late".into(), start + Duration::from_micros(3_500)),
            ],
            done_at: start + Duration::from_micros(3_500),
        };
        assert_eq!(
            invocation_line(&done),
            "EXTENSIONS RequestId: r-1\tOverhead: 1.50 ms\tearly: 0.00 ms\tlate: 1.50 ms"
        );
    }

    #[test]
    fn an_extension_is_named_by_its_file() {
        assert_eq!(
            name(Path::new("/opt/extensions/telemetry_extension")).unwrap(),
            "telemetry_extension"
        );
        assert!(name(Path::new("/")).is_err());
    }
}
