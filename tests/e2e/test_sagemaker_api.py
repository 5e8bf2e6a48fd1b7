"""The SageMaker control plane with unchanged boto3 and aws-cli: every job type's lifecycle,
hosting, notebook lifecycle configurations, spaces, tags and their condition keys, Search,
errors, and state that survives a restart."""
import json
import os
import time
import urllib.parse

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, Server
from test_sagemaker_env import ALLOW_ALL, Env, cli_as, code, denied, doc, message, sign_in, studio_base, wait_for

IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"
ALGORITHM = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
RESOURCES = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}


@pytest.fixture(scope="module")
def env(server):
    e = Env(server)
    e.job_role = e.role("StudioRoleApi", ALLOW_ALL)
    return e


def training(name, role, **extra):
    j = dict(TrainingJobName=name, RoleArn=role, AlgorithmSpecification=ALGORITHM,
             OutputDataConfig={"S3OutputPath": "s3://sagemaker-api/out"}, ResourceConfig=RESOURCES,
             StoppingCondition={"MaxRuntimeInSeconds": 600})
    j.update(extra)
    return j


def status(fn, member, **kw):
    return lambda: fn(**kw)[member]


def test_training_job_lifecycle(server, env):
    sm = env.sm
    arn = sm.create_training_job(**training("Lifecycle-1", env.job_role))["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/lifecycle-1"
    d = sm.describe_training_job(TrainingJobName="Lifecycle-1")
    assert d["TrainingJobStatus"] == "InProgress" and d["SecondaryStatus"] == "Starting"
    assert d["AlgorithmSpecification"] == ALGORITHM and d["EnableNetworkIsolation"] is False
    # Names are unique regardless of case, as the ARN is.
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("lifecycle-1", env.job_role))
    assert code(e) == "ResourceInUse"
    wait_for(lambda: sm.describe_training_job(TrainingJobName="Lifecycle-1")["TrainingJobStatus"] == "Completed")
    d = sm.describe_training_job(TrainingJobName="Lifecycle-1")
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == "s3://sagemaker-api/out/Lifecycle-1/output/model.tar.gz"
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName="Lifecycle-1")
    assert code(e) == "ValidationException" and "status Completed" in message(e)
    sm.create_training_job(**training("lifecycle-2", env.job_role))
    sm.stop_training_job(TrainingJobName="lifecycle-2")
    assert sm.describe_training_job(TrainingJobName="lifecycle-2")["TrainingJobStatus"] == "Stopping"
    wait_for(lambda: sm.describe_training_job(TrainingJobName="lifecycle-2")["TrainingJobStatus"] == "Stopped")
    listed = sm.list_training_jobs(NameContains="lifecycle", SortBy="Name", SortOrder="Ascending")["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in listed] == ["Lifecycle-1", "lifecycle-2"]
    assert [j["TrainingJobName"] for j in sm.list_training_jobs(StatusEquals="Stopped")["TrainingJobSummaries"]] == ["lifecycle-2"]
    # Paging with the SDK's paginator.
    for i in range(3):
        sm.create_training_job(**training(f"page-{i}", env.job_role))
    pages = list(sm.get_paginator("list_training_jobs").paginate(NameContains="page", PaginationConfig={"PageSize": 2}))
    assert [len(p["TrainingJobSummaries"]) for p in pages] == [2, 1]
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName="nope")
    assert code(e) in ("ResourceNotFound", "ValidationException")
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("bad_name", env.job_role))
    assert code(e) == "ValidationException" and "regular expression" in message(e)
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("no-such-role", f"arn:aws:iam::{ACCOUNT}:role/Missing"))
    assert code(e) == "ValidationException" and "Could not assume role" in message(e)
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("no-such-key", env.job_role, OutputDataConfig={
            "S3OutputPath": "s3://x/y", "KmsKeyId": "alias/missing"}))
    assert code(e) == "ValidationException"
    # The model's validation runs first (required members).
    unchecked = server.client("sagemaker", parameter_validation=False)
    with pytest.raises(ClientError) as e:
        unchecked.create_training_job(TrainingJobName="incomplete", RoleArn=env.job_role)
    assert code(e) == "ValidationException" and "Member must not be null" in message(e)


