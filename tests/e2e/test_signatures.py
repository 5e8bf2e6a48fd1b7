"""SigV4 refusals through the server, with requests signed by botocore and then altered: wrong
secret, altered header, body and query, an expired presigned URL, a skewed clock, an unknown key,
and a session token that does not belong to the key — each refused with AWS's code."""
import datetime
import time
import xml.etree.ElementTree as ET
from unittest import mock

import requests
from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ROOT_KEY, ROOT_SECRET

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def signed(server, method="POST", path="/", body="Action=GetUser&Version=2010-05-08", service="iam",
           headers=None, key=ROOT_KEY, secret=ROOT_SECRET, token=None, when=None):
    req = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=dict(FORM, **(headers or {})))
    auth = SigV4Auth(Credentials(key, secret, token), service, "us-east-1")
    if when:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            auth.add_auth(req)
    else:
        auth.add_auth(req)
    return req


def send(req, **changes):
    headers = dict(req.headers.items())
    headers.update(changes.pop("headers", {}))
    url = changes.pop("url", req.url)
    body = changes.pop("body", req.body)
    return requests.request(req.method, url, data=body, headers=headers, timeout=10)


def code(resp):
    root = ET.fromstring(resp.content)
    for el in root.iter():
        if el.tag.endswith("Code"):
            return el.text
    return None


def test_a_correct_signature_is_accepted(server):
    r = send(signed(server))
    assert r.status_code == 200, r.text


def test_wrong_secret(server):
    r = send(signed(server, secret="not-the-secret"))
    assert (r.status_code, code(r)) == (403, "SignatureDoesNotMatch")


def test_altered_header(server):
    req = signed(server, headers={"X-Amz-Meta-Team": "blue"})
    r = send(req, headers={"X-Amz-Meta-Team": "red"})
    assert (r.status_code, code(r)) == (403, "SignatureDoesNotMatch")


def test_altered_body(server):
    req = signed(server, body="Action=GetUser&Version=2010-05-08&UserName=alice")
    r = send(req, body="Action=GetUser&Version=2010-05-08&UserName=mallory")
    assert (r.status_code, code(r)) == (403, "SignatureDoesNotMatch")


def test_altered_query(server):
    req = signed(server, method="GET", path="/?Action=GetUser&Version=2010-05-08&UserName=alice", body=None)
    r = send(req, url=req.url.replace("alice", "mallory"))
    assert (r.status_code, code(r)) == (403, "SignatureDoesNotMatch")


def test_skewed_clock(server):
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    r = send(signed(server, when=past))
    assert (r.status_code, code(r)) == (403, "SignatureDoesNotMatch")
    assert "Signature expired" in r.text


def test_skewed_clock_s3(server):
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    req = AWSRequest(method="GET", url=server.endpoint + "/", headers={})
    auth = SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1")
    req.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    with mock.patch("botocore.auth.get_current_datetime", return_value=past.replace(tzinfo=None)):
        auth.add_auth(req)
    r = send(req)
    assert (r.status_code, code(r)) == (403, "RequestTimeTooSkewed")


def test_expired_presigned_url(server):
    req = AWSRequest(method="GET", url=server.endpoint + "/", headers={})
    S3SigV4QueryAuth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1", expires=1).add_auth(req)
    assert requests.get(req.url, timeout=10).status_code == 200
    time.sleep(2.1)
    r = requests.get(req.url, timeout=10)
    assert (r.status_code, code(r)) == (403, "AccessDenied")
    assert "Request has expired" in r.text


def test_unknown_key_and_foreign_session_token(server):
    r = send(signed(server, key="AKIANOSUCHKEY0000000"))
    assert (r.status_code, code(r)) == (403, "InvalidClientTokenId")
    creds = server.client("sts").get_session_token()["Credentials"]
    ok = send(signed(server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]))
    assert ok.status_code in (200, 403)
    r = send(signed(server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token="forged" + creds["SessionToken"][6:]))
    assert (r.status_code, code(r)) == (403, "InvalidClientTokenId")
    r = send(signed(server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"]))
    assert (r.status_code, code(r)) == (403, "InvalidClientTokenId")


def test_aws_endpoint_url_environment(server):
    import os
    import subprocess
    env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=ROOT_KEY,
               AWS_SECRET_ACCESS_KEY=ROOT_SECRET, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run(["aws", "sts", "get-caller-identity", "--output", "json"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    py = "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"
    out = subprocess.run(["python3", "-c", py], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "000000000000", out.stderr


def test_global_services_sign_for_us_east_1_in_any_region():
    import boto3
    from conftest import Server
    s = Server(region="eu-west-1").start()
    try:
        kw = dict(endpoint_url=s.endpoint, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET)
        assert boto3.client("iam", region_name="eu-west-1", **kw).get_user()["User"]["Arn"].endswith(":root")
        assert boto3.client("sts", region_name="eu-west-1", **kw).get_caller_identity()["Account"]
        key = boto3.client("kms", region_name="eu-west-1", **kw).create_key()["KeyMetadata"]
        assert key["Arn"].startswith("arn:aws:kms:eu-west-1:")
        # IAM signed for us-east-1, as AWS's global endpoint requires, is accepted too.
        assert send(signed(s)).status_code == 200
    finally:
        s.stop()


def test_replayed_expired_session_token(durable_server):
    """Temporary credentials past their expiry are refused with ExpiredToken, by boto3 and raw."""
    import json
    import sqlite3

    import botocore.exceptions
    import pytest

    s = durable_server
    creds = s.admin_client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    assert s.client("sts", access_key=key, secret=secret, token=token).get_caller_identity()["Arn"]
    # Fifteen minutes are too long to wait: with the server stopped, move the session's expiry into
    # the past in the store, as if the clock had run on.
    s.stop()
    db = sqlite3.connect(f"{s.data_dir}/perimeter.db")
    (value,) = db.execute("SELECT value FROM records WHERE ns = 'sts.session' AND key = ?", (key.encode(),)).fetchone()
    record = json.loads(value)
    record["expires"] = int(time.time()) - 60
    db.execute("UPDATE records SET value = ? WHERE ns = 'sts.session' AND key = ?",
               (json.dumps(record).encode(), key.encode()))
    db.commit()
    db.close()
    s.start()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.client("sts", access_key=key, secret=secret, token=token).get_caller_identity()
    assert e.value.response["Error"]["Code"] == "ExpiredToken"
    r = send(signed(s, key=key, secret=secret, token=token))
    assert (r.status_code, code(r)) == (403, "ExpiredToken")
    # The replays are in the trail, refused (a read's record is committed within milliseconds).
    for _ in range(50):
        events = s.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": key}])["Events"]
        refused = [json.loads(e["CloudTrailEvent"]) for e in events]
        if sum(e.get("errorCode") == "ExpiredToken" for e in refused) >= 2:
            break
        time.sleep(0.1)
    assert sum(e.get("errorCode") == "ExpiredToken" for e in refused) >= 2, refused
