"""S3 end to end with unchanged aws-cli and boto3: buckets, objects, listing, versions,
multipart, checksums, conditional and ranged reads, presigned URLs, virtual-hosted-style
addressing, bucket policies with Block Public Access, SSE-S3 and SSE-KMS, and the seed
scenarios S2 (encryption enforced on write), S3 (KMS denies a reader S3 allows) and S13 (MFA)."""
import base64
import hashlib
import hmac
import json
import os
import struct
import time
import urllib.error
import urllib.request
import uuid
import zlib

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"


def unique(prefix="bkt"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def s3(server):
    return server.client("s3")


@pytest.fixture()
def bucket(s3):
    name = unique()
    s3.create_bucket(Bucket=name)
    return name


def user(server, name, policy):
    """An IAM user with an inline policy; returns its long-term access key and secret."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


S3_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}]}


# ---- aws s3 high-level commands


def test_cli_mb_cp_ls_sync_rb(server, tmp_path):
    name = unique("cli")
    assert server.cli("s3", "mb", f"s3://{name}")[0] == 0
    src = tmp_path / "src"
    (src / "dir").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "dir" / "b.bin").write_bytes(os.urandom(70_000))
    server.cli("s3", "cp", str(src / "a.txt"), f"s3://{name}/a.txt")
    _, out, _ = server.cli("s3", "ls", f"s3://{name}")
    assert "a.txt" in out
    server.cli("s3", "sync", str(src), f"s3://{name}/synced")
    _, out, _ = server.cli("s3", "ls", f"s3://{name}/synced/", "--recursive")
    assert "synced/a.txt" in out and "synced/dir/b.bin" in out
    dst = tmp_path / "dst"
    server.cli("s3", "sync", f"s3://{name}/synced", str(dst))
    assert (dst / "dir" / "b.bin").read_bytes() == (src / "dir" / "b.bin").read_bytes()
    # A second sync finds nothing to do.
    _, out, _ = server.cli("s3", "sync", str(src), f"s3://{name}/synced")
    assert not (out or "").strip()
    rc, _, err = server.cli("s3", "rb", f"s3://{name}", check=False)
    assert rc != 0 and "BucketNotEmpty" in err
    server.cli("s3", "rb", f"s3://{name}", "--force")
    _, out, _ = server.cli("s3", "ls")
    assert name not in (out or "")


def test_cli_large_multipart_copy(server, tmp_path):
    name = unique("mp")
    server.cli("s3", "mb", f"s3://{name}")
    data = os.urandom(20 * 1024 * 1024 + 123)
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    server.cli("s3", "cp", str(f), f"s3://{name}/big.bin")
    server.cli("s3", "cp", f"s3://{name}/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data
    head = server.client("s3").head_object(Bucket=name, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    # A large server-side copy goes through UploadPartCopy.
    server.cli("s3", "cp", f"s3://{name}/big.bin", f"s3://{name}/copy.bin")
    server.cli("s3", "cp", f"s3://{name}/copy.bin", str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == data


# ---- objects


def test_object_roundtrip_metadata_and_headers(s3, bucket):
    body = b"hello perimeter"
    put = s3.put_object(
        Bucket=bucket, Key="dir/hello.txt", Body=body, ContentType="text/plain",
        Metadata={"Owner": "ds"}, CacheControl="no-cache", ContentDisposition="inline",
    )
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "ds"}
    assert got["CacheControl"] == "no-cache" and got["ContentDisposition"] == "inline"
    head = s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    empty = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    assert empty["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    s3.delete_object(Bucket=bucket, Key="dir/hello.txt")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert code(e) == "NoSuchKey"
    assert e.value.response["Error"]["Key"] == "dir/hello.txt"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_ranged_and_conditional_reads(s3, bucket):
    data = bytes(range(256)) * 1024  # 256 KiB: four 64 KiB segments
    etag = s3.put_object(Bucket=bucket, Key="r", Body=data)["ETag"]
    for rng, want in [
        ("bytes=0-9", data[0:10]),
        ("bytes=65530-65545", data[65530:65546]),
        ("bytes=-100", data[-100:]),
        ("bytes=200000-", data[200000:]),
        ("bytes=0-999999", data),
    ]:
        got = s3.get_object(Bucket=bucket, Key="r", Range=rng)
        assert got["Body"].read() == want, rng
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"].endswith(f"/{len(data)}")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(data)}-")
    assert code(e) == "InvalidRange"
    assert s3.get_object(Bucket=bucket, Key="r", IfMatch=etag)["Body"].read() == data
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", IfMatch='"nope"')
    assert code(e) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    lm = s3.head_object(Bucket=bucket, Key="r")["LastModified"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", IfModifiedSince=lm)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", IfUnmodifiedSince=lm.replace(year=2000))
    assert code(e) == "PreconditionFailed"
    # Conditional writes.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="r", Body=b"x", IfNoneMatch="*")
    assert code(e) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="fresh", Body=b"x", IfNoneMatch="*")


def test_checksums_and_digests(s3, bucket):
    body = b"checksummed body"
    crc = base64.b64encode(struct.pack(">I", zlib.crc32(body))).decode()
    put = s3.put_object(Bucket=bucket, Key="c", Body=body, ChecksumCRC32=crc)
    assert put["ChecksumCRC32"] == crc
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc
    for alg in ["CRC32", "SHA1", "SHA256"]:  # CRC32C needs botocore[crt] client-side
        s3.put_object(Bucket=bucket, Key=f"alg-{alg}", Body=body, ChecksumAlgorithm=alg)
        assert s3.get_object(Bucket=bucket, Key=f"alg-{alg}")["Body"].read() == body
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ChecksumSHA256=wrong)
    assert code(e) == "BadDigest"
    md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5=md5)
    assert code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5="not-md5")
    assert code(e) == "InvalidDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def chunked_put(server, bucket, key, data, trailer_crc=None, chunk=64 * 1024):
    """A PUT with an `aws-chunked` body and a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER),
    as the SDKs send over TLS; signed with botocore's SigV4 signer."""
    import urllib3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from conftest import ROOT_KEY, ROOT_SECRET

    crc = trailer_crc or base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()
    body = b""
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        body += b"%x\r\n" % len(piece) + piece + b"\r\n"
    body += b"0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
    url = f"{server.endpoint}/{bucket}/{key}"
    req = AWSRequest(method="PUT", url=url, data=body, headers={
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Length": str(len(body)),
    })
    SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", REGION).add_auth(req)
    return urllib3.PoolManager().request("PUT", url, body=body, headers=dict(req.headers.items()))


