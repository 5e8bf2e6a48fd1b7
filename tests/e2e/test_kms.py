"""KMS end to end: key policies as the root of trust (seed 000 step 1, scenario S3), grants, envelope
encryption, lifecycle, rotation and aliases, with unchanged boto3 and aws-cli."""
import base64
import json
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, Server

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo):
    return excinfo.value.response["Error"]["Message"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(server, name, identity_policy=None):
    """Creates a role the account may assume, optionally with an inline policy; returns (arn, kms client)."""
    iam = server.client("iam")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"})
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    if identity_policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(identity_policy))
    creds = server.admin_client("sts").assume_role(RoleArn=arn, RoleSessionName="session")["Credentials"]
    kms = server.client(
        "kms",
        access_key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    return arn, kms


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


KMS_STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def kms(server):
    return server.client("kms")


def test_default_key_policy_and_envelope_encryption(kms):
    meta = kms.create_key(Description="data")["KeyMetadata"]
    key = meta["KeyId"]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}"
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeyManager"] == "CUSTOMER" and meta["Origin"] == "AWS_KMS"
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert policy["Id"] == "key-default-1"
    assert policy["Statement"] == [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": ROOT_ARN},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    assert kms.list_key_policies(KeyId=key)["PolicyNames"] == ["default"]

    ctx = {"purpose": "test", "aws:s3:arn": "arn:aws:s3:::bucket/key"}
    enc = kms.encrypt(KeyId=key, Plaintext=b"attack at dawn", EncryptionContext=ctx)
    assert enc["KeyId"] == meta["Arn"] and enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = enc["CiphertextBlob"]
    dec = kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(list(ctx.items()))))
    assert dec["Plaintext"] == b"attack at dawn" and dec["KeyId"] == meta["Arn"]

    for wrong in ({}, {"purpose": "test"}, {**ctx, "extra": "1"}, {**ctx, "purpose": "Test"}):
        with pytest.raises(ClientError) as e:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)
        assert error_code(e) == "InvalidCiphertextException"
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext=ctx)
    assert error_code(e) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=b"not a ciphertext blob at all, clearly not one of ours")
    assert error_code(e) == "InvalidCiphertextException"

    other = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=other)
    assert error_code(e) == "IncorrectKeyException"

    dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"aws:s3:arn": "x"})
    assert len(dk["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"aws:s3:arn": "x"})["Plaintext"] == dk["Plaintext"]
    dk16 = kms.generate_data_key(KeyId=key, KeySpec="AES_128")
    assert len(dk16["Plaintext"]) == 16
    nk = kms.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=64)
    assert "Plaintext" not in nk
    assert len(kms.decrypt(CiphertextBlob=nk["CiphertextBlob"])["Plaintext"]) == 64

    re = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=ctx,
        DestinationKeyId=other,
        DestinationEncryptionContext={"new": "ctx"},
    )
    assert re["SourceKeyId"] == meta["Arn"] and re["KeyId"].endswith(other)
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext={"new": "ctx"})["Plaintext"] == b"attack at dawn"

    assert len(kms.generate_random(NumberOfBytes=48)["Plaintext"]) == 48

    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")
    assert error_code(e) == "NotFoundException"
    assert (
        error_message(e)
        == f"Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"
    )