def test_other_job_types(server, env):
    sm, role = env.sm, env.job_role
    sm.create_processing_job(ProcessingJobName="prep", RoleArn=role, AppSpecification={"ImageUri": IMAGE},
                             ProcessingResources={"ClusterConfig": RESOURCES})
    sm.create_model(ModelName="m1", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE})
    with pytest.raises(ClientError) as e:
        sm.create_transform_job(TransformJobName="t0", ModelName="missing",
                                TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://a/b"}}},
                                TransformOutput={"S3OutputPath": "s3://a/c"},
                                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    assert code(e) == "ValidationException" and "Could not find model" in message(e)
    sm.create_transform_job(TransformJobName="t1", ModelName="m1",
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://a/b"}}},
                            TransformOutput={"S3OutputPath": "s3://a/c"},
                            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpt",
        HyperParameterTuningJobConfig={"Strategy": "Random", "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1}},
        TrainingJobDefinition={"AlgorithmSpecification": ALGORITHM, "RoleArn": role,
                               "OutputDataConfig": {"S3OutputPath": "s3://a/h"}, "ResourceConfig": RESOURCES,
                               "StoppingCondition": {"MaxRuntimeInSeconds": 600}})
    sm.create_auto_ml_job(AutoMLJobName="automl", RoleArn=role,
                          InputDataConfig=[{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://a/d"}},
                                            "TargetAttributeName": "y"}],
                          OutputDataConfig={"S3OutputPath": "s3://a/e"})
    sm.create_auto_ml_job_v2(AutoMLJobName="automl2", RoleArn=role,
                             AutoMLJobInputDataConfig=[{"ChannelType": "training", "DataSource": {
                                 "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://a/d"}}}],
                             OutputDataConfig={"S3OutputPath": "s3://a/e"},
                             AutoMLProblemTypeConfig={"TabularJobConfig": {"TargetAttributeName": "y"}})
    sm.create_compilation_job(CompilationJobName="neo", RoleArn=role,
                              InputConfig={"S3Uri": "s3://a/model.tar.gz", "Framework": "XGBOOST"},
                              OutputConfig={"S3OutputLocation": "s3://a/compiled", "TargetDevice": "ml_c5"},
                              StoppingCondition={"MaxRuntimeInSeconds": 600})
    assert sm.describe_compilation_job(CompilationJobName="neo")["CompilationJobStatus"] == "INPROGRESS"
    sm.stop_compilation_job(CompilationJobName="neo")
    sm.stop_auto_ml_job(AutoMLJobName="automl")
    wait_for(lambda: sm.describe_processing_job(ProcessingJobName="prep")["ProcessingJobStatus"] == "Completed")
    wait_for(lambda: sm.describe_transform_job(TransformJobName="t1")["TransformJobStatus"] == "Completed")
    wait_for(lambda: sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpt")["HyperParameterTuningJobStatus"] == "Completed")
    wait_for(lambda: sm.describe_compilation_job(CompilationJobName="neo")["CompilationJobStatus"] == "STOPPED")
    wait_for(lambda: sm.describe_auto_ml_job(AutoMLJobName="automl")["AutoMLJobStatus"] == "Stopped")
    wait_for(lambda: sm.describe_auto_ml_job_v2(AutoMLJobName="automl2")["AutoMLJobStatus"] == "Completed")
    assert sm.list_processing_jobs()["ProcessingJobSummaries"][0]["ProcessingJobName"] == "prep"
    assert sm.list_transform_jobs()["TransformJobSummaries"][0]["TransformJobName"] == "t1"
    assert sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"][0][
        "HyperParameterTuningJobName"] == "hpt"
    assert {j["AutoMLJobName"] for j in sm.list_auto_ml_jobs()["AutoMLJobSummaries"]} == {"automl", "automl2"}
    assert sm.list_compilation_jobs()["CompilationJobSummaries"][0]["CompilationJobStatus"] == "STOPPED"


def test_hosting_and_notebook_lifecycle_configs(server, env):
    sm, role = env.sm, env.job_role
    sm.create_model(ModelName="hosted", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE})
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="hosted", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE})
    assert code(e) == "ValidationException" and "already existing model" in message(e)
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="c0", ProductionVariants=[{
            "VariantName": "a", "ModelName": "missing", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    assert code(e) == "ValidationException"
    for name in ("c1", "c2"):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "a", "ModelName": "hosted", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    with pytest.raises(ClientError) as e:
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="c2")
    assert code(e) == "ValidationException"
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep", WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    assert sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="c2")
    wait_for(lambda: sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "c2")
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["ep"]
    sm.delete_endpoint(EndpointName="ep")
    sm.delete_endpoint_config(EndpointConfigName="c1")
    sm.delete_model(ModelName="hosted")
    with pytest.raises(ClientError) as e:
        sm.describe_model(ModelName="hosted")
    assert code(e) == "ValidationException" and "Could not find model" in message(e)
    script = {"Content": "ZWNobyBoZWxsbw=="}
    sm.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc", OnStart=[script])
    sm.update_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc", OnCreate=[script])
    d = sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc")
    assert d["OnCreate"] == [script] and d["OnStart"] == [script]
    sm.create_notebook_instance(NotebookInstanceName="with-lc", InstanceType="ml.t3.medium", RoleArn=role,
                                LifecycleConfigName="lc")
    assert sm.describe_notebook_instance(NotebookInstanceName="with-lc")["NotebookInstanceLifecycleConfigName"] == "lc"
    assert sm.list_notebook_instance_lifecycle_configs()["NotebookInstanceLifecycleConfigs"][0][
        "NotebookInstanceLifecycleConfigName"] == "lc"
    sm.delete_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc")


def test_spaces_and_space_sign_in(server, env):
    sm = env.sm
    net = env.network("10.130.0.0/16")
    role = env.role("StudioRoleSpaces", ALLOW_ALL)
    domain = env.domain(net, role, vpc_only=False)
    env.profile(domain, "owner")
    env.profile(domain, "other")
    sm.create_space(DomainId=domain, SpaceName="private", OwnershipSettings={"OwnerUserProfileName": "owner"},
                    SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": "JupyterLab"})
    sm.create_space(DomainId=domain, SpaceName="shared", SpaceSharingSettings={"SharingType": "Shared"},
                    OwnershipSettings={"OwnerUserProfileName": "owner"})
    spaces = {s["SpaceName"]: s for s in sm.list_spaces(DomainIdEquals=domain)["Spaces"]}
    assert spaces["private"]["SpaceSharingSettingsSummary"] == {"SharingType": "Private"}
    assert spaces["private"]["OwnershipSettingsSummary"] == {"OwnerUserProfileName": "owner"}
    sm.update_space(DomainId=domain, SpaceName="private", SpaceDisplayName="Owner's lab")
    assert sm.describe_space(DomainId=domain, SpaceName="private")["SpaceDisplayName"] == "Owner's lab"
    # DeleteSpace and space apps carry the space's owner and sharing type.
    person = env.person("SpaceKeeper", ALLOW_ALL, {
        "Effect": "Deny", "Action": ["sagemaker:DeleteSpace", "sagemaker:CreateApp"], "Resource": "*",
        "Condition": {"StringEquals": {"sagemaker:SpaceSharingType": "Shared"}}})
    with pytest.raises(ClientError) as e:
        person("sagemaker").delete_space(DomainId=domain, SpaceName="shared")
    denied(e, "sagemaker:DeleteSpace")
    with pytest.raises(ClientError) as e:
        person("sagemaker").create_app(DomainId=domain, SpaceName="shared", AppType="JupyterLab", AppName="default")
    denied(e, "sagemaker:CreateApp")
    person("sagemaker").create_app(DomainId=domain, SpaceName="private", AppType="JupyterLab", AppName="default")
    # A private space opens only for its owner.
    with pytest.raises(ClientError) as e:
        sm.create_presigned_domain_url(DomainId=domain, UserProfileName="other", SpaceName="private")
    assert code(e) == "ValidationException"
    url = sm.create_presigned_domain_url(DomainId=domain, UserProfileName="owner", SpaceName="private")["AuthorizedUrl"]
    r, browser = sign_in(url)
    assert r.status_code == 200 and "private" in r.text
    base = studio_base(url)
    assert browser.put(base + "api/files/space.txt", data=b"space", timeout=10).status_code == 200
    # The space's home is not the owner's own home.
    url = sm.create_presigned_domain_url(DomainId=domain, UserProfileName="owner")["AuthorizedUrl"]
    _, own = sign_in(url)
    assert own.get(base + "api/files", timeout=10).json()["Files"] == []
    with pytest.raises(ClientError) as e:
        sm.delete_space(DomainId=domain, SpaceName="private")
    assert code(e) == "ResourceInUse"
    with pytest.raises(ClientError) as e:
        sm.delete_domain(DomainId=domain)
    assert code(e) == "ResourceInUse"


def test_tags_and_their_condition_keys(server, env):
    sm = env.sm
    arn = sm.create_model(ModelName="tagged", ExecutionRoleArn=env.job_role, PrimaryContainer={"Image": IMAGE},
                          Tags=[{"Key": "team", "Value": "a"}])["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    assert sorted((t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]) == [("stage", "dev"), ("team", "b")]
    sm.delete_tags(ResourceArn=arn, TagKeys=["stage"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "b"}]
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code(e) == "ResourceLimitExceeded"
    with pytest.raises(ClientError) as e:
        sm.list_tags(ResourceArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/missing")
    assert code(e) == "ResourceNotFound"
    # ABAC: team b may touch only team b's resources and tag only with team b.
    person = env.person("TeamB", ALLOW_ALL, {
        "Effect": "Deny", "Action": ["sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:DescribeModel"],
        "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceTag/team": "b"}}}, {
        "Effect": "Deny", "Action": "sagemaker:DeleteTags", "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}}, {
        "Effect": "Deny", "Action": "sagemaker:AddTags", "Resource": "*",
        "Condition": {"StringNotEquals": {"sagemaker:RequestTag/team": "b"}, "Null": {"aws:RequestTag/team": "false"}}})
    b = person("sagemaker")
    assert b.describe_model(ModelName="tagged")["ModelArn"] == arn
    b.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "bea"}])
    with pytest.raises(ClientError) as e:
        b.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "c"}])
    denied(e, "sagemaker:AddTags")
    with pytest.raises(ClientError) as e:
        b.delete_tags(ResourceArn=arn, TagKeys=["team"])
    denied(e, "sagemaker:DeleteTags")
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}])
    with pytest.raises(ClientError) as e:
        b.describe_model(ModelName="tagged")
    denied(e, "sagemaker:DescribeModel")
    # aws-cli, unchanged.
    rc, out, _ = server.cli("sagemaker", "list-tags", "--resource-arn", arn)
    assert {"Key": "owner", "Value": "bea"} in out["Tags"]


