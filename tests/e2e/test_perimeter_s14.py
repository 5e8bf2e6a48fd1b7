"""S14: S3 access points (seeds 000 and 004).

Bucket `data-science-on-aws` with access points `ap1-ds` (group ds: Get/Put on `feature-store/*`)
and `ap2-bi` (group bi: Get on `data-warehouse/*`). Each group reaches its prefix only through its
access point, and the bucket policy must also allow: both checks apply.

The seed's access point policies name IAM groups as principals, which AWS rejects; here the
policies name the groups' users (the rejection is tested too). The bucket policy delegates to the
account's access points (`s3:DataAccessPointAccount`), AWS's recommended form.

How unchanged clients reach access points with a custom endpoint: botocore puts the account in
front of the S3 Control host (`ACCOUNT.127.0.0.1:PORT`) and turns an access point ARN given as the
bucket into the host `NAME-ACCOUNT.127.0.0.1:PORT`. Such names resolve nowhere, so the clients use
Perimeter as their HTTP proxy as well as their endpoint: `HTTP_PROXY=http://127.0.0.1:PORT` for
aws-cli, `Config(proxies={"http": "http://127.0.0.1:PORT"})` for boto3. An alias needs nothing:
it is a bucket name.
"""
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, Server

BUCKET = "data-science-on-aws"
AP1 = f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/ap1-ds"
AP2 = f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/ap2-bi"

DELEGATION = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "DelegateToAccessPoints",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"StringEquals": {"s3:DataAccessPointAccount": ACCOUNT}},
    }],
}


def code(err):
    return err.value.response["Error"]["Code"]


def ap_policy(arn, user, actions, prefix):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"},
            "Action": actions,
            "Resource": f"{arn}/object/{prefix}*",
        }],
    })


def cli(server, *args, key, proxy=None, endpoint=None, check=True):
    """aws-cli, unchanged, with the endpoint and (for access point ARNs) the proxy."""
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=key[0],
        AWS_SECRET_ACCESS_KEY=key[1],
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_MAX_ATTEMPTS="1",
    )
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        env.pop(k, None)
    if proxy:
        env["HTTP_PROXY"] = proxy
    cmd = ["aws", "--endpoint-url", endpoint or server.endpoint, "--output", "json", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    out = p.stdout
    try:
        out = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        pass
    return p.returncode, out, p.stderr


class S14:
    """The scenario's server, users and clients."""

    def __init__(self, data_dir):
        self.server = Server(data_dir=data_dir).start()
        self.setup()

    def clients(self):
        s = self.server
        proxy = {"http": s.endpoint}
        self.admin_s3 = s.admin_client("s3")
        self.control = s.admin_client("s3control", proxies=proxy)
        self.ds = s.client("s3", access_key=self.ds_key[0], secret=self.ds_key[1], proxies=proxy)
        self.bi = s.client("s3", access_key=self.bi_key[0], secret=self.bi_key[1], proxies=proxy)

    def setup(self):
        s = self.server
        iam = s.admin_client("iam")
        keys = {}
        for group, user in (("ds", "ds-alice"), ("bi", "bi-bob")):
            iam.create_group(GroupName=group)
            iam.create_user(UserName=user)
            iam.add_user_to_group(GroupName=group, UserName=user)
            k = iam.create_access_key(UserName=user)["AccessKey"]
            keys[group] = (k["AccessKeyId"], k["SecretAccessKey"])
        self.ds_key, self.bi_key = keys["ds"], keys["bi"]
        self.admin_key = s.admin()
        self.clients()
        s3 = self.admin_s3
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DELEGATION))
        for key, body in (
            ("feature-store/raw/sample_us.tsv", b"review_id\tstar_rating\nR1\t5\n"),
            ("feature-store/secret/labels.csv", b"secret"),
            ("data-warehouse/2024/sales.csv", b"region,total\nus,10\n"),
        ):
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        # ap1-ds with aws-cli, as the seed does; ap2-bi with boto3.
        _, out, _ = cli(s, "s3control", "create-access-point", "--name", "ap1-ds", "--account-id", ACCOUNT,
                        "--bucket", BUCKET, key=self.admin_key, proxy=s.endpoint)
        assert out["AccessPointArn"] == AP1
        self.alias1 = out["Alias"]
        out = self.control.create_access_point(AccountId=ACCOUNT, Name="ap2-bi", Bucket=BUCKET)
        assert out["AccessPointArn"] == AP2
        self.alias2 = out["Alias"]
        cli(s, "s3control", "put-access-point-policy", "--account-id", ACCOUNT, "--name", "ap1-ds",
            "--policy", ap_policy(AP1, "ds-alice", ["s3:GetObject", "s3:PutObject"], "feature-store/"),
            key=self.admin_key, proxy=s.endpoint)
        self.control.put_access_point_policy(
            AccountId=ACCOUNT, Name="ap2-bi",
            Policy=ap_policy(AP2, "bi-bob", ["s3:GetObject"], "data-warehouse/"))

    def restart(self):
        self.server.stop()
        self.server = Server(data_dir=self.server.data_dir).start()
        self.clients()


