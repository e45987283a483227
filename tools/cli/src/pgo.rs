//! A profile-guided build of an example, for `package --pgo`: the pipeline
//! a CI job runs for a function of its own. Build it instrumented, run the
//! user's events through it under the mock Runtime API (cold starts, then
//! one warm process), merge the profiles, build it again with them.
//!
//! Three facts shape it. The profiling runtime writes its counts in
//! `exit()`, never on a kill, so each process here is ended by answering
//! its next `/next` with a 500, which the runtime treats as final at once
//! and exits. `llvm-profdata` must be of rustc's own LLVM major version,
//! as the raw format changes between majors; rustup's `llvm-tools`
//! component is that build. And both builds pass `--target` (the host's
//! when none is asked for), so RUSTFLAGS reach the bootstrap only, never
//! build scripts or proc macros, which would otherwise be instrumented and
//! write profiles of their own while cargo runs them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tiny_lambda_mock::{Event, Fault, Outcome, RuntimeApi};

use crate::bootstrap::{self, Process};
use crate::cargo::{self, Build};
use crate::failure::Failure;

/// How long any one step of the workload may take. The instrumented
/// binary is slower, but not by seconds.
const LIMIT: Duration = Duration::from_secs(30);

/// The memory size the bootstrap is told it has, as `bench` tells it.
const MEMORY_MB: u32 = 128;

/// What to run the instrumented build on.
pub struct Workload {
    /// The event bodies, in the order given.
    pub events: Vec<String>,
    /// Cold starts per event: a fresh process answering that event alone.
    pub cold: usize,
    /// Rounds of all events, in order, answered by one warm process.
    pub warm: usize,
}

/// What the pipeline made.
pub struct Built {
    /// The binary built with the profile.
    pub binary: PathBuf,
    /// The merged profile it was built with.
    pub profile: PathBuf,
    /// Raw profiles merged into it.
    pub raw_files: usize,
    /// Processes the workload started, and the invocations they answered.
    pub processes: usize,
    pub invocations: usize,
    /// Invocations answered with a function error: part of the workload
    /// when the events include bad input.
    pub function_errors: usize,
}

