# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way our modules talk to Consul: a py-consul client factory and KV
helpers whose failures say which key, which address and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import (
    MissingLibraryError,
    SwarmOpsError,
)

try:
    import consul
    import requests
    from consul.callback import CB
except ImportError as _exc:  # pragma: no cover - exercised on hosts without the library
    consul = None
    requests = None
    CB = None
    CONSUL_IMPORT_ERROR: str | None = str(_exc)
    # Nothing to catch without the library: ConsulClient refuses to start first.
    CONSUL_ERRORS: tuple[type[Exception], ...] = ()
else:
    CONSUL_IMPORT_ERROR = None
    CONSUL_ERRORS = (consul.ConsulException, requests.exceptions.RequestException)

CONSUL_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "consul_host": {"type": "str"},
    "consul_port": {"type": "int", "default": 8500},
    "consul_scheme": {"type": "str", "default": "http", "choices": ["http", "https"]},
    "consul_token": {"type": "str", "no_log": True},
    "consul_validate_certs": {"type": "bool", "default": True},
    "consul_ca_path": {"type": "path"},
}


class ConsulEndpoint:
    """Where and how to reach a Consul agent's HTTP API."""

    def __init__(
        self,
        host: str,
        *,
        port: int = 8500,
        scheme: str = "http",
        token: str | None = None,
        validate_certs: bool = True,
        ca_path: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.scheme = scheme
        self.token = token
        self.verify: bool | str = ca_path if (validate_certs and ca_path) else validate_certs

    @classmethod
    def from_params(cls, params: dict[str, Any], default_host: str = "127.0.0.1") -> ConsulEndpoint:
        return cls(
            host=params.get("consul_host") or default_host,
            port=params.get("consul_port") or 8500,
            scheme=params.get("consul_scheme") or "http",
            token=params.get("consul_token"),
            validate_certs=params.get("consul_validate_certs", True),
            ca_path=params.get("consul_ca_path"),
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class ConsulClient:
    """A thin wrapper over ``consul.Consul`` that turns library errors into
    messages naming the Consul address and the key or operation."""

    def __init__(self, endpoint: ConsulEndpoint) -> None:
        if consul is None:
            raise MissingLibraryError("py-consul", CONSUL_IMPORT_ERROR or "import failed")
        self.endpoint = endpoint
        self.api = consul.Consul(
            host=endpoint.host,
            port=endpoint.port,
            scheme=endpoint.scheme,
            token=endpoint.token,
            verify=endpoint.verify,
        )

    def _fail(self, what: str, exc: Exception) -> SwarmOpsError:
        where = self.endpoint.url
        if isinstance(exc, consul.ACLPermissionDenied):
            return SwarmOpsError(f"Consul at {where} denied {what}: {denial_reason(str(exc))}", consul_url=where)
        if isinstance(exc, requests.exceptions.RequestException):
            return SwarmOpsError(f"cannot reach Consul at {where} for {what}: {exc}", consul_url=where)
        return SwarmOpsError(f"Consul at {where} failed {what}: {exc}", consul_url=where)

    def _request(self, what: str, call: Callable[[], Any]) -> Any:
        """Run one Consul API call; a library or network failure becomes a message naming ``what``."""
        try:
            return call()
        except CONSUL_ERRORS as exc:
            raise self._fail(what, exc) from exc

    def leader(self) -> str:
        """The leader's RPC address, or an empty string while there is none."""
        return self._request("the leader query (/v1/status/leader)", self.api.status.leader) or ""

    def kv_get(self, key: str) -> str | None:
        _index, entry = self._request(f"read of key {key!r}", lambda: self.api.kv.get(key))
        if entry is None or entry.get("Value") is None:
            return None
        return entry["Value"].decode("utf-8")

    def kv_list(self, prefix: str) -> dict[str, str]:
        """Every key under ``prefix`` with its value (an empty dict when there is none)."""
        _index, entries = self._request(f"read of keys under {prefix!r}", lambda: self.api.kv.get(prefix, recurse=True))
        return {entry["Key"]: (entry.get("Value") or b"").decode("utf-8") for entry in entries or []}

    def kv_put(self, key: str, value: str, *, cas: int | None = None) -> bool:
        """Store ``value``; with ``cas=0`` only if the key does not exist yet (returns False then)."""
        ok = self._request(f"write of key {key!r}", lambda: self.api.kv.put(key, value, cas=cas))
        if not ok and cas is None:
            raise SwarmOpsError(f"Consul at {self.endpoint.url} did not store key {key!r}")
        return bool(ok)

    def kv_delete(self, key: str) -> None:
        self._request(f"delete of key {key!r}", lambda: self.api.kv.delete(key))

    def catalog_instances(self, service: str) -> dict[str, dict[str, Any]]:
        """The catalog's instances of ``service`` by service ID, in catalog_entries' shape."""
        _index, entries = self._request(
            f"read of service {service!r} from the catalog", lambda: self.api.health.service(service)
        )
        instances = {}
        for entry in entries:
            svc, node = entry["Service"], entry["Node"]
            statuses = [check["Status"] for check in entry.get("Checks") or [] if check.get("ServiceID") == svc["ID"]]
            instances[svc["ID"]] = {
                "node": node["Node"],
                "node_address": node["Address"],
                "service_id": svc["ID"],
                "address": svc.get("Address") or node["Address"],
                "port": svc.get("Port", 0),
                "tags": sorted(svc.get("Tags") or []),
                "status": statuses[0] if statuses else "passing",
            }
        return instances

    def catalog_register(self, service: str, entry: dict[str, Any]) -> None:
        """Register one instance of ``service`` on an agent-less node, with a check holding its status."""
        self._request(
            f"registration of {entry['service_id']!r} in the catalog",
            lambda: self._catalog_put("/v1/catalog/register", registration(service, entry)),
        )

    def _catalog_put(self, path: str, payload: dict[str, Any]) -> None:
        """PUT to the catalog with the token in the header only: py-consul also puts it in the body
        as ``WriteRequest``, a field Consul 1.8 refuses (400 "unknown field")."""
        headers = self.api.prepare_headers(self.endpoint.token)
        self.api.http.put(CB.boolean(), path, data=json.dumps(payload), headers=headers)

    def catalog_deregister(self, node: str, service_id: str) -> None:
        self._request(
            f"deregistration of {service_id!r} from the catalog",
            lambda: self._catalog_put("/v1/catalog/deregister", {"Node": node, "ServiceID": service_id}),
        )

    def catalog_has_node(self, node: str) -> bool:
        _index, entry = self._request(f"read of node {node!r} from the catalog", lambda: self.api.catalog.node(node))
        return entry is not None

    def catalog_deregister_node(self, node: str) -> None:
        """Remove ``node`` from the catalog, with every service instance registered on it."""
        self._request(
            f"deregistration of node {node!r} from the catalog",
            lambda: self._catalog_put("/v1/catalog/deregister", {"Node": node}),
        )

    # -- ACL policies and tokens (a management token's calls) --------------------------------

    def _acl(self, what: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = self.api.prepare_headers(self.endpoint.token)
        http = getattr(self.api.http, method)
        if body is None:
            return self._request(what, lambda: http(CB.json(), path, headers=headers))
        return self._request(what, lambda: http(CB.json(), path, headers=headers, data=json.dumps(body)))

    def acl_policies(self) -> list[dict[str, Any]]:
        """Every policy, without its rules (Consul's list leaves them out)."""
        return self._acl("the list of ACL policies", "get", "/v1/acl/policies") or []

    def acl_policy(self, policy_id: str) -> dict[str, Any]:
        return self._acl(f"read of ACL policy {policy_id}", "get", f"/v1/acl/policy/{policy_id}")

    def acl_policy_put(self, body: dict[str, Any], policy_id: str | None = None) -> None:
        path = f"/v1/acl/policy/{policy_id}" if policy_id else "/v1/acl/policy"
        self._acl(f"write of ACL policy {body['Name']!r}", "put", path, body)

    def acl_policy_delete(self, policy_id: str, name: str) -> None:
        self._acl(f"delete of ACL policy {name!r}", "delete", f"/v1/acl/policy/{policy_id}")

    def acl_tokens(self) -> list[dict[str, Any]]:
        return self._acl("the list of ACL tokens", "get", "/v1/acl/tokens") or []

    def acl_token_put(self, body: dict[str, Any], accessor_id: str | None = None) -> None:
        path = f"/v1/acl/token/{accessor_id}" if accessor_id else "/v1/acl/token"
        self._acl(f"write of ACL token {body['AccessorID']}", "put", path, body)

    def acl_token_delete(self, accessor_id: str) -> None:
        self._acl(f"delete of ACL token {accessor_id}", "delete", f"/v1/acl/token/{accessor_id}")

    def check_catalog_write(self, service: str, node: str, node_address: str) -> None:
        """Prove that the token may register ``service`` on ``node``, before anything depends on it: a
        probe instance (critical, so DNS never answers with it) registered and removed at once; a
        catalog node the probe had to create is removed with it."""
        probe_id = f"swarmops-probe-{service}"
        what = f"a probe registration of service {service!r} on node {node!r} (the token must write the catalog)"

        def probe() -> None:
            _index, existing = self.api.catalog.node(node)
            entry = {
                "node": node,
                "node_address": node_address,
                "service_id": probe_id,
                "address": node_address,
                "port": 0,
                "tags": [],
                "status": "critical",
            }
            self._catalog_put("/v1/catalog/register", registration(service, entry))
            if existing is None:
                self._catalog_put("/v1/catalog/deregister", {"Node": node})
            else:
                self._catalog_put("/v1/catalog/deregister", {"Node": node, "ServiceID": probe_id})

        self._request(what, probe)

    def lock(self, key: str, holder: str, ttl: int = 30) -> str | None:
        """Take the session lock ``key``; the session id when held, None when another holds it."""

        def take() -> str | None:
            session = self.api.session.create(name=f"swarmops lock {key}", ttl=ttl, lock_delay=0, behavior="delete")
            if self.api.kv.put(key, holder, acquire=session):
                return session
            self.api.session.destroy(session)
            return None

        return self._request(f"the session lock on key {key!r}", take)

    def unlock(self, key: str, session: str) -> None:
        def release() -> None:
            self.api.kv.put(key, "", release=session)
            self.api.session.destroy(session)

        self._request(f"the release of the session lock on key {key!r}", release)


def registration(service: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The catalog register payload of one instance (catalog_entries' shape) and its health check."""
    definition = {
        "Service": service,
        "ID": entry["service_id"],
        "Address": entry["address"],
        "Port": entry["port"],
        "Tags": entry["tags"],
    }
    check = {
        "Node": entry["node"],
        "CheckID": f"service:{entry['service_id']}",
        "Name": f"{service} task health (Swarm)",
        "Status": entry["status"],
        "ServiceID": entry["service_id"],
    }
    return {"Node": entry["node"], "Address": entry["node_address"], "Service": definition, "Check": check}


def denial_reason(body: str) -> str:
    """Why Consul answered 403, in words a user can act on: an unknown token or a missing right."""
    if "ACL not found" in body:
        return (
            "the token is unknown to this Consul server (403 ACL not found): check consul_token, or whether the "
            "token was deleted or belongs to another cluster's Consul"
        )
    return "the token lacks that permission (403 Permission denied). Use a token whose policy grants it."


def consul_client(params: dict[str, Any], *, default_host: str | None = None) -> ConsulClient:
    """The Consul client of a module, from its connection options; ``consul_host`` is required
    unless the caller knows a default (consul_server: its own client address)."""
    if not (params.get("consul_host") or default_host):
        raise SwarmOpsError(
            "consul_host is required: the address of the Consul server that holds the cluster's records "
            "(module_defaults with group/swarmops.cluster.swarm can set it once)"
        )
    return ConsulClient(ConsulEndpoint.from_params(params, default_host=default_host or "127.0.0.1"))
