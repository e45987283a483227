//! The shell around `api` and `telemetry`: [`Extension`] sends the requests
//! they build and reads the answers with their parsers. It talks through the
//! runtime's own Runtime API transport (ureq, or the built-in client without
//! the `ureq` feature): the Extensions and Telemetry APIs live at the same
//! address as the Runtime API, and need nothing it does not. Blocking, one
//! kept-alive connection, no timeouts.

use std::borrow::Cow;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use super::api::{self, Event, EventType, Registration};
use super::telemetry::{self, Subscription};
use super::{Error, Request, api_address};
use crate::error::Diagnostic;
use crate::transport::{self, Connection, Response, Transport};

/// A registered extension: its identifier, and a connection to the
/// Extensions and Telemetry APIs.
///
/// ```no_run
/// use tiny_lambda::extension::Extension;
/// use tiny_lambda::extension::api::{Event, EventType};
///
/// fn main() -> Result<(), tiny_lambda::extension::Error> {
///     let mut extension = Extension::register(&[EventType::Invoke, EventType::Shutdown])?;
///     loop {
///         match extension.next_event()? {
///             Event::Invoke { request_id, .. } => log::debug!("{request_id} invoked"),
///             Event::Shutdown { .. } => return Ok(()),
///         }
///     }
/// }
/// ```
pub struct Extension {
    /// The path prefix both APIs follow (empty on Lambda).
    root: String,
    connection: Connection,
    registration: Registration,
}

impl Extension {
    /// Register with the API `AWS_LAMBDA_RUNTIME_API` names, under this
    /// program's [`file_name`], for `events`. Only during init: Lambda
    /// refuses a registration once the function's init phase is over.
    pub fn register(events: &[EventType]) -> Result<Extension, Error> {
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| Error::MissingApiAddress)?;
        let name = file_name().ok_or_else(|| Error::BadName(String::new()))?;
        Extension::register_at(&api, &name, events)
    }

    /// Register with the API at `api` (a value of `AWS_LAMBDA_RUNTIME_API`)
    /// under `name`, for `events`. An external extension's name must be its
    /// file name; an internal one (a thread of the runtime) names itself, and
    /// may want no events at all.
    pub fn register_at(api: &str, name: &str, events: &[EventType]) -> Result<Extension, Error> {
        let address = api_address(api)?;
        let request = api::register(name, events)?;
        let mut connection = Connection::new(&address.authority);
        let response = send(&mut connection, &address.root, &request)?;
        // Not `Response::header`: a second caller would keep it from being
        // inlined into the runtime's `/next`, and every bootstrap built with
        // this feature would grow by 48 bytes without using any of it.
        let header = |name: &str| {
            let mut headers = response.headers.iter();
            let found = headers.find(|(n, _)| n.eq_ignore_ascii_case(name));
            found.map(|(_, value)| value.as_str())
        };
        let registration = api::parse_register(response.status, &header, &text(&response))?;
        log::debug!("registered {name:?} for {} event types", events.len());
        Ok(Extension {
            root: address.root,
            connection,
            registration,
        })
    }

    /// What `register` answered: the identifier, and the function's details.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Wait for the next event; asking is also how the extension says it is
    /// done with the last one (or, the first time, with its init).
    ///
    /// There is no timeout, as on the runtime's `/next`: Lambda answers when
    /// an event is due, and freezes the whole environment in between, so a
    /// timer would only fire on thaw, for no reason. An extension registered
    /// for no events is never answered.
    pub fn next_event(&mut self) -> Result<Event, Error> {
        let response = self.send(&api::next(&self.registration.identifier))?;
        api::parse_next(response.status, &text(&response))
    }

    /// `event/next` for an extension registered for no events, as
    /// `Runtime::on_shutdown` registers one: judged by its status alone, its
    /// body never read, so a bootstrap with a shutdown hook links no event
    /// parser.
    pub(crate) fn park_next(&mut self) -> Result<(), Error> {
        let response = self.send(&api::next(&self.registration.identifier))?;
        super::judge(response.status, &text(&response))
    }

    /// Subscribe to the Telemetry API: from now on Lambda posts batches to
    /// `subscription.uri`, where a [`Listener`](super::Listener) should
    /// already be waiting. Subscribe before the first
    /// [`next_event`](Extension::next_event), so that nothing of the first
    /// invocation is missed.
    pub fn subscribe(&mut self, subscription: &Subscription) -> Result<(), Error> {
        let request = telemetry::subscribe(&self.registration.identifier, subscription)?;
        let response = self.send(&request)?;
        telemetry::judge_subscribe(response.status, &text(&response))
    }

    /// Report a failure during init (after registering, before the first
    /// [`next_event`](Extension::next_event)); exit after it. Lambda refuses
    /// every later call, so the extension is spent.
    pub fn init_error(mut self, diagnostic: &Diagnostic) -> Result<(), Error> {
        let request = api::init_error(&self.registration.identifier, diagnostic);
        let response = self.send(&request)?;
        api::judge_error_report(response.status, &text(&response))
    }

    /// Report a failure before exiting. Lambda refuses every later call, so
    /// the extension is spent.
    pub fn exit_error(mut self, diagnostic: &Diagnostic) -> Result<(), Error> {
        let request = api::exit_error(&self.registration.identifier, diagnostic);
        let response = self.send(&request)?;
        api::judge_error_report(response.status, &text(&response))
    }

    fn send(&mut self, request: &Request) -> Result<Response, Error> {
        send(&mut self.connection, &self.root, request)
    }
}

