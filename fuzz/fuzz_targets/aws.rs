//! What the AWS client reads from the network, on any bytes: a service's
//! error answer (JSON, S3's XML, or nothing, with or without the error-type
//! and request-id headers), DynamoDB items in their JSON form, and the
//! container credentials endpoint's answer with its `Expiration`.
//!
//! What must hold: no panic on any input; an error always has a code, a
//! bare one (no `#namespace` before it, no `:url` after it); an item that
//! parses is a fixed point once written (every type, base64 binaries and
//! number text included); keys that parse are never empty; and a time that
//! parses is written back, in the signature's form, as the same date.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miniserde::json::{self, Value};
use tiny_lambda::__fuzz::{aws_credentials, aws_error, aws_time};
use tiny_lambda::aws::dynamodb::{item_from_json, item_to_json};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => error_answer(rest),
        1 => item(rest),
        2 => credentials(rest),
        _ => time(rest),
    }
});

/// The first bytes choose the status and the headers; the rest is the body.
fn error_answer(data: &[u8]) {
    let Some((&[status, flags], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = 300 + u16::from(status) * 2;
    let text = String::from_utf8_lossy(body);
    // A header value taken from the body's first line, as a server could
    // send anything there.
    let line = text.lines().next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    if flags & 1 != 0 {
        headers.push(("x-amzn-errortype".to_string(), line.clone()));
    }
    if flags & 2 != 0 {
        headers.push(("x-amzn-requestid".to_string(), line));
    }
    let error = aws_error(status, &headers, body);
    assert!(!error.code.is_empty(), "an error without a code: {error:?}");
    assert!(!error.code.contains('#'), "a namespaced code: {error:?}");
    assert_eq!(error.status, status);
    let _ = error.to_string();
    let _ = tiny_lambda::Diagnostic::from_error(&error).header_value();
}

fn item(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = json::from_str::<Value>(text) else {
        return;
    };
    let Ok(item) = item_from_json(&value) else {
        return;
    };
    let written = json::to_string(&item_to_json(&item));
    let again = item_from_json(&json::from_str(&written).expect("written JSON parses"))
        .unwrap_or_else(|e| panic!("written item does not parse ({e}): {written}"));
    assert_eq!(again, item, "not a fixed point: {written}");
}

fn credentials(data: &[u8]) {
    if let Ok(keys) = aws_credentials(data) {
        assert!(!keys.access_key_id.is_empty() && !keys.secret_access_key.is_empty());
        assert!(keys.session_token.as_deref() != Some(""));
        // Debug quotes what it shows: a shown secret would be quoted too.
        let shown = format!("{keys:?}");
        let quoted = format!("{:?}", keys.secret_access_key);
        if keys.secret_access_key != keys.access_key_id {
            assert!(!shown.contains(&quoted), "the secret is shown: {shown}");
        }
    }
}

fn time(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((_, (date, stamp))) = aws_time(text) {
        let digits: String = text[..10].chars().filter(char::is_ascii_digit).collect();
        assert_eq!(date, digits, "{text}");
        assert!(stamp.starts_with(&date) && stamp.ends_with('Z'), "{stamp}");
        // Same hour, minute and second (a leap second, 60, rolls over).
        if &text[17..19] != "60" {
            let clock: String = text[11..19].chars().filter(char::is_ascii_digit).collect();
            assert_eq!(&stamp[9..15], clock, "{text}");
        }
    }
}
