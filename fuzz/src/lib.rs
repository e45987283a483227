//! What the fuzz targets share: a reading of every HTTP answer shape the
//! event types write (API Gateway v1 and v2, function URLs, ALB), so a
//! target can parse back what the runtime would send to AWS; the Runtime
//! API the `stream` target posts to ([`stream_api`]); and the one that
//! answers the `transports` target with raw bytes ([`raw_api`]), with the
//! known differences between the two transports ([`differences`]).

use std::collections::BTreeMap;

use miniserde::Deserialize;

pub mod differences;
pub mod raw_api;
pub mod stream_api;

/// Any of the four HTTP answers, each field as AWS reads it.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct AnyResponse {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    #[serde(rename = "statusDescription")]
    pub status_description: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(rename = "multiValueHeaders")]
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    pub cookies: Option<Vec<String>>,
    pub body: Option<String>,
    #[serde(rename = "isBase64Encoded")]
    pub is_base64_encoded: bool,
}

/// The body of an HTTP event, however the source spells it.
#[derive(Debug, Deserialize)]
pub struct EventBody {
    pub body: Option<String>,
    #[serde(rename = "isBase64Encoded")]
    pub is_base64_encoded: Option<bool>,
}

/// Standard base64, as AWS uses it for bodies.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A fuzz input read front to back, a byte at a time; past its end every
/// byte reads as 0, so any input is a whole script.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A length byte, then that many bytes as UTF-8 (invalid sequences
    /// replaced): any text, control characters included.
    pub fn text(&mut self) -> String {
        let n = usize::from(self.byte()).min(self.0.len());
        let (text, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(text).into_owned()
    }

    /// One to `max` bytes, each mapped into `alphabet`: text of a given kind
    /// (a token, a field value).
    pub fn text_in(&mut self, max: u8, alphabet: &[u8]) -> String {
        let n = usize::from(self.byte() % max + 1).min(self.0.len().max(1));
        (0..n)
            .map(|_| char::from(alphabet[usize::from(self.byte()) % alphabet.len()]))
            .collect()
    }
}
