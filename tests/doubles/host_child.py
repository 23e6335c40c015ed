"""A stand-in for Pulumi's dynamic provider host (pulumi/dynamic/__main__.py): the call runs on a
worker thread of a ThreadPoolExecutor while the main thread waits, and Ctrl-C ends the main thread.
Reads one JSON job (provider blob, config, inputs); prints "started" when the call begins."""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
from concurrent import futures

import dill
from pulumi.dynamic import Config, ConfigureRequest

from components.graph.gateway import GraphGateway
from tools.graph_double import FakeCredential


def call(job: dict[str, object]) -> None:
    provider = dill.loads(base64.b64decode(str(job["provider"])))  # noqa: S301 - our own blob, as the engine does
    provider.connect = lambda settings, **kwargs: GraphGateway(
        settings, credentials=lambda _settings: FakeCredential(), **kwargs
    )
    provider.configure(ConfigureRequest(Config(job["config"], "b2c-signup")))
    props = provider.check({}, job["inputs"]).inputs
    print("started", flush=True)
    try:
        provider.create(props)
    except Exception as exc:  # noqa: BLE001 - reported to the test, as the host reports it to the engine
        print(f"failed: {type(exc).__name__}: {exc}", flush=True)


def main() -> None:
    job = json.load(sys.stdin)
    pool = futures.ThreadPoolExecutor(max_workers=4)
    pool.submit(call, job)
    # As the host does: Ctrl-C stops the wait; the interpreter then waits for the call in progress.
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


if __name__ == "__main__":
    main()
