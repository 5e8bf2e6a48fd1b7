"""EC2 VPC, VPC endpoints as listeners, security groups at the connection, flow logs and
CloudWatch Logs, driven with unchanged aws-cli and boto3.

Endpoints are listeners on loopback ports: `DnsEntries[0].DnsName` is `127.0.0.1:PORT` and a
client uses `--endpoint-url http://<DnsName>`. Clients on this machine connect from
127.0.0.1, so an endpoint's security group must admit that address.
"""
import json
import socket
import time
import uuid

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from conftest import ACCOUNT, REGION, Server

CONNECTION_ERRORS = (ConnectionClosedError, EndpointConnectionError)
FLOW_PATTERN = (
    "[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, "
    "windowstart, windowend, action=\"{action}\", flowlogstatus]"
)


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_vpc(ec2, cidr="10.0.0.0/16", dns=True):
    vpc = ec2.create_vpc(
        CidrBlock=cidr,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name("vpc")}]}],
    )["Vpc"]["VpcId"]
    if dns:
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    base = cidr.split(".")
    s1 = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.1.0/24", AvailabilityZone=f"{REGION}a")
    s2 = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.2.0/24", AvailabilityZone=f"{REGION}b")
    return vpc, [s1["Subnet"]["SubnetId"], s2["Subnet"]["SubnetId"]]


def endpoint_sg(ec2, vpc, admit_host=True):
    sg = ec2.create_security_group(GroupName=name("endpoints"), Description="endpoint access", VpcId=vpc)["GroupId"]
    perms = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": sg}]}]
    if admit_host:
        perms[0]["IpRanges"] = [{"CidrIp": "127.0.0.1/32", "Description": "clients on this host"}]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perms)
    return sg


def make_endpoint(ec2, vpc, service, subnets=None, groups=None, kind="Interface", **extra):
    args = dict(VpcId=vpc, ServiceName=service, VpcEndpointType=kind, **extra)
    if subnets:
        args["SubnetIds"] = subnets
    if groups:
        args["SecurityGroupIds"] = groups
    ep = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]
    return ep["VpcEndpointId"], "http://" + ep["DnsEntries"][0]["DnsName"]


def flow_events(logs, group, pattern, want=1, timeout=10):
    deadline = time.time() + timeout
    while True:
        events = logs.filter_log_events(logGroupName=group, filterPattern=pattern).get("events", [])
        if len(events) >= want or time.time() > deadline:
            return events
        time.sleep(0.2)


# ---------------------------------------------------------------- VPC objects


def test_vpc_brings_main_route_table_default_acl_and_default_group(server):
    ec2 = server.client("ec2")
    vpc, subnets = make_vpc(ec2)
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    assert len(tables) == 1
    assert tables[0]["Associations"][0]["Main"] is True
    assert tables[0]["Routes"] == [
        {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}
    ]
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"]
    assert len(acls) == 1 and acls[0]["IsDefault"] is True
    assert sorted(a["SubnetId"] for a in acls[0]["Associations"]) == sorted(subnets)
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])
    default = groups["SecurityGroups"][0]
    assert default["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]
    attr = ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsHostnames")
    assert attr["EnableDnsHostnames"]["Value"] is True
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones][:2] == [f"{REGION}a", f"{REGION}b"]


def test_subnet_cidr_rules(server):
    ec2 = server.client("ec2")
    vpc, subnets = make_vpc(ec2, cidr="10.20.0.0/16")
    with pytest.raises(ClientError) as e:
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.128/25")
    assert e.value.response["Error"]["Code"] == "InvalidSubnet.Conflict"
    with pytest.raises(ClientError) as e:
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.21.0.0/24")
    assert e.value.response["Error"]["Code"] == "InvalidSubnet.Range"
    with pytest.raises(ClientError) as e:
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.9.0/24", AvailabilityZone="mars-1a")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.create_vpc(CidrBlock="10.0.0.0/8")
    assert e.value.response["Error"]["Code"] == "InvalidVpc.Range"
    s = ec2.describe_subnets(SubnetIds=[subnets[0]])["Subnets"][0]
    assert s["AvailableIpAddressCount"] == 251 and s["AvailabilityZone"] == f"{REGION}a"
    with pytest.raises(ClientError) as e:
        ec2.delete_vpc(VpcId=vpc)
    assert e.value.response["Error"]["Code"] == "DependencyViolation"
    with pytest.raises(ClientError) as e:
        ec2.describe_vpcs(VpcIds=["vpc-0000000000000000f"])
    assert e.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"
    for s in subnets:
        ec2.delete_subnet(SubnetId=s)
    ec2.delete_vpc(VpcId=vpc)
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"]


