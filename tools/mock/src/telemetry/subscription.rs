//! Taking a subscription: its body read by the Telemetry API's rules, its
//! destination held to the sandbox host, the records of init so far
//! replayed to it, and its sender started.

use std::borrow::ToOwned;
use std::format;
use std::string::String;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;
use std::vec::Vec;

use miniserde::json::{self, Number, Value};
use tiny_lambda::extension::telemetry::{MAX_BYTES, MAX_ITEMS, SANDBOX_HOST, TIMEOUT_MS};

use super::delivery::send_batches;
use super::{Kind, Outbox, Subscriber};
use crate::answer::{Answer, error_answer};
use crate::{Shared, State};

/// The schema versions Lambda accepts in a subscription.
const SCHEMA_VERSIONS: [&str; 3] = ["2022-07-01", "2022-12-13", "2025-01-29"];

/// Takes a subscription from the extension `name`, as Lambda validates it,
/// and starts delivering to it: first the records of init so far. The
/// caller has checked that init is not over.
pub(crate) fn subscribe(
    shared: &Arc<Shared>,
    state: &mut State,
    name: &str,
    body: &[u8],
) -> Result<(), Answer> {
    let mut subscriber = read_subscription(body).map_err(|why| {
        let message = format!("Invalid subscription: {why}");
        error_answer(400, &message, "ValidationError")
    })?;
    subscriber.name = name.to_owned();
    let types: Vec<&str> = ["platform", "function", "extension"]
        .into_iter()
        .zip(subscriber.kinds)
        .filter_map(|(name, wanted)| wanted.then_some(name))
        .collect();
    let subscriber = Arc::new(subscriber);
    let t = &mut state.telemetry;
    // A second subscription from the same extension replaces the first.
    if let Some(old) = t.subscribers.iter().position(|s| s.name == name) {
        let old = t.subscribers.remove(old);
        old.lock().stop = true;
        old.wake.notify_all();
    }
    for (kind, element) in &t.init_records {
        subscriber.push(*kind, element);
    }
    t.subscribers.push(Arc::clone(&subscriber));
    let record = format!(
        r#"{{"name":{},"state":"Subscribed","types":{}}}"#,
        json::to_string(name),
        json::to_string(&types)
    );
    t.emit(Kind::Platform, "platform.telemetrySubscription", &record);
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name("mock-telemetry".to_owned())
        .spawn(move || send_batches(&shared, &subscriber))
        .map_err(|_| error_answer(500, "Cannot start a sender", "InternalServerError"))?;
    Ok(())
}

