"""Runs in a fresh process what the engine's dynamic-provider host runs: unpickle the provider
from its base64 blob, configure it with the stack config, then call it. Reads one JSON job from
standard input and prints the results as JSON."""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any

import dill
from azure.core.credentials import AccessToken
from pulumi.dynamic import Config, ConfigureRequest

from components import code_deployment
from components.graph.gateway import GraphGateway
from components.graph.provider import GraphProvider
from tests.doubles import one_deploy_double
from tools.graph_double import FakeCredential


class FakeArmCredential:
    def get_token(self, *_: str, **__: Any) -> AccessToken:
        return AccessToken(one_deploy_double.TOKEN, int(time.time()) + 3600)


def main() -> None:
    job = json.load(sys.stdin)
    provider = dill.loads(base64.b64decode(job["provider"]))  # noqa: S301 - our own blob, as the engine does
    # Tokens come from stand-in credentials, through the providers' seams; the rest is the real stack.
    if isinstance(provider, code_deployment.FunctionCodeDeploymentProvider):
        provider.credentials = lambda _settings: FakeArmCredential()  # type: ignore[method-assign,assignment,return-value]
    if isinstance(provider, GraphProvider):
        provider.connect = lambda settings, **kwargs: GraphGateway(  # type: ignore[method-assign]
            settings, credentials=lambda _settings: FakeCredential(), **kwargs
        )
    provider.configure(ConfigureRequest(Config(job["config"], "b2c-signup")))
    props = provider.check({}, job["inputs"]).inputs
    created = provider.create(props)
    read = provider.read(created.id, created.outs)
    if job.get("delete", True):
        provider.delete(created.id, read.outs)
    print(json.dumps({"id": created.id, "read": read.outs}))


if __name__ == "__main__":
    main()