def test_aws_chunked_upload_with_trailing_checksum(server, s3, bucket):
    data = os.urandom(200_000)
    r = chunked_put(server, bucket, "chunked", data)
    assert r.status == 200, r.data
    crc = base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()
    assert r.headers.get("x-amz-checksum-crc32") == crc
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc
    bad = base64.b64encode(struct.pack(">I", zlib.crc32(b"other"))).decode()
    r = chunked_put(server, bucket, "chunked-bad", data, trailer_crc=bad)
    assert r.status == 400, r.data
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="chunked-bad")


def test_listing_v1_v2_pagination_and_delimiters(s3, bucket):
    keys = ["a/1", "a/2", "a/b/3", "b", "c d/e", "z+z"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [c["Prefix"] for c in out["CommonPrefixes"]] == ["a/", "c d/"]
    assert [o["Key"] for o in out["Contents"]] == ["b", "z+z"]
    assert out["KeyCount"] == 4
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, **kw)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="a/b/3")["Contents"]] == ["b", "c d/e", "z+z"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="a/")["Contents"]] == ["a/1", "a/2", "a/b/3"]
    v1 = s3.list_objects(Bucket=bucket, Marker="a/2", MaxKeys=2)
    assert [o["Key"] for o in v1["Contents"]] == ["a/b/3", "b"] and v1["IsTruncated"]
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert v1["NextMarker"] == "a/"
    paginator = s3.get_paginator("list_objects")
    assert [o["Key"] for p in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 1}) for o in p["Contents"]] == keys
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=unique("missing"))
    assert code(e) == "NoSuchBucket"


def test_versions_and_delete_markers(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 != "null"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    d = s3.delete_object(Bucket=bucket, Key="k")
    assert d["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", VersionId=d["VersionId"])
    assert code(e) == "MethodNotAllowed"
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert versions["DeleteMarkers"][0]["IsLatest"] is True
    assert "k" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    # Removing the delete marker brings the object back.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=d["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", VersionId="A" * 32)
    assert code(e) == "NoSuchVersion"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"three").get("VersionId") == "null"
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 2


