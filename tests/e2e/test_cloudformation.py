"""CloudFormation end to end: the reference templates deployed with aws-cli and boto3, stack
resources made as the caller (with aws:CalledVia), rollback, deletion, change sets, exports,
and `perimeter up`.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, BIN, REGION, ROOT_KEY, ROOT_SECRET, Server, free_port

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "templates")
REFERENCE = [
    ("iam", "iam-roles.yaml"),
    ("network", "network-vpc.yaml"),
    ("kms", "kms-keys.yaml"),
    ("data", "data-buckets.yaml"),
    ("studio", "sagemaker-domain.yaml"),
]


def template(name):
    with open(os.path.join(TEMPLATES, name)) as f:
        return f.read()


def wait(cfn, name, timeout=120):
    deadline = time.time() + timeout
    while True:
        s = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not s["StackStatus"].endswith("_IN_PROGRESS") or time.time() > deadline:
            return s
        time.sleep(0.1)


def outputs(stack):
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def failures(cfn, name):
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
        for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
        if e["ResourceStatus"].endswith("_FAILED")
    ]


def code(err):
    return err.value.response["Error"]["Code"]


def create(cfn, name, body, **kw):
    cfn.create_stack(StackName=name, TemplateBody=body, **kw)
    return wait(cfn, name)


# ------------------------------------------------------------------ the reference environment


def test_reference_templates_pass_cfn_lint():
    """The templates deploy unchanged to AWS: cfn-lint (tests/requirements.txt) finds nothing."""
    files = sorted(os.path.join(TEMPLATES, f) for f in os.listdir(TEMPLATES) if f.endswith(".yaml"))
    assert [os.path.basename(f) for f in files] == sorted(f for _, f in REFERENCE)
    lint = shutil.which("cfn-lint") or os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    p = subprocess.run([lint, *files], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="module")
def env():
    """A server with the five reference stacks: the first with `aws cloudformation deploy`
    (the waiter polls every 30 s), the others with boto3."""
    s = Server().start()
    cfn = s.client("cloudformation")
    rc, _, err = s.cli(
        "cloudformation", "deploy",
        "--template-file", os.path.join(TEMPLATES, "iam-roles.yaml"),
        "--stack-name", "perimeter-iam",
        "--capabilities", "CAPABILITY_IAM",
        check=False,
    )
    assert rc == 0, err
    for suffix, file in REFERENCE[1:]:
        params = []
        if suffix == "network":
            params = [{"ParameterKey": "EndpointClientCIDR", "ParameterValue": "127.0.0.1/32"}]
        st = create(cfn, f"perimeter-{suffix}", template(file), Parameters=params,
                    Capabilities=["CAPABILITY_IAM"])
        assert st["StackStatus"] == "CREATE_COMPLETE", failures(cfn, f"perimeter-{suffix}")
    stacks = {suffix: cfn.describe_stacks(StackName=f"perimeter-{suffix}")["Stacks"][0]
              for suffix, _ in REFERENCE}
    yield s, stacks
    s.stop()


def test_reference_outputs(env):
    s, stacks = env
    iam = s.client("iam")
    roles = outputs(stacks["iam"])
    for key in ("StudioRoleDefaultArn", "StudioRoleDataScienceArn", "StudioRoleMLOpsArn", "VPCFlowLogsRoleArn"):
        name = roles[key].split("/")[-1]
        assert name.startswith("perimeter-iam-" + key[: -len("Arn")])
        role = iam.get_role(RoleName=name)["Role"]
        assert role["Arn"] == roles[key]
    attached = iam.list_attached_role_policies(RoleName=roles["StudioRoleDataScienceArn"].split("/")[-1])
    names = sorted(p["PolicyName"] for p in attached["AttachedPolicies"])
    assert any("Guardrails" in n for n in names) and any("DeniedServices" in n for n in names)

    net = outputs(stacks["network"])
    ec2 = s.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[net["VpcId"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "192.168.0.0/16"
    assert ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [net["VpcId"]]}])["InternetGateways"] == []
    subnets = net["PrivateSubnetIds"].split(",")
    assert len(subnets) == 2
    eps = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [net["VpcId"]]}])["VpcEndpoints"]
    services = sorted(e["ServiceName"] for e in eps)
    assert services == sorted([
        f"com.amazonaws.{REGION}.s3", f"com.amazonaws.{REGION}.kms", f"com.amazonaws.{REGION}.sts",
        f"com.amazonaws.{REGION}.ssm", f"com.amazonaws.{REGION}.logs",
        f"com.amazonaws.{REGION}.sagemaker.api", f"com.amazonaws.{REGION}.sagemaker.runtime",
        f"aws.sagemaker.{REGION}.studio",
    ])
    kms_entry = net["VPCEndpointKMSDnsEntries"]
    kms_dns = next(e for e in eps if e["VpcEndpointId"] == net["VPCEndpointKMSId"])["DnsEntries"][0]
    assert kms_entry == f"{kms_dns['HostedZoneId']}:{kms_dns['DnsName']}"
    flow = ec2.describe_flow_logs()["FlowLogs"]
    assert [f["LogGroupName"] for f in flow if f["ResourceId"] == net["VpcId"]] == ["/perimeter/vpc/flow-logs"]

    keys = outputs(stacks["kms"])
    kms = s.client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=keys["DataKeyId"], PolicyName="default")["Policy"])
    users = next(st for st in policy["Statement"] if st["Sid"] == "AllowUseOfTheKeyForPersonaRoles")
    assert sorted(users["Principal"]["AWS"]) == sorted([roles["StudioRoleDataScienceArn"], roles["StudioRoleMLOpsArn"]])
    assert kms.get_key_rotation_status(KeyId=keys["DataKeyId"])["KeyRotationEnabled"]
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert {"alias/perimeter-studio", "alias/perimeter-data", "alias/perimeter-jobs"} <= aliases

    data = outputs(stacks["data"])
    s3 = s.client("s3")
    assert data["DataBucketName"] == f"perimeter-data-{ACCOUNT}-{REGION}"
    enc = s3.get_bucket_encryption(Bucket=data["DataBucketName"])["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == keys["DataKeyArn"]
    assert s3.get_bucket_versioning(Bucket=data["DataBucketName"])["Status"] == "Enabled"
    ssm = s.client("ssm")
    assert ssm.get_parameter(Name="/perimeter/data-bucket")["Parameter"]["Value"] == data["DataBucketName"]

    studio = outputs(stacks["studio"])
    sm = s.client("sagemaker")
    domain = sm.describe_domain(DomainId=studio["DomainId"])
    assert domain["AppNetworkAccessType"] == "VpcOnly"
    assert domain["VpcId"] == net["VpcId"] and sorted(domain["SubnetIds"]) == sorted(subnets)
    assert domain["KmsKeyId"] == keys["StudioKeyArn"]
    profile = sm.describe_user_profile(DomainId=studio["DomainId"], UserProfileName="data-scientist")
    assert profile["UserSettings"]["ExecutionRole"] == roles["StudioRoleDataScienceArn"]
    assert studio["MLOpsProfileName"] == "mlops-engineer"

    exports = {e["Name"]: e["Value"] for e in s.client("cloudformation").list_exports()["Exports"]}
    assert exports["perimeter-VpcId"] == net["VpcId"]
    imports = s.client("cloudformation").list_imports(ExportName="perimeter-VpcId")["Imports"]
    assert imports == ["perimeter-studio"]


def test_data_bucket_only_through_the_s3_endpoint(env):
    s, stacks = env
    bucket = outputs(stacks["data"])["DataBucketName"]
    vpce = outputs(stacks["network"])["VPCEndpointS3Id"]
    ec2 = s.client("ec2")
    dns = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]["DnsEntries"][0]["DnsName"]
    via = s.client("s3", endpoint=f"http://{dns}", s3={"addressing_style": "path"})
    via.put_object(Bucket=bucket, Key="train.csv", Body=b"a,b\n1,2\n", ServerSideEncryption="aws:kms")
    assert via.get_object(Bucket=bucket, Key="train.csv")["Body"].read() == b"a,b\n1,2\n"
    with pytest.raises(ClientError) as e:
        via.put_object(Bucket=bucket, Key="plain.csv", Body=b"x")
    assert code(e) == "AccessDenied"
    public = s.client("s3", s3={"addressing_style": "path"})
    with pytest.raises(ClientError) as e:
        public.get_object(Bucket=bucket, Key="train.csv")
    assert code(e) == "AccessDenied"
    via.delete_object(Bucket=bucket, Key="train.csv")


def test_deploy_without_changes(env):
    s, _ = env
    rc, out, err = s.cli(
        "cloudformation", "deploy",
        "--template-file", os.path.join(TEMPLATES, "iam-roles.yaml"),
        "--stack-name", "perimeter-iam", "--capabilities", "CAPABILITY_IAM",
        "--no-fail-on-empty-changeset", check=False,
    )
    assert rc == 0, err
    assert "No changes to deploy" in (out if isinstance(out, str) else json.dumps(out)) + err
    # aws-cli names change sets after the current second and leaves an empty one behind, as in
    # AWS: a second deploy within the same second would collide with it.
    time.sleep(1.1)
    rc, _, err = s.cli(
        "cloudformation", "deploy",
        "--template-file", os.path.join(TEMPLATES, "iam-roles.yaml"),
        "--stack-name", "perimeter-iam", "--capabilities", "CAPABILITY_IAM", check=False,
    )
    assert rc != 0 and "No changes to deploy" in err


# ------------------------------------------------------------------ calls as the caller

ROLE_AND_BUCKET = """
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Role:
    Type: AWS::IAM::Role
    DependsOn: Bucket
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
Outputs:
  BucketName: {Value: !Ref Bucket}
