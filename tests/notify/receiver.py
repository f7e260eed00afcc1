"""Notification targets for tests: a tiny HTTP server on 127.0.0.1 that records what Apprise's
json:// plugin posts to it, and a port where nobody listens (a service that is down)."""
from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class JsonReceiver:
    port: int
    requests: list[dict] = field(default_factory=list)  # {"path", "authorization", "payload"}

    def url(self, path: str = "hook", auth: str = "") -> str:
        return f"json://{auth + '@' if auth else ''}127.0.0.1:{self.port}/{path}"


def start_receiver() -> tuple[JsonReceiver, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = JsonReceiver(server.server_address[1])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                      "payload": json.loads(body or b"{}")})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server.RequestHandlerClass = Handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


def stop_receiver(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def bound_dead_port() -> socket.socket:
    """A socket bound to a port and never listening: connecting there is refused, and as long as the
    caller keeps the socket open no other process can take the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    stop_receiver(server)


@pytest.fixture
def dead_url():
    with bound_dead_port() as sock:
        yield f"json://127.0.0.1:{sock.getsockname()[1]}/down"