def test_delete_objects_and_copy(s3, bucket):
    for k in ["x1", "x2", "x3"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode(), Metadata={"m": k})
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x1"}, {"Key": "x2"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["never", "x1", "x2"]
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "x3"})
    got = s3.get_object(Bucket=bucket, Key="copy")
    assert got["Body"].read() == b"x3" and got["Metadata"] == {"m": "x3"}
    s3.copy_object(Bucket=bucket, Key="copy2", CopySource=f"{bucket}/x3", MetadataDirective="REPLACE",
                   Metadata={"m": "new"}, ServerSideEncryption="aws:kms")
    got = s3.get_object(Bucket=bucket, Key="copy2")
    assert got["Metadata"] == {"m": "new"} and got["ServerSideEncryption"] == "aws:kms"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x3", CopySource=f"{bucket}/x3")
    assert code(e) == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/missing")
    assert code(e) == "NoSuchKey"


def test_object_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="project=alpha&team=ds")
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("project", "alpha"), ("team", "ds")]
    assert s3.head_object(Bucket=bucket, Key="t")  # TagCount travels on GET
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})
    assert code(e) == "InvalidTag"


def test_multipart_upload_and_its_errors(s3, bucket):
    part = os.urandom(5 * 1024 * 1024)
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=part)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]] == [1, 2]
    assert up in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert code(e) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert code(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 3, "ETag": e2}]})
    assert code(e) in ("InvalidPart", "EntityTooSmall")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert done["ETag"].endswith('-2"')
    got = s3.get_object(Bucket=bucket, Key="mp")["Body"].read()
    assert got == part + b"tail"
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == b"tail"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=3, Body=b"x")
    assert code(e) == "NoSuchUpload"
    small = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    a = s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=1, Body=b"a")["ETag"]
    b = s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=2, Body=b"b")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=small, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": a}, {"PartNumber": 2, "ETag": b}]})
    assert code(e) == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=small)
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=small)
    assert code(e) == "NoSuchUpload"


# ---- buckets


def test_bucket_errors_and_configuration(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert code(e) == "InvalidBucketName"
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=unique("nope"))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=unique("nope"), Key="k")
    assert code(e) == "NoSuchBucket"
    # us-east-1 answers 200 to a bucket the caller already owns.
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=unique(), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == "IllegalLocationConstraintException"
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    assert s3.head_bucket(Bucket=bucket)["BucketRegion"] == REGION
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "dev"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "dev"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(e) == "NoSuchTagSet"
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"]
    put = s3.put_object(Bucket=bucket, Key="default-kms", Body=b"x")
    assert put["ServerSideEncryption"] == "aws:kms" and put["BucketKeyEnabled"] is True
    assert s3.get_object(Bucket=bucket, Key="default-kms")["Body"].read() == b"x"
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "ObjectWriter"
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e) == "NoSuchBucketPolicy"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    assert code(e) == "MalformedPolicy"
    assert "line" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                        "Resource": "arn:aws:s3:::someone-else/*"}))
    assert code(e) == "MalformedPolicy"


def test_block_public_access(server, s3, bucket):
    public = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert code(e) == "AccessDenied"
    assert "BlockPublicPolicy" in e.value.response["Error"]["Message"]
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.put_object(Bucket=bucket, Key="pub", Body=b"x")
    url = f"{server.endpoint}/{bucket}/pub"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403  # RestrictPublicBuckets: only the account's principals
    s3.delete_public_access_block(Bucket=bucket)
    assert urllib.request.urlopen(url).read() == b"x"
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403


