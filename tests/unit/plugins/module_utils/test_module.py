"""The base of every orchestration class and the one way a module runs: act/perform in both
modes, the result built from the diff, the safety net of run_module, and the retry of
"update out of sequence"."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import requests
from docker.errors import APIError

from ansible_collections.swarmops.cluster.plugins.module_utils import _module
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._consul_acl import ConsulAcl
from ansible_collections.swarmops.cluster.plugins.module_utils._consul_server import ConsulServer
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import retry_out_of_sequence
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule, done, planned, run_module
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_agent import SwarmAgent
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_labels import NodeLabels
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_manager import SwarmManager
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_network import SwarmNetwork
from ansible_collections.swarmops.cluster.plugins.module_utils._swarm_service import ServiceDeployer

MODULE_UTILS = Path(_module.__file__).parent
CLASSES = [ConsulAcl, ConsulServer, SwarmAgent, SwarmManager, NodeLabels, SwarmNetwork, ServiceDeployer]


class Probe(SwarmOpsModule):
    """A module class whose run does what the test gives it."""

    def __init__(self, params, check_mode, *, steps=()):
        super().__init__(params, check_mode)
        self.steps = steps
        self.applied = []

    def run(self):
        for field, before, after in self.steps:
            self.act(field, before, after, f"set {field} to {after}", lambda f=field: self.applied.append(f))
        return self.result(extra=1)


class FakeModule:
    """What run_module needs of AnsibleModule, recording the answer."""

    _name = "swarmops.cluster.probe"

    def __init__(self, check_mode=False):
        self.params = {}
        self.check_mode = check_mode
        self.warnings = []
        self.answer = None

    def warn(self, message):
        self.warnings.append(message)

    def exit_json(self, **result):
        self.answer = result
        raise SystemExit(0)

    def fail_json(self, **result):
        self.answer = {"failed": True, **result}
        raise SystemExit(1)


@pytest.mark.parametrize(
    ("phrase", "past"),
    [
        ("create network x", "created network x"),
        ("set node0 availability=drain and its labels", "set node0 availability=drain and its labels"),
        ("remove swarmops/c/managers/m1: no longer a manager", "removed swarmops/c/managers/m1: no longer a manager"),
        ("initialise a new swarm on m0", "initialised a new swarm on m0"),
    ],
)
def test_a_phrase_reads_as_done_or_planned(phrase, past):
    assert done(phrase) == past
    assert planned(phrase) == f"would {phrase}"


def test_an_unknown_verb_is_a_programming_error():
    with pytest.raises(KeyError):
        done("frobnicate the swarm")


def test_every_action_phrase_in_module_utils_starts_with_a_known_verb():
    """act() and perform() phrases are string literals or f-strings whose first word is a verb."""
    verbs = set()
    for path in MODULE_UTILS.glob("_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            index = {"act": 3, "perform": 0}.get(node.func.attr)
            if index is None or len(node.args) <= index:
                continue
            phrase = node.args[index]
            first = phrase.values[0] if isinstance(phrase, ast.JoinedStr) else phrase
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.strip():
                verbs.add(first.value.split()[0])
    assert verbs, "no action phrase found: the scan is broken"
    assert verbs <= set(_module.PAST_TENSE), verbs - set(_module.PAST_TENSE)


@pytest.mark.parametrize("check_mode", [True, False])
def test_act_records_the_field_says_and_does_only_outside_check_mode(check_mode):
    probe = Probe({}, check_mode, steps=[("replicas", 1, 2), ("image", "a", "a")])
    result = probe.run()
    assert result["changed"] is True
    assert result["changes"] == ["replicas"]
    assert result["diff"] == {"before": {"replicas": 1, "image": "a"}, "after": {"replicas": 2, "image": "a"}}
    assert result["actions"] == ["would set replicas to 2" if check_mode else "set replicas to 2"]
    assert probe.applied == ([] if check_mode else ["replicas"])
    assert result["extra"] == 1


def test_nothing_to_do_is_unchanged_with_no_action():
    result = Probe({}, False, steps=[("image", "a", "a")]).run()
    assert (result["changed"], result["changes"], result["actions"]) == (False, [], [])


def test_a_field_recorded_twice_keeps_its_first_before():
    probe = Probe({}, False, steps=[("token", None, "t1"), ("token", "t1", "t1")])
    result = probe.run()
    assert result["changes"] == ["token"]
    assert result["diff"] == {"before": {"token": None}, "after": {"token": "t1"}}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_module_class_takes_changed_from_the_diff(cls):
    """The invariant changed == bool(changes) holds because no module class builds its own answer:
    each is a SwarmOpsModule and none overrides result() or sets "changed" itself."""
    assert issubclass(cls, SwarmOpsModule)
    assert cls.result is SwarmOpsModule.result
    source = inspect.getsource(inspect.getmodule(cls))
    assert '"changed"' not in source and "'changed'" not in source


def run(cls, check_mode=False):
    module = FakeModule(check_mode)
    with pytest.raises(SystemExit):
        run_module(module, cls)
    return module


def test_run_module_exits_with_the_result_and_its_warnings():
    class Warns(Probe):
        def run(self):
            self.warn("careful")
            return super().run()

    module = run(Warns)
    assert module.answer == {
        "changed": False,
        "actions": [],
        "changes": [],
        "diff": {"before": {}, "after": {}},
        "extra": 1,
    }
    assert module.warnings == ["careful"]


def test_our_errors_fail_with_their_message_and_details():
    class Refuses(Probe):
        def run(self):
            raise SwarmOpsError("subnet 10.0.0.0/8 overlaps", overlaps=["x"])

    assert run(Refuses).answer == {"failed": True, "msg": "subnet 10.0.0.0/8 overlaps", "overlaps": ["x"]}


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ConnectionError("connection refused"), APIError("500 Server Error"), OSError("socket gone")],
    ids=["requests", "docker", "os"],
)
def test_a_library_error_fails_naming_the_step_with_the_traceback(error):
    class Breaks(Probe):
        def run(self):
            self.step = "inspect service 'hello'"
            raise error

    answer = run(Breaks).answer
    assert answer["failed"] is True
    assert answer["msg"].startswith(f"swarmops.cluster.probe failed to inspect service 'hello': {type(error).__name__}")
    assert answer["step"] == "inspect service 'hello'"
    assert "Traceback" in answer["exception"]


def out_of_sequence():
    return APIError("rpc error: code = Unknown desc = update out of sequence", explanation="update out of sequence")


def test_an_out_of_sequence_write_is_retried_with_a_fresh_read():
    reads, writes = [], []

    def write(version):
        writes.append(version)
        if version == 1:
            raise out_of_sequence()
        return "updated"

    versions = iter([1, 2])
    outcome = retry_out_of_sequence("update node n1", lambda: reads.append(1) or next(versions), write, delay=0)
    assert outcome == "updated"
    assert (len(reads), writes) == (2, [1, 2])


def test_retries_are_bounded_and_say_so():
    attempts = []

    def write(_version):
        attempts.append(1)
        raise out_of_sequence()

    with pytest.raises(
        SwarmOpsError, match=r"refused to update service 'hello': update out of sequence after 3 attempts"
    ):
        retry_out_of_sequence("update service 'hello'", lambda: 1, write, attempts=3, delay=0)
    assert len(attempts) == 3


def test_other_api_errors_are_not_retried():
    attempts = []

    def write(_version):
        attempts.append(1)
        raise APIError("400", explanation="invalid spec")

    with pytest.raises(SwarmOpsError, match="Docker engine refused to update node n1: invalid spec"):
        retry_out_of_sequence("update node n1", lambda: 1, write, delay=0)
    assert attempts == [1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"docker_timeout": 0}, "docker_timeout=0 must be at least 1"),
        ({"consul_port": 0}, "consul_port=0 is not a port: use 1-65535"),
        ({"consul_port": 70000}, "consul_port=70000 is not a port: use 1-65535"),
    ],
)
def test_bad_connection_options_are_refused_before_any_client(params, message):
    with pytest.raises(SwarmOpsError, match=message):
        Probe(params, False)