def test_key_policy_without_root_statement_ignores_identity_policies(server, kms):
    """Scenario S3: a key policy listing two roles as key users; a third role with kms:* cannot use it."""
    admin_arn, admin = role(server, unique("KeyAdmin"))
    mlops_arn, mlops = role(server, unique("StudioRoleMLOps"))
    ds_arn, ds = role(server, unique("StudioRoleDataScience"))
    _, third = role(server, unique("Other"), KMS_STAR)
    policy = doc(
        {"Sid": "Key administrators", "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {
            "Sid": "Allow use of the key for Studio roles",
            "Effect": "Allow",
            "Principal": {"AWS": [mlops_arn, ds_arn]},
            "Action": USE_ACTIONS,
            "Resource": "*",
        },
    )
    # The lockout safety check: the root user would lose the right to change the policy.
    with pytest.raises(ClientError) as e:
        kms.create_key(Policy=policy)
    assert error_code(e) == "MalformedPolicyDocumentException"
    assert error_message(e) == "The new key policy will not allow you to update the key policy in the future."
    key = kms.create_key(Policy=policy, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]

    blob = mlops.encrypt(KeyId=key, Plaintext=b"features")["CiphertextBlob"]
    assert ds.decrypt(CiphertextBlob=blob)["Plaintext"] == b"features"
    assert ds.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    for call in (
        lambda: third.encrypt(KeyId=key, Plaintext=b"x"),
        lambda: third.decrypt(CiphertextBlob=blob),
        lambda: third.generate_data_key(KeyId=key, KeySpec="AES_256"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "AccessDeniedException"
        assert "is not authorized to perform: kms:" in error_message(e)
        assert key in error_message(e)
    # Identity policies do not count, not even the root user's rights.
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert error_code(e) == "AccessDeniedException"
    # Key users cannot administer the key.
    with pytest.raises(ClientError) as e:
        ds.disable_key(KeyId=key)
    assert error_code(e) == "AccessDeniedException"
    admin.disable_key(KeyId=key)
    with pytest.raises(ClientError) as e:
        mlops.encrypt(KeyId=key, Plaintext=b"x")
    assert error_code(e) == "DisabledException"
    assert error_message(e) == f"{key} is disabled."
    admin.enable_key(KeyId=key)
    # The admin may change the policy only if it keeps its own right to change it.
    with pytest.raises(ClientError) as e:
        admin.put_key_policy(KeyId=key, PolicyName="default", Policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": ds_arn}, "Action": "kms:*", "Resource": "*"}))
    assert error_code(e) == "MalformedPolicyDocumentException"


def test_root_statement_delegates_to_identity_policies(server, kms):
    """With "Enable IAM User Permissions", identity policies grant use of the key."""
    _, user = role(server, unique("WithKmsStar"), KMS_STAR)
    _, scoped = role(server, unique("EncryptOnly"), {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"}],
    })
    _, nothing = role(server, unique("NoPolicy"))
    key = kms.create_key()["KeyMetadata"]["Arn"]
    blob = user.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    scoped.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(ClientError) as e:
        scoped.decrypt(CiphertextBlob=blob)
    assert error_code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        nothing.encrypt(KeyId=key, Plaintext=b"x")
    assert error_code(e) == "AccessDeniedException"


def test_encryption_context_and_tag_conditions(server, kms):
    _, user = role(server, unique("Conditions"), {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:EncryptionContext:project": "alpha", "aws:ResourceTag/team": "ds"},
                },
            }
        ],
    })
    tagged = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "ds"}])["KeyMetadata"]["KeyId"]
    untagged = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.list_resource_tags(KeyId=tagged)["Tags"] == [{"TagKey": "team", "TagValue": "ds"}]
    user.encrypt(KeyId=tagged, Plaintext=b"x", EncryptionContext={"project": "alpha"})
    for key, ctx in ((tagged, {"project": "beta"}), (tagged, {}), (untagged, {"project": "alpha"})):
        with pytest.raises(ClientError) as e:
            user.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=ctx)
        assert error_code(e) == "AccessDeniedException"
    kms.untag_resource(KeyId=tagged, TagKeys=["team"])
    with pytest.raises(ClientError) as e:
        user.encrypt(KeyId=tagged, Plaintext=b"x", EncryptionContext={"project": "alpha"})
    assert error_code(e) == "AccessDeniedException"