def test_presigned_urls_and_virtual_hosted_style(server, bucket):
    # Presigned URLs are SigV4 (S3 no longer accepts SigV2 signatures).
    s3 = server.client("s3", signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="p/q r.txt", Body=b"presigned", ServerSideEncryption="aws:kms")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p/q r.txt"}, ExpiresIn=60)
    assert urllib.request.urlopen(url).read() == b"presigned"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert e.value.code == 403
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60)
    req = urllib.request.Request(put_url, data=b"uploaded", method="PUT")
    assert urllib.request.urlopen(req).status == 200
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"
    # Virtual-hosted style: the bucket in the Host header (bucket.localhost), sent to the listener.
    port = server.endpoint.rsplit(":", 1)[1]
    vs3 = server.client("s3", endpoint=f"http://localhost:{port}", s3={"addressing_style": "virtual"})

    def to_loopback(request, **_):
        host = request.url.split("/")[2]
        request.headers["Host"] = host
        request.url = request.url.replace(host, f"127.0.0.1:{port}", 1)

    vs3.meta.events.register("before-send.s3", to_loopback)
    vs3.put_object(Bucket=bucket, Key="vh/key", Body=b"virtual")
    assert vs3.get_object(Bucket=bucket, Key="vh/key")["Body"].read() == b"virtual"
    assert "vh/key" in [o["Key"] for o in vs3.list_objects_v2(Bucket=bucket, Prefix="vh/")["Contents"]]


# ---- authorization


def test_identity_policies_and_condition_keys(server, bucket):
    key, secret = user(server, unique("reader"), {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": {"s3:prefix": "public/"}}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"},
    ]})
    root = server.client("s3")
    root.put_object(Bucket=bucket, Key="public/a", Body=b"a")
    root.put_object(Bucket=bucket, Key="secret/b", Body=b"b")
    c = server.client("s3", access_key=key, secret=secret)
    assert c.get_object(Bucket=bucket, Key="public/a")["Body"].read() == b"a"
    assert [o["Key"] for o in c.list_objects_v2(Bucket=bucket, Prefix="public/")["Contents"]] == ["public/a"]
    with pytest.raises(ClientError) as e:
        c.list_objects_v2(Bucket=bucket)
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="secret/b")
    assert code(e) == "AccessDenied"
    msg = e.value.response["Error"]["Message"]
    assert "is not authorized to perform: s3:GetObject on resource" in msg and f"{bucket}/secret/b" in msg
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="public/x", Body=b"x")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert code(e) == "AccessDenied"


def test_object_tag_condition_keys(server, bucket):
    key, secret = user(server, unique("tagger"), {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/classification": "public"}}},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["classification"]},
                       "StringEquals": {"s3:RequestObjectTag/classification": "public"}}},
    ]})
    root = server.client("s3")
    root.put_object(Bucket=bucket, Key="open", Body=b"o", Tagging="classification=public")
    root.put_object(Bucket=bucket, Key="closed", Body=b"c", Tagging="classification=secret")
    c = server.client("s3", access_key=key, secret=secret)
    assert c.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="closed")
    assert code(e) == "AccessDenied"
    c.put_object(Bucket=bucket, Key="mine", Body=b"m", Tagging="classification=public")
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="mine2", Body=b"m", Tagging="classification=secret")
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="mine3", Body=b"m")
    assert code(e) == "AccessDenied"


