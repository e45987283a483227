//! The Extensions API (`/2020-01-01/extension`): registering, asking for the
//! next lifecycle event, reporting a failure, and reading the answers into a
//! [`Registration`] and an [`Event`].
//!
//! The names below follow the order of the AWS documentation ("Using the
//! Lambda Extensions API to create extensions", its API reference: Register,
//! Next, Init error, Exit error).
//!
//! This file owns the calls, their paths and headers, and the register
//! answer; `event` owns what `event/next` answers: the [`Event`], its
//! [`EventType`], [`ShutdownReason`] and [`Tracing`], and how it is read
//! ([`parse_next`]), re-exported here.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use miniserde::{Deserialize, Serialize, json};

use super::{Error, Request, judge};
use crate::error::Diagnostic;
use crate::protocol::{error_body, is_field_value_byte};

mod event;

pub use event::{Event, EventType, ShutdownReason, Tracing, parse_next};

/// The one version of the Extensions API there is.
pub const API_VERSION: &str = "2020-01-01";

/// `POST`: register for events; the answer carries the identifier.
pub const REGISTER: &str = "/2020-01-01/extension/register";
/// `GET`: wait for the next event (and say the last one is done).
pub const NEXT: &str = "/2020-01-01/extension/event/next";
/// `POST`: report a failure during init; the extension exits after it.
pub const INIT_ERROR: &str = "/2020-01-01/extension/init/error";
/// `POST`: report a failure before exiting.
pub const EXIT_ERROR: &str = "/2020-01-01/extension/exit/error";

/// Header of `register`: the extension's full file name, by which Lambda
/// tells that the extension it started has registered.
pub const EXTENSION_NAME: &str = "Lambda-Extension-Name";
/// Header of `register`: optional features, comma-separated.
pub const ACCEPT_FEATURE: &str = "Lambda-Extension-Accept-Feature";
/// The [`ACCEPT_FEATURE`] that adds `accountId` to the register answer.
pub const ACCOUNT_ID_FEATURE: &str = "accountId";
/// Header of the register answer, and of every later call: the identifier
/// Lambda gave this extension.
pub const EXTENSION_IDENTIFIER: &str = "Lambda-Extension-Identifier";
/// Header of `init/error` and `exit/error`: `Category.Reason`, where the docs
/// recommend `Extension` as the category (`Extension.ConfigInvalid`).
pub const FUNCTION_ERROR_TYPE: &str = "Lambda-Extension-Function-Error-Type";

/// The `register` call: the extension's file name as [`EXTENSION_NAME`] and
/// the events it wants in the body, `{"events":["INVOKE","SHUTDOWN"]}`. An
/// internal extension may ask for none.
///
/// It always asks for the `accountId` feature: the answer then says which
/// account the function runs in, which an extension otherwise learns only by
/// calling AWS.
pub fn register(name: &str, events: &[EventType]) -> Result<Request, Error> {
    // Lambda matches the name against the file it started, so it is sent
    // exactly as given; one that cannot be a header value is refused here
    // rather than bending the request.
    if name.is_empty() || !name.bytes().all(is_field_value_byte) || name.trim() != name {
        return Err(Error::BadName(name.to_string()));
    }
    #[derive(Serialize)]
    struct Body {
        events: Vec<&'static str>,
    }
    let body = Body {
        events: events.iter().map(|e| e.as_str()).collect(),
    };
    Ok(Request {
        method: "POST",
        path: REGISTER,
        headers: vec![
            (EXTENSION_NAME, name.to_string()),
            (ACCEPT_FEATURE, ACCOUNT_ID_FEATURE.to_string()),
            ("Content-Type", "application/json".to_string()),
        ],
        body: json::to_string(&body),
    })
}

/// What `register` answered: the identifier for every later call, and what
/// Lambda says about the function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// `Lambda-Extension-Identifier`.
    pub identifier: String,
    /// `functionName`.
    pub function_name: String,
    /// `functionVersion`, e.g. `$LATEST`.
    pub function_version: String,
    /// `handler`: the function's handler setting.
    pub handler: String,
    /// `accountId`, when Lambda honoured [`ACCOUNT_ID_FEATURE`].
    pub account_id: Option<String>,
}

#[derive(Deserialize)]
struct RegisterBody {
    #[serde(rename = "functionName")]
    function_name: Option<String>,
    #[serde(rename = "functionVersion")]
    function_version: Option<String>,
    handler: Option<String>,
    #[serde(rename = "accountId")]
    account_id: Option<String>,
}

