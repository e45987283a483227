//! DynamoDB's attribute values as a Rust enum, and their JSON form
//! (`{"S": "text"}`, `{"N": "42"}`, `{"M": {...}}`...) both ways.
//!
//! Numbers stay text, as DynamoDB sends them: it keeps 38 digits, more than
//! any Rust number type, so the caller picks the type ([`Value::as_n`]).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Display;
use core::str::FromStr;

use miniserde::json::{Array, Object, Value as Json};

use crate::protocol::{decode_base64, encode_base64};

/// An item, or a key: attribute names to values.
pub type Item = BTreeMap<String, Value>;

/// One attribute value. The variants are DynamoDB's type descriptors.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (`S`).
    S(String),
    /// A number, as its decimal text (`N`).
    N(String),
    /// Binary (`B`).
    B(Vec<u8>),
    /// A boolean (`BOOL`).
    Bool(bool),
    /// Null (`NULL`).
    Null,
    /// A map (`M`).
    M(Item),
    /// A list (`L`).
    L(Vec<Value>),
    /// A set of strings (`SS`).
    Ss(Vec<String>),
    /// A set of numbers (`NS`).
    Ns(Vec<String>),
    /// A set of binaries (`BS`).
    Bs(Vec<Vec<u8>>),
}

impl Value {
    /// A string value.
    pub fn s(text: impl Into<String>) -> Value {
        Value::S(text.into())
    }

    /// A number value from anything that prints as a number.
    pub fn n(number: impl Display) -> Value {
        Value::N(number.to_string())
    }

