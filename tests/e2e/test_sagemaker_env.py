"""Shared setup of the SageMaker end-to-end tests (this module holds no tests): principals with
policies, execution roles, a VPC with subnets, security groups and endpoints, KMS keys, Studio
domains, and Studio sign-in with `requests` the way a browser signs in."""
import json
import os
import subprocess
import time
import urllib.parse

import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

SAGEMAKER_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ACCOUNT_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def code(err):
    return err.value.response["Error"]["Code"]


def message(err):
    return err.value.response["Error"]["Message"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def denied(excinfo, action, why="with an explicit deny in an identity-based policy"):
    """Asserts AWS's enriched AccessDeniedException for `action`."""
    assert code(excinfo) == "AccessDeniedException", excinfo.value.response
    m = message(excinfo)
    assert f"is not authorized to perform: {action} on resource: " in m, m
    assert m.endswith(why), m


class Env:
    """Builds the environment of the seed labs on one server, as its root user."""

    def __init__(self, server):
        self.server = server
        self.iam = server.client("iam")
        self.ec2 = server.client("ec2")
        self.kms = server.client("kms")
        self.sm = server.client("sagemaker")
        self.sts = server.admin_client("sts")
        self.count = 0

    def unique(self, prefix):
        self.count += 1
        return f"{prefix}-{self.count}"

    # ---------------------------------------------------------------- principals

    def role(self, name, *statements, trust=SAGEMAKER_TRUST):
        """A role with the given trust policy and an inline policy of `statements`."""
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if statements:
            self.iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(*statements))
        return arn

    def session(self, role_arn, name="session"):
        c = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
        return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]

    def person(self, name, *statements):
        """A role a person works as (trusting the account), with `statements`; returns its
        sagemaker client factory `(service, endpoint=None) -> client` and the role ARN."""
        arn = self.role(name, *statements, trust=ACCOUNT_TRUST)
        key, secret, token = self.session(arn, name)

        def client(service, endpoint=None):
            return self.server.client(service, access_key=key, secret=secret, token=token, endpoint=endpoint)

        client.credentials = (key, secret, token)
        client.arn = arn
        return client

    # ---------------------------------------------------------------- network

    def network(self, cidr="10.0.0.0/16", subnets=2):
        """A VPC with subnets in distinct zones and one security group admitting everything."""
        vpc = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        base = cidr.split(".")
        zones = [z["ZoneName"] for z in self.ec2.describe_availability_zones()["AvailabilityZones"]]
        ids = []
        for i in range(subnets):
            ids.append(self.ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.{i + 1}.0/24", AvailabilityZone=zones[i % len(zones)],
            )["Subnet"]["SubnetId"])
        sg = self.ec2.create_security_group(GroupName=self.unique("studio-sg"), Description="studio", VpcId=vpc)["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return {"vpc": vpc, "subnets": ids, "sg": sg}

    def endpoint(self, net, service, policy=None):
        """An interface endpoint of `service` (e.g. `sagemaker.api`, `s3`, `studio`, `notebook`)
        in `net`; returns (endpoint id, its URL)."""
        if service in ("studio", "notebook"):
            name = f"aws.sagemaker.{REGION}.{service}"
        else:
            name = f"com.amazonaws.{REGION}.{service}"
        args = dict(VpcEndpointType="Interface", VpcId=net["vpc"], ServiceName=name,
                    SubnetIds=net["subnets"][:1], SecurityGroupIds=[net["sg"]])
        if policy:
            args["PolicyDocument"] = json.dumps(policy)
        ep = self.ec2.create_vpc_endpoint(**args)["VpcEndpoint"]
        return ep["VpcEndpointId"], f"http://{ep['DnsEntries'][0]['DnsName']}"

    # ---------------------------------------------------------------- keys and Studio

    def key(self, description="sagemaker"):
        return self.kms.create_key(Description=description)["KeyMetadata"]["Arn"]

    def domain(self, net, role, vpc_only=True, kms_key=None, **extra):
        args = dict(
            DomainName=self.unique("domain"), AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": role, "SecurityGroups": [net["sg"]]},
            SubnetIds=net["subnets"], VpcId=net["vpc"],
            AppNetworkAccessType="VpcOnly" if vpc_only else "PublicInternetOnly",
        )
        if kms_key:
            args["KmsKeyId"] = kms_key
        args.update(extra)
        out = self.sm.create_domain(**args)
        wait_for(lambda: self.sm.describe_domain(DomainId=out["DomainId"])["Status"] == "InService")
        return out["DomainId"]

    def profile(self, domain_id, name, role=None, tags=None):
        args = dict(DomainId=domain_id, UserProfileName=name)
        if role:
            args["UserSettings"] = {"ExecutionRole": role}
        if tags:
            args["Tags"] = tags
        return self.sm.create_user_profile(**args)["UserProfileArn"]


def cli_as(server, person, *args, endpoint=None):
    """aws-cli with a person's session; returns (returncode, output, stderr)."""
    key, secret, token = person.credentials
    return server.cli(*args, access_key=key, secret=secret, token=token, endpoint=endpoint, check=False)


def cli_denied(result, action):
    rc, _, err = result
    assert rc != 0 and "AccessDeniedException" in err and f"perform: {action} on resource" in err, err


def wait_for(predicate, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def sign_in(url, via=None):
    """Opens a presigned domain URL like a browser (optionally through another `host:port`);
    returns (response, session)."""
    if via:
        parts = urllib.parse.urlsplit(url)
        url = urllib.parse.urlunsplit((parts.scheme, via, parts.path, parts.query, parts.fragment))
    s = requests.Session()
    return s.get(url, timeout=10), s


def studio_base(url, via=None):
    parts = urllib.parse.urlsplit(url)
    host = via or parts.netloc
    return f"{parts.scheme}://{host}{parts.path.rsplit('/auth', 1)[0]}/"


def studio_cli(environment, *args):
    """Runs aws-cli the way a Studio terminal would: nothing but the app environment (no keys,
    no endpoint flag). Returns (returncode, parsed JSON or text, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_MAX_ATTEMPTS="1",
               AWS_RETRY_MODE="standard")
    env.update(environment)
    p = subprocess.run(["aws", "--output", "json", "--cli-connect-timeout", "2", *args],
                       capture_output=True, text=True, env=env)
    out = p.stdout
    try:
        out = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        pass
    return p.returncode, out, p.stderr


def expect_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]
    raise AssertionError("the call succeeded")