/// Read the answer to `register`. `header` looks a header up by name,
/// case-insensitively.
///
/// The identifier is what matters: without a usable one the extension cannot
/// go on. The body only describes the function, so a field missing from it,
/// or a body that is not JSON, leaves those fields empty instead of failing
/// an extension Lambda has already registered.
pub fn parse_register<'h>(
    status: u16,
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &str,
) -> Result<Registration, Error> {
    judge(status, body)?;
    let identifier = header(EXTENSION_IDENTIFIER).map(str::trim).unwrap_or("");
    if identifier.is_empty() {
        return Err(Error::MissingIdentifier);
    }
    if !identifier.bytes().all(is_field_value_byte) {
        return Err(Error::BadIdentifier(identifier.to_string()));
    }
    let fields = json::from_str::<RegisterBody>(body).unwrap_or_else(|_| {
        log::warn!("register answer is not the documented JSON; function details left empty");
        RegisterBody {
            function_name: None,
            function_version: None,
            handler: None,
            account_id: None,
        }
    });
    Ok(Registration {
        identifier: identifier.to_string(),
        function_name: fields.function_name.unwrap_or_default(),
        function_version: fields.function_version.unwrap_or_default(),
        handler: fields.handler.unwrap_or_default(),
        account_id: fields.account_id,
    })
}

/// The `event/next` call. No timeout belongs on it: Lambda freezes the
/// environment while no event is due, and answers when one is.
pub fn next(identifier: &str) -> Request {
    Request {
        method: "GET",
        path: NEXT,
        headers: vec![(EXTENSION_IDENTIFIER, identifier.to_string())],
        body: String::new(),
    }
}

/// The `init/error` report: the extension failed after registering and
/// before its first `event/next`. Lambda refuses every later call, and the
/// extension exits once this is answered.
pub fn init_error(identifier: &str, diagnostic: &Diagnostic) -> Request {
    error_report(INIT_ERROR, identifier, diagnostic)
}

/// The `exit/error` report: the extension met an unexpected failure and is
/// about to exit. Lambda refuses every later call.
pub fn exit_error(identifier: &str, diagnostic: &Diagnostic) -> Request {
    error_report(EXIT_ERROR, identifier, diagnostic)
}

fn error_report(path: &'static str, identifier: &str, diagnostic: &Diagnostic) -> Request {
    // Whoever built the diagnostic, the fault is the extension's own, and
    // `Extension.Reason` is the header form the docs recommend.
    let as_extension = Diagnostic {
        category: "Extension",
        ..diagnostic.clone()
    };
    Request {
        method: "POST",
        path,
        headers: vec![
            (EXTENSION_IDENTIFIER, identifier.to_string()),
            (FUNCTION_ERROR_TYPE, as_extension.header_value()),
            ("Content-Type", "application/json".to_string()),
        ],
        // The same `{errorMessage, errorType, stackTrace}` body the Runtime
        // API takes.
        body: error_body(diagnostic),
    }
}

