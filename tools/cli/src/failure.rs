//! Why the command stopped, and the exit code that says so. Every module
//! returns a [`Failure`]; only `main` turns it into an exit code.

use std::fmt;

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
    /// The exit code, stable, as the top-level help lists them.
    pub fn exit_code(&self) -> u8 {
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
