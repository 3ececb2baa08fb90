"""The difference tracker shared by every module."""

from __future__ import annotations

from ansible_collections.swarmops.cluster.plugins.module_utils._common import Differences


def test_no_difference_means_unchanged_with_full_diff():
    diff = Differences()
    diff.compare({"a": 1}, {"a": 1})
    assert not diff.changed
    assert diff.changes == []
    assert diff.diff == {"before": {"a": 1}, "after": {"a": 1}}


def test_added_removed_and_modified_fields_are_listed_sorted():
    diff = Differences()
    diff.compare({"b": 1, "c": 3}, {"a": 0, "b": 2, "c": 3})
    assert diff.changed
    assert diff.changes == ["a", "b"]
    assert diff.diff["before"] == {"a": None, "b": 1, "c": 3}
    diff.add("running", False, True)
    assert diff.changes == ["a", "b", "running"]
