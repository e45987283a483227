//! The `bench` verb: measures bootstraps side by side on this machine.
//!
//! For each bootstrap it takes cold starts (a fresh process each, timed from
//! spawn to the first `/next`, as Lambda's Init Duration), warm round trips
//! (one long-lived process, timed from handing the mock an event to
//! receiving the answer), peak memory and threads after the warm phase,
//! binary and zipped bytes, and optionally the instructions executed before
//! the first `/next` under callgrind. Bootstraps take turns at every step,
//! so that drift in the machine's speed hits all of them alike.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use lexopt::{Arg, ValueExt};
use tiny_lambda::emulator::{Event, MockApi, Outcome};

use crate::Failure;
use crate::bench_concurrent;
use crate::bootstrap::{self, ProcFigures, Process, Source};
use crate::invoke::read_event;
use crate::package::zip_bootstrap;

#[path = "bench_soak.rs"]
mod soak;
// A child module, so it shares this one's private helpers.
#[path = "bench_stream.rs"]
mod stream;
// The table, its JSON form and the progress line.
#[path = "bench_report.rs"]
mod report;

pub(crate) use report::{Row, progress, row};
use report::{number, print_rows, progress_done, rows};

const HELP: &str = "\
Usage: tiny-lambda bench [OPTIONS] (--example NAME | A)
                         [--against B | --against-example NAME] [--with C]...

Measures each bootstrap (A first, then B, C, ...), taking turns at every
step (A, B, C in one round, C, B, A in the next), and prints a table with one column per bootstrap and one ratio column
A/X per other bootstrap X: A's figure divided by X's, so below 1 means A is
smaller (faster, leaner) than X.

Figures:
  init        spawn to first /next, over the cold starts (like Init Duration)
  first       spawn to the first answer received, over the cold starts: init
              plus the first invocation, what a cold caller waits for
  warm        event handed to the mock to answer received, in one process
  peak memory VmHWM of the warm process, after the warm phase
  threads     threads of the warm process, after the warm phase
  bytes       the binary's size; zipped: as bootstrap.zip (deflate)
  instructions (--callgrind) executed from process start to the first /next
  instructions to first answer (--callgrind) the same, to the second /next,
              after answering one event: init plus the first invocation
Times are in microseconds: min, p50, p90, p99 (nearest rank), max, and the
sample standard deviation.

