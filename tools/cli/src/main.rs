//! The `tiny-lambda` command: starts a function project (`new`), runs a
//! Lambda bootstrap locally against the mock Runtime API (`invoke`),
//! measures one against others (`bench`), and packs one for upload
//! (`package`).
//!
//! This file owns the verb dispatch and the top-level help; each verb lives
//! in its own module, and `failure` says which exit code each failure gets.
//!
//! The modules import one another in one direction only: the verbs (`new`,
//! `invoke`, `bench`, `package`) use the helpers (`stream_view`,
//! `extensions`, `bootstrap`, `page_cache`, `pgo`, `cargo`, `stats`,
//! `failure`), `bench` also takes `invoke`'s event reader and `package`'s
//! zipping and unzipping, and no helper uses a verb.

mod bench;
mod bootstrap;
mod cargo;
mod extensions;
mod failure;
mod invoke;
mod new;
mod package;
mod page_cache;
mod pgo;
mod stats;
mod stream_view;

use std::process::ExitCode;

use lexopt::ValueExt;

use failure::Failure;

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