    /// The text of an `S`.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    /// An `N` parsed as `T` (`u32`, `i64`, `f64`...), if it is one and fits.
    pub fn as_n<T: FromStr>(&self) -> Option<T> {
        match self {
            Value::N(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The bool of a `BOOL`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The bytes of a `B`.
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            Value::B(b) => Some(b),
            _ => None,
        }
    }

    /// The map of an `M`.
    pub fn as_m(&self) -> Option<&Item> {
        match self {
            Value::M(m) => Some(m),
            _ => None,
        }
    }

    /// The list of an `L`.
    pub fn as_l(&self) -> Option<&[Value]> {
        match self {
            Value::L(l) => Some(l),
            _ => None,
        }
    }

    /// The JSON DynamoDB reads: `{"S": "text"}`.
    pub fn to_json(&self) -> Json {
        let (tag, inner) = match self {
            Value::S(s) => ("S", Json::String(s.clone())),
            Value::N(n) => ("N", Json::String(n.clone())),
            Value::B(b) => ("B", Json::String(encode_base64(b))),
            Value::Bool(b) => ("BOOL", Json::Bool(*b)),
            Value::Null => ("NULL", Json::Bool(true)),
            Value::M(m) => ("M", item_to_json(m)),
            Value::L(l) => ("L", Json::Array(l.iter().map(Value::to_json).collect())),
            Value::Ss(v) => ("SS", strings(v.iter().cloned())),
            Value::Ns(v) => ("NS", strings(v.iter().cloned())),
            Value::Bs(v) => ("BS", strings(v.iter().map(|b| encode_base64(b)))),
        };
        let mut object = Object::new();
        object.insert(tag.to_string(), inner);
        Json::Object(object)
    }

    /// A value from DynamoDB's JSON, or what is wrong with it.
    pub fn from_json(json: &Json) -> Result<Value, String> {
        let Json::Object(object) = json else {
            return Err("an attribute value is not a JSON object".to_string());
        };
        let mut entries = object.iter();
        let (Some((tag, inner)), None) = (entries.next(), entries.next()) else {
            return Err("an attribute value must have exactly one type".to_string());
        };
        let text = |j: &Json| match j {
            Json::String(s) => Ok(s.clone()),
            _ => Err(["the ", tag.as_str(), " value is not a string"].concat()),
        };
        let binary = |j: &Json| {
            decode_base64(&text(j)?)
                .ok_or_else(|| ["the ", tag.as_str(), " value is not base64"].concat())
        };
        fn list<'j>(j: &'j Json, tag: &str) -> Result<&'j Array, String> {
            match j {
                Json::Array(a) => Ok(a),
                _ => Err(["the ", tag, " value is not a list"].concat()),
            }
        }
        Ok(match tag.as_str() {
            "S" => Value::S(text(inner)?),
            "N" => Value::N(text(inner)?),
            "B" => Value::B(binary(inner)?),
            "BOOL" | "NULL" => match inner {
                Json::Bool(b) if tag == "BOOL" => Value::Bool(*b),
                Json::Bool(true) => Value::Null,
                _ => return Err(["the ", tag.as_str(), " value is not a bool"].concat()),
            },
            "M" => Value::M(item_from_json(inner)?),
            "L" => Value::L(
                list(inner, tag)?
                    .iter()
                    .map(Value::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            "SS" => Value::Ss(
                list(inner, tag)?
                    .iter()
                    .map(text)
                    .collect::<Result<_, _>>()?,
            ),
            "NS" => Value::Ns(
                list(inner, tag)?
                    .iter()
                    .map(text)
                    .collect::<Result<_, _>>()?,
            ),
            "BS" => Value::Bs(
                list(inner, tag)?
                    .iter()
                    .map(binary)
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(["unknown attribute type ", other].concat()),
        })
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::S(text.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::S(text)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

macro_rules! numbers {
    ($($t:ty)*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::N(n.to_string())
            }
        }
    )*};
}
numbers!(u8 u16 u32 u64 usize i8 i16 i32 i64 isize f32 f64);

/// An item as DynamoDB's JSON: `{"id": {"S": "1"}, ...}`.
pub fn item_to_json(item: &Item) -> Json {
    let mut object = Object::new();
    for (name, value) in item {
        object.insert(name.clone(), value.to_json());
    }
    Json::Object(object)
}

/// An item from DynamoDB's JSON.
pub fn item_from_json(json: &Json) -> Result<Item, String> {
    let Json::Object(object) = json else {
        return Err("an item is not a JSON object".to_string());
    };
    object
        .iter()
        .map(|(name, value)| {
            Value::from_json(value)
                .map(|v| (name.clone(), v))
                .map_err(|e| [name.as_str(), ": ", &e].concat())
        })
        .collect()
}

fn strings(texts: impl Iterator<Item = String>) -> Json {
    Json::Array(texts.map(Json::String).collect::<Array>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use miniserde::json;

    #[test]
    fn every_type_round_trips_through_json() {
        let mut inner = Item::new();
        inner.insert("deep".into(), Value::L(vec![Value::Null, Value::from(1.5)]));
        let mut item = Item::new();
        item.insert("s".into(), Value::from("text"));
        item.insert("n".into(), Value::from(-42));
        item.insert("b".into(), Value::B(vec![0, 255, 7]));
        item.insert("bool".into(), Value::Bool(false));
        item.insert("m".into(), Value::M(inner));
        item.insert("ss".into(), Value::Ss(vec!["a".into(), "b".into()]));
        item.insert("ns".into(), Value::Ns(vec!["1".into(), "2.5".into()]));
        item.insert("bs".into(), Value::Bs(vec![vec![1], vec![2, 3]]));
        let text = json::to_string(&item_to_json(&item));
        assert!(text.contains(r#""b":{"B":"AP8H"}"#), "{text}");
        assert!(text.contains(r#""n":{"N":"-42"}"#), "{text}");
        let back = item_from_json(&json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, item);
        assert_eq!(back["n"].as_n::<i32>(), Some(-42));
        assert_eq!(back["n"].as_n::<u32>(), None);
        assert_eq!(back["s"].as_s(), Some("text"));
        assert_eq!(back["s"].as_n::<u32>(), None);
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in [
            r#"{"x": "S"}"#,
            r#"{"x": {}}"#,
            r#"{"x": {"S": "a", "N": "1"}}"#,
            r#"{"x": {"S": 1}}"#,
            r#"{"x": {"B": "***"}}"#,
            r#"{"x": {"NULL": false}}"#,
            r#"{"x": {"L": {}}}"#,
            r#"{"x": {"Q": "?"}}"#,
            r#"[]"#,
        ] {
            let e = item_from_json(&json::from_str(bad).unwrap()).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }
}
