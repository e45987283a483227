#!/usr/bin/env python3
"""moto in server mode, with request authentication on, for the AWS client's tests.

    python3 tests/aws/moto_harness.py
        Starts moto on 127.0.0.1:<free port>, creates the fixtures below while
        authentication is still off, switches authentication on, prints ONE line
        of JSON on stdout and closes stdout, then serves until stdin reaches EOF
        or SIGTERM/SIGINT arrives, and exits 0. The line:

        {"endpoint": "http://127.0.0.1:PORT", "region": "us-east-1",
         "user": {"access_key_id": "AKIA...", "secret_access_key": "..."},
         "role": {"access_key_id": "ASIA...", "secret_access_key": "...",
                  "session_token": "FQoGZXIvYXdzEBYaD...", "expiration": "2026-01-01T12:00:00Z"},
         "queue_url": "http://127.0.0.1:PORT/123456789012/orders",
         "table": "orders", "items_table": "items", "bucket": "tiny-lambda-test"}

        Fixtures: IAM user `tiny-lambda-test` (inline policy "*" on "*") with one
        access key; IAM role `tiny-lambda-test-role` (same policy, trusts the
        account) whose session credentials come from STS AssumeRole; DynamoDB
        table `orders` (hash key id: S) and `items` (pk: S, sk: S); SQS queue
        `orders`; S3 bucket `tiny-lambda-test`.

    python3 tests/aws/moto_harness.py dump ENDPOINT ACCESS_KEY SECRET [SESSION_TOKEN]
        Reads the state back through boto3 (an independent client, not the one
        under test) and prints one JSON document:
        {"orders": [DynamoDB-JSON items, sorted by id],
         "items": [DynamoDB-JSON items, sorted by pk, sk],
         "messages": [{"message_id", "body", "message_attributes"}, ...],
         "objects": [{"key", "size", "body_base64"}, ...]}
        Messages are received once each and then made visible again, so a dump
        does not consume them (their ApproximateReceiveCount does go up).

Spawning it from Rust: stdin = piped (hold the ChildStdin; dropping it stops
the server, and so does the test process dying), stdout = piped (read one
line, then EOF follows), stderr = inherit (errors during start-up land there;
request logs and the "ready in N s" line are off unless MOTO_HARNESS_LOG=1).

Anything else a test wants to check can be read with boto3 in the same way as
`dump` does: boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION,
aws_access_key_id=..., aws_secret_access_key=..., aws_session_token=...).
"""

import base64
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.request

REGION = "us-east-1"
TABLE = "orders"
ITEMS_TABLE = "items"
QUEUE = "orders"
BUCKET = "tiny-lambda-test"
USER = "tiny-lambda-test"
ROLE = "tiny-lambda-test-role"
ALLOW_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
)


