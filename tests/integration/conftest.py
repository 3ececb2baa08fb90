"""Fixtures for module integration tests on real engines: the "itest" lab hosts
(Docker-in-Docker containers on the local engine) and a way to run one module on
them through Ansible, returning each host's result."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import consul
import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path(__file__).with_name("inventory.yml")
LAB_NAME = "itest"
VENV_PYTHON = "/opt/swarmops/venv/bin/python"
SECRETS = ROOT / ".lab" / "secrets" / LAB_NAME


def _env() -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), SWARMOPS_LAB_NAME=LAB_NAME)
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    return env


def _destroy() -> None:
    subprocess.run([str(ROOT / "lab" / "destroy.sh")], env=_env(), check=True, cwd=ROOT)


class Ansible:
    """Run one module on some of the itest hosts; results by host name."""

    def run(
        self,
        pattern: str,
        module: str,
        args: dict[str, Any] | None = None,
        *,
        check: bool = False,
        diff: bool = False,
        venv: bool = True,
    ) -> dict[str, dict[str, Any]]:
        command = ["ansible", "-i", str(INVENTORY), pattern, "-m", module, "-a", json.dumps(args or {}), "-f", "5"]
        if venv:
            command += ["-e", f"ansible_python_interpreter={VENV_PYTHON}"]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        done = subprocess.run(command, env=_env(), cwd=ROOT, capture_output=True, text=True, check=False)
        try:
            output = json.loads(done.stdout)
        except ValueError as exc:
            raise AssertionError(f"ansible printed no JSON:\n{done.stdout}\n{done.stderr}") from exc
        results = output["plays"][0]["tasks"][0]["hosts"]
        for host, result in results.items():
            assert_changed_follows_the_diff(host, module, result)
        return results

    def one(self, host: str, module: str, args: dict[str, Any] | None = None, **options: bool) -> dict[str, Any]:
        return self.run(host, module, args, **options)[host]


def assert_changed_follows_the_diff(host: str, module: str, result: dict[str, Any]) -> None:
    """The contract of every swarmops module: ``changed`` is true exactly when ``changes`` lists a
    field, and every listed field differs between ``diff.before`` and ``diff.after``."""
    if not module.startswith("swarmops.cluster.") or result.get("failed") or "changes" not in result:
        return
    changes = result["changes"]
    assert result["changed"] is bool(changes), (host, module, result["changed"], changes, result.get("actions"))
    diff = result.get("diff") or {}
    for field in changes if diff else []:
        before, after = diff["before"].get(field), diff["after"].get(field)
        assert before != after, (host, module, field, before)


def container_ip(host: str) -> str:
    """The lab network address of a node container, as seen from this machine."""
    network = f"swarmops-{LAB_NAME}"
    template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return subprocess.run(
        ["docker", "inspect", "-f", template, host], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def ansible() -> Iterator[Ansible]:
    """Fresh itest hosts with the Python environment and the Consul image."""
    _destroy()
    env = dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), str(Path(__file__).with_name("prepare.yml"))],
        env=env,
        cwd=ROOT,
        check=True,
    )
    yield Ansible()
    if not os.environ.get("SWARMOPS_KEEP_LAB"):
        _destroy()


@pytest.fixture(scope="session")
def kv(ansible: Ansible) -> consul.Consul:
    """Consul on itest-kv with ACLs, the masters' and nodes' tokens; a management client."""
    env = dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    playbook = Path(__file__).with_name("swarm_prepare.yml")
    subprocess.run(["ansible-playbook", "-i", str(INVENTORY), str(playbook)], env=env, cwd=ROOT, check=True)
    return consul.Consul(host=container_ip("itest-kv"), token=(SECRETS / "management.token").read_text().strip())
