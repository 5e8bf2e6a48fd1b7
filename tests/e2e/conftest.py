"""Fixtures: a `perimeter serve` process per test module, and clients pointed at it.

Every test drives the real aws-cli and boto3 with nothing changed but the endpoint.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import boto3
import pytest
from botocore.config import Config

BIN = os.environ.get("PERIMETER_BIN") or shutil.which("perimeter") or os.path.join(
    os.path.dirname(__file__), "..", "..", "target", "debug", "perimeter"
)
ROOT_KEY = "AKIAPERIMETERROOT000"
ROOT_SECRET = "perimeter-root-secret-for-tests-only-0000"
REGION = "us-east-1"
ACCOUNT = "000000000000"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `perimeter serve`."""

    def __init__(self, data_dir=None, extra_args=(), region=REGION):
        self.region = region
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.proc = None
        self.endpoint = None
        self.log = tempfile.NamedTemporaryFile(prefix="perimeter-", suffix=".log", delete=False)

    def start(self, port=None):
        port = port or free_port()
        args = [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--region", self.region, "--account-id", ACCOUNT]
        args += ["--data-dir", self.data_dir] if self.data_dir else ["--ephemeral"]
        args += self.extra_args
        env = dict(os.environ, PERIMETER_ROOT_ACCESS_KEY_ID=ROOT_KEY, PERIMETER_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        deadline = time.time() + 60
        for line in self.proc.stdout:
            if line.startswith("ready "):
                self.endpoint = line.split()[1].strip()
                break
            if time.time() > deadline:
                break
        if not self.endpoint:
            self.stop()
            raise RuntimeError(f"perimeter did not start; log in {self.log.name}")
        return self

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def admin(self):
        """Access keys of an IAM user with AdministratorAccess (the root user may not assume roles)."""
        if getattr(self, "_admin", None) is None:
            iam = self.client("iam")
            name = "perimeter-test-admin"
            try:
                iam.create_user(UserName=name)
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
            k = iam.create_access_key(UserName=name)["AccessKey"]
            self._admin = (k["AccessKeyId"], k["SecretAccessKey"])
        return self._admin

    def admin_client(self, service, **kw):
        key, secret = self.admin()
        return self.client(service, access_key=key, secret=secret, **kw)

    def client(self, service, access_key=ROOT_KEY, secret=ROOT_SECRET, token=None, endpoint=None, **config):
        return boto3.client(
            service,
            endpoint_url=endpoint or self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def cli(self, *args, access_key=ROOT_KEY, secret=ROOT_SECRET, token=None, endpoint=None, check=True):
        """Runs aws-cli; returns (returncode, parsed JSON or text, stderr)."""
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID=access_key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_MAX_ATTEMPTS="1",
        )
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        if token:
            env["AWS_SESSION_TOKEN"] = token
        cmd = ["aws", "--endpoint-url", endpoint or self.endpoint, "--output", "json", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
        out = p.stdout
        try:
            out = json.loads(out) if out.strip() else None
        except json.JSONDecodeError:
            pass
        return p.returncode, out, p.stderr


@pytest.fixture(scope="module")
def server():
    s = Server().start()
    yield s
    s.stop()


@pytest.fixture()
def fresh_server():
    s = Server().start()
    yield s
    s.stop()


@pytest.fixture()
def durable_server(tmp_path):
    s = Server(data_dir=str(tmp_path / "data")).start()
    yield s
    s.stop()
