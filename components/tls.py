"""The trust store every outbound TLS connection of the program and its tools uses, loaded once
per process: httpx loads it anew for every client it makes (about 25 ms each), and the Graph
gateway, One Deploy and the purges make a client per operation.

Standard library and certifi (the CA bundle httpx itself defaults to) only.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def trust() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())