"""


def user_with_policy(server, name, policy):
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def test_called_via_cloudformation_denial_fails_and_rolls_back(fresh_server):
    s = fresh_server
    key, secret = user_with_policy(s, "builder", {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["cloudformation:*", "s3:*", "iam:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*",
             "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}}},
        ],
    })
    cfn = s.client("cloudformation", access_key=key, secret=secret)
    st = create(cfn, "denied", ROLE_AND_BUCKET, Capabilities=["CAPABILITY_IAM"])
    assert st["StackStatus"] == "ROLLBACK_COMPLETE"
    rollback = next(e for e in cfn.describe_stack_events(StackName="denied")["StackEvents"]
                    if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"] == (
        "The following resource(s) failed to create: [Role]. Rollback requested by user.")
    (logical, status, reason), = failures(cfn, "denied")
    assert (logical, status) == ("Role", "CREATE_FAILED")
    assert "iam:CreateRole" in reason and "AccessDenied" in reason and "explicit deny" in reason
    events = cfn.describe_stack_events(StackName="denied")["StackEvents"]
    bucket = next(e["PhysicalResourceId"] for e in events
                  if e["LogicalResourceId"] == "Bucket" and e["ResourceStatus"] == "CREATE_COMPLETE")
    assert any(e["LogicalResourceId"] == "Bucket" and e["ResourceStatus"] == "DELETE_COMPLETE" for e in events)
    with pytest.raises(ClientError) as e:
        s.client("s3").head_bucket(Bucket=bucket)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # The same principal may create the role directly: the denial is about CalledVia.
    iam = s.client("iam", access_key=key, secret=secret)
    iam.create_role(RoleName="direct", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    # The resource calls are in the trail as the caller's, invoked by CloudFormation.
    trail = s.client("cloudtrail")
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateBucket"}])
    record = json.loads(found["Events"][0]["CloudTrailEvent"])
    assert record["userIdentity"]["arn"].endswith(":user/builder")
    assert record["userIdentity"]["invokedBy"] == "cloudformation.amazonaws.com"
    assert record["sourceIPAddress"] == "cloudformation.amazonaws.com"


def test_a_principal_without_iam_permissions_cannot_create_roles_through_a_stack(fresh_server):
    s = fresh_server
    key, secret = user_with_policy(s, "cfn-only", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["cloudformation:*", "s3:*"], "Resource": "*"}],
    })
    cfn = s.client("cloudformation", access_key=key, secret=secret)
    st = create(cfn, "no-iam", ROLE_AND_BUCKET, Capabilities=["CAPABILITY_IAM"])
    assert st["StackStatus"] == "ROLLBACK_COMPLETE"
    (logical, _, reason), = failures(cfn, "no-iam")
    assert logical == "Role" and "not authorized to perform: iam:CreateRole" in reason
    # And without cloudformation:CreateStack nothing starts at all.
    key2, secret2 = user_with_policy(s, "nobody", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
    })
    with pytest.raises(ClientError) as e:
        s.client("cloudformation", access_key=key2, secret=secret2).create_stack(
            StackName="x", TemplateBody=ROLE_AND_BUCKET, Capabilities=["CAPABILITY_IAM"])
    assert code(e) == "AccessDenied"


def test_stack_service_role_makes_the_calls(fresh_server):
    s = fresh_server
    iam = s.client("iam")
    iam.create_role(RoleName="cfn-service", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="cfn-service", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    role = f"arn:aws:iam::{ACCOUNT}:role/cfn-service"
    key, secret = user_with_policy(s, "deployer", {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role},
        ],
    })
    cfn = s.client("cloudformation", access_key=key, secret=secret)
    body = "Resources:\n  Bucket: {Type: AWS::S3::Bucket}\nOutputs:\n  B: {Value: !Ref Bucket}\n"
    # As the deployer (no S3 permissions) the bucket cannot be made...
    assert create(cfn, "as-me", body)["StackStatus"] == "ROLLBACK_COMPLETE"
    # ...as the service role it can.
    st = create(cfn, "as-role", body, RoleARN=role)
    assert st["StackStatus"] == "CREATE_COMPLETE", failures(cfn, "as-role")
    assert st["RoleARN"] == role
    bucket = outputs(st)["B"]
    s.client("s3").head_bucket(Bucket=bucket)
    found = s.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateBucket"}])["Events"]
    made = [json.loads(e["CloudTrailEvent"]) for e in found]
    ok = [r for r in made if r.get("errorCode") is None]
    assert ok and ok[0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role
    # Passing a role needs iam:PassRole on it.
    iam.create_role(RoleName="other", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))
    with pytest.raises(ClientError) as e:
        cfn.create_stack(StackName="other", TemplateBody=body, RoleARN=f"arn:aws:iam::{ACCOUNT}:role/other")
    assert code(e) == "AccessDenied" and "iam:PassRole" in str(e.value)
    cfn.delete_stack(StackName="as-role")
    assert wait(cfn, st["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def test_ssm_parameter_types_resolve_as_the_caller(server):
    s = server
    s.client("ssm").put_parameter(Name="/images/training", Value="img-123", Type="String")
    cfn = s.client("cloudformation")
    st = create(cfn, "ssm-typed", """
