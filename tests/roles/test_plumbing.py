"""The roles set connections and the interpreter once: Consul's address, port and token through
module_defaults and the action groups, the modules' Python through role python_env."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from .conftest import ROOT, Ansible

# The options module_defaults sets for group/swarmops.cluster.swarm and group/community.general.consul.
CONNECTION = {"consul_host", "consul_port", "consul_token", "consul_scheme", "host", "port", "token", "scheme"}
GROUPED = ("swarmops.cluster.", "community.general.consul_")
# The one place besides python_env that sets the interpreter: role images, for hosts without python_env.
INTERPRETER_ALLOWED = {Path("roles/images/tasks/main.yml")}


def tasks(node: Any) -> list[dict[str, Any]]:
    """Every task and block of a task file, nested ones included."""
    found = []
    for item in node or []:
        if isinstance(item, dict):
            found.append(item)
            for key in ("block", "rescue", "always"):
                found.extend(tasks(item.get(key)))
    return found


def role_task_files() -> list[tuple[Path, list[dict[str, Any]]]]:
    return [
        (path.relative_to(ROOT), tasks(yaml.safe_load(path.read_text())))
        for path in sorted(ROOT.glob("roles/*/tasks/*.yml"))
    ]


def test_no_role_task_passes_consul_connection_options_itself():
    repeated = []
    for path, found in role_task_files():
        for task in found:
            for action, args in task.items():
                if action.startswith(GROUPED) and isinstance(args, dict) and CONNECTION & set(args):
                    repeated.append(f"{path}: {task.get('name')}: {sorted(CONNECTION & set(args))}")
    assert repeated == [], "set them with module_defaults and the action group instead"


def test_no_role_task_sets_the_interpreter():
    setting = [
        f"{path}: {task.get('name')}"
        for path, found in role_task_files()
        if path not in INTERPRETER_ALLOWED
        for task in found
        if "ansible_python_interpreter" in (task.get("vars") or {})
    ]
    assert setting == [], "role python_env sets ansible_python_interpreter once per host"


def test_module_defaults_on_a_block_reach_the_tasks_of_an_included_file(ansible: Ansible, tmp_path: Path):
    """What the roles rely on: a block's module_defaults for group/swarmops.cluster.swarm, given as a
    template, apply to a module task of a file the block includes. The engine it points to does not
    exist, so the module's error names it, and nothing is reached."""
    socket = f"unix://{tmp_path}/no-engine.sock"
    (tmp_path / "included.yml").write_text(
        yaml.safe_dump([{"name": "A module of the group", "swarmops.cluster.swarm_network": {"name": "n"}}])
    )
    play = [
        {
            "name": "module_defaults through include_tasks",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable, "_connection": {"docker_host": socket}},
            "tasks": [
                {
                    "name": "The block",
                    "module_defaults": {"group/swarmops.cluster.swarm": "{{ _connection }}"},
                    "block": [{"name": "Include", "ansible.builtin.include_tasks": str(tmp_path / "included.yml")}],
                }
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    failure = ansible.playbook(tmp_path / "play.yml").failure()
    assert failure.task == "A module of the group", failure
    assert socket in str(failure.result.get("msg")), failure
