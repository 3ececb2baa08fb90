"""The roles' entry points are validated for real.

Ansible checks a role's variables against meta/argument_specs.yml only for the entry point
whose name equals `tasks_from` (`tasks_from: network`, not `network.yml`), and before the
role's own tasks but after its dependencies' tasks. So: every `tasks_from` of the repository
names an entry point, every entry point has its tasks file, and for every entry point a bad
variable stops the run at the argument-spec check, before any other task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, Ansible, argument_specs

INCLUDES = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"}
# Where playbooks, scenarios and tests include roles (and the roles each other).
SOURCES = ["playbooks", "molecule", "tests", "roles"]

# For each entry point: a variable of the wrong type or choice, and what the argument-spec
# error says about it. Every entry point of every role must be listed here.
BAD: dict[tuple[str, str], tuple[str, Any, str]] = {
    ("aws_infra", "main"): ("aws_infra_state", "gone", "aws_infra_state must be one of"),
    ("swarmops", "main"): ("swarmops_consul_port", "eighty", "swarmops_consul_port"),
    ("consul", "main"): ("consul_bootstrap_expect", "three", "consul_bootstrap_expect"),
    ("consul", "image"): ("consul_leader_timeout", "soon", "consul_leader_timeout"),
    ("consul", "validate"): ("consul_retry_join", {"a": "mapping"}, "consul_retry_join"),
    ("consul", "forget"): ("consul_forget_hosts", {"a": "mapping"}, "consul_forget_hosts"),
    ("docker_engine", "main"): ("docker_engine_start_timeout", "soon", "docker_engine_start_timeout"),
    ("docker_engine", "restart"): ("docker_engine_start_timeout", "soon", "docker_engine_start_timeout"),
    ("images", "main"): ("images_list", [{"name": "x", "tag": "y"}], "tag"),
    ("python_env", "main"): ("python_env_packages", {"docker": "7"}, "python_env_packages"),
    ("swarm_master", "main"): ("swarm_master_availability", "sleeping", "swarm_master_availability must be one of"),
    ("swarm_master", "labels"): ("swarm_master_consul_port", "eighty", "swarm_master_consul_port"),
    ("swarm_master", "network"): ("swarm_master_network_encrypted", "maybe", "swarm_master_network_encrypted"),
    ("swarm_master", "validate"): ("swarm_master_subnet_size", "big", "swarm_master_subnet_size"),
    ("swarm_master", "inventory_roles"): ("swarm_master_drain_timeout", "soon", "swarm_master_drain_timeout"),
    ("swarm_master", "absent"): ("swarm_master_consul_port", "eighty", "swarm_master_consul_port"),
    ("swarm_master", "remove"): ("swarm_master_remove_nodes", {"a": "mapping"}, "swarm_master_remove_nodes"),
    ("rolling_maintenance", "main"): ("rolling_maintenance_restart", "reboot", "must be one of"),
    ("rolling_maintenance", "plan"): ("rolling_maintenance_hosts", {"a": "mapping"}, "rolling_maintenance_hosts"),
    ("rolling_maintenance", "validate"): ("rolling_maintenance_wait_timeout", "soon", "wait_timeout"),
    ("swarm_node", "main"): ("swarm_node_join_timeout", "soon", "swarm_node_join_timeout"),
    ("swarm_node", "validate"): ("swarm_node_labels", "not a mapping", "swarm_node_labels"),
    ("swarm_services", "main"): ("swarm_services_concurrent", "maybe", "swarm_services_concurrent"),
    ("swarm_services", "validate"): ("swarm_services_images", [{"archive": "x.tar"}], "name"),
}
# The hosts each role runs on in site.yml (the stand-in inventory has one group of each).
HOSTS = {"swarm_master": "swarm_masters", "swarm_node": "swarm_nodes", "swarm_services": "swarm_masters"}


def role_includes() -> list[tuple[Path, str, str | None]]:
    """Every include_role / import_role of the repository: (file, role, tasks_from)."""
    found = []

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in INCLUDES and isinstance(value, dict):
                    found.append((path, str(value.get("name", "")), value.get("tasks_from")))
                walk(value, path)
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.yml")):
            if "output" in path.parts:
                continue
            walk(yaml.safe_load(path.read_text()), path.relative_to(ROOT))
    return found


def test_every_tasks_from_names_an_entry_point_of_the_role():
    specs = argument_specs()
    includes = [(path, role, entry) for path, role, entry in role_includes() if entry is not None]
    assert includes, "no tasks_from found: the scan is broken"
    wrong = []
    for path, role, entry in includes:
        name = role.removeprefix("swarmops.cluster.")
        if entry not in specs.get(name, {}):
            wrong.append(
                f"{path}: tasks_from: {entry} of role {role} is no entry point of "
                f"roles/{name}/meta/argument_specs.yml ({', '.join(specs.get(name, {})) or 'none'}), so its "
                "variables are never checked"
            )
    assert wrong == []


def test_every_entry_point_has_its_tasks_file_and_a_case_here():
    entry_points = {(role, entry) for role, spec in argument_specs().items() for entry in spec}
    missing_files = sorted(
        f"roles/{role}/tasks/{entry}.yml"
        for role, entry in entry_points
        if entry != "main" or (ROOT / "roles" / role / "tasks").is_dir()
        if not (ROOT / "roles" / role / "tasks" / f"{entry}.yml").is_file()
    )
    assert missing_files == []
    assert sorted(entry_points) == sorted(BAD), "every entry point needs its bad-variable case in BAD"


@pytest.mark.parametrize(("role", "entry"), sorted(BAD), ids=[f"{role}:{entry}" for role, entry in sorted(BAD)])
def test_a_bad_variable_fails_at_the_argument_spec_before_any_other_task(ansible: Ansible, role: str, entry: str):
    variable, value, fragment = BAD[(role, entry)]
    run = ansible.role(role, entry, hosts=HOSTS.get(role, "consul_servers"), extra_vars={variable: value})
    # swarmops (the shared defaults) is every cluster role's dependency: its check runs first, and passes here.
    assert run.failure().validated == (role, entry), str(run)
    run.refused(variable, fragment)


def test_the_shared_defaults_are_checked_before_the_role_that_uses_them(ansible: Ansible):
    run = ansible.role("swarm_node", hosts="swarm_nodes", extra_vars={"swarmops_consul_port": "eighty"})
    assert run.failure().validated == ("swarmops", "main"), str(run)
    run.refused("swarmops_consul_port")
