# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a Consul server agent as a container: validate, render the agent
configuration, compare with the running container, act, wait for a leader."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import io
import json
import re
import socket
import tarfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError, fingerprint
from ansible_collections.swarmops.cluster.plugins.module_utils._consul import consul_client
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule
from ansible_collections.swarmops.cluster.plugins.module_utils._net import (
    ANY,
    default_route_interface,
    host_interfaces,
    resolve_address,
)

SETTINGS_LABEL = "io.swarmops.consul.settings"
HASH_LABEL = "io.swarmops.consul.config-hash"
MANAGED_LABEL = "io.swarmops.managed-by"
CONFIG_DIR = "/consul/config"
CONFIG_FILE = "swarmops.json"
DATA_DIR = "/consul/data"
GOSSIP_KEY_BYTES = 32
_VERSION_RE = re.compile(r"Consul v(\S+)")

_SERVER_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "default": "consul"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "image": {"type": "str"},
    "data_volume": {"type": "str", "default": "consul_data"},
    "node_name": {"type": "str"},
    "datacenter": {"type": "str", "default": "dc1"},
    "bootstrap_expect": {"type": "int", "default": 1},
    "retry_join": {"type": "list", "elements": "str", "default": []},
    "bind_addr": {"type": "str"},
    "advertise_addr": {"type": "str"},
    "client_addr": {"type": "str", "default": ANY},
    "http_port": {"type": "int", "default": 8500},
    "encrypt_key": {"type": "str", "no_log": True},
    "extra_config": {"type": "dict", "default": {}},
    "leader_timeout": {"type": "int", "default": 60},
    "raft_multiplier": {"type": "int", "default": 1},
}

# Consul scales its Raft timeouts (leader election, heartbeats) by this factor: 1 is its advice for
# production servers, 5 its built-in default for small machines (a new leader after about 10 s instead of 2 s).
RAFT_MULTIPLIERS = range(1, 11)


def server_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(_SERVER_OPTIONS)


def validate_bootstrap_expect(count: int, retry_join: list[str]) -> list[str]:
    """Reject counts that can never elect a leader; warn about ones that tolerate no failure."""
    if count < 1:
        raise SwarmOpsError(
            f"bootstrap_expect={count} can never elect a leader: use 1 (a single server) or 3 or 5 (HA)"
        )
    reachable = 1 + len(retry_join)
    if count > reachable:
        raise SwarmOpsError(
            f"bootstrap_expect={count} can never elect a leader: this server knows {reachable} server(s) (itself"
            f"{' and retry_join ' + ', '.join(retry_join) if retry_join else ', retry_join is empty'}); list the "
            f"other servers in retry_join, or use bootstrap_expect={reachable if reachable % 2 else reachable - 1}"
        )
    if count % 2 == 0:
        return [
            f"bootstrap_expect={count} is even: {count} servers tolerate no more failures than "
            f"{count - 1}; use {count - 1} or {count + 1}"
        ]
    return []


def validate_encrypt_key(key: str | None) -> None:
    """A gossip key must be 32 random bytes in base64, as `consul keygen` prints."""
    if key is None:
        return
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SwarmOpsError(
            "encrypt_key is not valid base64; it must be 32 bytes encoded as base64 (as `consul keygen` prints)"
        ) from exc
    if len(raw) != GOSSIP_KEY_BYTES:
        raise SwarmOpsError(
            f"encrypt_key decodes to {len(raw)} bytes; it must be {GOSSIP_KEY_BYTES} bytes encoded as base64 "
            "(as `consul keygen` prints)"
        )


def validate_raft_multiplier(value: int) -> None:
    if value not in RAFT_MULTIPLIERS:
        raise SwarmOpsError(
            f"raft_multiplier={value} is outside what Consul accepts: use 1 to 10 "
            "(1 for production servers, larger on slow or overloaded machines)"
        )


def validate_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise SwarmOpsError(f"http_port={port} is not a TCP port: use 1-65535")


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def render_agent_config(settings: dict[str, Any], encrypt_key: str | None) -> dict[str, Any]:
    """The Consul agent configuration (JSON) for a server with ACLs default-deny."""
    config: dict[str, Any] = {
        "server": True,
        "node_name": settings["node_name"],
        "datacenter": settings["datacenter"],
        "data_dir": DATA_DIR,
        "bootstrap_expect": settings["bootstrap_expect"],
        "retry_join": list(settings["retry_join"]),
        "bind_addr": settings["bind_addr"],
        "advertise_addr": settings["advertise_addr"],
        "client_addr": settings["client_addr"],
        "ports": {"http": settings["http_port"]},
        "performance": {"raft_multiplier": settings["raft_multiplier"]},
        "disable_update_check": True,
        "leave_on_terminate": False,
        "skip_leave_on_interrupt": True,
        "acl": {
            "enabled": True,
            "default_policy": "deny",
            "down_policy": "extend-cache",
            "enable_token_persistence": True,
        },
    }
    if encrypt_key is not None:
        config["encrypt"] = encrypt_key
        config["disable_keyring_file"] = True
    return deep_merge(config, settings["extra_config"])


