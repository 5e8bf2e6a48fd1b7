"""The guardrail policies of the seeds on every SageMaker API, with unchanged boto3 and aws-cli:
jobs must run in a VPC (S6), encryption and isolation on jobs with an SCP on the output key (S7),
notebook instance guardrails (S8), instance types (S9), and PassRole (S12)."""
import json

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION
from test_sagemaker_env import ALLOW_ALL, Env, cli_as, cli_denied, code, denied, doc, message, wait_for

IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"


def merged(base, extra):
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merged(out[k], v)
        else:
            out[k] = v
    return out


def training(name, role, **extra):
    return merged(dict(
        TrainingJobName=name, RoleArn=role,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://sagemaker-data/train/"}}}],
        OutputDataConfig={"S3OutputPath": "s3://sagemaker-data/model-artifacts"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    ), extra)


def processing(name, role, **extra):
    return merged(dict(
        ProcessingJobName=name, RoleArn=role,
        AppSpecification={"ImageUri": IMAGE},
        ProcessingResources={"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    ), extra)


def tuning(name, role, **definition):
    return dict(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={"Strategy": "Bayesian", "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"}},
        TrainingJobDefinition=merged(dict(
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=role, OutputDataConfig={"S3OutputPath": "s3://sagemaker-data/hpt"},
            ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            StoppingCondition={"MaxRuntimeInSeconds": 3600}), definition),
    )


@pytest.fixture(scope="module")
def lab(server):
    env = Env(server)
    role = env.role("StudioRoleJobs", ALLOW_ALL)
    net = env.network("10.90.0.0/16")
    volume_key = env.key("ebs")
    output_key = env.key("s3")
    vpc = {"Subnets": net["subnets"], "SecurityGroupIds": [net["sg"]]}
    return {"env": env, "role": role, "net": net, "vpc": vpc, "volume_key": volume_key, "output_key": output_key}


# ---------------------------------------------------------------------------------------- S6

SEED_001 = {
    "Condition": {"Null": {"sagemaker:VpcSubnets": "true", "sagemaker:VpcSecurityGroup": "true"}},
    "Action": ["sagemaker:CreateNotebookInstance", "sagemaker:CreateHyperParameterTuningJob",
               "sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:CreateModel"],
    "Resource": [f"arn:aws:sagemaker:*:{ACCOUNT}:*"], "Effect": "Deny",
}


def test_s6_jobs_must_run_in_a_vpc(server, lab):
    env, role, vpc, net = lab["env"], lab["role"], lab["vpc"], lab["net"]
    ds = env.person("DataScienceS6", ALLOW_ALL, SEED_001)
    sm = ds("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("no-vpc", role))
    denied(e, "sagemaker:CreateTrainingJob")
    assert message(e).startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/DataScienceS6/")
    assert f"on resource: arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/no-vpc with" in message(e)
    arn = sm.create_training_job(**training("in-vpc", role, VpcConfig=vpc))["TrainingJobArn"]
    assert sm.describe_training_job(TrainingJobName="in-vpc")["VpcConfig"] == vpc
    assert arn.endswith(":training-job/in-vpc")
    # The other actions of the statement.
    with pytest.raises(ClientError) as e:
        sm.create_processing_job(**processing("no-vpc", role))
    denied(e, "sagemaker:CreateProcessingJob")
    sm.create_processing_job(**processing("in-vpc", role, NetworkConfig={"VpcConfig": vpc}))
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**tuning("no-vpc", role))
    denied(e, "sagemaker:CreateHyperParameterTuningJob")
    sm.create_hyper_parameter_tuning_job(**tuning("in-vpc", role, VpcConfig=vpc))
    container = {"Image": IMAGE, "ModelDataUrl": "s3://sagemaker-data/model.tar.gz"}
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="no-vpc", ExecutionRoleArn=role, PrimaryContainer=container)
    denied(e, "sagemaker:CreateModel")
    sm.create_model(ModelName="in-vpc", ExecutionRoleArn=role, PrimaryContainer=container, VpcConfig=vpc)
    with pytest.raises(ClientError) as e:
        sm.create_notebook_instance(NotebookInstanceName="no-vpc", InstanceType="ml.t3.medium", RoleArn=role)
    denied(e, "sagemaker:CreateNotebookInstance")
    sm.create_notebook_instance(NotebookInstanceName="in-vpc", InstanceType="ml.t3.medium", RoleArn=role,
                                SubnetId=net["subnets"][0], SecurityGroupIds=[net["sg"]])
    # aws-cli, unchanged.
    key, secret, token = ds.credentials
    job = training("cli-no-vpc", role)
    rc, _, err = server.cli("sagemaker", "create-training-job", "--cli-input-json", json.dumps(job),
                            access_key=key, secret=secret, token=token, check=False)
    assert rc != 0 and "AccessDeniedException" in err and "explicit deny in an identity-based policy" in err
    job = training("cli-in-vpc", role, VpcConfig=vpc)
    rc, out, err = server.cli("sagemaker", "create-training-job", "--cli-input-json", json.dumps(job),
                              access_key=key, secret=secret, token=token)
    assert out["TrainingJobArn"].endswith(":training-job/cli-in-vpc")


def test_s6_vpc_configuration_is_validated(server, lab):
    env, role = lab["env"], lab["role"]
    other = env.network("10.91.0.0/16")
    with pytest.raises(ClientError) as e:
        env.sm.create_training_job(**training("mixed", role, VpcConfig={
            "Subnets": lab["net"]["subnets"], "SecurityGroupIds": [other["sg"]]}))
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        env.sm.create_training_job(**training("ghost", role, VpcConfig={
            "Subnets": ["subnet-00000000000000000"], "SecurityGroupIds": [lab["net"]["sg"]]}))
    assert code(e) == "ValidationException" and "does not exist" in message(e)


# ---------------------------------------------------------------------------------------- S7

def test_s7_encryption_and_isolation_guardrails(server, lab):
    env, role, vpc = lab["env"], lab["role"], lab["vpc"]
    cases = [
        ("VolumeKmsKey", {"Null": {"sagemaker:VolumeKmsKey": "true"}},
         {"ResourceConfig": {"VolumeKmsKeyId": lab["volume_key"]}}),
        ("InterContainerTrafficEncryption", {"Bool": {"sagemaker:InterContainerTrafficEncryption": "false"}},
         {"EnableInterContainerTrafficEncryption": True}),
        ("NetworkIsolation", {"Bool": {"sagemaker:NetworkIsolation": "false"}},
         {"EnableNetworkIsolation": True}),
    ]
    for i, (name, condition, setting) in enumerate(cases):
        person = env.person(f"DataScienceS7{name}", ALLOW_ALL, {
            "Effect": "Deny", "Action": ["sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"],
            "Resource": "*", "Condition": condition})
        sm = person("sagemaker")
        with pytest.raises(ClientError) as e:
            sm.create_training_job(**training(f"s7-{i}-without", role, VpcConfig=vpc))
        denied(e, "sagemaker:CreateTrainingJob")
        sm.create_training_job(**training(f"s7-{i}-with", role, VpcConfig=vpc, **setting))
        with pytest.raises(ClientError) as e:
            sm.create_hyper_parameter_tuning_job(**tuning(f"s7-{i}-without", role))
        denied(e, "sagemaker:CreateHyperParameterTuningJob")
        sm.create_hyper_parameter_tuning_job(**tuning(f"s7-{i}-with", role, **setting))
        cli_denied(cli_as(server, person, "sagemaker", "create-training-job", "--cli-input-json",
                          json.dumps(training(f"s7-{i}-cli", role, VpcConfig=vpc))), "sagemaker:CreateTrainingJob")
        rc, out, err = cli_as(server, person, "sagemaker", "create-training-job", "--cli-input-json",
                              json.dumps(training(f"s7-{i}-cli", role, VpcConfig=vpc, **setting)))
        assert rc == 0 and out["TrainingJobArn"].endswith(f"training-job/s7-{i}-cli"), err
    d = env.sm.describe_training_job(TrainingJobName="s7-2-with")
    assert d["EnableNetworkIsolation"] is True and d["EnableInterContainerTrafficEncryption"] is False


def test_s7_scp_on_the_output_key(server, lab):
    """004: an SCP on the member account denies training jobs whose output is not encrypted with
    the designated key."""
    orgs = server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]
    member = orgs.create_account(Email="ds@example.com", AccountName="data-science")["CreateAccountStatus"]["AccountId"]
    orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    env = lab["env"]
    c = env.sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                            RoleSessionName="ml")["Credentials"]

    def client(service):
        return server.client(service, access_key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])

    iam = client("iam")
    role = iam.create_role(RoleName="SageMakerExecution", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                               "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    kms = client("kms")
    key = kms.create_key(Description="designated output key")["KeyMetadata"]["Arn"]
    other = kms.create_key(Description="some other key")["KeyMetadata"]["Arn"]
    assert f":{member}:key/" in key
    scp = orgs.create_policy(Name="sagemaker-output-key", Type="SERVICE_CONTROL_POLICY", Description="004",
                             Content=doc({"Effect": "Deny", "Action": ["sagemaker:CreateTrainingJob"], "Resource": "*",
                                          "Condition": {"ArnNotEquals": {"sagemaker:OutputKmsKey": [key]}}}))
    orgs.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=member)
    sm = client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("no-output-key", role))
    denied(e, "sagemaker:CreateTrainingJob", "with an explicit deny in a service control policy")
    assert f"arn:aws:sagemaker:{REGION}:{member}:training-job/no-output-key" in message(e)
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**training("other-key", role, OutputDataConfig={"KmsKeyId": other}))
    denied(e, "sagemaker:CreateTrainingJob", "with an explicit deny in a service control policy")
    arn = sm.create_training_job(**training("designated-key", role, OutputDataConfig={"KmsKeyId": key}))["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:{member}:training-job/designated-key"
    # The management account is not bound by SCPs.
    env.sm.create_training_job(**training("management-no-key", lab["role"]))


# ---------------------------------------------------------------------------------------- S8

def test_s8_notebook_guardrails(server, lab):
    env, role, net = lab["env"], lab["role"], lab["net"]
    guarded = env.person("NotebookCreator", ALLOW_ALL,
                         {"Sid": "DenyRootAccess", "Effect": "Deny",
                          "Action": ["sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"],
                          "Resource": "*", "Condition": {"StringEquals": {"sagemaker:RootAccess": ["Enabled"]}}},
                         {"Sid": "PreventDirectInternet", "Effect": "Deny", "Action": "sagemaker:CreateNotebookInstance",
                          "Resource": "*", "Condition": {"StringEquals": {"sagemaker:DirectInternetAccess": ["Enabled"]}}},
                         {"Sid": "SageMakerNotebookVolumeEncryption", "Effect": "Deny",
                          "Action": ["sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"],
                          "Resource": "*", "Condition": {"Null": {"sagemaker:VolumeKmsKey": "true"}}})
    sm = guarded("sagemaker")
    ok = dict(InstanceType="ml.t3.medium", RoleArn=role, RootAccess="Disabled", DirectInternetAccess="Disabled",
              KmsKeyId=lab["volume_key"], SubnetId=net["subnets"][0], SecurityGroupIds=[net["sg"]])
    # AWS's defaults (root access and direct internet access enabled) are what the keys carry.
    for name, change in [("defaults", {"RootAccess": None, "DirectInternetAccess": None, "SubnetId": None,
                                       "SecurityGroupIds": None}),
                         ("root", {"RootAccess": "Enabled"}),
                         ("internet", {"DirectInternetAccess": "Enabled"}),
                         ("unencrypted", {"KmsKeyId": None})]:
        args = {k: v for k, v in {**ok, **change}.items() if v is not None}
        with pytest.raises(ClientError) as e:
            sm.create_notebook_instance(NotebookInstanceName=f"nb-{name}", **args)
        denied(e, "sagemaker:CreateNotebookInstance")
    cli_denied(cli_as(server, guarded, "sagemaker", "create-notebook-instance", "--notebook-instance-name", "nb-cli",
                      "--instance-type", "ml.t3.medium", "--role-arn", role), "sagemaker:CreateNotebookInstance")
    arn = sm.create_notebook_instance(NotebookInstanceName="nb-guarded", **ok)["NotebookInstanceArn"]
    d = env.sm.describe_notebook_instance(NotebookInstanceName="nb-guarded")
    assert d["NotebookInstanceArn"] == arn and d["RootAccess"] == "Disabled" and d["KmsKeyId"] == lab["volume_key"]
    assert d["SecurityGroups"] == [net["sg"]] and d["DirectInternetAccess"] == "Disabled"
    # SageMaker took a grant on the volume key, as the caller.
    assert any(g.get("Name") == "nb-guarded" for g in env.kms.list_grants(KeyId=lab["volume_key"])["Grants"])
    wait_for(lambda: env.sm.describe_notebook_instance(NotebookInstanceName="nb-guarded")["NotebookInstanceStatus"] == "InService")
    env.sm.stop_notebook_instance(NotebookInstanceName="nb-guarded")
    wait_for(lambda: env.sm.describe_notebook_instance(NotebookInstanceName="nb-guarded")["NotebookInstanceStatus"] == "Stopped")
    # UpdateNotebookInstance has no sagemaker:VolumeKmsKey: "Null ... true" always matches it.
    with pytest.raises(ClientError) as e:
        sm.update_notebook_instance(NotebookInstanceName="nb-guarded", VolumeSizeInGB=10)
    denied(e, "sagemaker:UpdateNotebookInstance")
    root_only = env.person("NotebookUpdater", ALLOW_ALL, {
        "Effect": "Deny", "Action": ["sagemaker:UpdateNotebookInstance"], "Resource": "*",
        "Condition": {"StringEquals": {"sagemaker:RootAccess": ["Enabled"]}}})
    with pytest.raises(ClientError) as e:
        root_only("sagemaker").update_notebook_instance(NotebookInstanceName="nb-guarded", RootAccess="Enabled")
    denied(e, "sagemaker:UpdateNotebookInstance")
    root_only("sagemaker").update_notebook_instance(NotebookInstanceName="nb-guarded", VolumeSizeInGB=10)
    wait_for(lambda: env.sm.describe_notebook_instance(NotebookInstanceName="nb-guarded")["NotebookInstanceStatus"] == "Stopped")
    assert env.sm.describe_notebook_instance(NotebookInstanceName="nb-guarded")["VolumeSizeInGB"] == 10
    # Lifecycle rules: an instance in service cannot be deleted.
    env.sm.start_notebook_instance(NotebookInstanceName="nb-guarded")
    with pytest.raises(ClientError) as e:
        env.sm.delete_notebook_instance(NotebookInstanceName="nb-guarded")
    assert code(e) == "ValidationException" and "Unable to transition to (Deleting)" in message(e)


# ---------------------------------------------------------------------------------------- S9

def test_s9_instance_types(server, lab):
    env, role = lab["env"], lab["role"]
    person = env.person("Deployer", ALLOW_ALL,
                        {"Sid": "LimitSageMakerModelEndpointInstances", "Effect": "Deny",
                         "Action": ["sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig"], "Resource": "*",
                         "Condition": {"ForAnyValue:StringNotLike": {"sagemaker:InstanceTypes": ["ml.c5.large", "ml.m5.large"]}}},
                        {"Sid": "LimitSageMakerNotebookInstanceTypes", "Effect": "Deny",
                         "Action": ["sagemaker:CreateNotebookInstance"], "Resource": "*",
                         "Condition": {"ForAnyValue:StringNotLike": {
                             "sagemaker:InstanceTypes": ["ml.c5.large", "ml.m5.large", "ml.t3.medium"]}}})
    sm = person("sagemaker")
    sm.create_model(ModelName="churn", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://sagemaker-data/model.tar.gz"})

    def variant(name, instance):
        return {"VariantName": name, "ModelName": "churn", "InstanceType": instance, "InitialInstanceCount": 1}

    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="gpu", ProductionVariants=[variant("a", "ml.p3.2xlarge")])
    denied(e, "sagemaker:CreateEndpointConfig")
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="mixed", ProductionVariants=[
            variant("a", "ml.c5.large"), variant("b", "ml.g4dn.xlarge")])
    denied(e, "sagemaker:CreateEndpointConfig")
    cli_denied(cli_as(server, person, "sagemaker", "create-endpoint-config", "--endpoint-config-name", "gpu-cli",
                      "--production-variants", json.dumps([variant("a", "ml.p3.2xlarge")])),
               "sagemaker:CreateEndpointConfig")
    sm.create_endpoint_config(EndpointConfigName="cpu", ProductionVariants=[
        variant("a", "ml.c5.large"), variant("b", "ml.m5.large")])
    # CreateEndpoint carries no sagemaker:InstanceTypes (AWS lists none for it): the
    # endpoint-config statement is what limits what an endpoint runs on.
    arn = sm.create_endpoint(EndpointName="churn", EndpointConfigName="cpu")["EndpointArn"]
    wait_for(lambda: env.sm.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService")
    d = env.sm.describe_endpoint(EndpointName="churn")
    assert d["EndpointArn"] == arn and [v["VariantName"] for v in d["ProductionVariants"]] == ["a", "b"]
    with pytest.raises(ClientError) as e:
        sm.create_notebook_instance(NotebookInstanceName="gpu-nb", InstanceType="ml.p3.2xlarge", RoleArn=role)
    denied(e, "sagemaker:CreateNotebookInstance")
    sm.create_notebook_instance(NotebookInstanceName="cpu-nb", InstanceType="ml.t3.medium", RoleArn=role)


# ---------------------------------------------------------------------------------------- S12

def test_s12_passrole_escalation_demonstrated_then_blocked(server, lab):
    env = lab["env"]
    s3 = server.client("s3")
    s3.create_bucket(Bucket="hr-payroll")
    s3.put_object(Bucket="hr-payroll", Key="salaries.csv", Body=b"name,salary\nana,100\n")
    s3.create_bucket(Bucket="sagemaker-ds-output")
    admin_role = env.role("AdminRole", ALLOW_ALL)
    studio_role = env.role("StudioRoleDataScienceJobs",
                           {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*sagemaker*"})
    data_science = [
        {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::*sagemaker*", "arn:aws:s3:::*sagemaker*/*"]},
    ]
    job = dict(
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": "dump", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://hr-payroll/"}}}],
        OutputDataConfig={"S3OutputPath": "s3://sagemaker-ds-output/dump"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    # The user cannot read the payroll bucket...
    loose = env.person("DataScienceLoosePassRole", *data_science,
                       {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    with pytest.raises(ClientError) as e:
        loose("s3").get_object(Bucket="hr-payroll", Key="salaries.csv")
    assert code(e) == "AccessDenied"
    # ...but with PassRole on every role, a job that runs as the admin role and reads the bucket
    # into the user's own output bucket is accepted: the escalation of seed 002 step 7.
    arn = loose("sagemaker").create_training_job(TrainingJobName="dump-payroll", RoleArn=admin_role, **job)["TrainingJobArn"]
    d = env.sm.describe_training_job(TrainingJobName="dump-payroll")
    assert d["TrainingJobArn"] == arn and d["RoleArn"] == admin_role
    assert d["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://hr-payroll/"
    # The fix: PassRole only for *StudioRole* roles, only to SageMaker.
    data_scientist = env.person("DataScience", *data_science, {
        "Sid": "PassModelExecutionRole", "Effect": "Allow", "Action": "iam:PassRole",
        "Resource": [f"arn:aws:iam::{ACCOUNT}:role/*StudioRole*"],
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}})
    sm = data_scientist("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_training_job(TrainingJobName="dump-payroll-2", RoleArn=admin_role, **job)
    denied(e, "iam:PassRole", "because no identity-based policy allows the iam:PassRole action")
    assert f"on resource: {admin_role} " in message(e)
    with pytest.raises(ClientError):
        env.sm.describe_training_job(TrainingJobName="dump-payroll-2")
    cli_denied(cli_as(server, data_scientist, "sagemaker", "create-training-job", "--cli-input-json",
                      json.dumps(dict(TrainingJobName="dump-payroll-3", RoleArn=admin_role, **job))), "iam:PassRole")
    # The same for every API that passes a role.
    container = {"Image": IMAGE, "ModelDataUrl": "s3://sagemaker-ds-output/model.tar.gz"}
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="admin-model", ExecutionRoleArn=admin_role, PrimaryContainer=container)
    denied(e, "iam:PassRole", "because no identity-based policy allows the iam:PassRole action")
    with pytest.raises(ClientError) as e:
        sm.create_processing_job(**processing("admin-processing", admin_role))
    denied(e, "iam:PassRole", "because no identity-based policy allows the iam:PassRole action")
    with pytest.raises(ClientError) as e:
        sm.create_notebook_instance(NotebookInstanceName="admin-nb", InstanceType="ml.t3.medium", RoleArn=admin_role)
    denied(e, "iam:PassRole", "because no identity-based policy allows the iam:PassRole action")
    # A StudioRole role passes.
    sm.create_training_job(TrainingJobName="allowed", RoleArn=studio_role,
                           **merged(job, {"InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                               "S3DataType": "S3Prefix", "S3Uri": "s3://sagemaker-ds-output/train/"}}}]}))
    # iam:AssociatedResourceArn names the resource the role is passed for.
    scoped = env.person("DataScienceScoped", *data_science, {
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": studio_role,
        "Condition": {"ArnLike": {"iam:AssociatedResourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/team-a-*"}}})
    scoped("sagemaker").create_training_job(TrainingJobName="team-a-1", RoleArn=studio_role, **job)
    with pytest.raises(ClientError) as e:
        scoped("sagemaker").create_training_job(TrainingJobName="team-b-1", RoleArn=studio_role, **job)
    denied(e, "iam:PassRole", "because no identity-based policy allows the iam:PassRole action")
    # A role SageMaker cannot assume is refused as AWS refuses it.
    ec2_role = env.role("StudioRoleForEc2", ALLOW_ALL, trust={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    with pytest.raises(ClientError) as e:
        sm.create_training_job(TrainingJobName="wrong-trust", RoleArn=ec2_role, **job)
    assert code(e) == "ValidationException" and "Could not assume role" in message(e)
