#!/usr/bin/env python3
"""End-to-end check of the orders peer against the mock Runtime API and moto.

    python3 size-report/peer-orders/e2e.py [BOOTSTRAP] [TINY_LAMBDA]

BOOTSTRAP defaults to size-report/peer-orders/target/size/peer-orders and
TINY_LAMBDA to target/release/tiny-lambda (build it with
`cargo build --release -p tiny-lambda-cli`). Needs
`pip install 'moto[server]'` (boto3 comes with it).

Starts moto on a free loopback port (authentication off, dummy credentials),
creates the table `orders` (hash key id: S) and the queue `orders`, seeds the
order `bench-order-1` that events/v2-get-order.json reads, then drives the
bootstrap through `tiny-lambda invoke` with the files in events/ and checks
every answer, the table and the queue with boto3. Prints one line per check
and ends with `N passed, N failed`; exits 1 if any failed.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EVENTS = os.path.join(HERE, "events")
REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto did not start")


def invoke(tiny_lambda, bootstrap, env, events):
    """Runs the bootstrap once over `events` (inline JSON texts); returns the
    exit code, the parsed answers and the bootstrap's stderr."""
    run = subprocess.run(
        [tiny_lambda, "invoke", bootstrap, *events],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    answers = []
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            answers.append(json.loads(line))
    return run.returncode, answers, run.stderr


def body_of(answer):
    return json.loads(answer["body"])


def content_type(answer):
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (answer.get("multiValueHeaders") or {}).items()}
    return headers.get("content-type") or (multi.get("content-type") or [None])[0]


def event(name):
    with open(os.path.join(EVENTS, name)) as f:
        return f.read()


def v2_post(body):
    e = json.loads(event("v2-post-orders.json"))
    e["body"] = body
    e["headers"]["content-length"] = str(len(body))
    return json.dumps(e)


def v2_get(order_id):
    e = json.loads(event("v2-get-order.json"))
    e["rawPath"] = e["requestContext"]["http"]["path"] = f"/orders/{order_id}"
    e["pathParameters"] = {"id": order_id}
    return json.dumps(e)