@pytest.fixture(scope="module")
def s14(tmp_path_factory):
    sc = S14(str(tmp_path_factory.mktemp("s14") / "data"))
    yield sc
    sc.server.stop()


def read(client, bucket, key):
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def denied(fn, *args, **kw):
    with pytest.raises(ClientError) as e:
        fn(*args, **kw)
    assert code(e) == "AccessDenied", e.value.response["Error"]
    return e.value.response["Error"]["Message"]


def test_access_points_are_described(s14):
    c = s14.control
    ap = c.get_access_point(AccountId=ACCOUNT, Name="ap1-ds")
    assert ap["Bucket"] == BUCKET and ap["NetworkOrigin"] == "Internet"
    assert ap["Alias"] == s14.alias1 and ap["Alias"].startswith("ap1-ds-") and ap["Alias"].endswith("-s3alias")
    assert ap["AccessPointArn"] == AP1 and ap["BucketAccountId"] == ACCOUNT
    assert ap["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert ap["Endpoints"]["ipv4"] == f"s3-accesspoint.{REGION}.amazonaws.com"
    names = {a["Name"] for a in c.list_access_points(AccountId=ACCOUNT, Bucket=BUCKET)["AccessPointList"]}
    assert {"ap1-ds", "ap2-bi"} <= names
    _, out, _ = cli(s14.server, "s3control", "list-access-points", "--account-id", ACCOUNT,
                    key=s14.admin_key, proxy=s14.server.endpoint)
    assert {"ap1-ds", "ap2-bi"} <= {a["Name"] for a in out["AccessPointList"]}
    policy = json.loads(c.get_access_point_policy(AccountId=ACCOUNT, Name="ap2-bi")["Policy"])
    assert policy["Statement"][0]["Resource"] == f"{AP2}/object/data-warehouse/*"
    assert c.get_access_point_policy_status(AccountId=ACCOUNT, Name="ap2-bi")["PolicyStatus"]["IsPublic"] is False
    with pytest.raises(ClientError) as e:
        c.get_access_point(AccountId=ACCOUNT, Name="no-such-ap")
    assert code(e) == "NoSuchAccessPoint"
    with pytest.raises(ClientError) as e:
        c.create_access_point(AccountId=ACCOUNT, Name="ap1-ds", Bucket=BUCKET)
    assert code(e) == "AccessPointAlreadyOwnedByYou"
    with pytest.raises(ClientError) as e:
        c.create_access_point(AccountId=ACCOUNT, Name="ap-nobucket", Bucket="no-such-bucket-s14")
    assert code(e) == "NoSuchBucket"


def test_seed_group_principals_are_rejected(s14):
    seed = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:group/ds"},
        "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{AP1}/object/feature-store/*"}]}
    with pytest.raises(ClientError) as e:
        s14.control.put_access_point_policy(AccountId=ACCOUNT, Name="ap1-ds", Policy=json.dumps(seed))
    assert code(e) == "MalformedPolicy"
    assert "groups cannot be principals" in e.value.response["Error"]["Message"]
    # A policy naming the bucket instead of the access point is refused too.
    bad = dict(seed, Statement=[dict(seed["Statement"][0], Principal={"AWS": ACCOUNT},
                                     Resource=f"arn:aws:s3:::{BUCKET}/*")])
    with pytest.raises(ClientError) as e:
        s14.control.put_access_point_policy(AccountId=ACCOUNT, Name="ap1-ds", Policy=json.dumps(bad))
    assert code(e) == "MalformedPolicy"


