//! Any JSON-protocol service through `Aws::call_json`: a DynamoDB call
//! with its own target against moto, and the per-service endpoint
//! variable from the lookup, against a fake AWS.

use super::*;

#[test]
fn call_json_lists_the_tables_with_dynamodb_s_own_target() {
    let aws = user_aws();
    let answer = aws
        .call_json(
            Deadline::NONE,
            "dynamodb",
            "DynamoDB_20120810.ListTables",
            "1.0",
            "{}",
        )
        .unwrap();
    let answer: Json = json::from_str(&answer).unwrap();
    let Json::Array(names) = field(&answer, "TableNames") else {
        panic!("TableNames is not a list");
    };
    let names: Vec<&str> = names.iter().map(text).collect();
    assert!(names.contains(&moto().table.as_str()), "{names:?}");
    assert!(names.contains(&moto().items_table.as_str()), "{names:?}");
}

#[test]
fn call_json_goes_where_the_lookup_s_service_variable_says() {
    // AWS_ENDPOINT_URL leads nowhere; AWS_ENDPOINT_URL_DYNAMODB must win,
    // and it comes from the lookup, not the process environment.
    let fake = Fake::always(200, r#"{"TableNames":[]}"#);
    let aws = aws_from(vars(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &fake.url),
        ("AWS_ACCESS_KEY_ID", "AKIDFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ]));
    let answer = aws
        .call_json(
            Deadline::NONE,
            "dynamodb",
            "DynamoDB_20120810.ListTables",
            "1.0",
            "{}",
        )
        .unwrap();
    assert_eq!(answer, r#"{"TableNames":[]}"#);
    assert_eq!(fake.count(), 1);
}
