"""tools.graph_calls: the request counts it prints are the contract minimum."""

from __future__ import annotations

from tools import graph_calls


def test_each_operation_sends_the_contract_minimum() -> None:
    counts = {label: (reads, writes) for label, reads, writes, _ in graph_calls.run()}
    assert counts["connector check"] == counts["flow check"] == (0, 0)
    assert counts["connector create"] == (1, 1)  # look by display name, then POST
    assert counts["flow create (4 attributes, 1 step)"] == (2, 6)  # look + attribute list; POST, 4 POST, PUT
    assert counts["flow refresh"] == (3, 0)
    assert counts["second up, no changes (check + diff)"] == (0, 0)
    assert counts["flow update: move the connector to another step"] == (0, 2)
    assert counts["flow delete"] == counts["connector delete"] == (0, 1)


def test_each_external_id_operation_sends_the_contract_minimum() -> None:
    counts = {label: (reads, writes) for label, reads, writes, _ in graph_calls.run_external_id()}
    assert counts["extension check"] == counts["flow check"] == (0, 0)
    assert counts["extension create (validated)"] == (1, 2)  # look by name; POST, validate
    assert counts["flow create (4 attributes, 2 apps, extension)"] == (3, 2)  # look, 1 per app; POST, PUT
    assert counts["extension refresh"] == (1, 0)
    assert counts["flow refresh"] == (2, 0)
    assert counts["second up, no changes (check + diff)"] == (0, 0)
    assert counts["flow update: collect one more attribute"] == (1, 2)
    assert counts["extension update: timeout"] == (0, 1)
    assert counts["flow delete"] == counts["extension delete"] == (0, 1)
