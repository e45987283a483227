//! What can go wrong: the runtime's own faults ([`Error`]) and the report a
//! failed invocation or a failed init sends to Lambda ([`Diagnostic`]).
//!
//! Both are plain data on `core` + `alloc`, so the sans-IO core can name its
//! failures without a socket or an allocator-hungry error crate.

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use core::fmt;

/// A fault of the runtime or of the Runtime API, never of the user's handler.
///
/// The loop decides from the variant whether to go on with the next event
/// ([`Error::is_fatal`] is false) or to exit the process non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `AWS_LAMBDA_RUNTIME_API` is not set: this process was not started by Lambda
    /// or by an emulator.
    MissingApiAddress,
    /// `AWS_LAMBDA_RUNTIME_API` is set but is not `host:port` or `http://host:port/prefix`.
    BadApiAddress(String),
    /// The Runtime API could not be reached, or closed the connection before it answered.
    ApiGone(String),
    /// `/invocation/next` answered something other than 200.
    NextStatus(u16),
    /// `/invocation/next` answered 200 without a usable `Lambda-Runtime-Aws-Request-Id`.
    MissingRequestId,
    /// The request id holds characters that cannot go into a URL path.
    BadRequestId(String),
    /// The Runtime API refused a post about one invocation (400, 403, 410, 413):
    /// that invocation is lost, the environment is fine.
    Refused {
        /// The HTTP status the API answered.
        status: u16,
        /// What the API said, as text (its `errorType` and `errorMessage`).
        message: String,
    },
    /// The Runtime API answered a post with 5xx: the environment is broken.
    ApiFailed(u16),
    /// SnapStart: `/restore/next` answered something other than 200.
    RestoreStatus(u16),
}

impl Error {
    /// True when the process should exit rather than ask for the next event.
    ///
    /// Only a refusal about one invocation is survivable: Lambda says so for 4xx
    /// answers to a post, and the AWS documentation asks a runtime to exit
    /// promptly on 500 ("container error, non-recoverable state").
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Error::Refused { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingApiAddress => f.write_str("AWS_LAMBDA_RUNTIME_API is not set"),
            Error::BadApiAddress(v) => write!(f, "AWS_LAMBDA_RUNTIME_API is not host:port: {v:?}"),
            Error::ApiGone(why) => write!(f, "runtime API unreachable: {why}"),
            Error::NextStatus(s) => write!(f, "runtime API answered /next with {s}"),
            Error::MissingRequestId => f.write_str("event without Lambda-Runtime-Aws-Request-Id"),
            Error::BadRequestId(id) => write!(f, "request id not usable in a URL: {id:?}"),
            Error::Refused { status, message } => {
                write!(f, "runtime API refused the post with {status}: {message}")
            }
            Error::ApiFailed(s) => write!(f, "runtime API failed with {s}"),
            Error::RestoreStatus(s) => write!(f, "runtime API answered /restore/next with {s}"),
        }
    }
}

impl core::error::Error for Error {}

/// The report Lambda gets for a failed invocation or a failed init: the
/// `errorType` and `errorMessage` of the body, and the category that goes in
/// front of the type in the `Lambda-Runtime-Function-Error-Type` header.
///
/// Return a `Diagnostic` from a handler to choose the `errorType` yourself;
/// any other error type gets its Rust type name.
///
/// ```
/// use tiny_lambda::Diagnostic;
///
/// fn handler(order: u32) -> Result<u32, Diagnostic> {
///     if order == 0 {
///         return Err(Diagnostic::new("EmptyOrder", "an order needs at least one item"));
///     }
///     Ok(order)
/// }
/// let err = handler(0).unwrap_err();
/// assert_eq!(err.error_type, "EmptyOrder");
/// assert_eq!(err.header_value(), "Function.EmptyOrder");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// `Function` for faults of the user's code (handler error, panic, init),
    /// `Runtime` for faults the runtime found (an event that does not parse).
    pub category: &'static str,
    /// The `errorType` field: short, one word, no spaces.
    pub error_type: String,
    /// The `errorMessage` field: the error's text.
    pub error_message: String,
}

impl Diagnostic {
    /// A report for the user's code, with a type and message of your choice.
    pub fn new(error_type: &str, error_message: &str) -> Diagnostic {
        Diagnostic {
            category: "Function",
            error_type: error_type.to_owned(),
            error_message: error_message.to_owned(),
        }
    }

