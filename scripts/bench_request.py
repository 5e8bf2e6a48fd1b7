#!/usr/bin/env python3
"""Writes a wrk Lua script that replays one SigV4-signed AWS request.

A signature stays valid for 15 minutes, so a load tool can replay it; both
servers under test get byte-identical requests.

usage: bench_request.py ENDPOINT SERVICE BODY ACCESS_KEY SECRET OUT.lua
"""
import sys
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    endpoint, service, body, key, secret, out = sys.argv[1:7]
    req = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                 "Host": urlparse(endpoint).netloc},
    )
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    lua = ['wrk.method = "POST"', f'wrk.body = "{body}"']
    for name, value in req.headers.items():
        if name.lower() == "host":
            continue
        lua.append(f'wrk.headers["{name}"] = "{value}"')
    open(out, "w").write("\n".join(lua) + "\n")


if __name__ == "__main__":
    main()
