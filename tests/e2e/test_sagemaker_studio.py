"""SageMaker Studio with unchanged boto3, aws-cli and a browser-like client: domains in a VPC,
Studio sign-in with presigned domain URLs restricted to a network (S5), the Studio landing page,
home directories, the app environment of an internet-free (VpcOnly) domain, and the Studio
guardrails of S8 (domains), S9 (app instance types) and S11 (app tags)."""
import http.client
import json
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION
from test_sagemaker_env import (
    ALLOW_ALL, Env, cli_as, cli_denied, code, denied, doc, message, sign_in, studio_base, studio_cli, wait_for,
)

INSUFFICIENT = "Auth token containing insufficient permissions"
EXPIRED = "Invalid or Expired Auth Token"


@pytest.fixture(scope="module")
def lab(server):
    """Seed 002's setup: execution roles, a VPC without internet with the SageMaker API and
    Studio endpoints, a KMS key for home volumes, a VpcOnly domain and a data-science profile."""
    env = Env(server)
    ds_role = env.role("StudioRoleDataScience", ALLOW_ALL)
    net = env.network("10.20.0.0/16")
    api_id, api = env.endpoint(net, "sagemaker.api")
    studio_id, studio = env.endpoint(net, "studio")
    key = env.key("studio home volumes")
    domain = env.domain(net, ds_role, vpc_only=True, kms_key=key)
    env.profile(domain, "data-scientist", ds_role, tags=[{"Key": "team", "Value": "team-A"}])
    return {"env": env, "net": net, "api": api, "studio": studio, "domain": domain, "role": ds_role,
            "key": key, "studio_host": urllib.parse.urlsplit(studio).netloc}


def public_host(server):
    return urllib.parse.urlsplit(server.endpoint).netloc


# ---------------------------------------------------------------------------------------- S5

