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
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import Differences, SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._consul import ConsulClient, ConsulEndpoint
from ansible_collections.swarmops.cluster.plugins.module_utils._docker import (
    APIError,
    ImageNotFound,
    NotFound,
    docker_client,
    docker_error,
)
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
}


def server_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(_SERVER_OPTIONS)


def validate_bootstrap_expect(count: int) -> list[str]:
    """Reject counts that can never elect a leader; warn about ones that tolerate no failure."""
    if count < 1:
        raise SwarmOpsError(
            f"bootstrap_expect={count} can never elect a leader: use 1 (a single server) or 3 or 5 (HA)"
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


def validate_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise SwarmOpsError(f"http_port={port} is not a TCP port: use 1-65535")


def key_fingerprint(key: str | None) -> str | None:
    """A short, non-reversible label for a secret, so diffs can show that it changed."""
    if key is None:
        return None
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


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


class ConsulServer:
    """Compare and converge one Consul server container on one Docker engine."""

    def __init__(self, params: dict[str, Any], check_mode: bool) -> None:
        self.params = params
        self.check_mode = check_mode
        self.warnings: list[str] = []
        self.actions: list[str] = []
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client(self.params)
        return self._client

    def validate(self) -> None:
        params = self.params
        if params["state"] == "present" and not params["image"]:
            raise SwarmOpsError("image is required when state=present, e.g. hashicorp/consul:1.20.5")
        self.warnings.extend(validate_bootstrap_expect(params["bootstrap_expect"]))
        if params["bootstrap_expect"] > 1 and not params["retry_join"]:
            self.warnings.append(
                f"bootstrap_expect={params['bootstrap_expect']} but retry_join is empty: "
                "this server cannot find the others"
            )
        validate_encrypt_key(params["encrypt_key"])
        validate_port(params["http_port"])
        if params["leader_timeout"] < 1:
            raise SwarmOpsError(f"leader_timeout={params['leader_timeout']} must be at least 1 second")

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
            "data_volume": params["data_volume"],
            "encrypt_key": key_fingerprint(params["encrypt_key"]),
            "extra_config": params["extra_config"],
        }

    def _find_container(self) -> Any:
        try:
            return self.client.containers.get(self.params["name"])
        except NotFound:
            return None
        except APIError as exc:
            raise docker_error(f"inspect container {self.params['name']!r}", exc) from exc

    def _image_id(self) -> str | None:
        try:
            return self.client.images.get(self.params["image"]).id
        except ImageNotFound:
            return None
        except APIError as exc:
            raise docker_error(f"inspect image {self.params['image']!r}", exc) from exc

    def run(self) -> dict[str, Any]:
        self.validate()
        container = self._find_container()
        if self.params["state"] == "absent":
            return self._absent(container)
        return self._present(container)

    def _absent(self, container: Any) -> dict[str, Any]:
        diff = Differences()
        diff.add("state", "present" if container else "absent", "absent")
        if container and not self.check_mode:
            self._remove(container)
        if container:
            self.actions.append(f"removed container {self.params['name']} (volume {self.params['data_volume']} kept)")
        return self._result(diff, container=None, leader=None, version=None, address=None)

    def _present(self, container: Any) -> dict[str, Any]:
        image_id = self._image_id()
        if image_id is None:
            self._missing_image()
        settings = self.desired_settings(image_id)
        config = render_agent_config(settings, self.params["encrypt_key"])
        wanted_hash = config_hash(config, image_id)
        diff = Differences()
        before = self._current_settings(container)
        diff.compare(before, settings)
        running = bool(container) and container.status == "running"
        diff.add("running", running, True)
        up_to_date = bool(container) and container.labels.get(HASH_LABEL) == wanted_hash
        if not up_to_date:
            diff.add("config_hash", container.labels.get(HASH_LABEL) if container else None, wanted_hash)
        if self.check_mode:
            self._plan(container, up_to_date, running)
            leader = self._leader(settings) if (up_to_date and running) else None
            return self._result(
                diff,
                container=container,
                leader=leader,
                version=None,
                address=settings["advertise_addr"],
                settings=settings,
            )
        if not up_to_date:
            container = self._recreate(container, settings, config, wanted_hash)
        elif not running:
            self._start(container)
        leader = wait_for_leader(
            leader=lambda: self._leader(settings),
            is_running=lambda: self._is_running(container),
            timeout=self.params["leader_timeout"],
            url=self._endpoint(settings).url,
            bootstrap_expect=settings["bootstrap_expect"],
        )
        return self._result(
            diff,
            container=container,
            leader=leader,
            version=self._version(container),
            address=settings["advertise_addr"],
            settings=settings,
        )

    def _missing_image(self) -> None:
        image = self.params["image"]
        if not self.check_mode:
            raise SwarmOpsError(
                f"image {image!r} is not present on this Docker host: pull it or load its archive first "
                "(role swarmops.cluster.consul does either: consul_image_archive loads a saved image)"
            )
        self.warnings.append(f"image {image!r} is not on this host yet; a real run needs it pulled or loaded first")

    def _plan(self, container: Any, up_to_date: bool, running: bool) -> None:
        if not up_to_date:
            verb = "recreate" if container else "create"
            self.actions.append(f"would {verb} container {self.params['name']}")
        elif not running:
            self.actions.append(f"would start container {self.params['name']}")

    @staticmethod
    def _current_settings(container: Any) -> dict[str, Any]:
        if container is None:
            return {}
        try:
            return json.loads(container.labels.get(SETTINGS_LABEL, "{}"))
        except ValueError:
            return {}

    def _remove(self, container: Any) -> None:
        try:
            container.remove(force=True)
        except APIError as exc:
            raise docker_error(f"remove container {container.name!r}", exc) from exc

    def _ensure_volume(self) -> None:
        name = self.params["data_volume"]
        try:
            self.client.volumes.get(name)
        except NotFound:
            self.client.volumes.create(name=name, labels={MANAGED_LABEL: "swarmops.cluster"})
            self.actions.append(f"created volume {name}")

    def _recreate(self, container: Any, settings: dict[str, Any], config: dict[str, Any], wanted_hash: str) -> Any:
        name = self.params["name"]
        if container is not None:
            self._remove(container)
        try:
            self._ensure_volume()
            created = self.client.containers.create(
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
            created.put_archive(CONFIG_DIR, config_archive(config))
            created.start()
        except APIError as exc:
            raise docker_error(f"create and start container {name!r}", exc) from exc
        self.actions.append(f"{'recreated' if container is not None else 'created'} container {name}")
        return created

    def _start(self, container: Any) -> None:
        try:
            container.start()
        except APIError as exc:
            raise docker_error(f"start container {container.name!r}", exc) from exc
        self.actions.append(f"started container {container.name}")

    @staticmethod
    def _is_running(container: Any) -> bool:
        container.reload()
        return container.status in ("running", "restarting", "created")

    def _endpoint(self, settings: dict[str, Any]) -> ConsulEndpoint:
        client_addr = settings["client_addr"]
        default_host = "127.0.0.1" if client_addr == ANY else client_addr
        params = dict(self.params, consul_port=self.params["http_port"])
        return ConsulEndpoint.from_params(params, default_host=default_host)

    def _leader(self, settings: dict[str, Any]) -> str:
        return ConsulClient(self._endpoint(settings)).leader()

    def _version(self, container: Any) -> str | None:
        exit_code, output = container.exec_run(["consul", "version"])
        return parse_version(output.decode("utf-8", "replace")) if exit_code == 0 else None

    def _result(
        self,
        diff: Differences,
        *,
        container: Any,
        leader: str | None,
        version: str | None,
        address: str | None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        http_addr = None
        if settings is not None:
            http_addr = self._endpoint(settings).url
        return {
            "changed": diff.changed,
            "actions": self.actions,
            "changes": diff.changes,
            "diff": diff.diff,
            "container": {"name": self.params["name"], "id": container.id if container else None},
            "address": address,
            "http_addr": http_addr,
            "leader": leader,
            "version": version,
            "warnings": self.warnings,
        }


def manage(module: Any) -> dict[str, Any]:
    """Entry point used by the consul_server module."""
    return ConsulServer(module.params, module.check_mode).run()
