//! The response a handler returns: status, headers, cookies to set, and a
//! text or binary body. How it is written for each front door is `answer`'s
//! business, not the handler's.

use std::string::String;
use std::vec::Vec;

use miniserde::{Serialize, json};

use super::request::Headers;

/// A response to an HTTP request.
///
/// ```
/// use tiny_lambda::http_adapter::Response;
///
/// let created = Response::json(201, &miniserde::json::Value::Null)
///     .header("location", "/orders/1")
///     .cookie("session=abc; HttpOnly");
/// assert_eq!(created.status, 201);
/// assert_eq!(created.headers.get("Content-Type"), Some("application/json"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers. `Set-Cookie` is better set through `cookies`: each front
    /// door has its own place for it.
    pub headers: Headers,
    /// Cookies to set, each a `Set-Cookie` value (`name=value; attributes`).
    pub cookies: Vec<String>,
    /// The body.
    pub body: Body,
}

/// A response body.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// Text, sent as it is.
    Text(String),
    /// Bytes, sent base64-encoded with `isBase64Encoded: true`; the front door
    /// decodes them. Use it for anything that is not UTF-8 text.
    Binary(Vec<u8>),
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Text(text)
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Body {
        Body::Text(text.into())
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Binary(bytes)
    }
}

impl Response {
    /// A response with this status, no headers and no body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Headers::new(),
            cookies: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A text body, `content-type: text/plain; charset=utf-8`.
    pub fn text(status: u16, text: impl Into<String>) -> Response {
        Response::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(Body::Text(text.into()))
    }

    /// A JSON body, `content-type: application/json`.
    pub fn json(status: u16, value: &dyn Serialize) -> Response {
        Response::new(status)
            .header("content-type", "application/json")
            .body(Body::Text(json::to_string(value)))
    }

    /// A binary body, `content-type: application/octet-stream`.
    pub fn binary(status: u16, bytes: Vec<u8>) -> Response {
        Response::new(status)
            .header("content-type", "application/octet-stream")
            .body(Body::Binary(bytes))
    }

    /// Set a header to this value, replacing any value it had.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.insert(name, value);
        self
    }

    /// Add a cookie to set: `name=value`, with attributes if you like.
    pub fn cookie(mut self, cookie: &str) -> Response {
        self.cookies.push(cookie.into());
        self
    }

    /// Replace the body.
    pub fn body(mut self, body: impl Into<Body>) -> Response {
        self.body = body.into();
        self
    }
}
