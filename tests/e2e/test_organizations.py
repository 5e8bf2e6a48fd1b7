"""AWS Organizations with unchanged boto3: accounts, OUs, service control policies and resource
control policies enforced on every request of member accounts; the management account exempt."""
import json
import os
import subprocess
import tempfile

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, BIN, REGION, Server

FULL_SCP = "p-FullAWSAccess"


def code(err):
    return err.value.response["Error"]["Code"]


def message(err):
    return err.value.response["Error"]["Message"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def org():
    """A durable server with an organization: management account, OU tree Research/ML, one
    member account under ML, SCPs enabled, and an admin user in the management account."""
    data = tempfile.mkdtemp(prefix="perimeter-orgs-")
    server = Server(data_dir=data).start()
    orgs = server.client("organizations")
    o = orgs.create_organization(FeatureSet="ALL")["Organization"]
    root = orgs.list_roots()["Roots"][0]
    research = orgs.create_organizational_unit(ParentId=root["Id"], Name="Research")["OrganizationalUnit"]
    ml = orgs.create_organizational_unit(ParentId=research["Id"], Name="ML")["OrganizationalUnit"]
    status = orgs.create_account(Email="ml@example.com", AccountName="ml-prod")["CreateAccountStatus"]
    member = status["AccountId"]
    orgs.move_account(AccountId=member, SourceParentId=root["Id"], DestinationParentId=ml["Id"])
    orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    iam = server.client("iam")
    iam.create_user(UserName="admin")
    iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    k = iam.create_access_key(UserName="admin")["AccessKey"]
    ctx = {
        "server": server, "org": o, "root": root, "research": research, "ml": ml, "member": member,
        "status": status, "admin": (k["AccessKeyId"], k["SecretAccessKey"]),
    }
    yield ctx
    server.stop()


def account_credentials(server, account):
    p = subprocess.run([BIN, "account", "credentials", account, "--data-dir", server.data_dir],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    env = dict(line.removeprefix("export ").split("=", 1) for line in p.stdout.splitlines())
    return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]


def member_role_session(ctx, account=None):
    """Credentials of OrganizationAccountAccessRole in the member account, assumed by the
    management account's admin user (a cross-account request: both sides must allow)."""
    account = account or ctx["member"]
    key, secret = ctx["admin"]
    sts = ctx["server"].client("sts", access_key=key, secret=secret)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                        RoleSessionName="ops")["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def member_client(ctx, service, account=None):
    k, s, t = member_role_session(ctx, account)
    return ctx["server"].client(service, access_key=k, secret=s, token=t)


def test_organization_accounts_and_ous(org):
    server = org["server"]
    orgs = server.client("organizations")
    desc = orgs.describe_organization()["Organization"]
    assert desc["MasterAccountId"] == ACCOUNT and desc["FeatureSet"] == "ALL"
    assert desc["Arn"] == f"arn:aws:organizations::{ACCOUNT}:organization/{desc['Id']}"
    with pytest.raises(ClientError) as e:
        orgs.create_organization(FeatureSet="ALL")
    assert code(e) == "AlreadyInOrganizationException"
    status = orgs.describe_create_account_status(CreateAccountRequestId=org["status"]["Id"])["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED" and status["AccountId"] == org["member"]
    acct = orgs.describe_account(AccountId=org["member"])["Account"]
    assert acct["Name"] == "ml-prod" and acct["JoinedMethod"] == "CREATED" and acct["Status"] == "ACTIVE"
    ids = {a["Id"] for a in orgs.list_accounts()["Accounts"]}
    assert ids == {ACCOUNT, org["member"]}
    parents = orgs.list_parents(ChildId=org["member"])["Parents"]
    assert parents == [{"Id": org["ml"]["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    children = orgs.list_children(ParentId=org["research"]["Id"], ChildType="ORGANIZATIONAL_UNIT")["Children"]
    assert children == [{"Id": org["ml"]["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    in_ml = orgs.list_accounts_for_parent(ParentId=org["ml"]["Id"])["Accounts"]
    assert [a["Id"] for a in in_ml] == [org["member"]]
    with pytest.raises(ClientError) as e:
        orgs.create_organizational_unit(ParentId=org["research"]["Id"], Name="ML")
    assert code(e) == "DuplicateOrganizationalUnitException"
    with pytest.raises(ClientError) as e:
        orgs.delete_organizational_unit(OrganizationalUnitId=org["ml"]["Id"])
    assert code(e) == "OrganizationalUnitNotEmptyException"
    with pytest.raises(ClientError) as e:
        orgs.move_account(AccountId=org["member"], SourceParentId=org["ml"]["Id"], DestinationParentId=org["ml"]["Id"])
    assert code(e) == "DuplicateAccountException"
    with pytest.raises(ClientError) as e:
        orgs.describe_account(AccountId="123456789012")
    assert code(e) == "AccountNotFoundException"
    # Every target got FullAWSAccess when SCPs were enabled.
    attached = orgs.list_policies_for_target(TargetId=org["member"], Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Id"] for p in attached] == [FULL_SCP] and attached[0]["AwsManaged"] is True
    # aws-cli, unchanged.
    _, out, _ = server.cli("organizations", "describe-organization")
    assert out["Organization"]["Id"] == desc["Id"]
    _, out, _ = server.cli("organizations", "list-accounts-for-parent", "--parent-id", org["ml"]["Id"])
    assert [a["Id"] for a in out["Accounts"]] == [org["member"]]
    _, out, _ = server.cli("organizations", "list-policies", "--filter", "SERVICE_CONTROL_POLICY")
    assert "FullAWSAccess" in [p["Name"] for p in out["Policies"]]


def test_member_root_credentials_and_access_role(org):
    server = org["server"]
    key, secret = account_credentials(server, org["member"])
    ident = server.client("sts", access_key=key, secret=secret).get_caller_identity()
    assert ident["Account"] == org["member"] and ident["Arn"] == f"arn:aws:iam::{org['member']}:root"
    # Members may describe their organization but not manage it.
    member_orgs = server.client("organizations", access_key=key, secret=secret)
    assert member_orgs.describe_organization()["Organization"]["Id"] == org["org"]["Id"]
    with pytest.raises(ClientError) as e:
        member_orgs.list_accounts()
    assert code(e) == "AccessDeniedException"
    # The management account reaches the member through OrganizationAccountAccessRole.
    ident = member_client(org, "sts").get_caller_identity()
    assert ident["Account"] == org["member"]
    assert ident["Arn"].startswith(f"arn:aws:sts::{org['member']}:assumed-role/OrganizationAccountAccessRole/")
    # An account outside any organization gets AWSOrganizationsNotInUseException.
    outsider = server.client("organizations", access_key=key, secret=secret)
    assert outsider.describe_organization()  # the member is inside


def test_scp_explicit_deny_reaches_member_not_management(org):
    server = org["server"]
    orgs = server.client("organizations")
    pol = orgs.create_policy(
        Name="DenyParameterWrites", Description="no ssm writes", Type="SERVICE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Action": "ssm:PutParameter", "Resource": "*"}),
    )["Policy"]["PolicySummary"]
    assert pol["Arn"].startswith(f"arn:aws:organizations::{ACCOUNT}:policy/{org['org']['Id']}/service_control_policy/p-")
    member_ssm = member_client(org, "ssm")
    member_ssm.put_parameter(Name="/before", Value="ok", Type="String")
    orgs.attach_policy(PolicyId=pol["Id"], TargetId=org["research"]["Id"])
    with pytest.raises(ClientError) as e:
        orgs.attach_policy(PolicyId=pol["Id"], TargetId=org["research"]["Id"])
    assert code(e) == "DuplicatePolicyAttachmentException"
    with pytest.raises(ClientError) as e:
        member_ssm.put_parameter(Name="/after", Value="no", Type="String")
    assert code(e) == "AccessDeniedException"
    assert "ssm:PutParameter" in message(e)
    assert message(e).endswith("with an explicit deny in a service control policy")
    # Other actions are still allowed by FullAWSAccess at every level.
    assert member_ssm.get_parameter(Name="/before")["Parameter"]["Value"] == "ok"
    # The member's own root user is bound too.
    key, secret = account_credentials(server, org["member"])
    with pytest.raises(ClientError) as e:
        server.client("ssm", access_key=key, secret=secret).put_parameter(Name="/root", Value="x", Type="String")
    assert "service control policy" in message(e)
    # The management account is exempt, even with the SCP on the root.
    orgs.attach_policy(PolicyId=pol["Id"], TargetId=org["root"]["Id"])
    admin_ssm = server.client("ssm", access_key=org["admin"][0], secret=org["admin"][1])
    admin_ssm.put_parameter(Name="/mgmt", Value="fine", Type="String")
    server.client("ssm").put_parameter(Name="/mgmt-root", Value="fine", Type="String")
    targets = {t["TargetId"] for t in orgs.list_targets_for_policy(PolicyId=pol["Id"])["Targets"]}
    assert targets == {org["root"]["Id"], org["research"]["Id"]}
    with pytest.raises(ClientError) as e:
        orgs.delete_policy(PolicyId=pol["Id"])
    assert code(e) == "PolicyInUseException"
    orgs.detach_policy(PolicyId=pol["Id"], TargetId=org["root"]["Id"])
    orgs.detach_policy(PolicyId=pol["Id"], TargetId=org["research"]["Id"])
    member_ssm.put_parameter(Name="/after", Value="yes", Type="String")
    orgs.delete_policy(PolicyId=pol["Id"])


def test_scp_level_without_full_access_denies_implicitly(org):
    server = org["server"]
    orgs = server.client("organizations")
    allow_ssm = orgs.create_policy(
        Name="OnlySsm", Description="allow list", Type="SERVICE_CONTROL_POLICY",
        Content=doc({"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}),
    )["Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=allow_ssm["Id"], TargetId=org["ml"]["Id"])
    orgs.detach_policy(PolicyId=FULL_SCP, TargetId=org["ml"]["Id"])
    member_kms = member_client(org, "kms")
    member_ssm = member_client(org, "ssm")
    try:
        member_ssm.describe_parameters()
        with pytest.raises(ClientError) as e:
            member_kms.list_keys()
        assert code(e) == "AccessDeniedException"
        assert "kms:ListKeys" in message(e) and "because no service control policy allows" in message(e)
        # The last SCP of a target cannot be detached.
        with pytest.raises(ClientError) as e:
            orgs.detach_policy(PolicyId=allow_ssm["Id"], TargetId=org["ml"]["Id"])
        assert code(e) == "ConstraintViolationException"
    finally:
        orgs.attach_policy(PolicyId=FULL_SCP, TargetId=org["ml"]["Id"])
        orgs.detach_policy(PolicyId=allow_ssm["Id"], TargetId=org["ml"]["Id"])
    member_kms.list_keys()


def test_policy_validation_and_types(org):
    orgs = org["server"].client("organizations")
    with pytest.raises(ClientError) as e:
        orgs.create_policy(Name="bad", Description="", Type="SERVICE_CONTROL_POLICY", Content="{not json")
    assert code(e) == "MalformedPolicyDocumentException"
    assert "line 1" in message(e)
    big = doc(*[{"Effect": "Deny", "Action": f"s3:GetObject{i}", "Resource": "*"} for i in range(120)])
    assert len(big) > 5120
    with pytest.raises(ClientError) as e:
        orgs.create_policy(Name="big", Description="", Type="SERVICE_CONTROL_POLICY", Content=big)
    assert code(e) == "ConstraintViolationException"
    rcp = orgs.create_policy(
        Name="rcp-before-enable", Description="", Type="RESOURCE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
    )["Policy"]["PolicySummary"]
    with pytest.raises(ClientError) as e:
        orgs.attach_policy(PolicyId=rcp["Id"], TargetId=org["root"]["Id"])
    assert code(e) == "PolicyTypeNotEnabledException"
    orgs.delete_policy(PolicyId=rcp["Id"])
    with pytest.raises(ClientError) as e:
        orgs.enable_policy_type(RootId=org["root"]["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    assert code(e) == "PolicyTypeAlreadyEnabledException"
    full = orgs.describe_policy(PolicyId=FULL_SCP)["Policy"]
    assert full["PolicySummary"]["Arn"] == "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
    assert json.loads(full["Content"])["Statement"][0]["Action"] == "*"


def test_rcp_denies_outside_principals(org):
    server = org["server"]
    orgs = server.client("organizations")
    outside = orgs.create_account(Email="partner@example.com", AccountName="partner")["CreateAccountStatus"]["AccountId"]
    out_key, out_secret = account_credentials(server, outside)
    orgs.remove_account_from_organization(AccountId=outside)
    assert outside not in {a["Id"] for a in orgs.list_accounts()["Accounts"]}
    # The member's key lets the outside account use it.
    member_kms = member_client(org, "kms")
    key_arn = member_kms.create_key(Policy=doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{org['member']}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{outside}:root"},
         "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"},
    ))["KeyMetadata"]["Arn"]
    partner_kms = server.client("kms", access_key=out_key, secret=out_secret)
    partner_kms.encrypt(KeyId=key_arn, Plaintext=b"allowed before the RCP")
    root_id = org["root"]["Id"]
    enabled = orgs.enable_policy_type(RootId=root_id, PolicyType="RESOURCE_CONTROL_POLICY")["Root"]
    assert {t["Type"] for t in enabled["PolicyTypes"]} == {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}
    rcps = orgs.list_policies(Filter="RESOURCE_CONTROL_POLICY")["Policies"]
    assert [p["Name"] for p in rcps] == ["RCPFullAWSAccess"]
    rcp = orgs.create_policy(
        Name="KeysStayInTheOrg", Description="", Type="RESOURCE_CONTROL_POLICY",
        Content=doc({
            "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": org["org"]["Id"]},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }),
    )["Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=rcp["Id"], TargetId=org["ml"]["Id"])
    try:
        with pytest.raises(ClientError) as e:
            partner_kms.encrypt(KeyId=key_arn, Plaintext=b"denied now")
        assert code(e) == "AccessDeniedException"
        assert message(e).endswith("with an explicit deny in a resource control policy")
        # Principals of the organization keep access.
        member_kms.encrypt(KeyId=key_arn, Plaintext=b"still fine")
        with pytest.raises(ClientError) as e:
            orgs.detach_policy(PolicyId="p-RCPFullAWSAccess", TargetId=org["ml"]["Id"])
        assert code(e) in ("InvalidInputException", "ConstraintViolationException")
    finally:
        orgs.detach_policy(PolicyId=rcp["Id"], TargetId=org["ml"]["Id"])
    partner_kms.encrypt(KeyId=key_arn, Plaintext=b"allowed again")


def test_principal_org_paths_in_a_key_policy(org):
    """A management-account key usable by any principal whose account sits under Research."""
    server = org["server"]
    orgs = server.client("organizations")
    other = orgs.create_account(Email="ops@example.com", AccountName="ops")["CreateAccountStatus"]["AccountId"]
    research_path = f"{org['org']['Id']}/{org['root']['Id']}/{org['research']['Id']}/*"
    kms = server.client("kms")
    key_arn = kms.create_key(Policy=doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Research", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt",
         "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [research_path]}}},
    ))["KeyMetadata"]["Arn"]
    member_client(org, "kms").encrypt(KeyId=key_arn, Plaintext=b"under research")
    with pytest.raises(ClientError) as e:
        member_client(org, "kms", account=other).encrypt(KeyId=key_arn, Plaintext=b"at the root")
    assert code(e) == "AccessDeniedException"
    # Moving the account under Research grants it.
    orgs.move_account(AccountId=other, SourceParentId=org["root"]["Id"], DestinationParentId=org["research"]["Id"])
    member_client(org, "kms", account=other).encrypt(KeyId=key_arn, Plaintext=b"moved")


def test_s7_scp_with_policy_simulate(tmp_path):
    """S7's SCP: deny sagemaker:CreateTrainingJob unless the output is encrypted with one key.
    The SageMaker service comes later; the SCP is evaluated with `perimeter policy simulate`
    as the gateway would, with the SCP at the member account's level below FullAWSAccess."""
    key = f"arn:aws:kms:{REGION}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    scp = {"Version": "2012-10-17", "Statement": [{
        "Sid": "EncryptSageMakerTraining", "Effect": "Deny", "Action": "sagemaker:CreateTrainingJob",
        "Resource": ["*"], "Condition": {"ArnNotEquals": {"sagemaker:OutputKmsKey": [key]}},
    }]}
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
    base = {
        "principal": "arn:aws:sts::111122223333:assumed-role/DataScience/training",
        "action": "sagemaker:CreateTrainingJob",
        "resource": f"arn:aws:sagemaker:{REGION}:111122223333:training-job/job-1",
        "policies": {"identity": [admin], "scps": [[full], [full, scp]]},
    }
    requests = [
        dict(base, context={"sagemaker:OutputKmsKey": key}),
        dict(base, context={"sagemaker:OutputKmsKey": key.replace("1234abcd", "99999999")}),
        dict(base, context={}),
    ]
    f = tmp_path / "s7.json"
    f.write_text(json.dumps(requests))
    p = subprocess.run([BIN, "policy", "simulate", "--request", str(f), "--format", "json"],
                       capture_output=True, text=True)
    assert p.returncode in (0, 1), p.stderr
    out = json.loads(p.stdout)
    decisions = [r["decision"] for r in out]
    assert decisions == ["Allowed", "ExplicitlyDenied", "ExplicitlyDenied"], out
    assert out[1]["blockedBy"] == ["scp"]
    assert out[1]["message"].endswith(
        "is not authorized to perform: sagemaker:CreateTrainingJob on resource: "
        f"{base['resource']} with an explicit deny in a service control policy")
    # Without the key, ArnNotEquals on a missing key matches: denied as well.
    assert "service control policy" in out[2]["message"]


def test_organization_survives_restart(org):
    server = org["server"]
    orgs = server.client("organizations")
    pol = orgs.create_policy(
        Name="DenyKeys", Description="", Type="SERVICE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*"}),
    )["Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=pol["Id"], TargetId=org["member"])
    server.stop()
    server.start()
    orgs = server.client("organizations")
    assert orgs.describe_organization()["Organization"]["Id"] == org["org"]["Id"]
    assert org["member"] in {a["Id"] for a in orgs.list_accounts()["Accounts"]}
    assert orgs.list_parents(ChildId=org["member"])["Parents"][0]["Id"] == org["ml"]["Id"]
    with pytest.raises(ClientError) as e:
        member_client(org, "kms").create_key()
    assert "service control policy" in message(e)
    orgs.detach_policy(PolicyId=pol["Id"], TargetId=org["member"])
    member_client(org, "kms").list_keys()