/// Reads a subscription's body by the Telemetry API's rules (its JSON
/// schema: required `schemaVersion`, `types` and `destination`, buffering
/// within its ranges); what is wrong, in words, otherwise.
fn read_subscription(body: &[u8]) -> Result<Subscriber, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let Ok(Value::Object(fields)) = json::from_str::<Value>(text) else {
        return Err("the body is not a JSON object".to_owned());
    };
    match fields.get("schemaVersion") {
        Some(Value::String(v)) if SCHEMA_VERSIONS.contains(&v.as_str()) => {}
        _ => return Err(format!("schemaVersion must be one of {SCHEMA_VERSIONS:?}")),
    }
    let Some(Value::Array(types)) = fields.get("types") else {
        return Err("types must be an array".to_owned());
    };
    if types.is_empty() {
        return Err("types must not be empty".to_owned());
    }
    let mut kinds = [false; 3];
    for value in types {
        let kind = match value {
            Value::String(t) if t == "platform" => Kind::Platform,
            Value::String(t) if t == "function" => Kind::Function,
            Value::String(t) if t == "extension" => Kind::Extension,
            _ => return Err("types may hold platform, function and extension".to_owned()),
        };
        kinds[kind.index()] = true;
    }
    let Some(Value::Object(destination)) = fields.get("destination") else {
        return Err("destination must be an object".to_owned());
    };
    match destination.get("protocol") {
        Some(Value::String(p)) if p == "HTTP" => {}
        // Lambda also delivers over TCP (one record a line); the mock does
        // not, and says so rather than dropping the records.
        Some(Value::String(p)) if p == "TCP" => {
            return Err("the mock delivers over HTTP only".to_owned());
        }
        _ => return Err("destination.protocol must be HTTP or TCP".to_owned()),
    }
    let Some(Value::String(uri)) = destination.get("URI") else {
        return Err("destination.URI must be a string".to_owned());
    };
    let (port, path) = sandbox_uri(uri)?;
    let mut subscriber = Subscriber {
        name: String::new(),
        kinds,
        max_items: 10_000,
        max_bytes: 262_144,
        timeout: Duration::from_millis(1_000),
        port,
        path,
        host: format!("{SANDBOX_HOST}:{port}"),
        outbox: Mutex::new(Outbox::default()),
        wake: Condvar::new(),
    };
    if let Some(buffering) = fields.get("buffering") {
        let Value::Object(buffering) = buffering else {
            return Err("buffering must be an object".to_owned());
        };
        for (field, range) in [
            ("maxItems", MAX_ITEMS),
            ("maxBytes", MAX_BYTES),
            ("timeoutMs", TIMEOUT_MS),
        ] {
            let Some(value) = buffering.get(field) else {
                continue;
            };
            let n = whole(value)
                .filter(|n| (u64::from(*range.start())..=u64::from(*range.end())).contains(n))
                .ok_or_else(|| format!("buffering.{field} must be a whole number in {range:?}"))?;
            match field {
                "maxItems" => subscriber.max_items = n as usize,
                "maxBytes" => subscriber.max_bytes = n as usize,
                _ => subscriber.timeout = Duration::from_millis(n),
            }
        }
    }
    Ok(subscriber)
}

fn whole(value: &Value) -> Option<u64> {
    match value {
        Value::Number(Number::U64(n)) => Some(*n),
        Value::Number(Number::I64(n)) => u64::try_from(*n).ok(),
        Value::Number(Number::F64(f)) if f.fract() == 0.0 && *f >= 0.0 => Some(*f as u64),
        _ => None,
    }
}

/// The port and path of `http://sandbox.localdomain[:PORT][/PATH]`: only
/// that host is reachable from inside Lambda's environment.
fn sandbox_uri(uri: &str) -> Result<(u16, String), String> {
    let rest = uri
        .strip_prefix("http://")
        .ok_or_else(|| "destination.URI must start with http://".to_owned())?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| "destination.URI has a bad port".to_owned())?,
        ),
        None => (authority, 80),
    };
    if host != SANDBOX_HOST && host != "sandbox" {
        return Err(format!("destination.URI host must be {SANDBOX_HOST}"));
    }
    Ok((port, path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_only_the_sandbox_host() {
        assert_eq!(
            sandbox_uri("http://sandbox.localdomain:4243/telemetry"),
            Ok((4243, "/telemetry".to_owned()))
        );
        assert_eq!(sandbox_uri("http://sandbox:80"), Ok((80, "/".to_owned())));
        assert!(sandbox_uri("http://localhost:4243").is_err());
        assert!(sandbox_uri("https://sandbox.localdomain:4243").is_err());
        assert!(sandbox_uri("http://sandbox.localdomain:99999").is_err());
    }

    #[test]
    fn validates_subscriptions_as_lambda_does() {
        let good = r#"{"schemaVersion":"2022-12-13","types":["platform","function"],"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/t"}}"#;
        let subscriber = read_subscription(good.as_bytes()).unwrap();
        assert_eq!(subscriber.kinds, [true, true, false]);
        assert_eq!(
            (subscriber.max_items, subscriber.timeout),
            (1000, Duration::from_millis(25))
        );
        for bad in [
            "",
            "[]",
            r#"{"schemaVersion":"2020-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["logs"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","port":1}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://example.com:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":24},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            r#"{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":10001},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
        ] {
            assert!(read_subscription(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
