//! The `bench` verb: measures bootstraps side by side on this machine.
//!
//! This file owns the command line, labels the bootstraps (A, B, C...),
//! hands them to one mode and prints what it measured. The modes, one file
//! each: `cold_warm` (cold starts and warm round trips, the default),
//! `concurrent` (`--concurrency`), `soak` (`--soak`) and `stream`
//! (`--stream`); `cold_cache` (`--cold-cache`) adds its starts after the
//! default mode's. What they share sits below them: `subject` (a bootstrap
//! under measurement, its mock and process, one round trip) and `report`
//! (rows, the table, JSON, the progress line). Imports go one way: this
//! file uses the modes, the modes use `subject` and `report` (and `soak`
//! uses `concurrent`'s driver), and `report` uses `subject`.

use std::path::PathBuf;

use lexopt::{Arg, ValueExt};

use crate::bootstrap::Source;
use crate::cargo::Build;
use crate::failure::Failure;
use crate::invoke::{check_extension_names, read_event};

mod cold_cache;
mod cold_warm;
mod concurrent;
mod report;
mod soak;
mod stream;
mod subject;

use report::{Row, progress_done};
use subject::Subject;

const HELP: &str = "\
Usage: tiny-lambda bench [OPTIONS] (--example NAME | A)
                         [--against B | --against-example NAME] [--with C]...

Measures each bootstrap (A first, then B, C, ...), taking turns at every
step (A, B, C in one round, C, B, A in the next), and prints a table with
one column per bootstrap and one ratio column A/X per other bootstrap X:
A's figure divided by X's, so below 1 means A is smaller (faster, leaner)
than X.

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
With --extension, init and first count from the first extension's start,
as Lambda's Init Duration does, and three more figures follow:
  runtime init  the bootstrap's own start to its first /next
  ext init      init minus runtime init: what the extensions add to init
  ext overhead  per warm invocation, from the answer to the last
                extension's next call: what they add to each invocation
With --cold-cache, K more starts of each bootstrap follow the warm phase
(when no process keeps a binary mapped), taking turns: one with the binary
and the shared libraries it maps read into the page cache first (warm
cache), one with them evicted (fsync, then posix_fadvise DONTNEED; cold
cache, as Lambda starts a freshly unpacked function). Each is held at its
first /next while it is measured, then answers the event:
  init warm|cold cache  spawn to first /next, as init
  minor|major faults    /proc/PID/stat minflt, majflt at the first /next
                        (all threads; major ones waited on the disk)
  read binary|libs      bytes of the files the start brought into the page
                        cache: resident after the first /next (mincore),
                        not before; readahead included
  disk read             /proc/PID/io read_bytes at the first /next
  left in cache         bytes eviction could not drop: 0 for the binary
                        unless its file system keeps them (tmpfs; the
                        binary is then started from a copy in /var/tmp if
                        eviction works there, and the legend says so); a
                        library other processes map keeps their pages
  unzip                 inflating bootstrap.zip in memory with the zip
                        crate's reader, as Lambda unpacks it before a new
                        environment's first start: min and p50 of 21
Times are in microseconds: min, p50, p90, p99 (nearest rank), max, and the
sample standard deviation.