def config_hash(config: dict[str, Any], image_id: str | None) -> str:
    payload = json.dumps({"config": config, "image_id": image_id}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def config_archive(config: dict[str, Any]) -> bytes:
    """A tar holding the agent config, mode 0600, for ``put_archive`` before start."""
    data = json.dumps(config, indent=2, sort_keys=True).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(CONFIG_FILE)
        info.size = len(data)
        info.mode = 0o600
        info.mtime = int(time.time())
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def parse_version(output: str) -> str | None:
    match = _VERSION_RE.search(output)
    return match.group(1) if match else None


def wait_for_leader(
    *,
    leader: Callable[[], str],
    is_running: Callable[[], bool],
    timeout: float,
    url: str,
    bootstrap_expect: int,
    interval: float = 0.25,
) -> str:
    """Poll ``leader`` until it answers, failing clearly on timeout or a dead container."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            current = leader()
        except SwarmOpsError as exc:
            current, last_error = "", exc.msg
        if current:
            return current
        if not is_running():
            raise SwarmOpsError("the Consul container stopped before a leader was elected")
        if time.monotonic() >= deadline:
            hint = f" (last error: {last_error})" if last_error else ""
            raise SwarmOpsError(
                f"Consul at {url} elected no leader within {timeout:g}s{hint}. Check that "
                f"bootstrap_expect={bootstrap_expect} servers are started, that retry_join reaches "
                "them, that they share the gossip key, and the container log (docker logs)."
            )
        time.sleep(interval)


class ConsulServer(SwarmOpsModule):
    """Compare and converge one Consul server container on one Docker engine."""

    def validate(self) -> None:
        params = self.params
        if params["state"] == "present" and not params["image"]:
            raise SwarmOpsError("image is required when state=present, e.g. hashicorp/consul:1.20.5")
        self.warnings.extend(validate_bootstrap_expect(params["bootstrap_expect"], params["retry_join"]))
        validate_encrypt_key(params["encrypt_key"])
        validate_port(params["http_port"])
        if params["leader_timeout"] < 1:
            raise SwarmOpsError(f"leader_timeout={params['leader_timeout']} must be at least 1 second")
        validate_raft_multiplier(params["raft_multiplier"])

    def desired_settings(self, image_id: str | None) -> dict[str, Any]:
        params = self.params
        interfaces = host_interfaces()
        default_if = default_route_interface()
        bind = resolve_address(params["bind_addr"], "bind_addr", interfaces, default_if, allow_any=True)
        advertise_default = None if bind == ANY else bind
        advertise = resolve_address(
            params["advertise_addr"] or advertise_default, "advertise_addr", interfaces, default_if, must_be_local=False
        )
        client = resolve_address(params["client_addr"], "client_addr", interfaces, default_if, allow_any=True)
        return {
            "image": params["image"],
            "image_id": image_id,
            "node_name": params["node_name"] or socket.gethostname(),
            "datacenter": params["datacenter"],
            "bootstrap_expect": params["bootstrap_expect"],
            "retry_join": list(params["retry_join"]),
            "bind_addr": bind,
            "advertise_addr": advertise,
            "client_addr": client,
            "http_port": params["http_port"],
            "raft_multiplier": params["raft_multiplier"],
            "data_volume": params["data_volume"],
            "encrypt_key": fingerprint(params["encrypt_key"]),
            "extra_config": params["extra_config"],
        }

    def _find_container(self) -> Any:
        return self.find(f"inspect container {self.params['name']!r}", self.docker.containers.get, self.params["name"])

    def _image_id(self) -> str | None:
        image = self.find(f"inspect image {self.params['image']!r}", self.docker.images.get, self.params["image"])
        return image.id if image is not None else None

    def run(self) -> dict[str, Any]:
        self.validate()
        container = self._find_container()
        if self.params["state"] == "absent":
            return self._absent(container)
        return self._present(container)

    def _absent(self, container: Any) -> dict[str, Any]:
        self.act(
            "state",
            "present" if container else "absent",
            "absent",
            f"remove container {self.params['name']} (volume {self.params['data_volume']} kept)",
            partial(self._remove, container),
        )
        return self._answer(container=None, leader=None, version=None, address=None)

    def _present(self, container: Any) -> dict[str, Any]:
        image_id = self._image_id()
        if image_id is None:
            self._missing_image()
        settings = self.desired_settings(image_id)
        self._consul = consul_client(
            {**self.params, "consul_port": self.params["http_port"]},
            default_host="127.0.0.1" if settings["client_addr"] == ANY else settings["client_addr"],
        )
        config = render_agent_config(settings, self.params["encrypt_key"])
        wanted_hash = config_hash(config, image_id)
        self.diff.compare(self._current_settings(container), settings)
        running = bool(container) and container.status == "running"
        self.diff.add("running", running, True)
        current_hash = container.labels.get(HASH_LABEL) if container else None
        up_to_date = current_hash == wanted_hash
        name = self.params["name"]
        if not up_to_date:
            self.act(
                "config_hash",
                current_hash,
                wanted_hash,
                f"{'recreate' if container else 'create'} container {name}",
                partial(self._recreate, container, settings, config, wanted_hash),
            )
        elif not running:
            self.perform(f"start container {name}", partial(self._start, container))
        if self.check_mode:
            leader = self.consul.leader() if (up_to_date and running) else None
            return self._answer(container=container, leader=leader, version=None, address=settings["advertise_addr"])
        if not up_to_date:
            container = self._find_container()  # the one _recreate made
        leader = wait_for_leader(
            leader=self.consul.leader,
            is_running=partial(self._is_running, container),
            timeout=self.params["leader_timeout"],
            url=self.consul.endpoint.url,
            bootstrap_expect=settings["bootstrap_expect"],
        )
        return self._answer(
            container=container,
            leader=leader,
            version=self._version(container),
            address=settings["advertise_addr"],
        )

    def _missing_image(self) -> None:
        image = self.params["image"]
        if not self.check_mode:
            raise SwarmOpsError(
                f"image {image!r} is not present on this Docker host: pull it or load its archive first "
                "(role swarmops.cluster.consul does either: consul_image_archive loads a saved image)"
            )
        self.warn(f"image {image!r} is not on this host yet; a real run needs it pulled or loaded first")

    @staticmethod
    def _current_settings(container: Any) -> dict[str, Any]:
        if container is None:
            return {}
        try:
            return json.loads(container.labels.get(SETTINGS_LABEL, "{}"))
        except ValueError:
            return {}

    def _remove(self, container: Any) -> None:
        self.call(f"remove container {container.name!r}", container.remove, force=True)

    def _ensure_volume(self) -> None:
        """The data volume, part of the container's settings (diff field ``data_volume``)."""
        name = self.params["data_volume"]
        if self.find(f"inspect volume {name!r}", self.docker.volumes.get, name) is None:
            self.call(
                f"create volume {name!r}",
                self.docker.volumes.create,
                name=name,
                labels={MANAGED_LABEL: "swarmops.cluster"},
            )

    def _recreate(self, container: Any, settings: dict[str, Any], config: dict[str, Any], wanted_hash: str) -> None:
        name = self.params["name"]
        if container is not None:
            self._remove(container)
        self._ensure_volume()
        created = self.call(
            f"create container {name!r}",
            self.docker.containers.create,
            self.params["image"],
            name=name,
            hostname=settings["node_name"],
            entrypoint=["consul"],
            command=["agent", f"-config-dir={CONFIG_DIR}"],
            network_mode="host",
            restart_policy={"Name": "always"},
            volumes={settings["data_volume"]: {"bind": DATA_DIR, "mode": "rw"}},
            labels={
                MANAGED_LABEL: "swarmops.cluster",
                SETTINGS_LABEL: json.dumps(settings, sort_keys=True),
                HASH_LABEL: wanted_hash,
            },
        )
        self.call(
            f"copy the agent configuration into container {name!r}",
            created.put_archive,
            CONFIG_DIR,
            config_archive(config),
        )
        self.call(f"start container {name!r}", created.start)

    def _start(self, container: Any) -> None:
        self.call(f"start container {container.name!r}", container.start)

    def _is_running(self, container: Any) -> bool:
        self.call(f"inspect container {container.name!r}", container.reload)
        return container.status in ("running", "restarting", "created")

    def _version(self, container: Any) -> str | None:
        exit_code, output = self.call(
            f"run consul version in container {container.name!r}", container.exec_run, ["consul", "version"]
        )
        return parse_version(output.decode("utf-8", "replace")) if exit_code == 0 else None

    def _answer(
        self, *, container: Any, leader: str | None, version: str | None, address: str | None
    ) -> dict[str, Any]:
        return self.result(
            container={"name": self.params["name"], "id": container.id if container else None},
            address=address,
            http_addr=self.consul.endpoint.url if address is not None else None,
            leader=leader,
            version=version,
        )