def main():
    bootstrap = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "target/size/peer-orders")
    tiny_lambda = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target/release/tiny-lambda")
    import boto3

    moto, endpoint = start_moto()
    try:
        kw = dict(endpoint_url=endpoint, region_name=REGION,
                  aws_access_key_id="testing", aws_secret_access_key="testing")
        ddb = boto3.client("dynamodb", **kw)
        sqs = boto3.client("sqs", **kw)
        ddb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        ddb.put_item(TableName="orders", Item={
            "id": {"S": "bench-order-1"}, "item": {"S": "seed"}, "qty": {"N": "1"}})
        # AWS_EC2_METADATA_DISABLED: should the credentials ever be missing,
        # the default chain's last step would ask IMDS at 169.254.169.254;
        # nothing here may send traffic off the loopback.
        env = {**CREDS, "TABLE_NAME": "orders", "QUEUE_URL": queue_url,
               "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION,
               "AWS_EC2_METADATA_DISABLED": "true"}
        print(f"moto at {endpoint}, queue {queue_url}")

        def messages():
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=0, VisibilityTimeout=0)
            return [m["Body"] for m in got.get("Messages", [])]

        def purge():
            for _ in range(3):
                got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
                for m in got.get("Messages", []):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

        def count():
            return ddb.scan(TableName="orders", Select="COUNT")["Count"]

        # 1. POST /orders (v2): 201 {"id"}, the item, the message.
        rc, answers, err = invoke(tiny_lambda, bootstrap, env, [event("v2-post-orders.json")])
        a = answers[0] if answers else {}
        check("POST v2 answers 201", rc == 0 and a.get("statusCode") == 201, f"rc={rc} {answers} {err}")
        check("POST v2 content-type application/json", content_type(a) == "application/json", a)
        order_id = body_of(a).get("id") if a else None
        check("POST v2 body is {\"id\"} only", a and list(body_of(a)) == ["id"] and order_id, a)
        item = ddb.get_item(TableName="orders", Key={"id": {"S": order_id or "?"}}).get("Item")
        check("PutItem wrote exactly id/item/qty",
              item == {"id": {"S": order_id}, "item": {"S": "book"}, "qty": {"N": "2"}}, item)
        msgs = messages()
        check("SendMessage sent the order", len(msgs) == 1 and json.loads(msgs[0]) ==
              {"id": order_id, "item": "book", "qty": 2}, msgs)
        check("message qty is a JSON number", msgs and isinstance(json.loads(msgs[0])["qty"], int), msgs)
        purge()

        # 2. GET found (the posted order and the seeded one), GET not found,
        #    the 400s, another route, and a v1 (REST) POST, in one warm process.
        bad = ['not json', '[]', '{"qty":2}', '{"item":"","qty":2}', '{"item":5,"qty":2}',
               '{"item":"book"}', '{"item":"book","qty":0}', '{"item":"book","qty":1.5}',
               '{"item":"book","qty":"2"}', '{"item":"book","qty":-3}']
        other = json.loads(event("v2-get-order.json"))
        other["rawPath"] = other["requestContext"]["http"]["path"] = "/health"
        other["routeKey"] = other["requestContext"]["routeKey"] = "$default"
        del other["pathParameters"]
        before = count()
        evs = [v2_get(order_id), event("v2-get-order.json"), event("v2-get-missing.json"),
               event("v2-post-bad-qty.json"), *[v2_post(b) for b in bad], json.dumps(other),
               event("v1-post-orders.json")]
        rc, answers, err = invoke(tiny_lambda, bootstrap, env, evs)
        check("warm run answered every event", rc == 0 and len(answers) == len(evs), f"rc={rc} {err}")
        if len(answers) == len(evs):
            got, seed, missing, badqty = answers[:4]
            check("GET posted order 200", got["statusCode"] == 200 and body_of(got) ==
                  {"id": order_id, "item": "book", "qty": 2}, got)
            check("GET events/v2-get-order.json 200", seed["statusCode"] == 200 and body_of(seed) ==
                  {"id": "bench-order-1", "item": "seed", "qty": 1}, seed)
            check("GET missing 404", missing["statusCode"] == 404 and body_of(missing) ==
                  {"error": "not found"}, missing)
            for body, a in zip(["events/v2-post-bad-qty.json", *bad], answers[3:4 + len(bad)]):
                check(f"POST {body} 400", a["statusCode"] == 400 and content_type(a) ==
                      "application/json" and isinstance(body_of(a).get("error"), str), a)
            route = answers[4 + len(bad)]
            check("GET /health 404", route["statusCode"] == 404 and body_of(route) ==
                  {"error": "not found"}, route)
            v1 = answers[-1]
            check("POST v1 (REST) 201", v1["statusCode"] == 201 and
                  content_type(v1) == "application/json", v1)
            v1_id = body_of(v1).get("id")
            check("v1 order stored", ddb.get_item(TableName="orders", Key={"id": {"S": v1_id}})
                  .get("Item", {}).get("item") == {"S": "pen"}, v1)
        check("the 400s wrote nothing", count() == before + 1, f"{before} -> {count()}")
        msgs = messages()
        check("only the v1 order was sent", len(msgs) == 1 and json.loads(msgs[0])["item"] == "pen", msgs)
        purge()

        # 3. A missing table: 502 ResourceNotFoundException, nothing sent, and
        #    the process goes on (a second event is answered too).
        rc, answers, err = invoke(tiny_lambda, bootstrap, {**env, "TABLE_NAME": "no-such-table"},
                                  [event("v2-post-orders.json"), event("v2-get-missing.json")])
        check("wrong TABLE_NAME: POST 502 ResourceNotFoundException",
              len(answers) == 2 and answers[0]["statusCode"] == 502 and
              body_of(answers[0]) == {"error": "ResourceNotFoundException"}, f"{answers} {err}")
        check("wrong TABLE_NAME: GET 502 too, process alive",
              len(answers) == 2 and answers[1]["statusCode"] == 502, answers)
        check("wrong TABLE_NAME: one error line per failure",
              sum("ResourceNotFoundException" in l for l in err.splitlines()) == 2, err)
        check("failed PutItem sent nothing", messages() == [], messages())

        # 4. A missing queue: 502 with SQS's code.
        rc, answers, err = invoke(tiny_lambda, bootstrap,
                                  {**env, "QUEUE_URL": queue_url.replace("/orders", "/no-such-queue")},
                                  [event("v2-post-orders.json")])
        code = body_of(answers[0]).get("error") if answers else None
        check(f"wrong QUEUE_URL: POST 502 ({code})",
              answers and answers[0]["statusCode"] == 502 and code and "Queue" in code, f"{answers} {err}")

        # 5. A missing setting: the process ends during init, naming it.
        no_table = {k: v for k, v in env.items() if k != "TABLE_NAME"}
        run = subprocess.run([tiny_lambda, "invoke", bootstrap, event("v2-get-missing.json")],
                             env={k: v for k, v in os.environ.items() if k != "TABLE_NAME"} | no_table,
                             capture_output=True, text=True, timeout=60)
        check("no TABLE_NAME: init fails naming it", run.returncode == 3 and "TABLE_NAME" in run.stderr,
              f"rc={run.returncode} {run.stderr}")
    finally:
        moto.terminate()
        moto.wait()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