Parameters:
  Image:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /images/training
Resources:
  Copy:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !Ref Image}
Outputs:
  Image: {Value: !Ref Image}
""")
    assert st["StackStatus"] == "CREATE_COMPLETE", failures(cfn, "ssm-typed")
    assert outputs(st)["Image"] == "img-123"
    (p,) = st["Parameters"]
    assert p["ParameterValue"] == "/images/training" and p["ResolvedValue"] == "img-123"
    with pytest.raises(ClientError) as e:
        cfn.create_stack(StackName="ssm-missing", TemplateBody="""
Parameters:
  Image: {Type: "AWS::SSM::Parameter::Value<String>", Default: /images/none}
Resources:
  G: {Type: AWS::Logs::LogGroup}
""")
    assert "Unable to fetch parameters [/images/none] from parameter store for this account." in str(e.value)


# ------------------------------------------------------------------ lifecycle

EVERYTHING = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Prefix: {Type: String, Default: life}
  Secret: {Type: String, NoEcho: true, Default: hunter2}
Conditions:
  WithLogs: !Equals [!Ref Prefix, life]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: owner, Value: !Ref Prefix}]
  Kept:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${Prefix}-role"
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: "sts:AssumeRole"}]
      Policies:
        - PolicyName: read
          PolicyDocument:
            Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: !Sub "${Bucket.Arn}/*"}]
  Logs:
    Type: AWS::Logs::LogGroup
    Condition: WithLogs
    Properties: {RetentionInDays: 7}
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt Role.Arn, Name: !Sub "/${Prefix}/role"}
Outputs:
  Bucket: {Value: !Ref Bucket}
  Kept: {Value: !Ref Kept}
  Logs: {Value: !Ref Logs, Condition: WithLogs}
  RoleArn: {Value: !GetAtt Role.Arn, Export: {Name: !Sub "${Prefix}-RoleArn"}}
"""