Options:
  --example NAME           A is this example of the crate, built on the fly
                           with the features it requires
  --against PATH           B is this binary
  --against-example NAME   B is this example of the crate
  --with PATH              One more bootstrap to compare (repeatable)
  --floor PATH             Same as --with: a reference floor such as a bare
                           std echo (repeatable)
  --profile P              Cargo profile for examples [default: size]
  --features LIST          More cargo features for examples, on top of the
                           ones each example's `required-features` lists,
                           comma- or space-separated (repeatable)
  --no-default-features    Build examples without the crate's default features
  --cold K                 Cold starts per bootstrap [default: 20]
  --warm N                 Warm invocations per bootstrap [default: 1000]
  --event JSON|@FILE       The event to send [default: {}]
  --json                   Print JSON instead of the table
  --stream                 Measure streamed answers instead: time to first
                           and to last byte over --warm invocations, for
                           bootstraps like the `stream` example (event
                           default: {\"chunks\":8,\"bytes\":1024,\"delay_ms\":2})
  --callgrind              Also count instructions with valgrind
  --cold-cache             Also K starts from a warm and K from a cold page
                           cache (figures above; Linux only)
  --extension PATH         Run this external extension beside every
                           bootstrap, as Lambda runs /opt/extensions/*
                           (repeatable; cold/warm bench only)
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

/// The command line of `bench`.
struct Options {
    sources: Vec<Source>,
    /// How examples are built: `--profile`, `--features`,
    /// `--no-default-features`.
    build: Build,
    cold: usize,
    warm: usize,
    event: String,
    json: bool,
    callgrind: bool,
    /// `--concurrency` and its settings: the Managed Instances bench instead.
    concurrent: Option<concurrent::Settings>,
    soak: Option<usize>,
    stream: bool,
    /// `--cold-cache`: starts from an evicted page cache too.
    cold_cache: bool,
    /// `--extension`: run beside every bootstrap.
    extensions: Vec<PathBuf>,
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
        let rows = concurrent::measure(&subjects, settings);
        progress_done();
        print_rows(&options, &subjects, rows?, &concurrent::legend(settings));
        return Ok(());
    }
    if options.stream {
        let measured = stream::run(&subjects, &options.event, options.warm);
        progress_done();
        print!("{}", measured?);
        return Ok(());
    }
    let settings = cold_warm::Settings {
        cold: options.cold,
        warm: options.warm,
        event: &options.event,
        callgrind: options.callgrind,
        extensions: &options.extensions,
    };
    let mut legend = cold_warm::legend(&settings);
    let rows = cold_warm::measure(&subjects, &settings).and_then(|mut rows| {
        if options.cold_cache {
            let (more, notes) = cold_cache::measure(&subjects, options.cold, &options.event)?;
            rows.extend(more);
            legend.push_str(&notes);
        }
        Ok(rows)
    });
    // The progress line goes either way, so that a failure reads cleanly.
    progress_done();
    print_rows(&options, &subjects, rows?, &legend);
    Ok(())
}

/// Prints the rows as the table under its legend, or with `--json` as JSON.
fn print_rows(options: &Options, subjects: &[Subject], rows: Vec<Row>, legend: &str) {
    if options.json {
        let json = report::json(options.cold, options.warm, subjects, rows);
        println!("{json}");
    } else {
        print!("{legend}{}", report::table(subjects, &rows));
    }
}

/// Builds what needs building and labels the bootstraps A, B, C...
fn resolve(options: &Options) -> Result<Vec<Subject>, Failure> {
    let mut subjects = Vec::new();
    for (index, source) in options.sources.iter().enumerate() {
        let label = label(index);
        let path = source.resolve(&options.build)?;
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

/// The command line, or `None` when help was asked for.
fn parse(args: &mut lexopt::Parser) -> Result<Option<Options>, Failure> {
    let mut first = None;
    let mut second = None;
    let mut others = Vec::new();
    let mut build = Build::default();
    let mut cold = 20;
    let mut warm = 1000;
    let mut event = None;
    let mut json = false;
    let mut callgrind = false;
    let (mut concurrency, mut sleep_ms, mut invocations) = (None, 100, None);
    let mut soak = None;
    let mut streaming = false;
    let mut cold_cache = false;
    let mut extensions = Vec::new();
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
            Arg::Long("profile") => build.profile = args.value()?.string()?,
            Arg::Long("features") => build.add_features(&args.value()?.string()?),
            Arg::Long("no-default-features") => build.no_default_features = true,
            Arg::Long("cold") => cold = args.value()?.parse()?,
            Arg::Long("warm") => warm = args.value()?.parse()?,
            Arg::Long("event") => event = Some(read_event(&args.value()?.string()?)?),
            Arg::Long("stream") => streaming = true,
            Arg::Long("json") => json = true,
            Arg::Long("callgrind") => callgrind = true,
            Arg::Long("cold-cache") => cold_cache = true,
            Arg::Long("concurrency") => concurrency = Some(args.value()?.parse()?),
            Arg::Long("sleep-ms") => sleep_ms = args.value()?.parse()?,
            Arg::Long("invocations") => invocations = Some(args.value()?.parse()?),
            Arg::Long("soak") => soak = Some(args.value()?.parse()?),
            Arg::Long("extension") => extensions.push(PathBuf::from(args.value()?)),
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
    check_extension_names(&extensions)?;
    let other_mode = concurrency.is_some() || soak.is_some() || streaming || callgrind;
    if !extensions.is_empty() && other_mode {
        return Err(Failure::Usage(
            "--extension works with the cold/warm bench only (not with --concurrency, --soak, --stream or --callgrind)".to_owned(),
        ));
    }
    let cold_warm_alone =
        concurrency.is_none() && soak.is_none() && !streaming && extensions.is_empty();
    if cold_cache && !cold_warm_alone {
        return Err(Failure::Usage(
            "--cold-cache works with the cold/warm bench only (not with --concurrency, --soak, --stream or --extension)".to_owned(),
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
        Some(n) => Some(concurrent::Settings {
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
        build,
        cold,
        warm,
        event: event.unwrap_or_else(|| default_event.to_owned()),
        json,
        callgrind,
        concurrent,
        soak,
        stream: streaming,
        cold_cache,
        extensions,
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
    fn labels_go_by_letter() {
        assert_eq!(
            (label(0), label(1), label(25), label(26)),
            ("A".into(), "B".into(), "Z".into(), "#27".into())
        );
    }
}
