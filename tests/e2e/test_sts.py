"""STS end to end with unchanged boto3 and aws-cli: AssumeRole against trust policies (external
id, session tags, transitive tags, source identity, session policies, durations), calls as the
role with AWS's AccessDenied wording, MFA sessions from GetSessionToken with real TOTP codes
(S13's STS part), federation tokens, refused tokens, and sessions that survive a restart."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT
from test_iam import allow, deny, doc, error, totp, trust, unique, user_with_key

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"


def role_arn(name):
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session_client(server, service, creds):
    return server.client(service, access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                         token=creds["SessionToken"])


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def assumer(server):
    """A user allowed to call every STS action (the trust policies decide)."""
    name = unique("assumer")
    key, secret = user_with_key(server, name, allow("sts:*"))
    return name, server.client("sts", access_key=key, secret=secret), (key, secret)


def test_get_caller_identity_for_root_users_and_roles(server, iam, assumer):
    who = server.client("sts").get_caller_identity()
    assert (who["Account"], who["Arn"], who["UserId"]) == (ACCOUNT, ROOT_ARN, ACCOUNT)
    name, sts, _ = assumer
    who = sts.get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert who["UserId"].startswith("AIDA")
    role = unique("whoami")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    creds = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="me")["Credentials"]
    who = session_client(server, "sts", creds).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/me"
    assert who["UserId"].endswith(":me") and who["UserId"].startswith("AROA")
    code, out, _ = server.cli("sts", "get-caller-identity", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                              token=creds["SessionToken"])
    assert out["Arn"] == who["Arn"]


def test_assume_role_requires_the_external_id(server, iam, assumer):
    name, sts, _ = assumer
    role = unique("Partner")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(condition={"StringEquals": {"sts:ExternalId": "ext-42"}}))
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    for extra in ({}, {"ExternalId": "wrong-id"}):
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", **extra)
        code, message, status = error(e)
        assert (code, status) == ("AccessDenied", 403)
        assert message.startswith(f"User: {user_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn(role)}")
    out = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", ExternalId="ext-42")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["SessionToken"] and creds["SecretAccessKey"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/sess"
    assert "PackedPolicySize" not in out
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(unique("missing")), RoleSessionName="sess")
    assert error(e)[0] == "AccessDenied"


def test_calls_as_the_role_are_authorized_by_its_policies(server, iam, assumer):
    _, sts, _ = assumer
    role = unique("Reader")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    creds = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="work")["Credentials"]
    as_role = session_client(server, "iam", creds)
    assert as_role.get_role(RoleName=role)["Role"]["RoleName"] == role
    target = unique("x")
    with pytest.raises(ClientError) as e:
        as_role.create_user(UserName=target)
    assert error(e) == (
        "AccessDenied",
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/work is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/{target} because no identity-based policy allows the iam:CreateUser action",
        403,
    )
    code, _, err = server.cli("iam", "create-user", "--user-name", target, access_key=creds["AccessKeyId"],
                              secret=creds["SecretAccessKey"], token=creds["SessionToken"], check=False)
    assert code != 0 and "AccessDenied" in err and "iam:CreateUser" in err

    # A change to the role's policies applies to sessions already issued.
    iam.put_role_policy(RoleName=role, PolicyName="deny", PolicyDocument=doc(deny("iam:GetRole")))
    with pytest.raises(ClientError) as e:
        as_role.get_role(RoleName=role)
    assert error(e)[1].endswith("with an explicit deny in an identity-based policy")


def test_session_policies_narrow_the_session(server, iam, assumer):
    _, sts, _ = assumer
    role = unique("Narrowed")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    out = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="narrow", Policy=doc(allow("iam:GetRole")))
    assert 0 < out["PackedPolicySize"] <= 100
    as_role = session_client(server, "iam", out["Credentials"])
    as_role.get_role(RoleName=role)
    with pytest.raises(ClientError) as e:
        as_role.list_roles()
    assert error(e)[1].endswith("because no session policy allows the iam:ListRoles action")

    out = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="arns",
                          PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}])
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", out["Credentials"]).get_role(RoleName=role)
    assert "session policy" in error(e)[1]

    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="bad", Policy='{"Version": "2012-10-17", "Statement": [}')
    assert error(e)[0] == "MalformedPolicyDocument"
    big = doc(*[allow(f"s3:GetObject{i:04d}", f"arn:aws:s3:::bucket-{i:04d}/*") for i in range(40)])
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="big", Policy=big)
    assert error(e)[0] in ("PackedPolicyTooLarge", "ValidationError")


def test_session_tags_need_tag_session_and_become_principal_tags(server, iam, assumer):
    _, sts, _ = assumer
    plain = unique("NoTags")
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=trust())
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(plain), RoleSessionName="tagged", Tags=[{"Key": "project", "Value": "p1"}])
    assert error(e)[0] == "AccessDenied" and "sts:TagSession" in error(e)[1]

    tagged = unique("Tagged")
    iam.create_role(RoleName=tagged, AssumeRolePolicyDocument=trust(
        actions=("sts:AssumeRole", "sts:TagSession"),
        condition={"StringEquals": {"aws:RequestTag/project": "p1"}},
    ))
    iam.put_role_policy(RoleName=tagged, PolicyName="by-tag", PolicyDocument=doc(
        allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalTag/project": "p1"}}),
    ))
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(tagged), RoleSessionName="tagged", Tags=[{"Key": "project", "Value": "p2"}])
    assert error(e)[0] == "AccessDenied"
    creds = sts.assume_role(RoleArn=role_arn(tagged), RoleSessionName="tagged", Tags=[{"Key": "project", "Value": "p1"}],
                            TransitiveTagKeys=["project"])["Credentials"]
    session_client(server, "iam", creds).list_roles()

    # Role chaining: the transitive tag travels, and cannot be overridden.
    iam.put_role_policy(RoleName=tagged, PolicyName="chain", PolicyDocument=doc(allow(["sts:AssumeRole", "sts:TagSession"])))
    chained = session_client(server, "sts", creds).assume_role(RoleArn=role_arn(tagged), RoleSessionName="chained")["Credentials"]
    session_client(server, "iam", chained).list_roles()
    with pytest.raises(ClientError) as e:
        session_client(server, "sts", creds).assume_role(RoleArn=role_arn(tagged), RoleSessionName="chained", DurationSeconds=7200)
    assert error(e)[:2] == ("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")

    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(tagged), RoleSessionName="tagged", Tags=[{"Key": "project", "Value": "p1"}],
                        TransitiveTagKeys=["other"])
    assert error(e)[0] == "InvalidParameterValue"


def test_source_identity_needs_set_source_identity(server, iam, assumer):
    _, sts, _ = assumer
    role = unique("Audited")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", SourceIdentity="alice")
    assert "sts:SetSourceIdentity" in error(e)[1]
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust(
        actions=("sts:AssumeRole", "sts:SetSourceIdentity"),
        condition={"StringLike": {"sts:SourceIdentity": "a*"}},
    ))
    out = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", SourceIdentity="alice")
    assert out["SourceIdentity"] == "alice"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", SourceIdentity="bob")
    assert error(e)[0] == "AccessDenied"


def test_duration_is_bounded_by_the_role(server, iam, assumer):
    _, sts, _ = assumer
    role = unique("Short")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(), MaxSessionDuration=3600)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", DurationSeconds=7200)
    assert error(e)[:2] == ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    iam.update_role(RoleName=role, MaxSessionDuration=43200)
    out = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", DurationSeconds=7200)
    assert out["Credentials"]["Expiration"]


def test_mfa_session_from_get_session_token(server, iam):
    """S13's STS part: only sessions made with an MFA code carry aws:MultiFactorAuthPresent."""
    name = unique("mfa")
    key, secret = user_with_key(server, name, allow(
        "iam:ListUsers", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    ), allow("iam:GetUser"))
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    serial, seed = device["SerialNumber"], device["Base32StringSeed"]
    iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=totp(seed, -1), AuthenticationCode2=totp(seed, 0))
    sts = server.client("sts", access_key=key, secret=secret)

    with pytest.raises(ClientError) as e:
        server.client("iam", access_key=key, secret=secret).list_users()
    assert error(e)[0] == "AccessDenied"

    # Without MFA, GetSessionToken credentials may not call IAM at all.
    plain = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert session_client(server, "sts", plain).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", plain).get_user(UserName=name)
    assert error(e)[:2] == ("InvalidClientTokenId", "The security token included in the request is invalid.")

    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial, TokenCode="000000" if totp(seed) != "000000" else "111111")
    assert error(e)[0] == "AccessDenied"

    _, out, _ = server.cli("sts", "get-session-token", "--serial-number", serial, "--token-code", totp(seed),
                           "--duration-seconds", "3600", access_key=key, secret=secret)
    mfa = out["Credentials"]
    session_client(server, "iam", mfa).list_users()
    assert session_client(server, "sts", mfa).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"

    with pytest.raises(ClientError) as e:
        session_client(server, "sts", mfa).get_session_token()
    assert error(e)[0] == "AccessDenied"