def test_ds_reaches_feature_store_only_through_ap1(s14):
    ds = s14.ds
    assert read(ds, AP1, "feature-store/raw/sample_us.tsv").startswith(b"review_id")
    ds.put_object(Bucket=AP1, Key="feature-store/ds/features.parquet", Body=b"features")
    assert read(s14.admin_s3, BUCKET, "feature-store/ds/features.parquet") == b"features"
    # Not another prefix through its own access point, not through bi's, not the bucket directly.
    denied(read, ds, AP1, "data-warehouse/2024/sales.csv")
    denied(read, ds, AP2, "data-warehouse/2024/sales.csv")
    denied(read, ds, AP2, "feature-store/raw/sample_us.tsv")
    message = denied(read, ds, BUCKET, "feature-store/raw/sample_us.tsv")
    assert f"arn:aws:s3:::{BUCKET}/feature-store/raw/sample_us.tsv" in message
    # The access point grants no listing.
    denied(ds.list_objects_v2, Bucket=AP1, Prefix="feature-store/")


def test_bi_reads_data_warehouse_only_through_ap2(s14):
    bi = s14.bi
    assert read(bi, AP2, "data-warehouse/2024/sales.csv").startswith(b"region")
    denied(bi.put_object, Bucket=AP2, Key="data-warehouse/2024/new.csv", Body=b"x")
    denied(read, bi, AP2, "feature-store/raw/sample_us.tsv")
    denied(read, bi, AP1, "feature-store/raw/sample_us.tsv")
    denied(read, bi, BUCKET, "data-warehouse/2024/sales.csv")


def test_aws_cli_through_access_point_arns(s14, tmp_path):
    s = s14.server
    out = tmp_path / "sample_us.tsv"
    # The seed's command, with the ARN as the bucket.
    cli(s, "s3api", "get-object", "--bucket", AP1, "--key", "feature-store/raw/sample_us.tsv", str(out),
        key=s14.ds_key, proxy=s.endpoint)
    assert out.read_bytes().startswith(b"review_id")
    rc, _, err = cli(s, "s3api", "get-object", "--bucket", AP1, "--key", "data-warehouse/2024/sales.csv",
                     str(out), key=s14.ds_key, proxy=s.endpoint, check=False)
    assert rc != 0 and "AccessDenied" in err
    # aws s3 cp with an access point ARN, both ways.
    src = tmp_path / "upload.csv"
    src.write_bytes(b"a,b\n1,2\n")
    cli(s, "s3", "cp", str(src), f"s3://{AP1}/feature-store/cli/upload.csv", key=s14.ds_key, proxy=s.endpoint)
    _, body, _ = cli(s, "s3", "cp", f"s3://{AP2}/data-warehouse/2024/sales.csv", "-", key=s14.bi_key,
                     proxy=s.endpoint)
    assert body.startswith("region")
    rc, _, err = cli(s, "s3", "cp", f"s3://{AP2}/feature-store/raw/sample_us.tsv", "-", key=s14.bi_key,
                     proxy=s.endpoint, check=False)
    assert rc != 0 and "403" in err


def test_copies_through_access_points(s14):
    s = s14.server
    src = "feature-store/raw/sample_us.tsv"
    # boto3: the source by access point ARN, the destination through the same access point.
    s14.ds.copy_object(Bucket=AP1, Key="feature-store/copies/by-arn.tsv", CopySource={"Bucket": AP1, "Key": src})
    assert read(s14.admin_s3, BUCKET, "feature-store/copies/by-arn.tsv").startswith(b"review_id")
    # The source by alias.
    s14.ds.copy_object(Bucket=AP1, Key="feature-store/copies/by-alias.tsv", CopySource=f"{s14.alias1}/{src}")
    # bi may read data-warehouse through ap2 but not write through ap1, nor read feature-store via ap2.
    denied(s14.bi.copy_object, Bucket=AP1, Key="feature-store/copies/bi.csv",
           CopySource={"Bucket": AP2, "Key": "data-warehouse/2024/sales.csv"})
    denied(s14.ds.copy_object, Bucket=AP1, Key="feature-store/copies/dw.csv",
           CopySource={"Bucket": AP2, "Key": "data-warehouse/2024/sales.csv"})
    # Naming the bucket as the source: the bucket policy admits only access point requests.
    denied(s14.ds.copy_object, Bucket=AP1, Key="feature-store/copies/direct.tsv",
           CopySource={"Bucket": BUCKET, "Key": src})
    # aws-cli, unchanged: aws s3 cp from one access point path to another.
    cli(s, "s3", "cp", f"s3://{AP1}/{src}", f"s3://{AP1}/feature-store/copies/cli.tsv", key=s14.ds_key,
        proxy=s.endpoint)
    assert read(s14.admin_s3, BUCKET, "feature-store/copies/cli.tsv").startswith(b"review_id")