def test_s2_encryption_enforced_on_write(server, s3, tmp_path):
    name = unique("s2")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=doc({
        "Sid": "DenyUnencryptedObjectUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}))
    f = tmp_path / "data.csv"
    f.write_text("a,b\n1,2\n")
    rc, _, err = server.cli("s3", "cp", str(f), f"s3://{name}/data.csv", check=False)
    assert rc != 0 and "AccessDenied" in err
    assert "explicit deny in a resource-based policy" in err
    server.cli("s3", "cp", str(f), f"s3://{name}/data.csv", "--sse", "aws:kms")
    head = s3.head_object(Bucket=name, Key="data.csv")
    assert head["ServerSideEncryption"] == "aws:kms"
    default_key = server.client("kms").describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]
    assert head["SSEKMSKeyId"] == default_key
    # The named key variant: only one designated key is accepted.
    kms = server.client("kms")
    designated = kms.create_key(Description="designated")["KeyMetadata"]["Arn"]
    other = kms.create_key(Description="other")["KeyMetadata"]["Arn"]
    s3.put_bucket_policy(Bucket=name, Policy=doc({
        "Sid": "RequireDesignatedKey", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": designated}}}))
    rc, _, err = server.cli("s3", "cp", str(f), f"s3://{name}/other.csv", "--sse", "aws:kms",
                            "--sse-kms-key-id", other, check=False)
    assert rc != 0 and "AccessDenied" in err
    server.cli("s3", "cp", str(f), f"s3://{name}/ok.csv", "--sse", "aws:kms", "--sse-kms-key-id", designated)
    assert s3.head_object(Bucket=name, Key="ok.csv")["SSEKMSKeyId"] == designated
    _, out, _ = server.cli("s3", "cp", f"s3://{name}/ok.csv", "-")
    assert out.startswith("a,b")


def test_s3_kms_key_policy_denies_a_reader_s3_allows(server, s3):
    name = unique("s3kms")
    s3.create_bucket(Bucket=name)
    kms = server.client("kms")
    writer_name = unique("writer")
    writer_key, writer_secret = user(server, writer_name, S3_ALL)
    reader_key, reader_secret = user(server, unique("reader"), S3_ALL)
    writer_arn = f"arn:aws:iam::{ACCOUNT}:user/{writer_name}"
    # A key whose policy has no "Enable IAM User Permissions" statement: the writer is a key
    # user, the reader's identity policy (kms:*) does not count.
    key = kms.create_key(Policy=doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": ["kms:Describe*", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], "Resource": "*"},
        {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": writer_arn}, "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"},
    ), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]
    writer = server.client("s3", access_key=writer_key, secret=writer_secret)
    writer.put_object(Bucket=name, Key="secret.csv", Body=b"classified", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    assert writer.get_object(Bucket=name, Key="secret.csv")["Body"].read() == b"classified"
    reader = server.client("s3", access_key=reader_key, secret=reader_secret)
    # S3 allows the reader (identity policy s3:*): HEAD needs no key.
    assert reader.head_object(Bucket=name, Key="secret.csv")["ContentLength"] == 10
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket=name, Key="secret.csv")
    assert code(e) == "AccessDenied"
    assert "kms:Decrypt" in e.value.response["Error"]["Message"]
    # Writing under the key is refused the same way.
    with pytest.raises(ClientError) as e:
        reader.put_object(Bucket=name, Key="other", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    assert code(e) == "AccessDenied"


def test_kms_via_service_limits_a_key_to_s3(server, s3):
    name = unique("via")
    s3.create_bucket(Bucket=name)
    uname = unique("viauser")
    key, secret = user(server, uname, S3_ALL)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{uname}"
    kms = server.client("kms")
    key_arn = kms.create_key(Policy=doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
         "Action": ["kms:Describe*", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], "Resource": "*"},
        {"Sid": "OnlyThroughS3", "Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"},
                       "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{name}/*"}}},
    ), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]
    c = server.client("s3", access_key=key, secret=secret)
    c.put_object(Bucket=name, Key="k", Body=b"via s3", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    assert c.get_object(Bucket=name, Key="k")["Body"].read() == b"via s3"
    direct = server.client("kms", access_key=key, secret=secret)
    with pytest.raises(ClientError) as e:
        direct.generate_data_key(KeyId=key_arn, KeySpec="AES_256",
                                 EncryptionContext={"aws:s3:arn": f"arn:aws:s3:::{name}/k"})
    assert code(e) == "AccessDeniedException"


def totp(seed_b32, t=None, step=30):
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    counter = int((t or time.time()) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def test_s13_mfa_required_by_bucket_policy(server, s3):
    name = unique("s13")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"mfa data")
    uname = unique("mfauser")
    key, secret = user(server, uname, S3_ALL)
    iam = server.client("iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=uname)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    now = time.time()
    iam.enable_mfa_device(UserName=uname, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp(seed, now - 30), AuthenticationCode2=totp(seed, now))
    s3.put_bucket_policy(Bucket=name, Policy=doc({
        "Sid": "DenyWithoutMFA", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Null": {"aws:MultiFactorAuthAge": "true"}}}))
    long_term = server.client("s3", access_key=key, secret=secret)
    with pytest.raises(ClientError) as e:
        long_term.get_object(Bucket=name, Key="k")
    assert code(e) == "AccessDenied"
    assert "explicit deny in a resource-based policy" in e.value.response["Error"]["Message"]
    rc, _, err = server.cli("s3", "ls", f"s3://{name}", access_key=key, secret=secret, check=False)
    assert rc != 0 and "AccessDenied" in err
    sts = server.client("sts", access_key=key, secret=secret)
    creds = sts.get_session_token(SerialNumber=device["SerialNumber"], TokenCode=totp(seed))["Credentials"]
    mfa = server.client("s3", access_key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert mfa.get_object(Bucket=name, Key="k")["Body"].read() == b"mfa data"
    _, out, _ = server.cli("s3", "ls", f"s3://{name}", access_key=creds["AccessKeyId"],
                           secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert "k" in out
    # The bucket owner's root user can always remove the policy.
    s3.delete_bucket_policy(Bucket=name)


# ---- on disk


def test_no_plaintext_on_disk(durable_server):
    s3 = durable_server.client("s3")
    name = unique("disk")
    s3.create_bucket(Bucket=name)
    marker = b"PERIMETER-PLAINTEXT-MARKER-" + uuid.uuid4().hex.encode()
    body = marker * 5000
    s3.put_object(Bucket=name, Key="sse-s3", Body=body)
    s3.put_object(Bucket=name, Key="sse-kms", Body=body, ServerSideEncryption="aws:kms")
    up = s3.create_multipart_upload(Bucket=name, Key="mp", ServerSideEncryption="aws:kms")["UploadId"]
    etag = s3.upload_part(Bucket=name, Key="mp", UploadId=up, PartNumber=1, Body=body)["ETag"]
    s3.complete_multipart_upload(Bucket=name, Key="mp", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=name, Key="mp")["Body"].read() == body
    durable_server.stop()
    hits = []
    for root, _, files in os.walk(durable_server.data_dir):
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                if marker in fh.read():
                    hits.append(path)
    assert hits == []
    # Restarted, the objects are still there.
    durable_server.start()
    s3 = durable_server.client("s3")
    assert s3.get_object(Bucket=name, Key="sse-kms")["Body"].read() == body
    assert s3.get_object(Bucket=name, Key="mp")["Body"].read() == body


# ---- a 2 GiB object


def part_bytes(i, size):
    """Part i of the 2 GiB object: a 1 MiB block seeded by i, repeated."""
    block = hashlib.sha256(str(i).encode()).digest() * (1 << 15)
    return (block * (size // len(block) + 1))[:size]


def test_two_gib_multipart_upload_reads_back_identical(server):
    s3 = server.client("s3", read_timeout=600)
    name = unique("big")
    s3.create_bucket(Bucket=name)
    part_size, parts = 64 << 20, 32
    total = part_size * parts
    up = s3.create_multipart_upload(Bucket=name, Key="2gib", ServerSideEncryption="aws:kms")["UploadId"]
    done, whole = [], hashlib.sha256()
    for i in range(parts):
        data = part_bytes(i, part_size)
        whole.update(data)
        etag = s3.upload_part(Bucket=name, Key="2gib", UploadId=up, PartNumber=i + 1, Body=data)["ETag"]
        done.append({"PartNumber": i + 1, "ETag": etag})
        del data
    s3.complete_multipart_upload(Bucket=name, Key="2gib", UploadId=up, MultipartUpload={"Parts": done})
    assert s3.head_object(Bucket=name, Key="2gib")["ContentLength"] == total
    body = s3.get_object(Bucket=name, Key="2gib")["Body"]
    back = hashlib.sha256()
    for chunk in iter(lambda: body.read(8 << 20), b""):
        back.update(chunk)
    assert back.hexdigest() == whole.hexdigest()

    def expected(start, end):
        out = b""
        pos = start
        while pos < end:
            i, off = divmod(pos, part_size)
            take = min(end - pos, part_size - off)
            out += part_bytes(i, part_size)[off:off + take]
            pos += take
        return out

    seg = 64 * 1024
    for start, end in [
        (seg - 10, seg + 10),                      # across a segment boundary
        (part_size - 100, part_size + 100),        # across a part boundary
        (5 * part_size + 3 * seg - 1, 5 * part_size + 7 * seg + 1),
        (total - 1000, total),                     # the tail
    ]:
        got = s3.get_object(Bucket=name, Key="2gib", Range=f"bytes={start}-{end - 1}")["Body"].read()
        assert got == expected(start, end), (start, end)
    s3.delete_object(Bucket=name, Key="2gib")


def test_buckets_named_like_studio_paths_are_still_buckets(server):
    s3 = server.client("s3")
    for name in ("studio", "notebook"):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"v")
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
