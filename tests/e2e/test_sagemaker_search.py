"""SageMaker Search with unchanged boto3 and aws-cli: every resource type AWS can search that
Perimeter keeps (training jobs, hyperparameter tuning jobs, endpoints, models as the Model
Dashboard shows them), every filter operator, nested filters, subexpressions, tag properties,
sorting, paging, AWS's validation errors, and its authorization (`sagemaker:Search` on `*`,
visibility conditions as condition keys)."""
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION
from test_sagemaker_env import ALLOW_ALL, Env, cli_as, code, denied, message, wait_for

IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"
ALGORITHM = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}


def channel(name, uri):
    return {"ChannelName": name, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}


@pytest.fixture(scope="module")
def data(server):
    """Training jobs, a tuning job, models, endpoint configurations, endpoints and a batch
    transform job to search, made by the root user."""
    env = Env(server)
    role = env.role("SearchRole", ALLOW_ALL)
    net = env.network("10.210.0.0/16")
    sm = env.sm
    jobs = [
        # name, instance type, count, eta, team, channels
        ("churn-xgb-1", "ml.m5.large", 1, "0.3", "a", ["train", "validation"]),
        ("churn-xgb-2", "ml.m5.xlarge", 2, "0.1", "a", ["train"]),
        ("fraud-xgb-1", "ml.c5.xlarge", 4, "0.25", "b", ["train", "test"]),
    ]
    for name, instance, count, eta, team, channels in jobs:
        extra = {}
        if team == "b":
            extra["VpcConfig"] = {"Subnets": net["subnets"], "SecurityGroupIds": [net["sg"]]}
        sm.create_training_job(
            TrainingJobName=name, RoleArn=role, AlgorithmSpecification=ALGORITHM,
            HyperParameters={"eta": eta, "max_depth": "6", "objective": "binary:logistic"},
            InputDataConfig=[channel(c, f"s3://search-data/{name}/{c}") for c in channels],
            OutputDataConfig={"S3OutputPath": "s3://search-data/out"},
            ResourceConfig={"InstanceType": instance, "InstanceCount": count, "VolumeSizeInGB": 5},
            StoppingCondition={"MaxRuntimeInSeconds": 600},
            Tags=[{"Key": "team", "Value": team}, {"Key": "project", "Value": name.split("-")[0]}], **extra)
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="churn-tuning",
        HyperParameterTuningJobConfig={"Strategy": "Bayesian", "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}},
        TrainingJobDefinition={"AlgorithmSpecification": ALGORITHM, "RoleArn": role,
                               "OutputDataConfig": {"S3OutputPath": "s3://search-data/hpo"},
                               "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                                  "VolumeSizeInGB": 5},
                               "StoppingCondition": {"MaxRuntimeInSeconds": 600}},
        Tags=[{"Key": "team", "Value": "a"}])
    for name, team in (("churn-model", "a"), ("fraud-model", "b"), ("idle-model", "b")):
        sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE},
                        Tags=[{"Key": "team", "Value": team}])
    for config, model in (("churn-config", "churn-model"), ("fraud-config", "fraud-model")):
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "main", "ModelName": model, "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="churn-endpoint", EndpointConfigName="churn-config",
                       Tags=[{"Key": "team", "Value": "a"}])
    sm.create_endpoint(EndpointName="fraud-endpoint", EndpointConfigName="fraud-config",
                       Tags=[{"Key": "team", "Value": "b"}])
    sm.create_transform_job(
        TransformJobName="churn-batch", ModelName="churn-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://search-data/in"}}},
        TransformOutput={"S3OutputPath": "s3://search-data/scored"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    wait_for(lambda: sm.describe_endpoint(EndpointName="fraud-endpoint")["EndpointStatus"] == "InService")
    return {"env": env, "role": role, "net": net}


def names(out, member="TrainingJob", name="TrainingJobName"):
    return [r[member][name] for r in out["Results"]]


def search_jobs(sm, *filters, **kw):
    return sm.search(Resource="TrainingJob", SearchExpression={"Filters": list(filters)},
                     SortBy="TrainingJobName", SortOrder="Ascending", **kw)


def test_every_operator(server, data):
    sm = data["env"].sm
    cases = [
        ({"Name": "TrainingJobName", "Operator": "Equals", "Value": "churn-xgb-1"}, ["churn-xgb-1"]),
        ({"Name": "TrainingJobName", "Value": "churn-xgb-2"}, ["churn-xgb-2"]),
        ({"Name": "TrainingJobName", "Operator": "NotEquals", "Value": "churn-xgb-1"}, ["churn-xgb-2", "fraud-xgb-1"]),
        ({"Name": "TrainingJobName", "Operator": "Contains", "Value": "churn"}, ["churn-xgb-1", "churn-xgb-2"]),
        ({"Name": "ResourceConfig.InstanceType", "Operator": "In", "Value": "ml.m5.large,ml.c5.xlarge"},
         ["churn-xgb-1", "fraud-xgb-1"]),
        ({"Name": "ResourceConfig.InstanceCount", "Operator": "GreaterThan", "Value": "1"}, ["churn-xgb-2", "fraud-xgb-1"]),
        ({"Name": "ResourceConfig.InstanceCount", "Operator": "GreaterThanOrEqualTo", "Value": "4"}, ["fraud-xgb-1"]),
        ({"Name": "ResourceConfig.InstanceCount", "Operator": "LessThan", "Value": "2"}, ["churn-xgb-1"]),
        ({"Name": "ResourceConfig.InstanceCount", "Operator": "LessThanOrEqualTo", "Value": "2"}, ["churn-xgb-1", "churn-xgb-2"]),
        ({"Name": "VpcConfig.Subnets", "Operator": "Exists"}, ["fraud-xgb-1"]),
        ({"Name": "VpcConfig", "Operator": "NotExists"}, ["churn-xgb-1", "churn-xgb-2"]),
        ({"Name": "Tags.team", "Operator": "Equals", "Value": "a"}, ["churn-xgb-1", "churn-xgb-2"]),
        ({"Name": "Tags.owner", "Operator": "NotExists"}, ["churn-xgb-1", "churn-xgb-2", "fraud-xgb-1"]),
        ({"Name": "HyperParameters.eta", "Operator": "LessThan", "Value": "0.26"}, ["churn-xgb-2", "fraud-xgb-1"]),
        ({"Name": "HyperParameters.objective", "Operator": "Equals", "Value": "binary:logistic"},
         ["churn-xgb-1", "churn-xgb-2", "fraud-xgb-1"]),
        ({"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "validation"}, ["churn-xgb-1"]),
        ({"Name": "CreationTime", "Operator": "GreaterThan", "Value": "2020-01-01T00:00:00"},
         ["churn-xgb-1", "churn-xgb-2", "fraud-xgb-1"]),
        ({"Name": "CreationTime", "Operator": "LessThan", "Value": "2020-01-01T00:00:00"}, []),
        ({"Name": "EnableNetworkIsolation", "Operator": "Equals", "Value": "false"},
         ["churn-xgb-1", "churn-xgb-2", "fraud-xgb-1"]),
    ]
    for f, want in cases:
        assert names(search_jobs(sm, f)) == want, f


def test_nested_filters_and_subexpressions(server, data):
    sm = data["env"].sm
    # One channel must satisfy both: churn-xgb-1 has a validation channel under its own prefix.
    nested = {"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
        {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "test"},
        {"Name": "InputDataConfig.DataSource.S3DataSource.S3Uri", "Operator": "Contains", "Value": "fraud"}]}]}
    assert names(sm.search(Resource="TrainingJob", SearchExpression=nested)) == ["fraud-xgb-1"]
    mismatched = {"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
        {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "test"},
        {"Name": "InputDataConfig.DataSource.S3DataSource.S3Uri", "Operator": "Contains", "Value": "/train"}]}]}
    assert names(sm.search(Resource="TrainingJob", SearchExpression=mismatched)) == []
    # (team a AND 2 instances) OR team b
    expression = {"Operator": "Or", "SubExpressions": [
        {"Filters": [{"Name": "Tags.team", "Operator": "Equals", "Value": "a"},
                     {"Name": "ResourceConfig.InstanceCount", "Operator": "Equals", "Value": "2"}]},
        {"Filters": [{"Name": "Tags.team", "Operator": "Equals", "Value": "b"}]}]}
    out = sm.search(Resource="TrainingJob", SearchExpression=expression, SortBy="TrainingJobName",
                    SortOrder="Ascending")
    assert names(out) == ["churn-xgb-2", "fraud-xgb-1"]
    # A result is the training job as DescribeTrainingJob shows it, with its tags.
    job = out["Results"][0]["TrainingJob"]
    assert job["TrainingJobArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/churn-xgb-2"
    assert job["HyperParameters"]["eta"] == "0.1"
    assert {"Key": "team", "Value": "a"} in job["Tags"]


def test_sorting_paging_and_total_hits(server, data):
    sm = data["env"].sm
    everything = {"Filters": [{"Name": "TrainingJobName", "Operator": "Exists"}]}
    # The default order is LastModifiedTime, descending: newest first.
    out = sm.search(Resource="TrainingJob", SearchExpression=everything)
    assert names(out) == ["fraud-xgb-1", "churn-xgb-2", "churn-xgb-1"]
    assert out["TotalHits"] == {"Value": 3, "Relation": "EqualTo"}
    out = sm.search(Resource="TrainingJob", SearchExpression=everything, SortBy="ResourceConfig.InstanceCount",
                    SortOrder="Descending")
    assert names(out) == ["fraud-xgb-1", "churn-xgb-2", "churn-xgb-1"]
    # Paging, by hand and with the SDK's paginator.
    first = sm.search(Resource="TrainingJob", SortBy="TrainingJobName", SortOrder="Ascending", MaxResults=2)
    assert names(first) == ["churn-xgb-1", "churn-xgb-2"] and "NextToken" in first
    second = sm.search(Resource="TrainingJob", SortBy="TrainingJobName", SortOrder="Ascending", MaxResults=2,
                       NextToken=first["NextToken"])
    assert names(second) == ["fraud-xgb-1"] and "NextToken" not in second
    pages = list(sm.get_paginator("search").paginate(Resource="TrainingJob", PaginationConfig={"PageSize": 1}))
    assert sorted(n for p in pages for n in names(p)) == ["churn-xgb-1", "churn-xgb-2", "fraud-xgb-1"]
    with pytest.raises(ClientError) as e:
        sm.search(Resource="TrainingJob", NextToken="not-a-token")
    assert code(e) == "ValidationException"


def test_tuning_jobs_endpoints_and_models(server, data):
    sm = data["env"].sm
    out = sm.search(Resource="HyperParameterTuningJob", SearchExpression={"Filters": [
        {"Name": "HyperParameterTuningJobConfig.Strategy", "Operator": "Equals", "Value": "Bayesian"}]})
    [tuning] = [r["HyperParameterTuningJob"] for r in out["Results"]]
    assert tuning["HyperParameterTuningJobName"] == "churn-tuning" and tuning["Tags"] == [{"Key": "team", "Value": "a"}]
    out = sm.search(Resource="Endpoint", SearchExpression={"Filters": [
        {"Name": "Tags.team", "Operator": "Equals", "Value": "b"},
        {"Name": "EndpointStatus", "Operator": "Equals", "Value": "InService"}]})
    [endpoint] = [r["Endpoint"] for r in out["Results"]]
    assert endpoint["EndpointName"] == "fraud-endpoint" and endpoint["EndpointConfigName"] == "fraud-config"
    # Models are Model Dashboard records: the model, its endpoints, its last batch transform job.
    out = sm.search(Resource="Model", SearchExpression={"Filters": [
        {"Name": "Model.ModelName", "Operator": "Equals", "Value": "churn-model"}]})
    [record] = [r["Model"] for r in out["Results"]]
    assert record["Model"]["ModelArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-model"
    assert record["Model"]["Tags"] == [{"Key": "team", "Value": "a"}]
    assert [e["EndpointName"] for e in record["Endpoints"]] == ["churn-endpoint"]
    assert record["LastBatchTransformJob"]["TransformJobName"] == "churn-batch"
    out = sm.search(Resource="Model", SortBy="Model.ModelName", SortOrder="Ascending", SearchExpression={
        "Filters": [{"Name": "Model.Tags.team", "Operator": "Equals", "Value": "b"}]})
    assert [r["Model"]["Model"]["ModelName"] for r in out["Results"]] == ["fraud-model", "idle-model"]
    out = sm.search(Resource="Model", SearchExpression={"Filters": [{"Name": "Endpoints", "Operator": "NotExists"}]})
    assert [r["Model"]["Model"]["ModelName"] for r in out["Results"]] == ["idle-model"]
    # Resource types AWS searches that have no resources here find nothing.
    for resource in ("Experiment", "Pipeline", "ModelPackage", "FeatureGroup"):
        assert sm.search(Resource=resource)["Results"] == []
    # Resources made discoverable from other accounts: none.
    assert sm.search(Resource="TrainingJob", CrossAccountFilterOption="CrossAccount")["Results"] == []
    # aws-cli, unchanged.
    rc, out, _ = server.cli("sagemaker", "search", "--resource", "Endpoint", "--search-expression",
                            '{"Filters": [{"Name": "EndpointName", "Operator": "Contains", "Value": "churn"}]}')
    assert [r["Endpoint"]["EndpointName"] for r in out["Results"]] == ["churn-endpoint"]


def test_validation_errors(server, data):
    sm = data["env"].sm
    unchecked = server.client("sagemaker", parameter_validation=False)

    def error(client=sm, **kw):
        with pytest.raises(ClientError) as e:
            client.search(**kw)
        assert code(e) == "ValidationException", e.value.response
        return message(e)

    # Not a ResourceType AWS searches (the model's enum).
    assert "enum value set" in error(client=unchecked, Resource="ProcessingJob")
    contains = {"Name": "TrainingJobName", "Operator": "Contains", "Value": "a"}
    assert error(Resource="TrainingJob", SearchExpression={"Filters": [
        contains, {"Name": "TrainingJobStatus", "Operator": "Contains", "Value": "b"}]}) == \
        "'CONTAINS' operator usage limit of 1 exceeded."
    for f in (
        {"Name": "TrainingJobName", "Operator": "GreaterThan", "Value": "a"},
        {"Name": "ResourceConfig.InstanceCount", "Operator": "Contains", "Value": "1"},
        {"Name": "ResourceConfig.InstanceCount", "Operator": "Equals", "Value": "one"},
        {"Name": "CreationTime", "Operator": "GreaterThan", "Value": "yesterday"},
        {"Name": "TrainingJobName", "Operator": "Equals"},
    ):
        error(Resource="TrainingJob", SearchExpression={"Filters": [f]})
    error(client=unchecked, Resource="TrainingJob", SearchExpression={})
    error(Resource="TrainingJob", SearchExpression={"NestedFilters": [{"NestedPropertyName": "InputDataConfig",
          "Filters": [{"Name": "OutputDataConfig.S3OutputPath", "Operator": "Exists"}]}]})
    deep = {"Filters": [{"Name": "TrainingJobName", "Operator": "Exists"}]}
    for _ in range(50):
        deep = {"SubExpressions": [deep]}
    error(client=unchecked, Resource="TrainingJob", SearchExpression=deep)
    error(client=unchecked, Resource="TrainingJob", MaxResults=101)


def test_search_authorization_and_visibility_conditions(server, data):
    env = data["env"]
    # Search is its own action on "*", and shows what Describe would even where Describe is
    # denied (AWS: "The Search API may provide access to otherwise restricted data").
    person = env.person("SearchNoDescribe", ALLOW_ALL, {
        "Effect": "Deny", "Action": "sagemaker:DescribeTrainingJob", "Resource": "*"})
    with pytest.raises(ClientError) as e:
        person("sagemaker").describe_training_job(TrainingJobName="fraud-xgb-1")
    denied(e, "sagemaker:DescribeTrainingJob")
    out = person("sagemaker").search(Resource="TrainingJob", SearchExpression={"Filters": [
        {"Name": "TrainingJobName", "Operator": "Equals", "Value": "fraud-xgb-1"}]})
    assert names(out) == ["fraud-xgb-1"]
    nobody = env.person("SearchDenied", ALLOW_ALL, {"Effect": "Deny", "Action": "sagemaker:Search", "Resource": "*"})
    with pytest.raises(ClientError) as e:
        nobody("sagemaker").search(Resource="TrainingJob")
    denied(e, "sagemaker:Search")
    assert "on resource: *" in message(e)
    # A policy that requires a visibility condition (AWS's "Limit access to searchable
    # resources with visibility conditions"): without one the Search is denied; with it the
    # results are only the resources it names.
    team_a = env.person("SearchTeamA", {
        "Effect": "Allow", "Action": "sagemaker:Search", "Resource": "*",
        "Condition": {"StringEquals": {"sagemaker:SearchVisibilityCondition/Tags.team": "a"}}})
    with pytest.raises(ClientError) as e:
        team_a("sagemaker").search(Resource="TrainingJob")
    denied(e, "sagemaker:Search", "because no identity-based policy allows the sagemaker:Search action")
    with pytest.raises(ClientError) as e:
        team_a("sagemaker").search(Resource="TrainingJob", VisibilityConditions=[{"Key": "Tags.team", "Value": "b"}])
    denied(e, "sagemaker:Search", "because no identity-based policy allows the sagemaker:Search action")
    visible = [{"Key": "Tags.team", "Value": "a"}]
    out = team_a("sagemaker").search(Resource="TrainingJob", VisibilityConditions=visible,
                                     SortBy="TrainingJobName", SortOrder="Ascending")
    assert names(out) == ["churn-xgb-1", "churn-xgb-2"]
    out = team_a("sagemaker").search(Resource="Model", VisibilityConditions=visible)
    assert [r["Model"]["Model"]["ModelName"] for r in out["Results"]] == ["churn-model"]
    rc, out, err = cli_as(server, team_a, "sagemaker", "search", "--resource", "Endpoint",
                          "--visibility-conditions", "Key=Tags.team,Value=a")
    assert rc == 0, err
    assert [r["Endpoint"]["EndpointName"] for r in out["Results"]] == ["churn-endpoint"]