/// Send one request as it was built, below `root`. A `GET` on a kept-alive
/// connection the API had closed is sent once more by the transport; nothing
/// else is retried: an extension that cannot reach the API has nothing left
/// to do.
fn send(connection: &mut Connection, root: &str, request: &Request) -> Result<Response, Error> {
    log::debug!("{} {}", request.method, request.path);
    let mut target = String::with_capacity(root.len() + request.path.len());
    target.push_str(root);
    target.push_str(request.path);
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let wire = transport::Request {
        method: request.method,
        path: &target,
        headers: &headers,
        body: request.body.as_bytes(),
    };
    connection
        .send(&wire)
        .map_err(|e| Error::ApiGone(e.to_string()))
}

/// An answer's body as text for the parsers; the APIs answer JSON, and a
/// stray byte that is not UTF-8 only costs that character.
fn text(response: &Response) -> Cow<'_, str> {
    String::from_utf8_lossy(&response.body)
}

/// The file name this program was started as, which Lambda expects in
/// `Lambda-Extension-Name` (it matches it against the files it started from
/// `/opt/extensions`). Read from `argv[0]`, as Lambda started it, rather than
/// from `/proc/self/exe`, which follows a symbolic link to another name.
pub fn file_name() -> Option<String> {
    let path = match std::env::args_os().next() {
        Some(argv0) if !argv0.is_empty() => argv0.into(),
        _ => std::env::current_exe().ok()?,
    };
    Path::new(&path).file_name()?.to_str().map(String::from)
}