def test_tagging_on_create_needs_add_tags(server, env):
    """SageMaker authorizes `sagemaker:AddTags` on a resource a Create* request tags, with
    `sagemaker:TaggingAction` naming the create and the request's tags as condition keys."""
    role = env.job_role
    creator = {"Effect": "Allow", "Action": ["sagemaker:CreateTrainingJob", "sagemaker:CreateModel",
                                             "sagemaker:ListTags", "iam:PassRole"], "Resource": "*"}
    team = [{"Key": "team", "Value": "a"}]
    plain = env.person("CreatorWithoutTagging", creator)
    sm = plain("sagemaker")
    # Without tags the create permission suffices.
    sm.create_training_job(**training("untagged-create", role))
    # With tags, AddTags too.
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("tagged-create", role, Tags=team))
    denied(e, "sagemaker:AddTags", "because no identity-based policy allows the sagemaker:AddTags action")
    assert "training-job/tagged-create" in message(e)
    with pytest.raises(ClientError):
        env.sm.describe_training_job(TrainingJobName="tagged-create")
    rc, _, err = cli_as(server, plain, "sagemaker", "create-model", "--model-name", "cli-tagged",
                        "--execution-role-arn", role, "--primary-container", f"Image={IMAGE}",
                        "--tags", "Key=team,Value=a")
    assert rc != 0 and "AccessDeniedException" in err and "sagemaker:AddTags on resource" in err, err
    # AddTags allowed only while creating training jobs (AWS's documented pattern).
    jobs_only = env.person("CreatorTaggingJobs", creator, {
        "Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": "*",
        "Condition": {"StringEquals": {"sagemaker:TaggingAction": "CreateTrainingJob"}}})
    sm = jobs_only("sagemaker")
    arn = sm.create_training_job(**training("tagged-create", role, Tags=team))["TrainingJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == team
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="tagged-model", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE}, Tags=team)
    denied(e, "sagemaker:AddTags", "because no identity-based policy allows the sagemaker:AddTags action")
    # ... and not on an existing resource (no sagemaker:TaggingAction there).
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    denied(e, "sagemaker:AddTags", "because no identity-based policy allows the sagemaker:AddTags action")
    # The tags are request tags of the AddTags check too.
    team_only = env.person("CreatorTaggingTeamA", creator, {
        "Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "a"},
                      "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}})
    sm = team_only("sagemaker")
    sm.create_model(ModelName="team-a-model", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE}, Tags=team)
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="team-b-model", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE},
                        Tags=[{"Key": "team", "Value": "b"}])
    denied(e, "sagemaker:AddTags", "because no identity-based policy allows the sagemaker:AddTags action")
    # An explicit deny of AddTags denies tagged creates whatever else allows them.
    no_tags = env.person("CreatorNeverTags", ALLOW_ALL, {"Effect": "Deny", "Action": "sagemaker:AddTags", "Resource": "*"})
    with pytest.raises(ClientError) as e:
        no_tags("sagemaker").create_model(ModelName="never-tagged", ExecutionRoleArn=role,
                                          PrimaryContainer={"Image": IMAGE}, Tags=team)
    denied(e, "sagemaker:AddTags")
    no_tags("sagemaker").create_model(ModelName="never-tagged", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE})
    # Tags SageMaker generates (and AWS's namespace) cannot be added or removed by users.
    for tags in ([{"Key": "sagemaker:domain-arn", "Value": "x"}], [{"Key": "aws:cloudformation:stack-name", "Value": "x"}]):
        with pytest.raises(ClientError) as e:
            env.sm.add_tags(ResourceArn=arn, Tags=tags)
        assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        env.sm.delete_tags(ResourceArn=arn, TagKeys=["aws:cloudformation:stack-name"])
    assert code(e) == "ValidationException"
    assert message(e) == "System prefix 'aws:' reserved for AWS usage in tag key: aws:cloudformation:stack-name"
    with pytest.raises(ClientError) as e:
        env.sm.delete_tags(ResourceArn=arn, TagKeys=["sagemaker:user-profile-arn"])
    assert code(e) == "ValidationException"


