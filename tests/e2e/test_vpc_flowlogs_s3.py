"""Flow logs delivered to an S3 bucket, as AWS's log delivery writes them.

Records gather per flow log and are written every few seconds as one gzip object under
`AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_YYYYMMDDTHHmmZ_HASH.log.gz`:
the version-2 header line, then one record per connection through an endpoint. The write is
`s3:PutObject` by the service principal `delivery.logs.amazonaws.com`, which the bucket policy
must allow; when it does not, DescribeFlowLogs reports the failure.
"""
import gzip
import json
import re
import socket
import time
import uuid

from conftest import ACCOUNT, REGION

HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
          "start end action log-status")
KEY = re.compile(
    rf"^(?P<prefix>.*)AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/(?P<y>\d{{4}})/(?P<m>\d\d)/(?P<d>\d\d)/"
    rf"{ACCOUNT}_vpcflowlogs_{REGION}_(?P<fl>fl-[0-9a-f]+)_(?P=y)(?P=m)(?P=d)T\d{{4}}Z_[0-9a-f]{{8}}\.log\.gz$"
)


def delivery_policy(bucket, prefixes=("",)):
    """The bucket policy AWS documents for flow logs delivered to S3 (under each prefix)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": [f"arn:aws:s3:::{bucket}/{p}AWSLogs/{ACCOUNT}/*" for p in prefixes],
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"},
                },
            },
            {
                "Sid": "AWSLogDeliveryAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            },
        ],
    })


def network(ec2, cidr):
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    base = cidr.split(".")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.1.0/24")["Subnet"]["SubnetId"]

    def endpoint(admit):
        sg = ec2.create_security_group(GroupName=f"fl-{uuid.uuid4().hex[:8]}", Description="endpoint",
                                       VpcId=vpc)["GroupId"]
        if admit:
            ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.1/32"}]}])
        ep = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sts",
                                     SubnetIds=[subnet], SecurityGroupIds=[sg], PrivateDnsEnabled=False)["VpcEndpoint"]
        host, port = ep["DnsEntries"][0]["DnsName"].rsplit(":", 1)
        return ep["NetworkInterfaceIds"][0], (host, int(port))

    return vpc, endpoint


def connect(addr, times=1):
    """TCP connections through an endpoint's listener: each is one flow record when it ends."""
    for _ in range(times):
        try:
            with socket.create_connection(addr, timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                try:
                    s.recv(4096)
                except OSError:
                    pass
        except OSError:
            pass


def wait_for(fn, timeout=30, step=0.5):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


def flow_log(ec2, fl):
    return ec2.describe_flow_logs(FlowLogIds=[fl])["FlowLogs"][0]


def test_flow_logs_land_in_s3_as_gzip_objects(server, tmp_path):
    ec2 = server.admin_client("ec2")
    s3 = server.admin_client("s3")
    bucket = f"flow-logs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=delivery_policy(bucket))
    vpc, endpoint = network(ec2, "10.61.0.0/16")
    fl = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL",
                              LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{bucket}")
    assert fl["Unsuccessful"] == []
    fl = fl["FlowLogIds"][0]
    described = flow_log(ec2, fl)
    assert described["LogDestinationType"] == "s3" and described["LogDestination"] == f"arn:aws:s3:::{bucket}"
    assert described["DeliverLogsStatus"] == "SUCCESS" and "DeliverLogsErrorMessage" not in described
    open_eni, open_addr = endpoint(admit=True)
    closed_eni, closed_addr = endpoint(admit=False)
    # Several connections, accepted and refused, within one delivery interval.
    connect(open_addr, times=4)
    connect(closed_addr, times=2)

    def objects():
        return s3.list_objects_v2(Bucket=bucket, Prefix="AWSLogs/").get("Contents", [])

    found = wait_for(objects)
    assert found, "no flow log object was delivered"
    time.sleep(1)
    keys = [o["Key"] for o in objects()]
    for k in keys:
        m = KEY.match(k)
        assert m and m["fl"] == fl and m["prefix"] == "", k
    # Read back with aws-cli, unchanged, and parse.
    records = []
    for i, k in enumerate(keys):
        local = tmp_path / f"{i}.log.gz"
        server.cli("s3", "cp", f"s3://{bucket}/{k}", str(local), access_key=server.admin()[0],
                   secret=server.admin()[1])
        lines = gzip.decompress(local.read_bytes()).decode().splitlines()
        assert lines[0] == HEADER
        records += [line.split() for line in lines[1:]]
    # Batched: a connection does not cost an object.
    assert len(records) >= 6 and len(keys) < len(records)
    for r in records:
        assert len(r) == 14 and r[0] == "2" and r[1] == ACCOUNT and r[3] == "127.0.0.1" and r[7] == "6"
        assert r[13] == "OK" and int(r[10]) <= int(r[11])
    accepted = [r for r in records if r[12] == "ACCEPT"]
    rejected = [r for r in records if r[12] == "REJECT"]
    assert len(accepted) >= 4 and all(r[2] == open_eni for r in accepted)
    assert len(rejected) >= 2 and all(r[2] == closed_eni for r in rejected)
    assert all(int(r[6]) == open_addr[1] for r in accepted)
    assert flow_log(ec2, fl)["DeliverLogsStatus"] == "SUCCESS"
    # Objects are encrypted like any other (SSE-S3 by default) and owned by the bucket.
    head = s3.head_object(Bucket=bucket, Key=keys[0])
    assert head["ServerSideEncryption"] == "AES256"
    # A destination with a folder: the prefix goes in front of AWSLogs/ (and the policy names it).
    s3.put_bucket_policy(Bucket=bucket, Policy=delivery_policy(bucket, ("", "team-a/")))
    fl2 = ec2.create_flow_logs(ResourceType="NetworkInterface", ResourceIds=[open_eni], TrafficType="ACCEPT",
                               LogDestinationType="s3",
                               LogDestination=f"arn:aws:s3:::{bucket}/team-a/")["FlowLogIds"][0]
    connect(open_addr, times=2)
    found = wait_for(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="team-a/").get("Contents", []))
    assert found
    m = KEY.match(found[0]["Key"])
    assert m and m["prefix"] == "team-a/" and m["fl"] == fl2
    ec2.delete_flow_logs(FlowLogIds=[fl, fl2])