/// Judge the answer to `init/error` or `exit/error`: 202 is the documented
/// success.
pub fn judge_error_report(status: u16, body: &str) -> Result<(), Error> {
    judge(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn lookup<'a>(table: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        |name| {
            table
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn paths_carry_the_api_version() {
        for path in [REGISTER, NEXT, INIT_ERROR, EXIT_ERROR] {
            assert!(
                path.starts_with(&format!("/{API_VERSION}/extension/")),
                "{path}"
            );
        }
    }

    #[test]
    fn register_is_a_post_with_the_name_the_feature_and_the_events() {
        let cases: [(&[EventType], &str); 3] = [
            (
                &[EventType::Invoke, EventType::Shutdown],
                r#"{"events":["INVOKE","SHUTDOWN"]}"#,
            ),
            (&[EventType::Shutdown], r#"{"events":["SHUTDOWN"]}"#),
            // An internal extension that wants no events at all.
            (&[], r#"{"events":[]}"#),
        ];
        for (events, body) in cases {
            let request = register("telemetry-shipper", events).unwrap();
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/2020-01-01/extension/register");
            assert_eq!(
                request.header("Lambda-Extension-Name"),
                Some("telemetry-shipper")
            );
            assert_eq!(
                request.header("Lambda-Extension-Accept-Feature"),
                Some("accountId")
            );
            assert_eq!(request.header(EXTENSION_IDENTIFIER), None);
            assert_eq!(request.body, body);
        }
    }

    #[test]
    fn a_name_that_cannot_be_a_header_is_refused() {
        for bad in ["", " padded", "line\nbreak", "nul\0"] {
            assert_eq!(
                register(bad, &[]),
                Err(Error::BadName(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn register_answers_are_read() {
        struct Case {
            status: u16,
            headers: &'static [(&'static str, &'static str)],
            body: &'static str,
            expect: Result<Registration, Error>,
        }
        const ID: &str = "a1b2c3d4-5678-90ab-cdef-000000000001";
        let cases = [
            Case {
                status: 200,
                headers: &[("lambda-extension-identifier", ID)],
                body: r#"{"functionName":"orders","functionVersion":"$LATEST","handler":"bootstrap","accountId":"123456789012"}"#,
                expect: Ok(Registration {
                    identifier: ID.into(),
                    function_name: "orders".into(),
                    function_version: "$LATEST".into(),
                    handler: "bootstrap".into(),
                    account_id: Some("123456789012".into()),
                }),
            },
            // Without the feature honoured, no accountId; unknown fields ignored.
            Case {
                status: 200,
                headers: &[("Lambda-Extension-Identifier", ID)],
                body: r#"{"functionName":"orders","functionVersion":"7","handler":"h","configuration":{}}"#,
                expect: Ok(Registration {
                    identifier: ID.into(),
                    function_name: "orders".into(),
                    function_version: "7".into(),
                    handler: "h".into(),
                    account_id: None,
                }),
            },
            // A body that is not JSON costs the details, not the registration.
            Case {
                status: 200,
                headers: &[("Lambda-Extension-Identifier", ID)],
                body: "OK",
                expect: Ok(Registration {
                    identifier: ID.into(),
                    ..Registration::default()
                }),
            },
            Case {
                status: 200,
                headers: &[],
                body: "{}",
                expect: Err(Error::MissingIdentifier),
            },
            Case {
                status: 200,
                headers: &[("Lambda-Extension-Identifier", "  ")],
                body: "{}",
                expect: Err(Error::MissingIdentifier),
            },
            Case {
                status: 200,
                headers: &[("Lambda-Extension-Identifier", "id\r\nX: y")],
                body: "{}",
                expect: Err(Error::BadIdentifier("id\r\nX: y".into())),
            },
            Case {
                status: 403,
                headers: &[],
                body: r#"{"errorMessage":"too late","errorType":"Extension.Forbidden"}"#,
                expect: Err(Error::Refused {
                    status: 403,
                    message: r#"{"errorMessage":"too late","errorType":"Extension.Forbidden"}"#
                        .into(),
                }),
            },
            Case {
                status: 400,
                headers: &[],
                body: "",
                expect: Err(Error::Refused {
                    status: 400,
                    message: String::new(),
                }),
            },
            Case {
                status: 500,
                headers: &[("Lambda-Extension-Identifier", ID)],
                body: "{}",
                expect: Err(Error::ApiFailed(500)),
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let got = parse_register(case.status, &lookup(case.headers), case.body);
            assert_eq!(got, case.expect, "case {i}");
        }
    }

    #[test]
    fn next_is_a_get_with_the_identifier() {
        let request = next("id-1");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/2020-01-01/extension/event/next");
        assert_eq!(request.headers, vec![(EXTENSION_IDENTIFIER, "id-1".into())]);
        assert!(request.body.is_empty());
    }

    #[test]
    fn error_reports_say_extension_and_carry_the_error_body() {
        let diagnostic = Diagnostic::new("ConfigInvalid", "no API key in \"env\"");
        for (request, path) in [
            (init_error("id-1", &diagnostic), "init/error"),
            (exit_error("id-1", &diagnostic), "exit/error"),
        ] {
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, format!("/2020-01-01/extension/{path}"));
            assert_eq!(request.header(EXTENSION_IDENTIFIER), Some("id-1"));
            assert_eq!(
                request.header("Lambda-Extension-Function-Error-Type"),
                Some("Extension.ConfigInvalid")
            );
            assert_eq!(
                request.body,
                r#"{"errorMessage":"no API key in \"env\"","errorType":"ConfigInvalid","stackTrace":[]}"#
            );
        }
        // A runtime-made diagnostic still reports as the extension's, and the
        // header stays one token.
        let odd = Diagnostic::runtime("bad type", "m".into());
        assert_eq!(
            exit_error("id", &odd).header(FUNCTION_ERROR_TYPE),
            Some("Extension.bad_type")
        );
    }

    #[test]
    fn error_report_answers_are_judged() {
        assert_eq!(judge_error_report(202, ""), Ok(()));
        assert_eq!(
            judge_error_report(403, "forbidden"),
            Err(Error::Refused {
                status: 403,
                message: "forbidden".into()
            })
        );
        assert_eq!(judge_error_report(500, ""), Err(Error::ApiFailed(500)));
    }
}
