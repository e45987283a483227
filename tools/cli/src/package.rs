//! The `package` verb: a bootstrap binary zipped the way Lambda's
//! `provided.al2023` runtime wants it, one executable file named
//! `bootstrap`, optionally built with a profile of the user's own events
//! (`--pgo`, the pipeline is in `pgo`). The zipping, and the timing of its
//! unzipping, are also used by `bench`.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lexopt::{Arg, ValueExt};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::cargo::{self, Build};
use crate::failure::Failure;
use crate::pgo::{self, Workload};
use crate::stats::Summary;

/// How many times the zip is inflated to time it.
pub const UNZIP_RUNS: usize = 21;

const HELP: &str = "\
Usage: tiny-lambda package --example NAME [--target TRIPLE] [--profile P]
                           [--features LIST] [--no-default-features]
                           [--pgo --events FILE... [--cold K] [--warm N]]
       tiny-lambda package --binary PATH --name NAME

Builds the example, with the features its `required-features` lists (or
takes the binary), and writes
target/lambda/NAME/bootstrap.zip, holding one deflated, executable file named
`bootstrap`. Prints the zip's path and bytes, the binary's bytes, and how
long inflating the zip takes here (the zip crate's reader, miniz_oxide; the
p50 of 21), which Lambda does before a new environment's first start.

With --pgo, a profile-guided build, the pipeline a CI job runs: the example
built instrumented (-Cprofile-generate, in TARGET/pgo/NAME/instrumented),
run on the events under the mock Runtime API (K cold starts per event, then
one process answering all of them N times over; each process then exits, as
the profile is written on exit), the profiles merged with an llvm-profdata
of rustc's LLVM (rustup component add llvm-tools), and the example built
again with -Cprofile-use (TARGET/pgo/NAME/optimized). That build is zipped;
the bytes without the profile (the normal build) are printed beside it.
Both builds name --target (the host's by default), so the flags reach the
bootstrap, not build scripts. Any RUSTFLAGS in the environment come first;
like all RUSTFLAGS they replace those of .cargo/config.toml.

Options:
  --example NAME    Build this example of the crate with cargo
  --target TRIPLE   Cross-compile for this target, such as aarch64-unknown-linux-musl
  --profile P       Cargo profile to build with [default: size]
  --features LIST   More cargo features to build with, comma- or
                    space-separated (repeatable)
  --no-default-features
                    Build without the crate's default features
  --binary PATH     Package this binary instead of building one
  --name NAME       The function's directory under target/lambda (with --binary)
  --pgo             Build with a profile of the events (needs --example, --events)
  --events FILE     Events to train on: a JSON array of events, or one JSON
                    event (any other value: to send an array as one event,
                    put it in one, [[1, 2]]); repeatable
  --cold K          With --pgo: cold starts per event [default: 3]
  --warm N          With --pgo: rounds of all events in the warm process
                    [default: 20]
  -h, --help        Print this help

Exit codes: 0 written, 2 usage error, 3 the build failed, the bootstrap
failed under the workload or no llvm-profdata was found, 4 I/O error.
";

/// What to package, as parsed from the command line.
enum Input {
    Example {
        name: String,
        build: Build,
        pgo: Option<Workload>,
    },
    Binary {
        path: PathBuf,
        name: String,
    },
}

/// Runs `tiny-lambda package`.
pub fn run(args: &mut lexopt::Parser) -> Result<(), Failure> {
    let Some(input) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let (binary, name, pgo) = match input {
        Input::Example {
            name,
            build,
            pgo: None,
        } => (cargo::build_example(&name, &build)?, name, None),
        Input::Example {
            name,
            build,
            pgo: Some(workload),
        } => {
            // The pipeline first: it checks its tools before building.
            let built = pgo::build(&name, &build, &workload)?;
            let plain = cargo::build_example(&name, &build)?;
            (built.binary.clone(), name, Some((plain, built)))
        }
        Input::Binary { path, name } => (path, name, None),
    };
    let bytes = read_binary(&binary)?;
    let zipped = zip_bootstrap(&bytes)?;
    // Beside the project's own build output; outside any cargo project (a
    // `--binary` from elsewhere), under `target/` here.
    let target = cargo::target_dir().unwrap_or_else(|_| PathBuf::from("target"));
    let dir = target.join("lambda").join(&name);
    let path = dir.join("bootstrap.zip");
    fs::create_dir_all(&dir)
        .and_then(|()| fs::write(&path, &zipped))
        .map_err(|e| Failure::Internal(format!("cannot write {}: {e}", path.display())))?;
    let unzip = Summary::of(&unzip_times(&zipped, UNZIP_RUNS)?);
    println!("{}", path.display());
    let Some((plain, built)) = pgo else {
        println!("zip:    {} bytes", zipped.len());
        println!("binary: {} bytes", bytes.len());
        println!("unzip:  {:.0} µs", unzip.p50);
        return Ok(());
    };
    let plain_bytes = read_binary(&plain)?;
    let plain_zipped = zip_bootstrap(&plain_bytes)?;
    let plain_unzip = Summary::of(&unzip_times(&plain_zipped, UNZIP_RUNS)?);
    let ratio = |with: usize, without: usize| with as f64 / without as f64;
    println!(
        "zip:    {} bytes (without the profile {}, ratio {:.3})",
        zipped.len(),
        plain_zipped.len(),
        ratio(zipped.len(), plain_zipped.len())
    );
    println!(
        "binary: {} bytes (without the profile {}, ratio {:.3})",
        bytes.len(),
        plain_bytes.len(),
        ratio(bytes.len(), plain_bytes.len())
    );
    println!(
        "unzip:  {:.0} µs (without the profile {:.0} µs)",
        unzip.p50, plain_unzip.p50
    );
    println!(
        "profile: {} ({} raw file(s) from {} process(es), {} invocation(s), {} function error(s))",
        built.profile.display(),
        built.raw_files,
        built.processes,
        built.invocations,
        built.function_errors
    );
    println!("without the profile: {}", plain.display());
    println!("with the profile:    {}", built.binary.display());
    Ok(())
}

fn read_binary(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path).map_err(|e| Failure::Bootstrap(format!("cannot read {}: {e}", path.display())))
}