/// Builds example `name` as `build` says, instrumented, runs the workload,
/// merges the profiles and builds it again with them. Every file goes
/// under TARGET/pgo/NAME, so the normal build is never touched.
pub fn build(name: &str, build: &Build, workload: &Workload) -> Result<Built, Failure> {
    // Checked first: a missing tool should not cost a build to find out.
    let rustc = Rustc::ask()?;
    let profdata = llvm_profdata(&rustc)?;
    let base = cargo::target_dir()?.join("pgo").join(name);
    let raw = base.join("raw");
    let target = build.target.clone().unwrap_or_else(|| rustc.host.clone());
    if !runs_here(&target, &rustc.host) {
        return Err(Failure::Usage(format!(
            "--pgo runs the instrumented build here, on {}: it cannot train a build for {target}",
            rustc.host
        )));
    }

    say("instrumented build (-Cprofile-generate)");
    let generate = pgo_build(
        build,
        &target,
        base.join("instrumented"),
        generate_flag(&raw),
    );
    let instrumented = cargo::build_example(name, &generate)?;
    // Raw files of an earlier run would be merged into this one's.
    let _ = fs::remove_dir_all(&raw);
    fs::create_dir_all(&raw).map_err(|e| io_failure(&raw, &e))?;

    say(&format!(
        "workload: {} event(s), {} cold start(s) each, then {} round(s) in one warm process",
        workload.events.len(),
        workload.cold,
        workload.warm
    ));
    let ran = run_workload(&instrumented, workload)?;
    let raws = raw_profiles(&raw)?;
    if raws.is_empty() {
        return Err(Failure::Bootstrap(format!(
            "the instrumented build wrote no profile into {} (it writes one when it exits)",
            raw.display()
        )));
    }

    say(&format!("{} merge", profdata.display()));
    let merged = base.join("merged.profdata");
    let output = merge_command(&profdata, &merged, &raws)
        .output()
        .map_err(|e| Failure::Internal(format!("cannot run {}: {e}", profdata.display())))?;
    if !output.status.success() {
        return Err(Failure::Internal(format!(
            "llvm-profdata merge failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    // Named by its content: cargo rebuilds registry crates when RUSTFLAGS
    // change, not when the file they name does. Written once, so that an
    // unchanged profile leaves the last build as it is (rustc lists the
    // file among the bootstrap's inputs, and its time would change).
    let bytes = fs::read(&merged).map_err(|e| io_failure(&merged, &e))?;
    let profile = base.join(format!("{name}-{:016x}.profdata", fnv1a(&bytes)));
    if !profile.exists() {
        fs::write(&profile, &bytes).map_err(|e| io_failure(&profile, &e))?;
    }

    say("optimized build (-Cprofile-use)");
    let using = pgo_build(build, &target, base.join("optimized"), use_flag(&profile));
    let binary = cargo::build_example(name, &using)?;
    Ok(Built {
        binary,
        profile,
        raw_files: raws.len(),
        processes: ran.processes,
        invocations: ran.invocations,
        function_errors: ran.function_errors,
    })
}

/// `build` for one of the two PGO builds: the target always named, a
/// target directory of its own and one more rustc flag.
fn pgo_build(build: &Build, target: &str, target_dir: PathBuf, flag: String) -> Build {
    let mut pgo = build.clone();
    pgo.target = Some(target.to_owned());
    pgo.target_dir = Some(target_dir);
    pgo.rustflags.push(flag);
    pgo
}

/// The flag of the instrumented build: raw profiles go into `dir`.
pub fn generate_flag(dir: &Path) -> String {
    format!("-Cprofile-generate={}", dir.display())
}

/// The flag of the optimized build.
pub fn use_flag(profile: &Path) -> String {
    format!("-Cprofile-use={}", profile.display())
}

/// `llvm-profdata merge -o OUT RAW...`.
pub fn merge_command(tool: &Path, out: &Path, raws: &[PathBuf]) -> Command {
    let mut command = Command::new(tool);
    command.arg("merge").arg("-o").arg(out).args(raws);
    command
}

/// Whether a build for `target` runs on `host`: the same architecture and
/// operating system (a musl build runs on a glibc host).
fn runs_here(target: &str, host: &str) -> bool {
    let arch = |triple: &str| triple.split('-').next().unwrap_or("").to_owned();
    let os = |triple: &str| triple.contains("-linux-") || triple.ends_with("-linux");
    arch(target) == arch(host) && (target == host || (os(target) && os(host)))
}

/// The `.profraw` files in `dir`, sorted.
fn raw_profiles(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = fs::read_dir(dir).map_err(|e| io_failure(dir, &e))?;
    let mut raws: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "profraw"))
        .collect();
    raws.sort();
    Ok(raws)
}

/// What the workload did.
#[derive(Default)]
struct Ran {
    processes: usize,
    invocations: usize,
    function_errors: usize,
}

/// Cold starts of each event, then one process answering every event
/// `warm` times over.
fn run_workload(binary: &Path, workload: &Workload) -> Result<Ran, Failure> {
    let mut ran = Ran::default();
    for event in &workload.events {
        for _ in 0..workload.cold {
            ran.function_errors += serve(binary, &[event.as_str()])?;
            ran.processes += 1;
            ran.invocations += 1;
        }
    }
    if workload.warm > 0 {
        let rounds: Vec<&str> = (0..workload.warm)
            .flat_map(|_| workload.events.iter().map(String::as_str))
            .collect();
        ran.function_errors += serve(binary, &rounds)?;
        ran.processes += 1;
        ran.invocations += rounds.len();
    }
    Ok(ran)
}

/// One process of the instrumented build: it answers `events` one after
/// another and then exits, writing its profile. Returns how many answers
/// were function errors.
fn serve(binary: &Path, events: &[&str]) -> Result<usize, Failure> {
    let api = RuntimeApi::start()
        .map_err(|e| Failure::Internal(format!("cannot start the mock Runtime API: {e}")))?;
    let mut command = bootstrap::command(binary, &api, MEMORY_MB);
    // The directory given to -Cprofile-generate decides where counts go.
    command.env_remove("LLVM_PROFILE_FILE");
    let mut process = Process::spawn(command, true)?;
    let label = format!("the instrumented build ({})", binary.display());
    let mut errors = 0;
    for (i, event) in events.iter().enumerate() {
        if i + 1 == events.len() {
            // The /next that takes the last event must already be waiting,
            // so that the fault falls on the one after it.
            await_next_calls(&api, &mut process, i + 1, &label)?;
            api.fault_next(Fault::Status(500));
        }
        let id = api.push(Event::new(*event));
        let outcome = match bootstrap::await_outcome(&api, &mut process, &id, &label, LIMIT) {
            Ok(outcome) => outcome,
            // It may have answered and exited between two looks.
            Err(failure) => Some(api.wait_outcome(&id, Duration::ZERO).ok_or(failure)?),
        };
        match outcome {
            Some(Outcome::Response(_)) => {}
            Some(Outcome::Error(_)) => errors += 1,
            None => {
                return Err(Failure::Bootstrap(format!(
                    "{label} did not answer within {} s",
                    LIMIT.as_secs()
                )));
            }
        }
    }
    match process.wait_exit(LIMIT) {
        Some(status) if status.code().is_some() => Ok(errors),
        Some(status) => Err(Failure::Bootstrap(format!(
            "{label} was ended by a signal ({status}), so it wrote no profile"
        ))),
        None => Err(Failure::Bootstrap(format!(
            "{label} did not exit within {} s of its /next being refused with 500",
            LIMIT.as_secs()
        ))),
    }
}

/// Waits until the bootstrap has asked for its `n`th event, watching that
/// it stays alive.
fn await_next_calls(
    api: &RuntimeApi,
    process: &mut Process,
    n: usize,
    label: &str,
) -> Result<(), Failure> {
    let until = std::time::Instant::now() + LIMIT;
    while !api.wait_next_calls(n, Duration::from_millis(20)) {
        bootstrap::check_alive(api, process, label)?;
        if std::time::Instant::now() >= until {
            return Err(Failure::Bootstrap(format!(
                "{label} did not ask for event {n} within {} s",
                LIMIT.as_secs()
            )));
        }
    }
    Ok(())
}

/// What rustc says about itself.
struct Rustc {
    host: String,
    llvm_major: u32,
    sysroot: PathBuf,
}

impl Rustc {
    /// Asks the rustc cargo would use (`RUSTC`, else the one on PATH,
    /// which rustup points at the project's toolchain).
    fn ask() -> Result<Rustc, Failure> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let run = |args: &[&str]| {
            Command::new(&rustc)
                .args(args)
                .output()
                .ok()
                .filter(|out| out.status.success())
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .ok_or_else(|| Failure::Bootstrap(format!("cannot run rustc {}", args.join(" "))))
        };
        let version = run(&["-vV"])?;
        let (Some(host), Some(llvm_major)) = (
            version_field(&version, "host: "),
            version_field(&version, "LLVM version: ").and_then(|v| llvm_major(&v)),
        ) else {
            return Err(Failure::Bootstrap(
                "rustc -vV names no host or LLVM version".to_owned(),
            ));
        };
        let sysroot = PathBuf::from(run(&["--print", "sysroot"])?);
        Ok(Rustc {
            host,
            llvm_major,
            sysroot,
        })
    }
}

/// The value of a `NAME: value` line of `rustc -vV`.
fn version_field(text: &str, prefix: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(|value| value.trim().to_owned())
}

/// The major version of an LLVM version such as `22.1.2`.
fn llvm_major(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

/// The LLVM major version an `llvm-profdata --version` prints ("LLVM
/// version 22.1.2", after a vendor line or two).
fn tool_llvm_major(text: &str) -> Option<u32> {
    let (_, rest) = text.split_once("LLVM version ")?;
    llvm_major(rest.split_whitespace().next()?)
}

/// Where an `llvm-profdata` of LLVM `major` may be, best first: rustup's
/// llvm-tools component (rustc's own build) in the sysroot, then a
/// packaged one named for its version (Debian's llvm-NN), then any.
fn profdata_candidates(sysroot: &Path, host: &str, major: u32) -> Vec<PathBuf> {
    let own = sysroot
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-profdata");
    let mut candidates = vec![own];
    candidates.extend(on_path(&format!("llvm-profdata-{major}")));
    candidates.push(PathBuf::from(format!(
        "/usr/lib/llvm-{major}/bin/llvm-profdata"
    )));
    candidates.extend(on_path("llvm-profdata"));
    candidates
}

/// An `llvm-profdata` of rustc's LLVM major version, or the failure that
/// says how to install one.
fn llvm_profdata(rustc: &Rustc) -> Result<PathBuf, Failure> {
    let major = rustc.llvm_major;
    let candidates = profdata_candidates(&rustc.sysroot, &rustc.host, major);
    for candidate in &candidates {
        let Ok(out) = Command::new(candidate).arg("--version").output() else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && tool_llvm_major(&text) == Some(major) {
            return Ok(candidate.clone());
        }
    }
    Err(Failure::Bootstrap(format!(
        "no llvm-profdata of LLVM {major} (rustc's) found: run `rustup component add llvm-tools` \
         (it installs {}), or install a packaged llvm-profdata of LLVM {major} \
         (Debian: apt-get install llvm-{major})",
        candidates[0].display()
    )))
}

/// `name` in a directory of PATH, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// FNV-1a, 64 bits: a name for the profile that changes with its bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The events of one `--events` file: each element of a JSON array, as it
/// is written there; any other JSON value is one event. (So an event that
/// is itself an array is written inside one: `[[1, 2]]`.)
pub fn split_events(text: &str) -> Result<Vec<String>, String> {
    let text = text.trim();
    if miniserde::json::from_str::<miniserde::json::Value>(text).is_err() {
        return Err("not valid JSON".to_owned());
    }
    let Some(inner) = text.strip_prefix('[') else {
        return Ok(vec![text.to_owned()]);
    };
    // Valid JSON, so the array closes at the end and strings and nesting
    // are balanced: only top-level commas need finding.
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    let mut events = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in inner.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                events.push(inner[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim();
    if !last.is_empty() {
        events.push(last.to_owned());
    }
    if events.is_empty() {
        return Err("an empty array: no events".to_owned());
    }
    Ok(events)
}

/// Reads the events of one `--events` file.
pub fn read_events_file(path: &Path) -> Result<Vec<String>, Failure> {
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read events file {}: {e}", path.display())))?;
    split_events(&text)
        .map_err(|why| Failure::Usage(format!("events file {}: {why}", path.display())))
}

fn io_failure(path: &Path, e: &io::Error) -> Failure {
    Failure::Internal(format!("{}: {e}", path.display()))
}

/// A step of the pipeline, on stderr.
fn say(step: &str) {
    eprintln!("tiny-lambda package --pgo: {step}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_an_array_into_events_as_written() {
        let text = r#"
            [
              {"a": [1, 2], "s": "x, y ] }"},
              {"quote": "say \"hi\", \\"},
              [1, 2],
              "plain",
              7
            ]
        "#;
        assert_eq!(
            split_events(text).unwrap(),
            [
                r#"{"a": [1, 2], "s": "x, y ] }"}"#,
                r#"{"quote": "say \"hi\", \\"}"#,
                "[1, 2]",
                r#""plain""#,
                "7",
            ]
        );
    }

    #[test]
    fn takes_any_other_value_as_one_event() {
        let event = "{\n  \"version\": \"2.0\",\n  \"body\": \"[1,2]\"\n}\n";
        assert_eq!(split_events(event).unwrap(), [event.trim()]);
        assert_eq!(split_events("[[1, 2]]").unwrap(), ["[1, 2]"]);
    }

    #[test]
    fn refuses_what_is_no_events() {
        assert!(split_events("[]").is_err());
        assert!(split_events(" [ ] ").is_err());
        assert!(split_events("[{\"a\": 1},]").is_err());
        assert!(split_events("{\"a\": 1}\n{\"b\": 2}").is_err());
    }

    #[test]
    fn reads_versions_from_rustc_and_llvm_profdata() {
        let rustc = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\n\
                     host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";
        assert_eq!(
            version_field(rustc, "host: ").as_deref(),
            Some("x86_64-unknown-linux-gnu")
        );
        let version = version_field(rustc, "LLVM version: ").unwrap();
        assert_eq!(llvm_major(&version), Some(22));
        let rustup = "LLVM (http://llvm.org/):\n  LLVM version 22.1.2-rust-1.95.0-stable\n  Optimized build.\n";
        assert_eq!(tool_llvm_major(rustup), Some(22));
        let debian = "Debian LLVM version 19.1.7\n  Optimized build.\n";
        assert_eq!(tool_llvm_major(debian), Some(19));
        assert_eq!(tool_llvm_major("llvm-profdata: unknown option"), None);
    }

    #[test]
    fn looks_for_llvm_profdata_in_the_sysroot_first() {
        let candidates = profdata_candidates(
            Path::new("/root/.rustup/toolchains/stable"),
            "x86_64-unknown-linux-gnu",
            22,
        );
        assert_eq!(
            candidates[0],
            Path::new(
                "/root/.rustup/toolchains/stable/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-profdata"
            )
        );
        assert!(candidates.contains(&PathBuf::from("/usr/lib/llvm-22/bin/llvm-profdata")));
    }

    #[test]
    fn builds_the_pgo_command_lines() {
        let raw = Path::new("/t/pgo/echo/raw");
        assert_eq!(generate_flag(raw), "-Cprofile-generate=/t/pgo/echo/raw");
        assert_eq!(
            use_flag(Path::new("/t/pgo/echo/echo-1.profdata")),
            "-Cprofile-use=/t/pgo/echo/echo-1.profdata"
        );
        let raws = [raw.join("a.profraw"), raw.join("b.profraw")];
        let merge = merge_command(
            Path::new("llvm-profdata"),
            Path::new("/t/m.profdata"),
            &raws,
        );
        let args: Vec<_> = merge.get_args().collect();
        assert_eq!(
            args,
            [
                "merge",
                "-o",
                "/t/m.profdata",
                "/t/pgo/echo/raw/a.profraw",
                "/t/pgo/echo/raw/b.profraw"
            ]
        );
        let build = pgo_build(
            &Build::default(),
            "x86_64-unknown-linux-gnu",
            PathBuf::from("/t/pgo/echo/instrumented"),
            generate_flag(raw),
        );
        assert_eq!(build.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
        assert_eq!(build.profile, cargo::DEFAULT_PROFILE);
        assert_eq!(
            build.target_dir.as_deref(),
            Some(Path::new("/t/pgo/echo/instrumented"))
        );
        assert_eq!(build.rustflags, ["-Cprofile-generate=/t/pgo/echo/raw"]);
    }

    #[test]
    fn trains_only_builds_that_run_here() {
        let host = "x86_64-unknown-linux-gnu";
        assert!(runs_here(host, host));
        assert!(runs_here("x86_64-unknown-linux-musl", host));
        assert!(!runs_here("aarch64-unknown-linux-musl", host));
        assert!(!runs_here("x86_64-pc-windows-msvc", host));
    }

    #[test]
    fn names_profiles_by_content() {
        // The published FNV-1a test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
