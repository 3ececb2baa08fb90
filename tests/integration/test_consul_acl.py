"""consul_acl on a real Consul with ACLs (itest-kv, made by role consul): check, create, repeat,
modify, a token that works as its policy says, and a bad set refused before anything is written."""

from __future__ import annotations

import uuid

import consul
import pytest
import requests

from .conftest import SECRETS, Ansible, container_ip

MODULE = "swarmops.cluster.consul_acl"
HOST = "itest-kv"
POLICY = "itest-acl-reader"
SECRET = str(uuid.uuid4())
ACCESSOR = str(uuid.uuid5(uuid.NAMESPACE_URL, SECRET))
RULES = 'key_prefix "itest-acl/" {\n  policy = "read"\n}\n'


def management() -> str:
    return (SECRETS / "management.token").read_text().strip()


def acl_args(rules: str = RULES, **overrides: object) -> dict[str, object]:
    return {
        "consul_host": "127.0.0.1",
        "consul_token": management(),
        "policies": [{"name": POLICY, "description": "itest: read itest-acl/", "rules": rules}],
        "tokens": [{"accessor_id": ACCESSOR, "secret_id": SECRET, "description": "itest reader", "policies": [POLICY]}],
        **overrides,
    }


def policy_names(kv: consul.Consul) -> set[str]:
    return {policy["Name"] for policy in kv.acl.policy.list()}


def token_self(secret: str) -> requests.Response:
    """GET /v1/acl/token/self with ``secret``: 200 while the token exists, 403 once it is deleted."""
    url = f"http://{container_ip(HOST)}:8500/v1/acl/token/self"
    return requests.get(url, headers={"X-Consul-Token": secret}, timeout=10)


def test_check_then_create_then_repeat_then_modify(ansible: Ansible, kv):
    check = ansible.one(HOST, MODULE, acl_args(), check=True, diff=True)
    assert check["changed"] is True
    assert check["changes"] == [f"policy.{POLICY}", f"token.{ACCESSOR}"]
    assert check["actions"] == [f"would create policy {POLICY}", f"would create token {ACCESSOR}"]
    assert POLICY not in policy_names(kv), "check mode must not write"
    assert SECRET not in str(check), "the secret must not appear in the result"

    real = ansible.one(HOST, MODULE, acl_args(), diff=True)
    assert real["changed"] is True
    assert real["actions"] == [f"created policy {POLICY}", f"created token {ACCESSOR}"]
    reader = consul.Consul(host=container_ip(HOST), token=SECRET)
    assert reader.kv.get("itest-acl/anything")[1] is None, "the token may read its prefix"
    with pytest.raises(consul.ACLPermissionDenied):
        reader.kv.put("itest-acl/anything", "x")

    again = ansible.one(HOST, MODULE, acl_args())
    assert again["changed"] is False, again["changes"]
    assert again["actions"] == []

    writable = RULES.replace('"read"', '"write"')
    changed = ansible.one(HOST, MODULE, acl_args(rules=writable), diff=True)
    assert changed["changes"] == [f"policy.{POLICY}"]
    assert changed["diff"]["after"][f"policy.{POLICY}"]["rules"] == writable.strip()
    assert reader.kv.put("itest-acl/anything", "x")
    assert ansible.one(HOST, MODULE, acl_args(rules=writable))["changed"] is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"tokens": [{"accessor_id": str(uuid.uuid4()), "secret_id": str(uuid.uuid4()), "policies": ["no-such"]}]},
            "links policies no-such, which are neither in policies nor in Consul",
        ),
        (
            {"policies": [{"name": "twice", "rules": RULES}, {"name": "twice", "rules": RULES}]},
            "policies lists twice more than once",
        ),
        ({"policies": [{"name": "itest-empty", "rules": "  "}]}, "policy 'itest-empty' has empty rules"),
        ({"tokens": [{"accessor_id": "not-a-uuid", "secret_id": SECRET}]}, "accessor_id=not-a-uuid is not a UUID"),
        ({"tokens": [{"accessor_id": str(uuid.uuid4())}]}, "does not exist and has no secret_id to create it with"),
    ],
    ids=["unknown-policy", "duplicate", "empty-rules", "accessor", "no-secret"],
)
def test_a_bad_set_is_refused_before_anything_is_written(ansible: Ansible, kv, overrides, message):
    args = {**acl_args(), "policies": [{"name": "itest-acl-new", "rules": RULES}], **overrides}
    result = ansible.one(HOST, MODULE, args)
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert "itest-acl-new" not in policy_names(kv)
    assert "itest-empty" not in policy_names(kv)