    /// A report for a fault the runtime found on the user's behalf.
    pub fn runtime(error_type: &str, error_message: String) -> Diagnostic {
        Diagnostic {
            category: "Runtime",
            error_type: error_type.to_owned(),
            error_message,
        }
    }

    /// A report for any printable error: its type name becomes `errorType`
    /// (a [`Diagnostic`] passes through unchanged), its text `errorMessage`.
    pub fn from_error<E: fmt::Display + 'static>(error: &E) -> Diagnostic {
        // `Any` rather than a trait with a default method: stable Rust has no
        // specialisation, and this keeps "any printable error" the only bound.
        if let Some(d) = (error as &dyn core::any::Any).downcast_ref::<Diagnostic>() {
            return d.clone();
        }
        // An AWS call's error reports its AWS error code as the type.
        #[cfg(feature = "aws")]
        if let Some(e) = (error as &dyn core::any::Any).downcast_ref::<crate::aws::Error>() {
            return Diagnostic::from_aws(e);
        }
        Diagnostic {
            category: "Function",
            error_type: short_type_name(core::any::type_name::<E>()),
            error_message: error.to_string(),
        }
    }

    /// The report an AWS call's error makes as a handler's failure: its
    /// AWS error code as the type. Here rather than in `aws`, so that the
    /// client knows nothing of the runtime's reports.
    #[cfg(feature = "aws")]
    fn from_aws(error: &crate::aws::Error) -> Diagnostic {
        Diagnostic::new(&error.code, &error.to_string())
    }

    /// The `Lambda-Runtime-Function-Error-Type` header: `Category.Reason`, the
    /// form the AWS documentation recommends, e.g. `Function.ParseIntError`.
    pub fn header_value(&self) -> String {
        let mut value = String::with_capacity(self.category.len() + 1 + self.error_type.len());
        value.push_str(self.category);
        value.push('.');
        // A header value must stay one printable ASCII token; anything else in a
        // user's type name is replaced rather than letting the post fail.
        for c in self.error_type.chars() {
            value.push(if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            });
        }
        value
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

/// `core::num::error::ParseIntError` becomes `ParseIntError`,
/// `alloc::boxed::Box<dyn core::error::Error>` becomes `Box`. A bare message
/// (`&str`, `String`) names no kind of error, so it becomes `Error`.
#[cfg(feature = "aws")]
impl From<crate::aws::Error> for Diagnostic {
    fn from(error: crate::aws::Error) -> Diagnostic {
        Diagnostic::from_aws(&error)
    }
}

fn short_type_name(full: &str) -> String {
    let outer = full.split('<').next().unwrap_or(full);
    let last = outer.rsplit("::").next().unwrap_or(outer);
    match last.trim_start_matches('&').trim() {
        "" | "str" | "String" => "Error".to_owned(),
        name => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_shortened() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::error::Error>"),
            "Box"
        );
        assert_eq!(short_type_name("&str"), "Error");
        assert_eq!(short_type_name("alloc::string::String"), "Error");
        assert_eq!(short_type_name(""), "Error");
    }

    #[test]
    fn from_error_uses_the_type_name_and_text() {
        let err = "x".parse::<u8>().unwrap_err();
        let d = Diagnostic::from_error(&err);
        assert_eq!(d.error_type, "ParseIntError");
        assert_eq!(d.error_message, "invalid digit found in string");
        assert_eq!(d.header_value(), "Function.ParseIntError");
    }

    #[test]
    fn a_diagnostic_passes_through() {
        let d = Diagnostic::new("Custom", "why");
        assert_eq!(Diagnostic::from_error(&d), d);
    }

    #[test]
    fn header_value_is_a_token() {
        let d = Diagnostic::new("a b<c>", "m");
        assert_eq!(d.header_value(), "Function.a_b_c_");
        assert_eq!(
            Diagnostic::runtime("InvalidEvent", "m".into()).header_value(),
            "Runtime.InvalidEvent"
        );
    }

    #[test]
    fn only_refusals_are_survivable() {
        assert!(
            !Error::Refused {
                status: 410,
                message: String::new()
            }
            .is_fatal()
        );
        assert!(Error::ApiFailed(500).is_fatal());
        assert!(Error::NextStatus(404).is_fatal());
    }
}
