//! miniserde's JSON as the runtime uses it: typed parsing into a derived
//! struct (what `run` does with every event) and into `json::Value` (what
//! open-ended event fields are).
//!
//! What must hold: no panic on any text; a typed parse and a `Value` parse
//! agree on whether the text is JSON at all; and whatever parses, written
//! out and read again, is the same value: strings, booleans, nulls, the
//! shape and every integer that fits 64 bits exactly, other numbers to
//! within 1e-15 of themselves. Not exactly: miniserde reads a decimal by
//! scaling with powers of ten, which is not correctly rounded, so
//! `-3333300000010000008451313987993094165` reads as `-3.3333000000100004e36`
//! and that text reads back one unit in the last place away (found by this
//! target; serde_json has the same trade-off unless `float_roundtrip` is on).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use miniserde::json::{self, Number, Value};
use miniserde::{Deserialize, Serialize};

/// A handler's event type, with every kind of field a derive can have.
#[derive(Debug, Deserialize, Serialize)]
struct Event {
    name: String,
    count: Option<u64>,
    delta: Option<i64>,
    ratio: Option<f64>,
    flag: Option<bool>,
    tags: Option<Vec<String>>,
    #[serde(rename = "nestedItem")]
    nested: Option<Box<Event>>,
    attributes: Option<BTreeMap<String, Value>>,
}

/// Two values are the same but for the last bits of non-integral numbers.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(Number::F64(x)), Value::Number(y))
        | (Value::Number(y), Value::Number(Number::F64(x))) => {
            let y = match *y {
                Number::F64(y) => y,
                Number::U64(y) => y as f64,
                Number::I64(y) => y as f64,
            };
            x == &y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs())
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(a, b)| same(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => json::to_string(a) == json::to_string(b),
    }
}

/// Parses `text` as `T`, writes it out, reads and writes that again: the two
/// writings must hold the same value.
fn stable<T: Deserialize + Serialize>(text: &str) -> Option<()> {
    let first = json::to_string(&json::from_str::<T>(text).ok()?);
    let again: T = json::from_str(&first)
        .unwrap_or_else(|_| panic!("what was written does not parse: {first:?}"));
    let second = json::to_string(&again);
    let (a, b): (Value, Value) = (
        json::from_str(&first).unwrap(),
        json::from_str(&second).unwrap(),
    );
    assert!(same(&a, &b), "changed on a round trip: {first} / {second}");
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let value = stable::<Value>(text);
    if stable::<Event>(text).is_some() {
        assert!(value.is_some(), "typed parse took text that is not JSON");
    }
});
