"""Fixtures for playbooks/aws.yml and inventories/aws against a local EC2 double.

A moto server on a free loopback port stands in for AWS. Every command gets fake
credentials and that endpoint three ways (the playbook's aws_infra_endpoint_url,
amazon.aws's AWS_URL and botocore's AWS_ENDPOINT_URL), with the AWS_* and EC2_*
variables of the caller's shell removed, and refuses to run unless the endpoint
is a loopback address: nothing here can reach AWS, nor any instance address."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ROOT = Path(__file__).resolve().parents[2]
MOTO = Path(__file__).with_name("moto_server.py")
REGION = "eu-west-1"
# Machine-readable output of ansible and ansible-playbook.
JSON_OUTPUT = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def require_loopback(url: str) -> str:
    """``url`` itself, or an error if its host is not this machine's loopback."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise RuntimeError(f"refusing to test against {url!r}: the EC2 endpoint must be a loopback address")
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto server started for this session (stopped at its end)."""
    port = _free_port()
    url = require_loopback(f"http://127.0.0.1:{port}")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"moto_server exited with {server.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not listen on port {port} within 30 s") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def ec2(endpoint: str):
    """A boto3 EC2 client of the moto server."""
    return boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=require_loopback(endpoint),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def image_id(ec2) -> str:
    """An AMI that moto offers in the region (only its API record is ever used)."""
    al2023 = [{"Name": "name", "Values": ["al2023-ami-2023*-x86_64"]}]
    images = ec2.describe_images(Owners=["amazon"], Filters=al2023)["Images"]
    assert images, "moto offers no Amazon Linux 2023 image in this region"
    return sorted(images, key=lambda image: image["Name"])[0]["ImageId"]


@pytest.fixture(scope="session")
def public_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519.pub"
    text = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    path.write_text(f"{text} swarmops-test\n")
    return path


class Runner:
    """ansible, ansible-playbook and ansible-inventory with the moto endpoint, from the repository root."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = require_loopback(endpoint)

    def env(self, cluster: str, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "EC2_"))}
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION=REGION,
            AWS_URL=self.endpoint,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            SWARMOPS_CLUSTER=cluster,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_DEPRECATION_WARNINGS="0",
        )
        env.update(extra)
        for name in ("AWS_URL", "AWS_ENDPOINT_URL"):
            require_loopback(env[name])
        return env

    def command(self, argv: list[str], cluster: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=self.env(cluster, **extra), cwd=ROOT, capture_output=True, text=True, check=False
        )

    def popen(self, argv: list[str], cluster: str, output: Path, **extra: str) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the background, its stdout to ``output`` and stderr next to it (.err)."""
        with output.open("wb") as out, output.with_suffix(".err").open("wb") as err:
            return subprocess.Popen(argv, env=self.env(cluster, **extra), cwd=ROOT, stdout=out, stderr=err)

    def aws_playbook(self, extra_vars: dict[str, Any]) -> list[str]:
        """The command line of playbooks/aws.yml with the endpoint and ``extra_vars``."""
        variables = dict(extra_vars, aws_infra_endpoint_url=self.endpoint)
        return ["ansible-playbook", "playbooks/aws.yml", "-e", json.dumps(variables)]


def recap(output: str) -> dict[str, int]:
    """The numbers of localhost's PLAY RECAP line."""
    found = RECAP.findall(output)
    assert found, f"no PLAY RECAP for localhost in:\n{output}"
    ok, changed, unreachable, failed = (int(value) for value in found[-1])
    return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}


@pytest.fixture(scope="session")
def runner(endpoint: str) -> Runner:
    return Runner(endpoint)