def test_tags_and_filters(server):
    ec2 = server.client("ec2")
    vpc, subnets = make_vpc(ec2, cidr="10.30.0.0/16")
    ec2.create_tags(Resources=[vpc, subnets[0]], Tags=[{"Key": "team", "Value": "ds"}, {"Key": "env", "Value": "dev"}])
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:team", "Values": ["d*"]}, {"Name": "cidr", "Values": ["10.30.0.0/16"]}])
    assert [v["VpcId"] for v in found["Vpcs"]] == [vpc]
    found = ec2.describe_subnets(Filters=[{"Name": "tag-key", "Values": ["env"]}, {"Name": "vpc-id", "Values": [vpc]}])
    assert [s["SubnetId"] for s in found["Subnets"]] == [subnets[0]]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]
    assert {t["Key"] for t in tags} >= {"team", "env", "Name"}
    assert all(t["ResourceType"] == "vpc" for t in tags)
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "env"}])
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:env", "Values": ["dev"]}, {"Name": "vpc-id", "Values": [vpc]}])["Vpcs"]
    with pytest.raises(ClientError) as e:
        ec2.describe_vpcs(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    code, out, _ = server.cli("ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc}", "Name=tag:team,Values=ds")
    assert [s["SubnetId"] for s in out["Subnets"]] == [subnets[0]]
    for extra in range(6):
        ec2.create_vpc(CidrBlock=f"10.31.{extra}.0/24")
    everything = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    pages = list(ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) > 1 and all(len(p["Vpcs"]) <= 5 for p in pages)
    assert [v["VpcId"] for p in pages for v in p["Vpcs"]] == everything


def test_security_group_rules_self_references_and_errors(server):
    ec2 = server.client("ec2")
    vpc, _ = make_vpc(ec2, cidr="10.40.0.0/16")
    sg = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
    out = ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg, "Description": "self"}]}]
    )
    assert out["SecurityGroupRules"][0]["ReferencedGroupInfo"]["GroupId"] == sg
    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg}]}])
    assert e.value.response["Error"]["Code"] == "InvalidPermission.Duplicate"
    ec2.authorize_security_group_egress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}]}])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
    assert len(rules) == 3
    assert sum(1 for r in rules if r["IsEgress"]) == 2
    g = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
    assert g["IpPermissions"][0]["UserIdGroupPairs"][0]["Description"] == "self"
    found = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.group-id", "Values": [sg]}])
    assert [x["GroupId"] for x in found["SecurityGroups"]] == [sg]
    ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    with pytest.raises(ClientError) as e:
        ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert e.value.response["Error"]["Code"] == "InvalidPermission.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName="jobs", Description="again", VpcId=vpc)
    assert e.value.response["Error"]["Code"] == "InvalidGroup.Duplicate"
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName="novpc", Description="no vpc")
    assert e.value.response["Error"]["Code"] == "VPCIdNotSpecified"
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupId=default)
    assert e.value.response["Error"]["Code"] == "CannotDelete"