def test_delivery_needs_the_bucket_policy(server):
    ec2 = server.admin_client("ec2")
    s3 = server.admin_client("s3")
    bucket = f"flow-logs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    # A bucket policy that does not name the log delivery service.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    vpc, endpoint = network(ec2, "10.62.0.0/16")
    fl = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL",
                              LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{bucket}")["FlowLogIds"][0]
    _, addr = endpoint(admit=True)
    connect(addr, times=2)
    failed = wait_for(lambda: flow_log(ec2, fl)["DeliverLogsStatus"] == "FAILED")
    assert failed, "the delivery did not fail"
    described = flow_log(ec2, fl)
    assert described["DeliverLogsErrorMessage"] == "Access error"
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    failed_ids = [f["FlowLogId"] for f in ec2.describe_flow_logs(
        Filter=[{"Name": "deliver-log-status", "Values": ["FAILED"]}])["FlowLogs"]]
    assert fl in failed_ids
    # The denied write is in the audit trail, made by the delivery service.
    events = server.admin_client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutObject"}])["Events"]
    denied = [json.loads(e["CloudTrailEvent"]) for e in events]
    denied = [e for e in denied if e.get("errorCode") == "AccessDenied"
              and e["userIdentity"].get("invokedBy", e["userIdentity"].get("principalId")) ==
              "delivery.logs.amazonaws.com"]
    assert denied, "no denied PutObject by delivery.logs.amazonaws.com in the trail"
    # Allowing the service: the next delivery succeeds and the flow log recovers.
    s3.put_bucket_policy(Bucket=bucket, Policy=delivery_policy(bucket))
    connect(addr, times=1)
    assert wait_for(lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) > 0)
    assert wait_for(lambda: flow_log(ec2, fl)["DeliverLogsStatus"] == "SUCCESS")
    assert "DeliverLogsErrorMessage" not in flow_log(ec2, fl)
    ec2.delete_flow_logs(FlowLogIds=[fl])
