"""SSM Parameter Store with unchanged boto3 and aws-cli: versions, labels, paths, tags, and
SecureString values encrypted by KMS as the caller."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION


def code(err):
    return err.value.response["Error"]["Code"]


def message(err):
    return err.value.response["Error"]["Message"]


def make_user(server, name, policy):
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"], f"arn:aws:iam::{ACCOUNT}:user/{name}"


ALLOW_ALL_SSM_KMS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ssm:*", "kms:*"], "Resource": "*"}],
}


def test_string_versions_and_overwrite(server):
    ssm = server.client("ssm")
    out = ssm.put_parameter(Name="/app/db/host", Value="db-1", Type="String", Description="host")
    assert out["Version"] == 1 and out["Tier"] == "Standard"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/app/db/host", Value="db-2", Type="String")
    assert code(e) == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name="/app/db/host", Value="db-2", Overwrite=True)["Version"] == 2
    p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
    assert p["Value"] == "db-2" and p["Version"] == 2 and p["Type"] == "String"
    assert p["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/db/host"
    assert ssm.get_parameter(Name="/app/db/host:1")["Parameter"]["Value"] == "db-1"
    assert ssm.get_parameter(Name=p["ARN"])["Parameter"]["Value"] == "db-2"
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/app/db/host:9")
    assert code(e) == "ParameterVersionNotFound"
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/app/missing")
    assert code(e) == "ParameterNotFound"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/app/db/host", Value="x", Type="SecureString", Overwrite=True)
    assert code(e) == "HierarchyTypeMismatchException"
    history = ssm.get_parameter_history(Name="/app/db/host")["Parameters"]
    assert [h["Value"] for h in history] == ["db-1", "db-2"]
    assert history[0]["Description"] == "host"
    assert history[1]["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_validation(server):
    ssm = server.client("ssm")
    for bad in ["aws-thing", "/ssm/x", "a/b", "/a b"]:
        with pytest.raises(ClientError) as e:
            ssm.put_parameter(Name=bad, Value="v", Type="String")
        assert code(e) == "ValidationException", bad
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/pattern", Value="abc", Type="String", AllowedPattern="^\\d+$")
    assert code(e) == "ParameterPatternMismatchException"
    assert ssm.put_parameter(Name="/pattern", Value="123", Type="String", AllowedPattern="^\\d+$")["Version"] == 1
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/big", Value="x" * 5000, Type="String")
    assert code(e) == "ValidationException" and "advanced-parameter tier" in message(e)
    assert ssm.put_parameter(Name="/big", Value="x" * 5000, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/tagged", Value="v", Type="String", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "ValidationException"


def test_labels(server):
    ssm = server.client("ssm")
    for v in ["one", "two", "three"]:
        ssm.put_parameter(Name="/lbl/p", Value=v, Type="String", Overwrite=True)
    out = ssm.label_parameter_version(Name="/lbl/p", ParameterVersion=1, Labels=["prod", "1bad", "awsx"])
    assert out["ParameterVersion"] == 1 and sorted(out["InvalidLabels"]) == ["1bad", "awsx"]
    assert ssm.get_parameter(Name="/lbl/p:prod")["Parameter"]["Value"] == "one"
    assert ssm.get_parameter(Name="/lbl/p:prod")["Parameter"]["Selector"] == ":prod"
    # A label moves: labelling the latest version takes it away from version 1.
    assert ssm.label_parameter_version(Name="/lbl/p", Labels=["prod"])["ParameterVersion"] == 3
    assert ssm.get_parameter(Name="/lbl/p:prod")["Parameter"]["Value"] == "three"
    history = {h["Version"]: h["Labels"] for h in ssm.get_parameter_history(Name="/lbl/p")["Parameters"]}
    assert history == {1: [], 2: [], 3: ["prod"]}
    with pytest.raises(ClientError) as e:
        ssm.label_parameter_version(Name="/lbl/p", ParameterVersion=7, Labels=["x"])
    assert code(e) == "ParameterVersionNotFound"
    with pytest.raises(ClientError) as e:
        ssm.label_parameter_version(Name="/lbl/p", ParameterVersion=2, Labels=[f"l{i}" for i in range(11)])
    assert code(e) in ("ParameterVersionLabelLimitExceeded", "ValidationException")
    out = ssm.unlabel_parameter_version(Name="/lbl/p", ParameterVersion=3, Labels=["prod", "nope"])
    assert out["RemovedLabels"] == ["prod"] and out["InvalidLabels"] == ["nope"]
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/lbl/p:prod")
    assert code(e) == "ParameterNotFound"


def test_paths_filters_and_pagination(server):
    ssm = server.client("ssm")
    for i in range(12):
        ssm.put_parameter(Name=f"/tree/a/p{i:02}", Value=str(i), Type="String")
    ssm.put_parameter(Name="/tree/a/deep/x", Value="deep", Type="String")
    ssm.put_parameter(Name="/tree/b", Value="b", Type="StringList")
    ssm.put_parameter(Name="/treehouse", Value="no", Type="String")
    first = ssm.get_parameters_by_path(Path="/tree/a", MaxResults=5)
    assert len(first["Parameters"]) == 5 and "NextToken" in first
    names = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/tree/a"):
        names += [p["Name"] for p in page["Parameters"]]
    assert names == [f"/tree/a/p{i:02}" for i in range(12)]
    rec = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/tree", Recursive=True):
        rec += [p["Name"] for p in page["Parameters"]]
    assert "/tree/a/deep/x" in rec and "/tree/b" in rec and "/treehouse" not in rec and len(rec) == 14
    lists = ssm.get_parameters_by_path(
        Path="/tree", Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["StringList"]}]
    )["Parameters"]
    assert [p["Name"] for p in lists] == ["/tree/b"]
    with pytest.raises(ClientError) as e:
        ssm.get_parameters_by_path(Path="/tree", ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert code(e) == "InvalidFilterKey"
    described = []
    for page in ssm.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/tree"]}]
    ):
        described += page["Parameters"]
    assert len(described) == 14
    begins = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/tree/a/p0"]}])
    assert len(begins["Parameters"]) == 10
    got = ssm.get_parameters(Names=["/tree/b", "/tree/a/p01:1", "/nope"])
    assert sorted(p["Name"] for p in got["Parameters"]) == ["/tree/a/p01", "/tree/b"]
    assert got["InvalidParameters"] == ["/nope"]
    out = ssm.delete_parameters(Names=["/tree/a/p00", "/nope"])
    assert out["DeletedParameters"] == ["/tree/a/p00"] and out["InvalidParameters"] == ["/nope"]
    ssm.delete_parameter(Name="/tree/b")
    with pytest.raises(ClientError) as e:
        ssm.delete_parameter(Name="/tree/b")
    assert code(e) == "ParameterNotFound"


def test_tags_and_tag_conditions(server):
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/tags/p", Value="v", Type="String", Tags=[{"Key": "team", "Value": "ds"}])
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/tags/p", Tags=[{"Key": "env", "Value": "dev"}])
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tags/p")["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ds", "env": "dev"}
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/tags/p", TagKeys=["env"])
    assert len(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tags/p")["TagList"]) == 1
    with pytest.raises(ClientError) as e:
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tags/none")
    assert code(e) == "InvalidResourceId"
    ssm.put_parameter(Name="/tags/other", Value="v", Type="String", Tags=[{"Key": "team", "Value": "bi"}])
    key, secret, arn = make_user(server, "tagreader", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:ResourceTag/team": "ds"}}}],
    })
    user = server.client("ssm", access_key=key, secret=secret)
    for _ in range(20):  # a new access key may take a moment to be usable
        try:
            assert user.get_parameter(Name="/tags/p")["Parameter"]["Value"] == "v"
            break
        except ClientError as err:
            if err.response["Error"]["Code"] != "InvalidClientTokenId":
                raise
            time.sleep(0.1)
    with pytest.raises(ClientError) as e:
        user.get_parameter(Name="/tags/other")
    assert code(e) == "AccessDeniedException"
    assert f"User: {arn} is not authorized to perform: ssm:GetParameter" in message(e)


def test_securestring_default_key_round_trip(server):
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/secure/default", Value="s3cr3t", Type="SecureString")
    plain = ssm.get_parameter(Name="/secure/default", WithDecryption=True)["Parameter"]
    assert plain["Value"] == "s3cr3t" and plain["Type"] == "SecureString"
    cipher = ssm.get_parameter(Name="/secure/default")["Parameter"]["Value"]
    assert cipher != "s3cr3t" and len(cipher) > 40
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/secure/default"]}])["Parameters"]
    assert meta[0]["KeyId"] == "alias/aws/ssm"
    # The AWS managed key exists now, created by KMS on first use.
    kms = server.client("kms")
    desc = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert desc["KeyManager"] == "AWS"
    # by-path and history decrypt too
    ssm.put_parameter(Name="/secure/default", Value="v2", Overwrite=True)
    hist = ssm.get_parameter_history(Name="/secure/default", WithDecryption=True)["Parameters"]
    assert [h["Value"] for h in hist] == ["s3cr3t", "v2"]
    by_path = ssm.get_parameters_by_path(Path="/secure", WithDecryption=True)["Parameters"]
    assert by_path[0]["Value"] == "v2"
    # aws-cli sees the same
    _, out, _ = server.cli("ssm", "get-parameter", "--name", "/secure/default", "--with-decryption")
    assert out["Parameter"]["Value"] == "v2"


def test_securestring_customer_key_and_key_policy_denial(server):
    kms = server.client("kms")
    ssm = server.client("ssm")
    key, secret, user_arn = make_user(server, "paramuser", ALLOW_ALL_SSM_KMS)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "NoDecryptForParamUser", "Effect": "Deny", "Principal": {"AWS": user_arn},
             "Action": "kms:Decrypt", "Resource": "*"},
        ],
    }
    key_id = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    ssm.put_parameter(Name="/secure/custom", Value="classified", Type="SecureString", KeyId=key_id)
    assert ssm.get_parameter(Name="/secure/custom", WithDecryption=True)["Parameter"]["Value"] == "classified"
    user = server.client("ssm", access_key=key, secret=secret)
    # Without decryption the user reads the ciphertext; with it, KMS denies the user.
    assert user.get_parameter(Name="/secure/custom")["Parameter"]["Value"] != "classified"
    with pytest.raises(ClientError) as e:
        user.get_parameter(Name="/secure/custom", WithDecryption=True)
    assert code(e) == "AccessDeniedException"
    assert "kms:Decrypt" in message(e) and "explicit deny in a resource-based policy" in message(e)
    # Encrypting as the user still works (only Decrypt is denied).
    user.put_parameter(Name="/secure/by-user", Value="mine", Type="SecureString", KeyId=key_id)


def test_securestring_via_service_condition(server):
    """A key usable only through SSM: kms:ViaService = ssm.<region>.amazonaws.com."""
    kms = server.client("kms")
    ssm = server.client("ssm")
    key, secret, user_arn = make_user(server, "viauser", ALLOW_ALL_SSM_KMS)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "OnlyThroughSsm", "Effect": "Deny", "Principal": {"AWS": user_arn},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}},
        ],
    }
    key_id = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    user_ssm = server.client("ssm", access_key=key, secret=secret)
    user_kms = server.client("kms", access_key=key, secret=secret)
    user_ssm.put_parameter(Name="/secure/via", Value="through-ssm", Type="SecureString", KeyId=key_id)
    assert user_ssm.get_parameter(Name="/secure/via", WithDecryption=True)["Parameter"]["Value"] == "through-ssm"
    with pytest.raises(ClientError) as e:
        user_kms.encrypt(KeyId=key_id, Plaintext=b"direct")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_parameters_survive_restart(durable_server):
    ssm = durable_server.client("ssm")
    ssm.put_parameter(Name="/keep/plain", Value="kept", Type="String", Tags=[{"Key": "k", "Value": "v"}])
    ssm.put_parameter(Name="/keep/secret", Value="kept-secret", Type="SecureString")
    ssm.label_parameter_version(Name="/keep/plain", Labels=["stable"])
    durable_server.stop()
    durable_server.start()
    ssm = durable_server.client("ssm")
    assert ssm.get_parameter(Name="/keep/plain:stable")["Parameter"]["Value"] == "kept"
    assert ssm.get_parameter(Name="/keep/secret", WithDecryption=True)["Parameter"]["Value"] == "kept-secret"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/keep/plain")["TagList"]
    assert tags == [{"Key": "k", "Value": "v"}]
    # Plaintext never reaches the disk.
    import pathlib
    for f in pathlib.Path(durable_server.data_dir).rglob("*"):
        if f.is_file():
            assert b"kept-secret" not in f.read_bytes(), f