def test_routes_gateways_and_network_acls_are_objects(server):
    ec2 = server.client("ec2")
    vpc, subnets = make_vpc(ec2, cidr="10.50.0.0/16")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    with pytest.raises(ClientError) as e:
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    with pytest.raises(ClientError) as e:
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    assert e.value.response["Error"]["Code"] == "RouteAlreadyExists"
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnets[0])["AssociationId"]
    # A check can find the path to the internet.
    public = ec2.describe_route_tables(Filters=[{"Name": "route.gateway-id", "Values": ["igw-*"]}, {"Name": "vpc-id", "Values": [vpc]}])
    assert [t["RouteTableId"] for t in public["RouteTables"]] == [rtb]
    attached = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]
    assert [g["InternetGatewayId"] for g in attached] == [igw]
    nat = ec2.create_nat_gateway(SubnetId=subnets[1], ConnectivityType="private")["NatGateway"]["NatGatewayId"]
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] == "available"
    ec2.delete_nat_gateway(NatGatewayId=nat)
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] == "deleted"
    with pytest.raises(ClientError) as e:
        ec2.delete_internet_gateway(InternetGatewayId=igw)
    assert e.value.response["Error"]["Code"] == "DependencyViolation"
    ec2.disassociate_route_table(AssociationId=assoc)
    ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0")
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="tcp", RuleAction="allow", Egress=False, CidrBlock="10.50.0.0/16", PortRange={"From": 443, "To": 443})
    with pytest.raises(ClientError) as e:
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="-1", RuleAction="deny", Egress=False, CidrBlock="0.0.0.0/0")
    assert e.value.response["Error"]["Code"] == "NetworkAclEntryAlreadyExists"
    entries = ec2.describe_network_acls(NetworkAclIds=[acl])["NetworkAcls"][0]["Entries"]
    assert {(x["RuleNumber"], x["Protocol"], x["Egress"]) for x in entries} == {(100, "6", False), (32767, "-1", False), (32767, "-1", True)}


def test_dry_run_and_denials_in_ec2_wording(server):
    ec2 = server.client("ec2")
    with pytest.raises(ClientError) as e:
        ec2.create_vpc(CidrBlock="10.60.0.0/16", DryRun=True)
    assert e.value.response["Error"]["Code"] == "DryRunOperation"
    iam = server.client("iam")
    user = name("nobody")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    code, _, err = server.cli("ec2", "create-vpc", "--cidr-block", "10.61.0.0/16", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"], check=False)
    assert code != 0
    assert "(UnauthorizedOperation)" in err
    assert f"You are not authorized to perform this operation. User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: ec2:CreateVpc" in err
    assert "Encoded authorization failure message: " in err
    encoded = err.split("Encoded authorization failure message: ")[1].split()[0]
    decoded = json.loads(server.client("sts").decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["context"]["action"] == "ec2:CreateVpc"
    assert decoded["context"]["resource"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*"
    limited = server.client("ec2", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        limited.describe_vpcs(DryRun=True)
    assert e.value.response["Error"]["Code"] == "UnauthorizedOperation"


# ---------------------------------------------------------------- endpoints


def test_endpoint_serves_only_its_service(server):
    ec2 = server.client("ec2")
    vpc, subnets = make_vpc(ec2, cidr="10.70.0.0/16")
    sg = endpoint_sg(ec2, vpc)
    vpce, url = make_endpoint(ec2, vpc, "com.amazonaws.iam", subnets, [sg])
    described = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
    assert described["State"] == "available"
    assert len(described["NetworkInterfaceIds"]) == 2
    assert described["Groups"][0]["GroupId"] == sg
    assert json.loads(described["PolicyDocument"])["Statement"][0]["Action"] == "*"
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkInterfaces"]
    assert {n["NetworkInterfaceId"] for n in enis} == set(described["NetworkInterfaceIds"])
    assert all(n["InterfaceType"] == "vpc_endpoint" for n in enis)
    # Served: IAM through its endpoint.
    code, out, _ = server.cli("iam", "list-users", endpoint=url)
    assert code == 0 and "Users" in out
    # Another service through it: refused at the connection, as if no endpoint existed.
    code, _, err = server.cli("sts", "get-caller-identity", endpoint=url, check=False)
    assert code != 0
    with pytest.raises(CONNECTION_ERRORS):
        server.client("kms", endpoint=url).list_keys()
    services = ec2.describe_vpc_endpoint_services(ServiceNames=[f"com.amazonaws.{REGION}.ssm", f"com.amazonaws.{REGION}.s3"])
    assert all(d["VpcEndpointPolicySupported"] for d in services["ServiceDetails"])
    assert sorted(d["ServiceType"][0]["ServiceType"] for d in services["ServiceDetails"]) == ["Gateway", "Interface", "Interface"]
    # Subnets and security groups change on the running endpoint.
    third = ec2.create_subnet(VpcId=vpc, CidrBlock="10.70.3.0/24", AvailabilityZone=f"{REGION}c")["Subnet"]["SubnetId"]
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddSubnetIds=[third], RemoveSubnetIds=[subnets[0]])
    changed = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
    assert sorted(changed["SubnetIds"]) == sorted([subnets[1], third]) and len(changed["NetworkInterfaceIds"]) == 2
    same_zone = ec2.create_subnet(VpcId=vpc, CidrBlock="10.70.4.0/24", AvailabilityZone=f"{REGION}c")["Subnet"]["SubnetId"]
    with pytest.raises(ClientError) as e:
        ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddSubnetIds=[same_zone])
    assert e.value.response["Error"]["Code"] == "DuplicateSubnetsInSameZone"
    closed = ec2.create_security_group(GroupName=name("closed"), Description="nothing in", VpcId=vpc)["GroupId"]
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddSecurityGroupIds=[closed], RemoveSecurityGroupIds=[sg])
    code, _, _ = server.cli("iam", "list-users", endpoint=url, check=False)
    assert code != 0
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddSecurityGroupIds=[sg])
    code, _, _ = server.cli("iam", "list-users", endpoint=url)
    assert code == 0
    # Deleting the endpoint closes its listener.
    ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])
    code, _, _ = server.cli("iam", "list-users", endpoint=url, check=False)
    assert code != 0


