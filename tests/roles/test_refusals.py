"""Every input is checked before any change: each bad input below is refused by a check on the
controller, with a message naming the value and what would be valid, and no other task runs.

site.yml's preflight refuses them before the first task that touches a host; the roles refuse
them at their own start when used alone."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from .conftest import GROUPS, ROOT, Ansible

SITE = "playbooks/site.yml"
PREFLIGHT = "playbooks/preflight.yml"
SERVICES = [{"name": "hello", "image": "swarmops/hello:0.2.0"}, {"name": "world", "image": "swarmops/world:0.2.0"}]
RULE = "1-63 characters of a-z, 0-9, '-' and '_', starting and ending with a letter or digit"


def refused_by_preflight(ansible: Ansible, *fragments: str, **extra_vars: Any) -> str:
    """Run site.yml with ``extra_vars``: refused in its preflight, before any other play."""
    run = ansible.playbook(SITE, extra_vars=extra_vars or None)
    message = run.refused(*fragments)
    plays_run = {result.task for result in run.results}
    assert "Reach the master" not in plays_run, str(run)
    return message


# ---------------------------------------------------------------- the inventory's groups


@pytest.mark.parametrize("group", ["swarm_masters", "consul_servers"])
def test_an_empty_group_is_refused_naming_the_group_and_the_inventory(ansible: Ansible, group: str):
    inventory = ansible.write_inventory({**GROUPS, group: []})
    refused_by_preflight(ansible, f"no host in group {group}", str(inventory))


def test_a_host_both_master_and_node_is_refused(ansible: Ansible):
    ansible.write_inventory({**GROUPS, "swarm_nodes": ["node0", "master1"]})
    refused_by_preflight(ansible, "master1", "in both groups swarm_masters and swarm_nodes")


# ---------------------------------------------------------------- each role's variables, through site.yml


@pytest.mark.parametrize(
    ("variables", "fragments"),
    [
        ({"consul_bootstrap_expect": 2}, ["consul_bootstrap_expect=2", "odd"]),
        ({"consul_http_port": "eighty"}, ["consul_http_port"]),
        ({"swarm_master_network_encrypted": "maybe"}, ["swarm_master_network_encrypted"]),
        ({"swarm_master_network_subnet": "10.9.0.1/24"}, ["swarm_master_network_subnet='10.9.0.1/24'", "10.9.0.0/24"]),
        ({"swarm_master_dispatcher_heartbeat": 0}, ["swarm_master_dispatcher_heartbeat=0", "use 1-3600 seconds"]),
        ({"swarm_node_join_timeout": "soon"}, ["swarm_node_join_timeout"]),
        ({"swarm_services_list": [{"name": "hello", "replica": 2}]}, ["service 'hello'", "'replica'", "'replicas'"]),
        ({"swarmops_cluster": "Lab"}, ['consul_cluster="Lab"', RULE]),
    ],
    ids=[
        "consul-even",
        "consul-type",
        "master-type",
        "master-subnet",
        "master-heartbeat",
        "node-type",
        "services-key",
        "cluster-name",
    ],
)
def test_site_refuses_a_bad_variable_of_any_role_before_touching_a_host(ansible: Ansible, variables, fragments):
    refused_by_preflight(ansible, *fragments, **variables)


def test_preflight_passes_on_good_input_and_touches_no_host(ansible: Ansible):
    run = ansible.playbook(PREFLIGHT, extra_vars={"swarm_services_list": SERVICES})
    assert run.returncode == 0, str(run)
    assert run.ran_only_checks() == [], str(run)


# ---------------------------------------------------------------- consul: the number of servers


@pytest.mark.parametrize("expect", [0, 2])
def test_consul_refuses_a_number_of_servers_that_is_not_odd(ansible: Ansible, expect: int):
    others = ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5"]
    run = ansible.role(
        "consul", hosts="consul_servers", extra_vars={"consul_bootstrap_expect": expect, "consul_retry_join": others}
    )
    run.refused(f"consul_bootstrap_expect={expect} on consul", "odd number", "1 (as the walkthrough), or 3 or 5")


@pytest.mark.parametrize(
    ("retry_join", "found"),
    [([], 1), (["consul", "10.1.0.2", "10.1.0.2"], 2)],
    ids=["alone", "itself-and-one-other-twice"],
)
def test_consul_refuses_more_servers_than_it_can_find(ansible: Ansible, retry_join: list[str], found: int):
    run = ansible.role(
        "consul", hosts="consul_servers", extra_vars={"consul_bootstrap_expect": 3, "consul_retry_join": retry_join}
    )
    run.refused("consul_bootstrap_expect=3 on consul", f"can find {found}", f"at most {found}")


@pytest.mark.parametrize(("expect", "retry_join"), [(1, []), (3, ["consul", "10.1.0.2", "10.1.0.3"])])
def test_consul_accepts_an_odd_number_it_can_find(ansible: Ansible, expect: int, retry_join: list[str]):
    run = ansible.role(
        "consul",
        "validate",
        hosts="consul_servers",
        extra_vars={"consul_bootstrap_expect": expect, "consul_retry_join": retry_join},
    )
    assert run.returncode == 0, str(run)


# ---------------------------------------------------------------- swarm_master: the swarm's address ranges


def test_swarm_master_accepts_a_valid_subnet_and_pool(ansible: Ansible):
    variables = {"swarm_master_network_subnet": "10.9.0.0/24", "swarm_master_default_addr_pool": ["10.20.0.0/16"]}
    run = ansible.role("swarm_master", "validate", hosts="swarm_masters", extra_vars=variables)
    assert run.returncode == 0, str(run)


def test_swarm_master_names_a_bad_subnet_and_a_bad_pool_together(ansible: Ansible):
    variables = {"swarm_master_network_subnet": "10.9.0.1/24", "swarm_master_default_addr_pool": ["10.20.0.0/33"]}
    run = ansible.role("swarm_master", hosts="swarm_masters", extra_vars=variables)
    message = run.refused("swarm_master_network_subnet='10.9.0.1/24'", "swarm_master_default_addr_pool='10.20.0.0/33'")
    assert message.endswith(". Nothing was changed."), message


# ---------------------------------------------------------------- swarm_master: the swarm's heartbeat


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("often", ["swarm_master_dispatcher_heartbeat", "int"]),
        (2.5, ["swarm_master_dispatcher_heartbeat"]),
        (0, ["swarm_master_dispatcher_heartbeat=0 is not a heartbeat period: use 1-3600 seconds"]),
        (3601, ["swarm_master_dispatcher_heartbeat=3601 is not a heartbeat period: use 1-3600 seconds"]),
    ],
    ids=["word", "fraction", "zero", "above"],
)
def test_swarm_master_refuses_a_heartbeat_that_is_no_whole_number_of_seconds_in_range(
    ansible: Ansible, value, fragments
):
    run = ansible.role("swarm_master", hosts="swarm_masters", extra_vars={"swarm_master_dispatcher_heartbeat": value})
    run.refused(*fragments)


@pytest.mark.parametrize("value", [1, "2", 3600])
def test_swarm_master_accepts_a_heartbeat_in_range(ansible: Ansible, value):
    variables = {"swarm_master_dispatcher_heartbeat": value}
    run = ansible.role("swarm_master", "validate", hosts="swarm_masters", extra_vars=variables)
    assert run.returncode == 0, str(run)


# ---------------------------------------------------------------- swarm_services: the service entries


VALID_KEYS = "valid keys: args, catalog_port, catalog_tags, command, endpoint_mode, env"


@pytest.mark.parametrize(
    ("services", "defaults", "fragments"),
    [
        (
            [{"name": "hello", "image": "swarmops/hello:0.2.0", "replica": 2}],
            None,
            [
                "service 'hello' (swarm_services_list[0]) has unknown key 'replica' (did you mean 'replicas'?)",
                VALID_KEYS,
            ],
        ),
        (
            [{"name": "hello"}, {"name": "world"}, {"name": "hello"}],
            None,
            ["service 'hello' is listed twice (swarm_services_list[0] and [2])"],
        ),
        (
            [{"name": "hello"}],
            {"networks": ["n"], "endpoint_mod": "dnsrr"},
            ["swarm_services_defaults has unknown key 'endpoint_mod'"],
        ),
    ],
    ids=["typo", "twice", "defaults-typo"],
)
def test_swarm_services_refuses_a_bad_service_before_any_deploy(ansible: Ansible, services, defaults, fragments):
    variables: dict[str, Any] = {"swarm_services_list": services}
    if defaults is not None:
        variables["swarm_services_defaults"] = defaults
    run = ansible.role("swarm_services", hosts="swarm_masters", extra_vars=variables)
    run.refused(*fragments, "Nothing was deployed")


def test_swarm_services_accepts_the_walkthroughs_services(ansible: Ansible):
    lab = yaml.safe_load((ROOT / "inventories/lab/group_vars/all.yml").read_text())
    variables = {key: lab[key] for key in ("swarm_services_list", "swarm_services_defaults", "swarmops_lab_replicas")}
    run = ansible.role("swarm_services", "validate", hosts="swarm_masters", extra_vars=variables)
    assert run.returncode == 0, str(run)


# ---------------------------------------------------------------- docker_engine: the version and the restart guard


@pytest.mark.parametrize(
    ("variables", "fragments"),
    [
        # YAML reads 20.10 as the number 20.1: refused, not installed as 20.1.
        ({"docker_engine_version": 20.10}, ["docker_engine_version=20.1 is no package", '"20.10.24+dfsg1-1+b3"']),
        ({"docker_engine_version": ["20.10.24"]}, ["docker_engine_version=", "is no package version"]),
        ({"docker_engine_version": "20.10 24"}, ['docker_engine_version="20.10 24" is no package version']),
        ({"docker_engine_version": "=20.10.24"}, ['docker_engine_version="=20.10.24" is no package version']),
        ({"docker_engine_version": "latest"}, ['docker_engine_version="latest" is no package version']),
        ({"docker_engine_restart_allowed": "maybe"}, ["docker_engine_restart_allowed", "bool"]),
    ],
    ids=["number", "list", "blank", "operator", "word", "restart-allowed"],
)
def test_docker_engine_refuses_a_bad_version_or_restart_setting_before_touching_the_host(
    ansible: Ansible, variables, fragments
):
    run = ansible.role("docker_engine", hosts="consul_servers", extra_vars=variables)
    run.refused(*fragments)


@pytest.mark.parametrize("version", ["20.10.24+dfsg1-1+b3", "5:24.0.7-1~debian.12~bookworm", "24.0.7-1.el9", ""])
def test_docker_engine_takes_a_package_version_past_its_first_check(ansible: Ansible, version: str):
    # The next task gathers facts from the stand-in host, which has no Python: it fails there.
    run = ansible.role("docker_engine", hosts="consul_servers", extra_vars={"docker_engine_version": version})
    failure = run.failure()
    assert failure.action == "ansible.builtin.setup", str(run)


# ---------------------------------------------------------------- cluster names and Consul's address


# The rule itself, name by name: tests/unit/plugins/filter/test_checks.py.
@pytest.mark.parametrize(("role", "name"), [("consul", "-lab"), ("swarm_master", "Lab"), ("swarm_node", "l" * 64)])
def test_a_role_refuses_a_cluster_name_the_key_layout_refuses(ansible: Ansible, role: str, name: str):
    hosts = {"consul": "consul_servers", "swarm_master": "swarm_masters", "swarm_node": "swarm_nodes"}[role]
    run = ansible.role(role, hosts=hosts, extra_vars={"swarmops_cluster": name})
    run.refused(f"{role}_cluster=", RULE)


@pytest.mark.parametrize("role", ["swarm_master", "swarm_node", "swarm_services"])
def test_a_swarm_role_without_consul_servers_says_where_consul_must_come_from(ansible: Ansible, role: str):
    ansible.write_inventory({"swarm_masters": ["master0"], "swarm_nodes": ["node0"]})
    hosts = "swarm_nodes" if role == "swarm_node" else "swarm_masters"
    run = ansible.role(role, hosts=hosts, extra_vars={"swarm_services_list": SERVICES})
    run.refused(f"{role}_consul_host is empty", "swarmops_consul_host", "consul_servers")


@pytest.mark.parametrize("name", ["-demo", "demo_"])
def test_aws_refuses_a_cluster_name_site_would_refuse_before_asking_aws(ansible: Ansible, name: str):
    # A dead loopback endpoint and fake credentials: nothing here could reach AWS anyway.
    variables = {"aws_infra_cluster": name, "aws_infra_endpoint_url": "http://127.0.0.1:9"}
    run = ansible.playbook("playbooks/aws.yml", extra_vars=variables)
    run.refused(f"aws_infra_cluster={name!r}".replace("'", '"'), RULE)


# ---------------------------------------------------------------- upgrade.yml's inputs


@pytest.mark.parametrize(
    ("variables", "fragments"),
    [
        ({"swarmops_maintenance": "reboot"}, ['swarmops_maintenance="reboot"', "use engine", "or restart"]),
        ({"swarmops_rolling_batch": 0}, ["swarmops_rolling_batch=0", "1%-100%"]),
        ({"swarmops_rolling_batch": "101%"}, ['swarmops_rolling_batch="101%"', "1%-100%"]),
        ({"swarmops_rolling_batch": "two"}, ['swarmops_rolling_batch="two"', "number of workers per batch"]),
        ({"swarmops_rolling_hosts": "node0,nosuch"}, ["nosuch: not in swarm_masters or swarm_nodes", "master0"]),
    ],
    ids=["action", "batch-zero", "batch-percent", "batch-word", "hosts"],
)
def test_upgrade_refuses_bad_input_before_asking_any_host(ansible: Ansible, variables, fragments):
    run = ansible.playbook("playbooks/upgrade.yml", extra_vars=variables)
    message = run.refused(*fragments)
    assert "Nothing was changed" in message
