"""S4: a VPC endpoint policy per principal (seed 002, step 8).

An SSM interface endpoint whose policy denies `ssm:*` to every principal except the MLOps role:
through that endpoint DataScience's `ssm get-parameter` is denied and MLOps's allowed; resetting
the endpoint policy restores full access. The public endpoint is not governed by the policy.

The seed's policy is the Deny statement alone. In AWS an endpoint policy must also allow what
passes through it, so a Deny-only policy denies MLOps too (implicitly); the policy here keeps the
default full-access statement beside the seed's Deny, as AWS's own examples do.
"""
import json
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from conftest import ACCOUNT, REGION


def code(err):
    return err.value.response["Error"]["Code"]


def message(err):
    return err.value.response["Error"]["Message"]


def role(iam, name):
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="ssm-read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": "*"}],
    }))
    return arn


def test_s4_ssm_endpoint_policy_per_principal(server):
    iam = server.client("iam")
    iam.create_user(UserName="s4-admin")
    iam.attach_user_policy(UserName="s4-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    k = iam.create_access_key(UserName="s4-admin")["AccessKey"]
    ds_arn = role(iam, "DataScience")
    mlops_arn = role(iam, "MLOps")
    server.client("ssm").put_parameter(Name="/s4/param", Value="perimeter", Type="String")
    sts = server.client("sts", access_key=k["AccessKeyId"], secret=k["SecretAccessKey"])

    def session(arn):
        c = sts.assume_role(RoleArn=arn, RoleSessionName="s4")["Credentials"]
        return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]

    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="s4-endpoints", Description="endpoints", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    policy = {"Statement": [
        {"Action": "*", "Principal": "*", "Resource": "*", "Effect": "Allow"},
        {"Action": ["ssm:*"], "Principal": "*", "Resource": ["*"], "Effect": "Deny",
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": mlops_arn}}},
    ]}
    ep = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.ssm",
        SubnetIds=[subnet], SecurityGroupIds=[sg], PolicyDocument=json.dumps(policy),
        PrivateDnsEnabled=False,
    )["VpcEndpoint"]
    url = f"http://{ep['DnsEntries'][0]['DnsName']}"

    def get(arn, endpoint=None):
        key, secret, token = session(arn)
        return server.client("ssm", access_key=key, secret=secret, token=token, endpoint=endpoint) \
            .get_parameter(Name="/s4/param")["Parameter"]["Value"]

    with pytest.raises(ClientError) as e:
        get(ds_arn, url)
    assert code(e) == "AccessDeniedException"
    assert "ssm:GetParameter" in message(e) and message(e).endswith("with an explicit deny in a VPC endpoint policy")
    assert get(mlops_arn, url) == "perimeter"
    # The public endpoint is not governed by the endpoint policy.
    assert get(ds_arn) == "perimeter"
    # aws-cli, unchanged, through the endpoint.
    key, secret, token = session(ds_arn)
    rc, _, err = server.cli("ssm", "get-parameter", "--name", "/s4/param", access_key=key, secret=secret,
                            token=token, endpoint=url, check=False)
    assert rc != 0 and "AccessDeniedException" in err
    # Removing the policy restores the default full-access policy.
    ec2.modify_vpc_endpoint(VpcEndpointId=ep["VpcEndpointId"], ResetPolicy=True)
    for _ in range(20):
        try:
            assert get(ds_arn, url) == "perimeter"
            break
        except (ClientError, EndpointConnectionError):
            time.sleep(0.1)
    else:
        pytest.fail("the reset endpoint policy still denies DataScience")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[ep["VpcEndpointId"]])