def client(service, endpoint, key, secret, token=None):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        # Path-style, as the Rust client addresses S3 against 127.0.0.1; no
        # retries, so a broken fixture fails at once instead of after backoff.
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def create_fixtures(endpoint):
    # Authentication is off here, so any credentials pass; moto files
    # everything under its default account 123456789012.
    def anon(service):
        return client(service, endpoint, "AKIAHARNESSSETUP0000", "setup")

    iam = anon("iam")
    iam.create_user(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    account = iam.get_user(UserName=USER)["User"]["Arn"].split(":")[4]

    # The trust policy names the account root, which covers the user; moto only
    # checks it while authentication is on, but it is what AWS would need.
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
    # Assume it as the user, so the session belongs to the same account as
    # the user's key (moto picks the account from the caller's access key).
    sts = client("sts", endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="tiny-lambda-tests")["Credentials"]

    ddb = anon("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName=ITEMS_TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    queue_url = anon("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    anon("s3").create_bucket(Bucket=BUCKET)

    return {
        "endpoint": endpoint,
        "region": REGION,
        "user": {
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
        },
        "role": {
            "access_key_id": creds["AccessKeyId"],
            "secret_access_key": creds["SecretAccessKey"],
            "session_token": creds["SessionToken"],
            # The shape Lambda and the container credential endpoints use.
            "expiration": creds["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "queue_url": queue_url,
        "table": TABLE,
        "items_table": ITEMS_TABLE,
        "bucket": BUCKET,
    }


def switch_auth_on(endpoint):
    # moto_api/_internal/responses.py: the body becomes
    # settings.INITIAL_NO_AUTH_ACTION_COUNT and the request counter goes back
    # to 0; core/authorization.py checks every action once counter >= that
    # number, so "0" means: from the next request on, all are authenticated.
    # The moto-api endpoints themselves are never authenticated.
    # The body is read raw (request.data): with urllib's default form
    # content type Flask would swallow it into request.form and moto 500s.
    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()

    # Prove it took: an unknown key must now be refused. If a moto upgrade
    # changed the semantics, failing here beats tests that pass for nothing.
    from botocore.exceptions import ClientError

    try:
        client("dynamodb", endpoint, "AKIANOSUCHKEY0000000", "nope").list_tables()
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
            return
        raise
    raise RuntimeError("moto accepted an unknown access key after reset-auth")


def serve():
    # Only the JSON line may reach the reader of stdout. moto prints notes on
    # stdout (and werkzeug may too), so point fd 1 at stderr for the whole
    # run and keep a private copy of the real stdout for the one line.
    real_stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    # werkzeug logs one line per request on stderr; a parent that pipes
    # stderr without reading it would otherwise stall the server once the
    # pipe buffer fills.
    if os.environ.get("MOTO_HARNESS_LOG") != "1":
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    # Handlers first: a parent may signal as soon as it has read the line,
    # and a stop asked for during set-up is simply honoured once it is done.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    started = time.monotonic()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    info = create_fixtures(endpoint)
    switch_auth_on(endpoint)

    real_stdout.write(json.dumps(info) + "\n")
    real_stdout.flush()
    real_stdout.close()
    if os.environ.get("MOTO_HARNESS_LOG") == "1":
        print(f"moto_harness: ready on {endpoint} in {time.monotonic() - started:.2f}s", file=sys.stderr)

    def wait_for_eof():
        # The parent holds our stdin; EOF means it dropped the pipe or died.
        # (No stdin at all counts as EOF: stop at once rather than run forever.)
        if sys.stdin is not None:
            while sys.stdin.buffer.read1(65536):
                pass
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    # A timed wait, so the signal handlers get to run promptly.
    while not stop.wait(0.5):
        pass
    server.stop()
    # os._exit, not return: after SIGTERM the stdin reader thread is still
    # blocked in read(), and a normal interpreter shutdown then aborts
    # ("could not acquire lock for <stdin>", exit -6).
    sys.stderr.flush()
    os._exit(0)


def dump(endpoint, key, secret, token=None):
    ddb = client("dynamodb", endpoint, key, secret, token)

    def scan(table):
        items = []
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
        return items

    orders = sorted(scan(TABLE), key=lambda i: i["id"]["S"])
    items = sorted(scan(ITEMS_TABLE), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))

    sqs = client("sqs", endpoint, key, secret, token)
    queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    messages, handles = [], []
    while True:
        # A visibility timeout long enough that no message comes back within
        # this loop, so each one is seen once; they are released below.
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            break
        for m in got:
            messages.append(
                {
                    "message_id": m["MessageId"],
                    "body": m["Body"],
                    "message_attributes": m.get("MessageAttributes", {}),
                }
            )
            handles.append(m["ReceiptHandle"])
    for i in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for n, h in enumerate(handles[i : i + 10])
            ],
        )

    s3 = client("s3", endpoint, key, secret, token)
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            objects.append(
                {
                    "key": o["Key"],
                    "size": o["Size"],
                    "body_base64": base64.b64encode(body).decode(),
                }
            )

    json.dump(
        {"orders": orders, "items": items, "messages": messages, "objects": objects},
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


def main(argv):
    if len(argv) == 0:
        return serve()
    if argv[0] == "dump" and len(argv) in (4, 5):
        return dump(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
