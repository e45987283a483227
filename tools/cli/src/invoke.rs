//! The `invoke` verb: runs a bootstrap against the mock Runtime API, hands
//! it events one at a time, and prints each answer followed by a REPORT
//! line shaped like Lambda's. A streamed answer is printed as it arrives
//! (`stream_view`). With `--extension`, extensions run beside it
//! (`extensions`), and the environment is shut down at the end as Lambda
//! shuts one down.

use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lexopt::{Arg, ValueExt};
use tiny_lambda_mock::{Event, Outcome, RuntimeApi};

use crate::bootstrap::{self, Process, Source};
use crate::cargo::Build;
use crate::extensions::{self, Extensions};
use crate::failure::Failure;
use crate::stream_view;

const HELP: &str = "\
Usage: tiny-lambda invoke [OPTIONS] (--example NAME | PATH) [EVENT...]

Starts the bootstrap against a mock Runtime API, invokes it once per EVENT,
and prints each response body (an error body prefixed with `ERROR `)
followed by a REPORT line like Lambda's. A streamed response is printed
chunk by chunk as it arrives; if it failed after its first byte, the error
its trailers carry follows on a line of its own (`ERROR after N bytes: `).
The bootstrap's own output goes to this terminal.

Events:
  EVENT is inline JSON text, @FILE for a file's contents, or - for stdin.
  With no EVENT, one event is read from stdin.