Options:
  --example NAME           A is this example of the crate, built on the fly
  --against PATH           B is this binary
  --against-example NAME   B is this example of the crate
  --with PATH              One more bootstrap to compare (repeatable)
  --floor PATH             Same as --with: a reference floor such as a bare
                           std echo (repeatable)
  --profile P              Cargo profile for examples [default: size]
  --cold K                 Cold starts per bootstrap [default: 20]
  --warm N                 Warm invocations per bootstrap [default: 1000]
  --event JSON|@FILE       The event to send [default: {}]
  --json                   Print JSON instead of the table
  --stream                 Measure streamed answers instead: time to first
                           and to last byte over --warm invocations, for
                           bootstraps like the `stream` example (event
                           default: {\"chunks\":8,\"bytes\":1024,\"delay_ms\":2})
  --callgrind              Also count instructions with valgrind
  --concurrency N          Instead: Lambda Managed Instances. Each bootstrap
                           runs with AWS_LAMBDA_MAX_CONCURRENCY=N and serves
                           N events at once; prints throughput, round trips,
                           peak memory and threads (try --example concurrent
                           --against size-report/peer-concurrent/target/size/peer-concurrent)
  --sleep-ms D             With --concurrency: the event {\"sleep_ms\": D}
                           [default: 100]
  --invocations M          With --concurrency: answers to count [default: 20 N]
  --soak N                 Instead: N warm invocations of A alone, VmRSS
                           sampled each tenth, and whether it stayed flat
                           after warm-up (exit 1 when it did not); with
                           --concurrency, N at a time
  -h, --help               Print this help

Exit codes:
  0  measured
  2  usage error
  3  a bootstrap could not be built or started, died, sent /init/error,
     or answered with an error
  4  internal or I/O error (including valgrind missing with --callgrind)
";

/// The memory size the bootstraps are told they have.
pub(crate) const MEMORY_MB: u32 = 128;

/// How long any one step may take before the bench gives up on it.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// Callgrind runs programs some fifty times slower.
const CALLGRIND_LIMIT: Duration = Duration::from_secs(300);

/// The command line of `bench`.
struct Options {
    sources: Vec<Source>,
    profile: String,
    cold: usize,
    warm: usize,
    event: String,
    json: bool,
    callgrind: bool,
    /// `--concurrency` and its settings: the Managed Instances bench instead.
    concurrent: Option<bench_concurrent::Settings>,
    soak: Option<usize>,
    stream: bool,
}

/// One bootstrap under measurement.
pub(crate) struct Subject {
    pub(crate) label: String,
    pub(crate) path: PathBuf,
}

impl Subject {
    /// How messages name it.
    pub(crate) fn name(&self) -> String {
        format!("bootstrap {} ({})", self.label, self.path.display())
    }
}

/// Everything measured for one bootstrap.
#[derive(Default)]
struct Measures {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    figures: ProcFigures,
    bytes: u64,
    zipped: u64,
    instructions: Option<u64>,
    instructions_first: Option<u64>,
}

/// One long-lived process for the warm phase, with its own mock.
struct Warm {
    api: MockApi,
    process: Process,
}

/// Runs `tiny-lambda bench`.
pub fn run(args: &mut lexopt::Parser) -> Result<(), Failure> {
    let Some(options) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let subjects = resolve(&options)?;
    if let Some(invocations) = options.soak {
        let [subject] = &subjects[..] else {
            return Err(Failure::Usage("--soak takes one bootstrap".to_owned()));
        };
        let concurrency = options.concurrent.as_ref().map(|c| c.concurrency);
        return soak::run(subject, invocations, concurrency, &options.event);
    }
    if let Some(settings) = &options.concurrent {
        let rows = bench_concurrent::measure(&subjects, settings);
        progress_done();
        let rows = rows?;
        print_rows(
            &options,
            &subjects,
            rows,
            &bench_concurrent::legend(settings),
        );
        return Ok(());
    }
    if options.stream {
        let measured = stream::run(&options, &subjects);
        progress_done();
        print!("{}", measured?);
        return Ok(());
    }
    let measured = measure(&options, &subjects);
    // The progress line goes either way, so that a failure reads cleanly.
    progress_done();
    let measures = measured?;

    let rows = rows(&measures, options.callgrind);
    let legend = format!(
        "{} cold starts, {} warm invocations each\n",
        options.cold, options.warm
    );
    print_rows(&options, &subjects, rows, &legend);
    Ok(())
}

/// Takes every figure of every bootstrap.
fn measure(options: &Options, subjects: &[Subject]) -> Result<Vec<Measures>, Failure> {
    let mut measures: Vec<Measures> = subjects.iter().map(|_| Measures::default()).collect();
    cold_phase(options, subjects, &mut measures)?;
    warm_phase(options, subjects, &mut measures)?;
    for (subject, measure) in subjects.iter().zip(&mut measures) {
        let binary = fs::read(&subject.path).map_err(|e| {
            Failure::Internal(format!("cannot read {}: {e}", subject.path.display()))
        })?;
        measure.bytes = binary.len() as u64;
        measure.zipped = zip_bootstrap(&binary)?.len() as u64;
        if options.callgrind {
            progress(&format!("callgrind {}", subject.label));
            measure.instructions = Some(count_instructions(subject, None)?);
            measure.instructions_first = Some(count_instructions(subject, Some(&options.event))?);
        }
    }
    Ok(measures)
}

/// Builds what needs building and labels the bootstraps A, B, C...
fn resolve(options: &Options) -> Result<Vec<Subject>, Failure> {
    let mut subjects = Vec::new();
    for (index, source) in options.sources.iter().enumerate() {
        let label = label(index);
        let path = source.resolve(&options.profile)?;
        subjects.push(Subject { label, path });
    }
    Ok(subjects)
}

fn label(index: usize) -> String {
    match u8::try_from(index) {
        Ok(i) if i < 26 => char::from(b'A' + i).to_string(),
        _ => format!("#{}", index + 1),
    }
}

/// K cold starts of each bootstrap, taking turns: A, B, A, B...
fn cold_phase(
    options: &Options,
    subjects: &[Subject],
    measures: &mut [Measures],
) -> Result<(), Failure> {
    for round in 1..=options.cold {
        for k in turn_order(round, subjects.len()) {
            let subject = &subjects[k];
            progress(&format!("cold {round}/{} {}", options.cold, subject.label));
            let (init, first) = cold_start(subject, &options.event)?;
            measures[k].init.push(init);
            measures[k].first.push(first);
        }
    }
    Ok(())
}

/// The order of the bootstraps in a round: A, B, C in odd rounds and
/// C, B, A in even ones. Going first or last in a round has its own cost
/// (caches, the scheduler), so every bootstrap takes each place equally.
fn turn_order(round: usize, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    if round % 2 == 0 {
        order.reverse();
    }
    order
}

/// One fresh process: its init duration, and the time to its first answer
/// (which must be an accepted response).
fn cold_start(subject: &Subject, event: &str) -> Result<(Duration, Duration), Failure> {
    let api = start_api()?;
    // Queued before the spawn, so the first `/next` is answered at once.
    let id = api.push(Event::new(event));
    let mut process = Process::spawn(bootstrap::command(&subject.path, &api, MEMORY_MB), true)?;
    let first = bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
    let answered = expect_response(&api, &mut process, &id, subject)?;
    Ok((
        first.saturating_duration_since(process.started),
        answered.saturating_duration_since(process.started),
    ))
}

/// N warm invocations of each bootstrap, all alive at once, taking turns.
fn warm_phase(
    options: &Options,
    subjects: &[Subject],
    measures: &mut [Measures],
) -> Result<(), Failure> {
    let mut warms = Vec::new();
    for subject in subjects {
        progress(&format!("warm start {}", subject.label));
        let api = start_api()?;
        let mut process = Process::spawn(bootstrap::command(&subject.path, &api, MEMORY_MB), true)?;
        bootstrap::await_first_next(&api, &mut process, &subject.name(), LIMIT)?;
        let mut warm = Warm { api, process };
        // The first invocation still pays for lazy set-up; it is not warm.
        round_trip(&mut warm, subject, &options.event)?;
        warms.push(warm);
    }
    for i in 1..=options.warm {
        for k in turn_order(i, subjects.len()) {
            let subject = &subjects[k];
            // Redrawing on every invocation would cost more than it shows.
            if i % 50 == 0 || i == options.warm {
                progress(&format!("warm {i}/{} {}", options.warm, subject.label));
            }
            measures[k]
                .warm
                .push(round_trip(&mut warms[k], subject, &options.event)?);
        }
    }
    for ((subject, warm), measure) in subjects.iter().zip(&warms).zip(measures.iter_mut()) {
        measure.figures = warm.process.figures().ok_or_else(|| {
            Failure::Internal(format!(
                "cannot read /proc/{}/status of {}",
                warm.process.id(),
                subject.name()
            ))
        })?;
    }
    Ok(())
}

/// One invocation: from handing the event to the mock to receiving the
/// answer, by the mock's clock.
fn round_trip(warm: &mut Warm, subject: &Subject, event: &str) -> Result<Duration, Failure> {
    let event = Event::new(event);
    let pushed = Instant::now();
    let id = warm.api.push(event);
    let answered = expect_response(&warm.api, &mut warm.process, &id, subject)?;
    Ok(answered.saturating_duration_since(pushed))
}

/// Waits for the answer and checks it is an accepted response; returns when
/// it arrived.
pub(crate) fn expect_response(
    api: &MockApi,
    process: &mut Process,
    id: &str,
    subject: &Subject,
) -> Result<Instant, Failure> {
    let name = subject.name();
    match bootstrap::await_outcome(api, process, id, &name, LIMIT)? {
        Some(Outcome::Response(posted)) if posted.status == 202 => Ok(posted.at),
        Some(Outcome::Response(posted)) => Err(Failure::Bootstrap(format!(
            "{name} posted a response the Runtime API refused with status {}",
            posted.status
        ))),
        Some(Outcome::Error(posted)) => Err(Failure::Bootstrap(format!(
            "{name} answered with a function error: {}",
            posted.body_str()
        ))),
        None => Err(Failure::Bootstrap(format!(
            "{name} did not answer within {} s",
            LIMIT.as_secs()
        ))),
    }
}

pub(crate) fn start_api() -> Result<MockApi, Failure> {
    MockApi::start()
        .map_err(|e| Failure::Internal(format!("cannot start the mock Runtime API: {e}")))
}

/// Counts the instructions from process start to the first `/next` with
/// callgrind, or, given an event, to the second: the first answer included.
/// The process is stopped there with SIGTERM; valgrind still writes its
/// counts on a fatal signal.
fn count_instructions(subject: &Subject, event: Option<&str>) -> Result<u64, Failure> {
    let api = start_api()?;
    let id = event.map(|event| api.push(Event::new(event)));
    let out = std::env::temp_dir().join(format!(
        "tiny-lambda-{}-{}.callgrind",
        std::process::id(),
        subject.label
    ));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&subject.path);
    bootstrap::set_lambda_env(&mut command, &subject.path, &api, MEMORY_MB);
    let mut process = Process::spawn(command, true)
        .map_err(|e| Failure::Internal(format!("{e} (is valgrind installed?)")))?;
    bootstrap::await_first_next(&api, &mut process, &subject.name(), CALLGRIND_LIMIT)?;
    if let Some(id) = id {
        bootstrap::await_outcome(&api, &mut process, &id, &subject.name(), CALLGRIND_LIMIT)?;
        if !api.wait_next_calls(2, CALLGRIND_LIMIT) {
            return Err(Failure::Internal(format!(
                "{} never asked for a second event",
                subject.name()
            )));
        }
    }
    let pid = process.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .map_err(|e| Failure::Internal(format!("cannot run kill: {e}")))?;
    if process.wait_exit(LIMIT).is_none() {
        return Err(Failure::Internal(format!(
            "valgrind did not stop after SIGTERM for {}",
            subject.name()
        )));
    }
    let text = fs::read_to_string(&out).map_err(|e| {
        Failure::Internal(format!(
            "cannot read callgrind output {}: {e}",
            out.display()
        ))
    })?;
    // The counts are read; the file was only a means.
    let _ = fs::remove_file(&out);
    callgrind_total(&text)
        .ok_or_else(|| Failure::Internal(format!("no summary or totals line in {}", out.display())))
}

/// The instruction count on a callgrind output's `summary:` or `totals:`
/// line (the first event column is instructions, `Ir`).
fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
}

/// The command line, or `None` when help was asked for.
fn parse(args: &mut lexopt::Parser) -> Result<Option<Options>, Failure> {
    let mut first = None;
    let mut second = None;
    let mut others = Vec::new();
    let mut profile = "size".to_owned();
    let mut cold = 20;
    let mut warm = 1000;
    let mut event = None;
    let mut json = false;
    let mut callgrind = false;
    let (mut concurrency, mut sleep_ms, mut invocations) = (None, 100, None);
    let mut soak = None;
    let mut streaming = false;
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("example") => {
                set_once(&mut first, Source::Example(args.value()?.string()?), "A")?
            }
            Arg::Value(path) => set_once(&mut first, Source::Path(PathBuf::from(path)), "A")?,
            Arg::Long("against") => {
                set_once(&mut second, Source::Path(PathBuf::from(args.value()?)), "B")?
            }
            Arg::Long("against-example") => {
                set_once(&mut second, Source::Example(args.value()?.string()?), "B")?
            }
            Arg::Long("with" | "floor") => others.push(Source::Path(PathBuf::from(args.value()?))),
            Arg::Long("profile") => profile = args.value()?.string()?,
            Arg::Long("cold") => cold = args.value()?.parse()?,
            Arg::Long("warm") => warm = args.value()?.parse()?,
            Arg::Long("event") => event = Some(read_event(&args.value()?.string()?)?),
            Arg::Long("stream") => streaming = true,
            Arg::Long("json") => json = true,
            Arg::Long("callgrind") => callgrind = true,
            Arg::Long("concurrency") => concurrency = Some(args.value()?.parse()?),
            Arg::Long("sleep-ms") => sleep_ms = args.value()?.parse()?,
            Arg::Long("invocations") => invocations = Some(args.value()?.parse()?),
            Arg::Long("soak") => soak = Some(args.value()?.parse()?),
            Arg::Long("help") | Arg::Short('h') => return Ok(None),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(first) = first else {
        return Err(Failure::Usage(
            "give a bootstrap: a PATH or --example NAME".to_owned(),
        ));
    };
    if cold == 0 || warm == 0 || soak == Some(0) {
        return Err(Failure::Usage(
            "--cold, --warm and --soak must be at least 1".to_owned(),
        ));
    }
    let sources = [first].into_iter().chain(second).chain(others).collect();
    let concurrent = match concurrency {
        None => None,
        Some(0) => {
            return Err(Failure::Usage(
                "--concurrency must be at least 1".to_owned(),
            ));
        }
        Some(n) => Some(bench_concurrent::Settings {
            concurrency: n,
            sleep_ms,
            invocations: invocations.unwrap_or(20 * n).max(1),
        }),
    };
    let default_event = if streaming {
        stream::DEFAULT_EVENT
    } else {
        "{}"
    };
    Ok(Some(Options {
        sources,
        profile,
        cold,
        warm,
        event: event.unwrap_or_else(|| default_event.to_owned()),
        json,
        callgrind,
        concurrent,
        soak,
        stream: streaming,
    }))
}

/// Sets a bootstrap slot that may be given only once.
fn set_once(slot: &mut Option<Source>, source: Source, which: &str) -> Result<(), Failure> {
    if slot.is_some() {
        return Err(Failure::Usage(format!("bootstrap {which} is given twice")));
    }
    *slot = Some(source);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callgrind_totals() {
        let text = "events: Ir\nfn=main\n1 5\nsummary: 123456\n";
        assert_eq!(callgrind_total(text), Some(123_456));
        assert_eq!(callgrind_total("events: Ir\ntotals: 42 7\n"), Some(42));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }

    #[test]
    fn ratios_divide_the_first_by_each_other() {
        let r = row("bytes", "B", vec![Some(50.0), Some(100.0), Some(0.0), None]);
        assert_eq!(r.ratios, vec![Some(0.5), None, None]);
    }

    #[test]
    fn turns_alternate_direction() {
        assert_eq!(turn_order(1, 3), [0, 1, 2]);
        assert_eq!(turn_order(2, 3), [2, 1, 0]);
    }

    #[test]
    fn labels_go_by_letter() {
        assert_eq!(
            (label(0), label(1), label(25), label(26)),
            ("A".into(), "B".into(), "Z".into(), "#27".into())
        );
    }
}
