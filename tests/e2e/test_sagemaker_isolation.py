"""S10 (seed 000 step 4): resource isolation by the domain tag. Resources created from a Studio
app carry SageMaker's automatic tags (they are request tags: they count in `aws:TagKeys`); an
execution role allowed to create only with `sagemaker:domain-arn` and denied everything on
resources of another domain stays inside its domain."""
import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION
from test_sagemaker_env import ALLOW_ALL, Env, code, denied, doc, message, sign_in, studio_base, studio_cli

IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"


def isolation_policy(domain_arn):
    """Seed 000 step 4, for one domain, beside what a data scientist otherwise does."""
    return [
        {"Effect": "Allow", "NotAction": ["sagemaker:Create*", "sagemaker:Update*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["SageMaker:Create*", "SageMaker:Update*"], "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["sagemaker:domain-arn"]}}},
        {"Effect": "Deny", "Action": ["SageMaker:Update*", "SageMaker:Delete*", "SageMaker:Describe*"],
         "Resource": "*",
         "Condition": {"StringNotLikeIfExists": {"aws:ResourceTag/sagemaker:domain-arn": domain_arn}}},
    ]


def app_clients(server, url):
    """Signs in with a presigned URL and returns (sagemaker client with the app's credentials,
    the app environment)."""
    r, browser = sign_in(url)
    assert r.status_code == 200, r.text
    environment = browser.get(studio_base(url) + "api/environment", timeout=10).json()["Environment"]
    creds = requests.get(environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], timeout=10,
                         headers={"Authorization": environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}).json()
    sm = server.client("sagemaker", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                       token=creds["Token"])
    return sm, environment


def job(name, role, **extra):
    j = dict(TrainingJobName=name, RoleArn=role,
             AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
             OutputDataConfig={"S3OutputPath": "s3://sagemaker-data/out"},
             ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
             StoppingCondition={"MaxRuntimeInSeconds": 600})
    j.update(extra)
    return j


def test_s10_resource_isolation_by_domain_tags(server):
    env = Env(server)
    net = env.network("10.100.0.0/16")
    roles, domains, arns = {}, {}, {}
    for team in ("a", "b"):
        roles[team] = env.role(f"StudioRoleTeam{team.upper()}")
        domains[team] = env.domain(net, roles[team], vpc_only=False)
        arns[team] = env.sm.describe_domain(DomainId=domains[team])["DomainArn"]
        env.iam.put_role_policy(RoleName=f"StudioRoleTeam{team.upper()}", PolicyName="isolation",
                                PolicyDocument=doc(*isolation_policy(arns[team])))
        env.profile(domains[team], f"user-{team}")
    # Studio Classic (the seed's experience): resources get the domain tag.
    apps = {}
    for team in ("a", "b"):
        url = env.sm.create_presigned_domain_url(DomainId=domains[team], UserProfileName=f"user-{team}",
                                                 LandingUri="app:JupyterServer:")["AuthorizedUrl"]
        apps[team] = app_clients(server, url)
    sm_a, env_a = apps["a"]
    sm_b, _ = apps["b"]
    a_arn = sm_a.create_training_job(**job("team-a-job", roles["a"]))["TrainingJobArn"]
    sm_b.create_training_job(**job("team-b-job", roles["b"]))
    tags = env.sm.list_tags(ResourceArn=a_arn)["Tags"]
    assert tags == [{"Key": "sagemaker:domain-arn", "Value": arns["a"]}]
    # Any other tag key is outside ForAllValues [sagemaker:domain-arn].
    with pytest.raises(ClientError) as e:
        sm_a.create_training_job(**job("team-a-tagged", roles["a"], Tags=[{"Key": "team", "Value": "a"}]))
    denied(e, "sagemaker:CreateTrainingJob",
           "because no identity-based policy allows the sagemaker:CreateTrainingJob action")
    # A caller cannot forge another domain's tag: the automatic tag wins.
    forged = sm_a.create_training_job(**job("team-a-forged", roles["a"], Tags=[
        {"Key": "sagemaker:domain-arn", "Value": arns["b"]}]))["TrainingJobArn"]
    assert env.sm.list_tags(ResourceArn=forged)["Tags"] == [{"Key": "sagemaker:domain-arn", "Value": arns["a"]}]
    # Inside the domain: allowed. Another domain's resources: denied.
    assert sm_a.describe_training_job(TrainingJobName="team-a-job")["TrainingJobArn"] == a_arn
    with pytest.raises(ClientError) as e:
        sm_a.describe_training_job(TrainingJobName="team-b-job")
    denied(e, "sagemaker:DescribeTrainingJob")
    assert sm_a.describe_user_profile(DomainId=domains["a"], UserProfileName="user-a")["UserProfileName"] == "user-a"
    with pytest.raises(ClientError) as e:
        sm_a.describe_user_profile(DomainId=domains["b"], UserProfileName="user-b")
    denied(e, "sagemaker:DescribeUserProfile")
    container = {"Image": IMAGE, "ModelDataUrl": "s3://sagemaker-data/model.tar.gz"}
    sm_b.create_model(ModelName="team-b-model", ExecutionRoleArn=roles["b"], PrimaryContainer=container)
    with pytest.raises(ClientError) as e:
        sm_a.delete_model(ModelName="team-b-model")
    denied(e, "sagemaker:DeleteModel")
    with pytest.raises(ClientError) as e:
        sm_a.delete_domain(DomainId=domains["b"])
    denied(e, "sagemaker:DeleteDomain")
    # A resource without the tag (created outside Studio) is outside every domain (IfExists).
    env.sm.create_model(ModelName="untagged", ExecutionRoleArn=roles["a"], PrimaryContainer=container)
    with pytest.raises(ClientError) as e:
        sm_a.describe_model(ModelName="untagged")
    denied(e, "sagemaker:DescribeModel")
    # The same from a Studio terminal with aws-cli.
    rc, out, err = studio_cli(env_a, "sagemaker", "describe-training-job", "--training-job-name", "team-a-job")
    assert rc == 0 and out["TrainingJobName"] == "team-a-job", err
    rc, _, err = studio_cli(env_a, "sagemaker", "describe-training-job", "--training-job-name", "team-b-job")
    assert rc != 0 and "AccessDeniedException" in err and "explicit deny" in err
    # Requests from Studio carry sagemaker:DomainId and sagemaker:UserProfileName.
    env.iam.put_role_policy(RoleName="StudioRoleTeamA", PolicyName="own-profile", PolicyDocument=doc({
        "Effect": "Deny", "Action": "sagemaker:DescribeUserProfile",
        "NotResource": f"arn:aws:sagemaker:*:*:user-profile/${{sagemaker:DomainId}}/${{sagemaker:UserProfileName}}"}))
    assert sm_a.describe_user_profile(DomainId=domains["a"], UserProfileName="user-a")
    env.profile(domains["a"], "user-a2")
    with pytest.raises(ClientError) as e:
        sm_a.describe_user_profile(DomainId=domains["a"], UserProfileName="user-a2")
    denied(e, "sagemaker:DescribeUserProfile")


