"""consul_acl's policies_absent without a Consul: the refusals before any write, which tokens go with
the deleted policies, and a run against a stand-in of the client (check mode, order, repeat)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.swarmops.cluster.plugins.module_utils._common import SwarmOpsError
from ansible_collections.swarmops.cluster.plugins.module_utils._consul_acl import (
    ANONYMOUS_ACCESSOR,
    ConsulAcl,
    orphaned_tokens,
    validate_absent,
)

NODE = {"ID": "p-node3", "Name": "swarmops-lab-node-node3"}
OTHER = {"ID": "p-other", "Name": "swarmops-lab-masters"}
MANAGEMENT = {"ID": "00000000-0000-0000-0000-000000000001", "Name": "global-management"}
RULES = 'key_prefix "x/" {\n  policy = "read"\n}\n'


def token(accessor: str, *links: dict[str, str], **extra: object) -> dict[str, object]:
    return {
        "AccessorID": accessor,
        "Description": f"token {accessor}",
        "Policies": [dict(link) for link in links],
        **extra,
    }


# ---------------------------------------------------------------- refused before anything is written


@pytest.mark.parametrize(
    ("policies", "tokens", "absent", "message"),
    [
        ([], [], ["global-management"], "policies_absent names global-management, Consul's built-in management"),
        (
            [{"name": "a", "rules": RULES}],
            [],
            ["a", "b"],
            "policy a is listed in both policies and policies_absent: keep a policy (policies) or delete it",
        ),
        (
            [{"name": "a", "rules": RULES}, {"name": "b", "rules": RULES}],
            [],
            ["a", "b"],
            "policies a, b are listed in both policies and policies_absent",
        ),
        ([], [], ["a", " "], "policies_absent has an empty name (['a', ' '])"),
        (
            [],
            [{"accessor_id": "t1", "description": "masters", "policies": ["keep", "gone"]}],
            ["gone"],
            "token 'masters' (in tokens) links gone, which policies_absent deletes",
        ),
    ],
    ids=["management", "in-both", "in-both-plural", "empty-name", "linked-by-a-listed-token"],
)
def test_a_bad_policies_absent_is_refused_naming_the_value(policies, tokens, absent, message):
    with pytest.raises(SwarmOpsError) as caught:
        validate_absent(policies, tokens, absent)
    assert message in caught.value.msg


def test_a_good_policies_absent_passes():
    validate_absent(
        [{"name": "a", "rules": RULES}], [{"accessor_id": "t", "description": "", "policies": ["a"]}], ["b"]
    )
    validate_absent([], [], [])


# ---------------------------------------------------------------- which tokens go with the policies


def test_a_token_linking_only_deleted_policies_goes_and_one_linking_another_stays():
    tokens = [
        token("t-only", NODE),
        token("t-both", NODE, OTHER),
        token("t-other", OTHER),
        token("t-none"),
        token(ANONYMOUS_ACCESSOR, NODE),
        token("t-management", MANAGEMENT),
        token("t-role", NODE, Roles=[{"ID": "r1", "Name": "ops"}]),
        token("t-service", NODE, ServiceIdentities=[{"ServiceName": "web"}]),
        token("t-node", NODE, NodeIdentities=[{"NodeName": "node3", "Datacenter": "dc1"}]),
        token("t-listed", NODE),
        token("t-by-name", {"Name": NODE["Name"]}),
    ]
    doomed = orphaned_tokens(tokens, [NODE], {"t-listed"})
    assert [t["AccessorID"] for t in doomed] == ["t-by-name", "t-only"]


def test_the_management_tokens_never_go_even_with_their_policy_in_the_deleted_set():
    assert orphaned_tokens([token("t-management", MANAGEMENT)], [MANAGEMENT]) == []


def test_a_token_linking_several_deleted_policies_goes():
    assert [t["AccessorID"] for t in orphaned_tokens([token("t", NODE, OTHER)], [NODE, OTHER])] == ["t"]


# ---------------------------------------------------------------- a run, against a stand-in of ConsulClient


class FakeConsul:
    """The ACL calls of ConsulClient over a dict of policies and tokens, as Consul 1.8.7 answers them: a
    link to a deleted policy is dropped from the token when it is read."""

    def __init__(self, policies: list[dict[str, str]], tokens: list[dict[str, object]]) -> None:
        self.policies = {policy["ID"]: {**policy, "Description": "", "Rules": RULES} for policy in policies}
        self.tokens = {t["AccessorID"]: copy.deepcopy(t) for t in tokens}
        self.calls: list[str] = []

    def acl_policies(self):
        return [{key: value for key, value in p.items() if key != "Rules"} for p in self.policies.values()]

    def acl_policy(self, policy_id):
        return self.policies.get(policy_id)

    def acl_tokens(self):
        listed = copy.deepcopy(list(self.tokens.values()))
        for t in listed:
            t["Policies"] = [link for link in t["Policies"] if link["ID"] in self.policies]
        return listed

    def acl_policy_delete(self, policy_id, name):
        self.calls.append(f"delete policy {name}")
        del self.policies[policy_id]

    def acl_token_delete(self, accessor_id):
        self.calls.append(f"delete token {accessor_id}")
        del self.tokens[accessor_id]


def run(fake: FakeConsul, check_mode: bool = False, **params: object) -> dict[str, object]:
    params = {"policies": [], "tokens": [], "policies_absent": [NODE["Name"]], **params}
    return ConsulAcl(params, check_mode, consul=fake).run()


def lab() -> FakeConsul:
    return FakeConsul([NODE, OTHER, MANAGEMENT], [token("t-only", NODE), token("t-both", NODE, OTHER)])


def test_check_mode_says_what_it_would_delete_and_deletes_nothing():
    fake = lab()
    result = run(fake, check_mode=True)
    assert result["changed"] is True
    assert result["changes"] == ["token.t-only", f"policy.{NODE['Name']}"]
    assert result["actions"] == [
        f"would delete token t-only (token t-only), which links only {NODE['Name']}",
        f"would delete policy {NODE['Name']}",
    ]
    assert result["diff"]["after"] == {"token.t-only": None, f"policy.{NODE['Name']}": None}
    assert result["diff"]["before"]["token.t-only"] == {"description": "token t-only", "policies": [NODE["Name"]]}
    assert result["diff"]["before"][f"policy.{NODE['Name']}"] == {"description": "", "rules": RULES.strip()}
    assert fake.calls == []


def test_the_tokens_go_before_their_policies_and_a_repeat_deletes_nothing():
    fake = lab()
    result = run(fake)
    assert fake.calls == ["delete token t-only", f"delete policy {NODE['Name']}"]
    assert result["actions"] == [
        f"deleted token t-only (token t-only), which links only {NODE['Name']}",
        f"deleted policy {NODE['Name']}",
    ]
    assert set(fake.tokens) == {"t-both"}
    assert [link["Name"] for link in fake.acl_tokens()[0]["Policies"]] == [OTHER["Name"]]
    again = run(fake)
    assert again["changed"] is False and again["actions"] == [] and fake.calls[2:] == []


def test_a_refused_policies_absent_writes_nothing():
    fake = lab()
    with pytest.raises(SwarmOpsError, match="global-management"):
        run(fake, policies_absent=[NODE["Name"], "global-management"])
    assert fake.calls == []