def test_search(server, env):
    sm = env.sm
    for i, instance in enumerate(["ml.m5.large", "ml.c5.xlarge", "ml.m5.large"]):
        sm.create_training_job(**training(f"search-{i}", env.job_role, ResourceConfig={
            "InstanceType": instance, "InstanceCount": 1, "VolumeSizeInGB": 5},
            Tags=[{"Key": "project", "Value": "churn" if i < 2 else "fraud"}]))
    out = sm.search(Resource="TrainingJob", SearchExpression={"Filters": [
        {"Name": "ResourceConfig.InstanceType", "Operator": "Equals", "Value": "ml.m5.large"},
        {"Name": "Tags.project", "Operator": "Equals", "Value": "churn"}]})
    assert [r["TrainingJob"]["TrainingJobName"] for r in out["Results"]] == ["search-0"]
    assert out["Results"][0]["TrainingJob"]["Tags"] == [{"Key": "project", "Value": "churn"}]
    out = sm.search(Resource="TrainingJob", SortBy="TrainingJobName", SortOrder="Ascending",
                    SearchExpression={"Filters": [{"Name": "TrainingJobName", "Operator": "Contains", "Value": "search-"}]})
    assert [r["TrainingJob"]["TrainingJobName"] for r in out["Results"]] == ["search-0", "search-1", "search-2"]
    # Search is its own action on "*".
    person = env.person("NoSearch", ALLOW_ALL, {"Effect": "Deny", "Action": "sagemaker:Search", "Resource": "*"})
    with pytest.raises(ClientError) as e:
        person("sagemaker").search(Resource="TrainingJob")
    denied(e, "sagemaker:Search")
    assert "on resource: *" in message(e)