def test_create_describe_delete(server):
    s = server
    cfn = s.client("cloudformation")
    with pytest.raises(ClientError) as e:
        cfn.create_stack(StackName="life", TemplateBody=EVERYTHING)
    assert code(e) == "InsufficientCapabilitiesException"
    assert "CAPABILITY_NAMED_IAM" in str(e.value)
    r = cfn.create_stack(StackName="life", TemplateBody=EVERYTHING, Capabilities=["CAPABILITY_NAMED_IAM"])
    first = cfn.describe_stacks(StackName="life")["Stacks"][0]
    assert first["StackStatus"] in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE")
    st = wait(cfn, "life")
    assert st["StackStatus"] == "CREATE_COMPLETE", failures(cfn, "life")
    assert st["StackId"] == r["StackId"]
    out = outputs(st)
    assert out["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/life-role"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in st["Parameters"]}["Secret"] == "****"
    with pytest.raises(ClientError) as e:
        cfn.create_stack(StackName="life", TemplateBody=EVERYTHING, Capabilities=["CAPABILITY_NAMED_IAM"])
    assert code(e) == "AlreadyExistsException"
    res = {x["LogicalResourceId"]: x for x in cfn.list_stack_resources(StackName="life")["StackResourceSummaries"]}
    assert set(res) == {"Bucket", "Kept", "Role", "Logs", "Param"}
    assert all(x["ResourceStatus"] == "CREATE_COMPLETE" for x in res.values())
    one = cfn.describe_stack_resource(StackName="life", LogicalResourceId="Role")["StackResourceDetail"]
    assert one["PhysicalResourceId"] == "life-role"
    assert "NoEcho: true" in cfn.get_template(StackName="life")["TemplateBody"]
    s3, iam, logs, ssm = (s.client(x) for x in ("s3", "iam", "logs", "ssm"))
    assert s3.get_bucket_tagging(Bucket=out["Bucket"])["TagSet"] == [{"Key": "owner", "Value": "life"}]
    assert iam.get_role_policy(RoleName="life-role", PolicyName="read")["PolicyDocument"]
    assert logs.describe_log_groups(logGroupNamePrefix=out["Logs"])["logGroups"][0]["retentionInDays"] == 7
    assert ssm.get_parameter(Name="/life/role")["Parameter"]["Value"] == out["RoleArn"]
    events = cfn.describe_stack_events(StackName="life")["StackEvents"]
    assert events[0]["ResourceStatus"] == "CREATE_COMPLETE" and events[0]["LogicalResourceId"] == "life"
    assert "hunter2" not in json.dumps(events, default=str)

    cfn.delete_stack(StackName="life")
    gone = wait(cfn, r["StackId"])
    assert gone["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as e:
        cfn.describe_stacks(StackName="life")
    assert "Stack with id life does not exist" in str(e.value)
    assert any(x["StackId"] == r["StackId"] and x["StackStatus"] == "DELETE_COMPLETE"
               for x in cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"])
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=out["Bucket"])
    s3.head_bucket(Bucket=out["Kept"])  # DeletionPolicy: Retain
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="life-role")
    assert code(e) == "NoSuchEntity"
    assert logs.describe_log_groups(logGroupNamePrefix=out["Logs"])["logGroups"] == []
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/life/role")
    assert code(e) == "ParameterNotFound"
    skipped = [e for e in cfn.describe_stack_events(StackName=r["StackId"])["StackEvents"]
               if e["LogicalResourceId"] == "Kept" and e["ResourceStatus"] == "DELETE_SKIPPED"]
    assert skipped
    cfn.delete_stack(StackName="never-existed")  # succeeds, as in AWS