def test_aliases_work_wherever_a_bucket_name_does(s14):
    # No proxy needed: an alias is a bucket name (path-style here).
    s = s14.server
    ds = s.client("s3", access_key=s14.ds_key[0], secret=s14.ds_key[1])
    assert read(ds, s14.alias1, "feature-store/raw/sample_us.tsv").startswith(b"review_id")
    ds.put_object(Bucket=s14.alias1, Key="feature-store/ds/by-alias", Body=b"alias")
    assert read(s14.admin_s3, BUCKET, "feature-store/ds/by-alias") == b"alias"
    denied(read, ds, s14.alias1, "data-warehouse/2024/sales.csv")
    denied(read, ds, s14.alias2, "data-warehouse/2024/sales.csv")
    _, body, _ = cli(s, "s3", "cp", f"s3://{s14.alias2}/data-warehouse/2024/sales.csv", "-", key=s14.bi_key)
    assert body.startswith("region")
    with pytest.raises(ClientError) as e:
        read(ds, "ap1-ds-doesnotexist0000000000000000000-s3alias", "feature-store/x")
    assert code(e) == "NoSuchBucket"
    # Bucket operations are not served through an access point.
    with pytest.raises(ClientError) as e:
        s14.admin_s3.get_bucket_policy(Bucket=s14.alias1)
    assert code(e) == "InvalidRequest"


def test_bucket_policy_must_also_allow(s14):
    s3 = s14.admin_s3
    # Without the delegation, the access point's grant is not enough: the bucket check fails.
    s3.delete_bucket_policy(Bucket=BUCKET)
    try:
        message = denied(read, s14.ds, AP1, "feature-store/raw/sample_us.tsv")
        assert f"arn:aws:s3:::{BUCKET}/feature-store/raw/sample_us.tsv" in message
        denied(read, s14.bi, AP2, "data-warehouse/2024/sales.csv")
    finally:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DELEGATION))
    assert read(s14.ds, AP1, "feature-store/raw/sample_us.tsv").startswith(b"review_id")


def test_bucket_policy_deny_wins_over_the_access_point(s14):
    s3 = s14.admin_s3
    assert read(s14.ds, AP1, "feature-store/secret/labels.csv") == b"secret"
    policy = json.loads(json.dumps(DELEGATION))
    policy["Statement"].append({
        "Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/feature-store/secret/*",
    })
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    try:
        message = denied(read, s14.ds, AP1, "feature-store/secret/labels.csv")
        assert "explicit deny in a resource-based policy" in message
        assert read(s14.ds, AP1, "feature-store/raw/sample_us.tsv").startswith(b"review_id")
    finally:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DELEGATION))


def test_management_is_authorized(s14):
    s = s14.server
    bi_control = s.client("s3control", access_key=s14.bi_key[0], secret=s14.bi_key[1],
                          proxies={"http": s.endpoint})
    with pytest.raises(ClientError) as e:
        bi_control.create_access_point(AccountId=ACCOUNT, Name="bi-own", Bucket=BUCKET)
    assert code(e) == "AccessDenied"
    assert f"s3:CreateAccessPoint on resource: arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/bi-own" \
        in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        bi_control.get_access_point_policy(AccountId=ACCOUNT, Name="ap2-bi")
    assert code(e) == "AccessDenied"


