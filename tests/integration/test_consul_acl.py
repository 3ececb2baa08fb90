"""consul_acl on a real Consul with ACLs (itest-kv, made by role consul): check, create, repeat,
modify, a token that works as its policy says, and a bad set refused before anything is written."""

from __future__ import annotations

import uuid

import consul
import pytest

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