/// The command line, or `None` when help was asked for.
fn parse(args: &mut lexopt::Parser) -> Result<Option<Input>, Failure> {
    let mut example = None;
    // The profile is told apart from its default: `--binary` takes none.
    let mut profile = None;
    let mut build = Build::default();
    let mut binary = None;
    let mut name = None;
    let mut pgo = false;
    let mut events = Vec::new();
    let (mut cold, mut warm) = (None, None);
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("example") => example = Some(args.value()?.string()?),
            Arg::Long("target") => build.target = Some(args.value()?.string()?),
            Arg::Long("profile") => profile = Some(args.value()?.string()?),
            Arg::Long("features") => build.add_features(&args.value()?.string()?),
            Arg::Long("no-default-features") => build.no_default_features = true,
            Arg::Long("binary") => binary = Some(PathBuf::from(args.value()?)),
            Arg::Long("name") => name = Some(args.value()?.string()?),
            Arg::Long("pgo") => pgo = true,
            Arg::Long("events") => events.extend(pgo::read_events_file(Path::new(&args.value()?))?),
            Arg::Long("cold") => cold = Some(args.value()?.parse()?),
            Arg::Long("warm") => warm = Some(args.value()?.parse()?),
            Arg::Long("help") | Arg::Short('h') => return Ok(None),
            other => return Err(other.unexpected().into()),
        }
    }
    let pgo = match (pgo, events.is_empty()) {
        (false, true) if cold.is_none() && warm.is_none() => None,
        (false, _) => {
            return Err(Failure::Usage(
                "--events, --cold and --warm go with --pgo".to_owned(),
            ));
        }
        (true, true) => return Err(Failure::Usage("--pgo needs --events FILE".to_owned())),
        (true, false) => Some(Workload {
            events,
            cold: cold.unwrap_or(3),
            warm: warm.unwrap_or(20),
        }),
    };
    if pgo.as_ref().is_some_and(|w| w.cold == 0 && w.warm == 0) {
        return Err(Failure::Usage(
            "--cold and --warm cannot both be 0: the profile would be empty".to_owned(),
        ));
    }
    match (example, binary, name) {
        (Some(example), None, None) => {
            if let Some(profile) = profile {
                build.profile = profile;
            }
            Ok(Some(Input::Example {
                name: example,
                build,
                pgo,
            }))
        }
        (None, Some(_), Some(_)) if pgo.is_some() => Err(Failure::Usage(
            "--pgo builds an example (--example NAME): it cannot rebuild a given binary".to_owned(),
        )),
        (None, Some(path), Some(name)) if !build.is_customised() && profile.is_none() => {
            Ok(Some(Input::Binary { path, name }))
        }
        (None, Some(_), None) => Err(Failure::Usage("--binary needs --name".to_owned())),
        _ => Err(Failure::Usage(
            "give either --example NAME [--target T] [--profile P] [--features LIST] \
             [--no-default-features], or --binary PATH --name NAME"
                .to_owned(),
        )),
    }
}

