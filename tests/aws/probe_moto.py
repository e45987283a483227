#!/usr/bin/env python3
"""Re-checks, against a fresh moto_harness.py, the behaviours README.md lists.

    python3 tests/aws/probe_moto.py            # prints every exchange
    python3 tests/aws/probe_moto.py -q         # only the one-line summary per check

Each check signs a request by hand with botocore's SigV4Auth / S3SigV4Auth
(what a hand-rolled client does), sends it with http.client, and prints status,
the headers that carry error information, and the body. Run it after bumping
moto in requirements.txt and compare with README.md.
"""

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
QUIET = "-q" in sys.argv
INTERESTING = ("content-type", "x-amzn-query-error", "x-amzn-errortype", "x-amz-crc32")


def send(env, method, path, body=b"", headers=None, service="dynamodb", creds="user",
         region=None, s3=False, strip=(), extra_after=None):
    """Signs like a SigV4 client would, then sends. `creds` is "user", "role",
    or a botocore Credentials; `strip` names headers removed after signing;
    `extra_after` adds headers after signing (unsigned)."""
    if creds == "user":
        creds = Credentials(env["user"]["access_key_id"], env["user"]["secret_access_key"])
    elif creds == "role":
        r = env["role"]
        creds = Credentials(r["access_key_id"], r["secret_access_key"], r["session_token"])
    url = env["endpoint"] + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = (S3SigV4Auth if s3 else SigV4Auth)(creds, service, region or env["region"])
    if creds is not None:
        signer.add_auth(req)
    hdrs = {k: v for k, v in req.headers.items() if k.lower() not in [s.lower() for s in strip]}
    hdrs.update(extra_after or {})
    return exchange(env, method, path, body, hdrs)