def test_security_group_refusal_and_flow_logs(server):
    ec2 = server.client("ec2")
    logs = server.client("logs")
    vpc, subnets = make_vpc(ec2, cidr="10.80.0.0/16")
    group = "/perimeter/" + name("flow")
    role = f"arn:aws:iam::{ACCOUNT}:role/VPCFlowLogsRole"
    fl = ec2.create_flow_logs(
        ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL", LogGroupName=group, DeliverLogsPermissionArn=role
    )
    assert fl["Unsuccessful"] == [] and len(fl["FlowLogIds"]) == 1
    described = ec2.describe_flow_logs(Filter=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
    assert described[0]["LogGroupName"] == group and described[0]["DeliverLogsStatus"] == "SUCCESS"
    open_sg = endpoint_sg(ec2, vpc, admit_host=True)
    closed_sg = endpoint_sg(ec2, vpc, admit_host=False)
    _, open_url = make_endpoint(ec2, vpc, "com.amazonaws.iam", subnets[:1], [open_sg])
    closed_id, closed_url = make_endpoint(ec2, vpc, "com.amazonaws.iam", subnets[1:], [closed_sg])
    code, _, _ = server.cli("iam", "list-users", endpoint=open_url)
    assert code == 0
    # The closed endpoint's group admits only its own members (and the VPC never sees this
    # host's address), so the connection is refused and logged as REJECT.
    code, _, err = server.cli("iam", "list-users", endpoint=closed_url, check=False)
    assert code != 0
    with pytest.raises(CONNECTION_ERRORS):
        server.client("iam", endpoint=closed_url).list_users()
    closed_eni = ec2.describe_vpc_endpoints(VpcEndpointIds=[closed_id])["VpcEndpoints"][0]["NetworkInterfaceIds"][0]
    rejects = flow_events(logs, group, FLOW_PATTERN.format(action="REJECT"))
    assert rejects and all(e["message"].split()[12] == "REJECT" for e in rejects)
    assert rejects[0]["message"].split()[2] == closed_eni
    assert rejects[0]["logStreamName"] == f"{closed_eni}-all"
    accepts = flow_events(logs, group, FLOW_PATTERN.format(action="ACCEPT"))
    assert accepts
    fields = accepts[0]["message"].split()
    assert fields[0] == "2" and fields[1] == ACCOUNT and fields[3] == "127.0.0.1" and fields[13] == "OK"
    # The same through aws-cli.
    code, out, _ = server.cli("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", FLOW_PATTERN.format(action="REJECT"))
    assert out["events"] and "REJECT" in out["events"][0]["message"]
    code, out, _ = server.cli("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "ACCEPT")
    assert out["events"] and all("ACCEPT" in e["message"] for e in out["events"])
    # Admitting the host opens the endpoint; revoking closes it again.
    ec2.authorize_security_group_ingress(GroupId=closed_sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}])
    code, _, _ = server.cli("iam", "list-users", endpoint=closed_url)
    assert code == 0
    ec2.revoke_security_group_ingress(GroupId=closed_sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}])
    code, _, _ = server.cli("iam", "list-users", endpoint=closed_url, check=False)
    assert code != 0
    ec2.delete_flow_logs(FlowLogIds=fl["FlowLogIds"])
    assert not ec2.describe_flow_logs(FlowLogIds=fl["FlowLogIds"])["FlowLogs"]
    # A flow log on one network interface, rejected traffic only, with a custom format.
    eni_group = group + "-eni"
    fl = ec2.create_flow_logs(
        ResourceType="NetworkInterface", ResourceIds=[closed_eni, "eni-0000000000000000f"], TrafficType="REJECT",
        LogDestinationType="cloud-watch-logs", LogDestination=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{eni_group}:*",
        DeliverLogsPermissionArn=role, LogFormat="${version} ${vpc-id} ${subnet-id} ${interface-id} ${action} ${flow-direction}",
    )
    assert [u["Error"]["Code"] for u in fl["Unsuccessful"]] == ["InvalidNetworkInterfaceID.NotFound"]
    server.cli("iam", "list-users", endpoint=open_url)
    server.cli("iam", "list-users", endpoint=closed_url, check=False)
    events = flow_events(logs, eni_group, "REJECT")
    assert events and events[0]["logStreamName"] == f"{closed_eni}-reject"
    assert events[0]["message"] == f"5 {vpc} {subnets[1]} {closed_eni} REJECT ingress"
    assert not logs.filter_log_events(logGroupName=eni_group, filterPattern="ACCEPT")["events"]
    with pytest.raises(ClientError) as e:
        ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL", LogGroupName=group,
                             DeliverLogsPermissionArn=role, LogFormat="${version} ${colour}")
    assert e.value.response["Error"]["Code"] == "InvalidParameter"


