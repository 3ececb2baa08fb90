"""Run the roles and playbooks against stand-in hosts that nothing can change.

Every host of the inventory here is this machine through the local connection, with an
interpreter that does not exist: a task that runs a module on a host fails at once, so the
only tasks that can succeed are the ones that compute on the controller (argument specs,
assertions, includes). Tests that expect a refusal assert that it came from such a task and
that nothing else ran, which is what "refused before any change" means. HOME and the secrets
directory point into the test's own temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Machine-readable output of ansible-playbook.
JSON_OUTPUT = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
NO_PYTHON = "/nonexistent/swarmops-test-python"
# Actions that check or include and change nothing: all that may run before a refusal.
CHECKS = {
    "ansible.builtin.validate_argument_spec",
    "ansible.builtin.assert",
    "ansible.builtin.fail",
    "ansible.builtin.include_role",
    "ansible.builtin.include_tasks",
    "ansible.builtin.debug",
    "ansible.builtin.set_fact",
    "ansible.builtin.group_by",
}
# The stand-in topology: one host per group site.yml needs.
GROUPS = {"consul_servers": ["consul"], "swarm_masters": ["master0", "master1"], "swarm_nodes": ["node0"]}


@dataclass
class Result:
    """One task's result on one host, in the order the tasks ran."""

    task: str
    host: str
    action: str
    result: dict[str, Any]

    @property
    def ran(self) -> bool:
        return not self.result.get("skipped", False)

    @property
    def validated(self) -> tuple[str, str] | None:
        """(role, entry point) of an argument-spec check, else None."""
        context = self.result.get("validate_args_context") or {}
        if context.get("type") != "role":
            return None
        return str(context.get("name", "")).removeprefix("swarmops.cluster."), str(context.get("argument_spec_name"))

    @property
    def failed(self) -> bool:
        if self.result.get("failed_when_result") is False:
            return False
        return bool(self.result.get("failed") or self.result.get("unreachable"))


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\nrc={self.returncode}\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}"

    @property
    def results(self) -> list[Result]:
        output = json.loads(self.stdout)
        found = []
        for play in output["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    action = result.get("action") or task["task"].get("action", "")
                    found.append(Result(task["task"]["name"], host, action, result))
        return found

    @property
    def failures(self) -> list[Result]:
        return [result for result in self.results if result.failed]

    def failure(self) -> Result:
        """The first failed task, which must be the only one."""
        assert self.returncode != 0, f"the run did not fail:\n{self}"
        failures = self.failures
        assert failures, f"no task failed:\n{self}"
        return failures[0]

    def ran_only_checks(self) -> list[str]:
        """The tasks that ran and are not checks (empty when nothing else ran)."""
        return [
            f"{result.task} on {result.host} ({result.action})"
            for result in self.results
            if result.ran and result.action not in CHECKS
        ]

    def refused(self, *fragments: str) -> str:
        """Assert that the run failed in a check, with every fragment in its message, and that no
        task other than checks ran; return the message."""
        failure = self.failure()
        message = str(failure.result.get("msg", ""))
        assert failure.action in CHECKS, f"the failing task {failure.task!r} is no check ({failure.action}):\n{self}"
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in the message of {failure.task!r}: {message}\n{self}"
        assert self.ran_only_checks() == [], f"tasks other than checks ran:\n{self}"
        return message


class Ansible:
    """ansible-playbook from the repository root, against the stand-in inventory."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.inventory = work / "inventory.yml"
        self.write_inventory(GROUPS)

    def write_inventory(self, groups: dict[str, list[str]], **variables: Any) -> Path:
        hosts = {"ansible_connection": "local", "ansible_python_interpreter": NO_PYTHON}
        inventory = {
            "all": {
                "vars": {
                    **hosts,
                    "swarmops_cluster": "rolestest",
                    "swarmops_secrets_dir": str(self.work / "secrets"),
                    **variables,
                },
                "children": {group: {"hosts": {host: None for host in members}} for group, members in groups.items()},
            }
        }
        self.inventory.write_text(yaml.safe_dump(inventory))
        return self.inventory

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        env.update(
            JSON_OUTPUT,
            HOME=str(self.work / "home"),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_LOCALHOST_WARNING="0",
        )
        return env

    def playbook(self, playbook: str | Path, *args: str, extra_vars: dict[str, Any] | None = None) -> Run:
        argv = ["ansible-playbook", "-i", str(self.inventory), str(playbook), *args]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        (self.work / "home").mkdir(exist_ok=True)
        done = subprocess.run(argv, env=self.env(), cwd=ROOT, capture_output=True, text=True, check=False)
        return Run(argv, done.returncode, done.stdout, done.stderr)

    def role(self, role: str, entry: str = "main", hosts: str = "all", extra_vars: dict[str, Any] | None = None) -> Run:
        """Include role ``role`` at entry point ``entry`` on ``hosts``, as site.yml does."""
        include: dict[str, Any] = {"name": f"swarmops.cluster.{role}"}
        if entry != "main":
            include["tasks_from"] = entry
        play = [
            {
                "name": f"{role} {entry}",
                "hosts": hosts,
                "gather_facts": False,
                "tasks": [{"name": f"Role {role}, entry point {entry}", "ansible.builtin.include_role": include}],
            }
        ]
        path = self.work / f"{role}-{entry}.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        return self.playbook(path, extra_vars=extra_vars)


@pytest.fixture
def ansible(tmp_path: Path) -> Iterator[Ansible]:
    yield Ansible(tmp_path)


def argument_specs() -> dict[str, dict[str, Any]]:
    """Each role's entry points, from its meta/argument_specs.yml."""
    specs = {}
    for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        specs[path.parent.parent.name] = yaml.safe_load(path.read_text())["argument_specs"]
    return specs