def test_s5_presigned_url_only_through_the_vpc(server, lab):
    env = lab["env"]
    vpc = lab["net"]["vpc"]
    user = env.person("StudioUserVpc", ALLOW_ALL, {
        "Sid": "EnableSageMakerStudioAccessViaVPC", "Effect": "Deny",
        "Action": ["sagemaker:CreatePresignedDomainUrl"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpc": vpc}},
    })
    args = dict(DomainId=lab["domain"], UserProfileName="data-scientist")
    # From the public endpoint (the console, a laptop): denied.
    with pytest.raises(ClientError) as e:
        user("sagemaker").create_presigned_domain_url(**args)
    denied(e, "sagemaker:CreatePresignedDomainUrl")
    assert f":user-profile/{lab['domain']}/data-scientist" in message(e)
    # The same with aws-cli, unchanged.
    key, secret, token = user.credentials
    rc, _, err = server.cli("sagemaker", "create-presigned-domain-url", "--domain-id", lab["domain"],
                            "--user-profile-name", "data-scientist", access_key=key, secret=secret,
                            token=token, check=False)
    assert rc != 0 and "AccessDeniedException" in err and "explicit deny" in err
    # Through the VPC's SageMaker API endpoint: allowed; the URL opens on the VPC's Studio endpoint.
    rc, out, err = server.cli("sagemaker", "create-presigned-domain-url", "--domain-id", lab["domain"],
                              "--user-profile-name", "data-scientist", access_key=key, secret=secret,
                              token=token, endpoint=lab["api"])
    url = out["AuthorizedUrl"]
    assert urllib.parse.urlsplit(url).netloc == lab["studio_host"]
    assert "/auth?token=" in url
    # Opened from outside the VPC (the public endpoint): the token is bound to the VPC.
    r, _ = sign_in(url, via=public_host(server))
    assert r.status_code == 403 and INSUFFICIENT in r.text
    # Inside the VPC, through the Studio endpoint: signed in, once.
    r, browser = sign_in(url)
    assert r.status_code == 200, r.text
    assert "data-scientist" in r.text and lab["role"] in r.text
    r, _ = sign_in(url)
    assert r.status_code == 403 and EXPIRED in r.text
    # The session is bound to the VPC too.
    assert browser.get(studio_base(url), timeout=10).status_code == 200
    assert browser.get(studio_base(url, via=public_host(server)), timeout=10).status_code == 403
    # An expired URL fails.
    short = user("sagemaker", endpoint=lab["api"]).create_presigned_domain_url(ExpiresInSeconds=5, **args)
    time.sleep(5.5)
    r, _ = sign_in(short["AuthorizedUrl"])
    assert r.status_code == 403 and EXPIRED in r.text
    # ExpiresInSeconds is 5 to 300, as in AWS.
    with pytest.raises(ClientError) as e:
        user("sagemaker", endpoint=lab["api"]).create_presigned_domain_url(ExpiresInSeconds=301, **args)
    assert code(e) == "ValidationException"


def test_s5_presigned_url_from_another_vpc_fails(server, lab):
    env = lab["env"]
    other = env.network("10.30.0.0/16")
    _, other_studio = env.endpoint(other, "studio")
    url = env.server.client("sagemaker", endpoint=lab["api"]).create_presigned_domain_url(
        DomainId=lab["domain"], UserProfileName="data-scientist")["AuthorizedUrl"]
    r, _ = sign_in(url, via=urllib.parse.urlsplit(other_studio).netloc)
    assert r.status_code == 403 and INSUFFICIENT in r.text
    # Left for its rightful user.
    r, _ = sign_in(url)
    assert r.status_code == 200


def open_from(url, source_ip):
    """GETs `url` from a given local source address (another machine on the internet)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.netloc.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source_ip, 0))
    c.request("GET", f"{parts.path}?{parts.query}")
    r = c.getresponse()
    return r.status, r.read().decode()


def test_s5_presigned_url_only_from_an_address(server, lab):
    env = lab["env"]

    def user(name, cidr):
        return env.person(name, ALLOW_ALL, {
            "Effect": "Deny", "Action": ["sagemaker:CreatePresignedDomainUrl"], "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": cidr}},
        })

    args = dict(DomainId=lab["domain"], UserProfileName="data-scientist")
    here = user("StudioUserHere", "127.0.0.1/32")
    url = here("sagemaker").create_presigned_domain_url(**args)["AuthorizedUrl"]
    assert urllib.parse.urlsplit(url).netloc == public_host(server)
    elsewhere = user("StudioUserElsewhere", "203.0.113.7/32")
    with pytest.raises(ClientError) as e:
        elsewhere("sagemaker").create_presigned_domain_url(**args)
    denied(e, "sagemaker:CreatePresignedDomainUrl")
    # aws:SourceIp is the public endpoint's key: through the VPC endpoint the condition's key is
    # absent, NotIpAddress matches, and the deny applies.
    with pytest.raises(ClientError) as e:
        here("sagemaker", endpoint=lab["api"]).create_presigned_domain_url(**args)
    denied(e, "sagemaker:CreatePresignedDomainUrl")
    # The URL made from 127.0.0.1 fails from another address, then works from its own.
    status, body = open_from(url, "127.0.0.2")
    assert status == 403 and INSUFFICIENT in body
    status, body = open_from(url, "127.0.0.1")
    assert status == 302


# ---------------------------------------------------------------------------------------- Studio

def test_presigned_notebook_instance_url_by_network(server, lab):
    """CreatePresignedNotebookInstanceUrl under the same network conditions as S5: the URL is
    bound to where it was made, opens once within five minutes, through the VPC's notebook
    endpoint when made through the VPC."""
    env, net = lab["env"], lab["net"]
    _, notebook = env.endpoint(net, "notebook")
    notebook_host = urllib.parse.urlsplit(notebook).netloc
    env.sm.create_notebook_instance(
        NotebookInstanceName="lab-notebook", InstanceType="ml.t3.medium", RoleArn=lab["role"],
        SubnetId=net["subnets"][0], SecurityGroupIds=[net["sg"]], DirectInternetAccess="Disabled",
        Tags=[{"Key": "team", "Value": "team-A"}])
    wait_for(lambda: env.sm.describe_notebook_instance(
        NotebookInstanceName="lab-notebook")["NotebookInstanceStatus"] == "InService")
    args = dict(NotebookInstanceName="lab-notebook")
    user = env.person("NotebookUserVpc", ALLOW_ALL, {
        "Effect": "Deny", "Action": "sagemaker:CreatePresignedNotebookInstanceUrl", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpc": net["vpc"]}}})
    with pytest.raises(ClientError) as e:
        user("sagemaker").create_presigned_notebook_instance_url(**args)
    denied(e, "sagemaker:CreatePresignedNotebookInstanceUrl")
    assert f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/lab-notebook" in message(e)
    # Through the VPC's SageMaker API endpoint: a URL on the VPC's notebook endpoint.
    url = user("sagemaker", endpoint=lab["api"]).create_presigned_notebook_instance_url(**args)["AuthorizedUrl"]
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc == notebook_host and parts.path == "/notebook/lab-notebook"
    assert parts.query.startswith("authToken=")
    r, _ = sign_in(url, via=public_host(server))
    assert r.status_code == 403 and INSUFFICIENT in r.text
    r, browser = sign_in(url)
    assert r.status_code == 200, r.text
    assert r.url.endswith("/notebook/lab-notebook/tree")
    assert "lab-notebook" in r.text and lab["role"] in r.text and net["subnets"][0] in r.text
    status = browser.get(f"{notebook}/notebook/lab-notebook/api/status", timeout=10).json()
    assert status["NotebookInstanceStatus"] == "InService" and status["RoleArn"] == lab["role"]
    r, _ = sign_in(url)
    assert r.status_code == 403 and EXPIRED in r.text
    # The session is bound to the VPC too, and to its instance.
    assert browser.get(f"http://{public_host(server)}/notebook/lab-notebook/tree", timeout=10).status_code == 403
    assert browser.get(f"{notebook}/notebook/other-notebook/tree", timeout=10).status_code == 403
    # From the public endpoint, bound to the caller's address.
    here = env.person("NotebookUserHere", ALLOW_ALL, {
        "Effect": "Deny", "Action": "sagemaker:CreatePresignedNotebookInstanceUrl", "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.1/32"}}})
    url = here("sagemaker").create_presigned_notebook_instance_url(**args)["AuthorizedUrl"]
    assert urllib.parse.urlsplit(url).netloc == public_host(server)
    status_code, body = open_from(url, "127.0.0.2")
    assert status_code == 403 and INSUFFICIENT in body
    status_code, _ = open_from(url, "127.0.0.1")
    assert status_code == 302
    elsewhere = env.person("NotebookUserElsewhere", ALLOW_ALL, {
        "Effect": "Deny", "Action": "sagemaker:CreatePresignedNotebookInstanceUrl", "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.7/32"}}})
    with pytest.raises(ClientError) as e:
        elsewhere("sagemaker").create_presigned_notebook_instance_url(**args)
    denied(e, "sagemaker:CreatePresignedNotebookInstanceUrl")
    # The instance's tags decide too (ABAC).
    other_team = env.person("NotebookUserTeamB", ALLOW_ALL, {
        "Effect": "Deny", "Action": "sagemaker:*", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:ResourceTag/team": "team-B"}}})
    with pytest.raises(ClientError) as e:
        other_team("sagemaker").create_presigned_notebook_instance_url(**args)
    denied(e, "sagemaker:CreatePresignedNotebookInstanceUrl")
    # aws-cli, unchanged; the session lasts SessionExpirationDurationInSeconds (1800 to 43200).
    rc, out, err = cli_as(server, here, "sagemaker", "create-presigned-notebook-instance-url",
                          "--notebook-instance-name", "lab-notebook",
                          "--session-expiration-duration-in-seconds", "1800")
    assert rc == 0, err
    r, _ = sign_in(out["AuthorizedUrl"])
    assert r.status_code == 200
    assert "Max-Age=1800" in r.history[0].headers["Set-Cookie"]
    with pytest.raises(ClientError) as e:
        server.client("sagemaker", parameter_validation=False).create_presigned_notebook_instance_url(
            SessionExpirationDurationInSeconds=1799, **args)
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        env.sm.create_presigned_notebook_instance_url(NotebookInstanceName="no-such-notebook")
    assert code(e) == "ValidationException"
    # A stopped instance does not open.
    env.sm.stop_notebook_instance(**args)
    wait_for(lambda: env.sm.describe_notebook_instance(**args)["NotebookInstanceStatus"] == "Stopped")
    r, _ = sign_in(env.sm.create_presigned_notebook_instance_url(**args)["AuthorizedUrl"])
    assert r.status_code == 409 and "Stopped" in r.text


def test_studio_landing_home_directories_and_credentials(server, lab):
    env = lab["env"]
    sm = env.sm
    net = env.network("10.40.0.0/16")
    key = env.key("home")
    role = env.role("StudioRoleAnalyst", ALLOW_ALL)
    domain = env.domain(net, role, vpc_only=False, kms_key=key)
    # SageMaker holds a grant on the home-volume key, taken as the caller.
    grants = env.kms.list_grants(KeyId=key)["Grants"]
    assert any(g["GranteePrincipal"] == "sagemaker.amazonaws.com" for g in grants)
    for name in ("ana", "bob"):
        env.profile(domain, name)
    sm.create_app(DomainId=domain, UserProfileName="ana", AppType="JupyterServer", AppName="default")
    sm.create_app(DomainId=domain, UserProfileName="ana", AppType="KernelGateway", AppName="datascience",
                  ResourceSpec={"InstanceType": "ml.t3.medium"})

    def studio(profile):
        url = sm.create_presigned_domain_url(DomainId=domain, UserProfileName=profile)["AuthorizedUrl"]
        r, browser = sign_in(url)
        assert r.status_code == 200, r.text
        return r, browser, studio_base(url)

    r, ana, base = studio("ana")
    assert "ana" in r.text and role in r.text and "datascience" in r.text and "KernelGateway" in r.text
    # The home directory: written and read back, listed on the landing page.
    notebook = json.dumps({"cells": [], "nbformat": 4}).encode()
    assert ana.put(base + "api/files/work/lab-01.ipynb", data=notebook, timeout=10).status_code == 200
    assert ana.get(base + "api/files/work/lab-01.ipynb", timeout=10).content == notebook
    assert "work/lab-01.ipynb" in ana.get(base + "home", timeout=10).text
    assert ana.get(base + "api/files/../../etc/passwd", timeout=10).status_code in (400, 404)
    # Another profile's home directory is its own: Bob sees nothing of Ana's.
    _, bob, _ = studio("bob")
    assert bob.get(base + "api/files", timeout=10).json()["Files"] == []
    assert bob.get(base + "api/files/work/lab-01.ipynb", timeout=10).status_code == 404
    # The app environment: the execution role's credentials on a container credentials endpoint.
    environment = ana.get(base + "api/environment", timeout=10).json()
    vars_ = environment["Environment"]
    assert vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == base + "api/credentials"
    assert environment["ExecutionRoleArn"] == role
    rc, ident, err = studio_cli(vars_, "sts", "get-caller-identity")
    assert rc == 0, err
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/StudioRoleAnalyst/SageMaker"
    # Without the authorization token the endpoint gives nothing.
    import requests
    assert requests.get(base + "api/credentials", timeout=10).status_code == 403
    # The home directory is encrypted under the domain's key: with the key disabled, a new
    # session cannot read it; enabled again, it can.
    env.kms.disable_key(KeyId=key)
    try:
        _, ana2, _ = studio("ana")
        assert ana2.get(base + "api/files/work/lab-01.ipynb", timeout=10).status_code == 500
    finally:
        env.kms.enable_key(KeyId=key)
    _, ana3, _ = studio("ana")
    assert ana3.get(base + "api/files/work/lab-01.ipynb", timeout=10).content == notebook


def test_vpc_only_domain_reaches_only_its_endpoints(server, lab):
    """The README walkthrough: an internet-free domain whose apps reach only the services with
    an endpoint in its VPC."""
    env = lab["env"]
    net = env.network("10.50.0.0/16")
    _, api = env.endpoint(net, "sagemaker.api")
    env.endpoint(net, "studio")
    env.endpoint(net, "s3")
    env.endpoint(net, "sts")
    role = env.role("StudioRoleInternetFree", ALLOW_ALL)
    domain = env.domain(net, role, vpc_only=True)
    env.profile(domain, "ml")
    url = env.server.client("sagemaker", endpoint=api).create_presigned_domain_url(
        DomainId=domain, UserProfileName="ml")["AuthorizedUrl"]
    r, browser = sign_in(url)
    assert r.status_code == 200, r.text
    environment = browser.get(studio_base(url) + "api/environment", timeout=10).json()
    vars_ = environment["Environment"]
    assert set(k for k in vars_ if k.startswith("AWS_ENDPOINT_URL_")) == {
        "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SAGEMAKER"}
    assert all(u.startswith("http://127.0.0.1:") for u in environment["Endpoints"].values())
    # Through its endpoints, the app works as its execution role.
    rc, ident, err = studio_cli(vars_, "sts", "get-caller-identity")
    assert rc == 0, err
    assert ":assumed-role/StudioRoleInternetFree/SageMaker" in ident["Arn"]
    rc, _, err = studio_cli(vars_, "s3api", "create-bucket", "--bucket", "sagemaker-internet-free")
    assert rc == 0, err
    rc, out, err = studio_cli(vars_, "s3api", "list-buckets")
    assert rc == 0 and any(b["Name"] == "sagemaker-internet-free" for b in out["Buckets"]), err
    rc, out, err = studio_cli(vars_, "sagemaker", "list-user-profiles", "--domain-id-equals", domain)
    assert rc == 0 and out["UserProfiles"][0]["UserProfileName"] == "ml", err
    # KMS has no endpoint in the VPC: unreachable.
    rc, _, err = studio_cli(vars_, "kms", "list-keys")
    assert rc != 0 and "Could not connect" in err, err
    # The app's credentials taken outside the VPC are refused everywhere.
    creds = browser.get(vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                        headers={"Authorization": vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}, timeout=10).json()
    outside = server.client("kms", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                            token=creds["Token"])
    with pytest.raises(ClientError) as e:
        outside.list_keys()
    denied(e, "kms:ListKeys", "with an explicit deny in a session policy")


# ---------------------------------------------------------------------------------------- domains

def test_domain_validation(server, lab):
    env = lab["env"]
    sm = env.sm
    role = lab["role"]
    net = lab["net"]
    other = env.network("10.60.0.0/16")

    def create(**kw):
        args = dict(DomainName=env.unique("bad"), AuthMode="IAM",
                    DefaultUserSettings={"ExecutionRole": role, "SecurityGroups": [net["sg"]]},
                    SubnetIds=net["subnets"], VpcId=net["vpc"], AppNetworkAccessType="VpcOnly")
        args.update(kw)
        with pytest.raises(ClientError) as e:
            sm.create_domain(**args)
        return e

    e = create(SubnetIds=[other["subnets"][0]])
    assert code(e) == "ValidationException" and "is not in VPC" in message(e)
    e = create(SubnetIds=["subnet-0123456789abcdef0"])
    assert code(e) == "ValidationException" and "does not exist" in message(e)
    e = create(DefaultUserSettings={"ExecutionRole": role})
    assert code(e) == "ValidationException" and "Security groups" in message(e)
    e = create(DefaultUserSettings={"ExecutionRole": role, "SecurityGroups": [other["sg"]]})
    assert code(e) == "ValidationException"
    e = create(KmsKeyId="alias/does-not-exist")
    assert code(e) == "ValidationException" and "KmsKeyId" in message(e)
    untrusting = env.role("NotForSageMaker", ALLOW_ALL, trust={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    e = create(DefaultUserSettings={"ExecutionRole": untrusting, "SecurityGroups": [net["sg"]]})
    assert code(e) == "ValidationException" and "sagemaker.amazonaws.com" in message(e)
    with pytest.raises(ClientError) as e:
        sm.describe_domain(DomainId="d-doesnotexist")
    assert code(e) == "ResourceNotFound"


def test_s3_grant_for_aws_resource_through_sagemaker(server, lab):
    """S3 (000 step 1) with SageMaker as the integrated service: the key user cannot create a
    grant directly, but SageMaker creates it on the user's behalf for the domain's home volume."""
    env = lab["env"]
    admin = env.person("DomainAdmin", ALLOW_ALL)
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Enable*", "kms:Disable*",
                    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"], "Resource": "*"},
        {"Sid": "KeyUser", "Effect": "Allow", "Principal": {"AWS": admin.arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"},
        {"Sid": "Grants", "Effect": "Allow", "Principal": {"AWS": admin.arn},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]}
    key = env.kms.create_key(Policy=json.dumps(key_policy),
                             BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as e:
        admin("kms").create_grant(KeyId=key, GranteePrincipal=admin.arn, Operations=["Decrypt"])
    assert code(e) == "AccessDeniedException"
    net = env.network("10.70.0.0/16")
    out = admin("sagemaker").create_domain(
        DomainName="granted", AuthMode="IAM", SubnetIds=net["subnets"], VpcId=net["vpc"],
        DefaultUserSettings={"ExecutionRole": lab["role"], "SecurityGroups": [net["sg"]]}, KmsKeyId=key)
    d = env.sm.describe_domain(DomainId=out["DomainId"])
    assert d["KmsKeyId"] == key and d["HomeEfsFileSystemKmsKeyId"] == key


def test_s8_domain_guardrails(server, lab):
    env = lab["env"]
    net = env.network("10.80.0.0/16")
    key = env.key("efs")
    admin = env.person("StudioAdmin",
                       {"Effect": "Allow", "NotAction": "sagemaker:CreateDomain", "Resource": "*"},
                       {"Sid": "PreventDirectInternetforStudio", "Effect": "Allow", "Action": "sagemaker:CreateDomain",
                        "Resource": "*", "Condition": {"StringEquals": {"sagemaker:AppNetworkAccessType": ["VpcOnly"]}}},
                       {"Sid": "SageMakerStudioVolumeEncryption", "Effect": "Deny", "Action": ["sagemaker:CreateDomain"],
                        "Resource": "*", "Condition": {"Null": {"sagemaker:HomeEfsFileSystemKmsKey": "true"}}})
    sm = admin("sagemaker")
    base = dict(AuthMode="IAM", SubnetIds=net["subnets"], VpcId=net["vpc"],
                DefaultUserSettings={"ExecutionRole": lab["role"], "SecurityGroups": [net["sg"]]})
    with pytest.raises(ClientError) as e:
        sm.create_domain(DomainName="public", AppNetworkAccessType="PublicInternetOnly", KmsKeyId=key, **base)
    denied(e, "sagemaker:CreateDomain", "because no identity-based policy allows the sagemaker:CreateDomain action")
    with pytest.raises(ClientError) as e:
        sm.create_domain(DomainName="default-network", KmsKeyId=key, **base)
    denied(e, "sagemaker:CreateDomain", "because no identity-based policy allows the sagemaker:CreateDomain action")
    with pytest.raises(ClientError) as e:
        sm.create_domain(DomainName="unencrypted", AppNetworkAccessType="VpcOnly", **base)
    denied(e, "sagemaker:CreateDomain")
    cli_denied(cli_as(server, admin, "sagemaker", "create-domain", "--domain-name", "cli-public", "--auth-mode", "IAM",
                      "--vpc-id", net["vpc"], "--subnet-ids", *net["subnets"], "--kms-key-id", key,
                      "--app-network-access-type", "PublicInternetOnly", "--default-user-settings",
                      json.dumps(base["DefaultUserSettings"])), "sagemaker:CreateDomain")
    out = sm.create_domain(DomainName="guarded", AppNetworkAccessType="VpcOnly", KmsKeyId=key, **base)
    assert out["DomainArn"].endswith(out["DomainId"])


# ---------------------------------------------------------------------------------------- apps

def test_s9_s11_app_instance_types_and_tags(server, lab):
    env = lab["env"]
    domain = lab["domain"]
    env.profile(domain, "apps-user")
    user = env.person("AppCreator",
                      {"Effect": "Allow", "NotAction": "sagemaker:CreateApp", "Resource": "*"},
                      {"Sid": "EnforceAppTag", "Effect": "Allow", "Action": ["sagemaker:CreateApp"], "Resource": "*",
                       "Condition": {"ForAllValues:StringLike": {"aws:RequestTag/Project": "development"}}},
                      {"Sid": "LimitSageMakerStudioInstanceTypes", "Effect": "Deny", "Action": ["sagemaker:CreateApp"],
                       "Resource": "*", "Condition": {"ForAnyValue:StringNotLike": {
                           "sagemaker:InstanceTypes": ["ml.c5.large", "ml.m5.large", "ml.t3.medium"]}}})
    sm = user("sagemaker")
    args = dict(DomainId=domain, UserProfileName="apps-user", AppType="KernelGateway")
    dev = [{"Key": "Project", "Value": "development"}]
    with pytest.raises(ClientError) as e:
        sm.create_app(AppName="gpu", ResourceSpec={"InstanceType": "ml.p3.2xlarge"}, Tags=dev, **args)
    denied(e, "sagemaker:CreateApp")
    with pytest.raises(ClientError) as e:
        sm.create_app(AppName="prod", ResourceSpec={"InstanceType": "ml.t3.medium"},
                      Tags=[{"Key": "Project", "Value": "production"}], **args)
    denied(e, "sagemaker:CreateApp", "because no identity-based policy allows the sagemaker:CreateApp action")
    cli_denied(cli_as(server, user, "sagemaker", "create-app", "--domain-id", domain, "--user-profile-name",
                      "apps-user", "--app-type", "KernelGateway", "--app-name", "prod-cli", "--resource-spec",
                      "InstanceType=ml.t3.medium", "--tags", "Key=Project,Value=production"), "sagemaker:CreateApp")
    arn = sm.create_app(AppName="dev", ResourceSpec={"InstanceType": "ml.t3.medium"}, Tags=dev, **args)["AppArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{domain}/apps-user/kernelgateway/dev"
    tags = {t["Key"]: t["Value"] for t in env.sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags["Project"] == "development"
    assert tags["sagemaker:domain-arn"].endswith(f":domain/{domain}")
    # ForAllValues over a key the request does not have is true (AWS's rule): an app without
    # tags is allowed by this policy; require the tag with a Null condition if that matters.
    sm.create_app(AppName="untagged", ResourceSpec={"InstanceType": "ml.t3.medium"}, **args)
    # An app without a ResourceSpec names no instance type; it gets the default.
    sm.create_app(DomainId=domain, UserProfileName="apps-user", AppType="JupyterServer", AppName="default", Tags=dev)
    wait_for(lambda: env.sm.describe_app(DomainId=domain, UserProfileName="apps-user", AppType="JupyterServer",
                                         AppName="default")["Status"] == "InService")
    d = env.sm.describe_app(DomainId=domain, UserProfileName="apps-user", AppType="JupyterServer", AppName="default")
    assert d["ResourceSpec"]["InstanceType"] == "system"
    # Lifecycle: delete → Deleting → Deleted; a profile with apps cannot be deleted.
    with pytest.raises(ClientError) as e:
        env.sm.delete_user_profile(DomainId=domain, UserProfileName="apps-user")
    assert code(e) == "ResourceInUse"
    for name, kind in (("dev", "KernelGateway"), ("untagged", "KernelGateway"), ("default", "JupyterServer")):
        env.sm.delete_app(DomainId=domain, UserProfileName="apps-user", AppType=kind, AppName=name)
    wait_for(lambda: all(a["Status"] == "Deleted" for a in env.sm.list_apps(
        DomainIdEquals=domain, UserProfileNameEquals="apps-user")["Apps"]))
    env.sm.delete_user_profile(DomainId=domain, UserProfileName="apps-user")