def test_endpoint_policy_per_principal_and_reset(server):
    """S4's shape on the IAM endpoint: deny everything to every principal but MLOps."""
    ec2 = server.client("ec2")
    iam = server.client("iam")
    sts = server.admin_client("sts")
    vpc, subnets = make_vpc(ec2, cidr="10.90.0.0/16")
    sg = endpoint_sg(ec2, vpc)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]})
    creds = {}
    arns = {}
    for role in ("DataScience", "MLOps"):
        rn = name(role)
        arns[role] = iam.create_role(RoleName=rn, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName=rn, PolicyName="list", PolicyDocument=allow)
        c = sts.assume_role(RoleArn=arns[role], RoleSessionName="session")["Credentials"]
        creds[role] = dict(access_key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    # An endpoint policy must allow what passes (a policy of Deny statements alone allows
    # nothing, as in AWS), so S4's Deny sits beside the default Allow statement.
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Action": ["iam:*"], "Principal": "*", "Resource": ["*"], "Effect": "Deny", "Condition": {"ArnNotEquals": {"aws:PrincipalArn": arns["MLOps"]}}},
    ]})
    vpce, url = make_endpoint(ec2, vpc, "com.amazonaws.iam", subnets[:1], [sg], PolicyDocument=policy)
    with pytest.raises(ClientError) as e:
        server.client("iam", endpoint=url, **creds["DataScience"]).list_roles()
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDenied"
    assert "with an explicit deny in a VPC endpoint policy" in err["Message"]
    assert server.client("iam", endpoint=url, **creds["MLOps"]).list_roles()["Roles"]
    # The endpoint policy binds only requests through the endpoint.
    assert server.client("iam", **creds["DataScience"]).list_roles()["Roles"]
    code, _, err = server.cli("iam", "list-roles", endpoint=url, check=False, **creds["DataScience"])
    assert code != 0 and "explicit deny in a VPC endpoint policy" in err
    # A malformed policy is refused with its position.
    with pytest.raises(ClientError) as e:
        ec2.modify_vpc_endpoint(VpcEndpointId=vpce, PolicyDocument='{"Statement": [')
    assert e.value.response["Error"]["Code"] == "InvalidPolicyDocument"
    # ResetPolicy restores the default full-access policy.
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, ResetPolicy=True)
    assert server.client("iam", endpoint=url, **creds["DataScience"]).list_roles()["Roles"]
    doc = json.loads(ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]["PolicyDocument"])
    assert doc["Statement"][0]["Effect"] == "Allow" and doc["Statement"][0]["Principal"] == "*"
    # Setting it again takes effect on the running listener.
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, PolicyDocument=policy)
    with pytest.raises(ClientError):
        server.client("iam", endpoint=url, **creds["DataScience"]).list_roles()