/// The same scripted server answers whichever transport this build has; CI
/// runs these tests twice, with ureq (the default) and with the built-in
/// client (`--no-default-features`).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::api::{ShutdownReason, Tracing};
    use crate::extension::telemetry::{Buffering, Stream, listener_uri};
    use crate::http1;
    use std::io::{BufReader, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;
    use std::{format, vec};

    /// One request as the server read it: connection number, method, path,
    /// headers (names lower-cased) and body.
    #[derive(Debug)]
    struct Seen {
        connection: usize,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            http1::header(&self.headers, name)
        }
    }

    /// Answers each request with the next of `answers`, on as many
    /// connections as the client opens; once they run out it stops
    /// answering (the connection stays open, as a long poll would).
    fn serve(answers: Vec<String>) -> (String, mpsc::Receiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut answers = answers.into_iter();
            for (connection, stream) in listener.incoming().enumerate() {
                let mut reader = BufReader::new(stream.unwrap());
                while let Ok(Some((line, head))) = http1::read::read_request_head(&mut reader) {
                    let framing = http1::framing(&head, true).unwrap();
                    let body = http1::read::read_body(&mut reader, framing).unwrap();
                    let headers = head
                        .headers
                        .into_iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v))
                        .collect();
                    let seen = Seen {
                        connection,
                        method: line.method,
                        path: line.path,
                        headers,
                        body: String::from_utf8(body).unwrap(),
                    };
                    tx.send(seen).unwrap();
                    let Some(answer) = answers.next() else {
                        // Park: hold the connection without answering.
                        thread::sleep(std::time::Duration::from_secs(60));
                        return;
                    };
                    reader.get_mut().write_all(answer.as_bytes()).unwrap();
                }
            }
        });
        (address, rx)
    }

    fn answer(status: &str, headers: &[(&str, &str)], body: &str) -> String {
        let mut text = format!("HTTP/1.1 {status}\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    const ID: &str = "a1b2c3d4-5678-90ab-cdef-000000000001";
    const REGISTERED: &str = r#"{"functionName":"orders","functionVersion":"$LATEST","handler":"bootstrap","accountId":"123456789012"}"#;
    const INVOKE: &str = r#"{"eventType":"INVOKE","deadlineMs":1710000000000,"requestId":"r-1","invokedFunctionArn":"arn:aws:lambda:eu-west-1:123456789012:function:orders","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-2-3"}}"#;
    const SHUTDOWN: &str =
        r#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1710000002000}"#;

    fn registered() -> String {
        answer("200 OK", &[("Lambda-Extension-Identifier", ID)], REGISTERED)
    }

    #[test]
    fn register_events_and_an_exit_error_over_one_connection() {
        let (address, seen) = serve(vec![
            registered(),
            answer("200 OK", &[], INVOKE),
            answer("200 OK", &[], SHUTDOWN),
            answer("202 Accepted", &[], r#"{"status":"OK"}"#),
        ]);
        let events = [EventType::Invoke, EventType::Shutdown];
        let mut extension = Extension::register_at(&address, "shipper", &events).unwrap();
        assert_eq!(extension.registration().identifier, ID);
        assert_eq!(extension.registration().function_name, "orders");
        assert_eq!(
            extension.registration().account_id.as_deref(),
            Some("123456789012")
        );
        assert_eq!(
            extension.next_event(),
            Ok(Event::Invoke {
                request_id: "r-1".into(),
                deadline_ms: 1_710_000_000_000,
                invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders"
                    .into(),
                tracing: Some(Tracing {
                    kind: "X-Amzn-Trace-Id".into(),
                    value: "Root=1-2-3".into()
                }),
            })
        );
        assert_eq!(
            extension.next_event(),
            Ok(Event::Shutdown {
                reason: ShutdownReason::Spindown,
                deadline_ms: 1_710_000_002_000
            })
        );
        let diagnostic = Diagnostic::new("ShipFailed", "the sink is gone");
        assert_eq!(extension.exit_error(&diagnostic), Ok(()));

        let seen: Vec<Seen> = seen.try_iter().collect();
        let lines: Vec<_> = seen
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect();
        assert_eq!(
            lines,
            [
                "POST /2020-01-01/extension/register",
                "GET /2020-01-01/extension/event/next",
                "GET /2020-01-01/extension/event/next",
                "POST /2020-01-01/extension/exit/error",
            ]
        );
        assert!(seen.iter().all(|s| s.connection == 0), "{seen:?}");
        let register = &seen[0];
        assert_eq!(register.header("lambda-extension-name"), Some("shipper"));
        assert_eq!(
            register.header("lambda-extension-accept-feature"),
            Some("accountId")
        );
        assert_eq!(register.header("lambda-extension-identifier"), None);
        assert_eq!(register.body, r#"{"events":["INVOKE","SHUTDOWN"]}"#);
        for later in &seen[1..] {
            assert_eq!(later.header("lambda-extension-identifier"), Some(ID));
        }
        // A GET has no body, and says none.
        assert_eq!(seen[1].header("content-length"), None);
        let report = &seen[3];
        assert_eq!(
            report.header("lambda-extension-function-error-type"),
            Some("Extension.ShipFailed")
        );
        assert_eq!(
            report.body,
            r#"{"errorMessage":"the sink is gone","errorType":"ShipFailed","stackTrace":[]}"#
        );
    }

    #[test]
    fn subscribe_and_init_error_below_a_path_prefix() {
        let (address, seen) = serve(vec![
            registered(),
            answer("200 OK", &[], "OK"),
            answer("202 Accepted", &[], ""),
        ]);
        // `cargo lambda watch` style: a URL with a prefix. The Extensions
        // API follows the prefix, not the Runtime API's version path.
        let api = format!("http://{address}/.rt/");
        let mut extension = Extension::register_at(&api, "shipper", &[]).unwrap();
        let subscription = Subscription {
            types: vec![Stream::Platform, Stream::Function],
            buffering: Buffering::default(),
            uri: listener_uri(4243),
        };
        assert_eq!(extension.subscribe(&subscription), Ok(()));
        let diagnostic = Diagnostic::new("ConfigInvalid", "no port");
        assert_eq!(extension.init_error(&diagnostic), Ok(()));

        let seen: Vec<Seen> = seen.try_iter().collect();
        let lines: Vec<_> = seen
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect();
        assert_eq!(
            lines,
            [
                "POST /.rt/2020-01-01/extension/register",
                "PUT /.rt/2022-07-01/telemetry",
                "POST /.rt/2020-01-01/extension/init/error",
            ]
        );
        assert_eq!(seen[0].body, r#"{"events":[]}"#);
        let subscribe = &seen[1];
        assert_eq!(subscribe.header("lambda-extension-identifier"), Some(ID));
        assert_eq!(subscribe.header("content-type"), Some("application/json"));
        assert_eq!(
            subscribe.body,
            r#"{"schemaVersion":"2022-12-13","types":["platform","function"],"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":1000},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243"}}"#
        );
    }

    #[test]
    fn refusals_failures_and_an_absent_api_are_errors() {
        // Registration refused (after init, say).
        let forbidden = r#"{"errorMessage":"too late","errorType":"Extension.Forbidden"}"#;
        let (address, _seen) = serve(vec![answer("403 Forbidden", &[], forbidden)]);
        assert_eq!(
            Extension::register_at(&address, "shipper", &[]).err(),
            Some(Error::Refused {
                status: 403,
                message: forbidden.into()
            })
        );
        // A registration without an identifier cannot go on.
        let (address, _seen) = serve(vec![answer("200 OK", &[], REGISTERED)]);
        assert_eq!(
            Extension::register_at(&address, "shipper", &[]).err(),
            Some(Error::MissingIdentifier)
        );
        // A 5xx to next, and a subscription Lambda would refuse.
        let (address, seen) = serve(vec![
            registered(),
            answer("500 Internal Server Error", &[], ""),
            answer("400 Bad Request", &[], "bad types"),
        ]);
        let mut extension = Extension::register_at(&address, "shipper", &[]).unwrap();
        assert_eq!(extension.next_event(), Err(Error::ApiFailed(500)));
        let subscription = Subscription {
            types: vec![Stream::Function],
            buffering: Buffering::default(),
            uri: listener_uri(4243),
        };
        assert_eq!(
            extension.subscribe(&subscription),
            Err(Error::Refused {
                status: 400,
                message: "bad types".into()
            })
        );
        // Refused before anything is sent.
        let bad = Subscription {
            uri: "https://example.com".into(),
            ..subscription
        };
        assert!(matches!(
            extension.subscribe(&bad),
            Err(Error::BadSubscription(_))
        ));
        assert_eq!(seen.try_iter().count(), 3);

        // Nothing listens on a port just released.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let gone = Extension::register_at(&format!("127.0.0.1:{port}"), "shipper", &[]);
        assert!(matches!(gone.err(), Some(Error::ApiGone(_))));
        assert_eq!(
            Extension::register_at("https://h:1", "shipper", &[]).err(),
            Some(Error::BadApiAddress("https://h:1".into()))
        );
        assert_eq!(
            Extension::register_at("127.0.0.1:9", "", &[]).err(),
            Some(Error::BadName(String::new()))
        );
    }

    #[test]
    fn next_waits_for_a_late_answer() {
        // No timeout on a long poll: an answer that takes a while still
        // arrives (a real one may take hours, through freezes).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            for (delay, answer) in [(0, registered()), (700, answer("200 OK", &[], SHUTDOWN))] {
                let (_, head) = http1::read::read_request_head(&mut reader)
                    .unwrap()
                    .unwrap();
                http1::read::read_body(&mut reader, http1::framing(&head, true).unwrap()).unwrap();
                thread::sleep(std::time::Duration::from_millis(delay));
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
        });
        let mut extension = Extension::register_at(&address, "shipper", &[]).unwrap();
        assert!(matches!(extension.next_event(), Ok(Event::Shutdown { .. })));
    }

    #[test]
    fn a_parked_next_is_judged_by_its_status_alone() {
        let (address, seen) = serve(vec![
            registered(),
            answer("200 OK", &[], "not even JSON"),
            answer("500 Internal Server Error", &[], ""),
        ]);
        let mut extension = Extension::register_at(&address, "internal", &[]).unwrap();
        assert_eq!(extension.park_next(), Ok(()));
        assert_eq!(extension.park_next(), Err(Error::ApiFailed(500)));
        let seen: Vec<Seen> = seen.try_iter().collect();
        assert_eq!(seen[1].path, "/2020-01-01/extension/event/next");
        assert_eq!(seen[2].header("lambda-extension-identifier"), Some(ID));
    }

    #[test]
    fn the_file_name_is_the_programs() {
        let name = file_name().unwrap();
        assert!(!name.contains('/'), "{name}");
        assert!(name.starts_with("tiny_lambda"), "{name}");
    }
}