def test_assume_role_with_mfa(server, iam):
    name = unique("mfa-assumer")
    key, secret = user_with_key(server, name, allow("sts:AssumeRole"))
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    serial, seed = device["SerialNumber"], device["Base32StringSeed"]
    iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=totp(seed, -1), AuthenticationCode2=totp(seed, 0))
    role = unique("NeedsMfa")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    sts = server.client("sts", access_key=key, secret=secret)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess")
    assert error(e)[0] == "AccessDenied"
    creds = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess", SerialNumber=serial, TokenCode=totp(seed))["Credentials"]
    assert session_client(server, "sts", creds).get_caller_identity()["Arn"].endswith(f"assumed-role/{role}/sess")


def test_federation_token(server):
    name = unique("fed-user")
    key, secret = user_with_key(server, name, allow(["iam:Get*", "iam:List*", "sts:GetFederationToken"]))
    sts = server.client("sts", access_key=key, secret=secret)
    out = sts.get_federation_token(Name="bob", Policy=doc(allow("iam:ListUsers")), DurationSeconds=900)
    assert out["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    as_fed = session_client(server, "sts", out["Credentials"])
    assert as_fed.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    with pytest.raises(ClientError) as e:
        as_fed.get_session_token()
    assert error(e)[0] == "AccessDenied"
    with pytest.raises(ClientError) as e:
        session_client(server, "iam", out["Credentials"]).list_users()
    assert error(e)[0] == "InvalidClientTokenId"


def test_tokens_are_refused_when_wrong(server, iam, assumer):
    _, sts, (key, secret) = assumer
    role = unique("Tokens")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    creds = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="sess")["Credentials"]
    forged = dict(creds, SessionToken=creds["SessionToken"][:-4] + "AAAA")
    with pytest.raises(ClientError) as e:
        session_client(server, "sts", forged).get_caller_identity()
    assert error(e)[:2] == ("InvalidClientTokenId", "The security token included in the request is invalid.")
    with pytest.raises(ClientError) as e:
        server.client("sts", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"]).get_caller_identity()
    assert error(e)[0] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as e:
        server.client("sts", access_key="AKIA" + uuid.uuid4().hex[:16].upper(), secret="x" * 40).get_caller_identity()
    assert error(e)[0] == "InvalidClientTokenId"


def test_sessions_survive_a_restart(durable_server):
    s = durable_server
    iam = s.client("iam")
    role = unique("Durable")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    creds = s.admin_client("sts").assume_role(RoleArn=role_arn(role), RoleSessionName="before")["Credentials"]
    s.stop()
    s.start()
    assert session_client(s, "iam", creds).get_role(RoleName=role)["Role"]["RoleName"] == role
    assert session_client(s, "sts", creds).get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/before"


def test_decode_authorization_message(server):
    import base64
    message = {"allowed": False, "explicitDeny": False, "context": {"action": "ec2:RunInstances"}}
    encoded = base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")
    decoded = server.client("sts").decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"]
    assert json.loads(decoded) == message
    with pytest.raises(ClientError) as e:
        server.client("sts").decode_authorization_message(EncodedMessage="not a message")
    assert error(e)[0] == "InvalidAuthorizationMessageException"


def test_get_session_token_needs_no_permission_but_honours_a_deny(server):
    key, secret = user_with_key(server, unique("plain"), allow("s3:ListAllMyBuckets"))
    creds = server.client("sts", access_key=key, secret=secret).get_session_token()["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    key, secret = user_with_key(server, unique("denied"), deny("sts:GetSessionToken"))
    with pytest.raises(ClientError) as e:
        server.client("sts", access_key=key, secret=secret).get_session_token()
    code, message, status = error(e)
    assert (code, status) == ("AccessDenied", 403)
    assert "with an explicit deny in an identity-based policy" in message


def test_the_root_user_may_not_assume_roles(server, iam):
    role = unique("rootless")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust())
    with pytest.raises(ClientError) as e:
        server.client("sts").assume_role(RoleArn=role_arn(role), RoleSessionName="root")
    code, message, status = error(e)
    assert (code, message, status) == ("AccessDenied", "Roles may not be assumed by root accounts.", 403)
