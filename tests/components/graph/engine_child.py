"""Runs in a fresh process what the engine's dynamic-provider host runs: unpickle the provider
from its base64 blob, configure it with the stack config, then call it. Reads one JSON job from
standard input and prints the results as JSON."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import dill
from pulumi.dynamic import Config, ConfigureRequest

from components.graph import gateway
from tests.doubles.graph_double import FakeCredential

# The token comes from a stand-in credential; everything else is the real stack.
gateway.make_credential = lambda _settings: FakeCredential()


def main() -> None:
    job = json.load(sys.stdin)
    provider = dill.loads(base64.b64decode(job["provider"]))  # noqa: S301 - our own blob, as the engine does
    provider.configure(ConfigureRequest(Config(job["config"], "b2c-signup")))
    results: dict[str, Any] = {}
    props = provider.check({}, job["inputs"]).inputs
    created = provider.create(props)
    results["id"] = created.id
    read = provider.read(created.id, created.outs)
    results["read"] = read.outs
    if job.get("delete", True):
        provider.delete(created.id, read.outs)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
