//! The `tiny-lambda` command: starts a function project (`new`), runs a
//! Lambda bootstrap locally against the mock Runtime API (`invoke`),
//! measures one against others (`bench`), and packs one for upload
//! (`package`).
//!
//! This file owns the verb dispatch, the top-level help and the exit codes;
//! each verb lives in its own module.

mod bench;
mod bench_concurrent;
mod bootstrap;
mod invoke;
mod new;
mod package;
mod stats;
mod stream_view;

use std::fmt;

use lexopt::ValueExt;
use std::process::ExitCode;

const HELP: &str = "\
tiny-lambda: start, run, measure and package AWS Lambda bootstraps locally

Usage: tiny-lambda <COMMAND> [OPTIONS]

Commands:
  new      Write a new function project from a template (HTTP, SQS, streaming, AWS)
  invoke   Run a bootstrap against a mock Runtime API and print its answers
  bench    Measure cold starts, warm round trips, memory and size
  package  Write target/lambda/NAME/bootstrap.zip, ready for upload

Run `tiny-lambda <COMMAND> --help` for the options of each command.

Exit codes (stable):
  0  success
  1  an invocation returned a function error, or a comparison failed
  2  usage error
  3  the bootstrap could not be built or started, died, or sent /init/error
  4  internal or I/O error
";

/// Why the command stopped, which decides its exit code.
#[derive(Debug)]
pub enum Failure {
    /// An invocation returned a function error (exit 1). Its body was
    /// already printed.
    Function,
    /// The command line was wrong (exit 2).
    Usage(String),
    /// The bootstrap could not be built or started, died, or reported an
    /// init error (exit 3).
    Bootstrap(String),
    /// Anything else: files, sockets, the machine (exit 4).
    Internal(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Function => 1,
            Failure::Usage(_) => 2,
            Failure::Bootstrap(_) => 3,
            Failure::Internal(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Function => f.write_str("an invocation returned a function error"),
            Failure::Usage(message) => write!(f, "{message}\nRun `tiny-lambda --help` for usage."),
            Failure::Bootstrap(message) | Failure::Internal(message) => f.write_str(message),
        }
    }
}

impl From<lexopt::Error> for Failure {
    fn from(error: lexopt::Error) -> Failure {
        Failure::Usage(error.to_string())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // A function error has been shown as the function's own output.
            if !matches!(failure, Failure::Function) {
                eprintln!("tiny-lambda: {failure}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run() -> Result<(), Failure> {
    let mut args = lexopt::Parser::from_env();
    let verb = match args.next()? {
        Some(lexopt::Arg::Value(verb)) => verb.string()?,
        Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h')) => {
            print!("{HELP}");
            return Ok(());
        }
        Some(other) => return Err(other.unexpected().into()),
        None => {
            return Err(Failure::Usage(
                "a command is needed: new, invoke, bench or package".to_owned(),
            ));
        }
    };
    match verb.as_str() {
        "new" => new::run(&mut args),
        "invoke" => invoke::run(&mut args),
        "bench" => bench::run(&mut args),
        "package" => package::run(&mut args),
        other => Err(Failure::Usage(format!("unknown command `{other}`"))),
    }
}
