//! The AWS documentation's sample event for each source (the files under
//! tests/fixtures/events/), parsed into tiny-lambda's types and checked field
//! by field; the types that go back to AWS are written out and compared.
#![cfg(feature = "events")]

use std::collections::BTreeMap;

use miniserde::json::{self, Value};
use tiny_lambda::events::alb::{AlbTargetGroupRequest, AlbTargetGroupResponse};
use tiny_lambda::events::apigw::{
    ApiGatewayV1Request, ApiGatewayV1Response, ApiGatewayV2Request, ApiGatewayV2Response,
};
use tiny_lambda::events::cloudwatch_logs::{AwsLogs, CloudWatchLogsEvent};
use tiny_lambda::events::dynamodb::{Attribute, DynamoDbEvent};
use tiny_lambda::events::eventbridge::{EventBridgeEvent, ScheduledEvent};
use tiny_lambda::events::kinesis::KinesisEvent;
use tiny_lambda::events::lambda_url::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use tiny_lambda::events::s3::S3Event;
use tiny_lambda::events::sns::SnsEvent;
use tiny_lambda::events::sqs::SqsEvent;
use tiny_lambda::events::{BatchResponse, DecodeError};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse<T: miniserde::Deserialize>(name: &str) -> T {
    json::from_str(&fixture(name)).unwrap_or_else(|_| panic!("{name} does not parse"))
}

