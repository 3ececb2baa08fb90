# Copyright (c) 2026, swarmops.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile a cluster's Consul ACL policies and tokens in one module call: validate the whole
set first, read what Consul has, write only the policies and tokens that differ, and delete the
policies named absent with the tokens that linked nothing else."""

from __future__ import annotations

import copy
import uuid
from functools import partial
from typing import Any

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._module import SwarmOpsModule

# Consul's built-in anonymous token: it can be updated (its policies), never created or deleted.
ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002"
# Consul's built-in management policy, linked by the management token(s): never deleted here.
MANAGEMENT_POLICY = "global-management"
MANAGEMENT_POLICY_ID = "00000000-0000-0000-0000-000000000001"
# What else a token can carry besides policy links: a token that has any of them is never deleted.
OTHER_GRANTS = ("Roles", "ServiceIdentities", "NodeIdentities")

ACL_OPTIONS: dict[str, dict[str, Any]] = {
    "policies": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "name": {"type": "str", "required": True},
            "description": {"type": "str", "default": ""},
            "rules": {"type": "str", "required": True},
        },
    },
    "tokens": {
        "type": "list",
        "elements": "dict",
        "default": [],
        # The list is not itself a secret; its secret_id entries are.
        "no_log": False,
        "options": {
            "accessor_id": {"type": "str", "required": True},
            "secret_id": {"type": "str", "no_log": True},
            "description": {"type": "str", "default": ""},
            "policies": {"type": "list", "elements": "str", "default": []},
        },
    },
    "policies_absent": {"type": "list", "elements": "str", "default": []},
}


def acl_argument_spec() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(ACL_OPTIONS)


def _is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def validate_acl(policies: list[dict[str, Any]], tokens: list[dict[str, Any]]) -> None:
    """Refuse the whole set before anything is written: duplicates, empty rules, malformed IDs
    (links to policies that are neither wanted here nor known to Consul are checked by the caller)."""
    names = [policy["name"] for policy in policies]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SwarmOpsError(f"policies lists {', '.join(duplicates)} more than once: give each policy once")
    for policy in policies:
        if not policy["rules"].strip():
            raise SwarmOpsError(f"policy {policy['name']!r} has empty rules: give its rules (HCL or JSON)")
    accessors = [token["accessor_id"] for token in tokens]
    twice = sorted({accessor for accessor in accessors if accessors.count(accessor) > 1})
    if twice:
        raise SwarmOpsError(f"tokens lists accessor_id {', '.join(twice)} more than once: give each token once")
    for token in tokens:
        for field in ("accessor_id", "secret_id"):
            value = token.get(field)
            if value is not None and not _is_uuid(value):
                shown = value if field == "accessor_id" else "(hidden)"
                raise SwarmOpsError(
                    f"token {token['description'] or token['accessor_id']!r}: {field}={shown} is not a UUID "
                    "such as 7b7c6a1e-52d5-4c8a-9c55-3f1c0ab7e1f0"
                )


def validate_absent(policies: list[dict[str, Any]], tokens: list[dict[str, Any]], absent: list[str]) -> None:
    """Refuse, before anything is written, a policies_absent that names nothing, the management policy,
    a policy also listed in policies, or a policy that a token listed in tokens links."""
    if any(not name.strip() for name in absent):
        raise SwarmOpsError(f"policies_absent has an empty name ({absent!r}): give the names of the policies to delete")
    if MANAGEMENT_POLICY in absent:
        raise SwarmOpsError(
            f"policies_absent names {MANAGEMENT_POLICY}, Consul's built-in management policy: it is never deleted "
            "here, nor the management tokens that link it. Remove it from policies_absent."
        )
    both = sorted(set(absent) & {policy["name"] for policy in policies})
    if both:
        which = f"policy {both[0]} is" if len(both) == 1 else f"policies {', '.join(both)} are"
        raise SwarmOpsError(
            f"{which} listed in both policies and policies_absent: keep a policy (policies) or delete it "
            "(policies_absent), not both"
        )
    for token in tokens:
        linked = sorted(set(token["policies"]) & set(absent))
        if linked:
            raise SwarmOpsError(
                f"token {token['description'] or token['accessor_id']!r} (in tokens) links {', '.join(linked)}, "
                "which policies_absent deletes: drop the link from the token or keep the policy"
            )


def orphaned_tokens(
    tokens: list[dict[str, Any]], deleted: list[dict[str, Any]], kept: set[str] | frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The tokens (as Consul lists them) to delete with the ``deleted`` policies: those linking at least
    one policy and none outside the deleted set, with no role or identity either. The anonymous token,
    the management tokens and the accessor IDs of ``kept`` (the tokens the module writes) are never
    among them."""
    ids = {policy["ID"] for policy in deleted} - {MANAGEMENT_POLICY_ID}
    names = {policy["Name"] for policy in deleted} - {MANAGEMENT_POLICY}
    doomed = []
    for token in tokens:
        links = token.get("Policies") or []
        if token.get("AccessorID") == ANONYMOUS_ACCESSOR or token.get("AccessorID") in kept or not links:
            continue
        if any(token.get(grant) for grant in OTHER_GRANTS):
            continue
        if all(link.get("ID") in ids or link.get("Name") in names for link in links):
            doomed.append(token)
    return sorted(doomed, key=lambda token: token["AccessorID"])