def test_create_grant_only_for_aws_resources(server, kms):
    """Seed 000 step 1, part 3: kms:CreateGrant only when kms:GrantIsForAWSResource is true."""
    admin_arn, admin = role(server, unique("GrantAdmin"))
    user_arn, user = role(server, unique("StudioRoleDataScience"))
    policy = doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": USE_ACTIONS, "Resource": "*"},
        {
            "Sid": "Allow use of the key with AWS services",
            "Effect": "Allow",
            "Principal": {"AWS": user_arn},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    )
    key = kms.create_key(Policy=policy, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as e:
        user.create_grant(KeyId=key, GranteePrincipal=user_arn, Operations=["Decrypt"])
    assert error_code(e) == "AccessDeniedException"
    assert "kms:CreateGrant" in error_message(e)
    with pytest.raises(ClientError) as e:
        user.list_grants(KeyId=key)
    assert error_code(e) == "AccessDeniedException"
    # The administrator may create grants directly.
    grant = admin.create_grant(KeyId=key, GranteePrincipal=user_arn, Operations=["Decrypt"])
    assert len(grant["GrantId"]) == 64 and grant["GrantToken"]


def test_grants(server, kms):
    admin_arn, admin = role(server, unique("Admin"))
    grantee_arn, grantee = role(server, unique("Grantee"))
    retirer_arn, retirer = role(server, unique("Retirer"))
    key = kms.create_key(
        Policy=doc({"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"}),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as e:
        grantee.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"Dept": "IT"})
    assert error_code(e) == "AccessDeniedException"
    g = admin.create_grant(
        KeyId=key,
        GranteePrincipal=grantee_arn,
        RetiringPrincipal=retirer_arn,
        Operations=["Encrypt", "Decrypt", "DescribeKey", "CreateGrant"],
        Constraints={"EncryptionContextSubset": {"Dept": "IT"}},
        Name="it-only",
    )
    # Effective at once, within its constraints.
    blob = grantee.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"Dept": "IT", "x": "y"})["CiphertextBlob"]
    assert grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"Dept": "IT", "x": "y"}, GrantTokens=[g["GrantToken"]])["Plaintext"] == b"x"
    grantee.describe_key(KeyId=key)
    for ctx in ({}, {"Dept": "HR"}):
        with pytest.raises(ClientError) as e:
            grantee.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=ctx)
        assert error_code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        grantee.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"Dept": "IT"})
    assert error_code(e) == "AccessDeniedException"
    # A grantee with CreateGrant may pass on no more than it holds.
    grantee.create_grant(KeyId=key, GranteePrincipal=retirer_arn, Operations=["Decrypt"],
                         Constraints={"EncryptionContextSubset": {"Dept": "IT"}})
    with pytest.raises(ClientError) as e:
        grantee.create_grant(KeyId=key, GranteePrincipal=retirer_arn, Operations=["GenerateDataKey"],
                             Constraints={"EncryptionContextSubset": {"Dept": "IT"}})
    assert error_code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        grantee.create_grant(KeyId=key, GranteePrincipal=retirer_arn, Operations=["Decrypt"])
    assert error_code(e) == "AccessDeniedException"
    # Same name and parameters: the same grant.
    again = admin.create_grant(
        KeyId=key,
        GranteePrincipal=grantee_arn,
        RetiringPrincipal=retirer_arn,
        Operations=["Encrypt", "Decrypt", "DescribeKey", "CreateGrant"],
        Constraints={"EncryptionContextSubset": {"Dept": "IT"}},
        Name="it-only",
    )
    assert again["GrantId"] == g["GrantId"] and again["GrantToken"] != g["GrantToken"]

    grants = admin.list_grants(KeyId=key)["Grants"]
    assert len(grants) == 2
    mine = [x for x in grants if x["GrantId"] == g["GrantId"]][0]
    assert mine["GranteePrincipal"] == grantee_arn and mine["RetiringPrincipal"] == retirer_arn
    assert mine["Constraints"] == {"EncryptionContextSubset": {"Dept": "IT"}}
    assert mine["IssuingAccount"] == ROOT_ARN and mine["Name"] == "it-only"
    assert set(mine["Operations"]) == {"Encrypt", "Decrypt", "DescribeKey", "CreateGrant"}
    page = admin.list_grants(KeyId=key, Limit=1)
    assert page["Truncated"] and len(page["Grants"]) == 1
    rest = admin.list_grants(KeyId=key, Limit=1, Marker=page["NextMarker"])
    assert not rest["Truncated"] and rest["Grants"][0]["GrantId"] != page["Grants"][0]["GrantId"]
    retirable = kms.list_retirable_grants(RetiringPrincipal=retirer_arn)["Grants"]
    assert [x["GrantId"] for x in retirable] == [g["GrantId"]]

    # Only the grant decides who may retire it.
    with pytest.raises(ClientError) as e:
        grantee.retire_grant(GrantToken=g["GrantToken"])
    assert error_code(e) == "AccessDeniedException"
    retirer.retire_grant(GrantToken=g["GrantToken"])
    with pytest.raises(ClientError) as e:
        grantee.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"Dept": "IT"})
    assert error_code(e) == "AccessDeniedException"
    left = admin.list_grants(KeyId=key)["Grants"]
    assert len(left) == 1
    admin.revoke_grant(KeyId=key, GrantId=left[0]["GrantId"])
    assert admin.list_grants(KeyId=key)["Grants"] == []
    with pytest.raises(ClientError) as e:
        admin.revoke_grant(KeyId=key, GrantId=left[0]["GrantId"])
    assert error_code(e) == "InvalidGrantIdException"