GONE, KEPT = "itest-acl-gone", "itest-acl-kept"


def made_token(*policies: str) -> dict[str, object]:
    secret = str(uuid.uuid4())
    accessor = str(uuid.uuid5(uuid.NAMESPACE_URL, secret))
    return {
        "accessor_id": accessor,
        "secret_id": secret,
        "description": f"itest {'+'.join(policies)}",
        "policies": list(policies),
    }


def test_policies_absent_deletes_the_policy_and_the_tokens_that_linked_only_it(ansible: Ansible, kv):
    only, both = made_token(GONE), made_token(GONE, KEPT)
    connection = {"consul_host": "127.0.0.1", "consul_token": management()}
    setup = {
        **connection,
        "policies": [{"name": name, "rules": RULES} for name in (GONE, KEPT)],
        "tokens": [only, both],
    }
    assert ansible.one(HOST, MODULE, setup)["changed"] is True
    assert token_self(only["secret_id"]).status_code == 200
    args = {**connection, "policies_absent": [GONE]}
    try:
        check = ansible.one(HOST, MODULE, args, check=True, diff=True)
        assert check["changed"] is True
        assert check["changes"] == [f"token.{only['accessor_id']}", f"policy.{GONE}"]
        assert check["actions"] == [
            f"would delete token {only['accessor_id']} (itest {GONE}), which links only {GONE}",
            f"would delete policy {GONE}",
        ]
        assert check["diff"]["after"] == {f"token.{only['accessor_id']}": None, f"policy.{GONE}": None}
        assert check["diff"]["before"][f"policy.{GONE}"]["rules"] == RULES.strip()
        assert GONE in policy_names(kv), "check mode must not delete"
        assert token_self(only["secret_id"]).status_code == 200

        real = ansible.one(HOST, MODULE, args, diff=True)
        assert real["changed"] is True
        assert real["actions"] == [
            f"deleted token {only['accessor_id']} (itest {GONE}), which links only {GONE}",
            f"deleted policy {GONE}",
        ]
        assert GONE not in policy_names(kv)
        gone = token_self(only["secret_id"])
        assert gone.status_code == 403 and "ACL not found" in gone.text, "the deleted token no longer authenticates"
        kept = token_self(both["secret_id"])
        assert kept.status_code == 200, "a token that also links another policy is kept"
        assert [link["Name"] for link in kept.json()["Policies"]] == [KEPT], "Consul dropped the deleted link"

        again = ansible.one(HOST, MODULE, args)
        assert again["changed"] is False and again["actions"] == [], again
    finally:
        # KEPT and the token that now links only KEPT.
        cleanup = ansible.one(HOST, MODULE, {**connection, "policies_absent": [GONE, KEPT]})
    assert cleanup["changes"] == [f"token.{both['accessor_id']}", f"policy.{KEPT}"], cleanup
    assert KEPT not in policy_names(kv)
    assert token_self(both["secret_id"]).status_code == 403


def test_policies_absent_spares_the_anonymous_token(ansible: Ansible, kv):
    """The anonymous token links the cluster's DNS policy alone: the policy would go, the token never."""
    args = {"consul_host": "127.0.0.1", "consul_token": management(), "policies_absent": ["swarmops-itest-dns"]}
    check = ansible.one(HOST, MODULE, args, check=True)
    assert check["changes"] == ["policy.swarmops-itest-dns"], check


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"policies_absent": ["global-management"]},
            "policies_absent names global-management, Consul's built-in management policy: it is never deleted",
        ),
        (
            {"policies_absent": [POLICY]},
            f"policy {POLICY} is listed in both policies and policies_absent",
        ),
        (
            {"policies": [], "policies_absent": [POLICY]},
            f"token 'itest reader' (in tokens) links {POLICY}, which policies_absent deletes",
        ),
    ],
    ids=["management", "both", "linked"],
)
def test_a_bad_policies_absent_is_refused_before_anything_is_deleted(ansible: Ansible, kv, overrides, message):
    ansible.one(HOST, MODULE, acl_args())
    result = ansible.one(HOST, MODULE, {**acl_args(), **overrides})
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert {POLICY, "global-management"} <= policy_names(kv)
    assert token_self(SECRET).status_code == 200
    assert token_self(management()).status_code == 200