def exchange(env, method, path, body, headers):
    # http.client adds only Host, Accept-Encoding: identity and Content-Length,
    # close to what a minimal client sends (urllib would add a form
    # Content-Type, which makes Flask swallow an S3 PUT body).
    conn = http.client.HTTPConnection(env["endpoint"].split("//")[1], timeout=10)
    conn.request(method, path, body=body if body else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def show(title, result):
    status, headers, body = result
    info = {k: v for k, v in headers.items() if k.lower() in INTERESTING}
    text = body.decode("utf-8", "replace")
    if QUIET:
        print(f"{status} {title}: {text[:160]!r}")
    else:
        print(f"=== {title}\n{status} {info}\n{text[:1500]}\n")
    return result


def ddb(env, target, payload, more_headers=None, **kw):
    kw.setdefault("service", "dynamodb")
    return send(env, "POST", "/", json.dumps(payload).encode(),
                headers={"Content-Type": "application/x-amz-json-1.0",
                         "X-Amz-Target": f"DynamoDB_20120810.{target}", **(more_headers or {})}, **kw)


def sqs_json(env, target, payload, **kw):
    kw.setdefault("service", "sqs")
    return send(env, "POST", "/", json.dumps(payload).encode(),
                headers={"Content-Type": "application/x-amz-json-1.0",
                         "X-Amz-Target": f"AmazonSQS.{target}"}, **kw)


def main():
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "moto_harness.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    env = json.loads(proc.stdout.readline())
    print(f"harness ready after {time.monotonic() - t0:.2f}s (wall, incl. interpreter start)")
    q = env["queue_url"]
    wrong_secret = Credentials(env["user"]["access_key_id"], "wrong-secret")
    unknown_key = Credentials("AKIAUNKNOWN000000000", "whatever")
    r = env["role"]
    role_no_token = Credentials(r["access_key_id"], r["secret_access_key"])
    role_bad_token = Credentials(r["access_key_id"], r["secret_access_key"], "bogus")
    user_with_token = Credentials(env["user"]["access_key_id"], env["user"]["secret_access_key"], "bogus")
    s3path = f"/{env['bucket']}"

    # --- signature / key checks, per service
    for label, creds in [("wrong secret", wrong_secret), ("unknown key", unknown_key),
                         ("role without token", role_no_token), ("role wrong token", role_bad_token),
                         ("user key + token header", user_with_token), ("role ok", "role"), ("user ok", "user")]:
        show(f"DynamoDB ListTables, {label}", ddb(env, "ListTables", {}, creds=creds))
        show(f"SQS(JSON) GetQueueAttributes, {label}",
             sqs_json(env, "GetQueueAttributes", {"QueueUrl": q}, creds=creds))
        show(f"S3 GET object list, {label}", send(env, "GET", s3path + "?list-type=2", service="s3", s3=True, creds=creds))
    show("no Authorization header at all (DynamoDB)", send(env, "POST", "/", b"{}", creds=None,
         headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}))
    show("S3 no Authorization header", send(env, "GET", s3path + "?list-type=2", creds=None))

    # --- credential scope: service and region
    show("DynamoDB signed with region us-west-2", ddb(env, "DescribeTable", {"TableName": "orders"}, region="us-west-2"))
    show("DynamoDB request signed with service 'sqs'", ddb(env, "ListTables", {}, service="sqs"))
    show("S3 signed with region eu-west-1", send(env, "GET", s3path + "?list-type=2", service="s3", s3=True, region="eu-west-1"))
    show("X-Amz-Date in 2001 (clock skew)", skew(env))

    # --- headers that must (not) be signed
    show("user-agent among SignedHeaders", user_agent_signed(env))
    show("host not signed", host_unsigned(env))

    # --- DynamoDB error shapes
    show("DynamoDB GetItem missing table", ddb(env, "GetItem", {"TableName": "nope", "Key": {"id": {"S": "1"}}}))
    ddb(env, "PutItem", {"TableName": "orders", "Item": {"id": {"S": "probe"}, "n": {"N": "1"}}})
    show("DynamoDB PutItem condition failed", ddb(env, "PutItem", {
        "TableName": "orders", "Item": {"id": {"S": "probe"}},
        "ConditionExpression": "attribute_not_exists(id)"}))
    show("DynamoDB PutItem condition failed, ReturnValuesOnConditionCheckFailure=ALL_OLD", ddb(env, "PutItem", {
        "TableName": "orders", "Item": {"id": {"S": "probe"}},
        "ConditionExpression": "attribute_not_exists(id)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}))
    show("DynamoDB ValidationException (missing key attr)", ddb(env, "PutItem", {"TableName": "orders", "Item": {"x": {"S": "1"}}}))
    show("DynamoDB unknown target", ddb(env, "NoSuchOp", {}))
    show("DynamoDB Query items", ddb(env, "Query", {"TableName": "items", "KeyConditionExpression": "pk = :p",
                                                   "ExpressionAttributeValues": {":p": {"S": "a"}}}))
    show("DynamoDB DeleteItem cleanup", ddb(env, "DeleteItem", {"TableName": "orders", "Key": {"id": {"S": "probe"}}}))

    # --- SQS JSON protocol
    show("SQS JSON SendMessage", sqs_json(env, "SendMessage", {
        "QueueUrl": q, "MessageBody": "hello",
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}))
    show("SQS JSON SendMessageBatch", sqs_json(env, "SendMessageBatch", {
        "QueueUrl": q, "Entries": [{"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two"}]}))
    show("SQS JSON SendMessageBatch with a duplicate Id", sqs_json(env, "SendMessageBatch", {
        "QueueUrl": q, "Entries": [{"Id": "a", "MessageBody": "one"}, {"Id": "a", "MessageBody": "two"}]}))
    status, _, body = show("SQS JSON ReceiveMessage", sqs_json(env, "ReceiveMessage", {
        "QueueUrl": q, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0, "MessageAttributeNames": ["All"]}))
    msgs = json.loads(body).get("Messages", [])
    if msgs:
        show("SQS JSON DeleteMessage", sqs_json(env, "DeleteMessage", {"QueueUrl": q, "ReceiptHandle": msgs[0]["ReceiptHandle"]}))
        show("SQS JSON DeleteMessageBatch", sqs_json(env, "DeleteMessageBatch", {
            "QueueUrl": q, "Entries": [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs[1:])]}))
    show("SQS JSON SendMessage POSTed to the queue URL's path instead of /", send(
        env, "POST", urllib.parse.urlsplit(q).path, json.dumps({"QueueUrl": q, "MessageBody": "via path"}).encode(),
        service="sqs", headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}))
    show("SQS JSON unknown target", sqs_json(env, "NoSuchOp", {"QueueUrl": q}))
    show("SQS JSON DeleteMessage bad handle", sqs_json(env, "DeleteMessage", {"QueueUrl": q, "ReceiptHandle": "garbage"}))
    show("SQS JSON SendMessage to missing queue", sqs_json(env, "SendMessage", {
        "QueueUrl": env["endpoint"] + "/123456789012/nope", "MessageBody": "x"}))
    show("SQS JSON SendMessage without MessageBody", sqs_json(env, "SendMessage", {"QueueUrl": q}))
    show("SQS JSON GetQueueUrl missing queue", sqs_json(env, "GetQueueUrl", {"QueueName": "nope"}))
    show("SQS query protocol SendMessage (form body)", send(env, "POST", "/", service="sqs",
         body=f"Action=SendMessage&Version=2012-11-05&QueueUrl={urllib.parse.quote(q, safe='')}&MessageBody=q".encode(),
         headers={"Content-Type": "application/x-www-form-urlencoded"}))
    show("SQS query protocol GetQueueUrl missing queue", send(env, "POST", "/", service="sqs",
         body=b"Action=GetQueueUrl&Version=2012-11-05&QueueName=nope",
         headers={"Content-Type": "application/x-www-form-urlencoded"}))
    show("SQS JSON PurgeQueue cleanup", sqs_json(env, "PurgeQueue", {"QueueUrl": q}))

    # --- S3
    b = s3path
    show("S3 PUT, x-amz-content-sha256 = real hash (S3SigV4Auth)", send(env, "PUT", b + "/k1", b"hello", service="s3", s3=True))
    show("S3 PUT, no x-amz-content-sha256 (SigV4Auth, hash only in canonical request)",
         send(env, "PUT", b + "/k2", b"hello", service="s3"))
    show("S3 PUT, x-amz-content-sha256: UNSIGNED-PAYLOAD", send(env, "PUT", b + "/k3", b"hello", service="s3",
         headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    show("S3 PUT, x-amz-content-sha256 that does not match the body", send(env, "PUT", b + "/k4", b"hello", service="s3",
         headers={"X-Amz-Content-SHA256": "0" * 64}))
    show("S3 PUT, x-amz-content-sha256 header sent but NOT signed", send(env, "PUT", b + "/k5", b"hello", service="s3",
         extra_after={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    show("S3 PUT, Content-Type: application/octet-stream", send(env, "PUT", b + "/k6", b"hello", service="s3", s3=True,
         headers={"Content-Type": "application/octet-stream"}))
    show("S3 PUT, Content-Type: application/x-www-form-urlencoded", send(env, "PUT", b + "/k7", b"hello", service="s3", s3=True,
         headers={"Content-Type": "application/x-www-form-urlencoded"}))
    show("S3 GET k6", send(env, "GET", b + "/k6", service="s3", s3=True))
    show("S3 GET k7 (form content type: body kept?)", send(env, "GET", b + "/k7", service="s3", s3=True))
    show("S3 GET k3", send(env, "GET", b + "/k3", service="s3", s3=True))
    show("S3 GET k4 (stored despite the bad hash?)", send(env, "GET", b + "/k4", service="s3", s3=True))
    show("S3 GET missing key", send(env, "GET", b + "/missing", service="s3", s3=True))
    show("S3 HEAD missing key", send(env, "HEAD", b + "/missing", service="s3", s3=True))
    show("S3 HEAD k1", send(env, "HEAD", b + "/k1", service="s3", s3=True))
    show("S3 GET missing bucket", send(env, "GET", "/no-such-bucket/k", service="s3", s3=True))
    show("S3 PUT key 'dir/a b.txt' sent as dir/a%20b.txt", send(env, "PUT", b + "/dir/a%20b.txt", b"x", service="s3", s3=True))
    show("S3 PUT key 'a+b=c' sent as a%2Bb%3Dc", send(env, "PUT", b + "/a%2Bb%3Dc", b"x", service="s3", s3=True))
    show("S3 PUT key 'é' sent as %C3%A9", send(env, "PUT", b + "/%C3%A9", b"x", service="s3", s3=True))
    show("S3 list prefix=dir/ encoded as dir%2F", send(env, "GET", b + "?list-type=2&prefix=dir%2F", service="s3", s3=True))
    show("S3 list prefix with space encoded %20", send(env, "GET", b + "?list-type=2&prefix=dir%2Fa%20", service="s3", s3=True))
    show("S3 keys through boto3", boto3_s3_keys(env))
    show("S3 DELETE k1", send(env, "DELETE", b + "/k1", service="s3", s3=True))

    # --- policy enforcement: a user with no policy
    nopol = make_user_without_policy(env)
    show("DynamoDB ListTables, user without policy", ddb(env, "ListTables", {}, creds=nopol))
    show("SQS JSON SendMessage, user without policy", sqs_json(env, "SendMessage", {"QueueUrl": q, "MessageBody": "x"}, creds=nopol))
    show("S3 GET object, user without policy", send(env, "GET", b + "/k3", service="s3", s3=True, creds=nopol))
    show("S3 list bucket, user without policy", send(env, "GET", b + "?list-type=2", service="s3", s3=True, creds=nopol))

    proc.stdin.close()
    t1 = time.monotonic()
    rc = proc.wait(timeout=30)
    print(f"harness exited {rc} {time.monotonic() - t1:.2f}s after stdin EOF")


def skew(env):
    # botocore stamps the current time; patch it to sign as of 2001.
    import datetime
    import botocore.auth as ba
    real = ba.get_current_datetime
    ba.get_current_datetime = lambda: datetime.datetime(2001, 1, 1, 0, 0, 0)
    try:
        return ddb(env, "ListTables", {})
    finally:
        ba.get_current_datetime = real


def host_unsigned(env):
    # SigV4Auth always signs host; drop it from SignedHeaders by signing for a
    # subclass that leaves it out, as a client that forgets host would.
    class NoHost(SigV4Auth):
        def headers_to_sign(self, request):
            h = super().headers_to_sign(request)
            del h["host"]
            return h
    url = env["endpoint"] + "/"
    body = b"{}"
    req = AWSRequest(method="POST", url=url, data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"})
    NoHost(Credentials(env["user"]["access_key_id"], env["user"]["secret_access_key"]), "dynamodb", "us-east-1").add_auth(req)
    return exchange(env, "POST", "/", body, dict(req.headers))


def user_agent_signed(env):
    # botocore never signs user-agent (it is on its blacklist); a client that
    # does puts it in SignedHeaders, and moto recomputes with botocore.
    class WithUA(SigV4Auth):
        def headers_to_sign(self, request):
            h = super().headers_to_sign(request)
            h["user-agent"] = request.headers["User-Agent"]
            return h
    url = env["endpoint"] + "/"
    body = b"{}"
    req = AWSRequest(method="POST", url=url, data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "User-Agent": "tiny-lambda"})
    WithUA(Credentials(env["user"]["access_key_id"], env["user"]["secret_access_key"]), "dynamodb", "us-east-1").add_auth(req)
    return exchange(env, "POST", "/", body, dict(req.headers))


def boto3_s3_keys(env):
    # The same keys through boto3 itself, to tell a moto limit from a probe bug.
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=env["endpoint"], region_name="us-east-1",
                      aws_access_key_id=env["user"]["access_key_id"],
                      aws_secret_access_key=env["user"]["secret_access_key"],
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    out = []
    for key in ["plain-key.txt", "dir/a b.txt", "a+b", "a=b", "x!y", "é", "100%"]:
        try:
            s3.put_object(Bucket=env["bucket"], Key=key, Body=b"x")
            out.append(f"put {key!r}: ok")
        except Exception as e:  # noqa: BLE001 - we report whatever it is
            out.append(f"put {key!r}: {e}")
    for prefix in ["dir", "dir/"]:
        try:
            n = s3.list_objects_v2(Bucket=env["bucket"], Prefix=prefix).get("KeyCount")
            out.append(f"list prefix={prefix!r}: ok ({n})")
        except Exception as e:  # noqa: BLE001
            out.append(f"list prefix={prefix!r}: {e}")
    return 200, {}, "\n".join(out).encode()


def make_user_without_policy(env):
    import boto3
    iam = boto3.client("iam", endpoint_url=env["endpoint"], region_name="us-east-1",
                       aws_access_key_id=env["user"]["access_key_id"],
                       aws_secret_access_key=env["user"]["secret_access_key"])
    iam.create_user(UserName="no-policy")
    k = iam.create_access_key(UserName="no-policy")["AccessKey"]
    return Credentials(k["AccessKeyId"], k["SecretAccessKey"])


if __name__ == "__main__":
    main()