#[test]
fn api_gateway_v1() {
    let e: ApiGatewayV1Request = parse("apigw-v1.json");
    assert_eq!(e.version.as_deref(), Some("1.0"));
    assert_eq!(e.resource, "/my/path");
    assert_eq!(e.path, "/my/path");
    assert_eq!(e.http_method, "GET");
    assert_eq!(e.headers.as_ref().unwrap()["header2"], "value2");
    assert_eq!(
        e.multi_value_headers.as_ref().unwrap()["header2"],
        ["value1", "value2"]
    );
    assert_eq!(
        e.query_string_parameters.as_ref().unwrap()["parameter2"],
        "value"
    );
    assert_eq!(
        e.multi_value_query_string_parameters.as_ref().unwrap()["parameter1"],
        ["value1", "value2"]
    );
    assert!(e.path_parameters.is_none());
    assert!(e.stage_variables.is_none());
    assert_eq!(e.body.as_deref(), Some("Hello from Lambda!"));
    assert!(!e.is_base64_encoded);
    let ctx = &e.request_context;
    assert_eq!(ctx.account_id, "123456789012");
    assert_eq!(ctx.api_id, "id");
    assert_eq!(ctx.request_id, "id=");
    assert_eq!(ctx.extended_request_id.as_deref(), Some("request-id"));
    assert_eq!(ctx.stage, "$default");
    assert_eq!(ctx.resource_id, None);
    assert_eq!(ctx.resource_path.as_deref(), Some("/my/path"));
    assert_eq!(ctx.http_method.as_deref(), Some("GET"));
    assert_eq!(ctx.protocol.as_deref(), Some("HTTP/1.1"));
    assert_eq!(
        ctx.request_time.as_deref(),
        Some("04/Mar/2020:19:15:17 +0000")
    );
    assert_eq!(ctx.request_time_epoch, Some(1583349317135));
    assert_eq!(
        ctx.domain_name.as_deref(),
        Some("id.execute-api.us-east-1.amazonaws.com")
    );
    assert_eq!(ctx.domain_prefix.as_deref(), Some("id"));
    let identity = ctx.identity.as_ref().unwrap();
    assert_eq!(identity.source_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(identity.user_agent.as_deref(), Some("user-agent"));
    assert_eq!(identity.user_arn, None);
    assert!(matches!(
        ctx.authorizer.as_ref().unwrap()["claims"],
        Value::Null
    ));
}

#[test]
fn api_gateway_v1_rest_with_cognito_claims() {
    let e: ApiGatewayV1Request = parse("apigw-v1-rest-cognito.json");
    assert_eq!(e.version, None);
    assert_eq!(e.resource, "/orders/{id}");
    assert_eq!(e.path, "/orders/42");
    assert_eq!(e.path_parameters.as_ref().unwrap()["id"], "42");
    assert_eq!(e.stage_variables.as_ref().unwrap()["table"], "orders");
    assert!(e.query_string_parameters.is_none());
    assert!(e.body.is_none());
    let ctx = &e.request_context;
    assert_eq!(ctx.stage, "prod");
    assert_eq!(ctx.path.as_deref(), Some("/prod/orders/42"));
    assert_eq!(ctx.request_time_epoch, Some(1428582896000));
    let Value::Object(claims) = &ctx.authorizer.as_ref().unwrap()["claims"] else {
        panic!("claims are an object");
    };
    assert!(matches!(&claims["email"], Value::String(s) if s == "jane@example.com"));
}

#[test]
fn api_gateway_v2() {
    let e: ApiGatewayV2Request = parse("apigw-v2.json");
    assert_eq!(e.version, "2.0");
    assert_eq!(e.route_key, "$default");
    assert_eq!(e.raw_path, "/my/path");
    assert_eq!(
        e.raw_query_string,
        "parameter1=value1&parameter1=value2&parameter2=value"
    );
    assert_eq!(e.cookies.as_deref().unwrap(), ["cookie1", "cookie2"]);
    assert_eq!(e.headers.as_ref().unwrap()["header2"], "value1,value2");
    assert_eq!(
        e.query_string_parameters.as_ref().unwrap()["parameter1"],
        "value1,value2"
    );
    assert_eq!(e.path_parameters.as_ref().unwrap()["parameter1"], "value1");
    assert_eq!(
        e.stage_variables.as_ref().unwrap()["stageVariable2"],
        "value2"
    );
    assert_eq!(e.body.as_deref(), Some("Hello from Lambda"));
    assert!(!e.is_base64_encoded);
    let ctx = &e.request_context;
    assert_eq!(ctx.account_id, "123456789012");
    assert_eq!(ctx.api_id, "api-id");
    assert!(ctx.authentication.is_some());
    let jwt = ctx.authorizer.as_ref().unwrap().jwt.as_ref().unwrap();
    assert!(matches!(&jwt.claims["claim1"], Value::String(s) if s == "value1"));
    assert_eq!(jwt.scopes.as_deref().unwrap(), ["scope1", "scope2"]);
    assert_eq!(ctx.domain_name, "id.execute-api.us-east-1.amazonaws.com");
    assert_eq!(ctx.domain_prefix.as_deref(), Some("id"));
    assert_eq!(ctx.http.method, "POST");
    assert_eq!(ctx.http.path, "/my/path");
    assert_eq!(ctx.http.protocol, "HTTP/1.1");
    assert_eq!(ctx.http.source_ip, "192.0.2.1");
    assert_eq!(ctx.http.user_agent, "agent");
    assert_eq!(ctx.request_id, "id");
    assert_eq!(ctx.route_key, "$default");
    assert_eq!(ctx.stage, "$default");
    assert_eq!(ctx.time, "12/Mar/2020:19:03:58 +0000");
    assert_eq!(ctx.time_epoch, 1583348638390);
}

#[test]
fn function_url() {
    let e: LambdaFunctionUrlRequest = parse("lambda-url.json");
    assert_eq!(e.version, "2.0");
    assert_eq!(e.raw_path, "/my/path");
    assert_eq!(e.cookies.as_deref().unwrap(), ["cookie1", "cookie2"]);
    assert_eq!(e.body.as_deref(), Some("Hello from client!"));
    let ctx = &e.request_context;
    assert_eq!(ctx.account_id, "123456789012");
    assert_eq!(ctx.domain_name, "<url-id>.lambda-url.us-west-2.on.aws");
    assert_eq!(ctx.http.method, "POST");
    assert_eq!(ctx.http.source_ip, "123.123.123.123");
    assert_eq!(ctx.route_key.as_deref(), Some("$default"));
    assert_eq!(ctx.time_epoch, 1583348638390);
    let iam = ctx.authorizer.as_ref().unwrap().iam.as_ref().unwrap();
    assert_eq!(iam.account_id.as_deref(), Some("111122223333"));
    assert_eq!(
        iam.user_arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/example-user")
    );
    assert_eq!(iam.principal_org_id, None);
}

#[test]
fn alb_single_and_multi_value() {
    let e: AlbTargetGroupRequest = parse("alb.json");
    assert!(
        e.request_context
            .elb
            .target_group_arn
            .ends_with("/49e9d65c45c6791a")
    );
    assert_eq!(e.http_method, "GET");
    assert_eq!(e.path, "/lambda");
    assert_eq!(
        e.query_string_parameters.as_ref().unwrap()["query"],
        "1234ABCD"
    );
    assert_eq!(
        e.headers.as_ref().unwrap()["x-forwarded-for"],
        "72.12.164.125"
    );
    assert!(e.multi_value_headers.is_none());
    assert_eq!(e.body.as_deref(), Some(""));
    assert!(!e.is_base64_encoded);

    let e: AlbTargetGroupRequest = parse("alb-multi-value.json");
    assert!(e.headers.is_none());
    assert_eq!(
        e.multi_value_headers.as_ref().unwrap()["cookie"],
        ["name1=value1", "name2=value2"]
    );
    assert_eq!(
        e.multi_value_query_string_parameters.as_ref().unwrap()["myKey"],
        ["val1", "val2"]
    );
    assert_eq!(e.body.as_deref(), Some("request_body"));
}

#[test]
fn http_responses_are_written_as_aws_reads_them() {
    let headers = BTreeMap::from([("content-type".to_string(), "text/plain".to_string())]);
    let v1 = ApiGatewayV1Response {
        status_code: 200,
        headers: Some(headers.clone()),
        multi_value_headers: Some(BTreeMap::from([(
            "set-cookie".to_string(),
            vec!["a=1".to_string(), "b=2".to_string()],
        )])),
        body: Some("hi".into()),
        is_base64_encoded: false,
    };
    assert_eq!(
        json::to_string(&v1),
        r#"{"statusCode":200,"headers":{"content-type":"text/plain"},"multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"hi","isBase64Encoded":false}"#
    );
    let v2 = ApiGatewayV2Response {
        status_code: 201,
        headers: Some(headers.clone()),
        cookies: Some(vec!["a=1".into()]),
        body: Some("aGk=".into()),
        is_base64_encoded: true,
    };
    assert_eq!(
        json::to_string(&v2),
        r#"{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"],"body":"aGk=","isBase64Encoded":true}"#
    );
    let url = LambdaFunctionUrlResponse {
        status_code: 204,
        ..Default::default()
    };
    assert_eq!(
        json::to_string(&url),
        r#"{"statusCode":204,"isBase64Encoded":false}"#
    );
    let alb = AlbTargetGroupResponse {
        status_code: 200,
        status_description: Some("200 OK".into()),
        headers: Some(headers),
        body: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        json::to_string(&alb),
        r#"{"statusCode":200,"statusDescription":"200 OK","headers":{"content-type":"text/plain"},"body":"","isBase64Encoded":false}"#
    );
}

#[test]
fn sqs_and_its_batch_response() {
    let e: SqsEvent = parse("sqs.json");
    assert_eq!(e.records.len(), 2);
    let m = &e.records[0];
    assert_eq!(m.message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
    assert_eq!(m.receipt_handle, "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...");
    assert_eq!(m.body, "Test message.");
    assert_eq!(m.attributes["ApproximateReceiveCount"], "1");
    assert_eq!(m.attributes["SentTimestamp"], "1545082649183");
    let attribute = &m.message_attributes["myAttribute"];
    assert_eq!(attribute.string_value.as_deref(), Some("myValue"));
    assert_eq!(attribute.data_type, "String");
    assert_eq!(attribute.binary_value, None);
    assert_eq!(attribute.string_list_values.as_deref(), Some(&[][..]));
    assert_eq!(m.md5_of_body, "e4e68fb7bd0e697a0ae8f1bb342846b3");
    assert_eq!(m.md5_of_message_attributes, None);
    assert_eq!(m.event_source, "aws:sqs");
    assert_eq!(
        m.event_source_arn,
        "arn:aws:sqs:us-east-2:123456789012:my-queue"
    );
    assert_eq!(m.aws_region, "us-east-2");
    assert!(e.records[1].message_attributes.is_empty());

    let mut answer = BatchResponse::new();
    answer.fail(&e.records[1].message_id);
    let text = json::to_string(&answer);
    assert_eq!(
        text,
        r#"{"batchItemFailures":[{"itemIdentifier":"2e1424d4-f796-459a-8184-9c92662be6da"}]}"#
    );
    assert_eq!(json::from_str::<BatchResponse>(&text).unwrap(), answer);
}

#[test]
fn sns() {
    let e: SnsEvent = parse("sns.json");
    let r = &e.records[0];
    assert_eq!(r.event_source, "aws:sns");
    assert_eq!(r.event_version, "1.0");
    assert!(
        r.event_subscription_arn
            .ends_with(":21be56ed-a058-49f5-8c98-aedd2564c486")
    );
    let m = &r.sns;
    assert_eq!(m.kind, "Notification");
    assert_eq!(m.message_id, "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    assert_eq!(m.topic_arn, "arn:aws:sns:us-east-1:123456789012:sns-lambda");
    assert_eq!(m.subject.as_deref(), Some("TestInvoke"));
    assert_eq!(m.message, "Hello from SNS!");
    assert_eq!(m.timestamp, "2019-01-02T12:45:07.000Z");
    assert_eq!(m.signature_version, "1");
    assert!(m.signing_cert_url.ends_with(".pem"));
    assert!(m.unsubscribe_url.contains("Action=Unsubscribe"));
    let attributes = m.message_attributes.as_ref().unwrap();
    assert_eq!(attributes["Test"].kind, "String");
    assert_eq!(attributes["Test"].value, "TestString");
    assert_eq!(attributes["TestBinary"].kind, "Binary");
}

#[test]
fn s3() {
    let e: S3Event = parse("s3.json");
    let r = &e.records[0];
    assert_eq!(r.event_version, "2.0");
    assert_eq!(r.event_source, "aws:s3");
    assert_eq!(r.aws_region, "us-east-1");
    assert_eq!(r.event_time, "1970-01-01T00:00:00.000Z");
    assert_eq!(r.event_name, "ObjectCreated:Put");
    assert_eq!(r.user_identity.as_ref().unwrap().principal_id, "EXAMPLE");
    assert_eq!(
        r.request_parameters.as_ref().unwrap().source_ip_address,
        "127.0.0.1"
    );
    let response = r.response_elements.as_ref().unwrap();
    assert_eq!(
        response.x_amz_request_id.as_deref(),
        Some("EXAMPLE123456789")
    );
    assert!(response.x_amz_id_2.is_some());
    assert_eq!(r.s3.schema_version, "1.0");
    assert_eq!(r.s3.configuration_id, "testConfigRule");
    assert_eq!(r.s3.bucket.name, "example-bucket");
    assert_eq!(r.s3.bucket.arn, "arn:aws:s3:::example-bucket");
    assert_eq!(r.s3.object.key, "test%2Fkey");
    assert_eq!(r.s3.object.decoded_key(), "test/key");
    assert_eq!(r.s3.object.size, Some(1024));
    assert_eq!(
        r.s3.object.e_tag.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!(r.s3.object.version_id, None);
    assert_eq!(r.s3.object.sequencer, "0A1B2C3D4E5F678901");
}

#[derive(miniserde::Deserialize, miniserde::Serialize, Debug, PartialEq)]
struct InstanceState {
    #[serde(rename = "instance-id")]
    instance_id: String,
    state: String,
}

#[test]
fn eventbridge_with_a_typed_detail_and_as_value() {
    let e: EventBridgeEvent<InstanceState> = parse("eventbridge.json");
    assert_eq!(e.version, "0");
    assert_eq!(e.id, "7bf73129-1428-4cd3-a780-95db273d1602");
    assert_eq!(e.detail_type, "EC2 Instance State-change Notification");
    assert_eq!(e.source, "aws.ec2");
    assert_eq!(e.account, "123456789012");
    assert_eq!(e.time, "2021-11-11T21:29:54Z");
    assert_eq!(e.region, "us-east-1");
    assert_eq!(
        e.resources,
        ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]
    );
    assert_eq!(e.detail.instance_id, "i-abcd1111");
    assert_eq!(e.detail.state, "pending");
    assert!(!e.is_scheduled());
    // Written back out, it reads the same.
    let again: EventBridgeEvent<InstanceState> = json::from_str(&json::to_string(&e)).unwrap();
    assert_eq!(again.detail, e.detail);
    assert_eq!(again.detail_type, e.detail_type);

    let untyped: EventBridgeEvent = parse("eventbridge.json");
    let Value::Object(detail) = &untyped.detail else {
        panic!("detail is an object");
    };
    assert!(matches!(&detail["state"], Value::String(s) if s == "pending"));
}

#[test]
fn scheduled_event() {
    let e: ScheduledEvent = parse("scheduled.json");
    assert!(e.is_scheduled());
    assert_eq!(e.source, "aws.events");
    assert_eq!(
        e.resources,
        ["arn:aws:events:us-east-2:123456789012:rule/my-schedule"]
    );
    assert!(matches!(&e.detail, Value::Object(o) if o.is_empty()));
}

#[test]
fn dynamodb_streams() {
    let e: DynamoDbEvent = parse("dynamodb.json");
    assert_eq!(e.records.len(), 3);
    let insert = &e.records[0];
    assert_eq!(insert.event_id, "1");
    assert_eq!(insert.event_name, "INSERT");
    assert_eq!(insert.event_version, "1.0");
    assert_eq!(insert.event_source, "aws:dynamodb");
    assert_eq!(insert.aws_region, "us-west-2");
    assert!(
        insert
            .event_source_arn
            .contains(":table/ExampleTableWithStream/stream/")
    );
    assert!(insert.user_identity.is_none());
    let d = &insert.dynamodb;
    assert_eq!(d.keys["Id"].get(), Attribute::N("101"));
    let new = d.new_image.as_ref().unwrap();
    assert_eq!(new["Message"].as_s(), Some("New item!"));
    assert!(d.old_image.is_none());
    assert_eq!(d.stream_view_type, "NEW_AND_OLD_IMAGES");
    assert_eq!(d.sequence_number, "111");
    assert_eq!(d.size_bytes, 26);
    assert_eq!(d.approximate_creation_date_time, None);
    let modify = &e.records[1].dynamodb;
    assert_eq!(
        modify.old_image.as_ref().unwrap()["Message"].as_s(),
        Some("New item!")
    );
    assert_eq!(
        modify.new_image.as_ref().unwrap()["Message"].as_s(),
        Some("This item has changed")
    );
    let remove = &e.records[2];
    assert_eq!(remove.event_name, "REMOVE");
    assert!(remove.dynamodb.new_image.is_none());
    assert_eq!(remove.dynamodb.size_bytes, 38);
}

#[test]
fn kinesis_with_its_data_decoded() {
    let e: KinesisEvent = parse("kinesis.json");
    assert_eq!(e.records.len(), 2);
    let r = &e.records[0];
    assert_eq!(r.event_source, "aws:kinesis");
    assert_eq!(r.event_version, "1.0");
    assert_eq!(r.event_name, "aws:kinesis:record");
    assert!(r.event_id.starts_with("shardId-000000000006:"));
    assert_eq!(
        r.invoke_identity_arn,
        "arn:aws:iam::123456789012:role/lambda-role"
    );
    assert_eq!(r.aws_region, "us-east-2");
    assert_eq!(
        r.event_source_arn,
        "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
    );
    let k = &r.kinesis;
    assert_eq!(k.kinesis_schema_version, "1.0");
    assert_eq!(k.partition_key, "1");
    assert_eq!(
        k.sequence_number,
        "49590338271490256608559692538361571095921575989136588898"
    );
    assert_eq!(k.approximate_arrival_timestamp, 1545084650.987);
    assert_eq!(k.encryption_type, None);
    assert_eq!(k.decode_data().unwrap(), b"Hello, this is a test.");
    assert_eq!(
        e.records[1].kinesis.decode_data().unwrap(),
        b"This is only a test."
    );
}

#[test]
fn kinesis_data_that_is_not_base64_is_named() {
    let mut e: KinesisEvent = parse("kinesis.json");
    e.records[0].kinesis.data = "not base64!".into();
    let err = e.records[0].kinesis.decode_data().unwrap_err();
    assert!(
        matches!(err, DecodeError::Base64 { field: "data", .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("data is not base64: "), "{err}");
}

#[test]
fn cloudwatch_logs_unwrapped() {
    let e: CloudWatchLogsEvent = parse("cloudwatch-logs.json");
    let logs = e.decode().unwrap();
    assert_eq!(logs.message_type, "DATA_MESSAGE");
    assert_eq!(logs.owner, "123456789123");
    assert_eq!(logs.log_group, "testLogGroup");
    assert_eq!(logs.log_stream, "testLogStream");
    assert_eq!(logs.subscription_filters, ["testFilter"]);
    assert_eq!(logs.policy_level, None);
    assert_eq!(logs.log_events.len(), 2);
    assert_eq!(logs.log_events[0].id, "eventId1");
    assert_eq!(logs.log_events[0].timestamp, 1440442987000);
    assert_eq!(logs.log_events[0].message, "[ERROR] First test message");
    assert_eq!(logs.log_events[1].message, "[ERROR] Second test message");
}

#[test]
fn cloudwatch_logs_faults_name_their_layer() {
    let wrapped = |data: &str| CloudWatchLogsEvent {
        awslogs: AwsLogs { data: data.into() },
    };
    let err = wrapped("%%%").decode().unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Base64 {
                field: "awslogs.data",
                ..
            }
        ),
        "{err:?}"
    );
    // Base64 of "plain text, not gzip".
    let err = wrapped("cGxhaW4gdGV4dCwgbm90IGd6aXA=")
        .decode()
        .unwrap_err();
    assert!(matches!(err, DecodeError::Gzip { .. }), "{err:?}");
    assert!(
        err.to_string().contains("awslogs.data is not gzip"),
        "{err}"
    );
    // Base64 of gzip of "[1]": valid gzip, not the documented JSON.
    let err = wrapped("H4sIAAAAAAAAA4s2jAUAuDIvTAMAAAA=")
        .decode()
        .unwrap_err();
    assert_eq!(
        err,
        DecodeError::Json {
            field: "awslogs.data"
        }
    );
}

#[test]
fn unknown_fields_never_break_a_parse() {
    let mut text = fixture("sqs.json");
    text = text.replacen(
        "\"messageId\"",
        "\"aFieldAwsAddsTomorrow\": {\"nested\": [1, 2]}, \"messageId\"",
        1,
    );
    let e: SqsEvent = json::from_str(&text).unwrap();
    assert_eq!(e.records.len(), 2);
}