def test_lifecycle(kms):
    meta = kms.create_key()["KeyMetadata"]
    key, arn = meta["KeyId"], meta["Arn"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(e) == "DisabledException"
    kms.enable_key(KeyId=key)
    for days in (6, 31):
        with pytest.raises(ClientError) as e:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert error_code(e) == "ValidationException"
    out = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7 and out["KeyId"] == arn
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and meta["Enabled"] is False and "DeletionDate" in meta
    for call in (lambda: kms.encrypt(KeyId=key, Plaintext=b"x"), lambda: kms.decrypt(CiphertextBlob=blob),
                 lambda: kms.enable_key(KeyId=key), lambda: kms.schedule_key_deletion(KeyId=key)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "KMSInvalidStateException"
        assert error_message(e) == f"{arn} is pending deletion."
    assert kms.cancel_key_deletion(KeyId=key)["KeyId"] == arn
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as e:
        kms.cancel_key_deletion(KeyId=key)
    assert error_code(e) == "KMSInvalidStateException"
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    kms.update_key_description(KeyId=key, Description="renamed")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "renamed"


def test_rotation_keeps_old_ciphertexts(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert "NextRotationDate" in status
    first = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
    assert kms.rotate_key_on_demand(KeyId=key)["KeyId"] == key
    second = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert first != second
    new = kms.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND"
    assert rotations[0]["KeyMaterialState"] == "CURRENT"
    assert "OnDemandRotationStartDate" in kms.get_key_rotation_status(KeyId=key)
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_aliases_and_pagination(kms):
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
    name = f"alias/{unique('data')}"
    kms.create_alias(AliasName=name, TargetKeyId=keys[0])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == keys[0]
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:{name}"
    assert kms.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyId"] == keys[0]
    blob = kms.encrypt(KeyId=name, Plaintext=b"via alias")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=name)["Plaintext"] == b"via alias"
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName=name, TargetKeyId=keys[1])
    assert error_code(e) == "AlreadyExistsException"
    assert error_message(e) == f"An alias with the name {alias_arn} already exists"
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName="no-prefix", TargetKeyId=keys[1])
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=keys[1])
    assert error_code(e) == "NotAuthorizedException"
    with pytest.raises(ClientError) as e:
        kms.enable_key(KeyId=name)
    assert error_code(e) == "NotFoundException"
    mine = kms.list_aliases(KeyId=keys[0])["Aliases"]
    assert [a["AliasName"] for a in mine] == [name]
    assert mine[0]["AliasArn"] == alias_arn and mine[0]["TargetKeyId"] == keys[0]
    kms.update_alias(AliasName=name, TargetKeyId=keys[1])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == keys[1]
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, KeyId=name)
    assert error_code(e) == "IncorrectKeyException"
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=name)
    assert error_code(e) == "NotFoundException"
    assert error_message(e) == f"Alias {alias_arn} is not found."

    seen, marker = [], None
    while True:
        page = kms.list_keys(Limit=2, **({"Marker": marker} if marker else {}))
        assert len(page["Keys"]) <= 2
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert set(keys) <= set(seen) and len(seen) == len(set(seen))
    paginator = kms.get_paginator("list_keys")
    assert {k["KeyId"] for p in paginator.paginate(PaginationConfig={"PageSize": 1}) for k in p["Keys"]} == set(seen)