def test_unsupported_type_and_template_errors(server):
    cfn = server.client("cloudformation")
    st = create(cfn, "lambda", """
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Fn:
    Type: AWS::Lambda::Function
    DependsOn: Bucket
    Properties: {Runtime: python3.12}
""")
    assert st["StackStatus"] == "ROLLBACK_COMPLETE"
    (logical, _, reason), = failures(cfn, "lambda")
    assert logical == "Fn" and "AWS::Lambda::Function is not supported" in reason
    with pytest.raises(ClientError) as e:
        cfn.validate_template(TemplateBody="Resources:\n  A: [\n")
    assert code(e) == "ValidationError" and "YAML not well-formed" in str(e.value) and "line" in str(e.value)
    with pytest.raises(ClientError) as e:
        cfn.validate_template(TemplateBody="Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {X: !Ref Nope}}\n")
    assert "Unresolved resource dependencies [Nope]" in str(e.value)
    with pytest.raises(ClientError) as e:
        cfn.validate_template(TemplateBody="""
Resources:
  A: {Type: AWS::S3::Bucket, DependsOn: B}
  B: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref A}}
""")
    assert "Circular dependency between resources: [A, B]" in str(e.value)
    v = cfn.validate_template(TemplateBody=template("iam-roles.yaml"))
    assert v["Capabilities"] == ["CAPABILITY_IAM"]
    assert {p["ParameterKey"] for p in v["Parameters"]} == {"EnvironmentName", "ApprovedInstanceTypes"}
    with pytest.raises(ClientError) as e:
        cfn.create_stack(StackName="p", TemplateBody=template("network-vpc.yaml"),
                         Parameters=[{"ParameterKey": "FlowLogsTrafficType", "ParameterValue": "SOME"}])
    assert "Parameter 'FlowLogsTrafficType' must be one of AllowedValues" in str(e.value)
    with pytest.raises(ClientError) as e:
        cfn.describe_stacks(StackName="nope")
    assert code(e) == "ValidationError"