def test_s10_new_studio_adds_the_user_profile_tag(server):
    """In the Studio experience (not Classic), resources also get `sagemaker:user-profile-arn`,
    and the seed's `ForAllValues ... [sagemaker:domain-arn]` no longer allows creating them: the
    policy must list that key too."""
    env = Env(server)
    net = env.network("10.110.0.0/16")
    role = env.role("StudioRoleNewStudio")
    domain = env.domain(net, role, vpc_only=False)
    domain_arn = env.sm.describe_domain(DomainId=domain)["DomainArn"]
    env.iam.put_role_policy(RoleName="StudioRoleNewStudio", PolicyName="isolation",
                            PolicyDocument=doc(*isolation_policy(domain_arn)))
    profile_arn = env.profile(domain, "new-user")
    url = env.sm.create_presigned_domain_url(DomainId=domain, UserProfileName="new-user")["AuthorizedUrl"]
    sm, _ = app_clients(server, url)
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**job("new-studio-job", role))
    denied(e, "sagemaker:CreateTrainingJob",
           "because no identity-based policy allows the sagemaker:CreateTrainingJob action")
    env.iam.put_role_policy(RoleName="StudioRoleNewStudio", PolicyName="isolation", PolicyDocument=doc(
        {"Effect": "Allow", "NotAction": ["sagemaker:Create*", "sagemaker:Update*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["sagemaker:Create*"], "Resource": "*", "Condition": {
            "ForAllValues:StringEquals": {"aws:TagKeys": ["sagemaker:domain-arn", "sagemaker:user-profile-arn"]}}}))
    arn = sm.create_training_job(**job("new-studio-job", role))["TrainingJobArn"]
    tags = {t["Key"]: t["Value"] for t in env.sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"sagemaker:domain-arn": domain_arn, "sagemaker:user-profile-arn": profile_arn}


def test_studio_needs_add_tags_to_create(server):
    """Studio tags what it creates, so an execution role allowed to create but not to tag
    cannot create from Studio (AWS: "If an IAM policy allows Studio ... to create resources but
    does not allow tagging, AccessDenied errors can occur"); AWS's SMStudioAppPermissionsTagOnCreate
    statement (AddTags whenever sagemaker:TaggingAction is present) fixes it."""
    env = Env(server)
    net = env.network("10.120.0.0/16")
    role = env.role("StudioRoleNoTagging", {
        "Effect": "Allow", "Action": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob",
                                      "iam:PassRole"], "Resource": "*"})
    domain = env.domain(net, role, vpc_only=False)
    domain_arn = env.sm.describe_domain(DomainId=domain)["DomainArn"]
    env.profile(domain, "untagging")
    url = env.sm.create_presigned_domain_url(DomainId=domain, UserProfileName="untagging",
                                             LandingUri="app:JupyterServer:")["AuthorizedUrl"]
    sm, environment = app_clients(server, url)
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**job("untagged-studio-job", role))
    denied(e, "sagemaker:AddTags", "because no identity-based policy allows the sagemaker:AddTags action")
    rc, _, err = studio_cli(environment, "sagemaker", "create-training-job", "--cli-input-json",
                            json.dumps(job("untagged-cli-job", role)))
    assert rc != 0 and "sagemaker:AddTags on resource" in err, err
    env.iam.put_role_policy(RoleName="StudioRoleNoTagging", PolicyName="tag-on-create", PolicyDocument=doc({
        "Sid": "SMStudioAppPermissionsTagOnCreate", "Effect": "Allow", "Action": "sagemaker:AddTags",
        "Resource": f"arn:aws:sagemaker:{REGION}:*:*/*", "Condition": {"Null": {"sagemaker:TaggingAction": "false"}}}))
    arn = sm.create_training_job(**job("untagged-studio-job", role))["TrainingJobArn"]
    assert env.sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "sagemaker:domain-arn", "Value": domain_arn}]
