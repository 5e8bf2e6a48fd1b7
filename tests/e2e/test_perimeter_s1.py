"""S1: an S3 data perimeter through a VPC endpoint (seeds 000 step 3, 001, 004).

A bucket whose policy denies object reads, writes and listing unless the request comes through
the designated endpoint; an endpoint whose policy allows only those actions on that bucket; a
DataScience role allowed `s3:*` on `*sagemaker*`. Everything is driven with aws-cli through the
endpoints' listeners (`--endpoint-url http://<DnsName>`) and the public endpoint.
"""
import json
import uuid

import pytest

from conftest import ACCOUNT, REGION


def denied(err, *fragments):
    assert "(AccessDenied)" in err, err
    for f in fragments:
        assert f in err, err


@pytest.fixture(scope="module")
def perimeter(server, tmp_path_factory):
    ec2 = server.client("ec2")
    iam = server.client("iam")
    sts = server.admin_client("sts")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
    sg = ec2.create_security_group(GroupName="s3-endpoint", Description="S3 interface endpoint", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.1/32"}]}])

    bucket = f"sagemaker-data-{uuid.uuid4().hex[:8]}"
    server.cli("s3", "mb", f"s3://{bucket}")
    data = tmp_path_factory.mktemp("s1") / "data.csv"
    data.write_text("a,b\n1,2\n")

    # vpce-1: the S3 gateway endpoint, allowed only object reads, writes and listing on the bucket.
    endpoint_policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ProjectBucketOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        }],
    }
    vpce1 = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", RouteTableIds=[main], PolicyDocument=json.dumps(endpoint_policy)
    )["VpcEndpoint"]
    # vpce-2 and vpce-3: interface endpoints with the default policy.
    vpce2 = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Interface",
                                    SubnetIds=[subnet], SecurityGroupIds=[sg], PrivateDnsEnabled=False)["VpcEndpoint"]
    vpce3 = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Interface",
                                    SubnetIds=[subnet], SecurityGroupIds=[sg], PrivateDnsEnabled=False)["VpcEndpoint"]

    def bucket_policy(endpoints):
        return json.dumps({
            "Version": "2008-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringNotEquals": {"aws:sourceVpce": endpoints}},
            }],
        })

    server.cli("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", bucket_policy(vpce1["VpcEndpointId"]))

    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    role = f"DataScience-{uuid.uuid4().hex[:6]}"
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="sagemaker-buckets", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*sagemaker*"},
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        ],
    }))
    c = sts.assume_role(RoleArn=arn, RoleSessionName="alice")["Credentials"]
    ds = dict(access_key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    return {
        "bucket": bucket,
        "data": str(data),
        "ds": ds,
        "vpce1": vpce1,
        "vpce2": vpce2,
        "vpce3": vpce3,
        "url1": "http://" + vpce1["DnsEntries"][0]["DnsName"],
        "url2": "http://" + vpce2["DnsEntries"][0]["DnsName"],
        "url3": "http://" + vpce3["DnsEntries"][0]["DnsName"],
        "bucket_policy": bucket_policy,
    }


def test_through_the_endpoint_data_science_lists_reads_and_writes(server, perimeter):
    b, url, ds = perimeter["bucket"], perimeter["url1"], perimeter["ds"]
    server.cli("s3", "cp", perimeter["data"], f"s3://{b}/features/data.csv", endpoint=url, **ds)
    code, out, _ = server.cli("s3", "ls", f"s3://{b}/features/", endpoint=url, **ds)
    assert "data.csv" in out
    code, out, _ = server.cli("s3", "cp", f"s3://{b}/features/data.csv", "-", endpoint=url, **ds)
    assert out == "a,b\n1,2\n"


def test_through_the_endpoint_list_buckets_is_denied_by_the_endpoint_policy(server, perimeter):
    code, _, err = server.cli("s3", "ls", endpoint=perimeter["url1"], check=False, **perimeter["ds"])
    assert code != 0
    denied(err, "s3:ListAllMyBuckets", "VPC endpoint policy")


def test_through_the_endpoint_creating_another_bucket_is_denied(server, perimeter):
    other = f"other-sagemaker-bucket-{uuid.uuid4().hex[:6]}"
    code, _, err = server.cli("s3", "mb", f"s3://{other}", endpoint=perimeter["url1"], check=False, **perimeter["ds"])
    assert code != 0
    denied(err, "s3:CreateBucket", "VPC endpoint policy")
    code, _, _ = server.cli("s3api", "head-bucket", "--bucket", other, check=False)
    assert code != 0


def test_through_the_public_endpoint_every_action_on_the_bucket_is_denied_even_for_root(server, perimeter):
    b = perimeter["bucket"]
    for creds in ({}, perimeter["ds"]):
        code, _, err = server.cli("s3", "ls", f"s3://{b}", check=False, **creds)
        assert code != 0
        denied(err, "s3:ListBucket", "explicit deny in a resource-based policy")
        code, _, err = server.cli("s3", "cp", f"s3://{b}/features/data.csv", "-", check=False, **creds)
        assert code != 0
        code, _, err = server.cli("s3api", "put-object", "--bucket", b, "--key", "x", "--body", perimeter["data"], check=False, **creds)
        assert code != 0
        denied(err, "s3:PutObject", "explicit deny in a resource-based policy")
    code, _, err = server.cli("s3api", "get-object", "--bucket", b, "--key", "features/data.csv", "/dev/null", check=False)
    assert code != 0
    denied(err, f"arn:aws:iam::{ACCOUNT}:root", "s3:GetObject")


def test_a_bucket_policy_naming_two_endpoints_admits_both_and_no_third(server, perimeter):
    b, ds = perimeter["bucket"], perimeter["ds"]
    ids = [perimeter["vpce1"]["VpcEndpointId"], perimeter["vpce2"]["VpcEndpointId"]]
    server.cli("s3api", "put-bucket-policy", "--bucket", b, "--policy", perimeter["bucket_policy"](ids))
    try:
        for url in (perimeter["url1"], perimeter["url2"]):
            code, out, _ = server.cli("s3", "cp", f"s3://{b}/features/data.csv", "-", endpoint=url, **ds)
            assert code == 0 and out.startswith("a,b")
        code, _, err = server.cli("s3", "cp", f"s3://{b}/features/data.csv", "-", endpoint=perimeter["url3"], check=False, **ds)
        assert code != 0
        code, _, err = server.cli("s3", "ls", f"s3://{b}", endpoint=perimeter["url3"], check=False, **ds)
        denied(err, "explicit deny in a resource-based policy")
        # The third endpoint still serves S3 (for other buckets): only this bucket refuses it.
        code, out, _ = server.cli("s3", "ls", endpoint=perimeter["url3"], **ds)
        assert code == 0
    finally:
        server.cli("s3api", "put-bucket-policy", "--bucket", b, "--policy", perimeter["bucket_policy"](perimeter["vpce1"]["VpcEndpointId"]))