def test_gateway_endpoint_routes_and_listener(server):
    ec2 = server.client("ec2")
    vpc, _ = make_vpc(ec2, cidr="10.100.0.0/16")
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
    ep = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", RouteTableIds=[main])["VpcEndpoint"]
    assert ep["VpcEndpointType"] == "Gateway"
    assert ep["DnsEntries"][0]["DnsName"].startswith("127.0.0.1:")
    routes = ec2.describe_route_tables(RouteTableIds=[main])["RouteTables"][0]["Routes"]
    assert any(r.get("GatewayId") == ep["VpcEndpointId"] and r.get("DestinationPrefixListId", "").startswith("pl-") for r in routes)
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sts", VpcEndpointType="Gateway")
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.nothing", VpcEndpointType="Interface")
    assert e.value.response["Error"]["Code"] == "InvalidServiceName"
    ec2.delete_vpc_endpoints(VpcEndpointIds=[ep["VpcEndpointId"]])
    routes = ec2.describe_route_tables(RouteTableIds=[main])["RouteTables"][0]["Routes"]
    assert all(r.get("GatewayId") != ep["VpcEndpointId"] for r in routes)


def test_private_dns_needs_vpc_dns_attributes(server):
    ec2 = server.client("ec2")
    vpc, subnets = make_vpc(ec2, cidr="10.110.0.0/16", dns=False)
    with pytest.raises(ClientError) as e:
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sts", VpcEndpointType="Interface", SubnetIds=subnets[:1])
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    ep = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sts", VpcEndpointType="Interface", SubnetIds=subnets[:1], PrivateDnsEnabled=False)["VpcEndpoint"]
    # Without security groups the VPC's default group applies (self-reference only).
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    assert [g["GroupId"] for g in ep["Groups"]] == [default]


# ---------------------------------------------------------------- CloudWatch Logs


def test_logs_groups_streams_events_and_filters(server):
    logs = server.client("logs")
    group = "/app/" + name("svc")
    logs.create_log_group(logGroupName=group, tags={"team": "ds"})
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=group)
    assert e.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName=group, logStreamName="a")
    logs.create_log_stream(logGroupName=group, logStreamName="b")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="a", logEvents=[
        {"timestamp": now - 3000, "message": "INFO started"},
        {"timestamp": now - 2000, "message": "ERROR disk full"},
    ])
    logs.put_log_events(logGroupName=group, logStreamName="b", logEvents=[
        {"timestamp": now - 2500, "message": '{"level":"WARN","user":{"id":7}}'},
    ])
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=group, logStreamName="a", logEvents=[{"timestamp": now, "message": "x"}, {"timestamp": now - 1, "message": "y"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    got = logs.get_log_events(logGroupName=group, logStreamName="a", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["INFO started", "ERROR disk full"]
    assert got["nextForwardToken"].startswith("f/")
    again = logs.get_log_events(logGroupName=group, logStreamName="a", nextToken=got["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]
    everything = logs.filter_log_events(logGroupName=group)["events"]
    assert [e["logStreamName"] for e in everything] == ["a", "b", "a"]
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]] == ["ERROR disk full"]
    assert len(logs.filter_log_events(logGroupName=group, filterPattern="?ERROR ?INFO")["events"]) == 2
    json_hit = logs.filter_log_events(logGroupName=group, filterPattern="{ $.user.id = 7 }")["events"]
    assert [e["logStreamName"] for e in json_hit] == ["b"]
    assert len(logs.filter_log_events(logGroupName=group, logStreamNames=["b"])["events"]) == 1
    # Pagination, as `aws logs tail` walks it.
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=now - 60_000, PaginationConfig={"PageSize": 1})
    assert [e["message"] for p in pages for e in p["events"]] == [e["message"] for e in everything]
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=group, filterPattern="[a, b=")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a", "b"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    with pytest.raises(ClientError):
        logs.put_retention_policy(logGroupName=group, retentionInDays=8)
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert described["retentionInDays"] == 7 and described["arn"].endswith(f"log-group:{group}:*")
    logs.tag_resource(resourceArn=described["logGroupArn"], tags={"env": "dev"})
    assert logs.list_tags_for_resource(resourceArn=described["logGroupArn"])["tags"] == {"team": "ds", "env": "dev"}
    logs.delete_log_group(logGroupName=group)
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_logs_authorization_uses_log_group_arns(server):
    iam = server.client("iam")
    logs = server.client("logs")
    group = "/team/" + name("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    user = name("reader")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:FilterLogEvents", "logs:GetLogEvents"], "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"},
    ]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    reader = server.client("logs", access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert reader.filter_log_events(logGroupName=group)["events"] == []
    assert reader.get_log_events(logGroupName=group, logStreamName="s")["events"] == []
    with pytest.raises(ClientError) as e:
        reader.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "x"}])
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"on resource: arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:s" in e.value.response["Error"]["Message"]