def policy_view(policy: dict[str, Any]) -> dict[str, str]:
    return {"description": policy.get("Description") or "", "rules": (policy.get("Rules") or "").strip()}


def token_view(token: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": token.get("Description") or "",
        "policies": sorted(link.get("Name") or link.get("ID") for link in token.get("Policies") or []),
    }


class ConsulAcl(SwarmOpsModule):
    """The wanted policies and tokens, compared with Consul's and written where they differ."""

    def run(self) -> dict[str, Any]:
        policies, tokens = self.params["policies"], self.params["tokens"]
        absent = sorted(set(self.params["policies_absent"]))
        validate_acl(policies, tokens)
        validate_absent(policies, tokens, absent)
        self.step = "read the ACL policies"
        existing = {policy["Name"]: policy for policy in self.consul.acl_policies()}
        self._check_links(tokens, set(existing) | {policy["name"] for policy in policies})
        current_tokens = {token["AccessorID"]: token for token in self.consul.acl_tokens()}
        for token in tokens:
            if token.get("secret_id") is None and token["accessor_id"] not in current_tokens:
                raise SwarmOpsError(
                    f"token {token['accessor_id']} ({token['description'] or 'no description'}) does not exist and "
                    "has no secret_id to create it with: give its secret_id"
                )
        for policy in policies:
            self._policy(policy, existing.get(policy["name"]))
        for token in tokens:
            self._token(token, current_tokens.get(token["accessor_id"]))
        self._delete([existing[name] for name in absent if name in existing], list(current_tokens.values()), tokens)
        return self.result(
            policies=sorted(policy["name"] for policy in policies),
            tokens=sorted(token["accessor_id"] for token in tokens),
        )

    @staticmethod
    def _check_links(tokens: list[dict[str, Any]], known: set[str]) -> None:
        for token in tokens:
            unknown = sorted(set(token["policies"]) - known)
            if unknown:
                raise SwarmOpsError(
                    f"token {token['description'] or token['accessor_id']!r} links policies {', '.join(unknown)}, "
                    "which are neither in policies nor in Consul"
                )

    def _policy(self, wanted: dict[str, Any], listed: dict[str, Any] | None) -> None:
        name = wanted["name"]
        current = self.consul.acl_policy(listed["ID"]) if listed else None
        after = {"description": wanted["description"], "rules": wanted["rules"].strip()}
        body = {"Name": name, "Description": wanted["description"], "Rules": wanted["rules"]}
        if current is None:
            self.act(f"policy.{name}", None, after, f"create policy {name}", partial(self.consul.acl_policy_put, body))
            return
        self.act(
            f"policy.{name}",
            policy_view(current),
            after,
            f"update policy {name}",
            partial(self.consul.acl_policy_put, {**body, "ID": current["ID"]}, current["ID"]),
        )

    def _token(self, wanted: dict[str, Any], current: dict[str, Any] | None) -> None:
        accessor = wanted["accessor_id"]
        after = {"description": wanted["description"], "policies": sorted(wanted["policies"])}
        body: dict[str, Any] = {
            "AccessorID": accessor,
            "Description": wanted["description"],
            "Policies": [{"Name": name} for name in wanted["policies"]],
        }
        if current is None:
            body["SecretID"] = wanted["secret_id"]
            self.act(
                f"token.{accessor}", None, after, f"create token {accessor}", partial(self.consul.acl_token_put, body)
            )
            return
        self.act(
            f"token.{accessor}",
            token_view(current),
            after,
            f"update token {accessor}",
            partial(self.consul.acl_token_put, body, accessor),
        )

    def _delete(
        self, doomed: list[dict[str, Any]], current_tokens: list[dict[str, Any]], tokens: list[dict[str, Any]]
    ) -> None:
        """Delete the policies of policies_absent that exist (diff ``policy.<name>`` -> None) and, first, the
        tokens that link nothing else (``token.<accessor>`` -> None): once its policies are gone, Consul shows
        such a token with no link at all, so a rerun after a failure in between still finds it. A token that
        also links another policy is kept; Consul drops its link to a deleted policy by itself."""
        for token in orphaned_tokens(current_tokens, doomed, {token["accessor_id"] for token in tokens}):
            accessor, view = token["AccessorID"], token_view(token)
            self.act(
                f"token.{accessor}",
                view,
                None,
                f"delete token {accessor} ({view['description'] or 'no description'}), which links only "
                f"{', '.join(view['policies'])}",
                partial(self.consul.acl_token_delete, accessor),
            )
        for listed in doomed:
            name = listed["Name"]
            current = self.consul.acl_policy(listed["ID"]) or listed
            self.act(
                f"policy.{name}",
                policy_view(current),
                None,
                f"delete policy {name}",
                partial(self.consul.acl_policy_delete, listed["ID"], name),
            )
