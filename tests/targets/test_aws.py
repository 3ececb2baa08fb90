"""playbooks/aws.yml and inventories/aws against a local moto server.

One cluster is provisioned and read back through boto3 (network, security group
rules, key pair, instances per role and zone), run again and in check mode without
a change, read through the dynamic inventory (groups, private or public
ansible_host, site.yml's syntax), and torn down to nothing, leaving another
cluster's instance alone. Meanwhile each bad input fails with its message, and check
mode on a new cluster passes, all creating nothing. Only API records are involved:
no test connects to an instance address."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import JSON_OUTPUT, REGION, Runner, recap, require_loopback

CLUSTER = "swarmops-test"
VPC_CIDR = "10.7.0.0/16"
SUBNETS = ["10.7.0.0/20", "10.7.16.0/20", "10.7.32.0/20"]
ADMIN = ["203.0.113.7/32", "198.51.100.0/24"]
SITE = ["ansible-playbook", "-i", "inventories/aws", "playbooks/site.yml"]
ROLES = {"consul_servers": "consul", "swarm_masters": "master", "swarm_nodes": "node"}
# The default counts, but 4 workers: node3 wraps around to the first subnet (i mod 3).
COUNTS = {"consul_servers": 1, "swarm_masters": 3, "swarm_nodes": 4}
TYPES = {"consul_servers": "t3.small", "swarm_masters": "t3.small", "swarm_nodes": "t3.medium"}
LIVE = ("pending", "running", "stopping", "stopped")
GROUPS = {
    "consul_servers": {"ssh", "consul"},
    "swarm_masters": {"ssh", "swarm", "managers"},
    "swarm_nodes": {"ssh", "swarm"},
}


def tagged(cluster: str) -> list[dict[str, Any]]:
    return [{"Name": "tag:swarmops:cluster", "Values": [cluster]}]


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def instances(ec2, cluster: str, states: tuple[str, ...] = LIVE) -> list:
    filters = [*tagged(cluster), {"Name": "instance-state-name", "Values": list(states)}]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    return [instance for reservation in reservations for instance in reservation["Instances"]]


def snapshot(ec2) -> dict[str, set[str]]:
    """IDs of every resource kind aws.yml creates, whoever owns them."""
    return {
        "vpcs": {vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]},
        "subnets": {subnet["SubnetId"] for subnet in ec2.describe_subnets()["Subnets"]},
        "security_groups": {group["GroupId"] for group in ec2.describe_security_groups()["SecurityGroups"]},
        "internet_gateways": {gw["InternetGatewayId"] for gw in ec2.describe_internet_gateways()["InternetGateways"]},
        "route_tables": {table["RouteTableId"] for table in ec2.describe_route_tables()["RouteTables"]},
        "key_pairs": {pair["KeyName"] for pair in ec2.describe_key_pairs()["KeyPairs"]},
        "instances": {
            instance["InstanceId"]
            for reservation in ec2.describe_instances()["Reservations"]
            for instance in reservation["Instances"]
            if instance["State"]["Name"] != "terminated"
        },
    }


def owned(ec2, cluster: str) -> dict[str, list[str]]:
    """What exists of one cluster: everything aws.yml makes carries its tag (the key pair its name)."""
    found = {
        kind: [item[id_key] for item in getattr(ec2, call)(Filters=tagged(cluster))[key]]
        for kind, call, key, id_key in [
            ("vpcs", "describe_vpcs", "Vpcs", "VpcId"),
            ("subnets", "describe_subnets", "Subnets", "SubnetId"),
            ("security_groups", "describe_security_groups", "SecurityGroups", "GroupId"),
            ("internet_gateways", "describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
            ("route_tables", "describe_route_tables", "RouteTables", "RouteTableId"),
        ]
    }
    found["key_pairs"] = [
        pair["KeyName"] for pair in ec2.describe_key_pairs()["KeyPairs"] if pair["KeyName"] == cluster
    ]
    found["instances"] = [instance["InstanceId"] for instance in instances(ec2, cluster, (*LIVE, "shutting-down"))]
    return {kind: ids for kind, ids in found.items() if ids}


def failure(stdout: str) -> str:
    """The message of the task that failed, from the JSON callback's output."""
    output = json.loads(stdout)
    for play in output["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get("localhost", {})
            if result.get("failed"):
                return result.get("msg", "")
    raise AssertionError(f"no task failed:\n{stdout}")


def test_endpoints_other_than_loopback_are_refused():
    for url in ("https://ec2.eu-west-1.amazonaws.com", "http://10.7.0.4:5000", "http://[2001:db8::1]:80"):
        with pytest.raises(RuntimeError, match="must be a loopback address"):
            require_loopback(url)
    assert require_loopback("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


# ---------------------------------------------------------------- one cluster


@pytest.fixture(scope="module")
def variables(image_id: str, public_key) -> dict[str, Any]:
    return {
        "aws_infra_image_id": image_id,
        "aws_infra_admin_cidrs": ADMIN,
        "aws_infra_public_key_file": str(public_key),
        "aws_infra_vpc_cidr": VPC_CIDR,
        "aws_infra_subnet_prefix": 20,
        "aws_infra_node_count": COUNTS["swarm_nodes"],
    }


@pytest.fixture(scope="module")
def other_cluster(ec2) -> str:
    """An instance of another cluster, in the default VPC: never in our inventory, never torn down."""
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    labels = {"swarmops:cluster": "other", "swarmops:role": "swarm_nodes", "Name": "other-node0"}
    tag_spec = {"ResourceType": "instance", "Tags": [{"Key": key, "Value": value} for key, value in labels.items()]}
    reservation = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"], TagSpecifications=[tag_spec]
    )
    return reservation["Instances"][0]["InstanceId"]


@pytest.fixture(scope="module")
def provisioned(runner: Runner, variables: dict[str, Any], other_cluster: str, quiet_runs: QuietRuns) -> str:
    # quiet_runs: the runs that create nothing are under way meanwhile (they mostly compute, this mostly waits).
    done = runner.command(runner.aws_playbook(variables), CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done.stdout)["changed"] > 0
    return done.stdout


def test_network(provisioned, ec2):
    vpcs = ec2.describe_vpcs(Filters=tagged(CLUSTER))["Vpcs"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["CidrBlock"] == VPC_CIDR
    assert tags(vpc)["Name"] == CLUSTER

    subnets = sorted(
        ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"],
        key=lambda subnet: tags(subnet)["Name"],
    )
    assert [subnet["CidrBlock"] for subnet in subnets] == SUBNETS
    assert [tags(subnet)["Name"] for subnet in subnets] == [f"{CLUSTER}-public{i}" for i in range(3)]
    zones = [subnet["AvailabilityZone"] for subnet in subnets]
    assert len(set(zones)) == len(zones) >= 2
    assert all(subnet["MapPublicIpOnLaunch"] for subnet in subnets)
    assert all(tags(subnet)["swarmops:cluster"] == CLUSTER for subnet in subnets)

    gateways = ec2.describe_internet_gateways(Filters=tagged(CLUSTER))["InternetGateways"]
    assert len(gateways) == 1
    assert gateways[0]["Attachments"] == [{"State": "available", "VpcId": vpc["VpcId"]}]

    tables = ec2.describe_route_tables(Filters=tagged(CLUSTER))["RouteTables"]
    assert len(tables) == 1
    routes = {route["DestinationCidrBlock"]: route["GatewayId"] for route in tables[0]["Routes"]}
    assert routes == {VPC_CIDR: "local", "0.0.0.0/0": gateways[0]["InternetGatewayId"]}
    associated = {assoc["SubnetId"] for assoc in tables[0]["Associations"] if not assoc.get("Main")}
    assert associated == {subnet["SubnetId"] for subnet in subnets}


def rules(permissions: list[dict[str, Any]], names: dict[str, str]) -> set[tuple]:
    """(protocol, from, to, source) for each source of each permission; groups by their role."""
    found = set()
    for permission in permissions:
        ports = (permission["IpProtocol"], permission.get("FromPort"), permission.get("ToPort"))
        found |= {(*ports, cidr["CidrIp"]) for cidr in permission.get("IpRanges", [])}
        found |= {(*ports, "sg:" + names[pair["GroupId"]]) for pair in permission.get("UserIdGroupPairs", [])}
        assert not permission.get("Ipv6Ranges") and not permission.get("PrefixListIds")
    return found


def test_security_groups_open_exactly_what_the_cluster_needs(provisioned, ec2):
    groups = ec2.describe_security_groups(Filters=tagged(CLUSTER))["SecurityGroups"]
    names = {group["GroupId"]: group["GroupName"].removeprefix(f"{CLUSTER}-") for group in groups}
    assert sorted(names.values()) == ["consul", "managers", "ssh", "swarm"]
    by_role = {names[group["GroupId"]]: group for group in groups}
    expected = {
        "ssh": {("tcp", 22, 22, cidr) for cidr in ADMIN},
        "swarm": {
            ("tcp", 7946, 7946, "sg:swarm"),
            ("udp", 7946, 7946, "sg:swarm"),
            ("udp", 4789, 4789, "sg:swarm"),
            ("50", None, None, "sg:swarm"),
        },
        "managers": {("tcp", 2377, 2377, "sg:swarm")},
        "consul": {
            ("tcp", 8300, 8302, "sg:consul"),
            ("udp", 8301, 8302, "sg:consul"),
            ("tcp", 8500, 8500, VPC_CIDR),
            ("tcp", 8600, 8600, VPC_CIDR),
            ("udp", 8600, 8600, VPC_CIDR),
        },
    }
    vpc = ec2.describe_vpcs(Filters=tagged(CLUSTER))["Vpcs"][0]["VpcId"]
    for role, group in by_role.items():
        assert group["VpcId"] == vpc
        assert rules(group["IpPermissions"], names) == expected[role], role
        assert rules(group["IpPermissionsEgress"], names) == {("-1", None, None, "0.0.0.0/0")}, role


def test_key_pair(provisioned, ec2):
    pairs = ec2.describe_key_pairs(KeyNames=[CLUSTER])["KeyPairs"]
    assert len(pairs) == 1
    assert tags(pairs[0]).get("swarmops:cluster") == CLUSTER


def test_instances_per_role_tagged_and_spread_over_zones(provisioned, ec2, image_id):
    found = instances(ec2, CLUSTER)
    assert Counter(tags(instance)["swarmops:role"] for instance in found) == COUNTS
    subnets = {subnet["SubnetId"]: subnet for subnet in ec2.describe_subnets(Filters=tagged(CLUSTER))["Subnets"]}
    subnet_index = {sid: int(tags(subnet)["Name"].rsplit("public", 1)[1]) for sid, subnet in subnets.items()}
    groups = {
        group["GroupId"]: group["GroupName"].removeprefix(f"{CLUSTER}-")
        for group in ec2.describe_security_groups(Filters=tagged(CLUSTER))["SecurityGroups"]
    }
    names = set()
    for instance in found:
        labels = tags(instance)
        role = labels["swarmops:role"]
        name = labels["Name"]
        names.add(name)
        index = int(name.removeprefix(f"{CLUSTER}-{ROLES[role]}"))
        assert labels["swarmops:cluster"] == CLUSTER
        assert instance["State"]["Name"] == "running"
        assert instance["ImageId"] == image_id
        assert instance["InstanceType"] == TYPES[role]
        assert instance["KeyName"] == CLUSTER
        assert subnet_index[instance["SubnetId"]] == index % len(subnets), name
        assert {groups[group["GroupId"]] for group in instance["SecurityGroups"]} == GROUPS[role], name
        assert instance.get("PublicIpAddress"), name
    assert names == {f"{CLUSTER}-{ROLES[role]}{i}" for role, count in COUNTS.items() for i in range(count)}
    masters = [instance for instance in found if tags(instance)["swarmops:role"] == "swarm_masters"]
    assert len({master["Placement"]["AvailabilityZone"] for master in masters}) == 3


def test_rerun_changes_nothing(provisioned, runner: Runner, variables, ec2):
    before = snapshot(ec2)
    done = runner.command(runner.aws_playbook(variables), CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    numbers = recap(done.stdout)
    assert (numbers["changed"], numbers["failed"]) == (0, 0)
    assert snapshot(ec2) == before


def test_check_mode_on_the_cluster_changes_nothing(provisioned, runner: Runner, variables, ec2):
    before = snapshot(ec2)
    done = runner.command([*runner.aws_playbook(variables), "--check"], CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done.stdout)["changed"] == 0
    assert snapshot(ec2) == before


def test_a_new_vpc_range_is_refused(provisioned, runner: Runner, variables, ec2):
    before = snapshot(ec2)
    moved = dict(variables, aws_infra_vpc_cidr="10.8.0.0/16")
    done = runner.command(runner.aws_playbook(moved), CLUSTER, **JSON_OUTPUT)
    assert done.returncode != 0, done.stdout
    message = failure(done.stdout)
    assert f"Cluster {CLUSTER} has VPC vpc-" in message
    assert f"range {VPC_CIDR}, not aws_infra_vpc_cidr=10.8.0.0/16: a VPC's range cannot change" in message
    assert snapshot(ec2) == before


# ---------------------------------------------------------------- inventory


def test_inventory_groups_are_sites_groups(provisioned, runner: Runner, ec2):
    done = runner.command(["ansible-inventory", "-i", "inventories/aws", "--list"], CLUSTER)
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    groups = {name: sorted(body.get("hosts", [])) for name, body in listing.items() if name != "_meta"}
    expected = {role: sorted(f"{CLUSTER}-{ROLES[role]}{i}" for i in range(count)) for role, count in COUNTS.items()}
    assert {name: hosts for name, hosts in groups.items() if hosts and name != "aws_ec2"} == expected
    assert set(groups) <= {"all", "ungrouped", "aws_ec2", *expected}
    assert "other-node0" not in listing["_meta"]["hostvars"]

    graph = runner.command(["ansible-inventory", "-i", "inventories/aws", "--graph"], CLUSTER)
    assert graph.returncode == 0, graph.stderr
    for role in expected:
        assert f"@{role}:" in graph.stdout


def host_vars(runner: Runner, names: str, *extra: str) -> dict[str, dict[str, Any]]:
    """Variables as a play sees them, through the debug action (which never connects to a host)."""
    argv = ["ansible", "all", "-i", "inventories/aws", "-m", "ansible.builtin.debug", "-a", f"var={names}", *extra]
    done = runner.command(argv, CLUSTER, **JSON_OUTPUT)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]


@pytest.mark.parametrize("address", ["private", "public"])
def test_inventory_ansible_host_follows_the_address_choice(provisioned, runner: Runner, ec2, address: str):
    extra = [] if address == "private" else ["-e", "swarmops_aws_address=public"]
    seen = host_vars(runner, "ansible_host", *extra)
    key = "PrivateIpAddress" if address == "private" else "PublicIpAddress"
    expected = {tags(instance)["Name"]: instance[key] for instance in instances(ec2, CLUSTER, ("running",))}
    assert {host: result["ansible_host"] for host, result in seen.items()} == expected


def test_inventory_variables_for_site(provisioned, runner: Runner, ec2):
    names = "[swarmops_cluster,swarmops_consul_host,ansible_user,ansible_become]"
    seen = host_vars(runner, names)
    consul = next(i for i in instances(ec2, CLUSTER) if tags(i)["swarmops:role"] == "consul_servers")
    assert len(seen) == sum(COUNTS.values())
    for host, result in seen.items():
        values = result[names]
        assert values == [CLUSTER, consul["PrivateIpAddress"], "admin", True], host


def test_inventory_leaves_the_controller_alone(provisioned, runner: Runner):
    """site.yml delegates tasks to localhost: it must not inherit the instances' SSH user, become or address."""
    argv = ["ansible", "localhost", "-i", "inventories/aws", "-m", "ansible.builtin.debug"]
    done = runner.command([*argv, "-a", "var=[ansible_user,ansible_become,ansible_host]"], CLUSTER, **JSON_OUTPUT)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    user, become, host = result["[ansible_user,ansible_become,ansible_host]"]
    assert "'ansible_user' is undefined" in user
    assert "'ansible_become' is undefined" in become
    assert host == "127.0.0.1"


def test_inventory_refuses_a_bad_address_choice(provisioned, runner: Runner):
    argv = [
        "ansible",
        f"{CLUSTER}-node0",
        "-i",
        "inventories/aws",
        "-m",
        "ansible.builtin.debug",
        "-a",
        "var=ansible_host",
    ]
    done = runner.command([*argv, "-e", "swarmops_aws_address=elastic"], CLUSTER, **JSON_OUTPUT)
    assert "swarmops_aws_address must be private or public, not elastic" in done.stdout


def test_site_syntax_with_the_aws_inventory(provisioned, runner: Runner):
    done = runner.command([*SITE, "--syntax-check"], CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = runner.command([*SITE, "--list-hosts"], CLUSTER)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"{CLUSTER}-consul0" in listed.stdout and f"{CLUSTER}-node3" in listed.stdout


# ---------------------------------------------------------------- teardown


def test_teardown_leaves_nothing(provisioned, runner: Runner, variables, ec2, other_cluster: str):
    absent = dict(variables, swarmops_aws_state="absent")
    done = runner.command(runner.aws_playbook(absent), CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done.stdout)["changed"] > 0

    assert owned(ec2, CLUSTER) == {}
    assert not any(vpc["CidrBlock"] == VPC_CIDR for vpc in ec2.describe_vpcs()["Vpcs"])

    other = ec2.describe_instances(InstanceIds=[other_cluster])["Reservations"][0]["Instances"][0]
    assert other["State"]["Name"] == "running"

    again = runner.command(runner.aws_playbook(absent), CLUSTER)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["changed"] == 0

    empty = runner.command(["ansible-inventory", "-i", "inventories/aws", "--list"], CLUSTER)
    assert empty.returncode == 0, empty.stderr
    assert set(json.loads(empty.stdout)["_meta"]["hostvars"]) == set()


# ---------------------------------------------------------------- bad input
# Started with the provisioning above (fixture provisioned asks for quiet_runs), so the runs overlap;
# run alone (-k bad_input) they start on their own.

BAD_INPUT = {
    "unknown region": (
        {"aws_infra_region": "xx-nowhere-1"},
        ['aws_infra_region="xx-nowhere-1"', "is not a region this account can use; valid:", REGION],
    ),
    "unknown image": (
        {"aws_infra_image_id": "ami-0123456789abcdef0"},
        [
            f"aws_infra_image_id=ami-0123456789abcdef0 is not an image this account can launch in {REGION}",
            "(no such image)",
        ],
    ),
    "image that is no AMI ID": (
        {"aws_infra_image_id": "debian-12"},
        ['aws_infra_image_id="debian-12" is not an AMI ID'],
    ),
    "no masters": (
        {"aws_infra_master_count": 0},
        ["aws_infra_master_count=0: a swarm needs at least 1 manager; use an odd number (1, 3, 5)"],
    ),
    "no workers": (
        {"aws_infra_node_count": 0},
        ["aws_infra_node_count=0: the services run on the workers"],
    ),
    "admin network that is no CIDR": (
        {"aws_infra_admin_cidrs": ["203.0.113.7/32", "10.0.0.300/32"]},
        ['aws_infra_admin_cidrs: "10.0.0.300/32" is not an IPv4 network in CIDR notation'],
    ),
    "admin network with host bits": (
        {"aws_infra_admin_cidrs": "203.0.113.7/24"},
        ['aws_infra_admin_cidrs: "203.0.113.7/24" is not an IPv4 network in CIDR notation'],
    ),
    "admin address without prefix": (
        {"aws_infra_admin_cidrs": ["203.0.113.7"]},
        ['aws_infra_admin_cidrs: "203.0.113.7" is not an IPv4 network in CIDR notation'],
    ),
    "no admin network": (
        {"aws_infra_admin_cidrs": []},
        ["aws_infra_admin_cidrs is empty"],
    ),
    "VPC range AWS refuses": (
        {"aws_infra_vpc_cidr": "10.0.0.0/8"},
        ['aws_infra_vpc_cidr="10.0.0.0/8" is not a VPC range', "from /16 to /28"],
    ),
    "one subnet": (
        {"aws_infra_subnet_count": 1},
        ["aws_infra_subnet_count is 1: the cluster needs public subnets in at least 2 availability zones"],
    ),
    "more subnets than zones": (
        {"aws_infra_subnet_count": 4},
        [f"4 subnets need as many distinct available zones of {REGION}", "the region has 3"],
    ),
    "subnet outside the VPC": (
        {"aws_infra_subnet_cidrs": ["10.7.0.0/24", "10.99.0.0/24"]},
        ["Subnets 10.99.0.0/24 do not fit", f"inside aws_infra_vpc_cidr={VPC_CIDR}"],
    ),
    "cluster name": (
        {"aws_infra_cluster": "Prod Cluster"},
        ['aws_infra_cluster="Prod Cluster"', "use 1-63 characters of a-z, 0-9, '-' and '_', starting and ending"],
    ),
    "missing public key": (
        {"aws_infra_public_key_file": "/nonexistent/id_ed25519.pub"},
        ["aws_infra_public_key_file=/nonexistent/id_ed25519.pub cannot be read"],
    ),
    "unknown state": (
        {"swarmops_aws_state": "gone"},
        ["aws_infra_state", "present, absent", "gone"],
    ),
}


CHECK_NEW = "check mode on a new cluster"


class QuietRuns:
    """Runs of aws.yml that must create nothing (each bad input, and check mode on a new cluster),
    all started at once, each with a cluster name of its own, collected on demand."""

    def __init__(self, runner: Runner, good: dict[str, Any], logs: Path) -> None:
        argvs = {case: runner.aws_playbook(dict(good, **variables)) for case, (variables, _said) in BAD_INPUT.items()}
        argvs[CHECK_NEW] = [*runner.aws_playbook(good), "--check"]
        self.clusters = {case: f"quiet{index}" for index, case in enumerate(argvs)}
        self.outputs = {case: logs / f"{cluster}.json" for case, cluster in self.clusters.items()}
        self.started = {
            case: runner.popen(argv, self.clusters[case], self.outputs[case], **JSON_OUTPUT)
            for case, argv in argvs.items()
        }

    def result(self, case: str) -> tuple[int, str]:
        returncode = self.started[case].wait(timeout=600)
        return returncode, self.outputs[case].read_text()


@pytest.fixture(scope="module")
def quiet_runs(runner: Runner, image_id: str, public_key, tmp_path_factory) -> Iterator[QuietRuns]:
    good = {
        "aws_infra_image_id": image_id,
        "aws_infra_admin_cidrs": ADMIN,
        "aws_infra_public_key_file": str(public_key),
        "aws_infra_vpc_cidr": VPC_CIDR,
    }
    runs = QuietRuns(runner, good, tmp_path_factory.mktemp("quiet-runs"))
    yield runs
    for process in runs.started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_fails_with_its_message_and_creates_nothing(quiet_runs: QuietRuns, ec2, case: str):
    returncode, stdout = quiet_runs.result(case)
    assert returncode != 0, stdout
    message = failure(stdout)
    for fragment in BAD_INPUT[case][1]:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert owned(ec2, quiet_runs.clusters[case]) == {}


def test_check_mode_on_a_new_cluster_checks_the_inputs_and_creates_nothing(quiet_runs: QuietRuns, ec2):
    returncode, stdout = quiet_runs.result(CHECK_NEW)
    assert returncode == 0, stdout
    output = json.loads(stdout)
    assert output["stats"]["localhost"]["changed"] == 0
    said = [task["hosts"]["localhost"].get("msg", "") for task in output["plays"][0]["tasks"]]
    cluster = quiet_runs.clusters[CHECK_NEW]
    assert any(f"Check mode: cluster {cluster} has no VPC in {REGION} yet. The inputs are valid" in m for m in said)
    assert owned(ec2, cluster) == {}