def test_state_survives_a_restart(tmp_path):
    data = str(tmp_path / "data")
    server = Server(data_dir=data).start()
    try:
        env = Env(server)
        role = env.role("StudioRoleDurable", ALLOW_ALL)
        net = env.network("10.140.0.0/16")
        domain = env.domain(net, role, vpc_only=False, kms_key=env.key("home"))
        env.profile(domain, "durable")
        server.client("sagemaker").create_training_job(**training("durable-job", role, Tags=[{"Key": "k", "Value": "v"}]))
        url = env.sm.create_presigned_domain_url(DomainId=domain, UserProfileName="durable")["AuthorizedUrl"]
        _, browser = sign_in(url)
        base = studio_base(url)
        assert browser.put(base + "api/files/notes.md", data=b"# kept", timeout=10).status_code == 200
        environment = browser.get(base + "api/environment", timeout=10).json()["Environment"]
        creds = requests.get(environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], timeout=10,
                             headers={"Authorization": environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}).json()
        # Sign-in tokens not yet used, one about to expire, and a notebook instance's.
        unused = env.sm.create_presigned_domain_url(DomainId=domain, UserProfileName="durable")["AuthorizedUrl"]
        short = env.sm.create_presigned_domain_url(DomainId=domain, UserProfileName="durable",
                                                   ExpiresInSeconds=5)["AuthorizedUrl"]
        short_made = time.time()
        env.sm.create_notebook_instance(NotebookInstanceName="durable-notebook", InstanceType="ml.t3.medium",
                                        RoleArn=role)
        wait_for(lambda: env.sm.describe_notebook_instance(
            NotebookInstanceName="durable-notebook")["NotebookInstanceStatus"] == "InService")
        notebook_unused = env.sm.create_presigned_notebook_instance_url(
            NotebookInstanceName="durable-notebook")["AuthorizedUrl"]
        r, notebook_browser = sign_in(env.sm.create_presigned_notebook_instance_url(
            NotebookInstanceName="durable-notebook")["AuthorizedUrl"])
        assert r.status_code == 200
        notebook_tree = r.url
        port = server.endpoint.rsplit(":", 1)[1]
    finally:
        server.stop()
    # Nothing that signs anyone in is stored in the clear.
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(unused).query)["token"][0]
    for name in os.listdir(data):
        path = os.path.join(data, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert token.encode() not in f.read(), name
    server = Server(data_dir=data).start(port=int(port))
    try:
        sm = server.client("sagemaker")
        # Studio sessions survive the restart: the same cookie, the same container credentials
        # endpoint token (its credentials minted again).
        assert browser.get(base + "api/files/notes.md", timeout=10).content == b"# kept"
        again = browser.get(base + "api/environment", timeout=10).json()["Environment"]
        assert again["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        fresh = requests.get(again["AWS_CONTAINER_CREDENTIALS_FULL_URI"], timeout=10,
                             headers={"Authorization": again["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        assert fresh.status_code == 200 and fresh.json()["AccessKeyId"]
        # Unused tokens survive too, still single use; used and expired ones stay refused.
        r, _ = sign_in(unused)
        assert r.status_code == 200, r.text
        for refused in (unused, url):
            r, _ = sign_in(refused)
            assert r.status_code == 403 and "Invalid or Expired Auth Token" in r.text
        time.sleep(max(0.0, short_made + 5.5 - time.time()))
        r, _ = sign_in(short)
        assert r.status_code == 403 and "Invalid or Expired Auth Token" in r.text
        # The same for notebook instances.
        assert notebook_browser.get(notebook_tree, timeout=10).status_code == 200
        r, _ = sign_in(notebook_unused)
        assert r.status_code == 200 and "durable-notebook" in r.text
        assert sm.describe_domain(DomainId=domain)["Status"] == "InService"
        wait_for(lambda: sm.describe_training_job(TrainingJobName="durable-job")["TrainingJobStatus"] == "Completed")
        d = sm.describe_training_job(TrainingJobName="durable-job")
        assert sm.list_tags(ResourceArn=d["TrainingJobArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
        # The home directory is still there, still encrypted under the domain key.
        url = sm.create_presigned_domain_url(DomainId=domain, UserProfileName="durable")["AuthorizedUrl"]
        _, browser = sign_in(url)
        assert browser.get(studio_base(url) + "api/files/notes.md", timeout=10).content == b"# kept"
        # Studio app credentials minted before the restart still tag what they create.
        app = server.client("sagemaker", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                            token=creds["Token"])
        arn = app.create_model(ModelName="from-studio", ExecutionRoleArn=role,
                               PrimaryContainer={"Image": IMAGE})["ModelArn"]
        keys = {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
        assert "sagemaker:domain-arn" in keys
    finally:
        server.stop()


def test_domain_update_and_delete(server, env):
    sm = env.sm
    net = env.network("10.150.0.0/16")
    role = env.role("StudioRoleShortLived", ALLOW_ALL)
    other_role = env.role("StudioRoleReplacement", ALLOW_ALL)
    domain = env.domain(net, role, vpc_only=False)
    env.profile(domain, "leaver")
    url = sm.create_presigned_domain_url(DomainId=domain, UserProfileName="leaver")["AuthorizedUrl"]
    _, browser = sign_in(url)
    assert browser.put(studio_base(url) + "api/files/a.txt", data=b"a", timeout=10).status_code == 200
    # UpdateDomain passes its new role too, and merges settings.
    person = env.person("DomainOperator", {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})
    with pytest.raises(ClientError) as e:
        person("sagemaker").update_domain(DomainId=domain, DefaultUserSettings={"ExecutionRole": other_role})
    denied(e, "iam:PassRole", "because no identity-based policy allows the iam:PassRole action")
    sm.update_domain(DomainId=domain, DefaultUserSettings={"ExecutionRole": other_role})
    assert sm.describe_domain(DomainId=domain)["Status"] == "Updating"
    wait_for(lambda: sm.describe_domain(DomainId=domain)["Status"] == "InService")
    d = sm.describe_domain(DomainId=domain)
    assert d["DefaultUserSettings"]["ExecutionRole"] == other_role
    assert d["DefaultUserSettings"]["SecurityGroups"] == [net["sg"]]
    with pytest.raises(ClientError) as e:
        sm.delete_domain(DomainId=domain, RetentionPolicy={"HomeEfsFileSystem": "Delete"})
    assert code(e) == "ResourceInUse"
    sm.delete_user_profile(DomainId=domain, UserProfileName="leaver")
    sm.delete_domain(DomainId=domain, RetentionPolicy={"HomeEfsFileSystem": "Delete"})
    with pytest.raises(ClientError) as e:
        sm.describe_domain(DomainId=domain)
    assert code(e) == "ResourceNotFound"
    assert domain not in [d["DomainId"] for d in sm.list_domains()["Domains"]]
