"""Pure functions of the consul_server module: validation, rendering, hashing."""

from __future__ import annotations

import base64
import io
import json
import tarfile

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils import _consul_server as server
from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError, fingerprint

KEY = base64.b64encode(bytes(range(32))).decode()


def settings(**overrides):
    base = {
        "node_name": "consul",
        "datacenter": "dc1",
        "bootstrap_expect": 1,
        "retry_join": [],
        "bind_addr": "10.0.0.5",
        "advertise_addr": "10.0.0.5",
        "client_addr": "0.0.0.0",
        "http_port": 8500,
        "raft_multiplier": 1,
        "extra_config": {},
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize("count", [0, -1])
def test_bootstrap_expect_below_one_fails_naming_the_value(count):
    with pytest.raises(SwarmOpsError, match=rf"bootstrap_expect={count} can never elect a leader"):
        server.validate_bootstrap_expect(count, [])


@pytest.mark.parametrize(("count", "warns"), [(1, False), (2, True), (3, False), (4, True), (5, False)])
def test_bootstrap_expect_even_counts_warn(count, warns):
    warnings = server.validate_bootstrap_expect(count, [f"10.0.0.{n}" for n in range(1, count)])
    assert bool(warnings) is warns
    if warns:
        assert f"bootstrap_expect={count} is even" in warnings[0]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"x" * 16).decode(), "decodes to 16 bytes"),
        (base64.b64encode(b"x" * 33).decode(), "decodes to 33 bytes"),
    ],
)
def test_bad_gossip_keys_are_refused_without_echoing_them(key, message):
    with pytest.raises(SwarmOpsError, match=message) as caught:
        server.validate_encrypt_key(key)
    assert key not in caught.value.msg


def test_a_32_byte_key_and_no_key_are_accepted():
    server.validate_encrypt_key(KEY)
    server.validate_encrypt_key(None)


@pytest.mark.parametrize("port", [0, 65536])
def test_port_out_of_range(port):
    with pytest.raises(SwarmOpsError, match=f"http_port={port}"):
        server.validate_port(port)


def test_rendered_config_enables_acls_default_deny_and_gossip_encryption():
    config = server.render_agent_config(settings(retry_join=["10.0.0.6"]), KEY)
    assert config["server"] is True
    assert config["acl"]["enabled"] is True
    assert config["acl"]["default_policy"] == "deny"
    assert config["encrypt"] == KEY
    assert config["retry_join"] == ["10.0.0.6"]
    assert config["ports"] == {"http": 8500}
    assert config["data_dir"] == server.DATA_DIR


def test_rendered_config_sets_the_raft_multiplier_and_extra_config_can_override_it():
    assert server.render_agent_config(settings(), None)["performance"] == {"raft_multiplier": 1}
    merged = server.render_agent_config(settings(extra_config={"performance": {"raft_multiplier": 5}}), None)
    assert merged["performance"] == {"raft_multiplier": 5}


@pytest.mark.parametrize("value", [0, 11, -1])
def test_raft_multiplier_outside_one_to_ten_is_refused_naming_the_value(value):
    with pytest.raises(SwarmOpsError, match=rf"raft_multiplier={value} is outside what Consul accepts: use 1 to 10"):
        server.validate_raft_multiplier(value)


@pytest.mark.parametrize("value", [1, 5, 10])
def test_raft_multiplier_one_to_ten_is_accepted(value):
    server.validate_raft_multiplier(value)


def test_rendered_config_without_key_has_no_encrypt():
    assert "encrypt" not in server.render_agent_config(settings(), None)


def test_extra_config_merges_deeply_and_wins():
    config = server.render_agent_config(
        settings(extra_config={"acl": {"down_policy": "deny"}, "log_level": "DEBUG"}), None
    )
    assert config["acl"] == {
        "enabled": True,
        "default_policy": "deny",
        "down_policy": "deny",
        "enable_token_persistence": True,
    }
    assert config["log_level"] == "DEBUG"


def test_hash_changes_with_config_and_image_only():
    config = server.render_agent_config(settings(), KEY)
    same = server.config_hash(config, "sha256:a")
    assert same == server.config_hash(server.render_agent_config(settings(), KEY), "sha256:a")
    assert same != server.config_hash(config, "sha256:b")
    assert same != server.config_hash(server.render_agent_config(settings(bootstrap_expect=3), KEY), "sha256:a")
    other_key = base64.b64encode(b"y" * 32).decode()
    assert same != server.config_hash(server.render_agent_config(settings(), other_key), "sha256:a")


@pytest.mark.parametrize(
    ("count", "retry_join", "known"),
    [(2, [], "1 server(s) (itself, retry_join is empty)"), (3, ["10.0.0.2"], "2 server(s) (itself and retry_join")],
)
def test_bootstrap_expect_above_the_servers_it_can_find_fails(count, retry_join, known):
    with pytest.raises(SwarmOpsError, match=rf"bootstrap_expect={count} can never elect a leader") as failure:
        server.validate_bootstrap_expect(count, retry_join)
    assert known in failure.value.msg
    assert "bootstrap_expect=1" in failure.value.msg


def test_fingerprint_hides_the_key_but_tracks_it():
    secret = fingerprint(KEY)
    assert KEY not in secret
    assert secret == fingerprint(KEY)
    assert secret != fingerprint(base64.b64encode(b"y" * 32).decode())
    assert fingerprint(None) is None


def test_config_archive_holds_the_json_with_mode_0600():
    config = {"server": True}
    with tarfile.open(fileobj=io.BytesIO(server.config_archive(config))) as archive:
        member = archive.getmember(server.CONFIG_FILE)
        assert member.mode == 0o600
        assert json.load(archive.extractfile(member)) == config


@pytest.mark.parametrize(
    ("output", "version"),
    [("Consul v1.8.7\nProtocol 2 spoken by default", "1.8.7"), ("Consul v1.20.5\nRevision abc", "1.20.5"), ("", None)],
)
def test_parse_version(output, version):
    assert server.parse_version(output) == version


def test_wait_for_leader_returns_once_elected():
    answers = iter(["", "", "10.0.0.5:8300"])
    leader = server.wait_for_leader(
        leader=lambda: next(answers),
        is_running=lambda: True,
        timeout=5,
        url="http://x:8500",
        bootstrap_expect=1,
        interval=0,
    )
    assert leader == "10.0.0.5:8300"


def test_wait_for_leader_times_out_with_what_to_check():
    with pytest.raises(SwarmOpsError) as caught:
        server.wait_for_leader(
            leader=lambda: "",
            is_running=lambda: True,
            timeout=0.01,
            url="http://x:8500",
            bootstrap_expect=3,
            interval=0,
        )
    assert "http://x:8500 elected no leader within 0.01s" in caught.value.msg
    assert "bootstrap_expect=3" in caught.value.msg


def test_wait_for_leader_reports_a_dead_container():
    with pytest.raises(SwarmOpsError, match="stopped before a leader"):
        server.wait_for_leader(
            leader=lambda: "", is_running=lambda: False, timeout=5, url="http://x:8500", bootstrap_expect=1, interval=0
        )


def test_wait_for_leader_keeps_last_connection_error():
    def unreachable():
        raise SwarmOpsError("cannot reach Consul at http://x:8500")

    with pytest.raises(SwarmOpsError, match="last error: cannot reach Consul"):
        server.wait_for_leader(
            leader=unreachable,
            is_running=lambda: True,
            timeout=0.01,
            url="http://x:8500",
            bootstrap_expect=1,
            interval=0,
        )
