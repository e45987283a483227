//! The event types of `tiny_lambda::events` on any JSON: every source's
//! request type, the payload decoders (Kinesis data, CloudWatch Logs'
//! base64 + gzip + JSON, DynamoDB attributes, S3 keys), and the answers.
//!
//! What must hold: no panic on any input; what a decoder refuses is a named
//! `DecodeError`; the types that are both read and written (EventBridge,
//! the batch answer) are a fixed point after one write; and each HTTP
//! answer type, filled from the input and written out, parses back to the
//! same fields with nothing AWS would not expect (no `null`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use miniserde::{Deserialize, Serialize, json};
use tiny_lambda::events::alb::{AlbTargetGroupRequest, AlbTargetGroupResponse};
use tiny_lambda::events::apigw::{
    ApiGatewayV1Request, ApiGatewayV1Response, ApiGatewayV2Request, ApiGatewayV2Response,
};
use tiny_lambda::events::cloudwatch_logs::CloudWatchLogsEvent;
use tiny_lambda::events::dynamodb::DynamoDbEvent;
use tiny_lambda::events::eventbridge::EventBridgeEvent;
use tiny_lambda::events::kinesis::KinesisEvent;
use tiny_lambda::events::lambda_url::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use tiny_lambda::events::s3::S3Event;
use tiny_lambda::events::sns::SnsEvent;
use tiny_lambda::events::sqs::SqsEvent;
use tiny_lambda::events::{BatchResponse, DecodeError};
use tiny_lambda_fuzz::AnyResponse;

fn parse<T: Deserialize>(text: &str) -> Option<T> {
    json::from_str(text).ok()
}

fn fixed_point<T: Deserialize + Serialize>(text: &str) {
    let Some(value) = parse::<T>(text) else {
        return;
    };
    let first = json::to_string(&value);
    let again: T = parse(&first).unwrap_or_else(|| panic!("written text does not parse: {first}"));
    assert_eq!(json::to_string(&again), first);
}

fn named(e: &DecodeError) {
    assert!(!e.to_string().is_empty());
}

/// Written out, `response` must read back as `expected`, with no `null`.
fn answers_back(response: &dyn Serialize, expected: &AnyResponse) {
    let text = json::to_string(response);
    let back: AnyResponse = parse(&text).unwrap_or_else(|| panic!("answer does not parse: {text}"));
    assert_eq!(&back, expected, "{text}");
    let value: json::Value = parse(&text).unwrap();
    let json::Value::Object(fields) = value else {
        panic!("an answer is an object: {text}")
    };
    assert!(
        fields.values().all(|v| !matches!(v, json::Value::Null)),
        "{text}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    parse::<ApiGatewayV1Request>(text);
    parse::<ApiGatewayV2Request>(text);
    parse::<AlbTargetGroupRequest>(text);
    parse::<LambdaFunctionUrlRequest>(text);
    parse::<SqsEvent>(text);
    parse::<SnsEvent>(text);
    if let Some(event) = parse::<S3Event>(text) {
        for record in &event.records {
            record.s3.object.decoded_key();
        }
    }
    if let Some(event) = parse::<DynamoDbEvent>(text) {
        for record in &event.records {
            let stream = &record.dynamodb;
            let images = [
                Some(&stream.keys),
                stream.new_image.as_ref(),
                stream.old_image.as_ref(),
            ];
            for image in images.into_iter().flatten() {
                for value in image.values() {
                    value.get();
                }
            }
        }
    }
    if let Some(event) = parse::<KinesisEvent>(text) {
        for record in &event.records {
            if let Err(e) = record.kinesis.decode_data() {
                named(&e);
            }
        }
    }
    if let Some(event) = parse::<CloudWatchLogsEvent>(text) {
        if let Err(e) = event.decode() {
            named(&e);
        }
    }
    fixed_point::<EventBridgeEvent>(text);
    fixed_point::<BatchResponse>(text);

    // Each answer type, filled from whatever of the input fits.
    let Some(any) = parse::<AnyResponse>(text) else {
        return;
    };
    let only = |keep: &[&str]| AnyResponse {
        status_code: any.status_code,
        status_description: keep
            .contains(&"statusDescription")
            .then(|| any.status_description.clone())
            .flatten(),
        headers: any.headers.clone(),
        multi_value_headers: keep
            .contains(&"multiValueHeaders")
            .then(|| any.multi_value_headers.clone())
            .flatten(),
        cookies: keep
            .contains(&"cookies")
            .then(|| any.cookies.clone())
            .flatten(),
        body: any.body.clone(),
        is_base64_encoded: any.is_base64_encoded,
    };
    let v1 = ApiGatewayV1Response {
        status_code: any.status_code,
        headers: any.headers.clone(),
        multi_value_headers: any.multi_value_headers.clone(),
        body: any.body.clone(),
        is_base64_encoded: any.is_base64_encoded,
    };
    answers_back(&v1, &only(&["multiValueHeaders"]));
    let v2 = ApiGatewayV2Response {
        status_code: any.status_code,
        headers: any.headers.clone(),
        cookies: any.cookies.clone(),
        body: any.body.clone(),
        is_base64_encoded: any.is_base64_encoded,
    };
    answers_back(&v2, &only(&["cookies"]));
    let url = LambdaFunctionUrlResponse {
        status_code: any.status_code,
        headers: any.headers.clone(),
        cookies: any.cookies.clone(),
        body: any.body.clone(),
        is_base64_encoded: any.is_base64_encoded,
    };
    answers_back(&url, &only(&["cookies"]));
    let alb = AlbTargetGroupResponse {
        status_code: any.status_code,
        status_description: any.status_description.clone(),
        headers: any.headers.clone(),
        multi_value_headers: any.multi_value_headers.clone(),
        body: any.body.clone(),
        is_base64_encoded: any.is_base64_encoded,
    };
    answers_back(&alb, &only(&["statusDescription", "multiValueHeaders"]));
});