def test_change_sets_update_and_update_rollback(server):
    s = server
    cfn = s.client("cloudformation")
    body = """
Parameters:
  Tag: {Type: String, Default: one}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: version, Value: !Ref Tag}]
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {RetentionInDays: 7}
Outputs:
  Bucket: {Value: !Ref Bucket}
"""
    r = cfn.create_change_set(StackName="cs", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=body)
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    d = cfn.describe_change_set(ChangeSetName=r["Id"])
    assert d["Status"] == "CREATE_COMPLETE" and d["ExecutionStatus"] == "AVAILABLE"
    assert sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in d["Changes"]) == [
        ("Add", "Bucket"), ("Add", "Group")]
    cfn.execute_change_set(ChangeSetName="first", StackName="cs")
    st = wait(cfn, "cs")
    assert st["StackStatus"] == "CREATE_COMPLETE"
    bucket = outputs(st)["Bucket"]

    cfn.create_change_set(StackName="cs", ChangeSetName="retag", TemplateBody=body,
                          Parameters=[{"ParameterKey": "Tag", "ParameterValue": "two"}])
    d = cfn.describe_change_set(ChangeSetName="retag", StackName="cs")
    (change,) = d["Changes"]
    assert change["ResourceChange"]["Action"] == "Modify"
    assert change["ResourceChange"]["LogicalResourceId"] == "Bucket"
    assert change["ResourceChange"]["Replacement"] == "False"
    assert "retag" in [c["ChangeSetName"] for c in cfn.list_change_sets(StackName="cs")["Summaries"]]
    cfn.execute_change_set(ChangeSetName="retag", StackName="cs")
    st = wait(cfn, "cs")
    assert st["StackStatus"] == "UPDATE_COMPLETE"
    assert s.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "version", "Value": "two"}]

    # Nothing to change: the change set fails with CloudFormation's words.
    cfn.create_change_set(StackName="cs", ChangeSetName="same", TemplateBody=body, UsePreviousTemplate=False,
                          Parameters=[{"ParameterKey": "Tag", "UsePreviousValue": True}])
    d = cfn.describe_change_set(ChangeSetName="same", StackName="cs")
    assert d["Status"] == "FAILED" and "didn't contain changes" in d["StatusReason"]
    with pytest.raises(ClientError) as e:
        cfn.update_stack(StackName="cs", UsePreviousTemplate=True,
                         Parameters=[{"ParameterKey": "Tag", "UsePreviousValue": True}])
    assert "No updates are to be performed." in str(e.value)

    # An update that fails rolls back to the previous template.
    bad = body.replace("RetentionInDays: 7", "RetentionInDays: 8")
    cfn.update_stack(StackName="cs", TemplateBody=bad.replace("Default: one", "Default: three"),
                     Parameters=[{"ParameterKey": "Tag", "ParameterValue": "three"}])
    st = wait(cfn, "cs")
    assert st["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", failures(cfn, "cs")
    assert s.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "version", "Value": "two"}]
    assert "RetentionInDays: 7" in cfn.get_template(StackName="cs")["TemplateBody"]

    # A replacement: a new bucket, the old one deleted in cleanup.
    named = body.replace("    Properties:\n      Tags", "    Properties:\n      BucketName: cs-renamed-bucket\n      Tags")
    cfn.update_stack(StackName="cs", TemplateBody=named,
                     Parameters=[{"ParameterKey": "Tag", "UsePreviousValue": True}])
    st = wait(cfn, "cs")
    assert st["StackStatus"] == "UPDATE_COMPLETE", failures(cfn, "cs")
    assert outputs(st)["Bucket"] == "cs-renamed-bucket"
    with pytest.raises(ClientError):
        s.client("s3").head_bucket(Bucket=bucket)
    cfn.delete_stack(StackName="cs")
    assert wait(cfn, st["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def test_exports_in_use_block_deletion(server):
    cfn = server.client("cloudformation")
    a = create(cfn, "exporter", """
Resources:
  G: {Type: AWS::Logs::LogGroup}
Outputs:
  Name: {Value: !Ref G, Export: {Name: shared-group}}
""")
    assert a["StackStatus"] == "CREATE_COMPLETE"
    b = create(cfn, "importer", """
Resources:
  P:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !ImportValue shared-group}
""")
    assert b["StackStatus"] == "CREATE_COMPLETE"
    st = create(cfn, "exporter2", """
Resources:
  G: {Type: AWS::Logs::LogGroup}
Outputs:
  Name: {Value: !Ref G, Export: {Name: shared-group}}
""")
    assert st["StackStatus"] == "ROLLBACK_COMPLETE"
    rollback = next(e for e in cfn.describe_stack_events(StackName="exporter2")["StackEvents"]
                    if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert "Export with name shared-group is already exported by stack" in rollback["ResourceStatusReason"]
    cfn.delete_stack(StackName="exporter")
    st = wait(cfn, "exporter")
    assert st["StackStatus"] == "DELETE_FAILED"
    assert "in use by importer" in st["StackStatusReason"]
    cfn.delete_stack(StackName="importer")
    assert wait(cfn, b["StackId"])["StackStatus"] == "DELETE_COMPLETE"
    cfn.delete_stack(StackName="exporter")
    assert wait(cfn, a["StackId"])["StackStatus"] == "DELETE_COMPLETE"


def test_stacks_survive_a_restart(durable_server):
    s = durable_server
    cfn = s.client("cloudformation")
    st = create(cfn, "kept", ROLE_AND_BUCKET, Capabilities=["CAPABILITY_IAM"])
    assert st["StackStatus"] == "CREATE_COMPLETE"
    s.stop()
    s.start()
    cfn = s.client("cloudformation")
    again = cfn.describe_stacks(StackName="kept")["Stacks"][0]
    assert again["StackStatus"] == "CREATE_COMPLETE" and outputs(again) == outputs(st)
    events = cfn.describe_stack_events(StackName="kept")["StackEvents"]
    assert events[0]["ResourceStatus"] == "CREATE_COMPLETE" and events[-1]["ResourceStatus"] == "CREATE_IN_PROGRESS"
    cfn.delete_stack(StackName="kept")
    assert wait(cfn, st["StackId"])["StackStatus"] == "DELETE_COMPLETE"


# ------------------------------------------------------------------ perimeter up


class Up:
    """A running `perimeter up`, its output until `ready`."""

    def __init__(self, *args):
        self.port = free_port()
        env = dict(os.environ, PERIMETER_ROOT_ACCESS_KEY_ID=ROOT_KEY, PERIMETER_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
        cmd = [BIN, "up", "--listen", f"127.0.0.1:{self.port}", "--region", REGION, "--account-id", ACCOUNT, *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        deadline = time.time() + 300
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("ready ") or time.time() > deadline:
                break
        self.text = "\n".join(self.lines)
        assert self.lines and self.lines[-1].startswith("ready "), self.text + self.proc.stderr.read()
        self.endpoint = self.lines[-1].split()[1]

    def client(self, service, endpoint=None, **config):
        return boto3.client(service, endpoint_url=endpoint or self.endpoint, region_name=REGION,
                            aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                            config=Config(retries={"max_attempts": 1}, **config))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_perimeter_up_deploys_the_environment():
    up = Up("--ephemeral")
    try:
        text = up.text
        for suffix, file in REFERENCE:
            assert f"stack     perimeter-{suffix}: creating from templates/{file} ... CREATE_COMPLETE" in text
        cfn = up.client("cloudformation")
        stacks = {s["StackName"]: s for s in cfn.describe_stacks()["Stacks"]}
        assert {f"perimeter-{x}" for x, _ in REFERENCE} <= set(stacks)
        net = outputs(stacks["perimeter-network"])
        data = outputs(stacks["perimeter-data"])
        studio = outputs(stacks["perimeter-studio"])
        assert net["VpcId"] in text and data["DataBucketName"] in text and studio["DomainId"] in text
        assert outputs(stacks["perimeter-kms"])["DataKeyArn"] in text
        assert outputs(stacks["perimeter-iam"])["StudioRoleMLOpsArn"] in text
        assert f"create-presigned-domain-url --domain-id {studio['DomainId']} --user-profile-name data-scientist" in text
        # The summary's S3 endpoint address works, and the bucket answers only through it.
        line = next(l for l in up.lines if f"com.amazonaws.{REGION}.s3 " in l)
        address = line.split()[-1]
        s3 = up.client("s3", endpoint=f"http://{address}", s3={"addressing_style": "path"})
        s3.put_object(Bucket=data["DataBucketName"], Key="k", Body=b"v", ServerSideEncryption="aws:kms")
        assert s3.get_object(Bucket=data["DataBucketName"], Key="k")["Body"].read() == b"v"
        with pytest.raises(ClientError) as e:
            up.client("s3", s3={"addressing_style": "path"}).get_object(Bucket=data["DataBucketName"], Key="k")
        assert code(e) == "AccessDenied"
        # Studio sign-in works as printed.
        url = up.client("sagemaker").create_presigned_domain_url(
            DomainId=studio["DomainId"], UserProfileName="data-scientist")["AuthorizedUrl"]
        assert url.startswith("http")
    finally:
        up.stop()


def test_perimeter_up_twice_leaves_the_stacks(tmp_path):
    data = str(tmp_path / "data")
    first = Up("--data-dir", data)
    try:
        ids = {s["StackName"]: s["StackId"] for s in first.client("cloudformation").describe_stacks()["Stacks"]}
    finally:
        first.stop()
    second = Up("--data-dir", data)
    try:
        for suffix, _ in REFERENCE:
            assert f"stack     perimeter-{suffix}: CREATE_COMPLETE (found, left as it is)" in second.text
        again = {s["StackName"]: s["StackId"] for s in second.client("cloudformation").describe_stacks()["Stacks"]}
        assert again == ids
    finally:
        second.stop()
    third = Up("--data-dir", data, "--no-deploy")
    try:
        assert "deploy    skipped (--no-deploy)" in third.text
    finally:
        third.stop()
