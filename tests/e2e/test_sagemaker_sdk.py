"""Seed 001's notebook flow with the SageMaker Python SDK (v2 API), pointed at Perimeter through a
boto3 session: the Estimator's training job is denied without a VPC with the same
AccessDeniedException the seed shows, and created with subnets, security groups, inter-container
traffic encryption and KMS keys for the volumes and the output."""
import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION
from test_sagemaker_env import ALLOW_ALL, Env, code, denied, message

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK (tests/requirements.txt)")

SEED_001 = {
    "Condition": {"Null": {"sagemaker:VpcSubnets": "true", "sagemaker:VpcSecurityGroup": "true"}},
    "Action": ["sagemaker:CreateNotebookInstance", "sagemaker:CreateHyperParameterTuningJob",
               "sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:CreateModel"],
    "Resource": [f"arn:aws:sagemaker:*:{ACCOUNT}:*"], "Effect": "Deny",
}


@pytest.fixture()
def notebook(server, monkeypatch):
    """What the seed's notebook has: a session of the data-science role, an execution role, a
    VPC, and KMS keys for EBS and S3."""
    env = Env(server)
    role = env.role("StudioRoleSageMakerExecution", ALLOW_ALL)
    ds = env.person("DataScienceNotebook", ALLOW_ALL, SEED_001)
    net = env.network("10.120.0.0/16")
    key, secret, token = ds.credentials
    # Any client the SDK makes on its own also goes to Perimeter, never to AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    boto_session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                 aws_session_token=token, region_name=REGION)
    session = sagemaker.Session(boto_session=boto_session,
                                sagemaker_client=boto_session.client("sagemaker", endpoint_url=server.endpoint))
    return {"env": env, "role": role, "net": net, "session": session,
            "ebs": env.key("ebs"), "s3": env.key("s3"), "bucket": "sagemaker-seed-001"}


def test_seed_001_estimator_needs_a_vpc(server, notebook):
    from sagemaker.inputs import TrainingInput
    from sagemaker.network import NetworkConfig

    session = notebook["session"]
    bucket, prefix = notebook["bucket"], "reorder"
    container_uri = sagemaker.image_uris.retrieve(region=REGION, framework="xgboost", version="1.0-1",
                                                  image_scope="training")
    assert container_uri.endswith("/sagemaker-xgboost:1.0-1-cpu-py3")
    train = TrainingInput(f"s3://{bucket}/{prefix}/train", content_type="text/csv")
    validation = TrainingInput(f"s3://{bucket}/{prefix}/validation", content_type="text/csv")
    common = dict(image_uri=container_uri, role=notebook["role"], instance_count=2, instance_type="ml.m5.xlarge",
                  output_path=f"s3://{bucket}/{prefix}/model-artifacts", sagemaker_session=session,
                  base_job_name="reorder-classifier", volume_kms_key=notebook["ebs"], output_kms_key=notebook["s3"])
    xgb = sagemaker.estimator.Estimator(**common)
    xgb.set_hyperparameters(objective="binary:logistic", num_round=100)
    with pytest.raises(ClientError) as e:
        xgb.fit({"train": train, "validation": validation}, wait=False)
    denied(e, "sagemaker:CreateTrainingJob")
    assert message(e).startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/DataScienceNotebook/")
    assert f"training-job/reorder-classifier-" in message(e)

    net = notebook["net"]
    network_config = NetworkConfig(enable_network_isolation=False, security_group_ids=[net["sg"]],
                                   subnets=net["subnets"], encrypt_inter_container_traffic=True)
    xgb = sagemaker.estimator.Estimator(
        subnets=network_config.subnets, security_group_ids=network_config.security_group_ids,
        encrypt_inter_container_traffic=network_config.encrypt_inter_container_traffic,
        enable_network_isolation=network_config.enable_network_isolation, **common)
    xgb.set_hyperparameters(objective="binary:logistic", num_round=100)
    xgb.fit({"train": train, "validation": validation}, wait=False)
    name = xgb.latest_training_job.name
    d = notebook["env"].sm.describe_training_job(TrainingJobName=name)
    assert d["TrainingJobStatus"] == "InProgress"
    assert d["VpcConfig"] == {"Subnets": net["subnets"], "SecurityGroupIds": [net["sg"]]}
    assert d["EnableInterContainerTrafficEncryption"] is True
    assert d["ResourceConfig"]["VolumeKmsKeyId"] == notebook["ebs"]
    assert d["OutputDataConfig"]["KmsKeyId"] == notebook["s3"]
    assert d["HyperParameters"]["num_round"] == "100"
    assert [c["ChannelName"] for c in d["InputDataConfig"]] == ["train", "validation"]
    # The SDK follows the job like in AWS.
    xgb.latest_training_job.wait(logs=False)
    assert xgb.latest_training_job.describe()["TrainingJobStatus"] == "Completed"
    assert xgb.model_data == f"s3://{bucket}/{prefix}/model-artifacts/{name}/output/model.tar.gz"
