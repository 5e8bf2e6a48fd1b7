"""IAM end to end with unchanged boto3 and aws-cli: users, groups, roles with trust policies,
managed and inline policies, boundaries, access keys, instance profiles, virtual MFA devices,
the policy simulator (S12's PassRole as a plain IAM check) and a restart that keeps everything."""
import base64
import hashlib
import hmac
import json
import struct
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, Server

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def deny(action, resource="*", **extra):
    return dict({"Effect": "Deny", "Action": action, "Resource": resource}, **extra)


def trust(principal=ROOT_ARN, actions=("sts:AssumeRole",), condition=None):
    stmt = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": list(actions)}
    if condition:
        stmt["Condition"] = condition
    return doc(stmt)


def error(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def totp(seed, offset=0, now=None):
    """RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) from a Base32 seed."""
    if isinstance(seed, bytes):
        seed = seed.decode()
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    counter = int((now or time.time()) // 30) + offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 15
    code = (struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def user_with_key(server, name, *policies, managed=()):
    """Creates a user with inline policies, attached managed policies and an access key."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    for i, p in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=doc(*p) if isinstance(p, list) else doc(p))
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


def test_users_groups_and_inline_policies(server, iam):
    name = unique("alice")
    user = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "dept", "Value": "ds"}])["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    assert user["UserId"].startswith("AIDA")
    got = iam.get_user(UserName=name)["User"]
    assert got["Tags"] == [{"Key": "dept", "Value": "ds"}]
    assert any(u["UserName"] == name for u in iam.list_users(PathPrefix="/team/")["Users"])

    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name.upper())
    assert error(e)[0] == "EntityAlreadyExists" and error(e)[2] == 409

    group = unique("readers")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [name]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == [group]

    policy = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=policy)
    got = iam.get_user_policy(UserName=name, PolicyName="read")
    assert got["PolicyDocument"] == json.loads(policy)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["read"]

    with pytest.raises(ClientError) as e:
        iam.delete_group(GroupName=group)
    assert error(e)[:2] == ("DeleteConflict", "Cannot delete entity, must remove users from group first.")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert error(e)[0] == "DeleteConflict"

    iam.delete_user_policy(UserName=name, PolicyName="read")
    iam.remove_user_from_group(GroupName=group, UserName=name)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert error(e) == ("NoSuchEntity", f"The user with name {name} cannot be found.", 404)


def test_roles_with_trust_policies_via_aws_cli(server, tmp_path):
    name = unique("DataScience")
    path = tmp_path / "trust.json"
    path.write_text(trust())
    _, out, _ = server.cli("iam", "create-role", "--role-name", name, "--assume-role-policy-document", f"file://{path}",
                           "--description", "data science", "--max-session-duration", "7200",
                           "--tags", "Key=team,Value=ml")
    role = out["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] == ROOT_ARN

    _, out, _ = server.cli("iam", "get-role", "--role-name", name)
    assert out["Role"]["MaxSessionDuration"] == 7200
    assert out["Role"]["Description"] == "data science"
    assert out["Role"]["Tags"] == [{"Key": "team", "Value": "ml"}]

    server.cli("iam", "attach-role-policy", "--role-name", name, "--policy-arn", "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    _, out, _ = server.cli("iam", "list-attached-role-policies", "--role-name", name)
    assert out["AttachedPolicies"] == [
        {"PolicyName": "AmazonSageMakerFullAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}
    ]
    server.cli("iam", "tag-role", "--role-name", name, "--tags", "Key=env,Value=dev")
    server.cli("iam", "untag-role", "--role-name", name, "--tag-keys", "team")
    _, out, _ = server.cli("iam", "list-role-tags", "--role-name", name)
    assert out["Tags"] == [{"Key": "env", "Value": "dev"}]

    path.write_text(trust(condition={"StringEquals": {"sts:ExternalId": "x-1"}}))
    server.cli("iam", "update-assume-role-policy", "--role-name", name, "--policy-document", f"file://{path}")
    _, out, _ = server.cli("iam", "get-role", "--role-name", name)
    assert out["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "x-1"}}

    profile = unique("profile")
    server.cli("iam", "create-instance-profile", "--instance-profile-name", profile)
    server.cli("iam", "add-role-to-instance-profile", "--instance-profile-name", profile, "--role-name", name)
    _, out, _ = server.cli("iam", "list-instance-profiles-for-role", "--role-name", name)
    assert out["InstanceProfiles"][0]["Roles"][0]["RoleName"] == name
    code, _, err = server.cli("iam", "delete-role", "--role-name", name, check=False)
    assert code != 0 and "DeleteConflict" in err


def test_malformed_policy_reports_line_and_column(iam):
    name = unique("r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust())
    bad = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",}]\n}'
    with pytest.raises(ClientError) as e:
        iam.put_role_policy(RoleName=name, PolicyName="bad", PolicyDocument=bad)
    code, message, status = error(e)
    assert (code, status) == ("MalformedPolicyDocument", 400)
    assert "line 3" in message and "column" in message
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=doc(allow("s3:*")))
    assert error(e)[0] == "MalformedPolicyDocument"


def test_managed_policies_versions_and_aws_managed(iam):
    name = unique("ds-read")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=doc(allow("s3:GetObject")), Description="read")["Policy"]["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    for action in ("s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetBucketLocation"):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(action)))
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("s3:*")))
    assert error(e)[0] == "LimitExceeded"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == "s3:ListBucket"
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert error(e)[:2] == ("DeleteConflict", "Cannot delete the default version of a policy.")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v5", "v4", "v3", "v2", "v1"]

    aws = {p["PolicyName"]: p for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]}
    for expected in ("AdministratorAccess", "ReadOnlyAccess", "AmazonSageMakerFullAccess", "AmazonSageMakerReadOnly",
                     "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess", "IAMFullAccess", "AWSKeyManagementServicePowerUser"):
        assert aws[expected]["Arn"] == f"arn:aws:iam::aws:policy/{expected}"
    admin = iam.get_policy_version(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess", VersionId="v1")
    assert admin["PolicyVersion"]["Document"]["Statement"][0]["Action"] == "*"
    local = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert name in local and "AdministratorAccess" not in local


def test_access_denied_names_the_policy_type(server, iam):
    name = unique("dave")
    key, secret = user_with_key(server, name, allow("iam:Get*"), deny("iam:GetRole"))
    client = server.client("iam", access_key=key, secret=secret)
    client.get_user(UserName=name)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    with pytest.raises(ClientError) as e:
        client.list_users()
    assert error(e) == (
        "AccessDenied",
        f"User: {user_arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/ because no identity-based policy allows the iam:ListUsers action",
        403,
    )
    role = unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    with pytest.raises(ClientError) as e:
        client.get_role(RoleName=role)
    assert error(e)[1] == (
        f"User: {user_arn} is not authorized to perform: iam:GetRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/{role} with an explicit deny in an identity-based policy"
    )


def test_permissions_boundary_caps_an_administrator(server, iam):
    boundary = iam.create_policy(PolicyName=unique("boundary"), PolicyDocument=doc(allow("iam:Get*"), allow("iam:List*")))["Policy"]["Arn"]
    name = unique("bounded")
    key, secret = user_with_key(server, name, managed=["arn:aws:iam::aws:policy/AdministratorAccess"])
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    client = server.client("iam", access_key=key, secret=secret)
    client.list_users()
    with pytest.raises(ClientError) as e:
        client.create_user(UserName=unique("other"))
    assert "because no permissions boundary allows the iam:CreateUser action" in error(e)[1]
    iam.delete_user_permissions_boundary(UserName=name)
    client.create_user(UserName=unique("other"))


def test_access_keys_lifecycle(server, iam):
    name = unique("keys")
    key, secret = user_with_key(server, name)
    sts = server.client("sts", access_key=key, secret=secret)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    second = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName=name)
    assert error(e)[:2] == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
    listed = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
    assert listed == {key: "Active", second: "Active"}

    iam.update_access_key(UserName=name, AccessKeyId=key, Status="Inactive")
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error(e)[:2] == ("InvalidClientTokenId", "The security token included in the request is invalid.")
    iam.update_access_key(UserName=name, AccessKeyId=key, Status="Active")
    sts.get_caller_identity()
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error(e)[0] == "InvalidClientTokenId"
    assert iam.get_access_key_last_used(AccessKeyId=second)["UserName"] == name


def test_virtual_mfa_devices(server, iam):
    name = unique("mfa-user")
    iam.create_user(UserName=name)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    serial = device["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/{name}"
    seed = device["Base32StringSeed"]
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    assert error(e)[0] == "InvalidAuthenticationCode"
    iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=totp(seed, -1), AuthenticationCode2=totp(seed, 0))
    devices = iam.list_mfa_devices(UserName=name)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert any(d["SerialNumber"] == serial and d["User"]["UserName"] == name for d in assigned)
    with pytest.raises(ClientError) as e:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error(e)[0] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=name)["MFADevices"] == []


def test_pass_role_is_a_plain_iam_check_in_the_simulator(server, iam):
    """S12, IAM part: DataScience may pass only *StudioRole* roles, only to SageMaker."""
    name = unique("DataScienceUser")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="pass", PolicyDocument=doc(allow(
        "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*StudioRole*",
        Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )))
    studio = iam.create_role(RoleName=unique("SageMakerStudioRole"), AssumeRolePolicyDocument=trust())["Role"]["Arn"]
    admin = iam.create_role(RoleName=unique("Admin"), AssumeRolePolicyDocument=trust())["Role"]["Arn"]
    source = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    to_sagemaker = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["sagemaker.amazonaws.com"],
                     "ContextKeyType": "string"}]
    results = iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["iam:PassRole"],
                                            ResourceArns=[studio, admin], ContextEntries=to_sagemaker)["EvaluationResults"]
    by_resource = {r["EvalResourceName"]: r for r in results}
    assert by_resource[studio]["EvalDecision"] == "allowed"
    matched = by_resource[studio]["MatchedStatements"][0]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("pass", "user")
    assert matched["StartPosition"]["Line"] >= 1
    assert by_resource[admin]["EvalDecision"] == "implicitDeny"

    to_ec2 = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["ec2.amazonaws.com"], "ContextKeyType": "string"}]
    r = iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["iam:PassRole"], ResourceArns=[studio],
                                      ContextEntries=to_ec2)["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"
    r = iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["iam:PassRole"], ResourceArns=[studio])["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["MissingContextValues"] == ["iam:PassedToService"]

    _, out, _ = server.cli("iam", "simulate-principal-policy", "--policy-source-arn", source, "--action-names", "iam:PassRole",
                           "--resource-arns", studio, "--context-entries",
                           "ContextKeyName=iam:PassedToService,ContextKeyValues=sagemaker.amazonaws.com,ContextKeyType=string")
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=source)["ContextKeyNames"]
    assert keys == ["iam:PassedToService"]


def test_simulate_custom_policy(iam):
    results = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("s3:*")), doc(deny("s3:DeleteBucket"))],
        ActionNames=["s3:GetObject", "s3:DeleteBucket", "ec2:RunInstances"],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {"s3:GetObject": "allowed", "s3:DeleteBucket": "explicitDeny", "ec2:RunInstances": "implicitDeny"}
    deny_match = next(r for r in results if r["EvalActionName"] == "s3:DeleteBucket")["MatchedStatements"][0]
    assert deny_match["SourcePolicyId"] == "PolicyInputList.2"
    bounded = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("s3:*"))], PermissionsBoundaryPolicyInputList=[doc(allow("s3:Get*"))],
        ActionNames=["s3:PutObject"],
    )["EvaluationResults"][0]
    assert bounded["EvalDecision"] == "implicitDeny"
    assert bounded["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] is False


def test_account_authorization_details_and_alias(iam):
    role = unique("detail-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=doc(allow("s3:ListBucket")))
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    details = iam.get_account_authorization_details(Filter=["Role", "AWSManagedPolicy"])
    mine = next(r for r in details["RoleDetailList"] if r["RoleName"] == role)
    assert mine["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "s3:ListBucket"
    assert mine["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] == ROOT_ARN
    assert any(p["PolicyName"] == "ReadOnlyAccess" for p in details["Policies"])
    assert details["UserDetailList"] == []

    iam.create_account_alias(AccountAlias="perimeter-test")
    assert iam.list_account_aliases()["AccountAliases"] == ["perimeter-test"]
    iam.delete_account_alias(AccountAlias="perimeter-test")
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_restart_keeps_everything(durable_server):
    s = durable_server
    iam = s.client("iam")
    user = unique("kept")
    key, secret = user_with_key(s, user, allow("iam:GetUser"))
    role = unique("kept-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(), Tags=[{"Key": "k", "Value": "v"}])
    policy = iam.create_policy(PolicyName=unique("kept-policy"), PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp(seed, -1), AuthenticationCode2=totp(seed, 0))
    creds = s.admin_client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="kept")["Credentials"]

    s.stop()
    s.start()
    iam = s.client("iam")
    assert iam.get_role(RoleName=role)["Role"]["Tags"] == [{"Key": "k", "Value": "v"}]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"][0]["PolicyArn"] == policy
    assert iam.list_mfa_devices(UserName=user)["MFADevices"][0]["SerialNumber"] == device["SerialNumber"]
    client = s.client("iam", access_key=key, secret=secret)
    assert client.get_user(UserName=user)["User"]["UserName"] == user
    session = s.client("sts", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert session.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/kept"

    s.stop(kill=True)
    s.start()
    assert s.client("iam").get_user(UserName=user)["User"]["UserName"] == user


def test_every_other_operation_round_trips(server, iam):
    """The rest of the surface, as boto3 parses it."""
    user, group, role, profile = unique("u"), unique("g"), unique("r"), unique("ip")
    iam.create_user(UserName=user)
    iam.tag_user(UserName=user, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.untag_user(UserName=user, TagKeys=["a"])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "b", "Value": "2"}]
    renamed = unique("u2")
    iam.update_user(UserName=user, NewUserName=renamed, NewPath="/moved/")
    assert iam.get_user(UserName=renamed)["User"]["Path"] == "/moved/"
    user = renamed

    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="gp", PolicyDocument=doc(allow("s3:ListBucket")))
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["gp"]
    assert iam.get_group_policy(GroupName=group, PolicyName="gp")["PolicyDocument"]["Statement"][0]["Action"] == "s3:ListBucket"
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"][0]["PolicyName"] == "AmazonS3ReadOnlyAccess"
    new_group = unique("g2")
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.update_group(GroupName=group, NewGroupName=new_group)
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [new_group]
    group = new_group

    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"][0]["PolicyName"] == "ReadOnlyAccess"
    entities = iam.list_entities_for_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    with pytest.raises(ClientError) as e:
        iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    assert error(e)[0] == "NoSuchEntity"
    iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    assert iam.update_role_description(RoleName=role, Description="d")["Role"]["Description"] == "d"
    boundary = iam.create_policy(PolicyName=unique("b"), PolicyDocument=doc(allow("s3:*")), Tags=[{"Key": "t", "Value": "v"}])["Policy"]["Arn"]
    iam.tag_policy(PolicyArn=boundary, Tags=[{"Key": "u", "Value": "w"}])
    iam.untag_policy(PolicyArn=boundary, TagKeys=["t"])
    assert iam.list_policy_tags(PolicyArn=boundary)["Tags"] == [{"Key": "u", "Value": "w"}]
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=boundary)
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    iam.delete_role_permissions_boundary(RoleName=role)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=role)["Role"]
    iam.delete_policy(PolicyArn=boundary)

    iam.create_instance_profile(InstanceProfileName=profile, Path="/ml/", Tags=[{"Key": "x", "Value": "y"}])
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert got["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/ml/{profile}"
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert any(p["InstanceProfileName"] == profile for p in iam.list_instance_profiles(PathPrefix="/ml/")["InstanceProfiles"])
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=[{"Key": "z", "Value": "1"}])
    iam.untag_instance_profile(InstanceProfileName=profile, TagKeys=["x"])
    assert iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"] == [{"Key": "z", "Value": "1"}]
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=role)
    assert error(e) == ("NoSuchEntity", f"The role with name {role} cannot be found.", 404)

    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] >= 1 and summary["AccessKeysPerUserQuota"] == 2
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[doc(allow(
        "s3:GetObject", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}, "Bool": {"aws:SecureTransport": "true"}}))])
    assert keys["ContextKeyNames"] == ["aws:SourceVpce", "aws:SecureTransport"]
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    assert server.client("sts").get_access_key_info(AccessKeyId=key)["Account"] == ACCOUNT
    iam.delete_access_key(UserName=user, AccessKeyId=key)
    iam.delete_group_policy(GroupName=group, PolicyName="gp")
    iam.detach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)