Options:
  --example NAME   Build and run this example of the crate, with the
                   features its `required-features` lists
  --profile P      Cargo profile for --example [default: size]
  --features LIST  More cargo features for --example, comma- or
                   space-separated (repeatable)
  --no-default-features
                   Build --example without the crate's default features
  --memory MB      AWS_LAMBDA_FUNCTION_MEMORY_SIZE to set [default: 128]
  --timeout SECS   Time each invocation may take, as Lambda's function
                   timeout [default: 3]
  --concurrency N  Lambda Managed Instances: set AWS_LAMBDA_MAX_CONCURRENCY=N,
                   allow N invocations at once, hand out all EVENTs at once,
                   and end with a line on stderr: invocations per second and
                   how many were in flight at most
  --extension PATH Run this external extension beside the bootstrap, as
                   Lambda runs /opt/extensions/* (repeatable)
  --callgrind      With --extension: first count, with valgrind, the
                   instructions each extension runs from exec to its first
                   event/next, alone against a mock of its own (a line on
                   stderr each: EXTENSION NAME instructions)
  -h, --help       Print this help

Extensions:
  Each is started before the bootstrap, with the same environment, under
  its file name; its output is shown after [NAME]. The bootstrap starts once
  all have registered, and the first event goes out once the bootstrap and
  every extension have called next. Extensions subscribed to the Telemetry
  API get platform records and the bootstrap's output lines.
  On stderr, after init: INIT Duration (first extension's start to the end
  of init), Runtime alone (the bootstrap's start to its first /next), Added
  by extensions, and when each extension was ready.
  On stdout, after each REPORT: EXTENSIONS Overhead, from the bootstrap's
  answer to the last extension's next call, and each extension's part.
  At the end the environment is shut down as Lambda does: SIGTERM to the
  bootstrap, SHUTDOWN to the extensions, SIGKILL at the deadline; a
  SHUTDOWN line on stderr says how each process ended. A bootstrap that
  registered an internal extension itself (Runtime::on_shutdown) gets the
  same shutdown without --extension; any other is just stopped.

Exit codes:
  0  every invocation returned a response
  1  an invocation returned a function error or timed out
  2  usage error
  3  the bootstrap could not be built or started, died, or sent /init/error
  4  internal or I/O error
";

/// How long Lambda lets a runtime initialise before its first `/next`.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// The command line of `invoke`.
struct Options {
    source: Source,
    build: Build,
    memory_mb: u32,
    timeout: Duration,
    events: Vec<String>,
    concurrency: Option<usize>,
    extensions: Vec<PathBuf>,
    callgrind: bool,
}

/// Runs `tiny-lambda invoke`.
pub fn run(args: &mut lexopt::Parser) -> Result<(), Failure> {
    let Some(options) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let events = read_events(&options.events)?;
    let program = options.source.resolve(&options.build)?;
    if options.callgrind {
        for path in &options.extensions {
            let count = extensions::count_instructions(path, &program, options.memory_mb)?;
            eprintln!(
                "EXTENSION {}\tinstructions to 1st event/next: {count}",
                extensions::name(path)?
            );
        }
    }
    let api = RuntimeApi::start()
        .map_err(|e| Failure::Internal(format!("cannot start the mock Runtime API: {e}")))?;
    api.memory_size(options.memory_mb);
    // Lambda starts the extensions first, and the runtime once they have
    // registered.
    let mut extensions = if options.extensions.is_empty() {
        None
    } else {
        Some(Extensions::start(
            &options.extensions,
            &program,
            &api,
            options.memory_mb,
            false,
            INIT_LIMIT,
        )?)
    };
    let mut command = bootstrap::command(&program, &api, options.memory_mb);
    if let Some(n) = options.concurrency {
        api.max_concurrency(n);
        command.env("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string());
    }
    let mut process = match extensions {
        None => Process::spawn(command, false)?,
        Some(_) => extensions::spawn_runtime(command, &api, false)?,
    };
    // A bootstrap that never asks for an event has an init problem, not a
    // slow invocation; Lambda gives the init phase 10 seconds.
    let init = match &mut extensions {
        None => {
            bootstrap::await_first_next(&api, &mut process, "the bootstrap", INIT_LIMIT)?;
            init_duration(&api, process.started)
        }
        Some(extensions) => {
            let init = extensions.await_init(&api, &mut process, INIT_LIMIT)?;
            eprintln!("{}", extensions.init_line(&api, &init, process.started));
            init.done_at
                .map(|done| done.saturating_duration_since(extensions.started))
        }
    };

    let mut function_error = false;
    let started = Instant::now();
    let count = events.len();
    // With a concurrency, every event is handed out at once; without, each
    // waits for the answer before it.
    let mut pushed: Vec<String> = Vec::new();
    if options.concurrency.is_some() {
        pushed = events
            .iter()
            .map(|body| api.push(Event::new(body.as_str()).timeout(options.timeout)))
            .collect();
    }
    for (index, body) in events.into_iter().enumerate() {
        let id = match pushed.get(index) {
            Some(id) => id.clone(),
            None => api.push(Event::new(body).timeout(options.timeout)),
        };
        // A late answer still counts while Lambda would be tearing down.
        let limit = options.timeout + Duration::from_secs(1);
        let Some(outcome) =
            stream_view::await_answer(&api, &mut process, &id, "the bootstrap", limit)?
        else {
            eprintln!(
                "{id} Task timed out after {:.2} seconds",
                options.timeout.as_secs_f64()
            );
            return Err(Failure::Function);
        };
        function_error |= show(&outcome)?;
        let posted = outcome.posted();
        // A streamed answer lasts until its end, not its first byte.
        let answered = posted.stream.as_ref().and_then(|s| s.ended_at);
        let duration = posted.handed_out_at.map_or(Duration::ZERO, |h| {
            answered.unwrap_or(posted.at).saturating_duration_since(h)
        });
        let peak_kib = process.figures().map_or(0, |f| f.peak_kib);
        let report = Report {
            request_id: &id,
            duration,
            memory_mb: options.memory_mb,
            peak_kib,
            init: init.filter(|_| index == 0),
        };
        println!("{}", report.line());
        // An answer the mock refused leaves the invocation open, as Lambda
        // would: extensions have nothing to finish yet.
        let over = matches!(outcome.posted().status, 202 | 410);
        if let Some(extensions) = extensions.as_mut().filter(|_| over) {
            match api.wait_invocation_done(&id, limit) {
                Some(done) => println!("{}", extensions::invocation_line(&done)),
                None => println!(
                    "EXTENSIONS RequestId: {id}\tnot done: an extension did not call event/next within {} s",
                    limit.as_secs()
                ),
            }
            extensions.check_alive()?;
        }
    }
    if let Some(n) = options.concurrency {
        let elapsed = started.elapsed();
        eprintln!(
            "{count} invocations at concurrency {n} in {:.2} ms: {:.1} per second, at most {} in flight",
            millis(elapsed),
            count as f64 / elapsed.as_secs_f64(),
            api.peak_concurrency()
        );
    }
    // Lambda shuts down an environment with any extension registered,
    // internal ones included (`on_shutdown`): SIGTERM, then SIGKILL at the
    // deadline. Without one, the bootstrap is simply stopped.
    if extensions.is_none() && !api.extensions().is_empty() {
        api.runtime_pid(process.id());
        extensions = Some(Extensions::none());
    }
    if let Some(extensions) = &mut extensions {
        for line in extensions.shut_down(&api, &mut process) {
            eprintln!("{line}");
        }
    }
    if function_error {
        Err(Failure::Function)
    } else {
        Ok(())
    }
}

/// Prints the answer; returns whether it was a function error.
fn show(outcome: &Outcome) -> Result<bool, Failure> {
    let posted = outcome.posted();
    if posted.stream.is_some() {
        let failed = stream_view::show_end(posted)?;
        return Ok(failed || refused(posted));
    }
    let mut out = io::stdout().lock();
    let written = match outcome {
        Outcome::Response(_) => out.write_all(&posted.body),
        Outcome::Error(_) => out
            .write_all(b"ERROR ")
            .and_then(|()| out.write_all(&posted.body)),
    };
    written
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Internal(format!("cannot write to stdout: {e}")))?;
    Ok(matches!(outcome, Outcome::Error(_)) || refused(posted))
}

/// Whether the mock refused the answer; says so if it did.
fn refused(posted: &tiny_lambda_mock::Posted) -> bool {
    let refused = posted.status != 202;
    if refused {
        eprintln!(
            "note: the mock Runtime API refused this answer with status {}, as Lambda would",
            posted.status
        );
    }
    refused
}

/// From spawn to the first `/next`: Lambda's Init Duration.
fn init_duration(api: &RuntimeApi, started: Instant) -> Option<Duration> {
    api.first_next_at()
        .map(|at| at.saturating_duration_since(started))
}

/// The figures of one REPORT line.
struct Report<'a> {
    request_id: &'a str,
    duration: Duration,
    memory_mb: u32,
    peak_kib: u64,
    /// Only on the first invocation of a process.
    init: Option<Duration>,
}

impl Report<'_> {
    /// The line as Lambda writes it: tab-separated, times in milliseconds,
    /// billed time rounded up to the whole millisecond Lambda bills by,
    /// memory in MB rounded up.
    fn line(&self) -> String {
        let billed_ms = self.duration.as_nanos().div_ceil(1_000_000).max(1);
        let used_mb = self.peak_kib.div_ceil(1024);
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {billed_ms} ms\tMemory Size: {} MB\tMax Memory Used: {used_mb} MB",
            self.request_id,
            millis(self.duration),
            self.memory_mb,
        );
        if let Some(init) = self.init {
            line.push_str(&format!("\tInit Duration: {:.2} ms", millis(init)));
        }
        line
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The command line, or `None` when help was asked for.
fn parse(args: &mut lexopt::Parser) -> Result<Option<Options>, Failure> {
    let mut example = None;
    let mut build = Build::default();
    let mut memory_mb = 128;
    let mut timeout = Duration::from_secs(3);
    let mut concurrency = None;
    let mut extensions = Vec::new();
    let mut callgrind = false;
    let mut positional = Vec::new();
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("example") => example = Some(args.value()?.string()?),
            Arg::Long("profile") => build.profile = args.value()?.string()?,
            Arg::Long("features") => build.add_features(&args.value()?.string()?),
            Arg::Long("no-default-features") => build.no_default_features = true,
            Arg::Long("memory") => memory_mb = args.value()?.parse()?,
            Arg::Long("timeout") => {
                let seconds: f64 = args.value()?.parse()?;
                timeout = Duration::try_from_secs_f64(seconds)
                    .ok()
                    .filter(|t| !t.is_zero())
                    .ok_or_else(|| {
                        Failure::Usage(format!(
                            "--timeout must be a positive number of seconds, not {seconds}"
                        ))
                    })?;
            }
            Arg::Long("concurrency") => match args.value()?.parse()? {
                0 => {
                    return Err(Failure::Usage(
                        "--concurrency must be at least 1".to_owned(),
                    ));
                }
                n => concurrency = Some(n),
            },
            Arg::Long("extension") => extensions.push(PathBuf::from(args.value()?)),
            Arg::Long("callgrind") => callgrind = true,
            Arg::Long("help") | Arg::Short('h') => return Ok(None),
            // A lone `-` is stdin, an event like any other.
            Arg::Value(value) => positional.push(value.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let source = match example {
        Some(name) => Source::Example(name),
        None if positional.is_empty() => {
            return Err(Failure::Usage(
                "give a bootstrap: a PATH or --example NAME".to_owned(),
            ));
        }
        None => Source::Path(PathBuf::from(positional.remove(0))),
    };
    check_extension_names(&extensions)?;
    if callgrind && extensions.is_empty() {
        return Err(Failure::Usage(
            "--callgrind counts extensions' instructions: give --extension PATH (bench --callgrind counts a bootstrap's)".to_owned(),
        ));
    }
    Ok(Some(Options {
        source,
        build,
        memory_mb,
        timeout,
        events: positional,
        concurrency,
        extensions,
        callgrind,
    }))
}

/// Lambda tells extensions apart by file name: two of one name cannot run
/// side by side.
pub fn check_extension_names(paths: &[PathBuf]) -> Result<(), Failure> {
    let mut names = Vec::new();
    for path in paths {
        let name = extensions::name(path)?;
        if names.contains(&name) {
            return Err(Failure::Usage(format!(
                "two extensions named {name}: Lambda tells them apart by file name"
            )));
        }
        names.push(name);
    }
    Ok(())
}

/// The event bodies, read from their sources and checked to be JSON, as
/// Lambda only accepts JSON payloads.
fn read_events(sources: &[String]) -> Result<Vec<String>, Failure> {
    let stdin_only = [String::from("-")];
    let sources = if sources.is_empty() {
        &stdin_only[..]
    } else {
        sources
    };
    if sources.iter().filter(|s| *s == "-").count() > 1 {
        return Err(Failure::Usage(
            "stdin (-) can be read for one event only".to_owned(),
        ));
    }
    sources.iter().map(|source| read_event(source)).collect()
}

/// Reads one event: `-` is stdin, `@FILE` a file, anything else the text.
pub fn read_event(source: &str) -> Result<String, Failure> {
    let text = if source == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Internal(format!("cannot read the event from stdin: {e}")))?;
        text
    } else if let Some(path) = source.strip_prefix('@') {
        fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("cannot read event file {path}: {e}")))?
    } else {
        source.to_owned()
    };
    // The newline that ends a file or a piped line is not part of the event.
    let text = text.trim_end().to_owned();
    match miniserde::json::from_str::<miniserde::json::Value>(&text) {
        Ok(_) => Ok(text),
        Err(_) => Err(Failure::Usage(format!(
            "the event is not valid JSON: {}",
            abbreviate(&text)
        ))),
    }
}

/// The start of a long text, for messages.
fn abbreviate(text: &str) -> String {
    let mut short: String = text.trim().chars().take(60).collect();
    if short.len() < text.trim().len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_matches_lambda() {
        let report = Report {
            request_id: "8f5a-id",
            duration: Duration::from_micros(1_234),
            memory_mb: 128,
            peak_kib: 2_049,
            init: Some(Duration::from_micros(4_560)),
        };
        assert_eq!(
            report.line(),
            "REPORT RequestId: 8f5a-id\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 3 MB\tInit Duration: 4.56 ms"
        );
    }

    #[test]
    fn report_line_bills_whole_milliseconds() {
        let at = |micros| Report {
            request_id: "id",
            duration: Duration::from_micros(micros),
            memory_mb: 512,
            peak_kib: 1024,
            init: None,
        };
        assert!(at(2_000).line().contains("Billed Duration: 2 ms\t"));
        assert!(at(2_001).line().contains("Billed Duration: 3 ms\t"));
        assert!(at(10).line().contains("Billed Duration: 1 ms\t"));
        assert!(at(10).line().ends_with("Max Memory Used: 1 MB"));
    }

    #[test]
    fn events_must_be_json() {
        assert_eq!(read_event(r#"{"a":1}"#).unwrap(), r#"{"a":1}"#);
        assert!(matches!(read_event("{oops"), Err(Failure::Usage(_))));
    }
}