def test_aws_managed_key_is_usable_only_through_its_service(kms):
    meta = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert "alias/aws/s3" in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    policy = kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]
    assert f"s3.{REGION}.amazonaws.com" in policy
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"x")
    assert error_code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        kms.schedule_key_deletion(KeyId=meta["KeyId"])
    assert error_code(e) == "AccessDeniedException"


def test_aws_cli(server, tmp_path):
    rc, out, _ = server.cli("kms", "create-key", "--description", "cli key")
    key = out["KeyMetadata"]["KeyId"]
    name = f"alias/{unique('cli')}"
    server.cli("kms", "create-alias", "--alias-name", name, "--target-key-id", key)
    plain = tmp_path / "plain"
    plain.write_bytes(b"hello cli")
    rc, out, _ = server.cli("kms", "encrypt", "--key-id", name, "--plaintext", f"fileb://{plain}",
                            "--encryption-context", "stage=test")
    blob = tmp_path / "blob"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    rc, out, _ = server.cli("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", "--encryption-context", "stage=test")
    assert base64.b64decode(out["Plaintext"]) == b"hello cli"
    rc, out, err = server.cli("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", check=False)
    assert rc != 0 and "InvalidCiphertextException" in err
    rc, out, _ = server.cli("kms", "list-aliases", "--key-id", key)
    assert [a["AliasName"] for a in out["Aliases"]] == [name]
    rc, out, _ = server.cli("kms", "generate-data-key", "--key-id", key, "--key-spec", "AES_256")
    assert len(base64.b64decode(out["Plaintext"])) == 32
    server.cli("kms", "tag-resource", "--key-id", key, "--tags", "TagKey=env,TagValue=dev")
    rc, out, _ = server.cli("kms", "list-resource-tags", "--key-id", key)
    assert out["Tags"] == [{"TagKey": "env", "TagValue": "dev"}]
    rc, out, _ = server.cli("kms", "list-keys")
    assert key in [k["KeyId"] for k in out["Keys"]]
    rc, out, err = server.cli("kms", "describe-key", "--key-id", "alias/does-not-exist", check=False)
    assert rc != 0 and "NotFoundException" in err


def test_keys_survive_restart_and_never_reach_disk_in_plaintext(tmp_path):
    data = str(tmp_path / "data")
    s = Server(data_dir=data).start()
    try:
        kms = s.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        marker = b"PERIMETER-KMS-PLAINTEXT-MARKER-" + uuid.uuid4().hex.encode()
        blob = kms.encrypt(KeyId=key, Plaintext=marker, EncryptionContext={"k": "v"})["CiphertextBlob"]
        dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
        kms.rotate_key_on_demand(KeyId=key)
        blob2 = kms.encrypt(KeyId=key, Plaintext=b"after rotation")["CiphertextBlob"]
    finally:
        s.stop()
    for root, _, files in os.walk(data):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                content = fh.read()
            assert marker not in content, f"plaintext found in {f}"
            assert dk["Plaintext"] not in content, f"data key found in {f}"
            assert base64.b64encode(dk["Plaintext"]) not in content, f"data key found in {f}"
    s = Server(data_dir=data).start()
    try:
        kms = s.client("kms")
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})["Plaintext"] == marker
        assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
        assert kms.decrypt(CiphertextBlob=blob2)["Plaintext"] == b"after rotation"
        assert len(kms.list_key_rotations(KeyId=key)["Rotations"]) == 1
    finally:
        s.stop()
