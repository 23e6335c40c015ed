"""Loopback HTTP helpers the doubles share: a quiet JSON request handler and a server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body then waits for the
    # client's delayed ACK, about 40 ms on every request.
    disable_nagle_algorithm = True

    def log_message(self, *_: Any) -> None:
        pass

    def answer(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer(ThreadingHTTPServer):
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        # shutdown() waits for the serve loop's next poll; a connection wakes the loop at once, so
        # a test's double stops in a millisecond instead of a poll interval.
        stopping = threading.Thread(target=self.shutdown)
        stopping.start()
        while stopping.is_alive():
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.server_address[1]), timeout=0.1),
            ):
                pass
            stopping.join(0.005)
        self.server_close()


def serve(handler: type[BaseHTTPRequestHandler]) -> LoopbackServer:
    server = LoopbackServer(("127.0.0.1", 0), handler)
    # shutdown() waits for the serve loop's next poll: at the default 0.5 s that was a quarter of
    # the whole suite, spent closing doubles.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server