/// Zips `binary` in memory as one deflated file named `bootstrap`, with
/// mode 0755 so that Lambda can execute it.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>, Failure> {
    let failed =
        |e: &dyn std::fmt::Display| Failure::Internal(format!("cannot zip the bootstrap: {e}"));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o755);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("bootstrap", options)
        .map_err(|e| failed(&e))?;
    zip.write_all(binary).map_err(|e| failed(&e))?;
    let cursor = zip.finish().map_err(|e| failed(&e))?;
    Ok(cursor.into_inner())
}

/// Inflates the `bootstrap` of a zip written by [`zip_bootstrap`], with
/// the zip crate's reader (flate2 on miniz_oxide), its CRC checked.
pub fn unzip_bootstrap(zipped: &[u8]) -> Result<Vec<u8>, Failure> {
    let failed =
        |e: &dyn std::fmt::Display| Failure::Internal(format!("cannot unzip the bootstrap: {e}"));
    let mut archive = ZipArchive::new(Cursor::new(zipped)).map_err(|e| failed(&e))?;
    let mut file = archive.by_name("bootstrap").map_err(|e| failed(&e))?;
    let mut binary = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
    file.read_to_end(&mut binary).map_err(|e| failed(&e))?;
    Ok(binary)
}

/// Times [`unzip_bootstrap`] `runs` times: what unpacking the zip costs in
/// CPU before a new environment's first start (Lambda also writes the file,
/// which is not timed here). Meaningful only in a release build of this
/// command.
pub fn unzip_times(zipped: &[u8], runs: usize) -> Result<Vec<Duration>, Failure> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let binary = unzip_bootstrap(zipped)?;
        times.push(started.elapsed());
        std::hint::black_box(binary);
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::ZipArchive;

    #[test]
    fn zips_one_executable_bootstrap() {
        let binary = vec![7u8; 10_000];
        let zipped = zip_bootstrap(&binary).unwrap();
        assert!(zipped.len() < binary.len());
        let mut archive = ZipArchive::new(Cursor::new(zipped)).unwrap();
        assert_eq!(archive.len(), 1);
        let file = archive.by_index(0).unwrap();
        assert_eq!(file.name().unwrap(), "bootstrap");
        assert_eq!(file.compression(), CompressionMethod::Deflated);
        assert_eq!(file.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn unzips_what_it_zipped() {
        let binary: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let zipped = zip_bootstrap(&binary).unwrap();
        assert_eq!(unzip_bootstrap(&zipped).unwrap(), binary);
        assert_eq!(unzip_times(&zipped, 3).unwrap().len(), 3);
        assert!(unzip_bootstrap(b"not a zip").is_err());
    }

    fn parse_args(args: &[&str]) -> Result<Option<Input>, Failure> {
        parse(&mut lexopt::Parser::from_args(args.iter().copied()))
    }

    #[test]
    fn takes_pgo_with_events_only() {
        let dir = std::env::temp_dir().join(format!("tiny-lambda-pgo-args-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let events = dir.join("events.json");
        fs::write(&events, "[{\"a\": 1}, {\"b\": [2, 3]}]").unwrap();
        let events = events.to_str().unwrap();
        let Ok(Some(Input::Example { pgo: Some(w), .. })) = parse_args(&[
            "--example",
            "echo",
            "--pgo",
            "--events",
            events,
            "--events",
            events,
        ]) else {
            panic!("--pgo --events is a pgo package");
        };
        assert_eq!((w.events.len(), w.cold, w.warm), (4, 3, 20));
        assert_eq!(w.events[1], "{\"b\": [2, 3]}");
        let refused = |args: &[&str]| matches!(parse_args(args), Err(Failure::Usage(_)));
        assert!(refused(&["--example", "echo", "--pgo"]));
        assert!(refused(&["--example", "echo", "--events", events]));
        assert!(refused(&["--example", "echo", "--cold", "2"]));
        assert!(refused(&[
            "--binary", "b", "--name", "n", "--pgo", "--events", events
        ]));
        assert!(refused(&[
            "--example",
            "echo",
            "--pgo",
            "--events",
            events,
            "--cold",
            "0",
            "--warm",
            "0"
        ]));
        fs::remove_dir_all(&dir).unwrap();
    }
}