# ---------------------------------------------------------------- restart


def test_restart_keeps_vpcs_endpoints_and_flow_logs(tmp_path):
    data = str(tmp_path / "data")
    s = Server(data_dir=data).start()
    try:
        ec2 = s.client("ec2")
        vpc, subnets = make_vpc(ec2, cidr="10.120.0.0/16")
        sg = endpoint_sg(ec2, vpc)
        vpce, url = make_endpoint(ec2, vpc, "com.amazonaws.iam", subnets, [sg])
        group = "/perimeter/restart"
        fl = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ACCEPT", LogGroupName=group,
                                  DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow")["FlowLogIds"][0]
        assert s.cli("iam", "list-users", endpoint=url)[0] == 0
        assert flow_events(s.client("logs"), group, "ACCEPT")
    finally:
        s.stop()
    s = Server(data_dir=data).start()
    try:
        ec2 = s.client("ec2")
        assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"] == "10.120.0.0/16"
        ep = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
        assert "http://" + ep["DnsEntries"][0]["DnsName"] == url
        assert ec2.describe_flow_logs(FlowLogIds=[fl])["FlowLogs"][0]["LogGroupName"] == group
        assert s.cli("iam", "list-users", endpoint=url)[0] == 0
        events = flow_events(s.client("logs"), group, "ACCEPT", want=2)
        assert len(events) >= 2
    finally:
        s.stop()
    # When the port is taken, the endpoint comes back on a new one, which Describe reports.
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        s = Server(data_dir=data).start()
        try:
            ep = s.client("ec2").describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
            moved = "http://" + ep["DnsEntries"][0]["DnsName"]
            assert ep["State"] == "available" and moved != url
            assert s.cli("iam", "list-users", endpoint=moved)[0] == 0
        finally:
            s.stop()


def test_s4_ssm_endpoint_policy_per_principal(server):
    """S4 (002 step 8): on the SSM endpoint, deny ssm:* to everyone but the MLOps role."""
    ec2 = server.client("ec2")
    iam = server.client("iam")
    sts = server.admin_client("sts")
    vpc, subnets = make_vpc(ec2, cidr="10.130.0.0/16")
    sg = endpoint_sg(ec2, vpc)
    param = "/" + name("workshop") + "/bucket"
    server.client("ssm").put_parameter(Name=param, Value="sagemaker-data", Type="String")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter*", "Resource": "*"}]})
    creds, arns = {}, {}
    for role in ("StudioRoleDataScience", "StudioRoleMLOps"):
        rn = name(role)
        arns[role] = iam.create_role(RoleName=rn, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName=rn, PolicyName="ssm", PolicyDocument=allow)
        c = sts.assume_role(RoleArn=arns[role], RoleSessionName="studio")["Credentials"]
        creds[role] = dict(access_key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    vpce, url = make_endpoint(ec2, vpc, f"com.amazonaws.{REGION}.ssm", subnets[:1], [sg])
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Action": ["ssm:*"], "Principal": "*", "Resource": ["*"], "Effect": "Deny",
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": arns["StudioRoleMLOps"]}}},
    ]})
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, PolicyDocument=policy)
    code, _, err = server.cli("ssm", "get-parameter", "--name", param, endpoint=url, check=False, **creds["StudioRoleDataScience"])
    assert code != 0 and "(AccessDeniedException)" in err and "with an explicit deny in a VPC endpoint policy" in err
    code, out, _ = server.cli("ssm", "get-parameter", "--name", param, endpoint=url, **creds["StudioRoleMLOps"])
    assert out["Parameter"]["Value"] == "sagemaker-data"
    # Removing the policy restores the default full access.
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, ResetPolicy=True)
    code, out, _ = server.cli("ssm", "get-parameter", "--name", param, endpoint=url, **creds["StudioRoleDataScience"])
    assert out["Parameter"]["Value"] == "sagemaker-data"