def test_vpc_restricted_access_point(s14):
    s = s14.server
    ec2 = s.admin_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.14.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.15.0.0/16")["Vpc"]["VpcId"]
    with pytest.raises(ClientError) as e:
        s14.control.create_access_point(AccountId=ACCOUNT, Name="ap-novpc", Bucket=BUCKET,
                                        VpcConfiguration={"VpcId": "vpc-0000000000000dead"})
    assert code(e) == "InvalidRequest"
    out = s14.control.create_access_point(AccountId=ACCOUNT, Name="ap3-vpc", Bucket=BUCKET,
                                          VpcConfiguration={"VpcId": vpc})
    alias = out["Alias"]
    arn = out["AccessPointArn"]
    ap = s14.control.get_access_point(AccountId=ACCOUNT, Name="ap3-vpc")
    assert ap["NetworkOrigin"] == "VPC" and ap["VpcConfiguration"]["VpcId"] == vpc
    s14.control.put_access_point_policy(
        AccountId=ACCOUNT, Name="ap3-vpc",
        Policy=ap_policy(arn, "ds-alice", ["s3:GetObject"], "feature-store/"))

    def endpoint_in(v, cidr):
        subnet = ec2.create_subnet(VpcId=v, CidrBlock=cidr)["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName=f"s14-{v}", Description="s3", VpcId=v)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "127.0.0.1/32"}]}])
        ep = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=v, ServiceName=f"com.amazonaws.{REGION}.s3",
                                     SubnetIds=[subnet], SecurityGroupIds=[sg],
                                     PrivateDnsEnabled=False)["VpcEndpoint"]
        return f"http://{ep['DnsEntries'][0]['DnsName']}"

    url = endpoint_in(vpc, "10.14.1.0/24")
    other_url = endpoint_in(other_vpc, "10.15.1.0/24")
    key = "feature-store/raw/sample_us.tsv"

    def ds_via(endpoint):
        return s.client("s3", access_key=s14.ds_key[0], secret=s14.ds_key[1], endpoint=endpoint,
                        proxies={"http": endpoint})

    # From the internet (the public endpoint): refused, by ARN and by alias.
    denied(read, s14.ds, arn, key)
    denied(read, ds_via(s.endpoint), alias, key)
    # Through an endpoint of another VPC: refused.
    denied(read, ds_via(other_url), arn, key)
    # Through an endpoint of its VPC: allowed, by ARN and by alias; the policy still applies.
    assert read(ds_via(url), arn, key).startswith(b"review_id")
    assert read(ds_via(url), alias, key).startswith(b"review_id")
    denied(read, ds_via(url), arn, "data-warehouse/2024/sales.csv")
    # aws-cli through the endpoint.
    _, body, _ = cli(s, "s3", "cp", f"s3://{arn}/{key}", "-", key=s14.ds_key, endpoint=url, proxy=url)
    assert body.startswith("review_id")
    rc, _, err = cli(s, "s3", "cp", f"s3://{arn}/{key}", "-", key=s14.ds_key, proxy=s.endpoint, check=False)
    assert rc != 0 and "403" in err


def test_restart_keeps_access_points(s14):
    s14.restart()
    names = {a["Name"] for a in s14.control.list_access_points(AccountId=ACCOUNT)["AccessPointList"]}
    assert {"ap1-ds", "ap2-bi", "ap3-vpc"} <= names
    ap = s14.control.get_access_point(AccountId=ACCOUNT, Name="ap1-ds")
    assert ap["Alias"] == s14.alias1
    assert s14.control.get_access_point(AccountId=ACCOUNT, Name="ap3-vpc")["NetworkOrigin"] == "VPC"
    assert read(s14.ds, AP1, "feature-store/raw/sample_us.tsv").startswith(b"review_id")
    assert read(s14.bi, s14.alias2, "data-warehouse/2024/sales.csv").startswith(b"region")
    denied(read, s14.bi, AP1, "feature-store/raw/sample_us.tsv")
    denied(read, s14.ds, "arn:aws:s3:{}:{}:accesspoint/ap3-vpc".format(REGION, ACCOUNT),
           "feature-store/raw/sample_us.tsv")
    # Deleting: the policy, then the access point.
    s14.control.delete_access_point_policy(AccountId=ACCOUNT, Name="ap2-bi")
    with pytest.raises(ClientError) as e:
        s14.control.get_access_point_policy(AccountId=ACCOUNT, Name="ap2-bi")
    assert code(e) == "NoSuchAccessPointPolicy"
    denied(read, s14.bi, AP2, "data-warehouse/2024/sales.csv")
    s14.control.delete_access_point(AccountId=ACCOUNT, Name="ap2-bi")
    with pytest.raises(ClientError) as e:
        read(s14.bi, AP2, "data-warehouse/2024/sales.csv")
    assert code(e) == "NoSuchAccessPoint"
    with pytest.raises(ClientError) as e:
        read(s14.bi, s14.alias2, "data-warehouse/2024/sales.csv")
    assert code(e) == "NoSuchBucket"
