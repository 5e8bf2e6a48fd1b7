"""The audit trail end to end: every call, allowed or denied, authenticated or not, is one
CloudTrail-format event that `cloudtrail lookup-events` finds with AWS's filters; the trail
survives a restart; `perimeter audit verify` finds the first altered record."""
import json
import sqlite3
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, BIN, Server


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def user_with_key(server, name, policy):
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [policy]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def lookup(server, key, value, want=1, **kw):
    ct = server.client("cloudtrail")
    for _ in range(50):
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kw)["Events"]
        if len(events) >= want:
            return events
        time.sleep(0.05)
    return events


def test_allowed_and_denied_calls_are_recorded(server):
    name = unique("auditee")
    key, secret = user_with_key(server, name, {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"})
    iam = server.client("iam", access_key=key, secret=secret)
    iam.get_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.list_roles()
    assert e.value.response["Error"]["Code"] == "AccessDenied"

    events = lookup(server, "Username", name, want=2)
    by_name = {e["EventName"]: e for e in events}
    assert {"GetUser", "ListRoles"} <= set(by_name)
    denied = json.loads(by_name["ListRoles"]["CloudTrailEvent"])
    assert denied["errorCode"] == "AccessDenied"
    assert "is not authorized to perform: iam:ListRoles" in denied["errorMessage"]
    assert denied["userIdentity"]["type"] == "IAMUser"
    assert denied["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert denied["userIdentity"]["accessKeyId"] == key
    assert denied["eventSource"] == "iam.amazonaws.com" and denied["readOnly"] is True
    assert denied["recipientAccountId"] == ACCOUNT and denied["sourceIPAddress"] == "127.0.0.1"
    allowed = json.loads(by_name["GetUser"]["CloudTrailEvent"])
    assert "errorCode" not in allowed and allowed["requestParameters"] == {"UserName": name}
    assert by_name["GetUser"]["AccessKeyId"] == key and by_name["GetUser"]["ReadOnly"] == "true"

    # Lookups by access key id and by event name find the same calls.
    assert {e["EventId"] for e in lookup(server, "AccessKeyId", key, want=2)} == {e["EventId"] for e in events}
    assert any(e["Username"] == name for e in lookup(server, "EventName", "ListRoles"))


def test_secrets_are_redacted_and_bad_signatures_are_recorded(server):
    iam = server.client("iam")
    name = unique("keyed")
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    events = lookup(server, "EventName", "CreateAccessKey")
    assert all("SecretAccessKey" not in e["CloudTrailEvent"] for e in events)
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key_id, Plaintext=b"the plaintext marker")
    event = json.loads(lookup(server, "EventName", "Encrypt")[0]["CloudTrailEvent"])
    assert event["requestParameters"]["Plaintext"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    # As CloudTrail: binary data (the ciphertext) is not recorded, the encryption context is.
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"purpose": "audit"})["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "audit"})
    event = json.loads(lookup(server, "EventName", "Decrypt")[0]["CloudTrailEvent"])
    assert event["requestParameters"] == {"EncryptionContext": {"purpose": "audit"}}

    bad = server.client("iam", access_key="AKIANOSUCHKEY0000000", secret="x")
    with pytest.raises(ClientError):
        bad.get_user()
    events = lookup(server, "AccessKeyId", "AKIANOSUCHKEY0000000")
    assert json.loads(events[0]["CloudTrailEvent"])["errorCode"] == "InvalidClientTokenId"


def test_pagination_and_time_range(server):
    iam = server.client("iam")
    name = unique("paged")
    iam.create_user(UserName=name)
    for _ in range(7):
        iam.get_user(UserName=name)
    ct = server.client("cloudtrail")
    seen, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": f"arn:aws:iam::{ACCOUNT}:user/{name}"}],
                                MaxResults=3, **kw)
        seen += page["Events"]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == 8 and len({e["EventId"] for e in seen}) == 8
    assert [e["EventTime"] for e in seen] == sorted((e["EventTime"] for e in seen), reverse=True)
    future = ct.lookup_events(StartTime=time.time() + 3600)["Events"]
    assert future == []
    with pytest.raises(ClientError) as e:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "a"},
                                           {"AttributeKey": "Username", "AttributeValue": "b"}])
    assert e.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


def test_trail_survives_restart_and_tampering_is_found(tmp_path):
    data = str(tmp_path / "data")
    server = Server(data_dir=data).start()
    name = unique("durable")
    try:
        server.client("iam").create_user(UserName=name)
        for _ in range(5):
            server.client("iam").get_user(UserName=name)
    finally:
        server.stop()
    server = Server(data_dir=data).start()
    try:
        assert len(lookup(server, "Username", "root", want=6)) >= 6
        assert any(e["EventName"] == "CreateUser" for e in lookup(server, "EventName", "CreateUser"))
    finally:
        server.stop()

    ok = subprocess.run([BIN, "audit", "verify", "--data-dir", data], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok:")
    lines = subprocess.run([BIN, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout.splitlines()
    assert len(lines) >= 7 and all(json.loads(line)["eventVersion"] for line in lines)

    # Rewrite one recorded event in the database, as an intruder with file access would: its JSON
    # (stored packed; an intruder can write it plain) with the source address changed.
    db = sqlite3.connect(f"{data}/perimeter.db")
    target = db.execute("select seq from audit_events order by seq limit 1 offset 3").fetchone()[0]
    event = json.loads(lines[target - 1])
    event["sourceIPAddress"] = "203.0.113.9"
    db.execute("update audit_events set body = ? where seq = ?", (json.dumps(event).encode(), target))
    db.commit()
    db.close()
    bad = subprocess.run([BIN, "audit", "verify", "--data-dir", data], capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"event {target}" in bad.stdout
